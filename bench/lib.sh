# Shared by the bench scripts (after tests/lib/common.sh): timing, formatting, and the raw
# InfluxDB limit every end-to-end figure is compared with. Each script defines die().

# timed NAME CMD...: WALL (seconds) and RSS_KB (peak, from /usr/bin/time) of CMD; returns its rc
timed() {
    local name=$1 s e rc
    shift
    s=$(date +%s%N)
    /usr/bin/time -f '%M' -o "$T/time.$name" "$@"
    rc=$?
    e=$(date +%s%N)
    WALL=$(awk -v a="$s" -v b="$e" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
    RSS_KB=$(tail -1 "$T/time.$name")
    return $rc
}
mb() { awk -v k="$1" 'BEGIN { printf "%.1f MB", k / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

# raw_curl DB DIR gzip|plain: the raw limit. Every batch file DIR/p.????? (and, for gzip, its
# pre-compressed DIR/p.?????.gz) POSTed to $INFLUX_URL by one curl process over one keep-alive
# connection. Sets WALL and RAW_CONNS (connections curl opened); dies unless every batch got 204.
raw_curl() {
    local db=$1 dir=$2 mode=$3 cfg=$T/curl-$3.cfg out=$T/curl-$3.out f first=1
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
    timed "raw-$mode" curl -K "$cfg" >"$out" || die "curl ($mode) failed"
    [ "$(grep -c '^204 ' "$out")" = "$(ls "$dir"/p.????? | wc -l)" ] ||
        die "raw curl ($mode): not every batch answered 204"
    RAW_CONNS=$(awk '{ s += $2 } END { print s }' "$out")
}
