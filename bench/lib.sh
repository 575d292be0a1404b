# Shared by the bench scripts (after tests/lib/common.sh): timing, formatting, and the raw
# InfluxDB limit every end-to-end figure is compared with. Each script defines die(),
# fresh_influxd NAME (a new influxd in INFLUX_URL) and, for raw_matrix, a counter.

# timed NAME CMD...: WALL (seconds), RSS_KB (peak) and CPU_S (user + system seconds, from
# /usr/bin/time) of CMD; returns its rc
timed() {
    local name=$1 s e rc
    shift
    s=$(date +%s%N)
    /usr/bin/time -f '%M %U %S' -o "$T/time.$name" "$@"
    rc=$?
    e=$(date +%s%N)
    WALL=$(awk -v a="$s" -v b="$e" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
    RSS_KB=$(tail -1 "$T/time.$name" | awk '{ print $1 }')
    CPU_S=$(tail -1 "$T/time.$name" | awk '{ printf "%.3f", $2 + $3 }')
    return $rc
}
mb() { awk -v k="$1" 'BEGIN { printf "%.1f MB", k / 1024 }'; }
# pcpu PID: the user + system CPU seconds process PID has used so far
pcpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }
# cpu_since PID MARK: the CPU seconds process PID has used since MARK (a pcpu PID reading)
cpu_since() { awk -v a="$2" -v b="$(pcpu "$1")" 'BEGIN { printf "%.2f", b - a }'; }
# icpu_since MARK: influxd's
icpu_since() { cpu_since "$INFLUX_PID" "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
# meets R GOAL: "met" when R >= GOAL, else "MISSED"
meets() { awk -v r="$1" -v t="$2" 'BEGIN { print (r >= t ? "met" : "MISSED") }'; }
# mean_low "R1 R2 ...": the paired ratios' mean and lowest, "MEAN LOWEST" (2 decimals each)
mean_low() {
    awk -v l="$1" 'BEGIN { n = split(l, r, " "); if (n == 0) exit 1; s = 0; lo = r[1]
        for (i = 1; i <= n; i++) { s += r[i]; if (r[i] < lo) lo = r[i] }
        printf "%.2f %.2f\n", s / n, lo }'
}

# raw_curl DB DIR gzip|plain [CONNS]: the raw limit. Every batch file DIR/p.????? (and, for
# gzip, its pre-compressed DIR/p.?????.gz) POSTed to $INFLUX_URL by one curl process, over one
# keep-alive connection, or CONNS in parallel (curl --parallel: CONNS transfers in flight,
# each connection kept alive). Sets WALL, CPU_S (curl's), RAW_ICPU (influxd's CPU seconds
# meanwhile) and RAW_CONNS (connections curl opened); dies unless
# every batch got 204.
raw_curl() {
    local db=$1 dir=$2 mode=$3 conns=${4:-1} cfg=$T/curl-$3.cfg out=$T/curl-$3.out f first=1
    local par=()
    [ "$conns" -gt 1 ] && par=(--parallel --parallel-max "$conns")
    : >"$cfg"
    for f in "$dir"/p.?????; do
        {
            [ "$first" = 1 ] || echo 'next'
            first=0
            echo "url = \"$INFLUX_URL/write?db=$db&precision=ns\""
            if [ "$mode" = gzip ]; then
                echo "data-binary = \"@$f.gz\""
                echo 'header = "Content-Encoding: gzip"'
            else
                echo "data-binary = \"@$f\""
            fi
            echo 'header = "Content-Type: text/plain; charset=utf-8"'
            echo 'header = "Expect:"'
            echo 'output = "/dev/null"'
            echo 'write-out = "%{http_code} %{num_connects}\n"'
            echo 'silent'
            echo 'noproxy = "*"'
        } >>"$cfg"
    done
    influx_create_db "$db"
    local i0
    i0=$(pcpu "$INFLUX_PID")
    timed "raw-$mode" curl -s --no-progress-meter "${par[@]}" -K "$cfg" >"$out" || die "curl ($mode) failed"
    RAW_ICPU=$(icpu_since "$i0")
    [ "$(grep -c '^204 ' "$out")" = "$(ls "$dir"/p.????? | wc -l)" ] ||
        die "raw curl ($mode, $conns connections): not every batch answered 204"
    RAW_CONNS=$(awk '{ s += $2 } END { print s }' "$out")
}

# split_parts FILE DIR BATCH: FILE's lines in BATCH-line files DIR/p.?????, each with a
# pre-compressed DIR/p.?????.gz (gzip -1, the level the spool stores)
split_parts() {
    rm -rf "$2"
    mkdir -p "$2"
    split -l "$3" -d -a 5 "$1" "$2/p."
    local f
    for f in "$2"/p.?????; do gzip -1 -c "$f" >"$f.gz"; done
}

# raw_matrix N COUNT_CMD COMBOS: the raw limit of each combination "CONNS:BATCH:MODE" in
# COMBOS (e.g. "1:5000:plain 2:10000:gzip"), each into a fresh influxd from $T/parts-BATCH
# (made by split_parts), checked with COUNT_CMD DB = N. Sets RAW_T_<conns>_<batch>_<mode>
# (seconds), RAW_CPU_... and RAW_ICPU_... (curl's and influxd's CPU seconds), RAW_BEST_T and
# RAW_BEST (the fastest combination).
raw_matrix() {
    local n=$1 count_cmd=$2 combo c b m got
    RAW_BEST_T=0
    RAW_BEST=
    for combo in $3; do
        IFS=: read -r c b m <<<"$combo"
        fresh_influxd "raw_${c}_${b}_$m"
        raw_curl raw "$T/parts-$b" "$m" "$c"
        got=$($count_cmd raw)
        [ "$got" = "$n" ] || die "raw $combo: $got points, want $n"
        printf -v "RAW_T_${c}_${b}_$m" '%s' "$WALL"
        printf -v "RAW_CPU_${c}_${b}_$m" '%s' "$CPU_S"
        printf -v "RAW_ICPU_${c}_${b}_$m" '%s' "$RAW_ICPU"
        if [ -z "$RAW_BEST" ] || awk -v a="$WALL" -v b="$RAW_BEST_T" 'BEGIN { exit !(a < b) }'; then
            RAW_BEST_T=$WALL
            RAW_BEST=$combo
        fi
    done
}
# raw_label "CONNS:BATCH:MODE": "2 connections, 10,000-line batches, gzip"
raw_label() {
    local c b m
    IFS=: read -r c b m <<<"$1"
    printf '%s connection%s, %s-line batches, %s' "$c" "$([ "$c" = 1 ] || echo s)" \
        "$(awk -v x="$b" 'BEGIN { printf "%d,%03d", x / 1000, x % 1000 }')" "$m"
}
