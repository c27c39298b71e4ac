//! Choice of the prefetch distance: how many iterations ahead to prefetch.
//!
//! A prefetch issued `d` iterations ahead arrives in time when `d` iterations take at least the
//! miss latency (Mowry, Lam & Gupta, ASPLOS 1992: `d = ceil(latency / iteration time)`). The
//! iteration time must be the time without the stalls the prefetch removes: the profile's
//! measured time per iteration includes them, but how much of each miss out-of-order execution
//! hid is unknown (independent misses overlap, up to [`MEMORY_LEVEL_PARALLELISM`] of them; a
//! miss that feeds the next address, as a hash bucket feeds its chain walk, is exposed whole).
//! The whole stall is therefore subtracted, and the result is never taken below a static
//! estimate from the loop's instruction count. This errs towards a longer distance, which costs
//! a few lines held early in L1, where a too short one leaves the miss exposed and loses the
//! gain (measured on the hash-join probe: 140 ns iterations that are almost all one exposed
//! miss got a distance of 2 when only a tenth of the stall was subtracted). Ainsworth &
//! Jones (CGO 2017) use a fixed 64 for every loop; here the distance follows the machine and
//! the loop, within [`MIN_DISTANCE`]..=[`MAX_DISTANCE`] and below the loop's trip count.
//!
//! Covering the latency is not enough when the loop is fast: prefetches `d` iterations ahead
//! keep about `d * m` misses outstanding for a loop with `m` missing loads per iteration, and
//! a core that can keep `mlp` outstanding ([`DistanceInput::memory_parallelism`], measured at
//! profile time) only reaches its peak miss throughput with `d >= mlp / m` (Little's law: the
//! latency under that load is longer than the idle latency the first bound uses). The distance
//! is the larger of the two. Measured on the AMD Zen 5 VM (session 5, hand-tuned variant):
//! RandomAccess 16 ahead gained 1-13%, 64 ahead 47-54%.
//!
//! The same throughput limit also bounds the distance from above. A core that keeps `mlp`
//! misses in flight at idle latency `L` completes at most `mlp / L` misses per ns, so a loop
//! with `m` misses per iteration cannot run faster than `m * L / mlp` per iteration however far
//! ahead it prefetches. The latency bound `L / work` of a loop whose work is shorter than that
//! is computed from an iteration time the loop never reaches: at the time it does reach, `L`
//! is covered by `mlp / m` iterations, and every prefetch issued further ahead waits for a
//! miss buffer, holds a line in L1 longer and is wasted at each entry's end (NAS IS on the Zen 3
//! VM, session 9: 2.0 ns of work, 196 ns profiled latency, so 99 ahead where 24 keep its
//! measured parallelism busy; hand-tuned 64 ahead gained more in two of three runs). Under
//! that load the latency itself grows past the idle figure (by Little's law the core then has
//! more than `mlp` misses outstanding), so the cap leaves [`PARALLELISM_HEADROOM`] times the
//! parallelism bound: the distance is the latency bound clamped to
//! `parallelism..=PARALLELISM_HEADROOM * parallelism`. This also makes the choice robust to the
//! profiled latency, which moves by 2x between calibrations on a shared VM (106-242 ns on the
//! Zen 4 VM, session 10), while the parallelism bound is a ratio of two latencies of the same
//! calibration.

/// Outstanding L1 misses one core sustains: 10 line-fill buffers on Intel cores since Nehalem
/// (Intel 64 and IA-32 Architectures Optimization Reference Manual, §2.x "Load and store
/// operation"); AMD Zen has 22 miss address buffers, so 10 is conservative.
pub const MEMORY_LEVEL_PARALLELISM: f64 = 10.0;
/// How far beyond the parallelism bound a fast loop's distance may go (see the module doc): the
/// loaded latency at the core's peak miss throughput, as a multiple of the idle latency the
/// parallelism was measured with, that the look-ahead still covers.
pub const PARALLELISM_HEADROOM: f64 = 2.0;
/// Shortest useful distance: closer prefetches cannot hide a miss.
pub const MIN_DISTANCE: u32 = 2;
/// Longest distance: prefetched lines must survive in L1 until used; 128 lines are 8 KiB, a
/// quarter of a 32 KiB L1 (a sixth of Zen 5's 48 KiB), so the lines of a few streams fit. It
/// was 64 until the Zen 5 VM (session 5), where the hand-tuned variants ran faster at 128
/// than at 64 ahead (times of plain in two rounds: NAS IS 0.52 and 0.59 vs 0.77 and 0.62, NAS
/// CG 0.33 and 0.35 vs 0.44 and 0.47).
pub const MAX_DISTANCE: u32 = 128;
/// Loops averaging fewer iterations per entry than this are left alone: the look-ahead is
/// clamped to the entry's last iteration, so most prefetches of a short entry are wasted while
/// every iteration pays for the address computation (measured on the Graph500 BFS example,
/// whose ~8-edge inner loop ran slower with them).
pub const MIN_TRIP_COUNT: f64 = 16.0;
/// Cycles per IR instruction assumed for the static iteration estimate.
pub const STATIC_CYCLES_PER_INSTRUCTION: f64 = 0.5;
/// Clock assumed when converting the static estimate to time (GHz).
pub const STATIC_GHZ: f64 = 3.0;
/// Latency assumed without a profile (ns).
pub const STATIC_MISS_LATENCY_NS: f64 = 90.0;

