#!/usr/bin/env bash
# make demo: run cronflux end to end on this machine (make has built bin/ already).
#
# It starts a local influxd on 127.0.0.1 when `influxd` is installed (otherwise the points stay
# in the embedded sqlite store), runs each section, and stops everything it started, pass or
# fail. Everything lives in a temp dir (KEEP_TMP=1 keeps it). DEMO_EMBEDDED=1 skips influxd.
#
# Adding a section: write a function demo_NAME that uses $CF (the binary dir), $DEMO_DB,
# `say`, `show` and `influx_table`, and add it to SECTIONS below. A section returns non-zero
# to fail the demo.
. "$(dirname "$0")/lib/common.sh"

CF=$BIN
export CRONFLUX_STATE=$T/cronflux.db
DEMO_DB=cronflux_demo
HAVE_INFLUX=0

say() { printf '\n== %s\n' "$*"; }
# show CMD...: print the command, then run it (its output indented)
show() {
    printf '$ %s\n' "$*"
    "$@" 2>&1 | sed 's/^/    /'
    return "${PIPESTATUS[0]}"
}
# influx_table QUERY: an InfluxQL answer as a small text table (needs the local influxd)
influx_table() {
    [ "$HAVE_INFLUX" = 1 ] || return 0
    printf '$ influx query: %s\n' "$1"
    influx_q "$DEMO_DB" "$1" | "$PY" -c '
import json, sys, datetime
d = json.load(sys.stdin)["results"][0]
for s in d.get("series", []):
    cols = s["columns"]
    rows = [[datetime.datetime.fromtimestamp(v / 1e9, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
             if c == "time" and isinstance(v, int) else json.dumps(v) if isinstance(v, bool) else v
             for c, v in zip(cols, r)] for r in s["values"]]
    w = [max(len(str(c)), *(len(str(r[i])) for r in rows)) for i, c in enumerate(cols)]
    print("    " + s["name"] + (" " + json.dumps(s["tags"]) if s.get("tags") else ""))
    print("    " + "  ".join(str(c).ljust(w[i]) for i, c in enumerate(cols)))
    for r in rows:
        print("    " + "  ".join(str(v).ljust(w[i]) for i, v in enumerate(r)))
if "error" in d:
    print("    error:", d["error"])'
}

# ---------------------------------------------------------------------------------------
demo_setup() {
    say "$("$CF/cronflux" --version 2>&1 | head -1)"
    if [ "${DEMO_EMBEDDED:-0}" != 1 ] && command -v influxd >/dev/null 2>&1; then
        if start_influxd demo; then
            HAVE_INFLUX=1
            export INFLUXDB_URL=$INFLUX_URL INFLUXDB_DATABASE=$DEMO_DB
            echo "InfluxDB 1.x started on $INFLUX_URL (data in $INFLUX_DIR), database $DEMO_DB"
            return 0
        fi
        echo "influxd did not start: using the embedded sqlite store"
    else
        echo "no influxd (not installed, or DEMO_EMBEDDED=1): points stay in the embedded sqlite store ($CRONFLUX_STATE)"
    fi
    unset INFLUXDB_URL INFLUXDB_DATABASE
}

# The store tool: push points (line protocol and JSON), status, export, read them back.
demo_store() {
    local now i
    now=$(date +%s)
    say "cronflux push: line protocol from stdin (timestamps in seconds)"
    {
        for i in 0 1 2 3 4 5; do
            echo "demo_cpu,host=web-1,region=eu usage_percent=$((20 + i * 7)).5,cores=8i $((now - 300 + i * 60))"
            echo "demo_cpu,host=web-2,region=eu usage_percent=$((35 + i * 3)).25,cores=4i $((now - 300 + i * 60))"
        done
    } >"$T/sample.lp"
    head -3 "$T/sample.lp" | sed 's/^/    /'
    echo "    ... ($(wc -l <"$T/sample.lp") lines)"
    show "$CF/cronflux" push --format lp --precision s <"$T/sample.lp" || return 1

    say "cronflux push: JSON, every field type"
    printf '{"measurement":"demo_event","tags":{"service":"checkout","env":"demo"},"fields":{"latency_ms":12.5,"requests":1200,"note":"deploy \\"v2\\", ok","healthy":true}}\n' >"$T/sample.jsonl"
    sed 's/^/    /' "$T/sample.jsonl"
    show "$CF/cronflux" push --format json <"$T/sample.jsonl" || return 1

    say "a bad line is named by its number; the good ones still go in (exit 65)"
    printf 'demo_cpu,host=web-3 usage_percent=1.5 %s\ndemo_cpu,host=web-3 usage_percent=oops %s\n' \
        "$now" "$now" >"$T/bad.lp"
    show "$CF/cronflux" push --precision s <"$T/bad.lp"
    local rc=$?
    echo "    (exit $rc)"
    [ "$rc" = 65 ] || return 1

    say "cronflux status"
    show "$CF/cronflux" status || return 1

    say "cronflux export (what the store holds, line protocol in ns)"
    "$CF/cronflux" export | head -6 | sed 's/^/    /'
    echo "    ... ($("$CF/cronflux" export | wc -l) lines)"

    if [ "$HAVE_INFLUX" = 1 ]; then
        say "the points in InfluxDB"
        influx_table 'SELECT mean("usage_percent") AS mean_usage, max("usage_percent") AS max_usage FROM demo_cpu GROUP BY "host"'
        influx_table 'SELECT * FROM demo_event'
        influx_table 'SELECT "job", "status", "points", "sent", "exit_code" FROM cronflux_job'
    else
        say "InfluxDB is not configured: the points wait in $CRONFLUX_STATE for 'cronflux flush'"
    fi
    return 0
}

# ---------------------------------------------------------------------------------------
SECTIONS=(demo_store)

demo_setup
failed=()
for s in "${SECTIONS[@]}"; do
    "$s" || failed+=("$s")
done
say "done"
if [ ${#failed[@]} -gt 0 ]; then
    echo "demo: failed: ${failed[*]}"
    exit 1
fi
echo "demo: every section ran (${SECTIONS[*]}); stopping what it started"
