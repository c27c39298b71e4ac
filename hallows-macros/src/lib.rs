//! Procedural macros of Hallows: attributes that drop onto existing code.
//!
//! * [`macro@cacheline_aligned`]: cache-line alignment, per-field isolation and a run-time
//!   field-to-line map for structs, enums and statics.
//! * [`macro@multiversion`]: clones of a function for CPU feature sets with cached run-time
//!   dispatch.
//! * [`macro@multiversion_contention`]: versions of an operation chosen by observed contention.
//!
//! Each entry point parses its arguments and item into a small AST (`parse.rs`), validates them
//! collecting every error with the offending tokens' span, and expands (`expand.rs`). On error the
//! original item is still emitted beside the `compile_error!`s, so the user sees only the errors
//! that matter. Generated code refers to `::hallows_runtime::__private`.

use proc_macro::TokenStream;

mod cacheline_aligned;
mod common;
mod main_attr;
mod multiversion;
mod multiversion_contention;

/// Aligns a struct, an enum or a static to the target's destructive-interference size and
/// optionally gives chosen fields their own cache lines.
///
/// # Alignment
/// By default the type is aligned to 128 bytes on x86_64 and aarch64 (their prefetchers fetch
/// 64-byte lines in 128-byte pairs: Intel's optimisation manual, "Spatial Prefetcher"; the Linux
/// kernel's `L1_CACHE_SHIFT = 7` on arm64) and to 64 bytes elsewhere. `#[cacheline_aligned(64)]`
/// (or `align = 64`) overrides it with any power of two up to 4096.
///
/// # Per-field isolation
/// `#[cacheline_aligned(isolate)]` isolates every field, `isolate(a, b)` the named fields, and an
/// `#[isolate]` attribute on a field marks that field. Each marked field then starts a line and
/// shares none of its lines with another field:
/// * structs with named fields become `#[repr(C)]` and get zero-sized, line-aligned padding
///   fields before and after each marked field. Field types do not change, so `s.counter`,
///   `s.counter.fetch_add(..)`, `s.counter = x` and `&mut s.counter` compile as before. Struct
///   literals and exhaustive patterns are the exception: rustc needs every field, so construct
///   with `Default` (the padding types implement it; put `#[derive(..)]` below the attribute)
///   and assign fields, and match with `..`.
/// * tuple structs cannot take extra fields without renumbering `s.0`, `s.1`: their marked
///   fields are wrapped in `__private::Isolated<T, _>`, which dereferences to `T`, so method calls
///   and `&s.0` work unchanged and assignment is written `*s.0 = x`.
///
/// # Statics
/// A static's type `T` becomes `Isolated<T, _>` (it dereferences to `T`); an array static
/// `[T; N]` gets every element on its own lines (`[Isolated<T, _>; N]`), the per-core counter
/// array case.
///
/// # Layout checks and map
/// Compile-time assertions check the alignment, the size and every isolated field's lines. The
/// type implements `hallows_runtime::layout::CachelineLayout`, whose `cacheline_layout()` returns
/// the field-to-line map with atomics that share a line flagged; `write_report::<T>()` writes it
/// for `cargo hallows report`.
///
/// ```
/// use hallows_macros::cacheline_aligned;
/// use hallows_runtime::layout::CachelineLayout;
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// #[cacheline_aligned]
/// #[derive(Default)]
/// struct Queue {
///     #[isolate]
///     head: AtomicU64,
///     #[isolate]
///     tail: AtomicU64,
///     capacity: usize,
/// }
///
/// fn new_queue() -> Queue {
///     let mut q = Queue::default();
///     q.capacity = 16;
///     q
/// }
///
/// let q = new_queue();
/// q.head.fetch_add(1, Ordering::Relaxed);
/// let map = Queue::cacheline_layout();
/// assert_ne!(map.field("head").unwrap().first_line(map.line_size),
///            map.field("tail").unwrap().first_line(map.line_size));
/// ```
#[proc_macro_attribute]
pub fn cacheline_aligned(args: TokenStream, item: TokenStream) -> TokenStream {
    cacheline_aligned::expand(args.into(), item.into()).into()
}

/// Compiles a function once per listed CPU feature set and picks the best clone the running
/// CPU supports, detecting features once and caching the choice.
///
/// Targets are `"x86-64-v2"`, `"x86-64-v3"`, `"x86-64-v4"`, `"<arch>+<feature>+..."` (for
/// example `"x86_64+avx2+fma"`, `"aarch64+neon+dotprod"`) and `"baseline"` (implied, always
/// last). When `-C target-cpu`/`-C target-feature` already guarantee the first listed set, the
/// function calls that clone directly with no run-time check. Works on free functions, inherent
/// methods and generic functions, and on `impl` blocks: there every method with its own
/// `#[multiversion(targets(..))]` is cloned (or every method, when the block's attribute lists
/// the targets). In a trait impl the clones live in a hidden inherent impl of the same type and
/// the trait method dispatches to them, so trait impls of types defined in the same crate work.
///
/// ```
/// #[hallows_macros::multiversion(targets("x86-64-v3", "x86-64-v2"))]
/// pub fn sum(xs: &[f32]) -> f32 {
///     xs.iter().sum()
/// }
/// assert_eq!(sum(&[1.0, 2.0]), 3.0);
/// ```
#[proc_macro_attribute]
pub fn multiversion(args: TokenStream, item: TokenStream) -> TokenStream {
    multiversion::expand(args.into(), item.into()).into()
}

/// Chooses between versions of an operation by observed contention (reactive synchronisation,
/// Lim & Agarwal 1994).
///
/// Two forms:
/// * on an `impl` block (inherent or of a trait): a method with an empty body and
///   `#[contention_versions(a, b, c)]` becomes a dispatcher over the sibling methods `a`, `b`,
///   `c` (tried first to last; in a trait impl they move to a hidden inherent impl). Each version
///   has the dispatcher's signature plus a last parameter
///   `probe: hallows_runtime::contention::Probe`, through which it reports failed CAS attempts
///   or waiting. Versions must stay correct when other threads run another version at the same
///   time (around a switch).
/// * on a function or method with `lock = <expr>, guard = <name>`: the body is a critical section
///   of the `std::sync::Mutex` `<expr>`; the macro derives three acquisition versions (spinning
///   `try_lock`, `try_lock` with exponential backoff, blocking `lock`) and binds the guard to
///   `<name>`.
///
/// The dispatcher reads one relaxed atomic and decrements a thread-local countdown per call;
/// every 50 µs of a thread's time a sample counts its calls, and the dispatcher tries the other
/// versions now and then, adopting one whose measured throughput is higher. See
/// `hallows_runtime::contention` for the policy and its report.
#[proc_macro_attribute]
pub fn multiversion_contention(args: TokenStream, item: TokenStream) -> TokenStream {
    multiversion_contention::expand(args.into(), item.into()).into()
}

/// Runs an `async fn` (usually `main`) on a Hallows runtime: the function becomes a plain `fn`
/// that builds `hallows_runtime::Runtime` and `block_on`s the body.
///
/// Arguments (all optional): `workers = N` (default: one per CPU) and `pin = true|false`
/// (default `true`). Use it through the runtime's re-export, `#[hallows_runtime::main]`.
///
/// ```
/// #[hallows_runtime::main(workers = 2)]
/// async fn main() {
///     let answer = hallows_runtime::spawn(async { 6 * 7 }).await;
///     assert_eq!(answer, 42);
/// }
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    main_attr::expand(args.into(), item.into()).into()
}
