//! The per-core cell: each worker's published state — hungry, balanced or saturated — and the
//! rules, with hysteresis, by which a worker moves between them.
//!
//! The scheduler treats the cores as a cellular automaton (von Neumann's cells, applied to load
//! balancing as in *diffusion* schemes — Cybenko, "Dynamic load balancing for distributed memory
//! multiprocessors", JPDC 1989): every worker looks only at its own queue and recent idle time to
//! pick its state, writes it to a cache-padded cell, and reads its neighbours' cells to decide
//! whom to steal from. Work therefore flows from saturated cells to adjacent hungry ones and
//! spreads outwards only when a whole neighbourhood is hungry.
//!
//! The thresholds and the reasons for them are listed as constants below; `README.md` beside
//! this file describes the whole protocol.

use crate::padding::CachePadded;
use crate::sync::atomic::{AtomicU8, Ordering};

/// Queue length at or above which a busy worker declares itself saturated: with 8 queued tasks a
/// thief taking half still leaves the owner 4, so a steal cannot starve the victim.
pub const SATURATED_ENTER_LEN: usize = 8;
/// Queue length at or below which a saturated worker stops being saturated. The gap to
/// [`SATURATED_ENTER_LEN`] is the hysteresis band: one stolen batch (half the queue) does not
/// immediately flip the victim back and forth.
pub const SATURATED_EXIT_LEN: usize = 2;
/// Idle share (per mille of the recent window) above which a worker cannot be saturated: a core
/// that keeps going idle is not overloaded, whatever its queue momentarily holds.
pub const SATURATED_MAX_IDLE_PERMILLE: u32 = 200;
/// Queue length at or above which a hungry worker becomes balanced again: one task is what it is
/// about to run, a second is a real backlog.
pub const HUNGRY_EXIT_LEN: usize = 2;
/// Idle share (per mille) at or above which a worker with an empty queue is hungry even if its
/// last search happened to succeed.
pub const HUNGRY_ENTER_IDLE_PERMILLE: u32 = 100;
/// Consecutive observations that must agree before a worker leaves saturated or enters it; one
/// noisy sample (a burst of wake-ups, a steal) does not change the published state.
pub const STATE_DWELL_OBSERVATIONS: u8 = 2;

/// A worker's load state as seen by its neighbours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum CellState {
    /// Out of work (or mostly idle): looking for tasks to steal.
    Hungry = 0,
    /// Has work, but not enough to share.
    Balanced = 1,
    /// Has a backlog: neighbours should steal from it.
    Saturated = 2,
}

impl CellState {
    fn from_u8(v: u8) -> CellState {
        match v {
            0 => CellState::Hungry,
            2 => CellState::Saturated,
            _ => CellState::Balanced,
        }
    }

    /// A short lowercase name used in reports.
    pub const fn name(self) -> &'static str {
        match self {
            CellState::Hungry => "hungry",
            CellState::Balanced => "balanced",
            CellState::Saturated => "saturated",
        }
    }

    /// The state these thresholds call for from `self`, ignoring dwell: the pure rule.
    ///
    /// ```
    /// use hallows_runtime::scheduler::cellular::{CellState, Observation};
    /// let busy = Observation { queue_len: 20, idle_permille: 0, out_of_work: false };
    /// assert_eq!(CellState::Balanced.target(busy), CellState::Saturated);
    /// let drained = Observation { queue_len: 0, idle_permille: 0, out_of_work: true };
    /// assert_eq!(CellState::Saturated.target(drained), CellState::Hungry);
    /// ```
    pub fn target(self, obs: Observation) -> CellState {
        if obs.queue_len == 0
            && (obs.out_of_work || obs.idle_permille >= HUNGRY_ENTER_IDLE_PERMILLE)
        {
            return CellState::Hungry;
        }
        match self {
            CellState::Hungry => {
                if obs.queue_len >= HUNGRY_EXIT_LEN {
                    Self::busy_target(false, obs)
                } else {
                    CellState::Hungry
                }
            }
            CellState::Balanced => Self::busy_target(false, obs),
            CellState::Saturated => Self::busy_target(true, obs),
        }
    }

    fn busy_target(saturated: bool, obs: Observation) -> CellState {
        let idle_ok = obs.idle_permille < SATURATED_MAX_IDLE_PERMILLE;
        let long = if saturated {
            obs.queue_len > SATURATED_EXIT_LEN
        } else {
            obs.queue_len >= SATURATED_ENTER_LEN
        };
        if long && idle_ok {
            CellState::Saturated
        } else {
            CellState::Balanced
        }
    }
}

/// What a worker knows about itself when it re-evaluates its state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Observation {
    /// Tasks in its local queue.
    pub queue_len: usize,
    /// Share of the recent window it spent idle (searching or parked), per mille.
    pub idle_permille: u32,
    /// Its last search for local work failed.
    pub out_of_work: bool,
}

