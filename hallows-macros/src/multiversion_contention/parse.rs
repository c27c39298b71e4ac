//! Arguments and item of `#[multiversion_contention]`, validated into [`Ast`].

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{FnArg, ImplItem, Token};

use crate::common::{attr_is, fallback, Errors};

/// Most versions one dispatcher may choose between.
pub(crate) const MAX_VERSIONS: usize = 8;

/// Name of the marker attribute on dispatcher methods.
pub(crate) const VERSIONS_ATTR: &str = "contention_versions";

/// One dispatcher over user-written versions.
pub(crate) struct Dispatch {
    /// Index of the dispatcher method in the impl block.
    pub(crate) index: usize,
    /// Version method names, cheapest first.
    pub(crate) versions: Vec<syn::Ident>,
}

/// The validated input (built once per expansion, so the variants' size difference is moot).
#[allow(clippy::large_enum_variant)]
pub(crate) enum Ast {
    /// An impl block with dispatcher methods.
    Impl {
        item: syn::ItemImpl,
        dispatches: Vec<Dispatch>,
    },
    /// A function whose body is a critical section of `lock`, with the guard bound to `guard`.
    Lock {
        func: syn::ItemFn,
        lock: syn::Expr,
        guard: syn::Ident,
    },
}

#[derive(Default)]
struct LockArgs {
    lock: Option<syn::Expr>,
    guard: Option<syn::Ident>,
}

