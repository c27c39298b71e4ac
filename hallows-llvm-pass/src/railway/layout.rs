//! Basic-block layout by the extended TSP objective, on plain graphs (no LLVM types).
//!
//! Follows A. Newell and S. Pupyrev, "Improved Basic Block Reordering", IEEE Transactions on
//! Computers 69(12), 2020. A layout is scored by its jumps: an edge `s -> t` executed `w` times
//! earns
//!
//! * `w * FALLTHROUGH_WEIGHT` when `t` starts where `s` ends (a fall-through),
//! * `w * FORWARD_WEIGHT * (1 - d / FORWARD_DISTANCE)` for a forward jump of `d <= FORWARD_DISTANCE` bytes,
//! * `w * BACKWARD_WEIGHT * (1 - d / BACKWARD_DISTANCE)` for a backward jump of `d <= BACKWARD_DISTANCE` bytes,
//! * nothing for longer jumps.
//!
//! ## Algorithm ([`compute_layout`])
//! 1. Every block starts as its own *chain* (a track in railway terms).
//! 2. Repeatedly merge the pair of chains joined by an edge whose merge gains the most score.
//!    Candidate merges of chains `X` and `Y`: `X·Y`, `Y·X` and, when `X` has at most
//!    [`MAX_SPLIT_CHAIN_BLOCKS`] blocks, for every split `X = X1·X2`: `X1·Y·X2`, `Y·X2·X1`,
//!    `X2·Y·X1` (and the same with the roles of `X` and `Y` swapped). The entry block must stay
//!    first, so candidates that move it are not considered. Chains never grow beyond
//!    [`MAX_CHAIN_BLOCKS`] blocks.
//! 3. When no merge gains, the chains are concatenated: the entry's chain first, then the
//!    others by decreasing execution density (count per byte), never-executed chains last in
//!    their original order — so cold code ends up out of line, at the end of the function.
//!
//! Graphs with more than [`MAX_EXT_TSP_BLOCKS`] blocks use a cheaper fallback: greedy chaining
//! of the heaviest edges (Pettis and Hansen, "Profile Guided Code Positioning", PLDI 1990),
//! `O(E log E)`, followed by the same chain ordering.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// Score of one executed fall-through (paper, section 3).
pub const FALLTHROUGH_WEIGHT: f64 = 1.0;
/// Score of one executed short forward jump, before the distance discount.
pub const FORWARD_WEIGHT: f64 = 0.1;
/// Score of one executed short backward jump, before the distance discount.
pub const BACKWARD_WEIGHT: f64 = 0.1;
/// Longest forward jump (bytes) that still scores: about a page of code in the paper's tuning.
pub const FORWARD_DISTANCE: u64 = 1024;
/// Longest backward jump (bytes) that still scores.
pub const BACKWARD_DISTANCE: u64 = 640;

/// Largest graph laid out with the full ext-TSP search; larger ones use the greedy fallback so
/// that compile time stays bounded (the search is roughly quadratic in chain count).
pub const MAX_EXT_TSP_BLOCKS: usize = 1024;
/// Chains longer than this are not split when merging (bounds the candidates per pair);
/// the value LLVM's `CodeLayout.cpp` uses.
pub const MAX_SPLIT_CHAIN_BLOCKS: usize = 128;
/// Chains are not merged beyond this many blocks (bounds the cost of scoring a candidate).
pub const MAX_CHAIN_BLOCKS: usize = 512;

/// Budget of edge evaluations for split candidates (the expensive part of the search: each
/// costs the size of both chains). Once spent, only unsplit merges (`X·Y`, `Y·X`, which cost
/// only the edges between the chains) are tried, so dense CFGs such as a 1000-case switch stay
/// within a fraction of a second.
pub const MAX_EXT_TSP_SPLIT_WORK: u64 = 20_000_000;

/// Gains below this are treated as zero, so rounding noise never drives a merge.
const MIN_GAIN: f64 = 1e-9;

/// A control-flow edge executed `count` times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edge {
    /// Source block index.
    pub src: usize,
    /// Destination block index.
    pub dst: usize,
    /// Execution count.
    pub count: u64,
}

