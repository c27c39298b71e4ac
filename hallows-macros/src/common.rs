//! Error collection, argument forwarding and trait-impl helpers shared by the attributes.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, ToTokens};
use syn::visit_mut::VisitMut;

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

/// Names of the associated types an impl block defines.
pub(crate) fn assoc_types(imp: &syn::ItemImpl) -> Vec<syn::Ident> {
    imp.items
        .iter()
        .filter_map(|i| match i {
            syn::ImplItem::Type(t) => Some(t.ident.clone()),
            _ => None,
        })
        .collect()
}

/// Prepares a method of a trait impl to live in an inherent impl of the same type (a trait impl
/// cannot have extra methods): `Self::Assoc` for the impl's associated types becomes
/// `<Self as Trait>::Assoc`, which an inherent impl can name, and the body imports the trait
/// (`use Trait as _`) so that calls of the trait's other methods still resolve.
pub(crate) fn move_out_of_trait_impl(
    func: &mut syn::ItemFn,
    trait_path: &syn::Path,
    assoc_types: &[syn::Ident],
) {
    QualifyAssocTypes {
        trait_path,
        assoc_types,
    }
    .visit_item_fn_mut(func);
    let mut use_path = trait_path.clone();
    for segment in &mut use_path.segments {
        segment.arguments = syn::PathArguments::None;
    }
    func.block.stmts.insert(
        0,
        syn::parse_quote!(#[allow(unused_imports)] use #use_path as _;),
    );
}

/// `impl<generics> SelfTy where .. { items }`, hidden, for the methods moved out of `imp`.
pub(crate) fn inherent_impl(imp: &syn::ItemImpl, items: &[TokenStream]) -> TokenStream {
    let (impl_generics, _, where_clause) = imp.generics.split_for_impl();
    let self_ty = &imp.self_ty;
    quote! {
        #[doc(hidden)]
        impl #impl_generics #self_ty #where_clause {
            #(#items)*
        }
    }
}

/// Rewrites `Self::Assoc` (an associated type of the trait impl) to `<Self as Trait>::Assoc`.
struct QualifyAssocTypes<'a> {
    trait_path: &'a syn::Path,
    assoc_types: &'a [syn::Ident],
}

impl VisitMut for QualifyAssocTypes<'_> {
    fn visit_type_path_mut(&mut self, ty: &mut syn::TypePath) {
        let segments = &ty.path.segments;
        if ty.qself.is_none()
            && segments.len() >= 2
            && segments[0].ident == "Self"
            && segments[0].arguments.is_none()
            && self.assoc_types.contains(&segments[1].ident)
        {
            let trait_path = self.trait_path;
            let rest: Vec<_> = segments.iter().skip(1).collect();
            *ty = syn::parse_quote!(<Self as #trait_path>::#(#rest)::*);
            return;
        }
        syn::visit_mut::visit_type_path_mut(self, ty);
    }

    fn visit_item_mut(&mut self, _: &mut syn::Item) {
        // Nested items have their own `Self`.
    }
}

/// Rewrites a dispatcher's argument patterns into plain names (`__hallows_argN`) and returns the
/// expressions that forward them, `self` included, to a version or clone. A by-value `mut self`
/// loses its `mut`: the binding's mutability belongs to the callee's body.
pub(crate) fn forward_arguments(sig: &mut syn::Signature) -> Vec<TokenStream> {
    let mut forwarded = Vec::new();
    for (i, arg) in sig.inputs.iter_mut().enumerate() {
        match arg {
            syn::FnArg::Receiver(receiver) => {
                if receiver.reference.is_none() {
                    receiver.mutability = None;
                }
                forwarded.push(quote!(self));
            }
            syn::FnArg::Typed(typed) => {
                let ident = format_ident!("__hallows_arg{}", i);
                *typed.pat = syn::Pat::Ident(syn::PatIdent {
                    attrs: Vec::new(),
                    by_ref: None,
                    mutability: None,
                    ident: ident.clone(),
                    subpat: None,
                });
                forwarded.push(quote!(#ident));
            }
        }
    }
    forwarded
}
