// End to end with rustc's own PGO: train, merge the profile, then build with the plugin running
// inventory and railway. The program prints the same result, the hot function is reordered
// with a report record, and, with HALLOWS_RAILWAY_BACKEND=1, the backend's block placement was switched to ext-TSP.
// Both builds use RUSTC_BOOTSTRAP=1: it changes rustc's default symbol mangling, and a profile
// only matches a build with the same symbol names.
// RUN: rm -rf %t && mkdir -p %t
// RUN: env RUSTC_BOOTSTRAP=1 rustc -C opt-level=2 -C codegen-units=1 -C profile-generate=%t/prof --crate-name pgo_railway %s -o %t/gen
// RUN: env LLVM_PROFILE_FILE=%t/prof/train.profraw %t/gen > %t/expected.txt
// RUN: llvm-profdata merge -o %t/m.profdata %t/prof
// RUN: env RUSTC_BOOTSTRAP=1 HALLOWS_PASSES=inventory,railway HALLOWS_RAILWAY_BACKEND=1 HALLOWS_REPORT_DIR=%t/rep HALLOWS_REPORT_STDERR=1 rustc -C opt-level=2 -C codegen-units=1 -C profile-use=%t/m.profdata -Z llvm-plugins=%plugin --crate-name pgo_railway %s -o %t/use 2> %t/stderr.txt
// RUN: FileCheck %s --check-prefix=BACKEND --input-file %t/stderr.txt
// RUN: %t/use > %t/got.txt
// RUN: diff %t/expected.txt %t/got.txt
// RUN: cat %t/rep/*.railway.jsonl | FileCheck %s
// By default the backend keeps LLVM's own (profile-guided) block placement: no message.
// RUN: env RUSTC_BOOTSTRAP=1 HALLOWS_PASSES=inventory,railway HALLOWS_REPORT_STDERR=1 rustc -C opt-level=2 -C codegen-units=1 -C profile-use=%t/m.profdata -Z llvm-plugins=%plugin --crate-name pgo_railway %s -o %t/default 2> %t/default-stderr.txt
// RUN: not grep -q "backend block placement" %t/default-stderr.txt
// RUN: %t/default > %t/default.txt
// RUN: diff %t/expected.txt %t/default.txt
// RUN: cat %t/rep/*.inventory.jsonl | FileCheck %s --check-prefix=INVENTORY

// BACKEND: hallows: hallows-railway: backend block placement set to ext-TSP for functions with profile data

// CHECK: {"action":"reordered","crate":"pgo_railway","data":{"algorithm":"ext-tsp",{{.*}}"function":"pgo_railway::classify"

// INVENTORY: "crate":"pgo_railway","data":{{.*}}"entry_count":1,"expected_weights":{{[0-9]+}},"has_profile":true{{.*}}"function":"pgo_railway::classify"

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
