//! Collecting a [`FunctionInventory`] from IR.

use llvm_sys::LLVMOpcode;

use super::{FunctionInventory, LoopSummary};
use crate::ir::{Function, Module};
use crate::shim::Analyses;

/// Inventory of one defined function.
pub fn collect_function<'m>(
    module: Module<'m>,
    function: Function<'m>,
    analyses: &Analyses<'m>,
) -> FunctionInventory {
    let prof_kind = module.prof_kind();
    let blocks = function.blocks();
    let mut inv = FunctionInventory {
        symbol: function.name(),
        instructions: 0,
        blocks: blocks.len(),
        conditional_branches: 0,
        switches: 0,
        branch_weights: 0,
        expected_weights: 0,
        entry_count: function.entry_count(module),
        loops: Vec::new(),
    };
    for block in &blocks {
        let instructions = block.instructions();
        inv.instructions += instructions.len();
        if let Some(term) = block.terminator() {
            if term.is_conditional_branch() {
                inv.conditional_branches += 1;
            }
            if term.opcode() == LLVMOpcode::LLVMSwitch {
                inv.switches += 1;
            }
            match term.branch_weights_with_origin(prof_kind) {
                Some((_, false)) => inv.branch_weights += 1,
                Some((_, true)) => inv.expected_weights += 1,
                None => {}
            }
        }
    }
    let loops = analyses.loops(function);
    inv.loops = loops
        .loops
        .iter()
        .map(|l| LoopSummary {
            depth: l.depth,
            header: block_label(l.header.name(), blocks.iter().position(|b| *b == l.header)),
            parent: l.parent,
            blocks: l.num_blocks,
            exiting_blocks: l.num_exiting,
            trip_count: l.trip_count,
        })
        .collect();
    inv
}

/// A block's name, or `bb<index>` for an unnamed block (`bb?` if it is not in the function).
pub fn block_label(name: String, index: Option<usize>) -> String {
    if !name.is_empty() {
        return name;
    }
    match index {
        Some(i) => format!("bb{i}"),
        None => "bb?".to_owned(),
    }
}
