//! A concurrent hash map with lock-free reads, striped-lock writes and incremental per-shard
//! resizing, built on the [`epoch`](crate::reclaim::epoch) reclaimer.
//!
//! # Structure
//!
//! The map is split into `shards` (a power of two) chosen by the hash's top bits. Each shard
//! has a writer mutex, an element count, and an [`Atomic`] pointer to its current bucket
//! table. A bucket is a singly linked chain of immutable-once-published *links*
//! `(hash, entry, next)`; an *entry* is a separate allocation holding the key and value, so a
//! resize can build a new table of new links that point at the same entries (no `Clone`
//! bound, no moving of keys or values).
//!
//! # Protocol
//!
//! This is the classic "lock-striped writers, lock-free readers" design (Lea's
//! `ConcurrentHashMap`; Herlihy & Shavit, *The Art of Multiprocessor Programming*, §13.2),
//! with chains managed like Michael's list ("High Performance Dynamic Lock-Free Hash Tables
//! and List-Based Sets", SPAA 2002) except that writers to one shard are serialised by its
//! mutex, so no marked pointers are needed.
//!
//! Read (`get`, `contains_key`), pinned:
//! 1. `table = shard.table.load` (protected), `link = table.buckets[hash & mask].load`.
//! 2. Walk `link = link.next.load` until `link.hash == hash` and `entry.key == key`.
//!
//! Every pointer is loaded through the guard, so each object it reaches is alive until unpin.
//!
//! Write (`insert`, `remove`), pinned and holding the shard mutex:
//! * Insert of a new key: publish a new link at the head of its bucket (Release store; readers
//!   acquire it). Replace: publish a new entry in the existing link (Release swap) and retire
//!   the old entry.
//! * Remove: store `link.next` into the predecessor's `next` (or the bucket), then retire the
//!   link and its entry. A reader standing on the removed link still follows its `next`.
//! * Resize, when `len > buckets * MAX_LOAD_FACTOR`: build a table of twice the buckets with new
//!   links to the same entries, publish it (Release store), retire the old table and old links.
//!   A reader still walking the old table sees the shard as it was at the switch, which lies
//!   within its operation, so reads stay linearizable.
//!
//! Garbage is bounded as described in the [epoch](crate::reclaim::epoch) module, even if a
//! reader stalls while pinned.
//!
//! # Example
//!
//! ```
//! use hallows_runtime::map::ConcurrentMap;
//!
//! let map = ConcurrentMap::new();
//! std::thread::scope(|s| {
//!     for t in 0..2_u64 {
//!         let map = &map;
//!         s.spawn(move || {
//!             let h = map.handle();
//!             for i in 0..100 {
//!                 h.insert(t * 100 + i, i);
//!             }
//!         });
//!     }
//! });
//! let h = map.handle();
//! assert_eq!(h.get(&150), Some(50));
//! assert!(h.remove(&150));
//! assert_eq!(h.get(&150), None);
//! assert_eq!(map.len(), 199);
//! ```

use core::borrow::Borrow;
use core::fmt;
use core::hash::{BuildHasher, Hash};
use std::collections::hash_map::RandomState;

use crate::padding::CachePadded;
use crate::reclaim::epoch::{Atomic, Collector, Guard, LocalHandle, Owned};
use crate::sync::atomic::{AtomicUsize, Ordering};
use crate::sync::Mutex;

/// Default number of shards (independent writer locks and tables).
pub const DEFAULT_SHARDS: usize = 64;
/// Buckets per shard of an empty map.
pub const MIN_BUCKETS: usize = 4;
/// A shard doubles its buckets when it holds more than this many elements per bucket.
pub const MAX_LOAD_FACTOR: usize = 1;

struct Entry<K, V> {
    key: K,
    value: V,
}

struct Link<K, V> {
    hash: u64,
    entry: Atomic<Entry<K, V>>,
    next: Atomic<Link<K, V>>,
}

struct Table<K, V> {
    buckets: Box<[Atomic<Link<K, V>>]>,
    mask: usize,
}

impl<K, V> Table<K, V> {
    fn new(buckets: usize) -> Self {
        Self {
            buckets: (0..buckets).map(|_| Atomic::null()).collect(),
            mask: buckets - 1,
        }
    }

    fn bucket(&self, hash: u64) -> &Atomic<Link<K, V>> {
        // Truncation is intended: the mask keeps only low bits.
        &self.buckets[(hash as usize) & self.mask]
    }
}

struct Shard<K, V> {
    write: Mutex<()>,
    len: AtomicUsize,
    table: Atomic<Table<K, V>>,
}

