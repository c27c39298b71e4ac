//! The fixed versions of the contention workloads, shared by `benches/contention.rs` and
//! `benches/contention_interleaved.rs`: variant 0, 1 and 2 call one version directly (reporting
//! to [`FIXED`], whose choice is ignored); variant 3 is the `#[multiversion_contention]`
//! dispatcher. Both benches declare `mod workloads` (`support/workloads.rs`) at their root.

use crate::workloads::{Counter, Map, Stack};
use hallows_runtime::contention::{Dispatcher, Probe};

/// Dispatcher whose probes the fixed versions report to (its choice is ignored).
pub static FIXED: Dispatcher = Dispatcher::new("bench::fixed", 3);

fn probe(version: usize) -> Probe {
    FIXED.probe(version as u8)
}

/// The counter update of `variant` (0-2 fixed, 3 adaptive).
pub fn counter_op(variant: usize) -> fn(&Counter, u64) {
    match variant {
        0 => |c, _| {
            c.add_optimistic(1, probe(0));
        },
        1 => |c, _| {
            c.add_backoff(1, probe(1));
        },
        2 => |c, _| {
            c.add_queued(1, probe(2));
        },
        _ => |c, _| {
            c.add(1);
        },
    }
}

/// The stack update of `variant` (0-2 fixed, 3 adaptive).
pub fn stack_op(variant: usize) -> fn(&Stack, u64) {
    match variant {
        0 => |s, v| {
            s.update_fixed(v, 0, probe(0));
        },
        1 => |s, v| {
            s.update_fixed(v, 1, probe(1));
        },
        2 => |s, v| {
            s.update_fixed(v, 2, probe(2));
        },
        _ => |s, v| {
            s.update(v);
        },
    }
}

/// The map update of `variant` (0-2 fixed, 3 adaptive).
pub fn map_op(variant: usize) -> fn(&Map, u64) {
    match variant {
        0 => |m, k| {
            m.bump_fixed(k, 1, 0, probe(0));
        },
        1 => |m, k| {
            m.bump_fixed(k, 1, 1, probe(1));
        },
        2 => |m, k| {
            m.bump_fixed(k, 1, 2, probe(2));
        },
        _ => |m, k| {
            m.bump(k, 1);
        },
    }
}
