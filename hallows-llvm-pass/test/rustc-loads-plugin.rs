// The plugin loads into rustc (-Z llvm-plugins), runs at its extension points and writes the
// inventory record of a known function, with the Rust name demangled and the crate named.
// RUN: rm -rf %t && mkdir -p %t
// RUN: env RUSTC_BOOTSTRAP=1 HALLOWS_REPORT_DIR=%t/reports rustc -Z llvm-plugins=%plugin -C opt-level=2 --crate-type=lib --crate-name=litprobe --emit=obj -o %t/litprobe.o %s
// RUN: cat %t/reports/*.inventory.jsonl | FileCheck %s
// CHECK: "crate":"litprobe"
// CHECK-SAME: "function":"litprobe::checksum"
// CHECK-SAME: "symbol":"_R

#[inline(never)]
pub fn checksum(data: &[u8]) -> u32 {
    data.iter().fold(0u32, |acc, b| acc.rotate_left(5) ^ u32::from(*b))
}
