#!/usr/bin/env bash
# The store end to end: `cronflux push` with InfluxDB configured (it sends committed batches
# while it still reads) then `cronflux flush`, and `cronflux push --no-flush` then
# `cronflux flush` one after the other, of BENCH_POINTS (default 1,000,000) k8s_pod points
# (500 series, 15 s apart) into a local influxd (a fresh one for every measurement), against
# the raw limit measured in the same run: the same line protocol in 5000-line batch files
# POSTed by one curl process over one keep-alive connection, pre-gzipped and plain. Then
# peak RSS (/usr/bin/time %M) of push and flush for 1M and BENCH_BIG_POINTS (default
# 5,000,000; 0 skips) points.
#
# Prints tables | metric | value | target |. Figures are never asserted; the script fails
# only if a run fails or the points did not all arrive.
. "$(dirname "$0")/../tests/lib/common.sh"
. "$(dirname "$0")/lib.sh"

N=${BENCH_POINTS:-1000000}
BIG=${BENCH_BIG_POINTS:-5000000}
SERIES=500
BATCH=5000
export CRONFLUX_BATCH=$BATCH
CF=$BIN/cronflux
[ -x "$CF" ] || { echo "bench_store: $CF not built (make first)" >&2; exit 1; }
command -v influxd >/dev/null || { echo "bench_store: influxd not installed" >&2; exit 1; }

rows=()
row() { rows+=("$1"$'\t'"$2"$'\t'"$3"); }
table() {
    printf '%s\n' "${rows[@]}" | awk -F'\t' '
        { m[NR] = $1; v[NR] = $2; t[NR] = $3
          if (length($1) > w1) w1 = length($1); if (length($2) > w2) w2 = length($2)
          if (length($3) > w3) w3 = length($3) }
        END {
          if (w1 < 6) w1 = 6; if (w2 < 5) w2 = 5; if (w3 < 6) w3 = 6
          printf "| %-*s | %-*s | %-*s |\n", w1, "metric", w2, "value", w3, "target"
          printf "|%s|%s|%s|\n", dash(w1 + 2), dash(w2 + 2), dash(w3 + 2)
          for (i = 1; i <= NR; i++) printf "| %-*s | %-*s | %-*s |\n", w1, m[i], w2, v[i], w3, t[i]
        }
        function dash(n,  s) { s = ""; while (n-- > 0) s = s "-"; return s }'
    rows=()
    echo
}
die() { echo "bench_store: $*" >&2; exit 1; }

# gen N: N k8s_pod points, 500 series, 15 s apart
gen() {
    awk -v n="$1" -v s="$SERIES" 'BEGIN {
        t0 = 1700000000; srand(7)
        for (i = 0; i < n; i++) {
            p = i % s; k = int(i / s)
            printf "k8s_pod,cluster=prod,namespace=ns%d,node=node-%d,pod=app-%d cpu_usage_millicores=%di,memory_usage_bytes=%di,restarts=%di %d000000000\n",
                p % 10, p % 20, p, (i * 7919) % 2000, 100000 + (i * 104729) % 900000, k % 5, t0 + k * 15
        }
    }'
}

pps() { awk -v n="$1" -v t="$2" 'BEGIN { printf "%.0f", (t > 0 ? n / t : 0) }'; }
# fmt_pps N SECONDS: "1,234,567 points/s (0.81 s)"
fmt_pps() {
    awk -v n="$1" -v t="$2" 'BEGIN {
        x = sprintf("%.0f", (t > 0 ? n / t : 0)); s = ""
        while (length(x) > 3) { s = "," substr(x, length(x) - 2) s; x = substr(x, 1, length(x) - 3) }
        printf "%s%s points/s (%.2f s)", x, s, t }'
}
meets() { awk -v r="$1" -v t="$2" 'BEGIN { print (r >= t ? "met" : "MISSED") }'; }

