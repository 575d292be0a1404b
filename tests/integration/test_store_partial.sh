#!/usr/bin/env bash
# 400 partial write: lines InfluxDB refuses (field type conflicts) go to dead letters with
# InfluxDB's reason, the rest is stored, nothing is retried forever.
#
# Exit code of a run whose lines InfluxDB refused: everything InfluxDB would take was
# delivered and the rest is kept as dead letters, so the run is done: exit 0 (not 75, which
# would promise a retry), and its cronflux_job point says status=partial, dead_letters=N.
. "$(dirname "$0")/../lib/common.sh"

start_influxd partial || { not_ok "influxd starts"; finish; }
start_proxy px "$INFLUX_URL" || { not_ok "counting proxy starts"; finish; }
ok "influxd and the counting proxy start"
export CRONFLUX_STATE=$T/partial.db
use_influx pw "$PROXY_URL"

# 1. f is an integer in InfluxDB ...
echo 'pw_m,host=a f=100i 1700000000000000000' | cf push-first push
check_rc "first push (f integer): exit 0" 0

# 2. ... then lines 3 and 6 bring f as a float (and line 8 a string): conflicts
{
    echo 'pw_m,host=a f=1i 1700000000000000001'
    echo 'pw_m,host=a f=2i 1700000000000000002'
    echo 'pw_m,host=a f=3.5 1700000000000000003'
    echo 'pw_m,host=a f=4i 1700000000000000004'
    echo 'pw_other g=5i 1700000000000000005'
    echo 'pw_m,host=a f=6.5 1700000000000000006'
    echo 'pw_m,host=a f=7i 1700000000000000007'
    echo 'pw_m,host=a f="eight" 1700000000000000008'
    echo 'pw_m,host=a f=9i 1700000000000000009'
} >"$T/conflict.lp"
mark=$(kv "$(proxy_writes)" last_n)
cf push-conflict push <"$T/conflict.lp"
check_rc "push with conflicting lines: exit 0" 0
check "stderr says nothing about a retry" bash -c "! grep -qi 'next run' '$CF_ERR'"
check_eq "the 5 good pw_m lines and the base point are stored" "$(influx_count pw pw_m f)" 6
check_eq "their sum" "$(influx_sum pw pw_m f)" $((100 + 1 + 2 + 4 + 7 + 9))
check_eq "the other measurement is stored" "$(influx_count pw pw_other g)" 1
check_eq "f is still an integer field (SHOW FIELD KEYS)" "$(influx_scalar pw 'SHOW FIELD KEYS FROM pw_m')" integer

cf status-dl status
check_rc "status: exit 0" 0
check_eq "status shows 3 dead letters" "$(status_dead_letters "$CF_OUT")" 3
check_eq "status: nothing pending" "$(status_pending_points "$CF_OUT")" 0

# the dead-letter rows keep the line and InfluxDB's reason
sqlite3 "$CRONFLUX_STATE" .dump >"$T/dump.sql" 2>/dev/null
check "the dead letters keep the refused lines" \
    bash -c "grep -qF 'f=3.5 1700000000000000003' '$T/dump.sql' && grep -qF 'f=6.5 1700000000000000006' '$T/dump.sql' && grep -qF 'f=\"eight\"' '$T/dump.sql'"
check "the dead letters keep InfluxDB's reason" grep -q 'field type conflict' "$T/dump.sql"

check "the run's cronflux_job point: status=partial, dead_letters=3" "$PY" -c '
import json, sys
for l in sys.stdin:
    p = json.loads(l)
    if p["measurement"] == "cronflux_job" and p["tags"].get("status") == "partial" and p["fields"]["dead_letters"][1] == 3:
        sys.exit(0)
sys.exit(1)' < <("$PY" "$STORE_CHECK" dump "$INFLUX_URL" pw)

# 3. nothing retried forever: another flush sends no data at all
mark=$(kv "$(proxy_writes)" last_n)
cf flush-2 flush
check_rc "flush after the partial write: exit 0" 0
w=$(proxy_writes "$PROXY_LOG" "$mark")
echo "# proxy (second flush): $w"
check_eq "the second flush sends no data line" "$(kv "$w" data_ok)" 0
check_eq "and no write InfluxDB refuses" "$(kv "$w" s400)" ""
cf flush-3 flush
cf status-dl2 status
check_eq "dead letters are not counted twice" "$(status_dead_letters "$CF_OUT")" 3

# 4. two types for one new field inside one batch: InfluxDB 1.x refuses the whole batch
#    ("field type conflict" without "partial write"). Nothing may be lost silently: what is
#    not stored is a dead letter, and nothing is retried forever.
export CRONFLUX_STATE=$T/inbatch.db
{
    for i in 1 2 3 4 5; do echo "pw_new v=${i}i 170000000000000000$i"; done
    echo 'pw_new v=6.5 1700000000000000006'
    for i in 7 8 9; do echo "pw_new v=${i}i 170000000000000000$i"; done
} >"$T/inbatch.lp"
cf push-inbatch push <"$T/inbatch.lp"
check_rc "one batch with two types: exit 0" 0
stored=$(influx_count pw pw_new v)
cf status-inbatch status
dl=$(status_dead_letters "$CF_OUT")
echo "# one batch with two types: $stored stored, $dl dead letters"
check_eq "stored + dead letters = the 9 lines pushed" "$((stored + ${dl:-0}))" 9
check "the 8 integer lines are stored (at most the conflicting line is a dead letter)" test "$stored" -eq 8
check_eq "nothing pending" "$(status_pending_points "$CF_OUT")" 0
mark=$(kv "$(proxy_writes)" last_n)
cf flush-inbatch flush
w=$(proxy_writes "$PROXY_LOG" "$mark")
check_eq "a later flush sends no data line" "$(kv "$w" data_ok)" 0

check "influxd still alive" kill -0 "$INFLUX_PID"
finish
