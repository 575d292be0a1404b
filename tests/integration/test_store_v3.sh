#!/usr/bin/env bash
# The InfluxDB 3 write path (/api/v3/write_lp) against the 3.x stand-in
# (tests/standins/influx2_standin.py --api 3, following tests/fixtures/influxdb/): the API
# found by GET /ping from INFLUXDB_URL + INFLUXDB_TOKEN + INFLUXDB_DATABASE alone;
# "Authorization: Bearer", db, precision=nanosecond, accept_partial=true, gzip; what
# arrives equals what was pushed; a partial write's refused lines become dead letters with
# their line_number and error_message; no_sync; 401 -> 77; a bad db name -> 78; status
# tells the API; the token in no output.
. "$(dirname "$0")/../lib/common.sh"

TOKEN="apiv3_tok-$RANDOM$RANDOM-s3cr3t"
WRONG="apiv3_wrong-$RANDOM$RANDOM"
start_influx3 v3 "$TOKEN" || { not_ok "3.x stand-in starts"; finish; }
ok "3.x stand-in starts"

use_v3() {
    unset $(compgen -e | grep '^INFLUXDB_')
    export INFLUXDB_URL=$INFLUX3_URL INFLUXDB_DATABASE=${1:-metrics} INFLUXDB_TOKEN=${2:-$TOKEN}
    export CRONFLUX_GZIP=1   # gzip on the wire, as a remote InfluxDB gets it (loopback: plain)
}
# log_check "description" PYTHON-EXPR [FROM_N] [PATH]: EXPR holds for every logged request
# numbered above FROM_N (to PATH when given; r = the request's log entry)
log_check() {
    check "$1" "$PY" -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
rows = [r for r in rows if r["n"] > int(sys.argv[3]) and (not sys.argv[4] or r["path"] == sys.argv[4])]
bad = [r for r in rows if not eval(sys.argv[2], {}, {"r": r})]
if not rows or bad:
    print("# failing requests:", bad[:3] if bad else "none logged"); sys.exit(1)' "$INFLUX3_LOG" "$2" "${3:-0}" "${4:-}"
}
log_last() { "$PY" -c 'import json,sys; print(max([json.loads(l)["n"] for l in open(sys.argv[1])] or [0]))' "$INFLUX3_LOG"; }
received_lines() {
    "$PY" -c '
import json, sys
out = [json.loads(l) for l in open(sys.argv[1])]
for ln in sorted(o["line"] for o in out if o["bucket"] == sys.argv[2] and not o["line"].startswith("cronflux_job")):
    print(ln)' "$INFLUX3_LINES" "$1"
}

cat >"$T/v3.lp" <<'LP'
v3_cpu,host=a,region=eu usage=0.5,cores=8i 1700000000000000000
v3_cpu,host=b,region=eu usage=12.25,cores=16i 1700000000000000000
v3_str,k=with\ space msg="say \"hi\", \\ bye",ok=true 1700000000000000001
v3_uni,city=Zürich temp=-3.5 1700000000000000002
LP
sort "$T/v3.lp" >"$T/v3.sorted"

# ---------------------------------------------------------------------------------------
# 1. URL + token + database: /ping says 3.x Core, the write goes to /api/v3/write_lp
export CRONFLUX_STATE=$T/v3.db
use_v3 metrics
cf push-v3 push <"$T/v3.lp"
check_rc "3.x push: exit 0" 0
log_check "the API was found by GET /ping with the token (200)" \
    'r["method"] == "GET" and r["status"] == 200 and r["auth_scheme"] == "Token"' 0 /ping
log_check "every write carries 'Authorization: Bearer <token>'" \
    'r["auth_scheme"] == "Bearer" and r["token_ok"]' 0 /api/v3/write_lp
log_check "every write says db=metrics, precision=nanosecond, accept_partial=true, no no_sync" \
    'r["query"] == {"db": "metrics", "precision": "nanosecond", "accept_partial": "true"}' 0 /api/v3/write_lp
log_check "every write body is gzip and got 204" 'r["gzip"] and r["status"] == 204' 0 /api/v3/write_lp
received_lines metrics >"$T/got.lp"
check "the stand-in received exactly the pushed lines" diff -u "$T/v3.sorted" "$T/got.lp"
check "a cronflux_job point went to the database too" \
    grep -q '"line": "cronflux_job,job=cronflux,status=ok ' "$INFLUX3_LINES"

cf status-v3 status
check_rc "status: exit 0" 0
check "status tells the API and the server" \
    grep -qx 'influxdb api: 3.x /api/v3/write_lp (detected by /ping; the server says InfluxDB 3 Core 3.10.1)' "$CF_OUT"
cf status-v3-json status --json
check "status --json has influxdb.api" "$PY" -c '
import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(0 if j["influxdb"]["api"].startswith("3.x /api/v3/write_lp") else 1)' "$CF_OUT"

