//! Loom model of the epoch reclaimer: a pinned reader and a writer that swaps, retires and
//! scans. Loom reports a causality violation if the destructor's write is not ordered after
//! the reader's access.
#![cfg(loom)]

use hallows_runtime::reclaim::epoch::{Atomic, Collector, Owned};
use hallows_runtime::sync::atomic::Ordering;
use hallows_runtime::sync::{Arc, UnsafeCell};
use loom::thread;

struct Object(UnsafeCell<u32>);

impl Drop for Object {
    fn drop(&mut self) {
        // SAFETY: destruction has exclusive access; loom checks it against readers.
        self.0.with_mut(|p| unsafe { *p = 0 });
    }
}

// SAFETY: the cell is only written by `Drop` (exclusive) and read under protection.
unsafe impl Sync for Object {}

#[test]
fn pinned_reader_is_never_handed_a_destroyed_object() {
    loom::model(|| {
        let collector = Collector::new();
        let slot = Arc::new(Atomic::new(Object(UnsafeCell::new(7))));
        let reader = {
            let (collector, slot) = (collector.clone(), slot.clone());
            thread::spawn(move || {
                let handle = collector.register();
                let guard = handle.pin();
                // SAFETY: loaded under the guard.
                if let Some(obj) = unsafe { slot.load(&guard).as_ref() } {
                    // SAFETY: protected by the guard.
                    let v = obj.0.with(|v| unsafe { *v });
                    assert!(v == 7 || v == 8, "read a destroyed object: {v}");
                }
            })
        };
        let handle = collector.register();
        {
            let guard = handle.pin();
            let fresh = Owned::new(Object(UnsafeCell::new(8))).into_shared(&guard);
            let old = slot.swap(fresh, Ordering::AcqRel, &guard);
            // SAFETY: unlinked by the swap, retired once.
            unsafe { guard.retire(old) };
        }
        handle.flush();
        reader.join().unwrap();
        drop(handle);
        let Ok(slot) = Arc::try_unwrap(slot) else {
            panic!("the reader finished, yet the slot is still shared");
        };
        // SAFETY: no other reference to the slot remains.
        drop(unsafe { slot.into_owned() });
    });
}

#[test]
fn reader_extending_its_interval_across_advances_stays_safe() {
    // Under loom every retire advances the epoch and every second one scans, so the reader's
    // second load has to extend its reservation (protected-load step 3) while the writer
    // reclaims.
    loom::model(|| {
        let collector = Collector::new();
        let slot = Arc::new(Atomic::new(Object(UnsafeCell::new(7))));
        let reader = {
            let (collector, slot) = (collector.clone(), slot.clone());
            thread::spawn(move || {
                let handle = collector.register();
                let guard = handle.pin();
                for _ in 0..2 {
                    // SAFETY: loaded under the guard.
                    if let Some(obj) = unsafe { slot.load(&guard).as_ref() } {
                        // SAFETY: protected by the guard.
                        let v = obj.0.with(|v| unsafe { *v });
                        assert!((7..=9).contains(&v), "read a destroyed object: {v}");
                    }
                }
            })
        };
        let handle = collector.register();
        for v in 8..=9 {
            let guard = handle.pin();
            let fresh = Owned::new(Object(UnsafeCell::new(v))).into_shared(&guard);
            let old = slot.swap(fresh, Ordering::AcqRel, &guard);
            // SAFETY: unlinked by the swap, retired once.
            unsafe { guard.retire(old) };
        }
        reader.join().unwrap();
        drop(handle);
        drop(collector);
        let Ok(slot) = Arc::try_unwrap(slot) else {
            panic!("the reader finished, yet the slot is still shared");
        };
        // SAFETY: no other reference to the slot remains.
        drop(unsafe { slot.into_owned() });
    });
}
