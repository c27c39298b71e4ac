//! A concurrent hash map with lock-free reads, striped-lock writes and per-shard resizing,
//! built on the [`epoch`](crate::reclaim::epoch) reclaimer.
//!
//! # Structure
//!
//! The map is split into `shards` (a power of two) chosen by the hash's top bits. Each shard
//! has a writer mutex (guarding the count of used slots) and an element count on one cache
//! line, and an [`Atomic`] pointer to its current table on another, so writers' lock traffic
//! does not evict the pointer every reader needs.
//!
//! A table is an open-addressed array of *slots* probed linearly from the hash's low bits. A
//! slot is 16 bytes, four to a cache line: a `tag` (the hash with its top bit set) and an
//! [`Atomic`] pointer to an *entry*, a separate immutable allocation holding the key and value
//! (generic keys and values cannot be read while a writer overwrites them in place, so the
//! reader's last hop goes to an object that never changes). A slot is
//!
//! | `tag` | `entry`  | state                                                     |
//! |-------|----------|-----------------------------------------------------------|
//! | 0     | null     | empty: never used in this table; ends every probe         |
//! | `t`   | non-null | live: holds a key whose hash has tag `t`                  |
//! | `t`   | null     | tombstone: its key was removed; probes continue past it   |
//!
//! A slot only moves empty → live → tombstone → live → …, never back to empty, so a probe
//! sequence that reaches a key in a table never shrinks while the table is current. Compared
//! with the chained buckets this replaced (shard → table → bucket array → link → entry, plus
//! one link per chain step), a lookup touches shard → table → slot line → entry, and a miss
//! usually ends in the first slot line.
//!
//! # Protocol
//!
//! The classic "lock-striped writers, lock-free readers" design (Lea's `ConcurrentHashMap`;
//! Herlihy & Shavit, *The Art of Multiprocessor Programming*, §13.2) with an open-addressed,
//! linearly probed table (Knuth, *TAOCP* vol. 3, §6.4, algorithm L; deletion by tombstones as
//! in Purdom/Stigler's "lazy deletion"), whose readers follow the epoch-protected snapshot
//! discipline of Michael ("High Performance Dynamic Lock-Free Hash Tables and List-Based
//! Sets", SPAA 2002): writers to one shard are serialised by its mutex, readers never lock.
//!
//! Read (`get`, `contains_key`), pinned:
//! 1. `table = shard.table.load` (protected).
//! 2. From slot `hash & mask`: `t = slot.tag.load` (Acquire, pairs with the writer's Release
//!    store of the tag in insert step 3). If `t == 0` the key is absent. If `t` is the key's
//!    tag, `entry = slot.entry.load` (protected, Acquire) and compare keys. Next slot.
//!
//! Write (`insert`, `remove`), pinned and holding the shard mutex:
//! * Insert, key present: store a new entry into its slot (Release; the lock holder's probe
//!   read the old one, and only lock holders write slots) and retire the old entry.
//! * Insert, key absent: take the first tombstone on the key's probe sequence, or else the
//!   empty slot that ended it. (1) Store the entry (Release), (2) store the tag (Release): a
//!   reader that sees the new tag also sees the entry. A reader that still sees a tombstone's
//!   old tag skips the slot or compares keys against the new entry; either is a correct answer
//!   for a key that was absent when it looked.
//! * Remove: first look the key up without the lock, like a `get`; an absent key returns
//!   `false` without locking. Otherwise lock; if the shard's table is still the one the lookup
//!   probed and the slot still holds the entry it found, that is the key's live slot (both
//!   pointers are pinned, so neither address can have been reused); else probe again under
//!   the lock. Store null into the slot's entry (Release; the tag stays: tombstone) and
//!   retire the entry.
//! * Resize, when used slots (live + tombstones) exceed `slots / MAX_LOAD_DENOMINATOR`:
//!   build a table of `max(MIN_SLOTS, next_power_of_two(3 × live))` slots holding the same
//!   entry pointers (tombstones are dropped; no entry is copied, so keys and values need no
//!   `Clone`), publish it (Release swap) and retire the old table. A reader still probing the
//!   old table sees the shard as it was at the switch, which lies within its operation, so
//!   reads stay linearizable.
//!
//! Reclamation. A retired entry may still be pointed to by an old table that is itself retired
//! but not yet destroyed. This is safe for the same reason chains of retired links are: the
//! old table was unlinked (swapped out) before the entry was retired, so a reader that can
//! still reach the entry through it pinned before that table was unlinked, hence before the
//! entry's retirement; its reservation overlaps the entry's lifetime and the entry is kept
//! (the argument of the epoch module, applied to the table pointer, which is the only way into
//! an old table). Garbage is bounded as described in the [epoch](crate::reclaim::epoch)
//! module, even if a reader stalls while pinned.
//!
//! Entries are recycled: the map's collector is [`Collector::recycling`] for entries, so an
//! insert takes the block of an entry whose grace period ended from its handle's pool and a
//! writer that inserts and removes at similar rates stops calling the allocator (the epoch
//! module's "Recycling" protocol; reuse happens exactly where a free would have).
//!
//! # Measured
//!
//! Session 5, AMD Zen 5 VM (2 vCPUs), `cargo bench -p hallows-runtime --bench map --
//! --warm-up-time 1 --measurement-time 3` on commit aff5d1c (unchanged since), two runs (90%
//! get, 5% insert, 5% remove, 2 threads): ours 1.266 / 0.887 ms, dashmap 1.165 / 1.217 ms
//! (dashmap ÷ ours 0.92 / 1.37), `RwLock<HashMap>` 1.764 / 2.411 ms (1.39 / 2.72). Not at
//! least as fast as dashmap in every run: the ratio follows the machine's fast and slow phases
//! (as on the session-4 Intel VM), and the writes still cost more instructions than dashmap's.
//! The interleaved probe `cargo bench -p hallows-runtime --bench lockfree_pairs -- 300 map`
//! (one map iteration and one dashmap iteration per round, same machine, two back-to-back
//! runs) gave dashmap ÷ ours 0.723 (ours 1.267 ms, dashmap 0.913 ms, ours ahead in 17 of 300
//! rounds) and 1.152 (0.959 vs 1.114 ms, ahead in 177 of 300).
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
use crate::reclaim::epoch::{Atomic, Collector, Guard, LocalHandle, Owned, Shared};
use crate::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use crate::sync::{Mutex, MutexGuard};

