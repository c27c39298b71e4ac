//! Code generation of `#[multiversion_contention]`.
//!
//! ```text
//! fn op(args) -> R {                              // the dispatcher the user declared
//!     static DISPATCHER: Dispatcher = Dispatcher::new("path::Type::op", N);
//!     match DISPATCHER.mode() {                   // one relaxed load
//!         0 => Self::version_0(args, DISPATCHER.probe(0)),
//!         ..
//!         _ => Self::version_last(args, DISPATCHER.probe(N - 1)),
//!     }
//! }
//! ```

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{FnArg, GenericParam, ImplItem, Pat};

use super::parse::{Ast, Dispatch};

pub(crate) fn expand(ast: Ast) -> TokenStream {
    match ast {
        Ast::Impl { item, dispatches } => expand_impl(item, &dispatches),
        Ast::Lock { func, lock, guard } => expand_lock(func, &lock, &guard),
    }
}

fn expand_impl(mut imp: syn::ItemImpl, dispatches: &[Dispatch]) -> TokenStream {
    let p = quote!(::hallows_runtime::__private);
    let type_name = type_label(&imp.self_ty);
    for dispatch in dispatches {
        let ImplItem::Fn(f) = &mut imp.items[dispatch.index] else {
            continue;
        };
        let name = f.sig.ident.to_string();
        let label = format!("{type_name}::{name}");
        let mut forwarded = Vec::new();
        for (i, arg) in f.sig.inputs.iter_mut().enumerate() {
            match arg {
                FnArg::Receiver(r) => {
                    if r.reference.is_none() {
                        r.mutability = None;
                    }
                    forwarded.push(quote!(self));
                }
                FnArg::Typed(t) => {
                    let ident = format_ident!("__hallows_arg{}", i);
                    *t.pat = Pat::Ident(syn::PatIdent {
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
        let generic_args: Vec<TokenStream> = f
            .sig
            .generics
            .params
            .iter()
            .filter_map(|g| match g {
                GenericParam::Type(t) => Some(&t.ident),
                GenericParam::Const(c) => Some(&c.ident),
                GenericParam::Lifetime(_) => None,
            })
            .map(|i| quote!(#i))
            .collect();
        let has_impl_arg = f
            .sig
            .inputs
            .iter()
            .any(|a| quote!(#a).to_string().contains("impl "));
        let turbofish = if generic_args.is_empty() || has_impl_arg {
            quote!()
        } else {
            quote!(::<#(#generic_args),*>)
        };
        let count = dispatch.versions.len();
        let count_u8 = proc_macro2::Literal::u8_unsuffixed(count as u8);
        let arms = dispatch.versions.iter().enumerate().map(|(k, version)| {
            let k_u8 = proc_macro2::Literal::u8_unsuffixed(k as u8);
            let call = quote!(Self::#version #turbofish(#(#forwarded,)* DISPATCHER.probe(#k_u8)));
            let call = if f.sig.unsafety.is_some() {
                quote!(unsafe { #call })
            } else {
                call
            };
            if k + 1 == count {
                quote!(_ => #call,)
            } else {
                let k = proc_macro2::Literal::usize_unsuffixed(k);
                quote!(#k => #call,)
            }
        });
        let body: syn::Block = syn::parse_quote!({
            static DISPATCHER: #p::Dispatcher =
                #p::Dispatcher::new(::core::concat!(::core::module_path!(), "::", #label), #count_u8);
            match DISPATCHER.mode() {
                #(#arms)*
            }
        });
        f.block = body;
        f.attrs.push(syn::parse_quote!(#[inline]));
        f.attrs
            .push(syn::parse_quote!(#[allow(clippy::undocumented_unsafe_blocks)]));
    }
    quote!(#imp)
}

fn expand_lock(mut func: syn::ItemFn, lock: &syn::Expr, guard: &syn::Ident) -> TokenStream {
    let p = quote!(::hallows_runtime::__private);
    let label = func.sig.ident.to_string();
    let block = &func.block;
    let new_block: syn::Block = syn::parse_quote!({
        static DISPATCHER: #p::Dispatcher =
            #p::Dispatcher::new(::core::concat!(::core::module_path!(), "::", #label), #p::LOCK_VERSIONS);
        #[allow(unused_mut)]
        let mut #guard = #p::lock_adaptive(&DISPATCHER, &(#lock));
        #block
    });
    *func.block = new_block;
    quote!(#func)
}

/// A short name for the impl's type: its last path segment without generic arguments.
fn type_label(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Path(p) => p
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default(),
        other => quote!(#other).to_string().replace(' ', ""),
    }
}
