//! Load sites of a function: every load inside a loop, with its stable id (see `model::site`).

use llvm_sys::LLVMOpcode;

use super::ll::{self, Bb, Value};
use super::model::site::{function_stem_hash, SiteKey};

/// One load inside a loop.
#[derive(Clone, Copy, Debug)]
pub struct LoadSite {
    /// The load.
    pub load: Value,
    /// Its block.
    pub block: Bb,
    /// Innermost loop (index in the shim's list).
    pub loop_index: usize,
    /// Ordinal among the function's loads.
    pub ordinal: u32,
    /// Stable id.
    pub id: u64,
}

/// Stem hash of the function's symbol and its loads in loops, ids computed before any change.
pub fn load_sites(
    function: Value,
    symbol: &str,
    innermost: &std::collections::HashMap<Bb, usize>,
) -> (u64, Vec<LoadSite>) {
    let stem = function_stem_hash(symbol);
    let blocks = ll::blocks(function);
    let instructions: usize = blocks.iter().map(|&b| ll::instructions(b).len()).sum();
    let mut ordinal = 0u32;
    let mut out = Vec::new();
    for &block in &blocks {
        for inst in ll::instructions(block) {
            if ll::opcode(inst) != Some(LLVMOpcode::LLVMLoad) {
                continue;
            }
            if let Some(&loop_index) = innermost.get(&block) {
                let (line, column) = ll::debug_location(inst);
                let key = SiteKey {
                    function: stem,
                    blocks: blocks.len() as u32,
                    instructions: instructions as u32,
                    ordinal,
                    line,
                    column,
                };
                out.push(LoadSite {
                    load: inst,
                    block,
                    loop_index,
                    ordinal,
                    id: key.id(),
                });
            }
            ordinal += 1;
        }
    }
    (stem, out)
}
