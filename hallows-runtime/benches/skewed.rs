//! Irregular workloads on Hallows, tokio and rayon (2 workers each):
//!
//! * `skewed` — 1 000 tasks whose sizes spread log-uniformly over three orders of magnitude
//!   (10 to 10 000 units of work), spawned from inside the runtime;
//! * `bursty` — 20 bursts of 50 tasks submitted from outside, each burst awaited, with a pause
//!   between bursts long enough for workers to go idle (wake-up latency matters); Hallows runs
//!   both pinned (the default) and unpinned;
//! * `idle_cpu` — the rayon #642 scenario: one tiny task per millisecond for 50 ms. The number
//!   reported is the *process CPU time* consumed during those 50 ms (via `iter_custom`), not
//!   wall time: lower means idle workers burn less CPU.
//!
//! `cargo bench -p hallows-runtime --bench skewed -- --warm-up-time 1 --measurement-time 2`

#[path = "../tests/runtime_support/mod.rs"]
mod support;
#[allow(dead_code)] // shared with the other scheduler benches; this one uses a part
mod workloads;
use workloads::{bursts, hallows_runtime, rayon_pool, work, BURSTS, BURST_TASKS, WORKERS};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SKEWED_TASKS: usize = 1_000;
const IDLE_SPAWNS: usize = 50;

/// Task sizes: log-uniform over [10, 10 000).
fn sizes() -> Vec<u64> {
    let mut s: u64 = 0x2545_f491_4f6c_dd1d;
    (0..SKEWED_TASKS)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let exp = 1.0 + 3.0 * (s % 10_000) as f64 / 10_000.0;
            10f64.powf(exp) as u64
        })
        .collect()
}

fn bench_skewed(
    c: &mut Criterion,
    h: &hallows_runtime::Runtime,
    t: &tokio::runtime::Runtime,
    r: &rayon::ThreadPool,
) {
    let sizes = Arc::new(sizes());
    let mut g = c.benchmark_group("skewed");
    g.bench_function(BenchmarkId::new("hallows", SKEWED_TASKS), |b| {
        b.iter(|| {
            let sizes = sizes.clone();
            h.block_on(h.spawn(async move {
                let hs: Vec<_> = sizes
                    .iter()
                    .map(|&n| hallows_runtime::spawn(async move { work(n) }))
                    .collect();
                let mut acc = 0u64;
                for j in hs {
                    acc = acc.wrapping_add(j.await);
                }
                acc
            }))
        })
    });
    g.bench_function(BenchmarkId::new("hallows-scope", SKEWED_TASKS), |b| {
        b.iter(|| {
            h.block_on(async {
                hallows_runtime::scope(|s| {
                    for &n in sizes.iter() {
                        s.spawn(move |_| {
                            work(n);
                        });
                    }
                })
            })
        })
    });
    g.bench_function(BenchmarkId::new("tokio", SKEWED_TASKS), |b| {
        b.iter(|| {
            let sizes = sizes.clone();
            t.block_on(t.spawn(async move {
                let hs: Vec<_> = sizes
                    .iter()
                    .map(|&n| tokio::spawn(async move { work(n) }))
                    .collect();
                let mut acc = 0u64;
                for j in hs {
                    acc = acc.wrapping_add(j.await.unwrap());
                }
                acc
            }))
            .unwrap()
        })
    });
    g.bench_function(BenchmarkId::new("rayon", SKEWED_TASKS), |b| {
        b.iter(|| {
            r.scope(|s| {
                for &n in sizes.iter() {
                    s.spawn(move |_| {
                        work(n);
                    });
                }
            })
        })
    });
    g.finish();
}

fn bench_bursty(
    c: &mut Criterion,
    h: &hallows_runtime::Runtime,
    t: &tokio::runtime::Runtime,
    r: &rayon::ThreadPool,
) {
    // Pinned workers wait for their own CPU when the machine is oversubscribed (see
    // `Builder::pin`); the unpinned variant shows the scheduler without that effect.
    let hu = hallows_runtime::Runtime::builder()
        .workers(WORKERS)
        .pin(false)
        .report(false)
        .build()
        .unwrap();
    let mut g = c.benchmark_group("bursty");
    g.bench_function(BenchmarkId::new("hallows", BURSTS * BURST_TASKS), |b| {
        b.iter(|| bursts(&|f| drop(h.spawn(async move { f() }))))
    });
    g.bench_function(
        BenchmarkId::new("hallows-unpinned", BURSTS * BURST_TASKS),
        |b| b.iter(|| bursts(&|f| drop(hu.spawn(async move { f() })))),
    );
    g.bench_function(BenchmarkId::new("tokio", BURSTS * BURST_TASKS), |b| {
        b.iter(|| bursts(&|f| drop(t.spawn(async move { f() }))))
    });
    g.bench_function(BenchmarkId::new("rayon", BURSTS * BURST_TASKS), |b| {
        b.iter(|| bursts(&|f| r.spawn(f)))
    });
    g.finish();
}

/// CPU time the process uses while `submit` is called once per millisecond `IDLE_SPAWNS` times.
fn idle_cpu(iters: u64, submit: &dyn Fn()) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let cpu0 = support::process_cpu_time();
        let start = Instant::now();
        for i in 0..IDLE_SPAWNS {
            submit();
            let next = start + Duration::from_millis(i as u64 + 1);
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        }
        total += support::process_cpu_time() - cpu0;
    }
    total
}

fn bench_idle(
    c: &mut Criterion,
    h: &hallows_runtime::Runtime,
    t: &tokio::runtime::Runtime,
    r: &rayon::ThreadPool,
) {
    let mut g = c.benchmark_group("idle_cpu");
    g.sample_size(10);
    g.bench_function(BenchmarkId::new("hallows", IDLE_SPAWNS), |b| {
        b.iter_custom(|iters| idle_cpu(iters, &|| drop(h.spawn(async { work(100) }))))
    });
    g.bench_function(BenchmarkId::new("tokio", IDLE_SPAWNS), |b| {
        b.iter_custom(|iters| idle_cpu(iters, &|| drop(t.spawn(async { work(100) }))))
    });
    g.bench_function(BenchmarkId::new("rayon", IDLE_SPAWNS), |b| {
        b.iter_custom(|iters| {
            idle_cpu(iters, &|| {
                r.spawn(|| {
                    work(100);
                })
            })
        })
    });
    g.finish();
}

fn bench(c: &mut Criterion) {
    let h = hallows_runtime();
    let t = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .build()
        .unwrap();
    let r = rayon_pool();
    bench_skewed(c, &h, &t, &r);
    bench_bursty(c, &h, &t, &r);
    bench_idle(c, &h, &t, &r);
}

criterion_group!(benches, bench);
criterion_main!(benches);
