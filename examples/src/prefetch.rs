//! Explicit software prefetches for the hand-tuned kernel variants.
//!
//! On x86-64 these lower to `prefetcht0` (`_mm_prefetch` with `_MM_HINT_T0`: fetch into all
//! cache levels; Intel SDM vol. 2B, "PREFETCHh"). Elsewhere they compile to nothing, so the
//! kernels stay portable and compute the same results. A prefetch is only a hint: it never
//! faults and never changes what a program computes, which is why the `prefetch` variants can be
//! checked against the `plain` ones bit for bit.

/// Hints that the cache line holding `ptr` will be read soon.
///
/// `ptr` may be dangling or out of bounds: the instruction never dereferences it architecturally.
///
/// ```
/// let v = vec![1u64; 16];
/// hallows_examples::prefetch::prefetch_read(v.as_ptr().wrapping_add(8));
/// ```
#[inline(always)]
pub fn prefetch_read<T>(ptr: *const T) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: `prefetcht0` is a hint that performs no architectural memory access, so it
        // cannot fault or race whatever `ptr` points to (Intel SDM vol. 2B, PREFETCHh: "does
        // not affect program behavior"), and SSE, which the intrinsic needs, is part of the
        // x86-64 baseline.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(ptr.cast::<i8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = ptr;
    }
}

/// Prefetches `slice[index]` if `index` is in bounds; does nothing otherwise.
///
/// Kernels call this with indices computed `distance` iterations ahead, which may run past the
/// end near the last iterations.
///
/// ```
/// let v = vec![0u32; 1024];
/// hallows_examples::prefetch::prefetch_index(&v, 900);
/// hallows_examples::prefetch::prefetch_index(&v, 5000); // out of bounds: no-op
/// ```
#[inline(always)]
pub fn prefetch_index<T>(slice: &[T], index: usize) {
    if index < slice.len() {
        prefetch_read(slice.as_ptr().wrapping_add(index));
    }
}

/// Environment variable that overrides every kernel's tuned prefetch distance (for re-tuning on
/// another machine; it changes only timing, never results).
pub const DISTANCE_ENV: &str = "HALLOWS_EXAMPLES_PREFETCH_DISTANCE";

/// The prefetch distance a kernel uses: `tuned`, unless [`DISTANCE_ENV`] holds a positive integer.
///
/// ```
/// // With the variable unset the tuned value is used.
/// assert_eq!(hallows_examples::prefetch::distance(32), 32);
/// ```
pub fn distance(tuned: usize) -> usize {
    std::env::var(DISTANCE_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&d| d > 0)
        .unwrap_or(tuned)
}
