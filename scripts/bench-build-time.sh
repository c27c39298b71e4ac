#!/usr/bin/env bash
# Build-time overhead of the plugin: clean `cargo build --release` against clean
# `cargo hallows build --release --passes inventory` of a real crates.io crate (regex, through the
# fixture tests/fixtures/regex-dep), interleaved, with a warm plugin cache. Prints wall and CPU
# (user+sys) seconds of each build and the median ratios.
#
#   scripts/bench-build-time.sh [--reps N] [--passes LIST]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
reps=3
passes=inventory
while [ $# -gt 0 ]; do
    case "$1" in
        --reps) reps=${2:?--reps needs a number}; shift 2 ;;
        --passes) passes=${2:?--passes needs a list}; shift 2 ;;
        -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "error: unknown argument \`$1\`; see \`$0 --help\`" >&2; exit 2 ;;
    esac
done
case "$reps" in ''|*[!0-9]*|0) echo "error: --reps expects a positive integer" >&2; exit 2 ;; esac

work=${BENCH_TARGET_DIR:-$root/target/bench-build-time}
mkdir -p "$work"
rm -rf "$work/crate" && cp -r tests/fixtures/regex-dep "$work/crate"
cargo build --quiet --release -p cargo-hallows --target-dir "$work/cli"
hallows=$work/cli/release/cargo-hallows
export XDG_CACHE_HOME=$work/cache
cd "$work/crate"
cargo fetch --quiet
"$hallows" hallows build --quiet --release --passes "$passes" --target-dir "$work/warm" >/dev/null

measure() { # variant -> prints "wall cpu"
    local t=$work/t-$1 out
    rm -rf "$t"
    if [ "$1" = plain ]; then
        out=$( { /usr/bin/time -f '%e %U %S' cargo build --quiet --release --target-dir "$t" >/dev/null; } 2>&1 | tail -1)
    else
        out=$( { /usr/bin/time -f '%e %U %S' "$hallows" hallows build --quiet --release --passes "$passes" --target-dir "$t" >/dev/null; } 2>&1 | tail -1)
    fi
    echo "$out" | awk '{ printf "%s %.2f\n", $1, $2 + $3 }'
}
declare -a pw pc hw hc
for i in $(seq "$reps"); do
    read -r w c < <(measure plain); pw+=("$w"); pc+=("$c"); echo "plain   #$i wall ${w}s cpu ${c}s" >&2
    read -r w c < <(measure hallows); hw+=("$w"); hc+=("$c"); echo "hallows #$i wall ${w}s cpu ${c}s" >&2
done
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
mpw=$(median "${pw[@]}"); mpc=$(median "${pc[@]}"); mhw=$(median "${hw[@]}"); mhc=$(median "${hc[@]}")
echo "| build (regex, clean, --release) | plain | cargo hallows (--passes $passes) | ratio |"
echo "|---|---:|---:|---:|"
awk -v a="$mpw" -v b="$mhw" 'BEGIN { printf "| wall time, median of '"$reps"' | %.1f s | %.1f s | %.3f |\n", a, b, b / a }'
awk -v a="$mpc" -v b="$mhc" 'BEGIN { printf "| CPU time (user+sys), median of '"$reps"' | %.1f s | %.1f s | %.3f |\n", a, b, b / a }'
