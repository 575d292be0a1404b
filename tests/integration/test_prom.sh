#!/usr/bin/env bash
# prom-metrics against real servers: Debian's prometheus (on TSDB blocks built by promtool
# from generated OpenMetrics history, and scraping itself) and Debian's influxd.
# Every value written is compared with Prometheus' own answer for the same timestamps.
. "$(dirname "$0")/../lib/common.sh"

PM=$BIN/prom-metrics
if [ ! -x "$PM" ]; then
    not_ok "no $PM (run make first)"
    finish
fi
for tool in prometheus promtool influxd sqlite3; do
    command -v "$tool" >/dev/null || { not_ok "$tool is not installed"; finish; }
done

# ---------------------------------------------------------------- the comparison helper
cat >"$T/compare.py" <<'PY'
"""compare.py PROM INFLUX DB MEASUREMENT NAME EXPR range START END STEP | instant TIME
Prometheus' answer (times as exact decimals -> ns; NaN/Inf left out) against every point of
MEASUREMENT with query=NAME in InfluxDB (epoch=ns): same (labels, time) set, identical values,
each (series, time) once. Prints "match N" or the differences (exit 1)."""
import decimal, json, math, sys, urllib.parse, urllib.request
op = urllib.request.build_opener(urllib.request.ProxyHandler({}))
def fetch(url, data=None):
    with op.open(urllib.request.Request(url, data=data), timeout=60) as r:
        return r.read()
prom_url, influx_url, db, meas, name, expr, mode = sys.argv[1:8]
a = sys.argv[8:]
if mode == "range":
    p, path = {"query": expr, "start": a[0], "end": a[1], "step": a[2]}, "/api/v1/query_range"
else:
    p, path = {"query": expr, "time": a[0]}, "/api/v1/query"
d = json.loads(fetch(prom_url + path, urllib.parse.urlencode(p).encode()),
               parse_float=decimal.Decimal, parse_int=decimal.Decimal)
assert d["status"] == "success", d
want, skipped = {}, 0
res = d["data"]["result"]
if d["data"]["resultType"] == "scalar":
    res = [{"metric": {}, "value": res}]
for s in res:
    key = frozenset(s["metric"].items())
    for t, v in (s["values"] if "values" in s else [s["value"]]):
        f = float(v)
        if math.isnan(f) or math.isinf(f):
            skipped += 1
            continue
        want[(key, int(decimal.Decimal(t) * 1000000000))] = f
q = 'SELECT "value" FROM "%s" WHERE "query" = \'%s\' GROUP BY *' % (meas, name)
d = json.loads(fetch(influx_url + "/query?" +
                     urllib.parse.urlencode({"db": db, "q": q, "epoch": "ns"})))
got, rows = {}, 0
for r in d["results"]:
    assert "error" not in r, r
    for s in r.get("series", []):
        key = frozenset((k, v) for k, v in s.get("tags", {}).items() if k != "query" and v)
        for t, v in s["values"]:
            rows += 1
            got[(key, int(t))] = v
bad = []
for k in sorted(set(want) | set(got), key=lambda k: (sorted(k[0]), k[1])):
    if k not in got:
        bad.append("missing %s @%d (prometheus %r)" % (dict(k[0]), k[1], want[k]))
    elif k not in want:
        bad.append("extra %s @%d = %r" % (dict(k[0]), k[1], got[k]))
    elif not (got[k] == want[k] and math.copysign(1, got[k]) == math.copysign(1, want[k])):
        bad.append("%s @%d: influx %r prometheus %r" % (dict(k[0]), k[1], got[k], want[k]))
if rows != len(got):
    bad.append("influx returned %d rows for %d distinct points" % (rows, len(got)))
if not want:
    bad.append("prometheus returned no samples: nothing compared")
if bad:
    print("%d differences (of %d expected, %d stored):" % (len(bad), len(want), len(got)))
    for b in bad[:10]:
        print("  " + b)
    sys.exit(1)
