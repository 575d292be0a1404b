#!/usr/bin/env bash
# cronflux dead-letters against the real InfluxDB 1.6.7: a point InfluxDB refuses (a field type
# conflict) is listed with InfluxDB's reason, when, and which job; exported as its line; the
# cause is fixed in InfluxDB (the measurement with the old type dropped); requeued, it is
# delivered and the dead letter is gone. Drop forgets one; the selections (--job, --id, --all)
# and the usage errors.
. "$(dirname "$0")/../lib/common.sh"

start_influxd dl || { not_ok "influxd starts"; finish; }
ok "influxd starts"
export CRONFLUX_STATE=$T/dl.db
use_influx dl

# 1. f is an integer in InfluxDB; then a line brings it as a float: refused
echo 'dl_m,host=a f=100i 1700000000000000000' | cf first push
check_rc "first push (f integer): exit 0" 0
printf 'dl_m,host=a f=2.5 1700000000000000002\ndl_m,host=a f=3i 1700000000000000003\n' | cf conflict push
check_rc "the conflicting push: exit 0 (the refused line is a dead letter)" 0
check "push points at cronflux dead-letters" grep -q '1 refused by InfluxDB (dead letters: cronflux dead-letters lists them)' "$CF_ERR"
cf status status
check_eq "status counts 1 dead letter" "$(status_dead_letters "$CF_OUT")" 1
check "status says how to list them" grep -q '^dead letters: 1 (lines InfluxDB refused: cronflux dead-letters lists them)' "$CF_OUT"

# 2. listed: the line, InfluxDB's reason, when, which job
cf list dead-letters
check_rc "dead-letters: exit 0" 0
check "list: the line" grep -qF '       line:   dl_m,host=a f=2.5 1700000000000000002' "$CF_OUT"
check "list: InfluxDB's reason" grep -q '       reason: .*field type conflict' "$CF_OUT"
check "list: id, when (RFC 3339) and the job" grep -qE '^#[0-9]+ +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z  job cronflux$' "$CF_OUT"
check "list: a count and what to do" grep -q '1 dead letter (export prints the lines; requeue sends them again once the cause is fixed; drop forgets them)' "$CF_ERR"
cf list-json dead-letters list --json
check_rc "dead-letters list --json: exit 0" 0
check "list --json: one object with id, time, job, line, error, batch" "$PY" -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
r = rows[0]
assert len(rows) == 1, rows
assert r["line"] == "dl_m,host=a f=2.5 1700000000000000002", r
assert "field type conflict" in r["error"] and r["job"] == "cronflux", r
assert r["time"].endswith("Z") and isinstance(r["id"], int) and isinstance(r["batch"], int), r' "$CF_OUT"
dl_id=$("$PY" -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["id"])' "$CF_OUT")

# 3. export: the lines alone, as line protocol
cf export dead-letters export
check_rc "dead-letters export: exit 0" 0
check_eq "export prints the refused line" "$(cat "$CF_OUT")" 'dl_m,host=a f=2.5 1700000000000000002'

# 4. requeued before the cause is fixed: refused again, a dead letter again (nothing lost)
cf requeue-early dead-letters requeue
check_rc "requeue before the fix: exit 0" 0
check "it says the line went back to pending" grep -q 'dead-letters: 1 line put back to pending' "$CF_ERR"
cf list-again dead-letters list --json
check_eq "refused again: still 1 dead letter" "$(wc -l <"$CF_OUT")" 1

# 5. the cause fixed (the measurement with the integer f dropped), requeued: delivered
influx_q dl 'DROP MEASUREMENT dl_m' >/dev/null
cf dry dead-letters requeue --dry-run
check_rc "requeue --dry-run: exit 0" 0
check "requeue --dry-run changes nothing and says so" grep -q 'dry run: 1 dead letter would be requeued; nothing changed' "$CF_ERR"
cf requeue dead-letters requeue
check_rc "requeue after the fix: exit 0" 0
check_eq "the line is in InfluxDB" "$(influx_scalar dl 'SELECT f FROM dl_m WHERE time = 1700000000000000002')" 2.5
check "f is a float field now" bash -c "[ \"\$('$PY' '$STORE_CHECK' scalar '$INFLUX_URL' dl 'SHOW FIELD KEYS FROM dl_m')\" = float ]"
cf list-after dead-letters list
check "no dead letter left" grep -q '^cronflux: info: 0 dead letters$' "$CF_ERR"
cf status-after status
check_eq "status: 0 dead letters, nothing pending" "$(status_dead_letters "$CF_OUT")/$(status_pending_points "$CF_OUT")" 0/0

# 6. drop: needs a selection; by --job and --id; --all
printf 'dl_m,host=b f=4i 1700000000000000004\ndl_m,host=b f=5i 1700000000000000005\n' | cf conflict2 push
cf list2 dead-letters list --json
check_eq "two more refused (f is a float now)" "$(wc -l <"$CF_OUT")" 2
ids=$("$PY" -c 'import json,sys; print(",".join(str(json.loads(l)["id"]) for l in open(sys.argv[1])))' "$CF_OUT")
cf drop-none dead-letters drop
check_rc "drop without a selection: exit 64" 64
check "drop without a selection says how to name them" grep -q 'name them with --id N\[,N...\] or --job J, or say --all' "$CF_ERR"
cf drop-other dead-letters drop --job twitter-stats
check "drop --job of another job drops nothing" grep -q '0 dead letters dropped' "$CF_ERR"
cf drop-one dead-letters drop --id "${ids%%,*}"
check "drop --id drops that one" grep -q '^cronflux: info: 1 dead letter dropped$' "$CF_ERR"
cf drop-gone dead-letters list --id "$dl_id,${ids%%,*}" --json
check_eq "the dropped and the delivered ones are gone" "$(wc -l <"$CF_OUT")" 0
cf drop-all dead-letters drop --all
check "drop --all drops the rest" grep -q '1 dead letter dropped' "$CF_ERR"

# 7. usage errors: one line, exit 64
for args in "dead-letters frob" "dead-letters list --id 1,x" "dead-letters drop --all --job x" \
    "dead-letters export --json" "push --job x"; do
    # shellcheck disable=SC2086
    cf usage $args </dev/null
    check "cronflux $args: exit 64, one line" bash -c "[ $CF_RC = 64 ] && [ \$(wc -l <'$CF_ERR') = 1 ]"
done
cf nostate dead-letters --state "$T/none.db"
check_rc "no state file: exit 0" 0
check "no state file: says so" grep -q 'no state file .*none.db: no dead letters' "$CF_ERR"
finish
