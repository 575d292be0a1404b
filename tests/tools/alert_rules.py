#!/usr/bin/python3
"""Evaluate Grafana's provisioned alert rules (dashboards/provisioning/alerting/*.yaml) against
an InfluxDB 1.x the way Grafana's alerting does for InfluxQL rules, and print one line a rule:

  alert_rules.py --url URL --db DB [--expect-firing | --expect-quiet] [FILES...]

Each query (datasource cronflux-influxdb) runs with $timeFilter as its relativeTimeRange
("time >= now() - FROMs AND time <= now() - TOs") and $__interval as its intervalMs; each
series is one alert instance, labelled by its tags. Expressions: reduce (last, mean, min, max,
sum, count over the non-null values), threshold (gt, lt, eq, ne, within_range, outside_range),
math ($A > 0 && $B > 0: operators > < >= <= == != && || + - * /; joined on the labels).
No series from a query: the rule's noDataState (Alerting = firing). An InfluxDB error fails.

Output: "ok - RULE_UID: firing [instances]" / "ok - RULE_UID: quiet" when the state is what
--expect-* asked (or always, without it), else "not ok - ...". Exit 1 on any not ok.
"""
import argparse
import glob
import json
import os
import re
import sys
import urllib.parse
import urllib.request

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DS_UID = "cronflux-influxdb"


def influx(url, db, q):
    req = url + "/query?" + urllib.parse.urlencode({"db": db, "q": q, "epoch": "ms"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(req, timeout=20) as r:
        res = json.load(r)["results"][0]
    if "error" in res:
        raise RuntimeError(res["error"])
    return res.get("series", [])


def labels_of(s):
    return tuple(sorted((s.get("tags") or {}).items()))


def run_query(url, db, d):
    m = d["model"]
    rt = d["relativeTimeRange"]
    tf = "time >= now() - %ds AND time <= now() - %ds" % (rt["from"], rt["to"])
    q = m["query"].replace("$timeFilter", tf).replace("$__interval", "%dms" % m.get("intervalMs", 60000))
    out = {}
    for s in influx(url, db, q):
        vals = [row[1] for row in s["values"] if len(row) > 1]
        out[labels_of(s)] = vals
    return out


REDUCERS = {
    "last": lambda v: v[-1], "mean": lambda v: sum(v) / len(v), "min": min, "max": max,
    "sum": sum, "count": len,
}


def reduce_expr(inp, how):
    out = {}
    for lab, vals in inp.items():
        v = [x for x in vals if x is not None]
        if v:
            out[lab] = [float(REDUCERS[how](v))]
    return out


def threshold(inp, cond):
    ev = cond["evaluator"]
    t, p = ev["type"], ev["params"]
    f = {"gt": lambda x: x > p[0], "lt": lambda x: x < p[0], "eq": lambda x: x == p[0],
         "ne": lambda x: x != p[0], "within_range": lambda x: p[0] < x < p[1],
         "outside_range": lambda x: x < p[0] or x > p[1]}[t]
    return {lab: [1.0 if f(v[-1]) else 0.0] for lab, v in inp.items() if v}


def math(results, expr):
    refs = re.findall(r"\$\{?([A-Za-z0-9_]+)\}?", expr)
    py = re.sub(r"\$\{?([A-Za-z0-9_]+)\}?", r"V['\1']", expr).replace("&&", " and ").replace("||", " or ")
    labs = set()
    for r in refs:
        labs |= set(results.get(r, {}))
    out = {}
    for lab in labs:
        if not all(lab in results.get(r, {}) for r in refs):
            continue   # Grafana joins on labels: an instance missing from one input drops out
        V = {r: results[r][lab][-1] for r in refs}
        out[lab] = [1.0 if eval(py, {"__builtins__": {}}, {"V": V}) else 0.0]   # noqa: S307 (our own file)
    return out


def evaluate(url, db, rule):
    results, nodata = {}, False
    for d in rule["data"]:
        m = d["model"]
        if d["datasourceUid"] == DS_UID:
            results[d["refId"]] = run_query(url, db, d)
            if not results[d["refId"]]:
                nodata = True
        elif m["type"] == "reduce":
            results[d["refId"]] = reduce_expr(results[m["expression"]], m["reducer"])
        elif m["type"] == "threshold":
            results[d["refId"]] = threshold(results[m["expression"]], m["conditions"][0])
        elif m["type"] == "math":
            results[d["refId"]] = math(results, m["expression"])
        else:
            raise RuntimeError("expression type %s is not evaluated here" % m["type"])
    cond = results[rule["condition"]]
    if nodata and not cond:
        return rule["noDataState"] == "Alerting", ["(no data: %s)" % rule["noDataState"]]
    firing = [",".join("%s=%s" % kv for kv in lab) or "(one)" for lab, v in cond.items() if v and v[-1]]
    return bool(firing), firing


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--db", required=True)
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--expect-firing", action="store_true")
    g.add_argument("--expect-quiet", action="store_true")
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    files = a.files or sorted(glob.glob(os.path.join(ROOT, "dashboards/provisioning/alerting/*.yaml")))
    bad = 0
    for f in files:
        for g in yaml.safe_load(open(f))["groups"]:
            for r in g["rules"]:
                try:
                    firing, inst = evaluate(a.url, a.db, r)
                except Exception as e:   # an InfluxDB error is a broken rule
                    print("not ok - %s: %s: %s" % (r["uid"], type(e).__name__, e))
                    bad += 1
                    continue
                state = "firing" if firing else "quiet"
                good = not ((a.expect_firing and not firing) or (a.expect_quiet and firing))
                bad += not good
                print("%s - %s: %s%s" % ("ok" if good else "not ok", r["uid"], state,
                                         " [" + "; ".join(inst) + "]" if inst else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
