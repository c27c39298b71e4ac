//! Workers: the per-core scheduling loop, work routing (spawn, wake, steal), and the counters.
//!
//! The protocol is described in `README.md` beside this file; this module implements it:
//!
//! * [`Shared`] is everything workers and outside threads share: per-worker [`WorkerShared`]
//!   (stealer, inbox, cell, parker, counters), the global injector, the sleepers, the task
//!   registry, and the distance matrix from the topology.
//! * [`Worker`] is a worker thread's private state (its local queue's owner handle, the LIFO
//!   slot, its cell machine, idle accounting). A thread-local pointer to it lets wakers, spawns
//!   and fork-join code running on the worker reach it.

use super::cellular::{Cell as CellSlot, CellMachine, CellState, Observation};
use super::migration::MoveCandidate;
use super::park::{Parker, Sleepers};
use super::topology::{Distance, WorkerPlace};
use crate::padding::CachePadded;
use crate::queue::injector::Injector;
use crate::queue::local::{self, Local, Stealer};
use crate::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use crate::task::job::{steal_in_batches, JobHeader, JobRef, RunOutcome};
use crate::task::raw::{RunContext, TaskCell, TaskHeader, NO_HOME};
use crate::task::registry::Registry;
use crate::task::JoinHandle;
use core::cell::Cell;
use core::future::Future;
use core::ptr::NonNull;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Every this many ticks a worker looks at the global injector (and its inbox) before its local
/// queue, so work submitted from outside cannot starve behind a worker that keeps itself busy.
/// 61 is tokio's `global_queue_interval` default (a prime, so it does not beat with task cycles).
pub(crate) const GLOBAL_QUEUE_INTERVAL: u32 = 61;
/// Every this many ticks a worker checks its inbox (tasks woken elsewhere that stayed "home").
pub(crate) const INBOX_INTERVAL: u32 = 7;
/// Every this many ticks a busy worker re-evaluates its cell state.
pub(crate) const STATE_UPDATE_INTERVAL: u32 = 16;
/// Every this many ticks the poll is timed (feeds the footprint estimate and the mean poll time).
pub(crate) const POLL_SAMPLE_INTERVAL: u32 = 64;
/// The LIFO slot may be used this many times in a row before the worker goes back to its FIFO
/// queue (tokio's `MAX_LIFO_POLLS_PER_TICK`), so two tasks waking each other cannot starve the
/// rest of the queue.
pub(crate) const MAX_LIFO_STREAK: u32 = 3;
/// `spin_loop` hints before the last search preceding sleep: about a microsecond, enough to
/// catch a wake-up that is already on its way, far too short to burn a core (rayon #642).
pub(crate) const SPIN_BEFORE_SLEEP: u32 = 64;
/// A worker that runs out of work after a long busy stretch keeps looking, spinning, for up to
/// this fraction of that stretch before it parks (README "Parking"): work usually arrives again
/// soon in a busy phase (the next fork-join round, a task woken by a neighbour), and catching it
/// awake saves a futex round trip on both sides. Bounding the spin by a fraction of the busy
/// time keeps the CPU burnt while idle to at most 1/8 of the useful work (the rayon #642
/// failure is spinning regardless of how little work there was).
pub(crate) const BUSY_SPIN_DIVISOR: u32 = 8;
/// Upper bound of the spin while work arrives in quick succession (case 3 of README
/// "Parking"), about the cost of a park plus unpark on a VM.
pub(crate) const BUSY_SPIN_MAX: Duration = Duration::from_micros(50);
/// Upper bound of the spin after fork-join work (cases 1, 2 and 4 of README "Parking"; still at
/// most 1/[`BUSY_SPIN_DIVISOR`] of the busy stretch before it). Session 10 raised it from
/// [`BUSY_SPIN_MAX`]: quicksort's slowest rounds were the ones with extra parks, a worker that
/// ran dry mid-sort sleeping through work offered to it less than 200 µs later.
pub(crate) const FORK_JOIN_SPIN_MAX: Duration = Duration::from_micros(200);
/// A main-loop worker whose previous idle stretch was shorter than [`BUSY_SPIN_MAX`] (work
/// arrives in quick succession, e.g. a burst submitted task by task from outside) spins for up
/// to this many times that stretch before parking: the next arrival is predicted to come after
/// about as long, and a gap twice as long as the last one is taken as the burst being over.
pub(crate) const ARRIVAL_SPIN_FACTOR: u32 = 2;
/// While spinning after a busy stretch, look for work every this many `spin_loop` hints.
pub(crate) const BUSY_SPIN_CHECK_EVERY: u32 = 32;
/// The idle-share window: idle time is measured over roughly this long.
pub(crate) const IDLE_WINDOW: Duration = Duration::from_millis(2);
/// Most tasks pulled from the injector at once (its pulls gather at most
/// `injector::MAX_BATCH` on the stack).
pub(crate) const INJECTOR_BATCH: usize = 32;
const _: () = assert!(INJECTOR_BATCH <= crate::queue::injector::MAX_BATCH);
/// `join`s nested at least this deep (counted from the job the worker picked up) may keep their
/// second closure private while no worker wants work (README "Fork-join"): a subproblem that
/// deep is at most 1/256 of the job in a balanced recursion, and its join is about to be popped
/// back by its owner anyway.
pub(crate) const PRIVATE_JOIN_DEPTH: u32 = 8;
/// Most fork-join jobs a worker keeps private at once; deeper joins publish as usual.
pub(crate) const PRIVATE_JOIN_CAPACITY: usize = 64;

