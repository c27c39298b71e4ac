#!/usr/bin/env bash
# Benchmarks the memory-bound example kernels: plain code vs the hand-tuned software-prefetch
# variant (and vs a profile-guided `cargo hallows build` with the prefetch pass, when that works).
#
#   scripts/bench-prefetch.sh [--reps N] [--small] [--kernels "nas_is bfs ..."] [--no-hallows] [--no-build]
#
# Builds `hallows-examples` in separate target directories under $BENCH_TARGET_DIR (default
# target/bench-prefetch): `plain` (cargo build --release) and, per kernel K, `hallows-K`:
# `cargo hallows profile -p hallows-examples --bin K -- <training args>` (PGO and access-pattern
# profiles; training args: the benchmark's own `[--small] --variant plain`, or
# $HALLOWS_TRAIN_ARGS) then `cargo hallows build --release --passes inventory,prefetch --bin K`,
# so the hallows column is profile-guided prefetching (that build also uses the PGO profile; the
# railway pass is off). Then runs every kernel with its default input
# (4x the last-level cache) N times (default 5), the variants interleaved (plain, hand-tuned,
# hallows, plain, ...) so machine noise hits them alike, checks that every run prints the same
# result line, and prints a Markdown table of median kernel times (`kernel_cpu_s` from each
# workload's stderr: CPU time of the kernel alone, input generation excluded, robust on a shared
# machine), the ratios against plain and their geometric mean over the five prefetch kernels,
# then every run's time.
# `ptrchase` and `compute` are controls without a hand-tuned variant: prefetching cannot help
# them, and the hallows column must not hurt them. `--kernels` picks a subset. `--no-build`
# skips every build and profiling step and times the binaries a previous run left in
# $BENCH_TARGET_DIR (build with one run first, then time an exclusive run with `--no-build`,
# so no compilation or training run shares the machine with the timed runs).
#
# Environment: CARGO (cargo to use), BENCH_TARGET_DIR, HALLOWS_CLI (a `cargo-hallows` binary to
# use instead of building the workspace's), HALLOWS_TRAIN_ARGS (training-run arguments, split on
# spaces), HALLOWS_EXAMPLES_PREFETCH_DISTANCE (overrides the hand-tuned distances; see
# examples/src/prefetch.rs), HALLOWS_EXAMPLES_LLC_BYTES (the cache size the default inputs are
# sized from, for the training runs and the timed runs alike; see examples/src/cache.rs; it
# also becomes HALLOWS_PREFETCH_LLC_BYTES, the last-level size of the profiles' cache model,
# unless that is set: see hallows-llvm-pass/src/prefetch/model/cache.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh
root=$(pwd)

reps=5
size_args=()
# Kernels with a hand-tuned `--variant prefetch`, and the controls without one.
tuned_kernels="nas_is nas_cg randacc hashjoin bfs"
workloads="$tuned_kernels ptrchase compute"
want_hallows=auto
no_build=no
while [ $# -gt 0 ]; do
    case "$1" in
        --reps) reps=${2:?--reps needs a number}; shift 2 ;;
        --reps=*) reps=${1#--reps=}; shift ;;
        --small) size_args=(--small); shift ;;
        --kernels) workloads=${2:?--kernels needs a list}; shift 2 ;;
        --no-hallows) want_hallows=no; shift ;;
        --no-build) no_build=yes; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -n 's/^# \{0,1\}//p'; exit 0 ;;
        *) echo "error: unknown argument \`$1\`; see \`$0 --help\`" >&2; exit 2 ;;
    esac
done
check_reps "$reps"

cargo=${CARGO:-cargo}
# The cache the inputs are sized for is the one the training runs' profiles should model.
if [ -n "${HALLOWS_EXAMPLES_LLC_BYTES:-}" ] && [ -z "${HALLOWS_PREFETCH_LLC_BYTES:-}" ]; then
    export HALLOWS_PREFETCH_LLC_BYTES=$HALLOWS_EXAMPLES_LLC_BYTES
