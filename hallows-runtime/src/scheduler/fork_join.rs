//! Fork-join for CPU work: [`join`] and [`scope`].
//!
//! `join(a, b)` on a worker pushes `b` — a job living on the caller's stack — onto the worker's
//! local queue, runs `a`, then pops `b` back and runs it inline unless a hungry neighbour stole
//! it meanwhile; in that case the worker runs other work until `b`'s latch is set. This is the
//! work-first scheme of Cilk (Frigo, Leiserson & Randall, PLDI 1998) as rayon-core implements it
//! (`join/mod.rs`, `latch.rs`); stack jobs cost no allocation when not stolen.
//!
//! Called off the runtime's workers (but inside a runtime context, e.g. in `block_on`), a
//! `join` injects its two halves as two jobs and the calling thread blocks until both are done
//! (a counted latch; rayon's `in_worker_cold` injects the whole call as one job, which `scope`
//! still does here). With no runtime at all, both closures simply run in sequence.

use super::park::Parker;
use super::worker::{
    current_worker, with_current_worker, Shared, WakeCondition, Worker, PRIVATE_JOIN_DEPTH,
};
use crate::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use crate::sync::{Mutex, UnsafeCell};
use crate::task::job::{JobHeader, JobRef, JobVtable, RunOutcome};
use crate::task::raw::RunContext;
use core::marker::PhantomData;
use core::ptr::NonNull;
use std::any::Any;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::Arc;

/// Who to wake when a latch is set.
enum LatchTarget {
    /// A worker of the runtime (its parker lives in `Shared`, which outlives the job).
    Worker(*const Parker),
    /// A thread outside the workers, blocked in `in_worker_cold`.
    Thread(Arc<Parker>),
    /// One of the jobs of a cold `join` (`join_cold`): this latch's own `done` is not used;
    /// the last of the jobs to finish sets `outer` (a [`LatchTarget::Thread`] latch), so the
    /// caller is woken once, not once per job. Both point into the caller's stack frame, which
    /// lives until `outer` is set.
    Counted {
        remaining: *const AtomicUsize,
        outer: *const Latch,
    },
}

/// A one-shot "done" flag plus the sleeper to wake.
struct Latch {
    done: AtomicBool,
    target: LatchTarget,
}

impl Latch {
    fn for_worker(w: &Worker) -> Latch {
        Latch {
            done: AtomicBool::new(false),
            target: LatchTarget::Worker(w.parker),
        }
    }

    /// Sets the latch and wakes its owner.
    ///
    /// # Safety
    ///
    /// `this` must point to a live latch. After the `done` store the owner may free the latch,
    /// so everything needed afterwards is copied out first.
    unsafe fn set(this: *const Latch) {
        // SAFETY: live per the contract; we only read the target before setting `done`.
        let target = match unsafe { &(*this).target } {
            LatchTarget::Worker(p) => Err(*p),
            LatchTarget::Thread(p) => {
                served_outside_caller();
                Ok(p.clone())
            }
            &LatchTarget::Counted { remaining, outer } => {
                served_outside_caller();
                // ORDERING: AcqRel: Release publishes this job's result (written before) to the
                // last finisher, whose Acquire makes both results visible before it sets `outer`
                // (Release, read with Acquire by the caller).
                // SAFETY: the caller's frame (holding `remaining` and `outer`) lives until
                // `outer` is set, which happens only after every job's decrement; this
                // decrement is the last access of a job that is not the last one.
                if unsafe { (*remaining).fetch_sub(1, Ordering::AcqRel) } == 1 {
                    // SAFETY: `outer` is live (see above) and set exactly once, here.
                    unsafe { Latch::set(outer) };
                }
                return;
            }
        };
        // ORDERING: Release pairs with the Acquire load in `is_met`: the job's result, written
        // before, is visible to the owner once it sees `done`.
        // SAFETY: still live: the owner cannot observe `done` before this store.
        unsafe { (*this).done.store(true, Ordering::Release) };
        match target {
            // SAFETY: a worker's parker lives in `Shared`, kept alive by whoever runs this job
            // (a worker holding an `Arc<Shared>`, or the runtime's drop path).
            Err(p) => unsafe { (*p).unpark() },
            Ok(p) => p.unpark(),
        }
    }
}

/// Tells the worker running this (if any) that it just completed work for a thread outside the
/// workers, which is likely to submit its next parallel step right away (README "Parking").
fn served_outside_caller() {
    with_current_worker(|w| {
        if let Some(w) = w {
            w.served_caller.set(true);
        }
    });
}

