//! Bounded multi-producer single-consumer queue: packed slots, cache-padded indices.
//!
//! [`bounded`] returns a cloneable [`Producer`] and a single [`Consumer`]. Producers have
//! [`Producer::try_push`] (never blocks) and [`Producer::push`] (waits while the queue is full:
//! backpressure); the consumer has [`Consumer::pop`] and [`Consumer::pop_batch`]. All memory is
//! allocated by [`bounded`]; pushing and popping never allocate.
//!
//! # Protocol
//!
//! This is Dmitry Vyukov's bounded MPMC queue ("Bounded MPMC queue", 1024cores.net, 2010)
//! specialised to one consumer, so the consumer's head index is a plain field instead of a
//! contended atomic. The buffer has `cap` (a power of two, at least 2) slots; slot `i` carries a sequence
//! number `seq` and a value cell. Positions are unbounded `usize` counters; position `p` uses slot
//! `p & (cap - 1)`.
//!
//! Slot states, for the position `p` that maps to it:
//!
//! | `seq`     | meaning                                                        |
//! |-----------|----------------------------------------------------------------|
//! | `p`       | empty, ready for the producer that claims position `p`         |
//! | `p + 1`   | full: the value for position `p` is written, consumer may take |
//! | `p + cap` | empty again, ready for position `p + cap` (next lap)           |
//!
//! Push (any producer):
//! 1. Load `tail` (Relaxed) as `p`; load the slot's `seq` (Acquire, pairs with the consumer's
//!    Release in pop step 3 so the old value was moved out before we overwrite it).
//! 2. `seq == p`: CAS `tail` from `p` to `p + 1` to claim the position (Relaxed: the claim only
//!    orders against other producers' CASes on the same counter; the data is published by step 3),
//!    then `fence(SeqCst)` (for the blocking pop's wake-up, below; on x86_64 the `lock cmpxchg`
//!    of the CAS is that fence already and only a compiler fence is emitted).
//!    `seq < p`: the slot still holds the value from the previous lap → full. `seq > p`: another
//!    producer claimed `p`; reload `tail` and retry.
//! 3. Write the value, then store `seq = p + 1` (Release, pairs with the consumer's Acquire load).
//!
//! Pop (the consumer, at its private `head = p`):
//! 1. Load the slot's `seq` (Acquire). `seq == p + 1`: full; otherwise the producer of `p` has
//!    not finished (or never started) → empty.
//! 2. Move the value out.
//! 3. Store `seq = p + cap` (Release) and advance `head`.
//!
//! Blocking push: when the queue stays full through the bounded wait (below, "Waiting") a
//! producer parks. It increments `waiting` (under the `parking` mutex), issues `fence(SeqCst)` and
//! retries once before waiting on the condvar; the consumer, after freeing a slot, issues
//! `fence(SeqCst)` and reads `waiting`; if non-zero it takes and releases the mutex and
//! notifies (after the release, so the woken producer does not block again on it). The two
//! SeqCst fences forbid the "producer sees full, consumer sees no waiter" outcome (the classic
//! Dekker pattern), and holding the mutex from the re-check to the wait means the notification
//! cannot fall between them (a notifier that has taken the mutex after the re-check finds the
//! waiter inside `wait`, where a notification reaches it). A pop wakes one parked producer, a batch pop all of them. Dropping the consumer
//! closes the queue and wakes every parked producer, so `push` returns an error instead of blocking forever.
//!
//! Blocking pop ([`Consumer::pop_blocking`]) is the mirror image: the consumer sets
//! `consumer_parked` under the mutex, issues `fence(SeqCst)`, re-checks its slot and then loads
//! `tail`; it waits on `not_empty` only if `tail == head` (no producer has claimed its
//! position). Every push issues `fence(SeqCst)` right after its CAS on `tail` (push step 2; the
//! store buffer is empty there, so the fence is cheap, whereas after the `seq` store of step 3
//! it would wait for that store) and, after publishing its slot, reads `consumer_parked`: either
//! the consumer's load of `tail` sees the claim, or the producer sees the flag, and the producer
//! whose `swap(false)` finds it set takes and releases the mutex and notifies (so one producer,
//! not every one, pays for the wake-up). When the consumer is not parked, a push's whole
//! wake-up cost is that Relaxed load of a flag no one writes (its line stays shared in every
//! producer's cache) behind a fence that is free on x86_64. If the consumer sees a claimed but unpublished position
//! (`tail != head`, slot not full) it does not sleep: it unlocks, yields and re-checks, since
//! that producer may have read the flag before it was set. The consumer re-arms the flag before
//! each re-check. The last [`Producer`] to drop (tracked by `producers`, decremented with
//! AcqRel) wakes the consumer, which then drains what is left and returns `None`.
//!
//! # Waiting
//!
//! Before parking, a blocking operation waits in two bounded phases (`wait_briefly`):
//! [`SPIN_ROUNDS`] rounds of exponential spinning (1 + 2 + ... + 32 = 63 `pause`s), then
//! yielding the time slice between attempts until a *yield budget* (time since the first
//! yield) is spent. Parking costs a futex wait and a wake-up (two system calls, and on a VM an
//! inter-processor interrupt to a halted vCPU, which took milliseconds in session 9's slow
//! rounds), so a wait that ends soon after the park is cheaper spent yielding; a peer that is
//! really idle should not keep us yielding. Each side therefore adapts its budget from how long
//! its parks actually lasted (`adapt_budget`): a park that ended within [`YIELD_BUDGET_MAX`]
//! (1 ms) was one yielding could have avoided, so the budget grows to at least that park's
//! length (at least doubling); a longer park halves it, down to [`YIELD_BUDGET_MIN`] (4 µs).
//! New queues start at [`YIELD_BUDGET_INITIAL`] (100 µs). This is competitive spinning
//! (Karlin, Li, Manasse, Owicki, "Empirical Studies of Competitive Spinning for a
//! Shared-Memory Multiprocessor", SOSP 1991: spin about as long as blocking costs, adapting
//! the limit to the waits observed), with yielding instead of pure spinning so that on an
//! oversubscribed machine the awaited thread can run on our core. crossbeam's `Backoff` (used
//! by its channels) spins 7 rounds and yields 4 times before blocking, with no adaptation;
//! crossbeam's `ArrayQueue` has no blocking operations at all (the bench's driver yields).
//! The consumer keeps its budget in its own handle; producers share one in the queue
//! (Relaxed: a hint, touched only on the waiting path). The budget never affects correctness:
//! the park protocol above is the same after any number of attempts, which the loom models
//! check with a budget of one or two yield rounds (loom has no clock; there a per-thread
//! counter ticks once per reading).
//!
//! # Slipping
//!
//! When [`Consumer::pop_blocking`] finds the queue empty, it does not poll its own slot: that
//! slot's line is the one producers are writing, and a consumer that chases them takes it
//! away from the producer on every value (two line transfers per value, where a consumer that
//! trails by a few lines takes each line once, after producers are done with it). Instead it
//! waits, for at most [`SLIP_ROUNDS`] backoff rounds, until the slot [`SLIP_SLOTS`] positions
//! ahead is full (a Relaxed load: only a hint), then takes values as usual. This is the
//! "temporal slipping" of FastForward (Giacomoni, Moseley, Vachharajani, "FastForward for
//! Efficient Pipeline Parallelism", PPoPP 2008, §3.3), bounded so that a lone value is still
//! delivered after a few microseconds. `pop` and `pop_batch` never wait.
//!
//! Measured with the interleaved probe `cargo bench -p hallows-runtime --bench lockfree_pairs
//! -- 150 mpsc` (session 5, AMD Zen 5 VM, 2 vCPUs; 3 threads, so the bench runs oversubscribed;
//! same binary, distance set through a temporary environment knob, alternated in one run):
//! `ArrayQueue` time ÷ ours, median of per-round ratios, without slipping 0.956 / 0.962, with
//! 16 slots 1.244 / 1.153, 32 slots 1.041 / 1.204, 64 slots 1.047 / 1.089.
//!
//! The committed form (16 slots, 8 rounds, no knob) against the previous code (commit aff5d1c),
//! alternated in one exclusive run, two rounds (same machine):
//!
//! | | previous | slipping |
//! |---|---|---|
//! | probe, `ArrayQueue` ÷ ours (median of 150 rounds) | 0.722 / 1.000 | 0.768 / 0.894 |
//! | criterion `mpsc`, ours | 645 / 643 µs | 589 / 621 µs |
//! | criterion `mpsc`, `ArrayQueue` (same binary as ours) | 619 / 499 µs | 629 / 495 µs |
//!
//! In the slipping rounds the other competitors took: crossbeam bounded channel 977 / 1067 µs,
//! `sync_channel` 725 / 910 µs, flume 3.52 / 3.93 ms (all slower than ours). The earlier
//! baseline of the previous code, `cargo bench -p hallows-runtime --bench mpsc --
//! --warm-up-time 1 --measurement-time 3`, two runs: ours 647 / 587 µs, `ArrayQueue` 632 / 491,
//! crossbeam channel 895 / 1033, `sync_channel` 1058 / 993, flume 4089 / 4913 µs; the probe
//! (400 rounds) gave `ArrayQueue` ÷ ours 0.734 / 0.742.
//!
//! So slipping takes 3–9% off our criterion time, but in this run the queue is still not at
//! least as fast as `ArrayQueue` (criterion ratio 1.07 in one round, 0.80 in the other). On this
//! 2-vCPU VM the bench runs 3 threads, and both queues run in two modes: one producer and the
//! consumer streaming on separate cores with the other producer queued (no context switches in
//! a round), or a thread sharing a core with its peer and handing over through yields (20–60
//! switches per round, counted by the probe). Shorter spinning before yielding, or yielding
//! without ever parking, did not get ahead of `ArrayQueue` either (probe ratios 0.59–0.98 in
//! the same session).
//!
//! # Layout
//!
//! `tail` (written by every producer) and the consumer's `head` mirror each sit on their own
//! cache-line pair ([`CachePadded`](crate::padding::CachePadded)). The slots are packed (`seq` + value, 16 bytes for a
//! `u64`, so with the allocator's 16-byte alignment such a slot never straddles a line), not
//! one per line: a batch pop then reads four slots per line transfer instead of one.
//! Measured on the `mpsc` bench (2 producers, 1 consumer, 1024 slots, 2 cores), one slot per
//! 128-byte line took 1.2–1.4 ms per 40 000 values, packed slots 0.41–0.56 ms. Producers and
//! the consumer share a slot line only while the queue is nearly empty, when they touch
//! neighbouring positions anyway.

