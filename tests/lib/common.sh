# Shared helpers for the shell integration tests. Source it from a test:
#   . "$(dirname "$0")/../lib/common.sh"
# It makes a temp dir ($T), stops every server it started on exit (pass or fail), and
# counts results: ok "name" / not_ok "name" / check "name" cmd... ; finish prints the summary.
set -u
# `producer | cf ...` runs cf in this shell, so CF_RC, CF_OUT and CF_ERR stay set
shopt -s lastpipe

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# the binaries: $CRONFLUX_BIN, else make's BINDIR (relative to the project root), else bin/
case "${BINDIR:-bin}" in
    /*) BIN=${CRONFLUX_BIN:-$BINDIR} ;;
    *) BIN=${CRONFLUX_BIN:-$ROOT/${BINDIR:-bin}} ;;
esac
FIXTURES=${CRONFLUX_FIXTURES:-$ROOT/tests/fixtures}
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

# ---------------------------------------------------------------------------------------
# Store tool helpers (cronflux push/flush/status/replay/export, stand-ins, secrets).

STANDINS=$ROOT/tests/standins
STORE_CHECK=$ROOT/tests/lib/store_check.py

# A test never inherits a developer's InfluxDB or state settings: every test sets what it
# needs, so nothing is ever sent to a server the test did not start.
_cf_clean_env() {
    local v
    for v in $(compgen -e); do
        case "$v" in
            CRONFLUX_BIN | CRONFLUX_FIXTURES) ;;
            INFLUXDB_* | CRONFLUX_*) unset "$v" ;;
        esac
    done
    unset DEBUG
}
_cf_clean_env

now_ns() { date +%s%N; }

# cf NAME [args...]: run $BIN/cronflux with args; stdin is passed through. Every run's stdout
# and stderr are kept under $T/out (so no_secrets can check them all): CF_OUT, CF_ERR name
# this run's files, CF_RC its exit code. Always returns 0.
_cf_n=0
cf() {
    local name=$1
    shift
    _cf_n=$((_cf_n + 1))
    mkdir -p "$T/out"
    CF_OUT=$T/out/$(printf '%03d' "$_cf_n")-$name.out
    CF_ERR=$T/out/$(printf '%03d' "$_cf_n")-$name.err
    "$BIN/cronflux" "$@" >"$CF_OUT" 2>"$CF_ERR"
    CF_RC=$?
    return 0
}
# cf_bg NAME [args...]: the same in the background; sets CF_BG_PID (not tracked: wait for it).
cf_bg() {
    local name=$1
    shift
    _cf_n=$((_cf_n + 1))
    mkdir -p "$T/out"
    CF_OUT=$T/out/$(printf '%03d' "$_cf_n")-$name.out
    CF_ERR=$T/out/$(printf '%03d' "$_cf_n")-$name.err
    "$BIN/cronflux" "$@" >"$CF_OUT" 2>"$CF_ERR" &
    CF_BG_PID=$!
}
# keep_output NAME FILE...: add other programs' captured output to what no_secrets checks.
keep_output() {
    local name=$1 f
    shift
    mkdir -p "$T/out"
    for f in "$@"; do
        _cf_n=$((_cf_n + 1))
        cp "$f" "$T/out/$(printf '%03d' "$_cf_n")-$name-$(basename "$f")" 2>/dev/null
    done
}
# check_rc "description" WANT: checks CF_RC, showing the run's stderr on failure.
check_rc() {
    if [ "$CF_RC" = "$2" ]; then
        ok "$1"
    else
        not_ok "$1 (exit $CF_RC, want $2; stderr: $(head -c 400 "$CF_ERR" | tr '\n' ' '))"
    fi
}
# no_secrets "description" SECRET...: ok when no captured output (cf runs, keep_output)
# contains any of the secrets. Names the file, never the secret.
no_secrets() {
    local d=$1 s f hit=
    shift
    mkdir -p "$T/out"
    for s in "$@"; do
        [ -n "$s" ] || continue
        f=$(grep -rlF -- "$s" "$T/out" 2>/dev/null | head -3 | tr '\n' ' ')
        [ -n "$f" ] && hit="$hit $f"
    done
    if [ -z "$hit" ]; then ok "$d"; else not_ok "$d (a secret appears in:$hit)"; fi
}

# influx_scalar DB QUERY: the first value of the first series (0 when there is none).
influx_scalar() {
    "$PY" "$STORE_CHECK" scalar "$INFLUX_URL" "$1" "$2"
}
# influx_sum DB MEASUREMENT FIELD
influx_sum() {
    influx_scalar "$1" "SELECT sum(\"$3\") FROM \"$2\""
}
# influx_expect DB EXPECTED.json [--now A B]: store_check's comparison; one ok/not_ok a point.
influx_expect() {
    local db=$1 exp=$2 line
    shift 2
    while IFS= read -r line; do
        case "$line" in
            PASS\ *) ok "$db: ${line#PASS }" ;;
            FAIL\ *) not_ok "$db: ${line#FAIL }" ;;
            *) not_ok "$db: store_check: $line" ;;
        esac
    done < <("$PY" "$STORE_CHECK" expect "$INFLUX_URL" "$db" "$exp" "$@" 2>&1)
}

# wait_file FILE [seconds]: until FILE exists and is not empty.
wait_file() {
    local f=$1 n=${2:-30} i
    for ((i = 0; i < n * 10; i++)); do
        [ -s "$f" ] && return 0
        sleep 0.1
    done
    return 1
}

# near_full_kb STATE MORE_KB: an empty state file at STATE (made with no InfluxDB set), and a
# file-size limit for `ulimit -f` (KiB) MORE_KB above its size: a run under it stores its
# first batches, then fails part way
near_full_kb() {
    env -u INFLUXDB_URL -u INFLUXDB_HOST CRONFLUX_STATE="$1" "$BIN/cronflux" push </dev/null >/dev/null 2>&1
    echo $(($(stat -c %s "$1") / 1024 + $2))
}

# start_proxy NAME UPSTREAM_URL [counting_proxy args...]: the counting proxy in front of
# UPSTREAM_URL. Sets PROXY_URL, PROXY_LOG, PROXY_PID (and PROXY_URL_<NAME>).
start_proxy() {
    local name=$1 up=$2
    shift 2
    mkdir -p "$T/$name"
    rm -f "$T/$name/port"
    "$PY" "$STANDINS/counting_proxy.py" --upstream "$up" --log "$T/$name/requests.jsonl" \
        --port-file "$T/$name/port" "$@" 2>"$T/$name/proxy.err" &
    PROXY_PID=$!
    track "$PROXY_PID"
    wait_file "$T/$name/port" 10 || { cat "$T/$name/proxy.err" >&2; return 1; }
    PROXY_URL="http://127.0.0.1:$(cat "$T/$name/port")"
    PROXY_LOG=$T/$name/requests.jsonl
    touch "$PROXY_LOG"
    printf -v "PROXY_URL_$name" '%s' "$PROXY_URL"
    kill -0 "$PROXY_PID" 2>/dev/null
}
# proxy_set key=value...: change the proxy's fault injection at run time.
proxy_set() {
    local q
    q=$(IFS='&'; echo "$*")
    curl -sS -m 5 -o /dev/null "$PROXY_URL/__proxy__/set?$q"
}
# proxy_writes [LOG [FROM_N]]: summary of the write requests in the proxy log (those numbered
# above FROM_N), as "key=value" words: total, ok (2xx), distinct_ok (distinct 2xx bodies),
# dup_ok (2xx bodies seen more than once), lines_ok (lines in 2xx writes), data_ok (2xx
# lines other than cronflux_job), job_ok (cronflux_job lines), max_lines_ok (largest 2xx
# body in lines), last_n, and status counts s503=.. s413=..
proxy_writes() {
    "$PY" - "${1:-$PROXY_LOG}" "${2:-0}" <<'PYEOF'
import collections, json, sys
tot = 0; ok = collections.Counter(); lines_ok = data_ok = job_ok = max_ok = 0
st = collections.Counter(); last = 0
for ln in open(sys.argv[1], encoding="utf-8"):
    e = json.loads(ln)
    last = max(last, e["n"])
    if e["n"] <= int(sys.argv[2]):
        continue
    if e.get("method") != "POST" or e.get("path") not in ("/write", "/api/v2/write"):
        continue
    tot += 1
    st[e["status"]] += 1
    if 200 <= e["status"] < 300:
        ok[e["sha256"]] += 1
        lines_ok += e["lines"]
        j = e.get("measurements", {}).get("cronflux_job", 0)
        job_ok += j
        data_ok += e["lines"] - j
        max_ok = max(max_ok, e["lines"])
print("total=%d ok=%d distinct_ok=%d dup_ok=%d lines_ok=%d data_ok=%d job_ok=%d max_lines_ok=%d last_n=%d %s" % (
    tot, sum(ok.values()), len(ok), sum(1 for v in ok.values() if v > 1), lines_ok, data_ok,
    job_ok, max_ok, last, " ".join("s%d=%d" % kv for kv in sorted(st.items()))))
PYEOF
}
# kv WORD KEY: the value of KEY in a "k=v k=v" string (empty when absent).
kv() {
    local w
    for w in $1; do
        case "$w" in "$2="*) echo "${w#*=}"; return 0 ;; esac
    done
    echo ""
}

# start_influx2 NAME TOKEN ORG BUCKET... : the InfluxDB 2.x write stand-in. Sets INFLUX2_URL,
# INFLUX2_LINES (one JSON {"bucket":..,"line":..} per received line), INFLUX2_LOG, INFLUX2_PID.
# INFLUX2_ARGS adds stand-in flags (e.g. --require-gzip).
start_influx2() {
    local name=$1 token=$2 org=$3 b args=()
    shift 3
    for b in "$@"; do args+=(--bucket "$b"); done
    mkdir -p "$T/$name"
    printf '%s\n' "$token" >"$T/$name/token"
    chmod 600 "$T/$name/token"
    rm -f "$T/$name/port"
    : >"$T/$name/lines"
    : >"$T/$name/requests.jsonl"
    "$PY" "$STANDINS/influx2_standin.py" --token "@$T/$name/token" --org "$org" "${args[@]}" \
        --lines "$T/$name/lines" --log "$T/$name/requests.jsonl" --port-file "$T/$name/port" \
        ${INFLUX2_ARGS:-} 2>"$T/$name/standin.err" &
    INFLUX2_PID=$!
    track "$INFLUX2_PID"
    wait_file "$T/$name/port" 10 || { cat "$T/$name/standin.err" >&2; return 1; }
    INFLUX2_URL="http://127.0.0.1:$(cat "$T/$name/port")"
    INFLUX2_LINES=$T/$name/lines
    INFLUX2_LOG=$T/$name/requests.jsonl
    kill -0 "$INFLUX2_PID" 2>/dev/null
}

# start_influx3 NAME TOKEN : the InfluxDB 3 Core stand-in (influx2_standin.py --api 3). Sets
# INFLUX3_URL, INFLUX3_LINES ({"bucket": DB, "line": ..} per stored line), INFLUX3_LOG,
# INFLUX3_PID. INFLUX3_ARGS adds stand-in flags (e.g. --without-auth).
start_influx3() {
    local name=$1 token=$2
    mkdir -p "$T/$name"
    printf '%s\n' "$token" >"$T/$name/token"
    chmod 600 "$T/$name/token"
    rm -f "$T/$name/port"
    : >"$T/$name/lines"
    : >"$T/$name/requests.jsonl"
    "$PY" "$STANDINS/influx2_standin.py" --api 3 --token "@$T/$name/token" \
        --lines "$T/$name/lines" --log "$T/$name/requests.jsonl" --port-file "$T/$name/port" \
        ${INFLUX3_ARGS:-} 2>"$T/$name/standin.err" &
    INFLUX3_PID=$!
    track "$INFLUX3_PID"
    wait_file "$T/$name/port" 10 || { cat "$T/$name/standin.err" >&2; return 1; }
    INFLUX3_URL="http://127.0.0.1:$(cat "$T/$name/port")"
    INFLUX3_LINES=$T/$name/lines
    INFLUX3_LOG=$T/$name/requests.jsonl
    kill -0 "$INFLUX3_PID" 2>/dev/null
}

# influx_create_admin USER PASSWORD: the first admin user of an auth-enabled influxd.
influx_create_admin() {
    curl -sS -o /dev/null -XPOST "$INFLUX_URL/query" \
        --data-urlencode "q=CREATE USER \"$1\" WITH PASSWORD '$2' WITH ALL PRIVILEGES"
}

# use_influx DB [URL]: point cronflux at an InfluxDB 1.x database (the last started influxd
# unless URL is given).
use_influx() {
    export INFLUXDB_URL=${2:-$INFLUX_URL}
    export INFLUXDB_DATABASE=$1
}

# `cronflux status` (text) readers: status_pending_points FILE, status_dead_letters FILE,
# status_sent_points FILE. Print the number, or "" when the line is missing.
status_pending_points() { sed -n 's/^pending: [0-9]* batches, \([0-9]*\) points.*/\1/p' "$1"; }
status_pending_batches() { sed -n 's/^pending: \([0-9]*\) batches.*/\1/p' "$1"; }
status_dead_letters() { sed -n 's/^dead letters: \([0-9]*\).*/\1/p' "$1"; }
status_sent_points() { sed -n 's/^sent (kept for replay): [0-9]* batches, \([0-9]*\) points.*/\1/p' "$1"; }
