//! Cache-line maps of `#[cacheline_aligned]` types: which field sits on which cache line, and
//! which atomics share a line with other data (false sharing).
//!
//! `#[cacheline_aligned]` implements [`CachelineLayout`] for every struct and enum it annotates.
//! The map is an ordinary run-time value ([`TypeLayout`]) built from `core::mem::offset_of!`, so
//! it is exactly the layout rustc chose for the concrete type (generic types are mapped per
//! instantiation). [`write_report`] and [`register`] + [`write_registered_report`] turn maps into
//! `cacheline-layout` records of the Hallows report format (docs/REPORT_FORMAT.md) that
//! `cargo hallows report` reads.
//!
//! # Which line size
//!
//! The line size of a map is the alignment the attribute enforced: by default
//! [`CACHE_LINE_PAIR`](crate::padding::CACHE_LINE_PAIR), the destructive-interference size of the
//! target (128 bytes on x86_64 and aarch64 because their prefetchers pull adjacent line pairs; see
//! [`crate::padding`] for the sources), or the value given as `#[cacheline_aligned(N)]`.
//!
//! # What counts as an atomic
//!
//! A field is flagged `is_atomic` when its type's name ([`core::any::type_name`]) names a type of
//! `core::sync::atomic` or a type whose last path segment starts with `Atomic` (for example a
//! user's `AtomicCell`), directly or inside an array or wrapper. That is a name heuristic: it finds
//! the usual suspects of false sharing without needing a marker trait on every field type.
//!
//! # Example
//!
//! ```
//! use hallows_runtime::layout::CachelineLayout;
//! use std::sync::atomic::AtomicU64;
//!
//! #[hallows_macros::cacheline_aligned(isolate(hits))]
//! struct Stats {
//!     hits: AtomicU64,
//!     name: &'static str,
//!     misses: AtomicU64,
//! }
//!
//! let map = Stats::cacheline_layout();
//! assert_eq!(map.field("hits").unwrap().offset % map.line_size, 0);
//! // `misses` shares its line with `name`: the map says so.
//! assert_eq!(map.sharing_warnings().len(), 1);
//! println!("{map}");
//! ```

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Mutex;

/// One field of a [`TypeLayout`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldLayout {
    /// Field name (`"0"`, `"1"`, ... for tuple structs).
    pub name: &'static str,
    /// The field's type, as [`core::any::type_name`] spells it.
    pub type_name: &'static str,
    /// Byte offset from the start of the value.
    pub offset: usize,
    /// Size in bytes.
    pub size: usize,
    /// Whether the field's type is (or contains, by name) an atomic.
    pub is_atomic: bool,
    /// Whether the field was marked for isolation (`#[isolate]` or `isolate(..)`).
    pub isolated: bool,
}

impl FieldLayout {
    /// Index of the first cache line the field touches.
    pub fn first_line(&self, line_size: usize) -> usize {
        self.offset / line_size
    }

    /// Index of the last cache line the field touches (the first line for zero-sized fields).
    pub fn last_line(&self, line_size: usize) -> usize {
        (self.offset + self.size.max(1) - 1) / line_size
    }

    fn shares_line_with(&self, other: &FieldLayout, line_size: usize) -> bool {
        if self.size == 0 || other.size == 0 {
            return false;
        }
        self.first_line(line_size) <= other.last_line(line_size)
            && other.first_line(line_size) <= self.last_line(line_size)
    }
}

/// An atomic field that shares a cache line with other fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharingWarning {
    /// The atomic field.
    pub atomic: &'static str,
    /// The fields it shares at least one line with, in declaration order.
    pub neighbours: Vec<&'static str>,
    /// The first shared line.
    pub line: usize,
}

/// The field-to-cache-line map of one type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeLayout {
    /// The type's name ([`core::any::type_name`]).
    pub type_name: &'static str,
    /// `size_of` the type.
    pub size: usize,
    /// `align_of` the type.
    pub align: usize,
    /// The line size the map is drawn with (the alignment `#[cacheline_aligned]` enforced).
    pub line_size: usize,
    /// Fields in declaration order (padding fields the attribute inserted are left out; enums
    /// have no fields in the map).
    pub fields: Vec<FieldLayout>,
}

