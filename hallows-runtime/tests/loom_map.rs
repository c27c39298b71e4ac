//! Loom models of the concurrent map: a reader looks up a stable key while a writer inserts
//! enough keys to rebuild the shard's table and removes another (the reader must always find
//! it); and a reader probes past a slot that a writer turns into a tombstone and reuses for a
//! colliding key; and a reader pinned on an entry while a writer overwrites it until retired
//! entries are recycled (the entry must not be dropped or refilled under the reader).
#![cfg(loom)]

use std::collections::hash_map::DefaultHasher;
use std::hash::{BuildHasherDefault, Hasher};

use hallows_runtime::map::{ConcurrentMap, MAX_LOAD_DENOMINATOR, MIN_SLOTS};
use hallows_runtime::sync::Arc;
use loom::thread;

#[test]
fn lookups_survive_concurrent_resize_and_remove() {
    loom::model(|| {
        // A fixed hasher: loom replays executions, so the model must be deterministic.
        let hasher = BuildHasherDefault::<DefaultHasher>::default();
        let map = Arc::new(ConcurrentMap::with_shards_and_hasher(1, hasher).unwrap());
        {
            let h = map.handle();
            h.insert(0_u32, 100_u32);
            h.insert(1, 101);
        }
        let reader = {
            let map = map.clone();
            thread::spawn(move || {
                let h = map.handle();
                assert_eq!(h.get(&0), Some(100));
            })
        };
        // One more than the load limit: the table is rebuilt while the reader may be probing.
        let keys = (MIN_SLOTS / MAX_LOAD_DENOMINATOR + 1) as u32;
        {
            let h = map.handle();
            for k in 2..keys {
                h.insert(k, 100 + k);
            }
            assert!(h.remove(&1));
        }
        reader.join().unwrap();
        let h = map.handle();
        assert_eq!(h.get(&0), Some(100));
        assert_eq!(h.get(&1), None);
        assert_eq!(map.len(), keys as usize - 1);
    });
}

/// Hashes a `u32` key to itself, so the model controls which slots keys probe.
#[derive(Default)]
struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n);
    }
}

#[test]
fn probes_pass_tombstones_reused_by_colliding_keys() {
    loom::model(|| {
        let hasher = BuildHasherDefault::<IdentityHasher>::default();
        let map = Arc::new(ConcurrentMap::with_shards_and_hasher(1, hasher).unwrap());
        // Keys 1, 1 + MIN_SLOTS and 1 + 2 * MIN_SLOTS all start probing at slot 1: key `b`
        // sits in slot 2, behind `a`'s slot.
        let (a, b, c) = (1_u32, 1 + MIN_SLOTS as u32, 1 + 2 * MIN_SLOTS as u32);
        {
            let h = map.handle();
            h.insert(a, 10_u32);
            h.insert(b, 20);
        }
        let reader = {
            let map = map.clone();
            thread::spawn(move || {
                let h = map.handle();
                assert_eq!(h.get(&b), Some(20));
                let seen_c = h.get(&c);
                assert!(seen_c.is_none() || seen_c == Some(30));
            })
        };
        {
            let h = map.handle();
            // `a`'s slot becomes a tombstone, then `c` (same probe start) reuses it.
            assert!(h.remove(&a));
            assert!(!h.insert(c, 30));
        }
        reader.join().unwrap();
        let h = map.handle();
        assert_eq!(h.get(&a), None);
        assert_eq!(h.get(&b), Some(20));
        assert_eq!(h.get(&c), Some(30));
        assert_eq!(map.len(), 2);
    });
}

/// A value that records its own drop in a log shared with the model (plain std atomics: the
/// log is an observer, not part of the protocol under test).
struct Tracked {
    id: usize,
    dropped: std::sync::Arc<[std::sync::atomic::AtomicBool]>,
    /// Addresses the values were dropped at, in this execution.
    addresses: std::sync::Arc<std::sync::Mutex<Vec<usize>>>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        let was = self.dropped[self.id].swap(true, std::sync::atomic::Ordering::SeqCst);
        assert!(!was, "value {} dropped twice", self.id);
        self.addresses
            .lock()
            .unwrap()
            .push(std::ptr::from_ref(self) as usize);
    }
}

/// Executions of the recycling model in which two values lived at the same address.
static REUSING_EXECUTIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[test]
fn recycled_entries_are_not_reused_under_a_pinned_reader() {
    const WRITES: usize = 4;
    loom::model(|| {
        let dropped: std::sync::Arc<[std::sync::atomic::AtomicBool]> = (0..=WRITES)
            .map(|_| std::sync::atomic::AtomicBool::new(false))
            .collect();
        let addresses = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let value = |id| Tracked {
            id,
            dropped: dropped.clone(),
            addresses: addresses.clone(),
        };
        let hasher = BuildHasherDefault::<IdentityHasher>::default();
        let map = Arc::new(ConcurrentMap::with_shards_and_hasher(1, hasher).unwrap());
        {
            let h = map.handle();
            h.insert(0_u32, value(0));
        }
        let reader = {
            let map = map.clone();
            let dropped = dropped.clone();
            thread::spawn(move || {
                let h = map.handle();
                // While the reader is pinned, the entry it reads must be neither dropped nor
                // refilled with a later value (its id would change under us).
                h.get_with(&0, |v| {
                    let id = v.id;
                    assert!(!dropped[id].load(std::sync::atomic::Ordering::SeqCst));
                    thread::yield_now();
                    assert_eq!(v.id, id, "entry reused while pinned");
                    assert!(!dropped[id].load(std::sync::atomic::Ordering::SeqCst));
                })
                .expect("key 0 is always present");
            })
        };
        {
            // Each overwrite retires the previous entry; with loom's tiny scan threshold and
            // pool, scans reclaim entries into the pool and later inserts reuse their blocks.
            let h = map.handle();
            for id in 1..=WRITES {
                assert!(h.insert(0, value(id)));
            }
        }
        reader.join().unwrap();
        drop(map);
        for (id, d) in dropped.iter().enumerate() {
            assert!(
                d.load(std::sync::atomic::Ordering::SeqCst),
                "value {id} leaked"
            );
        }
        let mut seen = addresses.lock().unwrap().clone();
        seen.sort_unstable();
        if seen.windows(2).any(|w| w[0] == w[1]) {
            REUSING_EXECUTIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    });
    // The model is only meaningful if entries were actually recycled.
    assert!(REUSING_EXECUTIONS.load(std::sync::atomic::Ordering::Relaxed) > 0);
}
