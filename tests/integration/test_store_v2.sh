#!/usr/bin/env bash
# The InfluxDB 2.x write path (INFLUXDB_TOKEN, INFLUXDB_ORG, INFLUXDB_BUCKET) against
# tests/standins/influx2_standin.py: "Authorization: Token", org, bucket, precision=ns, gzip;
# what arrives equals what was pushed; 401 -> exit 77 without the token in any output;
# 404 bucket -> 78; the token from INFLUXDB_TOKEN_FILE.
. "$(dirname "$0")/../lib/common.sh"

TOKEN="tok-$RANDOM$RANDOM-s3cr3t-v2"
WRONG="wrong-$RANDOM$RANDOM-t0ken"
ORG=acme
# gzip on the wire, as an InfluxDB on another host gets it (on loopback the default is plain;
# checked below)
export CRONFLUX_GZIP=1
start_influx2 v2 "$TOKEN" "$ORG" metrics other || { not_ok "2.x stand-in starts"; finish; }
ok "2.x stand-in starts"

use_v2() {
    export INFLUXDB_URL=$INFLUX2_URL INFLUXDB_ORG=$ORG INFLUXDB_BUCKET=${1:-metrics}
    export INFLUXDB_TOKEN=${2:-$TOKEN}
    unset INFLUXDB_TOKEN_FILE
}
# log_check "description" PYTHON-EXPR [FROM_N]: true when EXPR holds for every logged
# request numbered above FROM_N (r = the request's log entry)
log_check() {
    check "$1" "$PY" -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
rows = [r for r in rows if r["n"] > int(sys.argv[3])]
bad = [r for r in rows if not eval(sys.argv[2], {}, {"r": r})]
if not rows or bad:
    print("# failing requests:", bad[:3] if bad else "none logged"); sys.exit(1)' "$INFLUX2_LOG" "$2" "${3:-0}"
}
log_last() { "$PY" -c 'import json,sys; print(max([json.loads(l)["n"] for l in open(sys.argv[1])] or [0]))' "$INFLUX2_LOG"; }
# received_lines BUCKET: the lines the stand-in stored for BUCKET (cronflux_job excluded), sorted
received_lines() {
    "$PY" -c '
import json, sys
out = [json.loads(l) for l in open(sys.argv[1])]
for ln in sorted(o["line"] for o in out if o["bucket"] == sys.argv[2] and not o["line"].startswith("cronflux_job")):
    print(ln)' "$INFLUX2_LINES" "$1"
}

# Lines in the encoder's canonical form (tags sorted, ints with i, shortest floats), so what
# arrives must be byte for byte what was pushed.
cat >"$T/v2.lp" <<'LP'
v2_cpu,host=a,region=eu usage=0.5,cores=8i 1700000000000000000
v2_cpu,host=b,region=eu usage=12.25,cores=16i 1700000000000000000
v2_str,k=with\ space msg="say \"hi\", \\ bye",ok=true 1700000000000000001
v2_uni,city=Zürich temp=-3.5 1700000000000000002
v2_big n=9223372036854775807i,tiny=1e-300,neg=-9223372036854775808i 1700000000000000003
LP
sort "$T/v2.lp" >"$T/v2.sorted"

# ---------------------------------------------------------------------------------------
# 1. a good write
export CRONFLUX_STATE=$T/v2.db
use_v2 metrics
cf push-v2 push <"$T/v2.lp"
check_rc "2.x push: exit 0" 0
log_check "every request carries 'Authorization: Token <token>'" 'r["token_ok"] and r["auth_scheme"] == "Token"'
log_check "every request names org=$ORG and bucket=metrics" 'r["query"].get("org") == "acme" and r["query"].get("bucket") == "metrics"'
log_check "every request says precision=ns" 'r["query"].get("precision") == "ns"'
log_check "every request body is gzip (Content-Encoding: gzip)" 'r["gzip"]'
log_check "every request went to /api/v2/write and got 204" 'r["path"] == "/api/v2/write" and r["status"] == 204'
received_lines metrics >"$T/got.lp"
check "the stand-in received exactly the pushed lines" diff -u "$T/v2.sorted" "$T/got.lp"
cf export-v2 export
grep -v '^cronflux_job' "$CF_OUT" | sort >"$T/export.lp"
check "export prints the same lines" diff -u "$T/v2.sorted" "$T/export.lp"
check "a cronflux_job point went to the bucket too" \
    grep -q '"line": "cronflux_job,job=cronflux,status=ok ' "$INFLUX2_LINES"

# CRONFLUX_GZIP=0: identity body, still stored
n0=$(log_last)
echo 'v2_plain v=1i 1700000000000000009' | CRONFLUX_GZIP=0 cf push-v2-nogzip push
check_rc "CRONFLUX_GZIP=0: exit 0" 0
log_check "CRONFLUX_GZIP=0: body sent without gzip" 'not r["gzip"] and r["status"] == 204' "$n0"
check "CRONFLUX_GZIP=0: the line arrived" grep -q '"line": "v2_plain v=1i 1700000000000000009"' "$INFLUX2_LINES"