/// [`WorkerShared::activity`]: running a job.
pub(crate) const BUSY: u8 = 0;
/// [`WorkerShared::activity`]: out of work in the main loop; it produces no work until it finds
/// some.
pub(crate) const IDLE: u8 = 1;
/// [`WorkerShared::activity`]: out of work inside a fork-join wait (its stolen half is still
/// running elsewhere); it resumes its own computation, and publishes more of it, as soon as the
/// latch is set.
pub(crate) const JOIN_WAITING: u8 = 2;

/// Per-worker counters. Written only by the owning worker (load + store, no read-modify-write
/// on the hot path), read by anyone.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) polls: AtomicU64,
    pub(crate) spawns: AtomicU64,
    pub(crate) steals: AtomicU64,
    pub(crate) stolen_tasks: AtomicU64,
    pub(crate) far_steals: AtomicU64,
    pub(crate) migrations: AtomicU64,
    pub(crate) wake_pulls: AtomicU64,
    pub(crate) kept_home: AtomicU64,
    pub(crate) injector_pulls: AtomicU64,
    pub(crate) parks: AtomicU64,
    pub(crate) unparks: AtomicU64,
    pub(crate) to_hungry: AtomicU64,
    pub(crate) to_balanced: AtomicU64,
    pub(crate) to_saturated: AtomicU64,
    pub(crate) yields: AtomicU64,
    pub(crate) demotions: AtomicU64,
    pub(crate) panics: AtomicU64,
    pub(crate) overflows: AtomicU64,
    pub(crate) idle_ns: AtomicU64,
}

/// Adds `n` to a counter owned by the calling worker.
#[inline]
fn bump(counter: &AtomicU64, n: u64) {
    // ORDERING: Relaxed load + store: single writer (the owning worker); readers only want an
    // eventually-consistent number.
    counter.store(
        counter.load(Ordering::Relaxed).wrapping_add(n),
        Ordering::Relaxed,
    );
}

/// Adds `n` to a counter that several threads may update.
#[inline]
fn bump_shared(counter: &AtomicU64, n: u64) {
    // ORDERING: Relaxed: a statistic.
    counter.fetch_add(n, Ordering::Relaxed);
}

/// What every thread can see of one worker.
pub(crate) struct WorkerShared {
    pub(crate) stealer: Stealer<JobHeader>,
    /// Tasks woken elsewhere that the migration policy sent back to this worker.
    pub(crate) inbox: Injector<JobHeader>,
    pub(crate) cell: CellSlot,
    pub(crate) parker: Parker,
    pub(crate) counters: CachePadded<Counters>,
    pub(crate) pinned: AtomicBool,
    /// [`BUSY`], [`IDLE`] or [`JOIN_WAITING`]: whether the worker is out of work (searching,
    /// spinning or parked: between `begin_idle` and `end_idle`) and, if so, whether inside a
    /// fork-join wait. Owner writes, neighbours read at every `join` (README "Fork-join") and
    /// while spinning after fork-join work (README "Parking").
    pub(crate) activity: CachePadded<AtomicU8>,
    pub(crate) state_at_exit: AtomicU8,
}

/// Everything the workers of one runtime share.
pub(crate) struct Shared {
    pub(crate) workers: Box<[WorkerShared]>,
    pub(crate) injector: Injector<JobHeader>,
    pub(crate) sleepers: Sleepers,
    pub(crate) registry: Registry,
    pub(crate) places: Vec<WorkerPlace>,
    /// `distance[a][b]` between the CPUs of workers `a` and `b`.
    distance: Vec<Vec<Distance>>,
    /// Wake order per worker: neighbours nearest first, then the rest.
    wake_order: Vec<Vec<usize>>,
    /// Read by every worker on every tick: on a line of its own, so that the counters below
    /// (written by outside threads on every spawn, or by workers every few dozen polls) do not
    /// invalidate it (false sharing).
    shutdown: CachePadded<AtomicBool>,
    mean_poll_ns: CachePadded<AtomicU64>,
    external: CachePadded<ExternalCounters>,
}

/// Written by threads outside the workers on every spawn and wake they make.
struct ExternalCounters {
    /// Round-robin position for registry shards and wake-ups.
    rr: AtomicUsize,
    /// Spawns and wakes from outside the workers (not attributable to one worker).
    spawns: AtomicU64,
}

crate::sync::thread_local! {
    /// The worker running on this thread, if any.
    static CURRENT_WORKER: Cell<*const Worker> = const { Cell::new(core::ptr::null()) };
}

impl Shared {
    /// Builds the shared state and the owner halves of the local queues.
    pub(crate) fn new(places: Vec<WorkerPlace>) -> (Arc<Shared>, Vec<Local<JobHeader>>) {
        let n = places.len();
        let mut locals = Vec::with_capacity(n);
        let mut workers = Vec::with_capacity(n);
        for _ in 0..n {
            let (local, stealer) = local::new();
            locals.push(local);
            workers.push(WorkerShared {
                stealer,
                inbox: Injector::new(),
                cell: CellSlot::new(),
                parker: Parker::new(),
                counters: CachePadded::new(Counters::default()),
                pinned: AtomicBool::new(false),
                activity: CachePadded::new(AtomicU8::new(BUSY)),
                state_at_exit: AtomicU8::new(CellState::Balanced as u8),
            });
        }
        let mut distance = vec![vec![Distance::SameCpu; n]; n];
        let mut wake_order = Vec::with_capacity(n);
        for (w, place) in places.iter().enumerate() {
            for &(o, d) in place.neighbours.iter().chain(&place.far) {
                distance[w][o] = d;
            }
            wake_order.push(
                place
                    .neighbours
                    .iter()
                    .chain(&place.far)
                    .map(|p| p.0)
                    .collect(),
            );
        }
        let shared = Arc::new(Shared {
            workers: workers.into_boxed_slice(),
            injector: Injector::new(),
            sleepers: Sleepers::new(n),
            registry: Registry::new(),
            places,
            distance,
            wake_order,
            shutdown: CachePadded::new(AtomicBool::new(false)),
            mean_poll_ns: CachePadded::new(AtomicU64::new(1_000)),
            external: CachePadded::new(ExternalCounters {
                rr: AtomicUsize::new(0),
                spawns: AtomicU64::new(0),
            }),
        });
        (shared, locals)
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        // ORDERING: Acquire pairs with the SeqCst store in `begin_shutdown`.
        self.shutdown.load(Ordering::Acquire)
    }