use core::fmt;
use core::marker::PhantomData;
use core::mem::MaybeUninit;

use crate::padding::CachePadded;
use crate::sync::atomic::{fence, AtomicBool, AtomicU32, AtomicUsize, Ordering};
use crate::sync::{spin_loop, thread, Arc, Condvar, Mutex, UnsafeCell, MAX_BACKOFF_EXP};

/// Rounds of exponential spinning (1, 2, 4, ... `pause`s) a blocking `push` or `pop_blocking`
/// makes before it starts yielding (2 under loom, to keep the models small).
pub const SPIN_ROUNDS: u32 = if cfg!(loom) {
    2
} else {
    SPIN_ROUNDS_BEFORE_YIELD
};

/// Smallest yield budget (module docs, "Waiting"): nanoseconds, or clock ticks under loom.
pub const YIELD_BUDGET_MIN: u32 = if cfg!(loom) { 1 } else { 4_000 };
/// Yield budget of a new queue, for its producers and for its consumer.
pub const YIELD_BUDGET_INITIAL: u32 = if cfg!(loom) { 1 } else { 100_000 };
/// Largest yield budget, and the longest park still counted as "short" (one that yielding
/// a little longer would have avoided).
pub const YIELD_BUDGET_MAX: u32 = if cfg!(loom) { 2 } else { 1_000_000 };

