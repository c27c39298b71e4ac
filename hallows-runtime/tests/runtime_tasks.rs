//! Spawning, awaiting, panics, yielding and std wakers on the runtime.

mod runtime_support;

use hallows_runtime::{spawn, try_spawn, yield_now, BuildError, Handle, Runtime};
use runtime_support::oneshot;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn rt(workers: usize) -> Runtime {
    Runtime::builder()
        .workers(workers)
        .report(false)
        .build()
        .unwrap()
}

#[test]
fn block_on_returns_the_futures_output() {
    let rt = rt(2);
    assert_eq!(rt.block_on(async { 40 + 2 }), 42);
}

#[test]
fn spawned_tasks_run_and_their_handles_yield_outputs() {
    let rt = rt(2);
    let n = if cfg!(miri) { 20 } else { 1000 };
    let total = rt.block_on(async move {
        let handles: Vec<_> = (0..n).map(|i| spawn(async move { i * 2 })).collect();
        let mut total = 0;
        for h in handles {
            total += h.await;
        }
        total
    });
    assert_eq!(total, (0..n).map(|i| i * 2).sum::<usize>());
    assert!(rt.stats().external_submissions >= n as u64);
    // Polls are counted just after each poll returns, so the last ones may land after the
    // awaits above completed: wait (bounded) for them.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while rt.stats().total().polls < n as u64 {
        assert!(std::time::Instant::now() < deadline, "{:?}", rt.stats());
        std::thread::yield_now();
    }
}

#[test]
fn tasks_spawn_tasks() {
    let rt = rt(2);
    let v = rt.block_on(rt.spawn(async {
        let inner = spawn(async { spawn(async { 3 }).await * 2 });
        inner.await + 1
    }));
    assert_eq!(v, 7);
}

#[test]
fn a_panicking_task_propagates_to_its_awaiter_and_leaves_the_worker_alive() {
    let rt = rt(1);
    let err = rt
        .block_on(rt.spawn(async { panic!("task exploded") }).into_result())
        .unwrap_err();
    assert!(err.is_panic());
    assert!(err.to_string().contains("task exploded"), "{err}");
    // The single worker survived and keeps running tasks.
    assert_eq!(rt.block_on(rt.spawn(async { 5 })), 5);
    assert_eq!(rt.stats().total().panics, 1);
    // Awaiting the handle directly resumes the panic in the awaiter.
    let awaited = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async { spawn(async { panic!("again") }).await })
    }));
    assert!(awaited.is_err());
    assert_eq!(rt.block_on(rt.spawn(async { 6 })), 6);
}

#[test]
fn yield_now_lets_other_tasks_run() {
    let rt = rt(1);
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (o1, o2) = (order.clone(), order.clone());
    // Spawned from a task on the single worker, so both start in its local queue: a, b.
    rt.block_on(rt.spawn(async move {
        let a = spawn(async move {
            o1.lock().unwrap().push("a1");
            yield_now().await;
            o1.lock().unwrap().push("a2");
        });
        let b = spawn(async move {
            o2.lock().unwrap().push("b1");
        });
        a.await;
        b.await;
    }));
    let order = order.lock().unwrap();
    let a2 = order.iter().position(|s| *s == "a2").unwrap();
    let b1 = order.iter().position(|s| *s == "b1").unwrap();
    assert!(b1 < a2, "{order:?}");
    assert!(rt.stats().total().yields >= 1);
}

#[test]
fn wakers_called_from_foreign_threads_resume_tasks() {
    let rt = rt(2);
    let rounds = if cfg!(miri) { 3 } else { 200 };
    let got = rt.block_on(rt.spawn(async move {
        let mut sum = 0;
        for i in 0..rounds {
            let (tx, rx) = oneshot();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_micros(50));
                tx.send(i);
            });
            sum += rx.await.unwrap();
        }
        sum
    }));
    assert_eq!(got, (0..rounds).sum::<usize>());
}

#[test]
fn handles_spawn_from_other_threads() {
    let rt = rt(2);
    let handle = rt.handle();
    let counter = Arc::new(AtomicUsize::new(0));
    let c = counter.clone();
    let joins = std::thread::spawn(move || {
        (0..50)
            .map(|_| {
                let c = c.clone();
                handle.spawn(async move {
                    c.fetch_add(1, Ordering::Relaxed);
                })
            })
            .collect::<Vec<_>>()
    })
    .join()
    .unwrap();
    rt.block_on(async move {
        for j in joins {
            j.await;
        }
    });
    assert_eq!(counter.load(Ordering::Relaxed), 50);
    assert!(rt.stats().external_submissions >= 50);
}

#[test]
fn spawning_outside_a_runtime_is_a_clear_error() {
    assert!(try_spawn(async {}).is_err());
    assert!(Handle::try_current().is_none());
    let caught = std::panic::catch_unwind(|| drop(spawn(async {})));
    let msg = caught.unwrap_err();
    let msg = msg.downcast_ref::<&str>().copied().unwrap_or_default();
    assert!(msg.contains("outside a runtime"), "{msg}");
}

#[test]
fn builder_rejects_bad_worker_counts_with_hints() {
    let zero = Runtime::builder().workers(0).build().unwrap_err();
    assert!(matches!(zero, BuildError::NoWorkers));
    assert!(zero.to_string().contains("at least one worker"));
    let many = Runtime::builder().workers(1_000_000).build().unwrap_err();
    assert!(many.to_string().contains("maximum"), "{many}");
}

#[test]
fn join_handles_report_completion() {
    let rt = rt(1);
    let h = rt.spawn(async { 1 });
    while !h.is_finished() {
        std::thread::yield_now();
    }
    assert_eq!(rt.block_on(h), 1);
}
