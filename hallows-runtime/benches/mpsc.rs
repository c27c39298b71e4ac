//! Bounded MPSC queues, side by side: two producers send `ITEMS` values each through a queue of
//! `CAPACITY` slots to one consumer. Compared: hallows' `queue::mpsc`, crossbeam's `ArrayQueue`
//! and bounded channel, `std::sync::mpsc::sync_channel` and flume's bounded channel.
//!
//! `hallows_mpsc` pops in batches and uses the blocking `push` / `pop_blocking` (spin, yield,
//! park); ArrayQueue, which has no blocking operations, yields when full or empty, and so does
//! `hallows_mpsc_yielding` (`try_push`, single `pop`), which differs from it only in the queue.
//!
//! Run: `cargo bench -p hallows-runtime --bench mpsc -- --warm-up-time 1 --measurement-time 2`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

mod lockfree;

use lockfree::{
    crossbeam_array_queue, hallows_mpsc, hallows_mpsc_yielding, CAPACITY, ITEMS, PRODUCERS,
};

fn crossbeam_channel_bounded() {
    let (tx, rx) = crossbeam_channel::bounded::<u64>(CAPACITY);
    std::thread::scope(|s| {
        for _ in 0..PRODUCERS {
            let tx = tx.clone();
            s.spawn(move || {
                for i in 0..ITEMS {
                    tx.send(i).unwrap();
                }
            });
        }
        let sum: u64 = (0..PRODUCERS * ITEMS).map(|_| rx.recv().unwrap()).sum();
        black_box(sum);
    });
}

fn std_sync_channel() {
    let (tx, rx) = std::sync::mpsc::sync_channel::<u64>(CAPACITY);
    std::thread::scope(|s| {
        for _ in 0..PRODUCERS {
            let tx = tx.clone();
            s.spawn(move || {
                for i in 0..ITEMS {
                    tx.send(i).unwrap();
                }
            });
        }
        let sum: u64 = (0..PRODUCERS * ITEMS).map(|_| rx.recv().unwrap()).sum();
        black_box(sum);
    });
}

fn flume_bounded() {
    let (tx, rx) = flume::bounded::<u64>(CAPACITY);
    std::thread::scope(|s| {
        for _ in 0..PRODUCERS {
            let tx = tx.clone();
            s.spawn(move || {
                for i in 0..ITEMS {
                    tx.send(i).unwrap();
                }
            });
        }
        let sum: u64 = (0..PRODUCERS * ITEMS).map(|_| rx.recv().unwrap()).sum();
        black_box(sum);
    });
}

fn mpsc(c: &mut Criterion) {
    let mut group = c.benchmark_group("mpsc_2_producers");
    group.throughput(Throughput::Elements(PRODUCERS * ITEMS));
    group.bench_function("hallows_mpsc", |b| b.iter(hallows_mpsc));
    group.bench_function("hallows_mpsc_yielding", |b| b.iter(hallows_mpsc_yielding));
    group.bench_function("crossbeam_array_queue", |b| b.iter(crossbeam_array_queue));
    group.bench_function("crossbeam_channel", |b| b.iter(crossbeam_channel_bounded));
    group.bench_function("std_sync_channel", |b| b.iter(std_sync_channel));
    group.bench_function("flume", |b| b.iter(flume_bounded));
    group.finish();
}

criterion_group!(benches, mpsc);
criterion_main!(benches);
