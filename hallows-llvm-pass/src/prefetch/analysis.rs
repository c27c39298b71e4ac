//! Finding prefetch candidates: loads inside natural loops.

use llvm_sys::LLVMOpcode;

use crate::inventory::collect::block_label;
use crate::ir::Function;
use crate::shim::Analyses;

/// A load inside a loop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoopLoad {
    /// The load's block (`bb<index>` when unnamed).
    pub block: String,
    /// Position of the load among the function's loads (0-based, function order).
    pub load_index: usize,
    /// Header of the innermost loop containing the load.
    pub loop_header: String,
    /// Depth of that loop.
    pub loop_depth: u32,
}

/// Every load inside a loop of `function`, in function order.
pub fn loads_in_loops<'m>(function: Function<'m>, analyses: &Analyses<'m>) -> Vec<LoopLoad> {
    let loops = analyses.loops(function);
    if loops.loops.is_empty() {
        return Vec::new();
    }
    let blocks = function.blocks();
    let mut out = Vec::new();
    let mut load_index = 0usize;
    for (i, block) in blocks.iter().enumerate() {
        let innermost = loops.block_loop.get(i).copied().flatten();
        for inst in block.instructions() {
            if inst.opcode() != LLVMOpcode::LLVMLoad {
                continue;
            }
            if let Some(l) = innermost.and_then(|l| loops.loops.get(l)) {
                let header_index = blocks.iter().position(|b| *b == l.header);
                out.push(LoopLoad {
                    block: block_label(block.name(), Some(i)),
                    load_index,
                    loop_header: block_label(l.header.name(), header_index),
                    loop_depth: l.depth,
                });
            }
            load_index += 1;
        }
    }
    out
}
