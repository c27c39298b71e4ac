//! Parking idle threads without burning CPU, and waking them without losing a wake-up.
//!
//! Two pieces:
//!
//! * [`Parker`] — one per thread that may sleep (each worker, each `block_on` caller). A token
//!   protocol like `std::thread::park`: [`Parker::unpark`] leaves a token if the thread is not
//!   asleep, so an unpark that races ahead of the matching park is never lost. The fast paths are
//!   a single atomic operation; the mutex and condition variable are touched only when the
//!   thread really sleeps or really has to be woken, so a busy runtime makes no syscalls.
//! * [`Sleepers`] — the runtime-wide registry of parked workers that work producers consult.
//!   Its protocol (announce → fence → re-check → park, against publish → check → wake) is the
//!   store-buffering pattern resolved with `SeqCst` (see [`Sleepers::should_wake`]), the same shape as rayon-core's sleep module
//!   (`rayon-core/src/sleep/README.md`: "jobs event counter" vs. "sleepy" workers) and tokio's
//!   `Idle` (`multi_thread/idle.rs`). `README.md` beside this file spells out the steps.

use crate::padding::CachePadded;
use crate::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use crate::sync::{Condvar, Mutex};
use core::fmt;

const EMPTY: usize = 0;
const PARKED: usize = 1;
const NOTIFIED: usize = 2;

/// A thread's sleep/wake token (see the module docs).
///
/// ```
/// use hallows_runtime::scheduler::park::Parker;
/// use std::sync::Arc;
///
/// let parker = Arc::new(Parker::new());
/// let p = parker.clone();
/// let t = std::thread::spawn(move || p.park());
/// parker.unpark();
/// t.join().unwrap();
/// // A token left by an unpark with nobody parked makes the next park return at once.
/// parker.unpark();
/// parker.park();
/// ```
pub struct Parker {
    state: AtomicUsize,
    lock: Mutex<()>,
    cvar: Condvar,
}

impl fmt::Debug for Parker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Parker").finish_non_exhaustive()
    }
}

impl Default for Parker {
    fn default() -> Self {
        Parker::new()
    }
}

impl Parker {
    /// A parker with no token.
    pub fn new() -> Parker {
        Parker {
            state: AtomicUsize::new(EMPTY),
            lock: Mutex::new(()),
            cvar: Condvar::new(),
        }
    }

    /// Blocks until a token is available, then consumes it. Returns at once if one already is.
    ///
    /// Only the owning thread may call this (one parker, one sleeper).
    pub fn park(&self) {
        // ORDERING: Acquire pairs with the Release swap in `unpark`, so whatever the unparker
        // did before unparking is visible after we wake.
        if self
            .state
            .compare_exchange(NOTIFIED, EMPTY, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            return;
        }
        self.park_cold();
    }

    #[cold]
    fn park_cold(&self) {
        let mut guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        // ORDERING: Acquire as in `park`; the mutex orders this against the unparker's
        // lock-then-notify, so a notify cannot slip between this CAS and the wait below.
        match self
            .state
            .compare_exchange(EMPTY, PARKED, Ordering::Acquire, Ordering::Acquire)
        {
            Ok(_) => {}
            Err(NOTIFIED) => {
                // ORDERING: Acquire, consuming the token left by `unpark`.
                self.state.swap(EMPTY, Ordering::Acquire);
                return;
            }
            Err(other) => unreachable!("parker in state {other} while its owner parks"),
        }
        loop {
            guard = self.cvar.wait(guard).unwrap_or_else(|e| e.into_inner());
            // ORDERING: Acquire pairs with `unpark`'s Release swap. A failure means a
            // spurious wake-up: wait again.
            if self
                .state
                .compare_exchange(NOTIFIED, EMPTY, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        }
    }

    /// Makes a token available, waking the owner if it is parked.
    ///
    /// Costs one atomic swap unless the owner is actually asleep.
    pub fn unpark(&self) {
        // ORDERING: Release pairs with the Acquire CASes in `park`/`park_cold`.
        match self.state.swap(NOTIFIED, Ordering::Release) {
            EMPTY | NOTIFIED => {}
            PARKED => self.unpark_cold(),
            other => unreachable!("parker in impossible state {other}"),
        }
    }

    #[cold]
    fn unpark_cold(&self) {
        // Taking the lock (and releasing it) before notifying closes the window between the
        // sleeper's EMPTY→PARKED CAS and its `wait`: it holds the lock throughout.
        drop(self.lock.lock().unwrap_or_else(|e| e.into_inner()));
        self.cvar.notify_one();
    }
}

/// Which workers are parked, and how many woken workers are still searching for work.
///
/// A producer of work calls [`Sleepers::should_wake`] after publishing it; a worker about to
/// sleep calls [`Sleepers::announce`], re-checks every queue, and then either
/// [`Sleepers::retract`]s or parks. See `README.md` for the numbered protocol.
pub struct Sleepers {
    /// Number of workers that have announced sleep and not been claimed by a waker.
    count: CachePadded<AtomicUsize>,
    /// Workers woken to look for work that have not found any yet. While one is searching,
    /// producers do not wake more (tokio's "searching" throttle).
    searching: CachePadded<AtomicUsize>,
    /// Per worker: announced and not yet claimed.
    asleep: Box<[CachePadded<AtomicBool>]>,
}

impl fmt::Debug for Sleepers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleepers")
            .field("count", &self.count.load(Ordering::Relaxed))
            .field("searching", &self.searching.load(Ordering::Relaxed))
            .finish()
    }
}

