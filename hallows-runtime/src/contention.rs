//! Contention-driven version switching for `#[multiversion_contention]` (reactive
//! synchronisation).
//!
//! # Protocol
//!
//! Beng-Hong Lim and Anant Agarwal, "Reactive Synchronization Algorithms for Multiprocessors",
//! ASPLOS 1994, showed that no single protocol (test-and-set, queue lock, combining) wins at every
//! contention level, and that a protocol can be chosen at run time from what the operations
//! themselves observe, switching with hysteresis so the choice does not oscillate. Here:
//!
//! 1. A [`Dispatcher`] holds the current version index `mode` (0 = cheapest, meant for no
//!    contention). A call reads `mode` with one relaxed load and runs that version: the only cost
//!    the uncontended path pays.
//! 2. Versions receive a [`Probe`]. They report contention on their slow paths only:
//!    [`Probe::contended`] with the number of failed attempts (CAS failures, busy lock
//!    observations) of one operation, or [`Probe::waited`]. Versions above 0 also report
//!    [`Probe::uncontended`] when an operation went through at its first attempt.
//! 3. Each thread keeps its own evidence in a thread-local: failed attempts since a window start,
//!    and a streak of calm operations. As in Lim & Agarwal's reactive locks, what matters is how
//!    many attempts one operation needed: an operation with at least [`HOT_RETRIES`] failed
//!    attempts is *hot*; fewer failures are the normal cost of optimism and do not count.
//!    * Escalate `m -> m + 1` when a thread's hot operations add up to [`ESCALATE_FAILURES`]
//!      failed attempts within [`ESCALATE_WINDOW`] (sustained heavy contention).
//!    * De-escalate `m -> m - 1` when a thread sees [`CALM_STREAK`] calm operations with no hot
//!      one in between *and* no thread has reported a hot operation for [`CALM_WINDOW`]: the
//!      shared timestamp stops a thread that keeps re-acquiring a lock (barging) from calling
//!      calm while others queue. Operations below [`HOT_RETRIES`] are ignored both ways.
//! 4. Hysteresis: the two thresholds are asymmetric, and no switch happens within
//!    [`MIN_DWELL`] of the previous one; a switch that undoes the previous one within
//!    `16 * dwell` doubles the dwell (up to [`MAX_DWELL`]), Lim & Agarwal's guard against
//!    thrashing.
//! 5. A switch is a `compare_exchange` on `mode` from the version the evidence was gathered in;
//!    of racing threads one wins, the others' evidence is stale and dropped. The switch is
//!    logged as a [`Decision`] and [`write_report`] writes the log as `contention` records.
//!
//! Correctness while switching: threads may run different versions at the same time (one saw the
//! old `mode`, one the new), so the versions must be safe to run concurrently with each other,
//! for example all of them updating the data with atomics, or all taking the same lock. The
//! versions derived for a lock (`lock = ..`) all acquire the same `Mutex`, so they are.
//!
//! The dispatcher's atomics are `core`'s rather than the `sync` facade's because dispatchers are
//! `static`s built by `const fn`; the policy is unit-tested deterministically instead of by loom.

use std::cell::Cell;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, TryLockError};
use std::time::{Duration, Instant};

use crate::layout::report_file;
use crate::padding::CachePadded;

/// Failed attempts from which one operation counts as hot: one or two failures per operation
/// are what an optimistic version normally pays under light contention.
pub const HOT_RETRIES: u32 = 8;
/// Failed attempts of hot operations within [`ESCALATE_WINDOW`] that make a thread escalate.
pub const ESCALATE_FAILURES: u32 = 64;
/// Window in which [`ESCALATE_FAILURES`] must be observed.
pub const ESCALATE_WINDOW: Duration = Duration::from_millis(1);
/// Time without any contention report, from any thread, before a calm streak may de-escalate.
pub const CALM_WINDOW: Duration = Duration::from_millis(2);
/// Contention reports closer together than this do not refresh the shared timestamp (so the
/// reporting path does not turn into a write-shared hot spot).
const CONTENDED_STAMP_GRANULARITY_NS: u64 = 50_000;
/// Consecutive first-attempt operations that make a thread de-escalate.
pub const CALM_STREAK: u32 = 256;
/// Minimum time between two switches of one dispatcher.
pub const MIN_DWELL: Duration = Duration::from_millis(1);
/// Upper bound of the dwell after repeated back-and-forth switches.
pub const MAX_DWELL: Duration = Duration::from_millis(64);
/// A switch that undoes the previous one within this many dwells counts as thrashing.
const THRASH_FACTOR: u64 = 16;
/// Decisions kept in the in-memory log (later ones are counted, not kept).
pub const MAX_LOGGED_DECISIONS: usize = 4096;

