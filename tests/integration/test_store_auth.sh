#!/usr/bin/env bash
# InfluxDB 1.x with auth on: wrong password -> 77 (password in no output, DEBUG=1 included),
# right password -> works (the database is created), password from INFLUXDB_PASSWORD_FILE,
# a user without WRITE -> 77, INFLUXDB_HOST + INFLUXDB_PORT instead of INFLUXDB_URL.
. "$(dirname "$0")/../lib/common.sh"

PASS="pw-$RANDOM$RANDOM-s3cr3t"
WRONG="bad-$RANDOM$RANDOM-pa55"
RPASS="rd-$RANDOM$RANDOM-s3cr3t"
start_influxd authd auth || { not_ok "influxd (auth on) starts"; finish; }
influx_create_admin admin "$PASS"
ok "influxd with auth starts, admin created"
export INFLUX_USER=admin INFLUX_PASS=$PASS   # for store_check's queries (influx_scalar)
count_secure() { influx_scalar secure "SELECT count(v) FROM $1"; }

export CRONFLUX_STATE=$T/auth.db INFLUXDB_URL=$INFLUX_URL INFLUXDB_DATABASE=secure
export INFLUXDB_USERNAME=admin

# 1. wrong password
echo 'auth_m v=1i 1700000000000000001' | INFLUXDB_PASSWORD=$WRONG cf push-wrong push
check_rc "wrong password: exit 77" 77
check "the 77 message says which settings to check" grep -q 'INFLUXDB_PASSWORD' "$CF_ERR"
check "the 77 message is one line" test "$(wc -l <"$CF_ERR")" -le 1
echo 'auth_m v=2i 1700000000000000002' | DEBUG=1 INFLUXDB_PASSWORD=$WRONG cf push-wrong-debug push
check_rc "wrong password, DEBUG=1: exit 77" 77
INFLUXDB_PASSWORD=$WRONG cf status-wrong status
check "status shows the refused points pending" test "$(status_pending_points "$CF_OUT")" -ge 2

# 2. no credentials at all
echo 'auth_m v=3i 1700000000000000003' | INFLUXDB_USERNAME= cf push-nocreds push
check_rc "no credentials on an auth-enabled InfluxDB: exit 77" 77

# 3. right password: the pending points go, the database is created by cronflux
echo 'auth_m v=4i 1700000000000000004' | INFLUXDB_PASSWORD=$PASS DEBUG=1 cf push-right push
check_rc "right password: exit 0" 0
check_eq "all 4 points arrived (the 3 refused earlier and this one)" "$(count_secure auth_m)" 4
check_eq "their sum" "$(influx_scalar secure 'SELECT sum(v) FROM auth_m')" 10

# 4. the password from INFLUXDB_PASSWORD_FILE (trailing newline not part of it)
printf '%s\n' "$PASS" >"$T/pw.txt"
chmod 600 "$T/pw.txt"
echo 'auth_file v=1i 1700000000000000005' | INFLUXDB_PASSWORD_FILE=$T/pw.txt cf push-pwfile push
check_rc "INFLUXDB_PASSWORD_FILE: exit 0" 0
check_eq "INFLUXDB_PASSWORD_FILE: the point arrived" "$(count_secure auth_file)" 1
echo 'auth_file v=2i 1700000000000000006' | INFLUXDB_PASSWORD_FILE=$T/missing.txt cf push-pwfile-missing push
check_rc "INFLUXDB_PASSWORD_FILE naming a missing file: exit 78" 78
check "... and the message names the variable" grep -q 'INFLUXDB_PASSWORD_FILE' "$CF_ERR"
INFLUXDB_PASSWORD=$PASS cf flush-after-missing flush

# 5. a user who may only read: 403 -> 77
curl -sS -o /dev/null -u "admin:$PASS" -XPOST "$INFLUX_URL/query" \
    --data-urlencode "q=CREATE USER reader WITH PASSWORD '$RPASS'"
curl -sS -o /dev/null -u "admin:$PASS" -XPOST "$INFLUX_URL/query" \
    --data-urlencode "q=GRANT READ ON secure TO reader"
export CRONFLUX_STATE=$T/auth-reader.db
echo 'auth_ro v=1i 1700000000000000007' | INFLUXDB_USERNAME=reader INFLUXDB_PASSWORD=$RPASS cf push-reader push
check_rc "a user without WRITE: exit 77" 77
check_eq "nothing written by the reader" "$(count_secure auth_ro)" 0

# 6. INFLUXDB_HOST + INFLUXDB_PORT instead of INFLUXDB_URL
export CRONFLUX_STATE=$T/auth-host.db
echo 'auth_host v=1i 1700000000000000008' |
    INFLUXDB_URL= INFLUXDB_HOST=127.0.0.1 INFLUXDB_PORT=$INFLUX_PORT INFLUXDB_PASSWORD=$PASS cf push-host push
check_rc "INFLUXDB_HOST + INFLUXDB_PORT: exit 0" 0
check_eq "INFLUXDB_HOST + INFLUXDB_PORT: the point arrived" "$(count_secure auth_host)" 1

no_secrets "no password (right, wrong, reader's) in any stdout/stderr, DEBUG=1 included" \
    "$PASS" "$WRONG" "$RPASS"
check "influxd still alive" kill -0 "$INFLUX_PID"
finish
