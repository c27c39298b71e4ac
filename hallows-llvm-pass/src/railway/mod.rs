//! `hallows-railway`: profile-guided basic-block layout.
//!
//! Per function with profile data:
//! 0. dispatch threading ([`dispatch`], [`thread`]): in an interpreter-style loop, the chain that
//!    leads to the loop's dispatch `switch` is copied into the end of each hot handler, so every
//!    hot handler ends in its own dispatch branch (threaded code), within a code-size budget;
//!    then merge threading ([`merge`]): a hot merge block whose phis decide a branch right after
//!    it is copied, with that branch folded, into the hot predecessors that pass constants;
//! 1. block counts from the `!prof` branch weights ([`cfg`](mod@cfg));
//! 2. *tracks* — chains in which each block falls through to its hottest successor — chosen by
//!    the ext-TSP objective ([`layout`], Newell & Pupyrev, IEEE TC 2020), entry first, never
//!    executed blocks last;
//! 3. the blocks are moved into track order;
//! 4. never-executed blocks end up at the function's cold tail (step 2). With
//!    `HALLOWS_RAILWAY_OUTLINE=1`, never-executed single-entry regions of at least
//!    `MIN_COLD_SPLIT_BYTES` also move into separate functions marked `cold`/`noinline` with
//!    section prefix `unlikely` ([`cold`]). Outlining is off by default: measured with
//!    `scripts/bench-pgo.sh`-style interleaved runs (11 each, same PGO profile), outlining the one
//!    148-byte region it found in `json::process` made `json` 1.7% slower than PGO alone, while
//!    without it `json` was 0.998 of PGO alone and `interp` and `lexer` did not change;
//! 5. functions never entered get `cold` and the `unlikely` section prefix, functions whose hottest
//!    block is within `1/HOT_FUNCTION_DIVISOR` of the module's hottest get the `hot` prefix, so
//!    linkers group hot code together (`.text.hot.*`).
//!
//! The backend's block placement (MachineBlockPlacement, after register allocation) still
//! decides the final order from the same profile; railway's IR order feeds it and register
//! allocation. `HALLOWS_RAILWAY_BACKEND=1` also switches that placement to LLVM's ext-TSP for
//! functions with profile data ([`configure_backend`]). It is off by default because, measured
//! with `scripts/bench-pgo.sh`, LLVM's default profile-guided placement after railway's IR
//! layout was as fast or faster on every branchy example (ext-TSP placement: `lexer` 1.4% slower
//! than PGO alone, `interp` 1% less gain).
//!
//! Block order and outlining never change behaviour; all decisions are made before the IR is
//! touched. One report record per function: layout score before and after, expected
//! fall-through ratio, blocks moved, bytes split cold, and the reason when it left the function
//! alone.

pub mod cfg;
pub mod cold;
pub mod dispatch;
pub mod layout;
pub mod merge;
pub mod thread;

use std::collections::HashMap;
use std::sync::OnceLock;

/// Environment variable that turns on the outlining of cold regions into cold functions.
pub const ENV_OUTLINE: &str = "HALLOWS_RAILWAY_OUTLINE";

/// Whether cold regions are outlined (`HALLOWS_RAILWAY_OUTLINE=1`; off by default, see the
/// module docs for the measurement behind that default).
pub fn outlining_enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| crate::options::env_switch(ENV_OUTLINE, false))
}

use serde_json::{json, Value};

use crate::ir::{Function, Module};
use crate::options::{
    Options, HOT_FUNCTION_DIVISOR, MAX_COLD_SPLITS_PER_FUNCTION, MAX_RAILWAY_BLOCKS,
    MESSAGE_PREFIX, MIN_COLD_SPLIT_BYTES, MIN_RELATIVE_SCORE_GAIN,
    THREADED_MIN_RELATIVE_SCORE_GAIN,
};
use crate::report::ModuleReport;
use crate::shim::{self, Analyses};
use cold::{find_cold_regions, ColdRegion};
use layout::{compute_layout, ext_tsp_score, fallthrough_ratio, Layout};

/// Section prefix of hot functions.
pub const PREFIX_HOT: &str = "hot";
/// Section prefix of never-executed code.
pub const PREFIX_UNLIKELY: &str = "unlikely";