impl WakeCondition for Latch {
    fn is_met(&self) -> bool {
        // ORDERING: Acquire pairs with the Release store in `set`.
        self.done.load(Ordering::Acquire)
    }
}

/// A job on its joiner's stack.
#[repr(C)]
struct StackJob<F, R> {
    job: JobHeader,
    func: UnsafeCell<Option<F>>,
    result: UnsafeCell<Option<std::thread::Result<R>>>,
    latch: Latch,
}

impl<F, R> StackJob<F, R>
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    const VTABLE: JobVtable = JobVtable {
        run: Self::run_raw,
        release: Self::release_raw,
    };

    fn new(func: F, latch: Latch) -> StackJob<F, R> {
        StackJob {
            job: JobHeader {
                vtable: &Self::VTABLE,
            },
            func: UnsafeCell::new(Some(func)),
            result: UnsafeCell::new(None),
            latch,
        }
    }

    /// A queue reference to this job.
    ///
    /// # Safety
    ///
    /// The job must stay alive (the caller must not return) until its latch is set or the
    /// reference has been popped back by the caller.
    unsafe fn job_ref(&self) -> JobRef {
        // SAFETY: `JobHeader` is the first field of this `#[repr(C)]` struct, and the pointer is
        // derived from the whole job (not just the header field) so it may be used to reach the
        // other fields; liveness is the caller's obligation.
        unsafe { JobRef::from_raw_fork_join(NonNull::from(self).cast::<JobHeader>()) }
    }

    /// # Safety
    ///
    /// `p` must come from [`Self::job_ref`] on a live job that has not run yet.
    unsafe fn run_raw(p: NonNull<JobHeader>, _rc: &mut RunContext) -> RunOutcome {
        let this = p.cast::<Self>().as_ptr() as *const Self;
        // SAFETY: [1] live per the contract; [2] the joiner does not touch `func`/`result` until
        // the latch is set (or it popped the reference back, in which case we were not called).
        unsafe {
            let func = (*this)
                .func
                .with_mut(|f| (*f).take())
                .expect("a stack job runs once");
            let result = catch_unwind(AssertUnwindSafe(func));
            (*this).result.with_mut(|r| *r = Some(result));
            Latch::set(&(*this).latch);
        }
        RunOutcome::Done
    }

    /// Released at shutdown: the joiner is blocked on it, so it still has to run.
    ///
    /// # Safety
    ///
    /// As for [`Self::run_raw`].
    unsafe fn release_raw(p: NonNull<JobHeader>) {
        let mut rc = RunContext::default();
        // SAFETY: forwarded contract.
        unsafe { Self::run_raw(p, &mut rc) };
    }

    /// Runs the closure inline (the reference was popped back unexecuted).
    fn run_inline(&self) -> R {
        let func = self
            .func
            // SAFETY: the only queue reference was popped back by the caller, so no other
            // thread can reach this job.
            .with_mut(|f| unsafe { (*f).take() })
            .expect("a stack job runs once");
        func()
    }

    fn into_result(self) -> std::thread::Result<R> {
        self.result
            .into_inner()
            .expect("a stack job's latch is set only after its result is stored")
    }
}

/// Runs `a` and `b`, potentially in parallel, and returns both results.
///
/// On a runtime worker, `b` is offered to idle neighbours while the worker runs `a`; when
/// nobody took it, the worker runs it right after `a` with no allocation or synchronisation
/// beyond two queue operations. Off the workers but inside a runtime context (e.g. in
/// [`Runtime::block_on`](crate::Runtime::block_on)), the call is shipped into the runtime and
/// the caller blocks. With no runtime, `a` then `b` run on the calling thread.
///
/// If either closure panics, the panic is resumed after both have finished.
///
/// ```
/// fn fib(n: u64) -> u64 {
///     if n < 2 {
///         return n;
///     }
///     let (a, b) = hallows_runtime::join(|| fib(n - 1), || fib(n - 2));
///     a + b
/// }
/// let rt = hallows_runtime::Runtime::builder().workers(2).build().unwrap();
/// assert_eq!(rt.block_on(async { fib(20) }), 6765);
/// ```
pub fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    // The worker pointer is read once and the closures are moved straight into the call: the
    // `Option` shuffle a `with_current_worker` closure needs cost ~19 instructions per `join`
    // under callgrind (session 10), an eighth of the whole inline path.
    // SAFETY: `w` is used only within this call, on this thread.
    if let Some(w) = unsafe { current_worker() } {
        return join_on_worker(w, a, b);
    }
    match crate::runtime::current_shared() {
        Some(shared) => join_cold(&shared, a, b),
        None => (a(), b()),
    }
}

