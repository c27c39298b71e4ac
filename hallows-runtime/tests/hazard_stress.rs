//! A Treiber stack reclaimed with hazard pointers, hammered by several threads: every pushed
//! value is popped once, and every node's destructor runs exactly once by the time the domain
//! is dropped.
#![cfg(not(loom))]

use std::ptr;
use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering as StdOrdering};
use std::sync::Arc;

use hallows_runtime::reclaim::hazard::HazardDomain;
use hallows_runtime::sync::atomic::{AtomicPtr, Ordering};

struct Node {
    value: usize,
    next: *mut Node,
    drops: Arc<Vec<StdAtomicUsize>>,
}

// SAFETY: `next` is only followed under the stack's protocol.
unsafe impl Send for Node {}

impl Drop for Node {
    fn drop(&mut self) {
        self.drops[self.value].fetch_add(1, StdOrdering::Relaxed);
    }
}

struct Stack {
    head: AtomicPtr<Node>,
}

impl Stack {
    fn push(&self, node: Box<Node>) {
        let node = Box::into_raw(node);
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            // SAFETY: `node` is unpublished.
            unsafe { (*node).next = head };
            match self
                .head
                .compare_exchange_weak(head, node, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(h) => head = h,
            }
        }
    }

    fn pop(&self, domain: &HazardDomain) -> Option<usize> {
        let mut hp = domain.hazard();
        loop {
            let head = hp.protect(&self.head);
            if head.is_null() {
                return None;
            }
            // SAFETY: protected by `hp`; nodes are retired only after being unlinked.
            let next = unsafe { (*head).next };
            if self
                .head
                .compare_exchange(head, next, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                // SAFETY: as above.
                let value = unsafe { (*head).value };
                hp.reset();
                // SAFETY: unlinked by our CAS, from Box, retired once.
                unsafe { domain.retire(head) };
                return Some(value);
            }
        }
    }
}

#[test]
fn treiber_stack_under_hazard_pointers_loses_and_leaks_nothing() {
    let threads = 4;
    let per = if cfg!(miri) { 30 } else { 20_000 };
    let total = threads * per;
    let drops: Arc<Vec<StdAtomicUsize>> =
        Arc::new((0..total).map(|_| StdAtomicUsize::new(0)).collect());
    let domain = HazardDomain::new();
    let stack = Stack {
        head: AtomicPtr::new(ptr::null_mut()),
    };
    let popped: Vec<usize> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let (stack, domain, drops) = (&stack, &domain, drops.clone());
                s.spawn(move || {
                    let mut got = Vec::new();
                    for i in 0..per {
                        stack.push(Box::new(Node {
                            value: t * per + i,
                            next: ptr::null_mut(),
                            drops: drops.clone(),
                        }));
                        if let Some(v) = stack.pop(domain) {
                            got.push(v);
                        }
                    }
                    got
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    let mut all = popped;
    while let Some(v) = stack.pop(&domain) {
        all.push(v);
    }
    all.sort_unstable();
    assert_eq!(all, (0..total).collect::<Vec<_>>());
    assert!(
        domain.retired_len() <= 2 * hallows_runtime::reclaim::hazard::SCAN_THRESHOLD_MIN,
        "garbage not bounded: {domain:?}"
    );
    drop(domain);
    assert!(drops.iter().all(|d| d.load(StdOrdering::Relaxed) == 1));
}
