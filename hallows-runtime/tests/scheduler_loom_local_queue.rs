//! Loom models of the work-stealing deque (`queue::local`): every pushed item is taken exactly
//! once under all interleavings of the owner's pushes/pops and thieves' batch steals, including
//! the full-queue path (CAPACITY is 4 under loom). Run by scripts/checks/loom.sh.
#![cfg(loom)]

use hallows_runtime::queue::local;
use loom::sync::Arc;
use loom::thread;
use std::ptr::NonNull;

fn leak(v: u32) -> NonNull<u32> {
    NonNull::from(Box::leak(Box::new(v)))
}

fn take(p: NonNull<u32>) -> u32 {
    // SAFETY: every pointer in these models comes from `leak` and is taken exactly once (which
    // is what the models check: a double take would be a double free that loom reports).
    *unsafe { Box::from_raw(p.as_ptr()) }
}

#[test]
fn owner_pop_back_races_a_batch_steal() {
    loom::model(|| {
        let (owner, stealer) = local::new::<u32>();
        for v in 0..3 {
            owner.push(leak(v)).unwrap();
        }
        let thief = thread::spawn(move || {
            let mut got = Vec::new();
            stealer.steal_half(&mut got);
            got.into_iter().map(take).collect::<Vec<_>>()
        });
        let mut mine = Vec::new();
        while let Some(p) = owner.pop_back() {
            mine.push(take(p));
        }
        let mut all = thief.join().unwrap();
        all.extend(mine);
        all.sort_unstable();
        assert_eq!(all, [0, 1, 2]);
    });
}

#[test]
fn two_thieves_and_an_owner_popping_the_front() {
    loom::model(|| {
        let (owner, stealer) = local::new::<u32>();
        for v in 0..2 {
            owner.push(leak(v)).unwrap();
        }
        let s2 = stealer.clone();
        let t1 = thread::spawn(move || {
            let (dest, _) = local::new::<u32>();
            let mut got: Vec<u32> = stealer
                .steal_half_into(&dest)
                .into_iter()
                .map(take)
                .collect();
            while let Some(p) = dest.pop_front() {
                got.push(take(p));
            }
            got
        });
        let t2 = thread::spawn(move || {
            let mut got = Vec::new();
            s2.steal_half(&mut got);
            got.into_iter().map(take).collect::<Vec<_>>()
        });
        let mut all: Vec<u32> = owner.pop_front().into_iter().map(take).collect();
        all.extend(t1.join().unwrap());
        all.extend(t2.join().unwrap());
        while let Some(p) = owner.pop_back() {
            all.push(take(p));
        }
        all.sort_unstable();
        assert_eq!(all, [0, 1]);
    });
}

#[test]
fn pushes_into_a_full_queue_race_steals() {
    loom::model(|| {
        let (owner, stealer) = local::new::<u32>();
        for v in 0..local::CAPACITY as u32 {
            owner.push(leak(v)).unwrap();
        }
        let done = Arc::new(());
        let thief = thread::spawn(move || {
            let mut got = Vec::new();
            stealer.steal_half(&mut got);
            got.into_iter().map(take).collect::<Vec<_>>()
        });
        let extra = leak(100);
        let mut overflow = Vec::new();
        if let Err(p) = owner.push(extra) {
            // Full: move half out, as the worker does on overflow, then retry.
            owner.take_half(&mut overflow);
            owner.push(p).unwrap();
        }
        let mut all: Vec<u32> = overflow.into_iter().map(take).collect();
        all.extend(thief.join().unwrap());
        while let Some(p) = owner.pop_back() {
            all.push(take(p));
        }
        drop(done);
        all.sort_unstable();
        let mut expected: Vec<u32> = (0..local::CAPACITY as u32).collect();
        expected.push(100);
        assert_eq!(all, expected);
    });
}
