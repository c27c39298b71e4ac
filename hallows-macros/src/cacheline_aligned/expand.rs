//! Code generation of `#[cacheline_aligned]`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, ToTokens};
use syn::{Fields, Type};

use super::parse::{Alignment, Ast, Target};

/// The pieces that depend on the alignment: the line size as an expression, the zero-sized type
/// aligned to it, and the `#[repr]` attributes enforcing it.
struct Line {
    size: TokenStream,
    break_ty: TokenStream,
    repr: TokenStream,
}

fn line(align: Alignment) -> Line {
    match align {
        Alignment::TargetDefault => Line {
            size: quote!(::hallows_runtime::__private::DEFAULT_LINE),
            break_ty: quote!(::hallows_runtime::__private::DefaultLine),
            // 128 bytes where prefetchers pull line pairs (see `hallows_runtime::padding`).
            repr: quote! {
                #[cfg_attr(any(target_arch = "x86_64", target_arch = "aarch64"), repr(align(128)))]
                #[cfg_attr(not(any(target_arch = "x86_64", target_arch = "aarch64")), repr(align(64)))]
            },
        },
        Alignment::Bytes(n) => {
            let lit = proc_macro2::Literal::usize_unsuffixed(n as usize);
            let ty = format_ident!("Align{}", n);
            Line {
                size: quote!(#lit),
                break_ty: quote!(::hallows_runtime::__private::#ty),
                repr: quote!(#[repr(align(#lit))]),
            }
        }
    }
}

pub(crate) fn expand(ast: &Ast) -> TokenStream {
    let line = line(ast.align);
    match &ast.target {
        Target::Struct {
            item,
            isolated,
            has_repr_c,
        } => expand_struct(item, isolated, *has_repr_c, &line),
        Target::Enum(item) => expand_enum(item, &line),
        Target::Static(item) => expand_static(item, &line),
    }
}

fn expand_struct(
    item: &syn::ItemStruct,
    isolated: &[bool],
    has_repr_c: bool,
    line: &Line,
) -> TokenStream {
    let mut item = item.clone();
    let any_isolated = isolated.iter().any(|i| *i);
    let break_ty = &line.break_ty;
    let named = matches!(item.fields, Fields::Named(_));

    // The map and the checks see the user's fields, before padding is inserted.
    let user_fields: Vec<(syn::Member, String, bool)> = item
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| match &f.ident {
            Some(ident) => (
                syn::Member::Named(ident.clone()),
                ident.to_string(),
                isolated[i],
            ),
            None => (
                syn::Member::Unnamed(syn::Index::from(i)),
                i.to_string(),
                isolated[i],
            ),
        })
        .collect();

    match &mut item.fields {
        Fields::Named(fields) if any_isolated => {
            // Zero-sized, line-aligned fields in a `#[repr(C)]` struct move the next field to the
            // next line boundary; field types stay as written, so every access compiles as before.
            let old: Vec<syn::Field> = fields.named.iter().cloned().collect();
            let last = old.len() - 1;
            let mut new = syn::punctuated::Punctuated::<syn::Field, syn::Token![,]>::new();
            let mut pads = 0usize;
            // Padding is as visible as the struct, so code that could build the struct with a
            // literal before still can (naming the padding fields, or with `..Default::default()`).
            let vis = item.vis.clone();
            let mut pad = |new: &mut syn::punctuated::Punctuated<syn::Field, syn::Token![,]>| {
                let name = format_ident!("__hallows_pad_{}", pads);
                pads += 1;
                new.push(syn::parse_quote! {
                    #[doc(hidden)]
                    #[allow(dead_code)]
                    #vis #name: #break_ty
                });
            };
            for (i, field) in old.into_iter().enumerate() {
                if isolated[i] && i > 0 && !isolated[i - 1] {
                    pad(&mut new);
                }
                new.push(field);
                if isolated[i] && i < last {
                    pad(&mut new);
                }
            }
            fields.named = new;
        }
        Fields::Unnamed(fields) if any_isolated => {
            // Inserting fields would renumber `s.0`, `s.1`: wrap the marked fields instead.
            for (i, field) in fields.unnamed.iter_mut().enumerate() {
                if isolated[i] {
                    let ty: &Type = &field.ty;
                    field.ty =
                        syn::parse_quote!(::hallows_runtime::__private::Isolated<#ty, #break_ty>);
                }
            }
        }
        _ => {}
    }

    let repr = &line.repr;
    let repr_c = if any_isolated && named && !has_repr_c {
        quote!(#[repr(C)])
    } else {
        quote!()
    };
    let attrs = &item.attrs;
    let rest = {
        let mut bare = item.clone();
        bare.attrs.clear();
        bare
    };
    let impl_block = layout_impl(&item.ident, &item.generics, &user_fields, line, "struct");
    quote! {
        #(#attrs)*
        #repr_c
        #repr
        #rest
        #impl_block
    }
}

fn expand_enum(item: &syn::ItemEnum, line: &Line) -> TokenStream {
    let repr = &line.repr;
    let attrs = &item.attrs;
    let mut bare = item.clone();
    bare.attrs.clear();
    let impl_block = layout_impl(&item.ident, &item.generics, &[], line, "enum");
    quote! {
        #(#attrs)*
        #repr
        #bare
        #impl_block
    }
}

/// The `CachelineLayout` impl with the compile-time checks, plus (for non-generic types) a
/// constant that forces the checks where the type is defined.
fn layout_impl(
    ident: &syn::Ident,
    generics: &syn::Generics,
    fields: &[(syn::Member, String, bool)],
    line: &Line,
    kind: &str,
) -> TokenStream {
    let p = quote!(::hallows_runtime::__private);
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let line_size = &line.size;
    let name = ident.to_string();
    let align_msg = format!("hallows: `{name}` is not aligned to its cache line size");
    let size_msg =
        format!("hallows: the size of `{name}` is not a multiple of its cache line size");
    let mut checks = Vec::new();
    for (member, field_name, isolated) in fields {
        if !isolated {
            continue;
        }
        let start_msg = format!(
            "hallows: isolated field `{field_name}` of `{name}` does not start a cache line"
        );
        checks.push(quote! {
            ::core::assert!(#p::offset_of!(Self, #member) % #line_size == 0, #start_msg);
        });
        for (other, other_name, _) in fields {
            if other_name == field_name {
                continue;
            }
            let share_msg = format!("hallows: isolated field `{field_name}` of `{name}` shares a cache line with field `{other_name}`");
            checks.push(quote! {
                ::core::assert!(
                    !#p::share_line(
                        #p::offset_of!(Self, #member),
                        #p::size_of_field::<Self, _>(|s| &s.#member),
                        #p::offset_of!(Self, #other),
                        #p::size_of_field::<Self, _>(|s| &s.#other),
                        #line_size,
                    ),
                    #share_msg
                );
            });
        }
    }
    let map_fields = fields.iter().map(|(member, field_name, isolated)| {
        quote! {
            .with_field::<Self, _>(#field_name, #p::offset_of!(Self, #member), #isolated, |s| &s.#member)
        }
    });
    let force = if generics.params.is_empty() {
        quote! {
            const _: () = <#ident as #p::CachelineLayout>::LAYOUT_CHECK;
        }
    } else {
        quote!()
    };
    let doc = format!("Cache-line map of this {kind}, generated by `#[cacheline_aligned]`.");
    quote! {
        #[doc = #doc]
        impl #impl_generics #p::CachelineLayout for #ident #ty_generics #where_clause {
            const LINE_SIZE: usize = #line_size;
            const LAYOUT_CHECK: () = {
                ::core::assert!(#p::align_of::<Self>() >= #line_size, #align_msg);
                ::core::assert!(#p::size_of::<Self>() % #line_size == 0, #size_msg);
                #(#checks)*
            };
            fn cacheline_layout() -> #p::TypeLayout {
                let () = <Self as #p::CachelineLayout>::LAYOUT_CHECK;
                #p::TypeLayout::new::<Self>(#line_size) #(#map_fields)*
            }
        }
        #force
    }
}

fn expand_static(item: &syn::ItemStatic, line: &Line) -> TokenStream {
    let p = quote!(::hallows_runtime::__private);
    let break_ty = &line.break_ty;
    let line_size = &line.size;
    let mut item = item.clone();
    let expr = &item.expr;
    let (ty, expr): (Type, syn::Expr) = match &*item.ty {
        // A per-core array: every element on its own lines.
        Type::Array(array) => {
            let elem = &array.elem;
            let len = &array.len;
            (
                syn::parse_quote!([#p::Isolated<#elem, #break_ty>; #len]),
                syn::parse_quote!(#p::isolate_each::<#elem, #break_ty, { #len }>(#expr)),
            )
        }
        other => (
            syn::parse_quote!(#p::Isolated<#other, #break_ty>),
            syn::parse_quote!(#p::Isolated::<#other, #break_ty>::new(#expr)),
        ),
    };
    let msg = format!(
        "hallows: static `{}` is not aligned to its cache line size",
        item.ident
    );
    *item.ty = ty.clone();
    *item.expr = expr;
    let check_ty = match &ty {
        Type::Array(array) => array.elem.to_token_stream(),
        other => other.to_token_stream(),
    };
    quote! {
        #item
        const _: () = {
            ::core::assert!(#p::align_of::<#check_ty>() >= #line_size, #msg);
            ::core::assert!(#p::size_of::<#check_ty>() % #line_size == 0, #msg);
        };
    }
}