# ---------------------------------------------------------------------------------------
# 2. a partial write: temp is a float in the table; a string and a bad line are refused
#    with their line numbers, the good lines are stored, the refused ones dead-lettered
echo 'v3_t,room=a temp=96 1700000000000000100' | cf push-t1 push
check_rc "first push (temp float): exit 0" 0
printf '%s\n' 'v3_t,room=a temp=97 1700000000000000101' \
    'v3_t,room=a temp="hi" 1700000000000000102' \
    'v3_t,room=a temp=98 1700000000000000103' >"$T/conflict.lp"
n0=$(log_last)
cf push-conflict push <"$T/conflict.lp"
check_rc "push with a conflicting line: exit 0 (the rest delivered)" 0
log_check "the stand-in answered 400 partial write naming 1 line, then 204 for the rest" \
    '(r["status"] == 400 and r["rejected"] == 1) or r["status"] == 204' "$n0" /api/v3/write_lp
check "the good lines are stored" bash -c "grep -q 'temp=97 1700000000000000101' '$INFLUX3_LINES' && grep -q 'temp=98 1700000000000000103' '$INFLUX3_LINES'"
check "the refused line is not stored" bash -c "! grep -q 'temp=\\\\\"hi' '$INFLUX3_LINES'"
cf status-dl status
check_eq "status shows 1 dead letter" "$(status_dead_letters "$CF_OUT")" 1
check_eq "status: nothing pending" "$(status_pending_points "$CF_OUT")" 0
sqlite3 -separator '|' "$CRONFLUX_STATE" 'SELECT line, error FROM dead_letters' >"$T/dump.sql" 2>/dev/null
check "the dead letter keeps the whole refused line" grep -qF "v3_t,room=a temp=\"hi\" 1700000000000000102" "$T/dump.sql"
check "the dead letter keeps line_number, error_message and original_line" \
    grep -qF "|line 2: invalid column type for column 'temp', expected iox::column_type::field::float, got iox::column_type::field::string (InfluxDB 3 saw: v3_t,room=a temp=\"hi)" "$T/dump.sql"

# ---------------------------------------------------------------------------------------
# 3. INFLUXDB_NO_SYNC=1 and INFLUXDB_API=3 (no /ping then)
export CRONFLUX_STATE=$T/v3-nosync.db
use_v3 metrics
n0=$(log_last)
echo 'v3_ns v=1i 1700000000000000200' | INFLUXDB_API=3 INFLUXDB_NO_SYNC=1 cf push-nosync push
check_rc "INFLUXDB_NO_SYNC=1: exit 0" 0
log_check "INFLUXDB_API=3: no /ping, writes say no_sync=true" \
    'r["path"] == "/api/v3/write_lp" and r["query"].get("no_sync") == "true"' "$n0"

# ---------------------------------------------------------------------------------------
# 4. a wrong token: /ping answers 401 with cluster-uuid (still 3.x), the write 401 -> 77
export CRONFLUX_STATE=$T/v3-401.db
use_v3 metrics "$WRONG"
n0=$(log_last)
echo 'v3_auth v=1i 1700000000000000300' | DEBUG=1 cf push-401 push
check_rc "wrong token: exit 77" 77
check "the 77 message names INFLUXDB_TOKEN" grep -q 'INFLUXDB_TOKEN' "$CF_ERR"
log_check "the stand-in answered 401 to /ping and to the write" 'r["status"] == 401' "$n0"
cf status-401 status
check "the refused point is pending, not lost" test "$(status_pending_points "$CF_OUT")" -ge 1
use_v3 metrics
cf flush-after-401 flush
check_rc "right token: flush exits 0" 0
check "the refused point arrived" grep -q '"line": "v3_auth v=1i 1700000000000000300"' "$INFLUX3_LINES"

# no token at all, INFLUXDB_API=3: 401 -> 77
export CRONFLUX_STATE=$T/v3-notoken.db
use_v3 metrics
unset INFLUXDB_TOKEN
echo 'v3_auth v=2i 1700000000000000301' | INFLUXDB_API=3 cf push-notoken push
check_rc "no token, INFLUXDB_API=3: exit 77" 77

# ---------------------------------------------------------------------------------------
# 5. a database name 3.x refuses: 400 {"error":"db name did not start with ..."} -> 78, kept
export CRONFLUX_STATE=$T/v3-db.db
use_v3 _bad
echo 'v3_db v=1i 1700000000000000400' | cf push-baddb push
check_rc "bad db name: exit 78" 78
check "the 78 message says what 3.x said and names INFLUXDB_DATABASE" \
    bash -c "grep -q 'db name did not start with a number or letter' '$CF_ERR' && grep -q 'INFLUXDB_DATABASE' '$CF_ERR'"
cf status-baddb status
check "bad db name: the point stays pending" test "$(status_pending_points "$CF_OUT")" -ge 1

# ---------------------------------------------------------------------------------------
no_secrets "the token (right or wrong) appears in no stdout/stderr, DEBUG=1 included" "$TOKEN" "$WRONG"
check "stand-in still alive" kill -0 "$INFLUX3_PID"
finish
