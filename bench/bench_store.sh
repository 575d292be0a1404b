#!/usr/bin/env bash
# The store's write path end to end, against what InfluxDB itself can take, in one run.
#
# BENCH_POINTS (default 1,000,000) k8s_pod points (500 series, 15 s apart), each measurement
# into a fresh influxd 1.6.7 on 127.0.0.1:
#  1. the raw limit: the same line protocol pre-encoded in batch files, POSTed by curl, for
#     every combination of {1, 2 connections} x {5,000, 10,000-line batches} x {plain,
#     gzip}; the fastest is "the best raw limit";
#  2. cronflux: `cronflux push` with InfluxDB configured (it sends committed batches while it
#     reads) then `cronflux flush`, for each choice of CRONFLUX_CONNECTIONS {1, 2} x
#     CRONFLUX_BATCH {5000, 10000} x CRONFLUX_GZIP {1, 0}, and two connections with 20,000
#     and 50,000-line batches (batches the raw limit does not try: cronflux may pick any
#     size), with its CPU per point (user + system of both processes) and peak RSS: the table
#     that justifies the defaults;
#  3. the peers on the same points: InfluxData's importer (`influx -import`, Debian's
#     influxdb-client) and the Python client (python3-influxdb, write_points of dicts,
#     batch_size 5000);
#  4. paired runs: BENCH_PAIRS rounds (default 5) of the best raw combination then
#     cronflux's defaults (and BENCH_PAIRED_ALSO, default 2:20000:1 2:10000:u 2:50000:u), each ratio against the
#     raw run of its own round, and their mean (InfluxDB's own CPU moves from run to run);
#  5. peak RSS (/usr/bin/time %M) of push and flush at 1M and BENCH_BIG_POINTS (default
#     5,000,000; 0 skips) points, with the defaults.
# BENCH_STORE_CHOICES="C:B:G ..." narrows step 2 (connections:batch:gzip; gzip u: CRONFLUX_GZIP
# unset, the default: stored gzip, and on this loopback InfluxDB the lines sent plain).
#
# Prints tables; figures are never asserted. The script fails only when a run fails or the
# points did not all arrive.
. "$(dirname "$0")/../tests/lib/common.sh"
. "$(dirname "$0")/lib.sh"

N=${BENCH_POINTS:-1000000}
BIG=${BENCH_BIG_POINTS:-5000000}
SERIES=500
RAW_COMBOS="1:5000:plain 1:5000:gzip 1:10000:plain 1:10000:gzip 2:5000:plain 2:5000:gzip 2:10000:plain 2:10000:gzip"
CHOICES=${BENCH_STORE_CHOICES:-"1:5000:1 1:5000:0 1:10000:1 1:10000:0 2:5000:1 2:5000:0 2:10000:1 2:10000:0 2:20000:1 2:20000:0 2:20000:u 2:50000:1 2:50000:0"}
# the defaults (store/influx.c INFLUX_CONNECTIONS_DEFAULT, store/sink.c SINK_BATCH_DEFAULT,
# CRONFLUX_GZIP's default 1)
DEF_CONNS=$(sed -n 's/^#define INFLUX_CONNECTIONS_DEFAULT \([0-9]*\).*/\1/p' "$ROOT/store/influx.c")
DEF_BATCH=$(sed -n 's/^#define SINK_BATCH_DEFAULT \([0-9]*\).*/\1/p' "$ROOT/store/sink.c")
DEF_GZIP=u   # CRONFLUX_GZIP unset
DEFAULT="${DEF_CONNS:-1}:${DEF_BATCH:-5000}:$DEF_GZIP"
# gzip_label G: how a choice's CRONFLUX_GZIP reads in the tables
gzip_label() {
    if [ "$1" = u ]; then echo "CRONFLUX_GZIP unset (stored LZ4, sent plain to loopback)"; else echo "CRONFLUX_GZIP=$1"; fi
}
CF=$BIN/cronflux
[ -x "$CF" ] || { echo "bench_store: $CF not built (make first)" >&2; exit 1; }
for t in influxd influx curl /usr/bin/time; do
    command -v "$t" >/dev/null || { echo "bench_store: $t is not installed" >&2; exit 1; }