/// LLVM options that make MachineBlockPlacement use ext-TSP on functions with profile data.
const BACKEND_OPTIONS: [(&str, &str); 2] = [
    ("enable-ext-tsp-block-placement", "true"),
    ("ext-tsp-apply-without-profile", "false"),
];

/// Switches the backend's block placement (in this process) to ext-TSP for functions with
/// profile data, once. Returns whether every option was accepted.
///
/// Called while pipelines are built (from the extension-point callbacks). LLVM reads these
/// options during code generation, which for every module comes after its own pipeline was
/// built; each thread that builds a pipeline with railway passes through the `OnceLock` below,
/// which blocks until the options are written, so no code generation in the process reads them
/// while they change.
pub fn configure_backend(options: &Options) -> bool {
    static ACCEPTED: OnceLock<bool> = OnceLock::new();
    if !options.railway_backend {
        return false;
    }
    *ACCEPTED.get_or_init(|| {
        let accepted = BACKEND_OPTIONS
            .iter()
            .all(|(name, value)| shim::set_llvm_option(name, value));
        if !accepted {
            eprintln!(
                "{MESSAGE_PREFIX}: warning: this LLVM has no ext-TSP machine block placement \
                 options; the backend keeps its default block placement"
            );
        } else if options.report_stderr {
            eprintln!(
                "{MESSAGE_PREFIX}: hallows-railway: backend block placement set to ext-TSP for \
                 functions with profile data"
            );
        }
        accepted
    })
}

/// What the pass decided for one function, before touching it.
enum Plan<'m> {
    /// Left alone, with the reason.
    Skip {
        symbol: String,
        action: &'static str,
        reason: String,
        data: Value,
    },
    /// Never entered: mark cold.
    NeverExecuted {
        function: Function<'m>,
        symbol: String,
    },
    /// Lay out (and maybe split).
    Layout(Box<LayoutPlan<'m>>),
}

struct LayoutPlan<'m> {
    function: Function<'m>,
    symbol: String,
    cfg: cfg::FunctionCfg<'m>,
    layout: Layout,
    score_before: f64,
    score_after: f64,
    apply_order: bool,
    regions: Vec<ColdRegion>,
    max_count: u64,
}

