//! The contention benchmark's 24 points measured interleaved: in every round each fixed version
//! and the `#[multiversion_contention]` dispatcher run the workload for the same wall time, one
//! after another on the same threads-to-cores situation and the same freshly allocated state,
//! in an order rotated every round.
//! Per round the adaptive version's time per operation is divided by each fixed version's; the
//! reported ratio against a fixed version is the median of those per-round ratios, and "vs best"
//! the largest of them (the fixed version that was fastest against the adaptive one).
//!
//! Why: separate runs of the criterion bench (`benches/contention.rs`) on these 2-vCPU VMs move a
//! fixed version's time by up to 2x between runs, more than the 5% the goal asks to resolve; a
//! drift of the machine hits the variants of one round alike, and the median drops the rounds
//! a preemption storm hit.
//!
//! Honesty: the dispatcher is not primed. Its statics carry on from the previous point (as the
//! criterion bench's did: the thread count changes under it), it searches by itself during the
//! measured rounds, and every round counts. Besides the median, the ratio of total times over
//! all rounds (`total`) includes the rounds in which it searched.
//!
//! ```text
//! cargo bench -p hallows-macros --bench contention_interleaved --no-run
//! <bench binary> [FILTER] [--rounds N] [--round-ms MS] [--fresh]
//! ```
//! `FILTER` is a substring of `workload/section/threads` (for example `counter/short`).
//! `--fresh` runs every point in a process of its own, so each starts with dispatchers that
//! have never seen contention (no choice carried over from the previous point).

#[path = "support/fixed.rs"]
mod fixed;
#[path = "support/stats.rs"]
mod stats;
#[path = "support/workloads.rs"]
mod workloads;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use fixed::{counter_op, map_op, stack_op, FIXED};
use hallows_runtime::contention;
use stats::median;
use workloads::{Counter, Map, Stack};

/// Work steps inside a short and a long critical section.
const SECTIONS: [(&str, u32); 2] = [("short", 0), ("long", 200)];
const THREADS: [usize; 4] = [1, 2, 4, 8];
/// Variants: the three fixed versions, then the dispatcher.
const VARIANTS: [&str; 4] = ["optimistic", "backoff", "queued", "adaptive"];
const ADAPTIVE: usize = 3;
/// Operations a thread runs between two looks at the stop flag.
const OPS_PER_CHECK: u64 = 32;

/// Runs `op` on `threads` threads started together until `length` has passed; returns the
/// wall time per operation in nanoseconds.
fn round<S: Send + Sync + 'static>(
    state: &Arc<S>,
    threads: usize,
    length: Duration,
    op: fn(&S, u64),
) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let ops = Arc::new(AtomicU64::new(0));
    let barrier = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (state, stop, ops, barrier) =
                (state.clone(), stop.clone(), ops.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let mut i = 0u64;
                // ORDERING: relaxed: a flag polled every OPS_PER_CHECK operations; the counts
                // are read after `join`, which synchronises.
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..OPS_PER_CHECK {
                        op(&state, i.wrapping_mul(2654435761).wrapping_add(t as u64));
                        i += 1;
                    }
                }
                ops.fetch_add(i, Ordering::Relaxed);
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    std::thread::sleep(length);
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().unwrap();
    }
    let elapsed = start.elapsed();
    elapsed.as_nanos() as f64 / ops.load(Ordering::Relaxed).max(1) as f64
}

/// One round of a point: given the variants in the order to run them, allocates the workload's
/// state once and runs each variant on it; returns the time per operation of each variant,
/// indexed by variant.
///
/// Every variant of a round works on the *same* allocation. Until session 6 each variant had
/// a state of its own for the whole point. On the session-6 Intel VM, with fixed backoff run a
/// second time in place of the queued version, the two copies of the same code on their two
/// states took 37.0 and 31.7 ns at counter short 4 (16 rounds, a 1.17x "gap" between identical
/// versions), while with one state per round they took 44.4 and 46.2 ns (median per-round
/// ratio of the adaptive version against each 1.02 and 0.98). What differs between two states
/// is their address, so the likely cause is where the contended line lives (which cache slice
/// handles its transfers), not measured further (no performance counters on that VM). A fresh
/// state per round moves that placement between rounds, where the median absorbs it, and every
/// variant of a round sees the same one.
type Round = Box<dyn Fn(&[usize], Duration) -> Vec<f64>>;

fn point_round<S: Send + Sync + 'static>(
    make: fn(u32) -> S,
    steps: u32,
    threads: usize,
    ops: [fn(&S, u64); VARIANTS.len()],
) -> Round {
    Box::new(move |order, len| {
        let state = Arc::new(make(steps));
        let mut ns = vec![0.0; VARIANTS.len()];
        for &variant in order {
            ns[variant] = round(&state, threads, len, ops[variant]);
        }
        ns
    })
}

fn new_stack(steps: u32) -> Stack {
    Stack {
        items: Mutex::new(Vec::new()),
        steps,
    }
}

fn new_map(steps: u32) -> Map {
    Map {
        entries: Mutex::new(HashMap::new()),
        steps,
    }
}

fn point(workload: &str, steps: u32, threads: usize) -> Round {
    match workload {
        "counter" => point_round(
            Counter::new,
            steps,
            threads,
            std::array::from_fn(counter_op),
        ),
        "stack" => point_round(new_stack, steps, threads, std::array::from_fn(stack_op)),
        _ => point_round(new_map, steps, threads, std::array::from_fn(map_op)),
    }
}

