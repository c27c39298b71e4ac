//! Flat combining under contention: a combined counter and a combined queue must apply every
//! operation exactly once.
#![cfg(not(loom))]

use std::collections::VecDeque;

use hallows_runtime::combining::{FlatCombiner, Sequential};

struct Queue(VecDeque<usize>);

enum Op {
    Push(usize),
    Pop,
}

impl Sequential for Queue {
    type Op = Op;
    type Output = Option<usize>;
    fn apply(&mut self, op: Op) -> Option<usize> {
        match op {
            Op::Push(v) => {
                self.0.push_back(v);
                None
            }
            Op::Pop => self.0.pop_front(),
        }
    }
}

struct Counter(u64);

impl Sequential for Counter {
    type Op = u64;
    type Output = u64;
    fn apply(&mut self, add: u64) -> u64 {
        let before = self.0;
        self.0 += add;
        before
    }
}

#[test]
fn combined_counter_returns_every_intermediate_value_once() {
    let threads = 4_u64;
    let per = if cfg!(miri) { 25 } else { 20_000 };
    let fc = FlatCombiner::new(Counter(0));
    let mut seen: Vec<u64> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let fc = &fc;
                s.spawn(move || {
                    let mut h = fc.handle();
                    (0..per).map(|_| h.apply(1)).collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    seen.sort_unstable();
    assert_eq!(seen, (0..threads * per).collect::<Vec<_>>());
    assert_eq!(fc.into_inner().0, threads * per);
}

#[test]
fn combined_queue_keeps_per_producer_fifo() {
    let producers = 3;
    let per = if cfg!(miri) { 20 } else { 10_000 };
    let fc = FlatCombiner::new(Queue(VecDeque::new()));
    let consumed: Vec<usize> = std::thread::scope(|s| {
        for p in 0..producers {
            let fc = &fc;
            s.spawn(move || {
                let mut h = fc.handle();
                for i in 0..per {
                    h.apply(Op::Push(p * per + i));
                }
            });
        }
        let consumer = s.spawn(|| {
            let mut h = fc.handle();
            let mut out = Vec::new();
            while out.len() < producers * per {
                match h.apply(Op::Pop) {
                    Some(v) => out.push(v),
                    None => std::thread::yield_now(),
                }
            }
            out
        });
        consumer.join().unwrap()
    });
    let mut last = vec![None; producers];
    for &v in &consumed {
        let p = v / per;
        assert!(
            last[p].is_none_or(|prev| prev < v),
            "producer {p} reordered"
        );
        last[p] = Some(v);
    }
    let mut sorted = consumed;
    sorted.sort_unstable();
    assert_eq!(sorted, (0..producers * per).collect::<Vec<_>>());
}
