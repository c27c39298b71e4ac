//! The `hallows-prefetch` pass: for every load inside a loop, analyse its address chain,
//! decide with the profile (or static heuristics without one), insert the prefetch, and write
//! one report record per load site.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::json;

use super::chain::{self, Shape};
use super::decide::{
    decide, decide_gather, gather_count, stagger, Decision, LoopContext, ProfileView, ShapeKind,
    MAX_OVERLAPPED_MISSES, MISS_THRESHOLD,
};
use super::insert::{self, EntryPlan, Gather, GatherPlan, Plan, WindowPlan};
use super::ll;
use super::loops::{self, FunctionLoopViews};
use super::model::pattern::AddressPattern;
use super::model::profile::{Profile, SiteProfile};
use super::sites::load_sites;
use crate::ir::Module;
use crate::options::Options;
use crate::report::ModuleReport;
use crate::shim::Analyses;

/// Pipeline name, also the report's `pass` field.
pub const PASS_NAME: &str = "hallows-prefetch";

type Loaded = Result<Arc<Profile>, String>;

/// An inner loop's first access, prefetchable from the enclosing loop.
struct EntryCandidate {
    outer: usize,
    phi: super::ll::Value,
    start: super::ll::Value,
    /// Other header phis of the address, with their current entry values.
    current: Vec<(super::ll::Value, super::ll::Value)>,
    tail: Vec<super::ll::Value>,
    at: super::ll::Value,
    chain: chain::Chain,
    inductions: Vec<(super::loops::Induction, Vec<super::loops::Bound>)>,
    bounded: bool,
    outer_iter_ns: Option<f64>,
}

/// Reads and parses the profile at `path` once per process (rustc runs codegen units on
/// several threads; all share the parse).
pub fn load_profile(path: &Path) -> Loaded {
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, Loaded>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut map = cache.lock().unwrap_or_else(|p| p.into_inner());
    map.entry(path.to_path_buf())
        .or_insert_with(|| {
            let text = std::fs::read(path)
                .map_err(|e| format!("cannot read prefetch profile {}: {e}", path.display()))?;
            let text = String::from_utf8(text).map_err(|_| {
                format!("prefetch profile {} is not text (corrupt?)", path.display())
            })?;
            Profile::parse(&text)
                .map(Arc::new)
                .map_err(|e| format!("prefetch profile {} is unusable: {e}", path.display()))
        })
        .clone()
}

/// The window of a nested loop's chain (see `loops::Window`): the chain reads one induction
/// variable of an inner loop with a single entry block, whose exit limit a check before the
/// loop bounds by a range length, and indexes the range with it. With a profile, the loads
/// indexed by the induction variable must also be strided across entries (the windows follow
/// each other, as CSR rows do); otherwise a look-ahead past a window's end would fetch lines
/// the next entry does not read.
fn window_plan<'p>(
    views: &FunctionLoopViews,
    facts: &crate::shim::FunctionLoops<'_>,
    loop_index: usize,
    chain: &chain::Chain,
    profile_of: impl Fn(ll::Value) -> ProfileView<'p>,
) -> Option<WindowPlan> {
    let parent = facts.loops[loop_index].parent?;
    let l = &views.loops[loop_index];
    let outer = &views.loops[parent];
    let [i] = chain.inductions.as_slice() else {
        return None;
    };
    let iv = l.inductions[*i].0;
    let pred = views.single_entry_within(l, outer)?;
    let (_, entry_facts) = views.path_facts(outer, pred);
    let windows = loops::windows(l, &iv, &entry_facts);
    let first = windows.first()?;
    if !chain::indexes_window(chain, l, iv.phi, first.start) {
        return None;
    }
    let strided = chain::window_loads(chain)
        .into_iter()
        .all(|load| match profile_of(load) {
            ProfileView::Site(p) => matches!(p.pattern, AddressPattern::Strided(_)),
            ProfileView::Missing | ProfileView::Uncovered => false,
            ProfileView::None => true,
        });
    if !strided {
        return None;
    }
    let lens: Vec<(ll::Value, i64)> = windows.iter().map(|w| (w.len, w.minus)).collect();
    // The range's last index is computed once before the outer loop when every length is
    // computed outside it: such a length dominates the inner loop's entry (the checks use it
    // there), hence the outer header, hence the header's only entering block (every path to
    // the header passes through that block first). The block may branch elsewhere too (no
    // preheader after SimplifyCFG): the hoisted values are pure and then merely unused there.
    let invariant =
        |v: ll::Value| ll::opcode(v).is_none() || !outer.blocks.contains(&ll::block_of(v));
    let hoist_at = match views.entering_blocks(outer).as_slice() {
        [p] if lens.iter().all(|&(len, _)| invariant(len)) => Some(ll::terminator(*p)),
        _ => None,
    };
    Some(WindowPlan {
        iv,
        start: first.start,
        lens,
        at: ll::terminator(pred),
        hoist_at,
        latch: first.latch,
    })
}