impl TypeLayout {
    /// Starts a map for `T` drawn with `line_size`-byte lines.
    pub fn new<T>(line_size: usize) -> Self {
        Self {
            type_name: core::any::type_name::<T>(),
            size: core::mem::size_of::<T>(),
            align: core::mem::align_of::<T>(),
            line_size,
            fields: Vec::new(),
        }
    }

    /// Adds field `name` of type `F` at `offset`; `project` only names the field's type.
    pub fn with_field<T, F>(
        mut self,
        name: &'static str,
        offset: usize,
        isolated: bool,
        _project: fn(&T) -> &F,
    ) -> Self {
        let type_name = core::any::type_name::<F>();
        self.fields.push(FieldLayout {
            name,
            type_name,
            offset,
            size: core::mem::size_of::<F>(),
            is_atomic: type_name_is_atomic(type_name),
            isolated,
        });
        self
    }

    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&FieldLayout> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Number of cache lines a value of the type spans.
    pub fn lines(&self) -> usize {
        self.size.div_ceil(self.line_size).max(1)
    }

    /// Every atomic field that shares a line with another (non-zero-sized) field.
    pub fn sharing_warnings(&self) -> Vec<SharingWarning> {
        let mut warnings = Vec::new();
        for atomic in self.fields.iter().filter(|f| f.is_atomic) {
            let neighbours: Vec<&FieldLayout> = self
                .fields
                .iter()
                .filter(|other| other.name != atomic.name)
                .filter(|other| atomic.shares_line_with(other, self.line_size))
                .collect();
            if let Some(first) = neighbours.first() {
                let line = atomic
                    .first_line(self.line_size)
                    .max(first.first_line(self.line_size));
                warnings.push(SharingWarning {
                    atomic: atomic.name,
                    neighbours: neighbours.iter().map(|f| f.name).collect(),
                    line,
                });
            }
        }
        warnings
    }

    /// The map as one JSON report record (docs/REPORT_FORMAT.md, `pass: "cacheline-layout"`).
    pub fn to_record(&self) -> String {
        let warnings = self.sharing_warnings();
        let mut fields = String::from("[");
        for (i, f) in self.fields.iter().enumerate() {
            if i > 0 {
                fields.push(',');
            }
            fields.push_str(&format!(
                "{{\"name\":{},\"type\":{},\"offset\":{},\"size\":{},\"first_line\":{},\"last_line\":{},\"is_atomic\":{},\"isolated\":{}}}",
                report_file::json_string(f.name),
                report_file::json_string(f.type_name),
                f.offset,
                f.size,
                f.first_line(self.line_size),
                f.last_line(self.line_size),
                f.is_atomic,
                f.isolated
            ));
        }
        fields.push(']');
        let mut warning_json = String::from("[");
        for (i, w) in warnings.iter().enumerate() {
            if i > 0 {
                warning_json.push(',');
            }
            let neighbours: Vec<String> = w
                .neighbours
                .iter()
                .map(|n| report_file::json_string(n))
                .collect();
            warning_json.push_str(&format!(
                "{{\"atomic\":{},\"line\":{},\"shares_with\":[{}]}}",
                report_file::json_string(w.atomic),
                w.line,
                neighbours.join(",")
            ));
        }
        warning_json.push(']');
        let reason = if warnings.is_empty() {
            format!(
                "{} spans {} line(s) of {} bytes; no atomic shares a line with another field",
                self.type_name,
                self.lines(),
                self.line_size
            )
        } else {
            let names: Vec<&str> = warnings.iter().map(|w| w.atomic).collect();
            format!(
                "{} spans {} line(s) of {} bytes; atomic field(s) {} share a line with other fields (false sharing risk)",
                self.type_name,
                self.lines(),
                self.line_size,
                names.join(", ")
            )
        };
        let data = format!(
            "{{\"size\":{},\"align\":{},\"line_size\":{},\"lines\":{},\"fields\":{},\"sharing_warnings\":{}}}",
            self.size,
            self.align,
            self.line_size,
            self.lines(),
            fields,
            warning_json
        );
        report_file::record("cacheline-layout", self.type_name, "layout", &reason, &data)
    }
}

