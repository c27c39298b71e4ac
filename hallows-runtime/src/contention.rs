//! Contention-driven version switching for `#[multiversion_contention]` (reactive
//! synchronisation).
//!
//! # Protocol
//!
//! Beng-Hong Lim and Anant Agarwal, "Reactive Synchronization Algorithms for Multiprocessors",
//! ASPLOS 1994, showed that no single protocol (test-and-set, queue lock, combining) wins at every
//! contention level, and that a protocol can be chosen at run time from what the operations
//! observe, switching with hysteresis so the choice does not oscillate. Lim & Agarwal infer the
//! best protocol from failure counts alone; failure counts turned out to be a poor predictor of
//! which version is *faster* (on a machine with fewer cores than threads, a spinning version sees
//! long failure streaks when a lock holder is preempted, yet can still out-run a queue). Here the
//! failures only say *when* to look again, and the choice is made by measuring what the
//! dispatcher is meant to optimise, the operations' throughput:
//!
//! 1. **Fast path.** A [`Dispatcher`] holds a one-byte mode word, alone on its cache line(s): the
//!    version to run, plus the [`MEASURING`] bit. A call does one relaxed load of the word and a
//!    `match` on it whose arms call the versions directly (inlined like any call). Outside a
//!    measurement nothing else is read or written: no counting, no thread-local access.
//! 2. **Contention events.** A version reports through its [`Probe`] an operation that found the
//!    data contended (a failed CAS, a lock found held, a wait in the mutex's queue). That path
//!    is slow anyway (a cache-line transfer at least), and there a thread-local tally counts the
//!    event (and whether it was hot, for the report); every [`EVENT_BATCH`] events (a hot one
//!    weighs [`HOT_EVENT_WEIGHT`]), and when the thread exits, it adds them to the
//!    dispatcher's shared counts (a relaxed `fetch_add` or two) and reads the clock. Nothing
//!    shared is written per event. An operation that went through at once costs nothing. The
//!    derived lock versions report while they wait too (at each yield), not only once they
//!    have the lock.
//! 3. **Watching.** While no measurement runs, time is cut into *watch epochs*
//!    ([`MIN_WATCH_EPOCH`] and longer, see 6.), ended by the event flush that finds the epoch
//!    over. The first epoch after a search gives the reference rate of events per nanosecond of
//!    the version chosen; [`WATCH_CHANGE_EPOCHS`] epochs in a row whose rate differs from it by
//!    more than a factor [`WATCH_CHANGE`] either way (threads came or went, the work changed)
//!    start a search. An epoch [`STALE_EPOCH_FACTOR`] times longer than planned spans a lull
//!    (the data was calm for a while) and is not compared: a fresh epoch is measured instead.
//!    The very first events start a search too. Without
//!    any contention events no search ever runs: version 0 (the cheapest when uncontended, by
//!    the attribute's convention) or the last choice stays; the versions differ only when the
//!    data is contended, so a stale choice costs nothing while it is not.
//! 4. **Searching.** A search sets [`MEASURING`]: calls then also decrement a thread-local
//!    countdown (a [`Sampler`] per thread and dispatcher, in a `thread_local!` the macro
//!    generates), and every [`SAMPLE_WINDOW`] of a thread's time a *sample* adds the thread's
//!    calls and the window's length to shared counters. The current version (the incumbent)
//!    then meets each other version in a *duel*: [`DUEL_ROUNDS`] slots of [`DUEL_SLOT`] each,
//!    in the order incumbent, candidate, candidate, incumbent, incumbent, .. (ABBA, so that a
//!    steady drift of the machine's load hits both alike), each measured after [`DUEL_SETTLE`]
//!    (operations already running in the previous version finish). A slot's throughput is
//!    the operations its samples counted per nanosecond of the slot's wall time. (Until
//!    session 4 it was per nanosecond of calling threads' time, the sum of the sample windows
//!    that ended in the slot; with 8 threads on 2 cores that estimate over-weights the threads
//!    that happen to run and sample often, and it chose the blocking version where it was
//!    slower. A slot with a pause in it is measured again, 5. below.) A candidate
//!    below [`ABORT_RATIO`] of the incumbent after [`DUEL_ABORT_ROUNDS`] slots each is abandoned,
//!    and one whose incumbent is below [`ABORT_RATIO`] of *it* by then is adopted at once (the
//!    same margin both ways: until session 6 only the loser was cut short, so a search that
//!    started from a version 4x slower than the next, as at every first search of the stack
//!    and map under contention, ran the slow one for the full six slots); otherwise a
//!    candidate that beats the incumbent by more than [`SWITCH_MARGIN`] over the whole duel is
//!    adopted (hysteresis). An adopted switch is logged as a [`Decision`], and the winner meets
//!    the next candidate. After the last duel the measuring bit is cleared: the fast path is back to
//!    one load.
//! 5. A slot in which no sample ended, or that lasted [`STALE_EPOCH_FACTOR`] times its planned
//!    length (the function was not called for a while), is measured again.
//! 6. **Backing off.** A search that ends on the version it started from doubles the watch
//!    epoch, up to [`MAX_WATCH_EPOCH`]: the longer the choice holds, the more evidence a new
//!    search needs (Lim & Agarwal's guard against thrashing). A search that switched resets it
//!    to [`MIN_WATCH_EPOCH`].
//! 7. [`write_report`] writes the log as `contention` records; the summary counts duels
//!    (trials) too.
//!
//! Correctness while switching: threads may run different versions at the same time (one saw the
//! old mode, one the new), so the versions must be safe to run concurrently with each other,
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
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, TryLockError};
use std::thread::LocalKey;
use std::time::{Duration, Instant};

use crate::layout::report_file;
use crate::padding::CachePadded;

