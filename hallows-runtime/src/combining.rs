//! Flat combining: threads publish operations on a sequential structure, and whichever thread
//! holds the combiner lock applies everyone's pending operations in one pass.
//!
//! Under contention a lock makes each thread pull the structure's cache lines to its own core;
//! with flat combining one thread (the combiner) keeps the structure hot in its cache and the
//! others only exchange one record each with it.
//!
//! # Protocol (Hendler, Incze, Shavit, Tzafrir, "Flat Combining and the
//! Synchronization-Parallelism Tradeoff", SPAA 2010)
//!
//! Each [`CombinerHandle`] owns a publication record (cache-padded) in the combiner's
//! append-only list. A record's `status`:
//!
//! | status    | owner may                  | combiner may                         |
//! |-----------|----------------------------|--------------------------------------|
//! | `IDLE`    | write `op`                 | —                                    |
//! | `PENDING` | wait                       | take `op`, apply it, write `output`  |
//! | `DONE`    | take `output`, set `IDLE`  | —                                    |
//!
//! Apply (owner):
//! 0. Fast path: if the lock is free and the CAS `false → true` (Acquire) succeeds, apply the
//!    operation directly, unlock (Release) and return. Uncontended, this costs what a spin lock
//!    costs, and it does not walk the publication list (reading other threads' records would
//!    pull their cache lines on every operation). Published operations are combined by the
//!    next waiter that takes the lock in step 2.
//! 1. Write the operation into the record, then `status = PENDING` (Release: pairs with the
//!    combiner's Acquire load in step C2).
//! 2. Wait, in rounds. 2a: poll the own record's `status` (a line no other thread writes until
//!    the combiner answers, so polling it is a cache hit) up to
//!    `MIN_POLLS_PER_LOCK_CHECK << min(round, MAX_POLL_DOUBLINGS)` times; on `DONE` (Acquire:
//!    pairs with step C3) take the output, set `IDLE` and return. 2b: only then look at the
//!    lock: if it is free, CAS it `false → true` (Acquire: pairs with the Release unlock, so the
//!    previous combiner's writes to the structure are visible), combine and go back to 2a
//!    (our own record was served by that combine). After [`SPIN_ROUNDS_BEFORE_YIELD`] rounds
//!    every round also [`yield_now`](crate::sync::thread::yield_now)s, so a descheduled
//!    combiner can run.
//!
//! Waiters look at the lock line rarely on purpose: as in the paper, they spin on their own
//! record, and the holder keeps the lock and the structure in its cache for many operations in
//! a row (with 2 threads, checking every 16 polls instead of every 128 made the queue bench
//! 20% slower). The price is fairness: a holder that keeps re-taking the lock on the fast path
//! does not serve the list, so a waiter is served when it wins the lock between two of the
//! holder's operations (or another waiter combines); it looks at the lock at least once every
//! `MIN_POLLS_PER_LOCK_CHECK << MAX_POLL_DOUBLINGS` polls. Serving the list on every 64th
//! fast-path operation was measured too: it bounds the wait but keeps both threads in a round
//! trip per served operation, and made the 2-thread queue bench 20–30% slower.
//!
//! Combine (lock holder):
//! * C1. Up to [`COMBINE_PASSES`] times, walk the record list.
//! * C2. For each record with `status == PENDING` (Acquire), take the operation and apply it to
//!   the structure.
//! * C3. Write the output, then `status = DONE` (Release). Stop early when a pass finds no work.
//! * C4. Unlock (Release).
//!
//! Unlike the paper, records are not aged out of the list: a dropped handle marks its record
//! free and the next [`FlatCombiner::handle`] reuses it, so the list length is the peak number
//! of simultaneous handles. If an operation panics the combiner is poisoned: the lock is
//! released and every waiting or later `apply` panics with a message saying so.
//!
//! # Measured
//!
//! Session 5, AMD Zen 5 VM (2 vCPUs), `cargo bench -p hallows-runtime --bench combining --
//! --warm-up-time 1 --measurement-time 3` on commit aff5d1c (unchanged since), two runs: ours
//! 0.903 / 0.869 ms, `Mutex<VecDeque>` 3.580 / 3.459 ms (ratio 3.96 / 3.98), `SegQueue`
//! 1.498 / 1.422 ms (ratio 1.66 / 1.64; ratio = competitor ÷ ours, above 1: ours faster).
//!
//! # Example
//!
//! ```
//! use hallows_runtime::combining::{FlatCombiner, Sequential};
//!
//! struct Counter(u64);
//! impl Sequential for Counter {
//!     type Op = u64;
//!     type Output = u64;
//!     fn apply(&mut self, add: u64) -> u64 {
//!         self.0 += add;
//!         self.0
//!     }
//! }
//!
//! let fc = FlatCombiner::new(Counter(0));
//! std::thread::scope(|s| {
//!     for _ in 0..2 {
//!         s.spawn(|| {
//!             let mut h = fc.handle();
//!             for _ in 0..100 {
//!                 h.apply(1);
//!             }
//!         });
//!     }
//! });
//! assert_eq!(fc.into_inner().0, 200);
//! ```

