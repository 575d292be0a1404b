# The whole local stack, for `make demo` (tests/demo.sh) and the dashboards' end-to-end test
# (tests/integration/test_dashboards.sh). Source it after common.sh:
#   . "$ROOT/tests/lib/common.sh"; . "$ROOT/tests/lib/stack.sh"
#
#   stack_start        InfluxDB 1.x and Prometheus (Debian's, on free 127.0.0.1 ports, Prometheus
#                      scraping itself), the X API stand-in (checks every OAuth 1.0a signature,
#                      fresh random credentials) and two Kubernetes API stand-ins (TLS + one
#                      bearer token): cluster "dev", generated (12 nodes, one NotReady, 120 pods
#                      with usage; $T/k8s-dev/expected.json), and cluster "recorded", the
#                      recorded answers in the fixtures. Exports what the jobs read (INFLUXDB_*,
#                      TWITTER_*, KUBE_* and CLUSTER_NAME for "dev", PROMETHEUS_URL, and one
#                      CRONFLUX_STATE for every job). Returns 1 and says what did not start.
#   stack_run LABEL WANT [VAR=value...] -- BINARY ARGS...
#                      runs $BIN/BINARY once: stdout and stderr in $STACK_LOGS/LABEL.{out,err},
#                      exit code in STACK_RC; prints one line (what ran, exit code, the job's
#                      last stderr line); remembers LABEL, WANT and the exit code in
#                      STACK_LABELS / STACK_WANT / STACK_GOT. Returns 0 when the exit code is WANT.
#   stack_run_jobs     every job once: twitter-stats (cronflux and twittergraph schemas),
#                      cluster-metrics, prom-metrics (scheduled run and a short backfill),
#                      cronflux push of a few points.
#   stack_outage       InfluxDB stopped: a run exits 75 with its points (and its cronflux_job
#                      point, status "spooled") in the spool; InfluxDB started again: the job's
#                      next run delivers them first. Sets STACK_OUTAGE_PENDING and
#                      STACK_OUTAGE_AFTER (points pending after each run, from cronflux status).
#   stack_panels [--check|--json FILE]   tests/tools/panel_queries.py against the stack's InfluxDB.
#
# Everything it starts is tracked (common.sh stops it on exit); server logs go to files under
# $T. Traffic goes to 127.0.0.1 only: the proxy variables are cleared so that neither libcurl
# nor Python sends anything to a proxy.
#
# Output: stack_say prints a progress line ("   text"); set STACK_PREFIX='# ' to make them
# TAP comments in a test.

STACK_DB=${STACK_DB:-cronflux}
STACK_LOGS=$T/logs
# The accounts read: the one the access token belongs to (XDevelopers, from the v2 docs) and
# two from the v1.1 recordings, as the stand-in serves them.
STACK_USERS=XDevelopers,Twitter,TweepyDev
STACK_ME_ID=2244994945
STACK_PREFIX=${STACK_PREFIX:-}
STACK_LABELS=()
declare -A STACK_WANT=() STACK_GOT=()
mkdir -p "$STACK_LOGS"

unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY ftp_proxy FTP_PROXY
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost
export PYTHONDONTWRITEBYTECODE=1
# nothing a developer's shell set may steer a job elsewhere
for _v in TWITTER_API_KEY TWITTER_API_SECRET TWITTER_ACCESS_TOKEN TWITTER_ACCESS_SECRET API_KEY \
    API_SECRET ACCESS_TOKEN ACCESS_SECRET KUBE_TOKEN PROMETHEUS_TOKEN; do
    unset "$_v" "${_v}_FILE"
done
unset _v TWITTER_API_URL TWITTER_USERS TWITTER_USER TWITTER_CA_FILE KUBE_API_URL KUBE_TOKEN_FILE \
    KUBE_CA_FILE KUBE_SA_DIR KUBERNETES_SERVICE_HOST KUBERNETES_SERVICE_PORT CLUSTER_NAME \
    PROMETHEUS_URL PROMETHEUS_HOST PROMETHEUS_PORT PROMETHEUS_QUERIES PROMETHEUS_CA_FILE \
    JOB_COMPLETION_INDEX CRONFLUX_SLICES

stack_say() { printf '%s   %s\n' "$STACK_PREFIX" "$*"; }

