#!/usr/bin/python3
"""store_check: read points back from a real InfluxDB 1.x and compare them with what a test
expected. Used by tests/integration/test_store_*.sh (through common.sh).

  store_check.py dump URL DB                      every point, one JSON object a line
  store_check.py expect URL DB EXPECTED.json [--now A B] [--only-measurements m1,m2]
        EXPECTED.json: a list of {"name": "...", "measurement": m, "tags": {k: v},
        "fields": {k: [type, value]}, "time": ns | null}; type is float|integer|string|boolean;
        time null: the point had no timestamp, so any time in [A, B] (ns) is right.
        Compares the stored set of points (cronflux_job excluded) with the expected set:
        prints "PASS name" or "FAIL name: why" for each expected point, and
        "FAIL unexpected: ..." for each stored point nobody expected.
  store_check.py fixture URL DB CASE.json [--now A B]
        one case of tests/fixtures/lineprotocol/parse.json (InfluxDB 1.6.7's reading)
  store_check.py scalar URL DB QUERY              the first value of the first series (or 0)
  store_check.py fixtures URL PARSE.json WORKDIR CRONFLUX
        every case of parse.json through `CRONFLUX push --format lp --precision P` into a
        database of its own (fx_ID) and back: a line InfluxDB 1.6.7 reads must come back equal,
        a line it refuses must be named ("line N:") with exit 65. Cases given as base64
        (invalid UTF-8) are skipped. Outputs are kept in WORKDIR/out.

Auth: INFLUX_USER / INFLUX_PASS in the environment (never printed).
Values are compared exactly: integers as integers, floats as the same double (sign of zero
included), strings byte for byte; types from SHOW FIELD KEYS.
"""
import base64
import json
import math
import os
import sys
import urllib.parse
import urllib.request

TYPE_NAMES = {"float": "float", "int": "integer", "integer": "integer", "uint": "integer",
              "string": "string", "bool": "boolean", "boolean": "boolean"}


def query(url, db, q):
    params = {"q": q, "epoch": "ns"}
    if db:
        params["db"] = db
    req = urllib.request.Request(url.rstrip("/") + "/query?" + urllib.parse.urlencode(params))
    user, pw = os.environ.get("INFLUX_USER"), os.environ.get("INFLUX_PASS")
    if user:
        tok = base64.b64encode(("%s:%s" % (user, pw or "")).encode()).decode()
        req.add_header("Authorization", "Basic " + tok)
    with urllib.request.urlopen(req, timeout=60) as r:
        # Go writes a float -0 as "-0", which json would read as the integer 0
        d = json.loads(r.read().decode("utf-8"),
                       parse_int=lambda t: -0.0 if t == "-0" else int(t))
    res = d["results"][0]
    if "error" in res:
        raise RuntimeError("query %r: %s" % (q, res["error"]))
    return res.get("series", [])


def quote_ident(name):
    """An InfluxQL double-quoted identifier."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def points(url, db, exclude=("cronflux_job",)):
    """{(measurement, tags-tuple, time): {field: (type, value)}}"""
    types = {}
    for s in query(url, db, "SHOW FIELD KEYS"):
        types[s["name"]] = {k: t for k, t in s["values"]}
    out = {}
    # one measurement at a time: a regex over several merges their columns and loses fields
    # whose types differ between measurements
    series = []
    for m in types:
        if m not in exclude:
            series += query(url, db, "SELECT * FROM %s GROUP BY *" % quote_ident(m))
    for s in series:
        m = s["name"]
        tags = tuple(sorted((k, v) for k, v in (s.get("tags") or {}).items() if v != ""))
        cols = s["columns"]
        for row in s["values"]:
            t = row[0]
            f = {}
            for c, v in zip(cols[1:], row[1:]):
                if v is not None:
                    f[c] = (types.get(m, {}).get(c, "?"), v)
            out[(m, tags, t)] = f
    return out


def same_value(typ, got, want):
    if typ == "float":
        if not isinstance(got, (int, float)) or isinstance(got, bool):
            return False
        got, want = float(got), float(want)
        if got == 0.0 and want == 0.0:
            return math.copysign(1, got) == math.copysign(1, want)
        return got == want
    if typ == "integer":
        return isinstance(got, int) and not isinstance(got, bool) and got == int(want)
    if typ == "boolean":
        return got is bool(want)
    return got == want


def fmt_key(k):
    m, tags, t = k
    return "%r %r t=%s" % (m, dict(tags), t)


def compare(stored, expected, now=None):
    """expected: list of dicts. Returns list of (ok, name, why)."""
    results = []
    left = dict(stored)
    for e in expected:
        name = e.get("name") or e["measurement"]
        tags = tuple(sorted((k, v) for k, v in e.get("tags", {}).items() if v != ""))
        cands = [k for k in left if k[0] == e["measurement"] and k[1] == tags]
        if e.get("time") is not None:
            cands = [k for k in cands if k[2] == e["time"]]
        elif now:
            cands = [k for k in cands if now[0] <= k[2] <= now[1] or k[2] == e.get("time_or")]
        if not cands:
            similar = [fmt_key(k) for k in left if k[0] == e["measurement"]][:3]
            results.append((False, name, "no point %r %r t=%s stored; same measurement: %s"
                            % (e["measurement"], dict(tags), e.get("time"), similar or "none")))
            continue
        k = cands[0]
        got = left.pop(k)
        why = []
        for fk, (ft, fv) in e["fields"].items():
            ft = TYPE_NAMES[ft]
            if fk not in got:
                why.append("field %r missing" % fk)
                continue
            gt, gv = got[fk]
            if gt != ft:
                why.append("field %r type %s, want %s" % (fk, gt, ft))
            elif not same_value(ft, gv, fv):
                why.append("field %r = %r, want %r" % (fk, gv, fv))
        for fk in got:
            if fk not in e["fields"]:
                why.append("extra field %r" % fk)
        results.append((not why, name, "; ".join(why)))
    for k in left:
        results.append((False, "unexpected", "stored point nobody wrote: %s %r" % (fmt_key(k), left[k])))
    return results


PRECISION = {"n": "ns", "ns": "ns", "u": "us", "us": "us", "ms": "ms", "s": "s"}
UNIT_NS = {"ns": 1, "us": 1000, "ms": 1000000, "s": 1000000000}


def fixture_expected(case):
    """The points InfluxDB 1.6.7 reads from a parse.json case, in compare()'s format."""
    ref = case.get("influxdb_1_6_7")
    if ref is not None:
        valid, pts = ref["valid"], ref.get("points") or []
    else:
        valid, pts = case["valid"], case.get("parsed_points") or []
    out = []
    for p in pts:
        t = t_or = p.get("time_ns")
        d = case.get("default_time_ns")
        unit = UNIT_NS[PRECISION[case.get("precision", "ns")]]
        if d is not None and t == d - d % unit:
            t = None     # (probably) no timestamp in the line: cronflux uses "now"
        out.append({"name": case["id"], "measurement": p["measurement"], "time_or": t_or,
                    "tags": {k: v for k, v in p["tags"]},
                    "fields": {k: [v["type"], v["value"]] for k, v in p["fields"]},
                    "time": t})
    return valid, out