fn parse_lock_args(input: ParseStream<'_>, errors: &mut Errors) -> syn::Result<LockArgs> {
    let mut args = LockArgs::default();
    while !input.is_empty() {
        let name: syn::Ident = input.parse()?;
        let eq: Token![=] = input
            .parse()
            .map_err(|_| syn::Error::new(name.span(), format!("expected `=` after `{name}`")))?;
        if name == "lock" {
            let expr: syn::Expr = input.parse().map_err(|_| {
                syn::Error::new(
                    eq.span,
                    "expected the mutex after `lock =`, like `lock = self.state`",
                )
            })?;
            if args.lock.is_some() {
                errors.spanned(&name, "duplicate `lock` argument");
            } else {
                args.lock = Some(expr);
            }
        } else if name == "guard" {
            let ident: syn::Ident = input.parse().map_err(|_| {
                syn::Error::new(
                    eq.span,
                    "expected a name for the guard after `guard =`, like `guard = state`",
                )
            })?;
            if args.guard.is_some() {
                errors.spanned(&name, "duplicate `guard` argument");
            } else {
                args.guard = Some(ident);
            }
        } else {
            return Err(syn::Error::new(
                name.span(),
                format!(
                    "unknown argument `{name}`; expected `lock = <mutex>` and `guard = <name>`"
                ),
            ));
        }
        if input.is_empty() {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    Ok(args)
}

/// Parses and validates; on failure returns the tokens to emit instead (item + errors).
pub(crate) fn parse(args: TokenStream, item: TokenStream) -> Result<Ast, TokenStream> {
    let mut errors = Errors::default();
    let item: syn::Item = match syn::parse2(item.clone()) {
        Ok(item) => item,
        Err(e) => {
            errors.push(e);
            return Err(fallback(item, &errors));
        }
    };
    match item {
        syn::Item::Impl(mut imp) => {
            if !args.is_empty() {
                errors.spanned(&args, "`#[multiversion_contention]` on an impl block takes no arguments; mark dispatcher methods with `#[contention_versions(..)]`");
            }
            let dispatches = parse_impl(&mut imp, &mut errors);
            if errors.is_empty() {
                Ok(Ast::Impl {
                    item: imp,
                    dispatches,
                })
            } else {
                // Dispatcher bodies are empty on purpose: give them a diverging body so the
                // only errors the user sees are the ones above.
                for dispatch in &dispatches {
                    if let ImplItem::Fn(f) = &mut imp.items[dispatch.index] {
                        if f.block.stmts.is_empty() {
                            f.block = diverging_block();
                            f.attrs.push(syn::parse_quote!(#[allow(unused)]));
                        }
                    }
                }
                for index in unparsed_dispatchers(&imp) {
                    if let ImplItem::Fn(f) = &mut imp.items[index] {
                        f.block = diverging_block();
                        f.attrs.push(syn::parse_quote!(#[allow(unused)]));
                    }
                }
                Err(fallback(&imp, &errors))
            }
        }
        syn::Item::Fn(mut func) => {
            let args_span = args.clone();
            let parsed =
                match (|input: ParseStream<'_>| parse_lock_args(input, &mut errors)).parse2(args) {
                    Ok(a) => a,
                    Err(e) => {
                        errors.push(e);
                        *func.block = diverging_block();
                        func.attrs.push(syn::parse_quote!(#[allow(unused)]));
                        return Err(fallback(&func, &errors));
                    }
                };
            if !errors.is_empty() || parsed.lock.is_none() || parsed.guard.is_none() {
                // The body names the guard binding the expansion would have introduced.
                let keep = func.block.clone();
                *func.block = diverging_block();
                func.attrs.push(syn::parse_quote!(#[allow(unused)]));
                if parsed.lock.is_none() && parsed.guard.is_none() && args_span.is_empty() {
                    func.block = keep;
                    func.attrs.pop();
                }
            }
            match (parsed.lock, parsed.guard) {
                (Some(lock), Some(guard)) => {
                    if let Some(c) = &func.sig.constness {
                        errors.spanned(
                            c,
                            "`#[multiversion_contention]` cannot be used on a `const fn`",
                        );
                    }
                    if let Some(a) = &func.sig.asyncness {
                        errors.spanned(a, "`#[multiversion_contention]` cannot hold a `std::sync::Mutex` guard across `.await`; use it on the synchronous critical section");
                    }
                    if errors.is_empty() {
                        Ok(Ast::Lock { func, lock, guard })
                    } else {
                        *func.block = diverging_block();
                        func.attrs.push(syn::parse_quote!(#[allow(unused)]));
                        Err(fallback(&func, &errors))
                    }
                }
                (None, None) if args_span.is_empty() => {
                    errors.spanned(&func.sig.ident, "expected `lock = <mutex>, guard = <name>` to derive versions of a critical section; to choose between versions you wrote, put `#[multiversion_contention]` on the impl block and `#[contention_versions(..)]` on the dispatcher method");
                    Err(fallback(&func, &errors))
                }
                (None, _) => {
                    errors.spanned(&args_span, "missing `lock = <mutex>`, the `std::sync::Mutex` the body is a critical section of");
                    Err(fallback(&func, &errors))
                }
                (_, None) => {
                    errors.spanned(
                        &args_span,
                        "missing `guard = <name>`, the name the body uses for the locked data",
                    );
                    Err(fallback(&func, &errors))
                }
            }
        }
        other => {
            let head: TokenStream = other.to_token_stream().into_iter().take(2).collect();
            errors.spanned(head, "`#[multiversion_contention]` applies to an impl block (versions you wrote) or a function (a derived critical section)");
            Err(fallback(other, &errors))
        }
    }
}

fn parse_impl(imp: &mut syn::ItemImpl, errors: &mut Errors) -> Vec<Dispatch> {
    let mut dispatches = Vec::new();
    // Take the markers off first (they are this macro's inert helpers).
    let mut marked: Vec<(usize, syn::Attribute)> = Vec::new();
    for (index, item) in imp.items.iter_mut().enumerate() {
        if let ImplItem::Fn(f) = item {
            let mut found: Vec<syn::Attribute> = Vec::new();
            f.attrs.retain(|a| {
                if attr_is(a, VERSIONS_ATTR) {
                    found.push(a.clone());
                    false
                } else {
                    true
                }
            });
            for (k, attr) in found.into_iter().enumerate() {
                if k > 0 {
                    errors.spanned(
                        &attr,
                        format!("duplicate `#[{VERSIONS_ATTR}]` on this method"),
                    );
                } else {
                    marked.push((index, attr));
                }
            }
        }
    }
    if marked.is_empty() {
        errors.spanned(&imp.self_ty, format!("no method of this impl block has `#[{VERSIONS_ATTR}(..)]`; mark the dispatcher method, for example `#[{VERSIONS_ATTR}(add_cas, add_locked)] pub fn add(&self) {{}}`"));
    }
    for (index, attr) in marked {
        let versions = match attr
            .parse_args_with(syn::punctuated::Punctuated::<syn::Ident, Token![,]>::parse_terminated)
        {
            Ok(v) => v.into_iter().collect::<Vec<_>>(),
            Err(e) => {
                errors.push(syn::Error::new(e.span(), format!("`#[{VERSIONS_ATTR}(..)]` expects the version methods' names, cheapest first: {e}")));
                continue;
            }
        };
        let ImplItem::Fn(dispatcher) = &imp.items[index] else {
            continue;
        };
        if versions.len() < 2 {
            errors.spanned(&attr, "list at least two versions to choose between");
        }
        if versions.len() > MAX_VERSIONS {
            errors.spanned(
                &versions[MAX_VERSIONS],
                format!("at most {MAX_VERSIONS} versions are supported"),
            );
        }
        if !dispatcher.block.stmts.is_empty() {
            errors.spanned(&dispatcher.block, "the dispatcher's body must be empty `{}`: `#[multiversion_contention]` generates it; move the code into a version");
        }
        for (i, v) in versions.iter().enumerate() {
            if versions[..i].contains(v) {
                errors.spanned(v, format!("version `{v}` is listed twice"));
                continue;
            }
            if *v == dispatcher.sig.ident {
                errors.spanned(v, "the dispatcher cannot be one of its own versions");
                continue;
            }
            let found = imp.items.iter().find_map(|it| match it {
                ImplItem::Fn(f) if f.sig.ident == *v => Some(f),
                _ => None,
            });
            match found {
                None => errors.spanned(v, format!("no method `{v}` in this impl block; versions must be methods of the same impl block")),
                Some(version) => compare_signatures(&dispatcher.sig, &version.sig, errors),
            }
        }
        dispatches.push(Dispatch { index, versions });
    }
    dispatches
}

fn text(tokens: impl ToTokens) -> String {
    tokens.to_token_stream().to_string()
}

/// `tokens` as a user would write them (`&mut self`, `Option<u64>`), for messages.
fn pretty(tokens: impl ToTokens) -> String {
    let mut s = text(tokens);
    for (from, to) in [
        ("& ", "&"),
        (" <", "<"),
        ("< ", "<"),
        (" >", ">"),
        (" ::", "::"),
        (":: ", "::"),
        (" ,", ","),
        ("' ", "'"),
    ] {
        s = s.replace(from, to);
    }
    s
}

/// A body for generated-only functions when the expansion failed: it type-checks as anything.
fn diverging_block() -> syn::Block {
    syn::parse_quote!({ ::core::unreachable!() })
}

/// Methods still carrying a marker whose arguments did not parse.
fn unparsed_dispatchers(imp: &syn::ItemImpl) -> Vec<usize> {
    imp.items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| match item {
            ImplItem::Fn(f)
                if f.block.stmts.is_empty()
                    && !matches!(f.sig.output, syn::ReturnType::Default) =>
            {
                Some(i)
            }
            _ => None,
        })
        .collect()
}

/// Checks that `version` is `dispatcher` plus a last `Probe` parameter; each difference is an
/// error on the version's tokens.
fn compare_signatures(dispatcher: &syn::Signature, version: &syn::Signature, errors: &mut Errors) {
    let v = &version.ident;
    let d = &dispatcher.ident;
    if text(&dispatcher.generics) != text(&version.generics)
        || text(&dispatcher.generics.where_clause) != text(&version.generics.where_clause)
    {
        let generics = &version.generics;
        let tokens = if generics.params.is_empty() {
            quote!(#v)
        } else {
            quote!(#generics)
        };
        errors.spanned(tokens, format!("version `{v}` has generics `{}` but the dispatcher `{d}` has `{}`; they must be the same", pretty(&version.generics), pretty(&dispatcher.generics)));
    }
    if dispatcher.unsafety.is_some() != version.unsafety.is_some() {
        errors.spanned(
            v,
            format!("version `{v}` and the dispatcher `{d}` must both be `unsafe fn` or both not"),
        );
    }
    if version.asyncness.is_some()
        || version.constness.is_some()
        || dispatcher.asyncness.is_some()
        || dispatcher.constness.is_some()
    {
        errors.spanned(
            v,
            "versions and dispatchers cannot be `async fn` or `const fn`",
        );
    }
    if text(&dispatcher.output) != text(&version.output) {
        let tokens = match &version.output {
            syn::ReturnType::Default => quote!(#v),
            syn::ReturnType::Type(_, ty) => quote!(#ty),
        };
        errors.spanned(
            tokens,
            format!(
                "version `{v}` returns `{}` but the dispatcher `{d}` returns `{}`",
                return_text(&version.output),
                return_text(&dispatcher.output)
            ),
        );
    }
    let d_inputs: Vec<&FnArg> = dispatcher.inputs.iter().collect();
    let v_inputs: Vec<&FnArg> = version.inputs.iter().collect();
    if v_inputs.len() != d_inputs.len() + 1 {
        errors.spanned(&version.inputs, format!(
            "version `{v}` must take the parameters of the dispatcher `{d}` and then a last `probe: Probe`: {} parameter(s) expected, found {}",
            d_inputs.len() + 1, v_inputs.len()
        ));
        return;
    }
    for (dp, vp) in d_inputs.iter().zip(&v_inputs) {
        match (dp, vp) {
            (FnArg::Receiver(dr), FnArg::Receiver(vr)) => {
                if dr.reference.is_some() != vr.reference.is_some()
                    || (dr.reference.is_some()
                        && dr.mutability.is_some() != vr.mutability.is_some())
                    || text(&dr.ty) != text(&vr.ty)
                {
                    errors.spanned(
                        vr,
                        format!(
                            "version `{v}` takes `{}` but the dispatcher `{d}` takes `{}`",
                            pretty(vr),
                            pretty(dr)
                        ),
                    );
                }
            }
            (FnArg::Typed(dt), FnArg::Typed(vt)) => {
                if text(&dt.ty) != text(&vt.ty) {
                    errors.spanned(&vt.ty, format!("version `{v}` has parameter type `{}` where the dispatcher `{d}` has `{}`", pretty(&vt.ty), pretty(&dt.ty)));
                }
            }
            _ => errors.spanned(
                vp,
                format!(
                    "version `{v}` and the dispatcher `{d}` differ in whether they take `self`"
                ),
            ),
        }
    }
    let last = v_inputs[v_inputs.len() - 1];
    let is_probe = match last {
        FnArg::Typed(t) => match &*t.ty {
            syn::Type::Path(p) => p
                .path
                .segments
                .last()
                .is_some_and(|s| s.ident == "Probe" && s.arguments.is_empty()),
            _ => false,
        },
        FnArg::Receiver(_) => false,
    };
    if !is_probe {
        errors.push(syn::Error::new(last.span(), format!("the last parameter of version `{v}` must be `probe: Probe` (`hallows_runtime::contention::Probe`), through which it reports contention")));
    }
}

fn return_text(output: &syn::ReturnType) -> String {
    match output {
        syn::ReturnType::Default => "()".to_string(),
        syn::ReturnType::Type(_, ty) => pretty(ty),
    }
}