/// The yield budget after a wait that gave up yielding and then stayed parked for `parked`
/// (module docs, "Waiting"): a short park (at most [`YIELD_BUDGET_MAX`]) means the budget was
/// too small, so it grows to cover that park (at least doubling); a longer one means the peer
/// was really idle, so it halves. Always within [`YIELD_BUDGET_MIN`]..=[`YIELD_BUDGET_MAX`].
fn adapt_budget(budget: u32, parked: u64) -> u32 {
    let budget = budget.clamp(YIELD_BUDGET_MIN, YIELD_BUDGET_MAX);
    if parked <= u64::from(YIELD_BUDGET_MAX) {
        // `parked` fits in u32 here (at most YIELD_BUDGET_MAX).
        budget
            .saturating_mul(2)
            .max(parked as u32)
            .min(YIELD_BUDGET_MAX)
    } else {
        (budget / 2).max(YIELD_BUDGET_MIN)
    }
}

/// The clock the wait budgets are measured with: [`std::time::Instant`] in nanoseconds, or,
/// under loom (which has no time), a per-thread counter that advances one tick per reading, so
/// the models run the same budget code with a budget of one or two yield rounds.
mod clock {
    #[cfg(not(loom))]
    pub(super) type Stamp = std::time::Instant;

    #[cfg(not(loom))]
    #[inline]
    pub(super) fn now() -> Stamp {
        std::time::Instant::now()
    }

    /// Nanoseconds since `start`, saturated to `u64`.
    #[cfg(not(loom))]
    #[inline]
    pub(super) fn since(start: Stamp) -> u64 {
        u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    #[cfg(loom)]
    pub(super) type Stamp = u64;

    #[cfg(loom)]
    crate::sync::thread_local! {
        static TICKS: core::cell::Cell<u64> = core::cell::Cell::new(0);
    }

    #[cfg(loom)]
    pub(super) fn now() -> Stamp {
        TICKS.with(|t| {
            let v = t.get() + 1;
            t.set(v);
            v
        })
    }

    #[cfg(loom)]
    pub(super) fn since(start: Stamp) -> u64 {
        now() - start
    }
}

/// What one attempt of a bounded wait (`wait_briefly`) found.
enum Step<R> {
    /// Finished with this result.
    Done(R),
    /// Not yet: keep waiting.
    Retry,
    /// Stop waiting and go to the parking path now (it handles the case, e.g. disconnection).
    Park,
}

/// The bounded part of a blocking operation (module docs, "Waiting"): calls `attempt`, first
/// between [`SPIN_ROUNDS`] rounds of exponential spinning, then between yields until `budget`
/// (nanoseconds) has passed since the yielding began. `None`: the caller parks.
#[inline]
fn wait_briefly<R>(budget: u32, mut attempt: impl FnMut() -> Step<R>) -> Option<R> {
    for round in 0..SPIN_ROUNDS {
        match attempt() {
            Step::Done(r) => return Some(r),
            Step::Park => return None,
            Step::Retry => {}
        }
        // Spins: `round < SPIN_ROUNDS <= SPIN_ROUNDS_BEFORE_YIELD`.
        backoff(round);
    }
    let start = clock::now();
    loop {
        match attempt() {
            Step::Done(r) => return Some(r),
            Step::Park => return None,
            Step::Retry => {}
        }
        if clock::since(start) >= u64::from(budget) {
            return None;
        }
        thread::yield_now();
    }
}

/// Fewest slots a queue has: with one slot, "full for position `p`" (`seq = p + 1`) and "empty
/// for position `p + 1`" (`seq = p + cap`) would be the same state.
pub const MIN_SLOTS: usize = 2;

/// Backoff rounds that spin before the remaining rounds yield the time slice instead (so an
/// oversubscribed peer can run before we park).
pub const SPIN_ROUNDS_BEFORE_YIELD: u32 = 6;

/// One round of the blocking operations' backoff: exponential spinning, then yielding.
#[cfg_attr(
    loom,
    expect(
        clippy::unnecessary_min_or_max,
        reason = "MAX_BACKOFF_EXP is 0 under loom (one spin per round keeps the models small)"
    )
)]
fn backoff(attempt: u32) {
    if attempt < SPIN_ROUNDS_BEFORE_YIELD {
        for _ in 0..(1_u32 << attempt.min(MAX_BACKOFF_EXP)) {
            spin_loop();
        }
    } else {
        thread::yield_now();
    }
}

/// The `fence(SeqCst)` a producer issues right after winning the CAS on `tail`.
///
/// On x86_64 that CAS is a `lock cmpxchg`, which is already a full hardware barrier, so only
/// the compiler must be kept from moving later accesses above it (the substitution
/// crossbeam-epoch makes for its pin fence, and `reclaim::epoch` for its own). Loom and Miri
/// check the language-level model, so they, and other targets, get the portable fence.
#[inline(always)]
fn fence_after_claim() {
    #[cfg(all(target_arch = "x86_64", not(loom), not(miri)))]
    {
        // ORDERING: see the function docs; the caller names the pairing.
        core::sync::atomic::compiler_fence(Ordering::SeqCst);
    }
    #[cfg(not(all(target_arch = "x86_64", not(loom), not(miri))))]
    {
        // ORDERING: see the function docs; the caller names the pairing.
        fence(Ordering::SeqCst);
    }
}

