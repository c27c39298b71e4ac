//! Memory reclamation, side by side: a Treiber stack with two threads each doing push/pop
//! pairs, reclaimed by hallows' epochs, crossbeam-epoch, seize, hallows' hazard pointers and
//! haphazard. Before the timed runs it prints the peak heap growth of each reclaimer while one
//! reader stays pinned (stalled) during 200 000 push/pop pairs.
//!
//! Run: `cargo bench -p hallows-runtime --bench reclaim -- --warm-up-time 1 --measurement-time 2`;
//! `-- --probe ROUNDS` interleaves hallows epochs and crossbeam-epoch round by round, and
//! `-- --probe ROUNDS recycling` does the same with the recycling stack (a collector made with
//! `Collector::recycling`, nodes from `LocalHandle::alloc`), and
//! `-- --driver hallows_epoch|hallows_epoch_recycling|crossbeam_epoch ROUNDS` runs one of them
//! alone (for callgrind).

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::mpsc;

use criterion::{Criterion, Throughput};

mod lockfree;

/// Counts live heap bytes and their peak, for the stalled-reader measurement.
struct CountingAlloc;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// Counting is on only until the stalled-reader report is done: the two shared counters would
/// otherwise add a contended RMW to every allocation of the timed runs.
static COUNTING: AtomicBool = AtomicBool::new(true);

// SAFETY: forwards to `System` unchanged; only adds counters.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() && COUNTING.load(Ordering::Relaxed) {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const OPS_PER_THREAD: u64 = 10_000;
const STALL_OPS: u64 = 200_000;