print("match %d (%d non-finite left out)" % (len(want), skipped))
PY
# compare_ok DESCRIPTION MEASUREMENT NAME EXPR range|instant ARGS...
compare_ok() {
    local d=$1 out
    shift
    if out=$("$PY" "$T/compare.py" "$PROM_URL" "$INFLUX_URL" prom "$@" 2>&1); then
        ok "$d: $out"
    else
        not_ok "$d"
        echo "$out" | sed 's/^/# /'
    fi
}
# prom_api PATH FORM... : a Prometheus API answer (for polling)
prom_api() {
    local path=$1
    shift
    curl -sS --noproxy '*' "$PROM_URL$path" "$@"
}

# ---------------------------------------------------------------- flags (no servers)
out=$("$PM" --help 2>&1)
check_eq "--help exits 0" "$?" 0
case "$out" in *--from*--resume*--chunk*) ok "--help names the backfill flags" ;;
    *) not_ok "--help names the backfill flags" ;; esac
out=$("$PM" --version 2>&1)
case "$out" in "prom-metrics "[0-9]*) ok "--version" ;; *) not_ok "--version ($out)" ;; esac
"$PM" --bogus >/dev/null 2>&1
check_eq "an unknown flag is a usage error" "$?" 64
"$PM" --to now >/dev/null 2>&1
check_eq "--to without --from is a usage error" "$?" 64
"$PM" --from -1h --chunk 20000 >/dev/null 2>&1
check_eq "--chunk over Prometheus' 11000 points is a usage error" "$?" 64
"$PM" --from -1h --step 1500us >/dev/null 2>&1
check_eq "a step that is not whole milliseconds is a usage error" "$?" 64
env -u PROMETHEUS_URL -u PROMETHEUS_HOST "$PM" --state "$T/none.db" >/dev/null 2>"$T/nourl.err"
check_eq "no Prometheus configured -> 78" "$?" 78
grep -q PROMETHEUS_URL "$T/nourl.err" && ok "the message says what to set" || not_ok "the message says what to set"
printf 'a = up\n# fine\n\nb\n' >"$T/badline.txt"
PROMETHEUS_URL=http://127.0.0.1:9 "$PM" --queries "$T/badline.txt" --state "$T/bl.db" 2>"$T/bl.err"
check_eq "a bad queries-file line -> 78" "$?" 78
grep -qF "$T/badline.txt:4: expected \`name = expr\`" "$T/bl.err" && ok "it names FILE:LINE" ||
    not_ok "it names FILE:LINE ($(cat "$T/bl.err"))"
port=$(free_port)
PROMETHEUS_URL=http://127.0.0.1:$port PROMETHEUS_RETRIES=0 "$PM" --state "$T/unr.db" 2>"$T/unr.err"
check_eq "Prometheus unreachable -> 69" "$?" 69

# ---------------------------------------------------------------- servers and history
END=$(($(date +%s) / 3600 * 3600 - 3600))
START=$((END - 6 * 3600))
"$PY" "$ROOT/bench/gen_openmetrics.py" --series 3 --start "$START" --end "$END" --interval 15 \
    >"$T/history.om"
if promtool tsdb create-blocks-from openmetrics -q --max-block-duration=8760h "$T/history.om" \
    "$T/promdata" >"$T/promtool.log" 2>&1; then
    ok "promtool built TSDB blocks from the generated OpenMetrics history"
else
    not_ok "promtool create-blocks-from openmetrics"
    sed 's/^/# /' "$T/promtool.log" | tail -5
    finish
fi
PROM_DATA=$T/promdata start_prometheus || { not_ok "prometheus starts"; finish; }
start_influxd influx || { not_ok "influxd starts"; finish; }
kill -0 "$PROM_PID" && kill -0 "$INFLUX_PID" && ok "prometheus and influxd run" ||
    not_ok "prometheus and influxd run"
export PROMETHEUS_URL=$PROM_URL INFLUXDB_URL=$INFLUX_URL INFLUXDB_DATABASE=prom
unset PROMETHEUS_HOST PROMETHEUS_PORT PROMETHEUS_QUERIES CRONFLUX_ALIGN JOB_COMPLETION_INDEX \
    CRONFLUX_SLICES

