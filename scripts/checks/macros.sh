#!/usr/bin/env bash
# hallows-macros: #[multiversion] must call the first clone directly, without run-time CPU
# detection, when the build flags already guarantee its features. Builds the test with
# `-C target-cpu=x86-64-v3` in its own target dir; skipped on CPUs without AVX2/FMA (the test
# binary could not run there) and on other architectures.
set -euo pipefail
if [ "$(uname -m)" != x86_64 ] || ! grep -qw avx2 /proc/cpuinfo || ! grep -qw fma /proc/cpuinfo; then
    echo "macros: skipping the target-cpu=x86-64-v3 run (needs an x86_64 CPU with AVX2 and FMA)" >&2
    exit 0
fi
RUSTFLAGS="-C target-cpu=x86-64-v3" cargo test --locked -p hallows-macros \
    --target-dir target/macros-v3 --test multiversion_static --test multiversion