/// Default number of shards (independent writer locks and tables).
pub const DEFAULT_SHARDS: usize = 64;
/// Slots per shard of an empty map (smaller under loom, so models reach a resize quickly).
pub const MIN_SLOTS: usize = if cfg!(loom) { 4 } else { 8 };
/// A shard rebuilds its table when more than `1 / MAX_LOAD_DENOMINATOR` of its slots are used
/// (live or tombstone): linear probing stays short (expected probes for a miss at load ½ are
/// 2.5, Knuth vol. 3 §6.4) and most probes end in the slot line they start in.
pub const MAX_LOAD_DENOMINATOR: usize = 2;
/// A rebuilt table has `next_power_of_two(REBUILD_SLOTS_PER_LIVE × live)` slots (at least
/// [`MIN_SLOTS`]): load between 1/6 and 1/3 right after a rebuild, so the next one is at least
/// half a table's worth of inserts away.
const REBUILD_SLOTS_PER_LIVE: usize = 3;
/// `tag` of an empty slot.
const EMPTY: u64 = 0;

struct Entry<K, V> {
    key: K,
    value: V,
}

struct Slot<K, V> {
    tag: AtomicU64,
    entry: Atomic<Entry<K, V>>,
}

struct Table<K, V> {
    slots: Box<[Slot<K, V>]>,
    mask: usize,
}

impl<K, V> Table<K, V> {
    fn new(slots: usize) -> Self {
        debug_assert!(slots.is_power_of_two());
        Self {
            slots: (0..slots)
                .map(|_| Slot {
                    tag: AtomicU64::new(EMPTY),
                    entry: Atomic::null(),
                })
                .collect(),
            mask: slots - 1,
        }
    }

    /// The slots of `hash`'s probe sequence, in order (each slot once).
    #[inline]
    fn probe(&self, hash: u64) -> impl Iterator<Item = &Slot<K, V>> {
        // Truncation is intended: the mask keeps only low bits.
        let start = (hash as usize) & self.mask;
        let (tail, head) = self.slots.split_at(start);
        head.iter().chain(tail)
    }
}

/// Bit set in every tag, so no tag is [`EMPTY`]. The top bit: within a shard every hash has
/// the same top bits (they chose the shard), and the probe start uses only the low bits, so a
/// slot's tag still gives its probe start (a resize re-probes from it).
const TAG_BIT: u64 = 1 << 63;

/// The tag stored for `hash` (never [`EMPTY`]).
#[inline]
fn tag_of(hash: u64) -> u64 {
    hash | TAG_BIT
}

