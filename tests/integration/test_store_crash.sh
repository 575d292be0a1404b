#!/usr/bin/env bash
# Crashes and concurrency on one state file.
#  - kill -9 of `cronflux flush` at random moments (CRASH_TRIALS, default 20): then a flush to
#    completion; every point is in InfluxDB (count and sum), none lost
#  - two `cronflux flush` at once (and a push alongside): no batch POSTed twice, all arrive
. "$(dirname "$0")/../lib/common.sh"

TRIALS=${CRASH_TRIALS:-20}
NPTS=3000          # 30 batches of CRONFLUX_BATCH=100
export CRONFLUX_BATCH=100

start_influxd crash || { not_ok "influxd starts"; finish; }
start_proxy px "$INFLUX_URL" || { not_ok "counting proxy starts"; finish; }
ok "influxd and the counting proxy start"

gen_lp() {
    awk -v m="$1" -v n="$2" -v t0="${3:-1700000000000000000}" \
        'BEGIN { for (i = 1; i <= n; i++) printf "%s,host=h%d v=%di %.0f\n", m, i % 10, i, t0 + i * 1000000000 }'
}
sum_1_to() { echo $(($1 * ($1 + 1) / 2)); }
# writes_done MARK: 2xx data writes the proxy logged after MARK
writes_done() { "$PY" -c '
import json, sys
n = 0
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e["n"] > int(sys.argv[2]) and e["method"] == "POST" and 200 <= e["status"] < 300:
        n += 1
print(n)' "$PROXY_LOG" "$1"; }

gen_lp crash "$NPTS" >"$T/crash.lp"
want_sum=$(sum_1_to "$NPTS")

# ---------------------------------------------------------------------------------------
# 1. kill -9 at random moments
lost=0 midflush=0 badrc=0
for ((i = 1; i <= TRIALS; i++)); do
    export CRONFLUX_STATE=$T/crash_$i.db
    use_influx "crash_$i" "$PROXY_URL"
    influx_create_db "crash_$i"
    cf "push-$i" push --no-flush <"$T/crash.lp"
    [ "$CF_RC" = 0 ] || { not_ok "trial $i: push --no-flush exits 0 (got $CF_RC)"; continue; }
    # a slow InfluxDB so that the kill lands mid-flush; wait for K finished writes (random),
    # then a random extra 0-60 ms so the kill falls anywhere in a request's life
    proxy_set delay=0.03
    mark=$(kv "$(proxy_writes)" last_n)
    k=$((RANDOM % 28))
    cf_bg "flush-killed-$i" flush
    pid=$CF_BG_PID
    for ((j = 0; j < 600; j++)); do
        [ "$(writes_done "$mark")" -ge "$k" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.02
    done
    sleep "0.0$((RANDOM % 7))"
    if kill -9 "$pid" 2>/dev/null; then
        wait "$pid" 2>/dev/null
        done_before=$(writes_done "$mark")
        [ "$done_before" -lt 30 ] && midflush=$((midflush + 1))
    else
        wait "$pid" 2>/dev/null
        done_before=all
    fi
    proxy_set delay=0
    cf "flush-after-$i" flush
    [ "$CF_RC" = 0 ] || badrc=$((badrc + 1))
    c=$(influx_count "crash_$i" crash v)
    s=$(influx_sum "crash_$i" crash v)
    echo "# trial $i: killed after $k+ writes ($done_before done), then flush exit $CF_RC: count $c sum $s"
    if [ "$c" != "$NPTS" ] || [ "$s" != "$want_sum" ]; then
        lost=$((lost + 1))
        not_ok "trial $i: all $NPTS points after kill -9 and a new flush (count $c, sum $s, want $want_sum)"
    else
        ok "trial $i: all $NPTS points after kill -9 and a new flush (count and sum)"
    fi
    cf "status-$i" status
    p=$(status_pending_points "$CF_OUT")
    [ "$p" = 0 ] || not_ok "trial $i: nothing pending after the second flush (status says $p)"
done
check_eq "trials where a point was lost" "$lost" 0
check_eq "trials where the flush after the kill did not exit 0" "$badrc" 0
check "the kill landed mid-flush in most trials ($midflush of $TRIALS)" test "$midflush" -ge $((TRIALS / 2))

# ---------------------------------------------------------------------------------------
# 2. two flushes at once (and a push on the same state file): no batch sent twice
for round in 1 2 3; do
    export CRONFLUX_STATE=$T/conc_$round.db
    use_influx "conc_$round" "$PROXY_URL"
    influx_create_db "conc_$round"
    gen_lp conc 4000 >"$T/conc.lp"
    cf "push-conc-$round" push --no-flush <"$T/conc.lp"
    check_rc "round $round: 40 batches spooled" 0
    proxy_set delay=0.02
    mark=$(kv "$(proxy_writes)" last_n)
    cf_bg "flush-a-$round" flush
    pa=$CF_BG_PID
    ea=$CF_ERR
    cf_bg "flush-b-$round" flush
    pb=$CF_BG_PID
    eb=$CF_ERR
    # a push of other points into the same state file while both flush
    gen_lp conc_side 500 1800000000000000000 | cf "push-side-$round" push --no-flush
    check_rc "round $round: a push during two flushes: exit 0" 0
    wait "$pa"
    ra=$?
    wait "$pb"
    rb=$?
    check "round $round: both flushes exit 0 (got $ra, $rb)" test "$ra" = 0 -a "$rb" = 0
    [ "$ra" = 0 ] || echo "# flush a: $(head -c 300 "$ea")"
    [ "$rb" = 0 ] || echo "# flush b: $(head -c 300 "$eb")"
    proxy_set delay=0
    cf "flush-rest-$round" flush
    w=$(proxy_writes "$PROXY_LOG" "$mark")
    echo "# round $round proxy: $w"
    check_eq "round $round: no batch body POSTed twice" "$(kv "$w" dup_ok)" 0
    check_eq "round $round: every data line POSTed exactly once" "$(kv "$w" data_ok)" 4500
    check_eq "round $round: count in InfluxDB" "$(influx_count "conc_$round" conc v)" 4000
    check_eq "round $round: sum in InfluxDB" "$(influx_sum "conc_$round" conc v)" "$(sum_1_to 4000)"
    check_eq "round $round: the side push arrived" "$(influx_count "conc_$round" conc_side v)" 500
    conns=$("$PY" - "$PROXY_LOG" "$mark" <<'PYEOF'
import collections, json, sys
c = collections.Counter()
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["n"] > int(sys.argv[2]) and r["method"] == "POST" and 200 <= r["status"] < 300:
        c[r["client_port"]] += 1
print(" ".join(str(v) for v in sorted(c.values(), reverse=True)))
PYEOF
)
    echo "# round $round: 2xx writes per connection: $conns"
    check "round $round: state file intact (sqlite integrity_check)" \
        bash -c "sqlite3 '$CRONFLUX_STATE' 'PRAGMA integrity_check' | grep -qx ok"
done

check "influxd still alive" kill -0 "$INFLUX_PID"
finish