/// What the distance is computed from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DistanceInput {
    /// Latency to hide (ns).
    pub miss_latency_ns: f64,
    /// Measured time per iteration (ns), when profiled.
    pub measured_iter_ns: Option<f64>,
    /// Sum over the loop's missing loads of `miss_rate * miss_latency_ns`: the stall time per
    /// iteration without overlap.
    pub stall_ns: f64,
    /// IR instructions in the loop body (one iteration).
    pub body_instructions: u32,
    /// Average iterations per entry, when known.
    pub trip_count: Option<f64>,
    /// Misses the core keeps outstanding (the profile's measured `mlp`); `None` without a
    /// profile, where only the latency bound applies.
    pub memory_parallelism: Option<f64>,
}

/// The decision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Distance {
    /// Prefetch this many iterations ahead; `iter_ns` is the iteration time used.
    Ahead {
        /// Iterations ahead.
        iterations: u32,
        /// Iteration time the choice was based on (ns).
        iter_ns: f64,
        /// Iterations that cover the miss latency (before the bounds and the trip count).
        latency_bound: u32,
        /// Iterations that keep the core's memory-level parallelism busy (0: no bound; see
        /// [`parallelism_bound`]).
        parallelism_bound: u32,
        /// Whether the latency bound was cut to [`PARALLELISM_HEADROOM`] times the
        /// parallelism bound (the loop is limited by the core's miss throughput).
        capped: bool,
    },
    /// The loop runs too few iterations per entry for any distance to help.
    TripCountTooSmall(f64),
}

/// Static iteration time from an instruction count (ns).
pub fn static_iter_ns(body_instructions: u32) -> f64 {
    f64::from(body_instructions.max(1)) * STATIC_CYCLES_PER_INSTRUCTION / STATIC_GHZ
}

/// Iterations ahead that keep the core's measured memory-level parallelism busy:
/// `ceil(mlp / m)` for `m = stall_ns / miss_latency_ns` missing loads per iteration; 0 (no
/// bound) without a measured parallelism or without misses.
pub fn parallelism_bound(input: &DistanceInput) -> f64 {
    let Some(mlp) = input.memory_parallelism else {
        return 0.0;
    };
    let misses = input.stall_ns / input.miss_latency_ns;
    if !(mlp.is_finite() && mlp > 0.0 && misses.is_finite() && misses > 0.0) {
        return 0.0;
    }
    (mlp / misses).ceil()
}

