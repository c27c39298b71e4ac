//! `hallows-inventory`: what each defined function contains — size, loops with their depth and
//! trip-count knowledge, branches, and the profile data present. It never changes the IR.
//!
//! `print<hallows-inventory>` prints the same inventory in the stable text form of
//! [`text::render_module`] on stderr (for FileCheck tests).

pub mod collect;
pub mod text;

use crate::ir::Module;
use crate::options::Options;
use crate::report::ModuleReport;
use crate::shim::{Analyses, TripCount};

pub use collect::collect_function;

/// Knowledge of one loop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoopSummary {
    /// Nesting depth, 1 for outermost.
    pub depth: u32,
    /// Header block name, or `bb<index>` when the block is unnamed.
    pub header: String,
    /// Index of the enclosing loop in the function's loop list.
    pub parent: Option<usize>,
    /// Blocks in the loop (nested loops included).
    pub blocks: u32,
    /// Blocks leaving the loop.
    pub exiting_blocks: u32,
    /// What ScalarEvolution knows of the trip count.
    pub trip_count: TripCount,
}

/// Inventory of one defined function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionInventory {
    /// Mangled symbol name.
    pub symbol: String,
    /// Instructions in all blocks.
    pub instructions: usize,
    /// Basic blocks.
    pub blocks: usize,
    /// Conditional `br` instructions.
    pub conditional_branches: usize,
    /// `switch` instructions.
    pub switches: usize,
    /// Terminators carrying `!prof` branch weights from a profile.
    pub branch_weights: usize,
    /// Terminators carrying weights derived from `llvm.expect` (`!"expected"`): not profile data.
    pub expected_weights: usize,
    /// Function entry count from `!prof`.
    pub entry_count: Option<u64>,
    /// Loops in preorder.
    pub loops: Vec<LoopSummary>,
}

impl FunctionInventory {
    /// True when the function carries any profile data.
    pub fn has_profile(&self) -> bool {
        self.entry_count.is_some() || self.branch_weights > 0
    }
}

/// Runs the inventory on every defined function of `module`. Never changes the IR.
pub fn run(module: Module<'_>, analyses: &Analyses<'_>, print: bool, options: &Options) -> bool {
    let module_id = module.identifier();
    let functions: Vec<FunctionInventory> = module
        .functions()
        .into_iter()
        .filter(|f| !f.is_declaration())
        .map(|f| collect_function(module, f, analyses))
        .collect();
    if print {
        eprint!("{}", text::render_module(&module_id, &functions));
    }
    let mut report = ModuleReport::new("hallows-inventory", module_id);
    for f in &functions {
        report.push(&f.symbol, "analyzed", text::reason(f), text::data(f));
    }
    report.finish(options);
    false
}
