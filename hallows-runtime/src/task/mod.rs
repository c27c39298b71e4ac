//! Tasks: the unit of asynchronous work ([`raw`]'s task cell), the type-erased job references
//! the queues carry ([`job`]), [`JoinHandle`], and the registry of live tasks used at shutdown.

pub(crate) mod job;
mod join_handle;
pub(crate) mod raw;
pub(crate) mod registry;

pub use join_handle::{JoinError, JoinHandle, JoinResult};