fresh_influxd() {
    [ -n "${INFLUX_PID:-}" ] && stop_influxd "$INFLUX_PID"
    start_influxd "$1" || die "influxd did not start"
}
count_points() { influx_count "$1" k8s_pod cpu_usage_millicores; }

echo "# generating $N points ($SERIES series, 15 s apart)"
gen "$N" >"$T/points.lp"
bytes=$(stat -c %s "$T/points.lp")
mkdir -p "$T/parts"
split -l "$BATCH" -d -a 5 "$T/points.lp" "$T/parts/p."
for f in "$T"/parts/p.*; do gzip -c "$f" >"$f.gz"; done


# ---------------------------------------------------------------------------------------
# raw limits
fresh_influxd raw_gzip
raw_curl raw "$T/parts" gzip
raw_gz_t=$WALL
raw_gz_conns=$RAW_CONNS
[ "$(count_points raw)" = "$N" ] || die "raw gzip: point count $(count_points raw), want $N"

fresh_influxd raw_plain
raw_curl raw "$T/parts" plain
raw_pl_t=$WALL
[ "$(count_points raw)" = "$N" ] || die "raw plain: point count wrong"

# cronflux: push --no-flush, then flush
# cf_run TAG GZIP: sets PUSH_T PUSH_RSS FLUSH_T FLUSH_RSS STATE_BYTES
cf_run() {
    local tag=$1 gz=$2
    fresh_influxd "cf_$tag"
    export CRONFLUX_STATE=$T/cf-$tag.db CRONFLUX_GZIP=$gz
    timed "push-$tag" "$CF" push --no-flush <"$T/points.lp" 2>"$T/push-$tag.err" ||
        die "push ($tag) failed: $(cat "$T/push-$tag.err")"
    PUSH_T=$WALL PUSH_RSS=$RSS_KB
    STATE_BYTES=$(du -cb "$CRONFLUX_STATE"* | tail -1 | cut -f1)
    timed "flush-$tag" env INFLUXDB_URL="$INFLUX_URL" INFLUXDB_DATABASE=bench "$CF" flush \
        2>"$T/flush-$tag.err" || die "flush ($tag) failed: $(cat "$T/flush-$tag.err")"
    FLUSH_T=$WALL FLUSH_RSS=$RSS_KB
    local c
    c=$(count_points bench)
    [ "$c" = "$N" ] || die "cronflux ($tag): point count $c, want $N"
    unset CRONFLUX_GZIP
}
# cf_e2e TAG GZIP: push with InfluxDB configured, then flush (nothing should be left);
# sets E2E_T (both) E2E_PUSH_RSS E2E_FLUSH_T
cf_e2e() {
    local tag=$1 gz=$2 c
    fresh_influxd "e2e_$tag"
    export CRONFLUX_STATE=$T/e2e-$tag.db CRONFLUX_GZIP=$gz
    timed "e2e-push-$tag" env INFLUXDB_URL="$INFLUX_URL" INFLUXDB_DATABASE=bench "$CF" push \
        <"$T/points.lp" 2>"$T/e2e-push-$tag.err" || die "push ($tag, configured) failed: $(cat "$T/e2e-push-$tag.err")"
    E2E_T=$WALL E2E_PUSH_RSS=$RSS_KB
    timed "e2e-flush-$tag" env INFLUXDB_URL="$INFLUX_URL" INFLUXDB_DATABASE=bench "$CF" flush \
        2>"$T/e2e-flush-$tag.err" || die "flush after push ($tag) failed: $(cat "$T/e2e-flush-$tag.err")"
    E2E_FLUSH_T=$WALL
    E2E_T=$(awk -v a="$E2E_T" -v b="$WALL" 'BEGIN { print a + b }')
    c=$(count_points bench)
    [ "$c" = "$N" ] || die "cronflux push ($tag, configured): point count $c, want $N"
    unset CRONFLUX_GZIP
}
cf_run gzip 1
gz_push_t=$PUSH_T gz_push_rss=$PUSH_RSS gz_flush_t=$FLUSH_T gz_flush_rss=$FLUSH_RSS state_bytes=$STATE_BYTES
cf_run plain 0
pl_push_t=$PUSH_T pl_flush_t=$FLUSH_T
cf_e2e gzip 1
gz_e2e=$E2E_T gz_e2e_rss=$E2E_PUSH_RSS gz_e2e_flush_t=$E2E_FLUSH_T
cf_e2e plain 0
pl_e2e=$E2E_T
stop_influxd "$INFLUX_PID"

