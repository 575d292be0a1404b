#!/usr/bin/env bash
# make demo-up / make demo-down (tests/demo-up.sh, tests/demo-down.sh): the demo's servers and
# stand-ins stay up after demo-up returns, the environment it prints works as pasted (every job
# and the store tool against them), a second demo-up says it is up already, and demo-down stops
# every process it started and removes its files.
. "$(dirname "$0")/../lib/common.sh"
export CRONFLUX_DEMO_DIR=$T/demo

for tool in influxd prometheus; do
    command -v "$tool" >/dev/null || { not_ok "$tool installed (make deps)"; finish; }
done
"$ROOT/tests/demo-up.sh" >"$T/up.out" 2>&1
rc=$?
sed 's/^/# up: /' "$T/up.out" | grep -v 'export TWITTER_A' | head -40
check_eq "demo-up: exit 0" "$rc" 0
check "demo-up writes the environment" [ -s "$CRONFLUX_DEMO_DIR/env" ]
check "the environment file is private (0600)" [ "$(stat -c %a "$CRONFLUX_DEMO_DIR/env")" = 600 ]
check_eq "demo-up leaves 5 processes (InfluxDB, Prometheus, 3 stand-ins)" "$(wc -l <"$CRONFLUX_DEMO_DIR/pids")" 5
pids=$(cut -d' ' -f1 "$CRONFLUX_DEMO_DIR/pids" | tr '\n' ' ')
alive=0
for p in $pids; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
check_eq "all 5 still running after demo-up returned" "$alive" 5
for v in INFLUXDB_URL INFLUXDB_DATABASE PROMETHEUS_URL KUBE_API_URL KUBE_CA_FILE KUBE_TOKEN_FILE \
    CLUSTER_NAME TWITTER_API_URL TWITTER_API_KEY TWITTER_USERS CRONFLUX_STATE PATH; do
    check "it prints export $v" grep -q "^export $v=" "$T/up.out"
done

# the printed environment, pasted into a fresh shell: every job works
run_pasted() {
    env -i HOME="$HOME" PATH=/usr/bin:/bin bash -c "$(sed -n '/^export /p' "$T/up.out")
$1" >"$T/p.out" 2>"$T/p.err"
}
run_pasted 'twitter-stats --dry-run' && check "pasted: twitter-stats --dry-run reads the stand-in's 3 accounts" \
    bash -c "[ \$(grep -c '^twitter_user,' '$T/p.out') = 3 ]" || not_ok "pasted: twitter-stats --dry-run ($(tail -1 "$T/p.err"))"
# the README's examples, as it gives them
run_pasted 'twitter-stats --users XDevelopers,TweepyDev --dry-run' &&
    check "README: twitter-stats --users XDevelopers,TweepyDev --dry-run prints their 2 accounts" \
        bash -c "[ \$(grep -c '^twitter_user,' '$T/p.out') = 2 ]" ||
    not_ok "README: twitter-stats --users XDevelopers,TweepyDev --dry-run ($(tail -1 "$T/p.err"))"
grep -q -- '--users XDevelopers,TweepyDev --dry-run' "$ROOT/README.md" && ok "README gives that command" ||
    not_ok "README gives that command"
run_pasted 'cluster-metrics --cluster prod --dry-run' &&
    check "README: cluster-metrics --cluster prod --dry-run tags its points cluster=prod" grep -q '^k8s_node,cluster=prod,' "$T/p.out" ||
    not_ok "README: cluster-metrics --cluster prod --dry-run ($(tail -1 "$T/p.err"))"
run_pasted 'prom-metrics' && check "README: prom-metrics (the built-in set) on the demo's Prometheus says what it needs" \
    grep -q 'built-in queries found no samples' "$T/p.err" || not_ok "README: prom-metrics ($(tail -1 "$T/p.err"))"
run_pasted 'cluster-metrics' && ok "pasted: cluster-metrics exit 0" || not_ok "pasted: cluster-metrics ($(tail -1 "$T/p.err"))"
check "cluster-metrics ends with one summary line: read, sent, pending, how long" \
    grep -qE '^cluster-metrics: info: 12 nodes, 120 pods, 4 namespaces, 152 points, .*; 152 sent to InfluxDB, 0 pending; [0-9]+\.[0-9]s$' "$T/p.err"
run_pasted 'echo "demo_up_check v=1i" | cronflux push && cronflux status'
check "pasted: cronflux push and status against the demo's InfluxDB" grep -q '^pending: 0 batches, 0 points' "$T/p.out"
q=$(curl -s -G "$(sed -n 's/^export INFLUXDB_URL=//p' "$T/up.out")/query" --data-urlencode db=cronflux \
    --data-urlencode 'q=SELECT count(v) FROM demo_up_check')
case "$q" in *',1]]'*) ok "the pushed point is in the demo's InfluxDB" ;; *) not_ok "the pushed point is in the demo's InfluxDB ($q)" ;; esac

# a second demo-up: already up, the same environment again, nothing new started
"$ROOT/tests/demo-up.sh" >"$T/up2.out" 2>&1
check_eq "second demo-up: exit 0" "$?" 0
check "second demo-up says it is up already" grep -q '^demo-up: already up (5 processes' "$T/up2.out"
check_eq "and prints the same INFLUXDB_URL" "$(grep '^export INFLUXDB_URL' "$T/up2.out")" "$(grep '^export INFLUXDB_URL' "$T/up.out")"

# demo-down: every one stopped, files gone; again: nothing running
"$ROOT/tests/demo-down.sh" >"$T/down.out" 2>&1
check_eq "demo-down: exit 0" "$?" 0
sed 's/^/# down: /' "$T/down.out"
check "demo-down says what it stopped" grep -q '^demo-down: stopped 5 processes' "$T/down.out"
alive=0
for p in $pids; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
check_eq "no demo process left" "$alive" 0
check "the demo's files are gone" [ ! -e "$CRONFLUX_DEMO_DIR" ]
"$ROOT/tests/demo-down.sh" >"$T/down2.out" 2>&1
check_eq "demo-down again: exit 0" "$?" 0
check "demo-down again: nothing running" grep -q '^demo-down: nothing running' "$T/down2.out"
finish
