//! `hallows-prefetch`: software prefetching for loads in loops, driven by an access profile.
//!
//! This version is analysis only and conservative: it finds every load inside a loop and
//! reports it as skipped because no access profile is available to justify a prefetch (a
//! prefetch without knowing the access stride and miss rate more often costs than helps; see
//! LLVM's `LoopDataPrefetch.cpp`, which likewise needs a target-specified distance). It never
//! changes the IR.
//!
//! [`analysis`] finds the candidate loads; insertion belongs in `insert.rs` once profiles exist.

pub mod analysis;

use serde_json::json;

use crate::ir::Module;
use crate::options::Options;
use crate::report::ModuleReport;
use crate::shim::Analyses;

/// Reason recorded for each load while no access profile is loaded.
pub const REASON_NO_PROFILE: &str = "skipped: no access profile";

/// Runs the prefetch analysis on every defined function. Never changes the IR.
pub fn run(module: Module<'_>, analyses: &Analyses<'_>, options: &Options) -> bool {
    let mut report = ModuleReport::new("hallows-prefetch", module.identifier());
    for function in module.functions() {
        if function.is_declaration() {
            continue;
        }
        let symbol = function.name();
        for load in analysis::loads_in_loops(function, analyses) {
            report.push(
                &symbol,
                "skipped",
                REASON_NO_PROFILE,
                json!({
                    "block": load.block,
                    "load_index": load.load_index,
                    "loop_header": load.loop_header,
                    "loop_depth": load.loop_depth,
                }),
            );
        }
    }
    report.finish(options);
    false
}
