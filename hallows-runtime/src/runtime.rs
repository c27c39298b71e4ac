//! The user-facing runtime: [`Runtime`], its [`Builder`], [`Handle`], the free functions
//! [`spawn`] and [`yield_now`], and the per-core statistics ([`RuntimeStats`]).
//!
//! ```
//! use hallows_runtime::Runtime;
//!
//! let rt = Runtime::builder().workers(2).build()?;
//! let sum = rt.block_on(async {
//!     let handles: Vec<_> = (0..10_u64).map(|i| hallows_runtime::spawn(async move { i * i })).collect();
//!     let mut sum = 0;
//!     for h in handles {
//!         sum += h.await;
//!     }
//!     sum
//! });
//! assert_eq!(sum, 285);
//! let stats = rt.stats();
//! assert_eq!(stats.workers.len(), 2);
//! // The ten spawns came from outside the workers (the `block_on` thread).
//! assert!(stats.external_submissions >= 10);
//! # Ok::<(), hallows_runtime::BuildError>(())
//! ```

use crate::scheduler::cellular::CellState;
use crate::scheduler::park::Parker;
use crate::scheduler::topology::{pin_current_thread, place_workers, NeighbourhoodShape, Topology};
use crate::scheduler::worker::{with_current_worker, Shared, Worker};
use crate::sync::atomic::Ordering;
use crate::task::JoinHandle;
use core::cell::RefCell;
use core::fmt;
use core::future::Future;
use core::pin::{pin, Pin};
use core::task::{Context, Poll, Waker};
use std::io;
use std::sync::Arc;
use std::task::Wake;

/// Most workers a runtime accepts (a sanity bound: far above any machine this targets, low
/// enough that a typo such as `workers(1_000_000)` is an error rather than a million threads).
pub const MAX_WORKERS: usize = 1024;

crate::sync::thread_local! {
    /// The runtime whose context this thread is in (worker threads, and `block_on` callers).
    static CONTEXT: RefCell<Option<Arc<Shared>>> = const { RefCell::new(None) };
}

/// The runtime of the current context, if any.
pub(crate) fn current_shared() -> Option<Arc<Shared>> {
    CONTEXT.with(|c| c.borrow().clone())
}

/// Sets the context for the guard's lifetime, restoring the previous one after.
struct EnterGuard {
    previous: Option<Arc<Shared>>,
}

impl EnterGuard {
    fn enter(shared: &Arc<Shared>) -> EnterGuard {
        let previous = CONTEXT.with(|c| c.borrow_mut().replace(shared.clone()));
        EnterGuard { previous }
    }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CONTEXT.with(|c| *c.borrow_mut() = previous);
    }
}

/// An error building a [`Runtime`].
#[derive(Debug)]
pub enum BuildError {
    /// `workers(0)` was requested.
    NoWorkers,
    /// More than [`MAX_WORKERS`] workers were requested.
    TooManyWorkers(usize),
    /// The operating system refused to start a worker thread.
    Spawn(io::Error),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::NoWorkers => f.write_str(
                "a runtime needs at least one worker; pass `workers(n)` with n >= 1 or omit it to use one per CPU",
            ),
            BuildError::TooManyWorkers(n) => write!(
                f,
                "{n} workers requested, more than the maximum of {MAX_WORKERS}; use at most one per CPU"
            ),
            BuildError::Spawn(e) => write!(
                f,
                "failed to start a worker thread: {e}; check the process's thread limit (ulimit -u)"
            ),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::Spawn(e) => Some(e),
            _ => None,
        }
    }
}

