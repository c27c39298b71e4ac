//! Error collection shared by the attributes.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};

/// Every error found while validating one attribute, each pointing at its own tokens.
#[derive(Default)]
pub(crate) struct Errors {
    errors: Vec<syn::Error>,
}

impl Errors {
    /// Records an error spanning `tokens`.
    pub(crate) fn spanned(&mut self, tokens: impl ToTokens, message: impl std::fmt::Display) {
        self.errors.push(syn::Error::new_spanned(tokens, message));
    }

    /// Records an already built error.
    pub(crate) fn push(&mut self, error: syn::Error) {
        self.errors.push(error);
    }

    /// Whether nothing was recorded.
    pub(crate) fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// `compile_error!`s for every recorded error.
    pub(crate) fn to_compile_errors(&self) -> TokenStream {
        self.errors
            .iter()
            .map(syn::Error::to_compile_error)
            .collect()
    }
}

/// The output used when validation failed: the item as the user wrote it (minus the inert helper
/// attributes only this macro understands) and the errors.
pub(crate) fn fallback(item: impl ToTokens, errors: &Errors) -> TokenStream {
    let errors = errors.to_compile_errors();
    quote! { #item #errors }
}

/// Whether `attr` is the bare path `name` (any arguments).
pub(crate) fn attr_is(attr: &syn::Attribute, name: &str) -> bool {
    attr.path().is_ident(name)
}
