#!/usr/bin/env bash
# prom-metrics against a Prometheus stand-in that answers what a real server does only under
# load or misconfiguration: bodies of the wrong shape, 503 timeout (the chunk is halved),
# answers too large (halved), 422 too many samples (halved), 503/502 (retried, then 75),
# 401 (77), 404 (78), string/scalar results, warnings, clashing label names, NaN/Inf,
# a bearer token. Uses --dry-run (points on stdout) and a state file; no InfluxDB.
. "$(dirname "$0")/../lib/common.sh"

PM=$BIN/prom-metrics
if [ ! -x "$PM" ]; then
    not_ok "no $PM (run make first)"
    finish
fi

cat >"$T/standin.py" <<'PY'
import json, sys, threading, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from decimal import Decimal

calls = {}
lock = threading.Lock()

def grid(start, end, step):
    t, out = Decimal(start), []
    while t <= Decimal(end):
        out.append(t)
        t += Decimal(step)
    return out

def num(t):
    return float(t) if t != t.to_integral_value() else int(t)

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def send(self, status, body, ctype="application/json", extra=()):
        b = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(b)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(b)
    def ok(self, rtype, result, **kw):
        d = {"status": "success", "data": {"resultType": rtype, "result": result}}
        d.update(kw)
        self.send(200, json.dumps(d, separators=(",", ":")))
    def err(self, status, et, msg, extra=()):
        self.send(status, json.dumps({"status": "error", "errorType": et, "error": msg}),
                  extra=extra)
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        f = {k: v[0] for k, v in urllib.parse.parse_qs(self.rfile.read(n).decode()).items()}
        q = f.get("query", "")
        with lock:
            calls[q] = calls.get(q, 0) + 1
            with open(sys.argv[2], "a") as log:
                log.write("%s %s %s %s %s %s %s\n" % (self.path, q, f.get("start", "-"),
                          f.get("end", "-"), f.get("time", "-"),
                          self.headers.get("Authorization", "-"),
                          self.headers.get("Accept-Encoding", "-").replace(" ", "")))
        if not self.path.startswith("/api/v1/"):
            return self.send(404, "404 page not found\n", "text/plain")
        if self.path == "/api/v1/query_range":
            pts = grid(f["start"], f["end"], f["step"])
            if q == "slow" and len(pts) > 10:
                return self.err(503, "timeout", "query timed out in expression evaluation")
            if q == "toomany" and len(pts) > 20:
                return self.err(422, "execution", "query processing would load too many "
                                "samples into memory in query execution")
            if q in ("many", "wide", "slow", "toomany"):
                nser = {"many": 100, "wide": 300}.get(q, 2)
                return self.ok("matrix", [
                    {"metric": {"__name__": "m", "series": "s%03d" % i, "pad": "x" * 20},
                     "values": [[num(t), "%d.5" % i] for t in pts]} for i in range(nser)])
            return self.err(400, "bad_data", "unknown test query")
        t = num(Decimal(f.get("time", "0")))
        if q == "shape":
            return self.send(200, '{"status":"success","data":{"resultType":"vector",'
                             '"result":[{"metric":{},"value":[1,2]}]}}')
        if q == "unavailable":
            return self.err(503, "unavailable", "the server is shutting down",
                            extra=(("Retry-After", "0"),))
        if q == "html":
            return self.send(502, "<html><body>502 Bad Gateway</body></html>", "text/html")
        if q == "needtoken":
            if self.headers.get("Authorization") != "Bearer s3cr3t-t0ken":
                return self.send(401, "Unauthorized\n", "text/plain")
            return self.ok("vector", [{"metric": {"a": "b"}, "value": [t, "7"]}])
        if q == "string":
            return self.ok("string", [t, "hello"])
        if q == "scalar":
            return self.ok("scalar", [t, "42.25"])
        if q == "warn":
            return self.ok("vector", [{"metric": {"a": "b"}, "value": [t, "1"]}],
                           warnings=["partial response: one store unreachable"])
        if q == "labels":
            return self.ok("vector", [{"metric": {"query": "x", "time": "y", "sp ace": "a,b=c",
                                                  "nl": "one\ntwo", "value": "v"},
                                       "value": [t, "3"]}])
        if q == "badutf8":   # a raw 0xff byte in a label value: not UTF-8
            body = json.dumps({"status": "success", "data": {"resultType": "vector", "result": [
                {"metric": {"a": "x@"}, "value": [t, "1"]},
                {"metric": {"a": "ok"}, "value": [t, "2"]}]}}, separators=(",", ":"))
            return self.send(200, body.encode().replace(b"x@", b"x\xff"))
        if q == "nan":
            return self.ok("vector", [
                {"metric": {"s": "nan"}, "value": [t, "NaN"]},
                {"metric": {"s": "pinf"}, "value": [t, "+Inf"]},
                {"metric": {"s": "ninf"}, "value": [t, "-Inf"]},
                {"metric": {"s": "one"}, "value": [t, "1"]}])
        if q == "up":
            return self.ok("vector", [{"metric": {"__name__": "up", "job": "j"},
                                       "value": [t, "1"]}])
        return self.err(400, "bad_data", "unknown test query %r" % q)

