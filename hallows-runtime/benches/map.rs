//! Concurrent hash maps, side by side: two threads run a read-mostly mix (90% get, 5% insert,
//! 5% remove) over 4096 keys pre-filled to half. Compared: hallows' `ConcurrentMap`, dashmap
//! and `RwLock<HashMap>`.
//!
//! Run: `cargo bench -p hallows-runtime --bench map -- --warm-up-time 1 --measurement-time 2`

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::RwLock;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hallows_runtime::map::ConcurrentMap;

const THREADS: u64 = 2;
const OPS: u64 = 20_000;
const KEYS: u64 = 4096;

/// A cheap deterministic key/operation stream (xorshift).
fn ops(seed: u64) -> impl Iterator<Item = (u64, u64)> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..OPS).map(move |_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % 100, (x >> 8) % KEYS)
    })
}

fn run(per_thread: impl Fn(u64) + Sync) {
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let per_thread = &per_thread;
            s.spawn(move || per_thread(t + 1));
        }
    });
}

fn maps(c: &mut Criterion) {
    let mut group = c.benchmark_group("map_90get_5insert_5remove_2_threads");
    group.throughput(Throughput::Elements(THREADS * OPS));

    let hallows = ConcurrentMap::<u64, u64>::new();
    {
        let h = hallows.handle();
        for k in (0..KEYS).step_by(2) {
            h.insert(k, k);
        }
    }
    group.bench_function("hallows_map", |b| {
        b.iter(|| {
            run(|seed| {
                let h = hallows.handle();
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
        })
    });

    let dash = dashmap::DashMap::<u64, u64>::new();
    for k in (0..KEYS).step_by(2) {
        dash.insert(k, k);
    }
    group.bench_function("dashmap", |b| {
        b.iter(|| {
            run(|seed| {
                for (op, k) in ops(seed) {
                    match op {
                        0..90 => {
                            black_box(dash.get(&k).map(|v| *v));
                        }
                        90..95 => {
                            dash.insert(k, k);
                        }
                        _ => {
                            dash.remove(&k);
                        }
                    }
                }
            })
        })
    });

    let rw = RwLock::new(HashMap::<u64, u64>::new());
    for k in (0..KEYS).step_by(2) {
        rw.write().unwrap().insert(k, k);
    }
    group.bench_function("rwlock_hashmap", |b| {
        b.iter(|| {
            run(|seed| {
                for (op, k) in ops(seed) {
                    match op {
                        0..90 => {
                            black_box(rw.read().unwrap().get(&k).copied());
                        }
                        90..95 => {
                            rw.write().unwrap().insert(k, k);
                        }
                        _ => {
                            rw.write().unwrap().remove(&k);
                        }
                    }
                }
            })
        })
    });
    group.finish();
}

criterion_group!(benches, maps);
criterion_main!(benches);
