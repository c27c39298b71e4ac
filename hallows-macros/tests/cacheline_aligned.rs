//! `#[cacheline_aligned]` on real code: structs, tuple structs, generics, enums, statics, arrays.

use std::mem::{align_of, offset_of, size_of};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use hallows_macros::cacheline_aligned;
use hallows_runtime::layout::CachelineLayout;
use hallows_runtime::padding::CACHE_LINE_PAIR;

/// A doc comment and other attributes stay.
#[cacheline_aligned]
#[derive(Debug, Default)]
pub struct Plain {
    pub a: u64,
    b: u8,
}

#[test]
fn default_alignment_is_the_destructive_interference_size() {
    assert_eq!(align_of::<Plain>(), CACHE_LINE_PAIR);
    if cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
        assert_eq!(CACHE_LINE_PAIR, 128);
    }
    assert_eq!(size_of::<Plain>(), CACHE_LINE_PAIR);
    let p = Plain { a: 1, b: 2 };
    assert_eq!(p.a + u64::from(p.b), 3);
    assert_eq!(Plain::LINE_SIZE, CACHE_LINE_PAIR);
}

#[cacheline_aligned(64)]
#[repr(C)]
struct SixtyFour(u32);

#[cacheline_aligned(align = 256)]
struct TwoFiftySix {
    x: u8,
}

#[test]
fn alignment_can_be_overridden() {
    assert_eq!(align_of::<SixtyFour>(), 64);
    assert_eq!(size_of::<SixtyFour>(), 64);
    assert_eq!(SixtyFour(7).0, 7);
    assert_eq!(align_of::<TwoFiftySix>(), 256);
    assert_eq!(TwoFiftySix { x: 1 }.x, 1);
    assert_eq!(SixtyFour::cacheline_layout().line_size, 64);
}

#[cacheline_aligned]
#[derive(Default)]
struct Queue {
    #[isolate]
    head: AtomicU64,
    #[isolate]
    tail: AtomicU64,
    capacity: usize,
    mask: usize,
}

impl Queue {
    /// Methods on the annotated type keep working, including plain assignment.
    fn reset(&mut self, capacity: usize) {
        self.capacity = capacity;
        self.mask = capacity - 1;
        self.head = AtomicU64::new(0);
        *self.tail.get_mut() = 0;
    }
}

#[test]
fn isolated_named_fields_start_lines_and_share_none() {
    let line = CACHE_LINE_PAIR;
    assert_eq!(offset_of!(Queue, head) % line, 0);
    assert_eq!(offset_of!(Queue, tail) % line, 0);
    assert_ne!(
        offset_of!(Queue, head) / line,
        offset_of!(Queue, tail) / line
    );
    assert!(offset_of!(Queue, capacity) / line != offset_of!(Queue, tail) / line);
    // The unmarked fields still pack together.
    assert_eq!(offset_of!(Queue, mask), offset_of!(Queue, capacity) + 8);

    let mut q = Queue::default();
    q.reset(16);
    q.head.fetch_add(3, Ordering::Relaxed);
    let tail: &AtomicU64 = &q.tail;
    tail.store(5, Ordering::Relaxed);
    assert_eq!(q.head.load(Ordering::Relaxed), 3);
    assert_eq!(q.tail.load(Ordering::Relaxed), 5);
    assert_eq!(q.mask, 15);
}

#[cacheline_aligned(64, isolate(b))]
struct ByArgument {
    a: AtomicUsize,
    b: AtomicUsize,
    c: AtomicUsize,
}

#[test]
fn isolate_argument_names_fields() {
    assert_eq!(offset_of!(ByArgument, a), 0);
    assert_eq!(offset_of!(ByArgument, b), 64);
    assert_eq!(offset_of!(ByArgument, c), 128);
    let map = ByArgument::cacheline_layout();
    assert!(map.field("b").unwrap().isolated);
    assert!(map.sharing_warnings().is_empty());
}

#[cacheline_aligned(isolate)]
struct Pair(AtomicU64, AtomicU64, u8);