srv = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H)
srv.serve_forever()
PY
port=$(free_port)
"$PY" "$T/standin.py" "$port" "$T/requests.log" 2>"$T/standin.err" &
track $!
wait_http "http://127.0.0.1:$port/" 10 || { not_ok "stand-in starts"; finish; }
export PROMETHEUS_URL=http://127.0.0.1:$port PROMETHEUS_RETRIES=1
unset INFLUXDB_URL INFLUXDB_HOST PROMETHEUS_QUERIES CRONFLUX_ALIGN JOB_COMPLETION_INDEX \
    CRONFLUX_SLICES PROMETHEUS_TOKEN

# run NAME EXPR [flags...]: one query from a file; stdout in $T/NAME.out, stderr $T/NAME.err,
# exit code in $rc
run() {
    local name=$1 expr=$2
    shift 2
    printf '%s = %s\n' "$name" "$expr" >"$T/$name.txt"
    "$PM" --queries "$T/$name.txt" --state "$T/$name.db" "$@" >"$T/$name.out" 2>"$T/$name.err"
    rc=$?
}

run shape shape
check_eq "an answer not of the documented shape -> 65" "$rc" 65
grep -q "error: query shape: POST http://127.0.0.1:$port/api/v1/query: 200 answer not of the documented shape: line 1, column 85: expected a string" \
    "$T/shape.err" && ok "the error gives the JSON position" || not_ok "shape message ($(cat "$T/shape.err"))"

run unavailable unavailable
check_eq "503 unavailable, retried, then 75" "$rc" 75
check_eq "it was retried once (PROMETHEUS_RETRIES=1)" "$(grep -c ' unavailable ' "$T/requests.log")" 2
grep -q "query unavailable: .*HTTP 503 unavailable: the server is shutting down" "$T/unavailable.err" &&
    ok "503 message names query and errorType" || not_ok "503 message"

run html html
check_eq "502 with an HTML body -> 75 after retries" "$rc" 75

run needtoken needtoken
check_eq "401 -> 77" "$rc" 77
grep -q "check PROMETHEUS_TOKEN" "$T/needtoken.err" && ok "401 says what to check" || not_ok "401 hint"
echo "s3cr3t-t0ken" >"$T/token"
PROMETHEUS_TOKEN_FILE=$T/token DEBUG=1 run needtoken needtoken --dry-run
check_eq "PROMETHEUS_TOKEN_FILE: the bearer token is sent" "$rc" 0
grep -q "^needtoken,a=b,query=needtoken value=7 " "$T/needtoken.out" && ok "and the point is written" ||
    not_ok "token point ($(cat "$T/needtoken.out"))"
