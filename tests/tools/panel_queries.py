#!/usr/bin/python3
"""Run every dashboard panel's query against an InfluxDB 1.x, as Grafana would, and show or
check what each panel would show now.

  panel_queries.py --url http://127.0.0.1:8086 --db cronflux [--check] [--json FILE]
                   [--var NAME=VALUE ...] [dashboards/*.json]

Grafana's macros and template variables are expanded the way Grafana's InfluxDB (InfluxQL)
datasource does for the dashboard's default time range:
  $timeFilter        time >= now() - 7d   (the dashboard's "time.from", e.g. now-7d)
  $__interval        range / max data points (1000), rounded like Grafana, at least the
                     datasource's minimum interval (1m); $__interval_ms likewise
  $__range, $__range_s, $__range_ms
  $var ${var} [[var]] template variables: each variable's own query is run first (in order,
                     so one may use another), its values filtered by its regex and sorted by
                     its sort; then what Grafana selects when nothing is saved: "All" for a
                     variable with includeAll (its allValue, else every value as (a|b|c)),
                     else the first value. Values are regex-escaped as Grafana escapes them
                     for multi-value / include-all variables. --var NAME=VALUE selects
                     VALUE instead (repeat it for several values), like var-NAME= in a
                     dashboard URL.

Without --check: prints, a dashboard at a time, each panel's title, the query as sent and the
latest values of its series (or the error).
--check: one "ok - ..." / "not ok - ..." line per query, then a summary; exit 1 if any failed.
A query passes when InfluxDB answers without error, with at least one series holding a
non-null value, and no GROUP BY key is empty in every series (InfluxDB accepts GROUP BY of a
field name, or of a misspelt tag, silently: the panel then splits nothing). A target that is
not a raw InfluxQL query cannot be checked and fails.
--json FILE: also write every query's expansion and InfluxDB's answer (series with tags,
columns and values, epoch ms) to FILE, for tests that compare what panels show with what the
sources served.
"""
import argparse
import datetime
import glob
import json
import os
import re
import sys
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "M": 30 * 86400, "y": 365 * 86400}
MAX_DATA_POINTS = 1000
MIN_INTERVAL_S = 60          # dashboards/provisioning/datasources/influxdb.yaml: timeInterval 1m
# Grafana's interval rounding (kbn.roundInterval): below the bound (ms) -> the interval (ms)
ROUND = [(15, 10), (35, 20), (75, 50), (150, 100), (350, 200), (750, 500), (1500, 1000),
         (3500, 2000), (7500, 5000), (12500, 10000), (17500, 15000), (25000, 20000),
         (45000, 30000), (90000, 60000), (210000, 120000), (450000, 300000), (750000, 600000),
         (1050000, 900000), (1500000, 1200000), (2700000, 1800000), (5400000, 3600000),
         (9000000, 7200000), (16200000, 10800000), (32400000, 21600000), (86400000, 43200000),
         (604800000, 86400000), (1814400000, 604800000), (3628800000, 2592000000)]
REGEX_SPECIAL = re.compile(r"([\\^$*+?.()|\[\]{}/])")   # Grafana's escapeRegex set


def opener():
    # the stack and the tests are on loopback: never hand their queries to a proxy
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def influx(url, db, q, auth):
    params = {"db": db, "q": q, "epoch": "ms"}
    if auth[0]:
        params["u"], params["p"] = auth[0], auth[1] or ""
    with opener().open(url + "/query?" + urllib.parse.urlencode(params), timeout=30) as r:
        body = json.load(r)
    if "error" in body:
        raise RuntimeError(body["error"])
    res = body["results"][0]
    if "error" in res:
        raise RuntimeError(res["error"])
    return res.get("series", [])


def range_of(dash):
    """The dashboard's default range as (seconds, InfluxQL duration text)."""
    m = re.fullmatch(r"now-(\d+)([smhdwMy])", str(dash.get("time", {}).get("from", "now-6h")))
    if not m:
        return 6 * 3600, "6h"
    n, u = int(m.group(1)), m.group(2)
    secs = n * UNITS[u]
    return secs, (f"{n}{u}" if u in "smhdw" else f"{secs}s")


def interval_ms(range_s):
    want = max(range_s * 1000 / MAX_DATA_POINTS, MIN_INTERVAL_S * 1000)
    for bound, iv in ROUND:
        if want < bound:
            return max(iv, MIN_INTERVAL_S * 1000)
    return 31536000000


