//! The task cell: one allocation holding the scheduling state, the future, and the slot its
//! output is handed over in.
//!
//! # States
//!
//! `state` is a small bit set:
//!
//! | bits | meaning |
//! |------|---------|
//! | `0` (idle) | waiting for a wake-up; only wakers (and the registry, which every task enters at its first `Pending`) reference it |
//! | `SCHEDULED` | a [`JobRef`] for it sits in some queue |
//! | `RUNNING` | a worker is polling it; only that worker touches the future |
//! | `RUNNING \| NOTIFIED` | woken while being polled: the worker re-queues it afterwards |
//! | `COMPLETE` | finished, panicked or cancelled; the future is gone |
//!
//! Wakers move `0 → SCHEDULED` (and then push it) or `RUNNING → RUNNING|NOTIFIED`; the worker
//! moves `SCHEDULED → RUNNING` before polling and `RUNNING → 0`, `RUNNING|NOTIFIED → SCHEDULED`
//! or `RUNNING → COMPLETE` after. So at most one queue entry exists per task and at most one
//! thread polls it — the invariant that makes the `UnsafeCell` around the future sound. This is
//! the same state machine as tokio's `runtime/task/state.rs` and async-task's, reduced to the
//! bits this runtime needs (no abort, no join-waker bits: the output slot is a mutex).

use super::job::{JobHeader, JobRef, JobVtable, RunOutcome};
use super::join_handle::{JoinError, JoinTarget};
use crate::scheduler::migration::footprint_estimate;
use crate::scheduler::worker::Shared;
use crate::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use crate::sync::{Mutex, UnsafeCell};
use core::future::Future;
use core::mem::ManuallyDrop;
use core::pin::Pin;
use core::ptr::NonNull;
use core::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
use std::panic::{catch_unwind, AssertUnwindSafe};
// Tasks use std's `Arc` (not the `crate::sync` one): the waker vtable below manipulates its
// strong count directly. The task module is not built under loom (the loom models cover the
// queue and the parker, which are built from `crate::sync`).
use std::sync::Arc;

const SCHEDULED: usize = 1;
const RUNNING: usize = 2;
const NOTIFIED: usize = 4;
const COMPLETE: usize = 8;

/// Every this many consecutive yields, a task is sent to the back of the global queue instead of
/// its worker's local queue: its priority decays relative to tasks that do real work. Each
/// demotion takes the injector's lock, and the task usually comes back through a batch pull on
/// the other worker (a migration), so demoting often is expensive: on yield_many (200 tasks ×
/// 1 000 yields, 2 workers) every 64th yield took 6.2–6.5 ms against 5.9 ms for every 256th
/// (scheduler README, "No starvation"; every 8th was slower still). Work submitted from
/// outside does not depend on demotions: a worker looks at the global queue first after every
/// yield.
pub(crate) const YIELD_DEMOTE_EVERY: u32 = 256;

/// No home yet.
pub(crate) const NO_HOME: usize = usize::MAX;

/// Per-run information exchanged between a worker and the task it runs.
#[derive(Debug, Default)]
pub(crate) struct RunContext {
    /// The running worker (`NO_HOME` off-worker).
    pub(crate) worker: usize,
    /// Whether to time this poll (sampled, so the busy path rarely reads the clock).
    pub(crate) sample: bool,
    /// Out: the task last ran on another worker.
    pub(crate) migrated: bool,
    /// Out: the task panicked.
    pub(crate) panicked: bool,
    /// Out: the sampled poll duration.
    pub(crate) poll_ns: Option<u64>,
}

/// Scheduling facts about a task that the scheduler reads.
pub(crate) struct TaskHeader {
    state: AtomicUsize,
    /// Worker it last ran on.
    pub(crate) home: AtomicUsize,
    /// Consecutive yields (woken during its own poll).
    yields: AtomicU32,
    /// Last sampled poll time.
    poll_ns: AtomicU64,
    /// Size of the future's state in bytes.
    state_bytes: u64,
    /// Registry slot, for removal on completion.
    pub(crate) slot: AtomicUsize,
    pub(crate) shared: Arc<Shared>,
}