! grep -q "s3cr3t" "$T/needtoken.err" "$T/needtoken.out" && ok "the token never reaches a log (DEBUG=1)" ||
    not_ok "the token never reaches a log"

PROMETHEUS_URL=http://127.0.0.1:$port/prefix run up up
check_eq "a URL whose path answers 404 -> 78" "$rc" 78
grep -q "check PROMETHEUS_URL" "$T/up.err" && ok "404 says what to check" || not_ok "404 hint"

run string string --dry-run
check_eq "a string result is skipped, exit 0" "$rc" 0
grep -q "warn: query string: the result is a string, not a number: skipped" "$T/string.err" &&
    ok "with a warning" || not_ok "string warning"
grep -q "1 string results skipped" "$T/string.err" && ok "counted in the summary" || not_ok "string in summary"

run scalar scalar --dry-run --align 1m
check_eq "a scalar result exits 0" "$rc" 0
grep -qE '^scalar,query=scalar value=42.25 [0-9]+000000000$' "$T/scalar.out" &&
    ok "a scalar is a point with only the query tag" || not_ok "scalar point ($(cat "$T/scalar.out"))"
t=$(awk '{print $3}' "$T/scalar.out")
check_eq "--align 1m: the instant query ran at the slot's start" "$((t % 60000000000))" 0
grep -q " scalar - - $((t / 1000000000)) " "$T/requests.log" && ok "time= sent as the aligned Unix time" ||
    not_ok "time= sent as the aligned Unix time"

# answers asked for plain (Prometheus' gzip costs it far more CPU than the bytes save on
# a fast link); --gzip asks for gzip again
run up up --dry-run
check_eq "Accept-Encoding: identity by default" "$(awk '$2 == "up" { e = $7 } END { print e }' "$T/requests.log")" identity
run up up --dry-run --gzip
awk '$2 == "up" { e = $7 } END { exit !(e ~ /gzip/) }' "$T/requests.log" &&
    ok "--gzip: gzip accepted" || not_ok "--gzip ($(tail -1 "$T/requests.log"))"
grep -q "^up,__name__=up,job=j,query=up value=1 " "$T/up.out" && ok "and the point is the same" ||
    not_ok "--gzip point ($(cat "$T/up.out"))"

run warn warn --dry-run
grep -q "warn: query warn: Prometheus warns: partial response: one store unreachable" "$T/warn.err" &&
    ok "Prometheus' warnings are passed on" || not_ok "warnings"

run labels labels --dry-run
check_eq "labels that clash exit 0" "$rc" 0
grep -qF 'labels,exported_query=x,exported_time=y,exported_value=v,nl=one\ two,query=labels,sp\ ace=a\,b\=c value=3 ' \
    "$T/labels.out" && ok "labels query/time/value renamed exported_*, escaped by the encoder" ||
    not_ok "label tags ($(cat "$T/labels.out"))"

run badutf8 badutf8 --dry-run
check_eq "a label that is not valid UTF-8: only the good point written" "$(wc -l <"$T/badutf8.out")" 1
grep -q 'warn: query badutf8: 1 points refused by the encoder: tag "a": value is not valid UTF-8' \
    "$T/badutf8.err" && ok "the refusal names the query and the label" ||
    not_ok "badutf8 warning ($(cat "$T/badutf8.err"))"

run nan nan --dry-run
check_eq "NaN/Inf samples: exit 0" "$rc" 0
check_eq "only the finite sample is written" "$(wc -l <"$T/nan.out")" 1
grep -q "query nan: 3 NaN/Inf samples skipped" "$T/nan.err" && grep -q "3 NaN/Inf skipped" "$T/nan.err" &&
    ok "NaN, +Inf, -Inf counted in the log and summary" || not_ok "nan count ($(cat "$T/nan.err"))"