impl fmt::Display for TypeLayout {
    /// Draws the map: one row per field with its byte range and lines, then the warnings.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} (size {}, align {}, {} line(s) of {} bytes)",
            self.type_name,
            self.size,
            self.align,
            self.lines(),
            self.line_size
        )?;
        for field in &self.fields {
            writeln!(
                f,
                "  {:<16} {:>6}..{:<6} line {}{}{}{}",
                field.name,
                field.offset,
                field.offset + field.size,
                field.first_line(self.line_size),
                if field.last_line(self.line_size) != field.first_line(self.line_size) {
                    format!("-{}", field.last_line(self.line_size))
                } else {
                    String::new()
                },
                if field.is_atomic { "  atomic" } else { "" },
                if field.isolated { "  isolated" } else { "" },
            )?;
        }
        for w in self.sharing_warnings() {
            writeln!(
                f,
                "  warning: atomic `{}` shares line {} with {}",
                w.atomic,
                w.line,
                w.neighbours.join(", ")
            )?;
        }
        Ok(())
    }
}

/// Implemented by `#[cacheline_aligned]` for the types it annotates.
pub trait CachelineLayout: Sized {
    /// The alignment (and line size of the map) the attribute enforced, in bytes.
    const LINE_SIZE: usize;

    /// Evaluating this constant checks the layout at compile time (alignment, size, isolated
    /// fields on their own lines). Non-generic types evaluate it where they are defined; generic
    /// types when [`cacheline_layout`](Self::cacheline_layout) is instantiated.
    const LAYOUT_CHECK: ();

    /// The field-to-cache-line map of `Self`.
    fn cacheline_layout() -> TypeLayout;
}

/// Whether a type name (as [`core::any::type_name`] prints it) is or contains an atomic.
pub fn type_name_is_atomic(type_name: &str) -> bool {
    type_name
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .filter_map(|path| path.rsplit("::").next())
        .any(|last| last.starts_with("Atomic"))
}

/// Maps registered with [`register`], written by [`write_registered_report`].
static REGISTERED: Mutex<Vec<fn() -> TypeLayout>> = Mutex::new(Vec::new());

/// Registers `T`'s map for [`write_registered_report`] (registering twice is harmless).
pub fn register<T: CachelineLayout>() {
    let mut registered = REGISTERED.lock().unwrap_or_else(|e| e.into_inner());
    let f: fn() -> TypeLayout = T::cacheline_layout;
    if !registered.iter().any(|g| *g as usize == f as usize) {
        registered.push(f);
    }
}

/// Maps of every registered type.
pub fn registered_layouts() -> Vec<TypeLayout> {
    let registered = REGISTERED.lock().unwrap_or_else(|e| e.into_inner());
    registered.iter().map(|f| f()).collect()
}

/// Writes `T`'s map (and every map registered before) to `$HALLOWS_REPORT_DIR`.
///
/// Returns the file written, or `None` when `HALLOWS_REPORT_DIR` is unset.
pub fn write_report<T: CachelineLayout>() -> io::Result<Option<PathBuf>> {
    register::<T>();
    write_registered_report()
}

/// Writes the maps of all [`register`]ed types to `$HALLOWS_REPORT_DIR` as
/// `macros-layout-<pid>.jsonl` (whole file to a temporary name, then renamed).
///
/// Returns the file written, or `None` when `HALLOWS_REPORT_DIR` is unset.
pub fn write_registered_report() -> io::Result<Option<PathBuf>> {
    let records: Vec<String> = registered_layouts().iter().map(|l| l.to_record()).collect();
    report_file::write_records("macros-layout", &records)
}

