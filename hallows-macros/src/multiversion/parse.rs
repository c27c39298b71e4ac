//! Arguments and item of `#[multiversion]`, validated into [`Ast`].

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::parse::{ParseStream, Parser};
use syn::{LitStr, Token};

use super::targets;
use crate::common::{fallback, Errors};

/// One clone to generate.
#[derive(Clone)]
pub(crate) struct Target {
    /// `target_arch` of the clone.
    pub(crate) arch: String,
    /// rustc feature names to enable.
    pub(crate) features: Vec<String>,
    /// The string the user wrote (for names and messages).
    pub(crate) label: String,
}

/// The validated input for one function or method.
pub(crate) struct Ast {
    /// Clones, best first (the baseline is implied).
    pub(crate) targets: Vec<Target>,
    /// The function or method.
    pub(crate) func: syn::ItemFn,
}

/// The validated input for an `impl` block: its multiversioned methods.
pub(crate) struct ImplAst {
    /// The block, with the `#[multiversion]` attributes of its methods removed.
    pub(crate) item: syn::ItemImpl,
    /// Index in `item.items` of each multiversioned method, with its targets.
    pub(crate) methods: Vec<(usize, Vec<Target>)>,
}

/// What the attribute was put on.
pub(crate) enum Input {
    /// A free function or a method (inherent impl).
    Fn(Ast),
    /// An `impl` block, inherent or of a trait.
    Impl(ImplAst),
}

fn parse_target(lit: &LitStr, errors: &mut Errors) -> Option<Target> {
    let label = lit.value();
    if let Some(features) = targets::level(&label) {
        return Some(Target {
            arch: "x86_64".into(),
            features: features.into_iter().map(String::from).collect(),
            label,
        });
    }
    let mut parts = label.split('+');
    let arch = parts.next().unwrap_or_default().trim().to_string();
    let Some(known) = targets::features_of(&arch) else {
        errors.spanned(
            lit,
            format!(
                "unknown target `{label}`; expected one of {}, `baseline`, or `<arch>+<feature>+..` with arch `x86_64` or `aarch64`",
                targets::LEVELS.iter().map(|l| format!("`{l}`")).collect::<Vec<_>>().join(", ")
            ),
        );
        return None;
    };
    let mut features: Vec<String> = Vec::new();
    let mut ok = true;
    for feature in parts {
        let feature = feature.trim();
        if !known.contains(&feature) {
            errors.spanned(
                lit,
                format!(
                    "unknown target feature `{feature}` for `{arch}`; known features: {}",
                    known.join(", ")
                ),
            );
            ok = false;
        } else if features.iter().any(|f| f == feature) {
            errors.spanned(
                lit,
                format!("target feature `{feature}` is listed twice in `{label}`"),
            );
            ok = false;
        } else {
            features.push(feature.to_string());
        }
    }
    if features.is_empty() && ok {
        errors.spanned(lit, format!("target `{label}` names no feature; write `{arch}+<feature>`, for example `x86_64+avx2`"));
        return None;
    }
    ok.then_some(Target {
        arch,
        features,
        label,
    })
}