/// A short inner loop's indirect access, prefetchable from the outer loop for the entry `d`
/// outer iterations ahead (see `insert::GatherPlan`).
struct GatherCandidate {
    outer: usize,
    /// The inner loop's window start, computed in the outer loop.
    start: ll::Value,
    /// Its cloneable chain in the outer loop.
    chain: chain::Chain,
    entry_gep: Option<ll::Value>,
    iv: ll::Value,
    len: ll::Value,
    minus: i64,
    at: ll::Value,
    inductions: Vec<(loops::Induction, Vec<loops::Bound>)>,
    bounded: bool,
}

/// Whether the inner loop of `loop_index` walks a checked range's window whose start the outer
/// loop computes ahead, with `chain` (the site's address in its loop) reading the window's
/// elements through its induction variable: the CSR loop of a BFS (`parent[col[e]]` for `e`
/// in `row_start[u]..row_start[u + 1]`, `u` from the work queue), where the rows are visited
/// in no order a look-ahead across the row's end could follow. Ainsworth & Jones (CGO 2017,
/// their Graph500 scheme) prefetch such an access from the outer loop for a vertex `d`
/// entries ahead; this finds the pieces: the induction variable's entry value `start` (an
/// `i64` index, or `gep T, base, start` for a pointer walking `T`s of `base`), the exit limit
/// `end` (or `gep T, base, end`), and a check `end <= len - minus` on the only entry path.
fn gather_candidate(
    views: &FunctionLoopViews,
    facts: &crate::shim::FunctionLoops<'_>,
    loop_index: usize,
    shape: &Shape,
    chain: &chain::Chain,
) -> Option<GatherCandidate> {
    if !matches!(shape, Shape::Indirect { .. }) {
        return None;
    }
    let parent = facts.loops[loop_index].parent?;
    let inner = &views.loops[loop_index];
    let outer = &views.loops[parent];
    let [i] = chain.inductions.as_slice() else {
        return None;
    };
    let (iv, latch_bounds) = &inner.inductions[*i];
    let pred = views.single_entry_within(inner, outer)?;
    let (path, path_facts) = views.path_facts(outer, pred);
    let &(entry, _) = ll::phi_incoming(iv.phi).iter().find(|(_, b)| *b == pred)?;
    let outside_outer =
        |v: ll::Value| ll::opcode(v).is_none_or(|_| !outer.blocks.contains(&ll::block_of(v)));
    let outside_inner =
        |v: ll::Value| ll::opcode(v).is_none_or(|_| !inner.blocks.contains(&ll::block_of(v)));
    // The clamps of the inner chain are rebuilt in the outer loop: their limits must be there.
    if !chain.clamps.iter().all(|(_, b)| outside_inner(b.limit)) {
        return None;
    }
    let is_i64 = |v: ll::Value| {
        ll::is_small_int(ll::type_of(v))
            // SAFETY: `v` is a live value of integer type (checked just before).
            && unsafe { llvm_sys::core::LLVMGetIntTypeWidth(ll::type_of(v)) } == 64
    };
    // (start, end limit of the window, the entry gep for a pointer)
    let (start, entry_gep, end_of) = if iv.pointer {
        let base = chain::gep_base_index(entry, iv.step)?;
        if !outside_outer(base.0) {
            return None;
        }
        let end_of = move |limit: ll::Value| {
            chain::gep_base_index(limit, iv.step)
                .filter(|(b, _)| *b == base.0)
                .map(|(_, idx)| idx)
        };
        (
            base.1,
            Some(entry),
            Box::new(end_of) as Box<dyn Fn(ll::Value) -> Option<ll::Value>>,
        )
    } else {
        if !is_i64(iv.phi) || iv.step != 1 || !chain::indexes_window(chain, inner, iv.phi, None) {
            return None;
        }
        (
            entry,
            None,
            Box::new(Some) as Box<dyn Fn(ll::Value) -> Option<ll::Value>>,
        )
    };
    if !is_i64(start) {
        return None;
    }
    // Every load of the chain not fed by another must read the window's element through the
    // induction variable: `load iv` for a pointer (for an index, `indexes_window` checked
    // `gep T, base, iv`).
    let loads = chain::window_loads(chain);
    if loads.is_empty()
        || (iv.pointer && !loads.iter().all(|&load| ll::load_pointer(load) == iv.phi))
    {
        return None;
    }
    // The exit limit, and a check on it before the loop. The window must also be known not
    // to be empty there (`start < end`, or `start <= end` and `start != end`): then
    // `len - minus >= end >= 1`, so the clamp's last element lies inside the checked range.
    let same = |a: ll::Value, b: ll::Value| loops::strip_ext(a) == loops::strip_ext(b);
    let nonempty = |end: ll::Value| {
        let mut le = false;
        let mut ne = false;
        for (fact, _) in &path_facts {
            match *fact {
                loops::Fact::Upper { value, bound }
                    if same(value, start) && same(bound.limit, end) =>
                {
                    if bound.minus >= 1 {
                        return true;
                    }
                    le |= bound.minus == 0;
                }
                loops::Fact::NotEqual(a, b)
                    if (same(a, start) && same(b, end)) || (same(a, end) && same(b, start)) =>
                {
                    ne = true
                }
                _ => {}
            }
        }
        le && ne
    };
    let (len, minus) = latch_bounds.iter().find_map(|bound| {
        let end = end_of(bound.limit)?;
        if !nonempty(end) {
            return None;
        }
        path_facts.iter().find_map(|(fact, _)| match *fact {
            loops::Fact::Upper { value, bound: b }
                if same(value, end) && b.minus >= 0 && ll::is_small_int(ll::type_of(b.limit)) =>
            {
                Some((b.limit, b.minus))
            }
            _ => None,
        })
    })?;
    let (shape, start_chain) = chain::analyse_value(start, outer, &path, &path_facts);
    if !matches!(shape, Shape::Indirect { .. } | Shape::Strided) {
        return None;
    }
    let mut inductions = Vec::new();
    let mut bounded = false;
    for (oiv, ob) in &outer.inductions {
        bounded |= !ob.is_empty();
        let mut bounds = ob.clone();
        bounds.extend(loops::path_bounds(oiv, &path_facts));
        if !bounds.is_empty() {
            inductions.push((*oiv, bounds));
        }
    }
    Some(GatherCandidate {
        outer: parent,
        start,
        chain: start_chain,
        entry_gep,
        iv: iv.phi,
        len,
        minus,
        at: ll::terminator(pred),
        inductions,
        bounded,
    })
}