/// Configures and builds a [`Runtime`].
///
/// ```
/// use hallows_runtime::{Runtime, scheduler::topology::NeighbourhoodShape};
/// let rt = Runtime::builder()
///     .workers(2)
///     .pin(false)
///     .neighbourhood(NeighbourhoodShape::Nearest(1))
///     .thread_name("my-worker")
///     .build()
///     .unwrap();
/// assert_eq!(rt.workers(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    workers: Option<usize>,
    pin: bool,
    shape: NeighbourhoodShape,
    topology: Option<Topology>,
    thread_name: String,
    report: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// Defaults: one worker per usable CPU, pinned, shared-cache neighbourhoods, and a report
    /// written at shutdown when `HALLOWS_REPORT_DIR` is set.
    pub fn new() -> Builder {
        Builder {
            workers: None,
            pin: true,
            shape: NeighbourhoodShape::default(),
            topology: None,
            thread_name: "hallows-worker".to_owned(),
            report: true,
        }
    }

    /// Number of worker threads (default: one per CPU this process may use).
    pub fn workers(mut self, n: usize) -> Builder {
        self.workers = Some(n);
        self
    }

    /// Pin each worker to its CPU with `sched_setaffinity` (default `true`). Pinning failures
    /// (e.g. a restrictive cpuset) are not errors: the worker runs unpinned and its stats say so.
    ///
    /// Pinning keeps each worker's cache warm and makes the topology-based neighbourhoods exact,
    /// but on an oversubscribed machine (other busy processes on the same CPUs) a pinned worker
    /// must wait for *its* CPU; measured on a shared 2-core VM, that shows up as occasional
    /// multi-millisecond stalls in wake-up-heavy workloads. Pass `false` there.
    pub fn pin(mut self, pin: bool) -> Builder {
        self.pin = pin;
        self
    }

    /// Which workers are each worker's neighbours (default [`NeighbourhoodShape::SharedCache`]).
    pub fn neighbourhood(mut self, shape: NeighbourhoodShape) -> Builder {
        self.shape = shape;
        self
    }

    /// Uses this topology instead of reading `/sys` (to model another machine, or in tests).
    pub fn topology(mut self, topology: Topology) -> Builder {
        self.topology = Some(topology);
        self
    }

    /// Prefix of worker thread names (`<prefix>-<index>`).
    pub fn thread_name(mut self, prefix: impl Into<String>) -> Builder {
        self.thread_name = prefix.into();
        self
    }

    /// Whether to write `runtime-<pid>.jsonl` into `HALLOWS_REPORT_DIR` at shutdown (default
    /// `true`; nothing is written when the variable is unset).
    pub fn report(mut self, report: bool) -> Builder {
        self.report = report;
        self
    }

    /// Starts the workers.
    pub fn build(self) -> Result<Runtime, BuildError> {
        let topology = self.topology.unwrap_or_else(Topology::detect);
        let workers = self.workers.unwrap_or(topology.len().max(1));
        if workers == 0 {
            return Err(BuildError::NoWorkers);
        }
        if workers > MAX_WORKERS {
            return Err(BuildError::TooManyWorkers(workers));
        }
        let places = place_workers(&topology, workers, self.shape);
        let (shared, locals) = Shared::new(places);
        let mut threads = Vec::with_capacity(workers);
        let mut rt = Runtime {
            shared: shared.clone(),
            threads: Vec::new(),
            report: self.report,
            started: std::time::Instant::now(),
        };
        // Each worker reports once it is pinned and about to enter its loop, so `build` returns
        // a runtime whose workers are all up (and whose stats say whether pinning worked).
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
        for (index, local) in locals.into_iter().enumerate() {
            let shared = shared.clone();
            let pin = self.pin;
            let ready = ready_tx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("{}-{index}", self.thread_name))
                .spawn(move || {
                    if pin {
                        let cpu = shared.places[index].cpu;
                        let pinned = pin_current_thread(cpu).is_ok();
                        // ORDERING: Relaxed: a statistic.
                        shared.workers[index]
                            .pinned
                            .store(pinned, Ordering::Relaxed);
                    }
                    let _ctx = EnterGuard::enter(&shared);
                    let worker = Worker::new(index, shared.clone(), local);
                    // The receiver outlives every sender until all have reported.
                    let _ = ready.send(());
                    drop(ready);
                    worker.run();
                });
            match spawned {
                Ok(t) => threads.push(t),
                Err(e) => {
                    rt.threads = threads;
                    drop(rt);
                    return Err(BuildError::Spawn(e));
                }
            }
        }
        drop(ready_tx);
        for _ in 0..workers {
            // An error means a worker thread died before reporting, which only a panic inside
            // the runtime's own start-up could cause; the runtime is still usable by the rest.
            if ready_rx.recv().is_err() {
                break;
            }
        }
        rt.threads = threads;
        Ok(rt)
    }
}