/// A function's CFG as the layout sees it. Block 0 is the entry and stays first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LayoutGraph {
    /// Code size of each block in bytes (at least 1 is assumed).
    pub sizes: Vec<u64>,
    /// Execution count of each block.
    pub counts: Vec<u64>,
    /// Edges with their counts (several edges between the same blocks are allowed).
    pub edges: Vec<Edge>,
}

/// Why a graph cannot be laid out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// The graph has no blocks.
    Empty,
    /// `sizes` and `counts` have different lengths.
    MismatchedLengths {
        /// Length of `sizes`.
        sizes: usize,
        /// Length of `counts`.
        counts: usize,
    },
    /// An edge names a block that does not exist.
    EdgeOutOfRange {
        /// The offending edge.
        edge: Edge,
    },
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayoutError::Empty => write!(f, "the graph has no blocks"),
            LayoutError::MismatchedLengths { sizes, counts } => {
                write!(f, "{sizes} block sizes but {counts} block counts")
            }
            LayoutError::EdgeOutOfRange { edge } => write!(
                f,
                "edge {} -> {} names a block that does not exist",
                edge.src, edge.dst
            ),
        }
    }
}

impl std::error::Error for LayoutError {}

/// Which algorithm produced a layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// The ext-TSP chain-merging search.
    ExtTsp,
    /// Greedy heaviest-edge chaining (large graphs).
    GreedyChains,
}

impl Algorithm {
    /// Name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::ExtTsp => "ext-tsp",
            Algorithm::GreedyChains => "greedy-chains",
        }
    }
}

/// A block order (a permutation of the blocks, entry first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Block indices in their new order.
    pub order: Vec<usize>,
    /// The algorithm used.
    pub algorithm: Algorithm,
}

impl LayoutGraph {
    /// Number of blocks.
    pub fn len(&self) -> usize {
        self.sizes.len()
    }

    /// True when the graph has no blocks.
    pub fn is_empty(&self) -> bool {
        self.sizes.is_empty()
    }

    fn validate(&self) -> Result<(), LayoutError> {
        if self.sizes.is_empty() {
            return Err(LayoutError::Empty);
        }
        if self.sizes.len() != self.counts.len() {
            return Err(LayoutError::MismatchedLengths {
                sizes: self.sizes.len(),
                counts: self.counts.len(),
            });
        }
        if let Some(edge) = self
            .edges
            .iter()
            .find(|e| e.src >= self.len() || e.dst >= self.len())
        {
            return Err(LayoutError::EdgeOutOfRange { edge: *edge });
        }
        Ok(())
    }

    fn size(&self, block: usize) -> u64 {
        self.sizes[block].max(1)
    }
}

/// Score of one edge given where its source ends and its destination starts.
fn edge_score(src_end: u64, dst_start: u64, count: u64) -> f64 {
    let w = count as f64;
    if src_end == dst_start {
        w * FALLTHROUGH_WEIGHT
    } else if dst_start > src_end {
        let d = dst_start - src_end;
        if d <= FORWARD_DISTANCE {
            w * FORWARD_WEIGHT * (1.0 - d as f64 / FORWARD_DISTANCE as f64)
        } else {
            0.0
        }
    } else {
        let d = src_end - dst_start;
        if d <= BACKWARD_DISTANCE {
            w * BACKWARD_WEIGHT * (1.0 - d as f64 / BACKWARD_DISTANCE as f64)
        } else {
            0.0
        }
    }
}

/// The ext-TSP score of `order` (which must be a permutation of the graph's blocks).
pub fn ext_tsp_score(graph: &LayoutGraph, order: &[usize]) -> f64 {
    let mut start = vec![0u64; graph.len()];
    let mut offset = 0u64;
    for &b in order {
        start[b] = offset;
        offset += graph.size(b);
    }
    graph
        .edges
        .iter()
        .map(|e| edge_score(start[e.src] + graph.size(e.src), start[e.dst], e.count))
        .sum()
}

