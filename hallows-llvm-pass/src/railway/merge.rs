//! Merge threading: copying a hot merge block (and the blocks only it leads to) into the
//! predecessors along whose edge one of its branches is decided by a constant.
//!
//! A scanner such as `lexer`'s `next_token` ends every token kind in one merge block whose phis
//! collect the kind and the length; right after it, `match token.kind` branches on the phi
//! again. Each arm knows its kind as a constant, but every arm shares the merge block, so the
//! kind is re-tested at run time, and the shared branch sees all arms' outcomes. Copying the
//! merge block into the arms whose incoming values decide a branch lets each copy fold that
//! branch and whatever computes only from constants: this is *jump threading* (Mueller &
//! Whalley, "Avoiding conditional branches by code replication", PLDI 1995; LLVM's
//! `JumpThreading` threads a branch on a phi of constants but only through one block of at most
//! six instructions, `-jump-threading-threshold`). Here the profile picks the copies: only hot
//! predecessors get one, within a budget of copied instructions.
//!
//! This module is the decision on a plain graph ([`plan`]): which blocks are hot merge points
//! and which chain follows each. The C++ shim (`dispatch_shim.cpp`,
//! `hallows_shim_thread_merge`) keeps, of the offered predecessors, those along whose edge a
//! dry run folds a conditional terminator of the chain, copies the chain into them (the same
//! copy and SSA update as dispatch threading) and folds the copies.
//!
//! `HALLOWS_RAILWAY_MERGE=0` turns it off (default on).

use std::sync::OnceLock;

use llvm_sys::prelude::LLVMBasicBlockRef;
use serde_json::{json, Value};

use super::cfg;
use super::dispatch::{BlockShape, Terminator};
use super::layout::LayoutGraph;
use crate::ir::{Function, Module};
use crate::shim::Analyses;

/// Environment variable that turns merge threading off (`0`, `false`, `no`).
pub const ENV_MERGE: &str = "HALLOWS_RAILWAY_MERGE";
/// A merge block runs at least `1/HOT_MERGE_DIVISOR` as often as the function's hottest block.
pub const HOT_MERGE_DIVISOR: u64 = 8;
/// Fewest distinct predecessors that make a block a merge point worth copying.
pub const MIN_MERGE_PREDECESSORS: usize = 3;
/// Longest chain (the merge block and the blocks only it leads to) that is copied.
pub const MAX_MERGE_CHAIN_BLOCKS: usize = 3;
/// Most instructions in one copy of the chain.
pub const MAX_MERGE_CHAIN_INSTRUCTIONS: u64 = 24;
/// Budget of copied instructions per merge point.
pub const MAX_MERGE_DUPLICATED_INSTRUCTIONS: u64 = 480;
/// Most merge points threaded per function.
pub const MAX_MERGE_SITES: usize = 4;
/// A predecessor is offered a copy only if it enters the merge block at least
/// `1/MIN_MERGE_SHARE_DIVISOR` as often as the merge block runs.
pub const MIN_MERGE_SHARE_DIVISOR: u64 = 100;
/// Fewest offered predecessors that make a merge point worth a call into the shim.
pub const MIN_MERGE_COPIES: usize = 2;

/// One merge point and what is offered to the shim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergePlan {
    /// The chain, merge block first; each later block is reached only from the one before.
    pub chain: Vec<usize>,
    /// Predecessors of the merge block offered a copy, hottest first.
    pub predecessors: Vec<usize>,
    /// Instructions in one copy of the chain (phis excluded).
    pub chain_instructions: u64,
    /// Count of the merge block.
    pub count: u64,
}

