#!/usr/bin/env bash
# The store's faults on this machine, no InfluxDB: exit 75 only when every point read is
# committed to the spool. A full disk, a file-size limit (ulimit -f) and a state file locked
# by another process give 74 (EX_IOERR) and one line saying how many points were not stored
# and why; a file-size limit never kills the process with SIGXFSZ.
. "$(dirname "$0")/../lib/common.sh"

MNT=$T/mnt
trap 'umount "$MNT" 2>/dev/null; cleanup' EXIT

# gen N: N line-protocol points, one a line, distinct timestamps
gen() { seq 1 "$1" | awk '{ printf "m,h=a v=%di 1700000000%09d\n", $1, $1 }'; }
gen 200000 >"$T/big.lp"

# run_push NAME STATE LIMIT_KB [env...] < input: cronflux push under `ulimit -f LIMIT_KB`
# ("" = no limit); sets RC, ERR (stderr file)
run_push() {
    local name=$1 state=$2 limit=$3
    shift 3
    ERR=$T/$name.err
    (
        [ -n "$limit" ] && ulimit -f "$limit"
        # 5000-line batches: the counts below are in those
        env CRONFLUX_STATE="$state" CRONFLUX_GZIP=0 CRONFLUX_BATCH=5000 "$@" "$BIN/cronflux" push >"$T/$name.out" 2>"$ERR"
    )
    RC=$?
}
errors() { grep -c '^cronflux: error: ' "$1"; }
pending() { CRONFLUX_STATE=$1 "$BIN/cronflux" status | sed -n 's/^pending: [0-9]* batches, \([0-9]*\) points.*/\1/p'; }

# 1. ulimit -f 2048 (KiB): the spool fills up part way through 200,000 points
run_push fsize "$T/fsize.db" 2048 <"$T/big.lp"
check "ulimit -f: not killed by SIGXFSZ (exit $RC)" test "$RC" -ne $((128 + 25))
check_eq "ulimit -f: exit 74, not 75" "$RC" 74
check_eq "ulimit -f: one error line" "$(errors "$ERR")" 1
check "ulimit -f: it says how many points were not stored, and why" \
    grep -qE '^cronflux: error: 5000 points were not stored: spool .*fsize\.db: .*(disk I/O error|full)' "$ERR"
stored=$(pending "$T/fsize.db")
check "ulimit -f: the batches committed before are kept ($stored points)" \
    test "${stored:-0}" -gt 0 -a $((${stored:-0} % 5000)) -eq 0

# export under a file-size limit: its stdout write fails with an error, no SIGXFSZ
(
    ulimit -f 64
    CRONFLUX_STATE=$T/fsize.db "$BIN/cronflux" export >"$T/export.lp" 2>"$T/export.err"
)
RC=$?
check "ulimit -f: export is not killed by SIGXFSZ (exit $RC)" test "$RC" -ne $((128 + 25))
check_eq "ulimit -f: export exits 74 (I/O error)" "$RC" 74
check "ulimit -f: export says why, on one line" grep -qE '^cronflux: error: .*(File too large|writing)' "$T/export.err"

# 2. a limit below one WAL page: the run can not even begin
echo 'm v=1i 1' | run_push fsize1 "$T/fsize.db" 1
check_eq "ulimit -f 1: exit 74, not 75" "$RC" 74
check "ulimit -f 1: one line: no point stored" grep -qE '^cronflux: error: no point stored: ' "$ERR"
check_eq "ulimit -f 1: one error line" "$(errors "$ERR")" 1
check_eq "ulimit -f 1: the spool is as it was" "$(pending "$T/fsize.db")" "$stored"

# 3. a full file system (a 2 MB tmpfs), when this machine lets the test mount one
mkdir -p "$MNT"
if mount -t tmpfs -o size=2m tmpfs "$MNT" 2>/dev/null; then
    run_push full "$MNT/s.db" "" <"$T/big.lp"
    check_eq "full disk: exit 74, not 75" "$RC" 74
    check "full disk: N points were not stored: ... full" \
        grep -qE '^cronflux: error: [0-9]+ points were not stored: .*disk is full' "$ERR"
    check_eq "full disk: one error line" "$(errors "$ERR")" 1
    check "full disk: the batches committed before are kept" test "$(pending "$MNT/s.db")" -gt 0
    umount "$MNT"
    # a file system full to the last block before the run starts
    mount -t tmpfs -o size=2m tmpfs "$MNT"
    echo 'm v=1i 1' | run_push full0 "$MNT/s.db" ""
    check_eq "full disk: a first push of one point" "$RC" 0
    kept=$(pending "$MNT/s.db")
    dd if=/dev/zero of="$MNT/fill" bs=4k 2>/dev/null
    echo 'm v=2i 2' | run_push full1 "$MNT/s.db" ""
    check_eq "full disk, next push of one point: exit 74, not 75" "$RC" 74
    check "full disk, next push: no point stored: ... run begin ... full" \
        grep -qE '^cronflux: error: no point stored: .*run begin.*disk is full' "$ERR"
    rm -f "$MNT/fill"
    check_eq "full disk: what was committed is still there" "$(pending "$MNT/s.db")" "$kept"
    umount "$MNT"
else
    echo "# full disk: no tmpfs here (not root); the ulimit -f cases above stand for it"
fi

# 4. the state file locked by another process past the busy timeout
echo 'm v=1i 1' | run_push lock0 "$T/lock.db" ""
check_eq "lock: a first push stores a point" "$RC" 0
"$PY" -c '
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").write("locked\n")
time.sleep(float(sys.argv[3]))
c.execute("ROLLBACK")' "$T/lock.db" "$T/locked" 4 &
LOCKER=$!
track "$LOCKER"
wait_file "$T/locked" 10
printf 'm v=2i 2\nm v=3i 3\n' | run_push lock "$T/lock.db" "" CRONFLUX_BUSY_TIMEOUT=1s
check_eq "locked state file: exit 74, not 75" "$RC" 74
check "locked state file: one line: no point stored, locked" \
    grep -qE '^cronflux: error: no point stored: .*locked' "$ERR"
check_eq "locked state file: one error line" "$(errors "$ERR")" 1
wait "$LOCKER"
check_eq "lock released: the spool holds the first push only (1 point + its run's point)" \
    "$(pending "$T/lock.db")" 2
printf 'm v=2i 2\nm v=3i 3\n' | run_push lock2 "$T/lock.db" "" CRONFLUX_BUSY_TIMEOUT=1s
check_eq "lock released: push works again" "$RC" 0

finish
