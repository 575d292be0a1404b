#!/usr/bin/env bash
# prom-metrics backfill throughput and memory: 100 series at a 60 s step over 1, 7 and 30 days
# of history, from a real Prometheus into a local influxd.
#
# History: bench/gen_openmetrics.py writes 30 days of a 100-series gauge as OpenMetrics;
# `promtool tsdb create-blocks-from openmetrics` turns it into TSDB blocks (one long block:
# --max-block-duration, else promtool rereads the file for every 2 h block); Prometheus runs
# on them with a 10-year retention (tests/lib/common.sh) so no block is dropped.
#
# For each range, against a fresh influxd each time, the backfill and its two halves alone:
#  - reading: prom-metrics --dry-run (query, parse, encode; no state file, no InfluxDB);
#  - writing: the raw InfluxDB limit, the very lines prom-metrics writes (from its --dry-run)
#    pre-encoded in batch files POSTed by curl, for each combination in BENCH_PROM_RAW
#    (CONNS:BATCH:MODE, default "1:5000:plain 1:5000:gzip 2:10000:plain 2:10000:gzip"); the
#    fastest is the best raw write rate;
#  - prom-metrics --from/--to/--step 60s into InfluxDB with the defaults (and with each
#    CRONFLUX_CONNECTIONS in BENCH_PROM_CONNS, none by default): wall time, points/s, peak RSS
#    (/usr/bin/time %M), and its ratio to the slower half;
#  - paired rounds (BENCH_PROM_PAIRS, default 3; BENCH_PROM_PAIRS_SHORT, default 9, for a
#    range of a day or less): the best raw combination again, then the backfill, each
#    backfill against the slower half of its own round. On this machine the same upload's
#    time moves by a tenth from one run to the next, so one backfill against one raw run can
#    be off by that much; the goal (>= 0.85) is judged on the rounds' mean. A 1-day round
#    takes 0.2 s and scatters most (0.78-0.92 over twelve rounds), so it gets more rounds:
#    the mean of three moved 0.82-0.92 from run to run.
# Prints a table. Figures are never asserted; the script fails only when a run fails or the
# points did not all arrive. BENCH_PROM_DAYS="1 7 30" picks the ranges, BENCH_PROM_SERIES the
# series count.
. "$(dirname "$0")/../tests/lib/common.sh"
. "$(dirname "$0")/lib.sh"