# CRONFLUX_GZIP unset, InfluxDB on loopback: the lines go plain (InfluxDB would only spend
# CPU on gunzip), stored as LZ4 blocks (cheaper than gzip to pack and unpack)
n0=$(log_last)
seq 1 3000 | awk '{ printf "v2_loop v=%di 1700000000%09d\n", $1, $1 }' |
    env -u CRONFLUX_GZIP CRONFLUX_STATE="$T/loop.db" "$BIN/cronflux" push >"$T/loop.out" 2>"$T/loop.err"
check_eq "loopback, CRONFLUX_GZIP unset: exit 0" "$?" 0
log_check "loopback, CRONFLUX_GZIP unset: bodies sent without gzip" 'not r["gzip"] and r["status"] == 204' "$n0"
check_eq "loopback: every line arrived" "$(grep -c '"line": "v2_loop ' "$INFLUX2_LINES")" 3000
check "loopback: the batch is stored as an LZ4 block" \
    test "$(sqlite3 "$T/loop.db" 'SELECT count(*) FROM bodies WHERE enc = 2')" -ge 1
check_eq "loopback: no gzip body" "$(sqlite3 "$T/loop.db" 'SELECT count(*) FROM bodies WHERE enc = 1')" 0

# ---------------------------------------------------------------------------------------
# 2. wrong token: 401 -> 77, the points stay, the token in no output
export CRONFLUX_STATE=$T/v2-401.db
use_v2 metrics "$WRONG"
n0=$(log_last)
echo 'v2_auth v=1i 1700000000000000010' | cf push-401 push
check_rc "wrong token: push exits 77" 77
check "the 77 message names the token setting" grep -q 'INFLUXDB_TOKEN' "$CF_ERR"
log_check "the stand-in answered 401" 'r["status"] == 401' "$n0"
echo 'v2_auth v=2i 1700000000000000011' | DEBUG=1 cf push-401-debug push
check_rc "wrong token with DEBUG=1: exit 77" 77
cf status-401 status
check "the refused points are pending, not lost ($(status_pending_points "$CF_OUT") pending with the runs' own cronflux_job points)" \
    test "$(status_pending_points "$CF_OUT")" -ge 2
use_v2 metrics
cf flush-after-401 flush
check_rc "right token: flush exits 0" 0
check_eq "both refused points arrived after the token was fixed" \
    "$(grep -c '"line": "v2_auth v=' "$INFLUX2_LINES")" 2

# ---------------------------------------------------------------------------------------
# 3. the token from INFLUXDB_TOKEN_FILE (a trailing newline is not part of it)
export CRONFLUX_STATE=$T/v2-file.db
use_v2 other
unset INFLUXDB_TOKEN
printf '%s\n' "$TOKEN" >"$T/token.txt"
echo 'v2_file v=1i 1700000000000000020' | INFLUXDB_TOKEN_FILE=$T/token.txt cf push-token-file push
check_rc "INFLUXDB_TOKEN_FILE: exit 0" 0
check "INFLUXDB_TOKEN_FILE: the line arrived in bucket other" \
    grep -q '{"bucket": "other", "line": "v2_file v=1i 1700000000000000020"}' "$INFLUX2_LINES"

# ---------------------------------------------------------------------------------------
# 4. unknown bucket: 404 -> 78, kept
export CRONFLUX_STATE=$T/v2-404.db
use_v2 nosuchbucket
echo 'v2_404 v=1i 1700000000000000030' | cf push-404 push
check_rc "unknown bucket: exit 78" 78
check "the 78 message names the bucket setting" grep -q 'INFLUXDB_BUCKET' "$CF_ERR"
cf status-404 status
check "unknown bucket: the point stays pending" test "$(status_pending_points "$CF_OUT")" -ge 1
use_v2 metrics
cf flush-404-fixed flush
check_rc "bucket fixed: flush exits 0" 0
check "bucket fixed: the point arrived" grep -q '"line": "v2_404 v=1i 1700000000000000030"' "$INFLUX2_LINES"

# unknown org: 404 -> 78 as well
export CRONFLUX_STATE=$T/v2-org.db
use_v2 metrics
echo 'v2_org v=1i 1' | INFLUXDB_ORG=nosuchorg cf push-badorg push
check_rc "unknown org: exit 78" 78

# ---------------------------------------------------------------------------------------
no_secrets "the token (right or wrong) appears in no stdout/stderr, DEBUG=1 included" "$TOKEN" "$WRONG"
check "stand-in still alive" kill -0 "$INFLUX2_PID"
finish
