//! Contention-driven version switching for `#[multiversion_contention]` (reactive
//! synchronisation).
//!
//! # Protocol
//!
//! Beng-Hong Lim and Anant Agarwal, "Reactive Synchronization Algorithms for Multiprocessors",
//! ASPLOS 1994, showed that no single protocol (test-and-set, queue lock, combining) wins at every
//! contention level, and that a protocol can be chosen at run time from what the operations
//! observe, switching with hysteresis so the choice does not oscillate. Lim & Agarwal infer the
//! best protocol from failure counts; failure counts turned out to be a poor predictor of which
//! version is *faster* (on a machine with fewer cores than threads, a spinning version sees long
//! failure streaks when a lock holder is preempted, yet can still out-run a queue), so here the
//! dispatcher measures what it is meant to optimise, the operations' throughput, and uses
//! failures only as report evidence:
//!
//! 1. A [`Dispatcher`] holds the current version `mode`, alone on its cache line(s). Each thread
//!    has a [`Sampler`] per dispatcher (in a `thread_local!` the macro generates) holding one
//!    word: a countdown of calls and the version the thread last read from `mode`. A call
//!    loads that word, runs the cached version, then decrements the countdown: no shared memory
//!    is touched on the fast path (the thread-local load replaces the relaxed load of `mode`).
//! 2. When a thread's countdown reaches zero (a *sample*), the thread reads the clock, adds the
//!    calls since its previous sample to the dispatcher's shared operation count (one relaxed
//!    `fetch_add`, on a line apart from `mode`), re-reads `mode`, and re-arms its countdown so
//!    that samples come about every [`SAMPLE_WINDOW`] of that thread's time, whatever an
//!    operation costs. A switch therefore reaches every thread within one window.
//! 3. Time is cut into *epochs*. The sample that finds the current epoch over takes the
//!    dispatcher's policy lock (`try_lock`: one decider, the others go on) and computes the
//!    epoch's throughput: operations per nanosecond of calling threads' time (the sum of the
//!    sample windows that ended in the epoch). Threads that keep calling make it proportional
//!    to throughput; unlike wall time it does not count moments when no thread was calling
//!    (threads starting or ending), which made wall-time throughput too noisy to compare.
//!    * **Exploit** epochs ([`EXPLOIT_EPOCH`]) run the chosen version and measure its throughput,
//!      the *baseline*. When another version's exploration is due, the next phase is a trial.
//!    * A **trial** switches `mode` to the candidate, lets threads settle for [`TRIAL_SETTLE`]
//!      (operations already running in the old version finish), then measures for up to
//!      [`TRIAL_EPOCH`], checked every [`TRIAL_CHECK`]: a candidate below [`ABORT_RATIO`] of the
//!      baseline is abandoned at the first check, so a bad trial costs about three milliseconds.
//!    * The candidate is **adopted** when its throughput beats the baseline by more than
//!      [`SWITCH_MARGIN`] (hysteresis); the switch is logged as a [`Decision`]. Otherwise `mode`
//!      goes back and the candidate's exploration period doubles, from [`MIN_EXPLORE_PERIOD`] up
//!      to [`MAX_EXPLORE_PERIOD`] (Lim & Agarwal's guard against thrashing, as exponential
//!      backoff of the experiments): a version that keeps losing is tried ever more rarely, so
//!      the cost of exploring stays below one percent.
//!    * A **regime change**, two exploit epochs in a row whose throughput differs from the running
//!      average by more than [`REGIME_CHANGE`] (threads came or went, the work changed), resets
//!      every exploration period: the best version is searched for again at once.
//!    * The exploit epoch right after a trial is not used as a baseline (threads are still
//!      settling back), and an epoch that lasted far longer than planned (the function was not
//!      called for a while) is discarded.
//! 4. [`write_report`] writes the log as `contention` records; the summary counts trials too.
//!
//! Correctness while switching: threads may run different versions at the same time (one saw the
//! old `mode`, one the new), so the versions must be safe to run concurrently with each other,
//! for example all of them updating the data with atomics, or all taking the same lock. The
//! versions derived for a lock (`lock = ..`) all acquire the same `Mutex`, so they are.
//!
//! The dispatcher's atomics are `core`'s rather than the `sync` facade's because dispatchers are
//! `static`s built by `const fn`; the policy is a pure state machine ([`Policy`] is private and
//! unit-tested with synthetic clocks and counts), and the dispatcher is tested end to end with
//! versions of known, very different cost.

