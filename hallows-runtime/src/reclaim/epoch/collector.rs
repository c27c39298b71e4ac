//! The collector (global epoch, participant records, orphaned garbage), per-thread handles and
//! pin guards. The protocol is described in the parent module.

use core::alloc::Layout;
use core::cell::{Cell, RefCell};
use core::fmt;
use core::marker::PhantomData;
use core::ptr;

use super::atomic::{drop_value_in_place, node_layout, Atomic, Node, Owned, Shared};
use crate::padding::CachePadded;
use crate::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use crate::sync::{Arc, Mutex};

/// Local garbage below this size is never scanned (amortises the participant walk).
/// Tiny under loom so the models reach scans and epoch advances in a few steps.
pub const SCAN_THRESHOLD_MIN: usize = if cfg!(loom) { 2 } else { 64 };

/// Most reclaimed blocks a handle of a recycling collector keeps for reuse (more are returned
/// to the allocator): two scans' worth at the usual threshold, so a writer that retires and
/// allocates at the same rate never reaches the allocator, while an idle handle holds at most
/// this many blocks.
pub const POOL_CAPACITY: usize = if cfg!(loom) {
    2
} else {
    8 * SCAN_THRESHOLD_MIN
};
/// Most blocks the collector keeps from the pools of dropped handles, for the next handles to
/// start with (a thread that registers per batch of work then starts warm).
const SPARE_CAPACITY: usize = 4 * POOL_CAPACITY;

/// `lower` value of a participant that is not pinned.
const UNPINNED: u64 = u64::MAX;
/// `pin_seq` of garbage adopted from another handle: the own reservation applies to it.
const FOREIGN_PIN: u64 = u64::MAX;
/// `retire` of an object no scan has stamped yet (step R1 in the module docs).
const UNSTAMPED: u64 = u64::MAX;

/// One handle's reservation, in the collector's append-only participant list.
struct Participant {
    res: CachePadded<Reservation>,
    in_use: AtomicBool,
    next: *mut Participant,
}

/// A participant's published interval. Both bounds share one padded line: a pin writes both,
/// and a scan reads both, so keeping them together makes each pin (after another handle's
/// scan read the line) take one line back instead of two, and each scan read one line per
/// participant instead of two.
struct Reservation {
    lower: AtomicU64,
    upper: AtomicU64,
}

/// A retired object with its lifetime interval.
pub(super) struct Retired {
    ptr: *mut (),
    destroy: unsafe fn(*mut ()),
    birth: u64,
    retire: u64,
    /// The retiring handle's pin number at retirement, or [`FOREIGN_PIN`] for adopted garbage.
    /// The handle's own reservation can only hold objects retired during its current pin:
    /// anything it retired earlier was unlinked before that pin began.
    pin_seq: u64,
    /// `destroy` only drops the value; the block (of the collector's pool layout) is kept for
    /// reuse or deallocated by [`Global::reclaim`].
    recyclable: bool,
}

// SAFETY: a `Retired` is only created from `Node<T>` with `T: Send` (see `Guard::retire`).
unsafe impl Send for Retired {}

impl Retired {
    /// Destroys the object.
    ///
    /// # Safety
    ///
    /// No reader can still access it, and it is destroyed only once.
    unsafe fn destroy(self) {
        // SAFETY: guaranteed by the caller; `destroy` matches the erased type.
        unsafe { (self.destroy)(self.ptr) }
    }
}

/// Drops the `Box<Node<T>>` behind `ptr`.
///
/// # Safety
///
/// `ptr` came from `Box::<Node<T>>::into_raw` and is destroyed exactly once.
unsafe fn destroy_node<T>(ptr: *mut ()) {
    // SAFETY: guaranteed by the caller.
    drop(unsafe { Box::from_raw(ptr.cast::<Node<T>>()) });
}

pub(super) struct Global {
    pub(super) epoch: CachePadded<AtomicU64>,
    /// Layout of the nodes this collector recycles (see [`Collector::recycling`]), if any.
    pool_layout: Option<Layout>,
    /// Recycled blocks left by dropped handles, taken by the next registrations.
    spare: Mutex<Vec<*mut u8>>,
    participants: AtomicPtr<Participant>,
    participant_count: AtomicUsize,
    /// Whether `orphans` may be non-empty: a hint read (Relaxed) by every scan so that scans
    /// lock the orphan mutex only when there is something to adopt. It is written only under
    /// the mutex, so the mutex line is not written by every scan and this field shares the
    /// read-mostly line of the fields above.
    has_orphans: AtomicBool,
    /// Garbage left behind by dropped handles, adopted by the next scan.
    orphans: Mutex<Vec<Retired>>,
    /// Retired, not yet destroyed, over all handles (statistics and tests). On its own line:
    /// every scan updates it, and the fields above are read on every allocation and retire.
    pending: CachePadded<AtomicUsize>,
}

