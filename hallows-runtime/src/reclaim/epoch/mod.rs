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
//! 2. `fence(SeqCst)` — pairs with the retire fence (step R1).
//!
//! Protected load ([`Atomic::load`]), with the handle's published `upper = u`:
//! 1. `p = src.load(Acquire)` (pairs with the publishing Release CAS).
//! 2. `e = EPOCH.load()`; if `e == u` return `p`.
//! 3. Otherwise publish `upper = e`, `fence(SeqCst)`, set `u = e` and go to 1.
//!
//! Retire ([`Guard::retire`]), after the caller unlinked `x`:
//! * R1. `fence(SeqCst)`, then `r = EPOCH.load()`; record `x` with `[birth(x), r]` in the
//!   handle's local garbage list.
//! * R2. Every `advance_every` retires: `EPOCH.fetch_add(1)`. Advancing never waits for
//!   readers.
//! * R3. When the local list reaches `scan_threshold`: scan.
//!
//! Scan:
//! 1. `fence(SeqCst)`, then for every participant load `lower` (Acquire), then `upper`.
//! 2. Destroy every object `x` with no participant such that `lower ≤ retire(x)` and
//!    `birth(x) ≤ upper`; keep the rest. The scanning handle's own reservation is skipped for
//!    objects it retired during an earlier pin: it unlinked them before its current pin began.
//!
//! Birth: [`Owned::into_shared`] stamps `birth = EPOCH.load()` before the object is published.
//!
//! Why it is safe. Suppose a reader returns `x` from a protected load while a scan destroys it.
//! The reader published its reservation (pin step 1 / load step 3) before a SeqCst fence `F_R`
//! and then loaded `x`; the retirer unlinked `x` before its SeqCst fence `F_W`. If `F_W` precedes
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
//! How often a handle tries to advance the epoch and to scan adapts to what it observes:
//!
//! * `scan_threshold` follows the garbage: after a scan that kept `k` objects it becomes
//!   `max(SCAN_THRESHOLD_MIN, 2k)`, so each scan frees at least half of what it examines and the
//!   work per retire stays `O(participants)` amortised, however many objects are held back.
//! * `advance_every` follows the pinning: if a scan found objects held back by *other* handles' pins
//!   it halves (down to 1), so epochs get finer and a reader stuck in an old interval covers fewer
//!   new births; if a scan held nothing back it doubles (up to [`ADVANCE_EVERY_MAX`]), so
//!   readers republish `upper` (a SeqCst fence) less often.
//!
//! # Garbage bound
//!
//! Let `P` be the number of handles and `A` = [`ADVANCE_EVERY_MAX`]. Consider a reader that
//! stalls forever while pinned with reservation `[l, u]`. It can only hold back objects with
//! `birth ≤ u`. Every handle that keeps retiring advances the epoch at least every `A` of its
//! retires, so after at most `A` retires by the retiring handle the epoch exceeds `u` and every
//! object published afterwards has `birth > u`. Hence the objects it holds back are at most
//! `B_u` = the objects that existed (live or retired-but-unreclaimed) when the epoch passed `u`,
//! plus those stamped before and published after that moment. `B_u` is fixed at that moment and
//! does not grow with time or with the number of later operations. The unreclaimed garbage of a
//! handle is then at most `max(SCAN_THRESHOLD_MIN, 2·B) + B` where `B` is the number of its
//! objects held back, so the total is at most `P·SCAN_THRESHOLD_MIN + 3·B_total`, with
//! `B_total ≤ Σ B_u` over stalled readers. With no stalled reader the bound is
//! `P·SCAN_THRESHOLD_MIN` plus the objects retired during the pins in progress. Classic EBR
//! instead grows without bound while any reader stays pinned. The test
//! `tests/epoch_stalled_reader.rs` checks this with a reader stalled across 100 000 retires.
//!
//! Garbage of a dropped handle is moved to the collector and adopted by the next scan of any
//! other handle; everything still retired is destroyed when the collector and its last handle
//! are dropped.
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
pub use collector::{
    Collector, Guard, LocalHandle, ADVANCE_EVERY_INITIAL, ADVANCE_EVERY_MAX, SCAN_THRESHOLD_MIN,
};