/// Share of executed edge traversals (self-loops excluded) that are fall-throughs in `order`;
/// 1.0 when no edge is executed.
pub fn fallthrough_ratio(graph: &LayoutGraph, order: &[usize]) -> f64 {
    let mut next = vec![usize::MAX; graph.len()];
    for pair in order.windows(2) {
        next[pair[0]] = pair[1];
    }
    let (mut total, mut fall) = (0u128, 0u128);
    for e in graph.edges.iter().filter(|e| e.src != e.dst) {
        total += u128::from(e.count);
        if next[e.src] == e.dst {
            fall += u128::from(e.count);
        }
    }
    if total == 0 {
        1.0
    } else {
        fall as f64 / total as f64
    }
}

/// Computes a block order for `graph`: ext-TSP for graphs up to [`MAX_EXT_TSP_BLOCKS`] blocks,
/// greedy chaining above. The entry block (0) is always first, and the result never scores
/// below the original order (which is returned when the search finds nothing better: greedy
/// chain merging and the final density ordering are heuristics, not guarantees).
pub fn compute_layout(graph: &LayoutGraph) -> Result<Layout, LayoutError> {
    graph.validate()?;
    let (order, algorithm) = if graph.len() <= MAX_EXT_TSP_BLOCKS {
        (
            ExtTsp::new(graph, MAX_EXT_TSP_SPLIT_WORK).run(),
            Algorithm::ExtTsp,
        )
    } else {
        (greedy_chains(graph), Algorithm::GreedyChains)
    };
    let identity: Vec<usize> = (0..graph.len()).collect();
    let order = if ext_tsp_score(graph, &order) >= ext_tsp_score(graph, &identity) {
        order
    } else {
        identity
    };
    Ok(Layout { order, algorithm })
}

/// One chain (track) of blocks during the search.
#[derive(Clone, Debug)]
struct Chain {
    blocks: Vec<usize>,
    size: u64,
    count: u64,
    /// Indices of edges with both ends in this chain.
    internal: Vec<usize>,
    /// Score of `internal` edges in the chain's own order.
    score: f64,
}

/// How two chains are concatenated: up to three slices, referring to `X` (split at `split`) and `Y`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MergeShape {
    /// `X·Y`
    XY,
    /// `X1·Y·X2`
    X1YX2,
    /// `Y·X2·X1`
    YX2X1,
    /// `X2·Y·X1`
    X2YX1,
}

#[derive(Clone, Copy, Debug)]
struct Candidate {
    gain: f64,
    /// Chain split (may be split) and the other chain.
    x: usize,
    y: usize,
    shape: MergeShape,
    split: usize,
}

struct ExtTsp<'g> {
    graph: &'g LayoutGraph,
    chains: Vec<Option<Chain>>,
    chain_of: Vec<usize>,
    /// For each live chain, the edges connecting it to each other live chain.
    adjacent: Vec<BTreeMap<usize, Vec<usize>>>,
    /// Best candidate for each adjacent pair `(a, b)` with `a < b`, when computed.
    cache: HashMap<(usize, usize), Option<Candidate>>,
    /// Scratch: start offset of each block in the sequence being scored.
    start: Vec<u64>,
    /// Offset of each block within its current chain.
    chain_offset: Vec<u64>,
    /// Edge evaluations spent on split candidates so far.
    split_work: u64,
    /// Budget for `split_work`.
    split_budget: u64,
}

impl<'g> ExtTsp<'g> {
    fn new(graph: &'g LayoutGraph, split_budget: u64) -> Self {
        let n = graph.len();
        let mut chains: Vec<Option<Chain>> = (0..n)
            .map(|b| {
                Some(Chain {
                    blocks: vec![b],
                    size: graph.size(b),
                    count: graph.counts[b],
                    internal: Vec::new(),
                    score: 0.0,
                })
            })
            .collect();
        let mut adjacent: Vec<BTreeMap<usize, Vec<usize>>> = vec![BTreeMap::new(); n];
        for (i, e) in graph.edges.iter().enumerate() {
            if e.count == 0 {
                continue;
            }
            if e.src == e.dst {
                if let Some(c) = chains[e.src].as_mut() {
                    c.internal.push(i);
                }
            } else {
                adjacent[e.src].entry(e.dst).or_default().push(i);
                adjacent[e.dst].entry(e.src).or_default().push(i);
            }
        }
        let mut me = ExtTsp {
            graph,
            chains,
            chain_of: (0..n).collect(),
            adjacent,
            cache: HashMap::new(),
            start: vec![0; n],
            chain_offset: vec![0; n],
            split_work: 0,
            split_budget,
        };
        for c in 0..n {
            let score = me.chain_score(c);
            if let Some(chain) = me.chains[c].as_mut() {
                chain.score = score;
            }
        }
        me
    }

