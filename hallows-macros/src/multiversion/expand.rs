//! Code generation of `#[multiversion]`: one clone per target with `#[target_feature]`, a
//! baseline clone, and a dispatcher with the original signature.
//!
//! ```text
//! fn f(args) {                                   // dispatcher, same signature and attributes
//!     #[cfg(target_arch = A)] {
//!         #[cfg(all(target_feature = ..first..))] { return clone_0(args) }   // no dispatch
//!         #[cfg(not(..))] { match SELECTION.get(MASKS) { i => return clone_i(args), _ => {} } }
//!     }
//!     baseline(args)
//! }
//! ```

use std::collections::BTreeMap;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::ext::IdentExt;
use syn::{FnArg, GenericParam};

use super::parse::{Ast, ImplAst, Input, Target};
use crate::common::{assoc_types, forward_arguments, inherent_impl, move_out_of_trait_impl};

/// Attributes that belong to the dispatcher only (the clones are hidden helpers).
const DISPATCHER_ONLY: &[&str] = &[
    "doc",
    "must_use",
    "inline",
    "no_mangle",
    "export_name",
    "track_caller",
    "deprecated",
];

pub(crate) fn expand(input: Input) -> TokenStream {
    match input {
        Input::Fn(ast) => {
            let (dispatcher, clones) = expand_fn(&ast);
            quote!(#dispatcher #(#clones)*)
        }
        Input::Impl(ast) => expand_impl(ast),
    }
}

/// `#[multiversion]` on an `impl` block. In an inherent impl each method becomes its dispatcher
/// followed by its clones, as with the attribute on the method. A trait impl cannot have extra
/// methods, so there the clones go into an inherent impl of the same type with the same
/// generics (hidden, private); the trait method becomes the dispatcher calling them. The clones
/// see the trait (a `use Trait as _` in their body, for `self.other_trait_method()`), and
/// `Self::Assoc` for the impl's associated types becomes `<Self as Trait>::Assoc`, which an
/// inherent impl can name.
fn expand_impl(ast: ImplAst) -> TokenStream {
    let ImplAst { mut item, methods } = ast;
    let trait_path = item.trait_.as_ref().map(|(_, path, _)| path.clone());
    let assoc_types = assoc_types(&item);
    let mut moved_clones = Vec::new();
    for (index, targets) in methods {
        let syn::ImplItem::Fn(method) = &item.items[index] else {
            continue;
        };
        let mut func = syn::ItemFn {
            attrs: method.attrs.clone(),
            vis: method.vis.clone(),
            sig: method.sig.clone(),
            block: Box::new(method.block.clone()),
        };
        if let Some(trait_path) = &trait_path {
            move_out_of_trait_impl(&mut func, trait_path, &assoc_types);
        }
        let (dispatcher, clones) = expand_fn(&Ast { targets, func });
        if trait_path.is_some() {
            item.items[index] = syn::ImplItem::Verbatim(dispatcher);
            moved_clones.extend(clones);
        } else {
            item.items[index] = syn::ImplItem::Verbatim(quote!(#dispatcher #(#clones)*));
        }
    }
    if moved_clones.is_empty() {
        return quote!(#item);
    }
    let helpers = inherent_impl(&item, &moved_clones);
    quote!(#item #helpers)
}

/// The dispatcher and the clones of one function.
fn expand_fn(ast: &Ast) -> (TokenStream, Vec<TokenStream>) {
    let func = &ast.func;
    let sig = &func.sig;
    // `r#type` would make `__hallows_mv_r#type_0`: build the clone names from the bare word.
    let name = &sig.ident.unraw();
    let is_method = sig.receiver().is_some();

    let shared_attrs: Vec<&syn::Attribute> = func
        .attrs
        .iter()
        .filter(|a| !DISPATCHER_ONLY.iter().any(|n| a.path().is_ident(n)))
        .collect();

    // Clones: the user's signature and body under a hidden name.
    let clone_fn = |ident: &syn::Ident, extra: TokenStream| {
        let mut clone_sig = sig.clone();
        clone_sig.ident = ident.clone();
        let block = &func.block;
        quote! {
            #(#shared_attrs)*
            #extra
            #[doc(hidden)]
            #[allow(clippy::too_many_arguments, clippy::missing_safety_doc)]
            #clone_sig #block
        }
    };
    let baseline = format_ident!("__hallows_mv_{}_baseline", name);
    let mut clones = vec![clone_fn(&baseline, quote!(#[inline]))];
    let mut by_arch: BTreeMap<&str, Vec<(usize, &Target)>> = BTreeMap::new();
    for (i, target) in ast.targets.iter().enumerate() {
        let ident = format_ident!("__hallows_mv_{}_{}", name, i);
        let arch = &target.arch;
        let enable = target.features.join(",");
        clones.push(clone_fn(
            &ident,
            quote! {
                #[cfg(target_arch = #arch)]
                #[target_feature(enable = #enable)]
                #[inline]
            },
        ));
        by_arch.entry(arch.as_str()).or_default().push((i, target));
    }

    // The dispatcher's signature: argument patterns become plain names so they can be forwarded.
    let mut dispatch_sig = sig.clone();
    let forwarded = forward_arguments(&mut dispatch_sig);
    let has_impl_arg = sig.inputs.iter().any(|arg| match arg {
        FnArg::Typed(t) => quote!(#t).to_string().contains("impl "),
        FnArg::Receiver(_) => false,
    });
    let turbofish_args: Vec<TokenStream> = sig
        .generics
        .params
        .iter()
        .filter_map(|p| match p {
            GenericParam::Type(t) => Some(t.ident.clone()),
            GenericParam::Const(c) => Some(c.ident.clone()),
            GenericParam::Lifetime(_) => None,
        })
        .map(|i| quote!(#i))
        .collect();
    let turbofish = if turbofish_args.is_empty() || has_impl_arg {
        quote!()
    } else {
        quote!(::<#(#turbofish_args),*>)
    };
    let call = |ident: &syn::Ident| {
        if is_method {
            quote!(Self::#ident #turbofish(#(#forwarded),*))
        } else {
            quote!(#ident #turbofish(#(#forwarded),*))
        }
    };

    let p = quote!(::hallows_runtime::__private);
    let arch_blocks = by_arch.iter().map(|(arch, targets)| {
        let (first_index, first) = targets[0];
        let first_clone = format_ident!("__hallows_mv_{}_{}", name, first_index);
        let first_call = call(&first_clone);
        let static_features = first.features.iter().map(|f| quote!(target_feature = #f));
        let static_cfg = quote!(all(#(#static_features),*));
        let masks = targets.iter().map(|(_, t)| {
            let features = &t.features;
            quote!(#p::const_mask(#arch, &[#(#features),*]))
        });
        let arms = targets.iter().enumerate().map(|(k, (i, _))| {
            let clone = format_ident!("__hallows_mv_{}_{}", name, i);
            let clone_call = call(&clone);
            // SAFETY (in the generated code): `SELECTION` chose this clone because the running CPU
            // has all of its features.
            quote!(#k => return unsafe { #clone_call },)
        });
        quote! {
            #[cfg(target_arch = #arch)]
            {
                #[cfg(#static_cfg)]
                {
                    // The build already guarantees these features: call the clone directly.
                    return unsafe { #first_call };
                }
                #[cfg(not(#static_cfg))]
                {
                    static SELECTION: #p::Selection = #p::Selection::new();
                    const MASKS: &[u64] = &[#(#masks),*];
                    match SELECTION.get(MASKS) {
                        #(#arms)*
                        _ => {}
                    }
                }
            }
        }
    });
    let baseline_call = call(&baseline);
    let dispatcher_attrs = &func.attrs;
    let vis = &func.vis;
    // The dispatcher is small: inline it unless the user said otherwise.
    let inline = if func.attrs.iter().any(|a| a.path().is_ident("inline")) {
        quote!()
    } else {
        quote!(#[inline])
    };
    let dispatcher = quote! {
        #(#dispatcher_attrs)*
        #[allow(unreachable_code, unused_unsafe, clippy::undocumented_unsafe_blocks, clippy::needless_return)]
        #inline
        #vis #dispatch_sig {
            #(#arch_blocks)*
            unsafe { #baseline_call }
        }
    };
    (dispatcher, clones)
}
