//! Workloads shared by the lock-free benches: `mpsc` and `map` time them with criterion,
//! `lockfree_pairs` alternates them round by round (with [`pairs`], which `reclaim`'s probe uses too). One copy, so the probe measures exactly
//! what the criterion benches measure.

// Each bench uses only part of this module.
#![allow(dead_code)]

use std::hint::black_box;
use std::time::Instant;

use hallows_runtime::map::ConcurrentMap;

/// Producers feeding the one consumer in the MPSC workloads.
pub const PRODUCERS: u64 = 2;
/// Values each producer sends.
pub const ITEMS: u64 = 20_000;
/// Slots in every bounded queue.
pub const CAPACITY: usize = 1024;

/// Hallows' `queue::mpsc`: the consumer pops in batches and parks when the queue is empty.
pub fn hallows_mpsc() {
    let (tx, mut rx) = hallows_runtime::queue::mpsc::bounded::<u64>(CAPACITY).unwrap();
    std::thread::scope(|s| {
        for _ in 0..PRODUCERS {
            let tx = tx.clone();
            s.spawn(move || {
                for i in 0..ITEMS {
                    tx.push(i).unwrap();
                }
            });
        }
        let mut got = 0;
        let mut sum = 0;
        while got < PRODUCERS * ITEMS {
            let n = rx.pop_batch(64, |v| sum += v);
            got += n as u64;
            if n == 0 {
                // Empty: park until a producer publishes (like the channels' `recv`).
                sum += rx.pop_blocking().unwrap();
                got += 1;
            }
        }
        black_box(sum);
    });
}

/// Hallows' `queue::mpsc` driven exactly like [`crossbeam_array_queue`]: `try_push` and
/// single `pop`, both sides yielding when full or empty, so the two differ only in the queue
/// (the blocking `push` and `pop_blocking` of [`hallows_mpsc`] spin, yield and then park).
pub fn hallows_mpsc_yielding() {
    let (tx, mut rx) = hallows_runtime::queue::mpsc::bounded::<u64>(CAPACITY).unwrap();
    std::thread::scope(|s| {
        for _ in 0..PRODUCERS {
            let tx = tx.clone();
            s.spawn(move || {
                for i in 0..ITEMS {
                    let mut v = i;
                    while let Err(back) = tx.try_push(v) {
                        v = back.into_inner();
                        std::thread::yield_now();
                    }
                }
            });
        }
        black_box(drain_yielding(|| rx.pop()));
    });
}

/// crossbeam's `ArrayQueue`, which has no blocking operations: both sides yield when full or
/// empty, so an oversubscribed peer can run.
pub fn crossbeam_array_queue() {
    let q = crossbeam_queue::ArrayQueue::<u64>::new(CAPACITY);
    std::thread::scope(|s| {
        for _ in 0..PRODUCERS {
            let q = &q;
            s.spawn(move || {
                for i in 0..ITEMS {
                    let mut v = i;
                    while let Err(back) = q.push(v) {
                        v = back;
                        std::thread::yield_now();
                    }
                }
            });
        }
        black_box(drain_yielding(|| q.pop()));
    });
}

/// Threads running the map mix.
pub const THREADS: u64 = 2;
/// Operations per thread and iteration.
pub const OPS: u64 = 20_000;
/// Key range; maps start filled with every even key (half full).
pub const KEYS: u64 = 4096;

/// A cheap deterministic stream of (operation selector 0..100, key) pairs (xorshift).
/// The consumer side of the yielding drivers: pops all `PRODUCERS * ITEMS` items one at a time,
/// yielding when the queue is empty, and returns their sum.
fn drain_yielding(mut pop: impl FnMut() -> Option<u64>) -> u64 {
    let mut got = 0;
    let mut sum = 0;
    while got < PRODUCERS * ITEMS {
        match pop() {
            Some(v) => {
                sum += v;
                got += 1;
            }
            None => std::thread::yield_now(),
        }
    }
    sum
}

pub fn ops(seed: u64) -> impl Iterator<Item = (u64, u64)> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..OPS).map(move |_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % 100, (x >> 8) % KEYS)
    })
}

