# Helpers shared by the benchmark scripts (bench-pgo.sh, bench-prefetch.sh, bench-interleave.sh);
# sourced, not run.

# check_reps N: exits with a usage error unless N is a positive integer.
check_reps() {
    case "$1" in
        ''|*[!0-9]*|0) echo "error: --reps expects a positive integer, found \`$1\`" >&2; exit 2 ;;
    esac
}

# run_once BIN OUT_FILE ARGS...: runs BIN with ARGS and prints the `kernel_cpu_s` it reported on
# stderr; on failure prints its stderr and returns 1. The first run that names OUT_FILE stores its
# whole stdout there; every later run's stdout is compared with it byte for byte, and a run that
# differs is kept as OUT_FILE.differ.N for `outputs_same` to find (outputs may span many lines).
run_once() {
    local bin=$1 out=$2; shift 2
    local err got
    err=$(mktemp)
    got=$(mktemp)
    if ! "$bin" "$@" >"$got" 2>"$err"; then
        echo "error: $bin $* failed:" >&2
        cat "$err" >&2
        rm -f "$err" "$got"
        return 1
    fi
    if [ ! -e "$out" ]; then
        mv "$got" "$out"
    elif cmp -s "$out" "$got"; then
        rm -f "$got"
    else
        local n=1
        while [ -e "$out.differ.$n" ]; do n=$((n + 1)); done
        mv "$got" "$out.differ.$n"
    fi
    sed -n 's/.* kernel_cpu_s=\([0-9.]*\).*/\1/p' "$err"
    rm -f "$err"
}

# outputs_same OUT_FILE: true when every run that named OUT_FILE printed the same stdout.
outputs_same() { [ -e "$1" ] && ! compgen -G "$1.differ.*" >/dev/null; }

# median: the median of the numbers on stdin, one per line (the mean of the middle two of an
# even count).
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.6f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# ratio A B: A / B with three decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