// SAFETY: participants are owned by the collector and only mutated through atomics; orphaned
// garbage holds `Send` objects behind a mutex, and spare blocks are bare memory (no value)
// behind a mutex.
unsafe impl Send for Global {}
// SAFETY: as above.
unsafe impl Sync for Global {}

impl Drop for Global {
    fn drop(&mut self) {
        let orphans = core::mem::take(
            &mut *self
                .orphans
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for r in orphans {
            // SAFETY: the last handle is gone (each holds an `Arc<Global>`), so no reader is
            // pinned; each orphan is destroyed once.
            unsafe { self.reclaim(r, None) };
        }
        let spare = core::mem::take(
            &mut *self
                .spare
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for block in spare {
            // SAFETY: spare blocks hold no value and are referenced only by this list.
            unsafe { self.dealloc_block(block) };
        }
        let mut cur = self.participants.load(Ordering::Relaxed);
        while !cur.is_null() {
            // SAFETY: participants are allocated by `register` and freed only here.
            let p = unsafe { Box::from_raw(cur) };
            cur = p.next;
        }
    }
}

impl Global {
    /// Destroys a retired object whose grace period is over; a recyclable node's block goes to
    /// `pool` if it has room, otherwise back to the allocator.
    ///
    /// # Safety
    ///
    /// As [`Retired::destroy`]: no reader can still access the object, destroyed once.
    unsafe fn reclaim(&self, r: Retired, pool: Option<&mut Vec<*mut u8>>) {
        let (block, recyclable) = (r.ptr.cast::<u8>(), r.recyclable);
        // SAFETY: guaranteed by the caller.
        unsafe { r.destroy() };
        if recyclable {
            match pool {
                Some(pool) if pool.len() < POOL_CAPACITY => pool.push(block),
                // SAFETY: the value was dropped just now; nothing references the block.
                _ => unsafe { self.dealloc_block(block) },
            }
        }
    }

    /// Returns a pool block to the allocator.
    ///
    /// # Safety
    ///
    /// `block` holds no value, came from a recyclable node, and nothing references it.
    unsafe fn dealloc_block(&self, block: *mut u8) {
        let layout = self
            .pool_layout
            .expect("only a recycling collector has pool blocks");
        // SAFETY: recyclable nodes were allocated by `Box<Node<T>>` with `node_layout::<T>()`,
        // which equals `pool_layout` (checked in `retire_node`).
        unsafe { std::alloc::dealloc(block, layout) };
    }
}

/// An epoch collector: the domain that handles register with and objects are retired into.
///
/// Cloning gives another reference to the same collector.
#[derive(Clone)]
pub struct Collector {
    global: Arc<Global>,
}

impl Default for Collector {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Collector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Collector")
            .field("epoch", &self.epoch())
            .field("pending", &self.pending())
            .finish()
    }
}

impl Collector {
    /// Creates a collector at epoch 0 with no handles.
    pub fn new() -> Self {
        Self::with_pool_layout(None)
    }

    /// Creates a collector that recycles the memory of retired `T`s: once no reservation
    /// overlaps a retired `T`, its value is dropped and its block is kept in the reclaiming
    /// handle's pool (up to [`POOL_CAPACITY`]), where [`LocalHandle::alloc`] takes it for the
    /// next `T` instead of calling the allocator (module docs, "Recycling").
    pub fn recycling<T>() -> Self {
        Self::with_pool_layout(Some(node_layout::<T>()))
    }

    fn with_pool_layout(pool_layout: Option<Layout>) -> Self {
        Self {
            global: Arc::new(Global {
                epoch: CachePadded::new(AtomicU64::new(0)),
                pool_layout,
                spare: Mutex::new(Vec::new()),
                participants: AtomicPtr::new(ptr::null_mut()),
                participant_count: AtomicUsize::new(0),
                has_orphans: AtomicBool::new(false),
                orphans: Mutex::new(Vec::new()),
                pending: CachePadded::new(AtomicUsize::new(0)),
            }),
        }
    }

