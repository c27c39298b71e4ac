//! The concurrent hash map under several writer and reader threads: disjoint inserts all land,
//! concurrent removes each succeed exactly once, readers never see a torn or stale-after-remove
//! value of their own keys, and every value is dropped exactly once.
#![cfg(not(loom))]

use std::collections::hash_map::RandomState;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use hallows_runtime::map::ConcurrentMap;

struct Tracked {
    id: usize,
    drops: Arc<Vec<AtomicUsize>>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops[self.id].fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn concurrent_inserts_removes_and_reads_with_resizes() {
    let threads = 4;
    let per = if cfg!(miri) { 20 } else { 5_000 };
    let total = threads * per;
    // ids 0..total: first values; total..2*total: replacement values.
    let drops: Arc<Vec<AtomicUsize>> =
        Arc::new((0..2 * total).map(|_| AtomicUsize::new(0)).collect());
    let removed = AtomicUsize::new(0);
    let phase = std::sync::Barrier::new(threads);
    {
        // Few shards so resizes happen under contention.
        let map = ConcurrentMap::with_shards_and_hasher(2, RandomState::new()).unwrap();
        std::thread::scope(|s| {
            for t in 0..threads {
                let (map, drops, removed, phase) = (&map, drops.clone(), &removed, &phase);
                s.spawn(move || {
                    let h = map.handle();
                    for i in 0..per {
                        let k = t * per + i;
                        assert!(!h.insert(
                            k,
                            Tracked {
                                id: k,
                                drops: drops.clone()
                            }
                        ));
                        assert_eq!(h.get_with(&k, |v| v.id), Some(k));
                    }
                    for i in (0..per).step_by(2) {
                        let k = t * per + i;
                        assert!(h.insert(
                            k,
                            Tracked {
                                id: total + k,
                                drops: drops.clone()
                            }
                        ));
                        assert_eq!(h.get_with(&k, |v| v.id), Some(total + k));
                    }
                    phase.wait();
                    // Every thread tries to remove every key divisible by 3: each succeeds once.
                    for k in (0..total).step_by(3) {
                        if h.remove(&k) {
                            removed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        let removable = (0..total).step_by(3).count();
        assert_eq!(removed.load(Ordering::Relaxed), removable);
        let h = map.handle();
        for k in 0..total {
            assert_eq!(h.contains_key(&k), k % 3 != 0, "key {k}");
        }
        assert_eq!(map.len(), total - removable);
    }
    let replaced = (0..total).filter(|k| (k % per) % 2 == 0).count();
    let dropped_once = drops
        .iter()
        .filter(|d| d.load(Ordering::Relaxed) == 1)
        .count();
    assert!(drops.iter().all(|d| d.load(Ordering::Relaxed) <= 1));
    assert_eq!(dropped_once, total + replaced);
}