    /// Sets the shutdown flag and wakes every worker.
    pub(crate) fn begin_shutdown(&self) {
        // ORDERING: SeqCst: sleepers re-check the flag after their SeqCst announce + fence, so
        // either they see it or they are parked and get the unpark below.
        self.shutdown.store(true, Ordering::SeqCst);
        for w in self.workers.iter() {
            w.parker.unpark();
        }
    }

    /// Spawns a future (from any thread).
    ///
    /// A new task is not registered (see [`Registry`]): it enters the registry at its first
    /// `Pending` (`TaskCell::after_pending`), so a task that finishes in its first poll — most
    /// spawned tasks, e.g. every task of a burst submitted from outside — costs no registry
    /// lock and no cache-line transfer of a registry shard between the spawner and the worker
    /// that completes it. Until then its only references are the queue's and the handle's;
    /// shutdown cancels it when it releases the queue reference (`drain_queues`).
    pub(crate) fn spawn<F>(self: &Arc<Self>, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        with_current_worker(|worker| match worker {
            Some(w) if Arc::ptr_eq(&w.shared, self) => {
                let task = TaskCell::new(future, self.clone(), w.index);
                // A worker's pushes are drained after the worker has stopped (the runtime joins
                // its workers before `drain_queues`), so they need no shutdown re-check.
                if let Some(job) = self.admit(&task) {
                    bump(&self.workers[w.index].counters.spawns, 1);
                    w.push_local(job);
                }
                JoinHandle::new(task)
            }
            _ => {
                let task = TaskCell::new(future, self.clone(), NO_HOME);
                if let Some(job) = self.admit(&task) {
                    bump_shared(&self.external.spawns, 1);
                    // The runtime closes the injector before its last drain (`Runtime`'s drop),
                    // so a spawn racing with shutdown either lands before that drain, which
                    // releases — and so cancels — the unregistered task, or gets it back here.
                    match self.injector.push_unless_closed(job.into_raw()) {
                        Ok(()) => self.notify_external(),
                        // SAFETY: the pointer just came from `into_raw` with its obligation,
                        // which the refused push hands back.
                        Err(p) => unsafe { JobRef::from_raw(p) }.release(),
                    }
                }
                JoinHandle::new(task)
            }
        })
    }

