//! Safe memory reclamation for lock-free structures.
//!
//! * [`hazard`]: hazard pointers (Michael 2004): per-pointer protection, garbage bounded by
//!   `O(slots)` whatever readers do.
//! * [`epoch`]: epoch-based reclamation (Fraser 2004) with interval reservations (Wen et al.
//!   2018) and adaptive advancement: one cheap pin per operation, and garbage stays bounded even
//!   when a reader stalls while pinned.

pub mod epoch;
pub mod hazard;
