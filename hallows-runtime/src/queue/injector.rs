//! The global injection queue: where work submitted from outside the workers (and local-queue
//! overflow, and tasks demoted for yielding too often) waits until some worker pulls it.
//!
//! It is a mutex-protected FIFO with an atomic length beside it, the design tokio's `Inject`
//! uses: workers consult it only every few dozen tasks or when their own queue is empty, so the
//! lock is cold, and the length lets the common "is there anything?" check run without taking
//! it. Pulls take a batch to amortise the lock.
//!
//! Like [`crate::queue::local`], it stores `NonNull<T>` without owning the pointees.
//!
//! ```
//! use hallows_runtime::queue::injector::Injector;
//! use std::ptr::NonNull;
//!
//! let mut a = 1_u8;
//! let injector = Injector::new();
//! injector.push(NonNull::from(&mut a));
//! assert_eq!(injector.len(), 1);
//! assert!(injector.pop().is_some());
//! assert!(injector.is_empty());
//! ```

use crate::padding::CachePadded;
use crate::queue::local::Local;
use crate::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use crate::sync::Mutex;
use core::fmt;
use core::ptr::NonNull;
use std::collections::VecDeque;

/// The most items one [`Injector::pop_batch_into`] takes (the runtime asks for at most
/// `INJECTOR_BATCH` = 32, a fair share of the queue): the size of its stack buffer.
pub const MAX_BATCH: usize = 32;

/// A multi-producer, multi-consumer FIFO of `NonNull<T>`.
pub struct Injector<T> {
    len: CachePadded<AtomicUsize>,
    items: Mutex<VecDeque<Ptr<T>>>,
    /// Set by [`Injector::close`]; read and written only while holding `items`' lock.
    closed: AtomicBool,
}

/// A raw pointer that may cross threads; the pointee's thread safety is the pusher's obligation.
struct Ptr<T>(NonNull<T>);

// SAFETY: see the module documentation: the queue only moves pointers; the code that pushes a
// pointer is responsible for the pointee being usable from the thread that pops it.
unsafe impl<T> Send for Ptr<T> {}

impl<T> fmt::Debug for Injector<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Injector")
            .field("len", &self.len())
            .finish()
    }
}

impl<T> Default for Injector<T> {
    fn default() -> Self {
        Injector::new()
    }
}