/// A plan whose prefetch sits in `outer` (an inner loop's entry, or a gather over it), ahead by
/// `distance` of that loop's iterations; the caller adds what is specific to its kind.
fn outer_loop_plan<'a>(
    outer: &'a loops::LoopView,
    at: ll::Value,
    address: ll::Value,
    chain: &'a chain::Chain,
    inductions: &[(super::loops::Induction, Vec<super::loops::Bound>)],
    distance: u32,
) -> Plan<'a> {
    Plan {
        at,
        address,
        entry: None,
        chain,
        inductions: inductions.to_vec(),
        chain_inductions: chain
            .inductions
            .iter()
            .map(|&i| outer.inductions[i].0)
            .collect(),
        distance,
        hoist_before: outer.preheader.map(ll::terminator),
        loop_blocks: &outer.blocks,
        header: outer.header,
        latch: outer.latch,
        entry_preds: Vec::new(),
        window: None,
        // An outer loop holds the inner loop.
        innermost: false,
    }
}

/// The loads a chain clones (its loads, in the loop the prefetch sits in).
fn chain_loads(insts: &[ll::Value]) -> impl Iterator<Item = ll::Value> + '_ {
    insts
        .iter()
        .copied()
        .filter(|&i| ll::opcode(i) == Some(llvm_sys::LLVMOpcode::LLVMLoad))
}