use std::cell::Cell;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, TryLockError};
use std::thread::LocalKey;
use std::time::{Duration, Instant};

use crate::layout::report_file;
use crate::padding::CachePadded;

/// Failed attempts from which one operation counts as hot (report evidence): one or two
/// failures per operation are what an optimistic version normally pays under light contention.
pub const HOT_RETRIES: u32 = 8;
/// Wall time of a thread between two of its samples: long enough that the clock read and the
/// shared `fetch_add` of a sample cost well under 0.1% of it, short enough that an epoch holds
/// many samples of every running thread.
pub const SAMPLE_WINDOW: Duration = Duration::from_micros(50);
/// Fewest calls between two samples of one thread.
const MIN_SAMPLE_INTERVAL: u32 = 16;
/// Most calls between two samples of one thread (the countdown shares a `u32` with the mode).
const MAX_SAMPLE_INTERVAL: u32 = 1 << 20;
/// Low bits of a [`Sampler`]'s word holding the version (enough for [`MAX_VERSIONS`]).
const MODE_BITS: u32 = 4;
const MODE_MASK: u32 = (1 << MODE_BITS) - 1;
/// One call in a [`Sampler`]'s countdown.
const ONE_CALL: u32 = 1 << MODE_BITS;
const _: () = assert!(MAX_VERSIONS <= 1 << MODE_BITS);
/// Length of an exploit epoch: several scheduler time slices, so that with more threads than
/// cores every thread has run in it.
pub const EXPLOIT_EPOCH: Duration = Duration::from_millis(10);
/// Time after switching to a candidate before its throughput is measured.
pub const TRIAL_SETTLE: Duration = Duration::from_millis(1);
/// Longest measurement of a candidate (as long as the baseline's, for equal precision).
pub const TRIAL_EPOCH: Duration = Duration::from_millis(10);
/// Interval of the early-abort checks during a trial.
pub const TRIAL_CHECK: Duration = Duration::from_millis(2);
/// A candidate below this fraction of the baseline's throughput is abandoned at once.
pub const ABORT_RATIO: f64 = 0.7;
/// A candidate must beat the baseline's throughput by this fraction to be adopted (hysteresis:
/// measurement noise alone does not switch between equally fast versions).
pub const SWITCH_MARGIN: f64 = 0.03;
/// First exploration period of a version (after start, after a regime change, after a switch).
pub const MIN_EXPLORE_PERIOD: Duration = Duration::from_millis(20);
/// Longest exploration period (a version that lost its trials again and again).
pub const MAX_EXPLORE_PERIOD: Duration = Duration::from_secs(2);
/// Relative change of the exploited version's throughput that starts a new search.
pub const REGIME_CHANGE: f64 = 0.25;
/// Consecutive exploit epochs that must show the change (one noisy epoch does not).
const REGIME_CHANGE_EPOCHS: u8 = 2;
/// Weight of the newest epoch in the running average of the exploited version's throughput.
const AVERAGE_WEIGHT: f64 = 0.25;
/// An epoch lasting this many times its planned length had idle time in it and is discarded.
const STALE_EPOCH_FACTOR: u64 = 4;
/// Most versions one dispatcher chooses between (the macro enforces the same bound).
pub const MAX_VERSIONS: usize = 8;
/// Decisions kept in the in-memory log (later ones are counted, not kept).
pub const MAX_LOGGED_DECISIONS: usize = 4096;

const fn ns(d: Duration) -> u64 {
    d.as_nanos() as u64
}

/// Nanoseconds since the first use of the module (0 is reserved for "never").
fn now_ns() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    let start = *START.get_or_init(Instant::now);
    u64::try_from(start.elapsed().as_nanos())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// One thread's sampling state for one dispatcher (the macro puts one in a `thread_local!`
