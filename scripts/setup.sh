#!/usr/bin/env bash
# Installs everything Hallows needs on a fresh Debian x86_64 machine with rustup's stable rustc.
# Idempotent: each step is skipped when its tool is already present.
set -euo pipefail

LLVM_MAJOR=$(rustc -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')
if [ -z "$LLVM_MAJOR" ]; then
    echo "error: could not read rustc's LLVM version from \`rustc -vV\`; install Rust with rustup" >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

need_apt=()
for pair in "llvm-config-$LLVM_MAJOR:llvm-$LLVM_MAJOR-dev" "clang++-$LLVM_MAJOR:clang-$LLVM_MAJOR" \
            "ld.lld-$LLVM_MAJOR:lld-$LLVM_MAJOR" "FileCheck-$LLVM_MAJOR:llvm-$LLVM_MAJOR-tools" \
            "valgrind:valgrind" "python3:python3"; do
    tool=${pair%%:*}; pkg=${pair#*:}
    command -v "$tool" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "setup: installing ${need_apt[*]} with apt-get" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# lit drives the pass plugin's FileCheck tests.
if ! python3 -c 'import lit' >/dev/null 2>&1; then
    echo "setup: installing lit with pip" >&2
    python3 -m pip install --quiet 'lit>=18'
fi

# Miri runs the lock-free code's unit tests; it needs the nightly toolchain's miri component.
if [ "${HALLOWS_SKIP_MIRI:-0}" != 1 ]; then
    if rustup toolchain list | grep -q '^nightly'; then
        if ! cargo +nightly miri --version >/dev/null 2>&1; then
            echo "setup: adding miri to the nightly toolchain" >&2
            rustup component add --toolchain nightly miri rust-src >/dev/null 2>&1 ||
                echo "setup: warning: could not add miri; scripts/test.sh will skip Miri" >&2
        fi
    else
        echo "setup: installing a minimal nightly toolchain with miri" >&2
        timeout 600 rustup toolchain install nightly --profile minimal --component miri,rust-src >/dev/null 2>&1 ||
            echo "setup: warning: no nightly toolchain could be installed; scripts/test.sh will skip Miri" >&2
    fi
fi

# Install cargo-hallows itself so `cargo hallows` works from any crate.
if [ "${HALLOWS_SKIP_INSTALL:-0}" != 1 ]; then
    here=$(cd "$(dirname "$0")/.." && pwd)
    cargo install --quiet --locked --path "$here/cargo-hallows" --root "${CARGO_HOME:-$HOME/.cargo}" >&2
fi
echo "setup: done (rustc LLVM $LLVM_MAJOR)" >&2
