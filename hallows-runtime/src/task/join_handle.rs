//! [`JoinHandle`]: awaiting a spawned task's output.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::any::Any;
use std::sync::Arc;

/// Why a task produced no value.
pub struct JoinError {
    kind: JoinErrorKind,
}

enum JoinErrorKind {
    Panic(Box<dyn Any + Send + 'static>),
    Cancelled,
}

impl JoinError {
    pub(crate) fn panic(payload: Box<dyn Any + Send + 'static>) -> JoinError {
        JoinError {
            kind: JoinErrorKind::Panic(payload),
        }
    }

    pub(crate) fn cancelled() -> JoinError {
        JoinError {
            kind: JoinErrorKind::Cancelled,
        }
    }

    /// True if the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.kind, JoinErrorKind::Panic(_))
    }

    /// True if the task was dropped unfinished because its runtime shut down.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.kind, JoinErrorKind::Cancelled)
    }

    /// The panic payload, if the task panicked (to re-raise with
    /// [`std::panic::resume_unwind`]); otherwise gives the error back.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.kind {
            JoinErrorKind::Panic(p) => Ok(p),
            JoinErrorKind::Cancelled => Err(self),
        }
    }

    fn panic_message(&self) -> Option<&str> {
        match &self.kind {
            JoinErrorKind::Panic(p) => p
                .downcast_ref::<&'static str>()
                .copied()
                .or_else(|| p.downcast_ref::<String>().map(String::as_str)),
            JoinErrorKind::Cancelled => None,
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            JoinErrorKind::Panic(_) => f
                .debug_tuple("JoinError::Panic")
                .field(&self.panic_message().unwrap_or("<non-string payload>"))
                .finish(),
            JoinErrorKind::Cancelled => f.write_str("JoinError::Cancelled"),
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            JoinErrorKind::Panic(_) => match self.panic_message() {
                Some(m) => write!(f, "task panicked: {m}"),
                None => f.write_str("task panicked"),
            },
            JoinErrorKind::Cancelled => {
                f.write_str("task was cancelled because its runtime shut down")
            }
        }
    }
}

impl std::error::Error for JoinError {}

/// The task side a [`JoinHandle`] polls; implemented by the task cell.
pub(crate) trait JoinTarget<T>: Send + Sync {
    fn poll_join(&self, cx: &mut Context<'_>) -> Poll<Result<T, JoinError>>;
    fn is_finished(&self) -> bool;
}

/// An owned permission to await a spawned task's output.
///
/// Awaiting it yields the task's output; if the task panicked, the panic is resumed in the
/// awaiting task (so panics propagate, as with [`std::thread::JoinHandle::join`] followed by
/// `unwrap`). Use [`JoinHandle::into_result`] to get a [`Result`] instead. Dropping the handle
/// detaches the task: it keeps running.
///
/// ```
/// let rt = hallows_runtime::Runtime::builder().workers(2).build().unwrap();
/// let answer = rt.block_on(async {
///     let handle = hallows_runtime::spawn(async { 6 * 7 });
///     handle.await
/// });
/// assert_eq!(answer, 42);
///
/// let err = rt.block_on(rt.spawn(async { panic!("boom") }).into_result());
/// assert!(err.unwrap_err().is_panic());
/// ```
#[must_use = "dropping a JoinHandle detaches the task; await it to get its output"]
pub struct JoinHandle<T> {
    target: Arc<dyn JoinTarget<T>>,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(target: Arc<dyn JoinTarget<T>>) -> JoinHandle<T> {
        JoinHandle { target }
    }

    /// True once the task has completed, panicked or been cancelled.
    pub fn is_finished(&self) -> bool {
        self.target.is_finished()
    }

    /// A future resolving to `Ok(output)` or the [`JoinError`] saying why there is none.
    pub fn into_result(self) -> JoinResult<T> {
        JoinResult { handle: self }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match self.target.poll_join(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(v)) => Poll::Ready(v),
            Poll::Ready(Err(e)) => match e.try_into_panic() {
                Ok(payload) => std::panic::resume_unwind(payload),
                Err(e) => {
                    panic!("awaited a JoinHandle whose {e}; use `into_result()` to handle this")
                }
            },
        }
    }
}

/// The future returned by [`JoinHandle::into_result`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct JoinResult<T> {
    handle: JoinHandle<T>,
}

impl<T> Future for JoinResult<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.handle.target.poll_join(cx)
    }
}
