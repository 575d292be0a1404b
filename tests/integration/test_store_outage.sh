#!/usr/bin/env bash
# InfluxDB down, slow, overloaded or refusing big bodies: nothing is lost, nothing sent twice.
#  - influxd stopped: push exits 75, status shows the pending points; influxd back: flush
#    delivers all of it, each batch POSTed once (through the counting proxy)
#  - 503 + Retry-After, 429 + Retry-After, 500: retried, the data arrives
#  - 503 for longer than the retries: exit 75, then flush delivers
#  - 413 for big bodies: the batch is split until it fits, all points arrive
#  - 413 / 400 naming no line for every write: kept (no dead letter), exit 69, few requests
. "$(dirname "$0")/../lib/common.sh"

start_influxd outage || { not_ok "influxd starts"; finish; }
start_proxy px "$INFLUX_URL" || { not_ok "counting proxy starts"; finish; }
ok "influxd and the counting proxy start"

# gen_lp MEAS N [START_TS]: N points, field v = 1..N, one second apart
gen_lp() {
    awk -v m="$1" -v n="$2" -v t0="${3:-1700000000000000000}" \
        'BEGIN { for (i = 1; i <= n; i++) printf "%s,host=h%d v=%di,f=%d.5 %.0f\n", m, i % 7, i, i, t0 + i * 1000000000 }'
}
sum_1_to() { echo $(($1 * ($1 + 1) / 2)); }

export CRONFLUX_BATCH=100

# ---------------------------------------------------------------------------------------
# 1. influxd stopped -> 75 and pending; back -> flush delivers exactly once
export CRONFLUX_STATE=$T/down.db
use_influx down "$INFLUX_URL"
gen_lp warm 10 | cf push-warm push
check_rc "push while influxd is up: exit 0" 0
check_eq "warm-up points stored" "$(influx_count down warm v)" 10

stop_influxd
check "influxd stopped" bash -c "! kill -0 $INFLUX_PID 2>/dev/null"
gen_lp outage 1000 | cf push-down push
check_rc "push while influxd is down: exit 75" 75
check "the 75 message says the points are kept" grep -qiE 'spool|kept|safe|next run' "$CF_ERR"
check "the 75 message is one line" test "$(wc -l <"$CF_ERR")" -le 1
cf status-down status
check_rc "status: exit 0" 0
pend=$(status_pending_points "$CF_OUT")
check "status shows the 1000 pushed points pending (got '$pend')" test "${pend:-0}" -ge 1000

restart_influxd || not_ok "influxd restarts"
use_influx down "$PROXY_URL"
mark=$(kv "$(proxy_writes)" last_n)
cf flush-up flush
check_rc "flush after influxd is back: exit 0" 0
w=$(proxy_writes "$PROXY_LOG" "$mark")
echo "# proxy after recovery: $w"
check_eq "every data point POSTed once after recovery" "$(kv "$w" data_ok)" 1000
check_eq "no batch body POSTed twice" "$(kv "$w" dup_ok)" 0
check_eq "every write answered 2xx (no retries needed)" "$(kv "$w" total)" "$(kv "$w" ok)"
check "batches of at most CRONFLUX_BATCH=100 lines (got $(kv "$w" max_lines_ok))" \
    test "$(kv "$w" max_lines_ok)" -le 101
check_eq "count in InfluxDB" "$(influx_count down outage v)" 1000
check_eq "sum in InfluxDB" "$(influx_sum down outage v)" "$(sum_1_to 1000)"
cf status-after status
check_eq "status: nothing pending after the flush" "$(status_pending_points "$CF_OUT")" 0
mark=$(kv "$(proxy_writes)" last_n)
cf flush-again flush
check_rc "a second flush: exit 0" 0
w=$(proxy_writes "$PROXY_LOG" "$mark")
check_eq "a second flush sends no data again" "$(kv "$w" data_ok)" 0
check_eq "count unchanged" "$(influx_count down outage v)" 1000

# ---------------------------------------------------------------------------------------
# 2. 503 / 429 with Retry-After: 1, and 500: retried within the run, the data arrives
# retry_case NAME SETTING MEASUREMENT
retry_case() {
    local name=$1 setting=$2 m=$3 w gaps
    export CRONFLUX_STATE=$T/$m.db
    use_influx retry "$PROXY_URL"
    proxy_set "$setting" retry_after=1
    mark=$(kv "$(proxy_writes)" last_n)
    gen_lp "$m" 250 | cf "push-$m" push
    check_rc "$name: push exits 0" 0
    w=$(proxy_writes "$PROXY_LOG" "$mark")
    echo "# proxy ($name): $w"
    check_eq "$name: all 250 points arrive" "$(influx_count retry "$m" v)" 250
    check_eq "$name: the sum matches" "$(influx_sum retry "$m" v)" "$(sum_1_to 250)"
    check_eq "$name: no body stored twice" "$(kv "$w" dup_ok)" 0
    # Retry-After is honoured: the request after a 503/429 comes no sooner than ~1 s later
    # (a lower bound only: a slow machine only makes the gap longer).
    gaps=$("$PY" - "$PROXY_LOG" "$mark" <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
rows = [r for r in rows if r["n"] > int(sys.argv[2]) and r["method"] == "POST"]
bad = 0
for a, b in zip(rows, rows[1:]):
    if a["status"] in (429, 503) and b["t"] - a["t"] < 0.9:
        bad += 1
print(bad)
PYEOF
)
    case $setting in
        fail500*) ;;
        *) check_eq "$name: Retry-After: 1 honoured before each retry" "$gaps" 0 ;;
    esac
    check_eq "$name: the injected failures were all used" \
        "$(curl -s "$PROXY_URL/__proxy__/stats" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(d["fail503"]+d["fail429"]+d["fail500"])')" 0
}
retry_case "503 twice" fail503=2 r503
retry_case "429 twice" fail429=2 r429
retry_case "500 twice" fail500=2 r500

