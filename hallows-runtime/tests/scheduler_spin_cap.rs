//! The spin before parking after fork-join work is capped (README "Parking", cases 1, 2 and
//! 4: at most 1/8 of the busy stretch and at most `FORK_JOIN_SPIN_MAX`), and the workers then
//! park. A test binary of its own: it measures the process's CPU time, which tests running in
//! parallel in the same process would disturb.

mod runtime_support;

use hallows_runtime::Runtime;
use std::time::{Duration, Instant};

fn busy_work(iters: u64) -> u64 {
    let mut x = iters;
    for i in 0..iters {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(i);
    }
    std::hint::black_box(x)
}

/// Busy-waits for `d` of wall time (a fork-join half with a known busy stretch).
fn busy_for(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        busy_work(1_000);
    }
}

#[cfg(not(miri))]
#[test]
fn the_spin_after_long_fork_join_work_is_capped_and_workers_then_park() {
    let rt = Runtime::builder().workers(2).report(false).build().unwrap();
    // After a 40 ms busy stretch, 1/8 of it would be a 5 ms spin per worker; the cap
    // (200 us, README "Parking") ends the spin much earlier and the workers park. The
    // measurement starts once `block_on` returns, by which time the spins have begun.
    let mut worst = Duration::ZERO;
    for _ in 0..3 {
        let parks_before = rt.stats().total().parks;
        rt.block_on(async {
            hallows_runtime::join(
                || busy_for(Duration::from_millis(40)),
                || busy_for(Duration::from_millis(40)),
            )
        });
        let cpu0 = runtime_support::process_cpu_time();
        std::thread::sleep(Duration::from_millis(30));
        let cpu = runtime_support::process_cpu_time() - cpu0;
        worst = worst.max(cpu);
        assert!(
            rt.stats().total().parks >= parks_before + 2,
            "both workers should have parked after their capped spin"
        );
    }
    // Uncapped, the two spins would take ~10 ms of CPU; capped, well under 1 ms (3 ms leaves
    // room for a loaded machine).
    assert!(
        worst < Duration::from_millis(3),
        "used {worst:?} of CPU in the 30 ms after a fork-join step"
    );
}