SERIES=${BENCH_PROM_SERIES:-100}
DAYS=${BENCH_PROM_DAYS:-1 7 30}
STEP=60
RAW_COMBOS=${BENCH_PROM_RAW:-"1:5000:plain 1:5000:gzip 2:10000:plain 2:10000:gzip"}
CONNS_ALSO=${BENCH_PROM_CONNS:-}
PAIRS=${BENCH_PROM_PAIRS:-3}
PAIRS_SHORT=${BENCH_PROM_PAIRS_SHORT:-9}
unset CRONFLUX_BATCH CRONFLUX_GZIP CRONFLUX_CONNECTIONS
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
    p0=$(pcpu "$PROM_PID")
    timed "dry-$d" "$PM" "${args[@]}" --dry-run --state "$T/dry.db" >"$T/lines.lp" \
        2>"$T/dry-$d.err" || die "prom-metrics --dry-run ($d days): $(tail -2 "$T/dry-$d.err")"
    dry_t=$WALL
    dry_cpu=$(awk -v a="$CPU_S" -v b="$(cpu_since "$PROM_PID" "$p0")" 'BEGIN { printf "%.1f + %.1f", a, b }')
    [ "$(wc -l <"$T/lines.lp")" = "$N" ] || die "--dry-run printed $(wc -l <"$T/lines.lp") lines, want $N"
    batches=
    for combo in $RAW_COMBOS; do
        b=$(cut -d: -f2 <<<"$combo")
        case " $batches " in *" $b "*) ;; *) split_parts "$T/lines.lp" "$T/parts-$b" "$b"; batches="$batches $b" ;; esac
    done
    rm -f "$T/lines.lp"
    raw_matrix "$N" count "$RAW_COMBOS"
    raw_t=$RAW_BEST_T raw_best=$RAW_BEST
    slow_t=$(awk -v a="$dry_t" -v b="$raw_t" 'BEGIN { print (a > b ? a : b) }')
    slower=$(awk -v a="$dry_t" -v b="$raw_t" 'BEGIN { print (a > b ? "reading" : "writing") }')

    # pm_run TAG [ENV...]: prom-metrics into a fresh influxd; sets PM_T PM_RSS PM_CHUNKS
    pm_run() {
        local tag=$1 c
        shift
        fresh_influxd "pm_${tag}_$d"
        influx_create_db bench   # as for the raw uploads: the database exists before the clock starts
        local p0 i0
        p0=$(pcpu "$PROM_PID") i0=$(pcpu "$INFLUX_PID")
        timed "pm-$tag-$d" env INFLUXDB_URL="$INFLUX_URL" INFLUXDB_DATABASE=bench "$@" \
            "$PM" "${args[@]}" --state "$T/pm-$d.db" 2>"$T/pm-$d.err" ||
            die "prom-metrics ($tag, $d days): $(tail -2 "$T/pm-$d.err")"
        PM_T=$WALL PM_RSS=$RSS_KB
        local pr ic
        pr=$(cpu_since "$PROM_PID" "$p0") ic=$(icpu_since "$i0")
        PM_CPU=$(awk -v a="$CPU_S" -v b="$pr" -v c="$ic" 'BEGIN { printf "%.1f + %.1f + %.1f", a, b, c }')
        # the CPU floor: the three processes' CPU seconds over the cores, the shortest wall
        # time they could take here if they kept every core busy
        PM_FLOOR=$(awk -v a="$CPU_S" -v b="$pr" -v c="$ic" -v n="$(nproc)" 'BEGIN { printf "%.2f", (a + b + c) / n }')
        c=$(count bench)
        [ "$c" = "$N" ] || die "prom-metrics ($tag, $d days): $c points in InfluxDB, want $N"
        PM_CHUNKS=$(grep -o '[0-9]* chunks' "$T/pm-$d.err" | head -1)
        rm -f "$T/pm-$d.db"*
    }
    pm_run default
    pm_t=$PM_T pm_rss=$PM_RSS chunks=$PM_CHUNKS pm_cpu=$PM_CPU pm_floor=$PM_FLOOR
    eval "rss_$d=$pm_rss"
    also=
    for cn in $CONNS_ALSO; do
        pm_run "c$cn" CRONFLUX_CONNECTIONS="$cn"
        also="$also|$(pps "$N" "$PM_T"): $(ratio "$slow_t" "$PM_T")"
    done
    # paired rounds: the best raw combination, then the backfill, each against its own round
    rounds=
    IFS=: read -r pc pb pmode <<<"$raw_best"
    npairs=$PAIRS
    [ "$d" -le 1 ] && npairs=$PAIRS_SHORT
    for ((k = 1; k <= npairs; k++)); do
        fresh_influxd "pair_raw_${d}_$k"
        raw_curl raw "$T/parts-$pb" "$pmode" "$pc"
        got=$(count raw)
        [ "$got" = "$N" ] || die "paired raw ($d days, round $k): $got points, want $N"
        round_slow=$(awk -v a="$dry_t" -v b="$WALL" 'BEGIN { print (a > b ? a : b) }')
        pm_run "pair$k"
        rounds="$rounds $(ratio "$round_slow" "$PM_T")"
    done
    rm -rf "$T"/parts-*
    paired=-
    if read -r pm_mean pm_low < <(mean_low "$rounds"); then
        paired="$pm_mean ($pm_low): $(meets "$pm_mean" 0.85)"
    fi
    r=$(ratio "$slow_t" "$pm_t")
    rows+=("$d d|$(num "$N")|$chunks|$(pps "$N" "$dry_t")|$(pps "$N" "$raw_t") ($raw_best)|$slower|$(pps "$N" "$pm_t")|$r$also|${rounds# }|$paired|$(mb "$pm_rss")|$dry_cpu|$pm_cpu|$pm_floor s: $(ratio "$pm_floor" "$pm_t")")
done
stop_influxd "$INFLUX_PID"

echo
echo "### prom-metrics backfill: $SERIES series, ${STEP}s step, Prometheus 2.42 -> influxd 1.6.7 (127.0.0.1), against its two halves alone"
echo
hdr_also=
for cn in $CONNS_ALSO; do hdr_also="$hdr_also|CRONFLUX_CONNECTIONS=$cn: rate, ratio"; done
{
    echo "range|points|chunks|reading alone (--dry-run)|writing alone (the best raw)|the slower half|prom-metrics -> InfluxDB (defaults)|one run: ratio to the slower half$hdr_also|paired rounds ($PAIRS; $PAIRS_SHORT at 1 day): ratio to the slower half of each|paired mean (lowest), goal >= 0.85|peak RSS|CPU s reading alone: prom-metrics + Prometheus|CPU s backfill: prom-metrics + Prometheus + influxd|CPU floor on $(nproc) cores: backfill's ratio to it"
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
echo "the best raw: the fastest of $RAW_COMBOS (connections:batch:mode), curl keeping its connections alive."
echo "paired rounds: that combination uploaded again, then the backfill, each into a fresh influxd; each backfill against max(reading alone, its round's upload)."
echo "CPU floor: the backfill's three processes' CPU seconds / cores: no schedule of them on this machine takes less wall time; the ratio says how close the backfill came to it."
echo "--dry-run: query, parse, encode, print; no state file, no InfluxDB. $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)."
