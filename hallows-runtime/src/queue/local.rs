//! A bounded, lock-free work-stealing deque: one owner pushes and pops at either end, any number
//! of thieves steal *batches* (half of what is queued) from the front.
//!
//! # Design
//!
//! It follows the idea of Chase & Lev ("Dynamic circular work-stealing deque", SPAA 2005) — a
//! ring of slots between a `head` that thieves advance and a `tail` the owner moves — with the
//! weak-memory reasoning of Lê, Pop, Cohen & Zappa Nardelli ("Correct and efficient
//! work-stealing for weak memory models", PPoPP 2013). Two changes make batch stealing simple to
//! prove correct:
//!
//! 1. **One word.** `head` (16 bits), `tail` (16 bits) and a 32-bit `stamp` are packed into one
//!    `AtomicU64`, and *every* operation commits with a compare-and-swap on it. Classic Chase–Lev
//!    lets the owner pop with a plain store plus a `SeqCst` fence, which is only sound for
//!    single-element steals: a thief taking *n* elements could race with the owner popping
//!    several times from the other end. With one word, a thief's CAS succeeds only if nothing —
//!    no push, no pop, no other steal — happened since it read the word, so the elements it
//!    copied are exactly the ones it claims. (The cost is one `lock cmpxchg` per push/pop, about
//!    what Chase–Lev's `mfence` on pop costs.)
//! 2. **Atomic slots.** Slots are `AtomicPtr`s, so a thief reading a slot the owner is
//!    rewriting (possible only when the thief's CAS is going to fail) is a benign atomic race,
//!    not undefined behaviour. Lê et al. make the same choice for the buffer.
//!
//! The `stamp` changes on every operation except push, so the word never returns to a previous
//! value unless 2^32 pops/steals happen while one thief is stalled between its load and its CAS
//! (the same kind of bound as tokio's 32-bit queue indices).
//!
//! The capacity is fixed ([`CAPACITY`]); a full queue makes [`Local::push`] fail so the owner
//! can move half of it to the global injector ([`Local::take_half`]), as tokio's local run queue
//! does on overflow.
//!
//! The queue stores `NonNull<T>` and does not own the pointees: whoever pushes a pointer keeps
//! the obligation to release it, and whoever pops or steals it takes that obligation over.
//!
//! ```
//! use hallows_runtime::queue::local;
//! use std::ptr::NonNull;
//!
//! let mut values = [1_u32, 2, 3, 4];
//! let (owner, stealer) = local::new::<u32>();
//! let (thief, _) = local::new::<u32>();
//! for v in values.iter_mut() {
//!     owner.push(NonNull::from(v)).unwrap();
//! }
//! // A thief takes half (the oldest two): one to run now, the other into its own queue.
//! let first = stealer.steal_half_into(&thief).unwrap();
//! // SAFETY: the pointers point into `values`, which outlives this block.
//! assert_eq!(unsafe { *first.as_ref() }, 1);
//! assert_eq!(thief.len(), 1);
//! // The owner pops LIFO from the back or FIFO from the front.
//! // SAFETY: as above.
//! assert_eq!(unsafe { *owner.pop_back().unwrap().as_ref() }, 4);
//! // SAFETY: as above.
//! assert_eq!(unsafe { *owner.pop_front().unwrap().as_ref() }, 3);
//! assert!(owner.is_empty());
//! ```

use crate::padding::CachePadded;
use crate::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use crate::sync::Arc;
use core::fmt;
use core::marker::PhantomData;
use core::ptr::{self, NonNull};

/// Slots per queue. A power of two below 2^15 so 16-bit wrapping indices can tell full from
/// empty. 256 is tokio's choice too: large enough that overflow is rare, small enough that a
/// queue's slots fit in 2 KiB. Loom models use 4 so that overflow is reachable.
#[cfg(not(loom))]
pub const CAPACITY: usize = 256;
/// Slots per queue (reduced under loom so models reach the full-queue paths).
#[cfg(loom)]
pub const CAPACITY: usize = 4;
const MASK: usize = CAPACITY - 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Word {
    head: u16,
    tail: u16,
    stamp: u32,
}

impl Word {
    fn unpack(w: u64) -> Word {
        Word {
            head: w as u16,
            tail: (w >> 16) as u16,
            stamp: (w >> 32) as u32,
        }
    }

