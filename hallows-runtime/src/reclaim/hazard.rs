//! Hazard pointers: safe memory reclamation for lock-free structures with a bound on the
//! garbage that any number of stalled threads can hold back.
//!
//! A [`HazardDomain`] owns a list of hazard slots and a list of retired objects. A thread takes
//! a [`HazardPointer`] (a slot) from the domain, [`protect`](HazardPointer::protect)s a pointer
//! loaded from an [`AtomicPtr`] before dereferencing it, and [`reset`](HazardPointer::reset)s
//! it when done. A thread that unlinks an object calls [`HazardDomain::retire`]; the object is
//! destroyed once no hazard slot holds it. Any `Send` type can be retired. Dropping the domain
//! destroys every object still retired, so nothing leaks.
//!
//! # Protocol (Michael, "Hazard Pointers: Safe Memory Reclamation for Lock-Free Objects",
//! IEEE TPDS 15(6), 2004)
//!
//! Protect (reader), for source `src`:
//! 1. `p = src.load(Acquire)`.
//! 2. Store `p` into the slot (Relaxed), then `fence(SeqCst)`.
//! 3. `q = src.load(Acquire)`; if `q == p` the protection is established, else set `p = q` and
//!    go to 2.
//!
//! Retire and scan (writer), after unlinking `x` so no new load of any source can return it:
//! 1. Push `x` on the domain's retired stack (Release CAS) and bump the retired count.
//! 2. When the count reaches the scan threshold `R = max(SCAN_THRESHOLD_MIN,
//!    SCAN_FACTOR * H)` (H = slots in the domain), take the whole retired stack (Acquire swap).
//! 3. `fence(SeqCst)`, then read every slot (Acquire: pairs with the Release store that clears
//!    a slot, so a finished reader's accesses happen before the destruction) into a sorted set.
//! 4. Destroy every taken object not in the set; push the rest back.
//!
//! Why it is safe: the two SeqCst fences (protect step 2, scan step 3) are totally ordered. If
//! the scan's fence comes first, the reader's validating load (protect step 3) happens after the
//! unlink and cannot return `x`, so the reader retries. If the reader's fence comes first, the
//! scan's slot reads see the hazard and keep `x`.
//!
//! Amortisation: a scan keeps at most `H` objects (one per slot), so with `R ≥ 2H` each scan
//! frees at least `R - H ≥ R/2` objects, i.e. `O(1)` amortised work per retire (Michael §3.2).
//! Garbage bound: at most `R + H` objects are retired and not yet destroyed at any time,
//! whatever the other threads do, plus objects retired by threads concurrently inside a scan.
//!
//! Slots are never freed before the domain; a dropped [`HazardPointer`] clears its slot and
//! marks it free for the next [`HazardDomain::hazard`] call.

use core::fmt;
use core::ptr;

use crate::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicUsize, Ordering};

/// Lower bound on the number of retired objects that triggers a scan.
/// Tiny under loom so the models reach automatic scans in a few steps.
pub const SCAN_THRESHOLD_MIN: usize = if cfg!(loom) { 2 } else { 64 };
/// The scan threshold is at least this many times the number of hazard slots (Michael's
/// `R = H + Ω(H)` for amortised constant-time reclamation).
pub const SCAN_FACTOR: usize = 2;

/// One hazard slot in the domain's append-only list.
struct HazardRecord {
    hazard: AtomicPtr<()>,
    in_use: AtomicBool,
    next: *mut HazardRecord,
}

/// A retired object, type-erased.
struct Retired {
    ptr: *mut (),
    destroy: unsafe fn(*mut ()),
    next: *mut Retired,
}

/// Drops the `Box<T>` behind `ptr`.
///
/// # Safety
///
/// `ptr` came from `Box::<T>::into_raw` and is destroyed exactly once.
unsafe fn destroy_box<T>(ptr: *mut ()) {
    // SAFETY: guaranteed by the caller.
    drop(unsafe { Box::from_raw(ptr.cast::<T>()) });
}