gz_seq=$(awk -v a="$gz_push_t" -v b="$gz_flush_t" 'BEGIN { print a + b }')
pl_seq=$(awk -v a="$pl_push_t" -v b="$pl_flush_t" 'BEGIN { print a + b }')
r_e2e_gz=$(ratio "$raw_gz_t" "$gz_e2e")
r_seq_gz=$(ratio "$raw_gz_t" "$gz_seq")
r_flush_gz=$(ratio "$raw_gz_t" "$gz_flush_t")
r_e2e_pl=$(ratio "$raw_pl_t" "$pl_e2e")
r_seq_pl=$(ratio "$raw_pl_t" "$pl_seq")
r_flush_pl=$(ratio "$raw_pl_t" "$pl_flush_t")

echo "### end to end: $N points ($(mb $((bytes / 1024))) of line protocol, batches of $BATCH) into influxd 1.6.7 on 127.0.0.1"
echo
row "raw limit: curl, 1 process, 1 keep-alive connection, pre-gzipped" "$(fmt_pps "$N" "$raw_gz_t")" "(reference; $raw_gz_conns connect)"
row "raw limit: curl, 1 process, 1 keep-alive connection, plain" "$(fmt_pps "$N" "$raw_pl_t")" "(reference)"
row "cronflux push --no-flush (parse, encode, gzip, sqlite commit)" "$(fmt_pps "$N" "$gz_push_t")" "-"
row "cronflux flush (gzip)" "$(fmt_pps "$N" "$gz_flush_t")" "-"
row "cronflux push --no-flush, then flush (gzip)" "$(fmt_pps "$N" "$gz_seq")" "-"
row "cronflux push (sends while reading), then flush (gzip), end to end" "$(fmt_pps "$N" "$gz_e2e")" "(flush after it: $(awk -v t="$gz_e2e_flush_t" 'BEGIN { printf "%.2f s", t }'))"
row "ratio end to end (gzip) / raw gzip" "$r_e2e_gz" ">= 0.9 ($(meets "$r_e2e_gz" 0.9))"
row "ratio push --no-flush, then flush (gzip) / raw gzip" "$r_seq_gz" "-"
row "ratio flush (gzip) / raw gzip" "$r_flush_gz" ">= 0.9 ($(meets "$r_flush_gz" 0.9))"
row "cronflux push --no-flush, then flush (CRONFLUX_GZIP=0)" "$(fmt_pps "$N" "$pl_seq")" "-"
row "cronflux push, then flush (CRONFLUX_GZIP=0), end to end" "$(fmt_pps "$N" "$pl_e2e")" "-"
row "ratio end to end (plain) / raw plain" "$r_e2e_pl" ">= 0.9 ($(meets "$r_e2e_pl" 0.9))"
row "ratio push --no-flush, then flush (plain) / raw plain" "$r_seq_pl" "-"
row "ratio flush (plain) / raw plain" "$r_flush_pl" ">= 0.9 ($(meets "$r_flush_pl" 0.9))"
row "state file (sqlite + WAL) after push of $N points" "$(mb $((state_bytes / 1024)))" "-"
table