    fn pack(self) -> u64 {
        u64::from(self.head) | u64::from(self.tail) << 16 | u64::from(self.stamp) << 32
    }

    fn len(self) -> usize {
        usize::from(self.tail.wrapping_sub(self.head))
    }
}

struct Inner<T> {
    word: CachePadded<AtomicU64>,
    slots: Box<[AtomicPtr<T>]>,
}

impl<T> Inner<T> {
    fn slot(&self, index: u16) -> &AtomicPtr<T> {
        &self.slots[usize::from(index) & MASK]
    }

    fn load(&self) -> Word {
        // ORDERING: Acquire pairs with the Release CAS in `push`/`push_batch`: slots written
        // before a push are visible once the pushed tail is seen.
        Word::unpack(self.word.load(Ordering::Acquire))
    }

    /// Commits `new` if the word is still `old`; on failure returns the current word.
    fn commit(&self, old: Word, new: Word, success: Ordering) -> Result<(), Word> {
        // ORDERING: failure is Acquire for the same reason as `load`; `success` is chosen by the
        // caller (Release when publishing slots).
        self.word
            .compare_exchange(old.pack(), new.pack(), success, Ordering::Acquire)
            .map(|_| ())
            .map_err(Word::unpack)
    }

    fn len(&self) -> usize {
        self.load().len()
    }
}

/// Creates an empty queue, returning the owner's handle and a stealer handle.
pub fn new<T>() -> (Local<T>, Stealer<T>) {
    let slots = (0..CAPACITY)
        .map(|_| AtomicPtr::new(ptr::null_mut()))
        .collect::<Vec<_>>()
        .into_boxed_slice();
    let inner = Arc::new(Inner {
        word: CachePadded::new(AtomicU64::new(0)),
        slots,
    });
    (
        Local {
            inner: inner.clone(),
            _not_sync: PhantomData,
        },
        Stealer { inner },
    )
}

/// The owner's handle: push and pop at both ends. `Send` but not `Sync` (one owner).
pub struct Local<T> {
    inner: Arc<Inner<T>>,
    _not_sync: PhantomData<core::cell::Cell<()>>,
}

// SAFETY: the handle only moves raw pointers between threads; the pointees' thread safety is the
// pusher's obligation (documented on the module). Moving the owner handle to another thread is
// fine: the single-owner discipline is kept by `!Sync`.
unsafe impl<T> Send for Local<T> {}

/// A thief's handle: steal batches from the front. Cheap to clone, shareable.
pub struct Stealer<T> {
    inner: Arc<Inner<T>>,
}

// SAFETY: stealers only perform atomic operations on the shared ring; see `Local`'s impl.
unsafe impl<T> Send for Stealer<T> {}
// SAFETY: as above; every method takes `&self` and is lock-free and race-free by construction.
unsafe impl<T> Sync for Stealer<T> {}

impl<T> Clone for Stealer<T> {
    fn clone(&self) -> Self {
        Stealer {
            inner: self.inner.clone(),
        }
    }
}

impl<T> fmt::Debug for Local<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Local").field("len", &self.len()).finish()
    }
}

impl<T> fmt::Debug for Stealer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stealer").field("len", &self.len()).finish()
    }
}

impl<T> Local<T> {
    /// Number of queued items (exact for the owner between its own operations).
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Free slots.
    pub fn remaining(&self) -> usize {
        CAPACITY - self.len()
    }

    /// Pushes at the back; gives the item back if the queue is full.
    pub fn push(&self, item: NonNull<T>) -> Result<(), NonNull<T>> {
        let mut w = self.inner.load();
        loop {
            if w.len() >= CAPACITY {
                return Err(item);
            }
            // ORDERING: Relaxed: published by the Release CAS below. The slot is outside
            // [head, tail), so no thief can claim it; a stale thief may read it, but its CAS
            // then fails because the word changed.
            self.inner
                .slot(w.tail)
                .store(item.as_ptr(), Ordering::Relaxed);
            let new = Word {
                tail: w.tail.wrapping_add(1),
                ..w
            };
            // ORDERING: Release pairs with thieves' Acquire loads of the word in
            // `steal_half_into`. SeqCst (the same `lock cmpxchg` as Release on x86) because the
            // park protocol needs the push in the SeqCst total order: the producer then
            // SeqCst-loads the sleeper count, and a sleeper SeqCst-increments that count and
            // issues a SeqCst fence before re-reading this word (scheduler/README.md, "Parking").
            match self.inner.commit(w, new, Ordering::SeqCst) {
                Ok(()) => return Ok(()),
                Err(current) => w = current,
            }
        }
    }

