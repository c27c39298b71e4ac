//! Whether and how far ahead to prefetch one load site: the pure decision, from the address
//! shape (from the IR), the site's profile, and its loop. No LLVM types, unit-tested.

use super::model::distance::{
    self, Distance, DistanceInput, PARALLELISM_HEADROOM, STATIC_MISS_LATENCY_NS,
};
use super::model::pattern::AddressPattern;
use super::model::profile::SiteProfile;

/// Executions below which a profiled site is cold and left alone.
pub const MIN_HOT_EXECUTIONS: u64 = 4096;
/// Estimated L2 miss rate from which a site counts as missing.
pub const MISS_THRESHOLD: f64 = 0.10;
/// Misses in flight at which a loop's misses count as hidden when the profile has no measured
/// memory-level parallelism ([`LoopContext::memory_parallelism`]; profiles written before it
/// was measured): the distance model's [`distance::MEMORY_LEVEL_PARALLELISM`]. A loop
/// measured at least this much faster than its estimated misses (`iter_ns * overlap < stall`)
/// already keeps that many misses in flight, as many as software prefetching could have
/// outstanding for it, so a prefetch cannot shorten its iterations and only adds work (NAS IS:
/// 11.7 ns per iteration against 149 ns of misses, 12.7 in flight; every look-ahead distance
/// measured slower, hand-tuned too). Loops that overlap fewer (RandomAccess 6.9, CG 7.5, BFS's
/// edge loop 5.3) are still prefetched. Before this was twice as many (20, AMD Zen's 22 miss
/// address buffers), which let IS through.
pub const MAX_OVERLAPPED_MISSES: f64 = distance::MEMORY_LEVEL_PARALLELISM;
/// How far beyond the core's measured memory-level parallelism a loop's misses may seem to
/// overlap before the timing counts as contradicting the miss estimate (the loads must hit
/// more than the cache model says) and the site is skipped. At or a little above the
/// parallelism the loop is at the core's miss throughput, not past it: the parallelism comes
/// from pointer chases timed once at profile start, the loop's figure from its own run, and
/// either moves by 10-20% on a shared VM (examples/README.md), so NAS IS read 16.0 in flight
/// against 14.3 measured in one session and 14.1 against 16.2 in the next. Its hand-tuned
/// prefetch gained 6-9% at 32-128 ahead on that machine (session 7), so skipping at the
/// parallelism itself lost that gain. Beyond twice the parallelism no timing noise explains
/// the overlap.
pub const HIDDEN_MISS_MARGIN: f64 = 2.0;

/// The address shape, as far as the decision needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShapeKind {
    /// Constant stride.
    Strided,
    /// Through other loads (possibly hashed).
    Indirect,
    /// From an arithmetic recurrence (random-number stream).
    Recurrence,
    /// Loop-carried pointer chase.
    PointerChase,
    /// Loop-invariant address.
    Invariant,
    /// Not cloneable, with the reason.
    Unsupported(String),
}

/// What is known about the site's loop.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LoopContext {
    /// Whether every induction variable the chain uses has an upper bound (for the clamp).
    pub bounded: bool,
    /// IR instructions in the loop body.
    pub body_instructions: u32,
    /// Constant trip count from ScalarEvolution.
    pub constant_trip: Option<u64>,
    /// Sum of `miss_rate * miss_latency_ns` over the loop's missing sites.
    pub stall_ns: f64,
    /// Misses the profiled core keeps in flight (the profile's measured `mlp`, else
    /// [`MAX_OVERLAPPED_MISSES`]): a loop already overlapping this many is not prefetched.
    pub memory_parallelism: f64,
}

/// The decision.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// Prefetch `distance` iterations ahead.
    Insert {
        /// Iterations ahead.
        distance: u32,
        /// Iteration time used (ns).
        iter_ns: f64,
        /// Why, in one sentence.
        reason: String,
    },
    /// Leave the load alone.
    Skip(String),
}

/// Profile state for a site.
#[derive(Clone, Copy, Debug)]
pub enum ProfileView<'a> {
    /// No usable profile: static heuristics.
    None,
    /// A profile is loaded but has no record of this site.
    Missing,
    /// A profile is loaded and has sites of a function with this function's name, but none of
    /// this function's: a stale profile, or another monomorphised copy of a generic function
    /// (copies in other crates share the unhashed name and differ in shape). The profile says
    /// nothing about these loads, so they are left alone; static heuristics apply only to
    /// builds without a profile, where the user asked for nothing better (a profiled build
    /// must not silently get unprofiled prefetches: session 10 found 6 static ones in
    /// `Vec::drop` copies of `hallows-runtime` in the nas_is, nas_cg and randacc builds).
    Uncovered,
    /// The site's record.
    Site(&'a SiteProfile),
}