impl TaskHeader {
    /// The cache-footprint estimate used by the migration policy.
    pub(crate) fn footprint(&self) -> u64 {
        // ORDERING: Relaxed: an estimate.
        footprint_estimate(self.state_bytes, self.poll_ns.load(Ordering::Relaxed))
    }
}

struct JoinSlot<T> {
    output: Option<Result<T, JoinError>>,
    waker: Option<Waker>,
    finished: bool,
}

/// A spawned task (see the module docs).
///
/// Not aligned to a cache-line pair (tokio aligns its task cells to 128 bytes against false
/// sharing between neighbouring tasks): with the system allocator an over-aligned allocation
/// goes through `posix_memalign`, which measured ~30 % slower on spawn-heavy workloads
/// (spawn_many, chained_spawn) for a ~10 % gain on yield_many; trailing padding instead did not
/// help either.
#[repr(C)]
pub(crate) struct TaskCell<F: Future> {
    job: JobHeader,
    pub(crate) header: TaskHeader,
    future: UnsafeCell<Option<F>>,
    join: Mutex<JoinSlot<F::Output>>,
}

// SAFETY: the future is only touched by the one thread that owns the RUNNING bit (or by the
// registry at shutdown, after every worker has stopped), so sharing the cell is sound when the
// future may be sent; the output crosses threads through the mutex, hence `Output: Send`.
unsafe impl<F: Future + Send> Sync for TaskCell<F> where F::Output: Send {}

/// What the registry can do with a task of any type.
pub(crate) trait RegisteredTask: Send + Sync {
    /// Drops the future of an unfinished task and tells its joiner it was cancelled.
    fn cancel(&self);
}

