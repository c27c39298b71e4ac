//! Concurrent hash maps, side by side: two threads run a read-mostly mix (90% get, 5% insert,
//! 5% remove) over 4096 keys pre-filled to half. Compared: hallows' `ConcurrentMap`, dashmap
//! and `RwLock<HashMap>`.
//!
//! Run: `cargo bench -p hallows-runtime --bench map -- --warm-up-time 1 --measurement-time 2`

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::RwLock;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

mod lockfree;

use lockfree::{
    dashmap_mix, hallows_map_mix, ops, prefilled_dashmap, prefilled_hallows_map, run, KEYS, OPS,
    THREADS,
};

fn maps(c: &mut Criterion) {
    let mut group = c.benchmark_group("map_90get_5insert_5remove_2_threads");
    group.throughput(Throughput::Elements(THREADS * OPS));

    let hallows = prefilled_hallows_map();
    group.bench_function("hallows_map", |b| b.iter(|| hallows_map_mix(&hallows)));

    let dash = prefilled_dashmap();
    group.bench_function("dashmap", |b| b.iter(|| dashmap_mix(&dash)));

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