    fn chain(&self, c: usize) -> &Chain {
        self.chains[c].as_ref().expect("live chain")
    }

    fn chain_score(&mut self, c: usize) -> f64 {
        let chain = self.chains[c].as_ref().expect("live chain");
        let mut offset = 0;
        for &b in &chain.blocks {
            self.start[b] = offset;
            offset += self.graph.size(b);
        }
        let graph = self.graph;
        let start = &self.start;
        chain
            .internal
            .iter()
            .map(|&i| {
                let e = graph.edges[i];
                edge_score(start[e.src] + graph.size(e.src), start[e.dst], e.count)
            })
            .sum()
    }

    fn run(self) -> Vec<usize> {
        self.run_with_work().0
    }

    /// The order and the split work spent.
    fn run_with_work(mut self) -> (Vec<usize>, u64) {
        while let Some(best) = self.best_candidate() {
            self.merge(best);
        }
        let work = self.split_work;
        (self.concatenate(), work)
    }

    /// The highest-gain merge among all adjacent chain pairs (ties: lowest pair).
    fn best_candidate(&mut self) -> Option<Candidate> {
        let mut pairs = Vec::new();
        for (a, chain) in self.chains.iter().enumerate() {
            if chain.is_none() {
                continue;
            }
            for &b in self.adjacent[a].keys() {
                if a < b {
                    pairs.push((a, b));
                }
            }
        }
        let mut best: Option<Candidate> = None;
        for pair in pairs {
            let candidate = match self.cache.get(&pair) {
                Some(c) => *c,
                None => {
                    let c = self.best_merge(pair.0, pair.1);
                    self.cache.insert(pair, c);
                    c
                }
            };
            if let Some(c) = candidate {
                if best.is_none_or(|b| c.gain > b.gain + MIN_GAIN) {
                    best = Some(c);
                }
            }
        }
        best
    }

    /// The best merge of chains `a` and `b`, if it gains.
    fn best_merge(&mut self, a: usize, b: usize) -> Option<Candidate> {
        if self.chain(a).blocks.len() + self.chain(b).blocks.len() > MAX_CHAIN_BLOCKS {
            return None;
        }
        let between: Vec<usize> = self.adjacent[a].get(&b).cloned().unwrap_or_default();
        let base = self.chain(a).score + self.chain(b).score;
        let mut best: Option<Candidate> = None;
        for (x, y) in [(a, b), (b, a)] {
            let x_len = self.chain(x).blocks.len();
            let mut shapes = vec![(MergeShape::XY, 0)];
            if x_len <= MAX_SPLIT_CHAIN_BLOCKS && self.split_work < self.split_budget {
                for split in 1..x_len {
                    shapes.push((MergeShape::X1YX2, split));
                    shapes.push((MergeShape::YX2X1, split));
                    shapes.push((MergeShape::X2YX1, split));
                }
            }
            for (shape, split) in shapes {
                if !self.keeps_entry_first(x, y, shape, split) {
                    continue;
                }
                let score = self.merged_score(x, y, shape, split, &between);
                let gain = score - base;
                if gain > MIN_GAIN && best.is_none_or(|c| gain > c.gain + MIN_GAIN) {
                    best = Some(Candidate {
                        gain,
                        x,
                        y,
                        shape,
                        split,
                    });
                }
            }
        }
        best
    }

