//! Dispatch threading: giving every hot handler of an interpreter-style loop its own copy of the
//! loop's dispatch branch.
//!
//! A `loop { match op { ... } }` compiles to one *dispatch chain* — the loop's merge block, a few
//! checks, and a `switch` lowered to one indirect jump — that every handler branches back to.
//! All handlers then share one indirect branch (one predictor entry, predicted from global
//! history alone) and pay one extra taken jump per iteration. Copying the chain into the end of
//! each hot handler is the layout known as *threaded code* (Bell, "Threaded code", CACM 16(6),
//! 1973; Ertl & Gregg, "The structure and performance of efficient interpreters", JILP 5, 2003,
//! which measures the gain from per-handler dispatch branches; CPython's and LuaJIT's
//! `computed goto` dispatch is the hand-written form). LLVM's tail duplication does this only for
//! a single block ending in an indirect branch, and never when the dispatch is preceded by
//! checks (bounds, step budget) that end in conditional branches, which is the usual shape.
//!
//! This module is the decision, on a plain graph ([`LayoutGraph`] plus per-block terminator
//! kinds): which `switch` is the dispatch (the hottest one with at least
//! [`MIN_DISPATCH_TARGETS`] targets, within `1/`[`HOT_SWITCH_DIVISOR`] of the function's hottest
//! block), which chain of blocks leads to it, and which predecessors of the chain's head get a
//! copy (the hottest ones ending in an unconditional branch, each carrying at least
//! `1/`[`MIN_PREDECESSOR_SHARE_DIVISOR`] of the dispatch count), bounded by [`MAX_COPIES`] and a
//! budget of [`MAX_DUPLICATED_INSTRUCTIONS`] copied instructions per function. The copying itself
//! is `dispatch_shim.cpp` (clone, remap, fix the exits' phis, SSA update).

use super::layout::LayoutGraph;

/// Fewest distinct targets of a `switch` that makes it a dispatch branch.
pub const MIN_DISPATCH_TARGETS: usize = 4;
/// The dispatch `switch` runs at least `1/HOT_SWITCH_DIVISOR` as often as the function's hottest
/// block (it is the loop's heart, not a side decision).
pub const HOT_SWITCH_DIVISOR: u64 = 4;
/// Longest dispatch chain (merge block, checks, `switch`) that is copied.
pub const MAX_CHAIN_BLOCKS: usize = 6;
/// Most instructions in one copy of the chain: a dispatch is a few loads, compares and the jump;
/// longer chains are real work, not dispatch.
pub const MAX_CHAIN_INSTRUCTIONS: u64 = 40;
/// Most copies per function (each costs a jump table as well as the instructions).
pub const MAX_COPIES: usize = 24;
/// Budget of copied instructions per function, which bounds the code growth.
pub const MAX_DUPLICATED_INSTRUCTIONS: u64 = 640;
/// A predecessor gets a copy only if it branches to the chain at least
/// `1/MIN_PREDECESSOR_SHARE_DIVISOR` as often as the dispatch runs; rarer handlers keep sharing
/// the original chain.
pub const MIN_PREDECESSOR_SHARE_DIVISOR: u64 = 100;
/// Fewest copies worth making: with one, the handler's dispatch stays shared in all but name.
pub const MIN_COPIES: usize = 2;
/// A merge block above the chain joins it when it carries at least
/// `1/LATCH_SHARE_DIVISOR` of the head's count (it is the loop latch all handlers go through).
pub const LATCH_SHARE_DIVISOR: u64 = 2;

/// How a block ends, as far as threading cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Terminator {
    /// Unconditional `br`.
    Branch,
    /// Conditional `br`.
    CondBranch,
    /// `switch`.
    Switch,
    /// Anything else (`ret`, `invoke`, `indirectbr`, `unreachable`, ...).
    Other,
}

/// What threading needs to know about one block besides the layout graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockShape {
    /// How the block ends.
    pub terminator: Terminator,
    /// Non-phi instructions, terminator included.
    pub instructions: u64,
}

