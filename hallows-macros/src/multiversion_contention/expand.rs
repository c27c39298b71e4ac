//! Code generation of `#[multiversion_contention]`.
//!
//! ```text
//! fn op(args) -> R {                              // the dispatcher the user declared
//!     static DISPATCHER: Dispatcher = Dispatcher::new("path::Type::op", N);
//!     thread_local! { static SAMPLER: Sampler = const { Sampler::new() }; }
//!     match DISPATCHER.word() {                   // one relaxed load of the mode word
//!         0 => Self::version_0(args, DISPATCHER.probe(0)),          // inlined
//!         1 => outlined(move || Self::version_1(args, DISPATCHER.probe(1))),
//!         ..
//!         _ => outlined(move || {                 // measuring bit set: a search runs
//!             let r = match DISPATCHER.word() & VERSION_MASK { 0 => .., _ => .. };
//!             DISPATCHER.count(&SAMPLER);         // thread-local countdown; a sample at zero
//!             r
//!         }),
//!     }
//! }
//! ```

use proc_macro2::TokenStream;
use quote::quote;
use syn::{GenericParam, ImplItem};

use super::parse::{Ast, Dispatch};
use crate::common::{assoc_types, forward_arguments, inherent_impl, move_out_of_trait_impl};

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
        let forwarded = forward_arguments(&mut f.sig);
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
        let call = |k: usize| {
            let version = &dispatch.versions[k];
            let k_u8 = proc_macro2::Literal::u8_unsuffixed(k as u8);
            let call = quote!(Self::#version #turbofish(#(#forwarded,)* DISPATCHER.probe(#k_u8)));
            if f.sig.unsafety.is_some() {
                quote!(unsafe { #call })
            } else {
                call
            }
        };
        // Unmeasured words are the versions themselves; any other word has the measuring bit.
        // Version 0 (the cheapest uncontended) is inlined; the others and the measuring arm run
        // out of line, so the registers and stack frame they need are not saved and restored on
        // version 0's path (see `outlined`).
        //
        // The measuring arm reads the mode word again inside `outlined` instead of capturing
        // the word matched (session 10, Zen 4): a closure of the arguments *and* the word is,
        // for a method of two scalar arguments, three words, which Rust passes by reference,
        // so the dispatcher reserved a stack frame for it (`sub $0x18,%rsp`) on every call,
        // version 0's too. Without the word every arm's closure holds just the arguments, and
        // version 0's path has the fixed version's own frame. The second load runs only while
        // a search measures; a word changed in between runs another version, which is correct
        // (versions are correct next to each other) and is counted like any call.
        let fast_arms = (0..count).map(|k| {
            let k_u8 = proc_macro2::Literal::u8_unsuffixed(k as u8);
            let call = call(k);
            if k == 0 {
                quote!(#k_u8 => #call,)
            } else {
                quote!(#k_u8 => #p::outlined(move || #call),)
            }
        });
        // While measuring, each version runs the way its fast arm runs it: version 0 inlined,
        // the others out of line. With all of them inlined here, this function saved the
        // callee-saved registers the largest needs on every measured call, version 0's too, so
        // a duel measured version 0 slower than it runs outside a search.
        let measured_arms = (0..count).map(|k| {
            let call = call(k);
            let call = if k == 0 {
                call
            } else {
                quote!(#p::outlined(move || #call))
            };
            if k + 1 == count {
                quote!(_ => #call,)
            } else {
                let k_u8 = proc_macro2::Literal::u8_unsuffixed(k as u8);
                quote!(#k_u8 => #call,)
            }
        });
        let body: syn::Block = syn::parse_quote!({
            static DISPATCHER: #p::Dispatcher =
                #p::Dispatcher::new(::core::concat!(::core::module_path!(), "::", #label), #count_u8);
            ::std::thread_local! {
                static SAMPLER: #p::Sampler = const { #p::Sampler::new() };
            }
            #[allow(unreachable_code)]
            match DISPATCHER.word() {
                #(#fast_arms)*
                _ => #p::outlined(move || {
                    let __hallows_result = match DISPATCHER.word() & #p::VERSION_MASK {
                        #(#measured_arms)*
                    };
                    DISPATCHER.count(&SAMPLER);
                    __hallows_result
                }),
            }
        });
        f.block = body;
        // The dispatcher is small: inline it unless the user chose (`#[inline(never)]`, ..); a
        // second `#[inline]` beside theirs would be an unused-attribute warning or a conflict.
        if !f.attrs.iter().any(|a| a.path().is_ident("inline")) {
            f.attrs.push(syn::parse_quote!(#[inline]));
        }
        f.attrs
            .push(syn::parse_quote!(#[allow(clippy::undocumented_unsafe_blocks)]));
    }
    let Some((_, trait_path, _)) = imp.trait_.clone() else {
        return quote!(#imp);
    };
    // A trait impl cannot have the versions as extra methods: they move to an inherent impl of
    // the same type, from where the dispatcher (the trait method) calls them as before.
    let assoc_types = assoc_types(&imp);
    let is_version = |item: &ImplItem| match item {
        ImplItem::Fn(f) => dispatches.iter().any(|d| d.versions.contains(&f.sig.ident)),
        _ => false,
    };
    let (moved, kept): (Vec<ImplItem>, Vec<ImplItem>) = std::mem::take(&mut imp.items)
        .into_iter()
        .partition(is_version);
    imp.items = kept;
    let moved: Vec<TokenStream> = moved
        .into_iter()
        .filter_map(|item| match item {
            ImplItem::Fn(f) => Some(f),
            _ => None,
        })
        .map(|f| {
            let mut func = syn::ItemFn {
                attrs: f.attrs,
                vis: f.vis,
                sig: f.sig,
                block: Box::new(f.block),
            };
            move_out_of_trait_impl(&mut func, &trait_path, &assoc_types);
            quote!(#func)
        })
        .collect();
    let helpers = inherent_impl(&imp, &moved);
    quote!(#imp #helpers)
}

fn expand_lock(mut func: syn::ItemFn, lock: &syn::Expr, guard: &syn::Ident) -> TokenStream {
    let p = quote!(::hallows_runtime::__private);
    let label = func.sig.ident.to_string();
    let block = &func.block;
    let new_block: syn::Block = syn::parse_quote!({
        static DISPATCHER: #p::Dispatcher =
            #p::Dispatcher::new(::core::concat!(::core::module_path!(), "::", #label), #p::LOCK_VERSIONS);
        ::std::thread_local! {
            static SAMPLER: #p::Sampler = const { #p::Sampler::new() };
        }
        #[allow(unused_mut)]
        let mut #guard = #p::lock_adaptive(&DISPATCHER, &SAMPLER, &(#lock));
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
