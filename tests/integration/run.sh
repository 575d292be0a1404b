#!/usr/bin/env bash
# Runs every integration test (tests/integration/test_*.sh with bash, test_*.py with Debian's
# python3), each against the real servers it starts itself, and prints one summary line.
# ONLY=pattern runs the matching ones. The binaries come from $CRONFLUX_BIN, else from
# $BINDIR (as given to make, relative to the project root), else bin/.
set -u
cd "$(dirname "$0")"
if [ -z "${CRONFLUX_BIN:-}" ]; then
    CRONFLUX_BIN=$(cd ../.. && cd "${BINDIR:-bin}" 2>/dev/null && pwd)
    [ -n "$CRONFLUX_BIN" ] && export CRONFLUX_BIN
fi
echo "# binaries: ${CRONFLUX_BIN:-(none: bin/ does not exist)}"
passed=0
failed=0
failed_names=()
# Suites that mostly wait on something else (the image test: Debian's mirror, podman's build)
# run beside the others, started first; their output is printed after the others'.
BESIDE=${INTEGRATION_BESIDE-test_image.sh}
beside_dir=$(mktemp -d)
trap 'rm -rf "$beside_dir"' EXIT
declare -A beside_pid=()
for t in $BESIDE; do
    [ -e "$t" ] || continue
    case "$t" in *${ONLY:-}*) ;; *) continue ;; esac
    bash "$t" >"$beside_dir/$t.out" 2>&1 &
    beside_pid[$t]=$!
done
tally() {   # tally NAME RC OUTFILE
    local t=$1 rc=$2 out=$3 p f
    p=$(grep -c '^ok - ' "$out")
    f=$(grep -c '^not ok - ' "$out")
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        failed=$((failed + 1))
        echo "not ok - $t exited $rc"
    fi
    [ "$rc" -ne 0 ] && failed_names+=("$t")
}
for t in test_*.sh test_*.py; do
    [ -e "$t" ] || continue
    case "$t" in *${ONLY:-}*) ;; *) continue ;; esac
    [ -n "${beside_pid[$t]:-}" ] && continue
    echo "# === $t"
    out=$(mktemp)
    if [ "${t##*.}" = py ]; then
        /usr/bin/python3 "$t" 2>&1 | tee "$out"
    else
        bash "$t" 2>&1 | tee "$out"
    fi
    rc=${PIPESTATUS[0]}
    tally "$t" "$rc" "$out"
    rm -f "$out"
done
for t in "${!beside_pid[@]}"; do
    echo "# === $t (ran beside the others)"
    wait "${beside_pid[$t]}"
    rc=$?
    cat "$beside_dir/$t.out"
    tally "$t" "$rc" "$beside_dir/$t.out"
done
[ ${#failed_names[@]} -gt 0 ] && echo "# failed: ${failed_names[*]}"
echo "integration: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