use core::fmt;
use core::ptr;

use crate::padding::CachePadded;
use crate::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, Ordering};
use crate::sync::{spin_loop, thread, UnsafeCell};

/// Passes over the publication list per combining session (the paper's "combining rounds");
/// more passes batch more operations per lock acquisition but delay the combiner's own return.
pub const COMBINE_PASSES: usize = 3;

/// Waiting rounds (step 2) before a waiting thread starts yielding its time slice every round.
pub const SPIN_ROUNDS_BEFORE_YIELD: u32 = 8;

/// Polls of its own record a waiting thread makes before its first look at the shared lock
/// line. Each look pulls that line into the waiter's cache, so the holder's next CAS on it
/// becomes a cache-line transfer; and a waiter that finds the lock free between two of the
/// holder's operations takes it over, moving the structure's lines to its own core. Looking
/// rarely lets a holder run many operations with everything in its cache. Measured on the
/// 2-thread queue bench (2 cores, AMD EPYC): 16 polls 540 µs, 128 polls 440 µs per
/// iteration. One under loom, where every poll is a scheduling point.
pub const MIN_POLLS_PER_LOCK_CHECK: u32 = if cfg!(loom) { 1 } else { 128 };

/// The polls between two lock checks double per round up to `MIN_POLLS_PER_LOCK_CHECK << 3`
/// (1024 `spin_loop` hints). 0 under loom.
pub const MAX_POLL_DOUBLINGS: u32 = if cfg!(loom) { 0 } else { 3 };

/// Polls of its own record a waiting thread makes in wait round `rounds` (step 2a) before it
/// checks the lock again: [`MIN_POLLS_PER_LOCK_CHECK`] doubled per round, at most
/// [`MAX_POLL_DOUBLINGS`] times.
#[cfg_attr(
    loom,
    expect(
        clippy::unnecessary_min_or_max,
        reason = "MAX_POLL_DOUBLINGS is 0 under loom (keeps the models small)"
    )
)]
#[inline]
fn polls_before_lock_check(rounds: u32) -> u32 {
    MIN_POLLS_PER_LOCK_CHECK << rounds.min(MAX_POLL_DOUBLINGS)
}

const IDLE: u8 = 0;
const PENDING: u8 = 1;
const DONE: u8 = 2;

/// A sequential data structure whose operations can be combined.
pub trait Sequential {
    /// One operation with its arguments.
    type Op;
    /// The operation's result.
    type Output;
    /// Applies `op` to the structure.
    fn apply(&mut self, op: Self::Op) -> Self::Output;
}

struct Record<S: Sequential> {
    status: AtomicU8,
    in_use: AtomicBool,
    op: UnsafeCell<Option<S::Op>>,
    output: UnsafeCell<Option<S::Output>>,
    next: *mut CachePadded<Record<S>>,
}

/// A sequential structure `S` shared by flat combining.
pub struct FlatCombiner<S: Sequential> {
    lock: CachePadded<AtomicBool>,
    poisoned: AtomicBool,
    state: UnsafeCell<S>,
    records: AtomicPtr<CachePadded<Record<S>>>,
}

