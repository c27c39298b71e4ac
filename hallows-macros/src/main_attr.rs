//! `#[hallows_runtime::main]`: runs an `async fn` on a Hallows runtime.
//!
//! ```text
//! #[hallows_runtime::main(workers = 2, pin = false)]
//! async fn main() -> Result<(), Error> { ... }
//! ```
//!
//! becomes a plain `fn` with the same name, attributes, visibility and return type whose body
//! builds a runtime with `Runtime::builder()` (applying the arguments) and `block_on`s the
//! original body. Parse → validate (collecting every error, each pointing at its tokens) →
//! expand, like the crate's other attributes.

use crate::common::{fallback, Errors};
use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, ItemFn, Lit, MetaNameValue, Token};

/// The validated arguments.
#[derive(Default, Debug, PartialEq, Eq)]
struct MainArgs {
    workers: Option<usize>,
    pin: Option<bool>,
}

struct RawArgs(Punctuated<MetaNameValue, Token![,]>);

impl Parse for RawArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        Punctuated::parse_terminated(input).map(RawArgs)
    }
}

fn validate_args(raw: RawArgs, errors: &mut Errors) -> MainArgs {
    let mut args = MainArgs::default();
    for nv in raw.0 {
        let Some(name) = nv.path.get_ident().map(ToString::to_string) else {
            errors.spanned(&nv.path, "expected `workers` or `pin`");
            continue;
        };
        let lit = match &nv.value {
            Expr::Lit(ExprLit { lit, .. }) => Some(lit),
            _ => None,
        };
        match (name.as_str(), lit) {
            ("workers", Some(Lit::Int(n))) => match n.base10_parse::<usize>() {
                Ok(0) => errors.spanned(n, "`workers` must be at least 1"),
                Ok(_) if args.workers.is_some() => {
                    errors.spanned(&nv.path, "`workers` is given twice")
                }
                Ok(v) => args.workers = Some(v),
                Err(e) => errors.push(e),
            },
            ("workers", _) => {
                errors.spanned(&nv.value, "expected an integer such as `workers = 4`")
            }
            ("pin", Some(Lit::Bool(b))) => {
                if args.pin.is_some() {
                    errors.spanned(&nv.path, "`pin` is given twice");
                } else {
                    args.pin = Some(b.value);
                }
            }
            ("pin", _) => errors.spanned(&nv.value, "expected `true` or `false`"),
            (other, _) => errors.spanned(
                &nv.path,
                format!("unknown argument `{other}`, expected `workers` or `pin`"),
            ),
        }
    }
    args
}

fn validate_fn(item: &ItemFn, errors: &mut Errors) {
    let sig = &item.sig;
    if sig.asyncness.is_none() {
        errors.spanned(
            sig.fn_token,
            "the function under `#[hallows_runtime::main]` must be `async`",
        );
    }
    if !sig.inputs.is_empty() {
        errors.spanned(
            &sig.inputs,
            "a `#[hallows_runtime::main]` function takes no arguments",
        );
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.spanned(
            &sig.generics,
            "a `#[hallows_runtime::main]` function cannot be generic",
        );
    }
    if let Some(c) = &sig.constness {
        errors.spanned(c, "a `#[hallows_runtime::main]` function cannot be `const`");
    }
    if let Some(u) = &sig.unsafety {
        errors.spanned(
            u,
            "a `#[hallows_runtime::main]` function cannot be `unsafe`",
        );
    }
}

/// Entry point called from `lib.rs`.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let item_fn: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => {
            errors.push(syn::Error::new(
                e.span(),
                "`#[hallows_runtime::main]` applies to an `async fn`",
            ));
            return fallback(item, &errors);
        }
    };
    let args = match syn::parse2::<RawArgs>(args) {
        Ok(raw) => validate_args(raw, &mut errors),
        Err(e) => {
            errors.push(e);
            MainArgs::default()
        }
    };
    validate_fn(&item_fn, &mut errors);
    if !errors.is_empty() {
        return fallback(item_fn, &errors);
    }
    let ItemFn {
        attrs,
        vis,
        mut sig,
        block,
    } = item_fn;
    sig.asyncness = None;
    let workers = args.workers.map(|n| quote! { .workers(#n) });
    let pin = args.pin.map(|b| quote! { .pin(#b) });
    quote! {
        #(#attrs)*
        #vis #sig {
            let body = async move #block;
            match ::hallows_runtime::Runtime::builder() #workers #pin .build() {
                ::core::result::Result::Ok(runtime) => runtime.block_on(body),
                ::core::result::Result::Err(error) => {
                    // A clean exit with the cause, not a panic: the OS refused the workers
                    // (threads, affinity), which the user fixes outside the program.
                    ::std::eprintln!(
                        "error: failed to start the Hallows runtime for `#[hallows_runtime::main]`: {}",
                        error
                    );
                    ::std::process::exit(1)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::expand;
    use quote::quote;

    fn expanded(args: proc_macro2::TokenStream, item: proc_macro2::TokenStream) -> String {
        expand(args, item).to_string()
    }

    #[test]
    fn async_main_becomes_a_blocking_main_with_the_builder_settings() {
        let out = expanded(
            quote!(workers = 2, pin = false),
            quote!(
                async fn main() -> u8 {
                    1
                }
            ),
        );
        assert!(out.contains("fn main () -> u8"), "{out}");
        assert!(!out.contains("async fn"), "{out}");
        assert!(out.contains(". workers (2usize)"), "{out}");
        assert!(out.contains(". pin (false)"), "{out}");
        assert!(out.contains("block_on (body)"), "{out}");
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn every_error_is_reported_with_its_own_message() {
        let out = expanded(
            quote!(workers = 0, threads = 3, pin = "yes"),
            quote!(
                fn main<T>(x: T) {}
            ),
        );
        for msg in [
            "`workers` must be at least 1",
            "unknown argument `threads`, expected `workers` or `pin`",
            "expected `true` or `false`",
            "must be `async`",
            "takes no arguments",
            "cannot be generic",
        ] {
            assert!(out.contains(msg), "missing {msg:?} in {out}");
        }
        // The original item is still emitted.
        assert!(out.contains("fn main < T > (x : T)"), "{out}");
    }

    #[test]
    fn non_functions_are_rejected() {
        let out = expanded(
            quote!(),
            quote!(
                struct S;
            ),
        );
        assert!(out.contains("applies to an `async fn`"), "{out}");
        assert!(out.contains("struct S"), "{out}");
    }
}