    /// Pushes every item of `items` at the back.
    ///
    /// # Panics
    ///
    /// Panics if fewer than `items.len()` slots are free (only the owner pushes, so it can check
    /// [`Local::remaining`] first).
    pub fn push_batch(&self, items: &[NonNull<T>]) {
        if items.is_empty() {
            return;
        }
        let mut w = self.inner.load();
        loop {
            assert!(
                CAPACITY - w.len() >= items.len(),
                "push_batch of {} items into a queue with {} free slots",
                items.len(),
                CAPACITY - w.len()
            );
            for (i, item) in items.iter().enumerate() {
                // ORDERING: as in `push`.
                self.inner
                    .slot(w.tail.wrapping_add(i as u16))
                    .store(item.as_ptr(), Ordering::Relaxed);
            }
            let new = Word {
                tail: w.tail.wrapping_add(items.len() as u16),
                ..w
            };
            // ORDERING: SeqCst, as in `push`.
            match self.inner.commit(w, new, Ordering::SeqCst) {
                Ok(()) => return,
                Err(current) => w = current,
            }
        }
    }

    /// Pops the most recently pushed item (LIFO), if any.
    pub fn pop_back(&self) -> Option<NonNull<T>> {
        let mut w = self.inner.load();
        loop {
            if w.len() == 0 {
                return None;
            }
            let tail = w.tail.wrapping_sub(1);
            // ORDERING: Relaxed: the owner wrote this slot itself.
            let item = self.inner.slot(tail).load(Ordering::Relaxed);
            let new = Word {
                tail,
                stamp: w.stamp.wrapping_add(1),
                ..w
            };
            // ORDERING: Relaxed on success: the CAS only has to be atomic with the thieves' CASes
            // (it fails if any of them claimed this item); no data is published.
            match self.inner.commit(w, new, Ordering::Relaxed) {
                Ok(()) => return NonNull::new(item),
                Err(current) => w = current,
            }
        }
    }

    /// Pops the oldest item (FIFO), if any.
    pub fn pop_front(&self) -> Option<NonNull<T>> {
        let mut w = self.inner.load();
        loop {
            if w.len() == 0 {
                return None;
            }
            // ORDERING: Relaxed: the owner wrote this slot itself.
            let item = self.inner.slot(w.head).load(Ordering::Relaxed);
            let new = Word {
                head: w.head.wrapping_add(1),
                stamp: w.stamp.wrapping_add(1),
                ..w
            };
            // ORDERING: as in `pop_back`.
            match self.inner.commit(w, new, Ordering::Relaxed) {
                Ok(()) => return NonNull::new(item),
                Err(current) => w = current,
            }
        }
    }

    /// Claims the older half of the queue (for moving it to a global queue on overflow) and
    /// appends it to `out`, oldest first. Returns how many were taken.
    pub fn take_half(&self, out: &mut Vec<NonNull<T>>) -> usize {
        steal_batch(&self.inner, usize::MAX, out)
    }

    /// A stealer for this queue.
    pub fn stealer(&self) -> Stealer<T> {
        Stealer {
            inner: self.inner.clone(),
        }
    }
}

impl<T> Stealer<T> {
    /// Number of queued items (a snapshot).
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// True when nothing is queued (a snapshot).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Steals half (rounded up) of the victim's items, oldest first: returns the first one and
    /// pushes the rest into `dest` (bounded by `dest`'s free space). `None` if the victim was
    /// empty.
    pub fn steal_half_into(&self, dest: &Local<T>) -> Option<NonNull<T>> {
        self.steal_into_with(dest, |_| true)
    }