/// The owner's side of a cell: the current state plus the dwell counter that implements
/// hysteresis. Pure (no atomics), so the rules are unit-testable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CellMachine {
    state: CellState,
    pending: CellState,
    agreeing: u8,
}

impl Default for CellMachine {
    fn default() -> Self {
        CellMachine::new()
    }
}

impl CellMachine {
    /// A machine starting balanced.
    pub const fn new() -> CellMachine {
        CellMachine {
            state: CellState::Balanced,
            pending: CellState::Balanced,
            agreeing: 0,
        }
    }

    /// The current state.
    pub fn state(&self) -> CellState {
        self.state
    }

    /// Feeds one observation; returns `Some(new_state)` when the state changes.
    ///
    /// Becoming hungry when out of work is immediate (a starving core must start stealing at
    /// once); every other change needs [`STATE_DWELL_OBSERVATIONS`] agreeing observations.
    pub fn observe(&mut self, obs: Observation) -> Option<CellState> {
        let target = self.state.target(obs);
        if target == self.state {
            self.agreeing = 0;
            return None;
        }
        let immediate = target == CellState::Hungry && obs.out_of_work
            || self.state == CellState::Hungry && target == CellState::Balanced;
        if target == self.pending {
            self.agreeing = self.agreeing.saturating_add(1);
        } else {
            self.pending = target;
            self.agreeing = 1;
        }
        if immediate || self.agreeing >= STATE_DWELL_OBSERVATIONS {
            self.state = target;
            self.agreeing = 0;
            Some(target)
        } else {
            None
        }
    }
}

/// The shared side of a cell: the published state, alone on its cache-line pair so that
/// neighbours polling it do not disturb the owner's hot data.
#[derive(Debug)]
pub struct Cell {
    state: CachePadded<AtomicU8>,
}

impl Default for Cell {
    fn default() -> Self {
        Cell::new()
    }
}

impl Cell {
    /// A cell publishing [`CellState::Balanced`].
    pub fn new() -> Cell {
        Cell {
            state: CachePadded::new(AtomicU8::new(CellState::Balanced as u8)),
        }
    }

    /// Publishes `state` (owner only).
    pub fn publish(&self, state: CellState) {
        // ORDERING: Relaxed: the state is advice to neighbours (whom to try first); correctness
        // of stealing never depends on it, the queue's own atomics carry all data.
        self.state.store(state as u8, Ordering::Relaxed);
    }

    /// Reads the published state.
    pub fn read(&self) -> CellState {
        // ORDERING: Relaxed, see `publish`.
        CellState::from_u8(self.state.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(queue_len: usize, idle_permille: u32, out_of_work: bool) -> Observation {
        Observation {
            queue_len,
            idle_permille,
            out_of_work,
        }
    }

    #[test]
    fn saturation_needs_a_long_queue_twice_in_a_row() {
        let mut m = CellMachine::new();
        assert_eq!(m.observe(obs(20, 0, false)), None);
        assert_eq!(m.observe(obs(20, 0, false)), Some(CellState::Saturated));
    }

    #[test]
    fn queue_lengths_inside_the_band_do_not_oscillate() {
        let mut m = CellMachine::new();
        m.observe(obs(10, 0, false));
        m.observe(obs(10, 0, false));
        assert_eq!(m.state(), CellState::Saturated);
        // A steal halves the queue to 5, then it refills to 9, repeatedly: stays saturated.
        for len in [5, 9, 4, 8, 3, 10] {
            assert_eq!(m.observe(obs(len, 0, false)), None, "flipped at {len}");
        }
        // Sustained short queue: leaves after the dwell.
        assert_eq!(m.observe(obs(1, 0, false)), None);
        assert_eq!(m.observe(obs(1, 0, false)), Some(CellState::Balanced));
        // And a balanced worker does not re-enter saturated below the entry threshold.
        for len in [3, 5, 7, 7, 7] {
            assert_eq!(m.observe(obs(len, 0, false)), None);
        }
    }

    #[test]
    fn running_out_of_work_is_immediately_hungry() {
        let mut m = CellMachine::new();
        assert_eq!(m.observe(obs(0, 0, true)), Some(CellState::Hungry));
        // One task is not enough to stop being hungry.
        assert_eq!(m.observe(obs(1, 0, false)), None);
        assert_eq!(m.observe(obs(2, 0, false)), Some(CellState::Balanced));
    }

    #[test]
    fn idle_workers_are_never_saturated() {
        let mut m = CellMachine::new();
        for _ in 0..4 {
            m.observe(obs(50, 500, false));
        }
        assert_eq!(m.state(), CellState::Balanced);
    }

    #[test]
    fn cells_publish_and_read_back() {
        let c = Cell::new();
        assert_eq!(c.read(), CellState::Balanced);
        c.publish(CellState::Hungry);
        assert_eq!(c.read(), CellState::Hungry);
        c.publish(CellState::Saturated);
        assert_eq!(c.read(), CellState::Saturated);
    }
}