/// How far ahead of an empty consumer [`Consumer::pop_blocking`] waits for the producers to
/// get before it takes the next value (module docs, "Slipping"); at most half the slots.
pub const SLIP_SLOTS: usize = 16;

/// Backoff rounds [`Consumer::pop_blocking`] waits for the producers to get [`SLIP_SLOTS`]
/// ahead (about 60 `pause`s and two yields) before it takes whatever is there (1 under loom).
pub const SLIP_ROUNDS: u32 = if cfg!(loom) { 1 } else { 8 };

/// Largest capacity [`bounded`] accepts: positions must never wrap into a slot still in use.
pub const MAX_CAPACITY: usize = 1 << (usize::BITS - 2);

/// Error from [`bounded`] when the requested capacity is unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapacityError {
    requested: usize,
}

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "queue capacity must be between 1 and {MAX_CAPACITY}, got {}; pass a positive capacity",
            self.requested
        )
    }
}

impl std::error::Error for CapacityError {}

/// Why a push did not enqueue; the value is handed back.
#[derive(PartialEq, Eq)]
pub enum PushError<T> {
    /// Every slot is occupied (only from [`Producer::try_push`]).
    Full(T),
    /// The [`Consumer`] was dropped; nobody will ever pop the value.
    Disconnected(T),
}

impl<T> PushError<T> {
    /// Returns the value that was not enqueued.
    pub fn into_inner(self) -> T {
        match self {
            Self::Full(v) | Self::Disconnected(v) => v,
        }
    }
}

impl<T> fmt::Debug for PushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("Full(..)"),
            Self::Disconnected(_) => f.write_str("Disconnected(..)"),
        }
    }
}

impl<T> fmt::Display for PushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("queue is full; retry later or use the blocking `push`"),
            Self::Disconnected(_) => f.write_str("queue consumer was dropped; stop producing"),
        }
    }
}

impl<T> std::error::Error for PushError<T> {}

struct Slot<T> {
    seq: AtomicUsize,
    value: UnsafeCell<MaybeUninit<T>>,
}

struct Shared<T> {
    /// Next position a producer claims.
    tail: CachePadded<AtomicUsize>,
    /// The consumer's head, mirrored so `Drop` (and `len`) can find the remaining values.
    /// Written only by the consumer.
    head: CachePadded<AtomicUsize>,
    slots: Box<[Slot<T>]>,
    mask: usize,
    closed: AtomicBool,
    waiting: AtomicUsize,
    /// Live `Producer` handles.
    producers: AtomicUsize,
    /// The consumer is parked (or about to park) in `pop_blocking`.
    consumer_parked: AtomicBool,
    /// The producers' yield budget (module docs, "Waiting"), shared by every `Producer`:
    /// read and written Relaxed, only on the waiting path; a lost update costs one
    /// adaptation step, nothing else.
    producer_budget: AtomicU32,
    parking: Mutex<()>,
    not_full: Condvar,
    not_empty: Condvar,
}

// SAFETY: values of type `T` are moved from producer threads to the consumer thread (so `T: Send`
// is required and sufficient); every access to a slot's value cell is made exclusive by the
// sequence protocol described in the module docs.
unsafe impl<T: Send> Send for Shared<T> {}
// SAFETY: as above; shared references only reach the cells through the protocol.
unsafe impl<T: Send> Sync for Shared<T> {}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        // `&mut self`: every handle is gone, so plain loads see the final state.
        let mut pos = self.head.load(Ordering::Relaxed);
        let tail = self.tail.load(Ordering::Relaxed);
        while pos != tail {
            let slot = &self.slots[pos & self.mask];
            if slot.seq.load(Ordering::Relaxed) == pos.wrapping_add(1) {
                // SAFETY: `seq == pos + 1` means the producer of `pos` finished writing and the
                // consumer never took the value; we have exclusive access via `&mut self`.
                slot.value.with_mut(|v| unsafe { (*v).assume_init_drop() });
            }
            pos = pos.wrapping_add(1);
        }
    }
}

/// Creates a bounded MPSC queue holding at least `capacity` values (rounded up to a power of
/// two, and to at least [`MIN_SLOTS`]; see [`Producer::capacity`]).
///
/// # Errors
///
/// [`CapacityError`] when `capacity` is 0 or above [`MAX_CAPACITY`].
///
/// # Example
///
/// ```
/// use hallows_runtime::queue::mpsc;
///
/// let (tx, mut rx) = mpsc::bounded::<u32>(4)?;
/// let tx2 = tx.clone();
/// std::thread::spawn(move || tx2.push(7).unwrap()).join().unwrap();
/// tx.try_push(8).unwrap();
/// let mut got = Vec::new();
/// rx.pop_batch(16, |v| got.push(v));
/// got.sort();
/// assert_eq!(got, [7, 8]);
/// assert_eq!(rx.pop(), None);
/// # Ok::<(), mpsc::CapacityError>(())
/// ```
pub fn bounded<T: Send>(capacity: usize) -> Result<(Producer<T>, Consumer<T>), CapacityError> {
    if capacity == 0 || capacity > MAX_CAPACITY {
        return Err(CapacityError {
            requested: capacity,
        });
    }
    let cap = capacity.next_power_of_two().max(MIN_SLOTS);
    let slots = (0..cap)
        .map(|i| Slot {
            seq: AtomicUsize::new(i),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        })
        .collect::<Box<[_]>>();
    let shared = Arc::new(Shared {
        tail: CachePadded::new(AtomicUsize::new(0)),
        head: CachePadded::new(AtomicUsize::new(0)),
        slots,
        mask: cap - 1,
        closed: AtomicBool::new(false),
        waiting: AtomicUsize::new(0),
        producers: AtomicUsize::new(1),
        consumer_parked: AtomicBool::new(false),
        producer_budget: AtomicU32::new(YIELD_BUDGET_INITIAL),
        parking: Mutex::new(()),
        not_full: Condvar::new(),
        not_empty: Condvar::new(),
    });
    let producer = Producer {
        shared: Arc::clone(&shared),
    };
    let consumer = Consumer {
        shared,
        head: 0,
        budget: YIELD_BUDGET_INITIAL,
        _not_sync: PhantomData,
    };
    Ok((producer, consumer))
}

