//! The stable text form of `print<hallows-inventory>` and the report data of an inventory.
//!
//! Text form (one line per fact, so FileCheck tests can match each):
//! ```text
//! hallows-inventory: module 'x.ll'
//! function 'sum' (sum)
//!   blocks: 4 instructions: 12
//!   branches: conditional 1 switch 0 with-weights 1 expected 0
//!   profile: entry-count 100
//!   loop #0: depth 1 header 'loop' blocks 2 exiting 1 trip-count constant 10
//! ```

use serde_json::{json, Value};

use super::FunctionInventory;
use crate::names::demangle_symbol;
use crate::shim::TripCount;

/// Renders the inventory of a module.
pub fn render_module(module_id: &str, functions: &[FunctionInventory]) -> String {
    let mut out = format!("hallows-inventory: module '{module_id}'\n");
    for f in functions {
        render_function(&mut out, f);
    }
    out
}

fn render_function(out: &mut String, f: &FunctionInventory) {
    let name = demangle_symbol(&f.symbol);
    out.push_str(&format!("function '{}' ({})\n", f.symbol, name.function));
    out.push_str(&format!(
        "  blocks: {} instructions: {}\n",
        f.blocks, f.instructions
    ));
    out.push_str(&format!(
        "  branches: conditional {} switch {} with-weights {} expected {}\n",
        f.conditional_branches, f.switches, f.branch_weights, f.expected_weights
    ));
    match f.entry_count {
        Some(n) => out.push_str(&format!("  profile: entry-count {n}\n")),
        None if f.branch_weights > 0 => out.push_str("  profile: branch-weights-only\n"),
        None => out.push_str("  profile: none\n"),
    }
    if f.loops.is_empty() {
        out.push_str("  loops: none\n");
    }
    for (i, l) in f.loops.iter().enumerate() {
        let parent = match l.parent {
            Some(p) => format!(" parent #{p}"),
            None => String::new(),
        };
        out.push_str(&format!(
            "  loop #{i}: depth {} header '{}'{parent} blocks {} exiting {} trip-count {}\n",
            l.depth,
            l.header,
            l.blocks,
            l.exiting_blocks,
            trip_text(l.trip_count)
        ));
    }
}

fn trip_text(t: TripCount) -> String {
    match t {
        TripCount::Constant(n) => format!("constant {n}"),
        TripCount::Bounded(n) => format!("max {n}"),
        TripCount::Unknown => "unknown".to_owned(),
    }
}

/// The report's `reason` sentence for a function.
pub fn reason(f: &FunctionInventory) -> String {
    if f.has_profile() {
        "inventory of a function with profile data".to_owned()
    } else {
        "inventory of a function without profile data".to_owned()
    }
}

/// The report's `data` object for a function.
pub fn data(f: &FunctionInventory) -> Value {
    let loops: Vec<Value> = f
        .loops
        .iter()
        .map(|l| {
            let (kind, exact, max) = match l.trip_count {
                TripCount::Constant(n) => ("constant", Some(n), Some(n)),
                TripCount::Bounded(n) => ("max", None, Some(n)),
                TripCount::Unknown => ("unknown", None, None),
            };
            json!({
                "depth": l.depth,
                "header": l.header,
                "parent": l.parent,
                "blocks": l.blocks,
                "exiting_blocks": l.exiting_blocks,
                "trip_count": kind,
                "trip_count_value": exact,
                "max_trip_count": max,
            })
        })
        .collect();
    json!({
        "instructions": f.instructions,
        "blocks": f.blocks,
        "conditional_branches": f.conditional_branches,
        "switches": f.switches,
        "branch_weights": f.branch_weights,
        "expected_weights": f.expected_weights,
        "entry_count": f.entry_count,
        "has_profile": f.has_profile(),
        "max_loop_depth": f.loops.iter().map(|l| l.depth).max().unwrap_or(0),
        "loops": loops,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::LoopSummary;

    fn sample() -> FunctionInventory {
        FunctionInventory {
            symbol: "_ZN7mycrate3sum17h0123456789abcdefE".to_owned(),
            instructions: 12,
            blocks: 4,
            conditional_branches: 1,
            switches: 0,
            branch_weights: 1,
            expected_weights: 2,
            entry_count: Some(100),
            loops: vec![
                LoopSummary {
                    depth: 1,
                    header: "outer".to_owned(),
                    parent: None,
                    blocks: 3,
                    exiting_blocks: 1,
                    trip_count: TripCount::Constant(10),
                },
                LoopSummary {
                    depth: 2,
                    header: "bb2".to_owned(),
                    parent: Some(0),
                    blocks: 1,
                    exiting_blocks: 1,
                    trip_count: TripCount::Bounded(7),
                },
            ],
        }
    }

    #[test]
    fn text_form_is_line_per_fact() {
        let text = render_module("m.ll", &[sample()]);
        let expected = "hallows-inventory: module 'm.ll'\n\
            function '_ZN7mycrate3sum17h0123456789abcdefE' (mycrate::sum)\n\
            \x20 blocks: 4 instructions: 12\n\
            \x20 branches: conditional 1 switch 0 with-weights 1 expected 2\n\
            \x20 profile: entry-count 100\n\
            \x20 loop #0: depth 1 header 'outer' blocks 3 exiting 1 trip-count constant 10\n\
            \x20 loop #1: depth 2 header 'bb2' parent #0 blocks 1 exiting 1 trip-count max 7\n";
        assert_eq!(text, expected);
    }

    #[test]
    fn data_reports_trip_counts_and_profile() {
        let d = data(&sample());
        assert_eq!(d["entry_count"], 100);
        assert_eq!(d["has_profile"], true);
        assert_eq!(d["max_loop_depth"], 2);
        assert_eq!(d["loops"][0]["trip_count"], "constant");
        assert_eq!(d["loops"][0]["trip_count_value"], 10);
        assert_eq!(d["loops"][1]["trip_count"], "max");
        assert_eq!(d["loops"][1]["max_trip_count"], 7);
        assert!(d["loops"][1]["trip_count_value"].is_null());
    }

    #[test]
    fn function_without_profile_says_so() {
        let mut f = sample();
        f.entry_count = None;
        f.branch_weights = 0;
        f.expected_weights = 3;
        f.loops.clear();
        assert_eq!(reason(&f), "inventory of a function without profile data");
        let text = render_module("m.ll", &[f]);
        assert!(text.contains("  profile: none\n  loops: none\n"), "{text}");
    }
}
