#!/usr/bin/env bash
# CRONFLUX_CONNECTIONS=2: two writes in flight (two connections, each batch claimed by one
# flusher and marked sent only after its own 2xx), against a real influxd 1.6.7 behind the
# counting proxy: every point arrives once, both for push (sending while reading) and for a
# flush of a spool; a 503 on one connection keeps its batch for the next run, nothing sent
# twice; an out-of-range value is 78.
. "$(dirname "$0")/../lib/common.sh"

start_influxd conns || { not_ok "influxd starts"; finish; }
start_proxy px "$INFLUX_URL" --delay 0.02 || { not_ok "counting proxy starts"; finish; }
ok "influxd and the counting proxy start"

gen() { # gen N SECOND: N points of measurement cn, 1 ns apart from SECOND (Unix s)
    awk -v n="$1" -v s="$2" 'BEGIN { for (i = 0; i < n; i++) printf "cn,host=h%d v=%di %d%09d\n", i % 7, i, s, i }'
}
# the distinct client connections (ports) that carried 2xx writes after FROM_N
conns_used() {
    "$PY" -c '
import json, sys
ports = {e["client_port"] for e in map(json.loads, open(sys.argv[1]))
         if e["n"] > int(sys.argv[2]) and e.get("method") == "POST" and 200 <= e["status"] < 300}
print(len(ports))' "$PROXY_LOG" "$1"
}

export CRONFLUX_BATCH=500 CRONFLUX_CONNECTIONS=2 INFLUXDB_URL=$PROXY_URL INFLUXDB_DATABASE=cn

# 1. push with InfluxDB configured: 20 batches over two connections
export CRONFLUX_STATE=$T/push.db
n0=$(kv "$(proxy_writes)" last_n)
gen 10000 1700000000 | cf push-2 push
check_rc "push, 2 connections: exit 0" 0
check_eq "every point arrived" "$(influx_count cn cn v)" 10000
w=$(proxy_writes "$PROXY_LOG" "$n0")
check_eq "no body was written twice" "$(kv "$w" dup_ok)" 0
check "two connections carried the writes ($(conns_used "$n0"))" test "$(conns_used "$n0")" -ge 2
cf status-2 status
check_eq "nothing pending" "$(status_pending_points "$CF_OUT")" 0

# 1b. a job that commits one batch at a time, while a write is on the wire: the second
# connection takes the new batch at once (a background sender's lanes wait on the commits,
# not on a backlog), once InfluxDB accepted a batch of the run. push reads 64 KiB blocks:
# each burst is one block of 1024 lines of 64 bytes, one batch.
gen64() { # gen64 SECOND: 1024 lines of exactly 64 bytes
    awk -v s="$1" 'BEGIN { for (i = 0; i < 1024; i++) printf "cn,host=h%d,p=xxxxxxxxxxxxxxxxxxxx v=%06di %d%09d\n", i % 7, i, s, i }'
}
export CRONFLUX_STATE=$T/lanes.db
proxy_set delay=1.0
n0=$(kv "$(proxy_writes)" last_n)
{ gen64 1700000050; sleep 1.4; gen64 1700000051; sleep 0.3; gen64 1700000052; } |
    CRONFLUX_BATCH=1024 cf push-lanes push
