#!/usr/bin/env bash
# prom-metrics backfill throughput and memory: 100 series at a 60 s step over 1, 7 and 30 days
# of history, from a real Prometheus into a local influxd.
#
# History: bench/gen_openmetrics.py writes 30 days of a 100-series gauge as OpenMetrics;
# `promtool tsdb create-blocks-from openmetrics` turns it into TSDB blocks (one long block:
# --max-block-duration, else promtool rereads the file for every 2 h block); Prometheus runs
# on them with a 10-year retention (tests/lib/common.sh) so no block is dropped.
#
# For each range, against a fresh influxd each time:
#  - prom-metrics --from/--to/--step 60s: wall time, points/s, peak RSS (/usr/bin/time %M);
#    and, to show where the time goes, the same with no InfluxDB (spool only) and --dry-run;
#  - the raw InfluxDB limit: the very lines prom-metrics writes (taken from its --dry-run),
#    in 5000-line batch files POSTed by one curl process over one keep-alive connection,
#    pre-gzipped (prom-metrics gzips too) and plain.
# Prints a table. Figures are never asserted; the script fails only when a run fails or the
# points did not all arrive. BENCH_PROM_DAYS="1 7 30" picks the ranges, BENCH_PROM_SERIES the
# series count.
. "$(dirname "$0")/../tests/lib/common.sh"
. "$(dirname "$0")/lib.sh"

SERIES=${BENCH_PROM_SERIES:-100}
DAYS=${BENCH_PROM_DAYS:-1 7 30}
STEP=60
BATCH=5000
PM=$BIN/prom-metrics
die() { echo "bench_prom: $*" >&2; exit 1; }
[ -x "$PM" ] || die "$PM not built (make first)"
for t in prometheus promtool influxd curl /usr/bin/time; do
    command -v "$t" >/dev/null || die "$t is not installed"
done
maxdays=0
for d in $DAYS; do [ "$d" -gt "$maxdays" ] && maxdays=$d; done

pps() {
    awk -v n="$1" -v t="$2" 'BEGIN {
        x = sprintf("%.0f", (t > 0 ? n / t : 0)); s = ""
        while (length(x) > 3) { s = "," substr(x, length(x) - 2) s; x = substr(x, 1, length(x) - 3) }
        printf "%s%s/s (%.1f s)", x, s, t }'
}
num() {
    awk -v x="$1" 'BEGIN { x = sprintf("%.0f", x); s = ""
        while (length(x) > 3) { s = "," substr(x, length(x) - 2) s; x = substr(x, 1, length(x) - 3) }
        printf "%s%s", x, s }'
}
fresh_influxd() {
    [ -n "${INFLUX_PID:-}" ] && stop_influxd "$INFLUX_PID"
    rm -rf "$T/${LAST_INFLUX:-none}"
    start_influxd "$1" || die "influxd did not start"
    LAST_INFLUX=$1
}
count() { influx_count "$1" hist value; }

# ---------------------------------------------------------------- history
END=$(($(date +%s) / 3600 * 3600 - 3600))
START=$((END - maxdays * 86400))
echo "# generating $maxdays days of $SERIES series at ${STEP}s ($(num $((SERIES * (maxdays * 86400 / STEP + 1)))) samples)"
"$PY" "$ROOT/bench/gen_openmetrics.py" --series "$SERIES" --start "$START" --end "$END" \
    --interval "$STEP" --families 1 >"$T/history.om" || die "generator failed"
echo "# promtool tsdb create-blocks-from openmetrics"
promtool tsdb create-blocks-from openmetrics -q --max-block-duration=8760h "$T/history.om" \
    "$T/promdata" >"$T/promtool.log" 2>&1 || die "promtool: $(tail -3 "$T/promtool.log")"
rm -f "$T/history.om"
PROM_SCRAPE=15s PROM_DATA=$T/promdata start_prometheus || die "prometheus did not start"
export PROMETHEUS_URL=$PROM_URL
unset PROMETHEUS_QUERIES CRONFLUX_ALIGN JOB_COMPLETION_INDEX CRONFLUX_SLICES
printf 'hist = hist_value\n' >"$T/q.txt"