/// A hazard-pointer domain: hazard slots plus the objects retired into it.
///
/// # Example
///
/// ```
/// use hallows_runtime::reclaim::hazard::HazardDomain;
/// use hallows_runtime::sync::atomic::{AtomicPtr, Ordering};
///
/// let domain = HazardDomain::new();
/// let shared = AtomicPtr::new(Box::into_raw(Box::new(String::from("old"))));
///
/// let mut hp = domain.hazard();
/// let p = hp.protect(&shared);
/// // SAFETY: `p` is protected by `hp` and was non-null.
/// assert_eq!(unsafe { &*p }, "old");
///
/// let old = shared.swap(Box::into_raw(Box::new(String::from("new"))), Ordering::AcqRel);
/// // SAFETY: `old` came from `Box::into_raw`, is unlinked, and is retired once.
/// unsafe { domain.retire(old) };
/// assert_eq!(unsafe { &*p }, "old"); // still protected
/// hp.reset();
/// drop(hp);
/// // SAFETY: the current value is unlinked by this swap and retired once.
/// unsafe { domain.retire(shared.swap(std::ptr::null_mut(), Ordering::AcqRel)) };
/// drop(domain); // destroys both strings
/// ```
pub struct HazardDomain {
    records: AtomicPtr<HazardRecord>,
    record_count: AtomicUsize,
    retired: AtomicPtr<Retired>,
    retired_count: AtomicUsize,
}

// SAFETY: the domain only holds raw pointers to records it owns and to retired objects whose
// types were required to be `Send` at `retire`; all shared mutation goes through atomics.
unsafe impl Send for HazardDomain {}
// SAFETY: as above.
unsafe impl Sync for HazardDomain {}

impl Default for HazardDomain {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for HazardDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HazardDomain")
            .field("slots", &self.record_count.load(Ordering::Relaxed))
            .field("retired", &self.retired_count.load(Ordering::Relaxed))
            .finish()
    }
}

impl HazardDomain {
    /// Creates an empty domain.
    pub fn new() -> Self {
        Self {
            records: AtomicPtr::new(ptr::null_mut()),
            record_count: AtomicUsize::new(0),
            retired: AtomicPtr::new(ptr::null_mut()),
            retired_count: AtomicUsize::new(0),
        }
    }