check_rc "push, one batch at a time: exit 0" 0
proxy_set delay=0.02
check_eq "every point arrived" "$(influx_count cn cn v)" 13072
overlap=$("$PY" -c '
import json, sys
L = sorted((e for e in map(json.loads, open(sys.argv[1]))
            if e["n"] > int(sys.argv[2]) and e.get("method") == "POST" and 200 <= e["status"] < 300),
           key=lambda e: e["t0"])
print(sum(1 for a, b in zip(L, L[1:]) if b["t0"] < a["t"]))' "$PROXY_LOG" "$n0")
check "a write went out while another was on the wire ($overlap)" test "$overlap" -ge 1
[ "$overlap" -ge 1 ] || "$PY" -c "import json,sys; [print(e[\"n\"], e[\"client_port\"], e.get(\"lines\"), round(e[\"t0\"]%100,3), round(e[\"t\"]%100,3)) for e in map(json.loads, open(sys.argv[1])) if e[\"n\"] > int(sys.argv[2])]" "$PROXY_LOG" "$n0" >&2
check_eq "no body was written twice" "$(kv "$(proxy_writes "$PROXY_LOG" "$n0")" dup_ok)" 0

# 2. push --no-flush, then flush with two connections
export CRONFLUX_STATE=$T/flush.db
gen 10000 1700000100 | cf push-noflush push --no-flush
check_rc "push --no-flush: exit 0" 0
n0=$(kv "$(proxy_writes)" last_n)
cf flush-2 flush
check_rc "flush, 2 connections: exit 0" 0
check_eq "every point arrived" "$(influx_count cn cn v)" 23072
check "two connections carried the flush ($(conns_used "$n0"))" test "$(conns_used "$n0")" -ge 2
check_eq "no body was written twice" "$(kv "$(proxy_writes "$PROXY_LOG" "$n0")" dup_ok)" 0

# 3. 503s on some writes, no retries: 75, what was refused is kept; the next flush sends it
export CRONFLUX_STATE=$T/fail.db CRONFLUX_RETRIES=0
gen 10000 1700000200 | cf push-noflush-f push --no-flush
proxy_set fail503=3 retry_after=0
n0=$(kv "$(proxy_writes)" last_n)
cf flush-503 flush
check_rc "flush with 503s: exit 75" 75
proxy_set fail503=0
cf flush-again flush
check_rc "the next flush: exit 0" 0
check_eq "every point arrived once" "$(influx_count cn cn v)" 33072
check_eq "no body was stored twice" "$(kv "$(proxy_writes "$PROXY_LOG" "$n0")" dup_ok)" 0

# 3b. a server that refuses the first write hears one request, as with one connection
export CRONFLUX_STATE=$T/first.db
gen 5000 1700000300 | cf push-noflush-1 push --no-flush
proxy_set fail503=1000 retry_after=0
n0=$(kv "$(proxy_writes)" last_n)
cf flush-first flush
check_rc "every write refused: exit 75" 75
check_eq "one request, not one per connection" "$(kv "$(proxy_writes "$PROXY_LOG" "$n0")" total)" 1

# 3c. one refusal after the helper started: the other flush stops too, before its next
# batch (at most its write in flight follows the 503); the rest waits for the next run
proxy_set fail503=1 pass_first=4
n0=$(kv "$(proxy_writes)" last_n)
cf flush-later flush
check_rc "refused after 4 writes: exit 75" 75
w=$(proxy_writes "$PROXY_LOG" "$n0")
check_eq "one refusal" "$(kv "$w" s503)" 1
# writes that reached the proxy after the 503 was answered (one may race its answer)
after=$("$PY" -c '
import json, sys
L = [e for e in map(json.loads, open(sys.argv[1])) if e["n"] > int(sys.argv[2]) and e.get("method") == "POST"]
t = min(e["t"] for e in L if e["status"] == 503)
print(sum(1 for e in L if e["t0"] > t))' "$PROXY_LOG" "$n0")
check "no write started after the 503 was answered, not the rest ($after started after it; $(kv "$w" total) requests)" test "$after" -le 1
proxy_set fail503=0 pass_first=0
cf flush-rest flush
check_rc "the next flush: exit 0" 0
check_eq "every point arrived once" "$(influx_count cn cn v)" 38072
check_eq "no body was stored twice" "$(kv "$(proxy_writes "$PROXY_LOG" "$n0")" dup_ok)" 0
unset CRONFLUX_RETRIES

# 4. out of range
echo 'cn v=1i 1' | CRONFLUX_CONNECTIONS=9 cf push-9 push
check_rc "CRONFLUX_CONNECTIONS=9: exit 78" 78
check "the message names CRONFLUX_CONNECTIONS" grep -q CRONFLUX_CONNECTIONS "$CF_ERR"
finish
