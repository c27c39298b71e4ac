//! A Treiber stack on the epoch reclaimer, shared by the epoch tests.
// Each test crate uses a different subset of these helpers.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering as StdOrdering};
use std::sync::Arc;

use hallows_runtime::reclaim::epoch::{Atomic, Guard, Owned, Shared};
use hallows_runtime::sync::atomic::Ordering;

/// Counts its drops in a shared slot so tests can check "exactly once".
pub struct Tracked {
    pub id: usize,
    pub drops: Arc<Vec<AtomicUsize>>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops[self.id].fetch_add(1, StdOrdering::Relaxed);
    }
}

/// `value` is moved out by `pop` or dropped by `Stack::drop`, never by the node itself.
pub struct Node<T> {
    value: std::mem::ManuallyDrop<T>,
    next: Atomic<Node<T>>,
}

pub struct Stack<T> {
    head: Atomic<Node<T>>,
}

impl<T: Send + Sync> Stack<T> {
    pub fn new() -> Self {
        Self {
            head: Atomic::null(),
        }
    }

    pub fn push(&self, value: T, guard: &Guard<'_>) {
        let node = Owned::new(Node {
            value: std::mem::ManuallyDrop::new(value),
            next: Atomic::null(),
        })
        .into_shared(guard);
        let mut head = self.head.load(guard);
        loop {
            // SAFETY: `node` is unpublished; only we access it.
            unsafe { node.as_ref() }
                .unwrap()
                .next
                .store(head, Ordering::Relaxed);
            match self.head.compare_exchange_weak(
                head,
                node,
                Ordering::Release,
                Ordering::Relaxed,
                guard,
            ) {
                Ok(_) => return,
                Err(_) => head = self.head.load(guard),
            }
        }
    }

    /// Loads the head under `guard` (as a reader would) and reports whether there is one.
    pub fn peek_is_some(&self, guard: &Guard<'_>) -> bool {
        !self.head.load(guard).is_null()
    }

    pub fn pop(&self, guard: &Guard<'_>) -> Option<T> {
        loop {
            let head: Shared<'_, Node<T>> = self.head.load(guard);
            // SAFETY: loaded under the guard; nodes are retired only after unlinking.
            let node = unsafe { head.as_ref() }?;
            let next = node.next.load(guard);
            if self
                .head
                .compare_exchange(head, next, Ordering::AcqRel, Ordering::Acquire, guard)
                .is_ok()
            {
                // SAFETY: our CAS unlinked the node, so we alone take its value; readers
                // never touch `value`.
                let value = unsafe { std::ptr::read(&*node.value) };
                // SAFETY: unlinked, retired once; `Node`'s drop does not touch `value`.
                unsafe { guard.retire(head) };
                return Some(value);
            }
        }
    }
}

impl<T> Drop for Stack<T> {
    fn drop(&mut self) {
        // SAFETY: exclusive access; live nodes are owned by the stack.
        let mut cur = unsafe { self.head.take_owned() };
        while let Some(node) = cur {
            let mut node = node.into_inner();
            // SAFETY: a live node still owns its value.
            unsafe { std::mem::ManuallyDrop::drop(&mut node.value) };
            // SAFETY: as above.
            cur = unsafe { node.next.take_owned() };
        }
    }
}