    /// A queue reference for a new task, or `None` (and the task cancelled) on a shut-down
    /// runtime.
    fn admit<F>(&self, task: &Arc<TaskCell<F>>) -> Option<JobRef>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        use crate::task::raw::RegisteredTask;
        if self.is_shutdown() {
            task.cancel();
            return None;
        }
        Some(task.job_ref())
    }

    /// Routes a task that was just woken (state already set to scheduled).
    pub(crate) fn schedule_woken(&self, job: JobRef, header: &TaskHeader) {
        if self.is_shutdown() {
            job.release();
            return;
        }
        // ORDERING: Relaxed: written by the task's last runner; a stale value only affects
        // placement, never correctness.
        let home = header.home.load(Ordering::Relaxed);
        with_current_worker(|worker| match worker {
            Some(w) if core::ptr::eq(Arc::as_ptr(&w.shared), self) => {
                if home == w.index || home == NO_HOME {
                    w.push_lifo(job);
                    return;
                }
                let candidate = MoveCandidate {
                    footprint_bytes: header.footprint(),
                    distance: self.distance[home][w.index],
                    home_queue_len: self.workers[home].stealer.len()
                        + self.workers[home].inbox.len(),
                    here_queue_len: w.local.len(),
                    home_asleep: self.sleepers.is_asleep(home),
                    // ORDERING: Relaxed: an estimate.
                    mean_poll_ns: self.mean_poll_ns.load(Ordering::Relaxed),
                };
                let counters = &self.workers[w.index].counters;
                if candidate.pays_off() {
                    bump(&counters.wake_pulls, 1);
                    w.push_lifo(job);
                } else {
                    bump(&counters.kept_home, 1);
                    self.workers[home].inbox.push(job.into_raw());
                    self.wake_worker_or_any(home, Some(w.index));
                }
            }
            _ => {
                bump_shared(&self.external.spawns, 1);
                if home == NO_HOME {
                    self.injector.push(job.into_raw());
                    self.notify_external();
                } else {
                    self.workers[home].inbox.push(job.into_raw());
                    self.wake_worker_or_any(home, None);
                }
            }
        })
    }

    /// After queuing work for `target`: wake it if it sleeps, else let [`Shared::notify`] decide.
    fn wake_worker_or_any(&self, target: usize, from: Option<usize>) {
        // ORDERING: SeqCst fence between publishing the inbox push and the Relaxed read of the
        // target's sleep flag (its `announce` is SeqCst and followed by a fence): the producer
        // side of the park protocol for a specific worker (README "Parking"). Cold path: only
        // wake-ups that the migration policy sends home.
        fence(Ordering::SeqCst);
        if self.sleepers.is_asleep(target) {
            if self.sleepers.wake_one(core::iter::once(target)).is_some() {
                self.unpark(target, from);
            }
        } else {
            self.notify(from);
        }
    }

    /// Step P2/P3 of the park protocol: after publishing work, wake one sleeper if nobody is
    /// already searching. Costs two loads when nobody sleeps (the busy path).
    #[inline]
    pub(crate) fn notify(&self, from: Option<usize>) {
        if self.sleepers.should_wake() {
            self.notify_cold(from);
        }
    }

    /// [`Shared::notify`] for work injected from outside the workers. The searching throttle
    /// is relaxed to "no more searchers than queued injections": a burst submitted from outside
    /// wakes as many sleepers as it has tasks at once, instead of one after the other through
    /// step W3 (each wake-up costs a futex round trip).
    pub(crate) fn notify_external(&self) {
        if self.sleepers.should_wake_for(self.injector.len()) {
            self.notify_cold(None);
        }
    }

    #[cold]
    fn notify_cold(&self, from: Option<usize>) {
        let woken = match from {
            Some(w) => self.sleepers.wake_one(self.wake_order[w].iter().copied()),
            None => {
                let n = self.workers.len();
                // ORDERING: Relaxed: only spreads wake-ups.
                let start = self.external.rr.fetch_add(1, Ordering::Relaxed) % n;
                self.sleepers.wake_one((0..n).map(|i| (start + i) % n))
            }
        };
        if let Some(v) = woken {
            self.unpark(v, from);
        }
    }

    fn unpark(&self, target: usize, from: Option<usize>) {
        if let Some(f) = from {
            bump(&self.workers[f].counters.unparks, 1);
        }
        self.workers[target].parker.unpark();
    }

    /// True if any queue holds work. Called by a would-be sleeper after its SeqCst fence.
    fn has_work(&self) -> bool {
        !self.injector.is_empty()
            || self
                .workers
                .iter()
                .any(|w| !w.stealer.is_empty() || !w.inbox.is_empty())
    }

    /// Folds a sampled poll time into the runtime's mean.
    fn record_poll_ns(&self, ns: u64) {
        // ORDERING: Relaxed: an estimate; concurrent updates may lose one sample.
        let old = self.mean_poll_ns.load(Ordering::Relaxed);
        self.mean_poll_ns
            .store(old - old / 8 + ns / 8, Ordering::Relaxed);
    }

    /// Releases every queued job (after the workers have stopped).
    pub(crate) fn drain_queues(&self) {
        loop {
            let mut jobs: Vec<core::ptr::NonNull<JobHeader>> = self.injector.drain();
            for w in self.workers.iter() {
                while w.stealer.steal_half(&mut jobs) > 0 {}
                jobs.extend(w.inbox.drain());
            }
            if jobs.is_empty() {
                return;
            }
            for p in jobs {
                // SAFETY: every pointer in a queue came from `JobRef::into_raw` and carries its
                // run-or-release obligation, which we discharge here.
                unsafe { JobRef::from_raw(p) }.release();
            }
        }
    }

    /// Spawns and wakes made from outside the workers so far.
    pub(crate) fn external_spawns(&self) -> u64 {
        // ORDERING: Relaxed: a statistic.
        self.external.spawns.load(Ordering::Relaxed)
    }

    /// The number of workers.
    pub(crate) fn num_workers(&self) -> usize {
        self.workers.len()
    }
}

/// The current thread's worker, if it is one, without the closure of [`with_current_worker`].
///
/// # Safety
///
/// The caller must not keep the reference beyond its own frame, and must not send it to
/// another thread. `Worker::run` sets the pointer to a `Worker` on its stack and clears it
/// before that frame ends, so any frame on this thread that sees it non-null ends first.
#[inline]
pub(crate) unsafe fn current_worker<'a>() -> Option<&'a Worker> {
    let ptr = CURRENT_WORKER.with(|c| c.get());
    // SAFETY: valid (or null) for the caller's frame, per the contract above; only this thread
    // reads the pointer.
    unsafe { ptr.as_ref() }
}

/// Runs `f` with the current thread's worker, if it is one.
pub(crate) fn with_current_worker<R>(f: impl FnOnce(Option<&Worker>) -> R) -> R {
    let ptr = CURRENT_WORKER.with(|c| c.get());
    // SAFETY: the pointer is set by `Worker::run` to a `Worker` on that thread's stack and
    // cleared before it is dropped; only this thread reads it, so it is valid (or null) here.
    f(unsafe { ptr.as_ref() })
}