/// The operations every stack variant offers; `Local` is the per-thread reclaimer state.
trait Stack: Sync {
    type Local<'a>
    where
        Self: 'a;
    fn local(&self) -> Self::Local<'_>;
    fn push(&self, local: &mut Self::Local<'_>, v: u64);
    fn pop(&self, local: &mut Self::Local<'_>) -> Option<u64>;
}

// ---------------------------------------------------------------- hallows epochs
mod hallows_epoch {
    use hallows_runtime::reclaim::epoch::{Atomic, Collector, LocalHandle};
    use hallows_runtime::sync::atomic::Ordering;

    pub struct Node {
        value: u64,
        next: Atomic<Node>,
    }

    pub struct Stack {
        pub collector: Collector,
        pub head: Atomic<Node>,
    }

    impl Stack {
        pub fn new() -> Self {
            Self {
                collector: Collector::new(),
                head: Atomic::null(),
            }
        }

        /// The same stack on a collector that recycles its nodes' memory
        /// ([`Collector::recycling`]): reclaimed nodes go to the reclaiming handle's pool
        /// and `push` takes them from there instead of from the allocator.
        pub fn recycling() -> Self {
            Self {
                collector: Collector::recycling::<Node>(),
                head: Atomic::null(),
            }
        }
    }

    impl super::Stack for Stack {
        type Local<'a> = LocalHandle;
        fn local(&self) -> LocalHandle {
            self.collector.register()
        }
        fn push(&self, local: &mut LocalHandle, value: u64) {
            let guard = local.pin();
            // `alloc` is `Owned::new` unless the collector recycles `Node`s.
            let node = local
                .alloc(Node {
                    value,
                    next: Atomic::null(),
                })
                .into_shared(&guard);
            let mut head = self.head.load(&guard);
            loop {
                // SAFETY: unpublished node, ours alone.
                unsafe { node.as_ref() }
                    .unwrap()
                    .next
                    .store(head, Ordering::Relaxed);
                match self.head.compare_exchange_weak(
                    head,
                    node,
                    Ordering::Release,
                    Ordering::Relaxed,
                    &guard,
                ) {
                    Ok(_) => return,
                    Err(_) => head = self.head.load(&guard),
                }
            }
        }
        fn pop(&self, local: &mut LocalHandle) -> Option<u64> {
            let guard = local.pin();
            loop {
                let head = self.head.load(&guard);
                // SAFETY: loaded under the guard.
                let node = unsafe { head.as_ref() }?;
                let next = node.next.load(&guard);
                if self
                    .head
                    .compare_exchange(head, next, Ordering::AcqRel, Ordering::Acquire, &guard)
                    .is_ok()
                {
                    let v = node.value;
                    // SAFETY: unlinked by our CAS, retired once.
                    unsafe { guard.retire(head) };
                    return Some(v);
                }
            }
        }
    }

    impl Drop for Stack {
        fn drop(&mut self) {
            // SAFETY: exclusive access.
            let mut cur = unsafe { self.head.take_owned() };
            while let Some(n) = cur {
                let mut n = n.into_inner();
                // SAFETY: exclusive access.
                cur = unsafe { n.next.take_owned() };
            }
        }
    }
}

// ---------------------------------------------------------------- crossbeam-epoch
mod crossbeam {
    use crossbeam_epoch::{self as epoch, Atomic, Owned};
    use std::sync::atomic::Ordering;

    pub struct Node {
        value: u64,
        next: Atomic<Node>,
    }

    pub struct Stack {
        pub head: Atomic<Node>,
    }

    impl super::Stack for Stack {
        type Local<'a> = ();
        fn local(&self) {}
        fn push(&self, _: &mut (), value: u64) {
            let guard = epoch::pin();
            let mut node = Owned::new(Node {
                value,
                next: Atomic::null(),
            });
            loop {
                let head = self.head.load(Ordering::Relaxed, &guard);
                node.next.store(head, Ordering::Relaxed);
                match self.head.compare_exchange_weak(
                    head,
                    node,
                    Ordering::Release,
                    Ordering::Relaxed,
                    &guard,
                ) {
                    Ok(_) => return,
                    Err(e) => node = e.new,
                }
            }
        }
        fn pop(&self, _: &mut ()) -> Option<u64> {
            let guard = epoch::pin();
            loop {
                let head = self.head.load(Ordering::Acquire, &guard);
                // SAFETY: loaded under the guard.
                let node = unsafe { head.as_ref() }?;
                let next = node.next.load(Ordering::Relaxed, &guard);
                if self
                    .head
                    .compare_exchange(head, next, Ordering::AcqRel, Ordering::Acquire, &guard)
                    .is_ok()
                {
                    let v = node.value;
                    // SAFETY: unlinked by our CAS.
                    unsafe { guard.defer_destroy(head) };
                    return Some(v);
                }
            }
        }
    }

    impl Drop for Stack {
        fn drop(&mut self) {
            // SAFETY: exclusive access.
            let guard = unsafe { epoch::unprotected() };
            let mut cur = self.head.load(Ordering::Relaxed, guard);
            while !cur.is_null() {
                // SAFETY: exclusive access; live nodes freed once.
                let n = unsafe { cur.into_owned() };
                cur = n.next.load(Ordering::Relaxed, guard);
            }
        }
    }
}

// ---------------------------------------------------------------- seize
mod seize_stack {
    use seize::{reclaim, Collector, Guard, LocalGuard};
    use std::ptr;
    use std::sync::atomic::{AtomicPtr, Ordering};

    pub struct Node {
        value: u64,
        next: *mut Node,
    }

    pub struct Stack {
        pub collector: Collector,
        pub head: AtomicPtr<Node>,
    }

    // SAFETY: nodes are only accessed under the collector's protection.
    unsafe impl Sync for Stack {}

    impl super::Stack for Stack {
        type Local<'a> = ();
        fn local(&self) {}
        fn push(&self, _: &mut (), value: u64) {
            let guard: LocalGuard<'_> = self.collector.enter();
            let node = Box::into_raw(Box::new(Node {
                value,
                next: ptr::null_mut(),
            }));
            let mut head = guard.protect(&self.head, Ordering::Relaxed);
            loop {
                // SAFETY: unpublished.
                unsafe { (*node).next = head };
                match self.head.compare_exchange_weak(
                    head,
                    node,
                    Ordering::Release,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return,
                    Err(h) => head = h,
                }
            }
        }
        fn pop(&self, _: &mut ()) -> Option<u64> {
            let guard = self.collector.enter();
            loop {
                let head = guard.protect(&self.head, Ordering::Acquire);
                if head.is_null() {
                    return None;
                }
                // SAFETY: protected by the guard.
                let next = unsafe { (*head).next };
                if self
                    .head
                    .compare_exchange(head, next, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    // SAFETY: as above.
                    let v = unsafe { (*head).value };
                    // SAFETY: unlinked by our CAS, from Box.
                    unsafe { guard.defer_retire(head, reclaim::boxed) };
                    return Some(v);
                }
            }
        }
    }

    impl Drop for Stack {
        fn drop(&mut self) {
            let mut cur = *self.head.get_mut();
            while !cur.is_null() {
                // SAFETY: exclusive access; live nodes freed once.
                let n = unsafe { Box::from_raw(cur) };
                cur = n.next;
            }
        }
    }
}

// ---------------------------------------------------------------- hallows hazard pointers
mod hallows_hazard {
    use hallows_runtime::reclaim::hazard::{HazardDomain, HazardPointer};
    use hallows_runtime::sync::atomic::{AtomicPtr, Ordering};
    use std::ptr;

    pub struct Node {
        value: u64,
        next: *mut Node,
    }

    // SAFETY: `next` is only followed under hazard protection.
    unsafe impl Send for Node {}

    pub struct Stack {
        pub domain: HazardDomain,
        pub head: AtomicPtr<Node>,
    }

    // SAFETY: nodes are only accessed under hazard protection.
    unsafe impl Sync for Stack {}

    impl super::Stack for Stack {
        type Local<'a> = HazardPointer<'a>;
        fn local(&self) -> HazardPointer<'_> {
            self.domain.hazard()
        }
        fn push(&self, _: &mut HazardPointer<'_>, value: u64) {
            let node = Box::into_raw(Box::new(Node {
                value,
                next: ptr::null_mut(),
            }));
            let mut head = self.head.load(Ordering::Relaxed);
            loop {
                // SAFETY: unpublished.
                unsafe { (*node).next = head };
                match self.head.compare_exchange_weak(
                    head,
                    node,
                    Ordering::Release,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return,
                    Err(h) => head = h,
                }
            }
        }
        fn pop(&self, hp: &mut HazardPointer<'_>) -> Option<u64> {
            loop {
                let head = hp.protect(&self.head);
                if head.is_null() {
                    return None;
                }
                // SAFETY: protected by `hp`.
                let next = unsafe { (*head).next };
                if self
                    .head
                    .compare_exchange(head, next, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    // SAFETY: as above.
                    let v = unsafe { (*head).value };
                    hp.reset();
                    // SAFETY: unlinked by our CAS, from Box, retired once.
                    unsafe { self.domain.retire(head) };
                    return Some(v);
                }
            }
        }
    }

    impl Drop for Stack {
        fn drop(&mut self) {
            let mut cur = self.head.load(Ordering::Relaxed);
            while !cur.is_null() {
                // SAFETY: exclusive access; live nodes freed once.
                let n = unsafe { Box::from_raw(cur) };
                cur = n.next;
            }
        }
    }
}

// ---------------------------------------------------------------- haphazard
mod haphazard_stack {
    use haphazard::{Domain, HazardPointer};
    use std::ptr;
    use std::sync::atomic::{AtomicPtr, Ordering};