fi
base=${BENCH_TARGET_DIR:-$root/target/bench-prefetch}
mkdir -p "$base"
log=$base/build.log

hallows_note=""
have_hallows=no
if [ "$no_build" = yes ]; then
    echo "bench-prefetch: --no-build: timing the binaries already in $base" >&2
    if [ "$want_hallows" != no ]; then
        missing=""
        for w in $workloads; do
            if [ -x "$base/hallows-$w/release/$w" ]; then
                have_hallows=yes
            else
                missing="$missing $w"
            fi
        done
        if [ -n "$missing" ]; then
            hallows_note="no hallows binary for:$missing (run once without \`--no-build\` first)"
        fi
    fi
else
    : >"$log"
    echo "bench-prefetch: building plain (cargo build --release) in $base/plain" >&2
    if ! "$cargo" build --release --quiet -p hallows-examples --bins --target-dir "$base/plain" >>"$log" 2>&1; then
        echo "error: the plain build failed; see $log" >&2
        exit 1
    fi

    # The hallows column: the workspace's cargo-hallows, profile-guided, one target dir per kernel
    # (a build uses the newest profile of its target dir), for the kernels where that works.
    if [ "$want_hallows" != no ]; then
        cli=${HALLOWS_CLI:-}
        if [ -z "$cli" ]; then
            echo "bench-prefetch: building cargo-hallows" >&2
            if "$cargo" build --release --quiet -p cargo-hallows --target-dir "$base/tool" >>"$log" 2>&1; then
                cli=$base/tool/release/cargo-hallows
            else
                hallows_note="cargo-hallows did not build (see $log)"
            fi
        fi
        if [ -n "$cli" ]; then
            if [ -n "${HALLOWS_TRAIN_ARGS:-}" ]; then
                read -r -a train_args <<<"$HALLOWS_TRAIN_ARGS"
            else
                train_args=("${size_args[@]}" --variant plain)
            fi
            failed=""
            for w in $workloads; do
                echo "bench-prefetch: hallows $w: cargo hallows profile --bin $w -- ${train_args[*]}, then build --passes inventory,prefetch" >&2
                rm -f "$base/hallows-$w/release/$w"
                if "$cli" hallows profile -p hallows-examples --bin "$w" --target-dir "$base/hallows-$w" \
                    -- "${train_args[@]}" >>"$log" 2>&1 \
                    && "$cli" hallows build --release --passes inventory,prefetch -p hallows-examples \
                        --bin "$w" --target-dir "$base/hallows-$w" >>"$log" 2>&1; then
                    have_hallows=yes
                else
                    failed="$failed $w"
                fi
            done
            if [ -n "$failed" ]; then
                hallows_note="\`cargo hallows profile\`/\`build\` failed for:$failed (see $log)"
            fi
        fi
        if [ "$have_hallows" = no ]; then
            echo "bench-prefetch: no hallows column: $hallows_note" >&2
        fi
    fi
fi


results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

for w in $workloads; do
    if [ ! -x "$base/plain/release/$w" ]; then
        echo "error: no workload \`$w\` in hallows-examples (kernels: $workloads)" >&2
        exit 2
    fi
    tuned=no
    case " $tuned_kernels " in *" $w "*) tuned=yes ;; esac
    echo "bench-prefetch: $w ($reps reps)" >&2
    for ((r = 0; r < reps; r++)); do
        run_once "$base/plain/release/$w" "$results/$w.out" "${size_args[@]}" --variant plain >>"$results/$w.plain"
        if [ "$tuned" = yes ]; then
            run_once "$base/plain/release/$w" "$results/$w.out" "${size_args[@]}" --variant prefetch >>"$results/$w.tuned"
        fi
        if [ -x "$base/hallows-$w/release/$w" ]; then
            run_once "$base/hallows-$w/release/$w" "$results/$w.out" "${size_args[@]}" --variant plain >>"$results/$w.hallows"
        fi
    done
