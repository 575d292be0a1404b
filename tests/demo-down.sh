#!/usr/bin/env bash
# make demo-down: stops what `make demo-up` left running (the pids in $CRONFLUX_DEMO_DIR/pids,
# default build/demo, each checked to be the program it was before it is stopped) and removes
# the demo's files. Exit 0, also when nothing was running.
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEMO_DIR=${CRONFLUX_DEMO_DIR:-$ROOT/build/demo}
case "$DEMO_DIR" in /*) ;; *) DEMO_DIR=$PWD/$DEMO_DIR ;; esac
if [ ! -s "$DEMO_DIR/pids" ]; then
    echo "demo-down: nothing running (no $DEMO_DIR/pids)"
    rm -rf "$DEMO_DIR"
    exit 0
fi
stopped=()
while read -r pid name; do
    [ -n "$pid" ] || continue
    # only the process demo-up started: same pid, same program
    if kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ]; then
        kill "$pid" 2>/dev/null && stopped+=("$pid:$name")
    fi
done <"$DEMO_DIR/pids"
# wait for them to be gone (at most 10 s), then SIGKILL what is left
for ((i = 0; i < 100; i++)); do
    left=0
    for s in "${stopped[@]}"; do kill -0 "${s%%:*}" 2>/dev/null && left=$((left + 1)); done
    [ "$left" -eq 0 ] && break
    sleep 0.1
done
for s in "${stopped[@]}"; do kill -0 "${s%%:*}" 2>/dev/null && kill -9 "${s%%:*}" 2>/dev/null; done
rm -rf "$DEMO_DIR"
if [ ${#stopped[@]} -gt 0 ]; then
    echo "demo-down: stopped ${#stopped[@]} processes (${stopped[*]#*:}); removed ${DEMO_DIR#"$PWD"/}"
else
    echo "demo-down: nothing was running any more; removed ${DEMO_DIR#"$PWD"/}"
fi