    pub struct Node {
        value: u64,
        next: *mut Node,
    }

    // SAFETY: `next` is only followed under hazard protection.
    unsafe impl Send for Node {}
    // SAFETY: as above.
    unsafe impl Sync for Node {}

    pub struct Stack {
        pub head: AtomicPtr<Node>,
    }

    impl super::Stack for Stack {
        type Local<'a> = HazardPointer<'static>;
        fn local(&self) -> HazardPointer<'static> {
            HazardPointer::new()
        }
        fn push(&self, _: &mut HazardPointer<'static>, value: u64) {
            let node = Box::into_raw(Box::new(Node {
                value,
                next: ptr::null_mut(),
            }));
            let mut head = self.head.load(Ordering::Relaxed);
            loop {
                // SAFETY: unpublished.
                unsafe { (*node).next = head };
                match self.head.compare_exchange_weak(
                    head,
                    node,
                    Ordering::Release,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return,
                    Err(h) => head = h,
                }
            }
        }
        fn pop(&self, hp: &mut HazardPointer<'static>) -> Option<u64> {
            loop {
                let (head, _) = hp.protect_ptr(&self.head)?;
                let head = head.as_ptr();
                // SAFETY: protected by `hp`.
                let next = unsafe { (*head).next };
                if self
                    .head
                    .compare_exchange(head, next, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    // SAFETY: as above.
                    let v = unsafe { (*head).value };
                    hp.reset_protection();
                    // SAFETY: unlinked by our CAS, from Box, retired once.
                    unsafe { Domain::global().retire_ptr::<Node, Box<Node>>(head) };
                    return Some(v);
                }
            }
        }
    }

    impl Drop for Stack {
        fn drop(&mut self) {
            let mut cur = *self.head.get_mut();
            while !cur.is_null() {
                // SAFETY: exclusive access; live nodes freed once.
                let n = unsafe { Box::from_raw(cur) };
                cur = n.next;
            }
        }
    }
}

/// Two threads, each doing push/pop pairs.
fn run_pairs<S: Stack>(stack: &S) {
    std::thread::scope(|s| {
        for t in 0..2 {
            s.spawn(move || {
                let mut local = stack.local();
                for i in 0..OPS_PER_THREAD {
                    stack.push(&mut local, t * OPS_PER_THREAD + i);
                    black_box(stack.pop(&mut local));
                }
            });
        }
    });
}