/// Runs the railway pass on every defined function of `module`.
pub fn run(module: Module<'_>, analyses: &Analyses<'_>, options: &Options) -> bool {
    let mut report = ModuleReport::new("hallows-railway", module.identifier());
    let prof_kind = module.prof_kind();
    // Dispatch threading first: it changes the CFG that the layout below is computed on.
    let mut changed = false;
    let mut dispatch: HashMap<String, Value> = HashMap::new();
    if thread::enabled() {
        for function in module.functions() {
            if function.is_declaration() || !may_thread(module, function, prof_kind) {
                continue;
            }
            let (field, threaded) = thread::thread_dispatch(module, function, analyses);
            changed |= threaded;
            if let Some(field) = field {
                dispatch.insert(function.name(), field);
            }
        }
    }
    // Merge threading after dispatch threading, so an interpreter's dispatch chain is planned
    // on the unchanged CFG.
    let mut merges: HashMap<String, Value> = HashMap::new();
    if merge::enabled() {
        for function in module.functions() {
            if function.is_declaration() || !may_thread(module, function, prof_kind) {
                continue;
            }
            let (field, threaded) = merge::thread_merges(module, function, analyses);
            changed |= threaded;
            if let Some(field) = field {
                merges.insert(function.name(), field);
            }
        }
    }
    let plans: Vec<Plan<'_>> = module
        .functions()
        .into_iter()
        .filter(|f| !f.is_declaration())
        .map(|f| {
            let name = f.name();
            let threaded = [&dispatch, &merges].iter().any(|fields| {
                fields
                    .get(&name)
                    .is_some_and(|field| field["threaded"] == Value::Bool(true))
            });
            plan_function(module, f, analyses, prof_kind, threaded)
        })
        .collect();
    let module_max = plans
        .iter()
        .filter_map(|p| match p {
            Plan::Layout(l) => Some(l.max_count),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    for plan in plans {
        changed |= apply(
            module,
            analyses,
            plan,
            module_max,
            &mut dispatch,
            &mut merges,
            &mut report,
        );
    }
    report.finish(options);
    changed
}

/// Whether dispatch threading may look at `function`: it has measured profile data, was entered, is not
/// `optnone` and is within the block limit that bounds compile time.
fn may_thread(module: Module<'_>, function: Function<'_>, prof_kind: u32) -> bool {
    if function.has_attribute("optnone") || function.block_count() > MAX_RAILWAY_BLOCKS {
        return false;
    }
    // Counts must be measured: without an entry count the frequencies are only relative, and
    // "hot" would mean nothing.
    function.entry_count(module).is_some_and(|c| c > 0)
        && function
            .blocks()
            .iter()
            .filter_map(|b| b.terminator())
            .any(|t| t.has_profile_weights(prof_kind))
}

/// Adds the function's dispatch- and merge-threading fields (if any) to its record's data.
fn with_threading(mut data: Value, threading: Threading) -> Value {
    if let Some(object) = data.as_object_mut() {
        if let Some(field) = threading.dispatch {
            object.insert("dispatch".to_owned(), field);
        }
        if let Some(field) = threading.merge {
            object.insert("merge".to_owned(), field);
        }
    }
    data
}

/// The threading report fields of one function.
#[derive(Default)]
struct Threading {
    dispatch: Option<Value>,
    merge: Option<Value>,
}

impl Threading {
    fn take(
        symbol: &str,
        dispatch: &mut HashMap<String, Value>,
        merges: &mut HashMap<String, Value>,
    ) -> Self {
        Threading {
            dispatch: dispatch.remove(symbol),
            merge: merges.remove(symbol),
        }
    }

    /// Whether merge threading changed the function.
    fn merged(&self) -> bool {
        self.merge
            .as_ref()
            .is_some_and(|m| m["threaded"] == Value::Bool(true))
    }
}

fn plan_function<'m>(
    module: Module<'m>,
    function: Function<'m>,
    analyses: &Analyses<'m>,
    prof_kind: u32,
    threaded: bool,
) -> Plan<'m> {
    let symbol = function.name();
    let blocks = function.block_count();
    let skip = |reason: String| Plan::Skip {
        symbol: symbol.clone(),
        action: "skipped",
        reason,
        data: json!({ "blocks": blocks }),
    };
    if function.has_attribute("optnone") {
        return skip("left alone: the function is `optnone`".to_owned());
    }
    let entry_count = function.entry_count(module);
    let has_weights = || {
        function
            .blocks()
            .iter()
            .filter_map(|b| b.terminator())
            .any(|t| t.has_profile_weights(prof_kind))
    };
    if entry_count.is_none() && !has_weights() {
        return skip(
            "left alone: no profile data (no entry count, no measured branch weights)".to_owned(),
        );
    }
    let Some(entry_count) = entry_count else {
        // Branch weights without an entry count are estimates (`#[cold]` paths, `likely`
        // hints, or a function the profile does not cover): block counts scaled from them are
        // synthetic, so a layout computed on them would only replace the backend's own guess
        // with another guess. Leave the function exactly as PGO has it.
        return skip(
            "left as PGO has it: no measured entry count (its branch weights are estimates)"
                .to_owned(),
        );
    };
    if entry_count == 0 {
        return Plan::NeverExecuted { function, symbol };
    }
    if blocks > MAX_RAILWAY_BLOCKS {
        return skip(format!(
            "left alone: {blocks} blocks exceed the limit of {MAX_RAILWAY_BLOCKS} \
             (MAX_RAILWAY_BLOCKS) that keeps compile time bounded"
        ));
    }
    if blocks < 2 {
        return Plan::Skip {
            symbol,
            action: "unchanged",
            reason: "a single block has no layout to choose".to_owned(),
            data: json!({ "blocks": blocks }),
        };
    }
    let cfg = match cfg::build(module, function, analyses) {
        Ok(cfg) => cfg,
        Err(e) => return skip(e.reason().to_owned()),
    };
    let layout = match compute_layout(&cfg.graph) {
        Ok(layout) => layout,
        Err(e) => return skip(format!("left alone: {e}")),
    };
    let identity: Vec<usize> = (0..cfg.graph.len()).collect();
    let score_before = ext_tsp_score(&cfg.graph, &identity);
    let score_after = ext_tsp_score(&cfg.graph, &layout.order);
    // Threading appended copies to the function, so PGO's order no longer exists there: lay it
    // out whenever the search found anything better.
    let threshold = if threaded {
        THREADED_MIN_RELATIVE_SCORE_GAIN
    } else {
        MIN_RELATIVE_SCORE_GAIN
    };
    let better = score_after > score_before * (1.0 + threshold) && layout.order != identity;
    let regions = if outlining_enabled() && may_outline_from(function) {
        find_cold_regions(
            &cfg.graph,
            &cfg.eh_pad,
            MIN_COLD_SPLIT_BYTES,
            MAX_COLD_SPLITS_PER_FUNCTION,
        )
    } else {
        Vec::new()
    };
    let max_count = cfg.graph.counts.iter().copied().max().unwrap_or(0);
    Plan::Layout(Box::new(LayoutPlan {
        function,
        symbol,
        cfg,
        layout,
        score_before,
        score_after,
        apply_order: better,
        regions,
        max_count,
    }))
}

