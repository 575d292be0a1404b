#!/usr/bin/env bash
# cluster-metrics over a big stand-in cluster: BENCH_K8S_NODES (default 5,000) nodes and
# BENCH_K8S_PODS (default 150,000) pods, the stand-in (tests/standins/k8s_standin.py, TLS +
# bearer token) making every page on the fly. No InfluxDB: --dry-run (line protocol to a
# file) and the embedded store (points committed to the sqlite spool).
#
# For each run: wall time and peak RSS of the job (/usr/bin/time -f '%e %M'), its own CPU
# time (user + sys: the rest of the wall time is the Python stand-in making and serving
# pages), the pages it read, and points per second. A run with a tenth of the cluster shows
# how memory grows with the cluster: only the usage maps (~100 bytes a pod) do; pages are
# dropped as they are read.
#
# Figures are printed, never asserted; the script fails only when a run fails or the
# points that came out are not the cluster's (one k8s_node line a node, one k8s_pod a pod).
. "$(dirname "$0")/../tests/lib/common.sh"

NODES=${BENCH_K8S_NODES:-5000}
PODS=${BENCH_K8S_PODS:-150000}
NAMESPACES=${BENCH_K8S_NAMESPACES:-60}
CM=$BIN/cluster-metrics
STANDIN=$ROOT/tests/standins/k8s_standin.py
[ -x "$CM" ] || { echo "bench_cluster: $CM not built (make first)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench_cluster: /usr/bin/time missing (apt install time)" >&2; exit 1; }
die() { echo "bench_cluster: $*" >&2; exit 1; }

TOKEN_FILE=$T/token
"$PY" -c 'import secrets; print("bench-" + secrets.token_hex(16))' >"$TOKEN_FILE"

# standin NAME NODES PODS: start one; sets SDIR, SURL
standin() {
    local i
    SDIR=$T/$1
    mkdir -p "$SDIR"
    "$PY" "$STANDIN" --dir "$SDIR" --token-file "$TOKEN_FILE" --data generated --no-expected \
        --nodes "$2" --pods "$3" --namespaces "$NAMESPACES" >"$SDIR/standin.log" 2>&1 &
    local pid=$!
    track "$pid"
    for ((i = 0; i < 300; i++)); do
        [ -s "$SDIR/port" ] && { SURL=https://127.0.0.1:$(cat "$SDIR/port"); return 0; }
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    die "stand-in $1 did not start: $(tail -3 "$SDIR/standin.log")"
}

rows=()
# run KEY LABEL NODES PODS PAGE MODE(dry|store)
run() {
    local key=$1 label=$2 nodes=$3 pods=$4 page=$5 mode=$6 args=() out=$T/$1.out
    if [ "$mode" = dry ]; then args=(--dry-run); else args=(--state "$T/$key.db"); fi
    env -u INFLUXDB_URL -u INFLUXDB_HOST KUBE_API_URL="$SURL" KUBE_TOKEN_FILE="$TOKEN_FILE" \
        KUBE_CA_FILE="$SDIR/ca.crt" CLUSTER_NAME=bench CRONFLUX_LOG=text \
        /usr/bin/time -f '%e %M %U %S' -o "$T/$key.time" \
        "$CM" "${args[@]}" --page-size "$page" >"$out" 2>"$T/$key.err" ||
        die "$label exited $? ($(grep -v 'info:' "$T/$key.err" | tail -2))"
    read -r wall rss usr sys <"$T/$key.time"
    local n_nodes n_pods pages points
    if [ "$mode" = dry ]; then
        n_nodes=$(grep -c '^k8s_node,' "$out")
        n_pods=$(grep -c '^k8s_pod,' "$out")
    else
        # the run's own summary: "N nodes, M pods, K namespaces, P points, G pages, R restarts"
        n_nodes=$(sed -n 's/.*info: \([0-9]*\) nodes,.*/\1/p' "$T/$key.err")
        n_pods=$(sed -n 's/.* \([0-9]*\) pods,.*/\1/p' "$T/$key.err")
    fi
    [ "$n_nodes" = "$nodes" ] && [ "$n_pods" = "$pods" ] ||
        die "$label: got $n_nodes nodes / $n_pods pods, want $nodes / $pods"
    points=$(sed -n 's/.* \([0-9]*\) points,.*/\1/p' "$T/$key.err")
    pages=$(sed -n 's/.* \([0-9]*\) pages,.*/\1/p' "$T/$key.err")
    rows+=("$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s' "$label" "$nodes" "$pods" "$page" "$pages" \
        "$wall" "$(awk -v u="$usr" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')" \
        "$(awk -v k="$rss" 'BEGIN { printf "%.1f MB", k / 1024 }')" \
        "$(awk -v n="$points" -v t="$wall" 'BEGIN { printf "%.0f", (t > 0 ? n / t : 0) }')")")
    rm -f "$out" "$T/$key.db" "$T/$key.db-wal" "$T/$key.db-shm"
}

small_nodes=$((NODES / 10))
small_pods=$((PODS / 10))
standin small "$small_nodes" "$small_pods"
run small "dry-run, 1/10 of the cluster" "$small_nodes" "$small_pods" 500 dry
standin big "$NODES" "$PODS"
run dry "dry-run" "$NODES" "$PODS" 500 dry
run store "embedded store (sqlite)" "$NODES" "$PODS" 500 store
run p100 "dry-run, pages of 100" "$NODES" "$PODS" 100 dry
run p2000 "dry-run, pages of 2000" "$NODES" "$PODS" 2000 dry

echo "cluster-metrics over a generated cluster (stand-in over TLS on loopback; usage for every"
echo "running pod from metrics.k8s.io; wall includes the Python stand-in making the pages)"
echo
printf '%s\n' "${rows[@]}" | awk -F'\t' '
    BEGIN { h[1]="run"; h[2]="nodes"; h[3]="pods"; h[4]="page"; h[5]="requests"; h[6]="wall s";
            h[7]="job CPU s"; h[8]="peak RSS"; h[9]="points/s"
            for (i = 1; i <= 9; i++) w[i] = length(h[i]) }
    { for (i = 1; i <= 9; i++) { c[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } }
    END {
        line = "|"; sep = "|"
        for (i = 1; i <= 9; i++) { line = line sprintf(" %-*s |", w[i], h[i]); s = ""; for (k = 0; k < w[i] + 2; k++) s = s "-"; sep = sep s "|" }
        print line; print sep
        for (r = 1; r <= NR; r++) { line = "|"; for (i = 1; i <= 9; i++) line = line sprintf(" %-*s |", w[i], c[r, i]); print line }
    }'
echo
echo "requests: list calls (metrics.k8s.io nodes + pods, nodes, pods); peak RSS of the job only."
