#!/usr/bin/env bash
# Miri over hallows-runtime's unit tests and stress tests (sizes reduced under `cfg(miri)`).
# Catches undefined behaviour, data races and leaks in the unsafe lock-free code.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! cargo +nightly miri --version >/dev/null 2>&1; then
    # Without any nightly toolchain (none installed, and scripts/setup.sh could not fetch one)
    # Miri cannot run on this machine at all: say so loudly rather than fail every other check.
    # A nightly without a working miri is a broken set-up and fails in CI.
    if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
        echo "miri: SKIPPED: no nightly toolchain on this machine and none could be installed" >&2
        exit 0
    fi
    if [ "${CI:-}" = true ]; then
        echo "miri: error: \`cargo +nightly miri\` is not available; run scripts/setup.sh" >&2
        exit 1
    fi
    echo "miri: skipped: nightly miri is not installed (rustup component add --toolchain nightly miri rust-src)" >&2
    exit 0
fi

# --- unit-test filters (module paths in hallows-runtime's lib): add yours here ---
MIRI_LIB_FILTERS=(
    sync::
    padding::
    queue::mpsc::
    reclaim::
    combining::
    map::
    queue::local::
    queue::injector::
    scheduler::
)
# --- integration-test targets (hallows-runtime/tests/<name>.rs): add yours here ---
MIRI_TESTS=(
    mpsc_stress
    hazard_stress
    epoch_stress
    epoch_stalled_reader
    combining_stress
    map_stress
    runtime_tasks
    runtime_fork_join
    runtime_shutdown
)
# --- end of lists ---

# Many seeds would multiply the time; one seed, no isolation (tests spawn threads and read time).
export MIRIFLAGS="${MIRIFLAGS:--Zmiri-disable-isolation}"
# Its own target dir (cfg flags differ), inside CARGO_TARGET_DIR when one is set.
target_dir="${CARGO_TARGET_DIR:-target}/miri"
start=$SECONDS
status=0
t0=$SECONDS
if ! cargo +nightly miri test -p hallows-runtime --target-dir "$target_dir" --lib -- "${MIRI_LIB_FILTERS[@]}"; then
    status=1
fi
echo "miri: lib unit tests took $((SECONDS - t0)) s" >&2
for t in "${MIRI_TESTS[@]}"; do
    if [ ! -f "hallows-runtime/tests/$t.rs" ]; then
        echo "miri: error: hallows-runtime/tests/$t.rs does not exist; fix the list in $0" >&2
        exit 1
    fi
    t0=$SECONDS
    if ! cargo +nightly miri test -p hallows-runtime --target-dir "$target_dir" --test "$t"; then
        echo "miri: $t FAILED" >&2
        status=1
    fi
    echo "miri: $t took $((SECONDS - t0)) s" >&2
done
echo "miri: total $((SECONDS - start)) s" >&2
exit "$status"