/// A worker thread's private state.
pub(crate) struct Worker {
    pub(crate) index: usize,
    pub(crate) shared: Arc<Shared>,
    /// `&shared.workers[index].parker`, computed once: every `join` stores it in its latch.
    pub(crate) parker: *const Parker,
    pub(crate) local: Local<JobHeader>,
    lifo: Cell<Option<JobRef>>,
    lifo_streak: Cell<u32>,
    tick: Cell<u32>,
    machine: Cell<CellMachine>,
    searching: Cell<bool>,
    /// A task just yielded: look at the global queues first on the next tick.
    global_first: Cell<bool>,
    window_start: Cell<Instant>,
    window_idle_ns: Cell<u64>,
    idle_permille: Cell<u32>,
    idle_since: Cell<Option<Instant>>,
    /// When the worker last stopped being idle.
    busy_since: Cell<Instant>,
    /// How long the worker was busy before its current idle stretch began.
    last_busy_run: Cell<Duration>,
    /// How long its previous idle stretch lasted (`Duration::MAX` before the first one).
    last_idle: Cell<Duration>,
    /// Fork-join jobs of this worker's own `join` frames not yet published (oldest first, the
    /// first `private_len` entries); see [`Worker::try_push_private`]. A fixed array of `Cell`s
    /// rather than a `RefCell<Vec>`: pushing and popping are on the path of every deep `join`,
    /// where a borrow flag and a growable vector cost as much as the rest of the join.
    private: [Cell<Option<NonNull<JobHeader>>>; PRIVATE_JOIN_CAPACITY],
    private_len: Cell<usize>,
    /// How many `join` frames are active on this worker's stack.
    pub(crate) join_depth: Cell<u32>,
    /// Inside [`Worker::wait_until`]: idleness is published as [`JOIN_WAITING`].
    in_join_wait: Cell<bool>,
    /// The last job this worker finished in its main loop was fork-join work (a stolen `join`
    /// half, a scope job, a fork-join call shipped in from outside): it spins before parking
    /// while a neighbour is still computing (README "Parking").
    ran_fork_join: Cell<bool>,
    /// The last fork-join job completed work that a thread outside the workers was blocked on
    /// (a cold `join`'s half, a shipped-in `scope`): that thread usually submits its next
    /// parallel step at once, so the worker spins before parking even with no neighbour
    /// computing (README "Parking", case 4).
    pub(crate) served_caller: Cell<bool>,
}

/// Something a waiting worker can check before sleeping (a fork-join latch).
pub(crate) trait WakeCondition {
    fn is_met(&self) -> bool;
}

impl Worker {
    pub(crate) fn new(index: usize, shared: Arc<Shared>, local: Local<JobHeader>) -> Worker {
        let parker: *const Parker = &shared.workers[index].parker;
        Worker {
            index,
            shared,
            parker,
            local,
            lifo: Cell::new(None),
            lifo_streak: Cell::new(0),
            tick: Cell::new(0),
            machine: Cell::new(CellMachine::new()),
            searching: Cell::new(false),
            global_first: Cell::new(false),
            window_start: Cell::new(Instant::now()),
            window_idle_ns: Cell::new(0),
            idle_permille: Cell::new(0),
            idle_since: Cell::new(None),
            busy_since: Cell::new(Instant::now()),
            last_busy_run: Cell::new(Duration::ZERO),
            last_idle: Cell::new(Duration::MAX),
            private: [const { Cell::new(None) }; PRIVATE_JOIN_CAPACITY],
            private_len: Cell::new(0),
            join_depth: Cell::new(0),
            in_join_wait: Cell::new(false),
            ran_fork_join: Cell::new(false),
            served_caller: Cell::new(false),
        }
    }

    fn me(&self) -> &WorkerShared {
        &self.shared.workers[self.index]
    }

    /// The worker loop: runs until shutdown.
    pub(crate) fn run(&self) {
        struct ClearOnExit;
        impl Drop for ClearOnExit {
            fn drop(&mut self) {
                CURRENT_WORKER.with(|c| c.set(core::ptr::null()));
            }
        }
        CURRENT_WORKER.with(|c| c.set(self as *const Worker));
        let _clear = ClearOnExit;
        while !self.shared.is_shutdown() {
            if let Some(job) = self.next_local().or_else(|| self.search()) {
                self.run_job(job);
            } else {
                self.sleep(None);
            }
        }
        if let Some(job) = self.lifo.take() {
            job.release();
        }
        debug_assert!(
            self.private_len.get() == 0,
            "private jobs outlive their joins"
        );
        self.end_idle();
        self.me()
            .state_at_exit
            // ORDERING: Relaxed: read after this thread is joined.
            .store(self.machine.get().state() as u8, Ordering::Relaxed);
    }

    /// Runs one job and handles what it asks for afterwards.
    pub(crate) fn run_job(&self, job: JobRef) {
        self.end_idle();
        if self.searching.replace(false) && self.shared.sleepers.stop_searching() {
            // The last searcher found work: if more is queued, pass the baton (README step W3).
            // ORDERING: SeqCst fence after the SeqCst decrement of `searching`: a producer that
            // saw us still searching (and so woke nobody) published its work before that load,
            // and this fence makes the checks below see it.
            fence(Ordering::SeqCst);
            if !self.local.is_empty() || !self.shared.injector.is_empty() {
                self.shared.notify(Some(self.index));
            }
        }
        let tick = self.tick.get();
        let mut rc = RunContext {
            worker: self.index,
            sample: tick.is_multiple_of(POLL_SAMPLE_INTERVAL),
            ..RunContext::default()
        };
        let counters = &self.me().counters;
        // Counted before the run: the run may complete a join or a `block_on` whose caller then
        // reads the stats, and it must see this job counted.
        bump(&counters.polls, 1);
        let fork_join = job.is_fork_join();
        let outcome = job.run(&mut rc);
        // Set after the run, so that jobs run inside it (a nested `wait_until`) do not decide
        // it for the outer one.
        self.ran_fork_join.set(fork_join);
        if !fork_join {
            self.served_caller.set(false);
        }
        if rc.migrated {
            bump(&counters.migrations, 1);
        }
        if rc.panicked {
            bump(&counters.panics, 1);
        }
        if let Some(ns) = rc.poll_ns {
            self.shared.record_poll_ns(ns);
        }
        if let RunOutcome::Yielded { job, demote } = outcome {
            bump(&counters.yields, 1);
            // A yield is an invitation to let others run: work waiting in the global queues
            // (submitted from outside) gets the next tick.
            self.global_first.set(true);
            if demote {
                bump(&counters.demotions, 1);
                self.shared.injector.push(job.into_raw());
                self.shared.notify(Some(self.index));
            } else {
                self.push_local(job);
            }
        }
    }

