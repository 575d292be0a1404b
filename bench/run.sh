#!/usr/bin/env bash
# make bench: runs every compiled benchmark ($BUILD/bench/bench_*, from bench/bench_*.c) and
# every bench script (bench/bench_*.sh), each printing its own tables.
#   ONLY=pattern   run only the benchmarks whose name contains pattern
#   BUILD, BINDIR  as given to make (default build, bin)
# Figures are printed, never asserted: a benchmark fails only when it cannot run or when what
# it measured did not arrive (e.g. a point count is wrong).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build}
BINDIR=${BINDIR:-bin}
if [ -z "${CRONFLUX_BIN:-}" ] && [ -d "$BINDIR" ]; then
    CRONFLUX_BIN=$(cd "$BINDIR" && pwd)
    export CRONFLUX_BIN
fi
export BENCH_BUILD=$BUILD

failed=()
run_one() {
    local name=$1
    shift
    case "$name" in *${ONLY:-}*) ;; *) return 0 ;; esac
    echo "## $name"
    echo
    "$@"
    local rc=$?
    [ "$rc" -eq 0 ] || { echo "# $name exited $rc"; failed+=("$name"); }
    echo
}

for b in "$BUILD"/bench/bench_*; do
    [ -f "$b" ] && [ -x "$b" ] || continue
    case "$b" in *.o | *.d) continue ;; esac
    run_one "$(basename "$b")" "$b"
done
for s in bench/bench_*.sh; do
    [ -e "$s" ] || continue
    run_one "$(basename "$s" .sh)" bash "$s"
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "bench: failed: ${failed[*]}"
    exit 1
fi
echo "bench: done"