// SAFETY: operations and outputs move between threads (`Send`), and the structure is accessed
// by one combiner at a time, possibly a different thread each time (`S: Send`).
unsafe impl<S: Sequential + Send> Send for FlatCombiner<S>
where
    S::Op: Send,
    S::Output: Send,
{
}
// SAFETY: as above; every shared access is ordered by the record protocol or the lock.
unsafe impl<S: Sequential + Send> Sync for FlatCombiner<S>
where
    S::Op: Send,
    S::Output: Send,
{
}

impl<S: Sequential> fmt::Debug for FlatCombiner<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlatCombiner")
            .field("locked", &self.lock.load(Ordering::Relaxed))
            .field("poisoned", &self.poisoned.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl<S: Sequential> FlatCombiner<S> {
    /// Wraps `state`.
    pub fn new(state: S) -> Self {
        Self {
            lock: CachePadded::new(AtomicBool::new(false)),
            poisoned: AtomicBool::new(false),
            state: UnsafeCell::new(state),
            records: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Unwraps the structure.
    pub fn into_inner(self) -> S {
        let this = core::mem::ManuallyDrop::new(self);
        this.free_records();
        // SAFETY: `this` is never dropped or used again; `state` is read exactly once and the
        // other fields hold no resources after `free_records`.
        unsafe { ptr::read(&this.state) }.into_inner()
    }

    fn free_records(&self) {
        let mut cur = self.records.load(Ordering::Relaxed);
        while !cur.is_null() {
            // SAFETY: records come from `Box::into_raw` in `handle_cold` and, with exclusive
            // access to the combiner (callers hold it by value or `&mut`), are freed once here.
            let rec = unsafe { Box::from_raw(cur) };
            cur = rec.next;
        }
    }

    /// Registers the calling thread: returns a handle owning a publication record.
    pub fn handle(&self) -> CombinerHandle<'_, S> {
        // ORDERING: Acquire pairs with the Release CAS that published each record.
        let mut cur = self.records.load(Ordering::Acquire);
        while !cur.is_null() {
            // SAFETY: records live as long as the combiner.
            let rec = unsafe { &*cur };
            // ORDERING: Acquire pairs with the Release store in `CombinerHandle::drop`.
            if !rec.in_use.load(Ordering::Relaxed)
                && rec
                    .in_use
                    .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            {
                return CombinerHandle {
                    fc: self,
                    record: rec,
                };
            }
            cur = rec.next;
        }
        self.handle_cold()
    }

    #[cold]
    fn handle_cold(&self) -> CombinerHandle<'_, S> {
        let fresh = Box::into_raw(Box::new(CachePadded::new(Record {
            status: AtomicU8::new(IDLE),
            in_use: AtomicBool::new(true),
            op: UnsafeCell::new(None),
            output: UnsafeCell::new(None),
            next: ptr::null_mut(),
        })));
        let mut head = self.records.load(Ordering::Relaxed);
        loop {
            // SAFETY: `fresh` is ours until the CAS publishes it.
            unsafe { (&mut *fresh).next = head };
            // ORDERING: Release publishes the record's initialisation (pairs with the Acquire
            // loads in `handle` and `combine`).
            match self.records.compare_exchange_weak(
                head,
                fresh,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(h) => head = h,
            }
        }
        CombinerHandle {
            fc: self,
            // SAFETY: published records live as long as the combiner.
            record: unsafe { &*fresh },
        }
    }

    fn check_poison(&self) {
        if self.poisoned.load(Ordering::Relaxed) {
            poisoned_cold();
        }
    }

    /// Applies every pending operation (steps C1-C3). The caller holds the lock.
    fn combine(&self) {
        let unlock_on_unwind = UnlockOnUnwind(self);
        for _ in 0..COMBINE_PASSES {
            let mut applied = 0;
            // ORDERING: Acquire pairs with the record-publishing Release CAS.
            let mut cur = self.records.load(Ordering::Acquire);
            while !cur.is_null() {
                // SAFETY: records live as long as the combiner.
                let rec = unsafe { &*cur };
                // ORDERING: Acquire pairs with the owner's Release store of PENDING, making its
                // write of `op` visible.
                if rec.status.load(Ordering::Acquire) == PENDING {
                    // SAFETY: PENDING gives the combiner exclusive access to `op` and `output`
                    // until it stores DONE.
                    let Some(op) = rec.op.with_mut(|p| unsafe { (*p).take() }) else {
                        // Only a record whose operation panicked (poisoning us) has none.
                        cur = rec.next;
                        continue;
                    };
                    // SAFETY: the lock gives exclusive access to the structure.
                    let out = self.state.with_mut(|s| unsafe { (*s).apply(op) });
                    // SAFETY: as for `op` above.
                    rec.output.with_mut(|p| unsafe { *p = Some(out) });
                    // ORDERING: Release pairs with the owner's Acquire load of DONE.
                    rec.status.store(DONE, Ordering::Release);
                    applied += 1;
                }
                cur = rec.next;
            }
            if applied == 0 {
                break;
            }
        }
        core::mem::forget(unlock_on_unwind);
    }

    /// Runs `f` on the structure under the combiner lock, bypassing the publication list.
    ///
    /// Useful for rare operations that don't fit `S::Op` (inspection, bulk loading).
    pub fn with_locked<R>(&self, f: impl FnOnce(&mut S) -> R) -> R {
        loop {
            self.check_poison();
            // ORDERING: Acquire pairs with the Release unlock of the previous holder.
            if !self.lock.load(Ordering::Relaxed)
                && self
                    .lock
                    .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            {
                let unlock_on_unwind = UnlockOnUnwind(self);
                // SAFETY: the lock gives exclusive access to the structure.
                let r = self.state.with_mut(|s| f(unsafe { &mut *s }));
                core::mem::forget(unlock_on_unwind);
                // ORDERING: Release pairs with the next holder's Acquire CAS.
                self.lock.store(false, Ordering::Release);
                return r;
            }
            spin_loop();
        }
    }
}

impl<S: Sequential> Drop for FlatCombiner<S> {
    fn drop(&mut self) {
        self.free_records();
    }
}

#[cold]
#[inline(never)]
fn poisoned_cold() -> ! {
    panic!("flat combiner is poisoned: an earlier operation panicked while combining; recreate it")
}

/// Releases the lock and poisons the combiner if an operation panics while combining.
struct UnlockOnUnwind<'a, S: Sequential>(&'a FlatCombiner<S>);

