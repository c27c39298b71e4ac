#!/usr/bin/env bash
# Sets up a fresh machine and runs the main demo: the bytecode interpreter workload built with
# `cargo hallows build` (the Hallows passes loaded into rustc), run, and the pass report shown.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

echo "==> cargo hallows doctor" >&2
cargo hallows doctor
echo "==> cargo hallows build --release -p hallows-examples --bin interp" >&2
cargo hallows build --release -p hallows-examples --bin interp
echo "==> running target/release/interp" >&2
./target/release/interp
echo "==> cargo hallows report --crate interp" >&2
cargo hallows report --crate interp
