#!/usr/bin/env bash
# FileCheck tests of the LLVM pass plugin: builds the plugin, then runs lit on
# hallows-llvm-pass/test (opt + FileCheck from `llvm-config --bindir`, and one test that loads
# the plugin into rustc).
set -euo pipefail
cd "$(dirname "$0")/../.."

# Inside CARGO_TARGET_DIR when one is set; absolute, since lit runs from the test directory.
target_dir="${CARGO_TARGET_DIR:-target}/lit"
case "$target_dir" in /*) ;; *) target_dir="$PWD/$target_dir" ;; esac
cargo build --release --locked -p hallows-llvm-pass --target-dir "$target_dir"
plugin="$target_dir/release/libhallows_llvm_pass.so"
if [ ! -f "$plugin" ]; then
    echo "error: the build did not produce $plugin" >&2
    exit 1
fi

if ! python3 -c 'import lit' >/dev/null 2>&1; then
    echo "lit.sh: installing lit with pip" >&2
    python3 -m pip install --quiet 'lit>=18'
fi

export HALLOWS_PLUGIN="$plugin"
export HALLOWS_LIT_OUT="$target_dir/lit-out"
# lit has no `python3 -m lit`; call its entry point so the pip-installed copy is found.
exec python3 -c 'import sys; from lit.main import main; sys.argv[0] = "lit"; main()' -v hallows-llvm-pass/test