/// The sending side of a [`bounded`] queue; clone it for more producers.
pub struct Producer<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Clone for Producer<T> {
    fn clone(&self) -> Self {
        self.shared.producers.fetch_add(1, Ordering::Relaxed);
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> Drop for Producer<T> {
    fn drop(&mut self) {
        // ORDERING: AcqRel: the last producer's pushes happen before the consumer's Acquire
        // load that sees 0 (so it drains them before reporting disconnection).
        if self.shared.producers.fetch_sub(1, Ordering::AcqRel) == 1 {
            let _guard = self
                .shared
                .parking
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            self.shared.not_empty.notify_all();
        }
    }
}

impl<T> fmt::Debug for Producer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Producer")
            .field("capacity", &(self.shared.mask + 1))
            .finish()
    }
}

impl<T: Send> Producer<T> {
    /// Number of slots (the requested capacity rounded up to a power of two, at least
    /// [`MIN_SLOTS`]).
    pub fn capacity(&self) -> usize {
        self.shared.mask + 1
    }

    /// Returns `true` once the consumer has been dropped.
    pub fn is_disconnected(&self) -> bool {
        // ORDERING: Acquire pairs with the Release store in `Consumer::drop`.
        self.shared.closed.load(Ordering::Acquire)
    }

    /// Enqueues `value` if a slot is free; never blocks.
    ///
    /// # Errors
    ///
    /// [`PushError::Full`] when every slot is occupied, [`PushError::Disconnected`] when the
    /// consumer is gone. Both hand the value back.
    pub fn try_push(&self, value: T) -> Result<(), PushError<T>> {
        self.try_push_silent(value)?;
        self.wake_consumer();
        Ok(())
    }

    /// `try_push` without waking a parked consumer (for callers holding the `parking` lock).
    fn try_push_silent(&self, value: T) -> Result<(), PushError<T>> {
        if self.is_disconnected() {
            return Err(PushError::Disconnected(value));
        }
        let shared = &*self.shared;
        let mut pos = shared.tail.load(Ordering::Relaxed);
        loop {
            let slot = &shared.slots[pos & shared.mask];
            // ORDERING: Acquire pairs with the consumer's Release store of `seq` (pop step 3):
            // the previous lap's value has been moved out before we overwrite the cell.
            let seq = slot.seq.load(Ordering::Acquire);
            let diff = seq.wrapping_sub(pos) as isize;
            if diff == 0 {
                // ORDERING: Relaxed is enough: the CAS only arbitrates between producers; the
                // value is published by the Release store of `seq` below.
                match shared.tail.compare_exchange_weak(
                    pos,
                    pos.wrapping_add(1),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // ORDERING: SeqCst fence pairs with the consumer's fence in
                        // `pop_blocking_cold` (Dekker: our claim of `tail` vs. its
                        // `consumer_parked` store); `wake_consumer` reads the flag after it.
                        // Placed right after the CAS, where it is free on x86_64 (see
                        // `fence_after_claim`).
                        fence_after_claim();
                        // SAFETY: winning the CAS for `pos` while `seq == pos` gives this
                        // producer exclusive access to the cell until it publishes `seq`.
                        slot.value.with_mut(|v| unsafe { (*v).write(value) });
                        // ORDERING: Release pairs with the consumer's Acquire load of `seq`.
                        slot.seq.store(pos.wrapping_add(1), Ordering::Release);
                        return Ok(());
                    }
                    Err(current) => pos = current,
                }
            } else if diff < 0 {
                return Err(PushError::Full(value));
            } else {
                pos = shared.tail.load(Ordering::Relaxed);
            }
        }
    }

    /// After a successful `try_push_silent` (whose SeqCst fence follows the claim of `tail`).
    #[inline]
    fn wake_consumer(&self) {
        // The swap lets exactly one producer notify per parking of the consumer; the others
        // see `false` and skip the mutex.
        if self.shared.consumer_parked.load(Ordering::Relaxed)
            && self.shared.consumer_parked.swap(false, Ordering::Relaxed)
        {
            self.wake_consumer_cold();
        }
    }

    #[cold]
    fn wake_consumer_cold(&self) {
        // Taking and releasing `parking` waits until the consumer, which set the flag under
        // it, is inside `wait` (it holds the lock from its re-check to the wait); notifying
        // after the unlock spares the woken consumer from blocking again on a lock we hold.
        drop(
            self.shared
                .parking
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        self.shared.not_empty.notify_one();
    }

    /// Enqueues `value`, waiting while the queue is full (spinning briefly, then parking until
    /// the consumer frees a slot).
    ///
    /// # Errors
    ///
    /// [`PushError::Disconnected`] (with the value) if the consumer is dropped first.
    pub fn push(&self, value: T) -> Result<(), PushError<T>> {
        match self.try_push(value) {
            Err(PushError::Full(v)) => self.push_waiting(v),
            done => done,
        }
    }

    /// The queue was full: spin, yield within the producers' budget, then park (module
    /// docs, "Waiting").
    #[cold]
    fn push_waiting(&self, value: T) -> Result<(), PushError<T>> {
        let shared = &*self.shared;
        let budget = shared.producer_budget.load(Ordering::Relaxed);
        let mut value = Some(value);
        let waited = wait_briefly(budget, || {
            let v = value
                .take()
                .expect("the value is put back after every failed attempt");
            match self.try_push(v) {
                Ok(()) => Step::Done(Ok(())),
                Err(PushError::Full(v)) => {
                    value = Some(v);
                    Step::Retry
                }
                Err(e @ PushError::Disconnected(_)) => Step::Done(Err(e)),
            }
        });
        if let Some(result) = waited {
            return result;
        }
        let value = value.expect("the value is put back after every failed attempt");
        let parked_at = clock::now();
        let result = self.push_cold(value);
        if result.is_ok() {
            shared.producer_budget.store(
                adapt_budget(budget, clock::since(parked_at)),
                Ordering::Relaxed,
            );
        }
        result
    }

    #[cold]
    fn push_cold(&self, mut value: T) -> Result<(), PushError<T>> {
        let shared = &*self.shared;
        let mut guard = shared
            .parking
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        shared.waiting.fetch_add(1, Ordering::Relaxed);
        let result = loop {
            // ORDERING: SeqCst fence pairs with the consumer's fence in `wake_producers`: either
            // our retry sees the freed slot or the consumer sees `waiting > 0` and notifies.
            fence(Ordering::SeqCst);
            match self.try_push_silent(value) {
                Ok(()) => {
                    // We hold `parking`, so notify directly (same Dekker check as
                    // `wake_consumer`, fenced inside `try_push_silent`).
                    if shared.consumer_parked.swap(false, Ordering::Relaxed) {
                        shared.not_empty.notify_one();
                    }
                    break Ok(());
                }
                Err(PushError::Full(v)) => value = v,
                Err(e @ PushError::Disconnected(_)) => break Err(e),
            }
            guard = shared
                .not_full
                .wait(guard)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        };
        shared.waiting.fetch_sub(1, Ordering::Relaxed);
        drop(guard);
        result
    }
}