impl Sleepers {
    /// Bookkeeping for `workers` workers, none asleep.
    pub fn new(workers: usize) -> Sleepers {
        Sleepers {
            count: CachePadded::new(AtomicUsize::new(0)),
            searching: CachePadded::new(AtomicUsize::new(0)),
            asleep: (0..workers)
                .map(|_| CachePadded::new(AtomicBool::new(false)))
                .collect(),
        }
    }

    /// Step S1: `worker` announces it is going to sleep. The caller must re-check all work
    /// sources *after* this returns (step S2) and then park or [`retract`](Self::retract).
    pub fn announce(&self, worker: usize) {
        // ORDERING: Relaxed: the flag is only claimed through the SeqCst count below.
        self.asleep[worker].store(true, Ordering::Relaxed);
        // ORDERING: SeqCst; the caller follows it with a SeqCst fence before re-checking (see
        // `should_wake` for the whole argument).
        self.count.fetch_add(1, Ordering::SeqCst);
    }

    /// Step S3a / S5: `worker` withdraws its announcement (it found work during the re-check, or
    /// it woke up). Returns false if a producer had already claimed it: the worker then counts as
    /// searching and must call [`stop_searching`](Self::stop_searching) once it finds work or
    /// before it announces again. (A claim also left a token on its parker; a later `park`
    /// returns at once because of it, which is harmless.)
    pub fn retract(&self, worker: usize) -> bool {
        // ORDERING: AcqRel/Acquire: the claim CAS races with `wake_one`'s; exactly one wins.
        if self.asleep[worker]
            .compare_exchange(true, false, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            // ORDERING: SeqCst to stay in the same total order as `announce` and `should_wake`.
            self.count.fetch_sub(1, Ordering::SeqCst);
            true
        } else {
            false
        }
    }

    /// Step P2: after publishing work, is there a sleeper worth waking? False on the busy path
    /// (nobody asleep) or while another woken worker is still searching.
    ///
    /// The caller must have published its work with a `SeqCst` operation (the queues do).
    #[inline]
    pub fn should_wake(&self) -> bool {
        // ORDERING: the store-buffering pattern. Producer: SeqCst publish (P1), SeqCst load of
        // `count` (here). Sleeper: SeqCst increment of `count` (`announce`), SeqCst fence,
        // re-check. If this load misses the increment, it precedes the increment in the SeqCst
        // order, so the publish precedes the sleeper's fence and its re-check sees the work.
        // Loom weakens SeqCst accesses to AcqRel (loom README, "SeqCst accesses") but models
        // SeqCst fences, so the loom build adds the equivalent fence that loom can check.
        #[cfg(loom)]
        crate::sync::atomic::fence(Ordering::SeqCst);
        self.count.load(Ordering::SeqCst) != 0 && self.searching.load(Ordering::SeqCst) == 0
    }