/// The decision for one function.
#[derive(Clone, Debug, PartialEq)]
pub struct DispatchPlan {
    /// The chain, head first, the dispatch `switch` block last.
    pub chain: Vec<usize>,
    /// Predecessors of the head that get a copy, hottest first.
    pub predecessors: Vec<usize>,
    /// Instructions in one copy of the chain.
    pub chain_instructions: u64,
    /// Count of the dispatch block.
    pub dispatch_count: u64,
    /// Share of the head's executions that now run in a copy.
    pub coverage: f64,
}

impl DispatchPlan {
    /// Instructions added by the copies.
    pub fn duplicated_instructions(&self) -> u64 {
        self.chain_instructions * self.predecessors.len() as u64
    }
}

/// Why a function's dispatch was not threaded (only for functions that have a dispatch).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotThreaded {
    /// The chain has more than [`MAX_CHAIN_INSTRUCTIONS`] instructions.
    ChainTooLong(u64),
    /// Fewer than [`MIN_COPIES`] predecessors are hot enough to get a copy within the budget.
    FewHotPredecessors(usize),
}

impl NotThreaded {
    /// The sentence for reports.
    pub fn reason(&self) -> String {
        match self {
            NotThreaded::ChainTooLong(n) => format!(
                "dispatch not threaded: its chain has {n} instructions, more than \
                 {MAX_CHAIN_INSTRUCTIONS} (MAX_CHAIN_INSTRUCTIONS)"
            ),
            NotThreaded::FewHotPredecessors(n) => format!(
                "dispatch not threaded: {n} hot predecessor(s) end in an unconditional branch, \
                 fewer than {MIN_COPIES} (MIN_COPIES)"
            ),
        }
    }
}

/// Finds the dispatch of the function described by `graph` and `shapes` and decides which
/// predecessors get a copy. `Ok(None)`: the function has no dispatch loop.
pub fn plan(
    graph: &LayoutGraph,
    shapes: &[BlockShape],
) -> Result<Option<DispatchPlan>, NotThreaded> {
    let n = graph.len();
    debug_assert_eq!(shapes.len(), n);
    if n < 3 {
        return Ok(None);
    }
    let mut succs: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut preds: Vec<Vec<(usize, u64)>> = vec![Vec::new(); n];
    for e in &graph.edges {
        succs[e.src].push(e.dst);
        if e.src != e.dst {
            match preds[e.dst].iter_mut().find(|(p, _)| *p == e.src) {
                Some((_, c)) => *c = c.saturating_add(e.count),
                None => preds[e.dst].push((e.src, e.count)),
            }
        }
    }
    let edges_between = |a: usize, b: usize| succs[a].iter().filter(|&&s| s == b).count();
    let max_count = graph.counts.iter().copied().max().unwrap_or(0);
    let Some(switch) = (0..n)
        .filter(|&b| shapes[b].terminator == Terminator::Switch && b != 0)
        .filter(|&b| {
            let mut targets = succs[b].clone();
            targets.sort_unstable();
            targets.dedup();
            targets.len() >= MIN_DISPATCH_TARGETS && !targets.contains(&b)
        })
        .filter(|&b| {
            let c = graph.counts[b];
            c > 0 && u128::from(c) * u128::from(HOT_SWITCH_DIVISOR) >= u128::from(max_count)
        })
        .max_by_key(|&b| (graph.counts[b], std::cmp::Reverse(b)))
    else {
        return Ok(None);
    };

    // Walk up from the switch: a block joins the chain when it is the head's only predecessor,
    // or the loop latch that most executions of the head come through.
    let mut chain = vec![switch];
    while chain.len() < MAX_CHAIN_BLOCKS {
        let head = chain[0];
        let candidate = if preds[head].len() == 1 {
            Some(preds[head][0].0)
        } else {
            preds[head]
                .iter()
                .filter(|&&(p, c)| {
                    matches!(
                        shapes[p].terminator,
                        Terminator::Branch | Terminator::CondBranch
                    ) && preds[p].len() >= 2
                        && u128::from(c) * u128::from(LATCH_SHARE_DIVISOR)
                            >= u128::from(graph.counts[head])
                })
                .max_by_key(|&&(_, c)| c)
                .map(|&(p, _)| p)
        };
        let Some(q) = candidate else { break };
        let joins = q != 0
            && !chain.contains(&q)
            && matches!(
                shapes[q].terminator,
                Terminator::Branch | Terminator::CondBranch
            )
            && edges_between(q, head) == 1
            // No edge from the new head into the chain except to the old head, and no edge from
            // the chain back to the new head: the chain stays a straight line.
            && succs[q].iter().all(|s| *s == head || !chain.contains(s))
            && chain.iter().all(|&c| !succs[c].contains(&q));
        if !joins {
            break;
        }
        chain.insert(0, q);
    }
    let head = chain[0];
    let chain_instructions: u64 = chain.iter().map(|&b| shapes[b].instructions).sum();
    if chain_instructions > MAX_CHAIN_INSTRUCTIONS {
        return Err(NotThreaded::ChainTooLong(chain_instructions));
    }

    let dispatch_count = graph.counts[switch];
    let mut candidates: Vec<(usize, u64)> = preds[head]
        .iter()
        .copied()
        .filter(|&(p, c)| {
            !chain.contains(&p)
                && shapes[p].terminator == Terminator::Branch
                && c > 0
                && u128::from(c) * u128::from(MIN_PREDECESSOR_SHARE_DIVISOR)
                    >= u128::from(dispatch_count)
        })
        .collect();
    candidates.sort_by_key(|&(p, c)| (std::cmp::Reverse(c), p));
    let by_budget = (MAX_DUPLICATED_INSTRUCTIONS / chain_instructions.max(1)) as usize;
    // At least one predecessor keeps the original chain, so it stays reachable and valid.
    let keep_one = preds[head].len().saturating_sub(1);
    candidates.truncate(MAX_COPIES.min(by_budget).min(keep_one));
    if candidates.len() < MIN_COPIES {
        return Err(NotThreaded::FewHotPredecessors(candidates.len()));
    }
    let covered: u64 = candidates.iter().map(|&(_, c)| c).sum();
    let head_count = graph.counts[head].max(1);
    Ok(Some(DispatchPlan {
        chain,
        predecessors: candidates.iter().map(|&(p, _)| p).collect(),
        chain_instructions,
        dispatch_count,
        coverage: (covered as f64 / head_count as f64).min(1.0),
    }))
}