# ---------------------------------------------------------------- backfill of history
cat >"$T/h.txt" <<'Q'
# history built from the generated OpenMetrics file
hist = hist_value
ctr = rate(hist_total[5m])
agg = sum by (host) (hist_value)
Q
"$PM" --queries "$T/h.txt" --state "$T/a.db" --from "$START" --to "$END" --step 60s \
    --chunk 50 2>"$T/a.err"
check_eq "backfill of 6 h of history in 50-point chunks exits 0" "$?" 0
grep -q "3 queries, [0-9]* points, 27 chunks" "$T/a.err" && ok "361 points per series -> 9 chunks a query (10, 7 x 50, 1)" ||
    not_ok "chunking ($(tail -1 "$T/a.err"))"
compare_ok "hist_value: every sample equals Prometheus' query_range" hist hist hist_value \
    range "$START" "$END" 60
compare_ok "rate(hist_total[5m]) equals Prometheus'" ctr ctr 'rate(hist_total[5m])' \
    range "$START" "$END" 60
compare_ok "sum by (host) equals Prometheus'" agg agg 'sum by (host) (hist_value)' \
    range "$START" "$END" 60
n=$(sqlite3 "$T/a.db" "SELECT count(*) FROM checkpoints WHERE job='prom-metrics' AND value='complete'")
check_eq "each query's checkpoint says complete" "$n" 3

# fractional step: times like .5 s must be exact nanoseconds
printf 'frac = hist_value{series="s001"}\n' >"$T/frac.txt"
"$PM" --queries "$T/frac.txt" --state "$T/f.db" --from "$((START + 1000))" \
    --to "$((START + 1600))" --step 2500ms 2>"$T/f.err"
check_eq "backfill with a 2.5 s step exits 0" "$?" 0
compare_ok "2.5 s step: fractional times exact" frac frac 'hist_value{series="s001"}' \
    range "$((START + 1000))" "$((START + 1600))" 2.5
half=$(influx_q prom "SELECT count(value) FROM frac WHERE time = $((START + 1002))500000000" |
    "$PY" -c 'import json,sys; s=json.load(sys.stdin)["results"][0].get("series"); print(s[0]["values"][0][1] if s else 0)')
check_eq "a point sits at exactly .500000000 s" "$half" 1

# NaN and Inf: counted, reported, not written
printf 'nanq = hist_value / 0\n' >"$T/nan.txt"
"$PM" --queries "$T/nan.txt" --state "$T/n.db" --from "$((END - 3600))" --to "$END" --step 60s \
    2>"$T/n.err"
check_eq "a query of NaN/Inf samples exits 0" "$?" 0
grep -q "query nanq: 183 NaN/Inf samples skipped" "$T/n.err" && ok "NaN/Inf samples counted in a log line" ||
    not_ok "NaN/Inf log line ($(cat "$T/n.err"))"
grep -q "0 points.*183 NaN/Inf skipped" "$T/n.err" && ok "and in the run summary" ||
    not_ok "NaN/Inf in the summary"
check_eq "no NaN/Inf point reached InfluxDB" "$(influx_count prom nanq value)" 0

# dry run: line protocol on stdout, no state file
printf 'hist = hist_value\n' >"$T/one.txt"
"$PM" --queries "$T/one.txt" --state "$T/dry.db" --dry-run --from "$START" \
    --to "$((START + 120))" --step 60s >"$T/dry.out" 2>"$T/dry.err"
check_eq "--dry-run exits 0" "$?" 0
check_eq "--dry-run prints 3 series x 3 times" "$(wc -l <"$T/dry.out")" 9
grep -qE "^hist,__name__=hist_value,host=h0,query=hist,series=s000 value=[0-9.]+ ${START}000000000\$" \
    "$T/dry.out" && ok "--dry-run line: measurement = query name, labels + query tags, ns time" ||
    not_ok "--dry-run line ($(head -1 "$T/dry.out"))"
