#!/usr/bin/env bash
# cluster-metrics against the Kubernetes API stand-in (TLS, bearer token), writing into a real
# InfluxDB 1.6.7; the values read back equal what the stand-in served:
#  - recorded fixtures: node capacity/allocatable/usage, pod restarts/requests, namespace
#    counts, worked out in this test straight from the fixture files
#  - --align: every point of a run carries the same, aligned timestamp; --cluster tag
#  - in-cluster configuration (KUBERNETES_SERVICE_HOST/_PORT + KUBE_SA_DIR)
#  - TLS: a wrong CA is refused (69), a missing CA file is configuration (78)
#  - paging: 50 nodes / 2000 pods with --page-size 100: exact counts per namespace and phase,
#    exact sums, every list request carries limit=100
#  - 410 Gone on a continue token: the list starts over, nothing counted twice; always 410:
#    gives up after 3 restarts (69)
#  - metrics.k8s.io absent (404) or down (503): one warning, exit 0, no usage fields
#  - 401 -> 77, 403 -> 77 naming the verb and resource, truncated JSON -> 65 with the position,
#    a 500 is retried, a continue token that never advances -> 65,
#    a malformed quantity -> 65 naming the pod and container (the other pods are written),
#    unreachable -> 69, no configuration -> 78, bad flags -> 64
#  - the token file is read on every run (rotated between runs) and again on a 401 during a
#    run (rotated mid-run); the token never appears in any output, DEBUG=1 included
. "$(dirname "$0")/../lib/common.sh"

CM=$BIN/cluster-metrics
STANDIN=$ROOT/tests/standins/k8s_standin.py
K8SFIX=$FIXTURES/k8s
[ -x "$CM" ] || { not_ok "cluster-metrics built at $CM"; finish; }
[ -d "$K8SFIX" ] || { not_ok "fixtures at $K8SFIX"; finish; }

TOKEN_FILE=$T/token
new_token() { printf 'tok-%s' "$("$PY" -c 'import secrets; print(secrets.token_hex(20))')" >"$TOKEN_FILE"; }
new_token
ALL_TOKENS=("$(cat "$TOKEN_FILE")")
OUT_ALL=$T/all-output.txt   # every byte the job printed, checked for tokens at the end
: >"$OUT_ALL"

# start_standin NAME [stand-in args...]: sets SDIR, SPORT, SURL
start_standin() {
    local name=$1 i
    shift
    SDIR=$T/$name
    mkdir -p "$SDIR"
    "$PY" "$STANDIN" --dir "$SDIR" --token-file "$TOKEN_FILE" --fixtures "$FIXTURES" "$@" \
        >"$SDIR/standin.log" 2>&1 &
    local pid=$!
    track "$pid"
    for ((i = 0; i < 300; i++)); do
        if [ -s "$SDIR/port" ]; then
            SPORT=$(cat "$SDIR/port")
            SURL=https://127.0.0.1:$SPORT
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "# stand-in $name did not start:" >&2
    tail -5 "$SDIR/standin.log" >&2
    return 1
}

# cm NAME [args...]: the job against the current stand-in; stdout -> $T/NAME.out,
# stderr -> $T/NAME.err, exit code -> RC
cm() {
    local name=$1
    shift
    env KUBE_API_URL="$SURL" KUBE_TOKEN_FILE="$TOKEN_FILE" KUBE_CA_FILE="$SDIR/ca.crt" \
        "$CM" "$@" >"$T/$name.out" 2>"$T/$name.err"
    RC=$?
    cat "$T/$name.out" "$T/$name.err" >>"$OUT_ALL"
}

# py EXPR-FILE...: small JSON checks
jq_py() { "$PY" -c "$1" "${@:2}"; }

# iq DB QUERY PYEXPR: evaluate PYEXPR over the query's first series list `s` (or [] if none)
iq() {
    influx_q "$1" "$2" | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
r = d["results"][0]
if "error" in r:
    print("ERROR", r["error"]); sys.exit(0)
s = r.get("series", [])
print(eval(sys.argv[1]))' "$3"
}

start_influxd k8s || { not_ok "influxd starts"; finish; }
ok "influxd starts"
influx_create_db k8s