/// A per-core runtime: pinned workers with cellular work stealing (see the crate docs and
/// `src/scheduler/README.md`).
///
/// Dropping it shuts down: workers stop after their current task, and every unfinished task is
/// dropped (its destructors run; its `JoinHandle` reports [`JoinError::is_cancelled`]).
///
/// [`JoinError::is_cancelled`]: crate::JoinError::is_cancelled
pub struct Runtime {
    shared: Arc<Shared>,
    threads: Vec<std::thread::JoinHandle<()>>,
    report: bool,
    started: std::time::Instant,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("workers", &self.workers())
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// A runtime with default settings (one pinned worker per CPU).
    ///
    /// ```
    /// let rt = hallows_runtime::Runtime::new().unwrap();
    /// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
    /// ```
    pub fn new() -> Result<Runtime, BuildError> {
        Builder::new().build()
    }

    /// A [`Builder`].
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// Number of workers.
    pub fn workers(&self) -> usize {
        self.shared.num_workers()
    }

    /// A cloneable handle for spawning from other threads.
    pub fn handle(&self) -> Handle {
        Handle {
            shared: self.shared.clone(),
        }
    }

    /// Runs `future` to completion on the calling thread, with this runtime as the context
    /// (so [`spawn`], [`join`](crate::join) and [`scope`](crate::scope) inside it use this
    /// runtime). The calling thread parks while the future waits.
    ///
    /// # Panics
    ///
    /// Panics if called on one of this runtime's worker threads (it would block a worker; use
    /// `.await` there), and resumes any panic of `future`.
    ///
    /// ```
    /// let rt = hallows_runtime::Runtime::builder().workers(2).build().unwrap();
    /// assert_eq!(rt.block_on(async { "done" }), "done");
    /// ```
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let on_worker = with_current_worker(|w| w.is_some());
        assert!(
            !on_worker,
            "Runtime::block_on called from a runtime worker thread; use `.await` inside tasks"
        );
        let _ctx = EnterGuard::enter(&self.shared);
        block_on_parked(future)
    }

    /// Spawns a task; see [`spawn`].
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.shared.spawn(future)
    }

    /// A snapshot of the per-core counters.
    pub fn stats(&self) -> RuntimeStats {
        stats_of(&self.shared)
    }

    /// Shuts down now (the same as dropping the runtime).
    pub fn shutdown(self) {
        drop(self);
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shared.begin_shutdown();
        let me = std::thread::current().id();
        for t in self.threads.drain(..) {
            // A worker dropping its own runtime (from inside a task) cannot join itself; it will
            // see the flag and exit when that task returns.
            if t.thread().id() != me {
                // A worker thread only panics through a scheduler bug (task panics are caught);
                // there is nothing more useful to do with it during drop than carry on.
                let _ = t.join();
            }
        }
        // Dropped from inside one of its own tasks: that task is being polled right now, so
        // futures cannot be dropped from here. The workers are stopped; the remaining tasks are
        // released when the last handle to the runtime's state goes away.
        let on_own_worker =
            with_current_worker(|w| w.is_some_and(|w| Arc::ptr_eq(&w.shared, &self.shared)));
        if on_own_worker {
            return;
        }
        // No spawn from outside may queue a task after the drain below (it would never run
        // nor be cancelled: tasks are registered only at their first `Pending`).
        self.shared.injector.close();
        // Drop unfinished tasks' futures first (this also breaks task/waker cycles), then the
        // queue references.
        for task in self.shared.registry.close_and_drain() {
            task.cancel();
        }
        self.shared.drain_queues();
        if self.report {
            if let Some(dir) = std::env::var_os("HALLOWS_REPORT_DIR") {
                let stats = stats_of(&self.shared);
                if let Err(e) = crate::scheduler::report::write_report(
                    std::path::Path::new(&dir),
                    &stats,
                    self.started.elapsed(),
                ) {
                    eprintln!("hallows-runtime: could not write the scheduler report: {e}");
                }
            }
        }
    }
}

