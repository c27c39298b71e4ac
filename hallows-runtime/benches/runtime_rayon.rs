//! rayon's classic fork-join workloads — fib through `join`, quicksort, an nbody-style parallel
//! loop — on Hallows (`join`, entered with `block_on`) and on a rayon pool (`join`, entered with
//! `install`), both with 2 workers.
//!
//! `cargo bench -p hallows-runtime --bench runtime_rayon -- --warm-up-time 1 --measurement-time 2`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::hint::black_box;

#[allow(dead_code)] // shared with the other scheduler benches; this one uses a part
mod workloads;
use workloads::*;

fn bench(c: &mut Criterion) {
    let hallows = hallows_runtime();
    let pool = rayon_pool();

    let mut g = c.benchmark_group("fib_join");
    g.bench_function(BenchmarkId::new("hallows", FIB_N), |b| {
        b.iter(|| hallows.block_on(async { black_box(fib::<H>(black_box(FIB_N))) }))
    });
    g.bench_function(BenchmarkId::new("rayon", FIB_N), |b| {
        b.iter(|| pool.install(|| black_box(fib::<R>(black_box(FIB_N)))))
    });
    g.finish();

    let data = input(SORT_LEN);
    let mut g = c.benchmark_group("quicksort");
    g.bench_function(BenchmarkId::new("hallows", SORT_LEN), |b| {
        b.iter_batched_ref(
            || data.clone(),
            |v| hallows.block_on(async { quicksort::<H>(v) }),
            criterion::BatchSize::LargeInput,
        )
    });
    g.bench_function(BenchmarkId::new("rayon", SORT_LEN), |b| {
        b.iter_batched_ref(
            || data.clone(),
            |v| pool.install(|| quicksort::<R>(v)),
            criterion::BatchSize::LargeInput,
        )
    });
    g.finish();

    let start = bodies();
    let mut g = c.benchmark_group("nbody");
    g.bench_function(BenchmarkId::new("hallows", BODIES), |b| {
        b.iter_batched_ref(
            || start.clone(),
            |v| hallows.block_on(async { nbody::<H>(v, 2) }),
            criterion::BatchSize::LargeInput,
        )
    });
    g.bench_function(BenchmarkId::new("rayon", BODIES), |b| {
        b.iter_batched_ref(
            || start.clone(),
            |v| pool.install(|| nbody::<R>(v, 2)),
            criterion::BatchSize::LargeInput,
        )
    });
    g.finish();

    // Same answers on both (outside the timed loops).
    assert_eq!(
        hallows.block_on(async { fib::<H>(20) }),
        pool.install(|| fib::<R>(20))
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
