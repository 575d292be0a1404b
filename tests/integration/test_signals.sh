#!/usr/bin/env bash
# SIGTERM mid-run (a CronJob's activeDeadlineSeconds, a node drain): every binary stops
# reading, commits what it read, records the run and exits 75 within a few seconds; never
# dies by the signal with points read but not stored (issue 10, "Signals"; runtime/sig.h).
#  - cronflux push: a FIFO that delivers 1000 lines and then stays open (exactly 1000
#    stored); an endless stdin (every line push counted is in the spool)
#  - cronflux flush / replay: InfluxDB stops answering mid-POST: the batches stay pending
#    (none claimed, none lost); a later flush delivers exactly the points, once
#  - twitter-stats, cluster-metrics, prom-metrics: the source answers the first requests
#    and then hangs (tests/standins/hang_proxy.py): the points from the answered requests
#    are in the spool, exactly as many as a run that reads only those requests makes
. "$(dirname "$0")/../lib/common.sh"

HANG=$STANDINS/hang_proxy.py
LIMIT_MS=5000   # "within a few seconds"; the grace period of a pod is 30 s

# start_hang NAME ARGS...: a hang_proxy; sets HANG_URL and HANG_LOG
start_hang() {
    local name=$1 i
    shift
    HANG_LOG=$T/$name.hang.log
    : >"$HANG_LOG"
    "$PY" "$HANG" --port-file "$T/$name.hang.port" --log "$HANG_LOG" "$@" >"$T/$name.hang.err" 2>&1 &
    track $!
    for ((i = 0; i < 100; i++)); do [ -s "$T/$name.hang.port" ] && break; sleep 0.1; done
    HANG_URL=http://127.0.0.1:$(cat "$T/$name.hang.port" 2>/dev/null)
    [ -s "$T/$name.hang.port" ]
}
# wait_held: until the proxy holds a request (the binary is blocked in it); 0 or 1
wait_held() {
    local i
    for ((i = 0; i < 200; i++)); do grep -q '^held' "$HANG_LOG" && return 0; sleep 0.05; done
    return 1
}
# term PID: SIGTERM, wait; sets SIG_RC and SIG_MS (from the signal to the exit)
term() {
    local t0
    t0=$(date +%s%N)
    kill -TERM "$1"
    wait "$1"
    SIG_RC=$?
    SIG_MS=$((($(date +%s%N) - t0) / 1000000))
}
check_term() {   # check_term WHAT: exit 75 (not 143: not killed by the signal), fast enough
    check_eq "$1: exit 75 after SIGTERM" "$SIG_RC" 75
    check "$1: exited ${SIG_MS} ms after SIGTERM (< $LIMIT_MS)" test "$SIG_MS" -lt "$LIMIT_MS"
}
# data points in a state file (every line but the jobs' own cronflux_job points)
spool_points() { "$BIN/cronflux" export --state "$1" 2>/dev/null | grep -vc '^cronflux_job'; }
# the last run's ledger line of JOB in `cronflux status`
last_run() { "$BIN/cronflux" status --state "$1" | grep -E "^  $2 " | head -1; }

# ---------------------------------------------------------------------------------------
# 1. push: 1000 lines through a FIFO that stays open, then a line cut in the middle
export CRONFLUX_STATE=$T/push.db
mkfifo "$T/fifo"
{
    awk 'BEGIN { for (i = 1; i <= 1000; i++) printf "sig,t=a v=%di %.0f\n", i, 1700000000000000000 + i * 1000000000 }'
    printf 'sig,t=a v=12'
    exec sleep 60   # the writer keeps the FIFO open (exec: `kill $writer` ends it)
} >"$T/fifo" 2>/dev/null &
writer=$!
track "$writer"
"$BIN/cronflux" push <"$T/fifo" >"$T/push.out" 2>"$T/push.err" &
pid=$!
sleep 1
term "$pid"
kill "$writer" 2>/dev/null
check_term "push from a FIFO"
check_eq "push from a FIFO: the 1000 lines read are stored, the cut one is not" \
    "$(spool_points "$T/push.db")" 1000
check "push from a FIFO: says it stopped and that what it read is stored" \
    grep -q 'stopped by SIGTERM after line 1000.*every point read is stored' "$T/push.err"
check "push from a FIFO: the cut line is named" grep -q 'line 1001: cut short by SIGTERM' "$T/push.err"
check "push from a FIFO: the run is recorded with exit 75" \
    bash -c "grep -q 'exit 75.*push: 1000 lines, 0 bad, stopped by SIGTERM' <<<'$(last_run "$T/push.db" cronflux)'"