/// Types and `const fn`s the code `#[cacheline_aligned]` expands to uses; reached through
/// `hallows_runtime::__private`. Not a stable interface.
#[doc(hidden)]
pub mod support {
    use core::fmt;
    use core::mem::{ManuallyDrop, MaybeUninit};
    use core::ops::{Deref, DerefMut};

    macro_rules! line_breaks {
        ($($name:ident = $align:literal),* $(,)?) => {$(
            /// A zero-sized type aligned to this many bytes: as a `#[repr(C)]` field it moves the
            /// next field to the next multiple of the alignment without taking space itself.
            #[repr(align($align))]
            // Every trait a user may derive on a struct holding one as padding (`#[cacheline_aligned]`
            // inserts them into structs as they are, derives included).
            #[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
            pub struct $name;
        )*};
    }
    line_breaks!(
        Align1 = 1,
        Align2 = 2,
        Align4 = 4,
        Align8 = 8,
        Align16 = 16,
        Align32 = 32,
        Align64 = 64,
        Align128 = 128,
        Align256 = 256,
        Align512 = 512,
        Align1024 = 1024,
        Align2048 = 2048,
        Align4096 = 4096,
    );

    /// The default line size of `#[cacheline_aligned]`: the target's destructive-interference
    /// size (see [`crate::padding`] for the sources).
    pub use crate::padding::CACHE_LINE_PAIR as DEFAULT_LINE;

    /// The zero-sized type aligned to [`DEFAULT_LINE`].
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    pub type DefaultLine = Align128;
    /// The zero-sized type aligned to [`DEFAULT_LINE`].
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    pub type DefaultLine = Align64;

    /// `value` aligned to and padded to whole multiples of `align_of::<A>()` (one of the
    /// `AlignN` types): nothing else can share its lines. Dereferences to `T`.
    #[repr(C)]
    pub struct Isolated<T, A> {
        _align: [A; 0],
        value: T,
    }

    impl<T, A> Isolated<T, A> {
        /// Wraps `value`.
        pub const fn new(value: T) -> Self {
            Self { _align: [], value }
        }

        /// Returns the wrapped value.
        pub fn into_inner(self) -> T {
            self.value
        }
    }

    impl<T, A> Deref for Isolated<T, A> {
        type Target = T;
        #[inline(always)]
        fn deref(&self) -> &T {
            &self.value
        }
    }

    impl<T, A> DerefMut for Isolated<T, A> {
        #[inline(always)]
        fn deref_mut(&mut self) -> &mut T {
            &mut self.value
        }
    }

    impl<T, A> From<T> for Isolated<T, A> {
        fn from(value: T) -> Self {
            Self::new(value)
        }
    }

    impl<T: Default, A> Default for Isolated<T, A> {
        fn default() -> Self {
            Self::new(T::default())
        }
    }

    impl<T: Clone, A> Clone for Isolated<T, A> {
        fn clone(&self) -> Self {
            Self::new(self.value.clone())
        }
    }

    // `Copy`, comparisons and `Hash` follow `T`, so that the derives a user put on a tuple
    // struct whose fields `#[cacheline_aligned]` wraps in `Isolated` still compile; the
    // alignment marker `A` (an `AlignN`, zero-sized and all values equal) takes no part.
    impl<T: Copy, A: Copy> Copy for Isolated<T, A> {}

    impl<T: PartialEq, A> PartialEq for Isolated<T, A> {
        fn eq(&self, other: &Self) -> bool {
            self.value == other.value
        }
    }

    impl<T: Eq, A> Eq for Isolated<T, A> {}

