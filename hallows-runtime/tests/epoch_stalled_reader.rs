//! Garbage stays bounded while a reader is stalled inside a pin (the bound documented in
//! `reclaim::epoch`): a reader pins, loads the stack head and then never moves, while a writer
//! pushes and pops many times. Classic EBR would keep all of it.
#![cfg(not(loom))]

mod support {
    pub mod epoch_stack;
}

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use hallows_runtime::reclaim::epoch::{Collector, SCAN_THRESHOLD_MIN};
use support::epoch_stack::{Stack, Tracked};

#[test]
fn stalled_reader_holds_back_only_objects_born_before_it_stalled() {
    let ops = if cfg!(miri) { 150 } else { 100_000 };
    let drops: Arc<Vec<AtomicUsize>> =
        Arc::new((0..ops + 8).map(|_| AtomicUsize::new(0)).collect());
    let collector = Collector::new();
    let stack = Stack::new();
    let reader = collector.register();
    let writer = collector.register();
    {
        let g = writer.pin();
        stack.push(
            Tracked {
                id: ops,
                drops: drops.clone(),
            },
            &g,
        );
    }
    // The stalled reader: pinned, holding the current head, never unpinning during the churn.
    let stalled = reader.pin();
    assert!(stack.peek_is_some(&stalled));
    let mut peak = 0;
    for i in 0..ops {
        let g = writer.pin();
        stack.push(
            Tracked {
                id: i,
                drops: drops.clone(),
            },
            &g,
        );
        drop(stack.pop(&g));
        drop(g);
        peak = peak.max(writer.garbage_len());
    }
    // B_u: objects born in the reader's epoch — at most the ones published before the writer's
    // first scan advanced the epoch (plus the stack's live node). The documented bound is
    // P·SCAN_THRESHOLD_MIN + 2·B_u with P = 2.
    let b_u = SCAN_THRESHOLD_MIN + 2;
    let bound = 2 * SCAN_THRESHOLD_MIN + 2 * b_u;
    eprintln!("peak pending garbage with a stalled reader over {ops} ops: {peak} (bound {bound})");
    assert!(
        peak <= bound,
        "peak garbage {peak} exceeds the documented bound {bound}"
    );
    // One advance released the writer from the stalled interval; no more were needed.
    assert_eq!(collector.epoch(), 1, "{writer:?}");
    drop(stalled);
    writer.flush();
    assert_eq!(collector.pending(), 0);
}