/// beside each dispatcher).
pub struct Sampler {
    /// Calls left before the next sample, shifted left by [`MODE_BITS`], with the version to
    /// run in the low bits.
    state: Cell<u32>,
    /// Calls between the previous sample and the next (0: no sample yet).
    interval: Cell<u32>,
    /// `now_ns()` of the previous sample.
    last_ns: Cell<u64>,
}

impl Sampler {
    /// A sampler that samples at its first call.
    pub const fn new() -> Self {
        Self {
            state: Cell::new(0),
            interval: Cell::new(0),
            last_ns: Cell::new(0),
        }
    }
}

impl Default for Sampler {
    fn default() -> Self {
        Self::new()
    }
}

/// Written by samples only, apart from `mode`'s line.
struct Shared {
    /// Operations counted by samples so far.
    ops: AtomicU64,
    /// Sum of the sample windows (a thread's time from one sample to its next) those operations
    /// were counted in.
    busy_ns: AtomicU64,
    /// `now_ns()` at which the current epoch ends (0: not started).
    epoch_end_ns: AtomicU64,
    /// Hot operations reported by probes (report evidence).
    hot_ops: AtomicU64,
}

/// Chooses among the versions of one operation; one per multiversioned function (a `static`).
pub struct Dispatcher {
    name: &'static str,
    versions: u8,
    /// Read by every call: alone on its line(s), so neither the samples' counting nor unrelated
    /// statics next to it cause misses on the fast path.
    mode: CachePadded<AtomicU8>,
    shared: CachePadded<Shared>,
    policy: Mutex<Policy>,
    switches: AtomicU64,
    trials: AtomicU64,
    registered: AtomicU8,
}

impl Dispatcher {
    /// A dispatcher called `name` over `versions` versions (at most [`MAX_VERSIONS`]), starting
    /// with version 0.
    pub const fn new(name: &'static str, versions: u8) -> Self {
        let versions = if versions as usize > MAX_VERSIONS {
            MAX_VERSIONS as u8
        } else {
            versions
        };
        Self {
            name,
            versions,
            mode: CachePadded::new(AtomicU8::new(0)),
            shared: CachePadded::new(Shared {
                ops: AtomicU64::new(0),
                busy_ns: AtomicU64::new(0),
                epoch_end_ns: AtomicU64::new(0),
                hot_ops: AtomicU64::new(0),
            }),
            policy: Mutex::new(Policy::new(versions)),
            switches: AtomicU64::new(0),
            trials: AtomicU64::new(0),
            registered: AtomicU8::new(0),
        }
    }

    /// The version this thread runs now: its [`Sampler`]'s cached copy of `mode` (a
    /// thread-local load). Call [`count`](Self::count) after running it.
    #[inline(always)]
    pub fn version(&'static self, sampler: &'static LocalKey<Sampler>) -> usize {
        sampler
            .try_with(|s| (s.state.get() & MODE_MASK) as usize)
            // A thread already destroying its thread-locals reads the shared word.
            .unwrap_or_else(|_| self.mode())
    }

    /// Counts one call for this thread's `sampler` (a thread-local decrement); every
    /// [`SAMPLE_WINDOW`] of the thread's time, a sample, which also refreshes the cached version.
    ///
    /// Called *after* the version ran: the store then has time to leave the store buffer before
    /// the next call's atomic read-modify-write, which would otherwise wait for it (a locked
    /// instruction drains the store buffer on x86).
    #[inline(always)]
    pub fn count(&'static self, sampler: &'static LocalKey<Sampler>) {
        let _ = sampler.try_with(|s| {
            let state = s.state.get();
            if state < ONE_CALL {
                self.sample_cold(s);
            } else {
                s.state.set(state - ONE_CALL);
            }
        });
    }

    /// [`count`](Self::count) then [`version`](Self::version), for callers that do not mind
    /// the order.
    #[inline(always)]
    pub fn select(&'static self, sampler: &'static LocalKey<Sampler>) -> usize {
        self.count(sampler);
        self.version(sampler)
    }

