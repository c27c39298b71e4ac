//! Epoch-based reclamation with interval reservations and adaptive advancement.
//!
//! Readers [`pin`](LocalHandle::pin) once per operation and load shared pointers through
//! [`Atomic::load`]; writers unlink an object and [`retire`](Guard::retire) it. A retired object
//! is destroyed once no pinned reader can still hold it. Unlike classic epoch-based reclamation,
//! a reader that stalls while pinned does **not** stop reclamation of objects allocated after it
//! stalled, so garbage stays bounded (see [Garbage bound](#garbage-bound)).
//!
//! # Design and papers
//!
//! * Fraser, "Practical lock-freedom", PhD thesis, Cambridge 2004, §5.2.3: a global epoch and
//!   per-thread reservations of it; an object retired in epoch `r` is safe once every pinned
//!   thread pinned after `r`.
//! * Wen, Izraelevitz, Cai, Beadle, Scott, "Interval-Based Memory Reclamation", PPoPP 2018
//!   (2GEIBR), and Ramalhete & Correia, "Brief Announcement: Hazard Eras", SPAA 2017: every
//!   object records its *birth* epoch, every reader reserves an interval `[lower, upper]` of
//!   epochs instead of a single epoch, and an object is only held back by readers whose interval
//!   overlaps the object's lifetime `[birth, retire]`. This is the hazard-pointer-style
//!   protection that bounds garbage under a stalled reader: the stalled reader's `upper` stops
//!   growing, so it protects nothing born later.
//!
//! # States
//!
//! Each registered [`LocalHandle`] owns a participant record with two epochs:
//!
//! | `lower`        | `upper`         | state                                            |
//! |----------------|-----------------|--------------------------------------------------|
//! | `u64::MAX`     | (stale)         | unpinned: protects nothing                       |
//! | `l`            | `u ≥ l`         | pinned since epoch `l`, has read up to epoch `u` |
//!
//! # Protocol
//!
//! Pin (outermost [`LocalHandle::pin`]):
//! 1. `e = EPOCH.load()`; store `upper = e`, then `lower = e` (Release: pairs with the scan's
//!    Acquire load of `lower`, see unpin).
//! 2. `fence(SeqCst)` — pairs with the retire fence (step R1). On x86_64 steps 1's `lower`
//!    store and this fence are one `swap(SeqCst)` (`lock xchg`, a full barrier), as in
//!    crossbeam-epoch; loom and Miri check the portable store + fence form.
//!
//! Protected load ([`Atomic::load`]), with the handle's published `upper = u`:
//! 1. `p = src.load(Acquire)` (pairs with the publishing Release CAS).
//! 2. `e = EPOCH.load()`; if `e == u` return `p`.
//! 3. Otherwise publish `upper = e`, `fence(SeqCst)`, set `u = e` and go to 1.
//!
//! Retire ([`Guard::retire`]), after the caller unlinked `x`:
//! * R1. Record `x` with `birth(x)` in the handle's local garbage list. Its retire epoch `r`
//!   is stamped by the handle's next scan: `r = EPOCH.load()` after the scan's
//!   `fence(SeqCst)`, which follows the unlink. (Stamping later than the unlink only makes
//!   `[birth, r]` longer, which is conservative, and saves a fence per retire.)
//! * R2. When the local list reaches `scan_threshold`: scan.
//!
//! Scan:
//! 1. `fence(SeqCst)`, then for every participant load `lower` (Acquire), then `upper`;
//!    then stamp `r` on the unstamped objects (step R1).
//! 2. Destroy every object `x` with no participant such that `lower ≤ retire(x)` and
//!    `birth(x) ≤ upper`; keep the rest. The scanning handle's own reservation is skipped for
//!    objects it retired during an earlier pin: it unlinked them before its current pin began.
//! 3. If an object was kept because of another handle's reservation with `upper ≥ EPOCH`,
//!    advance: `EPOCH.compare_exchange(e, e + 1)`. Advancing never waits for readers.
//!
//! Birth: [`Owned::into_shared`] stamps `birth = EPOCH.load()` before the object is published.
//!
//! Why it is safe. Suppose a reader returns `x` from a protected load while a scan destroys it.
//! The reader published its reservation (pin step 1 / load step 3) before a SeqCst fence `F_R`
//! and then loaded `x`; the retirer unlinked `x` before the SeqCst fence `F_W` of the scan that
//! stamps it. If `F_W` precedes
//! `F_R` in the single total order of SeqCst fences, the reader's load of the source must see
//! the unlink and cannot return `x`. Otherwise `F_R` precedes `F_W` (and the scan's fence), so
//! the scan sees the reservation or a later one of the same pin, and: `lower ≤ r`, because the
//! reader's epoch read precedes `F_R` and the retirer's epoch read follows `F_W` (the epoch only
//! grows); `birth(x) ≤ upper`, because the birth was read before `x` was published and the
//! reader read the epoch (equal to `upper`) after acquiring `x`. So `x` is kept. Unpin stores
//! `lower = u64::MAX` with Release, and the scan reads it with Acquire, so every access of the
//! finished pin happens before the destruction.
//!
//! # Adaptive advancement
//!
//! How often a handle scans and advances the epoch follows what it observes:
//!
//! * Scans follow the garbage: `scan_threshold` becomes `max(SCAN_THRESHOLD_MIN, 2k)` after a
//!   scan that kept `k` objects, so each scan frees at least half of what it examines and the
//!   work per retire stays `O(participants)` amortised, however much is held back.
//! * Advances follow the pinning: a scan advances the epoch only if another handle's
//!   reservation reaching the current epoch (`upper ≥ EPOCH`) held something back — a reader
//!   pinned now, whose next pin (at the new epoch) will no longer cover the object, or a stalled
//!   reader, which must stop covering new births. Reservations lying wholly in the past are not
//!   helped by advancing, and with no pinned readers there is nothing to wait for, so neither
//!   advances. Hence at most one advance per scan (≤ 1 per [`SCAN_THRESHOLD_MIN`] retires of a
//!   handle), which keeps readers from republishing `upper` (a full fence) needlessly; classic
//!   EBR instead tries to advance on every collection attempt.
//!
//! # Garbage bound
//!
//! Let `P` be the number of handles. Consider a reader that stalls forever while pinned with
//! reservation `[l, u]`. It can only hold back objects with `birth ≤ u`. While `u` is the
//! current epoch, the first scan of any handle that finds one of its objects held back by it
//! advances the epoch past `u` (scan step 3); from then on every newly published object has
//! `birth > u` and is not held back by this reader. So the objects it holds back are at most
//! `B_u` = the objects that existed (live or retired-but-unreclaimed) when the epoch passed `u`,
//! plus those stamped before and published after that moment; `B_u` is fixed then and does not
//! grow with time or with later operations. A handle's unreclaimed garbage is at most
//! `max(SCAN_THRESHOLD_MIN, 2·B)` where `B` is the number of its objects held back, so the total
//! is at most `P·SCAN_THRESHOLD_MIN + 2·B_total`, with `B_total ≤ Σ B_u` over stalled readers.
//! With no stalled reader, garbage is at most `P·SCAN_THRESHOLD_MIN` plus what was retired
//! during the pins in progress. Classic EBR instead grows without bound while any reader stays
//! pinned. `tests/epoch_stalled_reader.rs` checks the bound with a reader stalled across 100 000
//! retires; `benches/reclaim.rs` prints the peak heap growth next to crossbeam-epoch and seize.
//!
//! Garbage of a dropped handle is moved to the collector and adopted by the next scan of any
//! other handle that sees the collector's `has_orphans` flag (set and cleared under the orphan
//! mutex, read Relaxed as a hint, so scans touch the mutex only when there is something to
//! adopt); everything still retired is destroyed when the collector and its last handle are
//! dropped.
//!
//! Layout: a participant's `lower` and `upper` share one padded line, so a pin writes, and a
//! scan reads, one line per participant; the collector's per-scan `pending` counter has a line
//! of its own, away from the fields every allocation and retire reads.
//!
//! # Recycling
//!
//! A collector made with [`Collector::recycling::<T>`](Collector::recycling) reuses the memory
//! of retired `T`s instead of returning it to the allocator, for structures that allocate one
//! object per update (the map's entries):
//!
//! 1. Reclaim (scan step 2, for a node of the pool's layout): drop the value in place and push
//!    the block onto the scanning handle's pool (at most [`POOL_CAPACITY`] blocks; beyond that
//!    it is deallocated).
//! 2. Allocate ([`LocalHandle::alloc`]): pop a block and move the new value into it, with a
//!    fresh birth stamped by [`Owned::into_shared`] as for any new object.
//! 3. A dropped handle hands its pool to the collector (bounded), and the next registration
//!    takes it over.
//!
//! Reuse is safe for exactly the reason freeing is: a block enters a pool only when the scan
//! has decided that no reservation overlaps its old object's lifetime, so no reader holds a
//! pointer to it or can load one again, and the allocator could have handed the same address
//! out just as well. Pools are touched only by their handle's thread (or under the collector's
//! mutex when a handle is dropped or registered), so they need no atomics. The new object's
//! birth is read after the reuse, so the interval test treats it as the new object it is.
//!
//! # Example
//!
//! ```
//! use hallows_runtime::reclaim::epoch::{Atomic, Collector, Owned};
//! use hallows_runtime::sync::atomic::Ordering;
//!
//! let collector = Collector::new();
//! let handle = collector.register();
//! let slot = Atomic::new(String::from("first"));
//! {
//!     let guard = handle.pin();
//!     let old = slot.swap(Owned::new(String::from("second")).into_shared(&guard), Ordering::AcqRel, &guard);
//!     // SAFETY: `old` is unlinked by the swap and retired once.
//!     unsafe { guard.retire(old) };
//!     // SAFETY: loaded through the pinned guard.
//!     assert_eq!(unsafe { slot.load(&guard).as_ref() }.map(String::as_str), Some("second"));
//! }
//! // SAFETY: the slot is not shared any more; take back ownership of its last value.
//! drop(unsafe { slot.into_owned() });
//! ```

mod atomic;
mod collector;

pub use atomic::{Atomic, Owned, Shared};
pub use collector::{Collector, Guard, LocalHandle, POOL_CAPACITY, SCAN_THRESHOLD_MIN};
