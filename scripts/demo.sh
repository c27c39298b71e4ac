#!/usr/bin/env bash
# Sets up a fresh machine and runs the main demo on the bytecode interpreter workload: collect a
# profile from a training run (`cargo hallows profile`, seed 1), build with the Hallows passes and
# that profile (`cargo hallows build`), run it on another input (seed 42), and show what the
# railway pass did to each profiled function (block tracks, dispatch threading).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

echo "==> cargo hallows doctor" >&2
cargo hallows doctor
echo "==> cargo hallows profile -p hallows-examples --bin interp -- --seed 1" >&2
cargo hallows profile -p hallows-examples --bin interp -- --seed 1
echo "==> cargo hallows build --release -p hallows-examples --bin interp" >&2
cargo hallows build --release -p hallows-examples --bin interp
# The binary lands in cargo's target directory (CARGO_TARGET_DIR or build.target-dir, if set).
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
echo "==> running $target_dir/release/interp" >&2
"$target_dir/release/interp"
echo "==> cargo hallows report --crate interp --pass railway --function Machine::run" >&2
cargo hallows report --crate interp --pass railway --function Machine::run
echo "(all records: cargo hallows report --crate interp; JSON lines: add --json)" >&2
