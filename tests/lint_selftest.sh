#!/usr/bin/env bash
# lint self-test: each rule of tests/lint.sh catches a violation planted in a copy of the tree.
#
# For every case: copy runtime/, store/, jobs/ and the Makefile to a temp dir, plant one
# violation, run tests/lint.sh on the copy (LINT_ROOT), and check that lint fails with a
# "not ok" line naming the planted file. A clean copy must pass. clang-tidy runs on the one
# planted file only (LINT_TIDY_FILES), so this stays fast.
# Prints "ok - ..." / "not ok - ..." and "lint-selftest: N passed, N failed".
set -u
cd "$(dirname "$0")/.." || exit 2
root=$(pwd)

pass=0
fail=0
ok() { pass=$((pass + 1)); printf 'ok - %s\n' "$*"; }
not_ok() { fail=$((fail + 1)); printf 'not ok - %s\n' "$*"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cf-lint-selftest.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

fresh() {   # a clean copy of the linted tree in $tmp/tree
    rm -rf "$tmp/tree"
    mkdir -p "$tmp/tree"
    cp -a runtime store jobs Makefile "$tmp/tree/"
}

# lint_copy [tidy files]: lint the copy; its output in $tmp/out, its status returned
lint_copy() {
    local tidy=${1:-}
    if [ -n "$tidy" ]; then
        LINT_ROOT="$tmp/tree" LINT_TIDY_FILES="$tidy" bash "$root/tests/lint.sh" >"$tmp/out" 2>&1
    else
        LINT_ROOT="$tmp/tree" LINT_TIDY=0 bash "$root/tests/lint.sh" >"$tmp/out" 2>&1
    fi
}

# expect_caught NAME FILE PATTERN [tidy]: lint fails with a not-ok line for FILE matching PATTERN
expect_caught() {
    local name=$1 file=$2 pat=$3 tidy=${4:-}
    if lint_copy "$tidy"; then
        not_ok "$name: lint passed with the planted violation in $file"
        sed 's/^/    /' "$tmp/out"
    elif grep -E "^not ok - $file(:[0-9]+)?: .*$pat" "$tmp/out" >/dev/null ||
         { [ -n "$tidy" ] && grep -E "^not ok - clang-tidy $file" "$tmp/out" >/dev/null &&
           grep -E "$pat" "$tmp/out" >/dev/null; }; then
        ok "$name: caught ($(grep -m1 -E "^not ok - " "$tmp/out" | cut -c8-110))"
    else
        not_ok "$name: lint failed, but not on $file matching /$pat/"
        sed 's/^/    /' "$tmp/out"
    fi
}

plant() {   # plant FILE TEXT: append TEXT (a line) to FILE in the copy
    printf '%s\n' "$2" >>"$tmp/tree/$1"
}

# 0. the clean copy passes (else every case below would prove nothing)
fresh
if lint_copy; then ok "a clean copy passes"; else not_ok "a clean copy fails lint"; sed 's/^/    /' "$tmp/out"; fi

# 1. banned functions
fresh
plant runtime/buf.c 'static void planted(char *d) { strcpy(d, "x"); }'
expect_caught "banned function" runtime/buf.c 'uses strcpy'

# 2. direction of includes, one case a rule
fresh
plant runtime/buf.c '#include "../store/spool.h"'
expect_caught "runtime/ includes store/" runtime/buf.c 'includes store/spool.h'
fresh
plant runtime/log.h '#include "../jobs/twitter/tw.h"'
expect_caught "runtime/ includes jobs/" runtime/log.h 'includes jobs/twitter/tw.h'
fresh
plant store/sink.c '#include "../jobs/prometheus/prom.h"'
expect_caught "store/ includes jobs/" store/sink.c 'includes jobs/prometheus/prom.h'
fresh
plant jobs/twitter/tw_api.c '#include "../../store/spool.h"'
expect_caught "a source includes store/ past sink.h" jobs/twitter/tw_api.c 'includes store/spool.h'
fresh
plant jobs/cluster/k8s_objects.c '#include "../../store/lp.h"'
expect_caught "a source includes store/lp.h (the point type comes with sink.h)" jobs/cluster/k8s_objects.c 'includes store/lp.h'
fresh
plant jobs/cluster/k8s_api.c '#include "../prometheus/prom.h"'
expect_caught "a source includes another source" jobs/cluster/k8s_api.c 'includes jobs/prometheus/prom.h'
fresh
plant jobs/prometheus/prom_api.c '#include "../../../outside.h"'
expect_caught "an include out of the tree" jobs/prometheus/prom_api.c 'includes \.\./outside.h'

# 3. one exit-code map: a literal exit number in each form lint knows
fresh
plant runtime/cli.c 'static int planted(void) { return 75; }'
expect_caught "exit code: return 75" runtime/cli.c 'literal exit code: static int planted'
fresh
plant store/sink.c 'static void planted(int *rc) { *rc = 69; }'
expect_caught "exit code: an assignment" store/sink.c 'literal exit code'
fresh
plant jobs/prometheus/main.c 'static void planted(int *rc) { if (*rc == 78) exit(64); }'
expect_caught "exit code: a comparison and exit()" jobs/prometheus/main.c 'literal exit code'
fresh
plant jobs/cluster/main.c 'static void planted(void *r) { note_rc(r, 75); }'
expect_caught "exit code: an argument" jobs/cluster/main.c 'literal exit code'
fresh
plant store/sink.h '#define PLANTED_EXIT_BUSY 75'
expect_caught "exit code: a macro" store/sink.h 'literal exit code'
fresh
plant jobs/cronflux/main.c 'enum { EX_PLANTED_ = 73 };'
expect_caught "exit code: a private enum" jobs/cronflux/main.c 'literal exit code'
fresh
plant jobs/twitter/tw_api.c '#include <sysexits.h>'
expect_caught "exit code: <sysexits.h> past the map" jobs/twitter/tw_api.c 'includes <sysexits.h>'
# the same numbers as sizes are not exit codes: lint passes
fresh
plant runtime/buf.c 'static char planted_a[64]; enum { PLANTED_C = 64 };'
plant runtime/buf.c 'static void planted_b(buf *b) { buf_init(b, 64 * 1024); (void)planted_a; }'
if lint_copy; then ok "sizes 64 and 64 * 1024 are not exit codes"; else
    not_ok "lint took a size for an exit code"; sed 's/^/    /' "$tmp/out"; fi

# 4. clang-tidy (bugprone-*): a planted file, the only one tidied
fresh
cat >"$tmp/tree/runtime/planted.c" <<'C'
#include <string.h>
int planted_cmp(const char *a, const char *b);
int planted_cmp(const char *a, const char *b)
{
    if (strcmp(a, b))   /* bugprone-suspicious-string-compare */
        return 1;
    return 0;
}
C
expect_caught "clang-tidy bugprone" runtime/planted.c 'bugprone-suspicious-string-compare' runtime/planted.c

printf 'lint-selftest: %d passed, %d failed\n' "$pass" "$fail"
[ "$fail" = 0 ]