/// Finds the hot merge points of the function described by `graph`, `shapes` and `has_phis`
/// (whether each block starts with phis), hottest first, at most [`MAX_MERGE_SITES`], no two
/// sharing a block (chain or predecessor), so all of them can be applied to the same IR.
pub fn plan(graph: &LayoutGraph, shapes: &[BlockShape], has_phis: &[bool]) -> Vec<MergePlan> {
    let n = graph.len();
    debug_assert_eq!(shapes.len(), n);
    debug_assert_eq!(has_phis.len(), n);
    let mut succs: Vec<Vec<(usize, u64)>> = vec![Vec::new(); n];
    let mut preds: Vec<Vec<(usize, u64)>> = vec![Vec::new(); n];
    for e in &graph.edges {
        succs[e.src].push((e.dst, e.count));
        match preds[e.dst].iter_mut().find(|(p, _)| *p == e.src) {
            Some((_, c)) => *c = c.saturating_add(e.count),
            None => preds[e.dst].push((e.src, e.count)),
        }
    }
    let edges_between = |a: usize, b: usize| succs[a].iter().filter(|(s, _)| *s == b).count();
    let branchy = |b: usize| {
        matches!(
            shapes[b].terminator,
            Terminator::Branch | Terminator::CondBranch | Terminator::Switch
        )
    };
    let max_count = graph.counts.iter().copied().max().unwrap_or(0);
    let mut heads: Vec<usize> = (1..n)
        .filter(|&h| {
            let c = graph.counts[h];
            has_phis[h]
                && branchy(h)
                && preds[h].len() >= MIN_MERGE_PREDECESSORS
                && c > 0
                && u128::from(c) * u128::from(HOT_MERGE_DIVISOR) >= u128::from(max_count)
        })
        .collect();
    heads.sort_by_key(|&h| (std::cmp::Reverse(graph.counts[h]), h));

    let mut taken = vec![false; n];
    let mut plans = Vec::new();
    for head in heads {
        if plans.len() == MAX_MERGE_SITES {
            break;
        }
        // The chain: the merge block, then while the last block has a hottest successor that
        // only it enters (once), that successor.
        let mut chain = vec![head];
        while chain.len() < MAX_MERGE_CHAIN_BLOCKS {
            let last = *chain.last().expect("the chain starts with the head");
            let Some(&(next, _)) = succs[last]
                .iter()
                .filter(|(s, _)| *s != 0 && !chain.contains(s))
                .max_by_key(|&&(s, c)| (c, std::cmp::Reverse(s)))
            else {
                break;
            };
            if preds[next].len() != 1 || edges_between(last, next) != 1 || !branchy(next) {
                break;
            }
            // No edge from the new block back into the chain: the chain stays a straight line.
            if succs[next].iter().any(|(s, _)| chain.contains(s)) {
                break;
            }
            chain.push(next);
        }
        // Edges inside the chain are only `chain[k] -> chain[k + 1]`.
        if chain
            .iter()
            .enumerate()
            .any(|(k, &b)| succs[b].iter().any(|(s, _)| chain[..=k].contains(s)))
        {
            continue;
        }
        let chain_instructions: u64 = chain.iter().map(|&b| shapes[b].instructions).sum();
        if chain_instructions > MAX_MERGE_CHAIN_INSTRUCTIONS {
            continue;
        }
        let count = graph.counts[head];
        let mut candidates: Vec<(usize, u64)> = preds[head]
            .iter()
            .copied()
            .filter(|&(p, c)| {
                !chain.contains(&p)
                    && !taken[p]
                    && matches!(
                        shapes[p].terminator,
                        Terminator::Branch | Terminator::CondBranch
                    )
                    && edges_between(p, head) == 1
                    && c > 0
                    && u128::from(c) * u128::from(MIN_MERGE_SHARE_DIVISOR) >= u128::from(count)
            })
            .collect();
        candidates.sort_by_key(|&(p, c)| (std::cmp::Reverse(c), p));
        let by_budget = (MAX_MERGE_DUPLICATED_INSTRUCTIONS / chain_instructions.max(1)) as usize;
        candidates.truncate(by_budget.min(preds[head].len().saturating_sub(1)));
        if candidates.len() < MIN_MERGE_COPIES
            || chain.iter().any(|&b| taken[b])
            || candidates.iter().any(|&(p, _)| taken[p])
        {
            continue;
        }
        for &b in &chain {
            taken[b] = true;
        }
        for &(p, _) in &candidates {
            taken[p] = true;
        }
        plans.push(MergePlan {
            chain,
            predecessors: candidates.iter().map(|&(p, _)| p).collect(),
            chain_instructions,
            count,
        });
    }
    plans
}

