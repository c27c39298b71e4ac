//! Safe memory reclamation for lock-free structures.
//!
//! * [`hazard`]: hazard pointers (Michael 2004): per-pointer protection, garbage bounded by
//!   `O(slots)` whatever readers do.
//! * [`epoch`]: epoch-based reclamation (Fraser 2004) with interval reservations (Wen et al.
//!   2018) and adaptive advancement: one cheap pin per operation, and garbage stays bounded even
//!   when a reader stalls while pinned.
//!
//! # Measured
//!
//! Session 5, AMD Zen 5 VM (2 vCPUs), `cargo bench -p hallows-runtime --bench reclaim --
//! --warm-up-time 1 --measurement-time 3` on commit aff5d1c (the code is unchanged since), two
//! runs under the exclusive bench lock. Treiber stack, 2 threads; each ratio is the
//! competitor's time ÷ ours (above 1: ours faster):
//!
//! | reclaimer | ours (ms) | competitor (ms) | ratio run 1 / run 2 |
//! |---|---|---|---|
//! | epochs vs crossbeam-epoch | 2.238 / 2.149 | 2.450 / 2.330 | 1.09 / 1.08 |
//! | epochs vs seize | | 6.821 / 6.932 | 3.05 / 3.23 |
//! | hazard vs haphazard | 3.271 / 3.246 | 5.639 / 4.068 | 1.72 / 1.25 |
//!
//! Peak extra heap while one reader stays pinned across 200 000 push/pop pairs (both runs;
//! measured after the map's entry recycling, which does not touch this stack): our epochs
//! 21 744 B, crossbeam-epoch 9 673 072 B, seize 9 800 000 B, our hazard pointers 2 592 B,
//! haphazard 48 152 / 48 296 B.

pub mod epoch;
pub mod hazard;
