//! `bfs`: Graph500-style breadth-first search.
//!
//! Models the Graph500 search kernel (Murphy et al., "Introducing the Graph 500", Cray User
//! Group 2010; reference `bfs` of graph500 2.x), which Ainsworth & Jones port as benchmark
//! Graph500 ("Software Prefetching for Indirect Memory Accesses", CGO 2017): a top-down BFS
//! over a graph in CSR form with a work queue, recording each reached vertex's parent. The graph
//! is uniform random (Erdős–Rényi G(n, m) with average degree 8, both edge directions stored;
//! Graph500 uses a Kronecker generator, whose skew this port trades for a predictable size), and
//! the search runs from several roots. Each visited edge reads `parent[col[e]]`, the access that
//! misses in the cache.
//!
//! `--variant prefetch` is Ainsworth & Jones' staggered scheme: for the queue entry
//! `2 · DISTANCE` ahead it prefetches the vertex's row start, for the entry `DISTANCE` ahead the
//! start of its edge list, and within the edge scan the parent entry of the edge `EDGE_DISTANCE`
//! ahead.

use hallows_examples::cache;
use hallows_examples::checksum::Checksum;
use hallows_examples::cli::{self, timed, try_vec, Options, Report, Variant, Workload};
use hallows_examples::prefetch::{self, prefetch_index};
use hallows_examples::rng::Rng;
use std::process::ExitCode;

/// Average out-degree (each undirected edge is stored in both directions).
const AVERAGE_DEGREE: usize = 8;

/// Searches per run, from different roots (Graph500 runs 64; two keep runs short).
const ROOTS: usize = 2;

/// Queue entries ahead for the edge-list prefetch (the row start is prefetched twice as far).
const DISTANCE: usize = 16;

/// Edges ahead for the parent prefetch inside the edge scan.
const EDGE_DISTANCE: usize = 16;

/// Parent value of a vertex not reached yet.
const UNREACHED: u32 = u32::MAX;

/// Bytes per vertex: parent, queue slot, row start (4 each) and its edges' column indices.
const BYTES_PER_VERTEX: usize = 12 + 4 * AVERAGE_DEGREE;

const WORKLOAD: Workload = Workload {
    name: "bfs",
    about: "Graph500-style top-down BFS over a uniform random graph (parent[col[e]])",
    size_unit: "vertices",
    small_size: 1 << 12,
    default_size: || cache::default_working_set_bytes() / BYTES_PER_VERTEX,
    min_size: 16,
    max_size: (u32::MAX as usize) / AVERAGE_DEGREE,
    size_power_of_two: false,
    has_prefetch_variant: true,
};

/// An undirected graph in CSR form.
struct Graph {
    row_start: Vec<u32>,
    col: Vec<u32>,
}

fn main() -> ExitCode {
    cli::main(&WORKLOAD, run)
}

fn run(options: &Options) -> Result<Report, String> {
    let n = options.size;
    let graph = generate(n, options.seed)?;
    let mut parent = try_vec(n, UNREACHED, "parent array")?;
    let mut queue = try_vec(n, 0u32, "work queue")?;
    let mut rng = Rng::new(options.seed ^ 0xb0f5);
    let roots: Vec<u32> = (0..ROOTS).map(|_| pick_root(&graph, &mut rng)).collect();
    let mut sum = Checksum::new();
    let (mut reached_total, mut edges_total) = (0u64, 0u64);
    let ((), kernel) = timed(|| {
        for &root in &roots {
            parent.fill(UNREACHED);
            let (reached, edges) = match options.variant {
                Variant::Plain => bfs_plain(&graph, root, &mut parent, &mut queue),
                Variant::Prefetch => bfs_prefetch(&graph, root, &mut parent, &mut queue),
            };
            reached_total += reached as u64;
            edges_total += edges;
            sum.add_u64(hallows_examples::checksum::of_u32s(&parent));
        }
    });
    Ok(Report::new(sum.finish())
        .field("vertices", n)
        .field("edges", graph.col.len() / 2)
        .field("roots", ROOTS)
        .field("reached", reached_total)
        .field("edges_scanned", edges_total)
        .kernel_time(kernel))
}

/// G(n, m) with m = n · AVERAGE_DEGREE / 2 edges (self-loops dropped), in CSR by counting sort.
fn generate(n: usize, seed: u64) -> Result<Graph, String> {
    let m = n * AVERAGE_DEGREE / 2;
    let mut rng = Rng::new(seed);
    let mut ends = try_vec(2 * m, 0u32, "edge list")?;
    let mut degree = try_vec(n + 1, 0u32, "row index")?;
    let mut kept = 0;
    for _ in 0..m {
        let (u, v) = (rng.below_usize(n) as u32, rng.below_usize(n) as u32);
        if u == v {
            continue;
        }
        ends[2 * kept] = u;
        ends[2 * kept + 1] = v;
        degree[u as usize + 1] += 1;
        degree[v as usize + 1] += 1;
        kept += 1;
    }
    for i in 0..n {
        degree[i + 1] += degree[i];
    }
    let row_start = degree;
    let mut fill = row_start.clone();
    let mut col = try_vec(2 * kept, 0u32, "adjacency array")?;
    for pair in ends[..2 * kept].chunks_exact(2) {
        let (u, v) = (pair[0] as usize, pair[1] as usize);
        col[fill[u] as usize] = v as u32;
        fill[u] += 1;
        col[fill[v] as usize] = u as u32;
        fill[v] += 1;
    }
    Ok(Graph { row_start, col })
}