# 2. push from an endless stdin: every line counted is stored
export CRONFLUX_STATE=$T/endless.db
awk 'BEGIN { for (i = 1; ; i++) printf "sig2,t=a v=%di %.0f\n", i, 1700000000000000000 + i * 1000000000 }' |
    "$BIN/cronflux" push >"$T/endless.out" 2>"$T/endless.err" &
pid=$!
sleep 0.5
term "$pid"
check_term "push from an endless stdin"
n=$(sed -n 's/.*stopped by SIGTERM after line \([0-9]*\):.*/\1/p' "$T/endless.err")
got=$(spool_points "$T/endless.db")
check "push from an endless stdin: read some lines (${n:-none})" test "${n:-0}" -gt 0
check_eq "push from an endless stdin: every line read is in the spool" "$got" "${n:-?}"

# ---------------------------------------------------------------------------------------
# 3. flush: InfluxDB stops answering in the middle of a POST
start_influxd sig || { not_ok "influxd starts"; finish; }
influx_create_db sig
export CRONFLUX_STATE=$T/flush.db INFLUXDB_DATABASE=sig
awk 'BEGIN { for (i = 1; i <= 500; i++) printf "sig3,t=a v=%di %.0f\n", i, 1700000000000000000 + i * 1000000000 }' |
    INFLUXDB_URL=$INFLUX_URL cf push-noflush push --no-flush
check_rc "push --no-flush: exit 0" 0
start_hang flush --upstream "$INFLUX_URL" --hang-after 0 || not_ok "hang proxy starts"
INFLUXDB_URL=$HANG_URL cf_bg flush-held flush
check "flush: the POST is held by the server" wait_held
term "$CF_BG_PID"
check_term "flush"
cf status-after-flush status
check_eq "flush: nothing left claimed" "$(sed -n 's/^claimed: \([0-9]*\) batches.*/\1/p' "$CF_OUT")" 0
check "flush: the 500 points are still pending ($(status_pending_points "$CF_OUT"))" \
    test "$(status_pending_points "$CF_OUT")" -ge 500
check_eq "flush: nothing reached InfluxDB" "$(influx_count sig sig3 v)" 0
INFLUXDB_URL=$INFLUX_URL cf flush-real flush
check_rc "a later flush to InfluxDB: exit 0" 0
check_eq "a later flush: exactly the 500 points in InfluxDB" "$(influx_count sig sig3 v)" 500

# 4. replay: the same, with sent batches put back in the queue
start_hang replay --upstream "$INFLUX_URL" --hang-after 0 || not_ok "hang proxy starts"
INFLUXDB_URL=$HANG_URL cf_bg replay-held replay --from 2023-11-14T00:00:00Z --to 2023-11-15T00:00:00Z
check "replay: the POST is held by the server" wait_held
term "$CF_BG_PID"
check_term "replay"
cf status-after-replay status
check_eq "replay: nothing left claimed" "$(sed -n 's/^claimed: \([0-9]*\) batches.*/\1/p' "$CF_OUT")" 0
check "replay: the 500 points are pending again ($(status_pending_points "$CF_OUT"))" \
    test "$(status_pending_points "$CF_OUT")" -ge 500
INFLUXDB_URL=$INFLUX_URL cf flush-after-replay flush
check_rc "a flush after the stopped replay: exit 0" 0
check_eq "after the replay: still exactly 500 points in InfluxDB" "$(influx_count sig sig3 v)" 500
unset INFLUXDB_DATABASE