done
"$PY" -c 'import influxdb' 2>/dev/null || { echo "bench_store: python3-influxdb is not installed" >&2; exit 1; }
unset CRONFLUX_BATCH CRONFLUX_GZIP CRONFLUX_CONNECTIONS

rows=()
row() { local IFS=$'\t'; rows+=("$*"); }
# table HEADER...: the rows collected so far under these column names, as markdown
table() {
    { local IFS=$'\t'; echo "$*"; printf '%s\n' "${rows[@]}"; } | awk -F'\t' '
        { for (i = 1; i <= NF; i++) { c[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } if (NF > cols) cols = NF }
        END {
          for (r = 1; r <= NR; r++) {
            line = "|"; for (i = 1; i <= cols; i++) line = line sprintf(" %-*s |", w[i], c[r, i]); print line
            if (r == 1) { line = "|"; for (i = 1; i <= cols; i++) { d = ""; for (k = 0; k < w[i] + 2; k++) d = d "-"; line = line d "|" } print line }
          }
        }'
    rows=()
    echo
}
die() { echo "bench_store: $*" >&2; exit 1; }

# gen N: N k8s_pod points, 500 series, 15 s apart
gen() {
    awk -v n="$1" -v s="$SERIES" 'BEGIN {
        t0 = 1700000000
        for (i = 0; i < n; i++) {
            p = i % s; k = int(i / s)
            printf "k8s_pod,cluster=prod,namespace=ns%d,node=node-%d,pod=app-%d cpu_usage_millicores=%di,memory_usage_bytes=%di,restarts=%di %d000000000\n",
                p % 10, p % 20, p, (i * 7919) % 2000, 100000 + (i * 104729) % 900000, k % 5, t0 + k * 15
        }
    }'
}
# fmt_pps N SECONDS: "1,234,567 points/s (0.81 s)"
fmt_pps() {
    awk -v n="$1" -v t="$2" 'BEGIN {
        x = sprintf("%.0f", (t > 0 ? n / t : 0)); s = ""
        while (length(x) > 3) { s = "," substr(x, length(x) - 2) s; x = substr(x, 1, length(x) - 3) }
        printf "%s%s points/s (%.2f s)", x, s, t }'
}
us_per_point() { awk -v c="$1" -v n="$2" 'BEGIN { printf "%.2f us", c / n * 1e6 }'; }

fresh_influxd() {
    [ -n "${INFLUX_PID:-}" ] && stop_influxd "$INFLUX_PID"
    [ -n "${LAST_INFLUX:-}" ] && rm -rf "${T:?}/$LAST_INFLUX"
    start_influxd "$1" || die "influxd did not start"
    LAST_INFLUX=$1
}
count_points() { influx_count "$1" k8s_pod cpu_usage_millicores; }

echo "# generating $N points ($SERIES series, 15 s apart); $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
gen "$N" >"$T/points.lp"
bytes=$(stat -c %s "$T/points.lp")
split_parts "$T/points.lp" "$T/parts-5000" 5000
split_parts "$T/points.lp" "$T/parts-10000" 10000

# ---------------------------------------------------------------------------------------
# 1. the raw limits
raw_matrix "$N" count_points "$RAW_COMBOS"
best_t=$RAW_BEST_T
echo "### the raw limit: $N points ($(mb $((bytes / 1024))) of line protocol) pre-encoded, POSTed by curl to influxd 1.6.7 on 127.0.0.1"
echo
for combo in $RAW_COMBOS; do
    IFS=: read -r c b m <<<"$combo"
    v=RAW_T_${c}_${b}_$m
    row "$(raw_label "$combo")" "$(fmt_pps "$N" "${!v}")" "$(ratio "$best_t" "${!v}")" \
        "$([ "$combo" = "$RAW_BEST" ] && echo "**the best raw limit**")"
done
table "raw upload" "rate" "ratio to the best" ""