    /// The current global epoch.
    pub fn epoch(&self) -> u64 {
        self.global.epoch.load(Ordering::Relaxed)
    }

    /// Objects retired into this collector and not yet destroyed, as of each handle's last
    /// scan (a handle's retires since its last scan, at most its scan threshold, are counted
    /// at its next scan). Exact when every handle has just scanned, e.g. after
    /// [`LocalHandle::flush`].
    pub fn pending(&self) -> usize {
        self.global.pending.load(Ordering::Relaxed)
    }

    /// Registers a participant; the handle pins and retires for one thread at a time.
    pub fn register(&self) -> LocalHandle {
        let global = &*self.global;
        // ORDERING: Acquire pairs with the Release CAS publishing each participant.
        let mut cur = global.participants.load(Ordering::Acquire);
        while !cur.is_null() {
            // SAFETY: participants live as long as `Global`.
            let p = unsafe { &*cur };
            // ORDERING: Acquire pairs with the Release store in `LocalHandle::drop`.
            if !p.in_use.load(Ordering::Relaxed)
                && p.in_use
                    .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            {
                return LocalHandle::new(Arc::clone(&self.global), cur);
            }
            cur = p.next;
        }
        let fresh = Box::into_raw(Box::new(Participant {
            res: CachePadded::new(Reservation {
                lower: AtomicU64::new(UNPINNED),
                upper: AtomicU64::new(0),
            }),
            in_use: AtomicBool::new(true),
            next: ptr::null_mut(),
        }));
        let mut head = global.participants.load(Ordering::Relaxed);
        loop {
            // SAFETY: `fresh` is ours until published.
            unsafe { (*fresh).next = head };
            // ORDERING: Release publishes the participant's initialisation to the Acquire loads
            // in `register` and `scan`.
            match global.participants.compare_exchange_weak(
                head,
                fresh,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(h) => head = h,
            }
        }
        global.participant_count.fetch_add(1, Ordering::Relaxed);
        LocalHandle::new(Arc::clone(&self.global), fresh)
    }
}

/// Stores `value` (Release) and then acts as `fence(SeqCst)`.
///
/// On x86_64 a `lock xchg` is a full hardware barrier and costs less than `store; mfence`, so
/// the store is a SeqCst swap there (the same substitution crossbeam-epoch makes for its pin
/// fence). Loom and Miri check the language-level model, so they, and other targets, get the
/// portable store + `fence(SeqCst)`.
#[inline]
fn store_then_full_fence(slot: &AtomicU64, value: u64) {
    #[cfg(all(target_arch = "x86_64", not(loom), not(miri)))]
    {
        // ORDERING: see the function docs; callers name the pairing.
        slot.swap(value, Ordering::SeqCst);
    }
    #[cfg(not(all(target_arch = "x86_64", not(loom), not(miri))))]
    {
        slot.store(value, Ordering::Release);
        // ORDERING: see the function docs; callers name the pairing.
        fence(Ordering::SeqCst);
    }
}

/// A thread's registration with a [`Collector`]: pins, and holds that thread's garbage.
///
/// `Send` but not `Sync`: move it to a thread, don't share it.
pub struct LocalHandle {
    global: Arc<Global>,
    participant: *const Participant,
    pin_depth: Cell<usize>,
    /// Number of outermost pins (and repins) so far.
    pin_seq: Cell<u64>,
    /// The `upper` this handle last published (valid while pinned).
    upper: Cell<u64>,
    garbage: RefCell<Vec<Retired>>,
    /// The scan's snapshot of reservations `(lower, upper, own)`, kept between scans so a scan
    /// allocates nothing once the buffers have grown.
    reservations: RefCell<Vec<(u64, u64, bool)>>,
    /// Reclaimed blocks of the collector's pool layout, for [`LocalHandle::alloc`].
    pool: RefCell<Vec<*mut u8>>,
    scan_threshold: Cell<usize>,
    /// Retired since the last scan, not yet counted in `Global::pending`.
    retired_since_scan: Cell<usize>,
}

// SAFETY: the handle's non-atomic state is only touched through `&self` by the thread that
// holds it (it is `!Sync`); its garbage holds `Send` objects.
unsafe impl Send for LocalHandle {}

impl fmt::Debug for LocalHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalHandle")
            .field("pinned", &(self.pin_depth.get() > 0))
            .field("garbage", &self.garbage.borrow().len())
            .field("scan_threshold", &self.scan_threshold.get())
            .finish()
    }
}