/// Decides for one site.
pub fn decide(shape: &ShapeKind, profile: ProfileView<'_>, l: &LoopContext) -> Decision {
    match shape {
        ShapeKind::Unsupported(why) => return Decision::Skip(format!("not cloneable: {why}")),
        ShapeKind::PointerChase => {
            return Decision::Skip(
                "pointer chasing: each address comes from the previous iteration's load, so no address ahead can be computed"
                    .into(),
            )
        }
        ShapeKind::Invariant => return Decision::Skip("the address does not change across iterations".into()),
        ShapeKind::Strided | ShapeKind::Indirect | ShapeKind::Recurrence => {}
    }
    // A recurrence clone loads nothing, so it needs no bound.
    if !l.bounded && *shape != ShapeKind::Recurrence {
        return Decision::Skip(
            "loop bound unknown: the look-ahead index cannot be clamped to the last iteration"
                .into(),
        );
    }
    let trip_from_ir = l.constant_trip.map(|t| t as f64);
    let (input, what) = match profile {
        ProfileView::Missing => {
            return Decision::Skip("cold: the site never ran while profiling".into())
        }
        ProfileView::Uncovered => {
            return Decision::Skip(
                "not covered by the profile: it has sites of a function of this name but none of this one's (stale, or another monomorphised copy); static heuristics are only used without a profile"
                    .into(),
            )
        }
        ProfileView::Site(p) => {
            if p.execs < MIN_HOT_EXECUTIONS {
                return Decision::Skip(format!("cold: {} executions while profiling", p.execs));
            }
            if *shape == ShapeKind::Strided && !matches!(p.pattern, AddressPattern::Strided(_)) {
                return Decision::Skip(format!(
                    "strided within each loop entry but entries start at {} places: the misses are at the starts, which a look-ahead inside the entry cannot reach",
                    p.pattern.label()
                ));
            }
            if p.miss_rate < MISS_THRESHOLD {
                return Decision::Skip(format!(
                    "loads hit: estimated miss rate {:.2} ({} pattern, footprint {} KiB)",
                    p.miss_rate,
                    p.pattern.label(),
                    p.footprint >> 10
                ));
            }
            if let Some(measured) = p.iter_ns {
                let stall = p.miss_rate * p.miss_latency_ns;
                let mlp = l.memory_parallelism;
                if measured * mlp * HIDDEN_MISS_MARGIN < stall {
                    return Decision::Skip(format!(
                        "misses hidden: {measured:.2} ns per iteration measured against {stall:.0} ns of estimated misses, so {:.1} would be in flight, more than {HIDDEN_MISS_MARGIN} times the {mlp:.1} this core keeps outstanding (memory-level parallelism from the profile): the loads hit more than the cache model estimates, and a prefetch would only add work",
                        stall / measured
                    ));
                }
            }
            let input = DistanceInput {
                miss_latency_ns: p.miss_latency_ns,
                measured_iter_ns: p.iter_ns,
                stall_ns: l.stall_ns,
                body_instructions: l.body_instructions,
                trip_count: p.trip_count().or(trip_from_ir),
                memory_parallelism: Some(l.memory_parallelism),
            };
            (
                input,
                format!(
                    "profile: miss rate {:.2}, miss latency {:.0} ns",
                    p.miss_rate, p.miss_latency_ns
                ),
            )
        }
        ProfileView::None => {
            if *shape == ShapeKind::Strided {
                return Decision::Skip(
                    "constant stride without a profile showing misses: left to the hardware prefetcher".into(),
                );
            }
            let input = DistanceInput {
                miss_latency_ns: STATIC_MISS_LATENCY_NS,
                measured_iter_ns: None,
                stall_ns: 0.0,
                body_instructions: l.body_instructions,
                trip_count: trip_from_ir,
                memory_parallelism: None,
            };
            (
                input,
                "static heuristics (no profile): indirect loads usually miss".to_string(),
            )
        }
    };
    match distance::choose(&input) {
        Distance::TripCountTooSmall(t) => {
            Decision::Skip(format!("tiny trip count: {t:.1} iterations per loop entry"))
        }
        Distance::Ahead {
            iterations,
            iter_ns,
            latency_bound,
            parallelism_bound,
            capped,
        } => {
            let bounds = if capped {
                format!(" (latency {latency_bound}, memory parallelism {parallelism_bound}; the core's miss throughput limits the loop, so no further than {PARALLELISM_HEADROOM} times the parallelism bound)")
            } else if parallelism_bound > 0 {
                format!(" (latency {latency_bound}, memory parallelism {parallelism_bound})")
            } else {
                String::new()
            };
            Decision::Insert {
                distance: iterations,
                iter_ns,
                reason: format!(
                    "{what}; {iter_ns:.2} ns per iteration, {iterations} iterations ahead{bounds}"
                ),
            }
        }
    }
}