# the store fails part way (a file-size limit a few pages above the empty state file): 74,
# one error line, the sink's, saying how many points were not stored
kb=$(near_full_kb "$T/full.db" 48)
printf 'many = many\n' >"$T/full.txt"
(
    ulimit -f "$kb"
    exec env CRONFLUX_BATCH=100 "$PM" --queries "$T/full.txt" --state "$T/full.db" \
        --from 1700000000 --to 1700003600 --step 10s >"$T/full.out" 2>"$T/full.err"
)
rc=$?
check_eq "the store fails part way: exit 74" "$rc" 74
check_eq "the store fails part way: one error line" "$(grep -c 'error:' "$T/full.err")" 1
check "the store fails part way: it says how many points were not stored" \
    grep -Eq 'error: [0-9]+ points? (was|were) not stored' "$T/full.err"

# halving: an answer over --max-body (the first chunk, 300 series x 10 points, is ~84 KB > 64 KB)
run wide wide --dry-run --from 1700000000 --to 1700003600 --step 10s --max-body 64k
check_eq "answers over --max-body: the chunk is halved, exit 0" "$rc" 0
grep -q "answer too large; chunk halved to 5 points" "$T/wide.err" && ok "halving logged" ||
    not_ok "halving logged ($(head -3 "$T/wide.err"))"
check_eq "every point still arrives once (300 series x 361 times)" "$(sort -u "$T/wide.out" | wc -l)" 108300
check_eq "and no point twice" "$(wc -l <"$T/wide.out")" 108300
awk '$2 == "wide" && $3 != "-" { print $3, $4 }' "$T/requests.log" >"$T/wide.ranges"
"$PY" - "$T/wide.ranges" <<'PY' && ok "the 200 answers' ranges tile the grid exactly" || not_ok "ranges tile the grid"
import sys
from decimal import Decimal
rs = [tuple(map(Decimal, l.split())) for l in open(sys.argv[1])]
# keep the requests that succeeded: later ones never overlap an earlier success
ok, done = [], []
for s, e in rs:
    ok = [r for r in ok if not (r[0] == s)]  # a halved retry replaces the refused one
    ok.append((s, e))
cur = Decimal(1700000000)
for s, e in ok:
    assert s == cur, (s, cur)
    cur = e + 10
assert cur == Decimal(1700003600) + 10, cur
PY

run slow slow --dry-run --from 1700000000 --to 1700000600 --step 10s
check_eq "503 timeout: the chunk is halved until it runs, exit 0" "$rc" 0
grep -q "query timed out; chunk halved" "$T/slow.err" && ok "timeout halving logged" || not_ok "timeout halving"
check_eq "all 2 x 61 points" "$(sort -u "$T/slow.out" | wc -l)" 122

run toomany toomany --dry-run --from 1700000000 --to 1700000600 --step 10s
check_eq "422 too many samples: halved, exit 0" "$rc" 0
check_eq "all 2 x 61 points" "$(sort -u "$T/toomany.out" | wc -l)" 122

# resume state lives in the state file: a dry run has none
run up up --dry-run --from 1700000000 --to 1700000060 --step 60s --resume
grep -q "dry-run reads no checkpoint" "$T/up.err" && ok "--resume with --dry-run says it reads no checkpoint" ||
    not_ok "--resume with --dry-run warning"

# an Indexed Job pod takes its slice of the range
: >"$T/requests.log"
JOB_COMPLETION_INDEX=1 CRONFLUX_SLICES=3 run slow slow --dry-run --from 1700000000 \
    --to 1700000090 --step 10s --chunk 10
check_eq "slice 1 of 3 exits 0" "$rc" 0
check_eq "slice 1 of [0, 90 s] is [30 s, 60 s): 3 times x 2 series" "$(wc -l <"$T/slow.out")" 6
grep -q "query_range slow 1700000030 1700000050 " "$T/requests.log" && ok "and asks for exactly that range" ||
    not_ok "slice request ($(cat "$T/requests.log"))"

finish
