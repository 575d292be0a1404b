#!/usr/bin/env bash
# Run libFuzzer targets (built by `make fuzz` into build/libfuzzer/fuzz/) for FUZZ_SECONDS
# each, one after the other, at low priority. New inputs go to build/libfuzzer/corpus/NAME
# (the committed seeds in fuzz/corpus/NAME are read, never written); a crash is kept as
# build/libfuzzer/artifacts/NAME-crash-*. Prints libFuzzer's final lines per target and
# exits non-zero when a target found something.
#   fuzz/run.sh [NAME...]      default: every fuzz/fuzz_*.c
#   FUZZ_SECONDS=60 FUZZ_ARGS="-jobs=2"
set -u
cd "$(dirname "$0")/.." || exit 2
secs=${FUZZ_SECONDS:-60}
out=build/libfuzzer
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
    for f in fuzz/fuzz_*.c; do n=${f#fuzz/fuzz_}; names+=("${n%.c}"); done
fi
fail=0
for n in "${names[@]}"; do
    bin=$out/fuzz/fuzz_$n
    [ -x "$bin" ] || { echo "not ok - $n: $bin not built (make fuzz)"; fail=1; continue; }
    mkdir -p "$out/corpus/$n" "$out/artifacts" "$out/logs"
    dict=()
    [ -f "fuzz/$n.dict" ] && dict=(-dict="fuzz/$n.dict")
    log=$out/logs/$n.log
    # shellcheck disable=SC2086
    nice -n 19 "$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=10 \
        -artifact_prefix="$out/artifacts/$n-" "${dict[@]}" ${FUZZ_ARGS:-} \
        "$out/corpus/$n" "fuzz/corpus/$n" >"$log" 2>&1
    rc=$?
    echo "# $n (exit $rc, log $log)"
    grep -E '^(#[0-9]+.*DONE|Done [0-9]+ runs|stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==ERROR|SUMMARY|fuzz: )' "$log" | tail -8
    if [ "$rc" -ne 0 ]; then
        echo "not ok - $n found a crash: $(ls -t "$out"/artifacts/"$n"-* 2>/dev/null | head -1)"
        fail=1
    else
        echo "ok - $n: ${secs}s, nothing found"
    fi
done
exit $fail
