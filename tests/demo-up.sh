#!/usr/bin/env bash
# make demo-up: the demo's servers and stand-ins (tests/lib/stack.sh: InfluxDB 1.x, Prometheus,
# the X API stand-in, two Kubernetes API stand-ins), all on 127.0.0.1, started and LEFT RUNNING;
# every job runs once so that InfluxDB has points; then it prints the environment to paste into
# a shell, so that bin/twitter-stats, bin/cluster-metrics, bin/prom-metrics and bin/cronflux
# work against them by hand. `make demo-down` (tests/demo-down.sh) stops them.
#
# Files: $CRONFLUX_DEMO_DIR (default build/demo): env (the environment, also sourceable), pids
# (what demo-down stops), and the servers' data and logs.
# Exit: 0 up (or already up: the environment is printed again); 1 something did not start
# (what did start is stopped again).
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEMO_DIR=${CRONFLUX_DEMO_DIR:-$ROOT/build/demo}
case "$DEMO_DIR" in /*) ;; *) DEMO_DIR=$PWD/$DEMO_DIR ;; esac

# already up?
if [ -s "$DEMO_DIR/pids" ] && [ -s "$DEMO_DIR/env" ]; then
    alive=0
    while read -r pid _; do
        kill -0 "$pid" 2>/dev/null && alive=$((alive + 1))
    done <"$DEMO_DIR/pids"
    if [ "$alive" -gt 0 ]; then
        echo "demo-up: already up ($alive processes; make demo-down stops them). Paste:"
        echo
        grep -v '^#' "$DEMO_DIR/env"
        exit 0
    fi
    rm -rf "$DEMO_DIR"   # left over from a machine restart
fi
mkdir -p "$DEMO_DIR"
export TMPDIR=$DEMO_DIR   # common.sh makes its temp dir ($T) in here
. "$ROOT/tests/lib/common.sh"
. "$ROOT/tests/lib/stack.sh"

up=0
demo_up_exit() {
    local rc=$?
    if [ "$up" = 1 ]; then
        exit 0   # leave everything running (common.sh's cleanup is not called)
    fi
    echo "demo-up: stopping what did start"
    cleanup
    rm -f "$DEMO_DIR/pids" "$DEMO_DIR/env"
    exit "$rc"
}
trap demo_up_exit EXIT

echo "== cronflux demo-up: the local stack, on 127.0.0.1 only, left running"
stack_start || { echo "demo-up: the local stack did not start (see above; make deps installs what is missing)"; exit 1; }
# what demo-down stops: pid and the program's name, checked before it is stopped
: >"$DEMO_DIR/pids"
for p in "${_pids[@]}"; do
    printf '%s %s\n' "$p" "$(cat "/proc/$p/comm" 2>/dev/null)" >>"$DEMO_DIR/pids"
done

echo
echo "== every job once, so that InfluxDB has points"
stack_run_jobs || echo "   (a job did not exit as expected: its output is in $STACK_LOGS)"

# q NAME VALUE: an export line, quoted only when the value needs it
q() {
    case "$2" in
        *[!A-Za-z0-9_.,:/@+=-]*) printf 'export %s=%q\n' "$1" "$2" ;;
        *) printf 'export %s=%s\n' "$1" "$2" ;;
    esac
}
(
    umask 077
    {
        echo "# cronflux demo-up $(date -u +%Y-%m-%dT%H:%M:%SZ): paste into a shell, or: . $DEMO_DIR/env"
        echo "# (make demo-down stops the servers; these credentials are the X stand-in's own, made for this run)"
        for v in INFLUXDB_URL INFLUXDB_DATABASE PROMETHEUS_URL KUBE_API_URL KUBE_CA_FILE KUBE_TOKEN_FILE \
            CLUSTER_NAME TWITTER_API_URL TWITTER_API_KEY TWITTER_API_SECRET TWITTER_ACCESS_TOKEN \
            TWITTER_ACCESS_SECRET CRONFLUX_STATE; do
            q "$v" "${!v}"
        done
        q TWITTER_USERS "$STACK_USERS"
        echo "export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost"
        printf 'export PATH=%q:"$PATH"\n' "$BIN"
    } >"$DEMO_DIR/env"
)
up=1
echo
echo "== up. Paste this into a shell (or: . ${DEMO_DIR#"$PWD"/}/env):"
echo
grep -v '^#' "$DEMO_DIR/env"
cat <<EOT

then, for example:
  cronflux status                  # what the state file holds, the last run of each job
  twitter-stats --dry-run          # the X stand-in knows: ${STACK_USERS//,/, }
  cluster-metrics                  # cluster "dev": 12 nodes, 120 pods
  prom-metrics --queries $T/queries.txt --measurement prometheus
  echo 'room_temperature,room=attic celsius=18.5' | cronflux push
  influx -port ${INFLUX_URL##*:} -database $STACK_DB -execute 'SHOW MEASUREMENTS'

Grafana is not part of the demo: point a Grafana at INFLUXDB_URL with dashboards/ provisioned.
make demo-down stops everything (data and logs: $T).
EOT