# ---------------------------------------------------------------------------------------
# 2. cronflux, each choice: push (configured, sends while reading) then flush
# cf_e2e CONNS BATCH GZIP: sets E2E_T E2E_CPU E2E_RSS E2E_ICPU (influxd's CPU seconds)
cf_e2e() {
    local tag="$1_$2_$3" c i0
    fresh_influxd "e2e_$tag"
    rm -f "$T/e2e.db"*
    i0=$(pcpu "$INFLUX_PID")
    local envs=(INFLUXDB_URL="$INFLUX_URL" INFLUXDB_DATABASE=bench CRONFLUX_STATE="$T/e2e.db"
        CRONFLUX_CONNECTIONS="$1" CRONFLUX_BATCH="$2")
    [ "$3" = u ] || envs+=(CRONFLUX_GZIP="$3")
    timed "e2e-push-$tag" env "${envs[@]}" "$CF" push <"$T/points.lp" 2>"$T/e2e-push.err" ||
        die "push ($tag) failed: $(cat "$T/e2e-push.err")"
    E2E_T=$WALL E2E_CPU=$CPU_S E2E_RSS=$RSS_KB
    timed "e2e-flush-$tag" env "${envs[@]}" "$CF" flush 2>"$T/e2e-flush.err" ||
        die "flush after push ($tag) failed: $(cat "$T/e2e-flush.err")"
    E2E_T=$(awk -v a="$E2E_T" -v b="$WALL" 'BEGIN { print a + b }')
    E2E_CPU=$(awk -v a="$E2E_CPU" -v b="$CPU_S" 'BEGIN { print a + b }')
    [ "$RSS_KB" -gt "$E2E_RSS" ] && E2E_RSS=$RSS_KB
    E2E_ICPU=$(icpu_since "$i0")
    c=$(count_points bench)
    [ "$c" = "$N" ] || die "cronflux ($tag): point count $c, want $N"
}
best_cf_t=0 best_cf=
for ch in $CHOICES; do
    IFS=: read -r c b g <<<"$ch"
    cf_e2e "$c" "$b" "$g"
    printf -v "CF_T_${c}_${b}_$g" '%s' "$E2E_T"
    printf -v "CF_CPU_${c}_${b}_$g" '%s' "$E2E_CPU"
    printf -v "CF_ICPU_${c}_${b}_$g" '%s' "$E2E_ICPU"
    if [ -z "$best_cf" ] || awk -v a="$E2E_T" -v b="$best_cf_t" 'BEGIN { exit !(a < b) }'; then
        best_cf_t=$E2E_T best_cf=$ch
    fi
    r=$(ratio "$best_t" "$E2E_T")
    note=
    [ "$ch" = "$DEFAULT" ] && note="**the default** (one run against one: the paired runs below are the steadier figure)"
    row "CRONFLUX_CONNECTIONS=$c CRONFLUX_BATCH=$b $(gzip_label "$g")" "$(fmt_pps "$N" "$E2E_T")" "$r" \
        "$(us_per_point "$E2E_CPU" "$N")" "$(mb "$E2E_RSS")" "$note"
done
echo "### cronflux push (sends while reading), then flush, end to end, by choice"
echo
table "choice" "rate" "ratio to the best raw limit" "cronflux CPU per point" "peak RSS" ""
echo "fastest choice in this run: $best_cf; the best raw limit: $(raw_label "$RAW_BEST")."
echo

# ---------------------------------------------------------------------------------------
# 3. the peers, same points
fresh_influxd imp
{
    echo '# DDL'
    echo 'CREATE DATABASE imp'
    echo '# DML'
    echo '# CONTEXT-DATABASE: imp'
    cat "$T/points.lp"
} >"$T/import.txt"
i0=$(pcpu "$INFLUX_PID")
timed import influx -host 127.0.0.1 -port "$INFLUX_PORT" -import -path "$T/import.txt" \
    -precision ns >"$T/import.out" 2>&1 || die "influx -import failed: $(tail -3 "$T/import.out")"
imp_t=$WALL imp_cpu=$CPU_S imp_rss=$RSS_KB imp_icpu=$(icpu_since "$i0")
rm -f "$T/import.txt"
[ "$(count_points imp)" = "$N" ] || die "influx -import: $(count_points imp) points, want $N"