/// Runs `per_thread(seed)` on [`THREADS`] scoped threads, seeds 1, 2, ...
pub fn run(per_thread: impl Fn(u64) + Sync) {
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let per_thread = &per_thread;
            s.spawn(move || per_thread(t + 1));
        }
    });
}

/// A Hallows map holding every even key below [`KEYS`].
pub fn prefilled_hallows_map() -> ConcurrentMap<u64, u64> {
    let map = ConcurrentMap::new();
    let h = map.handle();
    for k in (0..KEYS).step_by(2) {
        h.insert(k, k);
    }
    drop(h);
    map
}

/// A dashmap holding every even key below [`KEYS`].
pub fn prefilled_dashmap() -> dashmap::DashMap<u64, u64> {
    let map = dashmap::DashMap::new();
    for k in (0..KEYS).step_by(2) {
        map.insert(k, k);
    }
    map
}

/// One iteration of the 90% get / 5% insert / 5% remove mix on a Hallows map.
pub fn hallows_map_mix(map: &ConcurrentMap<u64, u64>) {
    run(|seed| {
        let h = map.handle();
        for (op, k) in ops(seed) {
            match op {
                0..90 => {
                    black_box(h.get(&k));
                }
                90..95 => {
                    h.insert(k, k);
                }
                _ => {
                    h.remove(&k);
                }
            }
        }
    })
}

/// One iteration of the same mix on a dashmap.
pub fn dashmap_mix(map: &dashmap::DashMap<u64, u64>) {
    run(|seed| {
        for (op, k) in ops(seed) {
            match op {
                0..90 => {
                    black_box(map.get(&k).map(|v| *v));
                }
                90..95 => {
                    map.insert(k, k);
                }
                _ => {
                    map.remove(&k);
                }
            }
        }
    })
}

/// Untimed rounds of each side before an interleaved probe.
pub const WARM_UP_ROUNDS: usize = 20;

/// The median of `v` (sorts it).
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).expect("timings are not NaN"));
    v[v.len() / 2]
}

/// The mean of `v`.
fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// Iterations per block in [`blocks`].
pub const BLOCK_ITERATIONS: usize = 25;

