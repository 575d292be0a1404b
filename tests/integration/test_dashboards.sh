#!/usr/bin/env bash
# The dashboards end to end: the whole local stack (tests/lib/stack.sh: InfluxDB 1.6.7,
# Prometheus, the X and Kubernetes API stand-ins), every job run once, one run while InfluxDB
# is down (exit 75, its points and its cronflux_job point "spooled" delivered by the next run),
# then every query of every panel of dashboards/*.json, with Grafana's macros and template
# variables expanded (tests/tools/panel_queries.py), against the real InfluxDB:
#  - each returns at least one series with a value, and groups by tags that exist
#  - what the panels show equals what the sources served: followers, posts, following and the
#    twittergraph counters of each account, likes/reposts/replies/quotes/impressions summed
#    over the posts, the top post; Nodes ready = the Ready nodes the Kubernetes stand-in lists
#    (both clusters), nodes, pods (per namespace and phase), restarts, node and pod usage;
#    one series per job, runs per job and status as run here, the one failure, nothing
#    pending and no dead letters at the end, the spooled run's pending field
#  - no secret (X credentials, the bearer token) in anything a job printed
. "$(dirname "$0")/../lib/common.sh"
STACK_PREFIX='# '
. "$ROOT/tests/lib/stack.sh"

stack_start || { not_ok "the stack starts (influxd, prometheus, X and Kubernetes stand-ins)"; finish; }
ok "the stack starts (influxd, prometheus, X and Kubernetes stand-ins)"

# ---- InfluxDB as k8s/base/influxdb.yaml initialises it: the database, then the init script's
# DEFAULT retention policy (k8s/base/influxdb-init/retention.sh, run as the image runs it);
# every job below writes into it and every panel reads it, naming no retention policy
port=${INFLUX_URL##*:}
influx_create_db "$STACK_DB"
INFLUXDB_DB=$STACK_DB INFLUXDB_INIT_PORT=$port CRONFLUX_RETENTION=90d \
    sh "$ROOT/k8s/base/influxdb-init/retention.sh" >"$T/retention.out" 2>&1 ||
    not_ok "retention.sh: $(tail -2 "$T/retention.out" | tr '\n' ' ')"
check_eq "retention.sh: the DEFAULT retention policy cronflux, 90d (settings INFLUXDB_RETENTION)" \
    "$(influx_q "$STACK_DB" 'SHOW RETENTION POLICIES' | "$PY" -c 'import json,sys
s=json.load(sys.stdin)["results"][0]["series"][0]; print(" ".join("%s:%s" % (r[0], r[1]) for r in s["values"] if r[-1]))')" \
    "cronflux:2160h0m0s"
INFLUXDB_DB=$STACK_DB INFLUXDB_INIT_PORT=$port CRONFLUX_RETENTION=forever \
    sh "$ROOT/k8s/base/influxdb-init/retention.sh" >"$T/retention-bad.out" 2>&1
check_eq "retention.sh: a duration that is not InfluxQL's (forever) stops the start (exit 78)" "$?" 78

stack_run_jobs
stack_outage
for l in "${STACK_LABELS[@]}"; do
    check_eq "$l exits ${STACK_WANT[$l]}" "${STACK_GOT[$l]}" "${STACK_WANT[$l]}"
done
[ "${STACK_OUTAGE_PENDING:-0}" -gt 0 ] && ok "InfluxDB down: the run's points wait in the spool (${STACK_OUTAGE_PENDING} points)" ||
    not_ok "InfluxDB down: the run's points wait in the spool (status: $(head -3 "$STACK_LOGS/status-down.out" | tr '\n' ' '))"
check_eq "InfluxDB back: the next run delivered them (pending points)" "${STACK_OUTAGE_AFTER:-?}" 0

# ---- every panel's query returns data ----------------------------------------------------------
stack_panels --check --json "$T/panels.json" >"$T/check.out" 2>&1
while IFS= read -r line; do
    case "$line" in
        "ok - dashboards: "*) ok "panel ${line#ok - dashboards: }" ;;
        "not ok - dashboards: "*) not_ok "panel ${line#not ok - dashboards: }" ;;
        "#"*) echo "$line" ;;
        *) not_ok "panel_queries.py: $line" ;;
    esac