impl LocalHandle {
    fn new(global: Arc<Global>, participant: *const Participant) -> Self {
        let pool = if global.pool_layout.is_some() {
            let mut spare = global
                .spare
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let keep = spare.len().saturating_sub(POOL_CAPACITY);
            spare.split_off(keep)
        } else {
            Vec::new()
        };
        Self {
            pool: RefCell::new(pool),
            global,
            participant,
            pin_depth: Cell::new(0),
            pin_seq: Cell::new(0),
            upper: Cell::new(0),
            garbage: RefCell::new(Vec::new()),
            reservations: RefCell::new(Vec::new()),
            scan_threshold: Cell::new(SCAN_THRESHOLD_MIN),
            retired_since_scan: Cell::new(0),
        }
    }

    fn participant(&self) -> &Participant {
        // SAFETY: the participant lives as long as `Global`, which `self.global` keeps alive.
        unsafe { &*self.participant }
    }

    /// Pins the handle: pointers loaded through the returned guard stay valid until it drops.
    /// Pins nest; only the outermost one publishes a reservation.
    #[inline]
    pub fn pin(&self) -> Guard<'_> {
        let depth = self.pin_depth.get();
        self.pin_depth.set(depth + 1);
        if depth == 0 {
            self.reserve();
        }
        Guard {
            handle: self,
            _not_send: PhantomData,
        }
    }

    /// Publishes a fresh reservation `[e, e]` for the current epoch `e` (pin steps 1-2).
    #[inline]
    fn reserve(&self) {
        self.pin_seq.set(self.pin_seq.get() + 1);
        let e = self.global.epoch.load(Ordering::Relaxed);
        let p = self.participant();
        p.res.upper.store(e, Ordering::Relaxed);
        // ORDERING: Release pairs with the scan's Acquire load of `lower`, so a scan that sees a
        // later reservation also sees everything this thread did before (see unpin); the fence
        // pairs with the retire fence (module docs, "Why it is safe").
        store_then_full_fence(&p.res.lower, e);
        self.upper.set(e);
    }

    /// Makes the reservation cover epoch `e` (protected load step 3).
    #[cold]
    fn extend_upper_cold(&self, e: u64) {
        // ORDERING: store + SeqCst fence pairing with the retire fence, as in `reserve`.
        store_then_full_fence(&self.participant().res.upper, e);
        self.upper.set(e);
    }

    #[inline]
    fn unpin(&self) {
        let depth = self.pin_depth.get() - 1;
        self.pin_depth.set(depth);
        if depth == 0 {
            // ORDERING: Release pairs with the scan's Acquire load of `lower`: every access made
            // under this pin happens before a destruction decided by that scan.
            self.participant()
                .res
                .lower
                .store(UNPINNED, Ordering::Release);
        }
    }

    /// Returns `true` while a guard of this handle is alive.
    pub fn is_pinned(&self) -> bool {
        self.pin_depth.get() > 0
    }

    /// Objects this handle retired that are not destroyed yet.
    pub fn garbage_len(&self) -> usize {
        self.garbage.borrow().len()
    }

    /// Reclaimed blocks this handle holds for reuse by [`alloc`](Self::alloc).
    pub fn pool_len(&self) -> usize {
        self.pool.borrow().len()
    }

    /// Allocates `value` for publication: in a block from this handle's pool if the collector
    /// recycles `T` ([`Collector::recycling`]) and the pool has one, else from the allocator.
    #[inline]
    pub fn alloc<T>(&self, value: T) -> Owned<T> {
        if self.global.pool_layout == Some(node_layout::<T>()) {
            if let Some(block) = self.pool.borrow_mut().pop() {
                // SAFETY: pool blocks have `pool_layout`, equal to `T`'s node layout, hold no
                // value (reclaim dropped it) and are owned by this handle alone.
                return unsafe { Owned::from_block(block, value) };
            }
        }
        Owned::new(value)
    }

    /// Current adaptive scan threshold (local garbage size that triggers a scan).
    pub fn scan_threshold(&self) -> usize {
        self.scan_threshold.get()
    }

    pub(super) fn retire_node<T: Send>(&self, node: *mut Node<T>) {
        // SAFETY: `node` is a live node (the caller's contract); reading its birth is a plain
        // read of an immutable field.
        let birth = unsafe { (*node).birth };
        let recyclable = self.global.pool_layout == Some(node_layout::<T>());
        let mut garbage = self.garbage.borrow_mut();
        garbage.push(Retired {
            ptr: node.cast(),
            destroy: if recyclable {
                drop_value_in_place::<T>
            } else {
                destroy_node::<T>
            },
            birth,
            retire: UNSTAMPED,
            pin_seq: self.pin_seq.get(),
            recyclable,
        });
        let len = garbage.len();
        drop(garbage);
        self.retired_since_scan
            .set(self.retired_since_scan.get() + 1);

        if len >= self.scan_threshold.get() {
            self.scan();
        }
    }

    /// Destroys every garbage object of this handle (and adopted orphans) that no reservation
    /// overlaps, then adapts the scan threshold and, if a current pin held something back,
    /// advances the epoch.
    pub fn flush(&self) {
        self.scan();
    }

    fn scan(&self) {
        let global = &*self.global;
        // Taken out (not borrowed) while objects are destroyed: a destructor may retire into
        // this handle again; such retires land in the emptied list and are merged back below.
        let mut garbage = core::mem::take(&mut *self.garbage.borrow_mut());
        // ORDERING: Relaxed: the flag is only a hint; the orphans themselves (and the unlinks
        // before they were retired) are ordered by the mutex. A stale `false` leaves them to a
        // later scan or to `Global::drop`, which takes them regardless of the flag.
        if global.has_orphans.load(Ordering::Relaxed) {
            if let Ok(mut orphans) = global.orphans.try_lock() {
                garbage.extend(orphans.drain(..).map(|r| Retired {
                    pin_seq: FOREIGN_PIN,
                    ..r
                }));
                // ORDERING: Relaxed, written under the mutex (as in `LocalHandle::drop`), so
                // the flag and the list agree whenever the mutex is held.
                global.has_orphans.store(false, Ordering::Relaxed);
            }
        }
        if garbage.is_empty() {
            self.put_back_garbage(garbage);
            return;
        }
        // ORDERING: SeqCst fence pairs with the reservation fences (scan step 1).
        fence(Ordering::SeqCst);
        let mut reservations = core::mem::take(&mut *self.reservations.borrow_mut());
        reservations.clear();
        // ORDERING: Acquire pairs with the participant-publishing Release CAS.
        let mut cur = global.participants.load(Ordering::Acquire);
        while !cur.is_null() {
            // SAFETY: participants live as long as `Global`.
            let p = unsafe { &*cur };
            // ORDERING: Acquire pairs with the Release stores of `lower` in pin and unpin.
            let lower = p.res.lower.load(Ordering::Acquire);
            if lower != UNPINNED {
                // Read after `lower`: `upper` only grows, so a later value is conservative.
                let own = ptr::eq(cur, self.participant);
                reservations.push((lower, p.res.upper.load(Ordering::Relaxed), own));
            }
            cur = p.next;
        }
        let before = garbage.len();
        let now = global.epoch.load(Ordering::Relaxed);
        // An object held back by another handle whose interval reaches the current epoch: only
        // advancing the epoch lets that handle's next pin (or next births) stop covering it.
        let mut held_by_current_pin = false;
        let current_pin = self.pin_seq.get();
        let mut pool = self.pool.borrow_mut();
        // In place: kept objects stay in `garbage[..i]`, freed ones are swapped out of the
        // list (its order carries no meaning), so a scan moves only what it frees.
        let mut i = 0;
        while i < garbage.len() {
            let r = &mut garbage[i];
            // Step R1: read after this scan's SeqCst fence, which follows the unlink (program
            // order, or the orphan mutex for adopted garbage); a later epoch than the unlink's
            // is conservative.
            if r.retire == UNSTAMPED {
                r.retire = now;
            }
            let overlaps = |&&(lower, upper, own): &&(u64, u64, bool)| {
                lower <= r.retire
                    && r.birth <= upper
                    && (!own || r.pin_seq == current_pin || r.pin_seq == FOREIGN_PIN)
            };
            if reservations.iter().any(|res| overlaps(&res)) {
                if !held_by_current_pin {
                    held_by_current_pin = reservations
                        .iter()
                        .filter(|res| !res.2 && res.1 >= now)
                        .any(|res| overlaps(&res));
                }
                i += 1;
            } else {
                let r = garbage.swap_remove(i);
                // SAFETY: no reservation overlaps `[birth, retire]`, so no reader holds the
                // object or can load it again (module docs); it leaves the list here, once.
                unsafe { global.reclaim(r, Some(&mut pool)) };
            }
        }
        drop(pool);
        *self.reservations.borrow_mut() = reservations;
        let freed = before - garbage.len();
        // One shared update per scan, not per retire (the counter would otherwise bounce
        // between the cores of every retiring thread).
        let added = self.retired_since_scan.replace(0);
        if added >= freed {
            global.pending.fetch_add(added - freed, Ordering::Relaxed);
        } else {
            global.pending.fetch_sub(freed - added, Ordering::Relaxed);
        }

        // Adaptive policy (module docs, "Adaptive advancement"). Objects held back only by
        // this handle's own pin are freed by its next scan; they say nothing about readers.
        let held = garbage.len();
        self.scan_threshold
            .set(SCAN_THRESHOLD_MIN.max(held.saturating_mul(2)));
        if held_by_current_pin {
            // Relaxed: advancing carries no data; safety comes from the fences (module docs).
            // A CAS, not fetch_add: if another handle already advanced, that suffices.
            let _ =
                global
                    .epoch
                    .compare_exchange(now, now + 1, Ordering::Relaxed, Ordering::Relaxed);
        }
        self.put_back_garbage(garbage);
    }

    /// Reinstalls the scanned list (keeping its capacity), with anything retired meanwhile.
    fn put_back_garbage(&self, mut garbage: Vec<Retired>) {
        let mut mine = self.garbage.borrow_mut();
        garbage.append(&mut mine);
        *mine = garbage;
    }
}

