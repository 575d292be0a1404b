#!/usr/bin/env bash
# lint: house rules the compiler does not check.
#
#  1. No unbounded or unsafe libc calls in any .c/.h under runtime/ jobs/ store/ tests/ bench/ fuzz/:
#     strcpy, sprintf, vsprintf, strtok, atoi, atol, gets (comments and string literals
#     are ignored; snprintf, util_copy_cut and friends are fine).
#  2. The direction of includes (docs/DESIGN.md, "Shape"), for every #include "..." of a
#     .c/.h under runtime/, store/ and jobs/, resolved against the including file's folder:
#     runtime/ includes nothing from store/ or jobs/; store/ nothing from jobs/; a source's
#     folder (jobs/<name>/, every one but jobs/cronflux) only runtime/, store/sink.h and its
#     own folder; jobs/cronflux/ (the store's own operator tool) runtime/, store/ and itself.
#  3. One exit-code map: no literal exit number (64..78 as a return value, an exit() or
#     _exit() argument, a `case`, a comparison, an assignment to a lower-case variable or
#     an EX_* name, a function argument of its own, or a macro named *EX_*, *EXIT*, *_RC*,
#     *CODE*); and <sysexits.h> is included by that header only. in runtime/, store/ or jobs/ outside runtime/exitcode.h: use the
#     <sysexits.h> names that header documents.
#  4. clang-tidy's bugprone-* checks over every .c under runtime/, jobs/ and store/, with the
#     Makefile's flags, warnings as errors, two files at a time.
#
# Prints "ok - ..." / "not ok - ..." lines and a summary "lint: N passed, N failed";
# exits non-zero when anything failed (also when clang-tidy is missing).
#   CLANG_TIDY=path   which clang-tidy to run (default: clang-tidy on PATH)
#   LINT_JOBS=N       parallel clang-tidy runs (default 2)
#   LINT_TIDY=0       skip clang-tidy (tests/lint_selftest.sh checks the other rules fast)
#   LINT_TIDY_FILES="a.c b.c"  run clang-tidy on these files only
#   LINT_ROOT=DIR     lint the tree at DIR instead of this checkout (the self-test's copies)
set -u

cd "${LINT_ROOT:-$(dirname "$0")/..}" || exit 2

pass=0
fail=0
ok() { pass=$((pass + 1)); printf 'ok - %s\n' "$*"; }
not_ok() { fail=$((fail + 1)); printf 'not ok - %s\n' "$*"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cf-lint.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

# ---- 1. banned functions --------------------------------------------------------------
banned='strcpy|sprintf|vsprintf|strtok|atoi|atol|gets'

mapfile -t all_src < <(find runtime jobs store tests bench fuzz -type f \( -name '*.c' -o -name '*.h' \) \
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

# ---- 2. direction of includes ---------------------------------------------------------
# A job folder (a source) may include store/sink.h, the store's one door (the point type,
# lp_point, comes with it).
source_may_include_store='store/sink.h'

# include_allowed FILE TARGET: 0 if FILE (repo-relative) may include TARGET (repo-relative).
include_allowed() {
    local f=$1 t=$2 dir=${1%/*}
    case "$t" in
        /* | ../*) return 1 ;;   # outside the tree
    esac
    case "$f" in
        runtime/*)
            case "$t" in runtime/*) return 0 ;; esac
            return 1 ;;
        store/*)
            case "$t" in runtime/* | store/*) return 0 ;; esac
            return 1 ;;
        jobs/cronflux/*)
            # the store's operator tool (push/flush/status/replay/export), not a source
            case "$t" in runtime/* | store/* | jobs/cronflux/*) return 0 ;; esac
            return 1 ;;
        jobs/*)
            case "$t" in runtime/* | "$dir"/*) return 0 ;; esac
            local s
            for s in $source_may_include_store; do
                [ "$t" = "$s" ] && return 0
            done
            return 1 ;;
    esac
    return 0
}

mapfile -t layer_src < <(find runtime store jobs -type f \( -name '*.c' -o -name '*.h' \) \
    2>/dev/null | LC_ALL=C sort)
inc_bad=0
ninc=0
for f in "${layer_src[@]}"; do
    while IFS=: read -r ln target; do
        [ -n "$target" ] || continue
        ninc=$((ninc + 1))
        # resolve against the including file's folder, then make it repo-relative
        resolved=$(realpath -m --relative-to=. "${f%/*}/$target")
        if ! include_allowed "$f" "$resolved"; then
            inc_bad=1
            not_ok "$f:$ln: includes $resolved (layers: runtime/ <- store/ <- jobs/; a source's folder sees runtime/, store/sink.h and itself; see docs/DESIGN.md)"
        fi
    done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
        sed -E 's/^([0-9]+):[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]*)".*/\1:\2/')
done
if [ "$inc_bad" = 0 ]; then
    ok "includes point one way (runtime <- store <- jobs): $ninc includes in ${#layer_src[@]} files"
fi

# ---- 3. one exit-code map -------------------------------------------------------------
exit_re='(^|[^A-Za-z0-9_])(return[[:space:]]*\(?|_?exit[[:space:]]*\(|case[[:space:]]+|[=!]=[[:space:]]*|(EX_[A-Z_]*|[a-z_][a-z0-9_]*(\]|\)|->[a-z_][a-z0-9_]*)?)[[:space:]]*=[[:space:]]*)(6[4-9]|7[0-8])([^0-9A-Za-z_.]|$)'
# ... and as an argument of its own: note_rc(r, 75), sink_finish(s, 71, ...)
exit_arg_re='[(,][[:space:]]*(6[4-9]|7[0-8])[[:space:]]*[,)]'
# ... and as a macro that names an exit code: #define SINK_EX_IOERR 74
exit_def_re='^[[:space:]]*#[[:space:]]*define[[:space:]]+[A-Za-z0-9_]*(EX_|EXIT|_RC|CODE)[A-Za-z0-9_]*[[:space:]]+\(?(6[4-9]|7[0-8])([^0-9]|$)'
exit_bad=0
for f in "${layer_src[@]}"; do
    [ "$f" = runtime/exitcode.h ] && continue
    if grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<sysexits\.h>' "$f" >/dev/null; then
        exit_bad=1
        not_ok "$f:$(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<sysexits\.h>' "$f" | cut -d: -f1 | head -1): includes <sysexits.h>: include runtime/exitcode.h, the one exit-code map"
    fi
    hits=$(strip_code "$f" | grep -nE "$exit_re|$exit_arg_re|$exit_def_re" || true)
    [ -n "$hits" ] || continue
    exit_bad=1
    while IFS= read -r h; do
        not_ok "$f:${h%%:*}: literal exit code: $(printf '%s' "${h#*:}" | sed -E 's/^[[:space:]]+//' | cut -c1-60) (use the <sysexits.h> names; the map is runtime/exitcode.h)"
    done <<< "$hits"
done
if [ "$exit_bad" = 0 ]; then
    ok "no literal exit code outside runtime/exitcode.h (${#layer_src[@]} files)"
fi

# ---- 4. clang-tidy --------------------------------------------------------------------
if [ "${LINT_TIDY:-1}" = 0 ]; then
    printf 'lint: %d passed, %d failed\n' "$pass" "$fail"
    [ "$fail" = 0 ]
    exit
fi
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

if [ -n "${LINT_TIDY_FILES:-}" ]; then
    read -r -a tidy_src <<< "$LINT_TIDY_FILES"
else
    mapfile -t tidy_src < <(find runtime jobs store -type f -name '*.c' 2>/dev/null | LC_ALL=C sort)
fi
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
