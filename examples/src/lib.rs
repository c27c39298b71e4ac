//! Shared helpers of the Hallows example workloads.
//!
//! The workloads under `src/bin/` are small, real programs that Hallows' optimisations are
//! measured on:
//!
//! - branchy programs for profile-guided optimisation and branch layout: `interp` (a bytecode
//!   interpreter), `json` (serde_json parse and re-serialise), `lexer` (a tokenizer);
//! - memory-bound kernels for software prefetching, ported from the suite of Ainsworth & Jones,
//!   "Software Prefetching for Indirect Memory Accesses", CGO 2017: `nas_is`, `nas_cg`,
//!   `randacc`, `hashjoin`, `bfs`, each with a hand-tuned `--variant prefetch`;
//! - two controls: `ptrchase` (a dependent pointer chase no prefetcher can help) and `compute`
//!   (a compute-bound Mandelbrot kernel).
//!
//! Every workload generates its input from a fixed-seed PRNG ([`rng::Rng`]), prints one line
//! `<name>: checksum=<16 hex digits> key=value ...` on stdout that is identical between builds
//! and variants, and its timing on stderr only (see [`cli`]).
//!
//! ```
//! use hallows_examples::{checksum::Checksum, rng::Rng};
//!
//! let mut rng = Rng::new(42);
//! let mut sum = Checksum::new();
//! for _ in 0..4 {
//!     sum.add_u64(rng.below(100));
//! }
//! assert_eq!(sum.finish(), {
//!     let mut rng = Rng::new(42);
//!     let mut again = Checksum::new();
//!     for _ in 0..4 {
//!         again.add_u64(rng.below(100));
//!     }
//!     again.finish()
//! });
//! ```
#![deny(unsafe_op_in_unsafe_fn)]

pub mod cache;
pub mod checksum;
pub mod cli;
pub mod orders;
pub mod prefetch;
pub mod rng;