impl Drop for LocalHandle {
    fn drop(&mut self) {
        // A guard borrows the handle, so no pin is active here.
        self.scan();
        let leftover = core::mem::take(self.garbage.get_mut());
        if !leftover.is_empty() {
            let mut orphans = self
                .global
                .orphans
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            orphans.extend(leftover);
            // ORDERING: Relaxed, under the mutex (see `scan`): the flag is a hint; the mutex
            // hands the orphans (and this handle's unlinks) to the scan that adopts them.
            self.global.has_orphans.store(true, Ordering::Relaxed);
        }
        let pool = core::mem::take(self.pool.get_mut());
        if !pool.is_empty() {
            let mut spare = self
                .global
                .spare
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for block in pool {
                if spare.len() < SPARE_CAPACITY {
                    spare.push(block);
                } else {
                    // SAFETY: pool blocks hold no value and are referenced only by this pool.
                    unsafe { self.global.dealloc_block(block) };
                }
            }
        }
        // ORDERING: Release pairs with the Acquire CAS in `Collector::register`.
        self.participant().in_use.store(false, Ordering::Release);
    }
}

/// Proof that a [`LocalHandle`] is pinned; pointers loaded through it live as long as it does.
pub struct Guard<'h> {
    handle: &'h LocalHandle,
    _not_send: PhantomData<*const ()>,
}