    fn keeps_entry_first(&self, x: usize, y: usize, shape: MergeShape, split: usize) -> bool {
        let (xb, yb) = (&self.chain(x).blocks, &self.chain(y).blocks);
        let first = match shape {
            MergeShape::XY | MergeShape::X1YX2 => xb[0],
            MergeShape::YX2X1 => yb[0],
            MergeShape::X2YX1 => xb[split],
        };
        let has_entry = self.chain_of[0] == x || self.chain_of[0] == y;
        !has_entry || first == 0
    }

    /// The slices of the merged sequence, in order.
    fn sequence(&self, x: usize, y: usize, shape: MergeShape, split: usize) -> Vec<&[usize]> {
        let xb = &self.chain(x).blocks;
        let yb = &self.chain(y).blocks[..];
        let (x1, x2) = xb.split_at(split);
        match shape {
            MergeShape::XY => vec![&xb[..], yb],
            MergeShape::X1YX2 => vec![x1, yb, x2],
            MergeShape::YX2X1 => vec![yb, x2, x1],
            MergeShape::X2YX1 => vec![x2, yb, x1],
        }
    }

    fn merged_score(
        &mut self,
        x: usize,
        y: usize,
        shape: MergeShape,
        split: usize,
        between: &[usize],
    ) -> f64 {
        let graph = self.graph;
        if shape == MergeShape::XY {
            // Distances inside X and inside Y do not change: only the edges between them are
            // scored, from the blocks' offsets within their chains.
            let x_size = self.chain(x).size;
            let (chain_of, chain_offset) = (&self.chain_of, &self.chain_offset);
            let start = |b: usize| chain_offset[b] + if chain_of[b] == y { x_size } else { 0 };
            let between_score: f64 = between
                .iter()
                .map(|&i| {
                    let e = graph.edges[i];
                    edge_score(start(e.src) + graph.size(e.src), start(e.dst), e.count)
                })
                .sum();
            return self.chain(x).score + self.chain(y).score + between_score;
        }
        let mut offset = 0u64;
        let mut starts = Vec::new();
        for slice in self.sequence(x, y, shape, split) {
            for &b in slice {
                starts.push((b, offset));
                offset += graph.size(b);
            }
        }
        for &(b, s) in &starts {
            self.start[b] = s;
        }
        let start = &self.start;
        let score = |i: &usize| {
            let e = graph.edges[*i];
            edge_score(start[e.src] + graph.size(e.src), start[e.dst], e.count)
        };
        let xs = &self.chains[x].as_ref().expect("live chain").internal;
        let ys = &self.chains[y].as_ref().expect("live chain").internal;
        let work = starts.len() + xs.len() + ys.len() + between.len();
        let total = xs.iter().map(score).sum::<f64>()
            + ys.iter().map(score).sum::<f64>()
            + between.iter().map(score).sum::<f64>();
        self.split_work += work as u64;
        total
    }

    fn merge(&mut self, c: Candidate) {
        let blocks: Vec<usize> = self.sequence(c.x, c.y, c.shape, c.split).concat();
        let y_chain = self.chains[c.y].take().expect("live chain");
        let between = self.adjacent[c.x].remove(&c.y).unwrap_or_default();
        self.adjacent[c.y].remove(&c.x);
        {
            let x_chain = self.chains[c.x].as_mut().expect("live chain");
            x_chain.blocks = blocks;
            x_chain.size += y_chain.size;
            x_chain.count += y_chain.count;
            x_chain.internal.extend(y_chain.internal);
            x_chain.internal.extend(between);
        }
        for &b in &self.chain(c.x).blocks.clone() {
            self.chain_of[b] = c.x;
        }
        // Move Y's neighbours to X.
        let y_adjacent = std::mem::take(&mut self.adjacent[c.y]);
        for (other, edges) in y_adjacent {
            let moved = self.adjacent[other].remove(&c.y).unwrap_or_default();
            debug_assert_eq!(moved.len(), edges.len());
            self.adjacent[other].entry(c.x).or_default().extend(moved);
            self.adjacent[c.x].entry(other).or_default().extend(edges);
        }
        let score = self.chain_score(c.x);
        if let Some(chain) = self.chains[c.x].as_mut() {
            chain.score = score;
        }
        let mut offset = 0;
        let graph = self.graph;
        let chain = self.chains[c.x].as_ref().expect("live chain");
        for &b in &chain.blocks {
            self.chain_offset[b] = offset;
            offset += graph.size(b);
        }
        self.cache
            .retain(|&(a, b), _| a != c.x && b != c.x && a != c.y && b != c.y);
    }

