//! `#[multiversion(targets(..))]`: parse -> validate -> expand.

mod expand;
mod parse;
pub(crate) mod targets;

use proc_macro2::TokenStream;

/// Entry point of the attribute.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    match parse::parse(args, item) {
        Ok(input) => expand::expand(input),
        Err(failure) => failure,
    }
}