/// A cloneable reference to a runtime, for spawning from any thread.
#[derive(Clone)]
pub struct Handle {
    shared: Arc<Shared>,
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle").finish_non_exhaustive()
    }
}

impl Handle {
    /// The runtime of the current context (inside a task or `block_on`), if any.
    pub fn try_current() -> Option<Handle> {
        current_shared().map(|shared| Handle { shared })
    }

    /// Spawns a task on this runtime.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.shared.spawn(future)
    }

    /// A snapshot of the per-core counters.
    pub fn stats(&self) -> RuntimeStats {
        stats_of(&self.shared)
    }
}

/// Spawns `future` as a task on the current runtime and returns a handle to await its output.
///
/// # Panics
///
/// Panics if called outside a runtime context (neither in a task nor inside
/// [`Runtime::block_on`]); use [`Runtime::spawn`] or [`Handle::spawn`] there, or [`try_spawn`].
///
/// ```
/// let rt = hallows_runtime::Runtime::builder().workers(2).build().unwrap();
/// let v = rt.block_on(async { hallows_runtime::spawn(async { 7 }).await });
/// assert_eq!(v, 7);
/// ```
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match try_spawn(future) {
        Ok(h) => h,
        Err(_) => panic!(
            "hallows_runtime::spawn called outside a runtime; call it inside `Runtime::block_on` or a task, or use `Runtime::spawn`/`Handle::spawn`"
        ),
    }
}

/// Like [`spawn`], but gives the future back when there is no current runtime.
pub fn try_spawn<F>(future: F) -> Result<JoinHandle<F::Output>, F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    // Fast path on a worker: its runtime is the context.
    if let Some(shared) = with_current_worker(|w| w.map(|w| w.shared.clone())) {
        return Ok(shared.spawn(future));
    }
    match current_shared() {
        Some(shared) => Ok(shared.spawn(future)),
        None => Err(future),
    }
}

/// Yields to the scheduler once: the task goes to the back of its worker's queue (and, if it
/// keeps yielding, periodically to the back of the global queue), so other tasks run first.
///
/// ```
/// let rt = hallows_runtime::Runtime::builder().workers(1).build().unwrap();
/// rt.block_on(async {
///     hallows_runtime::spawn(async {
///         for _ in 0..3 {
///             hallows_runtime::yield_now().await;
///         }
///     })
///     .await
/// });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future returned by [`yield_now`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

struct ThreadWaker {
    parker: Parker,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.parker.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.parker.unpark();
    }
}

fn block_on_parked<F: Future>(future: F) -> F::Output {
    let waker_state = Arc::new(ThreadWaker {
        parker: Parker::new(),
    });
    let waker = Waker::from(waker_state.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        waker_state.parker.park();
    }
}

/// Counters of one worker (see [`Runtime::stats`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkerStats {
    /// Worker index.
    pub worker: usize,
    /// CPU the worker was placed on.
    pub cpu: usize,
    /// Whether pinning to `cpu` succeeded.
    pub pinned: bool,
    /// Neighbouring workers.
    pub neighbours: Vec<usize>,
    /// Current cell state.
    pub state: Option<CellState>,
    /// Jobs run (task polls and fork-join jobs).
    pub polls: u64,
    /// Tasks spawned from this worker.
    pub spawns: u64,
    /// Successful steals (each takes a batch).
    pub steals: u64,
    /// Tasks taken by those steals.
    pub stolen_tasks: u64,
    /// Steals from outside the neighbourhood.
    pub far_steals: u64,
    /// Polls of a task that last ran on another worker.
    pub migrations: u64,
    /// Wake-ups of another worker's task that the migration policy pulled here.
    pub wake_pulls: u64,
    /// Wake-ups of another worker's task that the policy sent back to its home.
    pub kept_home: u64,
    /// Batches taken from the global injector.
    pub injector_pulls: u64,
    /// Times this worker parked.
    pub parks: u64,
    /// Times this worker unparked another.
    pub unparks: u64,
    /// Transitions into hungry.
    pub to_hungry: u64,
    /// Transitions into balanced.
    pub to_balanced: u64,
    /// Transitions into saturated.
    pub to_saturated: u64,
    /// Task yields (woken during their own poll).
    pub yields: u64,
    /// Yields demoted to the global queue.
    pub demotions: u64,
    /// Tasks that panicked.
    pub panics: u64,
    /// Local-queue overflows into the injector.
    pub overflows: u64,
    /// Nanoseconds spent idle (searching or parked).
    pub idle_ns: u64,
}

