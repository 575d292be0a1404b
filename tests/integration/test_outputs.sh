#!/usr/bin/env bash
# Output that tells (issue 13), against a real Prometheus and InfluxDB and the X stand-in:
#  - a backfill not on a terminal logs a progress line every CRONFLUX_PROGRESS (done/total,
#    rate, ETA): prom-metrics and twitter-stats; CRONFLUX_PROGRESS=0 none, a bad value 78;
#  - a rerun with relative times says there is no checkpoint for the moving range and gives
#    the absolute times that do resume (and they do);
#  - prom-metrics' built-in queries on a Prometheus without node_exporter, cAdvisor and
#    kube-state-metrics: a warning with that hint;
#  - counts add up: "1 point", what was waiting from earlier runs, replay's batches and points.
. "$(dirname "$0")/../lib/common.sh"

start_influxd out || { not_ok "influxd starts"; finish; }
start_prometheus || { not_ok "prometheus starts"; finish; }
ok "influxd and prometheus start"
export INFLUXDB_URL=$INFLUX_URL INFLUXDB_DATABASE=out PROMETHEUS_URL=$PROM_URL
export CRONFLUX_STATE=$T/out.db
unset PROMETHEUS_QUERIES CRONFLUX_PROGRESS
printf 'up = up\n' >"$T/q.txt"

# run NAME BINARY ARGS...: stdout and stderr in $T/NAME.out/.err (stderr is a file: not a terminal)
run() {
    local name=$1
    shift
    "$BIN/$@" >"$T/$name.out" 2>"$T/$name.err"
    RC=$?
}

# 1. built-in queries, a bare Prometheus: the hint
run builtin prom-metrics
check_eq "built-in queries on a bare Prometheus: exit 0" "$RC" 0
check "it warns that the built-in queries found no samples, naming what they read" \
    grep -q 'warn: the built-in queries found no samples: they read node_exporter (node_\*), cAdvisor (container_\*) and kube-state-metrics (kube_\*) series' "$T/builtin.err"
for i in $(seq 50); do
    [ "$(curl -s -G "$PROM_URL/api/v1/query" --data-urlencode 'query=up' | grep -c '"value"')" -gt 0 ] && break
    sleep 0.2
done
run own prom-metrics --queries "$T/q.txt"
check "queries of one's own that find samples: no such warning" bash -c "! grep -q 'built-in queries' '$T/own.err'"
check "and its summary says \"1 query\"" grep -q 'info: 1 query, ' "$T/own.err"
check "and ends with what was sent, what is pending and how long" \
    grep -qE '^prom-metrics: info: 1 query, .*; [0-9]+ sent to InfluxDB, 0 pending; [0-9]+\.[0-9]s$' "$T/own.err"

# 2. progress when not on a terminal: prom-metrics backfill, many small chunks
CRONFLUX_PROGRESS=1ms run progress prom-metrics --queries "$T/q.txt" --from -2h --to now --step 1s --chunk 20
check_eq "backfill with CRONFLUX_PROGRESS=1ms: exit 0" "$RC" 0
n=$(grep -cE '^prom-metrics: info: progress: chunk [0-9]+/~?[0-9]+ \([0-9]+%\), [0-9]+ points, [0-9]+ points/s, ETA [0-9hms?]+$' "$T/progress.err")
grep 'progress:' "$T/progress.err" | head -3 | sed 's/^/# /'
check "progress lines: chunk done/total (%), points, rate, ETA (got $n)" [ "$n" -ge 1 ]
check "no terminal control characters in a log" bash -c "! grep -q \$'\\r\\|\\033' '$T/progress.err'"
CRONFLUX_PROGRESS=0 run noprogress prom-metrics --queries "$T/q.txt" --from -2h --to now --step 1s --chunk 20
check "CRONFLUX_PROGRESS=0: no progress line" bash -c "! grep -q 'progress:' '$T/noprogress.err'"
CRONFLUX_PROGRESS=soon run badprogress prom-metrics --queries "$T/q.txt" --from -1m --to now
check_eq "CRONFLUX_PROGRESS=soon: exit 78" "$RC" 78
check "and the error names CRONFLUX_PROGRESS" grep -q 'error: CRONFLUX_PROGRESS must be' "$T/badprogress.err"

