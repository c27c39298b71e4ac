//! The pure-Rust half of prefetching: no LLVM types here, so `cargo-hallows` can include this
//! directory with `#[path = ".../hallows-llvm-pass/src/prefetch/model/mod.rs"] mod model;`.
//!
//! - [`site`]: stable load-site ids;
//! - [`raw`]: the binary sample file the instrumented program writes at exit;
//! - [`cache`]: the cache model (sizes from sysfs, measured latencies);
//! - [`pattern`]: stride / irregular classification, footprint, miss estimate;
//! - [`profile`]: merging raw files into the text profile the pass reads;
//! - [`distance`]: the prefetch distance;
//! - [`perf`]: whether perf events can sample memory accesses here.

pub mod cache;
pub mod distance;
pub mod pattern;
pub mod perf;
pub mod profile;
pub mod raw;
pub mod site;
