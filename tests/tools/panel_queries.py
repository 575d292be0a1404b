#!/usr/bin/python3
"""Run every dashboard panel's query against an InfluxDB, as Grafana would, and show or check
what each panel would show now.

Grafana's macros are expanded the way Grafana's influxdb datasource does for the dashboard's
default range: $timeFilter -> time >= now() - RANGE, $__interval -> an interval of about
RANGE/1000, template variables -> the values their own queries return (a multi-value
variable as a regex alternation of all of them, like "All").

  panel_queries.py --url http://127.0.0.1:8086 --db cronflux [--check] [dashboards/*.json]

--check: exit 1 unless every query of every panel returns at least one series (prints
ok / not ok lines); without it, prints a table of panel, query and latest values.
"""
import argparse
import glob
import json
import os
import re
import sys
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def influx(url, db, q, user=None, password=None):
    params = {"db": db, "q": q, "epoch": "ms"}
    if user:
        params["u"], params["p"] = user, password or ""
    with urllib.request.urlopen(url + "/query?" + urllib.parse.urlencode(params), timeout=30) as r:
        body = json.load(r)
    res = body["results"][0]
    if "error" in res:
        raise RuntimeError(res["error"])
    return res.get("series", [])


def range_seconds(dash):
    m = re.fullmatch(r"now-(\d+)([smhdw])", dash.get("time", {}).get("from", "now-7d"))
    return int(m.group(1)) * UNITS[m.group(2)] if m else 7 * 86400


def interval(seconds):
    want = seconds / 1000
    for s, text in ((10, "10s"), (60, "1m"), (300, "5m"), (600, "10m"), (1800, "30m"), (3600, "1h"), (21600, "6h"), (86400, "1d")):
        if want <= s:
            return text
    return "1d"


def expand(q, rng, values):
    q = q.replace("$timeFilter", f"time >= now() - {rng}s")
    q = q.replace("$__interval", interval(rng))
    for name, val in sorted(values.items(), key=lambda kv: -len(kv[0])):
        q = q.replace("$" + name, val)
    return q


def variables(dash, url, db, auth):
    values = {}
    for v in dash.get("templating", {}).get("list", []):
        q = expand(v["query"], range_seconds(dash), values)
        series = influx(url, db, q, *auth)
        vals = sorted({str(row[1]) for s in series for row in s["values"]})
        if not vals:
            values[v["name"]] = "__no_value__"
        elif v.get("multi") or v.get("includeAll"):
            values[v["name"]] = "(" + "|".join(re.escape(x) for x in vals) + ")"
        else:
            values[v["name"]] = re.escape(vals[0])
    return values


def latest(series):
    out = []
    for s in series[:4]:
        tags = ",".join(f"{k}={v}" for k, v in (s.get("tags") or {}).items())
        row = next((r for r in reversed(s["values"]) if any(x is not None for x in r[1:])), s["values"][-1])
        vals = " ".join(f"{c}={x}" for c, x in zip(s["columns"][1:], row[1:]))
        out.append(f"{tags + ' ' if tags else ''}{vals}")
    if len(series) > 4:
        out.append(f"(+{len(series) - 4} more series)")
    return "; ".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--user")
    ap.add_argument("--password-env", help="name of an environment variable holding the password")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    auth = (a.user, os.environ.get(a.password_env, "") if a.password_env else None)
    files = a.files or sorted(glob.glob(os.path.join(ROOT, "dashboards", "*.json")))
    passed = failed = 0
    for f in files:
        dash = json.load(open(f))
        rng = range_seconds(dash)
        vals = variables(dash, a.url, a.db, auth)
        if not a.check:
            print(f"\n== {dash['title']} (uid {dash['uid']}, last {rng // 86400}d; " +
                  ", ".join(f"${k}={v}" for k, v in vals.items()) + ")")
        for p in dash.get("panels", []):
            for t in p.get("targets", []):
                q = expand(t["query"], rng, vals)
                try:
                    series = influx(a.url, a.db, q, *auth)
                    err = None
                except Exception as e:  # the query itself failed: report it, go on
                    series, err = [], str(e)
                label = f"{dash['uid']}: {p['title']} [{t['refId']}]"
                if a.check:
                    if series:
                        passed += 1
                        print(f"ok - dashboards: {label} returns {len(series)} series")
                    else:
                        failed += 1
                        print(f"not ok - dashboards: {label} returns no series{': ' + err if err else ''}\n#   {q}")
                else:
                    print(f"- {p['title']} [{t['refId']}]\n    {q}\n    -> {err or latest(series) or 'no data'}")
    if a.check:
        print(f"# panel queries: {passed} passed, {failed} failed")
        return 1 if failed else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