/// Most elements of a short inner loop's entry prefetched from the outer loop (a gather, see
/// [`decide_gather`]): each costs a cloned load and a prefetch per outer iteration.
pub const MAX_GATHER: u32 = 16;

/// Elements of each entry a gather prefetches: the profiled average iterations per entry,
/// rounded up, at most [`MAX_GATHER`]; `None` when entries average less than one.
pub fn gather_count(trip: f64) -> Option<u32> {
    (trip.is_finite() && trip >= 1.0).then(|| trip.ceil().min(f64::from(MAX_GATHER)) as u32)
}

/// Whether and how far ahead (in outer iterations) to prefetch the first `count` elements of
/// a short inner loop's entry from the outer loop: the site's misses move to the outer loop,
/// `count` of them per outer iteration, whose body now also holds `count` copies of the inner
/// chain (`inner_body` instructions each). `outer_iter_ns` is the outer loop's profiled time
/// per iteration; `outer` describes the outer loop (its stall is replaced).
pub fn decide_gather(
    p: &SiteProfile,
    outer_iter_ns: Option<f64>,
    count: u32,
    inner_body: u32,
    outer: &LoopContext,
) -> Decision {
    let profile = SiteProfile {
        entries: 0,
        iter_ns: outer_iter_ns,
        ..p.clone()
    };
    let ctx = LoopContext {
        body_instructions: outer
            .body_instructions
            .saturating_add(count.saturating_mul(inner_body)),
        stall_ns: f64::from(count) * p.miss_rate * p.miss_latency_ns,
        ..*outer
    };
    decide(&ShapeKind::Indirect, ProfileView::Site(&profile), &ctx)
}

