//! CPU features: a SIMD-friendly kernel compiled for the baseline target, with Hallows'
//! `#[multiversion]` and with the `multiversion` crate (same target sets).
//!
//! `cargo bench -p hallows-macros --bench multiversion -- --warm-up-time 1 --measurement-time 2`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// Elements per call: 16 KiB of `u32`, resident in L1.
const LEN: usize = 4096;

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
fn plain(xs: &[u32]) -> u32 {
    kernel_body(xs)
}

/// Hallows' attribute.
#[hallows_macros::multiversion(targets("x86-64-v3", "x86-64-v2"))]
#[inline(never)]
fn hallows(xs: &[u32]) -> u32 {
    kernel_body(xs)
}

/// The `multiversion` crate with the same feature sets.
#[multiversion::multiversion(targets(
    "x86_64+avx+avx2+bmi1+bmi2+f16c+fma+lzcnt+movbe+xsave+sse3+ssse3+sse4.1+sse4.2+popcnt+cmpxchg16b",
    "x86_64+sse3+ssse3+sse4.1+sse4.2+popcnt+cmpxchg16b"
))]
#[inline(never)]
fn crate_mv(xs: &[u32]) -> u32 {
    kernel_body(xs)
}

fn cpu_features(c: &mut Criterion) {
    let xs: Vec<u32> = (0..LEN as u32)
        .map(|i| i.wrapping_mul(2654435761))
        .collect();
    assert_eq!(plain(&xs), hallows(&xs));
    assert_eq!(plain(&xs), crate_mv(&xs));
    let mut group = c.benchmark_group("multiversion/sum_of_squares_4096");
    group.throughput(Throughput::Elements(LEN as u64));
    group.bench_function("baseline", |b| b.iter(|| plain(black_box(&xs))));
    group.bench_function("hallows", |b| b.iter(|| hallows(black_box(&xs))));
    group.bench_function("multiversion_crate", |b| {
        b.iter(|| crate_mv(black_box(&xs)))
    });
    group.finish();
}

criterion_group!(benches, cpu_features);
criterion_main!(benches);