# ---------------------------------------------------------------------------------------
# 3. 503 for longer than the writer retries: 75, then a later flush delivers
export CRONFLUX_STATE=$T/long503.db
use_influx retry "$PROXY_URL"
proxy_set fail503=1000 retry_after=0
gen_lp long503 300 | cf push-long503 push
check_rc "503 every time: push exits 75" 75
cf status-long503 status
check "status shows the 300 points pending" test "$(status_pending_points "$CF_OUT")" -ge 300
proxy_set fail503=0
cf flush-long503 flush
check_rc "503 over: flush exits 0" 0
check_eq "503 over: all 300 points arrive" "$(influx_count retry long503 v)" 300
check_eq "503 over: the sum matches" "$(influx_sum retry long503 v)" "$(sum_1_to 300)"

# ---------------------------------------------------------------------------------------
# 4. 413 for bodies over 40 lines: split until it fits
export CRONFLUX_STATE=$T/split.db CRONFLUX_BATCH=500
use_influx split "$PROXY_URL"
proxy_set max_lines=40
mark=$(kv "$(proxy_writes)" last_n)
gen_lp big 1000 | cf push-413 push
check_rc "413: push exits 0 (batches split)" 0
w=$(proxy_writes "$PROXY_LOG" "$mark")
echo "# proxy (413): $w"
check "413: the proxy did answer 413" test "$(kv "$w" s413)" -ge 1
check "413: every stored body fits in 40 lines (largest $(kv "$w" max_lines_ok))" \
    test "$(kv "$w" max_lines_ok)" -le 40
check_eq "413: all 1000 points arrive" "$(influx_count split big v)" 1000
check_eq "413: the sum matches" "$(influx_sum split big v)" "$(sum_1_to 1000)"
check_eq "413: no data line sent twice" "$(kv "$w" data_ok)" 1000
proxy_set max_lines=0
cf status-413 status
check_eq "413: nothing pending" "$(status_pending_points "$CF_OUT")" 0
check_eq "413: no dead letters" "$(status_dead_letters "$CF_OUT")" 0

# ---------------------------------------------------------------------------------------
# 5. a proxy that refuses every write without naming a line (413 whatever the size, 400
#    naming nothing): no dead letter, every point stays pending, exit 69 with the server's
#    words, and the refusal is narrowed down in a few requests (depth first)
for mode in fail413 fail400; do
    export CRONFLUX_STATE=$T/$mode.db CRONFLUX_BATCH=500
    use_influx refused "$PROXY_URL"
    proxy_set "$mode=100000"
    mark=$(kv "$(proxy_writes)" last_n)
    gen_lp "$mode" 1000 | cf "push-$mode" push
    check_rc "$mode: push exits 69 (not 0, not 75)" 69
    check "$mode: the error line has the server's words" \
        grep -qE 'refused even a single line.*proxy: (request body limit|bad request).*stay pending' "$CF_ERR"
    check_eq "$mode: one error line" "$(grep -c 'error' "$CF_ERR")" 1
    w=$(proxy_writes "$PROXY_LOG" "$mark")
    echo "# proxy ($mode): $w"
    check "$mode: a few requests, not one a line ($(kv "$w" total))" test "$(kv "$w" total)" -le 14
    check_eq "$mode: nothing went through" "$(kv "$w" ok)" 0
    cf "status-$mode" status
    check_eq "$mode: no dead letters" "$(status_dead_letters "$CF_OUT")" 0
    check "$mode: all 1000 points pending" test "$(status_pending_points "$CF_OUT")" -ge 1000
    proxy_set "$mode=0"
    cf "flush-$mode" flush
    check_rc "$mode over: flush exits 0" 0
    check_eq "$mode over: all 1000 points arrive" "$(influx_count refused "$mode" v)" 1000
    check_eq "$mode over: the sum matches" "$(influx_sum refused "$mode" v)" "$(sum_1_to 1000)"
done

check "influxd still alive" kill -0 "$INFLUX_PID"
finish
