//! The cellular scheduler. The protocol — cell states, thresholds, stealing order, parking —
//! is written down in `README.md` beside this file (included below).
//!
//! * [`topology`] — CPU topology from `/sys`, distances, neighbourhoods;
//! * [`cellular`] — the hungry / balanced / saturated state machine with hysteresis;
//! * [`migration`] — when moving a task pays off against its cache footprint;
//! * [`park`] — parking and waking without lost wake-ups or busy-waiting;
//! * the worker loop and fork-join (crate-private; used through [`crate::Runtime`],
//!   [`crate::join`] and [`crate::scope`]).
#![doc = include_str!("README.md")]

pub mod cellular;
pub mod migration;
pub mod park;
pub mod topology;

#[cfg(not(loom))]
pub(crate) mod fork_join;
#[cfg(not(loom))]
pub(crate) mod report;
#[cfg(not(loom))]
pub(crate) mod worker;
