//! The C entry points the shim calls, and which pass runs at which extension point.
//!
//! ## Scheduling (when loaded into rustc or a linker)
//! Profile data (`!prof`) is present from `OptimizerEarly` on. The plugin schedules the passes
//! named in `HALLOWS_PASSES`:
//!
//! | extension point | phase | passes |
//! |-----------------|-------|--------|
//! | `OptimizerEarly` | none, ThinLTO post-link | inventory |
//! | `OptimizerLast` | none, ThinLTO post-link | prefetch, then railway |
//! | `FullLinkTimeOptimizationLast` | fat LTO | inventory, prefetch, railway |
//! | any | ThinLTO / fat LTO *pre-link* | nothing: the post-link pipeline runs them on the final module |
//!
//! rustc with several codegen units runs a ThinLTO pre-link pipeline and then a post-link one
//! per unit; a linker with `--load-pass-plugin` runs the post-link (ThinLTO backends) or the fat
//! LTO pipeline. So each pass runs once per final module.
//!
//! ## Panics
//! Every entry catches panics: a panic never unwinds into LLVM. A pass that panics reports an
//! error on stderr and says the IR is unchanged; passes that change IR decide everything first
//! and only then apply the change, so a panic cannot leave a half-changed function.

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};

use llvm_sys::prelude::LLVMModuleRef;

use crate::ir::Module;
use crate::options::{options, PassSet, MESSAGE_PREFIX};
use crate::shim::{self, Analyses};
use crate::{inventory, prefetch, railway};

/// Pipeline name of a pass id.
pub fn pass_name(pass: u32) -> &'static str {
    match pass {
        shim::PASS_INVENTORY => "hallows-inventory",
        shim::PASS_RAILWAY => "hallows-railway",
        shim::PASS_PREFETCH => "hallows-prefetch",
        shim::PASS_PREFETCH_INSTRUMENT => "hallows-prefetch-instrument",
        _ => "hallows-unknown",
    }
}

/// The passes to add at `extension_point` in LTO `phase`, as a mask of pass bits.
pub fn schedule(enabled: PassSet, extension_point: u32, phase: u32) -> u32 {
    if phase == shim::PHASE_THIN_PRELINK || phase == shim::PHASE_FULL_PRELINK {
        return 0;
    }
    let bit = |on: bool, pass: u32| if on { 1u32 << pass } else { 0 };
    let inventory = bit(enabled.inventory, shim::PASS_INVENTORY);
    let prefetch = bit(enabled.prefetch, shim::PASS_PREFETCH)
        | bit(enabled.prefetch_instrument, shim::PASS_PREFETCH_INSTRUMENT);
    let railway = bit(enabled.railway, shim::PASS_RAILWAY);
    match extension_point {
        shim::EP_OPTIMIZER_EARLY => inventory,
        shim::EP_OPTIMIZER_LAST => prefetch | railway,
        shim::EP_FULL_LTO_LAST => inventory | prefetch | railway,
        _ => 0,
    }
}

/// Called by the shim's extension-point callbacks: which passes to add.
#[no_mangle]
pub extern "C" fn hallows_rust_schedule(extension_point: u32, phase: u32) -> u32 {
    catch_unwind(|| {
        let mask = schedule(options().passes, extension_point, phase);
        if mask & (1 << shim::PASS_RAILWAY) != 0 {
            railway::configure_backend(options());
        }
        mask
    })
    .unwrap_or_else(|_| {
        eprintln!(
            "{MESSAGE_PREFIX}: error: internal error while scheduling passes; scheduling none"
        );
        0
    })
}

/// Called by the shim's module pass: runs Rust pass `pass` on `module`. Returns 1 when the IR
/// changed.
///
/// # Safety
/// `module` must be the live module of the current pass run and `ctx` the shim's context for it.
#[no_mangle]
pub unsafe extern "C" fn hallows_rust_run_pass(
    pass: u32,
    flags: u32,
    module: LLVMModuleRef,
    ctx: *mut c_void,
) -> u32 {
    let result = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the shim passes the module and context of the running pass; both outlive this
        // call, which is all the views below live for.
        let (module, analyses) = unsafe { (Module::from_raw(module), Analyses::from_raw(ctx)) };
        let print = flags & shim::RUN_PRINT != 0;
        match pass {
            shim::PASS_INVENTORY => inventory::run(module, &analyses, print, options()),
            shim::PASS_PREFETCH => prefetch::run(module, &analyses, options()),
            shim::PASS_PREFETCH_INSTRUMENT => {
                prefetch::instrument::run(module, &analyses, options())
            }
            shim::PASS_RAILWAY => railway::run(module, &analyses, options()),
            _ => false,
        }
    }));
    match result {
        Ok(changed) => u32::from(changed),
        Err(_) => {
            eprintln!(
                "{MESSAGE_PREFIX}: error: internal error in {}; the module is left unchanged \
                 (please report this with the IR that triggered it)",
                pass_name(pass)
            );
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: PassSet = PassSet {
        inventory: true,
        railway: true,
        prefetch: true,
        prefetch_instrument: false,
    };

    #[test]
    fn prelink_phases_schedule_nothing() {
        for ep in [
            shim::EP_OPTIMIZER_EARLY,
            shim::EP_OPTIMIZER_LAST,
            shim::EP_FULL_LTO_LAST,
        ] {
            assert_eq!(schedule(ALL, ep, shim::PHASE_THIN_PRELINK), 0);
            assert_eq!(schedule(ALL, ep, shim::PHASE_FULL_PRELINK), 0);
        }
    }

    #[test]
    fn each_pass_runs_at_one_point_per_pipeline() {
        for phase in [shim::PHASE_NONE, shim::PHASE_THIN_POSTLINK] {
            let early = schedule(ALL, shim::EP_OPTIMIZER_EARLY, phase);
            let last = schedule(ALL, shim::EP_OPTIMIZER_LAST, phase);
            assert_eq!(early & last, 0);
            assert_eq!(early | last, 0b111);
        }
        assert_eq!(
            schedule(ALL, shim::EP_FULL_LTO_LAST, shim::PHASE_FULL_POSTLINK),
            0b111
        );
    }

    #[test]
    fn disabled_passes_are_not_scheduled() {
        let only_inventory = PassSet {
            inventory: true,
            ..PassSet::default()
        };
        assert_eq!(
            schedule(only_inventory, shim::EP_OPTIMIZER_LAST, shim::PHASE_NONE),
            0
        );
        assert_eq!(
            schedule(only_inventory, shim::EP_OPTIMIZER_EARLY, shim::PHASE_NONE),
            1
        );
    }
}