    /// Takes a free hazard slot (reusing a released one, else allocating a new one).
    pub fn hazard(&self) -> HazardPointer<'_> {
        // ORDERING: Acquire pairs with the Release CAS that published each record.
        let mut cur = self.records.load(Ordering::Acquire);
        while !cur.is_null() {
            // SAFETY: records are never freed before the domain, which `self` borrows.
            let record = unsafe { &*cur };
            // ORDERING: Acquire pairs with the Release store in `HazardPointer::drop`, so the
            // previous owner's last use of the slot happens before ours.
            if !record.in_use.load(Ordering::Relaxed)
                && record
                    .in_use
                    .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            {
                return HazardPointer {
                    domain: self,
                    record,
                };
            }
            cur = record.next;
        }
        self.hazard_cold()
    }

    #[cold]
    fn hazard_cold(&self) -> HazardPointer<'_> {
        let record = Box::into_raw(Box::new(HazardRecord {
            hazard: AtomicPtr::new(ptr::null_mut()),
            in_use: AtomicBool::new(true),
            next: ptr::null_mut(),
        }));
        let mut head = self.records.load(Ordering::Relaxed);
        loop {
            // SAFETY: `record` is ours until the CAS below publishes it.
            unsafe { (*record).next = head };
            // ORDERING: Release publishes the record's initialisation to the Acquire loads in
            // `hazard` and `scan`.
            match self.records.compare_exchange_weak(
                head,
                record,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(h) => head = h,
            }
        }
        self.record_count.fetch_add(1, Ordering::Relaxed);
        HazardPointer {
            domain: self,
            // SAFETY: published records live as long as the domain.
            record: unsafe { &*record },
        }
    }

    /// Number of retired objects not yet destroyed (approximate while threads retire).
    pub fn retired_len(&self) -> usize {
        self.retired_count.load(Ordering::Relaxed)
    }

    /// Hands `ptr` to the domain, which drops the `Box<T>` once no hazard slot protects it (at
    /// the latest when the domain is dropped). Null pointers are ignored.
    ///
    /// # Safety
    ///
    /// 1. `ptr` came from `Box::<T>::into_raw` and is retired only once.
    /// 2. `ptr` is already unreachable: no source a reader may `protect` from still holds it.
    /// 3. Dropping `T` on whichever thread scans (or drops the domain), at any time until the
    ///    domain is dropped, is sound (`T: Send`, and any borrow inside `T` outlives the
    ///    domain).
    pub unsafe fn retire<T: Send>(&self, ptr: *mut T) {
        if ptr.is_null() {
            return;
        }
        let node = Box::into_raw(Box::new(Retired {
            ptr: ptr.cast(),
            destroy: destroy_box::<T>,
            next: ptr::null_mut(),
        }));
        // Count the node before publishing it: a concurrent `scan` may take and free it as soon
        // as it is on the stack, and its `fetch_sub` must find it counted (counting after the
        // push let the count wrap below zero and the `+ 1` overflow).
        // ORDERING: Relaxed suffices: this increment is sequenced before the push's Release CAS,
        // which the scan's Acquire swap pairs with, so it happens before the scan's `fetch_sub`
        // and precedes it in the counter's modification order.
        let count = self.retired_count.fetch_add(1, Ordering::Relaxed) + 1;
        // SAFETY: `node` is a fresh allocation owned by us until published.
        unsafe { self.push_retired(node, node) };
        if count >= self.scan_threshold() {
            self.scan();
        }
    }

    fn scan_threshold(&self) -> usize {
        SCAN_THRESHOLD_MIN.max(SCAN_FACTOR * self.record_count.load(Ordering::Relaxed))
    }

    /// Pushes the chain `first..=last` onto the retired stack.
    ///
    /// # Safety
    ///
    /// The chain is owned by the caller and linked through `next` from `first` to `last`.
    unsafe fn push_retired(&self, first: *mut Retired, last: *mut Retired) {
        let mut head = self.retired.load(Ordering::Relaxed);
        loop {
            // SAFETY: the caller owns the chain until the CAS publishes it.
            unsafe { (*last).next = head };
            // ORDERING: Release publishes the chain's links to the Acquire swap in `scan`.
            match self.retired.compare_exchange_weak(
                head,
                first,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(h) => head = h,
            }
        }
    }

    /// Destroys every retired object that no hazard slot currently protects.
    ///
    /// Called automatically when enough objects are retired; callable directly to reclaim
    /// eagerly.
    pub fn scan(&self) {
        // ORDERING: Acquire pairs with the Release CAS in `push_retired`.
        let mut taken = self.retired.swap(ptr::null_mut(), Ordering::Acquire);
        if taken.is_null() {
            return;
        }
        // ORDERING: SeqCst fence pairs with the fence in `HazardPointer::protect` (see the
        // module docs): acquire/release alone would allow our slot reads to miss a hazard
        // published before the reader validated against a pre-unlink value.
        fence(Ordering::SeqCst);
        let mut hazards = Vec::new();
        // ORDERING: Acquire pairs with the record-publishing Release CAS.
        let mut rec = self.records.load(Ordering::Acquire);
        while !rec.is_null() {
            // SAFETY: records live as long as the domain.
            let record = unsafe { &*rec };
            // ORDERING: Acquire pairs with the Release store in `HazardPointer::reset`: when we
            // see a slot cleared, the reader's accesses to the object happen before we free it.
            let h = record.hazard.load(Ordering::Acquire);
            if !h.is_null() {
                hazards.push(h);
            }
            rec = record.next;
        }
        hazards.sort_unstable();

        let mut kept_first: *mut Retired = ptr::null_mut();
        let mut kept_last: *mut Retired = ptr::null_mut();
        let mut freed = 0;
        while !taken.is_null() {
            // SAFETY: the swap gave us exclusive ownership of the whole chain.
            let node = unsafe { &mut *taken };
            let next = node.next;
            if hazards.binary_search(&node.ptr).is_ok() {
                node.next = kept_first;
                if kept_first.is_null() {
                    kept_last = taken;
                }
                kept_first = taken;
            } else {
                // SAFETY: [1] retire's contract: the object came from `Box<T>` with this
                // `destroy`, is destroyed once (we own the chain), and [2] no slot protects it
                // and no reader can newly protect it (it is unlinked; see module docs).
                unsafe { (node.destroy)(node.ptr) };
                // SAFETY: `taken` came from `Box::into_raw` in `retire` and is unlinked.
                drop(unsafe { Box::from_raw(taken) });
                freed += 1;
            }
            taken = next;
        }
        self.retired_count.fetch_sub(freed, Ordering::Relaxed);
        if !kept_first.is_null() {
            // SAFETY: the kept chain is ours and linked first..=last.
            unsafe { self.push_retired(kept_first, kept_last) };
        }
    }
}

impl Drop for HazardDomain {
    fn drop(&mut self) {
        // `&mut self`: no `HazardPointer` borrows the domain any more, so nothing is protected.
        let mut taken = self.retired.swap(ptr::null_mut(), Ordering::Relaxed);
        while !taken.is_null() {
            // SAFETY: exclusive ownership of the chain; each object destroyed exactly once.
            let node = unsafe { Box::from_raw(taken) };
            // SAFETY: retire's contract; no hazard can exist without a borrow of the domain.
            unsafe { (node.destroy)(node.ptr) };
            taken = node.next;
        }
        let mut rec = self.records.load(Ordering::Relaxed);
        while !rec.is_null() {
            // SAFETY: records were allocated by `hazard_cold` and are freed only here.
            let record = unsafe { Box::from_raw(rec) };
            rec = record.next;
        }
    }
}

