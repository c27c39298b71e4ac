// The stable route: no -Z flags. The plugin is loaded by the linker (rust-lld) through
// linker-plugin LTO and runs railway in the ThinLTO backends on the PGO-annotated bitcode.
// RUN: rm -rf %t && mkdir -p %t
// RUN: env -u RUSTC_BOOTSTRAP rustc -C opt-level=2 -C profile-generate=%t/prof --crate-name linker_railway %s -o %t/gen
// RUN: env LLVM_PROFILE_FILE=%t/prof/train.profraw %t/gen > %t/expected.txt
// RUN: llvm-profdata merge -o %t/m.profdata %t/prof
// RUN: env -u RUSTC_BOOTSTRAP HALLOWS_PASSES=railway HALLOWS_REPORT_DIR=%t/rep rustc -C opt-level=2 -C profile-use=%t/m.profdata -C linker-plugin-lto -C link-arg=-Wl,--load-pass-plugin=%plugin --crate-name linker_railway %s -o %t/use
// RUN: %t/use > %t/got.txt
// RUN: diff %t/expected.txt %t/got.txt
// RUN: cat %t/rep/*.railway.jsonl | FileCheck %s

// CHECK: {"action":"reordered","crate":"linker_railway","data":{"algorithm":"ext-tsp",{{.*}}"function":"linker_railway::classify"

use std::hint::black_box;

#[inline(never)]
pub fn classify(v: &[u32]) -> (u64, u64) {
    let mut small = 0u64;
    let mut big = 0u64;
    for &x in v {
        if x == u32::MAX {
            // Never happens in the training run.
            let mut h = x as u64;
            for i in 0..16u64 {
                h = h.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(7) ^ i;
            }
            eprintln!("sentinel seen: {h}");
            big = big.wrapping_add(h);
        } else if x % 16 == 0 {
            big += 1;
        } else {
            small += x as u64;
        }
    }
    (small, big)
}

fn main() {
    let v: Vec<u32> = (0..20_000u32).map(|i| i.wrapping_mul(2654435761) % 1000).collect();
    let r = classify(black_box(&v));
    println!("{} {}", r.0, r.1);
}
