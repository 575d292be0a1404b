#!/usr/bin/env bash
# One damaged batch does not block the queue (issue 10.3): bytes flipped in one stored body,
# a gzip member or an LZ4 block (as a bad disk sector or a stray write would) -> that batch is moved aside with its
# reason (the quarantine, shown by `cronflux status`), everything after it is sent to a real
# InfluxDB 1.x, and `cronflux export` skips it instead of aborting.
. "$(dirname "$0")/../lib/common.sh"

start_influxd damaged || { not_ok "influxd starts"; finish; }
ok "influxd starts"
# Both stored forms: gzip members (CRONFLUX_GZIP=1) and LZ4 blocks (CRONFLUX_GZIP unset: the
# lines go plain to this loopback InfluxDB, so they are stored as LZ4 with a CRC)
for form in gzip:1 lz4:2; do
name=${form%%:*} enc=${form#*:}
if [ "$name" = gzip ]; then export CRONFLUX_GZIP=1; else unset CRONFLUX_GZIP; fi
export CRONFLUX_STATE=$T/d-$name.db CRONFLUX_BATCH=1000
use_influx dmg

# 3000 points in 3 batches of 1000 (each over 16 KiB: stored packed), not sent yet
awk -v m="dmg_$name" 'BEGIN { for (i = 1; i <= 3000; i++) printf "%s,host=h%d v=%di %.0f\n", m, i % 5, i, 1700000000000000000 + i * 1000000000 }' |
    cf push-$name push --no-flush
check_rc "$name: push --no-flush: exit 0" 0
check_eq "$name: three batches stored as enc $enc" \
    "$(sqlite3 "$CRONFLUX_STATE" "SELECT count(*) FROM bodies WHERE enc = $enc")" 3
second=$(sqlite3 "$CRONFLUX_STATE" "SELECT batch_id FROM bodies WHERE enc = $enc ORDER BY batch_id LIMIT 1 OFFSET 1")
"$PY" -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
b = bytearray(db.execute("SELECT body FROM bodies WHERE batch_id = ?", (int(sys.argv[2]),)).fetchone()[0])
b[300:308] = bytes.fromhex("deadbeefdeadbeef")
db.execute("UPDATE bodies SET body = ? WHERE batch_id = ?", (bytes(b), int(sys.argv[2])))
db.commit()' "$CRONFLUX_STATE" "$second"
check_eq "$name: bytes flipped in the second batch's body" "$(sqlite3 "$CRONFLUX_STATE" "SELECT hex(substr(body, 301, 4)) FROM bodies WHERE batch_id = $second")" DEADBEEF
cp "$CRONFLUX_STATE" "$T/copy-$name.db"

# export (on a copy): the damaged batch is skipped, the rest printed, exit 0
CRONFLUX_STATE=$T/copy-$name.db cf export-$name export
check_rc "$name: export: exit 0 (does not abort)" 0
check_eq "$name: export: the 2000 points of the sound batches" "$(grep -c "^dmg_$name," "$CF_OUT")" 2000
check "$name: export: says a damaged batch was skipped and moved aside" grep -q "damaged batch skipped and moved aside" "$CF_ERR"
CRONFLUX_STATE=$T/copy-$name.db cf status-copy-$name status
check "$name: status after export: quarantined: 1 batches, 1000 points" grep -q '^quarantined: 1 batches, 1000 points' "$CF_OUT"

# flush: the damaged batch is moved aside, the ones after it are sent
cf flush-$name flush
check_rc "$name: flush: exit 0 (does not stop at the damaged batch)" 0
check_eq "$name: the 2000 points of the sound batches are in InfluxDB" "$(influx_count dmg "dmg_$name" v)" 2000
cf status-$name status
check_rc "$name: status: exit 0" 0
check_eq "$name: status: nothing pending" "$(status_pending_points "$CF_OUT")" 0
check "$name: status: quarantined: 1 batches, 1000 points, with the reason" \
    grep -qE "^quarantined: 1 batches, 1000 points .*newest: batch $second: .*damaged" "$CF_OUT"
check_eq "$name: the quarantine keeps the stored bytes as they were" \
    "$(sqlite3 "$CRONFLUX_STATE" "SELECT hex(substr(body, 301, 4)) FROM quarantine WHERE batch_id = $second")" DEADBEEF
cf status-json-$name status --json
check "$name: status --json: quarantined_batches 1" grep -q '"quarantined_batches": 1' "$CF_OUT"
cf flush2-$name flush
check_rc "$name: a second flush: exit 0, nothing stuck" 0

done
finish