fn treiber(c: &mut Criterion) {
    let mut group = c.benchmark_group("treiber_stack_2_threads");
    group.throughput(Throughput::Elements(2 * 2 * OPS_PER_THREAD));
    let hallows = hallows_epoch::Stack::new();
    group.bench_function("hallows_epoch", |b| b.iter(|| run_pairs(&hallows)));
    let recycling = hallows_epoch::Stack::recycling();
    group.bench_function("hallows_epoch_recycling", |b| {
        b.iter(|| run_pairs(&recycling))
    });
    let cb = crossbeam::Stack {
        head: crossbeam_epoch::Atomic::null(),
    };
    group.bench_function("crossbeam_epoch", |b| b.iter(|| run_pairs(&cb)));
    let sz = seize_stack::Stack {
        collector: seize::Collector::new(),
        head: AtomicPtr::new(ptr::null_mut()),
    };
    group.bench_function("seize", |b| b.iter(|| run_pairs(&sz)));
    let hz = hallows_hazard::Stack {
        domain: hallows_runtime::reclaim::hazard::HazardDomain::new(),
        head: hallows_runtime::sync::atomic::AtomicPtr::new(ptr::null_mut()),
    };
    group.bench_function("hallows_hazard", |b| b.iter(|| run_pairs(&hz)));
    let hh = haphazard_stack::Stack {
        head: AtomicPtr::new(ptr::null_mut()),
    };
    group.bench_function("haphazard", |b| b.iter(|| run_pairs(&hh)));
    group.finish();
}

/// Peak heap growth while a reader stays pinned (or holds a hazard) through `STALL_OPS`
/// push/pop pairs by another thread. `stall` runs on the reader thread: it pins, signals, and
/// holds the pin until told to stop.
fn peak_with_stalled_reader<S: Stack>(name: &str, stack: &S, stall: impl Fn(&S, &dyn Fn()) + Sync) {
    let mut local = stack.local();
    stack.push(&mut local, 0);
    std::thread::scope(|s| {
        let (pinned_tx, pinned_rx) = mpsc::channel::<()>();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let stall = &stall;
        s.spawn(move || {
            stall(stack, &|| {
                pinned_tx.send(()).unwrap();
                release_rx.recv().unwrap();
            });
        });
        pinned_rx.recv().unwrap();
        let base = LIVE.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        for i in 0..STALL_OPS {
            stack.push(&mut local, i);
            black_box(stack.pop(&mut local));
        }
        let peak = PEAK.load(Ordering::Relaxed) - base;
        eprintln!(
            "stalled-reader peak heap growth over {STALL_OPS} push/pop pairs: {name:>16} {:>10} bytes",
            peak
        );
        release_tx.send(()).unwrap();
    });
}

fn stalled_reader_report() {
    let hallows = hallows_epoch::Stack::new();
    peak_with_stalled_reader("hallows_epoch", &hallows, |st, wait| {
        let h = st.collector.register();
        let g = h.pin();
        black_box(st.head.load(&g));
        wait();
    });
    let recycling = hallows_epoch::Stack::recycling();
    peak_with_stalled_reader("hallows_epoch_rec", &recycling, |st, wait| {
        let h = st.collector.register();
        let g = h.pin();
        black_box(st.head.load(&g));
        wait();
    });
    let cb = crossbeam::Stack {
        head: crossbeam_epoch::Atomic::null(),
    };
    peak_with_stalled_reader("crossbeam_epoch", &cb, |st, wait| {
        let g = crossbeam_epoch::pin();
        black_box(st.head.load(Ordering::Acquire, &g));
        wait();
    });
    let sz = seize_stack::Stack {
        collector: seize::Collector::new(),
        head: AtomicPtr::new(ptr::null_mut()),
    };
    peak_with_stalled_reader("seize", &sz, |st, wait| {
        use seize::Guard;
        let g = st.collector.enter();
        black_box(g.protect(&st.head, Ordering::Acquire));
        wait();
    });
    let hz = hallows_hazard::Stack {
        domain: hallows_runtime::reclaim::hazard::HazardDomain::new(),
        head: hallows_runtime::sync::atomic::AtomicPtr::new(ptr::null_mut()),
    };
    peak_with_stalled_reader("hallows_hazard", &hz, |st, wait| {
        let mut hp = st.domain.hazard();
        black_box(hp.protect(&st.head));
        wait();
    });
    let hh = haphazard_stack::Stack {
        head: AtomicPtr::new(ptr::null_mut()),
    };
    peak_with_stalled_reader("haphazard", &hh, |st, wait| {
        let mut hp = haphazard::HazardPointer::new();
        black_box(hp.protect_ptr(&st.head));
        wait();
    });
}

