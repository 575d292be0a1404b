#!/usr/bin/env bash
# One scheduled twitter-stats run (3 accounts, BENCH_TW_POSTS posts each, default 67: the
# issue's "3 accounts, 200 posts", one page per account; BENCH_TW_POSTS=200 reads two pages
# of 100 per account) against the X API stand-in, into a local influxd, side by side
# with the original approach: bench/twitter_baseline.py (tweepy.Client + the influxdb client,
# Debian's python3-tweepy and python3-influxdb) doing the same reads and writes.
#
# Each side runs BENCH_TW_RUNS times (default 7); the table shows the median wall time, the
# median CPU time (user+sys) and the largest peak RSS, from wait4() of the measured process
# alone: the stand-in is a separate process and its CPU is not counted. Every run's
# points are checked in InfluxDB (3 twitter_user, 3 x posts twitter_post).
# Prints | metric | twitter-stats | tweepy + influxdb | ratio | target |. Never asserts figures.
. "$(dirname "$0")/../tests/lib/common.sh"

POSTS=${BENCH_TW_POSTS:-67}
RUNS=${BENCH_TW_RUNS:-7}
USERS=XDevelopers,Twitter,TweepyDev
TW=$BIN/twitter-stats
BASE=$ROOT/bench/twitter_baseline.py
die() { echo "bench_twitter: $*" >&2; exit 1; }
[ -x "$TW" ] || die "$TW not built (make first)"
command -v influxd >/dev/null || die "influxd not installed"
"$PY" -c 'import tweepy, influxdb' 2>/dev/null || die "python3-tweepy / python3-influxdb missing"

