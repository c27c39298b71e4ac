//! `hallows-prefetch`: software prefetching for loads in loops, driven by an access-pattern
//! profile (Ainsworth & Jones, "Software Prefetching for Indirect Memory Accesses", CGO 2017),
//! and `hallows-prefetch-instrument`, which records that profile.
//!
//! | module | concept |
//! |--------|---------|
//! | [`model`] | pure Rust, shared with cargo-hallows: site ids, raw samples, cache model, pattern analysis, merged profile, distance |
//! | [`decide`] | per-site decision (pure) |
//! | [`ll`] | C-API helpers |
//! | [`loops`] | loop membership, induction variables, bounds from exit tests and bounds checks |
//! | [`chain`] | address chains: stride, indirect, hashed, pointer chase |
//! | [`sites`] | load sites and their stable ids |
//! | [`insert`] | cloning a chain ahead, clamped, and inserting `llvm.prefetch`; versioning and splitting loops so the clamp runs only near the end |
//! | [`pass`] | the `hallows-prefetch` driver and its report |
//! | [`instrument`] | `hallows-prefetch-instrument` and its linked runtime (`runtime.ll`) |
//! | [`analysis`] | the inventory of loads in loops (analysis only) |

pub mod analysis;
mod chain;
pub mod decide;
mod insert;
pub mod instrument;
mod ll;
mod loops;
pub mod model;
mod pass;
mod sites;

pub use pass::{load_profile, run, PASS_NAME};