/// Nanoseconds since the first use of the module (0 is reserved for "never").
fn now_ns() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    let start = *START.get_or_init(Instant::now);
    u64::try_from(start.elapsed().as_nanos())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// Chooses among the versions of one operation; one per multiversioned function (a `static`).
pub struct Dispatcher {
    name: &'static str,
    versions: u8,
    /// Read by every call: alone on its line(s), so neither the dispatcher's bookkeeping nor
    /// unrelated statics next to it cause misses on the uncontended path.
    mode: CachePadded<AtomicU8>,
    /// `now_ns()` of the last switch (0: never).
    last_switch_ns: AtomicU64,
    /// Current dwell in nanoseconds.
    dwell_ns: AtomicU64,
    /// Mode before the last switch (`u8::MAX`: none).
    previous_mode: AtomicU8,
    switches: AtomicU64,
    registered: AtomicU8,
    /// `now_ns()` of a recent contention report (refreshed at most every
    /// `CONTENDED_STAMP_GRANULARITY_NS`); on its own line so its refreshes do not evict `mode`
    /// from the readers' caches.
    last_contended_ns: CachePadded<AtomicU64>,
}

impl Dispatcher {
    /// A dispatcher called `name` over `versions` versions, starting with version 0.
    pub const fn new(name: &'static str, versions: u8) -> Self {
        Self {
            name,
            versions,
            mode: CachePadded::new(AtomicU8::new(0)),
            last_switch_ns: AtomicU64::new(0),
            dwell_ns: AtomicU64::new(MIN_DWELL.as_nanos() as u64),
            previous_mode: AtomicU8::new(u8::MAX),
            switches: AtomicU64::new(0),
            registered: AtomicU8::new(0),
            last_contended_ns: CachePadded::new(AtomicU64::new(0)),
        }
    }

    /// The version to run now.
    #[inline(always)]
    pub fn mode(&self) -> usize {
        // ORDERING: relaxed: `mode` publishes no data; every version is correct whichever one
        // another thread runs (see the module documentation).
        usize::from(self.mode.load(Ordering::Relaxed))
    }

    /// The probe handed to version `version`.
    #[inline(always)]
    pub fn probe(&'static self, version: u8) -> Probe {
        Probe {
            dispatcher: self,
            version,
        }
    }

    /// The dispatcher's name (the multiversioned function's path).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Number of switches so far.
    pub fn switches(&self) -> u64 {
        self.switches.load(Ordering::Relaxed)
    }

    /// Number of versions.
    pub fn versions(&self) -> usize {
        usize::from(self.versions)
    }

    /// Forces version `mode` (for tests and benchmarks of fixed versions); not logged.
    pub fn pin(&self, mode: usize) {
        let mode = mode.min(usize::from(self.versions.saturating_sub(1)));
        self.mode.store(mode as u8, Ordering::Relaxed);
    }

