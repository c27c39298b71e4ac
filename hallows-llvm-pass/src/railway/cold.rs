//! Finding never-executed regions worth moving into separate cold functions. Pure: works on
//! a [`LayoutGraph`] (edges with zero counts included) and per-block flags.
//!
//! A candidate region is a connected set of never-executed blocks (count 0, not the entry,
//! no exception-handling pad) entered through exactly one block, its *header*; the region is
//! what the header reaches inside the set, so the header dominates it. This is the shape LLVM's
//! `CodeExtractor` can outline (it re-checks eligibility); compare LLVM's `HotColdSplitting.cpp`,
//! which grows regions the same way from cold blocks.

use std::collections::VecDeque;

use super::layout::LayoutGraph;

/// A region of never-executed blocks with a single entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColdRegion {
    /// The block every path into the region goes through.
    pub header: usize,
    /// All blocks of the region, header first, then in block order.
    pub blocks: Vec<usize>,
    /// Estimated code size of the region in bytes.
    pub bytes: u64,
}

/// Never-executed single-entry regions of at least `min_bytes`, largest first, at most `max`.
pub fn find_cold_regions(
    graph: &LayoutGraph,
    eh_pad: &[bool],
    min_bytes: u64,
    max: usize,
) -> Vec<ColdRegion> {
    let n = graph.len();
    let cold: Vec<bool> = (0..n)
        .map(|b| b != 0 && graph.counts[b] == 0 && !eh_pad.get(b).copied().unwrap_or(true))
        .collect();
    let mut succs = vec![Vec::new(); n];
    let mut preds = vec![Vec::new(); n];
    for e in &graph.edges {
        succs[e.src].push(e.dst);
        preds[e.dst].push(e.src);
    }
    // Connected components of cold blocks (edges in either direction).
    let mut component = vec![usize::MAX; n];
    let mut components: Vec<Vec<usize>> = Vec::new();
    for start in 0..n {
        if !cold[start] || component[start] != usize::MAX {
            continue;
        }
        let id = components.len();
        let mut members = Vec::new();
        let mut queue = VecDeque::from([start]);
        component[start] = id;
        while let Some(b) = queue.pop_front() {
            members.push(b);
            for &m in succs[b].iter().chain(&preds[b]) {
                if cold[m] && component[m] == usize::MAX {
                    component[m] = id;
                    queue.push_back(m);
                }
            }
        }
        components.push(members);
    }
    let mut regions = Vec::new();
    for (id, members) in components.iter().enumerate() {
        let mut headers = members
            .iter()
            .copied()
            .filter(|&b| preds[b].iter().any(|&p| component[p] != id) || preds[b].is_empty());
        let (Some(header), None) = (headers.next(), headers.next()) else {
            continue; // several ways in, or none: not a single-entry region
        };
        if preds[header].is_empty() {
            continue; // unreachable code: leave it to dead-code elimination
        }
        // The region is what the header reaches inside the component.
        let mut inside = vec![false; n];
        inside[header] = true;
        let mut queue = VecDeque::from([header]);
        while let Some(b) = queue.pop_front() {
            for &s in &succs[b] {
                if component[s] == id && !inside[s] {
                    inside[s] = true;
                    queue.push_back(s);
                }
            }
        }
        let mut blocks: Vec<usize> = members.iter().copied().filter(|&b| inside[b]).collect();
        blocks.sort_unstable();
        blocks.retain(|&b| b != header);
        blocks.insert(0, header);
        let bytes = blocks.iter().map(|&b| graph.sizes[b]).sum();
        if bytes >= min_bytes {
            regions.push(ColdRegion {
                header,
                blocks,
                bytes,
            });
        }
    }
    regions.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.header.cmp(&b.header)));
    regions.truncate(max);
    regions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::railway::layout::graph;

    /// ```text
    ///   entry(0) --100--> hot(1) --100--> exit(4)
    ///      \--0--> err(2) --0--> report(3)  (cold, 200 bytes, single entry)
    /// ```
    #[test]
    fn single_entry_cold_tail_is_a_region() {
        let g = graph(
            &[8, 8, 120, 80, 4],
            &[100, 100, 0, 0, 100],
            &[(0, 1, 100), (0, 2, 0), (1, 4, 100), (2, 3, 0)],
        );
        let r = find_cold_regions(&g, &[false; 5], 64, 8);
        assert_eq!(
            r,
            vec![ColdRegion {
                header: 2,
                blocks: vec![2, 3],
                bytes: 200
            }]
        );
    }

    #[test]
    fn small_regions_and_two_entry_regions_are_skipped() {
        // Cold blocks 2 and 3 are both entered from hot blocks: two entries.
        let g = graph(
            &[8, 8, 100, 100],
            &[10, 10, 0, 0],
            &[(0, 1, 10), (0, 2, 0), (1, 3, 0), (2, 3, 0)],
        );
        assert!(find_cold_regions(&g, &[false; 4], 64, 8).is_empty());
        // Single entry but below the size threshold.
        let g = graph(&[8, 8, 16], &[10, 10, 0], &[(0, 1, 10), (0, 2, 0)]);
        assert!(find_cold_regions(&g, &[false; 3], 64, 8).is_empty());
    }

    #[test]
    fn eh_pads_unreachable_blocks_and_the_entry_are_never_regions() {
        let g = graph(&[100, 100, 100], &[0, 0, 0], &[(0, 1, 0)]);
        // Entry is never cold; block 1 is an EH pad; block 2 is unreachable.
        assert!(find_cold_regions(&g, &[false, true, false], 1, 8).is_empty());
    }

    #[test]
    fn largest_regions_come_first_and_the_count_is_bounded() {
        let g = graph(
            &[4, 4, 100, 4, 300],
            &[9, 9, 0, 9, 0],
            &[(0, 1, 9), (0, 2, 0), (1, 3, 9), (1, 4, 0)],
        );
        let r = find_cold_regions(&g, &[false; 5], 64, 1);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].header, 4);
    }
}
