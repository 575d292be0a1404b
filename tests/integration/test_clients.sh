#!/usr/bin/env bash
# The three sources' HTTP clients against one scripted loopback server that answers what a
# hostile or broken world does (issue 10, items 4, 8, 9, 10), each case a rule:
#  - a 5xx after retries is temporary (75) in every source, and so is a 429 (cluster-metrics);
#  - an absurd x-rate-limit-reset is said "unknown" (never a date in 1969);
#  - prom-metrics against a server that never answers stops at --deadline / CRONFLUX_DEADLINE
#    with 75, long before its request timeout;
#  - no URL's userinfo (user:password@) reaches a message, a DEBUG=1 log or the state file.
# The server reads its answer from a JSON file before each request, so one server serves
# every case. No InfluxDB: --dry-run, or the embedded default (points stay in the state file).
. "$(dirname "$0")/../lib/common.sh"

for b in twitter-stats cluster-metrics prom-metrics; do
    [ -x "$BIN/$b" ] || { not_ok "$b built at $BIN/$b"; finish; }
done

cat >"$T/server.py" <<'PY'
import json, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

script = sys.argv[1]

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        with open(script) as f:
            a = json.load(f)
        with open(script + ".log", "a") as log:
            log.write("%s %s\n" % (self.command, self.path))
        if a.get("hang"):
            time.sleep(3600)   # never answers (the client's deadline ends it)
            return
        b = a.get("body", "").encode()
        self.send_response(a.get("status", 200))
        self.send_header("Content-Type", a.get("ctype", "application/json"))
        self.send_header("Content-Length", str(len(b)))
        for k, v in a.get("headers", {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(b)
    do_GET = do_POST = answer

class S(ThreadingHTTPServer):
    daemon_threads = True

s = S(("127.0.0.1", 0), H)
with open(script + ".port", "w") as f:
    f.write(str(s.server_address[1]))
s.serve_forever()
PY
SCRIPT=$T/answer.json
echo '{"status": 200, "body": "{}"}' >"$SCRIPT"
"$PY" "$T/server.py" "$SCRIPT" >"$T/server.log" 2>&1 &
track $!
for ((i = 0; i < 100; i++)); do [ -s "$SCRIPT.port" ] && break; sleep 0.1; done
PORT=$(cat "$SCRIPT.port" 2>/dev/null)
[ -n "$PORT" ] || { not_ok "the scripted server started"; finish; }
URL=http://127.0.0.1:$PORT
SECRET=hunter2-$RANDOM$RANDOM
UURL=http://scott:$SECRET@127.0.0.1:$PORT

answer() { printf '%s\n' "$1" >"$SCRIPT"; }

# run NAME ENV... -- BINARY ARGS...: stdout/stderr to $T/NAME.out/.err, exit code in RC,
# seconds taken in SECS. A clean environment: only what the case gives.
run() {
    local name=$1 t0 envs=()
    shift
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    t0=$(date +%s%N)
    env -i PATH=/usr/bin:/bin HOME="$T" CRONFLUX_STATE="$T/$name.db" "${envs[@]}" "$@" \
        >"$T/$name.out" 2>"$T/$name.err" </dev/null
    RC=$?
    SECS=$(( ($(date +%s%N) - t0) / 1000000000 ))
}
TW_CREDS=(TWITTER_API_KEY=ck TWITTER_API_SECRET=cs TWITTER_ACCESS_TOKEN=1-tk TWITTER_ACCESS_SECRET=ts)
k8s_status() { # a Kubernetes Status body
    printf '{"kind":"Status","apiVersion":"v1","status":"Failure","message":"%s","code":%s}' "$2" "$1"
}

# ---- 10.10: a 5xx is temporary (75) in all three sources; cluster-metrics 429 is 75 ----------
answer "{\"status\": 500, \"body\": $(printf '%s' "$(k8s_status 500 'etcdserver: request timed out')" | "$PY" -c 'import json,sys; print(json.dumps(sys.stdin.read()))')}"
run k8s500 KUBE_API_URL="$URL" -- "$BIN/cluster-metrics" --dry-run
check_eq "cluster-metrics: 500 after retries: exit 75" "$RC" 75
check "cluster-metrics: 500: says what answered" grep -q "HTTP 500 from the Kubernetes API: etcdserver" "$T/k8s500.err"

answer "{\"status\": 429, \"headers\": {\"Retry-After\": \"0\"}, \"body\": $(printf '%s' "$(k8s_status 429 'Too many requests, please try again later.')" | "$PY" -c 'import json,sys; print(json.dumps(sys.stdin.read()))')}"
: >"$SCRIPT.log"
run k8s429 KUBE_API_URL="$URL" -- "$BIN/cluster-metrics" --dry-run
check_eq "cluster-metrics: 429 (rate limited) after retries: exit 75" "$RC" 75
check_eq "cluster-metrics: 429: retried (3 tries of the first list)" "$(grep -c . "$SCRIPT.log")" 3

answer '{"status": 503, "body": "{\"title\":\"Service Unavailable\",\"detail\":\"Service Unavailable\",\"type\":\"about:blank\",\"status\":503}"}'
run tw503 "${TW_CREDS[@]}" TWITTER_API_URL="$URL" -- "$BIN/twitter-stats" --users a --retries 1 --dry-run
check_eq "twitter-stats: 503 after retries: exit 75" "$RC" 75
check "twitter-stats: 503: one line naming it" grep -q "HTTP 503 after 2 tries" "$T/tw503.err"

answer '{"status": 502, "ctype": "text/html", "body": "<html>502 Bad Gateway</html>"}'
run prom502 PROMETHEUS_RETRIES=1 -- "$BIN/prom-metrics" --url "$URL" --dry-run
check_eq "prom-metrics: 502 after retries: exit 75" "$RC" 75

# ---- 10.8: an absurd x-rate-limit-reset is "unknown", never a date ------------------------------
answer '{"status": 429, "headers": {"x-rate-limit-limit": "900", "x-rate-limit-remaining": "0", "x-rate-limit-reset": "99999999999999999999"}, "body": "{\"title\":\"Too Many Requests\",\"detail\":\"Too Many Requests\",\"type\":\"about:blank\",\"status\":429}"}'
run twreset "${TW_CREDS[@]}" TWITTER_API_URL="$URL" -- "$BIN/twitter-stats" --users a --dry-run
check_eq "absurd x-rate-limit-reset: exit 75" "$RC" 75
check "absurd x-rate-limit-reset: said unknown" grep -q "resets at an unknown time" "$T/twreset.err"
check "absurd x-rate-limit-reset: no date, no absurd wait" \
    bash -c "! grep -Eq '1969|[0-9]{6,}m' '$T/twreset.err'"
answer '{"status": 429, "headers": {"x-rate-limit-remaining": "0", "x-rate-limit-reset": "-5"}, "body": "{}"}'
run twreset2 "${TW_CREDS[@]}" TWITTER_API_URL="$URL" -- "$BIN/twitter-stats" --users a --dry-run
check "a negative x-rate-limit-reset: said unknown" grep -q "resets at an unknown time" "$T/twreset2.err"

# ---- 10.9: a server that never answers; the run's deadline -------------------------------------
answer '{"hang": true}'
run promhang PROMETHEUS_RETRIES=3 -- "$BIN/prom-metrics" --url "$URL" --deadline 3s --dry-run
check_eq "prom-metrics, no answer, --deadline 3s: exit 75 (temporary)" "$RC" 75
check "prom-metrics, no answer: stops at the deadline (took ${SECS}s)" test "$SECS" -le 8
check "prom-metrics, no answer: says it was the deadline" grep -q "deadline" "$T/promhang.err"
run promhang_env PROMETHEUS_RETRIES=3 CRONFLUX_DEADLINE=2s -- "$BIN/prom-metrics" --url "$URL" --dry-run
check_eq "CRONFLUX_DEADLINE=2s: exit 75" "$RC" 75
check "CRONFLUX_DEADLINE=2s: within the deadline (took ${SECS}s)" test "$SECS" -le 7
run promhang_to PROMETHEUS_RETRIES=0 PROMETHEUS_TIMEOUT=1s -- "$BIN/prom-metrics" --url "$URL" --dry-run
check_eq "a request timeout (PROMETHEUS_TIMEOUT=1s) is temporary: exit 75" "$RC" 75
run baddl -- "$BIN/prom-metrics" --url "$URL" --deadline soon --dry-run
check_eq "--deadline soon: usage, 64" "$RC" 64
run baddl_env CRONFLUX_DEADLINE=soon -- "$BIN/prom-metrics" --url "$URL" --dry-run
check_eq "CRONFLUX_DEADLINE=soon: configuration, 78" "$RC" 78

# ---- 10.4: userinfo of a URL: never in a message, a log or the state file ---------------------
answer '{"status": 404, "body": "{\"title\":\"Not Found Error\",\"detail\":\"no such endpoint\",\"type\":\"about:blank\"}"}'
run twui "${TW_CREDS[@]}" TWITTER_API_URL="$UURL" DEBUG=1 -- "$BIN/twitter-stats" --users a
check_eq "TWITTER_API_URL with userinfo, 404: exit 78" "$RC" 78
run twui_down "${TW_CREDS[@]}" TWITTER_API_URL="http://scott:$SECRET@127.0.0.1:$(free_port)" DEBUG=1 -- "$BIN/twitter-stats" --users a --retries 0
check_eq "TWITTER_API_URL with userinfo, unreachable: exit 69" "$RC" 69
answer '{"status": 200, "body": "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"a\":\"b\"},\"value\":[1700000000,\"1\"]}]}}"}'
run promui PROMETHEUS_URL="$UURL" DEBUG=1 -- "$BIN/prom-metrics"
check_eq "PROMETHEUS_URL with userinfo, DEBUG=1: runs (exit 0)" "$RC" 0
answer '{"status": 404, "body": "404 page not found"}'
run promui404 PROMETHEUS_URL="$UURL" DEBUG=1 -- "$BIN/prom-metrics"
check_eq "PROMETHEUS_URL with userinfo, 404: exit 78" "$RC" 78
answer "{\"status\": 404, \"body\": \"not found\"}"
run k8sui KUBE_API_URL="$UURL" DEBUG=1 -- "$BIN/cluster-metrics"
check_eq "KUBE_API_URL with userinfo, 404: exit 78" "$RC" 78
check "the URL's user name is not shown either" \
    bash -c "! grep -h 'scott' '$T'/twui.err '$T'/promui.err '$T'/k8sui.err"
# INFLUXDB_URL with userinfo but no database: the configuration error names the URL, without it
run infui INFLUXDB_URL="http://scott:$SECRET@127.0.0.1:9" -- "$BIN/cronflux" status
check_eq "INFLUXDB_URL with userinfo, no INFLUXDB_DATABASE: a configuration error, 78" "$RC" 78
check "INFLUXDB_URL with userinfo, no database: the error names the URL" grep -q "127.0.0.1:9" "$T/infui.out"
run infui3 INFLUXDB_URL="http://scott:$SECRET@127.0.0.1:9" INFLUXDB_API=3 INFLUXDB_TOKEN=t -- "$BIN/cronflux" status --json
check "INFLUXDB_API=3 with userinfo, no database: the error names the URL" grep -q "127.0.0.1:9" "$T/infui3.out"
check "the URL's user name is not shown by status either" bash -c "! grep -h 'scott' '$T'/infui.out '$T'/infui.err '$T'/infui3.out '$T'/infui3.err"
leaks=$(grep -lF -- "$SECRET" "$T"/*.err "$T"/*.out "$T"/*.db 2>/dev/null | tr '\n' ' ')
check_eq "no password of a URL in any message, log, output or state file" "$leaks" ""
check "the state files were written (the ledger was looked at)" test -s "$T/twui.db" -a -s "$T/promui.db" -a -s "$T/k8sui.db"

finish