    /// The version running now (no counting).
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

    /// Number of adopted switches so far.
    pub fn switches(&self) -> u64 {
        self.switches.load(Ordering::Relaxed)
    }

    /// Number of trials of other versions so far (adopted or not).
    pub fn trials(&self) -> u64 {
        self.trials.load(Ordering::Relaxed)
    }

    /// Number of versions.
    pub fn versions(&self) -> usize {
        usize::from(self.versions)
    }

    /// Forces version `mode` (for tests and benchmarks of fixed versions); not logged. A
    /// dispatcher whose [`select`](Self::select) keeps being called goes on exploring from there.
    pub fn pin(&self, mode: usize) {
        let mode = mode.min(usize::from(self.versions.saturating_sub(1)));
        self.mode.store(mode as u8, Ordering::Relaxed);
    }

    /// Counts the calls since the thread's previous sample, re-arms its countdown, ends the
    /// epoch when it is over, refreshes the thread's cached version.
    #[cold]
    #[inline(never)]
    fn sample_cold(&'static self, s: &Sampler) {
        let now = now_ns();
        let interval = s.interval.get();
        // ORDERING: relaxed: a statistic; the decider reads it under the policy lock and
        // tolerates counts that arrive a little late.
        let ops = self
            .shared
            .ops
            .fetch_add(u64::from(interval), Ordering::Relaxed)
            + u64::from(interval);
        let last = s.last_ns.get();
        if interval > 0 {
            // ORDERING: relaxed: a statistic, like `ops`.
            self.shared
                .busy_ns
                .fetch_add(now.saturating_sub(last), Ordering::Relaxed);
        }
        let window = ns(SAMPLE_WINDOW);
        let next = if interval == 0 {
            MIN_SAMPLE_INTERVAL
        } else if now.saturating_sub(last) < window / 2 {
            (interval * 2).min(MAX_SAMPLE_INTERVAL)
        } else if now.saturating_sub(last) > window * 2 {
            (interval / 2).max(MIN_SAMPLE_INTERVAL)
        } else {
            interval
        };
        s.interval.set(next);
        s.last_ns.set(now);
        // ORDERING: relaxed: a hint; the decider re-checks it under the policy lock.
        if now >= self.shared.epoch_end_ns.load(Ordering::Relaxed) {
            self.decide_cold(now, ops);
        }
        let mode = self.mode.load(Ordering::Relaxed);
        s.state.set(((next - 1) * ONE_CALL) | u32::from(mode));
    }

    #[cold]
    fn decide_cold(&'static self, now: u64, ops: u64) {
        let Ok(mut policy) = self.policy.try_lock() else {
            return; // another thread is deciding
        };
        if now < self.shared.epoch_end_ns.load(Ordering::Relaxed) {
            return; // decided meanwhile
        }
        let mode = self.mode.load(Ordering::Relaxed);
        let busy = self.shared.busy_ns.load(Ordering::Relaxed);
        let step = policy.on_epoch_end(now, ops, busy, mode);
        if let Some(to) = step.switch_to {
            self.mode.store(to, Ordering::Relaxed);
        }
        if step.trial_started {
            self.trials.fetch_add(1, Ordering::Relaxed);
            self.register();
        }
        if let Some(adopted) = step.adopted {
            self.switches.fetch_add(1, Ordering::Relaxed);
            self.register();
            log_decision(Decision {
                dispatcher: self.name,
                from: usize::from(adopted.from),
                to: usize::from(adopted.to),
                reason: "the candidate's measured throughput beat the current version's by more than the switch margin",
                before_ops_per_sec: adopted.before_ops_per_sec,
                after_ops_per_sec: adopted.after_ops_per_sec,
                evidence: self.shared.hot_ops.load(Ordering::Relaxed),
                at_ns: now,
            });
        }
        self.shared
            .epoch_end_ns
            .store(step.next_epoch_end_ns, Ordering::Relaxed);
    }