[ ! -e "$T/dry.db" ] && ok "--dry-run touches no state file" || not_ok "--dry-run touches no state file"

# progress on a terminal only
script -qec "$PM --queries $T/one.txt --state $T/p.db --from $START --to $END --step 15s --chunk 100" \
    /dev/null >"$T/tty.out" 2>&1
grep -q $'\r'"prom-metrics: chunk [0-9]*/" "$T/tty.out" && grep -q "points/s, ETA" "$T/tty.out" &&
    ok "a terminal gets a \\r-updated progress line (chunks, points, rate, ETA)" ||
    not_ok "progress line on a tty ($(tr '\r' '|' <"$T/tty.out" | head -c 300))"
# not on a terminal: no \r-redrawn line; a log line every CRONFLUX_PROGRESS instead (issue 13,
# tests/integration/test_outputs.sh), none with CRONFLUX_PROGRESS=0
CRONFLUX_PROGRESS=0 "$PM" --queries "$T/one.txt" --state "$T/p.db" --from "$START" --to "$END" --step 15s \
    --chunk 100 2>"$T/notty.err"
! grep -q "ETA" "$T/notty.err" && ! grep -q $'\r' "$T/notty.err" &&
    ok "no progress line when stderr is not a terminal (CRONFLUX_PROGRESS=0)" ||
    not_ok "no progress line when stderr is not a terminal (CRONFLUX_PROGRESS=0)"

# ---------------------------------------------------------------- kill -9 and --resume
cat >"$T/k.txt" <<'Q'
k1 = hist_value
k2 = hist_total
Q
# A kill that lands between the two queries (k1 complete, k2 not begun) leaves no part-way
# checkpoint to resume from: such an attempt starts over on a fresh state file (at most 5).
for ((attempt = 1; attempt <= 5; attempt++)); do
    rm -f "$T/k.db" "$T/k.db-wal" "$T/k.db-shm"
    "$PM" --queries "$T/k.txt" --state "$T/k.db" --from "$START" --to "$END" --step 15s \
        --chunk 2 2>"$T/k1.err" &
    kpid=$!
    track "$kpid"
    for ((i = 0; i < 300; i++)); do
        c=$(sqlite3 "$T/k.db" "SELECT count(*) FROM checkpoints WHERE value LIKE 'next=%'" 2>/dev/null)
        [ "${c:-0}" -gt 0 ] && break
        sleep 0.05
    done
    sleep "0.$((RANDOM % 9 + 1))"
    landed=0
    if kill -9 "$kpid" 2>/dev/null; then
        wait "$kpid" 2>/dev/null
        landed=1
    fi
    before=$(sqlite3 "$T/k.db" "SELECT group_concat(value, ' ') FROM checkpoints WHERE job='prom-metrics'")
    case "$landed:$before" in 1:*next=*) break ;; esac
done
if [ "$landed" = 1 ]; then
    ok "kill -9 landed during the backfill"
else
    not_ok "kill -9 landed during the backfill (it had finished: make it slower)"
fi
case "$before" in *next=*) ok "the checkpoint stopped part way ($before)" ;;
    *) not_ok "the checkpoint stopped part way ($before)" ;; esac
"$PM" --queries "$T/k.txt" --state "$T/k.db" --from "$START" --to "$END" --step 15s \
    --chunk 2000 --resume 2>"$T/k2.err"
check_eq "the rerun with --resume exits 0" "$?" 0
grep -q "resuming at" "$T/k2.err" && ok "it resumed from the checkpoint" ||
    not_ok "it resumed from the checkpoint ($(head -3 "$T/k2.err"))"
compare_ok "after kill -9 + --resume: every hist_value sample once" k1 k1 hist_value \
    range "$START" "$END" 15
compare_ok "after kill -9 + --resume: every hist_total sample once" k2 k2 hist_total \
    range "$START" "$END" 15