    impl<T: PartialOrd, A> PartialOrd for Isolated<T, A> {
        fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
            self.value.partial_cmp(&other.value)
        }
    }

    impl<T: Ord, A> Ord for Isolated<T, A> {
        fn cmp(&self, other: &Self) -> core::cmp::Ordering {
            self.value.cmp(&other.value)
        }
    }

    impl<T: core::hash::Hash, A> core::hash::Hash for Isolated<T, A> {
        fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
            self.value.hash(state);
        }
    }

    impl<T: fmt::Debug, A> fmt::Debug for Isolated<T, A> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            self.value.fmt(f)
        }
    }

    /// Wraps every element of an array in [`Isolated`], in a constant context (static
    /// initialisers): `[T; N]` becomes `[Isolated<T, A>; N]`.
    pub const fn isolate_each<T, A, const N: usize>(src: [T; N]) -> [Isolated<T, A>; N] {
        let src = ManuallyDrop::new(src);
        let src_ptr = (&raw const src).cast::<T>();
        let mut out = MaybeUninit::<[Isolated<T, A>; N]>::uninit();
        let out_ptr = out.as_mut_ptr().cast::<Isolated<T, A>>();
        let mut i = 0;
        while i < N {
            // SAFETY: [1] `ManuallyDrop<[T; N]>` has the layout of `[T; N]`, so `src_ptr.add(i)`
            // for `i < N` points at element `i`, read exactly once and never dropped (the array
            // is in a `ManuallyDrop`); [2] `out_ptr.add(i)` is in bounds of `out` for `i < N`.
            unsafe { out_ptr.add(i).write(Isolated::new(src_ptr.add(i).read())) };
            i += 1;
        }
        // SAFETY: the loop initialised all `N` elements.
        unsafe { out.assume_init() }
    }

    /// Whether the byte ranges `[a, a + a_size)` and `[b, b + b_size)` touch a common
    /// `line`-byte line (zero-sized ranges touch none).
    pub const fn share_line(a: usize, a_size: usize, b: usize, b_size: usize, line: usize) -> bool {
        if a_size == 0 || b_size == 0 {
            return false;
        }
        let (a_first, a_last) = (a / line, (a + a_size - 1) / line);
        let (b_first, b_last) = (b / line, (b + b_size - 1) / line);
        a_first <= b_last && b_first <= a_last
    }

    /// `size_of` the field `project` selects, without naming its type.
    pub const fn size_of_field<S, F>(_project: fn(&S) -> &F) -> usize {
        core::mem::size_of::<F>()
    }
}

/// Writing report records (docs/REPORT_FORMAT.md) from the runtime side of the macros.
pub(crate) mod report_file {
    use std::io::{self, Write};
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Mutex;