/// Chooses the distance.
pub fn choose(input: &DistanceInput) -> Distance {
    if let Some(trip) = input.trip_count {
        if trip < MIN_TRIP_COUNT {
            return Distance::TripCountTooSmall(trip);
        }
    }
    let floor = static_iter_ns(input.body_instructions);
    let iter_ns = match input.measured_iter_ns {
        Some(measured) => (measured - input.stall_ns).max(floor),
        None => floor,
    };
    let latency_bound = (input.miss_latency_ns / iter_ns).ceil();
    let mlp_bound = parallelism_bound(input);
    // The parallelism bound is 0 without a measured parallelism or misses: then no cap applies.
    let cap = if mlp_bound > 0.0 {
        PARALLELISM_HEADROOM * mlp_bound
    } else {
        f64::INFINITY
    };
    let capped = latency_bound > cap;
    let ideal = latency_bound.min(cap).max(mlp_bound);
    let mut d = if ideal.is_finite() {
        ideal.clamp(f64::from(MIN_DISTANCE), f64::from(MAX_DISTANCE)) as u32
    } else {
        MAX_DISTANCE
    };
    if let Some(trip) = input.trip_count {
        // Prefetching past the end of every loop entry only wastes bandwidth.
        d = d.min((trip / 2.0) as u32).max(MIN_DISTANCE);
    }
    let as_count = |x: f64| {
        if x.is_finite() {
            x.clamp(0.0, f64::from(u32::MAX)) as u32
        } else {
            u32::MAX
        }
    };
    Distance::Ahead {
        iterations: d,
        iter_ns,
        latency_bound: as_count(latency_bound),
        parallelism_bound: as_count(mlp_bound),
        capped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> DistanceInput {
        DistanceInput {
            miss_latency_ns: 100.0,
            measured_iter_ns: Some(10.0),
            stall_ns: 0.0,
            body_instructions: 6,
            trip_count: None,
            memory_parallelism: None,
        }
    }

    #[test]
    fn distance_covers_the_latency() {
        assert_eq!(
            choose(&input()),
            Distance::Ahead {
                iterations: 10,
                iter_ns: 10.0,
                latency_bound: 10,
                parallelism_bound: 0,
                capped: false,
            }
        );
        let slow = DistanceInput {
            measured_iter_ns: Some(40.0),
            ..input()
        };
        assert_eq!(
            choose(&slow),
            Distance::Ahead {
                iterations: 3,
                iter_ns: 40.0,
                latency_bound: 3,
                parallelism_bound: 0,
                capped: false,
            }
        );
    }

    #[test]
    fn stalls_are_taken_out_of_the_measured_time() {
        // 40 ns measured, of which 38 ns is an exposed miss: 2 ns of work.
        let d = choose(&DistanceInput {
            measured_iter_ns: Some(40.0),
            stall_ns: 38.0,
            ..input()
        });
        assert_eq!(
            d,
            Distance::Ahead {
                iterations: 50,
                iter_ns: 2.0,
                latency_bound: 50,
                parallelism_bound: 0,
                capped: false,
            }
        );
    }

    #[test]
    fn distance_is_bounded() {
        let tiny = DistanceInput {
            measured_iter_ns: Some(0.01),
            body_instructions: 1,
            ..input()
        };
        assert!(matches!(
            choose(&tiny),
            Distance::Ahead {
                iterations: MAX_DISTANCE,
                ..
            }
        ));
        let huge = DistanceInput {
            measured_iter_ns: Some(10_000.0),
            ..input()
        };
        assert!(matches!(
            choose(&huge),
            Distance::Ahead {
                iterations: MIN_DISTANCE,
                ..
            }
        ));
    }

    #[test]
    fn static_floor_applies_without_profile_and_under_noise() {
        let d = choose(&DistanceInput {
            measured_iter_ns: None,
            body_instructions: 30,
            ..input()
        });
        assert_eq!(
            d,
            Distance::Ahead {
                iterations: 20,
                iter_ns: 5.0,
                latency_bound: 20,
                parallelism_bound: 0,
                capped: false,
            }
        );
        let noisy = DistanceInput {
            measured_iter_ns: Some(1.0),
            stall_ns: 1000.0,
            body_instructions: 30,
            ..input()
        };
        assert!(matches!(
            choose(&noisy),
            Distance::Ahead { iterations: 20, .. }
        ));
    }

    #[test]
    fn fast_loops_prefetch_far_enough_to_use_the_memory_parallelism() {
        // A RandomAccess-like loop: 3.8 ns of work and one miss (0.99) per iteration, 110 ns
        // latency: the latency alone asks for 29 ahead; 32 outstanding need 33.
        let randacc = DistanceInput {
            miss_latency_ns: 110.0,
            measured_iter_ns: Some(3.8 + 0.99 * 110.0),
            stall_ns: 0.99 * 110.0,
            body_instructions: 6,
            trip_count: None,
            memory_parallelism: Some(32.0),
        };
        assert_eq!(parallelism_bound(&randacc), 33.0);
        match choose(&randacc) {
            Distance::Ahead {
                iterations,
                iter_ns,
                latency_bound,
                parallelism_bound,
                capped,
            } => {
                assert_eq!((iterations, latency_bound, parallelism_bound), (33, 29, 33));
                assert!(!capped);
                assert!((iter_ns - 3.8).abs() < 1e-9, "{iter_ns}");
            }
            other => panic!("{other:?}"),
        }
        // Two missing loads per iteration halve it.
        let two = DistanceInput {
            stall_ns: 2.0 * 110.0,
            ..randacc
        };
        assert_eq!(parallelism_bound(&two), 16.0);
        // A slow loop (150 ns of work per iteration) needs 1 ahead for the latency, but still
        // 8 / 0.99 for the parallelism.
        let slow = DistanceInput {
            measured_iter_ns: Some(150.0 + 0.99 * 110.0),
            memory_parallelism: Some(8.0),
            ..randacc
        };
        assert!(matches!(
            choose(&slow),
            Distance::Ahead { iterations: 9, .. }
        ));
        // No measured parallelism, or no misses: the latency bound alone.
        assert_eq!(
            parallelism_bound(&DistanceInput {
                memory_parallelism: None,
                ..randacc
            }),
            0.0
        );
        assert_eq!(
            parallelism_bound(&DistanceInput {
                stall_ns: 0.0,
                ..randacc
            }),
            0.0
        );
        // Still bounded by MAX_DISTANCE and by the trip count.
        let wide = DistanceInput {
            memory_parallelism: Some(500.0),
            ..randacc
        };
        assert!(matches!(
            choose(&wide),
            Distance::Ahead {
                iterations: MAX_DISTANCE,
                ..
            }
        ));
        assert!(matches!(
            choose(&DistanceInput {
                trip_count: Some(40.0),
                ..randacc
            }),
            Distance::Ahead { iterations: 20, .. }
        ));
    }

    #[test]
    fn a_loop_limited_by_miss_throughput_is_not_prefetched_beyond_it() {
        // NAS IS's counting loop as profiled on the Zen 3 VM (session 9): 2.0 ns of work
        // (the static floor of its 12 instructions), one miss per iteration (0.98) of 196 ns,
        // 22.7 misses in flight. The latency alone asks for 99 ahead (what the pass chose then,
        // against a hand-tuned 64); the core's miss throughput keeps the loop at >= 8.5 ns per
        // iteration, where 24 ahead cover the latency, so the distance stops at 2 * 24.
        let nas_is = DistanceInput {
            miss_latency_ns: 196.2,
            measured_iter_ns: Some(12.4),
            stall_ns: 0.98 * 196.2,
            body_instructions: 12,
            trip_count: Some(16_777_216.0),
            memory_parallelism: Some(22.7),
        };
        assert_eq!(
            choose(&nas_is),
            Distance::Ahead {
                iterations: 48,
                iter_ns: 2.0,
                latency_bound: 99,
                parallelism_bound: 24,
                capped: true,
            }
        );
        // The same loop profiled at half the latency (106 ns, session 10): the latency bound
        // (54) is past the cap too, so the choice does not follow the latency's noise.
        let quieter = DistanceInput {
            miss_latency_ns: 106.5,
            stall_ns: 0.98 * 106.5,
            ..nas_is
        };
        assert!(matches!(
            choose(&quieter),
            Distance::Ahead {
                iterations: 48,
                latency_bound: 54,
                capped: true,
                ..
            }
        ));
        // Within the headroom the latency bound stands: 40 ahead cover it.
        let within = DistanceInput {
            miss_latency_ns: 80.0,
            stall_ns: 0.98 * 80.0,
            ..nas_is
        };
        assert!(matches!(
            choose(&within),
            Distance::Ahead {
                iterations: 40,
                parallelism_bound: 24,
                capped: false,
                ..
            }
        ));
        // Without a measured parallelism nothing caps the latency bound.
        assert!(matches!(
            choose(&DistanceInput {
                memory_parallelism: None,
                ..nas_is
            }),
            Distance::Ahead {
                iterations: 99,
                capped: false,
                ..
            }
        ));
    }

    #[test]
    fn trip_count_limits_and_vetoes() {
        assert_eq!(
            choose(&DistanceInput {
                trip_count: Some(3.0),
                ..input()
            }),
            Distance::TripCountTooSmall(3.0)
        );
        let short = DistanceInput {
            measured_iter_ns: Some(1.0),
            trip_count: Some(24.0),
            ..input()
        };
        assert!(matches!(
            choose(&short),
            Distance::Ahead { iterations: 12, .. }
        ));
    }
}
