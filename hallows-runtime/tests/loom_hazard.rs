//! Loom model of hazard-pointer protection against a concurrent retire and scan: loom reports
//! a causality violation if the destructor's write to the object is not ordered after the
//! reader's access.
#![cfg(loom)]

use hallows_runtime::reclaim::hazard::HazardDomain;
use hallows_runtime::sync::atomic::{AtomicPtr, Ordering};
use hallows_runtime::sync::{Arc, UnsafeCell};
use loom::thread;

struct Object(UnsafeCell<u32>);

impl Drop for Object {
    fn drop(&mut self) {
        // SAFETY: destruction has exclusive access; loom checks it against readers.
        self.0.with_mut(|p| unsafe { *p = 0 });
    }
}

#[test]
fn protected_object_is_not_freed_under_the_reader() {
    loom::model(|| {
        let domain = Arc::new(HazardDomain::new());
        let src = Arc::new(AtomicPtr::new(Box::into_raw(Box::new(Object(
            UnsafeCell::new(7),
        )))));
        let reader = {
            let (domain, src) = (domain.clone(), src.clone());
            thread::spawn(move || {
                let mut hp = domain.hazard();
                let p = hp.protect(&src);
                if !p.is_null() {
                    // SAFETY: protected by `hp`.
                    let v = unsafe { (*p).0.with(|v| *v) };
                    assert!(v == 7 || v == 8, "read a destroyed object: {v}");
                }
            })
        };
        let fresh = Box::into_raw(Box::new(Object(UnsafeCell::new(8))));
        let old = src.swap(fresh, Ordering::AcqRel);
        // SAFETY: unlinked by the swap, from Box, retired once.
        unsafe { domain.retire(old) };
        domain.scan();
        reader.join().unwrap();
        // SAFETY: unlinked (no more readers), retired once.
        unsafe { domain.retire(src.swap(std::ptr::null_mut(), Ordering::AcqRel)) };
    });
}
