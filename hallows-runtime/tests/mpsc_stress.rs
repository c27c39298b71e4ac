//! Many producers push through a small bounded queue (forcing backpressure); the consumer must
//! see every value exactly once, and every value's destructor must run exactly once.
#![cfg(not(loom))]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use hallows_runtime::queue::mpsc;

struct Tracked {
    id: usize,
    drops: Arc<Vec<AtomicUsize>>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops[self.id].fetch_add(1, Ordering::Relaxed);
    }
}

const PRODUCERS: usize = 4;

fn per_producer() -> usize {
    if cfg!(miri) {
        25
    } else {
        20_000
    }
}

#[test]
fn many_producers_no_value_lost_or_duplicated() {
    let n = per_producer();
    let total = PRODUCERS * n;
    let drops: Arc<Vec<AtomicUsize>> = Arc::new((0..total).map(|_| AtomicUsize::new(0)).collect());
    let (tx, mut rx) = mpsc::bounded::<Tracked>(8).unwrap();
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let tx = tx.clone();
            let drops = drops.clone();
            std::thread::spawn(move || {
                for i in 0..n {
                    let v = Tracked {
                        id: p * n + i,
                        drops: drops.clone(),
                    };
                    if i % 2 == 0 {
                        tx.push(v).unwrap();
                    } else {
                        let mut v = v;
                        loop {
                            match tx.try_push(v) {
                                Ok(()) => break,
                                Err(mpsc::PushError::Full(back)) => {
                                    v = back;
                                    std::thread::yield_now();
                                }
                                Err(e) => panic!("unexpected {e}"),
                            }
                        }
                    }
                }
            })
        })
        .collect();
    drop(tx);
    let mut seen = vec![false; total];
    let mut last_from = [None::<usize>; PRODUCERS];
    let mut got = 0;
    while got < total {
        let popped = rx.pop_batch(16, |v| {
            assert!(!seen[v.id], "value {} popped twice", v.id);
            seen[v.id] = true;
            // Per-producer FIFO: values of one producer arrive in push order.
            let p = v.id / n;
            if let Some(prev) = last_from[p] {
                assert!(v.id > prev, "producer {p} reordered: {prev} then {}", v.id);
            }
            last_from[p] = Some(v.id);
        });
        got += popped;
        if popped == 0 {
            std::thread::yield_now();
        }
    }
    for p in producers {
        p.join().unwrap();
    }
    assert!(rx.pop().is_none());
    assert!(drops.iter().all(|d| d.load(Ordering::Relaxed) == 1));
}

#[test]
fn values_left_in_the_queue_are_dropped_exactly_once() {
    let total = if cfg!(miri) { 10 } else { 1000 };
    let drops: Arc<Vec<AtomicUsize>> = Arc::new((0..total).map(|_| AtomicUsize::new(0)).collect());
    let (tx, mut rx) = mpsc::bounded::<Tracked>(total).unwrap();
    for id in 0..total {
        tx.try_push(Tracked {
            id,
            drops: drops.clone(),
        })
        .unwrap();
    }
    for _ in 0..total / 2 {
        drop(rx.pop().unwrap());
    }
    drop(rx);
    drop(tx);
    assert!(drops.iter().all(|d| d.load(Ordering::Relaxed) == 1));
}

/// Bursty producers and a consumer that sometimes sleeps, through a 4-slot queue: both sides
/// keep giving up their bounded wait and parking (the consumer in `pop_blocking`, producers in
/// `push`), in every order. A lost wake-up would hang, so the work runs on its own thread and
/// the test fails if it has not finished within a generous deadline.
#[test]
fn bursts_and_sleeps_never_lose_a_wake_up() {
    const BURST_PRODUCERS: usize = 2;
    let rounds = if cfg!(miri) { 2 } else { 40 };
    let per_round = if cfg!(miri) { 6 } else { 500 };
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (tx, mut rx) = mpsc::bounded::<usize>(4).unwrap();
        let producers: Vec<_> = (0..BURST_PRODUCERS)
            .map(|p| {
                let tx = tx.clone();
                std::thread::spawn(move || {
                    let mut x = 0x9E37_79B9_u32.wrapping_mul(p as u32 + 1) | 1;
                    for r in 0..rounds {
                        for i in 0..per_round {
                            tx.push((p * rounds + r) * per_round + i).unwrap();
                            x ^= x << 13;
                            x ^= x >> 17;
                            x ^= x << 5;
                            // Now and then go quiet long enough for the consumer to park.
                            if x.is_multiple_of(97) {
                                std::thread::sleep(std::time::Duration::from_micros(
                                    u64::from(x % 3) * 700,
                                ));
                            }
                        }
                    }
                })
            })
            .collect();
        drop(tx);
        let total = BURST_PRODUCERS * rounds * per_round;
        let mut seen = vec![false; total];
        let mut got = 0_usize;
        while let Some(v) = rx.pop_blocking() {
            assert!(!seen[v], "value {v} popped twice");
            seen[v] = true;
            got += 1;
            // Now and then stop consuming so the producers fill the queue and park.
            if got.is_multiple_of(331) {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
        for p in producers {
            p.join().unwrap();
        }
        done_tx.send((got, total)).unwrap();
    });
    let (got, total) = done_rx
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("no progress for 120 s: a parked side was never woken (lost wake-up)");
    assert_eq!(got, total);
}
