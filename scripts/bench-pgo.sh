#!/usr/bin/env bash
# Benchmarks the branchy example workloads three ways: a plain release build, PGO alone, and
# `cargo hallows` (PGO plus the railway branch-layout pass).
#
#   scripts/bench-pgo.sh [--reps N] [--small] [--workloads "interp json lexer"] [--no-hallows]
#                        [--callgrind] [--no-build]
#
# Every variant gets its own target directory under $BENCH_TARGET_DIR (default target/bench-pgo).
# Both PGO variants train on the same input: the training workloads `hallows-examples` declares in
# `[[package.metadata.hallows.training]]` (interp, json and lexer, each with `--seed 1`), all
# three merged into one profile, whatever `--workloads` and `--small` say (those choose the
# evaluation runs only). So the PGO and hallows builds differ in the railway pass alone; the
# script checks that the two merged profiles hold the same counts (`llvm-profdata overlap`).
#   plain    cargo build --release
#   pgo      the cargo-pgo recipe on stable rustc: build with `-C profile-generate=DIR`, run each
#            declared training workload, `llvm-profdata-NN merge` all their raw profiles, rebuild
#            with `-C profile-use=FILE` (NN = the LLVM major version of rustc, from `rustc -vV`);
#            the raw profiles that build scripts and proc macros write while the instrumented
#            build runs are kept out of DIR (`LLVM_PROFILE_FILE` of the build), so only the
#            training runs count
#   hallows  `cargo hallows profile -p hallows-examples --no-prefetch-profile` (instrumented
#            build, every declared training workload, one merged profile), then `cargo hallows
#            build --release --passes inventory,railway --bins` (that profile plus the railway
#            layout pass)
# Then every binary runs on the evaluation input (the default seed 42, different from the
# training input) N times (default 5), the variants interleaved (plain, pgo, hallows, plain, ...)
# so machine noise hits them alike; every run must print the same result line. The Markdown
# table gives median kernel times (`kernel_cpu_s` from the workload's stderr: CPU time of the
# measured kernel, input generation excluded, robust on a shared machine), the ratios PGO/plain
# and hallows/PGO, and their geometric means; every run's time follows the table. `--callgrind`
# adds instruction counts of one run of each binary under valgrind's callgrind on a reduced
# input (needs valgrind). `--no-build` skips every build, training and profiling step and
# times the binaries a previous run left in
# $BENCH_TARGET_DIR: build once (`hl-build scripts/bench-pgo.sh --reps 1`), then time with
# `--no-build` on an otherwise idle machine, so no compilation shares it with the timed runs.
#
# Environment: CARGO, BENCH_TARGET_DIR, HALLOWS_CLI (a `cargo-hallows` binary to use instead of
# building the workspace's), RUSTFLAGS (kept: the PGO flags are appended to it).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh
root=$(pwd)

reps=5
size_args=()
workloads="interp json lexer"
want_hallows=auto
callgrind=no
no_build=no
while [ $# -gt 0 ]; do
    case "$1" in
        --reps) reps=${2:?--reps needs a number}; shift 2 ;;
        --reps=*) reps=${1#--reps=}; shift ;;
        --small) size_args=(--small); shift ;;
        --workloads) workloads=${2:?--workloads needs a list}; shift 2 ;;
        --no-hallows) want_hallows=no; shift ;;
        --callgrind) callgrind=yes; shift ;;
        --no-build) no_build=yes; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -n 's/^# \{0,1\}//p'; exit 0 ;;
        *) echo "error: unknown argument \`$1\`; see \`$0 --help\`" >&2; exit 2 ;;
    esac
done
check_reps "$reps"