extern "C" {
    fn hallows_shim_thread_merge(
        chain: *const LLVMBasicBlockRef,
        num_chain: usize,
        preds: *const LLVMBasicBlockRef,
        num_preds: usize,
        folded: *mut i32,
        branches: *mut i32,
    ) -> i32;
}

/// Whether merge threading is on in this process.
pub fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| crate::options::env_switch(ENV_MERGE, true))
}

/// Plans and applies merge threading in `function`. Returns the report field (`None` when the
/// function has no hot merge point) and whether the IR changed.
pub fn thread_merges<'m>(
    module: Module<'m>,
    function: Function<'m>,
    analyses: &Analyses<'m>,
) -> (Option<Value>, bool) {
    let Ok(cfg) = cfg::build(module, function, analyses) else {
        return (None, false);
    };
    let blocks = function.blocks();
    let has_phis: Vec<bool> = blocks
        .iter()
        .map(|b| b.instructions().first().is_some_and(|i| i.is_phi()))
        .collect();
    let plans = plan(&cfg.graph, &super::thread::shapes(function), &has_phis);
    if plans.is_empty() {
        return (None, false);
    }
    let mut sites = Vec::new();
    let mut changed = false;
    for p in &plans {
        let chain: Vec<LLVMBasicBlockRef> = p.chain.iter().map(|&b| cfg.blocks[b].raw()).collect();
        let preds: Vec<LLVMBasicBlockRef> = p
            .predecessors
            .iter()
            .map(|&b| cfg.blocks[b].raw())
            .collect();
        let (mut folded, mut branches) = (0i32, 0i32);
        // SAFETY: every block is a live block of `function`; the plans share no block, so the
        // copies made for one plan leave every block of the others in place (copies only add
        // blocks and retarget the chosen predecessors' edges into their own chain). The shim
        // validates the chain and the predecessors before it changes anything and writes both
        // counters (live locals) before it returns.
        let copies = unsafe {
            hallows_shim_thread_merge(
                chain.as_ptr(),
                chain.len(),
                preds.as_ptr(),
                preds.len(),
                &mut folded,
                &mut branches,
            )
        };
        changed |= copies > 0;
        sites.push(json!({
            "chain_blocks": p.chain.len(),
            "chain_instructions": p.chain_instructions,
            "count": p.count,
            "offered": p.predecessors.len(),
            "copies": copies.max(0),
            "folded_instructions": folded,
            "folded_branches": branches,
            "reason": match copies {
                c if c > 0 => "threaded",
                0 => "no offered predecessor decides a branch of the chain",
                _ => "the shim refused the chain or a predecessor",
            },
        }));
    }
    if changed {
        analyses.invalidate(function);
    }
    (
        Some(json!({ "threaded": changed, "sites": sites })),
        changed,
    )
}

#[cfg(test)]
mod tests {
    use super::super::dispatch::shape;
    use super::super::layout::graph;
    use super::*;