rows=()
for d in $DAYS; do
    from=$((END - d * 86400))
    N=$((SERIES * (d * 86400 / STEP + 1)))
    echo "# $d days: $(num "$N") points"
    args=(--queries "$T/q.txt" --from "$from" --to "$END" --step "${STEP}s")

    # the lines prom-metrics writes, and how fast it reads, parses and encodes them
    timed "dry-$d" "$PM" "${args[@]}" --dry-run --state "$T/dry.db" >"$T/lines.lp" \
        2>"$T/dry-$d.err" || die "prom-metrics --dry-run ($d days): $(tail -2 "$T/dry-$d.err")"
    dry_t=$WALL
    [ "$(wc -l <"$T/lines.lp")" = "$N" ] || die "--dry-run printed $(wc -l <"$T/lines.lp") lines, want $N"
    rm -rf "$T/parts"
    mkdir -p "$T/parts"
    split -l "$BATCH" -d -a 5 "$T/lines.lp" "$T/parts/p."
    rm -f "$T/lines.lp"
    for f in "$T"/parts/p.*; do gzip -1 -c "$f" >"$f.gz"; done

    fresh_influxd "raw_gz_$d"
    raw_curl raw "$T/parts" gzip
    raw_gz_t=$WALL
    [ "$(count raw)" = "$N" ] || die "raw gzip ($d days): $(count raw) points, want $N"
    fresh_influxd "raw_pl_$d"
    raw_curl raw "$T/parts" plain
    raw_pl_t=$WALL conns=$RAW_CONNS
    [ "$(count raw)" = "$N" ] || die "raw plain ($d days): $(count raw) points, want $N"
    rm -rf "$T/parts"

    # the same with no InfluxDB configured: read, parse, encode, commit to sqlite
    timed "spool-$d" env -u INFLUXDB_URL -u INFLUXDB_HOST CRONFLUX_BATCH=$BATCH "$PM" "${args[@]}" \
        --state "$T/spool-$d.db" 2>"$T/spool-$d.err" ||
        die "prom-metrics, spool only ($d days): $(tail -2 "$T/spool-$d.err")"
    spool_t=$WALL
    rm -f "$T/spool-$d.db"*

    fresh_influxd "pm_$d"
    timed "pm-$d" env INFLUXDB_URL="$INFLUX_URL" INFLUXDB_DATABASE=bench CRONFLUX_BATCH=$BATCH \
        "$PM" "${args[@]}" --state "$T/pm-$d.db" 2>"$T/pm-$d.err" ||
        die "prom-metrics ($d days): $(tail -2 "$T/pm-$d.err")"
    pm_t=$WALL pm_rss=$RSS_KB
    c=$(count bench)
    [ "$c" = "$N" ] || die "prom-metrics ($d days): $c points in InfluxDB, want $N"
    chunks=$(grep -o '[0-9]* chunks' "$T/pm-$d.err" | head -1)
    rm -f "$T/pm-$d.db"*
    eval "rss_$d=$pm_rss"
    rows+=("$d d|$(num "$N")|$chunks|$(pps "$N" "$pm_t")|$(ratio "$raw_gz_t" "$pm_t") / $(ratio "$raw_pl_t" "$pm_t")|$(pps "$N" "$raw_gz_t")|$(pps "$N" "$raw_pl_t")|$(pps "$N" "$spool_t")|$(pps "$N" "$dry_t")|$(mb "$pm_rss")")
done
stop_influxd "$INFLUX_PID"

echo
echo "### prom-metrics backfill: $SERIES series, ${STEP}s step, Prometheus 2.42 -> influxd 1.6.7 (127.0.0.1), batches of $BATCH"
echo
{
    echo "range|points|chunks|prom-metrics -> InfluxDB|ratio to raw (gzip / plain)|raw curl, gzip|raw curl, plain|prom-metrics, spool only|--dry-run (read+parse+encode)|peak RSS"
    printf '%s\n' "${rows[@]}"
} | awk -F'|' '
    { for (i = 1; i <= NF; i++) { c[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } n = NF }
    END {
        for (r = 1; r <= NR; r++) {
            line = "|"; for (i = 1; i <= n; i++) line = line sprintf(" %-*s |", w[i], c[r, i]); print line
            if (r == 1) { line = "|"; for (i = 1; i <= n; i++) { d = ""; for (k = 0; k < w[i] + 2; k++) d = d "-"; line = line d "|" } print line }
        }
    }'
echo
set -- $DAYS
first=$1
last=${!#}
if [ "$first" != "$last" ]; then
    a=$(eval echo "\$rss_$first") b=$(eval echo "\$rss_$last")
    awk -v a="$a" -v b="$b" -v f="$first" -v l="$last" 'BEGIN {
        r = (a > 0 ? (b - a) / a * 100 : 0)
        printf "peak RSS %s d -> %s d: %.1f MB -> %.1f MB (%+.1f%%); target: within 20%% (%s)\n",
            f, l, a / 1024, b / 1024, r, (r <= 20 && r >= -20 ? "met" : "MISSED") }'
fi
echo "raw curl used $conns connection(s) for all its batches (keep-alive)."
echo "spool only: no InfluxDB configured (query, parse, encode, sqlite commit); --dry-run: no state file either."