fresh_influxd py
influx_create_db pyc
cat >"$T/pyclient.py" <<'PYEOF'
import sys
from influxdb import InfluxDBClient
port, n, series = int(sys.argv[1]), int(sys.argv[2]), 500
cli = InfluxDBClient(host="127.0.0.1", port=port, database="pyc")
chunk = []
for i in range(n):
    p, k = i % series, i // series
    chunk.append({"measurement": "k8s_pod",
                  "tags": {"cluster": "prod", "namespace": "ns%d" % (p % 10),
                           "node": "node-%d" % (p % 20), "pod": "app-%d" % p},
                  "fields": {"cpu_usage_millicores": (i * 7919) % 2000,
                             "memory_usage_bytes": 100000 + (i * 104729) % 900000,
                             "restarts": k % 5},
                  "time": (1700000000 + k * 15) * 1000000000})
    if len(chunk) == 5000:
        cli.write_points(chunk, time_precision="n", batch_size=5000)
        chunk = []
if chunk:
    cli.write_points(chunk, time_precision="n", batch_size=5000)
PYEOF
i0=$(pcpu "$INFLUX_PID")
timed pyclient "$PY" "$T/pyclient.py" "$INFLUX_PORT" "$N" 2>"$T/py.err" ||
    die "python client failed: $(tail -3 "$T/py.err")"
py_t=$WALL py_cpu=$CPU_S py_rss=$RSS_KB py_icpu=$(icpu_since "$i0")
[ "$(count_points pyc)" = "$N" ] || die "python client: $(count_points pyc) points, want $N"

