//! Contention benchmark: a shared counter (hand-written versions), a stack and a map (derived
//! lock versions) at 1, 2, 4 and 8 threads with short and long critical sections, each fixed
//! version against the `#[multiversion_contention]` dispatcher.
//!
//! `cargo bench -p hallows-macros --bench contention -- --warm-up-time 1 --measurement-time 3`;
//! `benches/ratios.py` (in this crate) turns criterion's estimates into the README table.

#[path = "support/fixed.rs"]
mod fixed;
#[path = "support/workloads.rs"]
mod workloads;

use std::collections::HashMap;
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use fixed::{counter_op, map_op, stack_op, FIXED};
use hallows_runtime::contention;
use workloads::{Counter, Map, Stack};

/// Work steps inside a short and a long critical section.
const SECTIONS: [(&str, u32); 2] = [("short", 0), ("long", 200)];
const THREADS: [usize; 4] = [1, 2, 4, 8];
/// Variants: the three fixed versions, then the dispatcher.
const VARIANTS: [&str; 4] = ["optimistic", "backoff", "queued", "adaptive"];

/// Runs `iters` operations split over `threads` threads started together; returns the time.
fn run<S: Send + Sync + 'static>(
    state: &Arc<S>,
    threads: usize,
    iters: u64,
    op: fn(&S, u64),
) -> Duration {
    let per_thread = iters.div_ceil(threads as u64);
    let barrier = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (state, barrier) = (state.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                for i in 0..per_thread {
                    op(&state, i.wrapping_mul(2654435761).wrapping_add(t as u64));
                }
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    for h in handles {
        h.join().unwrap();
    }
    start.elapsed()
}

/// After each adaptive run: the dispatchers' switches during it and the duels (trials) they
/// ran, on stderr (the decision log the report would show).
fn log_decisions(label: &str, logged: &mut usize, trials: &mut u64) {
    let all = contention::decisions();
    let new: Vec<String> = all[*logged..]
        .iter()
        .map(|d| {
            format!(
                "{}: {}->{} ({} -> {} op/ms)",
                d.dispatcher.rsplit("::").nth(1).unwrap_or(""),
                d.from,
                d.to,
                d.before_ops_per_sec / 1000,
                d.after_ops_per_sec / 1000
            )
        })
        .collect();
    *logged = all.len();
    let total: u64 = contention::dispatchers()
        .iter()
        .filter(|d| !std::ptr::eq(**d, &FIXED))
        .map(|d| d.trials())
        .sum();
    let duels = total - *trials;
    *trials = total;
    let now: Vec<String> = contention::dispatchers()
        .iter()
        .filter(|d| !std::ptr::eq(**d, &FIXED))
        .map(|d| {
            let measuring = if d.is_measuring() { " (measuring)" } else { "" };
            let name = d.name().rsplit("::").next().unwrap_or("");
            format!("{name}: {}{measuring}", d.mode())
        })
        .collect();
    eprintln!(
        "decisions during {label}: {duels} duel(s), {} switch(es) {new:?}; versions now {now:?}",
        new.len()
    );
}

fn contention(c: &mut Criterion) {
    let (mut logged, mut trials) = (0, 0);
    for (section, steps) in SECTIONS {
        for workload in ["counter", "stack", "map"] {
            let mut group = c.benchmark_group(format!("contention/{workload}/{section}"));
            group.sample_size(10);
            for threads in THREADS {
                group.throughput(Throughput::Elements(1));
                for (variant, name) in VARIANTS.iter().enumerate() {
                    let id = BenchmarkId::new(*name, threads);
                    match workload {
                        "counter" => {
                            let state = Arc::new(Counter::new(steps));
                            let op = counter_op(variant);
                            group.bench_function(id, |b| {
                                b.iter_custom(|iters| run(&state, threads, iters, op))
                            });
                        }
                        "stack" => {
                            let state = Arc::new(Stack {
                                items: Mutex::new(Vec::new()),
                                steps,
                            });
                            let op = stack_op(variant);
                            group.bench_function(id, |b| {
                                b.iter_custom(|iters| run(&state, threads, iters, op))
                            });
                        }
                        _ => {
                            let state = Arc::new(Map {
                                entries: Mutex::new(HashMap::new()),
                                steps,
                            });
                            let op = map_op(variant);
                            group.bench_function(id, |b| {
                                b.iter_custom(|iters| run(&state, threads, iters, op))
                            });
                        }
                    }
                    if *name == "adaptive" {
                        let label = format!("{workload}/{section}/{threads}");
                        log_decisions(&label, &mut logged, &mut trials);
                    }
                }
            }
            group.finish();
        }
    }
}

criterion_group!(benches, contention);
criterion_main!(benches);