impl<S: Sequential> Drop for UnlockOnUnwind<'_, S> {
    fn drop(&mut self) {
        self.0.poisoned.store(true, Ordering::Relaxed);
        // ORDERING: Release pairs with the Acquire lock CAS.
        self.0.lock.store(false, Ordering::Release);
    }
}

/// A thread's publication record in a [`FlatCombiner`].
pub struct CombinerHandle<'c, S: Sequential> {
    fc: &'c FlatCombiner<S>,
    record: &'c Record<S>,
}

impl<S: Sequential> fmt::Debug for CombinerHandle<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CombinerHandle")
            .field("status", &self.record.status.load(Ordering::Relaxed))
            .finish()
    }
}

impl<S: Sequential> CombinerHandle<'_, S> {
    /// Applies `op` to the shared structure (combining it with other threads' operations) and
    /// returns its result.
    ///
    /// # Panics
    ///
    /// If an operation panicked while combining (here or in another thread): the combiner is
    /// poisoned.
    pub fn apply(&mut self, op: S::Op) -> S::Output {
        let fc = self.fc;
        let rec = self.record;
        fc.check_poison();
        // ORDERING: Acquire pairs with the previous holder's Release unlock (step 0).
        if !fc.lock.load(Ordering::Relaxed)
            && fc
                .lock
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        {
            let unlock_on_unwind = UnlockOnUnwind(fc);
            // SAFETY: the lock gives exclusive access to the structure.
            let out = fc.state.with_mut(|s| unsafe { (*s).apply(op) });
            core::mem::forget(unlock_on_unwind);
            // ORDERING: Release pairs with the next holder's Acquire CAS.
            fc.lock.store(false, Ordering::Release);
            return out;
        }
        // SAFETY: the record is IDLE and owned by this handle (`&mut self`): no combiner reads
        // `op` until it sees PENDING.
        rec.op.with_mut(|p| unsafe { *p = Some(op) });
        // ORDERING: Release pairs with the combiner's Acquire load of PENDING.
        rec.status.store(PENDING, Ordering::Release);
        let mut rounds = 0_u32;
        loop {
            // Step 2a: wait on our own record only (its line stays in our cache until the
            // combiner writes it), polling the shared lock line once per round.
            for _ in 0..polls_before_lock_check(rounds) {
                // ORDERING: Acquire pairs with the combiner's Release store of DONE.
                if rec.status.load(Ordering::Acquire) == DONE {
                    // SAFETY: DONE hands `output` back to the owner exclusively.
                    let out = rec.output.with_mut(|p| unsafe { (*p).take() });
                    rec.status.store(IDLE, Ordering::Relaxed);
                    return out.expect("a DONE record always holds an output");
                }
                spin_loop();
            }
            // Step 2b. ORDERING: Acquire pairs with the previous combiner's Release unlock, so
            // its writes to the structure are visible to us.
            if !fc.lock.load(Ordering::Relaxed)
                && fc
                    .lock
                    .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            {
                fc.combine();
                // ORDERING: Release pairs with the next combiner's Acquire CAS.
                fc.lock.store(false, Ordering::Release);
                continue;
            }
            fc.check_poison();
            rounds = rounds.saturating_add(1);
            if rounds > SPIN_ROUNDS_BEFORE_YIELD {
                thread::yield_now();
            }
        }
    }
}