impl<T> Injector<T> {
    /// An empty injector.
    pub fn new() -> Injector<T> {
        Injector {
            len: CachePadded::new(AtomicUsize::new(0)),
            items: Mutex::new(VecDeque::new()),
            closed: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> crate::sync::MutexGuard<'_, VecDeque<Ptr<T>>> {
        // A panic while holding this lock can only come from an allocation failure inside
        // `VecDeque`; the deque is still structurally valid then, so poisoning is ignored.
        self.items.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A snapshot of the number of queued items.
    pub fn len(&self) -> usize {
        // ORDERING: Acquire: a hint. Whoever acts on a non-zero length takes the lock, which
        // orders the items themselves; a sleeper's re-check is preceded by a SeqCst fence.
        self.len.load(Ordering::Acquire)
    }

    /// True when nothing is queued (a snapshot).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends one item.
    pub fn push(&self, item: NonNull<T>) {
        let mut items = self.lock();
        items.push_back(Ptr(item));
        // ORDERING: SeqCst: readers that act on the length take the lock, which orders the
        // items themselves; SeqCst puts this publication in the park protocol's total order
        // (the producer then SeqCst-loads the sleeper count; scheduler/README.md, "Parking").
        self.len.store(items.len(), Ordering::SeqCst);
    }

    /// Appends one item unless the injector has been [closed](Injector::close); then hands it
    /// back. The lock orders the two: an item accepted here is one a drain after `close` sees.
    pub fn push_unless_closed(&self, item: NonNull<T>) -> Result<(), NonNull<T>> {
        let mut items = self.lock();
        // ORDERING: Relaxed: written and read only under the lock, which orders it.
        if self.closed.load(Ordering::Relaxed) {
            return Err(item);
        }
        items.push_back(Ptr(item));
        // ORDERING: SeqCst, as in `push`.
        self.len.store(items.len(), Ordering::SeqCst);
        Ok(())
    }

    /// Makes every later [`Injector::push_unless_closed`] fail (plain pushes still succeed).
    pub fn close(&self) {
        let _items = self.lock();
        // ORDERING: Relaxed: under the lock (see `push_unless_closed`).
        self.closed.store(true, Ordering::Relaxed);
    }

    /// Appends every item of `batch`, in order.
    pub fn push_batch(&self, batch: impl IntoIterator<Item = NonNull<T>>) {
        let mut items = self.lock();
        items.extend(batch.into_iter().map(Ptr));
        // ORDERING: SeqCst, as in `push`.
        self.len.store(items.len(), Ordering::SeqCst);
    }

    /// Removes the oldest item.
    pub fn pop(&self) -> Option<NonNull<T>> {
        if self.is_empty() {
            return None;
        }
        let mut items = self.lock();
        let item = items.pop_front();
        // ORDERING: Relaxed: removals never need to be seen by a sleeper.
        self.len.store(items.len(), Ordering::Relaxed);
        item.map(|p| p.0)
    }

    /// Removes up to `max` items (at least one if any is queued), but no more than
    /// [`MAX_BATCH`]: returns the oldest and pushes the others into `dest`, bounded by its free
    /// space.
    ///
    /// The batch is gathered in a buffer on the stack, so nothing is allocated while the lock
    /// is held (session 9: the earlier `Vec` cost a `malloc` per pull inside the critical
    /// section that outside producers wait on; scheduler README, "Measured").
    pub fn pop_batch_into(&self, dest: &Local<T>, max: usize) -> Option<NonNull<T>> {
        if self.is_empty() {
            return None;
        }
        let mut items = self.lock();
        let first = items.pop_front()?.0;
        let n = max
            .min(MAX_BATCH)
            .saturating_sub(1)
            .min(dest.remaining())
            .min(items.len());
        let mut batch = [first; MAX_BATCH];
        for (slot, p) in batch.iter_mut().zip(items.drain(..n)) {
            *slot = p.0;
        }
        // ORDERING: Relaxed: removals never need to be seen by a sleeper.
        self.len.store(items.len(), Ordering::Relaxed);
        drop(items);
        dest.push_batch(&batch[..n]);
        Some(first)
    }

    /// Removes everything (used at shutdown).
    pub fn drain(&self) -> Vec<NonNull<T>> {
        let mut items = self.lock();
        let all = items.drain(..).map(|p| p.0).collect();
        // ORDERING: Relaxed: removals never need to be seen by a sleeper.
        self.len.store(0, Ordering::Relaxed);
        all
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::queue::local;

    #[test]
    fn batches_keep_fifo_order_and_respect_max() {
        let mut values: Vec<u32> = (0..10).collect();
        let inj = Injector::new();
        inj.push_batch(values.iter_mut().map(NonNull::from));
        let (dest, _) = local::new::<u32>();
        let first = inj.pop_batch_into(&dest, 4).unwrap();
        // SAFETY: points into `values`, alive for the whole test.
        assert_eq!(unsafe { *first.as_ref() }, 0);
        assert_eq!(dest.len(), 3);
        assert_eq!(inj.len(), 6);
        // SAFETY: as above.
        assert_eq!(unsafe { *dest.pop_front().unwrap().as_ref() }, 1);
        assert_eq!(inj.drain().len(), 6);
        assert!(inj.pop().is_none());
    }

    #[test]
    fn a_batch_is_bounded_by_max_batch_and_the_destination_space() {
        let mut values: Vec<u32> = (0..(3 * MAX_BATCH) as u32).collect();
        let inj = Injector::new();
        inj.push_batch(values.iter_mut().map(NonNull::from));
        let (dest, _) = local::new::<u32>();
        // Asking for more than MAX_BATCH takes MAX_BATCH: the first plus MAX_BATCH - 1 queued.
        let first = inj.pop_batch_into(&dest, 4 * MAX_BATCH).unwrap();
        // SAFETY: points into `values`, alive for the whole test.
        assert_eq!(unsafe { *first.as_ref() }, 0);
        assert_eq!(dest.len(), MAX_BATCH - 1);
        assert_eq!(inj.len(), 2 * MAX_BATCH);
        // In FIFO order, right after the first.
        for expected in 1..MAX_BATCH as u32 {
            // SAFETY: as above.
            assert_eq!(unsafe { *dest.pop_front().unwrap().as_ref() }, expected);
        }
        // A destination with room for 3 gets 3 besides the returned item.
        let mut filler: Vec<u32> = vec![0; local::CAPACITY - 3];
        dest.push_batch(&filler.iter_mut().map(NonNull::from).collect::<Vec<_>>());
        let next = inj.pop_batch_into(&dest, MAX_BATCH).unwrap();
        // SAFETY: as above.
        assert_eq!(unsafe { *next.as_ref() }, MAX_BATCH as u32);
        assert_eq!(dest.remaining(), 0);
        assert_eq!(inj.len(), 2 * MAX_BATCH - 4);
        // `max` of 1 takes only the returned item.
        while dest.pop_front().is_some() {}
        assert!(inj.pop_batch_into(&dest, 1).is_some());
        assert!(dest.is_empty());
        assert_eq!(inj.len(), 2 * MAX_BATCH - 5);
    }
}
