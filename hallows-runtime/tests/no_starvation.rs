//! No task starves: tasks that yield forever do not starve others, external submissions are
//! picked up while workers are busy with local work, and a task kept home by the migration
//! policy is still found by idle workers.

mod runtime_support;

use hallows_runtime::{spawn, yield_now, Runtime};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

#[test]
fn endless_yielders_do_not_starve_other_tasks() {
    let rt = Runtime::builder().workers(1).report(false).build().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    for _ in 0..4 {
        let stop = stop.clone();
        drop(rt.spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                yield_now().await;
            }
        }));
    }
    // A task submitted from outside while the only worker spins through the yielders.
    let v = rt.block_on(rt.spawn(async { 99 }));
    assert_eq!(v, 99);
    stop.store(true, Ordering::Relaxed);
    let stats = rt.stats();
    assert!(stats.total().yields > 0);
}

#[test]
fn external_submissions_run_while_a_worker_feeds_itself() {
    let rt = Runtime::builder().workers(1).report(false).build().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    // A task that keeps respawning itself keeps the local queue non-empty forever.
    fn respawn(stop: Arc<AtomicBool>, count: Arc<AtomicUsize>) {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        count.fetch_add(1, Ordering::Relaxed);
        drop(spawn(async move { respawn(stop, count) }));
    }
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    drop(rt.spawn(async move { respawn(s, c) }));
    for i in 0..(if cfg!(miri) { 2 } else { 20 }) {
        assert_eq!(rt.block_on(rt.spawn(async move { i })), i);
    }
    stop.store(true, Ordering::Relaxed);
    assert!(count.load(Ordering::Relaxed) > 0);
}

#[test]
fn a_worker_blocked_in_a_long_task_does_not_strand_its_queue() {
    let rt = Runtime::builder().workers(2).report(false).build().unwrap();
    let release = Arc::new(AtomicBool::new(false));
    let r = release.clone();
    let n = if cfg!(miri) { 4 } else { 64 };
    let done = rt.block_on(rt.spawn(async move {
        // Queue work locally, then block this worker: the other worker must steal it.
        let handles: Vec<_> = (0..n).map(|i| spawn(async move { i })).collect();
        let waiter = spawn(async move {
            let mut sum = 0;
            for h in handles {
                sum += h.await;
            }
            r.store(true, Ordering::SeqCst);
            sum
        });
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !release.load(Ordering::SeqCst) {
            assert!(
                std::time::Instant::now() < deadline,
                "queued tasks were stranded"
            );
            std::thread::yield_now();
        }
        waiter.await
    }));
    assert_eq!(done, (0..n).sum::<usize>());
    assert!(rt.stats().total().steals > 0);
}