    /// Next job from this worker's own sources (LIFO slot, local queue, inbox, and the injector
    /// every [`GLOBAL_QUEUE_INTERVAL`] ticks).
    pub(crate) fn next_local(&self) -> Option<JobRef> {
        let tick = self.tick.get().wrapping_add(1);
        self.tick.set(tick);
        if tick.is_multiple_of(STATE_UPDATE_INTERVAL) {
            self.update_state(false);
        }
        if tick.is_multiple_of(GLOBAL_QUEUE_INTERVAL) || self.global_first.replace(false) {
            if let Some(job) = self.pull_inbox().or_else(|| self.pull_global()) {
                return Some(job);
            }
        }
        if let Some(job) = self.lifo.take() {
            if self.lifo_streak.get() < MAX_LIFO_STREAK {
                self.lifo_streak.set(self.lifo_streak.get() + 1);
                return Some(job);
            }
            self.push_local(job);
        }
        self.lifo_streak.set(0);
        if tick.is_multiple_of(INBOX_INTERVAL) {
            if let Some(job) = self.pull_inbox() {
                return Some(job);
            }
        }
        if let Some(p) = self.local.pop_front() {
            // SAFETY: queue entries are `JobRef::into_raw` pointers with their obligation.
            return Some(unsafe { JobRef::from_raw(p) });
        }
        self.pull_inbox().or_else(|| self.pull_global())
    }

    fn pull_inbox(&self) -> Option<JobRef> {
        let p = self
            .me()
            .inbox
            .pop_batch_into(&self.local, INJECTOR_BATCH)?;
        // SAFETY: as in `next_local`.
        Some(unsafe { JobRef::from_raw(p) })
    }

    fn pull_global(&self) -> Option<JobRef> {
        let injector = &self.shared.injector;
        if injector.is_empty() {
            return None;
        }
        // Rounded up, so that each of `n` workers woken for `n` queued jobs (a cold `join`'s two
        // halves, a small burst) takes one instead of the first taking two.
        let fair_share = injector.len().div_ceil(self.shared.num_workers());
        let p = injector.pop_batch_into(&self.local, fair_share.min(INJECTOR_BATCH))?;
        bump(&self.me().counters.injector_pulls, 1);
        // SAFETY: as in `next_local`.
        Some(unsafe { JobRef::from_raw(p) })
    }

    /// Pushes at the back of the local queue (overflowing half of it to the injector when full)
    /// and wakes a sleeper if one should help.
    pub(crate) fn push_local(&self, job: JobRef) {
        if let Err(p) = self.local.push(job.into_raw()) {
            self.overflow_cold(p);
        }
        self.shared.notify(Some(self.index));
    }

    #[cold]
    fn overflow_cold(&self, p: core::ptr::NonNull<JobHeader>) {
        bump(&self.me().counters.overflows, 1);
        let mut half = Vec::with_capacity(local::CAPACITY / 2 + 1);
        self.local.take_half(&mut half);
        half.push(p);
        self.shared.injector.push_batch(half);
    }

    /// True if a neighbour is out of work and would steal a published job. Far workers steal
    /// only when their whole neighbourhood is hungry (README "Stealing"), so neighbours are
    /// the ones to ask.
    #[inline]
    pub(crate) fn neighbour_idle(&self) -> bool {
        let workers = &self.shared.workers;
        // ORDERING: Relaxed: advice. A stale `false` only keeps a job private until this
        // worker's next join or pop-back, where the flags are read again; the job is never
        // lost (its owner runs it).
        self.shared.places[self.index]
            .neighbours
            .iter()
            .any(|&(v, _)| workers[v].activity.load(Ordering::Relaxed) != BUSY)
    }

    /// True if a neighbour is running a job or waiting in a fork-join, i.e. may publish
    /// fork-join work soon (a `join`'s second half, or private jobs once it sees us idle).
    fn neighbour_computing(&self) -> bool {
        let workers = &self.shared.workers;
        // ORDERING: Relaxed: advice for how long to spin; a stale value only makes the worker
        // park early (it is woken through the park protocol) or spin a little longer.
        self.shared.places[self.index]
            .neighbours
            .iter()
            .any(|&(v, _)| workers[v].activity.load(Ordering::Relaxed) != IDLE)
    }

    /// Lazy publication of a fork-join job (README "Fork-join"): keeps `job` on this worker's
    /// private stack instead of the stealable queue, so pushing and popping it back costs no
    /// atomic read-modify-write. Only for `join`s of this worker's own stack frames, and only
    /// while no worker wants work; [`Worker::publish_private`] moves the stack to the queue as
    /// soon as one does. Gives `job` back when the stack is full.
    ///
    /// This is the private-deque idea of Acar, Charguéraud & Rainey ("Scheduling parallel
    /// programs by work stealing with private deques", PPoPP 2013) with the owner polling at
    /// every join, and the split-only-when-someone-is-idle rule of lazy binary splitting
    /// (Tzannes et al., PPoPP 2010).
    #[inline]
    pub(crate) fn try_push_private(&self, job: JobRef) -> Result<(), JobRef> {
        let len = self.private_len.get();
        let Some(slot) = self.private.get(len) else {
            return Err(job);
        };
        slot.set(Some(job.into_raw()));
        self.private_len.set(len + 1);
        Ok(())
    }

