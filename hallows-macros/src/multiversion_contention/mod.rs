//! `#[multiversion_contention]`: parse -> validate -> expand.

mod expand;
mod parse;

use proc_macro2::TokenStream;

/// Entry point of the attribute.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    match parse::parse(args, item) {
        Ok(ast) => expand::expand(ast),
        Err(failure) => failure,
    }
}