/// A random vertex with at least one edge (Graph500 also skips isolated roots).
fn pick_root(graph: &Graph, rng: &mut Rng) -> u32 {
    let n = graph.row_start.len() - 1;
    for _ in 0..1000 {
        let v = rng.below_usize(n);
        if graph.row_start[v + 1] > graph.row_start[v] {
            return v as u32;
        }
    }
    0
}

/// Returns (vertices reached, edges scanned).
fn bfs_plain(graph: &Graph, root: u32, parent: &mut [u32], queue: &mut [u32]) -> (usize, u64) {
    parent[root as usize] = root;
    queue[0] = root;
    let (mut head, mut tail) = (0usize, 1usize);
    let mut scanned = 0u64;
    while head < tail {
        let u = queue[head] as usize;
        head += 1;
        let (start, end) = (graph.row_start[u] as usize, graph.row_start[u + 1] as usize);
        scanned += (end - start) as u64;
        for &v in &graph.col[start..end] {
            if parent[v as usize] == UNREACHED {
                parent[v as usize] = u as u32;
                queue[tail] = v;
                tail += 1;
            }
        }
    }
    (tail, scanned)
}

fn bfs_prefetch(graph: &Graph, root: u32, parent: &mut [u32], queue: &mut [u32]) -> (usize, u64) {
    let distance = prefetch::distance(DISTANCE);
    let edge_distance = prefetch::distance(EDGE_DISTANCE);
    parent[root as usize] = root;
    queue[0] = root;
    let (mut head, mut tail) = (0usize, 1usize);
    let mut scanned = 0u64;
    while head < tail {
        // Staggered: the row start of a far vertex, the edge list of a nearer one.
        if head + 2 * distance < tail {
            prefetch_index(&graph.row_start, queue[head + 2 * distance] as usize);
        }
        if head + distance < tail {
            let w = queue[head + distance] as usize;
            prefetch_index(&graph.col, graph.row_start[w] as usize);
        }
        let u = queue[head] as usize;
        head += 1;
        let (start, end) = (graph.row_start[u] as usize, graph.row_start[u + 1] as usize);
        scanned += (end - start) as u64;
        for e in start..end {
            if e + edge_distance < end {
                prefetch_index(parent, graph.col[e + edge_distance] as usize);
            }
            let v = graph.col[e];
            if parent[v as usize] == UNREACHED {
                parent[v as usize] = u as u32;
                queue[tail] = v;
                tail += 1;
            }
        }
    }
    (tail, scanned)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Graph500's validation: the root is its own parent, every other reached vertex's parent
    /// is a reached neighbour one level closer to the root, and no edge joins a reached vertex
    /// to an unreached one.
    fn validate(graph: &Graph, root: u32, parent: &[u32]) {
        let n = parent.len();
        let neighbours =
            |v: usize| &graph.col[graph.row_start[v] as usize..graph.row_start[v + 1] as usize];
        let mut level = vec![u32::MAX; n];
        level[root as usize] = 0;
        // Levels by walking parent chains (each chain must reach the root without a cycle).
        for v in 0..n {
            if parent[v] == UNREACHED {
                continue;
            }
            let mut chain = vec![v];
            let mut at = v;
            while level[at] == u32::MAX {
                at = parent[at] as usize;
                assert!(chain.len() <= n, "parent cycle through {v}");
                chain.push(at);
            }
            let mut l = level[at];
            for &u in chain.iter().rev().skip(1) {
                l += 1;
                level[u] = l;
            }
        }
        assert_eq!(parent[root as usize], root);
        for v in 0..n {
            if parent[v] == UNREACHED {
                assert!(neighbours(v)
                    .iter()
                    .all(|&u| parent[u as usize] == UNREACHED));
                continue;
            }
            if v != root as usize {
                assert!(
                    neighbours(v).contains(&parent[v]),
                    "{v}'s parent is not a neighbour"
                );
            }
            for &u in neighbours(v) {
                assert!(
                    level[u as usize].abs_diff(level[v]) <= 1,
                    "edge {v}-{u} skips a level"
                );
            }
        }
    }

    #[test]
    fn both_variants_build_the_same_valid_bfs_tree() {
        let graph = generate(3000, 4).unwrap();
        let mut rng = Rng::new(1);
        for _ in 0..3 {
            let root = pick_root(&graph, &mut rng);
            let (mut p1, mut q1) = (vec![UNREACHED; 3000], vec![0; 3000]);
            let (mut p2, mut q2) = (vec![UNREACHED; 3000], vec![0; 3000]);
            let a = bfs_plain(&graph, root, &mut p1, &mut q1);
            let b = bfs_prefetch(&graph, root, &mut p2, &mut q2);
            assert_eq!(a, b);
            assert_eq!(p1, p2);
            validate(&graph, root, &p1);
            assert!(
                a.0 > 2900,
                "the giant component should hold nearly all vertices: {}",
                a.0
            );
        }
    }

    #[test]
    fn every_edge_is_stored_in_both_directions() {
        let graph = generate(500, 2).unwrap();
        for v in 0..500 {
            for &u in &graph.col[graph.row_start[v] as usize..graph.row_start[v + 1] as usize] {
                let back = &graph.col[graph.row_start[u as usize] as usize
                    ..graph.row_start[u as usize + 1] as usize];
                assert!(back.contains(&(v as u32)));
                assert_ne!(u as usize, v, "self-loop");
            }
        }
    }
}