/// What the writer-side probe found.
enum Probe<'g, K, V> {
    /// The key's live slot and entry.
    Found(&'g Slot<K, V>, Shared<'g, Entry<K, V>>),
    /// The key is absent; the slot an insert takes, and whether it is empty (not a tombstone).
    Vacant(&'g Slot<K, V>, bool),
}

/// Writer state, on its own cache line.
struct Writer {
    /// Serialises writers; holds the number of used slots (live + tombstones) of the current
    /// table.
    lock: Mutex<usize>,
    /// Live entries (updated only under `lock`, read by [`ConcurrentMap::len`] without it).
    len: AtomicUsize,
}

struct Shard<K, V> {
    /// Read by every operation; written only by a resize.
    table: CachePadded<Atomic<Table<K, V>>>,
    writer: CachePadded<Writer>,
}

impl<K, V> Shard<K, V> {
    fn lock(&self) -> MutexGuard<'_, usize> {
        self.writer
            .lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
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
    shards: Box<[Shard<K, V>]>,
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
            .map(|s| s.writer.len.load(Ordering::Relaxed))
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
            .map(|_| Shard {
                table: CachePadded::new(Atomic::new(Table::new(MIN_SLOTS))),
                writer: CachePadded::new(Writer {
                    lock: Mutex::new(0),
                    len: AtomicUsize::new(0),
                }),
            })
            .collect();
        Ok(Self {
            shards: shards_box,
            // `checked_shr` handles one shard (shift by 64 → shard 0).
            shard_shift: 64 - shards.trailing_zeros(),
            hasher,
            collector: Collector::recycling::<Entry<K, V>>(),
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

    #[inline]
    fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.hasher.hash_one(key)
    }

    #[inline]
    fn shard(&self, hash: u64) -> &Shard<K, V> {
        let index = hash.checked_shr(self.shard_shift).unwrap_or(0) as usize;
        &self.shards[index]
    }
}

impl<K, V, S> Drop for ConcurrentMap<K, V, S> {
    fn drop(&mut self) {
        // `&mut self`: no handle exists (they borrow the map). Retired objects belong to the
        // collector and are freed with it; here we free the live tables and entries.
        for shard in self.shards.iter_mut() {
            // SAFETY: exclusive access; the current table is live (never retired).
            let Some(table) = (unsafe { shard.table.take_owned() }) else {
                continue;
            };
            let mut table = table.into_inner();
            for slot in table.slots.iter_mut() {
                // SAFETY: exclusive access; each live entry is in exactly one slot of the
                // current table (old tables that also point at it were retired, and dropping
                // a table never drops its entries).
                drop(unsafe { slot.entry.take_owned() });
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
    #[inline]
    pub fn get_with<Q, R>(&self, key: &Q, f: impl FnOnce(&V) -> R) -> Option<R>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.map.hash(key);
        let guard = self.local.pin();
        find(self.map.shard(hash), hash, key, &guard).map(|entry| f(&entry.value))
    }

    /// Returns a clone of the value for `key`.
    #[inline]
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: Clone,
    {
        self.get_with(key, V::clone)
    }

    /// Returns `true` if `key` is present.
    #[inline]
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
        // Allocated (from the handle's pool of recycled entries, usually) before taking the
        // lock, to keep the critical section short.
        let entry = self.local.alloc(Entry { key, value });
        let guard = self.local.pin();
        let mut used = shard.lock();
        // SAFETY: loaded under the guard while holding the shard lock; tables are only retired
        // by writers holding this lock.
        let table =
            unsafe { shard.table.load(&guard).as_ref() }.expect("a shard always has a table");
        match probe_locked(table, hash, &entry.key, &guard) {
            Probe::Found(slot, old) => {
                let new = entry.into_shared(&guard);
                // ORDERING: Release publishes the new entry to readers' Acquire loads. A plain
                // store, not a swap: only lock holders write slots, so `old` is still current.
                slot.entry.store(new, Ordering::Release);
                // SAFETY: the store unlinked the old entry from the current table; old tables
                // that still point at it were retired before it (module docs, Reclamation);
                // it is retired once and holds `Send` data.
                unsafe { guard.retire(old) };
                true
            }
            Probe::Vacant(slot, empty) => {
                // ORDERING: (1) Release publishes the entry's contents; readers reach it only
                // after acquiring the tag stored in (2), or the old tag of a tombstone.
                slot.entry
                    .store(entry.into_shared(&guard), Ordering::Release);
                // ORDERING: (2) Release pairs with readers' Acquire load of the tag: a reader
                // that sees the new tag sees the entry stored in (1).
                slot.tag.store(tag_of(hash), Ordering::Release);
                let len = shard.writer.len.load(Ordering::Relaxed) + 1;
                // Relaxed: a statistic, written only under the lock.
                shard.writer.len.store(len, Ordering::Relaxed);
                if empty {
                    *used += 1;
                    if *used * MAX_LOAD_DENOMINATOR > table.mask + 1 {
                        *used = resize_locked(shard, table, len, &guard);
                    }
                }
                false
            }
        }
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
        let guard = self.local.pin();
        // Absent without the lock: linearizes like a `get` that finds nothing.
        let Some((seen_table, seen_slot, seen_entry)) = find_slot(shard, hash, key, &guard) else {
            return false;
        };
        let _used = shard.lock();
        let table = shard.table.load(&guard);
        // Relaxed: only lock holders write slots and tables, and we hold the lock.
        let (slot, entry) =
            if table == seen_table && seen_slot.entry.holds(seen_entry, Ordering::Relaxed) {
                // Still the key's live slot (module docs, Remove): both pointers were loaded under
                // `guard`, so neither object can have been freed and its address reused.
                (seen_slot, seen_entry)
            } else {
                // SAFETY: see `insert`.
                let table = unsafe { table.as_ref() }.expect("a shard always has a table");
                match probe_locked(table, hash, key, &guard) {
                    Probe::Found(slot, entry) => (slot, entry),
                    Probe::Vacant(..) => return false,
                }
            };
        // ORDERING: Release orders this unlink before the entry's retirement for readers that
        // acquire the slot (the tag stays: the slot becomes a tombstone).
        slot.entry.store(Shared::null(), Ordering::Release);
        let len = shard.writer.len.load(Ordering::Relaxed) - 1;
        // Relaxed: a statistic, written only under the lock.
        shard.writer.len.store(len, Ordering::Relaxed);
        // SAFETY: unlinked from the current table just now; old tables that still point at it
        // were retired before it (module docs, Reclamation); retired once.
        unsafe { guard.retire(entry) };
        true
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

/// Finds `key` in `shard` without locking (read steps 1-2); its entry is valid while `guard`
/// lives.
#[inline]
fn find<'g, K, V, Q>(
    shard: &Shard<K, V>,
    hash: u64,
    key: &Q,
    guard: &'g Guard<'_>,
) -> Option<&'g Entry<K, V>>
where
    K: Borrow<Q>,
    Q: Eq + ?Sized,
{
    find_slot(shard, hash, key, guard).map(|(_, _, entry)| {
        // SAFETY: `find_slot` returns a non-null entry loaded under `guard`; entries are retired
        // only after being unlinked (module docs), so it is alive for `'g`.
        unsafe { entry.as_ref() }.expect("find_slot returns live entries")
    })
}

/// [`find`], also returning the table probed and the slot holding the entry (for `remove`).
#[inline]
#[allow(clippy::type_complexity)]
fn find_slot<'g, K, V, Q>(
    shard: &Shard<K, V>,
    hash: u64,
    key: &Q,
    guard: &'g Guard<'_>,
) -> Option<(
    Shared<'g, Table<K, V>>,
    &'g Slot<K, V>,
    Shared<'g, Entry<K, V>>,
)>
where
    K: Borrow<Q>,
    Q: Eq + ?Sized,
{
    let table_ptr = shard.table.load(guard);
    // SAFETY: (here and below) every pointer is loaded under `guard`, and tables and entries
    // are retired only after being unlinked (module docs), so they are alive for `'g`.
    let table = unsafe { table_ptr.as_ref() }?;
    let tag = tag_of(hash);
    for slot in table.probe(hash) {
        // ORDERING: Acquire pairs with the Release store of the tag (insert step 2), so the
        // entry stored before it is visible.
        let t = slot.tag.load(Ordering::Acquire);
        if t == EMPTY {
            return None;
        }
        if t == tag {
            let entry_ptr = slot.entry.load(guard);
            // SAFETY: see above.
            if let Some(entry) = unsafe { entry_ptr.as_ref() } {
                if entry.key.borrow() == key {
                    return Some((table_ptr, slot, entry_ptr));
                }
            }
        }
    }
    None
}

/// Finds `key` in the shard's current `table` while holding the shard lock.
#[inline]
fn probe_locked<'g, K, V, Q>(
    table: &'g Table<K, V>,
    hash: u64,
    key: &Q,
    guard: &'g Guard<'_>,
) -> Probe<'g, K, V>
where
    K: Borrow<Q>,
    Q: Eq + ?Sized,
{
    let tag = tag_of(hash);
    let mut tombstone = None;
    for slot in table.probe(hash) {
        // Relaxed: we hold the lock, and only lock holders write slots.
        let t = slot.tag.load(Ordering::Relaxed);
        if t == EMPTY {
            return match tombstone {
                Some(free) => Probe::Vacant(free, false),
                None => Probe::Vacant(slot, true),
            };
        }
        let entry = slot.entry.load(guard);
        // SAFETY: loaded under the guard while holding the lock; nobody else can retire it.
        match unsafe { entry.as_ref() } {
            None => {
                tombstone.get_or_insert(slot);
            }
            Some(e) if t == tag && e.key.borrow() == key => return Probe::Found(slot, entry),
            Some(_) => {}
        }
    }
    // A table is rebuilt before it fills up, so a probe ends at an empty slot; a table with
    // none left would still have a tombstone here.
    Probe::Vacant(
        tombstone.expect("a shard's table always has an empty slot or a tombstone"),
        false,
    )
}

/// Rebuilds the shard's current `table` (holding `live` entries) into a fresh one while holding
/// the shard lock; returns the new table's used-slot count.
#[cold]
fn resize_locked<K, V>(
    shard: &Shard<K, V>,
    table: &Table<K, V>,
    live: usize,
    guard: &Guard<'_>,
) -> usize
where
    K: Send + Sync,
    V: Send + Sync,
{
    let slots = (live * REBUILD_SLOTS_PER_LIVE)
        .next_power_of_two()
        .max(MIN_SLOTS);
    let new = Table::new(slots);
    let mut used = 0;
    for slot in table.slots.iter() {
        let entry = slot.entry.load(guard);
        if entry.is_null() {
            continue;
        }
        // Relaxed: we hold the lock; the tag of a live slot is its key's tag.
        let tag = slot.tag.load(Ordering::Relaxed);
        let target = new
            .probe(tag)
            .find(|s| s.tag.load(Ordering::Relaxed) == EMPTY)
            .expect("a rebuilt table has room for every live entry");
        // Relaxed: the new table is published by the Release swap below.
        target.entry.store(entry, Ordering::Relaxed);
        target.tag.store(tag, Ordering::Relaxed);
        used += 1;
    }
    let new = Owned::new(new).into_shared(guard);
    // ORDERING: Release publishes the new table and its slots (stored Relaxed above) to
    // readers' Acquire loads of `shard.table`.
    let old = shard.table.swap(new, Ordering::AcqRel, guard);
    // SAFETY: the old table is unreachable after the swap and retired once; dropping it frees
    // its slot array, never the entries (the new table points at them).
    unsafe { guard.retire(old) };
    used
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

    /// Hashes a `u64` key to itself, so the test controls collisions.
    #[derive(Default)]
    struct IdentityHasher(u64);

    impl core::hash::Hasher for IdentityHasher {
        fn finish(&self) -> u64 {
            self.0
        }
        fn write(&mut self, bytes: &[u8]) {
            for &b in bytes {
                self.0 = (self.0 << 8) | u64::from(b);
            }
        }
        fn write_u64(&mut self, n: u64) {
            self.0 = n;
        }
    }

    #[test]
    fn colliding_keys_tombstones_and_rebuilds() {
        let hasher = core::hash::BuildHasherDefault::<IdentityHasher>::default();
        let map = ConcurrentMap::with_shards_and_hasher(1, hasher).unwrap();
        let h = map.handle();
        let rounds = if cfg!(miri) { 30 } else { 1_000 };
        // Every key starts probing at slot 0 of any table size up to 1024: long probe runs.
        let key = |i: u64| i << 10;
        for i in 0..4 {
            assert!(!h.insert(key(i), i));
        }
        // Churn: each round removes the oldest key (a tombstone) and inserts a new one, so
        // tombstones are reused or accumulate until a rebuild drops them.
        for i in 4..rounds {
            assert!(h.remove(&key(i - 4)));
            assert!(!h.remove(&key(i - 4)));
            assert!(!h.insert(key(i), i));
            assert_eq!(h.get(&key(i - 3)), Some(i - 3));
            assert_eq!(h.get(&key(i - 4)), None);
            assert_eq!(map.len(), 4);
        }
        // SAFETY: read under a pin; the table is live.
        let slots = unsafe { map.shards[0].table.load(&h.local.pin()).as_ref() }
            .unwrap()
            .slots
            .len();
        assert!(
            slots <= 16,
            "tombstones must not grow the table: {slots} slots"
        );
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
