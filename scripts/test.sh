#!/usr/bin/env bash
# Runs every Hallows test on this machine: set-up first, then formatting, lints, the workspace's
# tests, and each extra check in scripts/checks/ (FileCheck tests, Miri, loom, end-to-end).
set -uo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh || { echo "error: scripts/setup.sh failed; see above" >&2; exit 1; }

passed=0
failed=0
failures=()
run() {
    local name=$1; shift
    echo "==> $name" >&2
    local start=$SECONDS
    if "$@"; then
        passed=$((passed + 1))
        echo "==> $name: ok ($((SECONDS - start)) s)" >&2
    else
        failed=$((failed + 1))
        failures+=("$name")
        echo "==> $name: FAILED ($((SECONDS - start)) s)" >&2
    fi
}

run fmt cargo fmt --all -- --check
run clippy cargo clippy --workspace --all-targets --locked -- -D warnings
run cargo-test cargo test --workspace --locked --no-fail-fast
run benches-build cargo bench --workspace --locked --no-run
for check in scripts/checks/*.sh; do
    [ -e "$check" ] || continue
    run "$(basename "$check" .sh)" bash "$check"
done

if [ "$failed" -gt 0 ]; then
    echo "failed checks: ${failures[*]}" >&2
fi
echo "checks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