# ---------------------------------------------------------------------------------------
# 1. the recorded fixtures into InfluxDB
start_standin fix --data fixtures || { not_ok "stand-in starts (fixtures)"; finish; }
ok "stand-in starts over TLS with its own CA"

INFLUXDB_URL=$INFLUX_URL INFLUXDB_DATABASE=k8s cm fix --state "$T/fix.db" --cluster fixture-a \
    --page-size 5 --align 5m
check_eq "fixtures: exit 0" "$RC" 0

# what the fixtures hold, worked out here from the files themselves
"$PY" - "$K8SFIX" >"$T/fix-expected.json" <<'PY'
import json, os, re, sys
from collections import Counter
d = sys.argv[1]
def load(n):
    return json.load(open(os.path.join(d, n)))
KI = lambda s: int(re.fullmatch(r"(\d+)Ki", s).group(1)) * 1024
NANO_TO_MILLI_UP = lambda s: -(-int(re.fullmatch(r"(\d+)n", s).group(1)) // 1000000)
mk = load("node_v1_minikube_k9s.json")
dg = load("nodelist_k8s1.35_nri.converted.json")["items"][0]
nm = load("metrics_nodemetrics_minikube_k8s_docs.json")
pods = load("podlist_kubelet_pods_k8s1.35_nri.json")["items"]
ns = Counter((p["metadata"]["namespace"], p["status"]["phase"]) for p in pods)
def node(n):
    st = n["status"]
    return {"cpu_capacity_millicores": int(st["capacity"]["cpu"]) * 1000,
            "cpu_allocatable_millicores": int(st["allocatable"]["cpu"]) * 1000,
            "memory_capacity_bytes": KI(st["capacity"]["memory"]),
            "memory_allocatable_bytes": KI(st["allocatable"]["memory"]),
            "pods_capacity": int(st["capacity"]["pods"]),
            "kubelet_version": st["nodeInfo"]["kubeletVersion"],
            "os_image": st["nodeInfo"]["osImage"],
            "container_runtime": st["nodeInfo"]["containerRuntimeVersion"]}
out = {"minikube": node(mk), "datagen": node(dg),
       "minikube_cpu_usage": NANO_TO_MILLI_UP(nm["usage"]["cpu"]),
       "minikube_memory_usage": KI(nm["usage"]["memory"]),
       "pods": len(pods),
       "ns": {"%s/%s" % k: v for k, v in ns.items()},
       "restarts": sum(c["restartCount"] for p in pods for c in p["status"].get("containerStatuses", []))}
json.dump(out, sys.stdout)
PY
E=$T/fix-expected.json
ex() { jq_py "import json,sys; e=json.load(open(sys.argv[1])); print($1)" "$E"; }

for f in cpu_capacity_millicores cpu_allocatable_millicores memory_capacity_bytes memory_allocatable_bytes pods_capacity; do
    check_eq "node minikube: $f" \
        "$(iq k8s "SELECT last(\"$f\") FROM k8s_node WHERE node='minikube' AND cluster='fixture-a'" 's[0]["values"][0][1] if s else None')" \
        "$(ex "e['minikube']['$f']")"
    check_eq "node datagen-1-35: $f" \
        "$(iq k8s "SELECT last(\"$f\") FROM k8s_node WHERE node='datagen-1-35' AND cluster='fixture-a'" 's[0]["values"][0][1] if s else None')" \
        "$(ex "e['datagen']['$f']")"
done
check_eq "node minikube: cpu usage from NodeMetrics (487558164n rounded up)" \
    "$(iq k8s "SELECT last(cpu_usage_millicores) FROM k8s_node WHERE node='minikube'" 's[0]["values"][0][1] if s else None')" \
    "$(ex "e['minikube_cpu_usage']")"
check_eq "node minikube: memory usage from NodeMetrics" \
    "$(iq k8s "SELECT last(memory_usage_bytes) FROM k8s_node WHERE node='minikube'" 's[0]["values"][0][1] if s else None')" \
    "$(ex "e['minikube_memory_usage']")"
check_eq "node datagen-1-35: no usage (no metrics for it)" \
    "$(iq k8s "SELECT count(cpu_usage_millicores) FROM k8s_node WHERE node='datagen-1-35'" 's[0]["values"][0][1] if s else 0')" 0
check_eq "nodes: ready as an integer 1" \
    "$(iq k8s "SELECT sum(ready) FROM (SELECT last(ready) AS ready FROM k8s_node WHERE cluster='fixture-a' GROUP BY node)" 's[0]["values"][0][1] if s else None')" 2
for tag in kubelet_version os_image container_runtime; do
    check_eq "node minikube: tag $tag" \
        "$(iq k8s "SHOW TAG VALUES FROM k8s_node WITH KEY = \"$tag\" WHERE node='minikube'" 's[0]["values"][0][1] if s else None')" \
        "$(ex "e['minikube']['$tag']")"