done

echo
echo "Memory-bound kernels, median kernel CPU time of $reps interleaved runs ($(date -u +%Y-%m-%d), $(nproc) cores,"
echo "LLC $(cat /sys/devices/system/cpu/cpu0/cache/index3/size 2>/dev/null || echo unknown)${HALLOWS_EXAMPLES_LLC_BYTES:+, inputs sized for an LLC of $HALLOWS_EXAMPLES_LLC_BYTES bytes}; ratio < 1 is faster than plain)."
echo
if [ "$have_hallows" = yes ]; then
    echo "| kernel | plain (s) | hand-tuned (s) | hallows (s) | tuned/plain | hallows/plain | outputs |"
    echo "|---|---:|---:|---:|---:|---:|---|"
else
    echo "| kernel | plain (s) | hand-tuned (s) | tuned/plain | outputs |"
    echo "|---|---:|---:|---:|---|"
fi
status=0
log_tuned=0; log_hallows=0; n_geo=0
for w in $workloads; do
    if outputs_same "$results/$w.out"; then same=same; else same=DIFFER; status=1; fi
    p=$(median <"$results/$w.plain")
    t="—"; tr="—"; h="—"; hr="—"
    if [ -s "$results/$w.tuned" ]; then
        t=$(median <"$results/$w.tuned")
        tr=$(awk -v a="$t" -v b="$p" 'BEGIN { printf "%.3f", a / b }')
    fi
    if [ -s "$results/$w.hallows" ]; then
        h=$(median <"$results/$w.hallows")
        hr=$(awk -v a="$h" -v b="$p" 'BEGIN { printf "%.3f", a / b }')
    fi
    if [ "$tr" != "—" ]; then
        n_geo=$((n_geo + 1))
        log_tuned=$(awk -v s="$log_tuned" -v r="$tr" 'BEGIN { printf "%.9f", s + log(r) }')
        if [ "$hr" != "—" ]; then
            log_hallows=$(awk -v s="$log_hallows" -v r="$hr" 'BEGIN { printf "%.9f", s + log(r) }')
        fi
    fi
    if [ "$have_hallows" = yes ]; then
        echo "| $w | $p | $t | $h | $tr | $hr | $same |"
    else
        echo "| $w | $p | $t | $tr | $same |"
    fi
done
if [ "$n_geo" -gt 0 ]; then
    gt=$(awk -v s="$log_tuned" -v n="$n_geo" 'BEGIN { printf "%.3f", exp(s / n) }')
    if [ "$have_hallows" = yes ]; then
        gh=$(awk -v s="$log_hallows" -v n="$n_geo" 'BEGIN { printf "%.3f", exp(s / n) }')
        echo "| **geomean** (prefetch kernels) | | | | **$gt** | **$gh** | |"
    else
        echo "| **geomean** (prefetch kernels) | | | **$gt** | |"
    fi
fi
echo
echo "Every run (kernel CPU seconds, in run order):"
echo
for w in $workloads; do
    line="- $w: plain $(tr '\n' ' ' <"$results/$w.plain")"
    if [ -s "$results/$w.tuned" ]; then line="$line; hand-tuned $(tr '\n' ' ' <"$results/$w.tuned")"; fi
    if [ -s "$results/$w.hallows" ]; then line="$line; hallows $(tr '\n' ' ' <"$results/$w.hallows")"; fi
    echo "$line" | sed 's/ ;/;/g; s/ *$//'
done
if [ -n "$hallows_note" ]; then
    echo
    if [ "$have_hallows" = yes ]; then
        echo "Hallows column incomplete: $hallows_note."
    else
        echo "No hallows column: $hallows_note."
    fi
fi
if [ "$status" != 0 ]; then
    echo "error: some variants printed different results (see DIFFER above)" >&2
fi
exit "$status"