    fn register(&'static self) {
        if self.registered.swap(1, Ordering::Relaxed) == 0 {
            lock_ignoring_poison(&DISPATCHERS).push(self);
        }
    }
}

/// Where the policy is in its cycle.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Phase {
    /// Not started yet.
    Idle,
    /// Running the chosen version; `baseline_valid` is false for the epoch right after a trial.
    Exploit { baseline_valid: bool },
    /// Switched to `candidate`, waiting for the threads to follow.
    Settling { candidate: u8, from: u8 },
    /// Measuring `candidate` since the epoch start.
    Trial { candidate: u8, from: u8 },
}

/// A switch the policy adopted.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Adopted {
    from: u8,
    to: u8,
    before_ops_per_sec: u64,
    after_ops_per_sec: u64,
}

/// What the dispatcher does at the end of an epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Step {
    /// Store this in `mode`.
    switch_to: Option<u8>,
    /// A trial started (for the counters).
    trial_started: bool,
    /// A switch was adopted (for the log).
    adopted: Option<Adopted>,
    /// When the next epoch ends.
    next_epoch_end_ns: u64,
}

/// The switching policy of one dispatcher: a pure state machine over (time, operation count).
struct Policy {
    versions: u8,
    phase: Phase,
    epoch_start_ns: u64,
    epoch_start_ops: u64,
    /// Sum of the threads' sample windows at the epoch start.
    epoch_start_busy_ns: u64,
    /// Planned length of the current epoch (to recognise stale ones).
    epoch_len_ns: u64,
    /// Throughput (operations per nanosecond) of the last valid exploit epoch.
    baseline: f64,
    /// Running average of the exploited version's throughput (0: none yet).
    average: f64,
    /// Consecutive exploit epochs far from `average`.
    deviations: u8,
    next_explore_ns: [u64; MAX_VERSIONS],
    explore_period_ns: [u64; MAX_VERSIONS],
}

impl Policy {
    const fn new(versions: u8) -> Self {
        Self {
            versions,
            phase: Phase::Idle,
            epoch_start_ns: 0,
            epoch_start_ops: 0,
            epoch_start_busy_ns: 0,
            epoch_len_ns: 0,
            baseline: 0.0,
            average: 0.0,
            deviations: 0,
            next_explore_ns: [0; MAX_VERSIONS],
            explore_period_ns: [ns(MIN_EXPLORE_PERIOD); MAX_VERSIONS],
        }
    }

    fn start_epoch(&mut self, now: u64, (ops, busy): (u64, u64), len: Duration) -> u64 {
        self.epoch_start_busy_ns = busy;
        self.epoch_start_ns = now;
        self.epoch_start_ops = ops;
        self.epoch_len_ns = ns(len);
        now + self.epoch_len_ns
    }

    /// Every other version becomes due for exploration after its own period from `now`.
    fn schedule_all(&mut self, now: u64, reset_periods: bool) {
        for v in 0..usize::from(self.versions) {
            if reset_periods {
                self.explore_period_ns[v] = ns(MIN_EXPLORE_PERIOD);
            }
            self.next_explore_ns[v] = now + self.explore_period_ns[v];
        }
    }

    /// The version due for exploration soonest, if one is due.
    fn due_candidate(&self, now: u64, mode: u8) -> Option<u8> {
        (0..self.versions)
            .filter(|&v| v != mode && self.next_explore_ns[usize::from(v)] <= now)
            .min_by_key(|&v| self.next_explore_ns[usize::from(v)])
    }

