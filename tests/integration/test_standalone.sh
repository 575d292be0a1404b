#!/usr/bin/env bash
# The repository stands alone (issue 13): every recorded answer the tests and benches name is in
# tests/fixtures/, nothing reads a folder beside the repository (the shared folder one level up), and reading the
# Makefile runs no pkg-config (a machine without the packages sees no pkg-config errors before
# `make demo` / `make test` install them). Fast: no server, no build.
. "$(dirname "$0")/../lib/common.sh"
cd "$ROOT" || exit 1

# 1. every fixture the tests name is there
out=$("$PY" tests/tools/fixture_refs.py 2>&1)
rc=$?
echo "$out" | sed 's/^/# /'
check_eq "every fixture the tests name is in tests/fixtures" "$rc" 0
n=$(printf '%s\n' "$out" | sed -n 's/^\([0-9]*\) fixture names.*/\1/p')
check "the scan finds the fixtures the tests name (${n:-0} names, at least 40)" [ "${n:-0}" -ge 40 ]

# 2. the scan sees a missing one: a copy of the tree with one fixture removed, and one name
# that was never recorded, in each of the three forms the tests use
mkdir -p "$T/tree/tests/unit" "$T/tree/tests/integration" "$T/tree/bench"
cp -r tests/fixtures "$T/tree/tests/"
rm "$T/tree/tests/fixtures/k8s/node_v1_minikube_k9s.json"
printf 'static const char *f = "node_v1_minikube_k9s.json";\nstatic const char *g = "encode.json";\n' \
    >"$T/tree/tests/unit/test_x.c"
# (the names are put together here so that this file does not name them itself)
printf 'cat "$FIXTURES/twitter/never_%s.json"\n' recorded >"$T/tree/tests/integration/test_x.sh"
printf 'load("v9_never_%s_docs.json")\n' recorded >"$T/tree/bench/x.py"
r=recorded
got=$("$PY" tests/tools/fixture_refs.py --root "$T/tree" 2>&1)
check_eq "a missing fixture fails the scan" "$?" 1
for want in "missing: node_v1_minikube_k9s.json (tests/unit/test_x.c:1)" \
    "missing: twitter/never_$r.json (tests/integration/test_x.sh:1)" \
    "missing: v9_never_${r}_docs.json (bench/x.py:1)" "4 fixture names, 3 missing"; do
    case "$got" in *"$want"*) ok "the scan says: $want" ;; *) not_ok "the scan says: $want (got: $got)" ;; esac
done
case "$got" in *"missing: encode.json"*) not_ok "a fixture that is there is not reported" ;;
    *) ok "a fixture that is there is not reported" ;; esac

# 3. nothing reads the shared folder beside the repository (the pattern is built below)
if command -v git >/dev/null && git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
    dots='\.\.' sh=shared   # the patterns are built, so this file does not name the folder
    hits=$(git -C "$ROOT" grep -n -e "$dots/$sh" -e "/work/$sh" -- . || true)
    check_eq "no tracked file reads the shared folder beside the repository" "$hits" ""
else
    ok "no tracked file reads the shared folder beside the repository # SKIP not a git checkout"
fi
check "tests/fixtures/SOURCES.md says where the recordings come from" [ -s tests/fixtures/SOURCES.md ]

# 4. reading the Makefile runs no pkg-config: a PATH without it, `make -n clean`
mkdir -p "$T/nopc"
for t in make sh bash find rm mkdir cc; do
    p=$(command -v "$t") && ln -s "$p" "$T/nopc/$t"
done
mk=$(env PATH="$T/nopc" make -n -C "$ROOT" clean 2>&1)
case "$mk" in *pkg-config*) not_ok "make reads the Makefile without pkg-config (got: $mk)" ;;
    *) ok "make reads the Makefile without pkg-config" ;; esac
mk=$(env PATH="$T/nopc" make -n -C "$ROOT" --no-print-directory BUILD="$T/b" BINDIR="$T/bin" deps 2>&1)
case "$mk" in *pkg-config*) not_ok "make -n deps runs no pkg-config (got: $mk)" ;;
    *) ok "make -n deps runs no pkg-config" ;; esac

# 5. the test and bench objects are kept (not deleted after linking, compiled again next time)
sec=$(make -C "$ROOT" -pn --no-print-directory BUILD=build nothing-at-all 2>/dev/null | sed -n 's/^\.SECONDARY: //p')
case "$sec" in *build/tests/unit/test_lp.o*build/bench/bench_encode.o*) ok "test and bench objects are .SECONDARY" ;;
    *) not_ok "test and bench objects are .SECONDARY (got: [$sec])" ;; esac
finish