/// A hazard slot owned by one thread; protects at most one pointer at a time.
pub struct HazardPointer<'d> {
    domain: &'d HazardDomain,
    record: &'d HazardRecord,
}

impl fmt::Debug for HazardPointer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HazardPointer")
            .field("protected", &self.record.hazard.load(Ordering::Relaxed))
            .finish()
    }
}

impl<'d> HazardPointer<'d> {
    /// Loads `src` and protects the loaded pointer, retrying until the protection is validated.
    ///
    /// The returned pointer (if non-null) may be dereferenced until this hazard pointer is
    /// reset, protects something else or is dropped, provided every writer retires objects
    /// only after unlinking them from `src` and every object reachable through `src` is retired
    /// into this pointer's domain.
    pub fn protect<T>(&mut self, src: &AtomicPtr<T>) -> *mut T {
        // ORDERING: Acquire pairs with the writer's Release store/CAS that published the object.
        let mut p = src.load(Ordering::Acquire);
        loop {
            self.record.hazard.store(p.cast(), Ordering::Relaxed);
            // ORDERING: SeqCst fence pairs with the fence in `HazardDomain::scan` (store-load
            // ordering between publishing the hazard and validating it; see the module docs).
            fence(Ordering::SeqCst);
            // ORDERING: Acquire as above.
            let q = src.load(Ordering::Acquire);
            if q == p {
                return p;
            }
            p = q;
        }
    }

    /// Protects `ptr` without validating it; the caller validates (e.g. by re-reading the
    /// source) before dereferencing. Useful for hand-over-hand traversals.
    pub fn protect_raw<T>(&mut self, ptr: *mut T) {
        self.record.hazard.store(ptr.cast(), Ordering::Relaxed);
        // ORDERING: SeqCst fence pairs with the fence in `HazardDomain::scan`.
        fence(Ordering::SeqCst);
    }

    /// Clears the slot; the previously protected object may now be reclaimed.
    pub fn reset(&mut self) {
        // ORDERING: Release orders this thread's reads of the object before a scan that sees
        // the cleared slot and frees it (pairs with the scan's SeqCst fence).
        self.record.hazard.store(ptr::null_mut(), Ordering::Release);
    }

    /// The domain this slot belongs to.
    pub fn domain(&self) -> &'d HazardDomain {
        self.domain
    }
}

impl Drop for HazardPointer<'_> {
    fn drop(&mut self) {
        self.reset();
        // ORDERING: Release pairs with the Acquire CAS in `HazardDomain::hazard`.
        self.record.in_use.store(false, Ordering::Release);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize as StdAtomicUsize;
    use std::sync::Arc as StdArc;

    struct Counted(StdArc<StdAtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    #[test]
    fn protected_object_survives_scan_and_is_freed_after_reset() {
        let drops = StdArc::new(StdAtomicUsize::new(0));
        let domain = HazardDomain::new();
        let src = AtomicPtr::new(Box::into_raw(Box::new(Counted(drops.clone()))));
        let mut hp = domain.hazard();
        let p = hp.protect(&src);
        src.store(ptr::null_mut(), Ordering::Release);
        // SAFETY: unlinked above, from Box, retired once.
        unsafe { domain.retire(p) };
        domain.scan();
        assert_eq!(drops.load(std::sync::atomic::Ordering::Relaxed), 0);
        hp.reset();
        domain.scan();
        assert_eq!(drops.load(std::sync::atomic::Ordering::Relaxed), 1);
        assert_eq!(domain.retired_len(), 0);
    }

    #[test]
    fn slots_are_reused_after_drop() {
        let domain = HazardDomain::new();
        drop(domain.hazard());
        drop(domain.hazard());
        let _a = domain.hazard();
        let _b = domain.hazard();
        assert_eq!(domain.record_count.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn retire_triggers_amortised_scans_and_drop_frees_the_rest() {
        let drops = StdArc::new(StdAtomicUsize::new(0));
        let domain = HazardDomain::new();
        let n = 3 * SCAN_THRESHOLD_MIN;
        for _ in 0..n {
            // SAFETY: fresh Box, never shared, retired once.
            unsafe { domain.retire(Box::into_raw(Box::new(Counted(drops.clone())))) };
        }
        assert!(domain.retired_len() < SCAN_THRESHOLD_MIN);
        drop(domain);
        assert_eq!(drops.load(std::sync::atomic::Ordering::Relaxed), n);
    }
}