    /// Pops `p` if it is the newest private job; false if it was published meanwhile.
    #[inline]
    pub(crate) fn pop_private_if(&self, p: NonNull<JobHeader>) -> bool {
        let len = self.private_len.get();
        if len > 0 && self.private[len - 1].get() == Some(p) {
            self.private_len.set(len - 1);
            true
        } else {
            debug_assert!(
                !self.private[..len].iter().any(|c| c.get() == Some(p)),
                "join frames pop in LIFO order"
            );
            false
        }
    }

    /// Moves every private job (oldest first) to the back of the stealable queue and wakes a
    /// sleeper if one should help. The empty check is inlined into every `join`; the move is
    /// not.
    #[inline]
    pub(crate) fn publish_private(&self) {
        if self.private_len.get() != 0 {
            self.publish_private_cold();
        }
    }

    #[inline(never)]
    fn publish_private_cold(&self) {
        let len = self.private_len.replace(0);
        for p in self.private[..len].iter().filter_map(Cell::take) {
            if let Err(p) = self.local.push(p) {
                self.overflow_cold(p);
            }
        }
        self.shared.notify(Some(self.index));
    }

    /// Puts a just-woken task in the LIFO slot (it runs next); the previous occupant moves to
    /// the local queue.
    pub(crate) fn push_lifo(&self, job: JobRef) {
        if let Some(prev) = self.lifo.replace(Some(job)) {
            self.push_local(prev);
        }
    }

    /// Feeds an observation to the cell machine and publishes a change.
    fn update_state(&self, out_of_work: bool) {
        let now = Instant::now();
        let start = self.window_start.get();
        let elapsed = now.saturating_duration_since(start);
        let mut idle = self.window_idle_ns.get();
        if let Some(since) = self.idle_since.get() {
            idle += now.saturating_duration_since(since).as_nanos() as u64;
            self.idle_since.set(Some(now));
            bump(
                &self.me().counters.idle_ns,
                now.saturating_duration_since(since).as_nanos() as u64,
            );
        }
        let elapsed_ns = (elapsed.as_nanos() as u64).max(1);
        if elapsed >= IDLE_WINDOW {
            let permille = (idle.min(elapsed_ns) * 1000 / elapsed_ns) as u32;
            // Smooth across windows: half old, half new.
            self.idle_permille
                .set((self.idle_permille.get() + permille) / 2);
            self.window_start.set(now);
            idle = 0;
        }
        self.window_idle_ns.set(idle);
        let obs = Observation {
            queue_len: self.local.len(),
            idle_permille: self.idle_permille.get(),
            out_of_work,
        };
        let mut machine = self.machine.get();
        if let Some(state) = machine.observe(obs) {
            self.me().cell.publish(state);
            let c = &self.me().counters;
            bump(
                match state {
                    CellState::Hungry => &c.to_hungry,
                    CellState::Balanced => &c.to_balanced,
                    CellState::Saturated => &c.to_saturated,
                },
                1,
            );
        }
        self.machine.set(machine);
    }

    fn begin_idle(&self) {
        if self.idle_since.get().is_none() {
            let now = Instant::now();
            self.idle_since.set(Some(now));
            self.last_busy_run
                .set(now.saturating_duration_since(self.busy_since.get()));
            let activity = if self.in_join_wait.get() {
                JOIN_WAITING
            } else {
                IDLE
            };
            // ORDERING: Relaxed: advice for `neighbour_idle` and `neighbour_computing` (see
            // there).
            self.me().activity.store(activity, Ordering::Relaxed);
        }
    }

    fn end_idle(&self) {
        if let Some(since) = self.idle_since.take() {
            // ORDERING: Relaxed, as in `begin_idle`.
            self.me().activity.store(BUSY, Ordering::Relaxed);
            let now = Instant::now();
            self.busy_since.set(now);
            let idle = now.saturating_duration_since(since);
            self.last_idle.set(idle);
            let ns = idle.as_nanos() as u64;
            self.window_idle_ns.set(self.window_idle_ns.get() + ns);
            bump(&self.me().counters.idle_ns, ns);
        }
    }

    /// The cellular search: saturated neighbours, then neighbours with any work, then — only if
    /// the whole neighbourhood is hungry — farther workers, then the global queues.
    pub(crate) fn search(&self) -> Option<JobRef> {
        self.begin_idle();
        if self.machine.get().state() != CellState::Hungry {
            self.update_state(true);
        }
        let place = &self.shared.places[self.index];
        let workers = &self.shared.workers;
        for &(v, _) in &place.neighbours {
            if workers[v].cell.read() == CellState::Saturated {
                if let Some(job) = self.steal_from(v, false) {
                    return Some(job);
                }
            }
        }
        let mut starved = true;
        for &(v, _) in &place.neighbours {
            if workers[v].cell.read() != CellState::Hungry {
                starved = false;
            }
            if let Some(job) = self.steal_from(v, false) {
                return Some(job);
            }
        }
        if starved {
            for pass_saturated in [true, false] {
                for &(v, _) in &place.far {
                    if pass_saturated && workers[v].cell.read() != CellState::Saturated {
                        continue;
                    }
                    if let Some(job) = self.steal_from(v, true) {
                        return Some(job);
                    }
                }
            }
        }
        self.pull_global()
            .or_else(|| self.pull_inbox())
            .or_else(|| {
                // Inboxes of others: tasks kept "home" whose home is busy must not wait forever.
                place
                    .neighbours
                    .iter()
                    .chain(&place.far)
                    .find_map(|&(v, _)| {
                        let p = workers[v]
                            .inbox
                            .pop_batch_into(&self.local, INJECTOR_BATCH)?;
                        // SAFETY: as in `next_local`.
                        Some(unsafe { JobRef::from_raw(p) })
                    })
            })
    }