impl<F> TaskCell<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    const VTABLE: JobVtable = JobVtable {
        run: Self::run_raw,
        release: Self::release_raw,
    };

    /// The task's waker: its data pointer is `Arc::into_raw` of the task (one strong count per
    /// owned `Waker`). The worker polls with a *borrowed* waker that owns no count (see `run`),
    /// so a poll that never clones its waker costs no reference-count traffic — the same trick
    /// as tokio's `WakerRef` and `futures::task::waker_ref`.
    const WAKER_VTABLE: RawWakerVTable = RawWakerVTable::new(
        Self::waker_clone,
        Self::waker_wake,
        Self::waker_wake_by_ref,
        Self::waker_drop,
    );

    /// # Safety
    ///
    /// `data` is `Arc::as_ptr` of a live `Arc<Self>` (a waker built by this vtable).
    unsafe fn waker_clone(data: *const ()) -> RawWaker {
        // SAFETY: per the contract the pointer came from an `Arc<Self>` that is alive for the
        // duration of this call; the new count is owned by the returned waker.
        unsafe { Arc::increment_strong_count(data.cast::<Self>()) };
        RawWaker::new(data, &Self::WAKER_VTABLE)
    }

    /// # Safety
    ///
    /// `data` is from an owned waker of this vtable (it holds one strong count).
    unsafe fn waker_wake(data: *const ()) {
        // SAFETY: `wake` consumes the waker, and with it the count it owns.
        let task = unsafe { Arc::from_raw(data.cast::<Self>()) };
        task.wake_by_ref();
    }

    /// # Safety
    ///
    /// As for [`Self::waker_clone`].
    unsafe fn waker_wake_by_ref(data: *const ()) {
        // SAFETY: the waker (owned or borrowed) keeps the task alive during this call; the
        // `ManuallyDrop` makes sure we do not give up a count we do not own.
        let task = ManuallyDrop::new(unsafe { Arc::from_raw(data.cast::<Self>()) });
        task.wake_by_ref();
    }

    /// # Safety
    ///
    /// As for [`Self::waker_wake`]. Never called for the borrowed waker of `run`, which is in
    /// a `ManuallyDrop`.
    unsafe fn waker_drop(data: *const ()) {
        // SAFETY: dropping an owned waker releases the count it owns.
        unsafe { Arc::decrement_strong_count(data.cast::<Self>()) };
    }

    /// A new task, already marked scheduled (the caller pushes the returned job).
    pub(crate) fn new(future: F, shared: Arc<Shared>, home: usize) -> Arc<TaskCell<F>> {
        Arc::new(TaskCell {
            job: JobHeader {
                vtable: &Self::VTABLE,
            },
            header: TaskHeader {
                state: AtomicUsize::new(SCHEDULED),
                home: AtomicUsize::new(home),
                yields: AtomicU32::new(0),
                poll_ns: AtomicU64::new(0),
                state_bytes: core::mem::size_of::<F>() as u64,
                slot: AtomicUsize::new(usize::MAX),
                shared,
            },
            future: UnsafeCell::new(Some(future)),
            join: Mutex::new(JoinSlot {
                output: None,
                waker: None,
                finished: false,
            }),
        })
    }

    /// A queue reference owning one strong count.
    pub(crate) fn job_ref(self: &Arc<Self>) -> JobRef {
        Self::into_job_ref(self.clone())
    }

    /// A queue reference owning the strong count of `task`.
    fn into_job_ref(task: Arc<Self>) -> JobRef {
        let p = Arc::into_raw(task) as *mut Self;
        // SAFETY: [1] `JobHeader` is the first field of this `#[repr(C)]` struct, so the cast
        // pointer is the header's; [2] the vtable's functions expect exactly this `Self`; [3] the
        // strong count taken above is the obligation handed over.
        unsafe { JobRef::from_raw(NonNull::new_unchecked(p).cast::<JobHeader>()) }
    }

    /// # Safety
    ///
    /// `p` must come from [`Self::job_ref`] (one strong count, this `F`).
    unsafe fn run_raw(p: NonNull<JobHeader>, rc: &mut RunContext) -> RunOutcome {
        // SAFETY: per the contract, `p` is `Arc::into_raw` of an `Arc<Self>` (cast to its first
        // field, at offset 0).
        let task = unsafe { Arc::from_raw(p.cast::<Self>().as_ptr()) };
        task.run(rc)
    }

    /// # Safety
    ///
    /// As for [`Self::run_raw`].
    unsafe fn release_raw(p: NonNull<JobHeader>) {
        // SAFETY: as in `run_raw`; dropping the `Arc` releases the count the reference held.
        let task = unsafe { Arc::from_raw(p.cast::<Self>().as_ptr()) };
        // A queue reference released unrun (shutdown draining the queues, a wake-up after
        // shutdown, a worker's LIFO slot at exit) means the task will not run again: cancel it.
        // A task that has not been polled yet is not in the registry (`Shared::spawn`), so
        // this is what drops its future and tells its joiner at shutdown; for a registered one
        // the registry usually got there first and this does nothing.
        task.cancel();
        drop(task);
    }

    fn run(self: Arc<Self>, rc: &mut RunContext) -> RunOutcome {
        // ORDERING: Acquire pairs with the waker's AcqRel CAS: whatever it did before waking
        // us is visible to this poll.
        let prev = self.header.state.swap(RUNNING, Ordering::Acquire);
        if prev & COMPLETE != 0 {
            // Cancelled while queued (only at shutdown); restore and drop our reference.
            // ORDERING: Relaxed: nobody else runs this task.
            self.header.state.store(COMPLETE, Ordering::Relaxed);
            return RunOutcome::Done;
        }
        debug_assert_eq!(prev, SCHEDULED, "ran a task that was not scheduled");
        // ORDERING: Relaxed: only the running worker writes `home` (a load and a store, no
        // read-modify-write: the RUNNING bit excludes other writers); the queue hand-off orders
        // successive runs. Wakers only read it, as a placement hint.
        let home = self.header.home.load(Ordering::Relaxed);
        if home != rc.worker {
            self.header.home.store(rc.worker, Ordering::Relaxed);
        }
        rc.migrated = home != NO_HOME && home != rc.worker;
        let started = rc.sample.then(std::time::Instant::now);
        // A borrowed waker: it owns no strong count (`self` holds one for the whole poll) and is
        // never dropped; a future that keeps it calls `clone`, which takes its own count.
        // SAFETY: [1] the data pointer is `Arc::as_ptr` of `self`, which outlives `waker`;
        // [2] the vtable's functions expect exactly that pointer for this `Self`; [3] the
        // `ManuallyDrop` keeps `waker_drop` from releasing a count this waker does not own.
        let waker = ManuallyDrop::new(unsafe {
            Waker::from_raw(RawWaker::new(
                Arc::as_ptr(&self).cast::<()>(),
                &Self::WAKER_VTABLE,
            ))
        });
        let mut cx = Context::from_waker(&waker);
        let polled = catch_unwind(AssertUnwindSafe(|| {
            self.future.with_mut(|f| {
                // SAFETY: [1] we own the RUNNING bit, so no other thread touches the future;
                // [2] the future lives inside the `Arc` allocation and is never moved out of it
                // (it is only dropped in place), so pinning it is sound.
                let f = unsafe { (*f).as_mut() }.expect("a scheduled task has a future");
                // SAFETY: see [2] above.
                unsafe { Pin::new_unchecked(f) }.poll(&mut cx)
            })
        }));
        if let Some(started) = started {
            let ns = started.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64;
            // ORDERING: Relaxed: an estimate.
            self.header.poll_ns.store(ns, Ordering::Relaxed);
            rc.poll_ns = Some(ns);
        }
        match polled {
            Ok(Poll::Pending) => self.after_pending(rc.worker),
            Ok(Poll::Ready(output)) => {
                self.complete(Ok(output));
                RunOutcome::Done
            }
            Err(payload) => {
                rc.panicked = true;
                self.complete(Err(JoinError::panic(payload)));
                RunOutcome::Done
            }
        }
    }

    fn after_pending(self: Arc<Self>, worker: usize) -> RunOutcome {
        // First `Pending`: the task may now wait on a waker nobody calls, or sit in a reference
        // cycle, so it enters the registry that shutdown walks (`Shared::spawn`). It is done
        // before the state leaves RUNNING, so whoever completes the task later (after a wake-up
        // that needs that transition) finds the slot.
        // ORDERING: Relaxed: only the running worker reads or writes `slot` before the task
        // completes; the transition below (Release) and the queue hand-off order this store
        // before any later run's read.
        if self.header.slot.load(Ordering::Relaxed) == usize::MAX {
            match self.header.shared.registry.insert(self.clone(), worker) {
                Some(slot) => self.header.slot.store(slot, Ordering::Relaxed),
                None => {
                    // The registry closes only after every worker has stopped, so this is not
                    // reached while a worker polls; handled like a cancellation all the same.
                    self.complete(Err(JoinError::cancelled()));
                    return RunOutcome::Done;
                }
            }
        }
        // ORDERING: Release publishes the poll's effects to whoever schedules the task next
        // (its Acquire in `run`); Acquire on failure reads the NOTIFIED bit a waker set.
        match self
            .header
            .state
            .compare_exchange(RUNNING, 0, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => RunOutcome::Done,
            Err(state) => {
                debug_assert_eq!(state, RUNNING | NOTIFIED);
                // Wakers do nothing while SCHEDULED or NOTIFIED is set, so a plain store is safe.
                // ORDERING: Release: pairs with `run`'s Acquire swap on the next run.
                self.header.state.store(SCHEDULED, Ordering::Release);
                // ORDERING: Relaxed: a load and a store, no read-modify-write: only the running
                // worker increments `yields`; a waker's reset to 0 happens only from the idle
                // state (not while RUNNING), so it cannot race with this update.
                let yields = self.header.yields.load(Ordering::Relaxed).wrapping_add(1);
                self.header.yields.store(yields, Ordering::Relaxed);
                RunOutcome::Yielded {
                    demote: yields.is_multiple_of(YIELD_DEMOTE_EVERY),
                    // The queue reference this run consumed becomes the new one: no count
                    // traffic for a re-queue.
                    job: Self::into_job_ref(self),
                }
            }
        }
    }

    fn drop_future(&self) {
        // A panicking destructor must not take the worker down; its payload is dropped.
        let _ = catch_unwind(AssertUnwindSafe(|| {
            self.future.with_mut(|f| {
                // SAFETY: the caller owns the RUNNING bit or claimed the task in `cancel` (a CAS
                // to COMPLETE from a state without RUNNING; nobody polls a COMPLETE task): no
                // concurrent access. Assigning drops the future in place.
                unsafe { *f = None };
            })
        }));
    }

    fn complete(&self, output: Result<F::Output, JoinError>) {
        self.drop_future();
        // ORDERING: Release: a waker seeing COMPLETE does nothing; the output itself is
        // published through the join mutex.
        self.header.state.store(COMPLETE, Ordering::Release);
        let waker = {
            let mut slot = self.join.lock().unwrap_or_else(|e| e.into_inner());
            slot.output = Some(output);
            slot.finished = true;
            slot.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
        // ORDERING: Relaxed: set before the task was first queued.
        let slot = self.header.slot.load(Ordering::Relaxed);
        self.header.shared.registry.remove(slot);
    }
}

