#!/usr/bin/env bash
# Times already-built workload binaries against each other, interleaved: each of N rounds runs
# every binary once, in the order given, so machine noise hits them alike. Prints each binary's
# median and minimum `kernel_cpu_s` (from the workload's stderr), the ratio of the medians to
# the first binary's, the median of the per-round ratios to the first binary (the rounds pair
# runs that saw the same machine state), and every run; fails if the binaries print different
# results.
#
#   scripts/bench-interleave.sh [--reps N] [--args "ARGS"] NAME=BINARY NAME=BINARY ...
#
# Used for A/B runs of variants that scripts/bench-pgo.sh does not build (e.g. a pass setting
# switched off), on binaries built beforehand; run it under the bench lock, nothing else on the
# machine.
set -euo pipefail
. "$(dirname "$0")/bench-lib.sh"
reps=9
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --reps) reps=${2:?--reps needs a number}; shift 2 ;;
        --args) read -r -a args <<<"${2:?--args needs a string}"; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -n 's/^# \{0,1\}//p'; exit 0 ;;
        *) break ;;
    esac
done
check_reps "$reps"
[ $# -ge 2 ] || { echo "error: give at least two NAME=BINARY pairs" >&2; exit 2; }
names=(); bins=()
for pair in "$@"; do
    case "$pair" in
        *=*) names+=("${pair%%=*}"); bins+=("${pair#*=}") ;;
        *) echo "error: \`$pair\` is not NAME=BINARY" >&2; exit 2 ;;
    esac
    [ -x "${bins[-1]}" ] || { echo "error: ${bins[-1]} is not an executable" >&2; exit 1; }
done
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
for ((r = 0; r < reps; r++)); do
    for i in "${!bins[@]}"; do
        run_once "${bins[$i]}" "$results/out" "${args[@]}" >>"$results/$i"
    done
done
first=$(median <"$results/0")
echo "| binary | median kernel CPU (s) | min (s) | median ratio to ${names[0]} | median per-round ratio |"
echo "|---|---:|---:|---:|---:|"
for i in "${!bins[@]}"; do
    m=$(median <"$results/$i")
    lo=$(sort -g "$results/$i" | head -1)
    per_round=$(paste "$results/$i" "$results/0" | awk '{ printf "%.6f\n", $1 / $2 }' | median)
    printf '| %s | %s | %s | %.3f | %.3f |\n' "${names[$i]}" "$m" "$lo" \
        "$(awk -v a="$m" -v b="$first" 'BEGIN { print a / b }')" "$per_round"
done
echo
echo "Every run ($reps rounds, interleaved):"
for i in "${!bins[@]}"; do
    echo "- ${names[$i]}: $(tr '\n' ' ' <"$results/$i" | sed 's/ $//')"
done
if ! outputs_same "$results/out"; then
    echo "error: the binaries printed different results; first difference:" >&2
    diff "$results/out" "$(compgen -G "$results/out.differ.*" | head -n 1)" | head -n 20 >&2
    exit 1
fi
echo "outputs: same"
