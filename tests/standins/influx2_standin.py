#!/usr/bin/python3
"""influx2_standin: an InfluxDB 2.x write endpoint on 127.0.0.1 for the store's tests.

  POST /api/v2/write?org=O&bucket=B&precision=ns
    - "Authorization: Token <token>" must match --token, else 401 (2.x's JSON error shape)
    - org must equal --org (else 404 "organization not found"), bucket one of --bucket
      (else 404 "bucket not found")
    - precision must be given and be "ns" (the writer always sends ns), else 400
    - with --require-gzip the body must be gzip with "Content-Encoding: gzip", else 400
    - each line must look like line protocol (measurement, a field set, a ns timestamp);
      otherwise 400 naming the line, as 2.x does
    - 204 when everything holds; the lines are appended to --lines FILE as JSON objects
      {"bucket": B, "line": L} (a line may hold a newline inside a string field)
  GET /ping -> 204, GET /health -> 200 {"status":"pass"}

Every request is logged to --log FILE as one JSON line: method, path, query (parsed), the
checks' results (token_ok, gzip, precision), the status answered and the number of lines.
The token itself is never logged: only whether it matched.
"""
import argparse
import gzip
import json
import os
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def split_lines(text):
    """Split a line-protocol body into lines; a newline inside a quoted string field value
    belongs to its line (as InfluxDB reads it)."""
    out, cur, i, n = [], [], 0, len(text)
    section, in_str = 0, False          # 0 name+tags, 1 fields, 2 timestamp
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] != "\n":
            cur.append(text[i:i + 2])
            i += 2
            continue
        if in_str:
            if c == '"':
                in_str = False
        elif c == "\n":
            if cur:
                out.append("".join(cur))
            cur, section = [], 0
            i += 1
            continue
        elif c == " " and section < 2:
            section += 1
        elif c == '"' and section == 1:
            in_str = True
        cur.append(c)
        i += 1
    if cur:
        out.append("".join(cur))
    return [ln for ln in out if ln.strip() and not ln.startswith("#")]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "influx2-standin/1"

    def log_message(self, fmt, *a):
        pass

    def _reply(self, status, obj=None, headers=None):
        body = b"" if obj is None else (json.dumps(obj) + "\n").encode()
        self.send_response(status)
        if obj is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("X-Influxdb-Version", "v2.7.1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _log(self, entry):
        srv = self.server
        with srv.lock:
            srv.n += 1
            entry["n"] = srv.n
            entry["t"] = time.time()
            if srv.log:
                srv.log.write(json.dumps(entry, sort_keys=True) + "\n")
                srv.log.flush()

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        if u.path == "/ping":
            self._reply(204)
        elif u.path == "/health":
            self._reply(200, {"name": "influxdb", "status": "pass", "version": "v2.7.1"})
        else:
            self._reply(404, {"code": "not found", "message": "path not found"})

    do_HEAD = do_GET

    def do_POST(self):
        srv = self.server
        u = urllib.parse.urlsplit(self.path)
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(u.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        auth = self.headers.get("Authorization", "")
        enc = self.headers.get("Content-Encoding", "").lower()
        entry = {"method": "POST", "path": u.path, "query": q, "gzip": enc == "gzip",
                 "token_ok": auth == "Token " + srv.token,
                 "auth_scheme": auth.split(" ", 1)[0] if auth else "",
                 "content_type": self.headers.get("Content-Type", "")}

        def answer(status, obj=None):
            entry["status"] = status
            self._log(entry)
            self._reply(status, obj)

        if u.path != "/api/v2/write":
            return answer(404, {"code": "not found", "message": "path not found"})
        if not entry["token_ok"]:
            return answer(401, {"code": "unauthorized", "message": "unauthorized access"})
        if q.get("org") != srv.org:
            return answer(404, {"code": "not found",
                                "message": "organization name \"%s\" not found" % q.get("org", "")})
        if q.get("bucket") not in srv.buckets:
            return answer(404, {"code": "not found",
                                "message": "bucket \"%s\" not found" % q.get("bucket", "")})
        if q.get("precision") != "ns":
            return answer(400, {"code": "invalid",
                                "message": "precision must be ns, got %r" % q.get("precision")})
        if enc == "gzip":
            try:
                body = gzip.decompress(raw)
            except OSError:
                return answer(400, {"code": "invalid", "message": "bad gzip body"})
        elif srv.require_gzip:
            return answer(400, {"code": "invalid", "message": "expected Content-Encoding: gzip"})
        else:
            body = raw
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return answer(400, {"code": "invalid", "message": "body is not UTF-8"})
        lines = split_lines(text)
        entry["lines"] = len(lines)
        for i, ln in enumerate(lines):
            parts = ln.rsplit(" ", 1)
            if len(parts) != 2 or not parts[1].lstrip("-").isdigit() or " " not in parts[0]:
                return answer(400, {"code": "invalid",
                                    "message": "failed to parse line %d: no timestamp or field" % (i + 1)})
        with srv.lock:
            if srv.lines_path:
                with open(srv.lines_path, "a", encoding="utf-8") as f:
                    for ln in lines:
                        f.write(json.dumps({"bucket": q["bucket"], "line": ln}) + "\n")
        answer(204)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--token", required=True, help="the expected token, or @FILE to read it")
    ap.add_argument("--org", required=True)
    ap.add_argument("--bucket", action="append", required=True)
    ap.add_argument("--lines", help='append received lines here, one {"bucket":..,"line":..} a line')
    ap.add_argument("--log")
    ap.add_argument("--require-gzip", action="store_true")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    a = ap.parse_args()
    tok = a.token
    if tok.startswith("@"):
        with open(tok[1:], encoding="utf-8") as f:
            tok = f.read().rstrip("\n")
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    srv.lock = threading.Lock()
    srv.n = 0
    srv.token = tok
    srv.org = a.org
    srv.buckets = set(a.bucket)
    srv.lines_path = a.lines
    srv.require_gzip = a.require_gzip
    srv.log = open(a.log, "a", encoding="utf-8") if a.log else None
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % srv.server_address[1])
        os.replace(tmp, a.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