impl<F> TaskCell<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    /// What every waker of the task does (through [`Self::WAKER_VTABLE`]).
    fn wake_by_ref(self: &Arc<Self>) {
        // ORDERING: Acquire/AcqRel: the CAS orders the waker's prior writes before the poll
        // that follows (see `run`), and reads the latest state.
        let mut state = self.header.state.load(Ordering::Acquire);
        let next = loop {
            if state & (COMPLETE | SCHEDULED | NOTIFIED) != 0 {
                return;
            }
            let next = if state & RUNNING != 0 {
                state | NOTIFIED
            } else {
                SCHEDULED
            };
            match self.header.state.compare_exchange_weak(
                state,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break next,
                Err(s) => state = s,
            }
        };
        if next == SCHEDULED {
            // Woken by someone else: not a yield.
            // ORDERING: Relaxed: the queue hand-off orders it before the next run.
            self.header.yields.store(0, Ordering::Relaxed);
            let job = self.job_ref();
            self.header.shared.schedule_woken(job, &self.header);
        }
    }
}

impl<F> JoinTarget<F::Output> for TaskCell<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<F::Output, JoinError>> {
        let mut slot = self.join.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(out) = slot.output.take() {
            return Poll::Ready(out);
        }
        assert!(
            !slot.finished,
            "a JoinHandle was polled again after it returned the task's output"
        );
        match &mut slot.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            w => *w = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    fn is_finished(&self) -> bool {
        // ORDERING: Acquire pairs with the Release store in `complete`.
        self.header.state.load(Ordering::Acquire) & COMPLETE != 0
    }
}

