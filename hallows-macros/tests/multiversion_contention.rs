//! `#[multiversion_contention]`: results stay exact while versions switch, the dispatcher
//! escalates under contention and comes back down without it, and decisions are reported.

#[path = "../benches/support/workloads.rs"]
mod workloads;

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hallows_runtime::contention;
use workloads::{Counter, Map, Stack};

fn threads() -> usize {
    if cfg!(miri) {
        2
    } else {
        4
    }
}

fn ops() -> u64 {
    if cfg!(miri) {
        50
    } else {
        20_000
    }
}

#[test]
fn counter_stays_exact_under_contention_and_switches_versions() {
    let counter = Arc::new(Counter::new(16));
    let handles: Vec<_> = (0..threads())
        .map(|_| {
            let c = counter.clone();
            std::thread::spawn(move || {
                for _ in 0..ops() {
                    c.add(1);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(
        counter.value.load(Ordering::Relaxed),
        threads() as u64 * ops()
    );

    // Whatever the dispatcher chose, every logged switch names two different, existing versions
    // and was justified by a measured gain.
    for d in contention::decisions()
        .into_iter()
        .filter(|d| d.dispatcher.ends_with("Counter::add"))
    {
        assert!(d.from != d.to && d.from < 3 && d.to < 3, "{d:?}");
        assert!(d.after_ops_per_sec > d.before_ops_per_sec, "{d:?}");
    }
}

#[test]
fn derived_critical_sections_stay_exact() {
    let stack = Arc::new(Stack {
        items: Mutex::new(Vec::new()),
        steps: 8,
    });
    let map = Arc::new(Map {
        entries: Mutex::new(HashMap::new()),
        steps: 8,
    });
    let handles: Vec<_> = (0..threads())
        .map(|t| {
            let (s, m) = (stack.clone(), map.clone());
            std::thread::spawn(move || {
                for i in 0..ops() {
                    s.update(2 * i); // push
                    m.bump(i + t as u64, 1);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let total = threads() as u64 * ops();
    assert_eq!(stack.items.lock().unwrap().len() as u64, total);
    assert_eq!(map.entries.lock().unwrap().values().sum::<u64>(), total);
    // Pops (odd values) take the items back out.
    for i in 0..total {
        stack.update(2 * i + 1);
    }
    assert!(stack.items.lock().unwrap().is_empty());
}

/// Three ways to add to one atomic, each counting its own calls.
struct Tracked {
    value: std::sync::atomic::AtomicU64,
    calls: [std::sync::atomic::AtomicU64; 3],
}

#[hallows_macros::multiversion_contention]
impl Tracked {
    #[contention_versions(add_cas, add_fetch, add_locked)]
    fn add(&self) {}

    fn add_cas(&self, probe: hallows_runtime::contention::Probe) {
        self.calls[0].fetch_add(1, Ordering::Relaxed);
        let mut failed = 0;
        let mut current = self.value.load(Ordering::Relaxed);
        while let Err(seen) = self.value.compare_exchange_weak(
            current,
            current + 1,
            Ordering::AcqRel,
            Ordering::Relaxed,
        ) {
            failed += 1;
            current = seen;
        }
        probe.contended(failed);
    }

    fn add_fetch(&self, probe: hallows_runtime::contention::Probe) {
        self.calls[1].fetch_add(1, Ordering::Relaxed);
        self.value.fetch_add(1, Ordering::AcqRel);
        // Report contention too, so that the dispatcher keeps finding reasons to measure.
        probe.contended(1);
    }

    fn add_locked(&self, probe: hallows_runtime::contention::Probe) {
        static TURN: Mutex<()> = Mutex::new(());
        self.calls[2].fetch_add(1, Ordering::Relaxed);
        let _turn = TURN.lock().unwrap();
        self.value.fetch_add(1, Ordering::AcqRel);
        probe.contended(1);
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "timing-driven: runs until the dispatcher's search has switched versions"
)]
fn results_stay_exact_while_the_dispatcher_switches_between_running_threads() {
    use std::sync::atomic::{AtomicBool, AtomicU64};
    let tracked = Arc::new(Tracked {
        value: AtomicU64::new(0),
        calls: Default::default(),
    });
    let done = Arc::new(AtomicBool::new(false));
    let handles: Vec<_> = (0..threads())
        .map(|_| {
            let (t, done) = (tracked.clone(), done.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !done.load(Ordering::Relaxed) {
                    t.add();
                    n += 1;
                }
                n
            })
        })
        .collect();
    // Every version runs while the others run too (a search's duels switch every few ms).
    let deadline = Instant::now() + Duration::from_secs(10);
    while tracked.calls.iter().any(|c| c.load(Ordering::Relaxed) == 0) && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(50));
    done.store(true, Ordering::Relaxed);
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    let calls: Vec<u64> = tracked
        .calls
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .collect();
    assert!(calls.iter().all(|&c| c > 0), "{calls:?}");
    assert_eq!(calls.iter().sum::<u64>(), total);
    assert_eq!(tracked.value.load(Ordering::Relaxed), total);
}

/// Versions with several arguments of different kinds (their closure in the dispatcher's arms
/// is passed by reference), each counting its calls and reporting contention so that the
/// dispatcher keeps searching: every argument must reach every version, also through the
/// measuring arm (which reads the mode word again instead of capturing it).
struct Summed {
    calls: [std::sync::atomic::AtomicU64; 3],
}

#[hallows_macros::multiversion_contention]
impl Summed {
    #[contention_versions(sum_a, sum_b, sum_c)]
    fn sum(&self, a: u64, b: u32, c: u8, tag: &str) -> u64 {}

    fn sum_a(&self, a: u64, b: u32, c: u8, tag: &str, probe: contention::Probe) -> u64 {
        self.calls[0].fetch_add(1, Ordering::Relaxed);
        probe.contended(1);
        a + u64::from(b) + u64::from(c) + tag.len() as u64
    }

    fn sum_b(&self, a: u64, b: u32, c: u8, tag: &str, probe: contention::Probe) -> u64 {
        self.calls[1].fetch_add(1, Ordering::Relaxed);
        probe.contended(1);
        tag.len() as u64 + u64::from(c) + u64::from(b) + a
    }

    fn sum_c(&self, a: u64, b: u32, c: u8, tag: &str, probe: contention::Probe) -> u64 {
        self.calls[2].fetch_add(1, Ordering::Relaxed);
        probe.contended(1);
        u64::from(b) + a + tag.len() as u64 + u64::from(c)
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "timing-driven: runs until the dispatcher's search has run every version"
)]
fn every_argument_reaches_every_version_while_measuring() {
    let summed = Arc::new(Summed {
        calls: Default::default(),
    });
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let handles: Vec<_> = (0..threads() as u64)
        .map(|t| {
            let (s, done) = (summed.clone(), done.clone());
            std::thread::spawn(move || {
                let tags = ["", "x", "yz", "abc"];
                let (mut n, mut wrong) = (0u64, 0u64);
                while !done.load(Ordering::Relaxed) {
                    let (a, b, c) = (n * 1000 + t, (n % 7) as u32 * 100, (n % 5) as u8);
                    let tag = tags[(n % 4) as usize];
                    let expected = a + u64::from(b) + u64::from(c) + tag.len() as u64;
                    wrong += u64::from(s.sum(a, b, c, tag) != expected);
                    n += 1;
                }
                (n, wrong)
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    while summed.calls.iter().any(|c| c.load(Ordering::Relaxed) == 0) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    done.store(true, Ordering::Relaxed);
    let results: Vec<(u64, u64)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let calls: Vec<u64> = summed
        .calls
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .collect();
    assert!(calls.iter().all(|&c| c > 0), "{calls:?}");
    assert_eq!(
        calls.iter().sum::<u64>(),
        results.iter().map(|r| r.0).sum::<u64>()
    );
    assert_eq!(results.iter().map(|r| r.1).sum::<u64>(), 0, "wrong results");
}

#[test]
#[cfg_attr(
    miri,
    ignore = "timing-driven: measures real throughput for up to seconds"
)]
fn the_dispatcher_switches_to_a_measurably_faster_version_logs_and_reports_it() {
    static D: contention::Dispatcher = contention::Dispatcher::new("tests::reported", 2);
    thread_local! {
        static S: contention::Sampler = const { contention::Sampler::new() };
    }
    // Version 0 costs 4 µs per call and reports contention, version 1 costs 1 µs and reports
    // none: the events start a search, the duel measures both and adopts version 1, and the
    // search ends (the fast path stops counting).
    let spin = |d: Duration| {
        let start = Instant::now();
        while start.elapsed() < d {
            std::hint::spin_loop();
        }
    };
    let call = || match D.select(&S) {
        0 => {
            spin(Duration::from_micros(4));
            D.probe(0).contended(1);
        }
        _ => spin(Duration::from_micros(1)),
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while (D.switches() == 0 || D.is_measuring()) && Instant::now() < deadline {
        call();
    }
    assert_eq!(D.mode(), 1);
    assert!(!D.is_measuring());
    // Stay there while it remains faster.
    let until = Instant::now() + Duration::from_millis(200);
    while Instant::now() < until {
        call();
    }
    assert_eq!(D.mode(), 1);
    assert!(D.trials() >= 1);
    let log: Vec<contention::Decision> = contention::decisions()
        .into_iter()
        .filter(|d| d.dispatcher == D.name())
        .collect();
    assert!(!log.is_empty());
    assert_eq!((log[0].from, log[0].to), (0, 1));
    assert!(log[0].after_ops_per_sec > log[0].before_ops_per_sec);
    let dir = std::env::temp_dir().join(format!("hallows-contention-{}", std::process::id()));
    // Environment variables are process-wide: this is the only test of this binary setting it.
    std::env::set_var("HALLOWS_REPORT_DIR", &dir);
    let path = contention::write_report().unwrap().unwrap();
    std::env::remove_var("HALLOWS_REPORT_DIR");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text
        .lines()
        .all(|l| l.starts_with("{\"schema\":1,\"producer\":\"macros\",\"pass\":\"contention\"")));
    assert!(
        text.contains("\"function\":\"tests::reported\",\"symbol\":\"\",\"action\":\"summary\""),
        "{text}"
    );
    assert!(
        text.contains("\"action\":\"switched\",\"reason\":\"switched from version 0 to 1"),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Generic impl blocks, generic methods and free functions take the attribute too.
mod generic {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    use hallows_macros::multiversion_contention;
    use hallows_runtime::contention::Probe;

    pub struct Slot<T> {
        pub value: Mutex<Option<T>>,
        pub calls: [AtomicUsize; 2],
    }

    #[multiversion_contention]
    impl<T: Clone + Send> Slot<T> {
        /// Replaces the value with `f(old)`; returns the old value.
        #[contention_versions(swap_try, swap_wait)]
        #[must_use]
        pub fn swap_with<F: FnOnce(Option<T>) -> T>(&self, f: F) -> Option<T> {}

        fn swap_try<F: FnOnce(Option<T>) -> T>(&self, f: F, probe: Probe) -> Option<T> {
            self.calls[0].fetch_add(1, Ordering::Relaxed);
            let mut failed = 0;
            let mut guard = loop {
                match self.value.try_lock() {
                    Ok(g) => break g,
                    Err(_) => failed += 1,
                }
            };
            probe.contended(failed);
            let old = guard.take();
            *guard = Some(f(old.clone()));
            old
        }

        fn swap_wait<F: FnOnce(Option<T>) -> T>(&self, f: F, probe: Probe) -> Option<T> {
            self.calls[1].fetch_add(1, Ordering::Relaxed);
            probe.uncontended();
            let mut guard = self.value.lock().unwrap();
            let old = guard.take();
            *guard = Some(f(old.clone()));
            old
        }
    }

    pub static LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());

    /// A free function whose body is a critical section of a static mutex.
    #[multiversion_contention(lock = LOG, guard = log)]
    pub fn log_line(line: &str) -> usize {
        log.push(line.to_owned());
        log.len()
    }
}

#[test]
fn generic_impls_methods_and_free_functions() {
    let slot = generic::Slot {
        value: Mutex::new(None),
        calls: Default::default(),
    };
    assert_eq!(slot.swap_with(|_| "a".to_string()), None);
    assert_eq!(
        slot.swap_with(|old| old.unwrap() + "b"),
        Some("a".to_string())
    );
    assert_eq!(slot.value.lock().unwrap().as_deref(), Some("ab"));
    // Uncontended, the dispatcher stays on the first version.
    assert_eq!(slot.calls[0].load(Ordering::Relaxed), 2);
    let numbers = generic::Slot {
        value: Mutex::new(Some(1u64)),
        calls: Default::default(),
    };
    assert_eq!(numbers.swap_with(|old| old.unwrap() * 10), Some(1));
    assert_eq!(generic::log_line("x"), 1);
    assert_eq!(generic::log_line("y"), 2);
    assert_eq!(generic::LOG.lock().unwrap().join(""), "xy");
}

/// Trait impls: the versions are written inside the trait impl next to the dispatcher (the
/// macro moves them to an inherent impl); derived critical sections work on trait methods too.
mod in_trait_impls {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Mutex;

    use hallows_macros::multiversion_contention;
    use hallows_runtime::contention::Probe;

    pub trait Accumulate {
        type Total;
        fn add(&self, n: u64) -> Self::Total;
        fn record(&self, line: &str) -> usize;
        fn scale(&self) -> u64;
    }

    pub struct Sum<const K: u64> {
        pub total: AtomicU64,
        pub lines: Mutex<Vec<String>>,
    }

    #[multiversion_contention]
    impl<const K: u64> Accumulate for Sum<K> {
        type Total = u64;

        /// Adds `n * K`; returns the new total.
        #[contention_versions(add_cas, add_fetch)]
        fn add(&self, n: u64) -> Self::Total {}

        fn add_cas(&self, n: u64, probe: Probe) -> Self::Total {
            let by = n * self.scale();
            let mut failed = 0;
            let mut current = self.total.load(Ordering::Relaxed);
            loop {
                match self.total.compare_exchange_weak(
                    current,
                    current + by,
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        probe.contended(failed);
                        return current + by;
                    }
                    Err(seen) => {
                        failed += 1;
                        current = seen;
                    }
                }
            }
        }

        fn add_fetch(&self, n: u64, probe: Probe) -> Self::Total {
            probe.uncontended();
            let by: Self::Total = n * self.scale();
            self.total.fetch_add(by, Ordering::AcqRel) + by
        }

        #[multiversion_contention(lock = self.lines, guard = lines)]
        fn record(&self, line: &str) -> usize {
            lines.push(line.to_owned());
            lines.len()
        }

        fn scale(&self) -> u64 {
            K
        }
    }
}

#[test]
fn trait_impls_take_both_forms() {
    use in_trait_impls::{Accumulate, Sum};
    let sum = Arc::new(Sum::<3> {
        total: Default::default(),
        lines: Mutex::new(Vec::new()),
    });
    let handles: Vec<_> = (0..threads())
        .map(|t| {
            let s = sum.clone();
            std::thread::spawn(move || {
                for _ in 0..ops() {
                    s.add(1);
                }
                s.record(&t.to_string())
            })
        })
        .collect();
    for h in handles {
        assert!(h.join().unwrap() <= threads());
    }
    assert_eq!(
        sum.total.load(Ordering::Relaxed),
        3 * threads() as u64 * ops()
    );
    assert_eq!(sum.lines.lock().unwrap().len(), threads());
    // Through a generic bound.
    fn add_twice<A: Accumulate>(a: &A) -> A::Total {
        a.add(1);
        a.add(1)
    }
    let before = sum.total.load(Ordering::Relaxed);
    assert_eq!(add_twice(&*sum), before + 6);
}

/// The user's own attributes on a dispatcher stay, `#[inline(never)]` included (the macro
/// adds `#[inline]` only when there is none: a second one would be an unused attribute, an
/// error under this module's `deny`).
#[deny(unused_attributes)]
mod user_attributes {
    use std::sync::atomic::{AtomicU64, Ordering};

    use hallows_macros::multiversion_contention;
    use hallows_runtime::contention::Probe;

    pub struct Hits(pub AtomicU64);

    #[multiversion_contention]
    impl Hits {
        /// Counts one hit; returns the count before.
        #[contention_versions(hit_cas, hit_fetch)]
        #[inline(never)]
        #[must_use]
        pub(crate) fn hit(&self) -> u64 {}

        fn hit_cas(&self, probe: Probe) -> u64 {
            let mut failed = 0;
            let mut seen = self.0.load(Ordering::Relaxed);
            while let Err(now) =
                self.0
                    .compare_exchange_weak(seen, seen + 1, Ordering::Relaxed, Ordering::Relaxed)
            {
                failed += 1;
                seen = now;
            }
            probe.contended(failed);
            seen
        }

        fn hit_fetch(&self, probe: Probe) -> u64 {
            probe.uncontended();
            self.0.fetch_add(1, Ordering::Relaxed)
        }
    }

    /// A derived critical section with `#[inline(always)]` of its own.
    #[multiversion_contention(lock = super::generic::LOG, guard = log)]
    #[inline(always)]
    pub fn lines() -> usize {
        log.len()
    }
}

#[test]
fn the_dispatchers_own_attributes_stay() {
    let hits = user_attributes::Hits(std::sync::atomic::AtomicU64::new(0));
    assert_eq!(hits.hit(), 0);
    assert_eq!(hits.hit(), 1);
    let _ = user_attributes::lines();
}