# the best raw combination and cronflux's defaults once more, now: the machine's load moves
# while the bench runs, so each is the better of its two runs (the same for both)
IFS=: read -r c b m <<<"$RAW_BEST"
v=RAW_T_${RAW_BEST//:/_}
first_t=${!v}
fresh_influxd raw_again
raw_curl raw "$T/parts-$b" "$m" "$c"
[ "$(count_points raw)" = "$N" ] || die "raw $RAW_BEST again: point count wrong"
raw_again_t=$WALL
v=RAW_CPU_${RAW_BEST//:/_} raw_cpu=${!v}
v=RAW_ICPU_${RAW_BEST//:/_} raw_icpu=${!v}
if awk -v a="$WALL" -v b="$best_t" 'BEGIN { exit !(a < b) }'; then
    best_t=$WALL raw_cpu=$CPU_S raw_icpu=$RAW_ICPU
fi
def_v=CF_T_${DEFAULT//:/_}
def_t=${!def_v:-}
def_again=
if [ -n "$def_t" ]; then
    IFS=: read -r c b g <<<"$DEFAULT"
    v=CF_CPU_${DEFAULT//:/_} def_cpu=${!v}
    v=CF_ICPU_${DEFAULT//:/_} def_icpu=${!v}
    def_first=$def_t
    cf_e2e "$c" "$b" "$g"
    def_again=$E2E_T
    if awk -v a="$E2E_T" -v b="$def_t" 'BEGIN { exit !(a < b) }'; then
        def_t=$E2E_T def_cpu=$E2E_CPU def_icpu=$E2E_ICPU
    fi
fi
# floor S_CLIENT S_INFLUXD: the shortest wall time the two could take on this machine's
# cores if they kept every core busy (their CPU seconds / cores)
cores=$(nproc)
floor() { awk -v a="$1" -v b="$2" -v n="$cores" 'BEGIN { printf "%.2f s", (a + b) / n }'; }
# cpus S_CLIENT S_INFLUXD: "0.12 + 0.42 s"
cpus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f + %.2f s", a, b }'; }
echo "### side by side: the same $N points, each into a fresh influxd"
echo
row "the best raw limit: curl, $(raw_label "$RAW_BEST") (better of 2 runs: $(fmt_pps "$N" "$first_t"), $(fmt_pps "$N" "$raw_again_t"))" "$(fmt_pps "$N" "$best_t")" "1.00" "-" "-" \
    "$(cpus "$raw_cpu" "$raw_icpu")" "$(floor "$raw_cpu" "$raw_icpu")"
[ -n "$def_t" ] && row "cronflux push + flush, defaults ($DEFAULT) (better of 2 runs: $(fmt_pps "$N" "$def_first"), $(fmt_pps "$N" "$def_again"))" "$(fmt_pps "$N" "$def_t")" \
    "$(ratio "$best_t" "$def_t")" "$(us_per_point "$def_cpu" "$N")" "see above" \
    "$(cpus "$def_cpu" "$def_icpu")" "$(floor "$def_cpu" "$def_icpu")"
row "influx -import (influxdb-client 1.6.7, 5000-point batches)" "$(fmt_pps "$N" "$imp_t")" \
    "$(ratio "$best_t" "$imp_t")" "$(us_per_point "$imp_cpu" "$N")" "$(mb "$imp_rss")" \
    "$(cpus "$imp_cpu" "$imp_icpu")" "$(floor "$imp_cpu" "$imp_icpu")"
row "Python client (python3-influxdb 5.3, write_points, batch_size 5000)" "$(fmt_pps "$N" "$py_t")" \
    "$(ratio "$best_t" "$py_t")" "$(us_per_point "$py_cpu" "$N")" "$(mb "$py_rss")" \
    "$(cpus "$py_cpu" "$py_icpu")" "$(floor "$py_cpu" "$py_icpu")"
table "writer" "rate" "ratio to the best raw limit" "client CPU per point" "peak RSS" \
    "CPU: client + influxd" "CPU floor on $cores cores"
echo "CPU floor: (client + influxd CPU seconds) / cores, the shortest wall time the two could take here if they kept every core busy; InfluxDB and the client share the cores, so the client's CPU per point lowers what InfluxDB can take."
echo

# ---------------------------------------------------------------------------------------
# 4. paired runs. InfluxDB's CPU for the very same upload moves by up to a tenth from one
# run to the next (its compactions, Go's collector), so a ratio of single runs can be off by
# that much either way. BENCH_PAIRS rounds (default 5; 0 skips) of: the best raw combination,
# then cronflux's defaults, then each choice in BENCH_PAIRED_ALSO (default 2:20000:1, gzip on
# the wire as a remote InfluxDB gets it, and 2:10000:u / 2:50000:u, a smaller and a larger
# batch), each cronflux run set against the raw run
# of its own round. The mean of those paired ratios is the steadier figure; both it and
# each round are printed.
PAIRS=${BENCH_PAIRS:-5}
PAIRED_ALSO=${BENCH_PAIRED_ALSO-"2:20000:1 2:10000:u 2:50000:u"}
if [ "$PAIRS" -gt 0 ]; then
    IFS=: read -r rc rb rm <<<"$RAW_BEST"
    declare -A p_ratios   # choice -> its paired ratios, round by round
    raw_list=
    for ((k = 1; k <= PAIRS; k++)); do
        fresh_influxd "pair_raw_$k"
        raw_curl raw "$T/parts-$rb" "$rm" "$rc"
        [ "$(count_points raw)" = "$N" ] || die "paired raw $RAW_BEST: point count wrong"
        rt=$WALL
        raw_list="$raw_list $(awk -v t="$rt" 'BEGIN { printf "%.2f", t }')"
        for ch in $DEFAULT $PAIRED_ALSO; do
            IFS=: read -r c b g <<<"$ch"
            cf_e2e "$c" "$b" "$g"
            p_ratios[$ch]="${p_ratios[$ch]:-} $(awk -v a="$rt" -v b="$E2E_T" 'BEGIN { printf "%.3f", a / b }')"
        done
    done
    echo "### paired runs: $PAIRS rounds of the best raw limit ($(raw_label "$RAW_BEST")) then cronflux, each into a fresh influxd"
    echo
    for ch in $DEFAULT $PAIRED_ALSO; do
        IFS=: read -r c b g <<<"$ch"
        # the rounds (2 decimals), their mean and the lowest
        rounds=$(printf '%.2f ' ${p_ratios[$ch]})
        rounds=${rounds% }
        read -r m low < <(mean_low "${p_ratios[$ch]}")
        note=
        [ "$ch" = "$DEFAULT" ] && note="**the default**; goal >= 0.85 ($(meets "$m" 0.85))"
        row "CRONFLUX_CONNECTIONS=$c CRONFLUX_BATCH=$b $(gzip_label "$g")" "$rounds" "$m" "$low" "$note"
    done
    table "choice" "ratio to its round's raw upload, round by round" "mean" "lowest" ""
    echo "the raw upload's wall time, round by round:$raw_list s."
    echo
fi

# ---------------------------------------------------------------------------------------
# 5. memory with the defaults: 1M and BIG points
IFS=: read -r dc db dg <<<"$DEFAULT"
export CRONFLUX_CONNECTIONS=$dc CRONFLUX_BATCH=$db
[ "$dg" = u ] || export CRONFLUX_GZIP=$dg
# mem_run TAG N: peak RSS of push --no-flush, flush, and push (configured) of N points
mem_run() {
    local tag=$1 n=$2 c
    fresh_influxd "mem_$tag"
    rm -f "$T/mem.db"*
    timed "push-$tag" env CRONFLUX_STATE="$T/mem.db" "$CF" push --no-flush < <(gen "$n") \
        2>"$T/mem.err" || die "push --no-flush of $n failed: $(cat "$T/mem.err")"
    MEM_PUSH=$RSS_KB MEM_PUSH_T=$WALL
    timed "flush-$tag" env CRONFLUX_STATE="$T/mem.db" INFLUXDB_URL="$INFLUX_URL" \
        INFLUXDB_DATABASE=bench "$CF" flush 2>"$T/mem.err" || die "flush of $n failed: $(cat "$T/mem.err")"
    MEM_FLUSH=$RSS_KB MEM_FLUSH_T=$WALL
    c=$(count_points bench)
    [ "$c" = "$n" ] || die "flush of $n: point count $c"
    fresh_influxd "mem_e2e_$tag"
    rm -f "$T/mem.db"*
    timed "e2e-$tag" env CRONFLUX_STATE="$T/mem.db" INFLUXDB_URL="$INFLUX_URL" \
        INFLUXDB_DATABASE=bench "$CF" push < <(gen "$n") 2>"$T/mem.err" ||
        die "push of $n (configured) failed: $(cat "$T/mem.err")"
    MEM_E2E=$RSS_KB MEM_E2E_T=$WALL
    c=$(count_points bench)
    [ "$c" = "$n" ] || die "push of $n (configured): point count $c"
}
rm -f "$T/points.lp"
rm -rf "$T"/parts-*
mem_run small "$N"
s_push=$MEM_PUSH s_flush=$MEM_FLUSH s_e2e=$MEM_E2E
seq_t=$(awk -v a="$MEM_PUSH_T" -v b="$MEM_FLUSH_T" 'BEGIN { print a + b }')
echo "### peak RSS (/usr/bin/time %M), defaults ($DEFAULT)"
echo
flat() { # flat A_KB B_KB: "+0.3 MB (+2%); met/MISSED" against "within 20%, < 64 MB"
    awk -v a="$1" -v b="$2" 'BEGIN { r = (a > 0 ? (b - a) / a * 100 : 0)
        printf "%+.1f MB (%+.0f%%): %s", (b - a) / 1024, r, (r <= 20 && r >= -20 && b < 65536 ? "met" : "MISSED") }'
}
if [ "$BIG" -gt 0 ]; then
    mem_run big "$BIG"
    row "push --no-flush" "$(mb "$s_push")" "$(mb "$MEM_PUSH")" "$(flat "$s_push" "$MEM_PUSH")"
    row "flush" "$(mb "$s_flush")" "$(mb "$MEM_FLUSH")" "$(flat "$s_flush" "$MEM_FLUSH")"
    row "push (sends while reading)" "$(mb "$s_e2e")" "$(mb "$MEM_E2E")" "$(flat "$s_e2e" "$MEM_E2E")"
    table "run" "$N points" "$BIG points" "change; goal: within 20% and < 64 MB"
    echo "push (sends while reading) of $BIG points: $(fmt_pps "$BIG" "$MEM_E2E_T")."
else
    row "push --no-flush" "$(mb "$s_push")"
    row "flush" "$(mb "$s_flush")"
    row "push (sends while reading)" "$(mb "$s_e2e")"
    table "run" "$N points"
fi
echo "push --no-flush, then flush ($N points, one after the other): $(fmt_pps "$N" "$seq_t")."
stop_influxd "$INFLUX_PID"
