//! Hallows runtime: lock-free primitives and a per-core runtime.
#![deny(unsafe_op_in_unsafe_fn)]

pub mod padding;
pub mod sync;
pub mod queue;
pub mod reclaim;
