//! CPU feature detection for `#[multiversion]`, done once per process and cached.
//!
//! Every feature `#[multiversion]` knows has a bit in a `u64` ([`FEATURES`]). The first call of
//! [`detected`] asks the standard library's detection macros (`is_x86_feature_detected!`, which
//! reads CPUID and XGETBV; `is_aarch64_feature_detected!`, which reads `AT_HWCAP` on Linux) about
//! each feature and stores the resulting mask in an atomic; later calls are one relaxed load.
//!
//! Each multiversioned function owns a [`Selection`]: the index of the clone chosen for this CPU,
//! computed on the function's first call from the clones' feature masks and cached, so a call
//! costs one relaxed load and a jump table.
//!
//! Feature names follow rustc's `target_feature` names; the `x86-64-v2/v3/v4` levels follow the
//! x86-64 psABI micro-architecture levels (System V AMD64 psABI, §3.1.1 "Micro-architecture
//! levels").
//!
//! ```
//! use hallows_runtime::cpu_features;
//! let mask = cpu_features::mask_of(&["sse2"]).unwrap();
//! if cfg!(target_arch = "x86_64") {
//!     assert!(cpu_features::supports(mask));
//! }
//! ```

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};

/// A feature `#[multiversion]` can require: its target architecture, rustc name and bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feature {
    /// `target_arch` the feature belongs to.
    pub arch: &'static str,
    /// rustc's `target_feature` name.
    pub name: &'static str,
    /// Bit of the feature in a mask.
    pub bit: u32,
}

macro_rules! features {
    ($($arch:literal : $name:literal = $bit:literal,)*) => {
        /// Every feature known to `#[multiversion]` (bits are unique per architecture).
        pub const FEATURES: &[Feature] = &[$(Feature { arch: $arch, name: $name, bit: $bit },)*];
    };
}

features! {
    "x86_64": "sse" = 0,
    "x86_64": "sse2" = 1,
    "x86_64": "sse3" = 2,
    "x86_64": "ssse3" = 3,
    "x86_64": "sse4.1" = 4,
    "x86_64": "sse4.2" = 5,
    "x86_64": "popcnt" = 6,
    "x86_64": "cmpxchg16b" = 7,
    "x86_64": "avx" = 8,
    "x86_64": "avx2" = 9,
    "x86_64": "bmi1" = 10,
    "x86_64": "bmi2" = 11,
    "x86_64": "f16c" = 12,
    "x86_64": "fma" = 13,
    "x86_64": "lzcnt" = 14,
    "x86_64": "movbe" = 15,
    "x86_64": "xsave" = 16,
    "x86_64": "avx512f" = 17,
    "x86_64": "avx512bw" = 18,
    "x86_64": "avx512cd" = 19,
    "x86_64": "avx512dq" = 20,
    "x86_64": "avx512vl" = 21,
    "x86_64": "aes" = 22,
    "x86_64": "pclmulqdq" = 23,
    "x86_64": "sha" = 24,
    "x86_64": "adx" = 25,
    "aarch64": "neon" = 0,
    "aarch64": "aes" = 1,
    "aarch64": "sha2" = 2,
    "aarch64": "sha3" = 3,
    "aarch64": "crc" = 4,
    "aarch64": "lse" = 5,
    "aarch64": "dotprod" = 6,
    "aarch64": "fp16" = 7,
    "aarch64": "sve" = 8,
    "aarch64": "sve2" = 9,
    "aarch64": "rdm" = 10,
}

/// The architecture this program was compiled for, as `target_arch` spells it.
pub const ARCH: &str = if cfg!(target_arch = "x86_64") {
    "x86_64"
} else if cfg!(target_arch = "aarch64") {
    "aarch64"
} else {
    "other"
};

/// The mask of `names` on this architecture; `None` if one of them is unknown here.
pub fn mask_of(names: &[&str]) -> Option<u64> {
    names.iter().try_fold(0u64, |mask, name| {
        FEATURES
            .iter()
            .find(|f| f.arch == ARCH && f.name == *name)
            .map(|f| mask | (1u64 << f.bit))
    })
}

