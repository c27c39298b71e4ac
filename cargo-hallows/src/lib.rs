//! `cargo hallows`: builds Rust programs with the Hallows LLVM pass plugin loaded, reads the
//! passes' reports, collects PGO profiles and checks the toolchain.
//!
//! The binary (`src/main.rs`) parses the command line ([`cli`]) and dispatches to
//! [`commands`]; when cargo runs it as `RUSTC_WRAPPER` it acts as [`wrapper`] instead.
#![deny(unsafe_op_in_unsafe_fn)]

pub mod cargo;
pub mod cli;
pub mod commands;
pub mod plugin;
pub mod prefetch;
/// The pass plugin's pure-Rust prefetch model (site ids, raw sample files, cache model, merged
/// profile), compiled here from the plugin's sources so both read and write one format.
#[path = "../../hallows-llvm-pass/src/prefetch/model/mod.rs"]
#[allow(dead_code)]
pub mod prefetch_model;
pub mod report;
pub mod rustflags;
pub mod term;
pub mod toolchain;
pub mod training;
pub mod wrapper;
