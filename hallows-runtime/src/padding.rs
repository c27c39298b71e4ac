//! [`CachePadded`]: keeps a value alone on its cache line(s) so that writes to it do not
//! invalidate neighbouring data (false sharing).
//!
//! # Why 128 bytes on x86_64 and aarch64
//!
//! * x86_64: cache lines are 64 bytes, but Intel's L2 "spatial prefetcher" fetches lines in
//!   pairs (the 128-byte-aligned buddy of each missed line). Two hot values 64 bytes apart still
//!   ping-pong between cores. Intel® 64 and IA-32 Architectures Optimization Reference Manual,
//!   §2.5.5.4 "Data Prefetching" (the "Spatial Prefetcher" strives to complete every cache line
//!   fetched to the L2 cache with the pair line that completes it to a 128-byte aligned chunk).
//! * aarch64: Apple M-series cores have 128-byte cache lines, and Arm Neoverse parts also pair
//!   lines in their prefetchers; the Linux kernel uses `L1_CACHE_SHIFT = 7` for arm64 (see
//!   `arch/arm64/include/asm/cache.h`).
//! * Other targets: 64 bytes, the common line size.
//!
//! The same choice is made by crossbeam-utils and by the Linux kernel's
//! `____cacheline_aligned_in_smp` on arm64.

use core::fmt;
use core::ops::{Deref, DerefMut};

/// Bytes a [`CachePadded`] value is aligned (and padded) to on this target.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
pub const CACHE_LINE_PAIR: usize = 128;
/// Bytes a [`CachePadded`] value is aligned (and padded) to on this target.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
pub const CACHE_LINE_PAIR: usize = 64;

/// Pads and aligns a value to [`CACHE_LINE_PAIR`] bytes (128 on x86_64/aarch64, 64 elsewhere).
///
/// # Example
///
/// ```
/// use hallows_runtime::padding::{CachePadded, CACHE_LINE_PAIR};
/// use std::sync::atomic::AtomicUsize;
///
/// let head = CachePadded::new(AtomicUsize::new(0));
/// assert_eq!(core::mem::align_of_val(&head), CACHE_LINE_PAIR);
/// assert_eq!(core::mem::size_of_val(&head) % CACHE_LINE_PAIR, 0);
/// ```
#[cfg_attr(any(target_arch = "x86_64", target_arch = "aarch64"), repr(align(128)))]
#[cfg_attr(
    not(any(target_arch = "x86_64", target_arch = "aarch64")),
    repr(align(64))
)]
#[derive(Default, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CachePadded<T> {
    value: T,
}

impl<T> CachePadded<T> {
    /// Wraps `value` in its own cache line(s).
    #[inline]
    pub const fn new(value: T) -> Self {
        Self { value }
    }

    /// Returns the wrapped value.
    #[inline]
    pub fn into_inner(self) -> T {
        self.value
    }
}

impl<T> Deref for CachePadded<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for CachePadded<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T: fmt::Debug> fmt::Debug for CachePadded<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachePadded")
            .field("value", &self.value)
            .finish()
    }
}

impl<T> From<T> for CachePadded<T> {
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

#[cfg(test)]
mod tests {
    use super::{CachePadded, CACHE_LINE_PAIR};

    #[test]
    fn adjacent_padded_values_do_not_share_a_line_pair() {
        let pair = [CachePadded::new(1_u8), CachePadded::new(2_u8)];
        let a = &pair[0] as *const _ as usize;
        let b = &pair[1] as *const _ as usize;
        assert_eq!(a % CACHE_LINE_PAIR, 0);
        assert!(b - a >= CACHE_LINE_PAIR);
        assert_eq!(*pair[1], 2);
    }
}