impl WorkerStats {
    /// All state transitions.
    pub fn transitions(&self) -> u64 {
        self.to_hungry + self.to_balanced + self.to_saturated
    }
}

/// Counters of every worker.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuntimeStats {
    /// One entry per worker, by index.
    pub workers: Vec<WorkerStats>,
    /// Spawns and wake-ups that came from outside the workers.
    pub external_submissions: u64,
    /// Tasks not yet finished that have been polled at least once (a task enters the registry
    /// at its first `Pending`; tasks still queued for their first poll are not counted).
    pub live_tasks: usize,
}

impl RuntimeStats {
    /// The sum over workers (identity fields are zero, `state` is `None`).
    pub fn total(&self) -> WorkerStats {
        let mut t = WorkerStats::default();
        for w in &self.workers {
            t.polls += w.polls;
            t.spawns += w.spawns;
            t.steals += w.steals;
            t.stolen_tasks += w.stolen_tasks;
            t.far_steals += w.far_steals;
            t.migrations += w.migrations;
            t.wake_pulls += w.wake_pulls;
            t.kept_home += w.kept_home;
            t.injector_pulls += w.injector_pulls;
            t.parks += w.parks;
            t.unparks += w.unparks;
            t.to_hungry += w.to_hungry;
            t.to_balanced += w.to_balanced;
            t.to_saturated += w.to_saturated;
            t.yields += w.yields;
            t.demotions += w.demotions;
            t.panics += w.panics;
            t.overflows += w.overflows;
            t.idle_ns += w.idle_ns;
        }
        t
    }
}

fn stats_of(shared: &Shared) -> RuntimeStats {
    // ORDERING: Relaxed: statistics, each counter written by one worker.
    let load = |c: &crate::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    let workers = shared
        .workers
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let c = &w.counters;
            let state = if shared.is_shutdown() {
                // ORDERING: Relaxed: written before the worker thread was joined.
                Some(w.state_at_exit.load(Ordering::Relaxed)).map(|s| match s {
                    0 => CellState::Hungry,
                    2 => CellState::Saturated,
                    _ => CellState::Balanced,
                })
            } else {
                Some(w.cell.read())
            };
            WorkerStats {
                worker: i,
                cpu: shared.places[i].cpu,
                // ORDERING: Relaxed: a statistic.
                pinned: w.pinned.load(Ordering::Relaxed),
                neighbours: shared.places[i].neighbours.iter().map(|p| p.0).collect(),
                state,
                polls: load(&c.polls),
                spawns: load(&c.spawns),
                steals: load(&c.steals),
                stolen_tasks: load(&c.stolen_tasks),
                far_steals: load(&c.far_steals),
                migrations: load(&c.migrations),
                wake_pulls: load(&c.wake_pulls),
                kept_home: load(&c.kept_home),
                injector_pulls: load(&c.injector_pulls),
                parks: load(&c.parks),
                unparks: load(&c.unparks),
                to_hungry: load(&c.to_hungry),
                to_balanced: load(&c.to_balanced),
                to_saturated: load(&c.to_saturated),
                yields: load(&c.yields),
                demotions: load(&c.demotions),
                panics: load(&c.panics),
                overflows: load(&c.overflows),
                idle_ns: load(&c.idle_ns),
            }
        })
        .collect();
    RuntimeStats {
        workers,
        external_submissions: shared.external_spawns(),
        live_tasks: shared.registry.len(),
    }
}
