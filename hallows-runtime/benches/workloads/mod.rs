//! The workloads shared by the scheduler's benches (`runtime_rayon`, `skewed`, `fork_join_pairs`),
//! so that the criterion benches and the interleaved probe measure the very same code. Each
//! bench uses a part of them.

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// Workers of every runtime and pool the benches compare: one per core of the 2-vCPU machines.
pub const WORKERS: usize = 2;

/// Hallows pins its workers by default; `HALLOWS_BENCH_UNPINNED=1` measures it unpinned (on a
/// machine shared with other busy processes, pinned workers wait for their own CPU).
pub fn pin_workers() -> bool {
    std::env::var_os("HALLOWS_BENCH_UNPINNED").is_none()
}

/// A Hallows runtime with [`WORKERS`] workers, pinned unless `HALLOWS_BENCH_UNPINNED` is set,
/// writing no report.
pub fn hallows_runtime() -> hallows_runtime::Runtime {
    hallows_runtime::Runtime::builder()
        .workers(WORKERS)
        .pin(pin_workers())
        .report(false)
        .build()
        .unwrap()
}

/// A rayon pool with [`WORKERS`] threads.
pub fn rayon_pool() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(WORKERS)
        .build()
        .unwrap()
}

pub const BURSTS: usize = 20;
pub const BURST_TASKS: usize = 50;
pub const BURST_PAUSE: Duration = Duration::from_micros(200);

pub const FIB_N: u64 = 25;
pub const SORT_LEN: usize = 200_000;
pub const BODIES: usize = 1_000;

/// Written once, instantiated per fork-join implementation.
pub trait Fork: Sync {
    fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send;
}

pub struct H;
pub struct R;

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

pub fn fib<F: Fork>(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = F::join(|| fib::<F>(n - 1), || fib::<F>(n - 2));
    a + b
}

pub fn quicksort<F: Fork>(v: &mut [u32]) {
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
pub struct Body {
    pos: [f64; 3],
    vel: [f64; 3],
    mass: f64,
}

pub fn accelerate(bodies: &[Body], out: &mut [Body], offset: usize) {
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
pub fn par_chunks<F: Fork>(bodies: &[Body], out: &mut [Body], offset: usize) {
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

pub fn nbody<F: Fork>(bodies: &mut Vec<Body>, steps: usize) {
    let mut next = bodies.clone();
    for _ in 0..steps {
        par_chunks::<F>(bodies, &mut next, 0);
        std::mem::swap(bodies, &mut next);
    }
}

pub fn input(len: usize) -> Vec<u32> {
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

pub fn bodies() -> Vec<Body> {
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

pub fn work(units: u64) -> u64 {
    let mut x = units;
    for i in 0..units {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(i);
    }
    black_box(x)
}

/// Where a [`bursts`] run spent its time, summed over the bursts: submitting the tasks (the
/// submitting thread's own cost per task: allocation, queueing, wake-ups) and waiting from the
/// last submission until the burst's last task reported (the workers draining it). The pauses
/// are not included.
#[derive(Clone, Copy, Debug, Default)]
pub struct BurstPhases {
    pub submit: Duration,
    pub drain: Duration,
}

/// Runs `BURSTS` bursts; `submit` submits one task that calls the given closure when done.
pub fn bursts(submit: &dyn Fn(Box<dyn FnOnce() + Send>)) -> BurstPhases {
    let mut phases = BurstPhases::default();
    for _ in 0..BURSTS {
        let (tx, rx) = mpsc::sync_channel(1);
        let rem = Arc::new(AtomicUsize::new(BURST_TASKS));
        let start = Instant::now();
        for _ in 0..BURST_TASKS {
            let rem = rem.clone();
            let tx = tx.clone();
            submit(Box::new(move || {
                work(1_000);
                if rem.fetch_sub(1, Relaxed) == 1 {
                    tx.send(()).unwrap();
                }
            }));
        }
        let submitted = Instant::now();
        rx.recv().unwrap();
        let drained = Instant::now();
        phases.submit += submitted - start;
        phases.drain += drained - submitted;
        std::thread::sleep(BURST_PAUSE);
    }
    phases
}
