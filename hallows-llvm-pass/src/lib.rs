//! The Hallows LLVM pass plugin.
//!
//! A `cdylib` that `opt`, rustc (`-Z llvm-plugins=`) or the linker (`--load-pass-plugin=`) loads.
//! Registration with LLVM's `PassBuilder` happens in a small C++ shim (`shim/hallows_shim.cpp`,
//! built by `build.rs`); the passes themselves are Rust on LLVM's C API (`llvm-sys`), with the
//! analyses the C API lacks (loops, scalar evolution, block frequencies) handed over by the shim
//! as plain C structs.
//!
//! | module        | concept |
//! |---------------|---------|
//! | [`entry`]     | the C entry points LLVM calls; panics are caught there |
//! | [`options`]   | every environment variable and tunable |
//! | [`ir`]        | thin, lifetime-checked views of modules, functions, blocks, instructions |
//! | [`shim`]      | the C interface to the C++ shim and its analyses |
//! | [`names`]     | demangling, crate names, report file names (pure) |
//! | [`report`]    | JSON-lines report records (docs/REPORT_FORMAT.md) |
//! | [`inventory`] | `hallows-inventory` / `print<hallows-inventory>`: what the IR contains |
//! | [`prefetch`]  | `hallows-prefetch`: loads in loops (analysis only for now) |
//! | [`railway`]   | `hallows-railway`: profile-guided block layout and hot/cold splitting |
//!
//! Pipeline names: `hallows-inventory`, `print<hallows-inventory>`, `hallows-railway`,
//! `hallows-prefetch`. Loaded into rustc or a linker, the plugin schedules the passes named in
//! `HALLOWS_PASSES` by itself; see [`options`] and [`entry`].
#![deny(unsafe_op_in_unsafe_fn)]

pub mod entry;
pub mod inventory;
pub mod ir;
pub mod names;
pub mod options;
pub mod prefetch;
pub mod railway;
pub mod report;
pub mod shim;

/// The entry point LLVM looks up after `dlopen`ing a pass plugin.
///
/// It is defined in Rust (not in the C++ shim) because a `cdylib` exports only Rust's
/// `#[no_mangle]` symbols.
#[no_mangle]
pub extern "C" fn llvmGetPassPluginInfo() -> shim::PassPluginLibraryInfo {
    // SAFETY: the shim function has no preconditions; it only builds a struct of constants.
    unsafe { shim::hallows_shim_plugin_info() }
}

// The unit-test executable is a normal program, not a plugin: nothing provides LLVM's symbols at
// run time, so it links the system libLLVM (found in `llvm-config --libdir`, see build.rs).
#[cfg(test)]
#[link(name = "LLVM")]
extern "C" {}
