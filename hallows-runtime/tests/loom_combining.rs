//! Loom model of flat combining: two threads' operations are each applied exactly once, and the
//! structure's accesses (through loom's `UnsafeCell` inside the combiner) never race.
#![cfg(loom)]

use hallows_runtime::combining::{FlatCombiner, Sequential};
use hallows_runtime::sync::Arc;
use loom::thread;

struct Counter(u32);

impl Sequential for Counter {
    type Op = u32;
    type Output = u32;
    fn apply(&mut self, add: u32) -> u32 {
        let before = self.0;
        self.0 += add;
        before
    }
}

#[test]
fn each_operation_is_applied_once() {
    loom::model(|| {
        let fc = Arc::new(FlatCombiner::new(Counter(0)));
        let other = {
            let fc = fc.clone();
            thread::spawn(move || fc.handle().apply(1))
        };
        let mine = fc.handle().apply(1);
        let theirs = other.join().unwrap();
        let mut seen = [mine, theirs];
        seen.sort_unstable();
        assert_eq!(seen, [0, 1]);
        assert_eq!(fc.with_locked(|c| c.0), 2);
    });
}
