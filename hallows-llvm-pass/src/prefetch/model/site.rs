//! Stable load-site identifiers.
//!
//! A site id names one load inside a loop and must come out the same when the same source is
//! compiled again with the same compiler and flags, so that a profile recorded by an
//! instrumented build can be matched against the loads of the optimised build. It is a 64-bit
//! FNV-1a hash (Fowler, Noll, Vo; <http://www.isthe.com/chongo/tech/comp/fnv/>) of:
//!
//! - the function's symbol with the legacy Rust mangling hash (`17h<16 hex digits>E`) removed,
//!   because that hash may change when unrelated flags change;
//! - a shape fingerprint of the function (block and instruction counts), which separates
//!   monomorphised copies whose unhashed symbols coincide;
//! - the load's ordinal among the function's loads, and its debug location when present.

/// FNV-1a 64-bit offset basis.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
/// FNV-1a 64-bit prime.
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// Hashes bytes with 64-bit FNV-1a, continuing from `state`.
pub fn fnv1a_extend(mut state: u64, bytes: &[u8]) -> u64 {
    for &byte in bytes {
        state ^= u64::from(byte);
        state = state.wrapping_mul(FNV_PRIME);
    }
    state
}

/// Hashes bytes with 64-bit FNV-1a (`fnv1a(b"")` is the offset basis `0xcbf29ce484222325`).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    fnv1a_extend(FNV_OFFSET, bytes)
}

/// Removes the parts of a symbol that may change when unrelated flags change: the legacy
/// mangling's hash segment (`17h` + 16 hex digits before the final `E`), and the crate
/// disambiguators of v0 mangling (`Cs<base-62>_` becomes `C`).
///
/// Symbols in any other form are returned unchanged.
pub fn symbol_stem(symbol: &str) -> std::borrow::Cow<'_, str> {
    const HASH_SEGMENT: usize = "17h0123456789abcdefE".len();
    if symbol.starts_with("_ZN") && symbol.len() > HASH_SEGMENT + 3 {
        let cut = symbol.len() - HASH_SEGMENT;
        let tail = &symbol[cut..];
        let hex = tail.get(3..19).unwrap_or("");
        if tail.starts_with("17h")
            && tail.ends_with('E')
            && hex.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return std::borrow::Cow::Borrowed(&symbol[..cut]);
        }
    }
    if symbol.starts_with("_R") {
        let bytes = symbol.as_bytes();
        let mut out = String::with_capacity(symbol.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'C' && bytes.get(i + 1) == Some(&b's') {
                let digits = bytes[i + 2..]
                    .iter()
                    .take_while(|b| b.is_ascii_alphanumeric())
                    .count();
                if bytes.get(i + 2 + digits) == Some(&b'_') {
                    out.push('C');
                    i += 3 + digits;
                    continue;
                }
            }
            out.push(bytes[i] as char);
            i += 1;
        }
        return std::borrow::Cow::Owned(out);
    }
    std::borrow::Cow::Borrowed(symbol)
}

/// Hash of a function's unhashed symbol: profiled sites carry it so that a stale profile
/// (function still there, its sites no longer matching) can be told from an unrelated one.
pub fn function_stem_hash(symbol: &str) -> u64 {
    fnv1a(symbol_stem(symbol).as_bytes())
}

/// Where a load sits in its function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SiteKey {
    /// [`function_stem_hash`] of the function's symbol.
    pub function: u64,
    /// Number of basic blocks of the function (shape fingerprint).
    pub blocks: u32,
    /// Number of instructions of the function (shape fingerprint).
    pub instructions: u32,
    /// Index of the load among all loads of the function, in block then instruction order.
    pub ordinal: u32,
    /// Debug line, 0 when the load has no debug location.
    pub line: u32,
    /// Debug column, 0 when the load has no debug location.
    pub column: u32,
}

impl SiteKey {
    /// The site id; never zero (zero marks an unused slot in the runtime's tables).
    pub fn id(&self) -> u64 {
        let mut h = fnv1a_extend(FNV_OFFSET, &self.function.to_le_bytes());
        for v in [
            self.blocks,
            self.instructions,
            self.ordinal,
            self.line,
            self.column,
        ] {
            h = fnv1a_extend(h, &v.to_le_bytes());
        }
        if h == 0 {
            1
        } else {
            h
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_reference_vectors() {
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn stem_strips_hashes_and_crate_disambiguators_only() {
        assert_eq!(
            symbol_stem("_ZN6nas_is4rank17h0123456789abcdefE"),
            "_ZN6nas_is4rank"
        );
        assert_eq!(
            symbol_stem("_ZN6nas_is4rank17hXYZ3456789abcdefE"),
            "_ZN6nas_is4rank17hXYZ3456789abcdefE"
        );
        assert_eq!(symbol_stem("main"), "main");
        assert_eq!(
            symbol_stem("_RNvCscSYwAIFpW9W_7program4main"),
            "_RNvC7program4main"
        );
        assert_eq!(
            symbol_stem("_RNvMNtCs1a_5alloc3vecINtB2_3VecmE4push"),
            "_RNvMNtC5alloc3vecINtB2_3VecmE4push"
        );
    }

    #[test]
    fn ids_are_stable_and_distinguish_positions() {
        let f = function_stem_hash("_ZN1a1f17h0000000000000000E");
        // Same stem: the same function across rebuilds whose mangling hash changed.
        assert_eq!(f, function_stem_hash("_ZN1a1f17h1111111111111111E"));
        assert_ne!(f, function_stem_hash("_ZN1a1g17h1111111111111111E"));
        let a = SiteKey {
            function: f,
            blocks: 4,
            instructions: 30,
            ordinal: 0,
            line: 3,
            column: 9,
        };
        assert_eq!(a.id(), SiteKey { ..a }.id());
        assert_ne!(a.id(), SiteKey { ordinal: 1, ..a }.id());
        assert_ne!(
            a.id(),
            SiteKey {
                instructions: 31,
                ..a
            }
            .id()
        );
        assert_ne!(a.id(), SiteKey { line: 4, ..a }.id());
        assert_ne!(a.id(), 0);
    }
}