/// Staggers the distances of prefetches whose address chains feed each other (Ainsworth &
/// Jones, CGO 2017, section 4.3: for `a[b[i]]` they prefetch `b[i + 2c]` and `a[b[i + c]]`).
/// `own[q]` is prefetch `q`'s distance from its own latency and parallelism; a pair `(q, p)`
/// in `feeds` says that prefetch `p`'s cloned address chain loads the value prefetch `q`
/// fetches, both counted in iterations of the same loop. `p`'s clone runs `d[p]` iterations
/// ahead, so `q` must be at least `own[q]` iterations ahead of that for its line to arrive
/// before the clone reads it: `d[q] >= d[p] + own[q]`. Otherwise the cloned load misses and
/// stalls the loop, which the prefetch was to spare (the BFS example: the row start was
/// prefetched 11 vertices ahead while the edge list's clone read it 18 ahead). Returns the
/// staggered distances, at most [`distance::MAX_DISTANCE`]; `feeds` must not form a cycle
/// (a chain cannot load its own prefetched value), and any that does is cut after
/// `own.len()` rounds.
pub fn stagger(own: &[u32], feeds: &[(usize, usize)]) -> Vec<u32> {
    let mut d = own.to_vec();
    for _ in 0..own.len() {
        let mut moved = false;
        for &(q, p) in feeds {
            if q == p || q >= d.len() || p >= d.len() {
                continue;
            }
            let want = d[p].saturating_add(own[q]).min(distance::MAX_DISTANCE);
            if want > d[q] {
                d[q] = want;
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> LoopContext {
        LoopContext {
            bounded: true,
            body_instructions: 12,
            constant_trip: None,
            stall_ns: 0.0,
            memory_parallelism: MAX_OVERLAPPED_MISSES,
        }
    }

    fn site(execs: u64, miss: f64, iter_ns: f64, entries: u64) -> SiteProfile {
        SiteProfile {
            id: 1,
            function: 2,
            execs,
            entries,
            pattern: AddressPattern::Irregular,
            footprint: 1 << 28,
            iter_ns: Some(iter_ns),
            miss_rate: miss,
            miss_latency_ns: 90.0,
        }
    }

    #[test]
    fn non_cloneable_shapes_are_skipped_with_reasons() {
        let pc = decide(&ShapeKind::PointerChase, ProfileView::None, &ctx());
        assert!(matches!(pc, Decision::Skip(ref r) if r.contains("pointer chasing")));
        let inv = decide(&ShapeKind::Invariant, ProfileView::None, &ctx());
        assert!(matches!(inv, Decision::Skip(_)));
        let unb = decide(
            &ShapeKind::Indirect,
            ProfileView::None,
            &LoopContext {
                bounded: false,
                ..ctx()
            },
        );
        assert!(matches!(unb, Decision::Skip(ref r) if r.contains("loop bound unknown")));
    }

    #[test]
    fn profile_gates_on_heat_and_misses() {
        let cold = site(100, 0.9, 5.0, 1);
        assert!(
            matches!(decide(&ShapeKind::Indirect, ProfileView::Site(&cold), &ctx()), Decision::Skip(ref r) if r.starts_with("cold"))
        );
        let hits = site(1_000_000, 0.01, 5.0, 1);
        assert!(
            matches!(decide(&ShapeKind::Indirect, ProfileView::Site(&hits), &ctx()), Decision::Skip(ref r) if r.starts_with("loads hit"))
        );
        assert!(matches!(
            decide(&ShapeKind::Indirect, ProfileView::Missing, &ctx()),
            Decision::Skip(_)
        ));
        let tiny = site(1_000_000, 0.9, 9.0, 500_000);
        assert!(
            matches!(decide(&ShapeKind::Indirect, ProfileView::Site(&tiny), &ctx()), Decision::Skip(ref r) if r.starts_with("tiny trip count"))
        );
    }

    #[test]
    fn distance_follows_the_profile() {
        // 9 ns per iteration against 90 ns: 10 ahead. A slower loop gets a shorter distance.
        let fast = site(1_000_000, 0.9, 9.0, 1);
        let slow = site(1_000_000, 0.9, 45.0, 1);
        let d = |s: &SiteProfile| match decide(&ShapeKind::Indirect, ProfileView::Site(s), &ctx()) {
            Decision::Insert { distance, .. } => distance,
            other => panic!("{other:?}"),
        };
        assert_eq!(d(&fast), 10);
        assert_eq!(d(&slow), 2);
    }

    #[test]
    fn timing_that_contradicts_the_miss_estimate_vetoes() {
        // 0.9 * 90 ns = 81 ns of misses per iteration cannot fit in 2 ns even with twice the 10
        // overlapped: 40.5 would be in flight.
        let fast = site(1_000_000, 0.9, 2.0, 1);
        assert!(matches!(
            decide(&ShapeKind::Indirect, ProfileView::Site(&fast), &ctx()),
            Decision::Skip(ref r) if r.starts_with("misses hidden")
        ));
    }

    #[test]
    fn misses_near_the_parallelism_are_prefetched_and_far_beyond_it_skipped() {
        // Profiled figures of the examples (scripts/bench-prefetch.sh training runs): NAS IS's
        // counting loop keeps 12.7 misses in flight, above the 10 of the model but within
        // twice that: the loop is at the core's miss throughput, and its hand-tuned prefetch
        // gains there, so it is prefetched.
        let nas_is = SiteProfile {
            iter_ns: Some(11.72),
            miss_latency_ns: 152.85,
            ..site(67_108_864, 0.9756, 11.72, 4)
        };
        assert!(matches!(
            decide(&ShapeKind::Indirect, ProfileView::Site(&nas_is), &ctx()),
            Decision::Insert { .. }
        ));
        // The same loop measured 2.5 times as fast (29.8 in flight) contradicts the estimate.
        let hitting = SiteProfile {
            iter_ns: Some(11.72 / 2.5),
            ..nas_is.clone()
        };
        assert!(matches!(
            decide(&ShapeKind::Indirect, ProfileView::Site(&hitting), &ctx()),
            Decision::Skip(ref r) if r.starts_with("misses hidden")
        ));
        // RandomAccess (6.9 in flight) and CG's gather (7.5) still wait for their misses.
        for (iter_ns, miss, latency) in [(23.63, 0.9922, 164.59), (20.58, 0.9843, 157.87)] {
            let p = SiteProfile {
                miss_latency_ns: latency,
                ..site(100_000_000, miss, iter_ns, 1)
            };
            assert!(matches!(
                decide(&ShapeKind::Indirect, ProfileView::Site(&p), &ctx()),
                Decision::Insert { .. }
            ));
        }
    }

    #[test]
    fn the_measured_parallelism_sets_where_misses_count_as_hidden() {
        // NAS IS profiled on the Intel VM: 11.0 in flight (0.975 * 150 ns in 13.3 ns).
        let nas_is = SiteProfile {
            miss_latency_ns: 150.0,
            ..site(67_108_864, 0.975, 13.3, 4)
        };
        let with = |mlp: f64| {
            decide(
                &ShapeKind::Indirect,
                ProfileView::Site(&nas_is),
                &LoopContext {
                    memory_parallelism: mlp,
                    ..ctx()
                },
            )
        };
        // A core measured to keep 16 outstanding: IS has room for more, so it is prefetched;
        // so it is at 10 (the old constant), which 11.0 in flight only just exceeds (session
        // 6 skipped it there: 16.0 in flight against 14.3).
        for mlp in [16.0, 10.0, 5.6] {
            assert!(
                matches!(with(mlp), Decision::Insert { .. }),
                "{mlp}: {:?}",
                with(mlp)
            );
        }
        // A core keeping 5 outstanding cannot overlap 11.0: the reason says so.
        match with(5.0) {
            Decision::Skip(r) => {
                assert!(r.starts_with("misses hidden"), "{r}");
                assert!(r.contains("11.0 would be in flight"), "{r}");
                assert!(r.contains("more than 2 times the 5.0 this core"), "{r}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fast_loops_reach_the_measured_parallelism_and_say_so() {
        // A RandomAccess-like loop: 3.8 ns of work per update and one miss each. The latency
        // (110 ns) needs 29 ahead; a core keeping 32 outstanding needs 33.
        let randacc = SiteProfile {
            miss_latency_ns: 110.0,
            ..site(33_554_432, 0.99, 3.8 + 0.99 * 110.0, 1)
        };
        let l = LoopContext {
            stall_ns: 0.99 * 110.0,
            memory_parallelism: 32.0,
            ..ctx()
        };
        match decide(&ShapeKind::Recurrence, ProfileView::Site(&randacc), &l) {
            Decision::Insert {
                distance, reason, ..
            } => {
                assert_eq!(distance, 33);
                assert!(
                    reason.ends_with("33 iterations ahead (latency 29, memory parallelism 33)"),
                    "{reason}"
                );
            }
            other => panic!("{other:?}"),
        }
        // Without a profile there is no measured parallelism: the latency alone.
        match decide(&ShapeKind::Indirect, ProfileView::None, &l) {
            Decision::Insert { reason, .. } => assert!(!reason.contains("parallelism"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn uncovered_sites_of_a_profiled_build_get_no_static_prefetch() {
        // The same indirect load that static heuristics prefetch without a profile is left
        // alone when a profile is loaded that does not cover its function.
        assert!(matches!(
            decide(&ShapeKind::Indirect, ProfileView::None, &ctx()),
            Decision::Insert { .. }
        ));
        for shape in [
            ShapeKind::Indirect,
            ShapeKind::Recurrence,
            ShapeKind::Strided,
        ] {
            match decide(&shape, ProfileView::Uncovered, &ctx()) {
                Decision::Skip(r) => assert!(r.starts_with("not covered by the profile"), "{r}"),
                other => panic!("{shape:?}: {other:?}"),
            }
        }
        // Shapes that are never prefetched keep their own reasons.
        assert!(matches!(
            decide(&ShapeKind::PointerChase, ProfileView::Uncovered, &ctx()),
            Decision::Skip(ref r) if r.starts_with("pointer chasing")
        ));
    }

    #[test]
    fn strided_code_with_irregular_samples_is_left_alone() {
        // Static stride (col[e] of a CSR row) but sampled addresses jump between rows.
        let restarts = site(1_000_000, 0.9, 9.0, 1);
        assert!(matches!(
            decide(&ShapeKind::Strided, ProfileView::Site(&restarts), &ctx()),
            Decision::Skip(ref r) if r.contains("entries start at irregular places")
        ));
    }

    #[test]
    fn static_mode_prefetches_indirect_only() {
        assert!(matches!(
            decide(&ShapeKind::Strided, ProfileView::None, &ctx()),
            Decision::Skip(_)
        ));
        match decide(&ShapeKind::Indirect, ProfileView::None, &ctx()) {
            Decision::Insert { distance, .. } => assert_eq!(distance, 45), // 90 ns / (12 * 0.5 / 3 GHz)
            other => panic!("{other:?}"),
        }
        let short = LoopContext {
            constant_trip: Some(4),
            ..ctx()
        };
        assert!(matches!(
            decide(&ShapeKind::Indirect, ProfileView::None, &short),
            Decision::Skip(_)
        ));
    }
    #[test]
    fn prefetches_feeding_a_cloned_chain_run_further_ahead() {
        // BFS's vertex loop as profiled (session 7): the row start 11 ahead, the edge list's
        // entry 18 ahead (its clone loads the row start), the parents' gather 4 ahead (its
        // clone loads the row start and the edge list).
        let (row, edges, gather) = (0, 1, 2);
        let feeds = [(row, edges), (row, gather), (edges, gather)];
        // The gather reads the edge list 4 ahead: the edges go to 4 + 18 = 22, the row start
        // to 22 + 11 = 33 (Ainsworth & Jones' 2c for the first load of the chain).
        assert_eq!(stagger(&[11, 18, 4], &feeds), vec![33, 22, 4]);
        // Without the gather, the row start goes to 18 + 11 = 29 (the hand-tuned BFS uses
        // twice the edge list's distance); the fed prefetch itself never moves.
        assert_eq!(stagger(&[11, 18, 4], &[(row, edges)]), vec![29, 18, 4]);
        // Independent prefetches keep their own distances.
        assert_eq!(stagger(&[11, 18, 4], &[]), vec![11, 18, 4]);
        // Bounded by the longest distance, and a cycle cannot loop for ever.
        let capped = stagger(&[100, 100], &[(0, 1), (1, 0)]);
        assert!(
            capped.iter().all(|&d| d <= distance::MAX_DISTANCE),
            "{capped:?}"
        );
        assert_eq!(
            stagger(&[100, 60], &[(0, 1)]),
            vec![distance::MAX_DISTANCE, 60]
        );
        // Self-feeds and out-of-range indices are ignored.
        assert_eq!(stagger(&[5], &[(0, 0), (0, 3)]), vec![5]);
    }

    #[test]
    fn gathers_cover_the_average_entry_up_to_a_cap() {
        assert_eq!(gather_count(7.9), Some(8));
        assert_eq!(gather_count(8.0), Some(8));
        assert_eq!(gather_count(1.0), Some(1));
        assert_eq!(gather_count(300.0), Some(MAX_GATHER));
        assert_eq!(gather_count(0.4), None);
        assert_eq!(gather_count(f64::NAN), None);
    }

    #[test]
    fn a_short_inner_loop_is_prefetched_from_its_outer_loop() {
        // BFS's edge loop: 8 edges per vertex, 0.9 of them missing at 150 ns. In its own loop
        // the trip count is too small.
        let parent = SiteProfile {
            miss_latency_ns: 150.0,
            ..site(8_000_000, 0.9, 20.0, 1_000_000)
        };
        assert!(matches!(
            decide(&ShapeKind::Indirect, ProfileView::Site(&parent), &ctx()),
            Decision::Skip(ref r) if r.starts_with("tiny trip count")
        ));
        // From the outer loop (120 ns per vertex measured, 40 instructions, 15 per edge): the
        // stall of 8 misses exceeds the measured time, so the static floor counts: 160
        // instructions are 26.7 ns, 6 vertices cover 150 ns; 30 outstanding misses need
        // ceil(30 / 7.2) = 5.
        let outer = LoopContext {
            body_instructions: 40,
            memory_parallelism: 30.0,
            ..ctx()
        };
        match decide_gather(&parent, Some(120.0), 8, 15, &outer) {
            Decision::Insert {
                distance, reason, ..
            } => {
                assert_eq!(distance, 6);
                assert!(
                    reason.contains("latency 6, memory parallelism 5"),
                    "{reason}"
                );
            }
            other => panic!("{other:?}"),
        }
        // An outer loop that is unbounded cannot clamp its look-ahead: skipped.
        let unbounded = LoopContext {
            bounded: false,
            ..outer
        };
        assert!(matches!(
            decide_gather(&parent, Some(120.0), 8, 15, &unbounded),
            Decision::Skip(_)
        ));
    }
}
