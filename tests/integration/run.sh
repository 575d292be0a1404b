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
for t in test_*.sh test_*.py; do
    [ -e "$t" ] || continue
    case "$t" in *${ONLY:-}*) ;; *) continue ;; esac
    echo "# === $t"
    out=$(mktemp)
    if [ "${t##*.}" = py ]; then
        /usr/bin/python3 "$t" 2>&1 | tee "$out"
    else
        bash "$t" 2>&1 | tee "$out"
    fi
    rc=${PIPESTATUS[0]}
    p=$(grep -c '^ok - ' "$out")
    f=$(grep -c '^not ok - ' "$out")
    rm -f "$out"
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        failed=$((failed + 1))
        echo "not ok - $t exited $rc"
    fi
    [ "$rc" -ne 0 ] && failed_names+=("$t")
done
[ ${#failed_names[@]} -gt 0 ] && echo "# failed: ${failed_names[*]}"
echo "integration: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
