//! Every live task of a runtime, so that shutdown can drop the futures of unfinished ones.
//!
//! Without it, a task waiting on a waker nobody will ever call would be freed as soon as its
//! last waker is dropped — or never, if it sits in a reference cycle (a task holding the
//! `JoinHandle` of a task holding its waker). Shutdown walks the registry and cancels each task
//! instead, which breaks every cycle. The registry is sharded by slot so workers rarely contend
//! (tokio's `OwnedTasks` does the same with sharded linked lists).
//!
//! A task enters the registry at its first `Pending`, on the worker that polled it (that
//! worker's shard), not at spawn: before its first poll nothing can hold its waker, and its
//! queue reference is what shutdown releases — and releasing a task's queue reference cancels
//! it. So a task that finishes in its first poll never takes a shard lock; before session 8
//! every spawn did, and from outside the workers the spawner's insert and the completing
//! worker's remove moved the shard's lines between the two cores for every task.

use super::raw::RegisteredTask;
use crate::padding::CachePadded;
use crate::sync::Mutex;
use std::sync::Arc;

/// Shards; a power of two. 16 keeps contention negligible for the worker counts this runtime
/// targets while costing only 16 cache-line pairs.
const SHARDS: usize = 16;
const SHARD_BITS: u32 = SHARDS.trailing_zeros();

struct Shard {
    slots: Vec<Option<Arc<dyn RegisteredTask>>>,
    free: Vec<usize>,
    /// Set at shutdown: later registrations are refused.
    closed: bool,
}

/// See the module docs.
pub(crate) struct Registry {
    shards: Box<[CachePadded<Mutex<Shard>>]>,
}

impl Registry {
    pub(crate) fn new() -> Registry {
        Registry {
            shards: (0..SHARDS)
                .map(|_| {
                    CachePadded::new(Mutex::new(Shard {
                        slots: Vec::new(),
                        free: Vec::new(),
                        closed: false,
                    }))
                })
                .collect(),
        }
    }

    fn shard(&self, i: usize) -> crate::sync::MutexGuard<'_, Shard> {
        // Shard operations do not panic midway (only allocation could), so poison is ignored.
        self.shards[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a task, choosing a shard from `hint` (the polling worker). Returns its
    /// slot, or `None` if the runtime is shutting down.
    pub(crate) fn insert(&self, task: Arc<dyn RegisteredTask>, hint: usize) -> Option<usize> {
        let s = hint % SHARDS;
        let mut shard = self.shard(s);
        if shard.closed {
            return None;
        }
        let index = match shard.free.pop() {
            Some(i) => {
                shard.slots[i] = Some(task);
                i
            }
            None => {
                shard.slots.push(Some(task));
                shard.slots.len() - 1
            }
        };
        Some(index << SHARD_BITS | s)
    }

    /// Removes a finished task (its slot from [`Registry::insert`]). A slot of `usize::MAX` or
    /// one already emptied by shutdown is ignored.
    pub(crate) fn remove(&self, slot: usize) {
        if slot == usize::MAX {
            return;
        }
        let (s, i) = (slot & (SHARDS - 1), slot >> SHARD_BITS);
        let removed = {
            let mut shard = self.shard(s);
            let removed = shard.slots.get_mut(i).and_then(Option::take);
            if removed.is_some() {
                shard.free.push(i);
            }
            removed
        };
        // Dropped outside the lock: it may be the last reference and run the task's destructor.
        drop(removed);
    }

    /// Closes the registry and returns every task still registered.
    pub(crate) fn close_and_drain(&self) -> Vec<Arc<dyn RegisteredTask>> {
        let mut all = Vec::new();
        for s in 0..SHARDS {
            let mut shard = self.shard(s);
            shard.closed = true;
            shard.free.clear();
            all.extend(shard.slots.drain(..).flatten());
        }
        all
    }

    /// Number of registered tasks (takes every shard's lock; for statistics and tests).
    pub(crate) fn len(&self) -> usize {
        (0..SHARDS)
            .map(|s| {
                let shard = self.shard(s);
                shard.slots.len() - shard.free.len()
            })
            .sum()
    }
}
