//! Whether Linux perf events can sample memory accesses on this machine.
//!
//! Precise memory sampling (Intel PEBS load-latency, AMD IBS) would give real miss addresses;
//! many virtual machines expose no hardware PMU, so `perf_event_open(2)` fails for every
//! hardware event. [`probe`] tries a sampling hardware-cache-miss event with
//! `PERF_SAMPLE_ADDR` on the calling thread and reports why it cannot be used, so the profile
//! falls back to the instrumentation's samples and the cache model. The raw syscall is used so
//! that this module needs no dependency (std links the C library, which provides `syscall`).

use std::os::raw::{c_long, c_void};

/// `perf_event_open` on x86_64 (`arch/x86/entry/syscalls/syscall_64.tbl`).
const SYS_PERF_EVENT_OPEN: c_long = 298;
/// `PERF_TYPE_HW_CACHE` (`include/uapi/linux/perf_event.h`).
const PERF_TYPE_HW_CACHE: u32 = 3;
/// L1D (0) | READ (0 << 8) | RESULT_MISS (1 << 16).
const L1D_READ_MISS: u64 = 1 << 16;
/// `PERF_SAMPLE_IP | PERF_SAMPLE_ADDR`.
const SAMPLE_IP_ADDR: u64 = 1 | (1 << 3);
/// `PERF_ATTR_SIZE_VER8`.
const ATTR_BYTES: usize = 136;
/// Bits of the attribute flag word: disabled (0), exclude_kernel (5), exclude_hv (6).
const FLAGS: u64 = 1 | (1 << 5) | (1 << 6);
/// Samples one miss in this many.
const SAMPLE_PERIOD: u64 = 10_007;

extern "C" {
    fn syscall(number: c_long, ...) -> c_long;
    fn close(fd: i32) -> i32;
}

/// Outcome of [`probe`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemorySampling {
    /// A sampling memory event opened; its samples can complement the instrumentation.
    Available,
    /// It cannot be used; the reason names the failure.
    Unavailable(String),
}

/// Tries to open a sampling L1D-read-miss event with data addresses for this thread.
pub fn probe() -> MemorySampling {
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        return MemorySampling::Unavailable(
            "perf memory sampling is only probed on x86_64 Linux".into(),
        );
    }
    let mut attr = [0u8; ATTR_BYTES];
    let mut put =
        |offset: usize, bytes: &[u8]| attr[offset..offset + bytes.len()].copy_from_slice(bytes);
    put(0, &PERF_TYPE_HW_CACHE.to_le_bytes());
    put(4, &(ATTR_BYTES as u32).to_le_bytes());
    put(8, &L1D_READ_MISS.to_le_bytes());
    put(16, &SAMPLE_PERIOD.to_le_bytes());
    put(24, &SAMPLE_IP_ADDR.to_le_bytes());
    put(40, &FLAGS.to_le_bytes());
    // SAFETY: perf_event_open reads `attr` (a fully initialised buffer of the size written in
    // its `size` field) and takes pid 0 (this thread), cpu -1 (any), group -1, flags 0; it
    // writes nothing through our pointers.
    let fd = unsafe {
        syscall(
            SYS_PERF_EVENT_OPEN,
            attr.as_ptr().cast::<c_void>(),
            0 as c_long,
            -1 as c_long,
            -1 as c_long,
            0 as c_long,
        )
    };
    if fd < 0 {
        let os = std::io::Error::last_os_error();
        return MemorySampling::Unavailable(format!(
            "perf_event_open for sampled L1D misses failed ({os}); hardware counters are not exposed here, using instrumentation samples only"
        ));
    }
    // SAFETY: `fd` is a descriptor this function just opened and owns.
    unsafe { close(fd as i32) };
    MemorySampling::Available
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_answers_without_crashing() {
        // Which answer depends on the machine; it must be one of the two, with a reason when
        // unavailable.
        match probe() {
            MemorySampling::Available => {}
            MemorySampling::Unavailable(why) => assert!(why.contains("perf"), "{why}"),
        }
    }
}
