//! `ptrchase`: a linked-list pointer chase, the case software prefetching cannot help.
//!
//! The classic memory-latency probe (as in lmbench's `lat_mem_rd`, McVoy & Staelin, USENIX
//! 1996): the nodes of one singly linked cycle are laid out in random order over an array 4× the
//! last-level cache (Sattolo's algorithm makes the random permutation a single cycle), and the
//! walk sums node values. Each load's address comes from the previous load, so there is nothing
//! to fetch ahead without first waiting for memory; Ainsworth & Jones ("Software Prefetching for
//! Indirect Memory Accesses", CGO 2017) exclude such chains for this reason. It is the control
//! that shows an automatic prefetcher does no harm where it has nothing to do.

use hallows_examples::cache;
use hallows_examples::checksum::Checksum;
use hallows_examples::cli::{self, timed, try_vec, Options, Report, Workload};
use hallows_examples::rng::Rng;
use std::process::ExitCode;

/// The walk takes `nodes / STEP_DIVISOR` steps: each step is a full memory (and TLB) miss of
/// several hundred nanoseconds, so a full lap of the default list would take seconds.
const STEP_DIVISOR: usize = 8;

/// One list node: the index of the next node and a payload.
#[derive(Clone, Copy)]
struct Node {
    next: u32,
    value: u32,
}

const WORKLOAD: Workload = Workload {
    name: "ptrchase",
    about: "linked-list pointer chase over a randomly laid out cycle (no prefetch variant)",
    size_unit: "nodes",
    small_size: 1 << 12,
    default_size: || cache::default_working_set_bytes() / std::mem::size_of::<Node>(),
    min_size: 2,
    max_size: u32::MAX as usize,
    size_power_of_two: false,
    has_prefetch_variant: false,
};

fn main() -> ExitCode {
    cli::main(&WORKLOAD, run)
}

fn run(options: &Options) -> Result<Report, String> {
    let n = options.size;
    let nodes = generate(n, options.seed)?;
    let steps = (n / STEP_DIVISOR).max(1);
    let ((position, total, sum), kernel) = timed(|| chase(&nodes, steps));
    Ok(Report::new(sum)
        .field("nodes", n)
        .field("steps", steps)
        .field("end", position)
        .field("value_sum", total)
        .kernel_time(kernel))
}

/// A single random cycle through all nodes (Sattolo, "An algorithm to generate a random cyclic
/// permutation", Information Processing Letters, 1986).
fn generate(n: usize, seed: u64) -> Result<Vec<Node>, String> {
    let mut rng = Rng::new(seed);
    let mut order = try_vec(n, 0u32, "permutation")?;
    for (i, o) in order.iter_mut().enumerate() {
        *o = i as u32;
    }
    for i in (1..n).rev() {
        let j = rng.below_usize(i);
        order.swap(i, j);
    }
    let mut nodes = try_vec(n, Node { next: 0, value: 0 }, "node array")?;
    for (i, node) in nodes.iter_mut().enumerate() {
        *node = Node {
            next: order[i],
            value: rng.next_u32() >> 8,
        };
    }
    Ok(nodes)
}

/// Walks `steps` links from node 0; returns (final node, value sum, checksum of the path).
fn chase(nodes: &[Node], steps: usize) -> (usize, u64, u64) {
    let mut sum = Checksum::new();
    let mut total = 0u64;
    let mut at = 0usize;
    for step in 0..steps {
        let node = nodes[at];
        total += u64::from(node.value);
        if step % 4096 == 0 {
            sum.add_u64(total);
        }
        at = node.next as usize;
    }
    sum.add_u64(total);
    (at, total, sum.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_one_cycle_through_every_node() {
        for n in [2, 3, 1000] {
            let nodes = generate(n, 6).unwrap();
            let mut seen = vec![false; n];
            let mut at = 0;
            for _ in 0..n {
                assert!(!seen[at], "node {at} visited twice before the lap ended");
                seen[at] = true;
                at = nodes[at].next as usize;
            }
            assert_eq!(at, 0);
        }
    }

    #[test]
    fn chase_sums_the_visited_values() {
        let nodes = [
            Node { next: 1, value: 5 },
            Node { next: 2, value: 7 },
            Node { next: 0, value: 11 },
        ];
        let (end, total, _) = chase(&nodes, 4);
        assert_eq!((end, total), (1, 5 + 7 + 11 + 5));
    }
}