/// Criterion-like probe: like criterion's `b.iter`, runs [`BLOCK_ITERATIONS`] iterations of one
/// side back to back and times the block, then a block of the other side (alternating which
/// goes first), `blocks` times after one untimed block each. Prints the per-iteration mean of
/// each side over all blocks, their ratio rival ÷ Hallows (what criterion's two estimates
/// give), the median and spread of the per-block-pair ratios, and the blocks Hallows won.
pub fn blocks(name: &str, rival: &str, blocks: usize, h: &dyn Fn(), r: &dyn Fn()) {
    let block = |f: &dyn Fn()| {
        let start = Instant::now();
        for _ in 0..BLOCK_ITERATIONS {
            f();
        }
        start.elapsed().as_secs_f64() * 1e3 / BLOCK_ITERATIONS as f64
    };
    block(h);
    block(r);
    let (mut th, mut tr, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..blocks {
        let (a, b) = if i % 2 == 0 {
            let a = block(h);
            (a, block(r))
        } else {
            let b = block(r);
            (block(h), b)
        };
        th.push(a);
        tr.push(b);
        ratio.push(b / a);
    }
    let won = ratio.iter().filter(|&&x| x > 1.0).count();
    let (mean_h, mean_r) = (mean(&th), mean(&tr));
    let mut sorted = ratio.clone();
    sorted.sort_by(|a, b| a.partial_cmp(b).expect("timings are not NaN"));
    let pct = |p: usize| sorted[(sorted.len() - 1) * p / 100];
    println!(
        "{name} blocks of {BLOCK_ITERATIONS}: hallows {mean_h:.3} ms, {rival} {mean_r:.3} ms per \
         iteration, ratio of means {:.3}; per-block ratio p10 {:.3} p50 {:.3} p90 {:.3}, \
         hallows won {won}/{blocks}",
        mean_r / mean_h,
        pct(10),
        pct(50),
        pct(90),
    );
}

/// Voluntary and involuntary context switches of the whole process so far.
fn switches() -> (i64, i64) {
    // SAFETY: `rusage` is plain data; `getrusage` only writes it.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer to a `rusage`.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    (u.ru_nvcsw, u.ru_nivcsw)
}

/// Interleaved probe: every round runs `h` (Hallows) and `r` (the rival) back to back,
/// alternating which goes first, after [`WARM_UP_ROUNDS`] untimed rounds; prints both medians,
/// the median of the per-round ratios rival ÷ Hallows, the rounds Hallows won, percentiles and
/// context switches per round.
pub fn pairs(name: &str, rival: &str, rounds: usize, h: &dyn Fn(), r: &dyn Fn()) {
    let time = |f: &dyn Fn()| {
        let start = Instant::now();
        f();
        start.elapsed().as_secs_f64() * 1e3
    };
    // Hallows' round times with the context switches of that round.
    let mut detail: Vec<(f64, i64, i64)> = Vec::new();
    let mut rival_switches = (0, 0);
    let time_h = |detail: &mut Vec<(f64, i64, i64)>| {
        let (v0, i0) = switches();
        let t = time(h);
        let (v1, i1) = switches();
        detail.push((t, v1 - v0, i1 - i0));
        t
    };
    let mut time_r = |f: &dyn Fn()| {
        let (v0, i0) = switches();
        let t = time(f);
        let (v1, i1) = switches();
        rival_switches.0 += v1 - v0;
        rival_switches.1 += i1 - i0;
        t
    };
    for _ in 0..WARM_UP_ROUNDS {
        time(h);
        time(r);
    }
    let (mut th, mut tr, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..rounds {
        let (a, b) = if i % 2 == 0 {
            let a = time_h(&mut detail);
            (a, time_r(r))
        } else {
            let b = time_r(r);
            (time_h(&mut detail), b)
        };
        th.push(a);
        tr.push(b);
        ratio.push(b / a);
    }
    let won = ratio.iter().filter(|&&x| x > 1.0).count();
    // Criterion's estimate is a slope over summed iteration times, i.e. a mean, which slow
    // rounds move and a median does not: print the means too.
    let (mean_h, mean_r) = (mean(&th), mean(&tr));
    println!(
        "  {name} means: hallows {mean_h:.3} ms, {rival} {mean_r:.3} ms, ratio of means {:.3}",
        mean_r / mean_h
    );
    let mut sorted = th.clone();
    sorted.sort_by(|a, b| a.partial_cmp(b).expect("timings are not NaN"));
    let pct = |p: usize| sorted[(sorted.len() - 1) * p / 100];
    println!(
        "{name}: hallows {:.3} ms, {rival} {:.3} ms, ratio {rival}/hallows median {:.3}, \
         hallows won {won}/{rounds}; hallows p10 {:.3} p50 {:.3} p90 {:.3} max {:.3} ms",
        median(&mut th.clone()),
        median(&mut tr.clone()),
        median(&mut ratio),
        pct(10),
        pct(50),
        pct(90),
        pct(100),
    );
    let mut rs = tr.clone();
    rs.sort_by(|a, b| a.partial_cmp(b).expect("timings are not NaN"));
    let rpct = |p: usize| rs[(rs.len() - 1) * p / 100];
    println!(
        "  {name} {rival}: p10 {:.3} p50 {:.3} p90 {:.3} ms, {:.1} voluntary + {:.1} involuntary \
         switches per round",
        rpct(10),
        rpct(50),
        rpct(90),
        rival_switches.0 as f64 / rounds as f64,
        rival_switches.1 as f64 / rounds as f64,
    );
    // Context switches per round, for Hallows' faster and slower halves.
    let split = pct(50);
    for (label, fast) in [("faster half", true), ("slower half", false)] {
        let part: Vec<_> = detail.iter().filter(|d| (d.0 <= split) == fast).collect();
        let n = part.len().max(1) as f64;
        println!(
            "  {name} hallows {label}: {:.3} ms, {:.1} voluntary + {:.1} involuntary switches per round",
            part.iter().map(|d| d.0).sum::<f64>() / n,
            part.iter().map(|d| d.1 as f64).sum::<f64>() / n,
            part.iter().map(|d| d.2 as f64).sum::<f64>() / n,
        );
    }
}
