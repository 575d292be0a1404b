#!/usr/bin/env bash
# One damaged batch does not block the queue (issue 10.3): bytes flipped in one stored gzip
# body (as a bad disk sector or a stray write would) -> that batch is moved aside with its
# reason (the quarantine, shown by `cronflux status`), everything after it is sent to a real
# InfluxDB 1.x, and `cronflux export` skips it instead of aborting.
. "$(dirname "$0")/../lib/common.sh"

start_influxd damaged || { not_ok "influxd starts"; finish; }
ok "influxd starts"
export CRONFLUX_STATE=$T/d.db CRONFLUX_BATCH=1000
use_influx dmg

# 3000 points in 3 batches of 1000 (each over 16 KiB: stored gzip), not sent yet
awk 'BEGIN { for (i = 1; i <= 3000; i++) printf "dmg,host=h%d v=%di %.0f\n", i % 5, i, 1700000000000000000 + i * 1000000000 }' |
    cf push push --no-flush
check_rc "push --no-flush: exit 0" 0
check_eq "three gzip-stored batches" \
    "$(sqlite3 "$CRONFLUX_STATE" 'SELECT count(*) FROM bodies WHERE enc = 1')" 3
second=$(sqlite3 "$CRONFLUX_STATE" 'SELECT batch_id FROM bodies WHERE enc = 1 ORDER BY batch_id LIMIT 1 OFFSET 1')
"$PY" -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
b = bytearray(db.execute("SELECT body FROM bodies WHERE batch_id = ?", (int(sys.argv[2]),)).fetchone()[0])
b[300:308] = bytes.fromhex("deadbeefdeadbeef")
db.execute("UPDATE bodies SET body = ? WHERE batch_id = ?", (bytes(b), int(sys.argv[2])))
db.commit()' "$CRONFLUX_STATE" "$second"
check_eq "bytes flipped in the second batch's body" "$(sqlite3 "$CRONFLUX_STATE" "SELECT hex(substr(body, 301, 4)) FROM bodies WHERE batch_id = $second")" DEADBEEF
cp "$CRONFLUX_STATE" "$T/copy.db"

# export (on a copy): the damaged batch is skipped, the rest printed, exit 0
CRONFLUX_STATE=$T/copy.db cf export export
check_rc "export: exit 0 (does not abort)" 0
check_eq "export: the 2000 points of the sound batches" "$(grep -c '^dmg,' "$CF_OUT")" 2000
check "export: says a damaged batch was skipped and moved aside" grep -q "damaged batch skipped and moved aside" "$CF_ERR"
CRONFLUX_STATE=$T/copy.db cf status-copy status
check "status after export: quarantined: 1 batches, 1000 points" grep -q '^quarantined: 1 batches, 1000 points' "$CF_OUT"

# flush: the damaged batch is moved aside, the ones after it are sent
cf flush flush
check_rc "flush: exit 0 (does not stop at the damaged batch)" 0
check_eq "the 2000 points of the sound batches are in InfluxDB" "$(influx_count dmg dmg v)" 2000
cf status status
check_rc "status: exit 0" 0
check_eq "status: nothing pending" "$(status_pending_points "$CF_OUT")" 0
check "status: quarantined: 1 batches, 1000 points, with the reason" \
    grep -qE "^quarantined: 1 batches, 1000 points .*newest: batch $second: .*damaged" "$CF_OUT"
check_eq "the quarantine keeps the stored bytes as they were" \
    "$(sqlite3 "$CRONFLUX_STATE" "SELECT hex(substr(body, 301, 4)) FROM quarantine WHERE batch_id = $second")" DEADBEEF
cf status-json status --json
check "status --json: quarantined_batches 1" grep -q '"quarantined_batches": 1' "$CF_OUT"
cf flush2 flush
check_rc "a second flush: exit 0, nothing stuck" 0

finish