    /// Step P2 for work injected from outside (`backlog` tasks queued in the injector): like
    /// [`should_wake`](Self::should_wake), but already-searching workers only throttle the
    /// wake-up when there are at least as many of them as queued tasks. Waking more than
    /// needed is always safe (a woken worker that finds nothing sleeps again), so the argument
    /// of `should_wake` carries over unchanged.
    #[inline]
    pub fn should_wake_for(&self, backlog: usize) -> bool {
        // ORDERING: as in `should_wake` (the same store-buffering argument).
        #[cfg(loom)]
        crate::sync::atomic::fence(Ordering::SeqCst);
        self.count.load(Ordering::SeqCst) != 0
            && self.searching.load(Ordering::SeqCst) < backlog.max(1)
    }

    /// Step P3: claims one sleeping worker, preferring `order` (nearest first), and returns its
    /// index; the caller unparks that worker's [`Parker`]. The claimed worker is counted as
    /// searching until it calls [`stop_searching`](Self::stop_searching).
    pub fn wake_one(&self, order: impl Iterator<Item = usize>) -> Option<usize> {
        for w in order {
            // ORDERING: Relaxed pre-check; the CAS decides.
            if !self.asleep[w].load(Ordering::Relaxed) {
                continue;
            }
            // ORDERING: AcqRel, racing with `retract` and other wakers: exactly one claim wins.
            if self.asleep[w]
                .compare_exchange(true, false, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                // ORDERING: SeqCst: counted before the sleeper can decrement it.
                self.searching.fetch_add(1, Ordering::SeqCst);
                self.count.fetch_sub(1, Ordering::SeqCst);
                return Some(w);
            }
        }
        None
    }

    /// A woken worker found work (or gave up): it no longer counts as searching. Returns true if
    /// it was the last searcher, in which case the caller should wake another sleeper if work is
    /// still queued (so wake-ups chain instead of stampeding).
    pub fn stop_searching(&self) -> bool {
        // ORDERING: SeqCst, in the same total order as `should_wake`'s load.
        let prev = self.searching.fetch_sub(1, Ordering::SeqCst);
        debug_assert!(prev > 0, "stop_searching without a matching wake");
        prev == 1
    }

    /// Workers announced and not claimed (a snapshot).
    pub fn asleep_count(&self) -> usize {
        // ORDERING: Relaxed: statistics only.
        self.count.load(Ordering::Relaxed)
    }

    /// Whether `worker` is announced as asleep (a snapshot).
    pub fn is_asleep(&self, worker: usize) -> bool {
        // ORDERING: Relaxed: advice for the migration policy only.
        self.asleep[worker].load(Ordering::Relaxed)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn unpark_before_park_is_not_lost() {
        let p = Parker::new();
        p.unpark();
        p.unpark();
        p.park(); // consumes the single token
        let p = Arc::new(p);
        let q = p.clone();
        let t = std::thread::spawn(move || q.park());
        std::thread::sleep(std::time::Duration::from_millis(if cfg!(miri) {
            1
        } else {
            20
        }));
        p.unpark();
        t.join().unwrap();
    }

    #[test]
    fn only_one_waker_claims_a_sleeper() {
        let s = Sleepers::new(2);
        s.announce(1);
        assert!(s.should_wake());
        assert_eq!(s.wake_one([0, 1].into_iter()), Some(1));
        assert_eq!(s.wake_one([0, 1].into_iter()), None);
        // Searching throttles further wake-ups until the woken worker reports.
        s.announce(0);
        assert!(!s.should_wake());
        assert!(s.stop_searching());
        assert!(s.should_wake());
        assert!(s.retract(0));
        assert_eq!(s.asleep_count(), 0);
    }

    #[test]
    fn a_backlog_wakes_past_the_searching_throttle() {
        let s = Sleepers::new(2);
        s.announce(0);
        s.announce(1);
        assert!(s.should_wake_for(1));
        assert_eq!(s.wake_one([0, 1].into_iter()), Some(0));
        // One searcher, one queued task: enough.
        assert!(!s.should_wake_for(1));
        // Two queued tasks and only one searcher: wake the other sleeper too.
        assert!(s.should_wake_for(2));
        assert_eq!(s.wake_one([0, 1].into_iter()), Some(1));
        // Nobody left asleep.
        assert!(!s.should_wake_for(5));
    }

    #[test]
    fn retract_after_claim_reports_the_claim() {
        let s = Sleepers::new(1);
        s.announce(0);
        assert_eq!(s.wake_one(std::iter::once(0)), Some(0));
        assert!(!s.retract(0));
        assert!(s.stop_searching());
        assert_eq!(s.searching.load(Ordering::Relaxed), 0);
    }
}
