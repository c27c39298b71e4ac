//! When moving a task to another core pays off.
//!
//! A task remembers the worker it last ran on (its *home*) and carries an estimate of its cache
//! footprint. When it is woken on a different worker, the scheduler compares:
//!
//! * **cost** — re-fetching the footprint at the new core: `footprint / 64` lines times the
//!   per-line transfer cost of the [`Distance`] between the two cores;
//! * **benefit** — how much sooner it runs here: the home's backlog minus ours (queue lengths
//!   times the runtime's mean poll time), plus the latency of waking the home if it is parked.
//!
//! It migrates only if the benefit exceeds the cost. This is the affinity test of
//! Squillante & Lazowska ("Using processor-cache affinity information in shared-memory
//! multiprocessor scheduling", IEEE TPDS 1993), with the reload cost taken from the topology.
//!
//! The footprint estimate is the size of the future's state plus a term that grows with the
//! task's sampled poll time ([`FOOTPRINT_BYTES_PER_POLL_NS`]), capped at [`FOOTPRINT_CAP_BYTES`].

use super::topology::Distance;

/// Bytes of working set assumed per nanosecond of polling: a rough streaming rate for code that
/// walks its data once (~2 bytes/ns is far below memory bandwidth, deliberately, since most polls
/// revisit data rather than stream new data).
pub const FOOTPRINT_BYTES_PER_POLL_NS: u64 = 2;
/// Cap on the footprint estimate: a typical per-core L2 (1 MiB); anything larger does not stay
/// cached at home anyway.
pub const FOOTPRINT_CAP_BYTES: u64 = 1 << 20;
/// Bytes per cache line used to turn a footprint into line transfers.
pub const CACHE_LINE_BYTES: u64 = 64;
/// Latency from unparking a sleeping worker to it running (futex wake plus context switch on
/// Linux, a few microseconds).
pub const WAKE_LATENCY_NS: u64 = 5_000;

/// The footprint estimate for a task whose state is `state_bytes` and whose sampled poll time
/// is `poll_ns` (0 if never sampled).
///
/// ```
/// use hallows_runtime::scheduler::migration::footprint_estimate;
/// assert_eq!(footprint_estimate(128, 0), 128);
/// assert!(footprint_estimate(128, 10_000) > footprint_estimate(128, 100));
/// ```
pub fn footprint_estimate(state_bytes: u64, poll_ns: u64) -> u64 {
    state_bytes
        .saturating_add(poll_ns.saturating_mul(FOOTPRINT_BYTES_PER_POLL_NS))
        .min(FOOTPRINT_CAP_BYTES)
}

/// What the migration decision knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MoveCandidate {
    /// Estimated bytes of the task's working set.
    pub footprint_bytes: u64,
    /// Distance between the home core and the core that would take the task.
    pub distance: Distance,
    /// Tasks queued at home.
    pub home_queue_len: usize,
    /// Tasks queued here.
    pub here_queue_len: usize,
    /// Whether the home worker is parked.
    pub home_asleep: bool,
    /// The runtime's mean poll time, in nanoseconds.
    pub mean_poll_ns: u64,
}

impl MoveCandidate {
    /// Nanoseconds lost re-fetching the footprint after the move.
    pub fn cost_ns(&self) -> u64 {
        self.footprint_bytes.div_ceil(CACHE_LINE_BYTES) * self.distance.line_transfer_ns()
    }

    /// Nanoseconds the task starts sooner by moving.
    pub fn benefit_ns(&self) -> u64 {
        let backlog = self.home_queue_len.saturating_sub(self.here_queue_len) as u64;
        let wake = if self.home_asleep { WAKE_LATENCY_NS } else { 0 };
        backlog
            .saturating_mul(self.mean_poll_ns)
            .saturating_add(wake)
    }

    /// True when moving the task pays off.
    ///
    /// ```
    /// use hallows_runtime::scheduler::migration::MoveCandidate;
    /// use hallows_runtime::scheduler::topology::Distance;
    /// let small = MoveCandidate {
    ///     footprint_bytes: 256,
    ///     distance: Distance::SharedL3,
    ///     home_queue_len: 0,
    ///     here_queue_len: 0,
    ///     home_asleep: true,
    ///     mean_poll_ns: 1_000,
    /// };
    /// assert!(small.pays_off());
    /// let big = MoveCandidate { footprint_bytes: 512 << 10, ..small };
    /// assert!(!big.pays_off());
    /// ```
    pub fn pays_off(&self) -> bool {
        self.benefit_ns() > self.cost_ns()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(footprint: u64, distance: Distance, home: usize, here: usize) -> MoveCandidate {
        MoveCandidate {
            footprint_bytes: footprint,
            distance,
            home_queue_len: home,
            here_queue_len: here,
            home_asleep: false,
            mean_poll_ns: 2_000,
        }
    }

    #[test]
    fn smt_siblings_move_freely_when_home_is_busier() {
        assert!(candidate(FOOTPRINT_CAP_BYTES, Distance::SmtSibling, 3, 0).pays_off());
        // ... but not towards a busier core.
        assert!(!candidate(64, Distance::SmtSibling, 0, 3).pays_off());
    }

    #[test]
    fn farther_moves_need_bigger_backlogs() {
        let fp = 64 << 10; // 1024 lines
        assert!(candidate(fp, Distance::SharedL3, 10, 0).pays_off()); // 20 us vs 15.4 us
        assert!(!candidate(fp, Distance::RemoteNode, 10, 0).pays_off()); // 20 us vs 133 us
    }

    #[test]
    fn estimates_are_capped() {
        assert_eq!(footprint_estimate(10, u64::MAX), FOOTPRINT_CAP_BYTES);
    }
}