/// Failed attempts from which one operation counts as hot (report evidence): one or two
/// failures per operation are what an optimistic version normally pays under light contention.
pub const HOT_RETRIES: u32 = 8;
/// Bit of the mode word set while a search measures throughput (calls then count themselves).
pub const MEASURING: u8 = 0x80;
/// Bits of the mode word holding the version.
pub const VERSION_MASK: u8 = 0x0f;
/// Most versions one dispatcher chooses between (the macro enforces the same bound).
pub const MAX_VERSIONS: usize = 8;
const _: () = assert!(MAX_VERSIONS <= VERSION_MASK as usize + 1);
const _: () = assert!(MEASURING & VERSION_MASK == 0);
/// Wall time of a thread between two of its samples while measuring: long enough that the
/// clock read and the shared `fetch_add`s of a sample cost well under 0.1% of it, short enough
/// that a duel slot holds many samples of every running thread.
pub const SAMPLE_WINDOW: Duration = Duration::from_micros(50);
/// Fewest calls between two samples of one thread.
const MIN_SAMPLE_INTERVAL: u32 = 16;
/// Most calls between two samples of one thread.
const MAX_SAMPLE_INTERVAL: u32 = 1 << 20;
/// A sample window longer than this spans a pause in measuring (a thread that last sampled in
/// an earlier search) and is not counted; real windows, even of a preempted thread, are far
/// shorter (a scheduler round of 8 threads on 2 cores is about 12 ms).
const STALE_WINDOW: Duration = Duration::from_millis(100);
/// Contention events a thread tallies before adding them to its dispatcher's count and reading
/// the clock: the flush costs a shared `fetch_add` and a clock read, each event at least one
/// cache-line transfer, so the flush adds a few percent to the slow path only.
pub const EVENT_BATCH: u32 = 32;
/// What one hot event (at least [`HOT_RETRIES`] failed attempts, or a wait of
/// `QUEUED_HOT_WAIT`) counts towards a thread's [`EVENT_BATCH`]: four of them flush the tally.
/// A hot event has already paid eight cache-line transfers or a long wait, so a flush per four
/// of them costs no more, relative to the contention paid, than one per [`EVENT_BATCH`] plain
/// events. Why (session 11, Zen 4 VM): with the lock held almost all the time (map long, 4-8
/// threads on 2 cores) and the spinning version, the thread that holds the lock re-takes it at
/// once after each release, and the others get it only when it is descheduled, each after
/// dozens of failed `try_lock`s and a yield: a thread saw fewer than [`EVENT_BATCH`] events in
/// a 150 ms burst, never flushed, and the dispatcher never learnt of the contention.
pub const HOT_EVENT_WEIGHT: u32 = 8;
/// Length of one slot of a duel: a few scheduler time slices (about 3 ms each with 8 threads on
/// 2 cores), so that every thread ran in it.
pub const DUEL_SLOT: Duration = Duration::from_millis(8);
/// Time after each switch of a duel before its slot is measured.
pub const DUEL_SETTLE: Duration = Duration::from_millis(1);
/// Slots per version in one duel: throughput measured over 10 ms varies up to 4x with more
/// threads than cores; six interleaved slots each bring the comparison within a few percent.
pub const DUEL_ROUNDS: u8 = 6;
/// Slots per version after which a hopeless candidate is abandoned, or a hopeless incumbent
/// replaced.
pub const DUEL_ABORT_ROUNDS: u8 = 2;
/// A candidate below this fraction of the incumbent's throughput is abandoned early; an
/// incumbent below this fraction of the candidate's is replaced early.
pub const ABORT_RATIO: f64 = 0.6;
/// A candidate must beat the incumbent's throughput by this fraction to be adopted (hysteresis:
/// measurement noise alone does not switch between equally fast versions).
pub const SWITCH_MARGIN: f64 = 0.03;
/// First length of a watch epoch (after a search that switched): many scheduler time slices,
/// so that one epoch's event rate is not that of the few threads that happened to run.
pub const MIN_WATCH_EPOCH: Duration = Duration::from_millis(50);
/// Longest watch epoch (after searches that kept confirming the choice).
pub const MAX_WATCH_EPOCH: Duration = Duration::from_secs(1);
/// Factor by which the rate of contention events must change, either way, to start a search:
/// the rate of one version varies by up to 3x between epochs at a fixed thread count here
/// (2 cores, 4-8 threads), while going from one thread to several changes it far more.
pub const WATCH_CHANGE: f64 = 4.0;
/// Consecutive watch epochs that must show the change (one noisy epoch does not).
pub const WATCH_CHANGE_EPOCHS: u8 = 2;
/// An epoch lasting this many times its planned length had idle time in it.
pub const STALE_EPOCH_FACTOR: u64 = 4;
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
/// beside each dispatcher); used only while the dispatcher measures.
pub struct Sampler {
    /// Calls left before the next sample.
    countdown: Cell<u32>,
    /// Calls between the previous sample and the next (0: no sample yet).
    interval: Cell<u32>,
    /// `now_ns()` of the previous sample.
    last_ns: Cell<u64>,
    /// The dispatcher's search generation at the previous sample.
    generation: Cell<u32>,
}

impl Sampler {
    /// A sampler that samples at its first counted call.
    pub const fn new() -> Self {
        Self {
            countdown: Cell::new(0),
            interval: Cell::new(0),
            last_ns: Cell::new(0),
            generation: Cell::new(0),
        }
    }
}

impl Default for Sampler {
    fn default() -> Self {
        Self::new()
    }
}

/// Written by samples and event flushes only, apart from the mode word's line.
struct Shared {
    /// Operations counted by samples so far.
    ops: AtomicU64,
    /// Sum of the sample windows (a thread's time from one sample to its next) those operations
    /// were counted in.
    busy_ns: AtomicU64,
    /// Contention events flushed so far.
    events: AtomicU64,
    /// `now_ns()` at which the current epoch ends (0: not started).
    epoch_end_ns: AtomicU64,
    /// Searches started so far: a sampler whose last sample was in an earlier search starts a
    /// new window instead of counting one that spans the pause.
    generation: AtomicU32,
    /// Hot operations reported by probes (report evidence).
    hot_ops: AtomicU64,
}

