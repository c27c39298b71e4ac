//! Shutdown with work pending: destructors run, joiners learn of the cancellation, cycles between
//! tasks do not leak, and a shut-down runtime refuses new work cleanly.

mod runtime_support;

use hallows_runtime::{spawn, Runtime};
use runtime_support::oneshot;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

struct CountDrop(Arc<AtomicUsize>);
impl Drop for CountDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn pending_tasks_are_dropped_at_shutdown() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let n = if cfg!(miri) { 4 } else { 100 };
    let rt = Runtime::builder().workers(2).report(false).build().unwrap();
    let mut senders = Vec::new();
    for _ in 0..n {
        let guard = CountDrop(dropped.clone());
        let (tx, rx) = oneshot::<()>();
        senders.push(tx);
        drop(rt.spawn(async move {
            let _guard = guard;
            rx.await;
        }));
    }
    // Plus tasks that never got to run because the workers are busy elsewhere.
    std::thread::sleep(Duration::from_millis(10));
    drop(rt);
    assert_eq!(dropped.load(Ordering::SeqCst), n);
    drop(senders);
}

#[test]
fn joiners_see_cancellation_and_cycles_are_broken() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let rt = Runtime::builder().workers(1).report(false).build().unwrap();
    let (tx, rx) = oneshot::<hallows_runtime::JoinHandle<()>>();
    let g1 = CountDrop(dropped.clone());
    let g2 = CountDrop(dropped.clone());
    // A awaits B's handle (A holds B), so B's join slot holds A's waker (B holds A): a cycle.
    let a = rt.spawn(async move {
        let _g = g1;
        let b = rx.await.unwrap();
        b.await;
    });
    let b = rt.spawn(async move {
        let _g = g2;
        std::future::pending::<()>().await;
    });
    tx.send(b);
    std::thread::sleep(Duration::from_millis(10));
    let handle = rt.handle();
    drop(rt);
    assert_eq!(dropped.load(Ordering::SeqCst), 2);
    assert!(a.is_finished());
    // New work on a shut-down runtime is cancelled at once.
    let late = handle.spawn(async { 1 });
    let err = runtime_support_block_on(late.into_result()).unwrap_err();
    assert!(err.is_cancelled(), "{err}");
    assert!(err.to_string().contains("shut down"));
}

/// A minimal executor for awaiting a handle after its runtime is gone.
fn runtime_support_block_on<F: std::future::Future>(f: F) -> F::Output {
    let rt = Runtime::builder().workers(1).report(false).build().unwrap();
    rt.block_on(f)
}

#[test]
fn shutdown_does_not_wait_for_a_flood_of_queued_tasks() {
    let ran = Arc::new(AtomicUsize::new(0));
    let rt = Runtime::builder().workers(1).report(false).build().unwrap();
    let n = if cfg!(miri) { 10 } else { 100_000 };
    let r = ran.clone();
    rt.block_on(async move {
        for _ in 0..n {
            let r = r.clone();
            drop(spawn(async move {
                r.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_micros(1));
            }));
        }
    });
    drop(rt);
    // Some ran, the rest were dropped: either way shutdown returned promptly.
    assert!(ran.load(Ordering::Relaxed) <= n);
}

#[test]
fn a_runtime_dropped_from_inside_its_own_task_shuts_down_without_hanging() {
    let rt = Runtime::builder().workers(2).report(false).build().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let cell = Arc::new(std::sync::Mutex::new(None::<Runtime>));
    let c = cell.clone();
    let handle = rt.handle();
    *cell.lock().unwrap() = Some(rt);
    drop(handle.spawn(async move {
        let rt = c.lock().unwrap().take();
        drop(rt);
        tx.send(()).unwrap();
    }));
    rx.recv_timeout(Duration::from_secs(20))
        .expect("dropping the runtime inside its task hung");
}

#[test]
fn queued_tasks_never_polled_are_cancelled_and_their_cycles_broken() {
    // Tasks enter the registry only at their first `Pending`; these never get polled (the only
    // worker is busy until shutdown), so it is the release of their queue references that must
    // drop their futures and tell their joiners.
    let dropped = Arc::new(AtomicUsize::new(0));
    let rt = Runtime::builder().workers(1).report(false).build().unwrap();
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let handle = rt.handle();
    drop(rt.spawn(async move {
        started_tx.send(()).unwrap();
        // Keep the only worker busy until the shutdown has begun, whatever the speed of the
        // machine or of Miri: a spawn on a runtime that is shutting down comes back already
        // cancelled, so probe with empty spawns (queued behind the two tasks below, and
        // released with them) until one does. A fixed sleep raced the main thread under Miri.
        loop {
            let probe = handle.spawn(async {});
            if probe.is_finished() {
                break;
            }
            drop(probe);
            std::thread::sleep(Duration::from_millis(1));
        }
    }));
    started_rx.recv().unwrap();
    // A task holding its own handle: a cycle (cell → future → handle → cell).
    let own = Arc::new(std::sync::Mutex::new(
        None::<hallows_runtime::JoinHandle<()>>,
    ));
    let g = CountDrop(dropped.clone());
    let o = own.clone();
    let cyclic = rt.spawn(async move {
        let _g = g;
        let _me = o;
    });
    *own.lock().unwrap() = Some(cyclic);
    drop(own);
    let g = CountDrop(dropped.clone());
    let plain = rt.spawn(async move {
        let _g = g;
        7
    });
    drop(rt);
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        2,
        "a queued future was not dropped"
    );
    assert!(plain.is_finished());
    let err = runtime_support_block_on(plain.into_result()).unwrap_err();
    assert!(err.is_cancelled(), "{err}");
}

#[test]
fn spawns_racing_with_shutdown_all_finish() {
    // Spawns through a handle while the runtime is dropped: each task must end up run or
    // cancelled, never stranded in a queue that was drained before its push.
    let rounds = if cfg!(miri) { 2 } else { 50 };
    for _ in 0..rounds {
        let rt = Runtime::builder().workers(2).report(false).build().unwrap();
        let handle = rt.handle();
        let dropped = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let d = dropped.clone();
        let spawner = std::thread::spawn(move || {
            let mut handles = Vec::new();
            while !d.load(Ordering::SeqCst) {
                handles.push(handle.spawn(async { 1 }));
            }
            handles
        });
        std::thread::sleep(Duration::from_micros(if cfg!(miri) { 0 } else { 500 }));
        drop(rt);
        dropped.store(true, Ordering::SeqCst);
        let handles = spawner.join().unwrap();
        let stranded = handles.iter().filter(|h| !h.is_finished()).count();
        assert_eq!(
            stranded,
            0,
            "{stranded} of {} tasks neither ran nor were cancelled",
            handles.len()
        );
    }
}