read -r CK CS TK TS < <("$PY" -c '
import secrets
print("ck" + secrets.token_hex(12), "cs" + secrets.token_hex(20), "2244994945-tk" + secrets.token_hex(16), "ts" + secrets.token_hex(20))')
printf '{"consumer_key":"%s","consumer_secret":"%s","token":"%s","token_secret":"%s"}\n' \
    "$CK" "$CS" "$TK" "$TS" >"$T/standin.json"
"$PY" "$ROOT/tests/standins/twitter_standin.py" --config "$T/standin.json" --port-file "$T/port" \
    --posts "$POSTS" --span-days 6 --public-url https://api.twitter.com >"$T/standin.log" 2>&1 &
track $!
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.1; done
[ -s "$T/port" ] || die "stand-in did not start"
API=http://127.0.0.1:$(cat "$T/port")
start_influxd bench || die "influxd did not start"
export TWITTER_API_KEY=$CK TWITTER_API_SECRET=$CS TWITTER_ACCESS_TOKEN=$TK TWITTER_ACCESS_SECRET=$TS
export TWITTER_API_URL=$API INFLUXDB_URL=$INFLUX_URL TWITTER_USERS=$USERS
unset DEBUG CRONFLUX_ALIGN

count() {
    influx_q "$1" "SELECT count(\"$3\") FROM \"$2\"" |
        "$PY" -c 'import json,sys; s=json.load(sys.stdin)["results"][0].get("series"); print(s[0]["values"][0][1] if s else 0)'
}

# A tiny fork/exec/wait4 timer: wall, CPU user+sys (microseconds, not /usr/bin/time's 10 ms)
# and peak RSS of the one process it runs (its own footprint before exec is ~1 MB).
cat >"$T/rusage.c" <<'CEOF'
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv)
{
    struct timespec a, b;
    struct rusage ru;
    int st;
    if (argc < 2)
        return 2;
    clock_gettime(CLOCK_MONOTONIC, &a);
    pid_t p = fork();
    if (p == 0) {
        execvp(argv[1], argv + 1);
        _exit(127);
    }
    if (p < 0 || wait4(p, &st, 0, &ru) != p)
        return 2;
    clock_gettime(CLOCK_MONOTONIC, &b);
    fprintf(stderr, "%.6f %.6f %ld\n", (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9,
            (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
            ru.ru_maxrss);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
CEOF
${CC:-cc} -O2 -o "$T/rusage" "$T/rusage.c" || die "cannot build the timer"

# measure NAME CMD...: appends "wall_s cpu_s rss_kb" of CMD to $T/NAME.times
measure() {
    local name=$1
    shift
    "$T/rusage" "$@" >"$T/$name.out" 2>"$T/$name.err" || { cat "$T/$name.err" >&2; die "$name failed"; }
    tail -1 "$T/$name.err" >>"$T/$name.times"
}

for i in $(seq "$RUNS"); do
    measure c env INFLUXDB_DATABASE=tw_c CRONFLUX_STATE="$T/state.db" "$TW" --align 3650d --lookback 7d
    measure py "$PY" "$BASE" "$API" 127.0.0.1 "${INFLUX_URL##*:}" tw_py "$USERS" $((3650 * 86400)) $((7 * 86400))
done
# the floor of each side: the binary with its libraries loaded / the interpreter with its imports
for i in 1 2 3; do
    measure cfloor "$TW" --version
    measure pyfloor "$PY" -c 'import tweepy, influxdb'
done
for db in tw_c tw_py; do
    [ "$(count $db twitter_user followers)" = 3 ] || die "$db: twitter_user count $(count $db twitter_user followers), want 3"
    [ "$(count $db twitter_post likes)" = $((3 * POSTS)) ] ||
        die "$db: twitter_post count $(count $db twitter_post likes), want $((3 * POSTS))"
done
grep -q "users=3 posts=$((3 * POSTS))" "$T/py.out" || die "baseline read $(cat "$T/py.out")"

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
maxv() { sort -n | tail -1; }
cw=$(awk '{ print $1 }' "$T/c.times" | median)
pw=$(awk '{ print $1 }' "$T/py.times" | median)
cc=$(awk '{ print $2 }' "$T/c.times" | median)
pc=$(awk '{ print $2 }' "$T/py.times" | median)
cr=$(awk '{ print $3 }' "$T/c.times" | maxv)
pr=$(awk '{ print $3 }' "$T/py.times" | maxv)
cfc=$(awk '{ print $2 }' "$T/cfloor.times" | median)
pfc=$(awk '{ print $2 }' "$T/pyfloor.times" | median)
cfr=$(awk '{ print $3 }' "$T/cfloor.times" | maxv)
pfr=$(awk '{ print $3 }' "$T/pyfloor.times" | maxv)

echo "3 accounts x $POSTS posts ($((3 * POSTS)) posts), one scheduled run, $RUNS runs per side; the"
echo "stand-in checks every OAuth 1.0a signature and runs as its own process (not counted)."
echo
awk -v cw="$cw" -v pw="$pw" -v cc="$cc" -v pc="$pc" -v cr="$cr" -v pr="$pr" \
    -v cfc="$cfc" -v pfc="$pfc" -v cfr="$cfr" -v pfr="$pfr" 'BEGIN {
    r1 = (cw > 0 ? pw / cw : 0); r2 = (cc > 0 ? pc / cc : 0); r3 = (cr > 0 ? pr / cr : 0)
    f = "| %-38s | %-13s | %-17s | %-6s | %-19s |\n"
    printf f, "metric", "twitter-stats", "tweepy + influxdb", "ratio", "target"
    printf "|%s|%s|%s|%s|%s|\n", "----------------------------------------", "---------------", "-------------------", "--------", "---------------------"
    printf f, "wall time (median)", sprintf("%.3f s", cw), sprintf("%.3f s", pw), sprintf("%.1fx", r1), "-"
    printf f, "CPU user+sys (median)", sprintf("%.1f ms", cc * 1000), sprintf("%.1f ms", pc * 1000), sprintf("%.1fx", r2), (r2 >= 10 ? ">=10x lower: met" : ">=10x lower: MISSED")
    printf f, "peak RSS (largest)", sprintf("%.1f MB", cr / 1024), sprintf("%.1f MB", pr / 1024), sprintf("%.1fx", r3), (r3 >= 5 ? ">=5x lower: met" : ">=5x lower: MISSED")
    printf f, "floor: CPU to load (--version/imports)", sprintf("%.1f ms", cfc * 1000), sprintf("%.1f ms", pfc * 1000), sprintf("%.1fx", (cfc > 0 ? pfc / cfc : 0)), "-"
    printf f, "floor: RSS to load (--version/imports)", sprintf("%.1f MB", cfr / 1024), sprintf("%.1f MB", pfr / 1024), sprintf("%.1fx", (cfr > 0 ? pfr / cfr : 0)), "-"
}'
echo
echo "The floor rows are the cost before any work: for twitter-stats the dynamic loading of the"
echo "system's libcurl (OpenSSL, GnuTLS, Kerberos, LDAP, ...) and liboauth (NSS) builds; for the"
echo "baseline the interpreter and its imports. Most of twitter-stats' RSS is those libraries'"
echo "shared pages."