    /// Tries to switch from `from` to `to`; returns whether this call switched.
    #[cold]
    fn try_switch_cold(
        &'static self,
        from: u8,
        to: u8,
        reason: &'static str,
        evidence: u64,
    ) -> bool {
        let now = now_ns();
        let last = self.last_switch_ns.load(Ordering::Relaxed);
        let dwell = self.dwell_ns.load(Ordering::Relaxed);
        if last != 0 && now.saturating_sub(last) < dwell {
            return false;
        }
        // ORDERING: relaxed: the winner of the exchange is the only thread updating the switch
        // bookkeeping below for this transition; the bookkeeping is advisory (timing only).
        if self
            .mode
            .compare_exchange(from, to, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return false;
        }
        let undoes_previous = self.previous_mode.load(Ordering::Relaxed) == to
            && last != 0
            && now.saturating_sub(last) < dwell.saturating_mul(THRASH_FACTOR);
        let next_dwell = if undoes_previous {
            dwell.saturating_mul(2).min(MAX_DWELL.as_nanos() as u64)
        } else {
            MIN_DWELL.as_nanos() as u64
        };
        self.dwell_ns.store(next_dwell, Ordering::Relaxed);
        self.previous_mode.store(from, Ordering::Relaxed);
        self.last_switch_ns.store(now, Ordering::Relaxed);
        self.switches.fetch_add(1, Ordering::Relaxed);
        self.register();
        log_decision(Decision {
            dispatcher: self.name,
            from: usize::from(from),
            to: usize::from(to),
            reason,
            evidence,
            at_ns: now,
            dwell_ns: next_dwell,
        });
        true
    }

    fn register(&'static self) {
        if self.registered.swap(1, Ordering::Relaxed) == 0 {
            lock_ignoring_poison(&DISPATCHERS).push(self);
        }
    }
}

/// Handed to each version: reports what the operation observed.
#[derive(Clone, Copy)]
pub struct Probe {
    dispatcher: &'static Dispatcher,
    version: u8,
}

/// Per-thread evidence, for the dispatcher last reported to.
struct Evidence {
    owner: Cell<usize>,
    failures: Cell<u32>,
    window_start_ns: Cell<u64>,
    calm: Cell<u32>,
}

thread_local! {
    static EVIDENCE: Evidence = const {
        Evidence {
            owner: Cell::new(0),
            failures: Cell::new(0),
            window_start_ns: Cell::new(0),
            calm: Cell::new(0),
        }
    };
}

impl Evidence {
    /// Resets the evidence when it belonged to another dispatcher or version.
    fn claim(&self, dispatcher: &Dispatcher, version: u8) {
        let owner = (dispatcher as *const Dispatcher as usize) | usize::from(version) << 56;
        if self.owner.get() != owner {
            self.owner.set(owner);
            self.failures.set(0);
            self.window_start_ns.set(0);
            self.calm.set(0);
        }
    }
}

impl Probe {
    /// The version this probe was handed to.
    pub fn version(self) -> usize {
        usize::from(self.version)
    }

    /// Reports an operation that needed `failed_attempts` extra attempts (failed CAS, busy lock).
    #[inline]
    pub fn contended(self, failed_attempts: u32) {
        if failed_attempts > 0 {
            self.contended_cold(failed_attempts);
        }
    }

    /// Reports an operation that waited `wait` before it could proceed (a hot operation of one
    /// failed attempt per microsecond, at least [`HOT_RETRIES`]).
    #[inline]
    pub fn waited(self, wait: Duration) {
        let attempts = u32::try_from(wait.as_micros())
            .unwrap_or(u32::MAX)
            .max(HOT_RETRIES);
        self.contended_cold(attempts);
    }