# ---------------------------------------------------------------------------------------
# 5. twitter-stats: the users lookup is answered, the post reads hang
read -r CK CS TK TS < <("$PY" -c '
import secrets
print("ck" + secrets.token_hex(12), "cs" + secrets.token_hex(20), "2244994945-tk" + secrets.token_hex(16), "ts" + secrets.token_hex(20))')
printf '{"consumer_key":"%s","consumer_secret":"%s","token":"%s","token_secret":"%s"}\n' \
    "$CK" "$CS" "$TK" "$TS" >"$T/tw.json"
"$PY" "$STANDINS/twitter_standin.py" --config "$T/tw.json" --port-file "$T/tw.port" --posts 30 \
    >"$T/tw.log" 2>&1 &
track $!
for _ in $(seq 100); do [ -s "$T/tw.port" ] && break; sleep 0.1; done
TWAPI=http://127.0.0.1:$(cat "$T/tw.port" 2>/dev/null)
export TWITTER_API_KEY=$CK TWITTER_API_SECRET=$CS TWITTER_ACCESS_TOKEN=$TK TWITTER_ACCESS_SECRET=$TS
export TWITTER_USERS=XDevelopers,Twitter
want=$(TWITTER_API_URL=$TWAPI "$BIN/twitter-stats" --no-posts --dry-run 2>/dev/null | grep -vc '^cronflux_job')
check "twitter-stats: the account counters of the 2 accounts make points ($want)" test "$want" -gt 0
start_hang tw --upstream "$TWAPI" --hang-after 1 || not_ok "hang proxy starts"
TWITTER_API_URL=$HANG_URL CRONFLUX_STATE=$T/tw.db "$BIN/twitter-stats" >"$T/tw.out" 2>"$T/tw.err" &
pid=$!
check "twitter-stats: the first post read is held" wait_held
term "$pid"
check_term "twitter-stats"
check_eq "twitter-stats: the account points read are in the spool" "$(spool_points "$T/tw.db")" "$want"
check "twitter-stats: says it was stopped" grep -q 'stopped by SIGTERM' "$T/tw.err"
check "twitter-stats: the run is recorded with exit 75" \
    bash -c "grep -q 'exit 75' <<<'$(last_run "$T/tw.db" twitter-stats)'"
unset TWITTER_USERS

# ---------------------------------------------------------------------------------------
# 6. cluster-metrics: the metrics and node lists are answered, the pod list hangs
printf 'tok-%s' "$("$PY" -c 'import secrets; print(secrets.token_hex(20))')" >"$T/k8s.token"
mkdir -p "$T/k8s"
"$PY" "$STANDINS/k8s_standin.py" --dir "$T/k8s" --token-file "$T/k8s.token" --fixtures "$FIXTURES" \
    >"$T/k8s.log" 2>&1 &
track $!
for _ in $(seq 300); do [ -s "$T/k8s/port" ] && break; sleep 0.1; done
K8SURL=https://127.0.0.1:$(cat "$T/k8s/port" 2>/dev/null)
start_hang k8s --upstream "$K8SURL" --hang-after 3 || not_ok "hang proxy starts"
KUBE_API_URL=$HANG_URL KUBE_TOKEN_FILE=$T/k8s.token CRONFLUX_STATE=$T/k8s.db \
    "$BIN/cluster-metrics" >"$T/k8s.out" 2>"$T/k8s.err" &
pid=$!
check "cluster-metrics: the pod list is held" wait_held
term "$pid"
check_term "cluster-metrics"
n=$(sed -n 's/.*stopped by SIGTERM: the \([0-9]*\) points read are stored.*/\1/p' "$T/k8s.err")
check "cluster-metrics: the node points were read (${n:-none})" test "${n:-0}" -gt 0
check_eq "cluster-metrics: every point read is in the spool" "$(spool_points "$T/k8s.db")" "${n:-?}"
check_eq "cluster-metrics: they are the node points" \
    "$("$BIN/cronflux" export --state "$T/k8s.db" | grep -vc '^cronflux_job\|node')" 0

# ---------------------------------------------------------------------------------------
# 7. prom-metrics: the first of three queries is answered, the second hangs
printf 'first = up\nsecond = up\nthird = up\n' >"$T/queries"
start_hang prom --answer "$FIXTURES/prometheus/docs_query_vector_up.json" --hang-after 1 ||
    not_ok "hang proxy starts"
want=$(head -1 "$T/queries" >"$T/q1"; "$BIN/prom-metrics" --queries "$T/q1" --url "$HANG_URL" --dry-run 2>/dev/null | grep -vc '^cronflux_job')
: >"$HANG_LOG"
start_hang prom2 --answer "$FIXTURES/prometheus/docs_query_vector_up.json" --hang-after 1 ||
    not_ok "hang proxy starts"
CRONFLUX_STATE=$T/prom.db "$BIN/prom-metrics" --queries "$T/queries" --url "$HANG_URL" \
    >"$T/prom.out" 2>"$T/prom.err" &
pid=$!
check "prom-metrics: the second query is held" wait_held
term "$pid"
check_term "prom-metrics"
check "prom-metrics: the first query makes points ($want)" test "$want" -gt 0
check_eq "prom-metrics: the first query's points are in the spool" "$(spool_points "$T/prom.db")" "$want"
check "prom-metrics: the run is recorded with exit 75" \
    bash -c "grep -q 'exit 75' <<<'$(last_run "$T/prom.db" prom-metrics)'"

keep_output signals "$T"/*.err
no_secrets "no token or secret in any output" "$CS" "$TS" "$(cat "$T/k8s.token")"
finish
