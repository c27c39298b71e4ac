//! Applying [`dispatch`](super::dispatch) plans to a function's IR through the C++ shim
//! (`dispatch_shim.cpp`).
//!
//! `HALLOWS_RAILWAY_DISPATCH=0` turns dispatch threading off (default on).
//!
//! Once threaded, the dispatch `switch` and its copies share one table of block addresses and
//! become a load from it plus an `indirectbr` (computed goto, as in CPython's `ceval.c` and
//! LuaJIT's interpreter; Ertl & Gregg 2003 compare the two forms). Each copy of a `switch`
//! otherwise gets its own jump table, whose address it rebuilds at every dispatch (callgrind on
//! `interp`: 3 more instructions per dispatch than the one shared dispatch, whose table address
//! stayed in a register). `HALLOWS_RAILWAY_DISPATCH_TABLE=0` keeps the `switch`es.

use std::sync::OnceLock;

use llvm_sys::prelude::LLVMBasicBlockRef;
use llvm_sys::LLVMOpcode;
use serde_json::{json, Value};

use super::cfg;
use super::dispatch::{self, BlockShape, DispatchPlan, Terminator};
use crate::ir::{Function, Module};
use crate::shim::Analyses;

/// Environment variable that turns dispatch threading off (`0`, `false`, `no`).
pub const ENV_DISPATCH: &str = "HALLOWS_RAILWAY_DISPATCH";
/// Environment variable that keeps the threaded copies as `switch`es (`0`, `false`, `no`)
/// instead of jumps through one shared table.
pub const ENV_DISPATCH_TABLE: &str = "HALLOWS_RAILWAY_DISPATCH_TABLE";

extern "C" {
    fn hallows_shim_thread_dispatch(
        chain: *const LLVMBasicBlockRef,
        num_chain: usize,
        preds: *const LLVMBasicBlockRef,
        num_preds: usize,
        table: i32,
        table_entries: *mut i32,
    ) -> i32;
}

/// Whether dispatch threading is on in this process.
pub fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| crate::options::env_switch(ENV_DISPATCH, true))
}

/// Whether threaded dispatches share one table of block addresses in this process.
pub fn table_enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| crate::options::env_switch(ENV_DISPATCH_TABLE, true))
}

/// The shim's refusal codes (`dispatch_shim.cpp`).
fn shim_reason(code: i32) -> &'static str {
    match code {
        -1 => "dispatch not threaded: the chain is not a straight line of branches",
        -2 => "dispatch not threaded: the chain holds an instruction that must not be copied",
        -3 => "dispatch not threaded: debug records refer to values of the chain",
        -4 => "dispatch not threaded: a predecessor does not end in a plain branch to the chain",
        _ => "dispatch not threaded: the shim refused the plan",
    }
}

/// The shape of every block, for [`dispatch::plan`].
pub(super) fn shapes(function: Function<'_>) -> Vec<BlockShape> {
    function
        .blocks()
        .iter()
        .map(|b| {
            let instructions = b.instructions();
            let real = instructions.iter().filter(|i| !i.is_phi()).count() as u64;
            let terminator = match b.terminator() {
                Some(t) if t.opcode() == LLVMOpcode::LLVMBr => {
                    if t.is_conditional_branch() {
                        Terminator::CondBranch
                    } else {
                        Terminator::Branch
                    }
                }
                Some(t) if t.opcode() == LLVMOpcode::LLVMSwitch => Terminator::Switch,
                _ => Terminator::Other,
            };
            BlockShape {
                terminator,
                instructions: real,
            }
        })
        .collect()
}

/// Finds and threads the dispatch of `function`. Returns the report field (`None` when the
/// function has no dispatch loop) and whether the IR changed.
pub fn thread_dispatch<'m>(
    module: Module<'m>,
    function: Function<'m>,
    analyses: &Analyses<'m>,
) -> (Option<Value>, bool) {
    let Ok(cfg) = cfg::build(module, function, analyses) else {
        return (None, false);
    };
    let plan = match dispatch::plan(&cfg.graph, &shapes(function)) {
        Ok(Some(plan)) => plan,
        Ok(None) => return (None, false),
        Err(e) => {
            return (
                Some(json!({ "threaded": false, "reason": e.reason() })),
                false,
            )
        }
    };
    let DispatchPlan {
        chain,
        predecessors,
        chain_instructions,
        dispatch_count,
        coverage,
    } = &plan;
    let chain_raw: Vec<LLVMBasicBlockRef> = chain.iter().map(|&b| cfg.blocks[b].raw()).collect();
    let preds_raw: Vec<LLVMBasicBlockRef> =
        predecessors.iter().map(|&b| cfg.blocks[b].raw()).collect();
    let mut table_entries = 0i32;
    // SAFETY: every block is a live block of `function`, which belongs to the module being run;
    // the shim validates the chain and the predecessors before it changes anything, and
    // writes `table_entries` (a live local) before it returns.
    let copies = unsafe {
        hallows_shim_thread_dispatch(
            chain_raw.as_ptr(),
            chain_raw.len(),
            preds_raw.as_ptr(),
            preds_raw.len(),
            i32::from(table_enabled()),
            &mut table_entries,
        )
    };
    if copies < 0 {
        return (
            Some(json!({ "threaded": false, "reason": shim_reason(copies) })),
            false,
        );
    }
    analyses.invalidate(function);
    (
        Some(json!({
            "threaded": true,
            "copies": copies,
            "chain_blocks": chain.len(),
            "chain_instructions": chain_instructions,
            "duplicated_instructions": plan.duplicated_instructions(),
            "dispatch_count": dispatch_count,
            "coverage": (coverage * 10_000.0).round() / 10_000.0,
            "table_entries": table_entries,
        })),
        true,
    )
}
