#!/usr/bin/env bash
# Differential check of cronflux's line protocol against the real InfluxDB 1.6.7, over lines
# the fuzzer made (fuzz/differential/sample.jsonl, see fuzz/differential/make_sample.py):
#  - every line cronflux accepts, pushed through cronflux and also written as it is straight
#    to InfluxDB, comes back equal from both to the point cronflux read (the round-trip rule
#    of tests/fixtures/README.md): InfluxDB reads it as cronflux does, and gives it back;
#  - every line cronflux refuses is refused by InfluxDB too, or is one InfluxDB would not give
#    back as given (the classes store/lp.h lists), judged by cronflux's reason.
. "$(dirname "$0")/../lib/common.sh"

SAMPLE=$ROOT/fuzz/differential/sample.jsonl
[ -s "$SAMPLE" ] || { not_ok "no sample at $SAMPLE"; finish; }
start_influxd diff || { not_ok "influxd starts"; finish; }
ok "influxd starts"
influx_create_db cf
influx_create_db raw
influx_create_db refused

"$PY" - "$SAMPLE" "$INFLUX_URL" "$BIN/cronflux" "$T" "$STORE_CHECK" <<'PYEOF'
import base64, json, os, re, subprocess, sys, time, urllib.error, urllib.request
sample, url, cf, tmp, store_check = sys.argv[1:6]
sys.path.insert(0, os.path.dirname(store_check))
import store_check as sc

def ok(d): print("ok - test_fuzz_differential.sh: " + d)
def not_ok(d): print("not ok - test_fuzz_differential.sh: " + d)
def check(c, d): ok(d) if c else not_ok(d)

cases = [json.loads(l) for l in open(sample, encoding="utf-8")]
for c in cases:
    c["line"] = base64.b64decode(c["line"])
acc = [c for c in cases if c["ok"]]
ref = [c for c in cases if not c["ok"]]
print("# sample: %d lines the fuzzer made, %d accepted by cronflux, %d refused" % (len(cases), len(acc), len(ref)))
check(len(acc) >= 1000, "at least 1000 accepted lines in the sample (%d)" % len(acc))

env = {k: v for k, v in os.environ.items() if not k.startswith(("INFLUXDB_", "CRONFLUX_"))}
def push(body, extra, *args):
    e = dict(env, **extra)
    return subprocess.run([cf, "push", "--format", "lp"] + list(args), input=body,
                          capture_output=True, env=e)

# --- accepted lines
body = b"".join(c["line"] + b"\n" for c in acc)
p = push(body, {"CRONFLUX_STATE": tmp + "/dry.db"}, "--dry-run")
out = [l for l in p.stdout.split(b"\n") if l and not l.startswith(b"cronflux_job")]
check(p.returncode == 0, "push --dry-run of the accepted lines: exit 0 (%d; %s)" % (p.returncode, p.stderr[:300]))
check(len(out) == len(acc), "push --dry-run: one point per accepted line (%d of %d)" % (len(out), len(acc)))
a = time.time_ns()
p = push(body, {"CRONFLUX_STATE": tmp + "/cf.db", "INFLUXDB_URL": url, "INFLUXDB_DATABASE": "cf"})
check(p.returncode == 0, "push of the accepted lines to InfluxDB: exit 0 (%d; %s)" % (p.returncode, p.stderr[:300]))
req = urllib.request.Request(url + "/write?db=raw&precision=n", data=body, method="POST")
try:
    with urllib.request.urlopen(req, timeout=60) as r:
        status, why = r.status, ""
except urllib.error.HTTPError as e:
    status, why = e.code, e.read()[:300]
check(status == 204, "the same lines written as they are to InfluxDB: 204 (%s %s)" % (status, why))
b = time.time_ns()
expected = []
for i, c in enumerate(acc):
    e = dict(c["expect"])
    e["name"] = "line %d %r" % (i + 1, c["line"][:80])
    expected.append(e)
for db, what in (("cf", "through cronflux"), ("raw", "written as they are")):
    fails = [(n, w) for okv, n, w in sc.compare(sc.points(url, db), expected, (a, b)) if not okv]
    for n, w in fails[:10]:
        print("# %s: %s: %s" % (db, n, w))
    check(not fails, "%d accepted lines %s come back equal to what cronflux read (%d differ)"
          % (len(acc), what, len(fails)))

# --- refused lines: each alone (side by side, a line with an open quote and the next one
# may make one record that parses: push's rule, not a refusal to check here)
from concurrent.futures import ThreadPoolExecutor
def alone(c):
    return push(c["line"] + b"\n", {"CRONFLUX_STATE": tmp + "/ref.db"}, "--dry-run").returncode
with ThreadPoolExecutor(4) as ex:
    rcs = list(ex.map(alone, ref))
taken_by_cf = [c for c, rc in zip(ref, rcs) if rc != 65]
for c in taken_by_cf[:5]:
    print("# push did not refuse: %r (%s)" % (c["line"][:100], c["reason"]))
check(not taken_by_cf, "push refuses each of the %d lines alone with exit 65 (%d did not)"
      % (len(ref), len(taken_by_cf)))
# InfluxDB's verdict, one line at a time
taken = []
for c in ref:
    req = urllib.request.Request(url + "/write?db=refused&precision=n", data=c["line"] + b"\n", method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            taken.append(c)
    except urllib.error.HTTPError:
        pass
# what 1.6.7 takes but does not give back as given (store/lp.h), as cronflux's reasons say it
NOT_GIVEN_BACK = re.compile(r"duplicate|\"time\"|backslash|series key|out of range|timestamp|"
                            r"UTF-8|NUL|unsigned|comment|tab|too long|newline|empty tag|"
                            r"cannot be stored|would not", re.I)
unexplained = [c for c in taken if not NOT_GIVEN_BACK.search(c["reason"])]
kinds = {}
for c in taken:
    k = re.sub(r"^column \d+: ", "", c["reason"])[:60]
    kinds[k] = kinds.get(k, 0) + 1
for k, n in sorted(kinds.items(), key=lambda kv: -kv[1])[:12]:
    print("# refused by cronflux, taken by InfluxDB: %4d  %s" % (n, k))
for c in unexplained[:10]:
    print("# unexplained: %r: %s" % (c["line"][:100], c["reason"]))
print("# refused lines: %d, InfluxDB refuses %d, takes %d (each for a reason it would not give back)"
      % (len(ref), len(ref) - len(taken), len(taken)))
check(not unexplained, "every line cronflux refuses is refused by InfluxDB or not given back (%d unexplained)"
      % len(unexplained))
PYEOF
[ "${PIPESTATUS[0]}" = 0 ] || true
finish
