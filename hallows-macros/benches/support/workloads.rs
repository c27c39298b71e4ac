//! Contended workloads written the way a user adopts `#[multiversion_contention]`: a counter with
//! versions written by hand, a stack and a map whose critical sections get derived versions.
//! Shared by `benches/contention.rs` and `tests/multiversion_contention.rs`.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use hallows_macros::{cacheline_aligned, multiversion_contention};
use hallows_runtime::contention::Probe;

/// Work done inside a "long" critical section: a dependent chain of multiply-xorshift steps
/// the optimiser cannot remove (its result feeds the update).
#[inline]
pub fn work(seed: u64, steps: u32) -> u64 {
    let mut x = seed | 1;
    for _ in 0..steps {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    x
}

/// Runs `steps` of [`work`] and keeps the result alive, without changing any value: the
/// time an update spends between reading and publishing.
#[inline]
pub fn spend(seed: u64, steps: u32) {
    std::hint::black_box(work(seed, steps));
}

/// Largest exponential backoff of the counter's backoff version, in spin hints.
const MAX_BACKOFF: u32 = 1 << 10;

/// A shared counter; `steps` of work run between reading and publishing the new value.
#[cacheline_aligned]
pub struct Counter {
    #[isolate]
    pub value: AtomicU64,
    /// Serialises the queued version (the others ignore it).
    pub queue: Mutex<()>,
    pub steps: u32,
}

#[multiversion_contention]
impl Counter {
    /// Adds `n`; returns the previous value.
    #[contention_versions(add_optimistic, add_backoff, add_queued)]
    pub fn add(&self, n: u64) -> u64 {}

    /// Version 0: optimistic compare-and-swap, retried at once.
    pub fn add_optimistic(&self, n: u64, probe: Probe) -> u64 {
        let mut failed = 0;
        let mut current = self.value.load(Ordering::Relaxed);
        loop {
            spend(current, self.steps);
            let next = current.wrapping_add(n);
            match self.value.compare_exchange_weak(
                current,
                next,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(previous) => {
                    probe.contended(failed);
                    return previous;
                }
                Err(seen) => {
                    failed += 1;
                    current = seen;
                }
            }
        }
    }

    /// Version 1: test-and-test-and-set style: on failure back off exponentially, re-read, retry.
    pub fn add_backoff(&self, n: u64, probe: Probe) -> u64 {
        let mut failed = 0;
        let mut backoff = 1;
        loop {
            let current = self.value.load(Ordering::Relaxed);
            spend(current, self.steps);
            let next = current.wrapping_add(n);
            if self
                .value
                .compare_exchange(current, next, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                if failed == 0 {
                    probe.uncontended();
                } else {
                    probe.contended(failed);
                }
                return current;
            }
            failed += 1;
            if backoff >= MAX_BACKOFF {
                std::thread::yield_now();
            } else {
                for _ in 0..backoff {
                    std::hint::spin_loop();
                }
                backoff *= 2;
            }
        }
    }

    /// Version 2: queue on a mutex, then update with the same atomic (so it stays correct next
    /// to threads still running the other versions).
    pub fn add_queued(&self, n: u64, probe: Probe) -> u64 {
        let _turn = match self.queue.try_lock() {
            Ok(turn) => {
                probe.uncontended();
                turn
            }
            Err(_) => {
                let turn = self.queue.lock().unwrap_or_else(|e| e.into_inner());
                probe.contended(1);
                turn
            }
        };
        let current = self.value.load(Ordering::Relaxed);
        spend(current, self.steps);
        let next = current.wrapping_add(n);
        self.value
            .fetch_add(next.wrapping_sub(current), Ordering::AcqRel)
    }
}

impl Counter {
    /// A counter at 0 whose updates do `steps` of work inside the read-modify-write window.
    pub fn new(steps: u32) -> Self {
        Counter {
            value: AtomicU64::new(0),
            queue: Mutex::new(()),
            steps,
            __hallows_pad_0: Default::default(),
        }
    }
}

/// A stack behind a mutex; `steps` of work run inside each critical section.
pub struct Stack {
    pub items: Mutex<Vec<u64>>,
    pub steps: u32,
}

impl Stack {
    /// Pushes `v`, or pops when `v` is odd; returns the length after.
    #[multiversion_contention(lock = self.items, guard = items)]
    pub fn update(&self, v: u64) -> usize {
        if v.is_multiple_of(2) {
            items.push(work(v, self.steps));
        } else {
            items.pop();
        }
        items.len()
    }
}

/// A map behind a mutex; `steps` of work run inside each critical section.
pub struct Map {
    pub entries: Mutex<HashMap<u64, u64>>,
    pub steps: u32,
}

impl Map {
    /// Adds `by` to the entry of `key`; returns the new value.
    #[multiversion_contention(lock = self.entries, guard = entries)]
    pub fn bump(&self, key: u64, by: u64) -> u64 {
        spend(key, self.steps);
        let slot = entries.entry(key % 64).or_insert(0);
        *slot += by;
        *slot
    }
}

impl Stack {
    /// [`Stack::update`] with derived version `version` fixed (for comparisons).
    pub fn update_fixed(&self, v: u64, version: usize, probe: Probe) -> usize {
        let mut items = fixed_lock(&self.items, version, probe);
        if v.is_multiple_of(2) {
            items.push(work(v, self.steps));
        } else {
            items.pop();
        }
        items.len()
    }
}

impl Map {
    /// [`Map::bump`] with derived version `version` fixed (for comparisons).
    pub fn bump_fixed(&self, key: u64, by: u64, version: usize, probe: Probe) -> u64 {
        let mut entries = fixed_lock(&self.entries, version, probe);
        spend(key, self.steps);
        let slot = entries.entry(key % 64).or_insert(0);
        *slot += by;
        *slot
    }
}

fn fixed_lock<T>(m: &Mutex<T>, version: usize, probe: Probe) -> std::sync::MutexGuard<'_, T> {
    use hallows_runtime::contention::{lock_backoff, lock_blocking, lock_spinning};
    match version {
        0 => lock_spinning(m, probe),
        1 => lock_backoff(m, probe),
        _ => lock_blocking(m, probe),
    }
}