/// The receiving side of a [`bounded`] queue; there is exactly one.
pub struct Consumer<T> {
    shared: Arc<Shared<T>>,
    head: usize,
    /// The consumer's yield budget (module docs, "Waiting").
    budget: u32,
    /// `pop` takes `&mut self`, but `Consumer` must also not be shared by reference across
    /// threads (its `head` is private state).
    _not_sync: PhantomData<core::cell::Cell<()>>,
}

impl<T> fmt::Debug for Consumer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consumer")
            .field("head", &self.head)
            .finish()
    }
}

impl<T: Send> Consumer<T> {
    /// Number of slots (the requested capacity rounded up to a power of two, at least
    /// [`MIN_SLOTS`]).
    pub fn capacity(&self) -> usize {
        self.shared.mask + 1
    }

    /// Number of values claimed by producers and not yet popped (some may still be being
    /// written).
    pub fn len(&self) -> usize {
        self.shared
            .tail
            .load(Ordering::Relaxed)
            .wrapping_sub(self.head)
    }

    /// Returns `true` when no producer has claimed a position past the consumer's head.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Dequeues the oldest completed value, or `None` when the queue is empty.
    pub fn pop(&mut self) -> Option<T> {
        let value = self.take_one()?;
        self.publish_head();
        self.wake_producers(false);
        Some(value)
    }

    /// Dequeues up to `max` values, handing each to `sink` in FIFO order; returns how many.
    ///
    /// Cheaper than repeated [`pop`](Self::pop): the head mirror and the producer wake-up
    /// check are done once per batch.
    pub fn pop_batch(&mut self, max: usize, mut sink: impl FnMut(T)) -> usize {
        let mut taken = 0;
        while taken < max {
            match self.take_one() {
                Some(v) => {
                    taken += 1;
                    sink(v);
                }
                None => break,
            }
        }
        if taken > 0 {
            self.publish_head();
            self.wake_producers(taken > 1);
        }
        taken
    }

    /// Dequeues the oldest value, waiting (spinning briefly, then parking) while the queue is
    /// empty; after finding it empty it first lets the producers get a few slots ahead (module
    /// docs, "Slipping"). Returns `None` once every [`Producer`] is dropped and the queue is drained.
    pub fn pop_blocking(&mut self) -> Option<T> {
        if let Some(v) = self.pop() {
            return Some(v);
        }
        self.pop_waiting()
    }

    /// The queue was empty: slip, spin, yield within the consumer's budget, then park
    /// (module docs, "Waiting").
    #[cold]
    fn pop_waiting(&mut self) -> Option<T> {
        self.slip();
        let budget = self.budget;
        let waited = wait_briefly(budget, || match self.pop() {
            Some(v) => Step::Done(v),
            // ORDERING: Acquire pairs with the AcqRel decrement in `Producer::drop`; here only
            // a reason to stop yielding: the parking path drains and ends.
            None if self.shared.producers.load(Ordering::Acquire) == 0 => Step::Park,
            None => Step::Retry,
        });
        if waited.is_some() {
            return waited;
        }
        let parked_at = clock::now();
        let result = self.pop_blocking_cold();
        if result.is_some() {
            self.budget = adapt_budget(budget, clock::since(parked_at));
        }
        result
    }