    /// A scanner loop: entry(0) -> head(1) -> arms 2..2+k -> merge(m) -> test(t) -> ident(i) |
    /// latch(l); ident -> latch; latch -> head | exit(x). Arm `a` runs `weights[a]` times.
    fn scanner(weights: &[u64]) -> (LayoutGraph, Vec<BlockShape>, Vec<bool>) {
        let k = weights.len();
        let total: u64 = weights.iter().sum();
        let (m, t, i, l, x) = (2 + k, 3 + k, 4 + k, 5 + k, 6 + k);
        let n = 7 + k;
        let mut counts = vec![1, total];
        let mut edges = vec![(0, 1, 1)];
        let mut shapes = vec![shape(Terminator::Branch, 2), shape(Terminator::Switch, 2)];
        for (a, &w) in weights.iter().enumerate() {
            counts.push(w);
            edges.push((1, 2 + a, w));
            edges.push((2 + a, m, w));
            shapes.push(shape(Terminator::Branch, 3));
        }
        counts.extend([total, total, weights[0], total, 1]);
        edges.extend([
            (m, t, total),
            (t, i, weights[0]),
            (t, l, total - weights[0]),
            (i, l, weights[0]),
            (l, 1, total - 1),
            (l, x, 1),
        ]);
        shapes.extend([
            shape(Terminator::CondBranch, 4),
            shape(Terminator::CondBranch, 2),
            shape(Terminator::Branch, 5),
            shape(Terminator::CondBranch, 3),
            shape(Terminator::Other, 1),
        ]);
        let mut has_phis = vec![false; n];
        has_phis[m] = true;
        has_phis[1] = true;
        has_phis[l] = true;
        (graph(&vec![16; n], &counts, &edges), shapes, has_phis)
    }

    #[test]
    fn a_hot_merge_block_and_its_test_are_offered_to_the_hot_arms() {
        let (graph, shapes, has_phis) = scanner(&[400, 300, 200, 99, 1]);
        let plans = plan(&graph, &shapes, &has_phis);
        assert_eq!(plans.len(), 1);
        let p = &plans[0];
        // merge(7) -> test(8); the ident block (9) is entered from the test only, but the test's
        // hottest successor is the latch (10), which has two predecessors: the chain stops.
        assert_eq!(p.chain, vec![7, 8]);
        assert_eq!(p.chain_instructions, 6);
        // The rarest arm (1 in 1000 < 1/100) is not offered.
        assert_eq!(p.predecessors, vec![2, 3, 4, 5]);
        assert_eq!(p.count, 1000);
    }

    #[test]
    fn a_block_without_phis_is_no_merge_point() {
        let (graph, shapes, mut has_phis) = scanner(&[400, 300, 300]);
        has_phis[5] = false;
        assert!(plan(&graph, &shapes, &has_phis).is_empty());
    }

    #[test]
    fn a_cold_merge_block_is_left_alone() {
        let (mut graph, shapes, has_phis) = scanner(&[10, 10, 10]);
        graph.counts[0] = 1_000_000;
        assert!(plan(&graph, &shapes, &has_phis).is_empty());
    }

    #[test]
    fn a_long_chain_is_left_alone() {
        let (graph, mut shapes, has_phis) = scanner(&[100, 100, 100]);
        shapes[5].instructions = MAX_MERGE_CHAIN_INSTRUCTIONS;
        assert!(plan(&graph, &shapes, &has_phis).is_empty());
    }

    #[test]
    fn switch_predecessors_are_not_offered() {
        let (graph, mut shapes, has_phis) = scanner(&[100, 100, 100, 100]);
        for s in &mut shapes[2..6] {
            s.terminator = Terminator::Switch;
        }
        assert!(plan(&graph, &shapes, &has_phis).is_empty());
    }

    #[test]
    fn copies_stay_within_the_budget_and_one_way_in_stays() {
        let (graph, shapes, has_phis) = scanner(&vec![100; 100]);
        let plans = plan(&graph, &shapes, &has_phis);
        assert_eq!(plans.len(), 1);
        assert_eq!(
            plans[0].predecessors.len() as u64,
            MAX_MERGE_DUPLICATED_INSTRUCTIONS / plans[0].chain_instructions
        );
        let (graph, shapes, has_phis) = scanner(&[100, 100, 100]);
        // Three arms and no other way in: at most two copies.
        assert_eq!(plan(&graph, &shapes, &has_phis)[0].predecessors.len(), 2);
    }
}