# _stack_wait_port FILE PID WHAT: until FILE holds a port (the stand-ins write it when they
# listen); fails when the process dies first.
_stack_wait_port() {
    local f=$1 pid=$2 i
    for ((i = 0; i < 300; i++)); do
        [ -s "$f" ] && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

_stack_start_twitter() {
    local dir=$T/x-standin
    mkdir -p "$dir"
    # fresh random credentials each run; the token carries the account id, as X's do
    read -r STACK_TW_CK STACK_TW_CS STACK_TW_TK STACK_TW_TS STACK_TW_BT < <("$PY" -c '
import secrets, sys
print("ck" + secrets.token_hex(12), "cs" + secrets.token_hex(20),
      sys.argv[1] + "-tk" + secrets.token_hex(16), "ts" + secrets.token_hex(20), "AAAA" + secrets.token_hex(24))' "$STACK_ME_ID")
    (
        umask 077
        printf '{"consumer_key":"%s","consumer_secret":"%s","token":"%s","token_secret":"%s","bearer_token":"%s"}\n' \
            "$STACK_TW_CK" "$STACK_TW_CS" "$STACK_TW_TK" "$STACK_TW_TS" "$STACK_TW_BT" >"$dir/config.json"
    )
    "$PY" "$STANDINS/twitter_standin.py" --config "$dir/config.json" --port-file "$dir/port" \
        --posts 12 --span-days 5 >"$dir/standin.log" 2>&1 &
    STACK_TW_PID=$!
    track "$STACK_TW_PID"
    _stack_wait_port "$dir/port" "$STACK_TW_PID" || {
        stack_say "the X API stand-in did not start: $(tail -2 "$dir/standin.log" | tr '\n' ' ')"
        return 1
    }
    STACK_TW_URL=http://127.0.0.1:$(cat "$dir/port")
    STACK_TW_ADMIN=$STACK_TW_URL/_admin
    export TWITTER_API_KEY=$STACK_TW_CK TWITTER_API_SECRET=$STACK_TW_CS
    export TWITTER_ACCESS_TOKEN=$STACK_TW_TK TWITTER_ACCESS_SECRET=$STACK_TW_TS
    # the app-only token: GET /2/usage/tweets (X's count of the project's usage)
    export TWITTER_BEARER_TOKEN=$STACK_TW_BT
    export TWITTER_API_URL=$STACK_TW_URL
}

# _stack_start_k8s NAME [stand-in args]: a Kubernetes API stand-in in $T/k8s-NAME; sets
# STACK_K8S_URL_<NAME>, STACK_K8S_CA_<NAME>, STACK_K8S_DIR_<NAME>. Every stand-in checks the
# one bearer token in $STACK_K8S_TOKEN_FILE.
_stack_start_k8s() {
    local name=$1 dir=$T/k8s-$1 pid
    shift
    mkdir -p "$dir"
    "$PY" "$STANDINS/k8s_standin.py" --dir "$dir" --token-file "$STACK_K8S_TOKEN_FILE" \
        --fixtures "$FIXTURES" "$@" >"$dir/standin.log" 2>&1 &
    pid=$!
    track "$pid"
    _stack_wait_port "$dir/port" "$pid" || {
        stack_say "the Kubernetes API stand-in ($name) did not start: $(tail -2 "$dir/standin.log" | tr '\n' ' ')"
        return 1
    }
    printf -v "STACK_K8S_URL_$name" 'https://127.0.0.1:%s' "$(cat "$dir/port")"
    printf -v "STACK_K8S_CA_$name" '%s' "$dir/ca.crt"
    printf -v "STACK_K8S_DIR_$name" '%s' "$dir"
}

stack_start() {
    local tool
    for tool in influxd prometheus; do
        command -v "$tool" >/dev/null 2>&1 || { stack_say "$tool is not installed (make deps)"; return 1; }
    done
    if [ ! -d "$FIXTURES/k8s" ] || [ ! -d "$FIXTURES/twitter" ]; then
        stack_say "no fixtures at $FIXTURES (the stand-ins serve them: set CRONFLUX_FIXTURES)"
        return 1
    fi
    for tool in twitter-stats cluster-metrics prom-metrics cronflux; do
        [ -x "$BIN/$tool" ] || { stack_say "no $BIN/$tool (run make first)"; return 1; }
    done
    # the four start in parallel would save a second; in turn, a failure is easy to name
    start_influxd influx || { stack_say "influxd did not start (log: $T/influx/influxd.log)"; return 1; }
    stack_say "InfluxDB 1.x       $INFLUX_URL   database $STACK_DB"
    start_prometheus || { stack_say "prometheus did not start (log: $T/prometheus.log)"; return 1; }
    stack_say "Prometheus         $PROM_URL   scraping itself every second"
    _stack_start_twitter || return 1
    stack_say "X API stand-in     $STACK_TW_URL   checks each OAuth 1.0a signature"
    STACK_K8S_TOKEN_FILE=$T/k8s-token
    (
        umask 077
        "$PY" -c 'import secrets; print("tok-" + secrets.token_hex(20), end="")' >"$STACK_K8S_TOKEN_FILE"
    )
    # two clusters: "dev", generated (12 nodes, one NotReady; 120 pods in 4 namespaces, with
    # metrics.k8s.io usage), and "recorded", the recorded API answers in the fixtures (whose
    # pod metrics belong to other pods: no pod usage there)
    _stack_start_k8s dev --data generated --nodes 12 --pods 120 --namespaces 4 || return 1
    _stack_start_k8s recorded --data fixtures || return 1
    stack_say "Kubernetes API     $STACK_K8S_URL_dev  stand-in (TLS, bearer token): cluster dev, generated"
    stack_say "Kubernetes API     $STACK_K8S_URL_recorded  stand-in (TLS, bearer token): cluster recorded, fixtures"
    export KUBE_API_URL=$STACK_K8S_URL_dev KUBE_CA_FILE=$STACK_K8S_CA_dev KUBE_TOKEN_FILE=$STACK_K8S_TOKEN_FILE
    export CLUSTER_NAME=dev
    export INFLUXDB_URL=$INFLUX_URL INFLUXDB_DATABASE=$STACK_DB
    export PROMETHEUS_URL=$PROM_URL
    # one state file for every job, as the CronJobs share one PVC: a run sends what any run left
    export CRONFLUX_STATE=$T/cronflux.db
    stack_say "state (sqlite)     $CRONFLUX_STATE"
    stack_say "server logs        $T/{influx/influxd.log,prometheus.log,x-standin/,k8s-dev/,k8s-recorded/}"
    return 0
}

# stack_run LABEL WANT [VAR=value...] -- BINARY ARGS... (see the top)
stack_run() {
    local label=$1 want=$2 sets=() t0 t1 last shown
    shift 2
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do
        sets+=("$1")
        shift
    done
    shift
    local bin=$1
    shift
    t0=$(date +%s%N)
    env "${sets[@]}" "$BIN/$bin" "$@" <"${STACK_STDIN:-/dev/null}" \
        >"$STACK_LOGS/$label.out" 2>"$STACK_LOGS/$label.err"
    STACK_RC=$?
    t1=$(date +%s%N)
    STACK_LABELS+=("$label")
    STACK_WANT[$label]=$want
    STACK_GOT[$label]=$STACK_RC
    # what to show: the error when there is one, else the job's last line (its summary)
    last=$(grep -E '(error|warning):' "$STACK_LOGS/$label.err" | tail -1)
    [ -n "$last" ] || last=$(grep -v '^[[:space:]]*$' "$STACK_LOGS/$label.err" | tail -1)
    case "$last" in *error:*) ;; *) last=$(printf '%s' "$last" | cut -c1-200) ;; esac
    shown="${sets[*]:+${sets[*]} }${BIN#"$ROOT"/}/$bin${*:+ $*}"
    stack_say "\$ $shown"
    stack_say "  -> exit $STACK_RC$([ "$STACK_RC" = "$want" ] || echo " (expected $want)")," \
        "$(((t1 - t0) / 1000000)) ms${last:+: $last}"
    [ "$STACK_RC" = "$want" ]
}