# ---------------------------------------------------------------------------------------
# peak RSS: 1M (from the runs above) and BIG points
echo "### peak RSS (/usr/bin/time %M)"
echo
row "push --no-flush, $N points" "$(mb "$gz_push_rss")" "< 64 MB ($(awk -v k="$gz_push_rss" 'BEGIN { print (k < 65536 ? "met" : "MISSED") }'))"
row "flush, $N points" "$(mb "$gz_flush_rss")" "< 64 MB ($(awk -v k="$gz_flush_rss" 'BEGIN { print (k < 65536 ? "met" : "MISSED") }'))"
row "push (sends while reading), $N points" "$(mb "$gz_e2e_rss")" "< 64 MB ($(awk -v k="$gz_e2e_rss" 'BEGIN { print (k < 65536 ? "met" : "MISSED") }'))"
if [ "$BIG" -gt 0 ]; then
    rm -f "$T/points.lp" "$T"/parts/p.*
    fresh_influxd cf_big
    export CRONFLUX_STATE=$T/cf-big.db
    timed push-big "$CF" push --no-flush < <(gen "$BIG") 2>"$T/push-big.err" ||
        die "push of $BIG failed: $(cat "$T/push-big.err")"
    big_push_rss=$RSS_KB big_push_t=$WALL
    timed flush-big env INFLUXDB_URL="$INFLUX_URL" INFLUXDB_DATABASE=bench "$CF" flush \
        2>"$T/flush-big.err" || die "flush of $BIG failed: $(cat "$T/flush-big.err")"
    big_flush_rss=$RSS_KB big_flush_t=$WALL
    c=$(count_points bench)
    [ "$c" = "$BIG" ] || die "flush of $BIG: point count $c"
    stop_influxd "$INFLUX_PID"
    flat() { awk -v a="$1" -v b="$2" -v n="$N" 'BEGIN { printf "%+.1f MB vs %s points", (b - a) / 1024, n }'; }
    row "push --no-flush, $BIG points" "$(mb "$big_push_rss") ($(flat "$gz_push_rss" "$big_push_rss"))" \
        "< 64 MB, flat ($(awk -v k="$big_push_rss" -v a="$gz_push_rss" 'BEGIN { print (k < 65536 && k - a < 8192 ? "met" : "MISSED") }'))"
    row "flush, $BIG points" "$(mb "$big_flush_rss") ($(flat "$gz_flush_rss" "$big_flush_rss"))" \
        "< 64 MB, flat ($(awk -v k="$big_flush_rss" -v a="$gz_flush_rss" 'BEGIN { print (k < 65536 && k - a < 8192 ? "met" : "MISSED") }'))"
    row "push --no-flush, then flush of $BIG points" "$(fmt_pps "$BIG" "$(awk -v a="$big_push_t" -v b="$big_flush_t" 'BEGIN { print a + b }')")" "-"
    fresh_influxd cf_big_e2e
    export CRONFLUX_STATE=$T/cf-big-e2e.db
    timed push-big-e2e env INFLUXDB_URL="$INFLUX_URL" INFLUXDB_DATABASE=bench "$CF" push \
        < <(gen "$BIG") 2>"$T/push-big-e2e.err" || die "push of $BIG (configured) failed: $(cat "$T/push-big-e2e.err")"
    big_e2e_rss=$RSS_KB big_e2e_t=$WALL
    c=$(count_points bench)
    [ "$c" = "$BIG" ] || die "push of $BIG (configured): point count $c"
    stop_influxd "$INFLUX_PID"
    row "push (sends while reading), $BIG points" "$(mb "$big_e2e_rss") ($(flat "$gz_e2e_rss" "$big_e2e_rss"))" \
        "< 64 MB, flat ($(awk -v k="$big_e2e_rss" -v a="$gz_e2e_rss" 'BEGIN { print (k < 65536 && k - a < 8192 ? "met" : "MISSED") }'))"
    row "push (sends while reading) of $BIG points" "$(fmt_pps "$BIG" "$big_e2e_t")" "-"
fi
table