/// Error from [`ConcurrentMap::with_shards_and_hasher`] for an unusable shard count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardCountError(usize);

impl fmt::Display for ShardCountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "shard count must be a power of two between 1 and 65536, got {}; try {}",
            self.0,
            self.0.clamp(1, 1 << 16).next_power_of_two()
        )
    }
}

impl std::error::Error for ShardCountError {}

/// A concurrent hash map; access it through per-thread [`MapHandle`]s.
pub struct ConcurrentMap<K, V, S = RandomState> {
    shards: Box<[CachePadded<Shard<K, V>>]>,
    shard_shift: u32,
    hasher: S,
    collector: Collector,
}

impl<K, V, S> fmt::Debug for ConcurrentMap<K, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConcurrentMap")
            .field("len", &self.len())
            .field("shards", &self.shards.len())
            .finish_non_exhaustive()
    }
}

impl<K, V> Default for ConcurrentMap<K, V, RandomState>
where
    K: Hash + Eq + Send + Sync,
    V: Send + Sync,
{
    fn default() -> Self {
        Self::new()
    }
}

impl<K, V> ConcurrentMap<K, V, RandomState>
where
    K: Hash + Eq + Send + Sync,
    V: Send + Sync,
{
    /// An empty map with [`DEFAULT_SHARDS`] shards.
    pub fn new() -> Self {
        Self::with_shards_and_hasher(DEFAULT_SHARDS, RandomState::new())
            .expect("DEFAULT_SHARDS is a valid shard count")
    }
}

impl<K, V, S> ConcurrentMap<K, V, S> {
    /// Number of entries (exact when no write is in progress).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.len.load(Ordering::Relaxed))
            .sum()
    }

    /// Returns `true` if the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K, V, S> ConcurrentMap<K, V, S>
where
    K: Hash + Eq + Send + Sync,
    V: Send + Sync,
    S: BuildHasher,
{
    /// An empty map with `shards` shards (a power of two up to 65536) hashing with `hasher`.
    ///
    /// # Errors
    ///
    /// [`ShardCountError`] if `shards` is not a power of two in range.
    pub fn with_shards_and_hasher(shards: usize, hasher: S) -> Result<Self, ShardCountError> {
        if !shards.is_power_of_two() || shards > 1 << 16 {
            return Err(ShardCountError(shards));
        }
        let shards_box = (0..shards)
            .map(|_| {
                CachePadded::new(Shard {
                    write: Mutex::new(()),
                    len: AtomicUsize::new(0),
                    table: Atomic::new(Table::new(MIN_BUCKETS)),
                })
            })
            .collect();
        Ok(Self {
            shards: shards_box,
            // `checked_shr` handles one shard (shift by 64 → shard 0).
            shard_shift: 64 - shards.trailing_zeros(),
            hasher,
            collector: Collector::new(),
        })
    }

    /// Registers the calling thread; keep the handle for many operations (registration walks
    /// the collector's participant list).
    pub fn handle(&self) -> MapHandle<'_, K, V, S> {
        MapHandle {
            map: self,
            local: self.collector.register(),
        }
    }

    /// The collector that reclaims this map's memory (for statistics).
    pub fn collector(&self) -> &Collector {
        &self.collector
    }

    fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.hasher.hash_one(key)
    }

    fn shard(&self, hash: u64) -> &Shard<K, V> {
        let index = hash.checked_shr(self.shard_shift).unwrap_or(0) as usize;
        &self.shards[index]
    }
}

impl<K, V, S> Drop for ConcurrentMap<K, V, S> {
    fn drop(&mut self) {
        // `&mut self`: no handle exists (they borrow the map). Retired objects belong to the
        // collector and are freed with it; here we free the live tables, links and entries.
        for shard in self.shards.iter_mut() {
            // SAFETY: exclusive access; the current table is live (never retired).
            let Some(table) = (unsafe { shard.table.take_owned() }) else {
                continue;
            };
            let mut table = table.into_inner();
            for bucket in table.buckets.iter_mut() {
                // SAFETY: exclusive access; each live link is reachable from exactly one
                // bucket of the current table, and each live entry from exactly one such link.
                let mut link = unsafe { bucket.take_owned() };
                while let Some(l) = link {
                    let mut l = l.into_inner();
                    // SAFETY: as above.
                    drop(unsafe { l.entry.take_owned() });
                    // SAFETY: as above.
                    link = unsafe { l.next.take_owned() };
                }
            }
        }
    }
}

