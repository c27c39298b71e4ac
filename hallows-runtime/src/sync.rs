//! The std-vs-loom facade: the one place the runtime imports its synchronisation primitives from.
//!
//! Every other module of `hallows-runtime` takes its atomics, [`UnsafeCell`], [`Arc`], [`Mutex`],
//! [`Condvar`] and [`thread`] from `crate::sync`, never from `std` or `core` directly. Built
//! normally these are the standard library's types; built with `RUSTFLAGS="--cfg loom"` they are
//! [loom](https://docs.rs/loom)'s model-checked replacements, so one set of sources is both the
//! production code and the code the loom models in `tests/loom_*.rs` explore.
//!
//! Two deliberate differences from `std` keep the two builds source-compatible:
//!
//! * [`UnsafeCell`] has loom's closure API (`with` / `with_mut`) in both builds, because loom
//!   must observe every access to check it for data races. The std version is a zero-cost
//!   wrapper around [`core::cell::UnsafeCell`].
//! * Loom's atomics have no `const fn new` and no `get_mut`; runtime code therefore never builds
//!   an atomic in a `static`, and reads atomics it owns exclusively (in `Drop`) with
//!   `load(Relaxed)`.
//!
//! [`spin_loop`] is the hint to call inside every busy-wait: under loom it yields to the model
//! scheduler (a spinning thread would otherwise never let the thread it waits for run), under std
//! it is [`core::hint::spin_loop`].
//!
//! # Example
//!
//! ```
//! use hallows_runtime::sync::atomic::{AtomicUsize, Ordering};
//! use hallows_runtime::sync::UnsafeCell;
//!
//! let counter = AtomicUsize::new(0);
//! counter.fetch_add(1, Ordering::Relaxed);
//! let cell = UnsafeCell::new(5_u32);
//! // SAFETY: `cell` is not shared, so this is the only access.
//! cell.with_mut(|p| unsafe { *p += counter.load(Ordering::Relaxed) as u32 });
//! assert_eq!(cell.into_inner(), 6);
//! ```

/// Atomic integer, boolean and pointer types, [`Ordering`](atomic::Ordering) and
/// [`fence`](atomic::fence): `std::sync::atomic` normally, `loom::sync::atomic` under `--cfg loom`.
pub mod atomic {
    #[cfg(loom)]
    pub use loom::sync::atomic::{
        fence, AtomicBool, AtomicI64, AtomicIsize, AtomicPtr, AtomicU32, AtomicU64, AtomicU8,
        AtomicUsize, Ordering,
    };
    #[cfg(not(loom))]
    pub use std::sync::atomic::{
        fence, AtomicBool, AtomicI64, AtomicIsize, AtomicPtr, AtomicU32, AtomicU64, AtomicU8,
        AtomicUsize, Ordering,
    };
}

#[cfg(loom)]
pub use loom::sync::{Arc, Condvar, Mutex, MutexGuard};
#[cfg(not(loom))]
pub use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// Thread spawning, parking, yielding and thread-locals: `std::thread` normally,
/// `loom::thread` under `--cfg loom`.
pub mod thread {
    #[cfg(loom)]
    pub use loom::thread::{current, park, spawn, yield_now, JoinHandle, LocalKey, Thread};
    #[cfg(not(loom))]
    pub use std::thread::{current, park, spawn, yield_now, JoinHandle, LocalKey, Thread};
}

/// Declares a thread-local: [`std::thread_local!`] normally, `loom::thread_local!` under
/// `--cfg loom` (loom resets its thread-locals between model executions).
#[cfg(loom)]
pub use loom::thread_local;
#[cfg(not(loom))]
pub use std::thread_local;

/// Largest exponent of exponential spin backoff (`1 << n` calls to [`spin_loop`] per round).
///
/// 0 under loom, where every spin is a scheduling point the model checker must explore.
pub const MAX_BACKOFF_EXP: u32 = if cfg!(loom) { 0 } else { 6 };

/// Hint for the body of a busy-wait loop.
///
/// Under loom this yields to the model checker so the awaited thread can make progress; under
/// std it is [`core::hint::spin_loop`] (`pause` on x86_64, `yield`/`isb` on aarch64).
#[inline]
pub fn spin_loop() {
    #[cfg(loom)]
    loom::thread::yield_now();
    #[cfg(not(loom))]
    core::hint::spin_loop();
}

/// Interior mutability with loom's checked closure API.
///
/// Under loom this is `loom::cell::UnsafeCell`, which records every access and reports
/// concurrent unsynchronised ones as data races.
#[cfg(loom)]
pub use loom::cell::UnsafeCell;

/// Interior mutability with loom's checked closure API (`with` / `with_mut`).
///
/// This is the std build: a `#[repr(transparent)]` wrapper around
/// [`core::cell::UnsafeCell`] whose closures receive the raw pointer. Under `--cfg loom` the
/// same name is `loom::cell::UnsafeCell`, which checks each access for data races.
#[cfg(not(loom))]
#[derive(Debug, Default)]
#[repr(transparent)]
pub struct UnsafeCell<T: ?Sized>(core::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    /// Wraps `value`.
    #[inline]
    pub const fn new(value: T) -> Self {
        Self(core::cell::UnsafeCell::new(value))
    }

    /// Unwraps the value.
    #[inline]
    pub fn into_inner(self) -> T {
        self.0.into_inner()
    }
}

#[cfg(not(loom))]
impl<T: ?Sized> UnsafeCell<T> {
    /// Calls `f` with a shared raw pointer to the contents.
    ///
    /// Dereferencing the pointer is `unsafe`: the caller must ensure no `with_mut` access to the
    /// same cell runs concurrently.
    #[inline]
    pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Calls `f` with a mutable raw pointer to the contents.
    ///
    /// Dereferencing the pointer is `unsafe`: the caller must ensure no other access to the same
    /// cell runs concurrently.
    #[inline]
    pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::atomic::{AtomicUsize, Ordering};
    use super::{spin_loop, thread, Arc, UnsafeCell};

    #[test]
    fn unsafe_cell_round_trips_through_closures() {
        let cell = UnsafeCell::new(vec![1, 2]);
        // SAFETY: `cell` is local to this test; no other access exists.
        cell.with_mut(|v| unsafe { (*v).push(3) });
        // SAFETY: as above.
        let len = cell.with(|v| unsafe { (*v).len() });
        assert_eq!(len, 3);
        assert_eq!(cell.into_inner(), vec![1, 2, 3]);
    }

    #[test]
    fn facade_threads_and_atomics_interoperate() {
        let flag = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&flag);
        let handle = thread::spawn(move || {
            // ORDERING: Acquire pairs with the Release store below.
            while seen.load(Ordering::Acquire) == 0 {
                spin_loop();
            }
        });
        // ORDERING: Release pairs with the Acquire load in the spawned thread.
        flag.store(1, Ordering::Release);
        handle.join().expect("spinning thread panicked");
    }
}
