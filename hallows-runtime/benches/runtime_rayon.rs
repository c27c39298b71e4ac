//! rayon's classic fork-join workloads — fib through `join`, quicksort, an nbody-style parallel
//! loop — on Hallows (`join`, entered with `block_on`) and on a rayon pool (`join`, entered with
//! `install`), both with 2 workers.
//!
//! `cargo bench -p hallows-runtime --bench runtime_rayon -- --warm-up-time 1 --measurement-time 2`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::hint::black_box;

const WORKERS: usize = 2;

/// Hallows pins its workers by default; `HALLOWS_BENCH_UNPINNED=1` measures it unpinned (on a
/// machine shared with other busy processes, pinned workers wait for their own CPU).
fn pin_workers() -> bool {
    std::env::var_os("HALLOWS_BENCH_UNPINNED").is_none()
}
const FIB_N: u64 = 25;
const SORT_LEN: usize = 200_000;
const BODIES: usize = 1_000;

/// Written once, instantiated per fork-join implementation.
trait Fork: Sync {
    fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send;
}

struct H;
struct R;

impl Fork for H {
    fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        hallows_runtime::join(a, b)
    }
}

impl Fork for R {
    fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        rayon::join(a, b)
    }
}

fn fib<F: Fork>(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = F::join(|| fib::<F>(n - 1), || fib::<F>(n - 2));
    a + b
}

fn quicksort<F: Fork>(v: &mut [u32]) {
    if v.len() <= 512 {
        v.sort_unstable();
        return;
    }
    let pivot = {
        let (a, b, c) = (v[0], v[v.len() / 2], v[v.len() - 1]);
        a.max(b).min(a.min(b).max(c))
    };
    let mut lo = 0;
    let mut hi = v.len() - 1;
    loop {
        while v[lo] < pivot {
            lo += 1;
        }
        while v[hi] > pivot {
            hi -= 1;
        }
        if lo >= hi {
            break;
        }
        v.swap(lo, hi);
        lo += 1;
        hi -= 1;
    }
    let (left, right) = v.split_at_mut(hi + 1);
    F::join(|| quicksort::<F>(left), || quicksort::<F>(right));
}

#[derive(Clone, Copy)]
struct Body {
    pos: [f64; 3],
    vel: [f64; 3],
    mass: f64,
}

fn accelerate(bodies: &[Body], out: &mut [Body], offset: usize) {
    for (k, o) in out.iter_mut().enumerate() {
        let me = bodies[offset + k];
        let mut acc = [0.0; 3];
        for other in bodies {
            let d = [
                other.pos[0] - me.pos[0],
                other.pos[1] - me.pos[1],
                other.pos[2] - me.pos[2],
            ];
            let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2] + 1e-3;
            let inv = other.mass / (r2 * r2.sqrt());
            for (acc, d) in acc.iter_mut().zip(d) {
                *acc += d * inv;
            }
        }
        let mut next = me;
        for ((vel, pos), acc) in next.vel.iter_mut().zip(&mut next.pos).zip(acc) {
            *vel += acc * 1e-3;
            *pos += *vel * 1e-3;
        }
        *o = next;
    }
}

/// A parallel loop over chunks of `out`, split recursively with `join` (rayon's `par_chunks_mut`
/// does the same splitting internally).
fn par_chunks<F: Fork>(bodies: &[Body], out: &mut [Body], offset: usize) {
    if out.len() <= 32 {
        accelerate(bodies, out, offset);
        return;
    }
    let mid = out.len() / 2;
    let (l, r) = out.split_at_mut(mid);
    F::join(
        || par_chunks::<F>(bodies, l, offset),
        || par_chunks::<F>(bodies, r, offset + mid),
    );
}

fn nbody<F: Fork>(bodies: &mut Vec<Body>, steps: usize) {
    let mut next = bodies.clone();
    for _ in 0..steps {
        par_chunks::<F>(bodies, &mut next, 0);
        std::mem::swap(bodies, &mut next);
    }
}

fn input(len: usize) -> Vec<u32> {
    let mut x: u32 = 0x9e37_79b9;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        })
        .collect()
}

fn bodies() -> Vec<Body> {
    (0..BODIES)
        .map(|i| {
            let f = i as f64;
            Body {
                pos: [f.sin() * 10.0, f.cos() * 10.0, (f * 0.1).sin()],
                vel: [0.0; 3],
                mass: 1.0 + (i % 3) as f64,
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let hallows = hallows_runtime::Runtime::builder()
        .workers(WORKERS)
        .pin(pin_workers())
        .report(false)
        .build()
        .unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(WORKERS)
        .build()
        .unwrap();

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