/// A thread's access to a [`ConcurrentMap`].
pub struct MapHandle<'m, K, V, S = RandomState> {
    map: &'m ConcurrentMap<K, V, S>,
    local: LocalHandle,
}

impl<K, V, S> fmt::Debug for MapHandle<'_, K, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapHandle")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

impl<K, V, S> MapHandle<'_, K, V, S>
where
    K: Hash + Eq + Send + Sync,
    V: Send + Sync,
    S: BuildHasher,
{
    /// Calls `f` with the value for `key`, if present, and returns its result.
    pub fn get_with<Q, R>(&self, key: &Q, f: impl FnOnce(&V) -> R) -> Option<R>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.map.hash(key);
        let guard = self.local.pin();
        find(self.map.shard(hash), hash, key, &guard).map(|(_, entry)| f(&entry.value))
    }

    /// Returns a clone of the value for `key`.
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: Clone,
    {
        self.get_with(key, V::clone)
    }

    /// Returns `true` if `key` is present.
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.get_with(key, |_| ()).is_some()
    }

    /// Inserts or replaces the value for `key`. Returns `true` if a previous value was replaced
    /// (it is dropped once no reader can see it).
    pub fn insert(&self, key: K, value: V) -> bool {
        let map = self.map;
        let hash = map.hash(&key);
        let shard = map.shard(hash);
        let _lock = shard
            .write
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let guard = self.local.pin();
        let entry = Owned::new(Entry { key, value });
        if let Some((link, _)) = find(shard, hash, &entry.key, &guard) {
            let new = entry.into_shared(&guard);
            // ORDERING: Release publishes the new entry to readers' Acquire loads.
            let old = link.entry.swap(new, Ordering::AcqRel, &guard);
            // SAFETY: the old entry is unlinked by the swap (old tables' links pointing at it
            // were retired before it), retired once, and holds `Send` data.
            unsafe { guard.retire(old) };
            return true;
        }
        // SAFETY: loaded under the guard while holding the shard lock; tables are only retired
        // by writers holding this lock.
        let table =
            unsafe { shard.table.load(&guard).as_ref() }.expect("a shard always has a table");
        let bucket = table.bucket(hash);
        let head = bucket.load(&guard);
        let link = Owned::new(Link {
            hash,
            entry: Atomic::from_shared(entry.into_shared(&guard)),
            next: Atomic::from_shared(head),
        })
        .into_shared(&guard);
        // ORDERING: Release publishes the link and entry to readers' Acquire loads.
        bucket.store(link, Ordering::Release);
        let len = shard.len.fetch_add(1, Ordering::Relaxed) + 1;
        if len > (table.mask + 1) * MAX_LOAD_FACTOR {
            resize_locked(shard, table, &guard);
        }
        false
    }

    /// Removes `key`; returns `true` if it was present.
    pub fn remove<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let map = self.map;
        let hash = map.hash(key);
        let shard = map.shard(hash);
        let _lock = shard
            .write
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let guard = self.local.pin();
        // SAFETY: see `insert`.
        let table =
            unsafe { shard.table.load(&guard).as_ref() }.expect("a shard always has a table");
        let mut prev: &Atomic<Link<K, V>> = table.bucket(hash);
        loop {
            let cur = prev.load(&guard);
            // SAFETY: loaded under the guard; links are retired only after unlinking.
            let Some(link) = (unsafe { cur.as_ref() }) else {
                return false;
            };
            if link.hash == hash {
                let entry = link.entry.load(&guard);
                // SAFETY: as above for entries.
                let e = unsafe { entry.as_ref() }.expect("a link always has an entry");
                if e.key.borrow() == key {
                    let next = link.next.load(&guard);
                    // ORDERING: Release: readers acquiring `prev` see a fully built chain.
                    prev.store(next, Ordering::Release);
                    shard.len.fetch_sub(1, Ordering::Relaxed);
                    // SAFETY: link and entry are unlinked (no table reaches them: old tables'
                    // links were retired at resize), retired once each.
                    unsafe {
                        guard.retire(cur);
                        guard.retire(entry);
                    }
                    return true;
                }
            }
            prev = &link.next;
        }
    }

    /// Number of entries in the map.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Returns `true` if the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// A link and its entry, borrowed for a guard's lifetime.
type Found<'g, K, V> = (&'g Link<K, V>, &'g Entry<K, V>);