    /// Like [`Stealer::steal_half_into`], but takes only the oldest item when `batch(oldest)`
    /// is false. `batch` sees the pointer value only (it must not dereference it: the item is
    /// not claimed yet), e.g. a tag in its low bits.
    pub fn steal_into_with(
        &self,
        dest: &Local<T>,
        batch: impl Fn(NonNull<T>) -> bool,
    ) -> Option<NonNull<T>> {
        if Arc::ptr_eq(&self.inner, &dest.inner) {
            return None;
        }
        let room = dest.remaining() + 1;
        let mut items = Vec::new();
        if steal_batch_with(&self.inner, room, &mut items, &batch) == 0 {
            return None;
        }
        let batch = items;
        let first = batch[0];
        dest.push_batch(&batch[1..]);
        Some(first)
    }

    /// Steals half (rounded up) of the victim's items into `out`, oldest first; returns how many.
    pub fn steal_half(&self, out: &mut Vec<NonNull<T>>) -> usize {
        steal_batch(&self.inner, usize::MAX, out)
    }
}

/// Claims up to `max` items, half of the queue rounded up, from the front.
fn steal_batch<T>(inner: &Inner<T>, max: usize, out: &mut Vec<NonNull<T>>) -> usize {
    steal_batch_with(inner, max, out, &|_| true)
}