# Prometheus has scraped itself at least twice (so rate() over its own series has samples).
_stack_wait_scrapes() {
    local i c
    for ((i = 0; i < 100; i++)); do
        c=$(curl -s -m 2 -G "$PROM_URL/api/v1/query" --data-urlencode 'query=count_over_time(up[1m])' |
            "$PY" -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)' 2>/dev/null)
        [ "${c:-0}" -ge 3 ] && return 0
        sleep 0.2
    done
    return 1
}

stack_run_jobs() {
    local fail=0
    # with the daily analytics buckets, for the dashboard's analytics panel
    stack_run twitter-stats 0 -- twitter-stats --users "$STACK_USERS" --analytics daily || fail=1
    # the legacy twittergraph measurements, for the dashboard's twittergraph panel
    stack_run twitter-stats-twittergraph 0 -- twitter-stats --schema twittergraph \
        --users "$STACK_USERS" || fail=1
    stack_run cluster-metrics 0 -- cluster-metrics || fail=1
    stack_run cluster-metrics-recorded 0 KUBE_API_URL="$STACK_K8S_URL_recorded" \
        KUBE_CA_FILE="$STACK_K8S_CA_recorded" -- cluster-metrics --cluster recorded || fail=1

    # Prometheus scrapes itself; the built-in set asks for node_exporter, cAdvisor and
    # kube-state-metrics series, which a bare Prometheus has not, so a file of queries over
    # Prometheus' own series, written where the built-in set goes (measurement "prometheus").
    cat >"$T/queries.txt" <<'Q'
# name = PromQL expression (prom-metrics --queries)
up = up
http_requests_per_second = sum by (handler) (rate(prometheus_http_requests_total[1m]))
tsdb_head_series = prometheus_tsdb_head_series
Q
    stack_say "queries ($T/queries.txt): $(grep -v '^#' "$T/queries.txt" | sed 's/ = .*//' | tr '\n' ' ')"
    _stack_wait_scrapes || stack_say "(Prometheus has not scraped itself yet; its answers may be empty)"
    stack_run prom-metrics 0 -- prom-metrics --queries "$T/queries.txt" --measurement prometheus ||
        fail=1
    stack_run prom-metrics-backfill 0 -- prom-metrics --queries "$T/queries.txt" \
        --measurement prometheus --from -1m --to now --step 1s || fail=1

    local now
    now=$(date +%s)
    {
        echo "# a thermometer and a web server's latency, line protocol with second timestamps"
        echo "room_temperature,room=kitchen celsius=21.5 $((now - 120))"
        echo "room_temperature,room=kitchen celsius=21.75 $((now - 60))"
        echo "room_temperature,room=hall celsius=19.0 $((now - 60))"
        echo "web_latency,service=checkout,env=demo p50_ms=12.5,p99_ms=48.0,requests=1200i $now"
    } >"$T/push.lp"
    STACK_STDIN=$T/push.lp stack_run cronflux-push 0 -- cronflux push --precision s || fail=1
    return $fail
}

