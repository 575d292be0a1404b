#!/usr/bin/env bash
# The embedded default and replay.
#  - no INFLUXDB_*: push keeps the points in the sqlite store, status says InfluxDB is not
#    configured, export prints them; then INFLUXDB_URL is set and flush sends them
#  - replay --from --to after DROP DATABASE and into a fresh influxd refills the range
. "$(dirname "$0")/../lib/common.sh"

export CRONFLUX_STATE=$T/embedded.db CRONFLUX_BATCH=50
T0=1700000000   # 2023-11-14T22:13:20Z
# 200 points one minute apart: batch k (of 50 lines) holds minutes 50k+1 .. 50k+50
awk -v t0=$T0 'BEGIN { for (i = 1; i <= 200; i++) printf "emb,host=h%d v=%di,f=%d.25 %d000000000\n", i % 3, i, i, t0 + i * 60 }' \
    >"$T/emb.lp"
sort "$T/emb.lp" >"$T/emb.sorted"

# ---------------------------------------------------------------------------------------
# 1. nothing configured: the points stay
cf push-embedded push <"$T/emb.lp"
check_rc "push without InfluxDB: exit 0" 0
check "push says where the points are" grep -q 'not configured' "$CF_ERR"
cf status-embedded status
check_rc "status: exit 0" 0
check "status says InfluxDB is not configured" grep -qi 'influxdb.*not configured' "$CF_OUT"
check "status shows the 200 points pending (got $(status_pending_points "$CF_OUT"))" \
    test "$(status_pending_points "$CF_OUT")" -ge 200
text_pending=$(status_pending_points "$CF_OUT")
cf status-json status --json
check_rc "status --json: exit 0" 0
check "status --json: configured false, same pending count as the text" "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d["influxdb"]["configured"] is False and d["pending_points"] == int(sys.argv[2]) else 1)' \
    "$CF_OUT" "$text_pending"
cf export-all export
check_rc "export: exit 0" 0
grep -v '^cronflux_job' "$CF_OUT" | sort >"$T/export.sorted"
check "export prints every pushed point" diff -u "$T/emb.sorted" "$T/export.sorted"
check "export prints the push run's own cronflux_job point" grep -q '^cronflux_job,job=cronflux,' "$CF_OUT"
cf export-range export --from $((T0 + 10 * 60)) --to $((T0 + 19 * 60))
check_eq "export --from --to (Unix seconds): the 10 points in range" "$(grep -c '^emb,' "$CF_OUT")" 10
cf export-rfc3339 export --from 2023-11-14T22:23:20Z --to 2023-11-14T22:32:20Z
check_eq "export --from --to (RFC 3339): the same 10 points" "$(grep -c '^emb,' "$CF_OUT")" 10
cf flush-unconfigured flush
check_rc "flush without InfluxDB: exit 0 (nothing to do)" 0
cf replay-unconfigured replay --from $T0 --to $((T0 + 3600))
check_rc "replay without InfluxDB: exit 78" 78
echo 'emb_bad f=' | cf push-embedded-bad push
check_rc "a bad line without InfluxDB: still exit 65" 65

# ---------------------------------------------------------------------------------------
# 2. InfluxDB appears: flush sends everything
start_influxd emb || { not_ok "influxd starts"; finish; }
use_influx emb
cf flush-configured flush
check_rc "flush once INFLUXDB_URL is set: exit 0" 0
check_eq "all 200 points in InfluxDB" "$(influx_count emb emb v)" 200
check_eq "their sum" "$(influx_sum emb emb v)" 20100
cf status-flushed status
check_eq "nothing pending" "$(status_pending_points "$CF_OUT")" 0
check "status names the InfluxDB it sends to" grep -q "^influxdb: .*127.0.0.1" "$CF_OUT"
check "status --json: configured true" bash -c \
    "'$BIN/cronflux' status --json | '$PY' -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)[\"influxdb\"][\"configured\"] else 1)'"

# ---------------------------------------------------------------------------------------
# 3. replay after DROP DATABASE: minutes 60..140 lie in batches 2 and 3 (minutes 51..150)
influx_q emb 'DROP DATABASE emb' >/dev/null
check_eq "database dropped" "$(influx_count emb emb v 2>/dev/null || echo 0)" 0
cf replay-range replay --from $((T0 + 60 * 60)) --to $((T0 + 140 * 60))
check_rc "replay --from --to: exit 0" 0
inrange=$(influx_scalar emb "SELECT count(v) FROM emb WHERE time >= $(((T0 + 60 * 60)))s AND time <= $(((T0 + 140 * 60)))s")
check_eq "replay refilled every point in range (81)" "$inrange" 81
check_eq "... with the right values" \
    "$(influx_scalar emb "SELECT sum(v) FROM emb WHERE time >= $(((T0 + 60 * 60)))s AND time <= $(((T0 + 140 * 60)))s")" \
    $(((60 + 140) * 81 / 2))
total=$(influx_count emb emb v)
echo "# replay of minutes 60..140 sent $total points (batches overlapping the range)"
check "replay sent only the batches overlapping the range (minutes 51..150: 100)" test "$total" -eq 100
cf replay-again replay --from $((T0 + 60 * 60)) --to $((T0 + 140 * 60))
check_rc "the same replay again: exit 0" 0
check_eq "a replay overwrites (same timestamps): still 100" "$(influx_count emb emb v)" 100

# a fresh influxd: replay of everything
start_influxd fresh || { not_ok "second influxd starts"; finish; }
use_influx emb2
cf replay-fresh replay --from 2023-11-14T00:00:00Z --to now
check_rc "replay into a fresh influxd: exit 0" 0
check_eq "the fresh influxd has all 200 points" "$(influx_count emb2 emb v)" 200
check_eq "their sum" "$(influx_sum emb2 emb v)" 20100
check "influxd still alive" kill -0 "$INFLUX_PID"
finish