impl<F> RegisteredTask for TaskCell<F>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn cancel(&self) {
        // Claim the task: from idle (0) or SCHEDULED straight to COMPLETE. Not while a worker
        // polls it (RUNNING): that worker owns the future, and completes the task or registers
        // it (so that the registry's walk at shutdown, after the workers have stopped, cancels
        // it). The registry cancels only after the workers stopped; a released queue
        // reference or a spawner that saw the shutdown flag may cancel while they still run,
        // hence the claim instead of a blind `fetch_or`. A worker that later pops a queue
        // reference of a claimed task sees COMPLETE in `run` and drops it.
        // ORDERING: Acquire on the load and AcqRel on the CAS: the claim is a read-modify-write
        // on the state word, so it is ordered after the last poll's Release transition (the
        // future's last writes are visible before we drop it) and races with wakers' CASes,
        // which do nothing once COMPLETE is set.
        let mut state = self.header.state.load(Ordering::Acquire);
        loop {
            if state & (COMPLETE | RUNNING) != 0 {
                return;
            }
            match self.header.state.compare_exchange_weak(
                state,
                COMPLETE,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(s) => state = s,
            }
        }
        self.drop_future();
        let waker = {
            let mut slot = self.join.lock().unwrap_or_else(|e| e.into_inner());
            slot.output = Some(Err(JoinError::cancelled()));
            slot.finished = true;
            slot.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}