def run_fixtures(url, path, work, cronflux):
    import re
    import subprocess
    import time
    with open(path, encoding="utf-8") as f:
        cases = json.load(f)
    os.makedirs(os.path.join(work, "out"), exist_ok=True)
    bad = 0
    for i, c in enumerate(cases):
        name = "fixture %s" % c["id"]
        if c.get("line") is None:
            print("SKIP %s: given as base64 (invalid UTF-8)" % name)
            continue
        valid, exp = fixture_expected(c)
        db = "fx_%d" % i
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("INFLUXDB_") and not k.startswith("CRONFLUX_")}
        env.update(INFLUXDB_URL=url, INFLUXDB_DATABASE=db,
                   CRONFLUX_STATE=os.path.join(work, "fx_%d.db" % i))
        t0 = time.time_ns()
        p = subprocess.run([cronflux, "push", "--format", "lp",
                            "--precision", PRECISION[c["precision"]]],
                           input=c["line"].encode("utf-8"), capture_output=True, env=env)
        t1 = time.time_ns()
        for ext, data in (("out", p.stdout), ("err", p.stderr)):
            with open(os.path.join(work, "out", "fx-%d.%s" % (i, ext)), "wb") as f:
                f.write(data)
        err = p.stderr.decode("utf-8", "replace").strip().replace("\n", " | ")
        why = []
        if valid:
            if p.returncode != 0:
                why.append("exit %d, want 0 (%s)" % (p.returncode, err[:300]))
            try:
                # a line without a timestamp gets "now", perhaps truncated to the precision
                unit = UNIT_NS[PRECISION[c["precision"]]]
                for okv, _, w in compare(points(url, db), exp, (t0 - t0 % unit, t1)):
                    if not okv:
                        why.append(w)
            except Exception as e:  # noqa: BLE001 - report any query failure as a test failure
                why.append("query: %s" % e)
        else:
            m = re.search(r"at line (\d+):", c.get("expected_error_text") or "")
            n = int(m.group(1)) if m else 1
            if p.returncode != 65:
                why.append("exit %d, want 65 (%s)" % (p.returncode, err[:300]))
            if not re.search(r"\bline %d\b" % n, err):
                why.append("stderr does not name line %d: %s" % (n, err[:300]))
        if why:
            bad += 1
            print("FAIL %s %r: %s" % (name, c["line"][:80], "; ".join(why)))
        else:
            print("PASS %s" % name)
    return 1 if bad else 0


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    cmd = argv[1]
    now = None
    if "--now" in argv:
        i = argv.index("--now")
        now = (int(argv[i + 1]), int(argv[i + 2]))
        del argv[i:i + 3]
    if cmd == "dump":
        for k, f in sorted(points(argv[2], argv[3], exclude=()).items(), key=lambda kv: repr(kv[0])):
            print(json.dumps({"measurement": k[0], "tags": dict(k[1]), "time": k[2],
                              "fields": {a: list(b) for a, b in f.items()}}, sort_keys=True))
        return 0
    if cmd == "fixtures":
        return run_fixtures(argv[2], argv[3], argv[4], argv[5])
    if cmd == "scalar":
        s = query(argv[2], argv[3], argv[4])
        print(s[0]["values"][0][1] if s else 0)
        return 0
    if cmd in ("expect", "fixture"):
        url, db, path = argv[2], argv[3], argv[4]
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        if cmd == "fixture":
            _, data = fixture_expected(data)
        bad = 0
        for okv, name, why in compare(points(url, db), data, now):
            print(("PASS %s" % name) if okv else ("FAIL %s: %s" % (name, why)))
            bad += not okv
        return 1 if bad else 0
    sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
