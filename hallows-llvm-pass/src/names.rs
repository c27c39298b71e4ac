//! Names: demangled Rust paths, crate names and report file names. Pure string functions.

/// Longest sanitized module id used in a report file name; longer ids keep their tail plus a
/// hash, so names stay below common file-name limits (255 bytes) with room for the suffixes.
pub const MAX_MODULE_FILE_STEM: usize = 120;

/// A symbol name split into what reports show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SymbolName {
    /// Demangled path without the hash suffix, or the symbol itself when it is not Rust.
    pub function: String,
    /// The crate of the function's path, when the symbol is a Rust symbol.
    pub crate_name: Option<String>,
}

/// Demangles a Rust symbol (legacy or v0 mangling); other symbols are returned unchanged.
///
/// ```text
/// _ZN7mycrate3foo17h0123456789abcdefE  ->  function "mycrate::foo", crate "mycrate"
/// ```
pub fn demangle_symbol(symbol: &str) -> SymbolName {
    match rustc_demangle::try_demangle(symbol) {
        Ok(d) => {
            let function = format!("{d:#}");
            let crate_name = crate_of_path(&function);
            SymbolName {
                function,
                crate_name,
            }
        }
        Err(_) => SymbolName {
            function: symbol.to_owned(),
            crate_name: None,
        },
    }
}

/// The crate named by the first path segment of a demangled path, looking through a leading
/// `<`, references, pointers and `dyn` (`<&mycrate::S as core::fmt::Debug>::fmt` -> `mycrate`).
pub fn crate_of_path(path: &str) -> Option<String> {
    let mut rest = path.trim_start();
    loop {
        let before = rest;
        for prefix in ["<", "&", "*const ", "*mut ", "mut ", "dyn ", "impl "] {
            if let Some(r) = rest.strip_prefix(prefix) {
                rest = r.trim_start();
            }
        }
        if rest == before {
            break;
        }
    }
    let end = rest.find("::")?;
    let segment = &rest[..end];
    let mut chars = segment.chars();
    let first = chars.next()?;
    let is_ident =
        (first.is_alphabetic() || first == '_') && chars.all(|c| c.is_alphanumeric() || c == '_');
    is_ident.then(|| segment.to_owned())
}

/// The crate name a module id suggests: rustc names codegen units `<crate>.<hash>-cgu.<n>`;
/// for a path (`/dir/foo.ll`, `libfoo.rlib(foo-abc.o)`) the file stem is used.
pub fn crate_of_module(module_id: &str) -> String {
    let base = module_id
        .rsplit(['/', '(', '\\'])
        .next()
        .unwrap_or(module_id)
        .trim_end_matches(')');
    let stem = base.split('.').next().unwrap_or(base);
    let stem = stem.split('-').next().unwrap_or(stem);
    if stem.is_empty() {
        "unknown".to_owned()
    } else {
        stem.to_owned()
    }
}

/// A file-name-safe form of a module id: `[A-Za-z0-9._-]` kept, everything else `_`, no leading
/// dot (report files must not look like the hidden temporary files), bounded length.
pub fn sanitize_module_id(module_id: &str) -> String {
    let mut out: String = module_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    while out.starts_with('.') {
        out.remove(0);
    }
    if out.is_empty() {
        return "module".to_owned();
    }
    if out.len() > MAX_MODULE_FILE_STEM {
        let hash = fnv1a(module_id.as_bytes());
        let keep = MAX_MODULE_FILE_STEM - 17;
        let tail = &out[out.len() - keep..];
        out = format!("{tail}-{hash:016x}");
    }
    out
}

/// 64-bit FNV-1a: a stable hash that does not change between Rust releases.
fn fnv1a(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET, |h, b| (h ^ u64::from(*b)).wrapping_mul(PRIME))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_symbol_loses_hash_and_names_crate() {
        let n = demangle_symbol("_ZN7mycrate3foo3bar17h0123456789abcdefE");
        assert_eq!(n.function, "mycrate::foo::bar");
        assert_eq!(n.crate_name.as_deref(), Some("mycrate"));
    }

    #[test]
    fn v0_symbol_is_demangled() {
        // `_RNvCs1234_7mycrate3foo` is v0 for `mycrate::foo`.
        let n = demangle_symbol("_RNvCs1234_7mycrate3foo");
        assert_eq!(n.function, "mycrate::foo");
        assert_eq!(n.crate_name.as_deref(), Some("mycrate"));
    }

    #[test]
    fn c_symbol_is_kept() {
        let n = demangle_symbol("memcpy");
        assert_eq!(n.function, "memcpy");
        assert_eq!(n.crate_name, None);
    }

    #[test]
    fn trait_impl_path_names_the_self_type_crate() {
        assert_eq!(
            crate_of_path("<&mycrate::S as core::fmt::Debug>::fmt").as_deref(),
            Some("mycrate")
        );
        assert_eq!(crate_of_path("<[u8] as core::fmt::Debug>::fmt"), None);
        assert_eq!(crate_of_path("main"), None);
    }

    #[test]
    fn module_ids_give_crate_names() {
        assert_eq!(crate_of_module("mycrate.a1b2c3d4e5-cgu.03"), "mycrate");
        assert_eq!(crate_of_module("/tmp/x/inventory-loop.ll"), "inventory");
        assert_eq!(crate_of_module("libfoo.rlib(foo-abc123.foo.o)"), "foo");
        assert_eq!(crate_of_module(""), "unknown");
    }

    #[test]
    fn sanitized_ids_are_safe_and_bounded() {
        assert_eq!(sanitize_module_id("/tmp/a b/x.ll"), "_tmp_a_b_x.ll");
        assert_eq!(sanitize_module_id("..hidden"), "hidden");
        assert_eq!(sanitize_module_id(""), "module");
        let long = "x".repeat(500);
        let s = sanitize_module_id(&long);
        assert_eq!(s.len(), MAX_MODULE_FILE_STEM);
        assert_ne!(s, sanitize_module_id(&"x".repeat(501)));
    }
}