/// The adaptive dispatchers' duels and versions so far, for the log line after each point.
fn dispatcher_state() -> (u64, Vec<String>) {
    let ds: Vec<_> = contention::dispatchers()
        .into_iter()
        .filter(|d| !std::ptr::eq(*d, &FIXED))
        .collect();
    let trials = ds.iter().map(|d| d.trials()).sum();
    let now = ds
        .iter()
        .map(|d| {
            let name = d.name().rsplit("::").next().unwrap_or("");
            let measuring = if d.is_measuring() { " (measuring)" } else { "" };
            format!("{name}: {}{measuring}", d.mode())
        })
        .collect();
    (trials, now)
}

/// Runs the single point `label` in a new process of this bench (fresh dispatchers), passes its
/// table row through and returns its "vs best (median)" ratio.
fn run_in_child(label: &str, rounds: usize, round_ms: u64) -> f64 {
    let exe = std::env::current_exe().expect("the bench binary's path");
    let out = std::process::Command::new(exe)
        .args([label, "--child", "--rounds"])
        .arg(rounds.to_string())
        .arg("--round-ms")
        .arg(round_ms.to_string())
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("run the bench for one point");
    let row = String::from_utf8_lossy(&out.stdout);
    print!("{row}");
    row.split("**")
        .nth(1)
        .and_then(|r| r.parse().ok())
        .unwrap_or(f64::INFINITY)
}

fn main() {
    let mut filter = String::new();
    let mut rounds = 12usize;
    let mut round_ms = 150u64;
    let (mut fresh, mut child) = (false, false);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--fresh" => fresh = true,
            "--child" => child = true,
            "--rounds" => rounds = args.next().and_then(|v| v.parse().ok()).unwrap_or(rounds),
            "--round-ms" => round_ms = args.next().and_then(|v| v.parse().ok()).unwrap_or(round_ms),
            // Passed by `cargo bench`.
            "--bench" => {}
            other => filter = other.to_string(),
        }
    }
    let length = Duration::from_millis(round_ms);
    if !child {
        println!(
        "| workload | section | threads | optimistic ns | backoff ns | queued ns | adaptive ns | a/opt | a/backoff | a/queued | vs best (median) | vs best (total) |"
    );
        println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    }
    let (mut within, mut points, mut worst) = (0, 0, 0.0f64);
    let (mut trials_before, _) = dispatcher_state();
    let mut logged = contention::decisions().len();
    for (section, steps) in SECTIONS {
        for workload in ["counter", "stack", "map"] {
            for threads in THREADS {
                let label = format!("{workload}/{section}/{threads}");
                if !label.contains(&filter) {
                    continue;
                }
                if fresh {
                    let vs_best = run_in_child(&label, rounds, round_ms);
                    points += 1;
                    within += usize::from(vs_best <= 1.05);
                    worst = worst.max(vs_best);
                    continue;
                }
                let run_round = point(workload, steps, threads);
                let mut ns: Vec<Vec<f64>> = vec![Vec::new(); VARIANTS.len()];
                for r in 0..rounds {
                    let order: Vec<usize> = (0..VARIANTS.len())
                        .map(|k| (r + k) % VARIANTS.len())
                        .collect();
                    for (variant, t) in run_round(&order, length).into_iter().enumerate() {
                        ns[variant].push(t);
                    }
                }
                let per_version: Vec<f64> = (0..ADAPTIVE)
                    .map(|v| median((0..rounds).map(|r| ns[ADAPTIVE][r] / ns[v][r]).collect()))
                    .collect();
                let vs_best = per_version.iter().copied().fold(0.0, f64::max);
                let total = |v: usize| ns[v].iter().sum::<f64>();
                let best_total = (0..ADAPTIVE).map(total).fold(f64::INFINITY, f64::min);
                let vs_total = total(ADAPTIVE) / best_total;
                points += 1;
                within += usize::from(vs_best <= 1.05);
                worst = worst.max(vs_best);
                let med: Vec<f64> = ns.iter().map(|v| median(v.clone())).collect();
                println!(
                    "| {workload} | {section} | {threads} | {:.1} | {:.1} | {:.1} | {:.1} | {:.2} | {:.2} | {:.2} | **{vs_best:.2}** | {vs_total:.2} |",
                    med[0], med[1], med[2], med[3], per_version[0], per_version[1], per_version[2]
                );
                let (trials, now) = dispatcher_state();
                let all = contention::decisions();
                let switches: Vec<String> = all[logged..]
                    .iter()
                    .map(|d| {
                        let owner = d.dispatcher.rsplit("::").nth(1).unwrap_or("");
                        format!(
                            "{owner}: {}->{} ({} vs {} ops/s)",
                            d.from, d.to, d.before_ops_per_sec, d.after_ops_per_sec
                        )
                    })
                    .collect();
                logged = all.len();
                let per_round: Vec<String> = (0..rounds)
                    .map(|r| {
                        let best = (0..ADAPTIVE)
                            .map(|v| ns[v][r])
                            .fold(f64::INFINITY, f64::min);
                        format!("{:.2}", ns[ADAPTIVE][r] / best)
                    })
                    .collect();
                eprintln!(
                    "{label}: {} duel(s), switches {switches:?}; versions now {now:?}; per round, adaptive / fastest fixed of the round: {}",
                    trials - trials_before,
                    per_round.join(" ")
                );
                trials_before = trials;
            }
        }
    }
    if child {
        return;
    }
    let mode = if fresh {
        ", each point in a fresh process"
    } else {
        ""
    };
    println!(
        "\n{within} of {points} points within 5% (median of per-round ratios); worst {worst:.2}; {rounds} rounds of {round_ms} ms per variant{mode}"
    );
}