impl fmt::Debug for Guard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard")
            .field("upper", &self.handle.upper.get())
            .finish()
    }
}

impl<'h> Guard<'h> {
    /// Loads `src` under this guard's reservation (same as [`Atomic::load`]).
    pub fn protect<'g, T>(&'g self, src: &Atomic<T>) -> Shared<'g, T> {
        src.load(self)
    }

    /// Protected-load steps 1-3 on a raw node pointer source.
    pub(super) fn protect_raw<T>(&self, src: &AtomicPtr<Node<T>>) -> *mut Node<T> {
        let handle = self.handle;
        loop {
            // ORDERING: Acquire pairs with the Release store/CAS that published the node.
            let p = src.load(Ordering::Acquire);
            let e = handle.global.epoch.load(Ordering::Relaxed);
            if e == handle.upper.get() {
                return p;
            }
            handle.extend_upper_cold(e);
        }
    }

    /// The epoch read for births (see [`Owned::into_shared`](super::Owned::into_shared)).
    pub(super) fn current_epoch(&self) -> u64 {
        self.handle.global.epoch.load(Ordering::Relaxed)
    }

    /// Retires the object behind `ptr`: it is destroyed once no reservation overlaps its
    /// lifetime. Null pointers are ignored.
    ///
    /// # Safety
    ///
    /// 1. `ptr` is unlinked: no [`Atomic`] a reader may load from still holds it.
    /// 2. It is retired once, and not otherwise freed (e.g. by `into_owned`).
    /// 3. Dropping `T` on another thread at any later time (until the collector's last handle
    ///    drops) is sound.
    pub unsafe fn retire<T: Send>(&self, ptr: Shared<'_, T>) {
        if !ptr.is_null() {
            self.handle.retire_node(ptr.as_node_ptr());
        }
    }

    /// Ends the current reservation and starts a fresh one at the current epoch, so objects
    /// retired so far are no longer held back by this reader. Pointers loaded before are
    /// invalidated (the `&mut` borrow enforces it).
    ///
    /// Only the outermost guard can repin; nested guards leave the reservation alone.
    pub fn repin(&mut self) {
        if self.handle.pin_depth.get() == 1 {
            // ORDERING: Release as in unpin: accesses of the old reservation happen before a
            // scan that sees the new one.
            self.handle
                .participant()
                .res
                .lower
                .store(UNPINNED, Ordering::Release);
            self.handle.reserve();
        }
    }

    /// Runs a scan of this handle's garbage now.
    pub fn flush(&self) {
        self.handle.scan();
    }

    /// The handle this guard pins.
    pub fn handle(&self) -> &'h LocalHandle {
        self.handle
    }
}