fn join_on_worker<A, B, RA, RB>(w: &Worker, a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    /// Restores the worker's join depth when the frame ends, also when `b` (run inline, not
    /// under `catch_unwind`) panics.
    struct DepthGuard<'w>(&'w Worker, u32);
    impl Drop for DepthGuard<'_> {
        fn drop(&mut self) {
            self.0.join_depth.set(self.1);
        }
    }
    let depth = w.join_depth.get();
    w.join_depth.set(depth + 1);
    let _depth = DepthGuard(w, depth);
    let job_b = StackJob::new(b, Latch::for_worker(w));
    // SAFETY: this function does not return before `job_b`'s reference has been popped back or
    // its latch has been set (see the loop and `wait_until` below), including when `a` panics.
    let b_ref = unsafe { job_b.job_ref() };
    let b_ptr = b_ref.as_ptr();
    // Deep joins stay private while nobody is idle (README "Fork-join", lazy publication).
    let b_ref = if depth >= PRIVATE_JOIN_DEPTH && !w.neighbour_idle() {
        w.try_push_private(b_ref).err()
    } else {
        Some(b_ref)
    };
    let kept_private = b_ref.is_none();
    if let Some(b_ref) = b_ref {
        w.publish_private();
        w.push_local(b_ref);
    }
    let ra = catch_unwind(AssertUnwindSafe(a));
    let mut popped = kept_private && w.pop_private_if(b_ptr);
    if popped {
        // Older private jobs go where an idle worker can take them before we run `b`.
        if w.neighbour_idle() {
            w.publish_private();
        }
    } else {
        while !job_b.latch.is_met() {
            match w.local.pop_back() {
                Some(p) if p == b_ptr => {
                    popped = true;
                    break;
                }
                // SAFETY: queue entries are `JobRef::into_raw` pointers with their obligation.
                Some(p) => w.run_job(unsafe { JobRef::from_raw(p) }),
                None => {
                    w.wait_until(&job_b.latch);
                    break;
                }
            }
        }
    }
    if popped {
        // `b` runs here, on this stack: when `a` returned normally a panic of `b` simply
        // propagates (both have finished), as in rayon's `join_context`; after a panic of `a`,
        // `b` still runs and `a`'s panic wins.
        let results = match ra {
            Ok(ra) => (ra, job_b.run_inline()),
            Err(p) => {
                // A second panic (of `b`) is dropped: `a`'s is the one resumed.
                let _ = catch_unwind(AssertUnwindSafe(|| job_b.run_inline()));
                resume_unwind(p)
            }
        };
        // The job is spent (closure taken, no result stored, a worker latch owns nothing):
        // skip its drop glue on this hot path.
        core::mem::forget(job_b);
        return results;
    }
    match (ra, job_b.into_result()) {
        (Ok(ra), Ok(rb)) => (ra, rb),
        (Err(p), _) | (_, Err(p)) => resume_unwind(p),
    }
}

/// A `join` called off the workers (e.g. in `block_on`): ships `a` and `b` into the runtime as
/// two jobs and blocks the calling thread until both have run (README "Fork-join").
///
/// rayon's `in_worker_cold` ships the whole `join` as one job: the first worker to wake runs it
/// and offers `b` to the others, so the second worker starts one wake-up later (its wake-up is
/// chained behind the first one's), and at the end the worker that ran `a` may have to be woken
/// again for `b`'s latch before it can release the caller. Shipping both halves lets the
/// caller wake two workers at once (the injector's backlog of two relaxes the searching
/// throttle, `Shared::notify_external`), and the half that finishes last releases the caller
/// directly (a counted latch: one wake-up of the caller, not one per half).
fn join_cold<A, B, RA, RB>(shared: &Arc<Shared>, a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    let parker = Arc::new(Parker::new());
    let outer = Latch {
        done: AtomicBool::new(false),
        target: LatchTarget::Thread(parker.clone()),
    };
    let remaining = AtomicUsize::new(2);
    let latch = || Latch {
        done: AtomicBool::new(false),
        target: LatchTarget::Counted {
            remaining: &remaining,
            outer: &outer,
        },
    };
    let job_a = StackJob::new(a, latch());
    let job_b = StackJob::new(b, latch());
    // SAFETY: we block below until both latches are set, so both jobs outlive their references.
    let (ref_a, ref_b) = unsafe { (job_a.job_ref(), job_b.job_ref()) };
    shared.injector.push(ref_a.into_raw());
    shared.injector.push(ref_b.into_raw());
    // One wake-up per call: the first sees a backlog of two and no searcher, the second a
    // backlog of (still) two and one searcher, so both halves get a worker at once.
    shared.notify_external();
    shared.notify_external();
    // The last job to finish sets `outer` and unparks us (a token, never lost).
    while !outer.is_met() {
        parker.park();
    }
    match (job_a.into_result(), job_b.into_result()) {
        (Ok(ra), Ok(rb)) => (ra, rb),
        (Err(p), _) | (_, Err(p)) => resume_unwind(p),
    }
}

