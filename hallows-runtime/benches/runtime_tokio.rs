//! tokio's `rt_multi_threaded` workloads (benches/rt_multi_threaded.rs in the tokio repository:
//! spawn_many, yield_many, ping_pong, chained_spawn), written once against a tiny executor trait
//! and run on Hallows and on tokio's multi-thread runtime, both with 2 workers.
//!
//! Both runtimes use the same std-only oneshot channel and std `sync_channel` for completion, so
//! only the schedulers differ.
//!
//! `cargo bench -p hallows-runtime --bench runtime_tokio -- --warm-up-time 1 --measurement-time 2`

#[path = "../tests/runtime_support/mod.rs"]
mod support;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{mpsc, Arc};
use support::oneshot;

const WORKERS: usize = 2;

/// Hallows pins its workers by default; `HALLOWS_BENCH_UNPINNED=1` measures it unpinned (on a
/// machine shared with other busy processes, pinned workers wait for their own CPU).
fn pin_workers() -> bool {
    std::env::var_os("HALLOWS_BENCH_UNPINNED").is_none()
}
const NUM_SPAWN: usize = 10_000;
const NUM_YIELD: usize = 1_000;
const YIELD_TASKS: usize = 200;
const NUM_PINGS: usize = 1_000;
const CHAIN: usize = 1_000;

type BoxFut = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The few operations the workloads need.
trait Exec: Sync {
    fn block_on(&self, f: BoxFut);
    fn spawn(f: BoxFut);
    fn yield_now() -> BoxFut;
}

struct Hallows(hallows_runtime::Runtime);
struct Tokio(tokio::runtime::Runtime);

impl Exec for Hallows {
    fn block_on(&self, f: BoxFut) {
        self.0.block_on(f)
    }
    fn spawn(f: BoxFut) {
        drop(hallows_runtime::spawn(f));
    }
    fn yield_now() -> BoxFut {
        Box::pin(hallows_runtime::yield_now())
    }
}

impl Exec for Tokio {
    fn block_on(&self, f: BoxFut) {
        self.0.block_on(f)
    }
    fn spawn(f: BoxFut) {
        drop(tokio::spawn(f));
    }
    fn yield_now() -> BoxFut {
        Box::pin(tokio::task::yield_now())
    }
}

fn spawn_many<E: Exec>(e: &E) {
    let (tx, rx) = mpsc::sync_channel(1);
    let rem = Arc::new(AtomicUsize::new(NUM_SPAWN));
    e.block_on(Box::pin(async move {
        for _ in 0..NUM_SPAWN {
            let tx = tx.clone();
            let rem = rem.clone();
            E::spawn(Box::pin(async move {
                if rem.fetch_sub(1, Relaxed) == 1 {
                    tx.send(()).unwrap();
                }
            }));
        }
        rx.recv().unwrap();
    }));
}

fn yield_many<E: Exec>(e: &E) {
    let (tx, rx) = mpsc::sync_channel(YIELD_TASKS);
    e.block_on(Box::pin(async move {
        for _ in 0..YIELD_TASKS {
            let tx = tx.clone();
            E::spawn(Box::pin(async move {
                for _ in 0..NUM_YIELD {
                    E::yield_now().await;
                }
                tx.send(()).unwrap();
            }));
        }
        for _ in 0..YIELD_TASKS {
            rx.recv().unwrap();
        }
    }));
}

fn ping_pong<E: Exec>(e: &E) {
    let (done_tx, done_rx) = mpsc::sync_channel(1);
    let rem = Arc::new(AtomicUsize::new(NUM_PINGS));
    e.block_on(Box::pin(async move {
        E::spawn(Box::pin(async move {
            for _ in 0..NUM_PINGS {
                let rem = rem.clone();
                let done_tx = done_tx.clone();
                E::spawn(Box::pin(async move {
                    let (tx1, rx1) = oneshot::<()>();
                    let (tx2, rx2) = oneshot::<()>();
                    E::spawn(Box::pin(async move {
                        rx1.await.unwrap();
                        tx2.send(());
                    }));
                    tx1.send(());
                    rx2.await.unwrap();
                    if rem.fetch_sub(1, Relaxed) == 1 {
                        done_tx.send(()).unwrap();
                    }
                }));
            }
        }));
        done_rx.recv().unwrap();
    }));
}

fn chain<E: Exec>(done: mpsc::SyncSender<()>, n: usize) {
    if n == 0 {
        done.send(()).unwrap();
    } else {
        E::spawn(Box::pin(async move { chain::<E>(done, n - 1) }));
    }
}

fn chained_spawn<E: Exec>(e: &E) {
    let (done_tx, done_rx) = mpsc::sync_channel(1);
    e.block_on(Box::pin(async move {
        E::spawn(Box::pin(async move { chain::<E>(done_tx, CHAIN) }));
        done_rx.recv().unwrap();
    }));
}

fn bench(c: &mut Criterion) {
    let hallows = Hallows(
        hallows_runtime::Runtime::builder()
            .workers(WORKERS)
            .pin(pin_workers())
            .report(false)
            .build()
            .unwrap(),
    );
    let tokio = Tokio(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .build()
            .unwrap(),
    );
    type Workload = (&'static str, fn(&Hallows), fn(&Tokio));
    let workloads: [Workload; 4] = [
        ("spawn_many", spawn_many::<Hallows>, spawn_many::<Tokio>),
        ("yield_many", yield_many::<Hallows>, yield_many::<Tokio>),
        ("ping_pong", ping_pong::<Hallows>, ping_pong::<Tokio>),
        (
            "chained_spawn",
            chained_spawn::<Hallows>,
            chained_spawn::<Tokio>,
        ),
    ];
    for (name, h, t) in workloads {
        let mut g = c.benchmark_group(name);
        g.bench_function(BenchmarkId::new("hallows", WORKERS), |b| {
            b.iter(|| h(&hallows))
        });
        g.bench_function(BenchmarkId::new("tokio", WORKERS), |b| b.iter(|| t(&tokio)));
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