    #[cold]
    fn pop_blocking_cold(&mut self) -> Option<T> {
        let shared = Arc::clone(&self.shared);
        let mut guard = shared
            .parking
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let result = loop {
            // Re-armed every round: a notifying producer clears it.
            shared.consumer_parked.store(true, Ordering::Relaxed);
            // ORDERING: SeqCst fence pairs with the fence each producer issues right after its
            // claim of `tail` (in `try_push_silent`): either our load of `tail` below sees the
            // claim or that producer's later load of `consumer_parked` sees `true` and notifies.
            fence(Ordering::SeqCst);
            if let Some(v) = self.pop_locked() {
                break Some(v);
            }
            // ORDERING: Acquire pairs with the AcqRel decrement in `Producer::drop`.
            if shared.producers.load(Ordering::Acquire) == 0 {
                break self.pop_locked();
            }
            if shared.tail.load(Ordering::Relaxed) != self.head {
                // A producer has claimed our position but not yet published it (it is between
                // its CAS and its `seq` store): it may have read `consumer_parked` before we set
                // it, so do not sleep; let it run and re-check.
                drop(guard);
                thread::yield_now();
                guard = shared
                    .parking
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                continue;
            }
            guard = shared
                .not_empty
                .wait(guard)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        };
        shared.consumer_parked.store(false, Ordering::Relaxed);
        drop(guard);
        result
    }

    /// Temporal slipping (module docs, "Slipping"): on an empty queue, waits a bounded number
    /// of backoff rounds ([`SLIP_ROUNDS`]) for the producers to get [`SLIP_SLOTS`] positions
    /// ahead, so the consumer does not poll the slot line producers are writing.
    #[inline]
    fn slip(&self) {
        let shared = &*self.shared;
        let distance = SLIP_SLOTS.min(shared.mask.div_ceil(2));
        let pos = self.head.wrapping_add(distance);
        let slot = &shared.slots[pos & shared.mask];
        for attempt in 0..SLIP_ROUNDS {
            // ORDERING: Relaxed: only a hint for when to stop waiting; the value is taken by
            // `take_one`, whose Acquire load of `seq` pairs with the producer's Release store.
            if slot.seq.load(Ordering::Relaxed) == pos.wrapping_add(1) {
                return;
            }
            backoff(attempt);
        }
    }

    /// `pop` for a caller holding the `parking` lock: notifies blocked producers directly.
    fn pop_locked(&mut self) -> Option<T> {
        let value = self.take_one()?;
        self.publish_head();
        // ORDERING: SeqCst fence as in `wake_producers`.
        fence(Ordering::SeqCst);
        if self.shared.waiting.load(Ordering::Relaxed) > 0 {
            self.shared.not_full.notify_all();
        }
        Some(value)
    }

    #[inline]
    fn take_one(&mut self) -> Option<T> {
        let shared = &*self.shared;
        let pos = self.head;
        let slot = &shared.slots[pos & shared.mask];
        // ORDERING: Acquire pairs with the producer's Release store of `seq` (push step 3).
        if slot.seq.load(Ordering::Acquire) != pos.wrapping_add(1) {
            return None;
        }
        // SAFETY: `seq == pos + 1`: the producer finished writing and no producer may touch the
        // cell until we store `pos + cap`; only this consumer reads it.
        let value = slot.value.with(|v| unsafe { (*v).assume_init_read() });
        // ORDERING: Release pairs with the producers' Acquire load of `seq` (push step 1): the
        // value was moved out before a producer of the next lap overwrites the cell.
        slot.seq
            .store(pos.wrapping_add(shared.mask + 1), Ordering::Release);
        self.head = pos.wrapping_add(1);
        Some(value)
    }

    #[inline]
    fn publish_head(&self) {
        // Relaxed: only read by `len` (approximate) and by `Drop` after all handles are gone
        // (the Arc's release/acquire on drop orders it).
        self.shared.head.store(self.head, Ordering::Relaxed);
    }

    #[inline]
    /// Wakes one parked producer per freed slot (`all` when several slots were freed).
    fn wake_producers(&self, all: bool) {
        let shared = &*self.shared;
        // ORDERING: SeqCst fence pairs with the fence in `push_cold` (Dekker pattern: our slot
        // release vs. the producer's `waiting` increment).
        fence(Ordering::SeqCst);
        if shared.waiting.load(Ordering::Relaxed) > 0 {
            self.wake_producers_cold(all);
        }
    }