/// Finds `key` in `shard`; returns its link and entry, valid while `guard` lives.
fn find<'g, K, V, Q>(
    shard: &Shard<K, V>,
    hash: u64,
    key: &Q,
    guard: &'g Guard<'_>,
) -> Option<Found<'g, K, V>>
where
    K: Borrow<Q>,
    Q: Eq + ?Sized,
{
    // SAFETY: (here and for every `as_ref` below) every pointer is loaded under `guard`, and
    // tables, links and entries are retired only after being unlinked (module docs), so they
    // are alive for `'g`.
    let table = unsafe { shard.table.load(guard).as_ref() }?;
    let mut cur = table.bucket(hash).load(guard);
    // SAFETY: see above.
    while let Some(link) = unsafe { cur.as_ref() } {
        if link.hash == hash {
            // SAFETY: see above.
            if let Some(entry) = unsafe { link.entry.load(guard).as_ref() } {
                if entry.key.borrow() == key {
                    return Some((link, entry));
                }
            }
        }
        cur = link.next.load(guard);
    }
    None
}

/// Doubles `table` (the shard's current table) while holding the shard lock.
#[cold]
fn resize_locked<K, V>(shard: &Shard<K, V>, table: &Table<K, V>, guard: &Guard<'_>)
where
    K: Send + Sync,
    V: Send + Sync,
{
    let new = Table::new((table.mask + 1) * 2);
    for bucket in table.buckets.iter() {
        let mut cur = bucket.load(guard);
        // SAFETY: loaded under the guard; we hold the shard lock so the chain does not change.
        while let Some(link) = unsafe { cur.as_ref() } {
            let target = new.bucket(link.hash);
            let moved = Owned::new(Link {
                hash: link.hash,
                entry: Atomic::from_shared(link.entry.load(guard)),
                next: Atomic::from_shared(target.load(guard)),
            })
            .into_shared(guard);
            target.store(moved, Ordering::Relaxed);
            cur = link.next.load(guard);
        }
    }
    let new = Owned::new(new).into_shared(guard);
    // ORDERING: Release publishes the new table and all its links (stored Relaxed above) to
    // readers' Acquire loads of `shard.table`.
    let old = shard.table.swap(new, Ordering::AcqRel, guard);
    // SAFETY: the old table is unreachable after the swap; retire it and its links once each
    // (entries stay: the new links point at them).
    unsafe {
        let old_ref = old.as_ref().expect("a shard always has a table");
        for bucket in old_ref.buckets.iter() {
            let mut cur = bucket.load(guard);
            while let Some(link) = cur.as_ref() {
                let next = link.next.load(guard);
                guard.retire(cur);
                cur = next;
            }
        }
        guard.retire(old);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize as StdAtomicUsize;
    use std::sync::Arc as StdArc;

    #[test]
    fn insert_get_remove_and_resize() {
        let map = ConcurrentMap::with_shards_and_hasher(2, RandomState::new()).unwrap();
        let h = map.handle();
        let n = if cfg!(miri) { 40 } else { 2_000 };
        for i in 0..n {
            assert!(!h.insert(i, i * 2));
        }
        assert!(h.insert(7, 70));
        assert_eq!(map.len(), n);
        for i in 0..n {
            let want = if i == 7 { 70 } else { i * 2 };
            assert_eq!(h.get(&i), Some(want), "key {i}");
        }
        for i in (0..n).step_by(2) {
            assert!(h.remove(&i));
            assert!(!h.remove(&i));
        }
        assert_eq!(map.len(), n / 2);
        assert!(h.contains_key(&1));
        assert!(!h.contains_key(&0));
    }

    #[test]
    fn rejects_bad_shard_counts_with_a_hint() {
        let err =
            ConcurrentMap::<u8, u8>::with_shards_and_hasher(3, RandomState::new()).unwrap_err();
        assert!(err.to_string().contains("try 4"), "{err}");
    }

    #[test]
    fn every_value_is_dropped_once() {
        struct Counted(StdArc<StdAtomicUsize>);
        impl Drop for Counted {
            fn drop(&mut self) {
                self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
        let drops = StdArc::new(StdAtomicUsize::new(0));
        let n = if cfg!(miri) { 20 } else { 300 };
        {
            let map = ConcurrentMap::with_shards_and_hasher(1, RandomState::new()).unwrap();
            let h = map.handle();
            for i in 0..n {
                h.insert(i, Counted(drops.clone()));
            }
            for i in 0..n / 2 {
                h.insert(i, Counted(drops.clone()));
            }
            for i in 0..n / 4 {
                h.remove(&i);
            }
        }
        assert_eq!(drops.load(std::sync::atomic::Ordering::Relaxed), n + n / 2);
    }
}
