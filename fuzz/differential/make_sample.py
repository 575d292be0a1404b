#!/usr/bin/env python3
"""Pick the differential sample (fuzz/differential/sample.jsonl) from what the fuzzer made.

    python3 fuzz/differential/make_sample.py CLASSIFY SOURCE... > fuzz/differential/sample.jsonl

SOURCE: a corpus folder of lp_parse inputs (a precision byte, then a body) or a file of lines
(the encoder's output dumped by FUZZ_DUMP_LP while the replay runs over the lp_roundtrip,
push_json and lp_parse corpora). Every physical line without CR or NUL, at most 4000 bytes,
gets push's verdict from CLASSIFY (fuzz/differential/classify.c). Kept: accepted lines whose
series and timestamp (none counts as one) no other kept line has, whose fields keep one type
per measurement and whose measurement is spelled as every other kept line spells it, so that
one database holds them all without one overwriting or hiding another; and refused lines, one
per reason. One JSON object a line, sorted by the line: {"line": base64, "ok": true, "expect":
the point as push reads it (classify's JSON)} or {"line": base64, "ok": false, "reason": why}.
"""
import base64
import json
import os
import subprocess
import sys


def series_key(encoded):
    """The text before the first unescaped space of an encoded line."""
    i = 0
    while i < len(encoded):
        c = encoded[i:i + 1]
        if c == b"\\":
            i += 2
            continue
        if c == b" ":
            return encoded[:i]
        i += 1
    return encoded


def measurement_text(line):
    """The measurement as written: up to the first unescaped ',' or ' '."""
    i = 0
    while i < len(line):
        c = line[i:i + 1]
        if c == b"\\":
            i += 2
            continue
        if c in (b",", b" "):
            return line[:i]
        i += 1
    return line


def main():
    classify, sources = sys.argv[1], sys.argv[2:]
    lines = set()
    for src in sources:
        bodies = []
        if os.path.isdir(src):
            for name in sorted(os.listdir(src)):
                with open(os.path.join(src, name), "rb") as f:
                    bodies.append(f.read()[1:])
        else:
            with open(src, "rb") as f:
                bodies.append(f.read())
        for body in bodies:
            for l in body.split(b"\n"):
                if l.strip() and b"\r" not in l and b"\0" not in l and len(l) <= 4000:
                    lines.add(l)
    ordered = sorted(lines)
    p = subprocess.run([classify], input=b"".join(l + b"\n" for l in ordered),
                       capture_output=True, check=True)
    verdicts = p.stdout.split(b"\n")
    kept, seen, reasons, ftypes, spelling = [], set(), set(), {}, {}
    accepted = 0
    for l, v in zip(ordered, verdicts):
        if v.startswith(b"OK "):
            hexenc, pjson = v[3:].split(b" ", 1)
            enc = bytes.fromhex(hexenc.decode())
            try:
                expect = json.loads(pjson.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                continue   # not UTF-8: no JSON expectation (push refuses it anyway)
            k = (series_key(enc), expect["time"])
            # InfluxDB fixes a field's type per measurement: one type per (measurement, key)
            types = {(expect["measurement"], f): v[0] for f, v in expect["fields"].items()}
            # one spelling per measurement name: 1.6.7 keeps "a\\"b" and 'a"b' apart as series
            # but names both a"b in queries, so one would hide the other in the comparison
            raw_m = measurement_text(l)
            if (k in seen or any(ftypes.get(f, t) != t for f, t in types.items())
                    or spelling.get(expect["measurement"], raw_m) != raw_m):
                continue
            seen.add(k)
            ftypes.update(types)
            spelling[expect["measurement"]] = raw_m
            accepted += 1
            kept.append({"line": l, "ok": True, "expect": expect})
        elif v.startswith(b"BAD "):
            r = v[4:].split(b":", 1)[-1].strip()[:40]
            if r in reasons:
                continue
            reasons.add(r)
            kept.append({"line": l, "ok": False, "reason": v[4:].decode("utf-8", "replace")})
    sys.stderr.write("%d lines, %d accepted kept (distinct series and time), %d refused kept\n"
                     % (len(lines), accepted, len(kept) - accepted))
    for k in sorted(kept, key=lambda k: k["line"]):
        k["line"] = base64.b64encode(k["line"]).decode()
        print(json.dumps(k, sort_keys=True))


if __name__ == "__main__":
    main()