/// Moves prefetches whose line another prefetch's cloned chain loads further ahead than that
/// clone (see [`stagger`]), among the prefetches placed in the same loop; updates their
/// records' `distance` and says why. `plan_targets[i]` / `gather_targets[i]` are plan
/// (gather) `i`'s record index and the load it prefetches for.
fn stagger_chains(
    plans: &mut [Plan<'_>],
    plan_targets: &[(usize, ll::Value)],
    gathers: &mut [Gather<'_>],
    gather_targets: &[(usize, ll::Value)],
    report: &mut ModuleReport,
) {
    // One row per prefetch: (loop header, target load, loads its clone reads, distance).
    let mut rows: Vec<(ll::Bb, ll::Value, Vec<ll::Value>, u32)> = Vec::new();
    for (plan, &(_, target)) in plans.iter().zip(plan_targets) {
        let mut loads: Vec<_> = chain_loads(&plan.chain.insts).collect();
        if let Some(e) = &plan.entry {
            loads.extend(chain_loads(&e.tail));
        }
        rows.push((plan.header, target, loads, plan.distance));
    }
    for (g, &(_, target)) in gathers.iter().zip(gather_targets) {
        let mut loads: Vec<_> = chain_loads(&g.outer.chain.insts).collect();
        loads.extend(chain_loads(&g.plan.chain.insts));
        rows.push((g.outer.header, target, loads, g.outer.distance));
    }
    let mut feeds = Vec::new();
    for (q, (qh, qt, ..)) in rows.iter().enumerate() {
        for (p, (ph, _, loads, _)) in rows.iter().enumerate() {
            if q != p && qh == ph && loads.contains(qt) {
                feeds.push((q, p));
            }
        }
    }
    if feeds.is_empty() {
        return;
    }
    let own: Vec<u32> = rows.iter().map(|r| r.3).collect();
    let staggered = stagger(&own, &feeds);
    let records = plan_targets.iter().chain(gather_targets).map(|t| t.0);
    for (i, (record, (&own_d, &d))) in records.zip(own.iter().zip(&staggered)).enumerate() {
        if d == own_d {
            continue;
        }
        if i < plans.len() {
            plans[i].distance = d;
        } else {
            gathers[i - plans.len()].outer.distance = d;
        }
        if let Some(r) = report.records_mut().get_mut(record) {
            r.data["distance"] = json!(d);
            r.data["own_distance"] = json!(own_d);
            r.reason.push_str(&format!(
                "; staggered to {d} ahead: another prefetch's cloned address chain loads this value {} ahead, and its line needs {own_d} iterations to arrive",
                d - own_d
            ));
        }
    }
}

fn kind(shape: &Shape) -> ShapeKind {
    match shape {
        Shape::Strided => ShapeKind::Strided,
        Shape::Indirect { .. } => ShapeKind::Indirect,
        Shape::PointerChase => ShapeKind::PointerChase,
        Shape::Recurrence => ShapeKind::Recurrence,
        Shape::Invariant => ShapeKind::Invariant,
        Shape::Unsupported(why) => ShapeKind::Unsupported(why.clone()),
    }
}

/// Runs the pass on `module`; returns whether the IR changed.
pub fn run(module: Module<'_>, analyses: &Analyses<'_>, options: &Options) -> bool {
    let mut report = ModuleReport::new(PASS_NAME, module.identifier());
    let profile = match options.prefetch_profile.as_deref().map(load_profile) {
        None => None,
        Some(Ok(p)) => Some(p),
        Some(Err(message)) => {
            report.push(
                "",
                "warning",
                format!("{message}; falling back to static heuristics"),
                json!({}),
            );
            None
        }
    };
    let mut changed = false;
    for function in module.functions() {
        if function.is_declaration() {
            continue;
        }
        let facts = analyses.loops(function);
        if facts.loops.is_empty() {
            continue;
        }
        let symbol = function.name();
        let raw = function.raw();
        let views = FunctionLoopViews::new(raw, &facts);
        let (stem, sites) = load_sites(raw, &symbol, &views.innermost);
        // A profile with sites of a function of this name but none of this one's: stale, or
        // another monomorphised copy (same unhashed symbol, other shape). Its loads are left
        // alone (`ProfileView::Uncovered`), never given static heuristics in a profiled build.
        let mut uncovered = false;
        if let Some(p) = &profile {
            let ids: HashSet<u64> = sites.iter().map(|s| s.id).collect();
            let profiled: Vec<u64> = p
                .sites
                .values()
                .filter(|s| s.function == stem)
                .map(|s| s.id)
                .collect();
            if !profiled.is_empty() && !profiled.iter().any(|id| ids.contains(id)) {
                report.push(
                    &symbol,
                    "warning",
                    format!(
                        "stale profile or another copy: {} profiled load site(s) of a function of this name match none of this function's sites \
                         (the source or flags changed since profiling, or this is another monomorphised copy); its loads are not prefetched \
                         (no static heuristics in a profiled build); re-run `cargo hallows profile` if the source changed",
                        profiled.len()
                    ),
                    json!({ "profiled_sites": profiled.len() }),
                );
                uncovered = true;
            }
        }
        let use_profile = profile.as_ref();
        // Analyse every site first; the IR changes only after all decisions.
        let mut analysed = Vec::new();
        for site in &sites {
            let l = &views.loops[site.loop_index];
            let (path, path_facts) = views.path_facts(l, site.block);
            let (shape, chain) = chain::analyse(site.load, l, &path, &path_facts);
            // Every induction variable of the loop bounds the look-ahead distance; the loop
            // is bounded when its exit test bounds at least one of them.
            let mut inductions = Vec::new();
            let mut bounded = false;
            for (iv, latch_bounds) in &l.inductions {
                bounded |= !latch_bounds.is_empty();
                let mut bounds = latch_bounds.clone();
                bounds.extend(loops::path_bounds(iv, &path_facts));
                if !bounds.is_empty() {
                    inductions.push((*iv, bounds));
                }
            }
            analysed.push((site, shape, chain, inductions, bounded));
        }
        let prof_of = |id: u64| match use_profile {
            None => ProfileView::None,
            Some(_) if uncovered => ProfileView::Uncovered,
            Some(p) => p
                .sites
                .get(&id)
                .map_or(ProfileView::Missing, ProfileView::Site),
        };
        let memory_parallelism =
            use_profile.map_or(MAX_OVERLAPPED_MISSES, |p| p.machine.memory_parallelism);
        let mut stall: HashMap<usize, f64> = HashMap::new();
        for (site, ..) in &analysed {
            if let ProfileView::Site(p) = prof_of(site.id) {
                if p.miss_rate >= MISS_THRESHOLD {
                    *stall.entry(site.loop_index).or_default() += p.miss_rate * p.miss_latency_ns;
                }
            }
        }
        // Inner loops entered from an outer loop: the first access of each entry (a hash
        // bucket, a CSR row) can be prefetched from the outer loop, `d` outer iterations ahead.
        let mut entry_seen = HashSet::new();
        let entries: Vec<Option<EntryCandidate>> = analysed
            .iter()
            .map(|(site, ..)| {
                let parent = facts.loops[site.loop_index].parent?;
                let inner = &views.loops[site.loop_index];
                let (phis, tail) = chain::entry_address(site.load, inner)?;
                let outer = &views.loops[parent];
                let pred = views.single_entry_within(inner, outer)?;
                let (path, path_facts) = views.path_facts(outer, pred);
                // One phi's entry value is computed ahead (the bucket index); any other must
                // not move with the outer loop (the table's base pointer): its current entry
                // value stands in for the one `d` iterations ahead.
                let mut ahead = None;
                let mut current = Vec::new();
                for &phi in &phis {
                    let &(start, _) = ll::phi_incoming(phi).iter().find(|(_, b)| *b == pred)?;
                    let (shape, chain) = chain::analyse_value(start, outer, &path, &path_facts);
                    match shape {
                        Shape::Indirect { .. } if ahead.is_none() => {
                            ahead = Some((phi, start, chain))
                        }
                        Shape::Invariant => current.push((phi, start)),
                        _ => return None,
                    }
                }
                let (phi, start, chain) = ahead?;
                if !entry_seen.insert(phi) {
                    return None;
                }
                let mut inductions = Vec::new();
                let mut bounded = false;
                for (iv, latch_bounds) in &outer.inductions {
                    bounded |= !latch_bounds.is_empty();
                    let mut bounds = latch_bounds.clone();
                    bounds.extend(loops::path_bounds(iv, &path_facts));
                    if !bounds.is_empty() {
                        inductions.push((*iv, bounds));
                    }
                }
                let outer_iter_ns = {
                    let mut t: Vec<f64> = analysed
                        .iter()
                        .filter(|(s, ..)| s.loop_index == parent)
                        .filter_map(|(s, ..)| match prof_of(s.id) {
                            ProfileView::Site(p) => p.iter_ns,
                            _ => None,
                        })
                        .collect();
                    t.sort_by(f64::total_cmp);
                    t.get(t.len() / 2).copied()
                };
                Some(EntryCandidate {
                    outer: parent,
                    phi,
                    start,
                    current,
                    tail,
                    at: ll::terminator(pred),
                    chain,
                    inductions,
                    bounded,
                    outer_iter_ns,
                })
            })
            .collect();
        // Short inner loops whose indirect accesses can be prefetched from the outer loop.
        let gather_candidates: Vec<Option<GatherCandidate>> = analysed
            .iter()
            .map(|(site, shape, chain, ..)| {
                gather_candidate(&views, &facts, site.loop_index, shape, chain)
            })
            .collect();
        let outer_iter_ns = |outer: usize| {
            let mut t: Vec<f64> = analysed
                .iter()
                .filter(|(s, ..)| s.loop_index == outer)
                .filter_map(|(s, ..)| match prof_of(s.id) {
                    ProfileView::Site(p) => p.iter_ns,
                    _ => None,
                })
                .collect();
            t.sort_by(f64::total_cmp);
            t.get(t.len() / 2).copied()
        };
        let mut gathers = Vec::new();
        let mut plans = Vec::new();
        // Per plan and per gather: its "inserted" record and the load whose line it fetches.
        let mut plan_targets = Vec::new();
        let mut gather_targets = Vec::new();
        for (((site, shape, chain, inductions, bounded), entry), gather) in
            analysed.iter().zip(&entries).zip(&gather_candidates)
        {
            let l = &views.loops[site.loop_index];
            let mut ctx = LoopContext {
                bounded: *bounded,
                body_instructions: l.body_instructions,
                constant_trip: l.constant_trip,
                stall_ns: stall.get(&site.loop_index).copied().unwrap_or(0.0),
                memory_parallelism,
            };
            let pv = prof_of(site.id);
            let mut data = json!({
                "site": format!("{:016x}", site.id),
                "pattern": shape.label(),
                "loop_depth": l.depth,
                "load_index": site.ordinal,
                "mode": if use_profile.is_some() { "profile" } else { "static" },
            });
            if let Shape::Indirect { loads, .. } = shape {
                data["chain_loads"] = json!(loads);
            }
            if let ProfileView::Site(p) = pv {
                data["execs"] = json!(p.execs);
                data["miss_rate"] = json!(p.miss_rate);
                data["footprint"] = json!(p.footprint);
                data["address_pattern"] = json!(p.pattern.label());
                data["trip_count"] = json!(p.trip_count());
            }
            // A nested loop walking a window of a checked range looks ahead across its end.
            let window = window_plan(&views, &facts, site.loop_index, chain, |load| {
                sites
                    .iter()
                    .find(|s| s.load == load)
                    .map_or(ProfileView::None, |s| prof_of(s.id))
            });
            let flattened;
            let pv = match (&window, pv) {
                (Some(_), ProfileView::Site(p)) => {
                    // The look-ahead does not stop at the entry's end: per-entry trip counts
                    // do not limit it.
                    flattened = SiteProfile {
                        entries: 0,
                        ..p.clone()
                    };
                    ProfileView::Site(&flattened)
                }
                _ => pv,
            };
            if window.is_some() {
                data["window"] = json!(true);
                // The look-ahead spans entries, so an iteration also pays its share of the outer
                // loop's body (a CSR row's set-up, once per ~4 non-zeros): the static iteration
                // time the distance is floored by counts it, per entry's average iterations.
                if let (Some(parent), ProfileView::Site(p)) =
                    (facts.loops[site.loop_index].parent, prof_of(site.id))
                {
                    if let Some(trip) = p.trip_count().filter(|t| *t >= 1.0) {
                        let share = f64::from(views.loops[parent].body_instructions) / trip;
                        ctx.body_instructions += share.round() as u32;
                        data["outer_share_instructions"] = json!(share.round());
                    }
                }
            }
            let mut decision = decide(&kind(shape), pv, &ctx);
            if let (Decision::Skip(why), Some(e), ProfileView::Site(p)) = (&decision, entry, pv) {
                // The site itself cannot be prefetched inside its loop; try its loop's entry.
                let outer = &views.loops[e.outer];
                let outer_profile = SiteProfile {
                    entries: 0,
                    iter_ns: e.outer_iter_ns,
                    ..p.clone()
                };
                let octx = LoopContext {
                    bounded: e.bounded,
                    body_instructions: outer.body_instructions,
                    constant_trip: outer.constant_trip,
                    stall_ns: p.miss_rate * p.miss_latency_ns,
                    memory_parallelism,
                };
                if let Decision::Insert {
                    distance,
                    iter_ns,
                    reason,
                } = decide(
                    &ShapeKind::Indirect,
                    ProfileView::Site(&outer_profile),
                    &octx,
                ) {
                    data["entry_prefetch"] = json!(true);
                    data["distance"] = json!(distance);
                    data["iter_ns"] = json!(iter_ns);
                    plan_targets.push((report.records().len(), site.load));
                    report.push(
                        &symbol,
                        "inserted",
                        format!(
                            "{} (in its loop: {why}); the first access of each inner-loop entry is prefetched from the outer loop: {reason}",
                            shape.label()
                        ),
                        data,
                    );
                    plans.push(Plan {
                        entry: Some(EntryPlan {
                            phi: e.phi,
                            start: e.start,
                            tail: e.tail.clone(),
                            current: e.current.clone(),
                        }),
                        ..outer_loop_plan(
                            outer,
                            e.at,
                            ll::load_pointer(site.load),
                            &e.chain,
                            &e.inductions,
                            distance,
                        )
                    });
                    continue;
                }
                decision = Decision::Skip(why.clone());
            }
            let tiny = |p: &SiteProfile| {
                p.trip_count()
                    .filter(|t| *t < super::model::distance::MIN_TRIP_COUNT)
            };
            if let (Decision::Skip(why), Some(g), ProfileView::Site(p)) = (&decision, gather, pv) {
                if let Some(count) = tiny(p).and_then(gather_count) {
                    let outer = &views.loops[g.outer];
                    let octx = LoopContext {
                        bounded: g.bounded,
                        body_instructions: outer.body_instructions,
                        constant_trip: outer.constant_trip,
                        stall_ns: 0.0,
                        memory_parallelism,
                    };
                    if let Decision::Insert {
                        distance,
                        iter_ns,
                        reason,
                    } =
                        decide_gather(p, outer_iter_ns(g.outer), count, l.body_instructions, &octx)
                    {
                        data["gather"] = json!(count);
                        data["distance"] = json!(distance);
                        data["iter_ns"] = json!(iter_ns);
                        gather_targets.push((report.records().len(), site.load));
                        report.push(
                            &symbol,
                            "inserted",
                            format!(
                                "{} in a nested loop (in its loop: {why}); the first {count} elements of the inner-loop entry {distance} outer iterations ahead are prefetched from the outer loop, each index clamped to the checked range: {reason}",
                                shape.label()
                            ),
                            data,
                        );
                        gathers.push(Gather {
                            outer: outer_loop_plan(
                                outer,
                                g.at,
                                ll::load_pointer(site.load),
                                &g.chain,
                                &g.inductions,
                                distance,
                            ),
                            plan: GatherPlan {
                                start: g.start,
                                entry_gep: g.entry_gep,
                                iv: g.iv,
                                len: g.len,
                                minus: g.minus,
                                chain,
                                count,
                            },
                        });
                        continue;
                    }
                }
            }
            match decision {
                Decision::Insert {
                    distance,
                    iter_ns,
                    reason,
                } => {
                    data["distance"] = json!(distance);
                    data["iter_ns"] = json!(iter_ns);
                    let label = if window.is_some() {
                        format!(
                            "{} in a nested loop, looking ahead across the inner loop's end (clamped to the checked range around its window)",
                            shape.label()
                        )
                    } else if l.depth > 1 && matches!(shape, Shape::Indirect { .. }) {
                        format!("{} in a nested loop", shape.label())
                    } else {
                        shape.label().to_string()
                    };
                    let plan = Plan {
                        at: site.load,
                        address: ll::load_pointer(site.load),
                        entry: None,
                        chain,
                        inductions: inductions.clone(),
                        chain_inductions: chain
                            .inductions
                            .iter()
                            .map(|&i| l.inductions[i].0)
                            .collect(),
                        distance,
                        // The loop's only entering block, even when it also branches
                        // elsewhere (no preheader after SimplifyCFG): a value computed outside
                        // the loop and used in it dominates the header, hence that block (every
                        // path to the header passes through it last); the hoisted limits are
                        // pure and merely unused on its other edges.
                        hoist_before: match views.entering_blocks(l).as_slice() {
                            [p] => Some(ll::terminator(*p)),
                            _ => None,
                        },
                        loop_blocks: &l.blocks,
                        header: l.header,
                        latch: l.latch,
                        entry_preds: views.entering_blocks(l),
                        window,
                        innermost: !facts
                            .loops
                            .iter()
                            .any(|f| f.parent == Some(site.loop_index)),
                    };
                    if chain.recurrence.is_some() && !insert::recurrence_insertable(&plan) {
                        report.push(
                            &symbol,
                            "skipped",
                            "recurrence in a loop with several entries or latches: no single place to start the look-ahead copy",
                            data,
                        );
                        continue;
                    }
                    plan_targets.push((report.records().len(), site.load));
                    report.push(&symbol, "inserted", format!("{label}: {reason}"), data);
                    plans.push(plan);
                }
                Decision::Skip(reason) => report.push(&symbol, "skipped", reason, data),
            }
        }
        stagger_chains(
            &mut plans,
            &plan_targets,
            &mut gathers,
            &gather_targets,
            &mut report,
        );
        if !plans.is_empty() || !gathers.is_empty() {
            // SAFETY: the raw module of the live module view; `insert` only adds instructions
            // to functions of this module.
            let raw_module = unsafe { llvm_sys::core::LLVMGetGlobalParent(raw) };
            let mut shared = HashMap::new();
            let mut clamps = Vec::new();
            let mut clamp_records = Vec::new();
            let mut splits = Vec::new();
            let mut split_records = Vec::new();
            // Every clamped distance's record says whether its loop was split, and if not why.
            let mut split_outcomes: Vec<(usize, Result<(), &'static str>)> = Vec::new();
            for (plan, &(record, _)) in plans.iter().zip(&plan_targets) {
                match insert::insert(raw_module, plan, &mut shared) {
                    Some(insert::Clamp::Window(c)) => {
                        clamps.push(c);
                        clamp_records.push(record);
                    }
                    Some(insert::Clamp::Split(c)) => {
                        splits.push(c);
                        split_records.push(record);
                    }
                    Some(insert::Clamp::Unsplit(why)) => split_outcomes.push((record, Err(why))),
                    None => {}
                }
            }
            for (g, &(record, _)) in gathers.iter().zip(&gather_targets) {
                if let Some(why) = insert::insert_gather(raw_module, g) {
                    split_outcomes.push((record, Err(why)));
                }
            }
            // After every insertion, so the copies hold every prefetch of their loops. A loop
            // versioned for a window is not split as well (one copy per loop).
            let windowed: HashSet<ll::Bb> = clamps.iter().map(|c| c.header).collect();
            let (splits, split_records): (Vec<_>, Vec<_>) = splits
                .into_iter()
                .zip(split_records)
                .filter(|(c, record)| {
                    let keep = !windowed.contains(&c.header);
                    if !keep {
                        split_outcomes.push((*record, Err(insert::SPLIT_WINDOWED)));
                    }
                    keep
                })
                .unzip();
            let versioned = insert::version_windows(&clamps);
            for (record, outcome) in clamp_records.into_iter().zip(versioned) {
                if let Some(r) = report.records_mut().get_mut(record) {
                    r.data["versioned"] = json!(outcome.is_ok());
                    match outcome {
                        Ok(()) => r.reason.push_str(
                            "; the inner loop is versioned once per entry: when the entry's whole look-ahead is inside the range, a copy runs without the clamp",
                        ),
                        Err(why) => r.reason.push_str(&format!(
                            "; the inner loop is not versioned ({why}), so every iteration clamps"
                        )),
                    }
                }
            }
            let split = insert::split_loops(raw_module, &splits);
            split_outcomes.extend(split_records.into_iter().zip(split));
            for (record, outcome) in split_outcomes {
                if let Some(r) = report.records_mut().get_mut(record) {
                    r.data["split"] = json!(outcome.is_ok());
                    match outcome {
                        Ok(()) => r.reason.push_str(
                            "; the loop is split at the look-ahead limit: a copy without the clamp runs while the look-ahead stays within the loop's bounds, the clamped loop runs the last iterations",
                        ),
                        Err(why) => r.reason.push_str(&format!(
                            "; the loop is not split ({why}), so every iteration clamps"
                        )),
                    }
                }
            }
            analyses.invalidate(function);
            changed = true;
        }
    }
    report.finish(options);
    changed
}
