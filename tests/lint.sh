#!/usr/bin/env bash
# lint: house rules the compiler does not check.
#
#  1. No unbounded or unsafe libc calls in any .c/.h under runtime/ jobs/ store/ tests/ bench/:
#     strcpy, sprintf, vsprintf, strtok, atoi, atol, gets (comments and string literals
#     are ignored; snprintf, jsonu_strcpy and friends are fine).
#  2. clang-tidy's bugprone-* checks over every .c under runtime/, jobs/ and store/, with the
#     Makefile's flags, warnings as errors, two files at a time.
#
# Prints "ok - ..." / "not ok - ..." lines and a summary "lint: N passed, N failed";
# exits non-zero when anything failed (also when clang-tidy is missing).
#   CLANG_TIDY=path   which clang-tidy to run (default: clang-tidy on PATH)
#   LINT_JOBS=N       parallel clang-tidy runs (default 2)
set -u

cd "$(dirname "$0")/.." || exit 2

pass=0
fail=0
ok() { pass=$((pass + 1)); printf 'ok - %s\n' "$*"; }
not_ok() { fail=$((fail + 1)); printf 'not ok - %s\n' "$*"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cf-lint.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

# ---- 1. banned functions --------------------------------------------------------------
banned='strcpy|sprintf|vsprintf|strtok|atoi|atol|gets'

mapfile -t all_src < <(find runtime jobs store tests bench -type f \( -name '*.c' -o -name '*.h' \) \
    2>/dev/null | LC_ALL=C sort)

# Blank out comments and string/char literals (keeping line numbers), then look for a call.
strip_code() {
    perl -0777 -pe '
        s{ (/\*.*?\*/) | (//[^\n]*) | ("(?:\\.|[^"\\\n])*") | (\x27(?:\\.|[^\x27\\\n])*\x27) }
         { my $m = $&; $m =~ tr/\n//cd; defined $3 ? "\"\"$m" : defined $4 ? "\x27\x27$m" : " $m" }gsex
    ' "$1"
}

banned_bad=0
for f in "${all_src[@]}"; do
    hits=$(strip_code "$f" | grep -nE "(^|[^A-Za-z0-9_])($banned)[[:space:]]*\(" || true)
    if [ -n "$hits" ]; then
        banned_bad=1
        while IFS= read -r h; do
            fns=$(printf '%s\n' "${h#*:}" | grep -oE "(^|[^A-Za-z0-9_])($banned)[[:space:]]*\(" |
                sed -E 's/^[^A-Za-z0-9_]//; s/[[:space:]]*\($/()/' | LC_ALL=C sort -u |
                paste -sd, - | sed 's/,/, /g')
            not_ok "$f:${h%%:*}: uses $fns (house rule: use the bounded form)"
        done <<< "$hits"
    fi
done
if [ "$banned_bad" = 0 ]; then
    ok "no strcpy/sprintf/vsprintf/strtok/atoi/atol/gets in ${#all_src[@]} files"
fi

# ---- 2. clang-tidy --------------------------------------------------------------------
tidy=${CLANG_TIDY:-clang-tidy}
if ! command -v "$tidy" >/dev/null 2>&1; then
    not_ok "clang-tidy not found (install clang-tidy; CI does)"
    printf 'lint: %d passed, %d failed\n' "$pass" "$fail"
    exit 1
fi

pkgs='oauth libcurl jansson sqlite3 zlib'
if ! cflags=$(pkg-config --cflags $pkgs 2>/dev/null); then
    not_ok "pkg-config --cflags $pkgs failed"
    printf 'lint: %d passed, %d failed\n' "$pass" "$fail"
    exit 1
fi
version=$(sed -n 's/^VERSION *:= *//p' Makefile)

mapfile -t tidy_src < <(find runtime jobs store -type f -name '*.c' 2>/dev/null | LC_ALL=C sort)
checks='-*,bugprone-*,-bugprone-easily-swappable-parameters,-bugprone-reserved-identifier'

export tidy checks cflags version tmp
# one file: clang-tidy's output to $tmp/<n>.log, its status to $tmp/<n>.rc
run_one() {
    local f=$1 key
    key=$(printf '%s' "$f" | tr '/.' '__')
    # shellcheck disable=SC2086
    "$tidy" -quiet -checks="$checks" -warnings-as-errors='*' \
        -header-filter='(^|/)(jobs|store)/' "$f" -- \
        $cflags -D_GNU_SOURCE -DCF_VERSION="\"$version\"" -std=c11 \
        >"$tmp/$key.log" 2>&1
    echo $? >"$tmp/$key.rc"
}
export -f run_one

if [ "${#tidy_src[@]}" -gt 0 ]; then
    printf '%s\0' "${tidy_src[@]}" |
        xargs -0 -n1 -P"${LINT_JOBS:-2}" bash -c 'run_one "$1"' _
fi

for f in "${tidy_src[@]}"; do
    key=$(printf '%s' "$f" | tr '/.' '__')
    rc=$(cat "$tmp/$key.rc" 2>/dev/null || echo 99)
    if [ "$rc" = 0 ]; then
        ok "clang-tidy $f"
    else
        not_ok "clang-tidy $f"
        # the diagnostics, without clang-tidy's "N warnings generated" chatter
        grep -vE '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$|^Suppressed [0-9]+ warnings|^Use -header-filter|^Error while processing' \
            "$tmp/$key.log" | sed 's/^/    /'
    fi
done

printf 'lint: %d passed, %d failed\n' "$pass" "$fail"
[ "$fail" = 0 ]