impl<S: Sequential> Drop for CombinerHandle<'_, S> {
    fn drop(&mut self) {
        // ORDERING: Release pairs with the Acquire CAS in `FlatCombiner::handle`.
        self.record.in_use.store(false, Ordering::Release);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    struct Queue(VecDeque<u64>);
    enum QueueOp {
        Push(u64),
        Pop,
    }
    impl Sequential for Queue {
        type Op = QueueOp;
        type Output = Option<u64>;
        fn apply(&mut self, op: QueueOp) -> Option<u64> {
            match op {
                QueueOp::Push(v) => {
                    self.0.push_back(v);
                    None
                }
                QueueOp::Pop => self.0.pop_front(),
            }
        }
    }

    #[test]
    fn concurrent_pushes_and_pops_lose_nothing() {
        let fc = FlatCombiner::new(Queue(VecDeque::new()));
        let n: u64 = if cfg!(miri) { 30 } else { 5_000 };
        let popped: Vec<u64> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..3)
                .map(|t| {
                    let fc = &fc;
                    s.spawn(move || {
                        let mut h = fc.handle();
                        let mut got = Vec::new();
                        for i in 0..n {
                            h.apply(QueueOp::Push(t * n + i));
                            if let Some(v) = h.apply(QueueOp::Pop) {
                                got.push(v);
                            }
                        }
                        got
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().unwrap())
                .collect()
        });
        let mut all = popped;
        all.extend(fc.into_inner().0);
        all.sort_unstable();
        assert_eq!(all, (0..3 * n).collect::<Vec<_>>());
    }

    #[test]
    fn records_are_reused_and_with_locked_sees_state() {
        let fc = FlatCombiner::new(Queue(VecDeque::new()));
        drop(fc.handle());
        let mut h = fc.handle();
        h.apply(QueueOp::Push(4));
        assert_eq!(fc.with_locked(|q| q.0.len()), 1);
        let mut count = 0;
        let mut cur = fc.records.load(Ordering::Relaxed);
        while !cur.is_null() {
            count += 1;
            // SAFETY: records live as long as `fc`.
            cur = unsafe { (&*cur).next };
        }
        assert_eq!(count, 1);
    }

    #[test]
    fn a_panicking_operation_poisons_the_combiner() {
        struct Fragile;
        impl Sequential for Fragile {
            type Op = bool;
            type Output = ();
            fn apply(&mut self, fail: bool) {
                assert!(!fail, "operation failed");
            }
        }
        let fc = FlatCombiner::new(Fragile);
        let mut h = fc.handle();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| h.apply(true)));
        assert!(caught.is_err());
        let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| h.apply(false)));
        let msg = again.unwrap_err();
        assert!(msg
            .downcast_ref::<&str>()
            .is_some_and(|m| m.contains("poisoned")));
    }
}
