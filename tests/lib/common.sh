# Shared helpers for the shell integration tests. Source it from a test:
#   . "$(dirname "$0")/../lib/common.sh"
# It makes a temp dir ($T), stops every server it started on exit (pass or fail), and
# counts results: ok "name" / not_ok "name" / check "name" cmd... ; finish prints the summary.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${CRONFLUX_BIN:-$ROOT/bin}
FIXTURES=${CRONFLUX_FIXTURES:-$ROOT/../shared/fixtures}
T=$(mktemp -d "${TMPDIR:-/tmp}/cronflux-test.XXXXXX")
PY=/usr/bin/python3
_pids=()
_passed=0
_failed=0
_test_name=$(basename "$0")

cleanup() {
    local p
    for p in "${_pids[@]:-}"; do
        [ -n "$p" ] && kill "$p" 2>/dev/null
    done
    for p in "${_pids[@]:-}"; do
        [ -n "$p" ] && wait "$p" 2>/dev/null
    done
    if [ "${KEEP_TMP:-0}" = 1 ]; then echo "# kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok()     { _passed=$((_passed + 1)); echo "ok - $_test_name: $*"; }
not_ok() { _failed=$((_failed + 1)); echo "not ok - $_test_name: $*"; }
# check "description" command args... : ok if the command succeeds
check()  { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
# check_eq "description" got want
check_eq() {
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (got [$2], want [$3])"; fi
}
finish() {
    echo "# $_test_name: $_passed passed, $_failed failed"
    [ "$_failed" -eq 0 ]
    exit $?
}
# track a background pid so it is killed on exit
track() { _pids+=("$1"); }

# A free TCP port on 127.0.0.1 (asks the kernel).
free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_http URL [seconds]: until it answers any HTTP status (2xx..4xx).
wait_http() {
    local url=$1 n=${2:-30} i
    for ((i = 0; i < n * 10; i++)); do
        curl -s -o /dev/null -m 1 "$url" && return 0
        sleep 0.1
    done
    return 1
}

# start_influxd NAME [auth]: starts Debian's influxd 1.6.7 on a free loopback port with its
# data in $T/NAME. Sets INFLUX_PORT_<NAME>, INFLUX_PID_<NAME>, and for the last one started
# INFLUX_URL, INFLUX_PID, INFLUX_DIR. With "auth", HTTP auth is on (create the admin first
# with influx_create_admin). Fails (returns 1) if the process dies or never answers /ping.
start_influxd() {
    local name=${1:-influx} auth=${2:-} port bport dir i
    dir=$T/$name
    mkdir -p "$dir"
    port=$(free_port)
    bport=$(free_port)
    local authval=false
    [ "$auth" = auth ] && authval=true
    cat >"$dir/influxdb.conf" <<CONF
reporting-enabled = false
bind-address = "127.0.0.1:$bport"
[meta]
  dir = "$dir/meta"
  logging-enabled = false
[data]
  dir = "$dir/data"
  wal-dir = "$dir/wal"
  query-log-enabled = false
[coordinator]
  log-queries-after = "0s"
[retention]
  enabled = false
[monitor]
  store-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:$port"
  auth-enabled = $authval
  log-enabled = false
  max-body-size = 0
[continuous_queries]
  enabled = false
[subscriber]
  enabled = false
CONF
    influxd run -config "$dir/influxdb.conf" >"$dir/influxd.log" 2>&1 &
    local pid=$!
    track "$pid"
    for ((i = 0; i < 300; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "# influxd died; log:" >&2; tail -5 "$dir/influxd.log" >&2
            return 1
        fi
        if curl -s -o /dev/null -w '%{http_code}' -m 1 "http://127.0.0.1:$port/ping" | grep -q 204; then
            # our process, not another one on the port
            kill -0 "$pid" 2>/dev/null || return 1
            INFLUX_URL="http://127.0.0.1:$port"
            INFLUX_PID=$pid
            INFLUX_DIR=$dir
            INFLUX_PORT=$port
            printf -v "INFLUX_PID_$name" '%s' "$pid"
            printf -v "INFLUX_PORT_$name" '%s' "$port"
            return 0
        fi
        sleep 0.1
    done
    echo "# influxd never answered /ping on $port" >&2
    return 1
}

# stop_influxd [pid]: SIGTERM and wait.
stop_influxd() {
    local pid=${1:-$INFLUX_PID}
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

# restart_influxd: start the last one again on the same port and data dir.
restart_influxd() {
    local dir=$INFLUX_DIR i
    influxd run -config "$dir/influxdb.conf" >>"$dir/influxd.log" 2>&1 &
    local pid=$!
    track "$pid"
    for ((i = 0; i < 300; i++)); do
        kill -0 "$pid" 2>/dev/null || return 1
        if curl -s -o /dev/null -w '%{http_code}' -m 1 "$INFLUX_URL/ping" | grep -q 204; then
            INFLUX_PID=$pid
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# influx_q DB QUERY [extra curl args]: run an InfluxQL query; prints the JSON answer.
influx_q() {
    local db=$1 q=$2
    shift 2
    curl -sS -G "$INFLUX_URL/query" --data-urlencode "db=$db" --data-urlencode "q=$q" \
        --data-urlencode "epoch=ns" "$@"
}

# influx_create_db DB
influx_create_db() {
    curl -sS -o /dev/null -XPOST "$INFLUX_URL/query" --data-urlencode "q=CREATE DATABASE \"$1\"" "${@:2}"
}

# influx_count DB MEASUREMENT FIELD: prints count of FIELD in MEASUREMENT (0 if none).
influx_count() {
    influx_q "$1" "SELECT count(\"$3\") FROM \"$2\"" |
        "$PY" -c 'import json,sys; d=json.load(sys.stdin); s=d["results"][0].get("series"); print(s[0]["values"][0][1] if s else 0)'
}

# start_prometheus: Debian's prometheus on a free loopback port scraping itself, data in
# $T/prom (or PROM_DATA if set: an existing TSDB dir). Sets PROM_URL, PROM_PID.
start_prometheus() {
    local dir=${PROM_DATA:-$T/prom} port i
    mkdir -p "$dir"
    port=$(free_port)
    cat >"$T/prometheus.yml" <<CONF
global:
  scrape_interval: ${PROM_SCRAPE:-1s}
  evaluation_interval: 15s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["127.0.0.1:$port"]
CONF
    prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$dir" \
        --web.listen-address="127.0.0.1:$port" --storage.tsdb.retention.time=3650d \
        ${PROM_ARGS:-} >"$T/prometheus.log" 2>&1 &
    local pid=$!
    track "$pid"
    for ((i = 0; i < 300; i++)); do
        kill -0 "$pid" 2>/dev/null || { tail -5 "$T/prometheus.log" >&2; return 1; }
        if curl -s -m 1 "http://127.0.0.1:$port/-/ready" | grep -qi ready; then
            PROM_URL="http://127.0.0.1:$port"
            PROM_PID=$pid
            return 0
        fi
        sleep 0.1
    done
    return 1
}