/// Ships `op` into the runtime and blocks the calling (non-worker) thread until it has run.
fn in_worker_cold<R: Send>(shared: &Arc<Shared>, op: impl FnOnce() -> R + Send) -> R {
    let parker = Arc::new(Parker::new());
    let job = StackJob::new(
        op,
        Latch {
            done: AtomicBool::new(false),
            target: LatchTarget::Thread(parker.clone()),
        },
    );
    // SAFETY: we block below until the latch is set, so `job` outlives its reference.
    let job_ref = unsafe { job.job_ref() };
    shared.injector.push(job_ref.into_raw());
    shared.notify_external();
    while !job.latch.is_met() {
        parker.park();
    }
    match job.into_result() {
        Ok(r) => r,
        Err(p) => resume_unwind(p),
    }
}

/// A fork-join scope: closures spawned on it may borrow anything that outlives the
/// [`scope`] call, and all of them have finished when `scope` returns.
pub struct Scope<'scope> {
    /// Jobs spawned and not finished, plus one for the scope body itself.
    pending: AtomicUsize,
    panic: Mutex<Option<Box<dyn Any + Send + 'static>>>,
    latch: Latch,
    shared: Option<Arc<Shared>>,
    _borrows: PhantomData<&'scope mut &'scope ()>,
}

// SAFETY: the raw parker pointer inside the latch refers to a worker's parker in `Shared`, which
// is `Sync`; every other field is `Sync`.
unsafe impl Sync for Scope<'_> {}

impl core::fmt::Debug for Scope<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Scope")
            // ORDERING: Relaxed: a snapshot for debugging.
            .field("pending", &self.pending.load(Ordering::Relaxed))
            .finish()
    }
}

/// A job spawned on a [`Scope`], heap-allocated because it outlives the `spawn` call.
#[repr(C)]
struct HeapJob<'scope, F> {
    job: JobHeader,
    func: F,
    scope: *const Scope<'scope>,
}

impl<'scope, F> HeapJob<'scope, F>
where
    F: FnOnce(&Scope<'scope>) + Send + 'scope,
{
    const VTABLE: JobVtable = JobVtable {
        run: Self::run_raw,
        release: Self::release_raw,
    };

    /// # Safety
    ///
    /// `p` must come from `Box::into_raw` of a `HeapJob<F>` whose scope is still waiting.
    unsafe fn run_raw(p: NonNull<JobHeader>, _rc: &mut RunContext) -> RunOutcome {
        // SAFETY: per the contract (`JobHeader` is the first field of the `#[repr(C)]` struct).
        let job = unsafe { Box::from_raw(p.cast::<Self>().as_ptr()) };
        let HeapJob { func, scope, .. } = *job;
        // SAFETY: the scope waits for `pending` to reach zero before returning, and we have not
        // decremented it yet, so it is alive.
        let scope = unsafe { &*scope };
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| func(scope))) {
            scope.record_panic(payload);
        }
        // SAFETY: `scope` is live until this decrement (see above); `job_done` does not touch it
        // after the decrement that may free it.
        unsafe { Scope::job_done(scope) };
        RunOutcome::Done
    }

    /// Released at shutdown: the scope is blocked on it, so it still runs.
    ///
    /// # Safety
    ///
    /// As for [`Self::run_raw`].
    unsafe fn release_raw(p: NonNull<JobHeader>) {
        let mut rc = RunContext::default();
        // SAFETY: forwarded contract.
        unsafe { Self::run_raw(p, &mut rc) };
    }
}