    /// `ops`: operations counted so far; `busy`: the sum of the sample windows they were counted
    /// in (thread time spent calling, idle gaps between calls excluded when threads end or start).
    fn on_epoch_end(&mut self, now: u64, ops: u64, busy: u64, mode: u8) -> Step {
        let mut step = Step {
            switch_to: None,
            trial_started: false,
            adopted: None,
            next_epoch_end_ns: 0,
        };
        let elapsed = now.saturating_sub(self.epoch_start_ns).max(1);
        let stale = elapsed > STALE_EPOCH_FACTOR * self.epoch_len_ns;
        // Operations per nanosecond of a calling thread's time: in a closed loop (threads that
        // keep calling) proportional to throughput, and blind to time in which nobody called.
        let busy_ns = busy.saturating_sub(self.epoch_start_busy_ns).max(1);
        let rate = ops.saturating_sub(self.epoch_start_ops) as f64 / busy_ns as f64;
        let ops = (ops, busy);
        match self.phase {
            Phase::Idle => {
                self.schedule_all(now, true);
                self.phase = Phase::Exploit {
                    baseline_valid: false,
                };
                step.next_epoch_end_ns = self.start_epoch(now, ops, EXPLOIT_EPOCH);
            }
            Phase::Exploit { baseline_valid } => {
                if stale || !baseline_valid {
                    self.phase = Phase::Exploit {
                        baseline_valid: true,
                    };
                    step.next_epoch_end_ns = self.start_epoch(now, ops, EXPLOIT_EPOCH);
                    return step;
                }
                let deviates =
                    self.average > 0.0 && (rate / self.average - 1.0).abs() > REGIME_CHANGE;
                self.deviations = if deviates { self.deviations + 1 } else { 0 };
                if self.deviations >= REGIME_CHANGE_EPOCHS {
                    self.schedule_all(now, true);
                    for v in 0..usize::from(self.versions) {
                        self.next_explore_ns[v] = now; // search again at once
                    }
                    self.average = rate;
                    self.deviations = 0;
                } else if deviates {
                    // Wait for the next epoch to confirm; the average keeps the old regime.
                } else if self.average > 0.0 {
                    self.average += AVERAGE_WEIGHT * (rate - self.average);
                } else {
                    self.average = rate;
                }
                self.baseline = rate;
                match self.due_candidate(now, mode) {
                    Some(candidate) => {
                        self.phase = Phase::Settling {
                            candidate,
                            from: mode,
                        };
                        step.switch_to = Some(candidate);
                        step.trial_started = true;
                        step.next_epoch_end_ns = self.start_epoch(now, ops, TRIAL_SETTLE);
                    }
                    None => step.next_epoch_end_ns = self.start_epoch(now, ops, EXPLOIT_EPOCH),
                }
            }
            Phase::Settling { candidate, from } => {
                self.phase = Phase::Trial { candidate, from };
                step.next_epoch_end_ns = self.start_epoch(now, ops, TRIAL_EPOCH);
                step.next_epoch_end_ns = now + ns(TRIAL_CHECK);
            }
            Phase::Trial { candidate, from } => {
                let measured_enough = elapsed >= ns(TRIAL_EPOCH);
                let hopeless = rate < self.baseline * ABORT_RATIO;
                if !stale && !measured_enough && !hopeless {
                    step.next_epoch_end_ns = now + ns(TRIAL_CHECK);
                    return step;
                }
                let c = usize::from(candidate);
                if !stale && measured_enough && rate > self.baseline * (1.0 + SWITCH_MARGIN) {
                    step.adopted = Some(Adopted {
                        from,
                        to: candidate,
                        before_ops_per_sec: (self.baseline * 1e9) as u64,
                        after_ops_per_sec: (rate * 1e9) as u64,
                    });
                    self.average = rate;
                    self.deviations = 0;
                    // The version left behind is re-checked soon; the others keep their periods.
                    self.explore_period_ns[usize::from(from)] = ns(MIN_EXPLORE_PERIOD);
                    self.schedule_all(now, false);
                } else {
                    step.switch_to = Some(from);
                    if !stale {
                        self.explore_period_ns[c] =
                            (self.explore_period_ns[c] * 2).min(ns(MAX_EXPLORE_PERIOD));
                    }
                    self.next_explore_ns[c] = now + self.explore_period_ns[c];
                }
                self.phase = Phase::Exploit {
                    baseline_valid: false,
                };
                step.next_epoch_end_ns = self.start_epoch(now, ops, EXPLOIT_EPOCH);
            }
        }
        step
    }
}

