#!/usr/bin/env bash
# make demo: cronflux end to end on this machine, in under a minute (make has built bin/).
#
# Starts InfluxDB 1.x and Prometheus (Debian's) and the X and Kubernetes API stand-ins from the
# tests, all on 127.0.0.1 (tests/lib/stack.sh); runs every job once; shows a run while InfluxDB
# is down and how the next run delivers its points; prints what each dashboard panel would show
# now (its query, expanded as Grafana expands it, and the latest values) and `cronflux status`.
# Everything it starts is stopped on exit, pass or fail; files live in a temp dir (KEEP_TMP=1
# keeps it, with the servers' logs and every job's output).
# DEMO_EMBEDDED=1 shows the embedded default instead: no server at all, points stay in the
# sqlite store (cronflux push, status, export).
. "$(dirname "$0")/lib/common.sh"
. "$ROOT/tests/lib/stack.sh"

say() { printf '\n== %s\n' "$*"; }
note() { printf '   %s\n' "$*"; }
# show CMD...: print the command, then run it (its output indented)
show() {
    local shown="$*"
    printf '   $ %s\n' "${shown//"$ROOT"\//}"
    "$@" 2>&1 | sed 's/^/     /'
    return "${PIPESTATUS[0]}"
}
# influx_table QUERY: an InfluxQL answer as a small text table
influx_table() {
    printf '   $ influx query: %s\n' "$1"
    influx_q "$STACK_DB" "$1" | "$PY" -c '
import json, sys, datetime
d = json.load(sys.stdin)["results"][0]
for s in d.get("series", []):
    cols = s["columns"]
    rows = [[datetime.datetime.fromtimestamp(v / 1e9, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
             if c == "time" and isinstance(v, int) else json.dumps(v) if isinstance(v, bool) else v
             for c, v in zip(cols, r)] for r in s["values"]]
    w = [max(len(str(c)), *(len(str(r[i])) for r in rows)) for i, c in enumerate(cols)]
    print("     " + s["name"] + (" " + json.dumps(s["tags"]) if s.get("tags") else ""))
    print("     " + "  ".join(str(c).ljust(w[i]) for i, c in enumerate(cols)))
    for r in rows:
        print("     " + "  ".join(str(v).ljust(w[i]) for i, v in enumerate(r)))
if "error" in d:
    print("     error:", d["error"])'
}

demo_exit() {
    local rc=$?
    local p alive=0
    for p in "${_pids[@]:-}"; do   # common.sh's list of what was started
        [ -n "$p" ] && kill -0 "$p" 2>/dev/null && alive=$((alive + 1))
    done
    if [ "$alive" -gt 0 ]; then
        echo
        echo "demo: stopping what it started (InfluxDB, Prometheus, the stand-ins: $alive processes)"
    fi
    cleanup
    exit "$rc"
}
trap demo_exit EXIT

# ---------------------------------------------------------------------------------------
demo_stack() {
    say "$("$BIN/cronflux" --version 2>&1 | head -1): the local stack, on 127.0.0.1 only"
    stack_start
}

demo_jobs() {
    say "Each job, once (credentials and URLs come from the environment, as in the CronJobs)"
    note "twitter-stats reads account counters and post metrics from the X API stand-in;"
    note "cluster-metrics reads nodes, pods and usage from the two Kubernetes API stand-ins;"
    note "prom-metrics runs PromQL queries now, then backfills the last minute; cronflux push"
    note "stores points from stdin. Every run commits to $CRONFLUX_STATE, then writes to InfluxDB."
    echo
    stack_run_jobs
}

# The store tool: JSON points and a bad line (the good ones still go in).
demo_store() {
    say "cronflux push: JSON, every field type"
    printf '{"measurement":"web_event","tags":{"service":"checkout","env":"demo"},"fields":{"latency_ms":12.5,"requests":1200,"note":"deploy \\"v2\\", ok","healthy":true}}\n' >"$T/sample.jsonl"
    sed 's/^/     /' "$T/sample.jsonl"
    show "$BIN/cronflux" push --format json <"$T/sample.jsonl" || return 1

    say "a bad line is named by its number; the good ones still go in (exit 65)"
    printf 'room_temperature,room=cellar celsius=12.5\nroom_temperature,room=attic celsius=oops\n' >"$T/bad.lp"
    sed 's/^/     /' "$T/bad.lp"
    show "$BIN/cronflux" push <"$T/bad.lp"
    local rc=$?
    note "(exit $rc)"
    [ "$rc" = 65 ] || return 1

    say "InfluxDB refuses a line (celsius is a float there): a dead letter, listed, fixed, pushed again"
    printf 'room_temperature,room=attic celsius=18i\nroom_temperature,room=hall celsius=19.5\n' >"$T/conflict.lp"
    sed 's/^/     /' "$T/conflict.lp"
    show "$BIN/cronflux" push <"$T/conflict.lp" || return 1
    show "$BIN/cronflux" dead-letters || return 1
    note "the cause is the line: export it, fix it, push it again, then drop the dead letter"
    "$BIN/cronflux" dead-letters export 2>/dev/null | sed 's/celsius=18i/celsius=18.0/' >"$T/fixed.lp"
    sed 's/^/     fixed: /' "$T/fixed.lp"
    show "$BIN/cronflux" push <"$T/fixed.lp" || return 1
    show "$BIN/cronflux" dead-letters drop --all || return 1
    [ "$(influx_q "$STACK_DB" 'SELECT count("celsius") FROM "room_temperature" WHERE "room" = '"'attic'" |
        "$PY" -c 'import json,sys; s=json.load(sys.stdin)["results"][0].get("series"); print(s[0]["values"][0][1] if s else 0)')" -ge 1 ] || return 1

    say "the pushed points, read back from InfluxDB"
    influx_table 'SELECT "celsius" FROM "room_temperature" GROUP BY "room"'
    influx_table 'SELECT * FROM "web_event"'
}

demo_outage() {
    say "InfluxDB down: the run's points wait in the spool; the next run sends them first"
    stack_outage
}

demo_panels() {
    say "What each dashboard panel shows now (dashboards/*.json, macros expanded as Grafana does)"
    stack_panels | sed 's/^== /-- /'
}

demo_status() {
    say "cronflux status"
    show "$BIN/cronflux" status
}

# No InfluxDB configured: the sqlite store is the embedded default.
demo_embedded() {
    unset INFLUXDB_URL INFLUXDB_HOST INFLUXDB_DATABASE
    export CRONFLUX_STATE=$T/embedded.db
    say "$("$BIN/cronflux" --version 2>&1 | head -1): the embedded store, no server at all"
    note "no INFLUXDB_URL: points stay in $CRONFLUX_STATE until 'cronflux flush' can send them"
    local now
    now=$(date +%s)
    printf 'room_temperature,room=kitchen celsius=21.5 %s\nroom_temperature,room=hall celsius=19.0 %s\n' \
        "$((now - 60))" "$now" >"$T/embedded.lp"
    sed 's/^/     /' "$T/embedded.lp"
    show "$BIN/cronflux" push --precision s <"$T/embedded.lp" || return 1
    say "cronflux status"
    show "$BIN/cronflux" status || return 1
    say "cronflux export (what the store holds, line protocol in ns)"
    show "$BIN/cronflux" export
}

# ---------------------------------------------------------------------------------------
SECONDS=0
if [ "${DEMO_EMBEDDED:-0}" = 1 ]; then
    demo_embedded || { echo "demo: the embedded store did not behave as expected"; exit 1; }
    say "done in ${SECONDS} s"
    exit 0
fi
demo_stack || { echo "demo: the local stack did not start (see above; make deps installs what is missing)"; exit 1; }
failed=()
for s in demo_jobs demo_store demo_outage demo_panels demo_status; do
    "$s" || failed+=("${s#demo_}")
done
say "done in ${SECONDS} s"
if [ ${#failed[@]} -gt 0 ]; then
    echo "demo: these steps did not go as expected: ${failed[*]} (job output: $STACK_LOGS, KEEP_TMP=1 keeps it)"
    exit 1
fi
note "every step went as expected."
note "Grafana: provision dashboards/ (datasource uid cronflux-influxdb) against your InfluxDB."
note "Kubernetes: make secrets, then kubectl apply -k k8s/ (docs/DEPLOY.md). Tests: make test."
note "To play with the stack by hand: make demo-up (and make demo-down)."
