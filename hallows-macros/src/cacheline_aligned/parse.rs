//! Arguments and item of `#[cacheline_aligned]`, validated into [`Ast`].

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{Fields, Item, LitInt, Token};

use crate::common::{attr_is, fallback, Errors};

/// Largest alignment accepted: one page; larger alignments are almost always a typo and rustc
/// caps `repr(align)` at 2^29 anyway.
pub(crate) const MAX_ALIGN: u64 = 4096;

/// How the item is aligned.
#[derive(Clone, Copy)]
pub(crate) enum Alignment {
    /// The target's destructive-interference size (128 on x86_64/aarch64, 64 elsewhere).
    TargetDefault,
    /// An explicit power of two.
    Bytes(u64),
}

/// What the attribute is applied to, with per-field isolation decided.
pub(crate) enum Target {
    /// A struct; `isolated[i]` tells whether field `i` gets its own lines.
    Struct {
        item: syn::ItemStruct,
        isolated: Vec<bool>,
        has_repr_c: bool,
    },
    /// An enum (alignment only).
    Enum(syn::ItemEnum),
    /// A static: the whole value, or each element of an array, on its own lines.
    Static(syn::ItemStatic),
}

/// The validated input.
pub(crate) struct Ast {
    pub(crate) align: Alignment,
    pub(crate) target: Target,
}

/// `isolate` as given in the arguments.
enum IsolateArg {
    All(Span),
    Named(Vec<syn::Member>),
}

#[derive(Default)]
struct Args {
    align: Option<(Alignment, Span)>,
    isolate: Option<(IsolateArg, Span)>,
}

fn parse_args(input: ParseStream<'_>, errors: &mut Errors) -> syn::Result<Args> {
    let mut args = Args::default();
    while !input.is_empty() {
        if input.peek(LitInt) {
            let lit: LitInt = input.parse()?;
            set_align(&mut args, &lit, lit.span(), errors);
        } else if input.peek(syn::Ident) {
            let name: syn::Ident = input.parse()?;
            if name == "align" {
                let eq: Token![=] = input.parse()?;
                let lit: LitInt = input.parse().map_err(|_| {
                    syn::Error::new(
                        eq.span,
                        "expected an alignment in bytes after `align =`, like `align = 64`",
                    )
                })?;
                set_align(
                    &mut args,
                    &lit,
                    name.span().join(lit.span()).unwrap_or(lit.span()),
                    errors,
                );
            } else if name == "isolate" {
                let arg = if input.peek(syn::token::Paren) {
                    let content;
                    syn::parenthesized!(content in input);
                    let members = content
                        .parse_terminated(<syn::Member as syn::parse::Parse>::parse, Token![,])?;
                    if members.is_empty() {
                        errors.spanned(&name, "`isolate()` names no field; write `isolate` to isolate every field or `isolate(a, b)`");
                    }
                    IsolateArg::Named(members.into_iter().collect())
                } else {
                    IsolateArg::All(name.span())
                };
                if args.isolate.is_some() {
                    errors.spanned(&name, "duplicate `isolate` argument");
                } else {
                    args.isolate = Some((arg, name.span()));
                }
            } else {
                return Err(syn::Error::new(
                    name.span(),
                    format!("unknown argument `{name}`; expected an alignment like `64`, `align = 64` or `isolate`"),
                ));
            }
        } else {
            return Err(input.error("expected an alignment like `64`, `align = 64` or `isolate`"));
        }
        if input.is_empty() {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    Ok(args)
}

fn set_align(args: &mut Args, lit: &LitInt, span: Span, errors: &mut Errors) {
    if args.align.is_some() {
        errors.push(syn::Error::new(span, "alignment given twice; keep one"));
        return;
    }
    match lit.base10_parse::<u64>() {
        Ok(n) if !n.is_power_of_two() => {
            let message = match n.checked_next_power_of_two() {
                Some(above) if n > 1 => format!(
                    "alignment must be a power of two, found `{n}`; the nearest are `{}` and `{above}`",
                    above / 2
                ),
                _ => format!("alignment must be a power of two, found `{n}`"),
            };
            errors.spanned(lit, message);
        }
        Ok(n) if n > MAX_ALIGN => errors.spanned(
            lit,
            format!("alignment must be at most {MAX_ALIGN} bytes, found `{n}`"),
        ),
        Ok(n) => args.align = Some((Alignment::Bytes(n), span)),
        Err(e) => errors.push(syn::Error::new(
            lit.span(),
            format!("invalid alignment: {e}"),
        )),
    }
}

/// Names the kind of an item the attribute does not apply to, and the tokens to point at.
fn describe(item: &Item) -> (&'static str, TokenStream) {
    match item {
        Item::Fn(f) => ("a function", f.sig.fn_token.to_token_stream()),
        Item::Union(u) => ("a union", u.union_token.to_token_stream()),
        Item::Const(c) => ("a constant", c.const_token.to_token_stream()),
        Item::Impl(i) => ("an impl block", i.impl_token.to_token_stream()),
        Item::Trait(t) => ("a trait", t.trait_token.to_token_stream()),
        Item::Type(t) => ("a type alias", t.type_token.to_token_stream()),
        Item::Mod(m) => ("a module", m.mod_token.to_token_stream()),
        Item::Use(u) => ("a `use` item", u.use_token.to_token_stream()),
        other => ("this item", other.to_token_stream()),
    }
}

/// Checks the `#[repr]` attributes for ones that contradict the attribute; returns whether
/// `repr(C)` is present.
fn check_repr(attrs: &[syn::Attribute], errors: &mut Errors) -> bool {
    let mut has_c = false;
    for attr in attrs.iter().filter(|a| attr_is(a, "repr")) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("C") {
                has_c = true;
            } else if meta.path.is_ident("packed") {
                errors.spanned(attr, "`#[cacheline_aligned]` cannot be combined with `#[repr(packed)]`: a packed type cannot be aligned to a cache line; remove one of them");
            } else if meta.path.is_ident("transparent") {
                errors.spanned(attr, "`#[cacheline_aligned]` cannot be combined with `#[repr(transparent)]`: a transparent type must keep its field's alignment; remove one of them");
            } else if meta.path.is_ident("align") {
                errors.spanned(attr, "`#[repr(align(..))]` conflicts with `#[cacheline_aligned]`; remove it and write the alignment as `#[cacheline_aligned(N)]`");
            }
            if meta.input.peek(syn::token::Paren) {
                let content;
                syn::parenthesized!(content in meta.input);
                content.parse::<TokenStream>()?;
            }
            Ok(())
        });
        if let Err(e) = result {
            errors.push(e);
        }
    }
    has_c
}

