//! The cellular scheduler's observable behaviour: load diffuses from a saturated core by batch
//! steals, cells change state, idle workers park instead of spinning, and neighbourhoods follow
//! the configured topology.

mod runtime_support;

use hallows_runtime::scheduler::cellular::CellState;
use hallows_runtime::scheduler::topology::{CpuPlace, NeighbourhoodShape, Topology};
use hallows_runtime::{spawn, Runtime};
use std::time::{Duration, Instant};

fn busy_work(iters: u64) -> u64 {
    let mut x = iters;
    for i in 0..iters {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(i);
    }
    std::hint::black_box(x)
}

#[test]
fn a_saturated_core_is_relieved_by_batch_steals() {
    let rt = Runtime::builder().workers(2).report(false).build().unwrap();
    let n = if cfg!(miri) { 20 } else { 2_000 };
    // On a loaded machine the second worker may get little CPU time at first: repeat rounds
    // (bounded) until its steals show up.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        rt.block_on(rt.spawn(async move {
            // All tasks are spawned on one worker: its queue grows, it turns saturated, and the
            // other (hungry) worker steals half its queue at a time.
            let handles: Vec<_> = (0..n)
                .map(|i| spawn(async move { busy_work(2_000 + i % 7) }))
                .collect();
            for h in handles {
                h.await;
            }
        }));
        let total = rt.stats().total();
        let done = total.steals > 0
            && total.to_hungry > 0
            && (cfg!(miri) || (total.stolen_tasks > total.steals && total.to_saturated > 0));
        if done || Instant::now() > deadline {
            break;
        }
    }
    let total = rt.stats().total();
    assert!(total.steals > 0, "{total:?}");
    assert!(total.stolen_tasks >= total.steals, "{total:?}");
    if !cfg!(miri) {
        // Batches: at least one steal took more than one task.
        assert!(total.stolen_tasks > total.steals, "{total:?}");
        assert!(total.to_saturated > 0, "{total:?}");
    }
    assert!(total.to_hungry > 0, "{total:?}");
}

#[cfg(not(miri))]
#[test]
fn idle_workers_park_instead_of_burning_cpu() {
    let rt = Runtime::builder().workers(2).report(false).build().unwrap();
    rt.block_on(async {});
    std::thread::sleep(Duration::from_millis(50));
    let parks_before = rt.stats().total().parks;
    let cpu0 = runtime_support::process_cpu_time();
    let wall0 = Instant::now();
    // The rayon #642 scenario: one small task per millisecond.
    while wall0.elapsed() < Duration::from_millis(300) {
        drop(rt.spawn(async { busy_work(100) }));
        std::thread::sleep(Duration::from_millis(1));
    }
    let cpu = runtime_support::process_cpu_time() - cpu0;
    let wall = wall0.elapsed();
    // Two spinning workers would use ~2x wall time; parked ones use a small fraction.
    assert!(
        cpu < wall / 2,
        "used {cpu:?} of CPU in {wall:?} with one spawn per millisecond"
    );
    assert!(rt.stats().total().parks > parks_before);
}

#[test]
fn cells_report_a_state_and_idle_workers_end_hungry() {
    let rt = Runtime::builder().workers(2).report(false).build().unwrap();
    rt.block_on(rt.spawn(async { busy_work(10) }));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stats = rt.stats();
        let all_hungry = stats
            .workers
            .iter()
            .all(|w| w.state == Some(CellState::Hungry));
        if all_hungry {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "idle workers never turned hungry: {stats:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn two_node_machine() -> Topology {
    let place = |cpu: usize, l3: &[usize], node| CpuPlace {
        cpu,
        smt_siblings: vec![cpu],
        l2_shared: vec![cpu],
        l3_shared: l3.to_vec(),
        node,
    };
    Topology::from_places(vec![
        place(0, &[0, 1], 0),
        place(1, &[0, 1], 0),
        place(2, &[2, 3], 1),
        place(3, &[2, 3], 1),
    ])
}

#[test]
fn neighbourhoods_follow_the_topology_and_shape() {
    let rt = Runtime::builder()
        .workers(4)
        .pin(false)
        .topology(two_node_machine())
        .report(false)
        .build()
        .unwrap();
    let stats = rt.stats();
    assert_eq!(stats.workers[0].neighbours, vec![1]);
    assert_eq!(stats.workers[2].neighbours, vec![3]);
    // Work still gets done across the whole machine.
    let n = if cfg!(miri) { 8 } else { 400 };
    let sum = rt.block_on(rt.spawn(async move {
        let hs: Vec<_> = (0..n)
            .map(|i| spawn(async move { busy_work(500) % 2 + i }))
            .collect();
        let mut s = 0;
        for h in hs {
            s += h.await;
        }
        s
    }));
    assert!(sum >= (0..n).sum::<u64>());
    drop(rt);

    let all = Runtime::builder()
        .workers(4)
        .pin(false)
        .topology(two_node_machine())
        .neighbourhood(NeighbourhoodShape::All)
        .report(false)
        .build()
        .unwrap();
    assert_eq!(all.stats().workers[0].neighbours, vec![1, 2, 3]);
}
