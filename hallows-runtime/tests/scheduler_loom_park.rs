//! Loom models of parking (`scheduler::park`): an unpark is never lost whichever side runs
//! first, and a sleeper is claimed by exactly one of a waker and its own retraction. A lost
//! wake-up shows up as a deadlock, which loom reports. Run by scripts/checks/loom.sh.
#![cfg(loom)]

use hallows_runtime::scheduler::park::{Parker, Sleepers};
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::Arc;
use loom::thread;

#[test]
fn unpark_racing_park_is_never_lost() {
    loom::model(|| {
        let parker = Arc::new(Parker::new());
        let flag = Arc::new(AtomicBool::new(false));
        let (p, f) = (parker.clone(), flag.clone());
        let waker = thread::spawn(move || {
            f.store(true, Ordering::Release);
            p.unpark();
        });
        while !flag.load(Ordering::Acquire) {
            parker.park();
        }
        waker.join().unwrap();
    });
}

#[test]
fn two_unparks_and_two_parks_terminate() {
    loom::model(|| {
        let parker = Arc::new(Parker::new());
        let count = Arc::new(loom::sync::atomic::AtomicUsize::new(0));
        let (p, c) = (parker.clone(), count.clone());
        let waker = thread::spawn(move || {
            for _ in 0..2 {
                c.fetch_add(1, Ordering::Release);
                p.unpark();
            }
        });
        while count.load(Ordering::Acquire) < 2 {
            parker.park();
        }
        waker.join().unwrap();
    });
}

#[test]
fn a_sleeper_is_claimed_by_the_waker_or_retracts_itself_never_both() {
    loom::model(|| {
        let sleepers = Arc::new(Sleepers::new(1));
        let parker = Arc::new(Parker::new());
        let work = Arc::new(AtomicBool::new(false));
        let (s, p, w) = (sleepers.clone(), parker.clone(), work.clone());
        // Producer: publish work, then wake a sleeper if there is one (steps P1-P3).
        let producer = thread::spawn(move || {
            w.store(true, Ordering::Release);
            if s.should_wake() {
                if let Some(i) = s.wake_one(std::iter::once(0)) {
                    assert_eq!(i, 0);
                    p.unpark();
                }
            }
        });
        // Worker: announce, re-check, park (S1-S5). It must always end up seeing the work.
        loop {
            if work.load(Ordering::Acquire) {
                break;
            }
            sleepers.announce(0);
            loom::sync::atomic::fence(Ordering::SeqCst);
            if !work.load(Ordering::Acquire) {
                parker.park();
            }
            if !sleepers.retract(0) {
                // Claimed by the producer: it counted us as searching.
                sleepers.stop_searching();
            }
        }
        producer.join().unwrap();
        assert_eq!(sleepers.asleep_count(), 0);
    });
}
