#!/usr/bin/env bash
# The README answers, and what it says is so (issue 13): its links and anchors resolve; every
# `make` target it names exists; every flag it gives a binary is in that binary's --help;
# every variable the code reads is in its Configure section, and every variable there is read
# somewhere; the X stand-in's accounts it names are the stand-in's; the exit codes it gives for
# a bad state path are the tools'; the store-tool commands it shows run (no server needed); and
# the write path's defaults it, RELIABILITY and --help give are the code's.
. "$(dirname "$0")/../lib/common.sh"
cd "$ROOT" || exit 1
README=$ROOT/README.md

# 1. links and anchors (README and docs/)
out=$("$PY" - "$ROOT" <<'PY'
import os, re, sys
root = sys.argv[1]
def anchors(path):
    a = set()
    for line in open(path, encoding="utf-8"):
        m = re.match(r"#+ (.*)", line)
        if m:
            t = m.group(1).strip().lower()
            t = re.sub(r"[^\w\- ]", "", t).replace(" ", "-")
            a.add(t)
    return a
bad, n = [], 0
files = ["README.md"] + ["docs/" + f for f in sorted(os.listdir(os.path.join(root, "docs"))) if f.endswith(".md")]
for f in files:
    text = open(os.path.join(root, f), encoding="utf-8").read()
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+://", target):
            continue
        n += 1
        path, _, frag = target.partition("#")
        full = os.path.normpath(os.path.join(root, os.path.dirname(f), path)) if path else os.path.join(root, f)
        if not os.path.exists(full):
            bad.append(f"{f}: {target} (no such file)")
        elif frag and full.endswith(".md") and frag not in anchors(full):
            bad.append(f"{f}: {target} (no such heading)")
for b in bad:
    print("bad:", b)
print(f"{n} links")
PY
)
echo "$out" | sed 's/^/# /'
check "every link in README.md and docs/*.md resolves ($(echo "$out" | tail -1))" bash -c "! grep -q '^bad:' <<<\"\$1\"" _ "$out"
for h in "Quick start" "Deploy on Kubernetes" "Backfill" "Operate" "Configure" "Layout"; do
    a=$(echo "$h" | tr 'A-Z ' 'a-z-')
    check "the contents link to \"$h\"" grep -q "](#$a)" "$README"
done

# 2. make targets named in the README exist
targets=$( (grep -oE '`make [a-z][a-z-]*' "$README" docs/*.md; grep -oE '^ +make [a-z][a-z-]*' "$README") |
    sed -E 's/.*make //' | sort -u)
db=$(make -pRrq -f Makefile nothing-at-all 2>/dev/null | sed -n 's/^\([a-z][a-z-]*\):.*/\1/p' | sort -u)
for t in $targets; do
    if grep -qx "$t" <<<"$db"; then ok "make $t exists"; else not_ok "make $t exists (README names it)"; fi
done

# 3. every --flag the README gives a binary is in its --help
for b in twitter-stats cluster-metrics prom-metrics cronflux; do
    help=$("$BIN/$b" --help 2>&1)
    flags=$(grep -oE "bin/$b( [^|#]*)?" "$README" | grep -oE -- '--[a-z][a-z-]*' | sort -u)
    for f in $flags; do
        if grep -q -- "$f\b" <<<"$help"; then ok "$b $f is in its --help"; else not_ok "$b $f is in its --help (README uses it)"; fi
    done
done

# 4. variables: what the code reads is documented in Configure, and what Configure names is read
conf=$(sed -n '/^## Configure/,/^## /p' "$README")
read_vars=$(grep -rhoE '(cfg_env|getenv|cfg_secret)\("[A-Z][A-Z0-9_]+"' jobs runtime store |
    sed -E 's/.*\("//; s/"$//' | sort -u)
for v in $read_vars; do
    case "$v" in KUBERNETES_SERVICE_HOST | KUBERNETES_SERVICE_PORT | HOME | TMPDIR) continue ;; esac
    if grep -q "\b$v\b" <<<"$conf"; then ok "Configure documents $v"; else not_ok "Configure documents $v (the code reads it)"; fi
done
for v in CLUSTER_NAME KUBE_TOKEN TWITTER_CA_FILE PROMETHEUS_TOKEN PROMETHEUS_CA_FILE PROMETHEUS_TIMEOUT; do
    check "Configure names $v (issue 13)" grep -q "\`$v\`" <<<"$conf"
done
documented=$(grep -oE '`[A-Z][A-Z0-9_]{3,}`' <<<"$conf" | tr -d '`' | sort -u)
for v in $documented; do
    case "$v" in VAR | VAR_FILE) continue ;; esac
    w=$v
    case "$v" in *_TOKEN_FILE | *_PASSWORD_FILE | *_SECRET_FILE | *_KEY_FILE) w=${v%_FILE} ;; esac
    if grep -rqw "$w" jobs runtime store k8s; then ok "$v (in Configure) is read by the code"; else not_ok "$v (in Configure) is read by the code"; fi
done
check "Configure says which of VAR and VAR_FILE wins" grep -q 'When both `VAR` and `VAR_FILE` are set, `VAR`' <<<"$conf"
check "and runtime/cfg.h agrees (NAME wins over NAME_FILE)" grep -q 'NAME wins over NAME_FILE' runtime/cfg.h