n=$(sqlite3 "$T/k.db" "SELECT count(*) FROM checkpoints WHERE job='prom-metrics' AND value='complete'")
check_eq "both checkpoints say complete" "$n" 2
"$PM" --queries "$T/k.txt" --state "$T/k.db" --from "$START" --to "$END" --step 15s \
    --resume 2>"$T/k3.err"
check_eq "a third run with --resume exits 0" "$?" 0
check_eq "and has nothing to do" "$(grep -c 'already complete (checkpoint), nothing to do' "$T/k3.err")" 2

# ---------------------------------------------------------------- its own live series
for ((i = 0; i < 300; i++)); do
    c=$(prom_api /api/v1/query --data-urlencode 'query=count_over_time(up[1m])' |
        "$PY" -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)')
    [ "${c:-0}" -ge 15 ] && break
    sleep 0.2
done
[ "${c:-0}" -ge 15 ] && ok "prometheus scraped itself" || not_ok "prometheus scraped itself ($c)"
cat >"$T/own.txt" <<'Q'
up = up
reqs = prometheus_http_requests_total
Q
now=$(date +%s)
"$PM" --queries "$T/own.txt" --state "$T/o.db" --from "$((now - 12))" --to "$((now - 2))" \
    --step 1s 2>"$T/o.err"
check_eq "backfill of its own series exits 0" "$?" 0
compare_ok "up over the last seconds equals query_range" up up up range "$((now - 12))" "$((now - 2))" 1
compare_ok "prometheus_http_requests_total equals query_range" reqs reqs \
    prometheus_http_requests_total range "$((now - 12))" "$((now - 2))" 1

# ---------------------------------------------------------------- a scheduled run
cat >"$T/sched.txt" <<'Q'
sup = up
sreqs = prometheus_http_requests_total
Q
# run 3-8 s into a 10 s slot, so the slot's time lies behind every sample already scraped
for ((i = 0; i < 200; i++)); do
    s=$(($(date +%s) % 10))
    [ "$s" -ge 3 ] && [ "$s" -le 7 ] && break
    sleep 0.1
done
"$PM" --queries "$T/sched.txt" --state "$T/s.db" --align 10s 2>"$T/s.err"
check_eq "a scheduled run exits 0" "$?" 0
ts=$(influx_q prom 'SELECT last(value) FROM sup' |
    "$PY" -c 'import json,sys; s=json.load(sys.stdin)["results"][0].get("series"); print(s[0]["values"][0][0] if s else 0)')
check_eq "its points sit at the --align'ed run time" "$((ts % 10000000000))" 0
tsec=$((ts / 1000000000))
compare_ok "scheduled up equals /api/v1/query at that time" sup sup up instant "$tsec"
compare_ok "scheduled prometheus_http_requests_total equals /api/v1/query" sreqs sreqs \
    prometheus_http_requests_total instant "$tsec"

# ---------------------------------------------------------------- queries Prometheus refuses
cat >"$T/bad.txt" <<'Q'
good = up
broken = sum(up
exec = label_replace(up, "foo", "$1", "job", "(")
Q
"$PM" --queries "$T/bad.txt" --state "$T/b.db" 2>"$T/b.err"
check_eq "a query with a syntax error -> 78" "$?" 78
grep -q "error: query broken: .*400 bad_data: .*parse error.*fix the query in $T/bad.txt" "$T/b.err" &&
    ok "the error names the query, bad_data and the file" || not_ok "bad_data message ($(cat "$T/b.err"))"
grep -q "error: query exec: .*422 execution: invalid regular expression" "$T/b.err" &&
    ok "a 422 execution error names its query too" || not_ok "422 message"
[ "$(influx_count prom good value)" -gt 0 ] && ok "the good query's points are written anyway" ||
    not_ok "the good query's points are written anyway"
"$PM" --queries "$T/bad.txt" --state "$T/b2.db" --from -1m --step 10s 2>"$T/b2.err"
check_eq "the same in a backfill -> 78" "$?" 78
grep -q "error: query broken: POST .*/api/v1/query_range: HTTP 400 bad_data" "$T/b2.err" &&
    ok "backfill error names the query" || not_ok "backfill error names the query"

finish
