//! Type-erased units of work as the queues see them: a thin pointer to a [`JobHeader`] whose
//! first field is a vtable. Async tasks and fork-join jobs (which may live on a joiner's stack)
//! both start with this header, so one queue serves both (rayon's `JobRef` has the same role).
//!
//! A [`JobRef`] is an *obligation*: whoever holds it must either [`run`](JobRef::run) it or
//! [`release`](JobRef::release) it exactly once.
//!
//! Bit 0 of the pointer tags fork-join jobs ([`JobRef::from_raw_fork_join`]): headers are
//! pointer-aligned, so the bit is free. Thieves steal tagged jobs one at a time (the oldest
//! fork-join job is the largest pending subproblem; a batch would take work its owner is about
//! to wait for) and async tasks in batches.

use super::raw::RunContext;
use core::ptr::NonNull;

/// What the scheduler can do with a job.
pub(crate) struct JobVtable {
    /// Runs the job, consuming the reference. May return a job to re-queue (a task that yielded).
    pub(crate) run: unsafe fn(NonNull<JobHeader>, &mut RunContext) -> RunOutcome,
    /// Gives the reference up without running the job's body normally (runtime shutdown).
    pub(crate) release: unsafe fn(NonNull<JobHeader>),
}

/// What happened when a job ran.
pub(crate) enum RunOutcome {
    /// Finished, or waiting for a wake-up: nothing to re-queue.
    Done,
    /// A task was woken while it ran (it yielded): re-queue it. `demote` is true when it has
    /// yielded so often in a row that it goes to the back of the global queue.
    Yielded { job: JobRef, demote: bool },
}

/// The first field of every job (`#[repr(C)]` structs put it at offset 0).
#[repr(C)]
pub struct JobHeader {
    pub(crate) vtable: &'static JobVtable,
}

/// Tag bit for fork-join jobs (see the module docs).
const FORK_JOIN_TAG: usize = 1;

fn untag(p: NonNull<JobHeader>) -> NonNull<JobHeader> {
    // Headers are pointer-aligned, so clearing the tag bit gives back the original (non-zero)
    // address; the fallback is unreachable.
    p.map_addr(|a| core::num::NonZeroUsize::new(a.get() & !FORK_JOIN_TAG).unwrap_or(a))
}

/// True if a queue entry is an async task rather than fork-join work (decides batch stealing).
pub(crate) fn steal_in_batches(p: NonNull<JobHeader>) -> bool {
    p.addr().get() & FORK_JOIN_TAG == 0
}

/// An owned reference to a queued job.
#[derive(PartialEq, Eq, Debug)]
pub(crate) struct JobRef(NonNull<JobHeader>);

// SAFETY: every job kind is built only from `Send` parts (tasks require `F: Send`, fork-join
// closures require `Send`), and the vtable functions are safe to call from any thread.
unsafe impl Send for JobRef {}

impl core::fmt::Debug for JobHeader {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("JobHeader").finish_non_exhaustive()
    }
}

impl JobRef {
    /// Wraps a raw header pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a live job whose header's vtable accepts it, and the caller transfers
    /// one run-or-release obligation for it.
    pub(crate) unsafe fn from_raw(ptr: NonNull<JobHeader>) -> JobRef {
        JobRef(ptr)
    }

    /// Like [`JobRef::from_raw`], tagging the job as fork-join work (stolen singly).
    ///
    /// # Safety
    ///
    /// As for [`JobRef::from_raw`]; `ptr` must be untagged.
    pub(crate) unsafe fn from_raw_fork_join(ptr: NonNull<JobHeader>) -> JobRef {
        JobRef(ptr.map_addr(|a| a | FORK_JOIN_TAG))
    }

    /// The header pointer without the tag.
    fn header(&self) -> NonNull<JobHeader> {
        untag(self.0)
    }

    /// The raw pointer, giving up the obligation to the receiver (a queue).
    pub(crate) fn into_raw(self) -> NonNull<JobHeader> {
        let p = self.0;
        core::mem::forget(self);
        p
    }

    /// True for fork-join work (tagged by [`JobRef::from_raw_fork_join`]).
    pub(crate) fn is_fork_join(&self) -> bool {
        !steal_in_batches(self.0)
    }

    /// The raw pointer, for identity comparisons.
    pub(crate) fn as_ptr(&self) -> NonNull<JobHeader> {
        self.0
    }

    /// Runs the job.
    pub(crate) fn run(self, rc: &mut RunContext) -> RunOutcome {
        let p = untag(self.into_raw());
        // SAFETY: [1] `p` is live and matches its vtable (invariant of `JobRef`); [2] we own the
        // single obligation for it, which `run` consumes.
        unsafe { ((*p.as_ptr()).vtable.run)(p, rc) }
    }

    /// Releases the job without running it normally.
    pub(crate) fn release(self) {
        let p = untag(self.into_raw());
        // SAFETY: as in `run`; `release` consumes the obligation instead.
        unsafe { ((*p.as_ptr()).vtable.release)(p) }
    }
}

impl Drop for JobRef {
    fn drop(&mut self) {
        let p = self.header();
        // SAFETY: dropping a `JobRef` (only on unwinding paths) discharges its obligation the
        // same way `release` would.
        unsafe { ((*p.as_ptr()).vtable.release)(p) }
    }
}
