//! A Treiber stack on the epoch reclaimer under several threads: every value popped once, every
//! destructor run exactly once, nothing left behind after the collector is dropped.
#![cfg(not(loom))]

mod support {
    pub mod epoch_stack;
}

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use hallows_runtime::reclaim::epoch::Collector;
use support::epoch_stack::{Stack, Tracked};

#[test]
fn treiber_stack_under_epochs_loses_and_leaks_nothing() {
    let threads = 4;
    let per = if cfg!(miri) { 30 } else { 20_000 };
    let total = threads * per;
    let drops: Arc<Vec<AtomicUsize>> = Arc::new((0..total).map(|_| AtomicUsize::new(0)).collect());
    let collector = Collector::new();
    let stack = Stack::new();
    let mut popped: Vec<usize> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let (stack, collector, drops) = (&stack, &collector, drops.clone());
                s.spawn(move || {
                    let handle = collector.register();
                    let mut got = Vec::new();
                    for i in 0..per {
                        let guard = handle.pin();
                        stack.push(
                            Tracked {
                                id: t * per + i,
                                drops: drops.clone(),
                            },
                            &guard,
                        );
                        if let Some(v) = stack.pop(&guard) {
                            got.push(v.id);
                        }
                    }
                    got
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    {
        let handle = collector.register();
        let guard = handle.pin();
        while let Some(v) = stack.pop(&guard) {
            popped.push(v.id);
        }
    }
    popped.sort_unstable();
    assert_eq!(popped, (0..total).collect::<Vec<_>>());
    // Every popped value is dropped by the test; the nodes' memory goes with the collector.
    drop(stack);
    drop(collector);
    assert!(drops.iter().all(|d| d.load(Ordering::Relaxed) == 1));
}
