#!/usr/bin/env python3
"""Write the seed corpora fuzz/corpus/NAME/ from tests/fixtures and the tests' own inputs.

Each seed is a file named by the SHA-1 of its bytes (as libFuzzer names its inputs), so
running this again adds nothing twice. Inputs the campaign found (and crash inputs kept as
regression cases) live in the same folders; this script never removes a file.
    python3 fuzz/seed.py
"""
import glob
import hashlib
import json
import os
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "tests", "fixtures")
PREC = {"ns": 0, "n": 0, "us": 1, "u": 1, "ms": 2, "s": 3}


def put(name, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(ROOT, "fuzz", "corpus", name)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, hashlib.sha1(data).hexdigest())
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)


def load(rel):
    with open(os.path.join(FIX, rel), encoding="utf-8") as f:
        return json.load(f)


def s1(b):
    b = b.encode() if isinstance(b, str) else b
    b = b[:255]
    return bytes([len(b)]) + b


def roundtrip_bytes(pt):
    """fuzz_lp_roundtrip.c's layout for a fixture point."""
    tags = pt.get("tags") or []
    fields = pt.get("fields") or []
    if not fields or len(tags) > 7:
        return None
    fields = fields[:8]
    t = pt.get("time_ns")
    b0 = PREC.get(pt.get("precision") or "ns", 0) | (4 if t is not None else 0) | (len(tags) << 3)
    tt = int(t or 0)
    if not -(2 ** 63) <= tt < 2 ** 63:
        return None
    out = bytes([b0, len(fields) - 1]) + struct.pack("<q", tt)
    out += s1(pt.get("measurement") or "")
    for k, v in tags:
        out += s1(k) + s1(v)
    for k, v in fields:
        typ, val = v.get("type"), v.get("value")
        try:
            if typ == "float":
                out += b"\x00" + s1(k) + struct.pack("<d", float(val))
            elif typ == "int":
                out += b"\x01" + s1(k) + struct.pack("<q", int(val))
            elif typ == "uint":
                out += b"\x02" + s1(k) + struct.pack("<Q", int(val))
            elif typ == "string":
                sb = str(val).encode()[:65535]
                out += b"\x03" + s1(k) + struct.pack("<H", len(sb)) + sb
            elif typ == "bool":
                out += b"\x04" + s1(k) + bytes([1 if val else 0])
            else:
                return None
        except (TypeError, ValueError, OverflowError, struct.error):
            return None
    return out


def json_line(pt):
    fields = {}
    for k, v in pt.get("fields") or []:
        typ, val = v.get("type"), v.get("value")
        if typ == "float":
            try:
                fields[k] = float(val)
            except (TypeError, ValueError):
                return None
        else:
            fields[k] = val
    obj = {"measurement": pt.get("measurement"), "tags": dict(pt.get("tags") or []),
           "fields": fields}
    if pt.get("time_ns") is not None:
        obj["time"] = pt["time_ns"]
    try:
        return json.dumps(obj, allow_nan=False, ensure_ascii=False)
    except ValueError:
        return None


def main():
    enc = load("lineprotocol/encode.json")
    par = load("lineprotocol/parse.json")
    body = []
    for c in par + enc:
        line = c.get("line")
        if not isinstance(line, str):
            continue
        prec = PREC.get(c.get("precision") or "ns", 0)
        put("lp_parse", bytes([prec]) + line.encode())
        body.append(line)
    put("lp_parse", b"\x00" + "\n".join(body[:40]).encode() + b"\n")
    put("lp_parse", b"\x00" + b"m,t=1 s=\"a\nb\",i=1i 1\n# comment\n\nm f=1\r\nm s=\"oops\nm f=2 3\n")
    for pt in enc:
        rb = roundtrip_bytes(pt)
        if rb:
            put("lp_roundtrip", rb)
        jl = json_line(pt)
        if jl:
            put("push_json", jl)
    put("push_json", '{"measurement":"m","tags":{"host":"a"},"fields":{"v":1.5,"n":3,"s":"x",'
                     '"b":true},"time":1700000000000000000}\n\n{"measurement":"m","fields":{}}\n'
                     '{"measurement":"m","fields":{"x":null}}\n[1]\n')
    for f in sorted(glob.glob(os.path.join(FIX, "prometheus", "**", "*.json"), recursive=True)):
        with open(f, "rb") as fh:
            put("prom_parse", fh.read())
    for f in sorted(glob.glob(os.path.join(FIX, "twitter", "*.json"))):
        with open(f, "rb") as fh:
            put("tw_parse", fh.read())
    put("tw_parse", "Wed Oct 10 20:19:24 +0000 2018")
    put("tw_parse", "1577730467436138524")
    for f in sorted(glob.glob(os.path.join(FIX, "k8s", "*.json"))):
        with open(f, "rb") as fh:
            data = fh.read()
        if len(data) > 20000:   # the large lists: their first items only
            try:
                doc = json.loads(data)
                if isinstance(doc.get("items"), list):
                    doc["items"] = doc["items"][:3]
                data = json.dumps(doc).encode()
            except (ValueError, AttributeError):
                pass
        put("k8s", data)
    for q in ["250m", "1.5", "505020Ki", "1e3", "12E", "12E3", "100n", "0.5", "1.5Gi", "-1",
              "+.5", "9223372036854775807", "8Ei", "1u", "7.5e-3", "0", "1Mi", "3T", "12Pi"]:
        put("k8s", q)
        put("k8s", json.dumps(q))
    for t in ["2026-11-01T00:00:00Z", "2026-11-01T00:00:00.5+02:00", "1700000000", "-7d",
              "-36h", "-90m", "-30s", "now", "30s", "5m", "1h", "7d", "1h30m", "2w", "100ms",
              "1500us", "42ns", "1969-12-31T23:59:59.999999999Z", "9999-12-31T23:59:59Z",
              "2262-04-11T23:47:16.854775807Z", "1677-09-21T00:12:43.145224192Z",
              "2026-02-29T00:00:00Z", "2024-02-29T12:00:00-23:59"]:
        put("tparse", t)


if __name__ == "__main__":
    main()