/// Handed to each version: reports what the operation observed (evidence for the report; the
/// switching itself is driven by measured throughput).
#[derive(Clone, Copy)]
pub struct Probe {
    dispatcher: &'static Dispatcher,
    version: u8,
}

impl Probe {
    /// The version this probe was handed to.
    pub fn version(self) -> usize {
        usize::from(self.version)
    }

    /// Reports an operation that needed `failed_attempts` extra attempts (failed CAS, busy lock).
    #[inline]
    pub fn contended(self, failed_attempts: u32) {
        if failed_attempts >= HOT_RETRIES {
            self.hot_cold();
        }
    }

    /// Reports an operation that waited `wait` before it could proceed.
    #[inline]
    pub fn waited(self, wait: Duration) {
        if wait >= QUEUED_HOT_WAIT {
            self.hot_cold();
        }
    }

    #[cold]
    fn hot_cold(self) {
        // ORDERING: relaxed: a statistic for the report.
        self.dispatcher
            .shared
            .hot_ops
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Reports an operation that went through at its first attempt. Free: kept so versions can
    /// state it, but throughput, not the absence of failures, decides the switches.
    #[inline(always)]
    pub fn uncontended(self) {}
}

/// One adopted switch of a dispatcher.
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
    /// Measured throughput of `from` in the epoch before the trial, operations per second.
    pub before_ops_per_sec: u64,
    /// Measured throughput of `to` during its trial, operations per second.
    pub after_ops_per_sec: u64,
    /// Hot operations (at least [`HOT_RETRIES`] failed attempts, or a long wait) reported by
    /// the versions so far.
    pub evidence: u64,
    /// Nanoseconds since the module's first use.
    pub at_ns: u64,
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
            "{{\"versions\":{},\"current\":{},\"switches\":{},\"trials\":{}}}",
            d.versions(),
            d.mode(),
            d.switches(),
            d.trials()
        );
        records.push(report_file::record(
            "contention",
            d.name,
            "summary",
            &format!(
                "dispatcher runs version {} of {} after {} switch(es) and {} trial(s)",
                d.mode(),
                d.versions(),
                d.switches(),
                d.trials()
            ),
            &data,
        ));
    }
    for decision in decisions() {
        let data = format!(
            "{{\"from\":{},\"to\":{},\"before_ops_per_sec\":{},\"after_ops_per_sec\":{},\"evidence\":{},\"at_ns\":{}}}",
            decision.from,
            decision.to,
            decision.before_ops_per_sec,
            decision.after_ops_per_sec,
            decision.evidence,
            decision.at_ns
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
            probe.waited(wait);
            guard
        }
        Err(TryLockError::Poisoned(_)) => poisoned(),
    }
}

/// A wait from which an operation counts as hot: shorter waits in a mutex's queue are a
/// hand-over between two threads, longer ones mean a real queue of waiters.
const QUEUED_HOT_WAIT: Duration = Duration::from_micros(20);

/// Number of versions derived for a lock-protected critical section.
pub const LOCK_VERSIONS: u8 = 3;

/// Acquires `mutex` with the version `dispatcher` currently chooses (counting the call for
/// this thread's `sampler`).
#[inline]
pub fn lock_adaptive<'m, T>(
    dispatcher: &'static Dispatcher,
    sampler: &'static LocalKey<Sampler>,
    mutex: &'m Mutex<T>,
) -> MutexGuard<'m, T> {
    let guard = match dispatcher.version(sampler) {
        0 => lock_spinning(mutex, dispatcher.probe(0)),
        1 => lock_backoff(mutex, dispatcher.probe(1)),
        _ => lock_blocking(mutex, dispatcher.probe(2)),
    };
    dispatcher.count(sampler);
    guard
}

