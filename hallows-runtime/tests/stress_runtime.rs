//! Stress: many tasks, wake-ups across threads, panics mixed in. Sizes are small by default
//! (seconds in debug builds); set `HALLOWS_STRESS_SCALE=100` in release for millions of tasks.
//! Miri runs a tiny version.

mod runtime_support;

use hallows_runtime::{spawn, yield_now, Runtime};
use runtime_support::{oneshot, scaled};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn rt() -> Runtime {
    Runtime::builder().workers(2).report(false).build().unwrap()
}

#[test]
fn many_spawned_tasks_all_complete() {
    let rt = rt();
    let n = scaled(20_000);
    let done = Arc::new(AtomicUsize::new(0));
    let d = done.clone();
    rt.block_on(async move {
        let mut handles = Vec::with_capacity(n);
        for _ in 0..n {
            let d = d.clone();
            handles.push(spawn(async move {
                d.fetch_add(1, Ordering::Relaxed);
            }));
        }
        for h in handles {
            h.await;
        }
    });
    assert_eq!(done.load(Ordering::Relaxed), n);
}

#[test]
fn ping_pong_chains_lose_no_wake_up() {
    let rt = rt();
    let pairs = scaled(2_000);
    let rounds = 5;
    let total = rt.block_on(async move {
        let mut handles = Vec::new();
        for _ in 0..pairs {
            handles.push(spawn(async move {
                let mut sum = 0;
                for r in 0..rounds {
                    let (tx1, rx1) = oneshot::<usize>();
                    let (tx2, rx2) = oneshot::<usize>();
                    let echo = spawn(async move {
                        let v = rx1.await.unwrap();
                        tx2.send(v + 1);
                    });
                    tx1.send(r);
                    sum += rx2.await.unwrap();
                    echo.await;
                }
                sum
            }));
        }
        let mut total = 0;
        for h in handles {
            total += h.await;
        }
        total
    });
    assert_eq!(total, pairs * (1..=rounds).sum::<usize>());
}

#[test]
fn wake_ups_from_foreign_threads_are_never_lost() {
    let rt = rt();
    let n = scaled(2_000);
    let mut senders = Vec::with_capacity(n);
    let mut handles = Vec::with_capacity(n);
    for i in 0..n {
        let (tx, rx) = oneshot::<usize>();
        senders.push((i, tx));
        handles.push(rt.spawn(async move { rx.await.unwrap() }));
    }
    // Two foreign threads complete the channels while workers park and unpark.
    let half = senders.split_off(n / 2);
    let t1 = std::thread::spawn(move || senders.into_iter().for_each(|(i, tx)| tx.send(i)));
    let t2 = std::thread::spawn(move || half.into_iter().for_each(|(i, tx)| tx.send(i)));
    let sum = rt.block_on(async move {
        let mut sum = 0;
        for h in handles {
            sum += h.await;
        }
        sum
    });
    t1.join().unwrap();
    t2.join().unwrap();
    assert_eq!(sum, (0..n).sum::<usize>());
}

#[test]
fn panicking_tasks_mixed_in_do_not_kill_workers() {
    let rt = rt();
    let n = scaled(2_000);
    let (ok, panicked) = rt.block_on(async move {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                spawn(async move {
                    if i % 7 == 0 {
                        panic!("task {i} fails on purpose");
                    }
                    yield_now().await;
                    i
                })
            })
            .collect();
        let (mut ok, mut panicked) = (0, 0);
        for h in handles {
            match h.into_result().await {
                Ok(_) => ok += 1,
                Err(e) if e.is_panic() => panicked += 1,
                Err(e) => panic!("unexpected {e}"),
            }
        }
        (ok, panicked)
    });
    assert_eq!(panicked, n.div_ceil(7));
    assert_eq!(ok + panicked, n);
    // Counted just after the poll that panicked returns: wait (bounded) for the last ones.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while (rt.stats().total().panics as usize) < panicked {
        assert!(std::time::Instant::now() < deadline, "{:?}", rt.stats());
        std::thread::yield_now();
    }
    assert_eq!(rt.stats().total().panics as usize, panicked);
}