/// Function attributes under which no code is moved out of the function: inlining and
/// sanitizer contracts, and naked functions (compare LLVM's `HotColdSplitting.cpp`).
const NO_OUTLINING_ATTRIBUTES: [&str; 6] = [
    "alwaysinline",
    "naked",
    "sanitize_address",
    "sanitize_hwaddress",
    "sanitize_memory",
    "sanitize_thread",
];

/// Whether cold regions may be moved out of `function`: not under [`NO_OUTLINING_ATTRIBUTES`],
/// and no call to a `returns_twice` function (setjmp-like control flow must stay in one frame).
fn may_outline_from(function: Function<'_>) -> bool {
    if NO_OUTLINING_ATTRIBUTES
        .iter()
        .any(|a| function.has_attribute(a))
    {
        return false;
    }
    !function
        .blocks()
        .iter()
        .flat_map(|b| b.instructions())
        .any(|i| i.calls_returns_twice())
}

/// Sets `prefix` unless the function already has a prefix or an explicit section.
fn try_set_prefix(function: Function<'_>, prefix: &str) -> bool {
    if function.has_explicit_section() || shim::section_prefix(function).is_some() {
        return false;
    }
    shim::set_section_prefix(function, prefix);
    true
}

fn apply<'m>(
    module: Module<'m>,
    analyses: &Analyses<'m>,
    plan: Plan<'m>,
    module_max: u64,
    dispatch: &mut HashMap<String, Value>,
    merges: &mut HashMap<String, Value>,
    report: &mut ModuleReport,
) -> bool {
    match plan {
        Plan::Skip {
            symbol,
            action,
            reason,
            data,
        } => {
            let threading = Threading::take(&symbol, dispatch, merges);
            let merged = threading.merged();
            report.push(&symbol, action, reason, with_threading(data, threading));
            merged
        }
        Plan::NeverExecuted { function, symbol } => {
            let was_cold = function.has_attribute("cold");
            if !was_cold {
                function.add_attribute(module, "cold");
            }
            let prefixed = try_set_prefix(function, PREFIX_UNLIKELY);
            report.push(
                &symbol,
                "marked-cold",
                "never executed in the profile: marked `cold` and placed with unlikely code",
                with_threading(
                    json!({
                        "entry_count": 0,
                        "cold_attribute_added": !was_cold,
                        "section_prefix": if prefixed { Some(PREFIX_UNLIKELY) } else { None },
                    }),
                    Threading::take(&symbol, dispatch, merges),
                ),
            );
            !was_cold || prefixed
        }
        Plan::Layout(plan) => {
            let threading = Threading::take(&plan.symbol, dispatch, merges);
            apply_layout(module, analyses, *plan, module_max, threading, report)
        }
    }
}