# 5. the X stand-in's accounts: the README names the ones stack.sh reads, and its --users
#    examples name no other
users=$(sed -n 's/^STACK_USERS=//p' tests/lib/stack.sh)
for u in ${users//,/ }; do
    check "README names the stand-in's account $u" grep -q "\*\*$u\*\*" "$README"
done
for ex in $(grep -oE -- '--users [A-Za-z0-9_,]+' "$README" | sed 's/--users //'); do
    for u in ${ex//,/ }; do
        case ",$users," in *",$u,"*) ok "--users example: the stand-in knows $u" ;;
            *) not_ok "--users example: the stand-in knows $u (it knows $users)" ;; esac
    done
done
check "no --users nasa,esa example any more" bash -c "! grep -q 'nasa' '$README'"

# 6. the exit codes the README gives for a bad state path are the tools'
mkdir -p "$T/adir"
"$BIN/cronflux" status --state "$T/adir" >/dev/null 2>"$T/dir.err"
check_eq "a directory as the state file: exit 78" "$?" 78
check "README: a directory as the state file is 78" grep -q 'a directory given as the state file is\s*$\|a directory given as the state file is 78' "$README"
grep -q '73 the state file cannot be' "$README" && ok "README: 73 is a state file that cannot be created" || not_ok "README: 73 is a state file that cannot be created"
echo 'x v=1i' | "$BIN/cronflux" push --state "$T/no/such/dir/x.db" >/dev/null 2>&1
check_eq "a state file that cannot be created: exit 73" "$?" 73
check "CONTRACT-CHANGES: a directory is 78" grep -q 'where the state file should be\*\* is \*\*78\*\*' docs/CONTRACT-CHANGES.md

# 8. the write path's defaults: what README's Configure table, docs/RELIABILITY.md's table and
#    `cronflux --help` give is the value the code starts from (a default changed in the code
#    and not in one of them fails here). Each case: variable, file:macro of the code's value,
#    and the three texts' patterns with N for that value.
help=$("$BIN/cronflux" --help 2>&1)
while IFS='|' read -r var src readme_pat help_pat; do
    [ -n "$var" ] || continue
    file=${src%%:*} macro=${src#*:}
    n=$(sed -n "s/^#define $macro \([0-9][0-9]*\).*/\1/p" "$file")
    if [ -z "$n" ]; then
        not_ok "$var: no #define $macro in $file"
        continue
    fi
    row=$(grep -E "^\| [^|]*\| \`$var\` \|" "$README" | head -1)
    check "README's Configure row for $var gives the code's default $n ($file $macro)" \
        grep -qF -- "${readme_pat//N/$n}" <<<"$row"
    check "docs/RELIABILITY.md's table gives $var = $n" \
        grep -qF -- "| \`$var\` | \`$n\` |" docs/RELIABILITY.md
    hl=$(grep -E "^ *$var " <<<"$help" | head -1)
    check "cronflux --help gives $var's default $n" grep -qF -- "${help_pat//N/$n}" <<<"$hl"
done <<'CASES'
CRONFLUX_BATCH|store/sink.c:SINK_BATCH_DEFAULT|lines per batch, `N`|(default N)
CRONFLUX_CONNECTIONS|store/influx.c:INFLUX_CONNECTIONS_DEFAULT|default `N`|(default N
CRONFLUX_GZIP|store/spool.c:GZIP_DEFAULT|`N` (default)|N (default)
CASES

# 7. the store-tool commands of "The store tool" and "Operate" run as shown (no InfluxDB: the
#    embedded store; replay needs InfluxDB and says so)
export CRONFLUX_STATE=$T/readme.db
cd "$T" || exit 1
printf 'temp,room=kitchen value=21.5 1700000000000000000\n' >points.lp
printf 'temp,room=kitchen value=21.5 1700000000000000000\n' | "$BIN/cronflux" push 2>/dev/null
check_eq "printf ... | cronflux push: exit 0" "$?" 0
echo '{"measurement":"temp","tags":{"room":"hall"},"fields":{"value":19.0,"n":3}}' |
    "$BIN/cronflux" push --format json 2>/dev/null
check_eq "echo {json} | cronflux push --format json: exit 0" "$?" 0
printf 'temp,room=attic value=17 1700000000\n' | "$BIN/cronflux" push --precision s 2>/dev/null
check_eq "cronflux push --precision s: exit 0" "$?" 0
got=$("$BIN/cronflux" push --dry-run <points.lp 2>/dev/null)
check_eq "cronflux push --dry-run < points.lp prints the line" "$got" 'temp,room=kitchen value=21.5 1700000000000000000'
for c in "status" "status --json" "flush" "dead-letters" "dead-letters list --json" "dead-letters export" \
    "dead-letters requeue" "dead-letters drop --id 3,4" \
    "export --from 2026-11-01T00:00:00Z --to 2026-11-02T00:00:00Z"; do
    # shellcheck disable=SC2086
    "$BIN/cronflux" $c >/dev/null 2>"$T/c.err"
    rc=$?
    check_eq "cronflux $c: exit 0" "$rc" 0
done
"$BIN/cronflux" replay --from 2026-11-01T00:00:00Z --to 2026-11-08T00:00:00Z >/dev/null 2>"$T/r.err"
check_eq "cronflux replay without InfluxDB: exit 78, and says what to set" "$?/$(grep -c INFLUXDB_URL "$T/r.err")" 78/1
n=$("$BIN/cronflux" export 2>/dev/null | grep -c '^temp,')
check_eq "cronflux export: the 3 points pushed" "$n" 3
finish
