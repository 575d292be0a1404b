#!/usr/bin/env bash
# Every binary, doing its real work against the real servers and the stand-ins (the same
# stack as the demo: every job once, an InfluxDB outage and the run after it, cronflux
# status/export/flush/replay), under valgrind: no invalid access, no use of uninitialised
# memory, no definite or indirect leak, in any of them.
. "$(dirname "$0")/../lib/common.sh"
. "$ROOT/tests/lib/stack.sh"
STACK_PREFIX='# '
command -v valgrind >/dev/null || { not_ok "valgrind is not installed"; finish; }

REAL=$BIN
VG=$T/vg
mkdir -p "$T/vgbin" "$VG"
for b in "$REAL"/*; do
    name=$(basename "$b")
    cat >"$T/vgbin/$name" <<W
#!/bin/sh
exec valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --show-leak-kinds=definite,indirect --track-origins=yes \
    --log-file="$VG/$name.%p.log" "$b" "\$@"
W
    chmod +x "$T/vgbin/$name"
done

stack_start || { not_ok "the stack starts"; finish; }
# valgrind makes everything ~20x slower: give the jobs' requests more time
export CRONFLUX_INFLUX_TIMEOUT=120 PROMETHEUS_TIMEOUT=2m
BIN=$T/vgbin
stack_run_jobs
stack_outage
stack_run cronflux-status 0 -- cronflux status
stack_run cronflux-status-json 0 -- cronflux status --json
stack_run cronflux-export 0 -- cronflux export --from -1d --to now
stack_run cronflux-flush 0 -- cronflux flush
stack_run cronflux-replay 0 -- cronflux replay --from -1d --to now
stack_run twitter-dry-run 0 -- twitter-stats --users "$STACK_USERS" --dry-run
stack_run cluster-dry-run 0 -- cluster-metrics --dry-run
printf 'm,t=a v=1i\nbad line\n' >"$T/bad.lp"
STACK_STDIN=$T/bad.lp stack_run cronflux-push-bad 65 -- cronflux push

for label in "${STACK_LABELS[@]}"; do
    check_eq "$label: exit code under valgrind" "${STACK_GOT[$label]}" "${STACK_WANT[$label]}"
done
runs=$(ls "$VG"/*.log 2>/dev/null | wc -l)
check "valgrind ran every binary ($runs runs)" test "$runs" -ge 15
for name in $(ls "$REAL"); do
    bad=$(for f in "$VG/$name".*.log; do [ -s "$f" ] && echo "$f"; done)
    n=$(ls "$VG/$name".*.log 2>/dev/null | wc -l)
    if [ -z "$bad" ] && [ "$n" -gt 0 ]; then
        ok "$name: $n runs under valgrind, no errors and no leaks"
    else
        not_ok "$name: valgrind reported (runs: $n)"
        for f in $bad; do sed 's/^/#   /' "$f" | head -30; done
    fi
done
finish