impl Drop for Guard<'_> {
    #[inline]
    fn drop(&mut self) {
        self.handle.unpin();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::super::{Atomic, Owned};
    use super::*;
    use std::sync::atomic::AtomicUsize as StdAtomicUsize;
    use std::sync::Arc as StdArc;

    struct Counted(StdArc<StdAtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    fn churn(
        handle: &LocalHandle,
        slot: &Atomic<Counted>,
        drops: &StdArc<StdAtomicUsize>,
        n: usize,
    ) {
        for _ in 0..n {
            let guard = handle.pin();
            let new = Owned::new(Counted(drops.clone())).into_shared(&guard);
            let old = slot.swap(new, Ordering::AcqRel, &guard);
            // SAFETY: unlinked by the swap, retired once.
            unsafe { guard.retire(old) };
        }
    }

    #[test]
    fn unpinned_garbage_is_reclaimed_by_scans() {
        let drops = StdArc::new(StdAtomicUsize::new(0));
        let collector = Collector::new();
        let handle = collector.register();
        let slot = Atomic::null();
        let n = if cfg!(miri) { 200 } else { 1000 };
        churn(&handle, &slot, &drops, n);
        assert!(handle.garbage_len() < SCAN_THRESHOLD_MIN, "{handle:?}");
        handle.flush();
        assert_eq!(handle.garbage_len(), 0);
        assert_eq!(drops.load(std::sync::atomic::Ordering::Relaxed), n - 1);
        // SAFETY: nothing else references the slot.
        drop(unsafe { slot.into_owned() });
    }

    #[test]
    fn object_loaded_by_a_pinned_reader_is_kept_until_unpin() {
        let first = StdArc::new(StdAtomicUsize::new(0));
        let drops = StdArc::new(StdAtomicUsize::new(0));
        let collector = Collector::new();
        let writer = collector.register();
        let reader = collector.register();
        let slot = Atomic::new(Counted(first.clone()));
        let rguard = reader.pin();
        let seen = slot.load(&rguard);
        let n = if cfg!(miri) { 100 } else { 500 };
        churn(&writer, &slot, &drops, n);
        writer.flush();
        // The reader's interval is [0, 0]: it holds back only the objects born in epoch 0 (the
        // first one and those published before the writer's first scan advanced the epoch).
        assert_eq!(first.load(std::sync::atomic::Ordering::Relaxed), 0);
        assert_eq!(
            drops.load(std::sync::atomic::Ordering::Relaxed),
            n - 1 - SCAN_THRESHOLD_MIN
        );
        // SAFETY: protected by `rguard`.
        assert!(unsafe { seen.as_ref() }.is_some());
        drop(rguard);
        writer.flush();
        assert_eq!(first.load(std::sync::atomic::Ordering::Relaxed), 1);
        assert_eq!(drops.load(std::sync::atomic::Ordering::Relaxed), n - 1);
        assert_eq!(collector.pending(), 0);
        // SAFETY: nothing else references the slot.
        drop(unsafe { slot.into_owned() });
    }

    #[test]
    fn orphaned_garbage_is_destroyed_with_the_collector() {
        let drops = StdArc::new(StdAtomicUsize::new(0));
        let collector = Collector::new();
        let reader = collector.register();
        let writer = collector.register();
        let slot = Atomic::new(Counted(drops.clone()));
        let rguard = reader.pin();
        let _held = slot.load(&rguard);
        churn(&writer, &slot, &drops, 10);
        drop(writer);
        drop(rguard);
        drop(reader);
        // SAFETY: nothing else references the slot.
        drop(unsafe { slot.into_owned() });
        drop(collector);
        assert_eq!(drops.load(std::sync::atomic::Ordering::Relaxed), 11);
    }

    #[test]
    fn recycling_reuses_reclaimed_blocks_and_drops_every_value_once() {
        let drops = StdArc::new(StdAtomicUsize::new(0));
        let collector = Collector::recycling::<Counted>();
        let handle = collector.register();
        let slot = Atomic::null();
        let churn_alloc = |n: usize| {
            for _ in 0..n {
                let guard = handle.pin();
                let new = handle.alloc(Counted(drops.clone())).into_shared(&guard);
                let old = slot.swap(new, Ordering::AcqRel, &guard);
                // SAFETY: unlinked by the swap, retired once.
                unsafe { guard.retire(old) };
            }
        };
        // The first allocation retires nothing (the slot was empty); the next ones retire one
        // each, and the `SCAN_THRESHOLD_MIN`-th retire scans, keeping only the object retired
        // under the current pin.
        churn_alloc(SCAN_THRESHOLD_MIN + 1);
        // That scan reclaimed into the pool instead of freeing.
        assert_eq!(handle.pool_len(), SCAN_THRESHOLD_MIN - 1, "{handle:?}");
        let pooled = handle.pool.borrow().last().copied().unwrap();
        churn_alloc(1);
        {
            let guard = handle.pin();
            // SAFETY: read under a pin; the slot's object is live.
            let current = unsafe { slot.load(&guard).as_ref() }.unwrap();
            assert_eq!(
                ptr::from_ref(current).cast::<u8>(),
                pooled.wrapping_add(core::mem::offset_of!(Node<Counted>, value)),
                "the next allocation reuses the last pooled block"
            );
        }
        let n = if cfg!(miri) { 300 } else { 5 * POOL_CAPACITY };
        churn_alloc(n);
        handle.flush();
        assert!(handle.pool_len() <= POOL_CAPACITY);
        assert_eq!(
            drops.load(std::sync::atomic::Ordering::Relaxed),
            SCAN_THRESHOLD_MIN + 1 + n
        );
        // A dropped handle's pool is taken over by the next registration.
        let pooled = handle.pool_len();
        drop(handle);
        let next = collector.register();
        assert_eq!(next.pool_len(), pooled);
        drop(next);
        // SAFETY: nothing else references the slot.
        drop(unsafe { slot.into_owned() });
        assert_eq!(
            drops.load(std::sync::atomic::Ordering::Relaxed),
            SCAN_THRESHOLD_MIN + n + 2
        );
    }

    #[test]
    fn scans_advance_the_epoch_only_for_pins_reaching_the_present() {
        let drops = StdArc::new(StdAtomicUsize::new(0));
        let collector = Collector::new();
        let writer = collector.register();
        let reader = collector.register();
        let slot = Atomic::new(Counted(drops.clone()));
        // Nobody else pinned: scans free everything and never advance.
        churn(&writer, &slot, &drops, 3 * SCAN_THRESHOLD_MIN);
        assert_eq!(collector.epoch(), 0);
        {
            let g = reader.pin();
            let _p = slot.load(&g);
            // A reader pinned in the current epoch holds back what the writer retires: the
            // writer's next scan advances the epoch once...
            churn(&writer, &slot, &drops, SCAN_THRESHOLD_MIN);
            assert_eq!(collector.epoch(), 1, "{writer:?}");
            // ...and no more while the reader's interval lies in the past: advancing again
            // could not release anything.
            churn(&writer, &slot, &drops, 4 * SCAN_THRESHOLD_MIN);
            assert_eq!(collector.epoch(), 1, "{writer:?}");
        }
        churn(&writer, &slot, &drops, 2 * SCAN_THRESHOLD_MIN);
        writer.flush();
        assert_eq!(collector.pending(), 0);
        assert_eq!(collector.epoch(), 1);
        // SAFETY: nothing else references the slot.
        drop(unsafe { slot.into_owned() });
    }
}