def duration_text(ms):
    for unit, size in (("d", 86400000), ("h", 3600000), ("m", 60000), ("s", 1000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def escape(v):
    return REGEX_SPECIAL.sub(r"\\\1", v)


def substitute(q, values):
    """Replaces $name, ${name} and [[name]] (longest names first)."""
    for name in sorted(values, key=len, reverse=True):
        val = values[name]
        q = q.replace("${" + name + "}", val).replace("[[" + name + "]]", val)
        q = re.sub(r"\$" + re.escape(name) + r"(?![A-Za-z0-9_])", lambda _m: val, q)
    return q


def macros(range_s, range_text):
    iv = interval_ms(range_s)
    return {"timeFilter": f"time >= now() - {range_text}", "__interval": duration_text(iv),
            "__interval_ms": str(iv), "__range": range_text, "__range_s": str(range_s),
            "__range_ms": str(range_s * 1000)}


def sort_values(vals, how):
    if how in (1, 2):
        vals = sorted(vals, reverse=how == 2)
    elif how in (3, 4):
        def num(v):
            m = re.search(r"-?\d+(\.\d+)?", v)
            return float(m.group(0)) if m else float("inf")
        vals = sorted(vals, key=num, reverse=how == 4)
    elif how in (5, 6):
        vals = sorted(vals, key=str.lower, reverse=how == 6)
    return vals


def variables(dash, url, db, auth, chosen, base):
    """The value each template variable takes (with the macros in `base`)."""
    values = dict(base)
    for v in dash.get("templating", {}).get("list", []):
        name = v["name"]
        if v.get("type") not in ("query", None):
            continue
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query", "")
        seen = []
        for s in influx(url, db, substitute(q or "", values), auth):
            for row in s.get("values", []):
                # SHOW TAG VALUES: [key, value]; SHOW MEASUREMENTS etc.: [value]
                x = str(row[-1])
                if x not in seen:
                    seen.append(x)
        if v.get("regex"):
            rx = re.compile(v["regex"].strip("/"))
            seen = [x for x in seen if rx.search(x)]
        seen = sort_values(seen, v.get("sort", 0))
        multi = bool(v.get("multi") or v.get("includeAll"))
        if name in chosen:
            sel = chosen[name]
            if sel == ["$__all"] and v.get("includeAll"):
                sel = None
        elif v.get("includeAll"):
            sel = None
        else:
            sel = seen[:1]
        if sel is None:   # "All"
            if v.get("allValue"):
                values[name] = v["allValue"]
                continue
            sel = seen
        if not sel:
            values[name] = "__no_value__"
        elif not multi:
            # a single-value variable inside /.../ is escaped too (Grafana 10+)
            values[name] = escape(sel[0])
        elif len(sel) == 1:
            values[name] = escape(sel[0])
        else:
            values[name] = "(" + "|".join(escape(x) for x in sel) + ")"
    return values


def panels(items):
    for p in items:
        if p.get("type") == "row":
            yield from panels(p.get("panels", []))
        else:
            yield p


def has_value(series):
    return any(any(x is not None for x in row[1:]) for s in series for row in s.get("values", []))


def empty_group_keys(series):
    """GROUP BY keys that are empty in every series: InfluxDB groups by a key that is no tag
    (a field name, a typo) without a word, and the panel then splits nothing."""
    keys = {k for s in series for k in (s.get("tags") or {})}
    return sorted(k for k in keys if all(not (s.get("tags") or {}).get(k) for s in series))


def fmt(v):
    if isinstance(v, float):
        return f"{v:.6g}" if abs(v) < 1e15 else f"{v:.6e}"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def latest(series, panel, now_ms):
    """One short line: the latest non-null row of each series (at most 4 series)."""
    if panel.get("type") == "table":
        rows = [r for s in series for r in s.get("values", [])]
        if not rows:
            return ""
        cols = series[0]["columns"][1:]
        return f"{len(rows)} rows; first: " + " ".join(f"{c}={fmt(x)}" for c, x in zip(cols, rows[0][1:]))
    out = []
    show_age = str(panel.get("options", {}).get("reduceOptions", {}).get("fields", "")) == "/^Time$/"
    for s in series[:4]:
        tags = ",".join(f"{k}={v}" for k, v in sorted((s.get("tags") or {}).items()))
        rows = s.get("values", [])
        row = next((r for r in reversed(rows) if any(x is not None for x in r[1:])), rows[-1] if rows else None)
        if row is None:
            continue
        vals = " ".join(f"{c}={fmt(x)}" for c, x in zip(s["columns"][1:], row[1:]))
        if show_age and isinstance(row[0], (int, float)):
            age = max(0, int((now_ms - row[0]) / 1000))
            vals = f"{age} s ago ({vals})"
        out.append(f"{tags + ': ' if tags else ''}{vals}")
    if len(series) > 4:
        out.append(f"(+{len(series) - 4} more series)")
    return "; ".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--user")
    ap.add_argument("--password-env", help="name of an environment variable holding the password")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--json", metavar="FILE")
    ap.add_argument("--var", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    auth = (a.user, os.environ.get(a.password_env, "") if a.password_env else None)
    chosen = {}
    for kv in a.var:
        name, sep, val = kv.partition("=")
        if not sep:
            ap.error(f"--var {kv}: want NAME=VALUE")
        chosen.setdefault(name, []).append(val)
    files = a.files or sorted(glob.glob(os.path.join(ROOT, "dashboards", "*.json")))
    passed = failed = 0
    report = []
    now_ms = time.time() * 1000
    for f in files:
        with open(f, encoding="utf-8") as fh:
            dash = json.load(fh)
        rng, rng_text = range_of(dash)
        base = macros(rng, rng_text)
        try:
            vals = variables(dash, a.url, a.db, auth, chosen, base)
        except Exception as e:   # a variable's query failed: every panel depends on it
            vals = dict(base)
            print(f"{'not ok - dashboards: ' if a.check else ''}{dash['uid']}: template variables: {e}")
            failed += 1
        shown = {k: v for k, v in vals.items() if k not in base}
        if not a.check:
            when = datetime.datetime.now(datetime.timezone.utc).strftime("%H:%M:%SZ")
            print(f"\n== {dash['title']} (dashboard {dash['uid']}; last {rng_text} to {when}" +
                  "".join(f"; ${k}={v}" for k, v in shown.items()) + ")")
        for p in panels(dash.get("panels", [])):
            for t in p.get("targets", []):
                if t.get("hide"):
                    continue
                label = f"{dash['uid']}: {p.get('title', '?')} [{t.get('refId', '?')}]"
                entry = {"dashboard": dash["uid"], "panel": p.get("title"), "type": p.get("type"),
                         "refId": t.get("refId"), "raw": t.get("query"), "query": None,
                         "variables": shown, "series": [], "error": None}
                if not t.get("rawQuery") or not t.get("query"):
                    entry["error"] = "not a raw InfluxQL query (rawQuery is not true): Grafana builds it from the editor fields"
                else:
                    q = substitute(t["query"], vals)
                    entry["query"] = q
                    left = re.findall(r"\$\{?\w+|\[\[\w+\]\]", q)
                    try:
                        if left:
                            raise RuntimeError(f"unexpanded {', '.join(left)}")
                        entry["series"] = influx(a.url, a.db, q, auth)
                    except Exception as e:   # the query failed: report it, go on
                        entry["error"] = str(e)
                report.append(entry)
                n = len(entry["series"])
                if a.check:
                    empty = empty_group_keys(entry["series"])
                    if entry["error"] is None and has_value(entry["series"]) and not empty:
                        passed += 1
                        print(f"ok - dashboards: {label} returns {n} series")
                    else:
                        failed += 1
                        if entry["error"]:
                            why = entry["error"]
                        elif empty:
                            why = ("GROUP BY " + ", ".join(f'"{k}"' for k in empty) +
                                   " is empty in every series (not a tag of the measurement?)")
                        else:
                            why = "only null values" if n else "no series"
                        print(f"not ok - dashboards: {label}: {why}\n#   {entry['query'] or entry['raw']}")
                else:
                    print(f"- {p.get('title')} [{t.get('refId')}]\n    {entry['query'] or entry['raw']}\n"
                          f"    -> {('error: ' + entry['error']) if entry['error'] else (latest(entry['series'], p, now_ms) or 'no data')}")
    if a.json:
        with open(a.json, "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=1)
    if a.check:
        print(f"# panel queries: {passed} passed, {failed} failed")
        return 1 if failed else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