done
check_eq "pods: one point per pod" \
    "$(iq k8s "SELECT count(restarts) FROM k8s_pod WHERE cluster='fixture-a'" 's[0]["values"][0][1] if s else 0')" \
    "$(ex "e['pods']")"
check_eq "pods: restarts summed" \
    "$(iq k8s "SELECT sum(restarts) FROM k8s_pod WHERE cluster='fixture-a'" 's[0]["values"][0][1] if s else 0')" \
    "$(ex "e['restarts']")"
check_eq "pod e2e-container-creating: 2 restarts, requests 5m / 5M" \
    "$(iq k8s "SELECT restarts, cpu_request_millicores, memory_request_bytes, ready_containers FROM k8s_pod WHERE pod='e2e-container-creating'" 's[0]["values"][0][1:] if s else None')" \
    "[2, 5, 5000000, 0]"
check_eq "pod metrics-server: tags and requests 100m / 200Mi" \
    "$(iq k8s "SELECT cpu_request_millicores, memory_request_bytes, namespace, node, phase FROM k8s_pod WHERE pod='metrics-server-9d74bb658-c6nnt'" 's[0]["values"][0][1:] if s else None')" \
    "[100, 209715200, 'kube-system', 'datagen-1-35', 'Running']"
got_ns=$(influx_q k8s "SELECT last(pods) FROM k8s_namespace WHERE cluster='fixture-a' GROUP BY namespace, phase" | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
out = {}
for s in d["results"][0].get("series", []):
    v = s["values"][0][1]
    if v:
        out["%s/%s" % (s["tags"]["namespace"], s["tags"]["phase"])] = v
print(json.dumps(out, sort_keys=True))')
check_eq "namespaces: pods per namespace and phase" "$got_ns" "$(ex "json.dumps(e['ns'], sort_keys=True)")"
check_eq "namespaces: zero rows for the other API phases" \
    "$(iq k8s "SELECT count(pods) FROM k8s_namespace WHERE cluster='fixture-a'" 's[0]["values"][0][1] if s else 0')" 10
times=$(influx_q k8s "SELECT * FROM /^k8s_/ WHERE cluster='fixture-a'" | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
ts = {v[0] for s in d["results"][0].get("series", []) for v in s["values"]}
print(len(ts), all(t % 300000000000 == 0 for t in ts))')
check_eq "one timestamp for the whole run, aligned to --align 5m" "$times" "1 True"
check "requests were paged with limit=5" grep -q '"limit": "5"' "$SDIR/requests.log"
check_eq "the run is in the ledger as a cronflux_job point" \
    "$(iq k8s "SELECT last(exit_code) FROM cronflux_job WHERE job='cluster-metrics'" 's[0]["values"][0][1] if s else None')" 0

# CLUSTER_NAME from the environment; --cluster wins over it
CLUSTER_NAME=from-env cm envname --dry-run
check "CLUSTER_NAME sets the cluster tag" grep -q '^k8s_node,cluster=from-env,' "$T/envname.out"
CLUSTER_NAME=from-env cm flagname --dry-run --cluster from-flag
check "--cluster wins over CLUSTER_NAME" grep -q '^k8s_node,cluster=from-flag,' "$T/flagname.out"
check_eq "dry-run: 2 node, 24 pod, 10 namespace lines" \
    "$(grep -c '^k8s_node,' "$T/flagname.out") $(grep -c '^k8s_pod,' "$T/flagname.out") $(grep -c '^k8s_namespace,' "$T/flagname.out")" \
    "2 24 10"

# in a pod: KUBERNETES_SERVICE_HOST/_PORT and the service-account directory
mkdir -p "$T/sa"
cp "$TOKEN_FILE" "$T/sa/token"
cp "$SDIR/ca.crt" "$T/sa/ca.crt"
printf 'cronflux' >"$T/sa/namespace"
env KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT="$SPORT" KUBE_SA_DIR="$T/sa" \
    "$CM" --dry-run >"$T/incluster.out" 2>"$T/incluster.err"
rc=$?
cat "$T/incluster.out" "$T/incluster.err" >>"$OUT_ALL"
check_eq "in-cluster service account: exit 0" "$rc" 0
check_eq "in-cluster: 24 pods" "$(grep -c '^k8s_pod,' "$T/incluster.out")" 24

# the store fails part way (a file-size limit a few pages above the empty state file): one
# error line, the sink's, saying how many points were not stored
kb=$(near_full_kb "$T/full.db" 24)
(
    ulimit -f "$kb"
    exec env -u INFLUXDB_URL -u INFLUXDB_HOST KUBE_API_URL="$SURL" KUBE_TOKEN_FILE="$TOKEN_FILE" \
        KUBE_CA_FILE="$SDIR/ca.crt" CRONFLUX_STATE="$T/full.db" CRONFLUX_BATCH=2 "$CM" \
        >"$T/storefull.out" 2>"$T/storefull.err"
)
rc=$?
cat "$T/storefull.out" "$T/storefull.err" >>"$OUT_ALL"
check_eq "the store fails part way: exit 74" "$rc" 74
check_eq "the store fails part way: one error line" "$(grep -c 'error:' "$T/storefull.err")" 1
check "the store fails part way: it says how many points were not stored" \
    grep -Eq 'error: [0-9]+ points? (was|were) not stored' "$T/storefull.err"

# TLS: the wrong CA is refused
env KUBE_API_URL="$SURL" KUBE_TOKEN_FILE="$TOKEN_FILE" KUBE_CA_FILE="$SDIR/wrong-ca.crt" \
    "$CM" --dry-run >"$T/wrongca.out" 2>"$T/wrongca.err"
rc=$?
cat "$T/wrongca.out" "$T/wrongca.err" >>"$OUT_ALL"
check_eq "TLS with a wrong CA: exit 69 (unreachable)" "$rc" 69
check "TLS with a wrong CA: the message says certificate" grep -qi 'certificate' "$T/wrongca.err"
check_eq "TLS with a wrong CA: no points" "$(grep -c '^k8s_' "$T/wrongca.out")" 0
env KUBE_API_URL="$SURL" KUBE_TOKEN_FILE="$TOKEN_FILE" "$CM" --dry-run >"$T/noca.out" 2>"$T/noca.err"
rc=$?
cat "$T/noca.out" "$T/noca.err" >>"$OUT_ALL"
check_eq "TLS against the system store (private CA not in it): exit 69" "$rc" 69
env KUBE_API_URL="$SURL" KUBE_TOKEN_FILE="$TOKEN_FILE" KUBE_CA_FILE="$T/nope/ca.crt" \
    "$CM" --dry-run >"$T/missingca.out" 2>"$T/missingca.err"
rc=$?
check_eq "a CA file that is not there: exit 78" "$rc" 78
check "  ... naming the file" grep -q "$T/nope/ca.crt" "$T/missingca.err"

# the token: rotated between runs, the new one is read; a stale copy is refused
cp "$TOKEN_FILE" "$T/stale-token"
new_token
ALL_TOKENS+=("$(cat "$TOKEN_FILE")")
DEBUG=1 cm rotated --dry-run
check_eq "token file rotated between runs: the new token is read (exit 0)" "$RC" 0
env KUBE_API_URL="$SURL" KUBE_TOKEN_FILE="$T/stale-token" KUBE_CA_FILE="$SDIR/ca.crt" \
    "$CM" --dry-run >"$T/stale.out" 2>"$T/stale.err"
rc=$?
cat "$T/stale.out" "$T/stale.err" >>"$OUT_ALL"
check_eq "the old token is refused: exit 77" "$rc" 77
check "  ... the message says 401 and names the token file" grep -q "401 Unauthorized.*$T/stale-token" "$T/stale.err"
env KUBE_API_URL="$SURL" KUBE_CA_FILE="$SDIR/ca.crt" "$CM" --dry-run >"$T/notoken.out" 2>"$T/notoken.err"
rc=$?
check_eq "no token at all: exit 77" "$rc" 77

# ---------------------------------------------------------------------------------------
# 2. a generated cluster: 50 nodes, 2000 pods, pages of 100
start_standin gen --data generated --nodes 50 --pods 2000 --namespaces 8 ||
    { not_ok "stand-in starts (generated)"; finish; }
GE=$SDIR/expected.json
gx() { jq_py "import json,sys; e=json.load(open(sys.argv[1])); print($1)" "$GE"; }
INFLUXDB_URL=$INFLUX_URL INFLUXDB_DATABASE=k8s cm gen --state "$T/gen.db" --cluster gen --page-size 100
check_eq "generated cluster: exit 0" "$RC" 0
check_eq "generated: 20 pod pages, 1 node page, each with limit=100" \
    "$("$PY" -c '
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
pods = [r for r in rs if r["path"] == "/api/v1/pods"]
nodes = [r for r in rs if r["path"] == "/api/v1/nodes"]
print(len(pods), len(nodes), all(r["query"].get("limit") == "100" for r in rs))' "$SDIR/requests.log")" \
    "20 1 True"
gen_ns() {   # DB CLUSTER -> {"ns/phase": n} from k8s_namespace
    influx_q "$1" "SELECT last(pods) FROM k8s_namespace WHERE cluster='$2' GROUP BY namespace, phase" | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
print(json.dumps({"%s/%s" % (s["tags"]["namespace"], s["tags"]["phase"]): s["values"][0][1]
                  for s in d["results"][0].get("series", [])}, sort_keys=True))'
}
want_ns=$(gx 'json.dumps({"%s/%s" % (n, p): c for n, d in e["namespaces"].items() for p, c in d.items()}, sort_keys=True)')
check_eq "generated: exact pods per namespace and phase" "$(gen_ns k8s gen)" "$want_ns"
check_eq "generated: 2000 pod points" \
    "$(iq k8s "SELECT count(restarts) FROM k8s_pod WHERE cluster='gen'" 's[0]["values"][0][1] if s else 0')" 2000
sums=$(iq k8s "SELECT sum(restarts), sum(containers), sum(ready_containers), sum(cpu_request_millicores), sum(memory_request_bytes), sum(cpu_usage_millicores), sum(memory_usage_bytes), count(cpu_usage_millicores) FROM k8s_pod WHERE cluster='gen'" 's[0]["values"][0][1:] if s else None')
check_eq "generated: pod sums (restarts, containers, ready, requests, usage joined by ns/name)" "$sums" \
    "$(gx '[e["pod_restarts"], e["pod_containers"], e["pod_ready_containers"], e["pod_cpu_request_millicores"], e["pod_memory_request_bytes"], e["pod_cpu_usage_millicores"], e["pod_memory_usage_bytes"], e["pods_with_usage"]]')"
nsums=$(iq k8s "SELECT count(ready), sum(ready), sum(cpu_usage_millicores), sum(memory_usage_bytes), sum(memory_capacity_bytes) FROM k8s_node WHERE cluster='gen'" 's[0]["values"][0][1:] if s else None')
check_eq "generated: node sums (count, ready, usage joined by name, capacity)" "$nsums" \
    "$(gx '[e["nodes"], e["nodes_ready"], e["node_cpu_usage_millicores"], e["node_memory_usage_bytes"], e["node_memory_capacity_bytes"]]')"

# ---------------------------------------------------------------------------------------
# 3. 410 Gone on a continue token: start over, count nothing twice
start_standin gone --data generated --nodes 50 --pods 2000 --namespaces 8 --scenario 410 ||
    { not_ok "stand-in starts (410)"; finish; }
INFLUXDB_URL=$INFLUX_URL INFLUXDB_DATABASE=k8s cm gone --state "$T/gone.db" --cluster gone --page-size 100
check_eq "410 once: exit 0" "$RC" 0
check_eq "410 once: the stand-in answered 410 exactly once" \
    "$(grep -c '"status": 410' "$SDIR/requests.log")" 1
check_eq "410 once: exact pods per namespace and phase (no double count)" "$(gen_ns k8s gone)" "$want_ns"
start_standin gone2 --data generated --nodes 50 --pods 2000 --namespaces 8 --scenario 410 ||
    { not_ok "stand-in starts (410, dry-run)"; finish; }
cm gone2 --dry-run --page-size 100
check_eq "410 once, dry-run: exactly 2000 pod lines, 40 namespace lines" \
    "$(grep -c '^k8s_pod,' "$T/gone2.out") $(grep -c '^k8s_namespace,' "$T/gone2.out")" "2000 40"
check_eq "410 once, dry-run: each pod written once" \
    "$(grep '^k8s_pod,' "$T/gone2.out" | sed 's/ .*//' | sort -u | wc -l)" 2000
start_standin gone3 --data generated --nodes 5 --pods 300 --scenario 410-always ||
    { not_ok "stand-in starts (410-always)"; finish; }
cm gone3 --dry-run --page-size 100
check_eq "410 every time: gives up, exit 69" "$RC" 69
check_eq "410 every time: bounded (3 restarts: 4 answers 410)" "$(grep -c '"status": 410' "$SDIR/requests.log")" 4
check "410 every time: the message says the token expired" grep -q 'continue token expired' "$T/gone3.err"

# ---------------------------------------------------------------------------------------
# 4. metrics.k8s.io absent / down: one warning, exit 0, no usage fields
for sc in nometrics metrics503; do
    start_standin "$sc" --data generated --nodes 5 --pods 40 --scenario "$sc" ||
        { not_ok "stand-in starts ($sc)"; continue; }
    cm "$sc" --dry-run --page-size 10
    check_eq "$sc: exit 0" "$RC" 0
    check_eq "$sc: exactly one warning" "$(grep -c 'warn' "$T/$sc.err")" 1
    check "$sc: the warning names metrics.k8s.io" grep -q 'metrics.k8s.io is not served' "$T/$sc.err"
    check_eq "$sc: all 40 pods and 5 nodes written" \
        "$(grep -c '^k8s_pod,' "$T/$sc.out") $(grep -c '^k8s_node,' "$T/$sc.out")" "40 5"
    check_eq "$sc: no usage fields" "$(grep -c 'usage' "$T/$sc.out")" 0
done

# ---------------------------------------------------------------------------------------
# 5. refusals and bad data
start_standin s401 --data generated --nodes 2 --pods 10 --scenario 401 || not_ok "stand-in (401)"
cm s401 --dry-run
check_eq "401: exit 77" "$RC" 77
check "401: says Unauthorized" grep -q '401 Unauthorized' "$T/s401.err"

start_standin s403 --data generated --nodes 2 --pods 10 --scenario 403=pods || not_ok "stand-in (403)"
cm s403 --dry-run
check_eq "403 on pods: exit 77" "$RC" 77
check "403: names the verb and resource" grep -q 'forbidden: list pods (GET /api/v1/pods)' "$T/s403.err"
check "403: carries the API server's RBAC reason" grep -q "cannot list resource 'pods'" "$T/s403.err"
check_eq "403: one line on stderr" "$(wc -l <"$T/s403.err")" 1

start_standin s403m --data generated --nodes 2 --pods 10 --scenario 403=nodes.metrics.k8s.io || not_ok "stand-in (403 metrics)"
cm s403m --dry-run
check_eq "403 on metrics.k8s.io nodes: exit 77" "$RC" 77
check "403 metrics: names the resource" grep -q 'forbidden: list nodes.metrics.k8s.io' "$T/s403m.err"

start_standin trunc --data generated --nodes 2 --pods 300 --scenario truncated || not_ok "stand-in (truncated)"
cm trunc --dry-run --page-size 100
check_eq "truncated JSON: exit 65" "$RC" 65
check "truncated JSON: the message has line and column" grep -qE 'GET /api/v1/pods \(page 1\): line 1, column [0-9]+' "$T/trunc.err"

start_standin badq --data generated --nodes 2 --pods 100 --scenario badquantity || not_ok "stand-in (bad quantity)"
cm badq --dry-run --page-size 30
check_eq "malformed quantity: exit 65" "$RC" 65
check "malformed quantity: names pod, container and quantity" \
    grep -q 'pod ns-003/pod-000007: container c0: cpu request "12q": ' "$T/badq.err"
check_eq "malformed quantity: the other 99 pods are written" "$(grep -c '^k8s_pod,' "$T/badq.out")" 99
check_eq "malformed quantity: the pod is still counted in its namespace" \
    "$(grep '^k8s_namespace,' "$T/badq.out" | sed 's/.* pods=\([0-9]*\)i.*/\1/' | awk '{s+=$1} END {print s}')" 100

start_standin s500 --data generated --nodes 2 --pods 50 --scenario 500-once || not_ok "stand-in (500 once)"
cm s500 --dry-run --page-size 20
check_eq "500 once: retried, exit 0, all 50 pods" "$RC $(grep -c '^k8s_pod,' "$T/s500.out")" "0 50"
check_eq "500 once: the stand-in answered 500 once" "$(grep -c '"status": 500' "$SDIR/requests.log")" 1

start_standin stuck --data generated --nodes 2 --pods 100 --scenario stuck-continue || not_ok "stand-in (stuck continue)"
cm stuck --dry-run --page-size 20
check_eq "a continue token that never advances: exit 65, not a loop" "$RC" 65
check "  ... the message says so" grep -q 'continue token did not change' "$T/stuck.err"

# a token rotated during the run: 401, the file is read again, the run goes on
start_standin rot --data generated --nodes 5 --pods 300 --scenario rotate || not_ok "stand-in (rotate)"
DEBUG=1 cm rot --dry-run --page-size 50
ALL_TOKENS+=("$(cat "$TOKEN_FILE")")
check_eq "token rotated mid-run: exit 0" "$RC" 0
check_eq "token rotated mid-run: one 401, then all pages" \
    "$(grep -c '"status": 401' "$SDIR/requests.log") $(grep -c '^k8s_pod,' "$T/rot.out")" "1 300"

# ---------------------------------------------------------------------------------------
# 6. configuration and reachability
port=$(free_port)
env KUBE_API_URL="https://127.0.0.1:$port" KUBE_TOKEN_FILE="$TOKEN_FILE" "$CM" --dry-run \
    >"$T/down.out" 2>"$T/down.err"
check_eq "nothing listening: exit 69" "$?" 69
env -u KUBERNETES_SERVICE_HOST -u KUBE_API_URL "$CM" --dry-run >"$T/nocfg.out" 2>"$T/nocfg.err"
check_eq "no configuration: exit 78" "$?" 78
check "no configuration: says what to set" grep -q 'KUBE_API_URL' "$T/nocfg.err"
env KUBE_API_URL="$SURL" "$CM" --page-size 0 >/dev/null 2>&1
check_eq "--page-size 0: exit 64" "$?" 64
"$CM" --no-such-flag >/dev/null 2>&1
check_eq "unknown flag: exit 64" "$?" 64
"$CM" --help >"$T/help.out" 2>&1
check "--help documents KUBE_SA_DIR and --page-size" grep -q 'KUBE_SA_DIR' "$T/help.out"

# ---------------------------------------------------------------------------------------
# the token never appears in anything the job printed (DEBUG=1 runs included)
leaks=0
for t in "${ALL_TOKENS[@]}"; do
    grep -qF "$t" "$OUT_ALL" && leaks=$((leaks + 1))
done
check_eq "no token in any output ($(wc -l <"$OUT_ALL") lines checked)" "$leaks" 0
check "DEBUG=1 runs did print request detail" grep -q 'GET' "$T/rotated.err"

finish