    #[cold]
    fn contended_cold(self, failed_attempts: u32) {
        let d = self.dispatcher;
        if failed_attempts < HOT_RETRIES {
            // Light contention: the normal price of the current version. It neither pushes
            // towards a heavier version nor holds back a return to a lighter one.
            return;
        }
        let now = now_ns();
        // ORDERING: relaxed: an advisory timestamp, read only by the de-escalation heuristic.
        if now.saturating_sub(d.last_contended_ns.load(Ordering::Relaxed))
            > CONTENDED_STAMP_GRANULARITY_NS
        {
            d.last_contended_ns.store(now, Ordering::Relaxed);
        }
        if usize::from(self.version) != d.mode() {
            return; // evidence about a version no longer in use
        }
        let escalate = EVIDENCE.with(|e| {
            e.claim(d, self.version);
            e.calm.set(0);
            if e.window_start_ns.get() == 0
                || now - e.window_start_ns.get() > ESCALATE_WINDOW.as_nanos() as u64
            {
                e.window_start_ns.set(now);
                e.failures.set(0);
            }
            let failures = e.failures.get().saturating_add(failed_attempts);
            e.failures.set(failures);
            if failures >= ESCALATE_FAILURES {
                e.failures.set(0);
                e.window_start_ns.set(0);
                Some(u64::from(failures))
            } else {
                None
            }
        });
        if let Some(evidence) = escalate {
            if self.version + 1 < d.versions {
                d.try_switch_cold(
                    self.version,
                    self.version + 1,
                    "failed attempts of hot operations exceeded the escalation threshold within the window",
                    evidence,
                );
            }
        }
    }

    /// Reports an operation that went through at its first attempt. Only versions above 0 need
    /// to call it (it drives de-escalation); version 0 stays free on its fast path.
    #[inline]
    pub fn uncontended(self) {
        if self.version == 0 {
            return;
        }
        let d = self.dispatcher;
        let calm = EVIDENCE.with(|e| {
            e.claim(d, self.version);
            let calm = e.calm.get() + 1;
            if calm >= CALM_STREAK {
                e.calm.set(0);
                true
            } else {
                e.calm.set(calm);
                false
            }
        });
        let quiet = now_ns().saturating_sub(d.last_contended_ns.load(Ordering::Relaxed))
            >= CALM_WINDOW.as_nanos() as u64;
        if calm && quiet && usize::from(self.version) == d.mode() {
            d.try_switch_cold(
                self.version,
                self.version - 1,
                "a streak of operations saw no contention",
                u64::from(CALM_STREAK),
            );
        }
    }
}

/// One switch of a dispatcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The dispatcher's name.
    pub dispatcher: &'static str,
    /// Version before.
    pub from: usize,
    /// Version after.
    pub to: usize,
    /// Why.
    pub reason: &'static str,
    /// The evidence count behind the decision (failed attempts or calm operations).
    pub evidence: u64,
    /// Nanoseconds since the module's first use.
    pub at_ns: u64,
    /// Dwell before the next switch is allowed, in nanoseconds.
    pub dwell_ns: u64,
}

static DECISIONS: Mutex<Vec<Decision>> = Mutex::new(Vec::new());
static DROPPED_DECISIONS: AtomicU64 = AtomicU64::new(0);
static DISPATCHERS: Mutex<Vec<&'static Dispatcher>> = Mutex::new(Vec::new());

fn lock_ignoring_poison<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn log_decision(decision: Decision) {
    let mut log = lock_ignoring_poison(&DECISIONS);
    if log.len() < MAX_LOGGED_DECISIONS {
        log.push(decision);
    } else {
        DROPPED_DECISIONS.fetch_add(1, Ordering::Relaxed);
    }
}

/// Every logged switch so far, oldest first.
pub fn decisions() -> Vec<Decision> {
    lock_ignoring_poison(&DECISIONS).clone()
}

/// Writes every dispatcher that switched (a `summary` record each) and every logged switch (a
/// `switched` record each) to `$HALLOWS_REPORT_DIR/macros-contention-<pid>.jsonl`.
///
/// Returns the file written, or `None` when `HALLOWS_REPORT_DIR` is unset.
pub fn write_report() -> io::Result<Option<PathBuf>> {
    let mut records = Vec::new();
    for d in lock_ignoring_poison(&DISPATCHERS).iter() {
        let data = format!(
            "{{\"versions\":{},\"current\":{},\"switches\":{}}}",
            d.versions(),
            d.mode(),
            d.switches()
        );
        records.push(report_file::record(
            "contention",
            d.name,
            "summary",
            &format!(
                "dispatcher runs version {} of {} after {} switch(es)",
                d.mode(),
                d.versions(),
                d.switches()
            ),
            &data,
        ));
    }
    for decision in decisions() {
        let data = format!(
            "{{\"from\":{},\"to\":{},\"evidence\":{},\"at_ns\":{},\"dwell_ns\":{}}}",
            decision.from, decision.to, decision.evidence, decision.at_ns, decision.dwell_ns
        );
        records.push(report_file::record(
            "contention",
            decision.dispatcher,
            "switched",
            &format!(
                "switched from version {} to {}: {}",
                decision.from, decision.to, decision.reason
            ),
            &data,
        ));
    }
    let dropped = DROPPED_DECISIONS.load(Ordering::Relaxed);
    if dropped > 0 {
        records.push(report_file::record(
            "contention",
            "",
            "skipped",
            &format!("{dropped} later switch(es) were counted but not logged"),
            &format!("{{\"dropped\":{dropped}}}"),
        ));
    }
    report_file::write_records("macros-contention", &records)
}