#[test]
fn tuple_structs_isolate_without_renumbering() {
    let p = Pair(AtomicU64::new(1).into(), AtomicU64::new(2).into(), 9.into());
    p.0.fetch_add(1, Ordering::Relaxed);
    assert_eq!(p.0.load(Ordering::Relaxed), 2);
    assert_eq!(p.1.load(Ordering::Relaxed), 2);
    let mut p = p;
    *p.2 = 10;
    assert_eq!(*p.2, 10);
    let line = CACHE_LINE_PAIR;
    let map = Pair::cacheline_layout();
    let lines: Vec<usize> = map.fields.iter().map(|f| f.first_line(line)).collect();
    assert_eq!(lines.len(), 3);
    assert!(lines[0] != lines[1] && lines[1] != lines[2] && lines[0] != lines[2]);
    assert!(map.sharing_warnings().is_empty());
}

/// Generic, with a lifetime, a const parameter, bounds and a where clause.
#[cacheline_aligned(128)]
pub(crate) struct PerCore<'a, T: Copy, const N: usize>
where
    T: Default,
{
    #[isolate]
    pub(crate) value: T,
    pub(crate) name: &'a str,
    pub(crate) slots: [T; N],
}

#[test]
fn generics_are_supported() {
    let mut p = PerCore::<u32, 3> {
        value: 1,
        name: "x",
        slots: [0; 3],
        ..make_pads()
    };
    p.value += 1;
    assert_eq!(p.value, 2);
    assert_eq!(offset_of!(PerCore<'static, u64, 4>, name) % 128, 0);
    let map = PerCore::<'static, Big, 2>::cacheline_layout();
    let value = map.field("value").unwrap();
    assert_eq!((value.first_line(128), value.last_line(128)), (0, 2));
    assert_eq!(map.field("name").unwrap().first_line(128), 3);
    assert_eq!(p.name.len() + p.slots.len(), 4);
}

#[derive(Clone, Copy)]
struct Big(#[allow(dead_code)] [u64; 40]);

impl Default for Big {
    fn default() -> Self {
        Big([0; 40])
    }
}

fn make_pads<'a>() -> PerCore<'a, u32, 3> {
    PerCore {
        value: 0,
        name: "",
        slots: [0; 3],
        __hallows_pad_0: Default::default(),
    }
}

#[cacheline_aligned]
#[derive(Debug, PartialEq)]
enum State {
    Idle,
    Busy { worker: u32 },
}

#[test]
fn enums_are_aligned() {
    assert_eq!(align_of::<State>(), CACHE_LINE_PAIR);
    assert_eq!(State::Busy { worker: 1 }, State::Busy { worker: 1 });
    assert_ne!(State::Idle, State::Busy { worker: 1 });
    assert!(State::cacheline_layout().fields.is_empty());
}

#[cacheline_aligned]
static HITS: AtomicU64 = AtomicU64::new(0);

#[cacheline_aligned(64)]
pub static PER_CORE: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];

#[cacheline_aligned]
static mut SCRATCH: [u8; 3] = [1, 2, 3];

#[test]
fn statics_and_array_elements_get_their_own_lines() {
    HITS.fetch_add(1, Ordering::Relaxed);
    assert!(HITS.load(Ordering::Relaxed) >= 1);
    assert_eq!((&raw const HITS) as usize % CACHE_LINE_PAIR, 0);
    for (i, counter) in PER_CORE.iter().enumerate() {
        counter.fetch_add(i as u64, Ordering::Relaxed);
        assert_eq!((counter as *const _ as usize) % 64, 0);
    }
    assert_eq!(PER_CORE[3].load(Ordering::Relaxed), 3);
    let a = &PER_CORE[0] as *const _ as usize;
    let b = &PER_CORE[1] as *const _ as usize;
    assert_eq!(b - a, 64);
    let scratch = &raw const SCRATCH;
    // SAFETY: only this test touches SCRATCH, and it only reads it.
    let third = unsafe { *(*scratch)[2] };
    assert_eq!(third, 3);
}

#[cacheline_aligned]
struct Shared {
    counter: AtomicU64,
    flag: bool,
    #[isolate]
    alone: AtomicU64,
}

#[test]
fn the_map_flags_atomics_sharing_a_line() {
    let map = Shared::cacheline_layout();
    let warnings = map.sharing_warnings();
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].atomic, "counter");
    assert_eq!(warnings[0].neighbours, vec!["flag"]);
    assert!(map.field("counter").unwrap().is_atomic);
    assert!(!map.field("flag").unwrap().is_atomic);
    assert!(map
        .to_string()
        .contains("warning: atomic `counter` shares line 0 with flag"));
}