    #[cold]
    fn wake_producers_cold(&self, all: bool) {
        let shared = &*self.shared;
        // As in `Producer::wake_consumer_cold`: taking and releasing the lock orders us after
        // the parking producer's `wait`; notifying after the unlock spares it a second block.
        drop(
            shared
                .parking
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        if all {
            shared.not_full.notify_all();
        } else {
            shared.not_full.notify_one();
        }
    }
}

impl<T> Drop for Consumer<T> {
    fn drop(&mut self) {
        let shared = &*self.shared;
        shared.head.store(self.head, Ordering::Relaxed);
        // ORDERING: Release pairs with the Acquire load in `Producer::is_disconnected`.
        shared.closed.store(true, Ordering::Release);
        let _guard = shared
            .parking
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        shared.not_full.notify_all();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize as StdAtomicUsize;

    #[test]
    fn rejects_zero_capacity_with_a_clear_error() {
        let err = bounded::<u8>(0).unwrap_err();
        assert!(err.to_string().contains("pass a positive capacity"));
    }

    #[test]
    fn capacity_rounds_up_and_full_is_reported() {
        let (tx, mut rx) = bounded::<u32>(3).unwrap();
        assert_eq!(tx.capacity(), 4);
        for i in 0..4 {
            tx.try_push(i).unwrap();
        }
        assert_eq!(tx.try_push(9), Err(PushError::Full(9)));
        assert_eq!(rx.len(), 4);
        assert_eq!(rx.pop(), Some(0));
        tx.try_push(4).unwrap();
        let mut out = Vec::new();
        assert_eq!(rx.pop_batch(10, |v| out.push(v)), 4);
        assert_eq!(out, [1, 2, 3, 4]);
        assert!(rx.is_empty());
    }

    #[test]
    fn push_after_consumer_drop_is_disconnected() {
        let (tx, rx) = bounded::<String>(1).unwrap();
        tx.try_push("a".into()).unwrap();
        drop(rx);
        assert!(tx.is_disconnected());
        let err = tx.push("b".into()).unwrap_err();
        assert_eq!(err.into_inner(), "b");
    }

    #[test]
    fn unpopped_values_are_dropped_once() {
        static DROPS: StdAtomicUsize = StdAtomicUsize::new(0);
        struct Counted;
        impl Drop for Counted {
            fn drop(&mut self) {
                DROPS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
        let (tx, mut rx) = bounded::<Counted>(8).unwrap();
        for _ in 0..5 {
            tx.try_push(Counted).unwrap();
        }
        drop(rx.pop());
        drop(rx);
        drop(tx);
        assert_eq!(DROPS.load(std::sync::atomic::Ordering::Relaxed), 5);
    }

    #[test]
    fn blocking_pop_waits_for_values_and_ends_after_last_producer() {
        let (tx, mut rx) = bounded::<usize>(2).unwrap();
        let n = if cfg!(miri) { 10 } else { 1_000 };
        let producer = std::thread::spawn(move || {
            let tx2 = tx.clone();
            for i in 0..n {
                if i % 2 == 0 { &tx } else { &tx2 }.push(i).unwrap();
            }
        });
        let mut got = Vec::new();
        while let Some(v) = rx.pop_blocking() {
            got.push(v);
        }
        producer.join().unwrap();
        assert_eq!(got, (0..n).collect::<Vec<_>>());
    }

    #[test]
    fn budget_grows_after_short_parks_and_shrinks_after_long_ones() {
        // A short park doubles the budget, or raises it to the park's length if longer.
        assert_eq!(adapt_budget(10_000, 5_000), 20_000);
        assert_eq!(adapt_budget(10_000, 300_000), 300_000);
        // Capped at the maximum, which is also the longest "short" park.
        assert_eq!(adapt_budget(800_000, 10), YIELD_BUDGET_MAX);
        assert_eq!(
            adapt_budget(YIELD_BUDGET_MAX, u64::from(YIELD_BUDGET_MAX)),
            YIELD_BUDGET_MAX
        );
        // A long park halves it, down to the minimum.
        assert_eq!(adapt_budget(100_000, 5_000_000), 50_000);
        assert_eq!(adapt_budget(YIELD_BUDGET_MIN, u64::MAX), YIELD_BUDGET_MIN);
        // Out-of-range inputs are clamped first.
        assert_eq!(adapt_budget(0, u64::MAX), YIELD_BUDGET_MIN);
        assert_eq!(adapt_budget(u32::MAX, u64::MAX), YIELD_BUDGET_MAX / 2);
        // Repeated idle waits bring the initial budget down to the minimum.
        let mut b = YIELD_BUDGET_INITIAL;
        for _ in 0..32 {
            b = adapt_budget(b, 10_000_000);
        }
        assert_eq!(b, YIELD_BUDGET_MIN);
    }

    #[test]
    fn bounded_wait_spins_yields_then_gives_up() {
        // Succeeds on the tenth attempt: past the spin rounds, inside a one-second budget.
        let mut calls = 0;
        let got = wait_briefly(1_000_000_000, || {
            calls += 1;
            if calls == 10 {
                Step::Done(calls)
            } else {
                Step::Retry
            }
        });
        assert_eq!(got, Some(10));
        // A zero budget: every spin round, then one attempt after the clock is read.
        let mut calls = 0;
        let got: Option<()> = wait_briefly(0, || {
            calls += 1;
            Step::Retry
        });
        assert_eq!(got, None);
        assert_eq!(calls, SPIN_ROUNDS + 1);
        // `Park` ends the wait at once.
        let mut calls = 0;
        let got: Option<()> = wait_briefly(1_000_000_000, || {
            calls += 1;
            Step::Park
        });
        assert_eq!((got, calls), (None, 1));
    }

    #[test]
    fn a_long_idle_wait_halves_the_consumer_budget() {
        let (tx, mut rx) = bounded::<u32>(2).unwrap();
        assert_eq!(rx.budget, YIELD_BUDGET_INITIAL);
        let producer = std::thread::spawn(move || {
            // Far longer than the initial budget plus the 1 ms "short park" limit.
            std::thread::sleep(std::time::Duration::from_millis(50));
            tx.push(5).unwrap();
        });
        assert_eq!(rx.pop_blocking(), Some(5));
        assert_eq!(rx.budget, YIELD_BUDGET_INITIAL / 2);
        producer.join().unwrap();
        // Disconnection does not adapt the budget.
        assert_eq!(rx.pop_blocking(), None);
        assert_eq!(rx.budget, YIELD_BUDGET_INITIAL / 2);
    }

    #[test]
    fn blocking_push_waits_for_the_consumer() {
        let (tx, mut rx) = bounded::<usize>(2).unwrap();
        let n = if cfg!(miri) { 20 } else { 2_000 };
        let producers: Vec<_> = (0..2)
            .map(|t| {
                let tx = tx.clone();
                std::thread::spawn(move || {
                    for i in 0..n {
                        tx.push(t * n + i).unwrap();
                    }
                })
            })
            .collect();
        let mut seen = vec![false; 2 * n];
        let mut got = 0;
        while got < 2 * n {
            got += rx.pop_batch(4, |v| {
                assert!(!seen[v], "value {v} popped twice");
                seen[v] = true;
            });
            std::hint::spin_loop();
        }
        for p in producers {
            p.join().unwrap();
        }
        assert!(seen.iter().all(|&s| s));
    }
}
