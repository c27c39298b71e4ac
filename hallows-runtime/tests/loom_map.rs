//! Loom models of the concurrent map: a reader looks up a stable key while a writer inserts
//! enough keys to rebuild the shard's table and removes another (the reader must always find
//! it); and a reader probes past a slot that a writer turns into a tombstone and reuses for a
//! colliding key.
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