cargo=${CARGO:-cargo}
base=${BENCH_TARGET_DIR:-$root/target/bench-pgo}
mkdir -p "$base"
log=$base/build.log
[ "$no_build" = yes ] || : >"$log"
# The declared training workloads, one `BIN ARGS...` line each, from examples/Cargo.toml as cargo
# parses it (the tables `cargo hallows profile` reads): both PGO variants train on exactly these.
training=$(cargo metadata --format-version 1 --no-deps --manifest-path examples/Cargo.toml |
    python3 -c '
import json, sys
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == "hallows-examples":
        for t in ((p.get("metadata") or {}).get("hallows") or {}).get("training", []):
            print(" ".join([t["bin"], *t.get("args", [])]))
')
if [ -z "$training" ]; then
    echo "error: examples/Cargo.toml declares no [[package.metadata.hallows.training]] workload" >&2
    exit 1
fi

llvm_major=$(rustc -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')
profdata=$(command -v "llvm-profdata-$llvm_major" || command -v llvm-profdata || true)
if [ -z "$profdata" ] && [ "$no_build" = no ]; then
    echo "error: llvm-profdata-$llvm_major not found; run scripts/setup.sh (or apt-get install llvm-$llvm_major)" >&2
    exit 1
fi
if [ "$callgrind" = yes ] && ! command -v valgrind >/dev/null; then
    echo "error: --callgrind needs valgrind; run scripts/setup.sh (or apt-get install valgrind)" >&2
    exit 1
fi

hallows_note=""
have_hallows=no
if [ "$no_build" = yes ]; then
    echo "bench-pgo: --no-build: timing the binaries already in $base" >&2
    for w in $workloads; do
        for d in plain pgo; do
            if [ ! -x "$base/$d/release/$w" ]; then
                echo "error: --no-build: $base/$d/release/$w is missing; run once without \`--no-build\` first" >&2
                exit 1
            fi
        done
    done
    if [ "$want_hallows" != no ]; then
        have_hallows=yes
        for w in $workloads; do
            if [ ! -x "$base/hallows/release/$w" ]; then
                have_hallows=no
                hallows_note="no hallows binary for $w (run once without \`--no-build\` first)"
            fi
        done
    fi
else
    build() { # build NAME TARGET_DIR [extra RUSTFLAGS]
        local name=$1 dir=$2 flags=${3:-}
        echo "bench-pgo: building $name in $dir" >&2
        if ! RUSTFLAGS="${RUSTFLAGS:-}${flags:+ $flags}" "$cargo" build --release --quiet -p hallows-examples \
            --bins --target-dir "$dir" >>"$log" 2>&1; then
            echo "error: the $name build failed; see $log" >&2
            exit 1
        fi
    }

    # 1. plain
    build plain "$base/plain"

    # 2. PGO alone, the cargo-pgo way.
    # The build scripts and proc macros that run during the instrumented build get the flag too
    # (no `--target`) and write raw profiles; they go to a directory of their own, deleted, so
    # the profile holds the training runs alone, as `cargo hallows profile`'s does.
    raw=$base/pgo-raw
    rm -rf "$raw" "$raw-build-time"
    mkdir -p "$raw" "$raw-build-time"
    LLVM_PROFILE_FILE="$raw-build-time/%m-%p.profraw" \
        build "instrumented (-C profile-generate)" "$base/pgo-gen" "-Cprofile-generate=$raw"
    rm -rf "$raw-build-time"
    while read -r w args; do
        echo "bench-pgo: training run: $w $args" >&2
        # shellcheck disable=SC2086 # the declared args are words without spaces
        LLVM_PROFILE_FILE="$raw/$w-%p-%m.profraw" "$base/pgo-gen/release/$w" $args >/dev/null 2>>"$log"
    done <<<"$training"
    "$profdata" merge -o "$base/pgo.profdata.new" "$raw"/*.profraw 2>>"$log"
    # Named by content, so cargo rebuilds when the profile changes (the flag names the file).
    pgo_hash=$(sha256sum "$base/pgo.profdata.new" | cut -c1-16)
    mv "$base/pgo.profdata.new" "$base/pgo-$pgo_hash.profdata"
    build "PGO (-C profile-use)" "$base/pgo" "-Cprofile-use=$base/pgo-$pgo_hash.profdata"

    # 3. cargo hallows: one profile over the declared training workloads, then every bin with it.
    if [ "$want_hallows" != no ]; then
        cli=${HALLOWS_CLI:-}
        if [ -z "$cli" ]; then
            echo "bench-pgo: building cargo-hallows" >&2
            if "$cargo" build --release --quiet -p cargo-hallows --target-dir "$base/tool" >>"$log" 2>&1; then
                cli=$base/tool/release/cargo-hallows
            else
                hallows_note="cargo-hallows did not build (see $log)"
            fi
        fi
        if [ -n "$cli" ]; then
            have_hallows=yes
            echo "bench-pgo: cargo hallows profile (declared training workloads) + build --passes inventory,railway" >&2
            if ! "$cli" hallows profile -p hallows-examples --no-prefetch-profile --target-dir "$base/hallows" \
                >>"$log" 2>&1; then
                hallows_note="\`cargo hallows profile -p hallows-examples\` failed (see $log)"
                have_hallows=no
            elif ! "$cli" hallows build --passes inventory,railway --release -p hallows-examples --bins \
                --target-dir "$base/hallows" >>"$log" 2>&1; then
                hallows_note="\`cargo hallows build --passes inventory,railway --bins\` failed (see $log)"
                have_hallows=no
            else
                # Same training, same counts: only the railway pass may differ between the arms.
                hprof=$(sed -n 's/.*"file": *"\([^"]*\)".*/\1/p' "$base/hallows/hallows/profiles/current.json")
                overlap=$("$profdata" overlap "$base/pgo-$pgo_hash.profdata" \
                    "$base/hallows/hallows/profiles/$hprof" 2>&1 | sed -n 's/^ *Edge profile overlap: *//p' | head -n 1)
                echo "bench-pgo: PGO and hallows profiles: edge profile overlap $overlap" | tee -a "$log" >&2
                if [ "$overlap" != "100.000%" ]; then
                    echo "warning: the PGO and hallows profiles differ (edge overlap $overlap): the comparison is not of the railway pass alone" >&2
                fi
            fi
        fi
        if [ "$have_hallows" = no ]; then
            echo "bench-pgo: no hallows column: $hallows_note" >&2
        fi
    fi
fi

bin_of() { # bin_of VARIANT WORKLOAD
    case $1 in
        plain) echo "$base/plain/release/$2" ;;
        pgo) echo "$base/pgo/release/$2" ;;
        hallows) echo "$base/hallows/release/$2" ;;
    esac
}
variants="plain pgo"
[ "$have_hallows" = yes ] && variants="plain pgo hallows"

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT


for w in $workloads; do
    echo "bench-pgo: timing $w ($reps reps, evaluation input)" >&2
    for ((r = 0; r < reps; r++)); do
        for v in $variants; do
            run_once "$(bin_of "$v" "$w")" "$results/$w.out" "${size_args[@]}" >>"$results/$w.$v"
        done
    done
    if [ "$callgrind" = yes ]; then
        case $w in
            interp) cg_args=(--size 256K) ;;
            json) cg_args=(--size 4000) ;;
            lexer) cg_args=(--size 2M) ;;
            *) cg_args=(--small) ;;
        esac
        for v in $variants; do
            valgrind --tool=callgrind --callgrind-out-file=/dev/null "$(bin_of "$v" "$w")" "${cg_args[@]}" \
                2>&1 >/dev/null | sed -n 's/.*Collected : \([0-9]*\).*/\1/p' >"$results/$w.$v.ir"
        done
    fi
done

echo
echo "Branchy workloads, median kernel CPU time of $reps interleaved runs on the evaluation input"
echo "(seed 42; both PGO variants trained on the declared workloads, one merged profile; $(date -u +%Y-%m-%d), $(nproc) cores). Ratio < 1 is faster."
echo
header="| workload | plain (s) | PGO (s) |"
rule="|---|---:|---:|"
[ "$have_hallows" = yes ] && { header="$header hallows (s) |"; rule="$rule---:|"; }
header="$header PGO/plain |"; rule="$rule---:|"
[ "$have_hallows" = yes ] && { header="$header hallows/PGO |"; rule="$rule---:|"; }
if [ "$callgrind" = yes ]; then
    header="$header Ir plain | Ir PGO |"; rule="$rule---:|---:|"
    [ "$have_hallows" = yes ] && { header="$header Ir hallows |"; rule="$rule---:|"; }
fi
header="$header outputs |"; rule="$rule---|"
echo "$header"
echo "$rule"
status=0
sum_pgo=0; sum_hal=0; n=0
for w in $workloads; do
    if outputs_same "$results/$w.out"; then same=same; else same=DIFFER; status=1; fi
    p=$(median <"$results/$w.plain")
    g=$(median <"$results/$w.pgo")
    rg=$(ratio "$g" "$p")
    row="| $w | $p | $g |"
    n=$((n + 1))
    sum_pgo=$(awk -v s="$sum_pgo" -v r="$rg" 'BEGIN { printf "%.9f", s + log(r) }')
    if [ "$have_hallows" = yes ]; then
        h=$(median <"$results/$w.hallows")
        rh=$(ratio "$h" "$g")
        sum_hal=$(awk -v s="$sum_hal" -v r="$rh" 'BEGIN { printf "%.9f", s + log(r) }')
        row="$row $h | $rg | $rh |"
    else
        row="$row $rg |"
    fi
    if [ "$callgrind" = yes ]; then
        for v in $variants; do row="$row $(cat "$results/$w.$v.ir") |"; done
    fi
    echo "$row $same |"
done
geo_pgo=$(awk -v s="$sum_pgo" -v n="$n" 'BEGIN { printf "%.3f", exp(s / n) }')
if [ "$have_hallows" = yes ]; then
    geo_hal=$(awk -v s="$sum_hal" -v n="$n" 'BEGIN { printf "%.3f", exp(s / n) }')
    echo "| **geomean** | | | | **$geo_pgo** | **$geo_hal** |"
else
    echo "| **geomean** | | | **$geo_pgo** |"
fi
if [ "$callgrind" = yes ]; then
    echo
    echo "Ir: instructions executed by the whole process under callgrind, one run on a reduced input"
    echo "(interp --size 256K, json --size 4000, lexer --size 2M)."
fi
echo
echo "Every run (kernel CPU s, in run order; the variants interleaved):"
for w in $workloads; do
    for v in $variants; do
        echo "- $w $v: $(tr '\n' ' ' <"$results/$w.$v" | sed 's/ $//')"
    done
done
if [ -n "$hallows_note" ]; then
    echo
    echo "No hallows column: $hallows_note."
fi
if [ "$status" != 0 ]; then
    echo "error: some builds printed different results (see DIFFER above)" >&2
fi
exit "$status"