#[cold]
fn poisoned() -> ! {
    panic!("hallows: the mutex of a #[multiversion_contention] critical section was poisoned by a panic in another critical section")
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    /// Drives a policy with versions of fixed throughput (operations per millisecond), the way
    /// samples would: an epoch end whenever the policy asks for one. Returns the mode after
    /// `duration_ms` and every adopted switch.
    struct Sim {
        policy: Policy,
        now: u64,
        ops: u64,
        busy: u64,
        mode: u8,
        next_end: u64,
        adopted: Vec<Adopted>,
        trials: u32,
    }

    impl Sim {
        fn new(versions: u8) -> Self {
            Self {
                policy: Policy::new(versions),
                now: 1,
                ops: 0,
                busy: 0,
                mode: 0,
                next_end: 0,
                adopted: Vec::new(),
                trials: 0,
            }
        }

        fn run(&mut self, duration_ms: u64, per_ms: &[u64]) {
            let end = self.now + duration_ms * MS;
            while self.now < end {
                self.now += MS / 10;
                self.busy += MS / 10;
                self.ops += per_ms[usize::from(self.mode)] / 10;
                if self.now >= self.next_end {
                    let step = self
                        .policy
                        .on_epoch_end(self.now, self.ops, self.busy, self.mode);
                    if let Some(to) = step.switch_to {
                        self.mode = to;
                    }
                    self.trials += u32::from(step.trial_started);
                    self.adopted.extend(step.adopted);
                    self.next_end = step.next_epoch_end_ns;
                }
            }
        }
    }

    #[test]
    fn a_faster_version_is_found_and_adopted() {
        let mut sim = Sim::new(3);
        sim.run(500, &[1000, 1500, 3000]);
        assert_eq!(sim.mode, 2);
        assert!(sim
            .adopted
            .iter()
            .all(|a| a.after_ops_per_sec > a.before_ops_per_sec));
        assert_eq!(sim.adopted.last().unwrap().to, 2);
    }

    #[test]
    fn equal_versions_do_not_switch_and_their_trials_back_off() {
        let mut sim = Sim::new(3);
        sim.run(10_000, &[1000, 1000, 1000]);
        assert_eq!(sim.mode, 0);
        assert!(sim.adopted.is_empty(), "{:?}", sim.adopted);
        // Periods double from 20 ms to 2 s: about 8 trials per version, not 10 s / 20 ms.
        assert!(sim.trials <= 2 * 10, "{} trials", sim.trials);
    }

    #[test]
    fn a_slower_candidate_is_abandoned_at_its_first_check() {
        let mut sim = Sim::new(2);
        sim.run(1000, &[1000, 100]);
        assert_eq!(sim.mode, 0);
        assert!(sim.adopted.is_empty());
        // Time spent in the slow version: settle + one check per trial.
        let trials = u64::from(sim.trials);
        assert!(trials >= 3, "{trials}");
        let lost = 1000 * 1000 - sim.ops;
        let lost_ms = lost as f64 / 900.0; // each slow millisecond loses 900 operations
        let per_trial = (TRIAL_SETTLE + TRIAL_CHECK).as_secs_f64() * 1e3 + 0.3;
        assert!(
            lost_ms <= trials as f64 * per_trial,
            "lost {lost_ms:.1} ms over {trials} trials"
        );
    }

    #[test]
    fn a_regime_change_starts_a_new_search_and_the_policy_comes_back() {
        let mut sim = Sim::new(3);
        sim.run(2000, &[1000, 2000, 500]);
        assert_eq!(sim.mode, 1);
        // Contention goes away: version 0 is best again; the change in throughput of the
        // exploited version triggers a search at once.
        sim.run(200, &[5000, 3000, 500]);
        assert_eq!(sim.mode, 0);
        let last = sim.adopted.last().unwrap();
        assert_eq!((last.from, last.to), (1, 0));
    }

    #[test]
    fn stale_epochs_are_discarded() {
        let mut sim = Sim::new(2);
        sim.run(100, &[1000, 1000]);
        let trials = sim.trials;
        // The function is not called for a second, then runs as before: no switch, no search.
        sim.now += 1000 * MS;
        sim.run(50, &[1000, 1000]);
        assert_eq!(sim.mode, 0);
        assert!(sim.adopted.is_empty());
        assert!(sim.trials <= trials + 1);
    }

    // The dispatcher end to end (a measurably faster version is adopted, logged and reported)
    // is tested in hallows-macros/tests/multiversion_contention.rs.

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
