//! The CPU-features kernel shared by `benches/multiversion.rs` (criterion) and
//! `benches/multiversion_interleaved.rs`: a SIMD-friendly reduction compiled for the baseline
//! target, with Hallows' `#[multiversion]` and with the `multiversion` crate (same target sets),
//! and with Hallows' attribute with x86-64-v4 in front.

/// Elements per call: 16 KiB of `u32`, resident in L1.
pub const LEN: usize = 4096;

/// The kernel body: a reassociable integer reduction that vectorises with the target's widest
/// integer vectors (8 lanes with AVX2, 4 with SSE2).
#[inline(always)]
fn kernel_body(xs: &[u32]) -> u32 {
    xs.iter()
        .map(|&x| x.wrapping_mul(x) ^ (x >> 3))
        .fold(0u32, u32::wrapping_add)
}

/// Baseline: whatever the build's target CPU allows.
#[inline(never)]
pub fn plain(xs: &[u32]) -> u32 {
    kernel_body(xs)
}

/// Hallows' attribute.
#[hallows_macros::multiversion(targets("x86-64-v3", "x86-64-v2"))]
#[inline(never)]
pub fn hallows(xs: &[u32]) -> u32 {
    kernel_body(xs)
}

/// Hallows' attribute with x86-64-v4 (AVX-512) first: on a CPU with AVX-512 (session 10's Zen 4)
/// the dispatcher picks the v4 clone, 16 lanes per vector.
#[hallows_macros::multiversion(targets("x86-64-v4", "x86-64-v3", "x86-64-v2"))]
#[inline(never)]
pub fn hallows_v4(xs: &[u32]) -> u32 {
    kernel_body(xs)
}

/// The `multiversion` crate with the same feature sets.
#[multiversion::multiversion(targets(
    "x86_64+avx+avx2+bmi1+bmi2+f16c+fma+lzcnt+movbe+xsave+sse3+ssse3+sse4.1+sse4.2+popcnt+cmpxchg16b",
    "x86_64+sse3+ssse3+sse4.1+sse4.2+popcnt+cmpxchg16b"
))]
#[inline(never)]
pub fn crate_mv(xs: &[u32]) -> u32 {
    kernel_body(xs)
}