    fn steal_from(&self, victim: usize, far: bool) -> Option<JobRef> {
        let stealer = &self.shared.workers[victim].stealer;
        if stealer.is_empty() {
            return None;
        }
        let before = self.local.len();
        let p = stealer.steal_into_with(&self.local, steal_in_batches)?;
        let c = &self.me().counters;
        bump(&c.steals, 1);
        bump(&c.stolen_tasks, (self.local.len() - before + 1) as u64);
        if far {
            bump(&c.far_steals, 1);
        }
        // SAFETY: as in `next_local`.
        Some(unsafe { JobRef::from_raw(p) })
    }

    /// Sleeps until woken (README steps S1–S5). With a `condition`, returns as soon as it holds.
    pub(crate) fn sleep(&self, condition: Option<&dyn WakeCondition>) {
        self.begin_idle();
        for _ in 0..SPIN_BEFORE_SLEEP {
            crate::sync::spin_loop();
        }
        if condition.is_some_and(|c| c.is_met()) {
            return;
        }
        // Spin before parking only when work is expected soon (README "Parking"): in a
        // fork-join wait; in the main loop right after a fork-join job while a neighbour is
        // still computing (it publishes the rest of the computation to idle neighbours at its
        // next `join`); or in the main loop while work arrives in quick succession. Otherwise
        // the main loop parks at once, so idle workers do not compete for a CPU with threads
        // outside the runtime (on a 2-core machine the `block_on` caller submitting the next
        // batch is such a thread).
        let busy_budget = (self.last_busy_run.get() / BUSY_SPIN_DIVISOR).min(FORK_JOIN_SPIN_MAX);
        let spin = match condition {
            Some(c) => self.spin_for(Some(c), busy_budget, false),
            None => {
                let served_caller = self.served_caller.replace(false);
                let after_fork_join =
                    self.ran_fork_join.get() && (served_caller || self.neighbour_computing());
                let gap = self.last_idle.get();
                if gap < BUSY_SPIN_MAX {
                    let budget = (gap * ARRIVAL_SPIN_FACTOR).min(BUSY_SPIN_MAX);
                    let budget = if after_fork_join {
                        budget.max(busy_budget)
                    } else {
                        budget
                    };
                    self.spin_for(None, budget, false)
                } else {
                    // After serving an outside caller, nobody in the runtime may be left
                    // computing, but the caller is about to submit more: no neighbour watch.
                    after_fork_join && self.spin_for(None, busy_budget, !served_caller)
                }
            }
        };
        if spin {
            return;
        }
        if let Some(job) = self.next_local().or_else(|| self.search()) {
            self.run_job(job);
            return;
        }
        let sleepers = &self.shared.sleepers;
        if self.searching.replace(false) {
            sleepers.stop_searching();
        }
        // S1: announce.
        sleepers.announce(self.index);
        // ORDERING: SeqCst fence between the announce and the re-check loads; producers publish
        // work with SeqCst and then SeqCst-load the sleeper count (`Sleepers::should_wake`), so
        // one side always sees the other.
        fence(Ordering::SeqCst);
        // S2: re-check.
        let must_stay_up = self.shared.is_shutdown()
            || self.shared.has_work()
            || condition.is_some_and(|c| c.is_met());
        if !must_stay_up {
            bump(&self.me().counters.parks, 1);
            // S4: park. Any token (a claim by a producer, a latch, shutdown) ends it.
            self.me().parker.park();
        }
        // S3/S5: withdraw; if a producer claimed us we now count as searching.
        if !sleepers.retract(self.index) {
            self.searching.set(true);
        }
    }

    /// Spins (reading queue words only, yielding the CPU between checks) for up to `budget`,
    /// counted from the start of the idle stretch. Returns true as soon as work or `condition`
    /// shows up. With `watch_neighbours` (the main loop after fork-join work) it also gives up,
    /// returning false, once no neighbour is computing any more: nobody is left to publish
    /// fork-join work.
    fn spin_for(
        &self,
        condition: Option<&dyn WakeCondition>,
        budget: Duration,
        watch_neighbours: bool,
    ) -> bool {
        let Some(since) = self.idle_since.get() else {
            return false;
        };
        let deadline = since + budget;
        while Instant::now() < deadline {
            for _ in 0..BUSY_SPIN_CHECK_EVERY {
                crate::sync::spin_loop();
            }
            if condition.is_some_and(|c| c.is_met())
                || self.shared.has_work()
                || self.shared.is_shutdown()
            {
                return true;
            }
            if watch_neighbours && !self.neighbour_computing() {
                return false;
            }
            // Let a runnable thread on this CPU go first (e.g. the `block_on` caller about to
            // submit the next round): a pure spin would hold the CPU until preempted.
            crate::sync::thread::yield_now();
        }
        false
    }

    /// Runs other work until `condition` holds (used by fork-join while its stolen half runs).
    pub(crate) fn wait_until(&self, condition: &dyn WakeCondition) {
        // Jobs of outer join frames must be stealable (and poppable by us) while we wait.
        self.publish_private();
        let outer = self.in_join_wait.replace(true);
        while !condition.is_met() {
            if let Some(job) = self.next_local().or_else(|| self.search()) {
                self.run_job(job);
            } else {
                self.sleep(Some(condition));
            }
        }
        self.end_idle();
        self.in_join_wait.set(outer);
    }
}