/// Prints what was wrong with the command line and how to call the driver, then exits with
/// status 2 (bad usage) instead of panicking.
fn usage_error(what: &str) -> ! {
    eprintln!(
        "reclaim: {what}\nusage: reclaim --driver hallows_epoch|hallows_epoch_recycling|\
         crossbeam_epoch ROUNDS\n       reclaim --probe ROUNDS [recycling]"
    );
    std::process::exit(2)
}

/// `--driver NAME ROUNDS`: runs only `NAME`'s two-thread pairs `ROUNDS` times, no criterion
/// (for `valgrind --tool=callgrind`). `--probe ROUNDS`: hallows epochs and crossbeam-epoch
/// interleaved round by round (alternating which goes first); prints both medians and the
/// median of the per-round ratios crossbeam ÷ hallows.
fn driver(args: &[String]) -> bool {
    if !matches!(
        args.first().map(String::as_str),
        Some("--driver" | "--probe")
    ) {
        return false;
    }
    COUNTING.store(false, Ordering::Relaxed);
    let rounds = |i: usize| -> usize {
        match args.get(i).map(|a| a.parse::<usize>()) {
            Some(Ok(n)) => n,
            _ => usage_error(&format!(
                "expected a round count (a whole number) as argument {}, got {}",
                i + 1,
                args.get(i)
                    .map_or("nothing".to_string(), |a| format!("{a:?}"))
            )),
        }
    };
    // `--driver NAME ROUNDS` takes nothing after the round count, `--probe ROUNDS` only
    // `recycling`: a stray word is a typo, not something to ignore.
    let allowed = match args.first().map(String::as_str) {
        Some("--probe") if args.get(2).map(String::as_str) == Some("recycling") => 3,
        _ => 2 + usize::from(args.first().map(String::as_str) == Some("--driver")),
    };
    if let Some(extra) = args.get(allowed) {
        usage_error(&format!("unexpected argument {extra:?}"));
    }
    // `--probe ROUNDS recycling` and `--driver hallows_epoch_recycling` use the recycling stack.
    let recycling = args.get(2).map(String::as_str) == Some("recycling")
        || args.get(1).map(String::as_str) == Some("hallows_epoch_recycling");
    let hallows = if recycling {
        hallows_epoch::Stack::recycling()
    } else {
        hallows_epoch::Stack::new()
    };
    let cb = crossbeam::Stack {
        head: crossbeam_epoch::Atomic::null(),
    };
    match args.first().map(String::as_str) {
        Some("--driver") => {
            let name = args.get(1).map(String::as_str);
            if !matches!(
                name,
                Some("hallows_epoch" | "hallows_epoch_recycling" | "crossbeam_epoch")
            ) {
                usage_error(&format!(
                    "unknown driver {}: expected hallows_epoch, hallows_epoch_recycling \
                     or crossbeam_epoch",
                    name.map_or("(none given)".to_string(), |o| format!("{o:?}"))
                ));
            }
            let n = rounds(2);
            if name == Some("crossbeam_epoch") {
                (0..n).for_each(|_| run_pairs(&cb));
            } else {
                (0..n).for_each(|_| run_pairs(&hallows));
            }
            eprintln!("hallows epoch advances: {}", hallows.collector.epoch());
            true
        }
        Some("--probe") => {
            let n = rounds(1);
            lockfree::pairs(
                if recycling {
                    "treiber_recycling"
                } else {
                    "treiber"
                },
                "crossbeam_epoch",
                n,
                &|| run_pairs(&hallows),
                &|| run_pairs(&cb),
            );
            println!(
                "hallows epoch advances per round: {:.1}",
                hallows.collector.epoch() as f64 / (n + lockfree::WARM_UP_ROUNDS) as f64
            );
            true
        }
        _ => false,
    }
}

fn main() {
    // `cargo bench` adds `--bench` after the user's arguments; the drivers ignore it.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if driver(&args) {
        return;
    }
    // `cargo bench --no-run` builds only; `cargo test --benches` runs main with `--test`.
    let testing = std::env::args().any(|a| a == "--test" || a == "--list");
    if !testing {
        stalled_reader_report();
    }
    COUNTING.store(false, Ordering::Relaxed);
    let mut c = Criterion::default().configure_from_args();
    treiber(&mut c);
    c.final_summary();
}
