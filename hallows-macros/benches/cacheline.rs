//! False sharing: two threads each increment their own counter, the counters either adjacent in
//! a plain struct or isolated by `#[cacheline_aligned(isolate)]`.
//!
//! A control, `one_shared_counter` (both threads incrementing the *same* counter), shows whether
//! a line moving between the two threads' caches costs anything on the machine at all: where it
//! is as fast as two private counters, the two threads share one core's cache (SMT siblings) or
//! are not running at the same time, and no layout can make a difference.
//!
//! `cargo bench -p hallows-macros --bench cacheline -- --warm-up-time 1 --measurement-time 3`

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hallows_macros::cacheline_aligned;

/// Per-thread counters as they are usually first written: side by side.
#[derive(Default)]
struct PlainCounters {
    a: AtomicU64,
    b: AtomicU64,
}

/// The same struct with the attribute added; the code using it is unchanged.
#[cacheline_aligned(isolate)]
#[derive(Default)]
struct AlignedCounters {
    a: AtomicU64,
    b: AtomicU64,
}

/// The control: one counter for both threads (true sharing).
#[derive(Default)]
struct OneCounter {
    n: AtomicU64,
}

/// Both counter structs, as the benchmark drives them.
trait TwoCounters: Default + Send + Sync + 'static {
    fn counter(&self, i: usize) -> &AtomicU64;
}

impl TwoCounters for PlainCounters {
    fn counter(&self, i: usize) -> &AtomicU64 {
        if i == 0 {
            &self.a
        } else {
            &self.b
        }
    }
}

impl TwoCounters for AlignedCounters {
    fn counter(&self, i: usize) -> &AtomicU64 {
        if i == 0 {
            &self.a
        } else {
            &self.b
        }
    }
}

impl TwoCounters for OneCounter {
    fn counter(&self, _: usize) -> &AtomicU64 {
        &self.n
    }
}

/// Two threads each do `iters` increments of their own counter; returns the elapsed time.
fn run<C: TwoCounters>(iters: u64) -> Duration {
    let counters = Arc::new(C::default());
    let barrier = Arc::new(Barrier::new(3));
    let handles: Vec<_> = (0..2)
        .map(|t| {
            let (counters, barrier) = (counters.clone(), barrier.clone());
            std::thread::spawn(move || {
                let counter = counters.counter(t);
                barrier.wait();
                for _ in 0..iters {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    for h in handles {
        h.join().unwrap();
    }
    let elapsed = start.elapsed();
    assert_eq!(
        counters.counter(0).load(Ordering::Relaxed) + counters.counter(1).load(Ordering::Relaxed),
        if std::ptr::eq(counters.counter(0), counters.counter(1)) {
            4 * iters
        } else {
            2 * iters
        }
    );
    elapsed
}

fn false_sharing(c: &mut Criterion) {
    let mut group = c.benchmark_group("false_sharing/2_threads");
    group.sample_size(10);
    group.throughput(Throughput::Elements(1));
    group.bench_function("plain", |b| b.iter_custom(run::<PlainCounters>));
    group.bench_function("cacheline_aligned", |b| {
        b.iter_custom(run::<AlignedCounters>)
    });
    group.bench_function("one_shared_counter", |b| b.iter_custom(run::<OneCounter>));
    group.finish();
}

criterion_group!(benches, false_sharing);
criterion_main!(benches);