/// Removes the `#[isolate]` field markers (they are this macro's inert helpers) and returns, per
/// field, whether it had one.
fn take_isolate_markers(fields: &mut Fields, errors: &mut Errors) -> Vec<bool> {
    fields
        .iter_mut()
        .map(|field| {
            let mut marked = false;
            field.attrs.retain(|attr| {
                if !attr_is(attr, "isolate") {
                    return true;
                }
                if !matches!(attr.meta, syn::Meta::Path(_)) {
                    errors.spanned(attr, "`#[isolate]` takes no arguments; the alignment comes from `#[cacheline_aligned(..)]`");
                } else if marked {
                    errors.spanned(attr, "duplicate `#[isolate]` on this field");
                }
                marked = true;
                false
            });
            marked
        })
        .collect()
}

fn member_matches(member: &syn::Member, index: usize, field: &syn::Field) -> bool {
    match (member, &field.ident) {
        (syn::Member::Named(name), Some(ident)) => name == ident,
        (syn::Member::Unnamed(i), None) => i.index as usize == index,
        _ => false,
    }
}

/// Parses and validates; on failure returns the tokens to emit instead (item + errors).
pub(crate) fn parse(args: TokenStream, item: TokenStream) -> Result<Ast, TokenStream> {
    let mut errors = Errors::default();
    let args = match (|input: ParseStream<'_>| parse_args(input, &mut errors)).parse2(args) {
        Ok(args) => args,
        Err(e) => {
            errors.push(e);
            Args::default()
        }
    };
    let mut item: Item = match syn::parse2(item.clone()) {
        Ok(item) => item,
        Err(e) => {
            errors.push(e);
            return Err(fallback(item, &errors));
        }
    };
    let align = args
        .align
        .map(|(a, _)| a)
        .unwrap_or(Alignment::TargetDefault);

    let target = match &mut item {
        Item::Struct(s) => {
            let has_repr_c = check_repr(&s.attrs, &mut errors);
            let mut isolated = take_isolate_markers(&mut s.fields, &mut errors);
            match &args.isolate {
                Some((IsolateArg::All(span), _)) => {
                    if s.fields.is_empty() {
                        errors.push(syn::Error::new(
                            *span,
                            format!("`isolate` has no effect: `{}` has no fields", s.ident),
                        ));
                    }
                    for (i, field) in s.fields.iter().enumerate() {
                        if isolated[i] {
                            errors.spanned(field, "this field is already isolated by the `isolate` argument; remove its `#[isolate]`");
                        }
                        isolated[i] = true;
                    }
                }
                Some((IsolateArg::Named(members), _)) => {
                    let mut listed = vec![false; isolated.len()];
                    for member in members {
                        let found = s
                            .fields
                            .iter()
                            .enumerate()
                            .find(|(i, f)| member_matches(member, *i, f));
                        match found {
                            None => errors.spanned(member, format!("no field `{}` in `{}`", member.to_token_stream(), s.ident)),
                            Some((i, _)) if listed[i] => errors.spanned(member, format!("field `{}` is listed twice", member.to_token_stream())),
                            Some((i, _)) if isolated[i] => errors.spanned(member, format!("field `{}` is already marked `#[isolate]`; keep one of the two", member.to_token_stream())),
                            Some((i, _)) => {
                                listed[i] = true;
                                isolated[i] = true;
                            }
                        }
                    }
                }
                None => {}
            }
            Target::Struct {
                item: s.clone(),
                isolated,
                has_repr_c,
            }
        }
        Item::Enum(e) => {
            check_repr(&e.attrs, &mut errors);
            if let Some((_, span)) = &args.isolate {
                errors.push(syn::Error::new(*span, "`isolate` is not supported on enums: variants overlap in memory; isolate the fields of a struct instead"));
            }
            for variant in &mut e.variants {
                for (marked, field) in take_isolate_markers(&mut variant.fields, &mut errors)
                    .into_iter()
                    .zip(variant.fields.iter())
                {
                    if marked {
                        errors.push(syn::Error::new(field.span(), "`#[isolate]` is not supported on enum variant fields: variants overlap in memory; isolate the fields of a struct instead"));
                    }
                }
            }
            Target::Enum(e.clone())
        }
        Item::Static(s) => {
            if let Some((_, span)) = &args.isolate {
                errors.push(syn::Error::new(*span, "`isolate` does not apply to a static: the whole static (or each element of an array static) already gets its own lines; remove `isolate`"));
            }
            Target::Static(s.clone())
        }
        other => {
            let (kind, tokens) = describe(other);
            errors.spanned(
                tokens,
                format!(
                    "`#[cacheline_aligned]` applies to a struct, an enum or a static, found {kind}"
                ),
            );
            return Err(fallback(&item, &errors));
        }
    };
    if !errors.is_empty() {
        return Err(fallback(&item, &errors));
    }
    Ok(Ast { align, target })
}
