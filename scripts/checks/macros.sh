#!/usr/bin/env bash
# hallows-macros extra checks:
# 1. Miri over the runtime support code of the macros (array isolation, layout maps).
# 2. #[multiversion] calls the first clone directly, without run-time CPU detection, when the
#    build flags already guarantee its features: the tests are rebuilt with
#    `-C target-cpu=x86-64-v3` in their own target dir; skipped on CPUs without AVX2/FMA (the
#    binary could not run there) and on other architectures.
set -euo pipefail
cd "$(dirname "$0")/../.."
# Own target dirs (other flags), inside CARGO_TARGET_DIR when one is set.
target_root="${CARGO_TARGET_DIR:-target}"

# Miri over the unsafe code the macros' runtime support uses (array isolation, layout maps).
if cargo +nightly miri --version >/dev/null 2>&1; then
    cargo +nightly miri test --locked -p hallows-runtime --lib --target-dir "$target_root/macros-miri" -- layout::
else
    echo "macros: skipping Miri (no nightly toolchain with miri; see scripts/setup.sh)" >&2
fi

if [ "$(uname -m)" != x86_64 ] || ! grep -qw avx2 /proc/cpuinfo || ! grep -qw fma /proc/cpuinfo; then
    echo "macros: skipping the target-cpu=x86-64-v3 run (needs an x86_64 CPU with AVX2 and FMA)" >&2
    exit 0
fi
RUSTFLAGS="-C target-cpu=x86-64-v3" cargo test --locked -p hallows-macros \
    --target-dir "$target_root/macros-v3" --test multiversion_static --test multiversion
