//! `join` and `scope`: results, borrowing, panics, and use on and off the runtime.

use hallows_runtime::{join, scope, Runtime};
use std::sync::atomic::{AtomicUsize, Ordering};

fn rt(workers: usize) -> Runtime {
    Runtime::builder()
        .workers(workers)
        .report(false)
        .build()
        .unwrap()
}

fn fib(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = join(|| fib(n - 1), || fib(n - 2));
    a + b
}

fn quicksort(v: &mut [u32]) {
    if v.len() <= 16 {
        v.sort_unstable();
        return;
    }
    let pivot = v[v.len() / 2];
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
    join(|| quicksort(left), || quicksort(right));
}

#[test]
fn fib_through_join_is_correct_on_the_runtime() {
    let rt = rt(2);
    let n = if cfg!(miri) { 8 } else { 25 };
    let expected = [0, 1, 1, 2, 3, 5, 8, 13, 21][..].get(n as usize).copied();
    let got = rt.block_on(async move { fib(n) });
    assert_eq!(got, expected.unwrap_or(75025));
    // Work was spread: some join halves were stolen (or at least run as jobs).
    assert!(rt.stats().total().polls > 0);
}

#[test]
fn join_from_inside_a_task_uses_the_worker() {
    let rt = rt(2);
    let got = rt.block_on(rt.spawn(async { fib(if cfg!(miri) { 6 } else { 18 }) }));
    assert_eq!(got, if cfg!(miri) { 8 } else { 2584 });
}

#[test]
fn quicksort_through_join_sorts() {
    let rt = rt(2);
    let n = if cfg!(miri) { 200 } else { 200_000 };
    let mut x: u32 = 12345;
    let mut v: Vec<u32> = (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        })
        .collect();
    let mut expected = v.clone();
    expected.sort_unstable();
    rt.block_on(async { quicksort(&mut v) });
    assert_eq!(v, expected);
}

#[test]
fn join_without_a_runtime_runs_sequentially() {
    assert_eq!(join(|| 1, || 2), (1, 2));
    assert_eq!(fib(10), 55);
    let total = AtomicUsize::new(0);
    scope(|s| {
        for i in 0..4 {
            let total = &total;
            s.spawn(move |_| {
                total.fetch_add(i, Ordering::Relaxed);
            });
        }
    });
    assert_eq!(total.load(Ordering::Relaxed), 6);
}

#[test]
fn scope_spawns_borrow_and_finish_before_return() {
    let rt = rt(2);
    let n = if cfg!(miri) { 4 } else { 64 };
    let mut data = vec![0_u64; n * 100];
    let hits = AtomicUsize::new(0);
    rt.block_on(async {
        scope(|s| {
            for chunk in data.chunks_mut(100) {
                let hits = &hits;
                s.spawn(move |s2| {
                    chunk.iter_mut().for_each(|x| *x += 1);
                    // Nested spawn on the same scope.
                    s2.spawn(move |_| {
                        hits.fetch_add(1, Ordering::Relaxed);
                    });
                });
            }
        })
    });
    assert!(data.iter().all(|&x| x == 1));
    assert_eq!(hits.load(Ordering::Relaxed), n);
}

#[test]
fn panics_in_either_half_of_join_propagate_after_both_finish() {
    let rt = rt(2);
    let other_ran = AtomicUsize::new(0);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async {
            join(
                || panic!("left half"),
                || {
                    other_ran.fetch_add(1, Ordering::SeqCst);
                },
            )
        })
    }));
    assert!(r.is_err());
    assert_eq!(other_ran.load(Ordering::SeqCst), 1);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async { scope(|s| s.spawn(|_| panic!("in scope"))) })
    }));
    let payload = r.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"in scope"));
    // The runtime still works.
    assert_eq!(rt.block_on(async { fib(10) }), 55);
}

#[test]
fn a_join_from_outside_runs_both_halves_on_the_workers() {
    // Off the workers, `join` ships its halves as two jobs and waits on a counted latch: with
    // one worker both queue behind each other, with two they may run at once.
    for workers in [1, 2] {
        let rt = rt(workers);
        let caller = std::thread::current().id();
        let (a, b) = rt.block_on(async {
            join(
                || std::thread::current().id(),
                || std::thread::current().id(),
            )
        });
        assert_ne!(a, caller);
        assert_ne!(b, caller);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rt.block_on(async { join(|| 1_u32, || -> u32 { panic!("right half") }) })
        }));
        assert_eq!(r.unwrap_err().downcast_ref::<&str>(), Some(&"right half"));
        assert_eq!(rt.block_on(async { join(|| 2, || 3) }), (2, 3));
    }
}

/// A join tree deeper than the private-publication depth: `leaf` runs at depth `depth`.
fn deep_tree(depth: u32, leaf: &(dyn Fn() + Sync)) {
    if depth == 0 {
        leaf();
        return;
    }
    join(|| deep_tree(depth - 1, leaf), || deep_tree(depth - 1, leaf));
}

/// Runs `f` under `depth` nested joins whose second closures are empty.
fn nested(depth: u32, f: &(dyn Fn() + Sync)) {
    if depth == 0 {
        f();
        return;
    }
    join(|| nested(depth - 1, f), || ());
}

#[test]
fn deep_joins_kept_private_still_reach_an_idle_worker() {
    // Joins below depth 8 may stay private to their owner while nobody is idle; an idle worker
    // must still get them (the owner publishes at its next join or pop-back). With a second
    // worker idle from the start, leaves of this 2^12 tree must run on both workers.
    let rt = rt(2);
    let seen = std::sync::Mutex::new(std::collections::HashSet::new());
    let leaves = AtomicUsize::new(0);
    let mut both = false;
    for _ in 0..if cfg!(miri) { 1 } else { 20 } {
        rt.block_on(async {
            // Eight empty joins first, so every join of the tree itself is deep enough to be
            // kept private: only publication lets the idle worker help.
            nested(8, &|| {
                deep_tree(if cfg!(miri) { 9 } else { 12 }, &|| {
                    leaves.fetch_add(1, Ordering::Relaxed);
                    let mut x = 0_u64;
                    for i in 0..200 {
                        x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
                    }
                    seen.lock().unwrap().insert(std::thread::current().id());
                })
            })
        });
        if seen.lock().unwrap().len() == 2 {
            both = true;
            break;
        }
    }
    assert!(leaves.load(Ordering::Relaxed) >= 1 << 9);
    if !cfg!(miri) {
        assert!(both, "all leaves of a deep join tree ran on one worker");
    }
}

#[test]
fn a_panic_in_a_deep_private_join_propagates_and_the_runtime_goes_on() {
    let rt = rt(2);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async {
            deep_tree(10, &|| {});
            let counter = AtomicUsize::new(0);
            deep_tree(10, &|| {
                if counter.fetch_add(1, Ordering::Relaxed) == 700 {
                    panic!("leaf 700");
                }
            });
        })
    }));
    assert!(r.is_err());
    assert_eq!(rt.block_on(async { fib(20) }), 6765);
}