/// Spins before a waiting thread yields its core: with more threads than cores the lock holder
/// may be descheduled, and spinning longer only delays it.
const SPINS_BEFORE_YIELD: u32 = 64;
/// Largest exponential backoff, in `spin_loop` hints.
const MAX_BACKOFF_SPINS: u32 = 1024;

/// Version 0 of a derived critical section: spin on `try_lock` (no backoff).
pub fn lock_spinning<'m, T>(mutex: &'m Mutex<T>, probe: Probe) -> MutexGuard<'m, T> {
    let mut failed = 0u32;
    loop {
        match mutex.try_lock() {
            Ok(guard) => {
                probe.contended(failed);
                return guard;
            }
            Err(TryLockError::WouldBlock) => {
                failed += 1;
                if failed.is_multiple_of(SPINS_BEFORE_YIELD) {
                    std::thread::yield_now();
                } else {
                    core::hint::spin_loop();
                }
            }
            Err(TryLockError::Poisoned(_)) => poisoned(),
        }
    }
}

/// Version 1 of a derived critical section: `try_lock` with exponential backoff.
pub fn lock_backoff<'m, T>(mutex: &'m Mutex<T>, probe: Probe) -> MutexGuard<'m, T> {
    let mut failed = 0u32;
    let mut backoff = 1u32;
    loop {
        match mutex.try_lock() {
            Ok(guard) => {
                if failed == 0 {
                    probe.uncontended();
                } else {
                    probe.contended(failed);
                }
                return guard;
            }
            Err(TryLockError::WouldBlock) => {
                failed += 1;
                if backoff >= MAX_BACKOFF_SPINS {
                    std::thread::yield_now();
                } else {
                    for _ in 0..backoff {
                        core::hint::spin_loop();
                    }
                    backoff *= 2;
                }
            }
            Err(TryLockError::Poisoned(_)) => poisoned(),
        }
    }
}

/// Version 2 of a derived critical section: the mutex's own queue (blocking `lock`).
pub fn lock_blocking<'m, T>(mutex: &'m Mutex<T>, probe: Probe) -> MutexGuard<'m, T> {
    match mutex.try_lock() {
        Ok(guard) => {
            probe.uncontended();
            guard
        }
        Err(TryLockError::WouldBlock) => {
            let start = Instant::now();
            let guard = mutex.lock().unwrap_or_else(|_| poisoned());
            let wait = start.elapsed();
            if wait >= QUEUED_HOT_WAIT {
                probe.waited(wait);
            } else {
                probe.contended(1);
            }
            guard
        }
        Err(TryLockError::Poisoned(_)) => poisoned(),
    }
}

/// A wait in the mutex's queue from which the operation counts as hot: shorter waits are a
/// hand-over between two threads, longer ones mean a real queue of waiters.
const QUEUED_HOT_WAIT: Duration = Duration::from_micros(20);

/// Number of versions derived for a lock-protected critical section.
pub const LOCK_VERSIONS: u8 = 3;