fn parse_args(
    input: ParseStream<'_>,
    errors: &mut Errors,
    on_impl: bool,
) -> syn::Result<Option<Vec<Target>>> {
    let mut targets: Option<Vec<Target>> = None;
    if input.is_empty() && on_impl {
        return Ok(None);
    }
    if input.is_empty() {
        return Err(syn::Error::new(
            proc_macro2::Span::call_site(),
            "expected `targets(..)`, for example `#[multiversion(targets(\"x86-64-v3\", \"x86-64-v2\"))]`",
        ));
    }
    while !input.is_empty() {
        let name: syn::Ident = input.parse()?;
        if name != "targets" {
            return Err(syn::Error::new(
                name.span(),
                format!("unknown argument `{name}`; expected `targets(..)`"),
            ));
        }
        let content;
        syn::parenthesized!(content in input);
        let lits = content.parse_terminated(<LitStr as syn::parse::Parse>::parse, Token![,])?;
        if targets.is_some() {
            errors.spanned(
                &name,
                "duplicate `targets` argument; list every target in one `targets(..)`",
            );
        }
        let mut parsed: Vec<Target> = Vec::new();
        let count = lits.len();
        if count == 0 {
            errors.spanned(
                &name,
                "`targets()` lists no target; add one such as `\"x86-64-v3\"`",
            );
        }
        for (i, lit) in lits.iter().enumerate() {
            if lit.value() == "baseline" {
                if i + 1 != count {
                    errors.spanned(
                        lit,
                        "`baseline` must be the last target: later targets would never be chosen",
                    );
                }
                continue;
            }
            if let Some(target) = parse_target(lit, errors) {
                let mut sorted = target.features.clone();
                sorted.sort();
                let duplicate = parsed.iter().any(|t| {
                    let mut other = t.features.clone();
                    other.sort();
                    t.arch == target.arch && other == sorted
                });
                if duplicate {
                    errors.spanned(lit, format!("duplicate target `{}`", target.label));
                } else {
                    parsed.push(target);
                }
            }
        }
        if targets.is_none() {
            targets = Some(parsed);
        }
        if input.is_empty() {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    Ok(targets)
}

/// Parses and validates; on failure returns the tokens to emit instead (item + errors).
pub(crate) fn parse(args: TokenStream, item: TokenStream) -> Result<Input, TokenStream> {
    let mut errors = Errors::default();
    let on_impl = matches!(
        syn::parse2::<syn::Item>(item.clone()),
        Ok(syn::Item::Impl(_))
    );
    let targets =
        match (|input: ParseStream<'_>| parse_args(input, &mut errors, on_impl)).parse2(args) {
            Ok(t) => t,
            Err(e) => {
                errors.push(e);
                Some(Vec::new())
            }
        };
    let func: syn::ItemFn = match syn::parse2::<syn::Item>(item.clone()) {
        Ok(syn::Item::Fn(f)) => f,
        Ok(syn::Item::Impl(imp)) => return parse_impl(imp, targets, errors),
        Ok(other) => {
            errors.spanned(
                first_tokens(&other),
                "`#[multiversion]` applies to a function, a method with a body, or an `impl` block",
            );
            return Err(fallback(other, &errors));
        }
        Err(_) => match syn::parse2::<syn::TraitItemFn>(item.clone()) {
            Ok(f) => {
                errors.spanned(&f.sig, "`#[multiversion]` needs a function body to clone; put it on the implementation, not on a declaration");
                return Err(fallback(item, &errors));
            }
            Err(e) => {
                errors.push(e);
                return Err(fallback(item, &errors));
            }
        },
    };
    validate_fn(&func, &mut errors);
    if !errors.is_empty() {
        return Err(fallback(&func, &errors));
    }
    Ok(Input::Fn(Ast {
        targets: targets.unwrap_or_default(),
        func,
    }))
}

/// `#[multiversion]` on an `impl` block: every method with its own `#[multiversion(targets(..))]`
/// uses those targets; with `targets(..)` on the block, every other method uses the block's.
fn parse_impl(
    mut imp: syn::ItemImpl,
    block_targets: Option<Vec<Target>>,
    mut errors: Errors,
) -> Result<Input, TokenStream> {
    let mut methods = Vec::new();
    for (index, item) in imp.items.iter_mut().enumerate() {
        let syn::ImplItem::Fn(method) = item else {
            continue;
        };
        let own: Vec<syn::Attribute> = method
            .attrs
            .iter()
            .filter(|a| is_multiversion_attr(a))
            .cloned()
            .collect();
        method.attrs.retain(|a| !is_multiversion_attr(a));
        if own.len() > 1 {
            errors.spanned(
                &own[1],
                "duplicate `#[multiversion]` on one method; list every target in one `targets(..)`",
            );
            continue;
        }
        let targets = match own.first() {
            Some(attr) => {
                let parsed = match &attr.meta {
                    syn::Meta::List(list) => (|input: ParseStream<'_>| {
                        parse_args(input, &mut errors, false)
                    })
                    .parse2(list.tokens.clone()),
                    _ => Err(syn::Error::new_spanned(
                        attr,
                        "expected `targets(..)`, for example `#[multiversion(targets(\"x86-64-v3\", \"x86-64-v2\"))]`",
                    )),
                };
                match parsed {
                    Ok(t) => t.unwrap_or_default(),
                    Err(e) => {
                        errors.push(e);
                        continue;
                    }
                }
            }
            None => match &block_targets {
                Some(t) => t.clone(),
                None => continue,
            },
        };
        let func = syn::ItemFn {
            attrs: method.attrs.clone(),
            vis: method.vis.clone(),
            sig: method.sig.clone(),
            block: Box::new(method.block.clone()),
        };
        validate_fn(&func, &mut errors);
        methods.push((index, targets));
    }
    if methods.is_empty() && errors.is_empty() {
        errors.push(syn::Error::new(
            proc_macro2::Span::call_site(),
            "`#[multiversion]` on an `impl` block without `targets(..)` needs `#[multiversion(targets(..))]` on at least one of its methods",
        ));
    }
    if !errors.is_empty() {
        return Err(fallback(&imp, &errors));
    }
    Ok(Input::Impl(ImplAst { item: imp, methods }))
}

/// `#[multiversion(..)]` or `#[hallows_macros::multiversion(..)]` on a method of the block.
fn is_multiversion_attr(attr: &syn::Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "multiversion")
}

/// Rejects what cannot be cloned per target.
fn validate_fn(func: &syn::ItemFn, errors: &mut Errors) {
    let sig = &func.sig;
    if let Some(c) = &sig.constness {
        errors.spanned(c, "`#[multiversion]` cannot clone a `const fn`: target features do not exist at compile time; remove `const` or the attribute");
    }
    if let Some(a) = &sig.asyncness {
        errors.spanned(a, "`#[multiversion]` cannot clone an `async fn`: the feature-specific code would run in the returned future; multiversion the synchronous work it calls instead");
    }
    if let Some(abi) = &sig.abi {
        errors.spanned(abi, "`#[multiversion]` cannot clone an `extern` function: the clones are Rust functions; call a multiversioned Rust function from it instead");
    }
    if let syn::ReturnType::Type(_, ty) = &sig.output {
        if contains_impl_trait(ty) {
            errors.spanned(ty, "`#[multiversion]` cannot clone a function returning `impl Trait`: each clone would return a different type; return a concrete type or a `Box<dyn ..>`");
        }
    }
    if let Some(variadic) = &sig.variadic {
        errors.spanned(
            variadic,
            "`#[multiversion]` cannot clone a variadic function",
        );
    }
    for attr in &func.attrs {
        if attr.path().is_ident("target_feature") {
            errors.spanned(attr, "`#[target_feature]` conflicts with `#[multiversion]`, which sets the features of each clone; remove it");
        }
    }
}

fn first_tokens(item: &syn::Item) -> TokenStream {
    item.to_token_stream().into_iter().take(2).collect()
}

fn contains_impl_trait(ty: &syn::Type) -> bool {
    ty.to_token_stream()
        .into_iter()
        .any(|t| matches!(t, proc_macro2::TokenTree::Ident(ref i) if i == "impl"))
}
