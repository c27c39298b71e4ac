//! The target feature sets `#[multiversion]` understands.
//!
//! Feature names are rustc's `target_feature` names and must match
//! `hallows_runtime::cpu_features::FEATURES` (a unit test checks it). The `x86-64-vN` levels are
//! the x86-64 psABI micro-architecture levels.

/// Features of each architecture, in the runtime's table order.
pub(crate) const X86_64: &[&str] = &[
    "sse",
    "sse2",
    "sse3",
    "ssse3",
    "sse4.1",
    "sse4.2",
    "popcnt",
    "cmpxchg16b",
    "avx",
    "avx2",
    "bmi1",
    "bmi2",
    "f16c",
    "fma",
    "lzcnt",
    "movbe",
    "xsave",
    "avx512f",
    "avx512bw",
    "avx512cd",
    "avx512dq",
    "avx512vl",
    "aes",
    "pclmulqdq",
    "sha",
    "adx",
];

/// Features of aarch64.
pub(crate) const AARCH64: &[&str] = &[
    "neon", "aes", "sha2", "sha3", "crc", "lse", "dotprod", "fp16", "sve", "sve2", "rdm",
];

const X86_64_V2: &[&str] = &["sse3", "ssse3", "sse4.1", "sse4.2", "popcnt", "cmpxchg16b"];
const X86_64_V3: &[&str] = &[
    "avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "lzcnt", "movbe", "xsave",
];
const X86_64_V4: &[&str] = &["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"];

/// Names of the micro-architecture levels.
pub(crate) const LEVELS: &[&str] = &["x86-64-v2", "x86-64-v3", "x86-64-v4"];

/// Features of a level name, or `None` if `name` is not a level.
pub(crate) fn level(name: &str) -> Option<Vec<&'static str>> {
    let mut features = Vec::new();
    let depth = match name {
        "x86-64-v2" => 1,
        "x86-64-v3" => 2,
        "x86-64-v4" => 3,
        _ => return None,
    };
    for set in [X86_64_V2, X86_64_V3, X86_64_V4].iter().take(depth) {
        features.extend_from_slice(set);
    }
    Some(features)
}

/// Known features of `arch`, or `None` for an unknown architecture.
pub(crate) fn features_of(arch: &str) -> Option<&'static [&'static str]> {
    match arch {
        "x86_64" => Some(X86_64),
        "aarch64" => Some(AARCH64),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_match_the_runtime() {
        let runtime = hallows_runtime::cpu_features::FEATURES;
        for (arch, names) in [("x86_64", X86_64), ("aarch64", AARCH64)] {
            let theirs: Vec<&str> = runtime
                .iter()
                .filter(|f| f.arch == arch)
                .map(|f| f.name)
                .collect();
            assert_eq!(names, theirs.as_slice(), "{arch}");
        }
    }

    #[test]
    fn levels_nest() {
        let v2 = level("x86-64-v2").unwrap();
        let v3 = level("x86-64-v3").unwrap();
        assert!(v2.iter().all(|f| v3.contains(f)));
        assert!(v3.contains(&"avx2") && !v2.contains(&"avx2"));
        assert!(level("x86-64-v4").unwrap().contains(&"avx512f"));
        assert!(level("v5").is_none());
        for f in v3 {
            assert!(X86_64.contains(&f));
        }
    }
}