/// A block shape from its terminator and instruction count: the notation of the threading
/// planners' unit tests (here and in `merge.rs`).
#[cfg(test)]
pub(crate) fn shape(terminator: Terminator, instructions: u64) -> BlockShape {
    BlockShape {
        terminator,
        instructions,
    }
}

#[cfg(test)]
mod tests {
    use super::super::layout::graph;
    use super::*;

    /// entry(0) -> head(1); head -> check(2) | exit(3); check -> switch(4) | exit(3);
    /// switch -> handlers 5..5+k; each handler -> head. Handler `i` runs `weights[i]` times.
    fn interpreter(weights: &[u64]) -> (LayoutGraph, Vec<BlockShape>) {
        let k = weights.len();
        let total: u64 = weights.iter().sum();
        let n = 5 + k;
        let mut counts = vec![1, total + 1, total, 1, total];
        let mut shapes = vec![
            shape(Terminator::Branch, 3),
            shape(Terminator::CondBranch, 3),
            shape(Terminator::CondBranch, 3),
            shape(Terminator::Other, 1),
            shape(Terminator::Switch, 4),
        ];
        let mut edges = vec![
            (0, 1, 1),
            (1, 2, total),
            (1, 3, 1),
            (2, 4, total),
            (2, 3, 0),
        ];
        for (i, &w) in weights.iter().enumerate() {
            counts.push(w);
            shapes.push(shape(Terminator::Branch, 5));
            edges.push((4, 5 + i, w));
            edges.push((5 + i, 1, w));
        }
        let graph = graph(&vec![16; n], &counts, &edges);
        (graph, shapes)
    }