fn apply_layout<'m>(
    module: Module<'m>,
    analyses: &Analyses<'m>,
    plan: LayoutPlan<'m>,
    module_max: u64,
    threading: Threading,
    report: &mut ModuleReport,
) -> bool {
    let LayoutPlan {
        function,
        symbol,
        cfg,
        layout,
        score_before,
        score_after,
        apply_order,
        regions,
        max_count,
    } = plan;
    let graph = &cfg.graph;
    let identity: Vec<usize> = (0..graph.len()).collect();
    let final_order = if apply_order {
        &layout.order
    } else {
        &identity
    };
    let blocks_moved = final_order
        .iter()
        .enumerate()
        .filter(|(i, b)| *i != **b)
        .count();
    if apply_order {
        for pair in layout.order.windows(2) {
            cfg.blocks[pair[1]].move_after(cfg.blocks[pair[0]]);
        }
        analyses.invalidate(function);
    }
    let mut bytes_split = 0u64;
    let mut regions_split = 0usize;
    let mut regions_refused = 0usize;
    for region in &regions {
        let blocks: Vec<_> = region.blocks.iter().map(|&b| cfg.blocks[b]).collect();
        match analyses.extract_region(function, &blocks) {
            Some(outlined) => {
                // As LLVM's HotColdSplitting does: never inlined back, optimised for size.
                outlined.add_attribute(module, "cold");
                outlined.add_attribute(module, "noinline");
                outlined.add_attribute(module, "minsize");
                try_set_prefix(outlined, PREFIX_UNLIKELY);
                for call in outlined.call_sites() {
                    call.add_call_attribute(module, "cold");
                }
                bytes_split += region.bytes;
                regions_split += 1;
            }
            None => regions_refused += 1,
        }
    }
    let hot = max_count > 0
        && u128::from(max_count) * u128::from(HOT_FUNCTION_DIVISOR) >= u128::from(module_max);
    let prefix = (hot && try_set_prefix(function, PREFIX_HOT)).then_some(PREFIX_HOT);
    let cold_blocks = graph
        .counts
        .iter()
        .enumerate()
        .filter(|(b, c)| *b != 0 && **c == 0)
        .count();
    // Why the order was kept: the search found nothing better, or its gain is below the
    // threshold under which railway leaves PGO's order alone.
    let kept = if layout.order == identity
        || score_after <= score_before * (1.0 + THREADED_MIN_RELATIVE_SCORE_GAIN)
    {
        "the block order already scores best".to_owned()
    } else {
        format!(
            "left in PGO's order: the ext-TSP layout would gain {:.3}% (score {:.0} -> {:.0}), \
             below the {}% threshold (MIN_RELATIVE_SCORE_GAIN)",
            (score_after / score_before - 1.0) * 100.0,
            score_before,
            score_after,
            MIN_RELATIVE_SCORE_GAIN * 100.0
        )
    };
    let dispatch = threading.dispatch.as_ref();
    let threaded = dispatch.is_some_and(|d| d["threaded"] == Value::Bool(true));
    let merged = threading.merged();
    let (action, mut reason) = if apply_order {
        (
            "reordered",
            format!(
                "blocks laid out in hot tracks ({}): score {:.0} -> {:.0}{}",
                layout.algorithm.name(),
                score_before,
                score_after,
                if regions_split > 0 {
                    format!("; {regions_split} cold region(s) moved to cold functions")
                } else {
                    String::new()
                }
            ),
        )
    } else if regions_split > 0 {
        (
            "split-cold",
            format!("{regions_split} cold region(s) moved to cold functions; {kept}"),
        )
    } else if threaded {
        ("dispatch-threaded", kept)
    } else if merged {
        ("merge-threaded", kept)
    } else if prefix.is_some() {
        ("marked-hot", format!("{kept}; the function is hot"))
    } else {
        ("unchanged", kept)
    };
    if let Some(d) = dispatch.filter(|_| threaded) {
        reason.push_str(&format!(
            "; dispatch chain copied into {} hot predecessor(s)",
            d["copies"]
        ));
    }
    if let Some(m) = threading.merge.as_ref().filter(|_| merged) {
        let copies: u64 = m["sites"]
            .as_array()
            .map(|sites| sites.iter().filter_map(|s| s["copies"].as_u64()).sum())
            .unwrap_or(0);
        reason.push_str(&format!(
            "; merge block(s) copied into {copies} predecessor(s) that decide a branch"
        ));
    }
    let data = json!({
            "algorithm": layout.algorithm.name(),
            "blocks": graph.len(),
            "score_before": round2(score_before),
            "score_after": round2(if apply_order { score_after } else { score_before }),
            "fallthrough_before": round4(fallthrough_ratio(graph, &identity)),
            "fallthrough_after": round4(fallthrough_ratio(graph, final_order)),
            "blocks_moved": blocks_moved,
            "cold_blocks": cold_blocks,
            "cold_outlining": outlining_enabled(),
            "cold_regions_split": regions_split,
            "cold_regions_refused": regions_refused,
            "bytes_split_cold": bytes_split,
            "section_prefix": prefix,
            "max_block_count": max_count,
    });
    report.push(&symbol, action, reason, with_threading(data, threading));
    apply_order || regions_split > 0 || prefix.is_some() || threaded || merged
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}
