//! Flat combining under contention, side by side: threads alternately push and pop a shared
//! FIFO queue. Compared: hallows' `FlatCombiner` over a `VecDeque`, `Mutex<VecDeque>` and
//! crossbeam's lock-free `SegQueue`.
//!
//! Run: `cargo bench -p hallows-runtime --bench combining -- --warm-up-time 1 --measurement-time 2`

use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::Mutex;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hallows_runtime::combining::{FlatCombiner, Sequential};

const THREADS: u64 = 2;
const OPS: u64 = 20_000;

struct Queue(VecDeque<u64>);

enum Op {
    Push(u64),
    Pop,
}

impl Sequential for Queue {
    type Op = Op;
    type Output = Option<u64>;
    fn apply(&mut self, op: Op) -> Option<u64> {
        match op {
            Op::Push(v) => {
                self.0.push_back(v);
                None
            }
            Op::Pop => self.0.pop_front(),
        }
    }
}

fn run(per_thread: impl Fn(u64) + Sync) {
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let per_thread = &per_thread;
            s.spawn(move || per_thread(t));
        }
    });
}

fn combining(c: &mut Criterion) {
    let mut group = c.benchmark_group("shared_queue_2_threads");
    group.throughput(Throughput::Elements(THREADS * OPS * 2));

    let fc = FlatCombiner::new(Queue(VecDeque::with_capacity(1024)));
    group.bench_function("hallows_flat_combining", |b| {
        b.iter(|| {
            run(|t| {
                let mut h = fc.handle();
                for i in 0..OPS {
                    h.apply(Op::Push(t * OPS + i));
                    black_box(h.apply(Op::Pop));
                }
            })
        })
    });

    let mutex = Mutex::new(VecDeque::<u64>::with_capacity(1024));
    group.bench_function("mutex_vecdeque", |b| {
        b.iter(|| {
            run(|t| {
                for i in 0..OPS {
                    mutex.lock().unwrap().push_back(t * OPS + i);
                    black_box(mutex.lock().unwrap().pop_front());
                }
            })
        })
    });

    let seg = crossbeam_queue::SegQueue::<u64>::new();
    group.bench_function("crossbeam_segqueue", |b| {
        b.iter(|| {
            run(|t| {
                for i in 0..OPS {
                    seg.push(t * OPS + i);
                    black_box(seg.pop());
                }
            })
        })
    });
    group.finish();
}

criterion_group!(benches, combining);
criterion_main!(benches);
