#!/usr/bin/env bash
# Which InfluxDB API is used (docs/DESIGN.md): INFLUXDB_API; else INFLUXDB_ORG -> 2.x; else
# no token -> 1.x; else GET /ping decides. Against a real influxd 1.6.7 (1.x, found by
# /ping from a URL + token + database, the token sent as "Authorization: Token"), the 2.x
# stand-in (a token without INFLUXDB_ORG: 78 naming it) and a wrong INFLUXDB_API (78).
# 2.x and 3.x writes themselves: test_store_v2.sh, test_store_v3.sh.
. "$(dirname "$0")/../lib/common.sh"

start_influxd api || { not_ok "influxd starts"; finish; }
start_proxy px "$INFLUX_URL" || { not_ok "counting proxy starts"; finish; }
ok "influxd 1.6.7 and the counting proxy start"
TOKEN="apitok-$RANDOM$RANDOM-s3cr3t"

# 1. URL + token + database against 1.6.7: /ping says 1.6.7 OSS, /write is used
export CRONFLUX_STATE=$T/api1.db
export INFLUXDB_URL=$PROXY_URL INFLUXDB_DATABASE=api1 INFLUXDB_TOKEN=$TOKEN
printf '%s\n' 'api_m,host=a v=1i 1700000000000000001' 'api_m,host=b v=2i 1700000000000000002' |
    cf push-token push
check_rc "token + database against 1.6.7: exit 0" 0
check_eq "the points are in 1.6.7 (the database was created)" "$(influx_count api1 api_m v)" 2
cf status-token status
check "status: 1.x /write, detected by /ping, the server's version" \
    grep -qx 'influxdb api: 1.x /write (detected by /ping; the server says InfluxDB 1.6.7~rc0 OSS)' "$CF_OUT"

# 2. no token: 1.x without asking
unset INFLUXDB_TOKEN
export CRONFLUX_STATE=$T/api1b.db
echo 'api_m,host=c v=3i 1700000000000000003' | cf push-notoken push
check_rc "no token: exit 0" 0
check_eq "the point is in 1.6.7" "$(influx_count api1 api_m v)" 3
cf status-notoken status
check "status: 1.x /write because no INFLUXDB_TOKEN" \
    grep -qx 'influxdb api: 1.x /write (no INFLUXDB_TOKEN; the server says InfluxDB 1.6.7~rc0 OSS)' "$CF_OUT"

# 3. INFLUXDB_API=3 against 1.6.7: /api/v3/write_lp is not there (404) -> 78, kept
export CRONFLUX_STATE=$T/api3on1.db
echo 'api_m,host=d v=4i 1700000000000000004' | INFLUXDB_API=3 cf push-api3 push
check_rc "INFLUXDB_API=3 against 1.x: exit 78" 78
check "the 78 message names INFLUXDB_URL and INFLUXDB_DATABASE" \
    bash -c "grep -q 'INFLUXDB_URL' '$CF_ERR' && grep -q 'INFLUXDB_DATABASE' '$CF_ERR'"
cf flush-api1 flush
check_rc "the same spool with the right API: exit 0" 0
check_eq "the kept point arrived" "$(influx_count api1 api_m v)" 4

# 4. INFLUXDB_API=7: 78 before anything is sent
echo 'api_m,host=e v=5i 1700000000000000005' | INFLUXDB_API=7 cf push-api7 push
check_rc "INFLUXDB_API=7: exit 78" 78
check "the message names INFLUXDB_API" grep -q 'INFLUXDB_API' "$CF_ERR"

# 5. a 2.x server found by /ping needs INFLUXDB_ORG: 78 naming it, the point kept
start_influx2 v2 "$TOKEN" acme metrics || { not_ok "2.x stand-in starts"; finish; }
export CRONFLUX_STATE=$T/api2.db INFLUXDB_URL=$INFLUX2_URL INFLUXDB_TOKEN=$TOKEN
unset INFLUXDB_DATABASE
export INFLUXDB_BUCKET=metrics
echo 'api_v2 v=1i 1700000000000000010' | cf push-v2-noorg push
check_rc "2.x by /ping without INFLUXDB_ORG: exit 78" 78
check "the message names INFLUXDB_ORG and the server" \
    bash -c "grep -q 'INFLUXDB_ORG' '$CF_ERR' && grep -q 'InfluxDB 2.7.12 OSS' '$CF_ERR'"
INFLUXDB_ORG=acme cf flush-v2-org flush
check_rc "with INFLUXDB_ORG: exit 0" 0
check "the kept point arrived in the 2.x bucket" grep -q '"line": "api_v2 v=1i 1700000000000000010"' "$INFLUX2_LINES"


# 6. a 2.0.x server: /ping sends X-Influxdb-Version empty, so GET /health tells the version
INFLUX2_ARGS="--version 2.0.8 --ping-version-empty" start_influx2 v208 "$TOKEN" acme metrics ||
    { not_ok "2.0.8 stand-in starts"; finish; }
export CRONFLUX_STATE=$T/api208.db INFLUXDB_URL=$INFLUX2_URL
echo 'api_v208 v=1i 1700000000000000020' | cf push-v208-noorg push
check_rc "2.0.8 by /ping + /health without INFLUXDB_ORG: exit 78" 78
check "the message names INFLUXDB_ORG and the version /health gave" \
    bash -c "grep -q 'INFLUXDB_ORG' '$CF_ERR' && grep -q 'InfluxDB 2.0.8 OSS' '$CF_ERR'"
check "/health was asked after /ping" "$PY" -c '
import json, sys
paths = [e["path"] for e in map(json.loads, open(sys.argv[1]))]
sys.exit(0 if paths[:2] == ["/ping", "/health"] else 1)' "$INFLUX2_LOG"
INFLUXDB_ORG=acme cf flush-v208 flush
check_rc "with INFLUXDB_ORG: exit 0" 0
check "the kept point arrived" grep -q '"line": "api_v208 v=1i 1700000000000000020"' "$INFLUX2_LINES"
INFLUXDB_ORG=acme cf status-v208 status
check "status names the 2.0.8 server" grep -q 'the server says InfluxDB 2.0.8 OSS' "$CF_OUT"

no_secrets "the token appears in no stdout/stderr" "$TOKEN"
finish
