//! Building a [`LayoutGraph`] from a function's IR and its profile.
//!
//! Block counts are `entry count × block frequency / entry frequency` (BlockFrequencyInfo,
//! which propagates the `!prof` branch weights through the CFG, loops included); without an
//! entry count the raw frequencies serve as relative counts. Edge counts are block counts times
//! the branch probabilities derived from the same weights.

use std::collections::HashMap;

use super::layout::{Edge, LayoutGraph};
use crate::ir::{Block, Function, Module};
use crate::options::BYTES_PER_INSTRUCTION;
use crate::shim::{Analyses, PROBABILITY_DENOMINATOR};

/// A function's CFG with counts, and the blocks the graph's indices refer to.
pub struct FunctionCfg<'m> {
    /// Blocks in function order; index `i` is graph block `i`.
    pub blocks: Vec<Block<'m>>,
    /// Sizes, counts and edges.
    pub graph: LayoutGraph,
    /// Whether each block is an exception-handling pad.
    pub eh_pad: Vec<bool>,
}

/// Why no CFG could be built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CfgError {
    /// A block has no terminator (the IR is not well formed).
    MissingTerminator,
    /// A successor is not a block of the function.
    ForeignSuccessor,
    /// LLVM's block frequency or branch probability analysis gave no answer.
    NoFrequencies,
}

impl CfgError {
    /// The reason sentence for reports.
    pub fn reason(&self) -> &'static str {
        match self {
            CfgError::MissingTerminator => "left alone: a block has no terminator",
            CfgError::ForeignSuccessor => {
                "left alone: a branch targets a block of another function"
            }
            CfgError::NoFrequencies => "left alone: block frequencies are unavailable",
        }
    }
}

/// Scales a block frequency to an execution count.
pub fn scale_count(freq: u64, entry_freq: u64, entry_count: Option<u64>) -> u64 {
    match entry_count {
        Some(count) if entry_freq > 0 => {
            let c = u128::from(count) * u128::from(freq) / u128::from(entry_freq);
            u64::try_from(c).unwrap_or(u64::MAX)
        }
        _ => freq,
    }
}

/// Builds the CFG of a defined function.
pub fn build<'m>(
    module: Module<'m>,
    function: Function<'m>,
    analyses: &Analyses<'m>,
) -> Result<FunctionCfg<'m>, CfgError> {
    let blocks = function.blocks();
    let index: HashMap<Block<'m>, usize> =
        blocks.iter().enumerate().map(|(i, b)| (*b, i)).collect();
    let mut sizes = Vec::with_capacity(blocks.len());
    let mut eh_pad = Vec::with_capacity(blocks.len());
    let mut successors = Vec::with_capacity(blocks.len());
    for block in &blocks {
        let instructions = block.instructions();
        let real = instructions.iter().filter(|i| !i.is_phi()).count().max(1) as u64;
        sizes.push(real * BYTES_PER_INSTRUCTION);
        eh_pad.push(block.is_eh_pad());
        let term = block.terminator().ok_or(CfgError::MissingTerminator)?;
        let succ: Result<Vec<usize>, CfgError> = term
            .successors()
            .iter()
            .map(|s| index.get(s).copied().ok_or(CfgError::ForeignSuccessor))
            .collect();
        successors.push(succ?);
    }
    let (freqs, entry_freq) = analyses
        .block_frequencies(function)
        .ok_or(CfgError::NoFrequencies)?;
    let num_edges = successors.iter().map(Vec::len).sum();
    let probs = analyses
        .edge_probabilities(function, num_edges)
        .ok_or(CfgError::NoFrequencies)?;
    let entry_count = function.entry_count(module);
    let counts: Vec<u64> = freqs
        .iter()
        .map(|&f| scale_count(f, entry_freq, entry_count))
        .collect();
    let mut edges = Vec::with_capacity(num_edges);
    let mut k = 0;
    for (src, succ) in successors.iter().enumerate() {
        for &dst in succ {
            // Rounded to nearest, so a certain edge of a block keeps the block's count.
            let denominator = u128::from(PROBABILITY_DENOMINATOR);
            let c =
                (u128::from(counts[src]) * u128::from(probs[k]) + denominator / 2) / denominator;
            edges.push(Edge {
                src,
                dst,
                count: u64::try_from(c).unwrap_or(u64::MAX),
            });
            k += 1;
        }
    }
    Ok(FunctionCfg {
        blocks,
        graph: LayoutGraph {
            sizes,
            counts,
            edges,
        },
        eh_pad,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_scale_by_entry_count() {
        assert_eq!(scale_count(8, 8, Some(100)), 100);
        assert_eq!(scale_count(4, 8, Some(100)), 50);
        assert_eq!(scale_count(0, 8, Some(100)), 0);
        assert_eq!(scale_count(5, 8, None), 5);
        assert_eq!(scale_count(u64::MAX, 1, Some(u64::MAX)), u64::MAX);
    }
}