    #[test]
    fn threads_hot_handlers_of_an_interpreter_loop() {
        let (graph, shapes) = interpreter(&[500, 300, 150, 49, 1]);
        let plan = plan(&graph, &shapes).unwrap().unwrap();
        assert_eq!(plan.chain, vec![1, 2, 4]);
        assert_eq!(plan.chain_instructions, 10);
        // The rarest handler (1 in 1000 < 1/100) keeps the shared chain.
        assert_eq!(plan.predecessors, vec![5, 6, 7, 8]);
        assert_eq!(plan.duplicated_instructions(), 40);
        assert!(plan.coverage > 0.99 && plan.coverage <= 1.0);
    }

    #[test]
    fn a_function_without_a_switch_has_no_dispatch() {
        let (graph, mut shapes) = interpreter(&[10, 10, 10, 10]);
        shapes[4].terminator = Terminator::CondBranch;
        assert_eq!(plan(&graph, &shapes), Ok(None));
    }

    #[test]
    fn a_cold_switch_is_not_a_dispatch() {
        let (mut graph, shapes) = interpreter(&[10, 10, 10, 10]);
        graph.counts[0] = 1_000_000;
        assert_eq!(plan(&graph, &shapes), Ok(None));
    }

    #[test]
    fn a_long_chain_is_refused() {
        let (graph, mut shapes) = interpreter(&[10, 10, 10, 10]);
        shapes[2].instructions = MAX_CHAIN_INSTRUCTIONS;
        assert_eq!(
            plan(&graph, &shapes),
            Err(NotThreaded::ChainTooLong(MAX_CHAIN_INSTRUCTIONS + 7))
        );
    }

    #[test]
    fn handlers_ending_in_conditional_branches_are_not_threaded() {
        let (graph, mut shapes) = interpreter(&[1000, 1000, 1000, 1000]);
        for s in &mut shapes[5..] {
            s.terminator = Terminator::CondBranch;
        }
        assert_eq!(
            plan(&graph, &shapes),
            Err(NotThreaded::FewHotPredecessors(0))
        );
    }

    #[test]
    fn copies_stay_within_the_budget() {
        let weights = vec![100; 60];
        let (graph, shapes) = interpreter(&weights);
        let plan = plan(&graph, &shapes).unwrap().unwrap();
        assert_eq!(plan.predecessors.len(), MAX_COPIES);
        assert!(plan.duplicated_instructions() <= MAX_DUPLICATED_INSTRUCTIONS);
    }

    #[test]
    fn a_latch_that_merges_the_handlers_joins_the_chain() {
        // entry(0) -> head(1) -> switch(2) -> handlers 3,4,5 -> latch(6) -> head; head and the
        // latch (a bounds check) -> exit(7).
        let graph = graph(
            &[16; 8],
            &[1, 301, 300, 100, 100, 100, 300, 1],
            &[
                (0, 1, 1),
                (1, 2, 300),
                (1, 7, 1),
                (2, 3, 100),
                (2, 4, 100),
                (2, 5, 100),
                (2, 7, 0),
                (3, 6, 100),
                (4, 6, 100),
                (5, 6, 100),
                (6, 1, 300),
                (6, 7, 0),
            ],
        );
        let mut shapes = vec![shape(Terminator::Branch, 2); 8];
        shapes[1] = shape(Terminator::CondBranch, 2);
        shapes[6] = shape(Terminator::CondBranch, 2);
        shapes[2] = shape(Terminator::Switch, 3);
        shapes[7] = shape(Terminator::Other, 1);
        let plan = plan(&graph, &shapes).unwrap().unwrap();
        assert_eq!(plan.chain, vec![6, 1, 2]);
        // Every way into the latch is a handler: one keeps the original chain.
        assert_eq!(plan.predecessors, vec![3, 4]);
    }

    #[test]
    fn the_only_predecessor_is_never_threaded_away() {
        // Four handlers and no other way into the head but through them would leave the original
        // chain unreachable: one of them keeps it.
        let (mut graph, shapes) = interpreter(&[10, 10, 10, 10]);
        graph.edges.retain(|e| !(e.src == 0 && e.dst == 1));
        let plan = plan(&graph, &shapes).unwrap().unwrap();
        assert_eq!(plan.predecessors.len(), 3);
    }
}