    /// Temporary-file counter, so two writers in one process never share a temporary name.
    static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);
    /// Serialises writers of the same file, so a stale list never replaces a newer one.
    static WRITE_LOCK: Mutex<()> = Mutex::new(());

    /// `s` as a JSON string literal.
    pub(crate) fn json_string(s: &str) -> String {
        let mut out = String::with_capacity(s.len() + 2);
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    /// The crate part of a Rust path (`my_crate::a::B<T>` -> `my_crate`).
    fn crate_of(path: &str) -> &str {
        let end = path.find("::").unwrap_or(path.len());
        path[..end].trim_start_matches(['[', '&', '('])
    }

    /// One schema-1 record with `producer: "macros"`; `data` is a JSON object.
    pub(crate) fn record(
        pass: &str,
        function: &str,
        action: &str,
        reason: &str,
        data: &str,
    ) -> String {
        let ts_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        format!(
            "{{\"schema\":1,\"producer\":\"macros\",\"pass\":{},\"crate\":{},\"module\":\"\",\"function\":{},\"symbol\":\"\",\"action\":{},\"reason\":{},\"data\":{},\"ts_ms\":{}}}",
            json_string(pass),
            json_string(crate_of(function)),
            json_string(function),
            json_string(action),
            json_string(reason),
            data,
            ts_ms
        )
    }

    /// Writes `records` as `$HALLOWS_REPORT_DIR/<stem>-<pid>.jsonl`, whole, through a temporary
    /// file in the same directory and a rename. `None` when `HALLOWS_REPORT_DIR` is unset.
    pub(crate) fn write_records(stem: &str, records: &[String]) -> io::Result<Option<PathBuf>> {
        let Some(dir) = std::env::var_os("HALLOWS_REPORT_DIR") else {
            return Ok(None);
        };
        let dir = PathBuf::from(dir);
        let _serialised = WRITE_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        std::fs::create_dir_all(&dir)?;
        let pid = std::process::id();
        let name = format!("{stem}-{pid}.jsonl");
        let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.{pid}.{n}.tmp"));
        {
            let mut file = std::fs::File::create(&tmp)?;
            let mut text = String::new();
            for r in records {
                text.push_str(r);
                text.push('\n');
            }
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
        }
        let target = dir.join(name);
        std::fs::rename(&tmp, &target)?;
        Ok(Some(target))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_names_are_recognised() {
        assert!(type_name_is_atomic("core::sync::atomic::AtomicU64"));
        assert!(type_name_is_atomic("[core::sync::atomic::AtomicUsize; 4]"));
        assert!(type_name_is_atomic("my::AtomicCell<u8>"));
        assert!(!type_name_is_atomic("u64"));
        assert!(!type_name_is_atomic("alloc::vec::Vec<u8>"));
        assert!(!type_name_is_atomic("my::NonAtomic"));
    }

    #[repr(C)]
    struct Manual {
        a: u64,
        b: core::sync::atomic::AtomicU32,
        c: [u8; 200],
    }

    fn manual_map() -> TypeLayout {
        TypeLayout::new::<Manual>(64)
            .with_field("a", 0, false, |m: &Manual| &m.a)
            .with_field("b", 8, false, |m: &Manual| &m.b)
            .with_field("c", 12, false, |m: &Manual| &m.c)
    }

    #[test]
    fn lines_and_warnings_follow_offsets() {
        let map = manual_map();
        let c = map.field("c").unwrap();
        assert_eq!((c.first_line(64), c.last_line(64)), (0, 3));
        assert!(map.field("b").unwrap().is_atomic);
        let w = map.sharing_warnings();
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].atomic, "b");
        assert_eq!(w[0].neighbours, vec!["a", "c"]);
        assert_eq!(map.lines(), 4);
        let drawn = map.to_string();
        assert!(
            drawn.contains("warning: atomic `b` shares line 0 with a, c"),
            "{drawn}"
        );
    }

    #[test]
    fn isolate_each_moves_every_element_once() {
        use std::cell::Cell;
        struct Counted<'a>(u32, &'a Cell<u32>);
        impl Drop for Counted<'_> {
            fn drop(&mut self) {
                self.1.set(self.1.get() + 1);
            }
        }
        let drops = Cell::new(0);
        let array = [Counted(1, &drops), Counted(2, &drops), Counted(3, &drops)];
        let isolated: [support::Isolated<Counted<'_>, support::Align64>; 3] =
            support::isolate_each(array);
        assert_eq!(drops.get(), 0);
        assert_eq!(isolated.iter().map(|c| c.0).collect::<Vec<_>>(), [1, 2, 3]);
        for element in &isolated {
            assert_eq!(element as *const _ as usize % 64, 0);
        }
        drop(isolated);
        assert_eq!(drops.get(), 3);
    }

    #[test]
    fn share_line_matches_the_map() {
        assert!(support::share_line(0, 8, 8, 8, 64));
        assert!(!support::share_line(0, 64, 64, 8, 64));
        assert!(!support::share_line(0, 0, 0, 8, 64));
        assert!(support::share_line(60, 8, 64, 1, 64));
    }

    #[test]
    #[cfg_attr(miri, ignore = "reads the wall clock, which Miri's isolation forbids")]
    fn record_is_one_json_line() {
        let rec = manual_map().to_record();
        assert!(!rec.contains('\n'));
        assert!(
            rec.starts_with("{\"schema\":1,\"producer\":\"macros\",\"pass\":\"cacheline-layout\"")
        );
        assert!(rec.contains("\"action\":\"layout\""));
        assert!(rec.contains("\"shares_with\":[\"a\",\"c\"]"));
    }
}
