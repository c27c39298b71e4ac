//! Loom model of the concurrent map: a reader looks up a stable key while a writer inserts
//! enough keys to resize the shard and removes another; the reader must always find it.
#![cfg(loom)]

use std::collections::hash_map::DefaultHasher;
use std::hash::BuildHasherDefault;

use hallows_runtime::map::{ConcurrentMap, MIN_BUCKETS};
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
        {
            let h = map.handle();
            // Reach the load factor: the shard doubles while the reader may be walking it.
            for k in 2..=MIN_BUCKETS as u32 {
                h.insert(k, 100 + k);
            }
            assert!(h.remove(&1));
        }
        reader.join().unwrap();
        let h = map.handle();
        assert_eq!(h.get(&0), Some(100));
        assert_eq!(h.get(&1), None);
        assert_eq!(map.len(), MIN_BUCKETS);
    });
}