done <"$T/check.out"
n_targets=$("$PY" -c '
import glob, json, sys
n = 0
for f in glob.glob(sys.argv[1] + "/dashboards/*.json"):
    for p in json.load(open(f))["panels"]:
        n += len([t for t in p.get("targets", []) if not t.get("hide")])
print(n)' "$ROOT")
check_eq "every target of every panel was run" "$(grep -cE '^(ok|not ok) - ' "$T/check.out")" "$n_targets"

# the recorded cluster too (the dashboard shows one cluster at a time)
stack_panels --var cluster=recorded --json "$T/panels-recorded.json" "$ROOT/dashboards/cluster.json" >/dev/null 2>&1
check "panel queries with \$cluster=recorded run" test -s "$T/panels-recorded.json"

# ---- what the panels show equals what the sources served ---------------------------------------
# the sources' side: the X stand-in's data, each Kubernetes stand-in's node list (through the
# API, with the token), the generated cluster's expected sums, the runs made here
curl -sS -m 10 "$STACK_TW_ADMIN/data" >"$T/x-data.json"
for c in dev recorded; do
    url=STACK_K8S_URL_$c ca=STACK_K8S_CA_$c
    curl -sS -m 10 --cacert "${!ca}" -H "Authorization: Bearer $(cat "$STACK_K8S_TOKEN_FILE")" \
        "${!url}/api/v1/nodes" >"$T/nodes-$c.json"
done
for l in "${STACK_LABELS[@]}"; do
    printf '%s %s\n' "$l" "${STACK_GOT[$l]}"
done >"$T/runs.txt"
influx_q "$STACK_DB" "SELECT \"pending\", \"points\", \"exit_code\" FROM \"cronflux_job\" WHERE \"status\" = 'spooled'" >"$T/spooled.json"

cat >"$T/values.py" <<'PYEOF'
"""values.py T USERS: compares what the panels show (panels*.json from panel_queries.py) with
what the sources served. Prints "PASS what" / "FAIL what: detail" lines."""
import json, os, sys
from collections import Counter
T, users = sys.argv[1], sys.argv[2].split(",")
def res(ok, what, detail=""):
    print(("PASS " if ok else "FAIL ") + what + ("" if ok else ": " + detail), flush=True)
def eq(what, got, want):
    res(got == want, what, "panel shows %r, want %r" % (got, want))

def load(name):
    with open(os.path.join(T, name)) as f:
        return json.load(f)
def panel(report, dash, title, ref="A"):
    for e in report:
        if e["dashboard"] == dash and e["panel"] == title and e["refId"] == ref:
            return e
    raise LookupError("no panel %s / %s [%s] in the report" % (dash, title, ref))
def rows(e):
    """series -> list of (tags, row dict) for every row"""
    r = []
    for s in e["series"]:
        for v in s["values"]:
            r.append((s.get("tags") or {}, dict(zip(s["columns"], v))))
    return r
def last_by(e, tag, col):
    """the latest non-null value of col in each series, keyed by the series' tag"""
    d = {}
    for s in e["series"]:
        i = s["columns"].index(col)
        vals = [v[i] for v in s["values"] if v[i] is not None]
        if vals:
            d[(s.get("tags") or {}).get(tag)] = vals[-1]
    return d
def last(e, col):
    d = last_by(e, None, col)
    return d.get(None)

rep = load("panels.json")
rec = load("panels-recorded.json")

def twitter():
    # ---- X / Twitter: the stand-in's accounts and posts
    x = {a["username"]: a for a in load("x-data.json")["accounts"]}
    acc = {u: x[u] for u in users}
    for title, col, key in (("Followers now", "followers", "followers"), ("Posts now", "posts", "tweet_count"),
                            ("Following now", "following", "following"), ("Followers", "last", "followers")):
        eq("twitter: %s, per account = the stand-in's %s" % (title, key),
           last_by(panel(rep, "cronflux-twitter", title), "user", col), {u: a[key] for u, a in acc.items()})
    for ref, key in (("A", "followers"), ("B", "following"), ("C", "tweet_count")):
        eq("twitter: twittergraph counters [%s] (--schema twittergraph) = the stand-in's %s" % (ref, key),
           last_by(panel(rep, "cronflux-twitter", "twittergraph counters (--schema twittergraph)", ref), "user", "last"),
           {u: a[key] for u, a in acc.items()})
    eq("twitter: follower growth per day is 0 (the counters did not move)",
       set(last_by(panel(rep, "cronflux-twitter", "Follower growth per day"), "user", "gained").values()), {0})
    posts = [p for a in acc.values() for p in a["posts"]]
    e = panel(rep, "cronflux-twitter", "Posts' engagement")
    for col, key in (("likes", "likes"), ("reposts", "reposts"), ("replies", "replies"), ("quotes", "quotes")):
        eq("twitter: Posts' engagement %s = the sum over the %d posts served" % (col, len(posts)),
           last(e, col), sum(p[key] for p in posts))
    eq("twitter: Impressions = the sum over the posts served",
       last(panel(rep, "cronflux-twitter", "Impressions"), "impressions"), sum(p["impressions"] for p in posts))
    top = [r["likes"] for _, r in rows(panel(rep, "cronflux-twitter", "Top posts by likes"))]
    eq("twitter: Top posts by likes = the 10 most liked posts served",
       sorted(top, reverse=True), sorted((p["likes"] for p in posts), reverse=True)[:10])

def cluster():
    # ---- Kubernetes: the stand-ins' node lists; the generated cluster's expected sums
    def ready_nodes(name):
        items = load("nodes-%s.json" % name)["items"]
        return len(items), sum(1 for n in items for c in n["status"]["conditions"]
                               if c["type"] == "Ready" and c["status"] == "True")
    for name, r in (("dev", rep), ("recorded", rec)):
        n, ready = ready_nodes(name)
        eq("cluster %s: Nodes ready = the Ready nodes the API lists (%d of %d)" % (name, ready, n),
           last(panel(r, "cronflux-cluster", "Nodes ready"), "ready"), ready)
        eq("cluster %s: Nodes = the nodes the API lists" % name,
           last(panel(r, "cronflux-cluster", "Nodes"), "nodes"), n)
    ex = load("k8s-dev/expected.json")
    eq("cluster dev: Pods = the pods served", last(panel(rep, "cronflux-cluster", "Pods"), "pods"), ex["pods"])
    eq("cluster dev: Container restarts = the restarts served",
       last(panel(rep, "cronflux-cluster", "Container restarts"), "restarts"), ex["pod_restarts"])
    eq("cluster dev: Restarts by namespace add up to the restarts served",
       sum(last_by(panel(rep, "cronflux-cluster", "Restarts by namespace"), "namespace", "restarts").values()),
       ex["pod_restarts"])
    want_ns = {"%s/%s" % (ns, ph): n for ns, d in ex["namespaces"].items() for ph, n in d.items()}
    got_ns = {"%s/%s" % (t["namespace"], t["phase"]): v
              for (t, v) in ((s["tags"], [x[1] for x in s["values"]][-1]) for s in panel(rep, "cronflux-cluster", "Pods by namespace and phase")["series"])}
    eq("cluster dev: Pods by namespace and phase = the pods served, per namespace and phase", got_ns, want_ns)
    eq("cluster dev: CPU usage = the node usage served (millicores, rounded up a node)",
       last(panel(rep, "cronflux-cluster", "CPU: capacity, allocatable, usage"), "usage"), ex["node_cpu_usage_millicores"])
    e = panel(rep, "cronflux-cluster", "Memory: capacity, allocatable, usage")
    eq("cluster dev: Memory capacity = the capacity served", last(e, "capacity"), ex["node_memory_capacity_bytes"])
    eq("cluster dev: Memory usage = the node usage served", last(e, "usage"), ex["node_memory_usage_bytes"])
    eq("cluster dev: Pod CPU usage by namespace adds up to the pod usage served",
       sum(last_by(panel(rep, "cronflux-cluster", "Pod CPU usage by namespace"), "namespace", "cpu").values()),
       ex["pod_cpu_usage_millicores"])
    eq("cluster dev: Pod memory usage by namespace adds up to the pod usage served",
       sum(last_by(panel(rep, "cronflux-cluster", "Pod memory usage by namespace"), "namespace", "memory").values()),
       ex["pod_memory_usage_bytes"])
    eq("cluster recorded: Pods = the 24 recorded pods",
       last(panel(rec, "cronflux-cluster", "Pods"), "pods"), 24)

def jobs():
    # ---- Jobs: the runs made here
    runs = Counter()
    for line in open(os.path.join(T, "runs.txt")):
        label, rc = line.split()
        job = "cronflux" if label.startswith("cronflux-") else \
            next(j for j in ("twitter-stats", "cluster-metrics", "prom-metrics") if label.startswith(j))
        runs[(job, {"0": "ok", "75": "spooled"}.get(rc, "failed"))] += 1
    jobs = {j for j, _ in runs}
    e = panel(rep, "cronflux-jobs", "Last success")
    eq("jobs: Last success has one series per job", sorted((s.get("tags") or {}).get("job") for s in e["series"]), sorted(jobs))
    got = Counter()
    for t, r in rows(panel(rep, "cronflux-jobs", "Runs by status")):
        got[(t.get("job"), t.get("status"))] += r["count"]
    eq("jobs: Runs by status = the runs made, per job and status", dict(got), dict(runs))
    got = Counter()
    for t, r in rows(panel(rep, "cronflux-jobs", "Failures (runs not ok)")):
        got[(t.get("job"), t.get("status"))] += r["count"]
    eq("jobs: Failures = the one run made while InfluxDB was down",
       dict(got), {k: v for k, v in runs.items() if k[1] != "ok"})
    eq("jobs: Points pending in spools: 0 for every job once InfluxDB is back",
       last_by(panel(rep, "cronflux-jobs", "Points pending in spools"), "job", "pending"), {j: 0 for j in jobs})
    eq("jobs: Dead letters: none",
       set(last_by(panel(rep, "cronflux-jobs", "Dead letters"), "job", "sum").values()), {0})
    e = panel(rep, "cronflux-jobs", "Points read and sent")
    eq("jobs: Points read and sent: cronflux push read 4 and sent 4",
       (last_by(e, "job", "read").get("cronflux"), last_by(e, "job", "sent").get("cronflux")), (4, 4))
    sp = load("spooled.json")["results"][0].get("series", [])
    vals = [dict(zip(s["columns"], v)) for s in sp for v in s["values"]]
    res(len(vals) == 1 and vals[0]["exit_code"] == 75 and vals[0]["pending"] == vals[0]["points"] > 0,
        "jobs: the spooled run's cronflux_job point arrived, exit_code 75, pending = the points it read",
        repr(vals))
for part in (twitter, cluster, jobs):
    try:
        part()
    except Exception as e:   # one broken part does not hide the others' results
        res(False, "%s panels: the comparison itself failed" % part.__name__, "%s: %s" % (type(e).__name__, e))

PYEOF
"$PY" "$T/values.py" "$T" "$STACK_USERS" 2>&1 | while IFS= read -r line; do
    case "$line" in
        PASS\ *) ok "${line#PASS }" ;;
        FAIL\ *) not_ok "${line#FAIL }" ;;
        *) not_ok "values.py: $line" ;;
    esac