/// Claims up to `max` items from the front: half the queue rounded up, or just the oldest one
/// when `batch(oldest)` is false.
fn steal_batch_with<T>(
    inner: &Inner<T>,
    max: usize,
    out: &mut Vec<NonNull<T>>,
    batch: &dyn Fn(NonNull<T>) -> bool,
) -> usize {
    let start = out.len();
    let mut w = inner.load();
    loop {
        // Forget whatever a failed attempt copied: those items were not claimed.
        out.truncate(start);
        let len = w.len();
        if len == 0 || max == 0 {
            return 0;
        }
        let mut n = len.div_ceil(2).min(max);
        for i in 0..n {
            // ORDERING: Relaxed: the Acquire load of `w` made the slots pushed before it
            // visible. If the owner is rewriting this slot concurrently, the word has changed
            // and the CAS below fails, discarding what was read.
            let p = inner
                .slot(w.head.wrapping_add(i as u16))
                .load(Ordering::Relaxed);
            // A null read can only come from a slot outside [head, tail) of the current word,
            // i.e. a stale `w`; the CAS would fail, so retry from a fresh word right away.
            match NonNull::new(p) {
                Some(p) => out.push(p),
                None => break,
            }
            if i == 0 && !batch(out[start]) {
                n = 1;
                break;
            }
        }
        if out.len() - start != n {
            w = inner.load();
            continue;
        }
        let new = Word {
            head: w.head.wrapping_add(n as u16),
            stamp: w.stamp.wrapping_add(1),
            ..w
        };
        // ORDERING: Acquire on success too: taking ownership of the items must happen after
        // the owner's writes to them (already ordered through the Acquire load of `w`; Acquire
        // here keeps that true when `w` came from a failed CAS's reload).
        match inner.commit(w, new, Ordering::Acquire) {
            Ok(()) => return n,
            Err(current) => w = current,
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn ptrs(values: &mut [u32]) -> Vec<NonNull<u32>> {
        values.iter_mut().map(NonNull::from).collect()
    }

    fn val(p: NonNull<u32>) -> u32 {
        // SAFETY: every pointer in these tests points into a live local array.
        unsafe { *p.as_ref() }
    }

    #[test]
    fn word_packs_and_unpacks() {
        let w = Word {
            head: 65535,
            tail: 3,
            stamp: 0xdead_beef,
        };
        assert_eq!(Word::unpack(w.pack()), w);
        assert_eq!(w.len(), 4);
    }

    #[test]
    fn full_queue_rejects_and_take_half_makes_room() {
        let mut values: Vec<u32> = (0..CAPACITY as u32 + 1).collect();
        let p = ptrs(&mut values);
        let (q, _) = new::<u32>();
        for &x in &p[..CAPACITY] {
            q.push(x).unwrap();
        }
        assert_eq!(q.push(p[CAPACITY]), Err(p[CAPACITY]));
        let mut out = Vec::new();
        assert_eq!(q.take_half(&mut out), CAPACITY / 2);
        assert_eq!(val(out[0]), 0);
        q.push(p[CAPACITY]).unwrap();
        assert_eq!(q.len(), CAPACITY / 2 + 1);
    }

    #[test]
    fn indices_wrap_around_many_times() {
        let mut values: Vec<u32> = (0..7).collect();
        let p = ptrs(&mut values);
        let (q, s) = new::<u32>();
        let (d, _) = new::<u32>();
        // 30 000 rounds wrap the 16-bit indices several times; Miri does a short run.
        let rounds = if cfg!(miri) { 50 } else { 30_000u32 };
        for round in 0..rounds {
            for &x in &p {
                q.push(x).unwrap();
            }
            let first = s.steal_half_into(&d).unwrap();
            assert_eq!(val(first), 0, "round {round}");
            assert_eq!(d.len(), 3);
            while d.pop_front().is_some() {}
            assert_eq!(val(q.pop_front().unwrap()), 4);
            assert_eq!(val(q.pop_back().unwrap()), 6);
            assert_eq!(val(q.pop_back().unwrap()), 5);
            assert!(q.pop_back().is_none());
        }
    }

    #[test]
    fn a_false_batch_predicate_steals_only_the_oldest() {
        let mut values: Vec<u32> = (0..8).collect();
        let p = ptrs(&mut values);
        let (victim, s) = new::<u32>();
        let (thief, _) = new::<u32>();
        for &x in &p {
            victim.push(x).unwrap();
        }
        let first = s.steal_into_with(&thief, |_| false).unwrap();
        assert_eq!(val(first), 0);
        assert!(thief.is_empty());
        assert_eq!(victim.len(), 7);
        let first = s.steal_into_with(&thief, |_| true).unwrap();
        assert_eq!(val(first), 1);
        assert_eq!(thief.len(), 3);
    }

    #[test]
    fn steal_respects_the_thiefs_free_space() {
        let mut values: Vec<u32> = (0..CAPACITY as u32).collect();
        let p = ptrs(&mut values);
        let (victim, s) = new::<u32>();
        let (thief, _) = new::<u32>();
        for &x in &p {
            victim.push(x).unwrap();
        }
        for &x in &p[..CAPACITY - 3] {
            thief.push(x).unwrap();
        }
        assert!(s.steal_half_into(&thief).is_some());
        assert_eq!(thief.len(), CAPACITY);
        assert_eq!(victim.len(), CAPACITY - 4);
        assert!(s.steal_half_into(&thief).is_some());
        assert_eq!(victim.len(), CAPACITY - 5);
    }

    #[test]
    fn concurrent_steals_and_pops_see_each_item_once() {
        use std::sync::atomic::AtomicUsize;
        let n: usize = if cfg!(miri) { 200 } else { 100_000 };
        let items: Vec<u32> = (0..n as u32).collect();
        let mut boxed: Vec<u32> = items.clone();
        let p = ptrs(&mut boxed);
        let seen: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
        let (q, s) = new::<u32>();
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            for _ in 0..2 {
                let s = s.clone();
                let seen = &seen;
                let done = &done;
                scope.spawn(move || {
                    let (mine, _) = new::<u32>();
                    loop {
                        let finished = done.load(Ordering::Acquire);
                        if let Some(first) = s.steal_half_into(&mine) {
                            seen[val(first) as usize].fetch_add(1, Ordering::Relaxed);
                            while let Some(x) = mine.pop_front() {
                                seen[val(x) as usize].fetch_add(1, Ordering::Relaxed);
                            }
                        } else if finished {
                            break;
                        }
                    }
                });
            }
            for (i, &x) in p.iter().enumerate() {
                while q.push(x).is_err() {
                    if let Some(y) = q.pop_back() {
                        seen[val(y) as usize].fetch_add(1, Ordering::Relaxed);
                    }
                }
                if i % 3 == 0 {
                    if let Some(y) = q.pop_back() {
                        seen[val(y) as usize].fetch_add(1, Ordering::Relaxed);
                    }
                }
                if i % 5 == 0 {
                    if let Some(y) = q.pop_front() {
                        seen[val(y) as usize].fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            done.store(true, Ordering::Release);
        });
        while let Some(y) = q.pop_back() {
            seen[val(y) as usize].fetch_add(1, Ordering::Relaxed);
        }
        for (i, c) in seen.iter().enumerate() {
            assert_eq!(c.load(Ordering::Relaxed), 1, "item {i}");
        }
    }
}