/// Acquires `mutex` with the version `dispatcher` currently chooses.
#[inline]
pub fn lock_adaptive<'m, T>(
    dispatcher: &'static Dispatcher,
    mutex: &'m Mutex<T>,
) -> MutexGuard<'m, T> {
    match dispatcher.mode() {
        0 => lock_spinning(mutex, dispatcher.probe(0)),
        1 => lock_backoff(mutex, dispatcher.probe(1)),
        _ => lock_blocking(mutex, dispatcher.probe(2)),
    }
}

#[cold]
fn poisoned() -> ! {
    panic!("hallows: the mutex of a #[multiversion_contention] critical section was poisoned by a panic in another critical section")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sustained_failures_escalate_and_calm_de_escalates() {
        static D: Dispatcher = Dispatcher::new("tests::escalate", 3);
        assert_eq!(D.mode(), 0);
        // Operations with a failure or two are the normal price of optimism: no switch.
        for _ in 0..4 * ESCALATE_FAILURES {
            D.probe(0).contended(HOT_RETRIES - 1);
        }
        assert_eq!(D.mode(), 0);
        // Hot operations adding up within the window escalate once.
        for _ in 0..ESCALATE_FAILURES / HOT_RETRIES {
            D.probe(0).contended(HOT_RETRIES);
        }
        assert_eq!(D.mode(), 1);
        // Reports from the old version are stale and ignored.
        for _ in 0..4 * ESCALATE_FAILURES {
            D.probe(0).contended(HOT_RETRIES);
        }
        assert_eq!(D.mode(), 1);
        // A calm streak right after contention is held back by the dwell and the calm window...
        for _ in 0..CALM_STREAK {
            D.probe(1).uncontended();
        }
        assert_eq!(D.mode(), 1);
        // ...and honoured after them.
        std::thread::sleep(MIN_DWELL.max(CALM_WINDOW) * 2);
        for _ in 0..CALM_STREAK {
            D.probe(1).uncontended();
        }
        assert_eq!(D.mode(), 0);
        let log: Vec<Decision> = decisions()
            .into_iter()
            .filter(|d| d.dispatcher == D.name())
            .collect();
        assert_eq!(log.len(), 2);
        assert_eq!((log[0].from, log[0].to), (0, 1));
        assert_eq!((log[1].from, log[1].to), (1, 0));
        // Switching straight back doubled the dwell (hysteresis against thrashing).
        assert_eq!(log[1].dwell_ns, 2 * MIN_DWELL.as_nanos() as u64);
    }

    #[test]
    fn sparse_failures_do_not_escalate() {
        static D: Dispatcher = Dispatcher::new("tests::sparse", 2);
        for _ in 0..4 {
            for _ in 0..ESCALATE_FAILURES / HOT_RETRIES / 2 {
                D.probe(0).contended(HOT_RETRIES);
            }
            std::thread::sleep(ESCALATE_WINDOW * 2);
        }
        assert_eq!(D.mode(), 0);
    }

    #[test]
    fn the_last_version_never_escalates_and_version_zero_never_de_escalates() {
        static D: Dispatcher = Dispatcher::new("tests::bounds", 2);
        D.pin(1);
        for _ in 0..4 * ESCALATE_FAILURES {
            D.probe(1).contended(HOT_RETRIES);
        }
        assert_eq!(D.mode(), 1);
        D.pin(0);
        for _ in 0..4 * CALM_STREAK {
            D.probe(0).uncontended();
        }
        assert_eq!(D.mode(), 0);
    }

    #[test]
    fn every_lock_version_excludes_the_others() {
        static D: Dispatcher = Dispatcher::new("tests::lock", LOCK_VERSIONS);
        let m = std::sync::Arc::new(Mutex::new(0u64));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let m = m.clone();
                std::thread::spawn(move || {
                    for i in 0..2000u64 {
                        // Mix the versions as threads would around a switch.
                        let mut g = match (t + i) % 3 {
                            0 => lock_spinning(&m, D.probe(0)),
                            1 => lock_backoff(&m, D.probe(1)),
                            _ => lock_blocking(&m, D.probe(2)),
                        };
                        let v = *g;
                        std::hint::black_box(&v);
                        *g = v + 1;
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*m.lock().unwrap(), 8000);
    }
}