#[test]
fn the_map_is_written_as_report_records() {
    let dir = std::env::temp_dir().join(format!("hallows-layout-{}", std::process::id()));
    // Environment variables are process-wide: this is the only test that sets it.
    std::env::set_var("HALLOWS_REPORT_DIR", &dir);
    let path = hallows_runtime::layout::write_report::<Shared>()
        .expect("report written")
        .expect("HALLOWS_REPORT_DIR is set");
    hallows_runtime::layout::register::<Queue>();
    let path2 = hallows_runtime::layout::write_registered_report()
        .unwrap()
        .unwrap();
    std::env::remove_var("HALLOWS_REPORT_DIR");
    assert_eq!(path, path2);
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].contains("\"pass\":\"cacheline-layout\""));
    assert!(lines[0].contains("\"producer\":\"macros\""));
    assert!(lines[0].contains("::Shared\""));
    assert!(lines[0].contains("\"atomic\":\"counter\""));
    assert!(lines[1].contains("::Queue\""));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A per-core counter type: an array of it puts every element on its own line(s).
#[cacheline_aligned]
#[derive(Default)]
struct CoreCounter {
    hits: AtomicU64,
}

#[test]
fn arrays_of_annotated_types_put_each_element_on_its_own_lines() {
    let counters: [CoreCounter; 4] = Default::default();
    for (i, c) in counters.iter().enumerate() {
        c.hits.fetch_add(i as u64, Ordering::Relaxed);
        assert_eq!((c as *const CoreCounter as usize) % CACHE_LINE_PAIR, 0);
    }
    let first = &counters[0] as *const CoreCounter as usize;
    let second = &counters[1] as *const CoreCounter as usize;
    assert_eq!(second - first, CACHE_LINE_PAIR);
    assert_eq!(counters[3].hits.load(Ordering::Relaxed), 3);
}

/// The derives a plain tuple struct of counters would have: they still compile with its fields
/// wrapped in `Isolated`, and compare, order and hash by the values.
#[cacheline_aligned(isolate)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Tally(u64, u32);

/// The same derives on named fields with padding inserted between them.
#[cacheline_aligned]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Window {
    #[isolate]
    start: u64,
    #[isolate]
    end: u64,
}

#[test]
fn derives_on_the_item_still_compile_and_follow_the_fields() {
    use std::collections::hash_map::DefaultHasher;
    use std::hash::{Hash, Hasher};
    let hash = |v: &dyn Fn(&mut DefaultHasher)| {
        let mut h = DefaultHasher::new();
        v(&mut h);
        h.finish()
    };
    let a = Tally(1.into(), 2.into());
    let b = a; // Copy
    let c = Tally(1.into(), 3.into());
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!(a < c && c.cmp(&a) == std::cmp::Ordering::Greater);
    assert_eq!(hash(&|h| a.hash(h)), hash(&|h| b.hash(h)));
    assert_ne!(hash(&|h| a.hash(h)), hash(&|h| c.hash(h)));
    assert_eq!(format!("{:?}", a), "Tally(1, 2)");
    assert_eq!(align_of::<Tally>(), CACHE_LINE_PAIR);

    let w = Window {
        end: 5,
        ..Window::default()
    };
    let v = w;
    let mut later = v;
    later.start = 1;
    assert_eq!(v, w);
    assert!(v < later);
    assert_eq!(hash(&|h| v.hash(h)), hash(&|h| w.hash(h)));
    assert_ne!(
        offset_of!(Window, start) / CACHE_LINE_PAIR,
        offset_of!(Window, end) / CACHE_LINE_PAIR
    );
}