/// Chooses among the versions of one operation; one per multiversioned function (a `static`).
pub struct Dispatcher {
    name: &'static str,
    versions: u8,
    /// The mode word, read by every call: alone on its line(s), so neither the samples'
    /// counting nor unrelated statics next to it cause misses on the fast path.
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
                events: AtomicU64::new(0),
                epoch_end_ns: AtomicU64::new(0),
                generation: AtomicU32::new(0),
                hot_ops: AtomicU64::new(0),
            }),
            policy: Mutex::new(Policy::new(versions)),
            switches: AtomicU64::new(0),
            trials: AtomicU64::new(0),
            registered: AtomicU8::new(0),
        }
    }

    /// The mode word: the version to run, with [`MEASURING`] set while a search runs (then run
    /// version `word & VERSION_MASK` and call [`count`](Self::count) after it). The fast path
    /// of a call: one relaxed load.
    #[inline(always)]
    pub fn word(&self) -> u8 {
        // ORDERING: relaxed: the word publishes no data; every version is correct whichever one
        // another thread runs (see the module documentation).
        self.mode.load(Ordering::Relaxed)
    }

    /// Counts one call for this thread's `sampler` while measuring (a thread-local decrement);
    /// every [`SAMPLE_WINDOW`] of the thread's time, a sample.
    ///
    /// Called *after* the version ran: the store then has time to leave the store buffer before
    /// the next call's atomic read-modify-write, which would otherwise wait for it (a locked
    /// instruction drains the store buffer on x86).
    #[inline(always)]
    pub fn count(&'static self, sampler: &'static LocalKey<Sampler>) {
        let _ = sampler.try_with(|s| {
            let left = s.countdown.get();
            if left == 0 {
                self.sample_cold(s);
            } else {
                s.countdown.set(left - 1);
            }
        });
    }

    /// The version to run now, counting the call for `sampler` when the dispatcher measures
    /// (for hand-written dispatch; the macro's code calls [`word`](Self::word) and
    /// [`count`](Self::count) around the version instead).
    #[inline(always)]
    pub fn select(&'static self, sampler: &'static LocalKey<Sampler>) -> usize {
        let word = self.word();
        if word & MEASURING != 0 {
            self.count(sampler);
        }
        usize::from(word & VERSION_MASK)
    }

    /// The version running now.
    #[inline(always)]
    pub fn mode(&self) -> usize {
        usize::from(self.word() & VERSION_MASK)
    }

    /// Whether a search is measuring the versions now.
    pub fn is_measuring(&self) -> bool {
        self.word() & MEASURING != 0
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

    /// Number of duels (trials of another version) so far, adopted or not.
    pub fn trials(&self) -> u64 {
        self.trials.load(Ordering::Relaxed)
    }

    /// Number of versions.
    pub fn versions(&self) -> usize {
        usize::from(self.versions)
    }

    /// Forces version `mode` (for tests and benchmarks of fixed versions); not logged. A
    /// running search overwrites it at its next slot.
    pub fn pin(&self, mode: usize) {
        let mode = mode.min(usize::from(self.versions.saturating_sub(1)));
        self.mode.store(mode as u8, Ordering::Relaxed);
    }

    /// Counts the calls since the thread's previous sample, re-arms its countdown, ends the
    /// epoch when it is over.
    #[cold]
    #[inline(never)]
    fn sample_cold(&'static self, s: &Sampler) {
        let now = now_ns();
        // ORDERING: relaxed: a sampler that reads a stale generation counts one window across a
        // pause at worst, and such a window is longer than `STALE_WINDOW` and dropped below.
        let generation = self.shared.generation.load(Ordering::Relaxed);
        let interval = s.interval.get();
        let window = now.saturating_sub(s.last_ns.get());
        let fresh = interval == 0 || s.generation.get() != generation || window > ns(STALE_WINDOW);
        if !fresh {
            // ORDERING: relaxed: statistics; the decider reads them under the policy lock and
            // tolerates counts that arrive a little late.
            self.shared
                .ops
                .fetch_add(u64::from(interval), Ordering::Relaxed);
            self.shared.busy_ns.fetch_add(window, Ordering::Relaxed);
        }
        let target = ns(SAMPLE_WINDOW);
        let next = if interval == 0 {
            MIN_SAMPLE_INTERVAL
        } else if fresh {
            interval
        } else if window < target / 2 {
            (interval * 2).min(MAX_SAMPLE_INTERVAL)
        } else if window > target * 2 {
            (interval / 2).max(MIN_SAMPLE_INTERVAL)
        } else {
            interval
        };
        s.interval.set(next);
        s.last_ns.set(now);
        s.generation.set(generation);
        s.countdown.set(next - 1);
        self.decide_if_due(now);
    }

    /// Adds `events` contention events of one thread, `hot` of them hot, to the shared counts.
    fn add_events(&self, events: u32, hot: u32) {
        // ORDERING: relaxed: statistics, like `ops`.
        self.shared
            .events
            .fetch_add(u64::from(events), Ordering::Relaxed);
        if hot > 0 {
            self.shared
                .hot_ops
                .fetch_add(u64::from(hot), Ordering::Relaxed);
        }
    }

    fn decide_if_due(&'static self, now: u64) {
        // ORDERING: relaxed: a hint; the decider re-checks it under the policy lock.
        if now >= self.shared.epoch_end_ns.load(Ordering::Relaxed) {
            self.decide_cold(now);
        }
    }

    #[cold]
    fn decide_cold(&'static self, now: u64) {
        let Ok(mut policy) = self.policy.try_lock() else {
            return; // another thread is deciding
        };
        if now < self.shared.epoch_end_ns.load(Ordering::Relaxed) {
            return; // decided meanwhile
        }
        let totals = Totals {
            ops: self.shared.ops.load(Ordering::Relaxed),
            busy_ns: self.shared.busy_ns.load(Ordering::Relaxed),
            events: self.shared.events.load(Ordering::Relaxed),
        };
        let step = policy.on_epoch_end(now, totals, self.word() & VERSION_MASK);
        if step.search_started {
            // ORDERING: relaxed: see `sample_cold`.
            self.shared.generation.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(word) = step.word {
            // ORDERING: relaxed: see `word`.
            self.mode.store(word, Ordering::Relaxed);
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

/// One thread's contention events (and how many of them were hot) not yet added to their
/// dispatcher's counts. One per thread for all dispatchers: events of a thread usually come
/// from one dispatcher at a time, and one that reports for another dispatcher first hands the
/// tally to the previous one.
///
/// Hot operations are tallied here too, not added to the shared `hot_ops` one by one: that
/// line is written by every contending thread, so a shared `fetch_add` per hot operation was
/// one more contended cache-line transfer on the slow path of the versions, next to the data's
/// own line. They weigh [`HOT_EVENT_WEIGHT`] towards the batch, and a thread that exits hands
/// what it tallied to the dispatcher (`Drop`): until session 11 the events of a thread that
/// ended before its batch was full were lost, so short-lived threads with few but long
/// contended operations never started a search.
struct Tally {
    dispatcher: Cell<Option<&'static Dispatcher>>,
    events: Cell<u32>,
    hot: Cell<u32>,
}

std::thread_local! {
    static TALLY: Tally = const {
        Tally {
            dispatcher: Cell::new(None),
            events: Cell::new(0),
            hot: Cell::new(0),
        }
    };
}

impl Tally {
    fn add(&self, dispatcher: &'static Dispatcher, hot: bool) {
        let same = self
            .dispatcher
            .get()
            .is_some_and(|d| std::ptr::eq(d, dispatcher));
        if !same {
            if let Some(previous) = self.dispatcher.get() {
                previous.add_events(self.events.get(), self.hot.get());
            }
            self.dispatcher.set(Some(dispatcher));
            self.events.set(0);
            self.hot.set(0);
        }
        let events = self.events.get() + 1;
        let hot = self.hot.get() + u32::from(hot);
        if events + hot * (HOT_EVENT_WEIGHT - 1) < EVENT_BATCH {
            self.events.set(events);
            self.hot.set(hot);
            return;
        }
        self.events.set(0);
        self.hot.set(0);
        dispatcher.add_events(events, hot);
        dispatcher.decide_if_due(now_ns());
    }
}

impl Drop for Tally {
    /// The thread ends: its events so far count (and may end an epoch, start a search).
    fn drop(&mut self) {
        let events = self.events.replace(0);
        if events == 0 {
            return;
        }
        if let Some(dispatcher) = self.dispatcher.take() {
            dispatcher.add_events(events, self.hot.replace(0));
            dispatcher.decide_if_due(now_ns());
        }
    }
}

/// The shared counters as the decider reads them.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Totals {
    ops: u64,
    busy_ns: u64,
    events: u64,
}

/// Where the policy is in its cycle.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Phase {
    /// No contention seen yet.
    Idle,
    /// Not measuring; `reference` is the event rate (per nanosecond) of the first epoch after
    /// the search (0: not measured yet), `deviations` the epochs in a row far from it.
    Watch { reference: f64, deviations: u8 },
    /// `incumbent` against `candidate`, in slot `slot` (ABBA order); `settling` before the slot
    /// is measured.
    Duel {
        incumbent: u8,
        candidate: u8,
        slot: u8,
        settling: bool,
    },
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
    /// Store this in the mode word.
    word: Option<u8>,
    /// A search started (samplers start new windows).
    search_started: bool,
    /// A duel started (for the counters).
    trial_started: bool,
    /// A switch was adopted (for the log).
    adopted: Option<Adopted>,
    /// When the next epoch ends.
    next_epoch_end_ns: u64,
}

/// Which side of a duel slot `slot` measures: incumbent (0), candidate (1), in ABBA order.
const fn duel_side(slot: u8) -> usize {
    (slot.div_ceil(2) % 2) as usize
}

/// The switching policy of one dispatcher: a pure state machine over (time, counters).
struct Policy {
    versions: u8,
    phase: Phase,
    epoch_start_ns: u64,
    epoch_start: Totals,
    /// Planned length of the current epoch (to recognise stale ones).
    epoch_len_ns: u64,
    /// Versions still to meet the incumbent in this search (one bit each).
    untried: u16,
    /// The version the search started from.
    search_from: u8,
    /// Operations and measured slot time (wall nanoseconds) of the incumbent (0) and candidate
    /// (1) so far in the current duel.
    duel_ops: [u64; 2],
    duel_wall_ns: [u64; 2],
    /// Length of a watch epoch now.
    watch_epoch_ns: u64,
}

impl Policy {
    const fn new(versions: u8) -> Self {
        Self {
            versions,
            phase: Phase::Idle,
            epoch_start_ns: 0,
            epoch_start: Totals {
                ops: 0,
                busy_ns: 0,
                events: 0,
            },
            epoch_len_ns: 0,
            untried: 0,
            search_from: 0,
            duel_ops: [0; 2],
            duel_wall_ns: [0; 2],
            watch_epoch_ns: ns(MIN_WATCH_EPOCH),
        }
    }

    fn start_epoch(&mut self, now: u64, totals: Totals, len_ns: u64) -> u64 {
        self.epoch_start_ns = now;
        self.epoch_start = totals;
        self.epoch_len_ns = len_ns;
        now + len_ns
    }

    fn duel_rate(&self, side: usize) -> f64 {
        self.duel_ops[side] as f64 / self.duel_wall_ns[side].max(1) as f64
    }

    fn start_search(&mut self, now: u64, totals: Totals, mode: u8, step: &mut Step) {
        self.untried = ((1u16 << self.versions) - 1) & !(1 << mode);
        self.search_from = mode;
        step.search_started = true;
        self.next_duel(now, totals, mode, step);
    }

    /// `incumbent` meets the next untried version, or the search ends with it.
    fn next_duel(&mut self, now: u64, totals: Totals, incumbent: u8, step: &mut Step) {
        if self.untried == 0 {
            self.watch_epoch_ns = if incumbent == self.search_from {
                (self.watch_epoch_ns * 2).min(ns(MAX_WATCH_EPOCH))
            } else {
                ns(MIN_WATCH_EPOCH)
            };
            self.phase = Phase::Watch {
                reference: 0.0,
                deviations: 0,
            };
            step.word = Some(incumbent);
            step.next_epoch_end_ns = self.start_epoch(now, totals, self.watch_epoch_ns);
            return;
        }
        let candidate = self.untried.trailing_zeros() as u8;
        self.untried &= !(1 << candidate);
        self.duel_ops = [0; 2];
        self.duel_wall_ns = [0; 2];
        self.phase = Phase::Duel {
            incumbent,
            candidate,
            slot: 0,
            settling: true,
        };
        step.word = Some(MEASURING | incumbent);
        step.trial_started = true;
        step.next_epoch_end_ns = self.start_epoch(now, totals, ns(DUEL_SETTLE));
    }

    /// Called by the sample or event flush that finds the epoch over; `mode` is the version
    /// running now.
    fn on_epoch_end(&mut self, now: u64, totals: Totals, mode: u8) -> Step {
        let mut step = Step {
            word: None,
            search_started: false,
            trial_started: false,
            adopted: None,
            next_epoch_end_ns: 0,
        };
        let elapsed = now.saturating_sub(self.epoch_start_ns).max(1);
        let stale = elapsed > STALE_EPOCH_FACTOR * self.epoch_len_ns;
        match self.phase {
            Phase::Idle => self.start_search(now, totals, mode, &mut step),
            Phase::Watch {
                reference,
                deviations,
            } => {
                if stale {
                    // The epoch spans a lull (calls stopped for a while): its rate says nothing
                    // about the contention now. Measure a fresh epoch against the same reference
                    // instead; a search starts if the contention after the lull differs from it
                    // as above. Searching after every lull made a bursty caller (and the
                    // interleaved bench, whose fixed rounds are lulls of the adaptive one)
                    // search at nearly every burst.
                    step.next_epoch_end_ns = self.start_epoch(now, totals, self.watch_epoch_ns);
                    return step;
                }
                let events = totals.events.saturating_sub(self.epoch_start.events);
                let rate = (events as f64 / elapsed as f64).max(f64::MIN_POSITIVE);
                if reference == 0.0 {
                    self.phase = Phase::Watch {
                        reference: rate,
                        deviations: 0,
                    };
                } else {
                    let ratio = rate / reference;
                    let deviates = !(1.0 / WATCH_CHANGE..=WATCH_CHANGE).contains(&ratio);
                    let deviations = if deviates { deviations + 1 } else { 0 };
                    if deviations >= WATCH_CHANGE_EPOCHS {
                        self.start_search(now, totals, mode, &mut step);
                        return step;
                    }
                    self.phase = Phase::Watch {
                        reference,
                        deviations,
                    };
                }
                step.next_epoch_end_ns = self.start_epoch(now, totals, self.watch_epoch_ns);
            }
            Phase::Duel {
                incumbent,
                candidate,
                slot,
                settling,
            } => {
                let run = |slot: u8| {
                    if duel_side(slot) == 0 {
                        incumbent
                    } else {
                        candidate
                    }
                };
                if settling {
                    self.phase = Phase::Duel {
                        incumbent,
                        candidate,
                        slot,
                        settling: false,
                    };
                    step.next_epoch_end_ns = self.start_epoch(now, totals, ns(DUEL_SLOT));
                    return step;
                }
                let busy = totals.busy_ns.saturating_sub(self.epoch_start.busy_ns);
                if stale || busy == 0 {
                    // No usable measurement: settle again and measure this slot once more.
                    self.phase = Phase::Duel {
                        incumbent,
                        candidate,
                        slot,
                        settling: true,
                    };
                    step.word = Some(MEASURING | run(slot));
                    step.next_epoch_end_ns = self.start_epoch(now, totals, ns(DUEL_SETTLE));
                    return step;
                }
                let side = duel_side(slot);
                self.duel_ops[side] += totals.ops.saturating_sub(self.epoch_start.ops);
                self.duel_wall_ns[side] += elapsed;
                let slot = slot + 1;
                let (incumbent_rate, candidate_rate) = (self.duel_rate(0), self.duel_rate(1));
                let finished = slot == 2 * DUEL_ROUNDS;
                let early = slot == 2 * DUEL_ABORT_ROUNDS;
                let hopeless = early && candidate_rate < incumbent_rate * ABORT_RATIO;
                let overwhelming = early && incumbent_rate < candidate_rate * ABORT_RATIO;
                if finished || hopeless || overwhelming {
                    let adopt = overwhelming
                        || (finished && candidate_rate > incumbent_rate * (1.0 + SWITCH_MARGIN));
                    let winner = if adopt {
                        step.adopted = Some(Adopted {
                            from: incumbent,
                            to: candidate,
                            before_ops_per_sec: (incumbent_rate * 1e9) as u64,
                            after_ops_per_sec: (candidate_rate * 1e9) as u64,
                        });
                        candidate
                    } else {
                        incumbent
                    };
                    self.next_duel(now, totals, winner, &mut step);
                } else {
                    self.phase = Phase::Duel {
                        incumbent,
                        candidate,
                        slot,
                        settling: true,
                    };
                    step.word = Some(MEASURING | run(slot));
                    step.next_epoch_end_ns = self.start_epoch(now, totals, ns(DUEL_SETTLE));
                }
            }
        }
        step
    }
}

/// Handed to each version: reports what the operation observed. Contention events (a failed
/// attempt, a wait) tell the dispatcher when to measure the versions again; an operation that
/// went through at once costs nothing.
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

    /// Reports an operation that needed `failed_attempts` extra attempts (failed CAS, busy
    /// lock); 0 is free.
    #[inline]
    pub fn contended(self, failed_attempts: u32) {
        if failed_attempts > 0 {
            self.event_cold(failed_attempts >= HOT_RETRIES);
        }
    }

    /// Reports an operation that waited `wait` before it could proceed (in a queue); a zero
    /// wait is free.
    #[inline]
    pub fn waited(self, wait: Duration) {
        if !wait.is_zero() {
            self.event_cold(wait >= QUEUED_HOT_WAIT);
        }
    }

    #[cold]
    #[inline(never)]
    fn event_cold(self, hot: bool) {
        let _ = TALLY.try_with(|t| t.add(self.dispatcher, hot));
    }

    /// Reports an operation that went through at its first attempt. Free: kept so versions can
    /// state it.
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

/// Every dispatcher that has run a search so far (the ones [`write_report`] reports).
pub fn dispatchers() -> Vec<&'static Dispatcher> {
    lock_ignoring_poison(&DISPATCHERS).clone()
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
///
/// Each yield reports the failed attempts before it as a contention event, and the
/// acquisition the ones since the last yield. A waiter that never gets the lock still reports:
/// with more threads than cores and a section that holds the lock nearly all the time (map
/// long, 4 threads on 2 cores, session 11), the holder re-takes the lock at once after each
/// release and the others spin and yield for whole bursts without acquiring it, so reporting
/// only at the acquisition told the dispatcher nothing (no search at all, while backoff was
/// faster).
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
                if failed == SPINS_BEFORE_YIELD {
                    probe.contended(failed);
                    failed = 0;
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
///
/// Like [`lock_spinning`], each yield reports the failed attempts before it, so a waiter that
/// does not get the lock for a long time still reports contention.
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
                    probe.contended(failed);
                    failed = 0;
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

/// Acquires `mutex` with the version `dispatcher` currently chooses: one relaxed load of the
/// mode word, then the version (counting the call for this thread's `sampler` only while the
/// dispatcher measures).
#[inline]
pub fn lock_adaptive<'m, T>(
    dispatcher: &'static Dispatcher,
    sampler: &'static LocalKey<Sampler>,
    mutex: &'m Mutex<T>,
) -> MutexGuard<'m, T> {
    match dispatcher.word() {
        0 => lock_spinning(mutex, dispatcher.probe(0)),
        1 => outlined(|| lock_backoff(mutex, dispatcher.probe(1))),
        2 => outlined(|| lock_blocking(mutex, dispatcher.probe(2))),
        word => lock_measured(dispatcher, sampler, mutex, word),
    }
}

/// Runs `f` in a function of its own that is never inlined: the dispatchers' arms for the
/// versions after version 0, and their measuring arm, call their version through it.
///
/// Why: when all versions are inlined into the dispatcher, the function they are inlined into
/// (the caller of the dispatcher) saves and restores the callee-saved registers and sets up the
/// stack frame that the largest version needs, on *every* call, also when it runs version 0
/// (LLVM does not shrink-wrap them into the arms). Measured in session 5 (AMD Zen 5 VM, the
/// counter at 1 thread): the bench's adaptive closure pushed 5 registers and adjusted `%rsp`
/// around an inlined optimistic CAS whose fixed closure pushes one, 8.5 against 7.4 ns per
/// operation. Out of line, the other arms are tail calls, and version 0's path is its own code
/// plus the mode load and a compare. Versions after 0 run when the data is contended, where a
/// call is small next to the cache-line transfer each operation makes.
#[inline(never)]
pub fn outlined<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// [`lock_adaptive`] while the dispatcher measures: the version, then the count.
///
/// Each version runs here the way [`lock_adaptive`]'s fast arm runs it: spinning (version 0)
/// inlined, backoff and blocking through [`outlined`]. With all three inlined into this
/// function, it would save the callee-saved registers and reserve the stack frame that the
/// largest of them needs on every measured call, version 0's too, so a duel would measure
/// version 0 slower than it runs outside a search (the macro's measuring arm had that
/// problem until session 10). Whether LLVM inlines them here depends on the caller's crate
/// and the lock's type, so the shape is written out rather than left to the inliner.
#[inline(never)]
fn lock_measured<'m, T>(
    dispatcher: &'static Dispatcher,
    sampler: &'static LocalKey<Sampler>,
    mutex: &'m Mutex<T>,
    word: u8,
) -> MutexGuard<'m, T> {
    let guard = match word & VERSION_MASK {
        0 => lock_spinning(mutex, dispatcher.probe(0)),
        1 => outlined(|| lock_backoff(mutex, dispatcher.probe(1))),
        _ => outlined(|| lock_blocking(mutex, dispatcher.probe(2))),
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
    /// Simulation step.
    const TICK: u64 = MS / 10;

    /// Drives a policy with versions of fixed throughput and contention-event rate (per
    /// millisecond), the way calls would: while measuring, every sample may end an epoch; while
    /// not, only an event flush (every `EVENT_BATCH` events) can.
    struct Sim {
        policy: Policy,
        now: u64,
        totals: Totals,
        flushed_events: u64,
        word: u8,
        next_end: u64,
        adopted: Vec<Adopted>,
        trials: u32,
        searches: u32,
        /// Time spent with each version running.
        time_in: [u64; 4],
        /// Time spent measuring.
        measuring_ns: u64,
    }

    impl Sim {
        fn new(versions: u8) -> Self {
            Self {
                policy: Policy::new(versions),
                now: 1,
                totals: Totals::default(),
                flushed_events: 0,
                word: 0,
                next_end: 0,
                adopted: Vec::new(),
                trials: 0,
                searches: 0,
                time_in: [0; 4],
                measuring_ns: 0,
            }
        }

        fn mode(&self) -> u8 {
            self.word & VERSION_MASK
        }

        fn run(&mut self, duration_ms: u64, per_ms: &[u64], events_per_ms: &[u64]) {
            let end = self.now + duration_ms * MS;
            while self.now < end {
                self.now += TICK;
                let mode = usize::from(self.mode());
                self.time_in[mode] += TICK;
                let measuring = self.word & MEASURING != 0;
                if measuring {
                    self.measuring_ns += TICK;
                    self.totals.busy_ns += TICK;
                    self.totals.ops += per_ms[mode] * TICK / MS;
                }
                self.totals.events += events_per_ms[mode] * TICK / MS;
                let flush = self.totals.events >= self.flushed_events + u64::from(EVENT_BATCH);
                if flush {
                    self.flushed_events = self.totals.events;
                }
                if (measuring || flush) && self.now >= self.next_end {
                    let step = self.policy.on_epoch_end(self.now, self.totals, self.mode());
                    if let Some(word) = step.word {
                        self.word = word;
                    }
                    self.searches += u32::from(step.search_started);
                    self.trials += u32::from(step.trial_started);
                    self.adopted.extend(step.adopted);
                    self.next_end = step.next_epoch_end_ns;
                }
            }
        }
    }

    #[test]
    fn without_contention_events_nothing_is_ever_measured() {
        let mut sim = Sim::new(3);
        sim.run(1000, &[1000, 1500, 3000], &[0, 0, 0]);
        assert_eq!(sim.word, 0);
        assert_eq!((sim.searches, sim.trials, sim.measuring_ns), (0, 0, 0));
    }

    #[test]
    fn contention_starts_a_search_that_adopts_the_fastest_version_then_stops_measuring() {
        let mut sim = Sim::new(3);
        sim.run(1000, &[1000, 1500, 3000], &[200, 100, 20]);
        assert_eq!(sim.word, 2, "not measuring, on the fastest version");
        assert_eq!(sim.searches, 1);
        assert!(!sim.adopted.is_empty());
        assert!(sim
            .adopted
            .iter()
            .all(|a| a.after_ops_per_sec > a.before_ops_per_sec));
        assert_eq!(sim.adopted.last().unwrap().to, 2);
        // One search: two duels of at most 2 * DUEL_ROUNDS slots with their settles.
        let duel = 2 * u64::from(DUEL_ROUNDS) * ns(DUEL_SLOT + DUEL_SETTLE) + 2 * TICK;
        assert!(sim.measuring_ns <= 2 * duel, "{} ns", sim.measuring_ns);
    }

    #[test]
    fn equal_versions_are_not_switched_and_a_steady_regime_is_searched_once() {
        let mut sim = Sim::new(3);
        sim.run(10_000, &[1000, 1000, 1000], &[200, 200, 200]);
        assert_eq!(sim.word, 0);
        assert!(sim.adopted.is_empty(), "{:?}", sim.adopted);
        assert_eq!((sim.searches, sim.trials), (1, 2));
    }

    #[test]
    fn a_hopeless_candidate_is_abandoned_early() {
        let mut sim = Sim::new(2);
        sim.run(1000, &[1000, 100], &[100, 100]);
        assert_eq!(sim.word, 0);
        assert!(sim.adopted.is_empty());
        // The slow version ran for its ABBA share of the first DUEL_ABORT_ROUNDS rounds.
        let slots = u64::from(DUEL_ABORT_ROUNDS);
        let limit = slots * ns(DUEL_SLOT + DUEL_SETTLE) + 4 * TICK;
        assert!(sim.time_in[1] <= limit, "{} ns", sim.time_in[1]);
    }

    #[test]
    fn a_far_faster_candidate_is_adopted_early() {
        let mut sim = Sim::new(2);
        sim.run(1000, &[250, 1000], &[100, 100]);
        assert_eq!(sim.word, 1);
        assert_eq!(sim.adopted.len(), 1);
        // The slow incumbent ran for its ABBA share of the first DUEL_ABORT_ROUNDS rounds only.
        let slots = u64::from(DUEL_ABORT_ROUNDS);
        let limit = slots * ns(DUEL_SLOT + DUEL_SETTLE) + 4 * TICK;
        let measuring = 2 * slots * ns(DUEL_SLOT + DUEL_SETTLE) + 4 * TICK;
        assert!(sim.measuring_ns <= measuring, "{} ns", sim.measuring_ns);
        assert!(sim.time_in[0] <= limit, "{} ns", sim.time_in[0]);
    }

    #[test]
    fn a_change_in_contention_starts_a_new_search_and_the_policy_comes_back() {
        let mut sim = Sim::new(3);
        sim.run(2000, &[1000, 2000, 500], &[400, 200, 40]);
        assert_eq!(sim.word, 1);
        let searches = sim.searches;
        // Contention mostly goes away (version 1's event rate drops 8x): version 0 is best
        // again, and the change starts a search.
        sim.run(2000, &[5000, 3000, 500], &[50, 25, 5]);
        assert_eq!(sim.word, 0);
        assert_eq!(sim.searches, searches + 1);
        let last = sim.adopted.last().unwrap();
        assert_eq!((last.from, last.to), (1, 0));
    }

    #[test]
    fn a_small_change_in_contention_does_not_start_a_search() {
        let mut sim = Sim::new(3);
        sim.run(2000, &[1000, 2000, 500], &[400, 200, 40]);
        let searches = sim.searches;
        sim.run(2000, &[1000, 2000, 500], &[400, 100, 40]);
        sim.run(2000, &[1000, 2000, 500], &[400, 300, 40]);
        assert_eq!(sim.searches, searches);
        assert_eq!(sim.word, 1);
    }

    #[test]
    fn a_lull_alone_does_not_start_a_search() {
        let mut sim = Sim::new(2);
        sim.run(1000, &[1000, 1000], &[100, 100]);
        assert_eq!(sim.searches, 1);
        // No calls for a second, then the same contention again.
        sim.now += 1000 * MS;
        sim.run(1000, &[1000, 1000], &[100, 100]);
        assert_eq!(sim.searches, 1);
        assert_eq!(sim.word, 0);
    }

    #[test]
    fn different_contention_after_a_lull_starts_a_search() {
        let mut sim = Sim::new(2);
        sim.run(1000, &[1000, 1000], &[100, 100]);
        assert_eq!(sim.searches, 1);
        // No calls for a second, then far more contention, under which version 1 is faster.
        sim.now += 1000 * MS;
        sim.run(1000, &[1000, 2000], &[1000, 1000]);
        assert_eq!(sim.searches, 2);
        assert_eq!(sim.word, 1);
    }

    #[test]
    fn searches_that_confirm_the_choice_lengthen_the_watch() {
        let mut policy = Policy::new(2);
        policy.search_from = 1;
        policy.untried = 0;
        let mut step = Step {
            word: None,
            search_started: false,
            trial_started: false,
            adopted: None,
            next_epoch_end_ns: 0,
        };
        policy.next_duel(MS, Totals::default(), 1, &mut step);
        assert_eq!(policy.watch_epoch_ns, 2 * ns(MIN_WATCH_EPOCH));
        policy.next_duel(MS, Totals::default(), 0, &mut step);
        assert_eq!(policy.watch_epoch_ns, ns(MIN_WATCH_EPOCH));
        assert_eq!(step.word, Some(0));
    }

    #[test]
    fn duel_slots_alternate_abba() {
        let sides: Vec<usize> = (0..8).map(duel_side).collect();
        assert_eq!(sides, [0, 1, 1, 0, 0, 1, 1, 0]);
    }

    // The dispatcher end to end (a measurably faster version is adopted, logged and reported)
    // is tested in hallows-macros/tests/multiversion_contention.rs.

    /// Contention events flushed to `d`'s shared count so far.
    fn flushed(d: &Dispatcher) -> u64 {
        d.shared.events.load(Ordering::Relaxed)
    }

    #[test]
    fn a_thread_that_exits_hands_over_the_events_it_tallied() {
        static D: Dispatcher = Dispatcher::new("tests::exit", 2);
        std::thread::spawn(|| {
            for _ in 0..3 {
                D.probe(0).contended(1);
            }
            // Fewer than a batch: nothing flushed while the thread runs.
            assert_eq!(flushed(&D), 0);
        })
        .join()
        .unwrap();
        assert_eq!(flushed(&D), 3);
    }

    #[test]
    fn hot_events_fill_the_batch_sooner() {
        static D: Dispatcher = Dispatcher::new("tests::hot", 2);
        std::thread::spawn(|| {
            let hot_per_batch = EVENT_BATCH.div_ceil(HOT_EVENT_WEIGHT);
            for _ in 1..hot_per_batch {
                D.probe(0).contended(HOT_RETRIES);
            }
            assert_eq!(flushed(&D), 0);
            D.probe(0).contended(HOT_RETRIES);
            assert_eq!(flushed(&D), u64::from(hot_per_batch));
            assert_eq!(
                D.shared.hot_ops.load(Ordering::Relaxed),
                u64::from(hot_per_batch)
            );
        })
        .join()
        .unwrap();
    }

    /// A waiter that does not get the lock reports contention while it waits (the holder here
    /// keeps the lock until the dispatcher has heard of it).
    fn waiter_reports_before_it_acquires(
        d: &'static Dispatcher,
        lock: fn(&Mutex<u64>, Probe) -> MutexGuard<'_, u64>,
    ) {
        let m = std::sync::Arc::new(Mutex::new(0u64));
        let held = m.lock().unwrap();
        let waiter = {
            let m = m.clone();
            std::thread::spawn(move || *lock(&m, d.probe(0)) += 1)
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while flushed(d) == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        let reported = flushed(d);
        drop(held);
        waiter.join().unwrap();
        assert!(
            reported > 0,
            "no contention reported while the lock was held"
        );
        assert_eq!(*m.lock().unwrap(), 1);
    }

    #[test]
    fn a_spinning_waiter_reports_before_it_acquires() {
        static D: Dispatcher = Dispatcher::new("tests::spinning_waiter", LOCK_VERSIONS);
        waiter_reports_before_it_acquires(&D, lock_spinning);
    }

    #[test]
    fn a_backoff_waiter_reports_before_it_acquires() {
        static D: Dispatcher = Dispatcher::new("tests::backoff_waiter", LOCK_VERSIONS);
        waiter_reports_before_it_acquires(&D, lock_backoff);
    }

    #[test]
    fn measured_lock_calls_run_every_version_exclusively_and_are_counted() {
        static D: Dispatcher = Dispatcher::new("tests::measured", LOCK_VERSIONS);
        std::thread_local! {
            static SAMPLER: Sampler = const { Sampler::new() };
        }
        // No decision in this test: the word stays as set.
        D.shared.epoch_end_ns.store(u64::MAX, Ordering::Relaxed);
        let m = std::sync::Arc::new(Mutex::new(0u64));
        for version in 0..LOCK_VERSIONS {
            D.mode.store(MEASURING | version, Ordering::Relaxed);
            let ops_before = D.shared.ops.load(Ordering::Relaxed);
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    let m = m.clone();
                    std::thread::spawn(move || {
                        for _ in 0..1000 {
                            let mut g = lock_adaptive(&D, &SAMPLER, &m);
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
            assert_eq!(D.word(), MEASURING | version);
            // Each thread's samples after its first count the calls between them (its second
            // comes MIN_SAMPLE_INTERVAL calls after the first).
            let counted = D.shared.ops.load(Ordering::Relaxed) - ops_before;
            assert!(
                (4 * u64::from(MIN_SAMPLE_INTERVAL)..=4000).contains(&counted),
                "version {version}: {counted} calls counted"
            );
        }
        assert_eq!(*m.lock().unwrap(), 3 * 4000);
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