/// The mask of `names` on `arch`, at compile time (the code `#[multiversion]` generates uses
/// this; the macro has already rejected unknown names, an unknown name here fails the build).
pub const fn const_mask(arch: &str, names: &[&str]) -> u64 {
    let mut mask = 0u64;
    let mut i = 0;
    while i < names.len() {
        let mut j = 0;
        let mut found = false;
        while j < FEATURES.len() {
            let f = &FEATURES[j];
            if str_eq(f.arch, arch) && str_eq(f.name, names[i]) {
                mask |= 1u64 << f.bit;
                found = true;
            }
            j += 1;
        }
        assert!(
            found,
            "hallows: unknown target feature in a #[multiversion] target"
        );
        i += 1;
    }
    mask
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Set in the cached mask once detection ran (no feature uses bit 63).
const DETECTED: u64 = 1 << 63;

/// Detected features, or 0 before the first detection.
static CACHE: AtomicU64 = AtomicU64::new(0);

/// The features of the running CPU as a mask of [`Feature::bit`]s (detected on the first call).
#[inline]
pub fn detected() -> u64 {
    // ORDERING: relaxed is enough: the mask is a pure function of the CPU, so a thread that sees
    // 0 just detects again and stores the same value; no other data is published with it.
    let cached = CACHE.load(Ordering::Relaxed);
    if cached & DETECTED != 0 {
        return cached & !DETECTED;
    }
    detect_cold()
}

/// Whether run-time detection has run in this process (it never does when every
/// multiversioned function called so far had its first target guaranteed by the build flags).
pub fn detection_ran() -> bool {
    CACHE.load(Ordering::Relaxed) & DETECTED != 0
}

#[cold]
fn detect_cold() -> u64 {
    let mut mask = 0u64;
    for feature in FEATURES.iter().filter(|f| f.arch == ARCH) {
        if runtime_has(feature.name) {
            mask |= 1 << feature.bit;
        }
    }
    CACHE.store(mask | DETECTED, Ordering::Relaxed);
    mask
}

/// Whether the running CPU has every feature in `mask`.
#[inline]
pub fn supports(mask: u64) -> bool {
    detected() & mask == mask
}

#[cfg(target_arch = "x86_64")]
fn runtime_has(name: &str) -> bool {
    use std::arch::is_x86_feature_detected as has;
    match name {
        "sse" => has!("sse"),
        "sse2" => has!("sse2"),
        "sse3" => has!("sse3"),
        "ssse3" => has!("ssse3"),
        "sse4.1" => has!("sse4.1"),
        "sse4.2" => has!("sse4.2"),
        "popcnt" => has!("popcnt"),
        "cmpxchg16b" => has!("cmpxchg16b"),
        "avx" => has!("avx"),
        "avx2" => has!("avx2"),
        "bmi1" => has!("bmi1"),
        "bmi2" => has!("bmi2"),
        "f16c" => has!("f16c"),
        "fma" => has!("fma"),
        "lzcnt" => has!("lzcnt"),
        "movbe" => has!("movbe"),
        "xsave" => has!("xsave"),
        "avx512f" => has!("avx512f"),
        "avx512bw" => has!("avx512bw"),
        "avx512cd" => has!("avx512cd"),
        "avx512dq" => has!("avx512dq"),
        "avx512vl" => has!("avx512vl"),
        "aes" => has!("aes"),
        "pclmulqdq" => has!("pclmulqdq"),
        "sha" => has!("sha"),
        "adx" => has!("adx"),
        _ => false,
    }
}

#[cfg(target_arch = "aarch64")]
fn runtime_has(name: &str) -> bool {
    use std::arch::is_aarch64_feature_detected as has;
    match name {
        "neon" => has!("neon"),
        "aes" => has!("aes"),
        "sha2" => has!("sha2"),
        "sha3" => has!("sha3"),
        "crc" => has!("crc"),
        "lse" => has!("lse"),
        "dotprod" => has!("dotprod"),
        "fp16" => has!("fp16"),
        "sve" => has!("sve"),
        "sve2" => has!("sve2"),
        "rdm" => has!("rdm"),
        _ => false,
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn runtime_has(_name: &str) -> bool {
    false
}

/// Not chosen yet.
const UNSELECTED: u8 = u8::MAX;

/// The clone a multiversioned function uses on this CPU, chosen on its first call.
pub struct Selection {
    index: AtomicU8,
}

impl Selection {
    /// An empty selection (for a `static`).
    pub const fn new() -> Self {
        Self {
            index: AtomicU8::new(UNSELECTED),
        }
    }

    /// Index of the first of `candidates` (feature masks, best first) the CPU supports, or
    /// `candidates.len()` (the baseline clone) when it supports none.
    #[inline]
    pub fn get(&self, candidates: &[u64]) -> usize {
        // ORDERING: relaxed: the index is a pure function of the CPU and `candidates`; a racing
        // first call computes the same value.
        let index = self.index.load(Ordering::Relaxed);
        if index != UNSELECTED {
            return usize::from(index);
        }
        self.select_cold(candidates)
    }

    #[cold]
    fn select_cold(&self, candidates: &[u64]) -> usize {
        let cpu = detected();
        let index = candidates
            .iter()
            .position(|mask| cpu & mask == *mask)
            .unwrap_or(candidates.len());
        // More than 254 clones cannot be cached: choose again on each call (never reached in
        // practice; the macro has no such limit to enforce because each clone is written out).
        if let Ok(small) = u8::try_from(index) {
            if small != UNSELECTED {
                self.index.store(small, Ordering::Relaxed);
            }
        }
        index
    }
}

impl Default for Selection {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_are_unique_per_architecture() {
        for a in FEATURES {
            assert!(a.bit < 63);
            for b in FEATURES {
                if a.arch == b.arch && a.name != b.name {
                    assert_ne!(a.bit, b.bit, "{} and {}", a.name, b.name);
                }
            }
        }
    }

    #[test]
    fn const_mask_matches_mask_of() {
        if ARCH != "other" {
            let names = [FEATURES.iter().find(|f| f.arch == ARCH).unwrap().name];
            assert_eq!(Some(const_mask(ARCH, &names)), mask_of(&names));
        }
        assert_eq!(const_mask("x86_64", &["sse", "avx2"]), 1 | 1 << 9);
    }

    #[test]
    fn unknown_features_have_no_mask() {
        assert_eq!(mask_of(&["no-such-feature"]), None);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn detection_agrees_with_std_and_is_cached() {
        let mask = detected();
        assert_eq!(
            mask & (1 << 9) != 0,
            std::arch::is_x86_feature_detected!("avx2")
        );
        assert!(supports(mask_of(&["sse2"]).unwrap()));
        assert_eq!(detected(), mask);
    }

    #[test]
    fn selection_picks_the_first_supported_candidate_and_caches_it() {
        let selection = Selection::new();
        let impossible = 1u64 << 62;
        assert_eq!(selection.get(&[impossible, 0]), 1);
        // Cached: the candidates are not looked at again.
        assert_eq!(selection.get(&[0, 0]), 1);
        let none = Selection::new();
        assert_eq!(none.get(&[impossible]), 1);
    }
}