    fn concatenate(self) -> Vec<usize> {
        let chains: Vec<Chain> = self.chains.into_iter().flatten().collect();
        order_chains(
            chains
                .into_iter()
                .map(|c| (c.blocks, c.size, c.count))
                .collect(),
        )
    }
}

/// Orders finished chains: the entry's chain first, executed chains by decreasing density
/// (count per byte), then never-executed chains in original block order.
fn order_chains(mut chains: Vec<(Vec<usize>, u64, u64)>) -> Vec<usize> {
    chains.sort_by(|a, b| {
        let entry_a = a.0.first() == Some(&0);
        let entry_b = b.0.first() == Some(&0);
        entry_b
            .cmp(&entry_a)
            .then_with(|| (b.2 > 0).cmp(&(a.2 > 0)))
            .then_with(|| {
                // density a < density b  <=>  a.count * b.size < b.count * a.size
                let da = u128::from(a.2) * u128::from(b.1.max(1));
                let db = u128::from(b.2) * u128::from(a.1.max(1));
                if a.2 == 0 && b.2 == 0 {
                    std::cmp::Ordering::Equal
                } else {
                    db.cmp(&da)
                }
            })
            .then_with(|| a.0.first().cmp(&b.0.first()))
    });
    chains.into_iter().flat_map(|c| c.0).collect()
}

/// Greedy heaviest-edge chaining (Pettis-Hansen), then [`order_chains`].
fn greedy_chains(graph: &LayoutGraph) -> Vec<usize> {
    let n = graph.len();
    let mut next = vec![usize::MAX; n];
    let mut prev = vec![usize::MAX; n];
    // Union-find over chains, to refuse edges that would close a cycle.
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    let mut edges: Vec<&Edge> = graph
        .edges
        .iter()
        .filter(|e| e.count > 0 && e.src != e.dst)
        .collect();
    edges.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(a.src.cmp(&b.src))
            .then(a.dst.cmp(&b.dst))
    });
    for e in edges {
        // The entry block must stay a chain head.
        if next[e.src] != usize::MAX || prev[e.dst] != usize::MAX || e.dst == 0 {
            continue;
        }
        let (rs, rd) = (find(&mut parent, e.src), find(&mut parent, e.dst));
        if rs == rd {
            continue;
        }
        next[e.src] = e.dst;
        prev[e.dst] = e.src;
        parent[rd] = rs;
    }
    let mut chains = Vec::new();
    for head in (0..n).filter(|&b| prev[b] == usize::MAX) {
        let mut blocks = Vec::new();
        let (mut size, mut count) = (0u64, 0u64);
        let mut b = head;
        while b != usize::MAX {
            blocks.push(b);
            size += graph.size(b);
            count = count.saturating_add(graph.counts[b]);
            b = next[b];
        }
        chains.push((blocks, size, count));
    }
    order_chains(chains)
}