impl<'scope> Scope<'scope> {
    /// Spawns `f` to run on the runtime, possibly in parallel with the caller. It may borrow
    /// from outside the scope and spawn more work on the scope it is given.
    pub fn spawn<F>(&self, f: F)
    where
        F: FnOnce(&Scope<'scope>) + Send + 'scope,
    {
        // ORDERING: Relaxed: the increment happens before the job is published (push), and the
        // matching decrement is AcqRel.
        self.pending.fetch_add(1, Ordering::Relaxed);
        let job = Box::new(HeapJob {
            job: JobHeader {
                vtable: &HeapJob::<F>::VTABLE,
            },
            func: f,
            scope: self as *const Scope<'scope>,
        });
        let p = NonNull::from(Box::leak(job)).cast::<JobHeader>();
        // SAFETY: `p` is a leaked `HeapJob<F>` whose first field is the header; the obligation
        // to run it is handed to the queue.
        let job_ref = unsafe { JobRef::from_raw_fork_join(p) };
        let pushed = with_current_worker(|w| match w {
            Some(w) => {
                w.push_local(job_ref);
                None
            }
            None => Some(job_ref),
        });
        if let Some(job_ref) = pushed {
            match &self.shared {
                Some(shared) => {
                    shared.injector.push(job_ref.into_raw());
                    shared.notify_external();
                }
                // No runtime: run it right here.
                None => {
                    let mut rc = RunContext::default();
                    job_ref.run(&mut rc);
                }
            }
        }
    }

    fn record_panic(&self, payload: Box<dyn Any + Send + 'static>) {
        let mut slot = self.panic.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some(payload);
        }
    }

    /// Marks one job (or the body) finished.
    ///
    /// # Safety
    ///
    /// `this` must be live on entry; it may be freed as soon as the decrement lands.
    unsafe fn job_done(this: *const Scope<'_>) {
        // SAFETY: live on entry.
        let latch = unsafe { &(*this).latch } as *const Latch;
        // ORDERING: AcqRel: Release publishes this job's effects to the scope's owner; Acquire
        // makes the last decrementer see the others' before it sets the latch.
        // SAFETY: live until this decrement.
        if unsafe { (*this).pending.fetch_sub(1, Ordering::AcqRel) } == 1 {
            // SAFETY: the owner waits for the latch, not just the counter, so the scope (and its
            // latch) stays alive until `set` has stored `done`.
            unsafe { Latch::set(latch) };
        }
    }
}

/// Creates a fork-join scope: `op` may [`spawn`](Scope::spawn) closures that borrow local data;
/// `scope` returns once all of them have finished. Panics are resumed after that.
///
/// Runs on the runtime like [`join`]: on a worker directly, from a runtime context by shipping
/// the scope into the runtime, and without a runtime sequentially.
///
/// ```
/// let rt = hallows_runtime::Runtime::builder().workers(2).build().unwrap();
/// let mut chunks = vec![vec![1_u64; 1000]; 8];
/// rt.block_on(async {
///     hallows_runtime::scope(|s| {
///         for chunk in chunks.iter_mut() {
///             s.spawn(move |_| chunk.iter_mut().for_each(|x| *x *= 2));
///         }
///     })
/// });
/// assert!(chunks.iter().flatten().all(|&x| x == 2));
/// ```
pub fn scope<'scope, OP, R>(op: OP) -> R
where
    OP: FnOnce(&Scope<'scope>) -> R + Send,
    R: Send,
{
    let mut op = Some(op);
    let on_worker =
        with_current_worker(|w| w.map(|w| scope_on_worker(w, op.take().expect("once"))));
    if let Some(r) = on_worker {
        return r;
    }
    let op = op.expect("not taken");
    match crate::runtime::current_shared() {
        Some(shared) => in_worker_cold(&shared, move || scope(op)),
        None => {
            let s = Scope {
                pending: AtomicUsize::new(1),
                panic: Mutex::new(None),
                latch: Latch {
                    done: AtomicBool::new(false),
                    target: LatchTarget::Thread(Arc::new(Parker::new())),
                },
                shared: None,
                _borrows: PhantomData,
            };
            let r = catch_unwind(AssertUnwindSafe(|| op(&s)));
            finish_scope(s, r)
        }
    }
}

fn scope_on_worker<'scope, OP, R>(w: &Worker, op: OP) -> R
where
    OP: FnOnce(&Scope<'scope>) -> R + Send,
    R: Send,
{
    let s = Scope {
        pending: AtomicUsize::new(1),
        panic: Mutex::new(None),
        latch: Latch::for_worker(w),
        shared: Some(w.shared.clone()),
        _borrows: PhantomData,
    };
    let r = catch_unwind(AssertUnwindSafe(|| op(&s)));
    // SAFETY: `s` is alive; we wait for the latch below before dropping it.
    unsafe { Scope::job_done(&s) };
    w.wait_until(&s.latch);
    finish_scope(s, r)
}

fn finish_scope<R>(s: Scope<'_>, r: std::thread::Result<R>) -> R {
    let spawned_panic = s.panic.into_inner().unwrap_or_else(|e| e.into_inner());
    match (r, spawned_panic) {
        (Err(p), _) | (Ok(_), Some(p)) => resume_unwind(p),
        (Ok(r), None) => r,
    }
}
