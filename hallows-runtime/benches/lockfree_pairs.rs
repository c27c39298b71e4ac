//! Interleaved probe of the `mpsc` and `map` benches: every round runs one Hallows iteration
//! and one iteration of the best competitor back to back (alternating which goes first), so
//! both see the same machine state. Prints, per bench, both medians, the median of the
//! per-round ratios competitor ÷ Hallows (above 1: Hallows faster), the share of rounds
//! Hallows won, and a coarse histogram of Hallows' round times (to show bimodality).
//!
//! `mpsc` runs twice: with the blocking driver (`hallows_mpsc`) and with the yielding one
//! (`hallows_mpsc_yielding`, driven exactly like `ArrayQueue`).
//!
//! With `blocks`, each `mpsc` pair is timed instead like criterion times it: blocks of
//! consecutive iterations of one side, alternated ([`lockfree::blocks`]; ROUNDS is then the
//! number of blocks), and the ratio of the means is what criterion's two estimates give.
//!
//! `cargo bench -p hallows-runtime --bench lockfree_pairs -- [ROUNDS] [mpsc|map] [blocks]`

mod lockfree;

use lockfree::{
    blocks, crossbeam_array_queue, dashmap_mix, hallows_map_mix, hallows_mpsc,
    hallows_mpsc_yielding, pairs, prefilled_dashmap, prefilled_hallows_map,
};

const DEFAULT_ROUNDS: usize = 300;
fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let rounds = args
        .iter()
        .find_map(|a| a.parse().ok())
        .unwrap_or(DEFAULT_ROUNDS);
    let in_blocks = args.iter().any(|a| a == "blocks");
    let only = args
        .iter()
        .find(|a| a.parse::<usize>().is_err() && *a != "blocks");
    let wants = |n: &str| only.is_none_or(|o| o == n);
    if wants("mpsc") && in_blocks {
        blocks(
            "mpsc",
            "array_queue",
            rounds,
            &hallows_mpsc,
            &crossbeam_array_queue,
        );
        blocks(
            "mpsc_yielding",
            "array_queue",
            rounds,
            &hallows_mpsc_yielding,
            &crossbeam_array_queue,
        );
    } else if wants("mpsc") {
        pairs(
            "mpsc",
            "array_queue",
            rounds,
            &hallows_mpsc,
            &crossbeam_array_queue,
        );
        pairs(
            "mpsc_yielding",
            "array_queue",
            rounds,
            &hallows_mpsc_yielding,
            &crossbeam_array_queue,
        );
    }
    if wants("map") {
        let hallows = prefilled_hallows_map();
        let dash = prefilled_dashmap();
        let h_iter = || hallows_map_mix(&hallows);
        let d_iter = || dashmap_mix(&dash);
        pairs("map", "dashmap", rounds, &h_iter, &d_iter);
    }
}
