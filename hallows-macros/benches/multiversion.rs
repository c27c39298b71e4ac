//! CPU features: a SIMD-friendly kernel compiled for the baseline target, with Hallows'
//! `#[multiversion]` and with the `multiversion` crate (same target sets; `support/kernel.rs`).
//! `benches/multiversion_interleaved.rs` measures the same functions in alternating blocks.
//!
//! `cargo bench -p hallows-macros --bench multiversion -- --warm-up-time 1 --measurement-time 2`

#[path = "support/kernel.rs"]
mod kernel;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kernel::{crate_mv, hallows, hallows_v4, plain, LEN};

fn cpu_features(c: &mut Criterion) {
    let xs: Vec<u32> = (0..LEN as u32)
        .map(|i| i.wrapping_mul(2654435761))
        .collect();
    assert_eq!(plain(&xs), hallows(&xs));
    assert_eq!(plain(&xs), crate_mv(&xs));
    assert_eq!(plain(&xs), hallows_v4(&xs));
    let mut group = c.benchmark_group("multiversion/sum_of_squares_4096");
    group.throughput(Throughput::Elements(LEN as u64));
    group.bench_function("baseline", |b| b.iter(|| plain(black_box(&xs))));
    group.bench_function("hallows", |b| b.iter(|| hallows(black_box(&xs))));
    group.bench_function("multiversion_crate", |b| {
        b.iter(|| crate_mv(black_box(&xs)))
    });
    group.bench_function("hallows_v4", |b| b.iter(|| hallows_v4(black_box(&xs))));
    group.finish();
}

criterion_group!(benches, cpu_features);
criterion_main!(benches);