# 3. relative times: a rerun with --resume has no checkpoint for the moving range; the absolute
#    times it gives do resume
run rel1 prom-metrics --queries "$T/q.txt" --from -10m --step 1s --resume
sleep 1.1
run rel2 prom-metrics --queries "$T/q.txt" --from -10m --step 1s --resume
check_eq "rerun with relative times: exit 0" "$RC" 0
check "it says why it starts over" grep -q 'warn: no checkpoint for this range: relative times move; use absolute times to resume' "$T/rel2.err"
abs=$(sed -n 's/.*(\(--from [^ ]* --to [^ ]*\) resumes this run).*/\1/p' "$T/rel2.err")
check "and gives the absolute range ($abs)" [ -n "$abs" ]
# shellcheck disable=SC2086
run abs prom-metrics --queries "$T/q.txt" $abs --step 1s --resume
check "the absolute range resumes: already complete (checkpoint)" grep -q 'already complete (checkpoint)' "$T/abs.err"
check "and says nothing about relative times" bash -c "! grep -q 'relative times move' '$T/abs.err'"

# twitter-stats: the X stand-in, one account with enough posts for several pages
read -r CK CS TK TS < <("$PY" -c '
import secrets
print("ck" + secrets.token_hex(12), "cs" + secrets.token_hex(20), "2244994945-tk" + secrets.token_hex(16), "ts" + secrets.token_hex(20))')
printf '{"consumer_key":"%s","consumer_secret":"%s","token":"%s","token_secret":"%s"}\n' \
    "$CK" "$CS" "$TK" "$TS" >"$T/standin.json"
"$PY" "$ROOT/tests/standins/twitter_standin.py" --config "$T/standin.json" --port-file "$T/standin.port" \
    --posts 120 --page 10 --span-days 6 >"$T/standin.log" 2>&1 &
track $!
for _ in $(seq 100); do [ -s "$T/standin.port" ] && break; sleep 0.1; done
[ -s "$T/standin.port" ] || { not_ok "the X stand-in starts: $(tail -2 "$T/standin.log")"; finish; }
export TWITTER_API_KEY=$CK TWITTER_API_SECRET=$CS TWITTER_ACCESS_TOKEN=$TK TWITTER_ACCESS_SECRET=$TS
export TWITTER_API_URL=http://127.0.0.1:$(cat "$T/standin.port")
unset TWITTER_USERS TWITTER_USER
CRONFLUX_PROGRESS=1ms run twp twitter-stats --users XDevelopers --since -7d
check_eq "twitter-stats backfill: exit 0" "$RC" 0
n=$(grep -cE '^twitter-stats: info: progress: account 1/1 XDevelopers, back to [0-9T:Z-]+ \([0-9]+%\), [0-9]+ posts, [0-9]+ posts/s, ETA [0-9hms?]+$' "$T/twp.err")
grep 'progress:' "$T/twp.err" | head -2 | sed 's/^/# /'
check "twitter-stats: progress lines (account, how far back, %, posts, rate, ETA) (got $n)" [ "$n" -ge 2 ]
check "twitter-stats: a relative range cannot resume, and it says so" \
    grep -q 'info: no checkpoint for this range: relative times move; use absolute times to resume (--since ' "$T/twp.err"
run twabs twitter-stats --users XDevelopers --since 2026-01-01T00:00:00Z --until 2026-01-02T00:00:00Z
check "twitter-stats with absolute times: no such note" bash -c "! grep -q 'relative times move' '$T/twabs.err'"

# 4. counts add up
echo 'cnt v=1i' | run one cronflux push --no-flush
check "push of one point: \"1 point stored\"" grep -q 'info: 1 point stored in ' "$T/one.err"
echo 'cnt v=2i' | run two cronflux push
check "the next push: its 1 point, and the 2 that waited (a point and its run's cronflux_job record)" \
    grep -q 'info: 1 point stored, 3 sent to InfluxDB (2 of them waiting from earlier runs), 0 pending$' "$T/two.err"
check "no dead-letter note when nothing was refused" bash -c "! grep -q 'dead letter' '$T/two.err'"
echo 'cnt v=3i' | run three cronflux push --no-flush
run flush cronflux flush
check "flush: the point and its run's record, said as such" \
    grep -q 'info: flush: 2 points sent in [12] batch\(es\)\? (what earlier runs left: their points and each run.s cronflux_job record)' "$T/flush.err"
run replay cronflux replay --from -1h --to now
line=$(grep 'points sent in' "$T/replay.err")
echo "# $line"
read -r sent back pend < <(sed -n 's/.*: \([0-9]*\) points\? sent in [0-9]* batch\(es\)\? (\([0-9]*\) put back by this run, \([0-9]*\) already pending).*/\1 \3 \4/p' "$T/replay.err")
check "replay: sent = put back + already pending ($sent = $back + $pend)" [ -n "$sent" ] && [ "$sent" -eq $((back + pend)) ]
put=$(sed -n 's/.*sent batch\(es\)\? (\([0-9]*\) points\?) from .*/\2/p' "$T/replay.err")
check_eq "replay: the points it put back are the points it says it sent back" "$put" "$back"
finish