# stack_outage: see the top. Sets STACK_OUTAGE_PENDING (points pending after the failed run,
# from `cronflux status`) and STACK_OUTAGE_AFTER (pending after the next run).
stack_outage() {
    local fail=0
    stack_say "stopping InfluxDB (pid $INFLUX_PID)"
    stop_influxd "$INFLUX_PID"
    stack_run cluster-metrics-influx-down 75 CRONFLUX_RETRIES=0 -- cluster-metrics || fail=1
    "$BIN/cronflux" status >"$STACK_LOGS/status-down.out" 2>&1
    STACK_OUTAGE_PENDING=$(status_pending_points "$STACK_LOGS/status-down.out")
    stack_say "the spool holds ${STACK_OUTAGE_PENDING:-?} points for InfluxDB"
    restart_influxd || { stack_say "influxd did not start again (log: $INFLUX_DIR/influxd.log)"; return 1; }
    stack_say "InfluxDB started again (pid $INFLUX_PID, same port and data)"
    stack_run cluster-metrics-next-run 0 -- cluster-metrics || fail=1
    "$BIN/cronflux" status >"$STACK_LOGS/status-up.out" 2>&1
    STACK_OUTAGE_AFTER=$(status_pending_points "$STACK_LOGS/status-up.out")
    stack_say "pending after that run: ${STACK_OUTAGE_AFTER:-?} points"
    return $fail
}

# stack_panels [panel_queries.py args]: every dashboard panel's query against the stack.
stack_panels() {
    "$PY" "$ROOT/tests/tools/panel_queries.py" --url "$INFLUX_URL" --db "$STACK_DB" "$@"
}