done

# prom-metrics has no dashboard here: its points, as Prometheus gave them (up = 1 for itself)
check_eq "prom-metrics: the scheduled and backfilled 'up' points are all 1" \
    "$(influx_q "$STACK_DB" "SELECT count(\"value\"), min(\"value\"), max(\"value\") FROM \"prometheus\" WHERE \"query\" = 'up'" |
        "$PY" -c 'import json,sys; s=json.load(sys.stdin)["results"][0].get("series"); v=s[0]["values"][0] if s else [0,0,0,0]; print("many" if v[1] >= 2 else v[1], v[2], v[3])')" \
    "many 1 1"

# ---- the alert rules (dashboards/provisioning/alerting/*.yaml), every query against this
# InfluxDB as Grafana runs it: after these runs none fires (every job had an ok run, no dead
# letters, the outage's backlog drained) ...
# (the other files' rules, e.g. twitter.yaml's, are evaluated by their own job's test on runs
# made for them: here their queries must run, whatever they decide)
"$PY" "$ROOT/tests/tools/alert_rules.py" --url "$INFLUX_URL" --db "$STACK_DB" --expect-quiet \
    "$ROOT/dashboards/provisioning/alerting/cronflux.yaml" >"$T/alerts.out" 2>&1
others=$(ls "$ROOT"/dashboards/provisioning/alerting/*.yaml | grep -v '/cronflux.yaml$')
if [ -n "$others" ]; then
    # shellcheck disable=SC2086
    "$PY" "$ROOT/tests/tools/alert_rules.py" --url "$INFLUX_URL" --db "$STACK_DB" $others 2>&1 |
        sed 's/^ok - \([^:]*\): /ok - \1: the queries run (now /; s/^\(ok - .*\)$/\1)/' >>"$T/alerts.out"
fi
while IFS= read -r line; do
    case "$line" in
        "ok - "*) ok "alert ${line#ok - }" ;;
        "not ok - "*) not_ok "alert ${line#not ok - }" ;;
        *) not_ok "alert_rules.py: $line" ;;
    esac
done <"$T/alerts.out"
check "the alert rules were evaluated" test -s "$T/alerts.out"
# ... and each fires on runs that call for it: no ok run of any job, InfluxDB refusing lines,
# a backlog growing run after run
influx_create_db alertfire
now=$(date +%s)
curl -sS -XPOST "$INFLUX_URL/write?db=alertfire&precision=s" --data-binary "\
cronflux_job,job=cluster-metrics,status=spooled exit_code=75i,dead_letters=0i,pending=100i $((now - 1200))
cronflux_job,job=cluster-metrics,status=spooled exit_code=75i,dead_letters=0i,pending=300i $((now - 600))
cronflux_job,job=cluster-metrics,status=partial exit_code=0i,dead_letters=2i,pending=450i $((now - 300))"
"$PY" "$ROOT/tests/tools/alert_rules.py" --url "$INFLUX_URL" --db alertfire --expect-firing \
    "$ROOT/dashboards/provisioning/alerting/cronflux.yaml" >"$T/alerts-fire.out" 2>&1
while IFS= read -r line; do
    case "$line" in
        "ok - "*) ok "alert fires: ${line#ok - }" ;;
        "not ok - "*) not_ok "alert fires: ${line#not ok - }" ;;
        *) not_ok "alert_rules.py: $line" ;;
    esac
done <"$T/alerts-fire.out"

# ---- no secret in anything a job printed ---------------------------------------------------------
keep_output jobs "$STACK_LOGS"/*
no_secrets "no X credential or bearer token in the jobs' output" "$STACK_TW_CK" "$STACK_TW_CS" \
    "$STACK_TW_TK" "$STACK_TW_TS" "$(cat "$STACK_K8S_TOKEN_FILE")"

finish