/// A graph from block sizes, counts and `(src, dst, count)` edges: the notation of the railway
/// modules' unit tests.
#[cfg(test)]
pub(crate) fn graph(sizes: &[u64], counts: &[u64], edges: &[(usize, usize, u64)]) -> LayoutGraph {
    LayoutGraph {
        sizes: sizes.to_vec(),
        counts: counts.to_vec(),
        edges: edges
            .iter()
            .map(|&(src, dst, count)| Edge { src, dst, count })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_permutation(order: &[usize], n: usize) {
        let mut seen = vec![false; n];
        for &b in order {
            assert!(!seen[b], "block {b} twice in {order:?}");
            seen[b] = true;
        }
        assert_eq!(order.len(), n);
        assert_eq!(order[0], 0, "entry must stay first");
    }

    /// ```text
    ///        entry(0) 1000
    ///      990 /     \ 10
    ///      hot(2)   cold(1)      original order: entry, cold, hot, join
    ///      990 \     / 10
    ///        join(3) 1000
    /// ```
    #[test]
    fn skewed_diamond_puts_hot_side_on_the_fall_through() {
        let g = graph(
            &[8, 40, 8, 8],
            &[1000, 10, 990, 1000],
            &[(0, 1, 10), (0, 2, 990), (1, 3, 10), (2, 3, 990)],
        );
        let layout = compute_layout(&g).unwrap();
        assert_eq!(layout.order, vec![0, 2, 3, 1]);
        assert_eq!(layout.algorithm, Algorithm::ExtTsp);
        let before = ext_tsp_score(&g, &[0, 1, 2, 3]);
        let after = ext_tsp_score(&g, &layout.order);
        assert!(after > before, "{after} <= {before}");
        assert!((fallthrough_ratio(&g, &layout.order) - 1980.0 / 2000.0).abs() < 1e-9);
    }

    /// ```text
    ///   entry(0) -> header(1) <-------+ 9000
    ///               |  \ 1000         |
    ///        10     |   body(2) ------+
    ///  (rare exit)  v                  \ 990 (normal exit)
    ///             cold_exit(3)          exit(4)
    /// ```
    #[test]
    fn loop_keeps_body_after_header_and_cold_exit_last() {
        let g = graph(
            &[4, 8, 32, 64, 4],
            &[1000, 10000, 9990, 10, 990],
            &[
                (0, 1, 1000),
                (1, 2, 9990),
                (1, 3, 10),
                (2, 1, 9000),
                (2, 4, 990),
            ],
        );
        let layout = compute_layout(&g).unwrap();
        assert_permutation(&layout.order, 5);
        let pos = |b| layout.order.iter().position(|&x| x == b).unwrap();
        assert_eq!(pos(2), pos(1) + 1, "body falls through from header");
        assert_eq!(pos(3), 4, "cold exit last: {:?}", layout.order);
    }

    #[test]
    fn never_executed_blocks_go_last_in_original_order() {
        let g = graph(
            &[4, 4, 4, 4, 4],
            &[5, 0, 5, 0, 5],
            &[(0, 1, 0), (0, 2, 5), (2, 3, 0), (2, 4, 5)],
        );
        let layout = compute_layout(&g).unwrap();
        assert_eq!(layout.order, vec![0, 2, 4, 1, 3]);
    }

    #[test]
    fn entry_stays_first_even_when_a_back_edge_prefers_otherwise() {
        // 1 -> 0 is heavier than 0 -> 1, so without the rule the best order would be [1, 0].
        let g = graph(&[4, 4], &[100, 100], &[(0, 1, 10), (1, 0, 90)]);
        let layout = compute_layout(&g).unwrap();
        assert_eq!(layout.order, vec![0, 1]);
    }

    #[test]
    fn already_good_order_is_kept() {
        let g = graph(&[4, 4, 4], &[1, 1, 1], &[(0, 1, 1), (1, 2, 1)]);
        assert_eq!(compute_layout(&g).unwrap().order, vec![0, 1, 2]);
    }

    #[test]
    fn score_counts_fall_through_and_discounted_jumps() {
        let g = graph(&[10, 10, 10], &[1, 1, 1], &[(0, 1, 100), (0, 2, 10)]);
        // [0,1,2]: 0->1 falls through (100); 0->2 jumps forward 10 bytes.
        let expected = 100.0 + 10.0 * FORWARD_WEIGHT * (1.0 - 10.0 / FORWARD_DISTANCE as f64);
        assert!((ext_tsp_score(&g, &[0, 1, 2]) - expected).abs() < 1e-9);
        // A backward jump 0 -> 1 when 1 is before 0: distance = end of 0 - start of 1 = 20.
        let back = graph(&[10, 10], &[1, 1], &[(0, 1, 10)]);
        let expected = 10.0 * BACKWARD_WEIGHT * (1.0 - 20.0 / BACKWARD_DISTANCE as f64);
        assert!((ext_tsp_score(&back, &[1, 0]) - expected).abs() < 1e-9);
    }

    #[test]
    fn bad_graphs_are_errors() {
        assert_eq!(
            compute_layout(&LayoutGraph::default()),
            Err(LayoutError::Empty)
        );
        let g = graph(&[1, 1], &[1], &[]);
        assert!(matches!(
            compute_layout(&g),
            Err(LayoutError::MismatchedLengths { .. })
        ));
        let g = graph(&[1, 1], &[1, 1], &[(0, 5, 1)]);
        assert!(matches!(
            compute_layout(&g),
            Err(LayoutError::EdgeOutOfRange { .. })
        ));
    }

    /// A deterministic pseudo-random CFG: each block branches to the next and to one other.
    fn random_graph(n: usize, seed: u64) -> LayoutGraph {
        let mut state = seed;
        let mut rand = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut g = LayoutGraph::default();
        for _ in 0..n {
            g.sizes.push(4 + rand() % 60);
            g.counts.push(rand() % 1000);
        }
        for b in 0..n - 1 {
            g.edges.push(Edge {
                src: b,
                dst: b + 1,
                count: rand() % 1000,
            });
            g.edges.push(Edge {
                src: b,
                dst: (rand() as usize) % n,
                count: rand() % 1000,
            });
        }
        g
    }

    #[test]
    fn random_graphs_give_valid_layouts_that_score_at_least_the_original_order() {
        for seed in 1..20u64 {
            let n = 2 + (seed as usize * 7) % 60;
            let g = random_graph(n, seed);
            let layout = compute_layout(&g).unwrap();
            assert_permutation(&layout.order, n);
            let identity: Vec<usize> = (0..n).collect();
            assert!(
                ext_tsp_score(&g, &layout.order) + 1e-6 >= ext_tsp_score(&g, &identity),
                "seed {seed}: layout scores below the original order"
            );
        }
    }

    #[test]
    fn large_graphs_use_the_bounded_fallback() {
        let n = MAX_EXT_TSP_BLOCKS + 1;
        let g = random_graph(n, 7);
        let layout = compute_layout(&g).unwrap();
        assert_eq!(layout.algorithm, Algorithm::GreedyChains);
        assert_permutation(&layout.order, n);
        // Greedy chaining keeps the heaviest edges as fall-throughs: far better than random.
        let identity: Vec<usize> = (0..n).collect();
        assert!(fallthrough_ratio(&g, &layout.order) > fallthrough_ratio(&g, &identity));
    }

    /// ```text
    ///            entry (sum)
    ///   w0 /  w1 |  ...  \ w299      (a 300-case switch, weights (37c mod 100) + 1)
    ///    c0     c1  ...   c299
    ///      \     |        /
    ///             join
    /// ```
    #[test]
    fn wide_switch_stays_valid_within_the_split_budget() {
        let cases = 300;
        let join = cases + 1;
        let mut g = LayoutGraph {
            sizes: vec![8; cases + 2],
            counts: vec![0; cases + 2],
            edges: Vec::new(),
        };
        for c in 0..cases {
            let w = (c as u64 * 37) % 100 + 1;
            g.edges.push(Edge {
                src: 0,
                dst: c + 1,
                count: w,
            });
            g.edges.push(Edge {
                src: c + 1,
                dst: join,
                count: w,
            });
            g.counts[c + 1] = w;
            g.counts[0] += w;
        }
        g.counts[join] = g.counts[0];
        let budget = 10_000;
        let (order, work) = ExtTsp::new(&g, budget).run_with_work();
        assert!(work >= budget, "the budget must have been reached: {work}");
        assert!(
            work < budget * 10,
            "split work must stop soon after the budget: {work}"
        );
        assert_permutation(&order, cases + 2);
        let identity: Vec<usize> = (0..cases + 2).collect();
        assert!(ext_tsp_score(&g, &order) > ext_tsp_score(&g, &identity));
    }

    #[test]
    fn greedy_chains_handle_the_diamond() {
        let g = graph(
            &[8, 40, 8, 8],
            &[1000, 10, 990, 1000],
            &[(0, 1, 10), (0, 2, 990), (1, 3, 10), (2, 3, 990)],
        );
        assert_eq!(greedy_chains(&g), vec![0, 2, 3, 1]);
    }
}
