#!/usr/bin/python3
"""influx2_standin: an InfluxDB 2.x (default) or 3.x (--api 3) write endpoint on 127.0.0.1
for the store's tests. Both follow the recordings in tests/fixtures/influxdb/ (sources in
tests/fixtures/SOURCES.md): 2.x v2.7.12, 3.x Core v3.10.1.

--api 2 (InfluxDB 2.7.12, v2_write_partial_error_docs.json, ping_headers_docs.json "v2"):

  POST /api/v2/write?org=O&bucket=B&precision=ns
    - "Authorization: Token <token>" must match --token, else 401 (2.x's JSON error shape)
    - org must equal --org (else 400 "failed to decode request body: organization not
      found", the docs' orgNotFound), bucket one of --bucket (else 404 bucket "B" not found)
    - precision must be given and be "ns" (the writer always sends ns), else 400
    - with --require-gzip the body must be gzip with "Content-Encoding: gzip", else 400
    - each line must look like line protocol (measurement, a field set, a ns timestamp);
      otherwise 400 {"code":"invalid","message":"unable to parse 'LINE': missing fields"}
      and nothing is stored (2.x refuses the whole batch)
    - 204 when everything holds; the lines are appended to --lines FILE as JSON objects
      {"bucket": B, "line": L} (a line may hold a newline inside a string field)
  GET|HEAD /ping -> 204 with X-Influxdb-Build: OSS, X-Influxdb-Version: v2.7.12;
  GET /health -> 200 application/json; charset=utf-8, 2.x's own text (http/health.go: a
    Sprintf template with spaces, a newline at the end): {"name":"influxdb", "message":
    "ready for queries and writes", "status":"pass", "checks":[], "version": V, "commit": C}
  --version V  the server's version (default v2.7.12); --ping-version-empty: /ping (and every
    answer) sends X-Influxdb-Version empty, as 2.0.x did (2.0.8, influxdb-client-csharp#275)

--api 3 (InfluxDB 3 Core 3.10.1, v3_write_lp_request_docs.json and
v3_write_lp_partial_error_*.json):
  GET|POST /ping: without the token (unless --without-auth) 401
    {"error": "the request was not authenticated"} with a cluster-uuid header and no
    X-Influxdb-* headers; with it 200 application/json {"product_name":"InfluxDB 3 Core",
    "version":"3.10.1","revision":..,"process_id":..}, X-Influxdb-Build: Core,
    X-Influxdb-Version: 3.10.1, cluster-uuid
  POST /api/v3/write_lp?db=D[&precision=P][&accept_partial=B][&no_sync=B]
    - Authorization "Bearer T", "Token T" or "Basic base64(any:T)"; another form 400
      (malformed), none or a wrong token 401
    - db checked as 3.x does (400 JSON bodies), created on first write (no 404)
    - precision one of auto|second|s|millisecond|ms|microsecond|us|u|nanosecond|ns|n
    - Content-Encoding absent, identity or gzip; empty body 400 "incoming write was empty";
      over --max-bytes (default 10485760) 413 "max request size (N bytes) exceeded"
    - each line is checked (fields present, values parse, a field keeps its first type:
      "invalid column type for column 'F', expected iox::column_type::field::T, got ...");
      accept_partial=true (default): good lines stored, 400 {"error":"partial write of line
      protocol occurred","data":[{"error_message","line_number","original_line"}]},
      original_line cut to 20 bytes; accept_partial=false: 400 {"error":"line protocol
      parsing error","data":{..first bad line..}} and nothing stored
    - lines stored go to --lines as {"bucket": D, "line": L}

Every request is logged to --log FILE as one JSON line: method, path, query (parsed), the
checks' results (token_ok, gzip, precision), the status answered and the number of lines.
The token itself is never logged: only whether it matched.
"""
import argparse
import base64
import gzip
import json
import os
import threading
import time
import urllib.parse
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

V2_VERSION = "v2.7.12"
V3_VERSION = "3.10.1"
V3_PRECISIONS = {"auto", "second", "s", "millisecond", "ms", "microsecond", "us", "u",
                 "nanosecond", "ns", "n"}
V3_MALFORMED = ("{\"error\": \"Authorization header was malformed, the request was not in the "
                "form of 'Authorization: <auth-scheme> <token>', supported auth-schemes are "
                "Bearer, Token and Basic\"}")
V3_UNAUTHENTICATED = "{\"error\": \"the request was not authenticated\"}"


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


def split_unescaped(s, sep):
    """Split s at sep characters that are not escaped and not inside a quoted string."""
    out, cur, i, in_str = [], [], 0, False
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            cur.append(s[i:i + 2])
            i += 2
            continue
        if c == '"':
            in_str = not in_str
        if c == sep and not in_str:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    out.append("".join(cur))
    return out


def field_type(v):
    """The InfluxDB 3 column type of a field value text, or (None, error message)."""
    if v.startswith('"'):
        return "string", None
    if v in ("t", "T", "true", "True", "TRUE", "f", "F", "false", "False", "FALSE"):
        return "bool", None
    if v.endswith("i"):
        try:
            int(v[:-1])
            return "integer", None
        except ValueError:
            return None, "Unable to parse integer value `%s`" % v
    if v.endswith("u"):
        try:
            if int(v[:-1]) < 0:
                raise ValueError
            return "uinteger", None
        except ValueError:
            return None, "Unable to parse unsigned integer value `%s`" % v
    try:
        float(v)
        return "float", None
    except ValueError:
        return None, "Unable to parse floating-point value `%s`" % v


def v3_check_line(line):
    """(measurement, {field: type}, None) or (None, None, error_message) for one line."""
    parts = split_unescaped(line, " ")
    parts = [p for p in parts if p != ""]
    if len(parts) < 2 or parts[1] == "":
        return None, None, "No fields were provided"
    if len(parts) > 3:
        return None, None, "Unable to parse timestamp value `%s`" % parts[3]
    if len(parts) == 3:
        try:
            int(parts[2])
        except ValueError:
            return None, None, "Unable to parse timestamp value `%s`" % parts[2]
    meas = split_unescaped(parts[0], ",")[0]
    fields = {}
    for kv in split_unescaped(parts[1], ","):
        k, sep, v = kv.partition("=")
        if not sep or not k or v == "":
            return None, None, "No fields were provided"
        t, err = field_type(v)
        if err:
            return None, None, err
        if k in fields:
            return None, None, "invalid line protocol - multiple instances of '%s' field found" % k
        fields[k] = t
    return meas, fields, None


def cut20(line):
    """original_line as 3.6+ sends it: at most 20 bytes, cut at a UTF-8 boundary."""
    b = line.encode("utf-8")
    if len(b) <= 20:
        return line
    n = 20
    while n > 0 and (b[n] & 0xC0) == 0x80:
        n -= 1
    return b[:n].decode("utf-8")


def v3_db_error(db):
    if db == "":
        return "db name cannot be empty"
    if len(db) > 511:
        return "db name too long: max 511"
    if not (db[0].isascii() and db[0].isalnum()):
        return "db name did not start with a number or letter"
    if db.count("/") > 1 or db.endswith("/") or any(
            not (c.isascii() and (c.isalnum() or c in "_-/")) for c in db):
        return ("invalid character in database or rp name: must be ASCII, containing only "
                "letters, numbers, underscores, or hyphens")
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "influx2-standin/1"

    def log_message(self, fmt, *a):
        pass

    def _send(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _reply(self, status, obj=None, headers=None):
        """2.x: JSON bodies (json.Marshal: compact), X-Influxdb-* on every answer."""
        body = b"" if obj is None else json.dumps(obj, separators=(",", ":")).encode()
        h = {}
        if obj is not None:
            h["Content-Type"] = "application/json; charset=utf-8"
            h["X-Platform-Error-Code"] = obj.get("code", "")
        h.update(headers or {})
        h["X-Influxdb-Build"] = "OSS"
        h["X-Influxdb-Version"] = "" if self.server.ping_version_empty else self.server.version
        self._send(status, body, h)

    def _reply3(self, status, text="", headers=None):
        """3.x: bodies as the server writes them (no Content-Type on errors), cluster-uuid on
        every answer."""
        h = dict(headers or {})
        h["cluster-uuid"] = self.server.cluster_uuid
        if 200 <= status < 300:
            h["access-control-allow-origin"] = "*"
        self._send(status, text.encode(), h)

    def _log(self, entry):
        srv = self.server
        with srv.lock:
            srv.n += 1
            entry["n"] = srv.n
            entry["t"] = time.time()
            if srv.log:
                srv.log.write(json.dumps(entry, sort_keys=True) + "\n")
                srv.log.flush()

    def _v3_token_ok(self):
        """None when the Authorization header is right (or not needed), else (status, body)."""
        srv = self.server
        auth = self.headers.get("Authorization")
        if auth is None:
            return None if srv.without_auth else (401, V3_UNAUTHENTICATED)
        parts = auth.split(" ")
        if len(parts) != 2 or parts[0] not in ("Bearer", "Token", "Basic"):
            return (400, V3_MALFORMED)
        tok = parts[1]
        if parts[0] == "Basic":
            try:
                user, sep, tok = base64.b64decode(tok, validate=True).decode().rpartition(":")
            except (ValueError, UnicodeDecodeError):
                return (400, V3_MALFORMED)
            if not sep or ":" in user:
                return (400, V3_MALFORMED)
        if srv.without_auth or tok == srv.token:
            return None
        return (401, V3_UNAUTHENTICATED)

    def do_GET(self):
        srv = self.server
        u = urllib.parse.urlsplit(self.path)
        if srv.api == 3:
            if u.path != "/ping" or self.command == "HEAD":
                bad = self._v3_token_ok()
                if bad:
                    return self._reply3(*bad)
                return self._reply3(404, "Not found")
            bad = self._v3_token_ok()
            self._log({"method": self.command, "path": u.path, "status": bad[0] if bad else 200,
                       "auth_scheme": (self.headers.get("Authorization") or " ").split(" ")[0]})
            if bad:
                return self._reply3(*bad)
            rid = str(uuid.uuid4())
            body = json.dumps({"product_name": "InfluxDB 3 Core", "version": V3_VERSION,
                               "revision": "ff6872a3d8", "process_id": srv.process_id},
                              separators=(",", ":"))
            return self._reply3(200, body, {"Content-Type": "application/json",
                                            "X-Influxdb-Build": "Core",
                                            "X-Influxdb-Version": V3_VERSION,
                                            "Request-Id": rid, "X-Request-Id": rid})
        self._log({"method": self.command, "path": u.path,
                   "status": 204 if u.path == "/ping" else 200 if u.path == "/health" else 404})
        if u.path == "/ping":
            self._reply(204)
        elif u.path == "/health":
            body = ('{"name":"influxdb", "message":"ready for queries and writes", '
                    '"status":"pass", "checks":[], "version": "%s", "commit": "%s"}\n'
                    % (self.server.version.lstrip("v"), "37cc047133"))
            self._send(200, body.encode(), {"Content-Type": "application/json; charset=utf-8",
                                            "X-Influxdb-Build": "OSS",
                                            "X-Influxdb-Version": "" if self.server.ping_version_empty
                                            else self.server.version})
        else:
            self._reply(404, {"code": "not found", "message": "path not found"})

    do_HEAD = do_GET

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_POST(self):
        if self.server.api == 3:
            return self.post_v3()
        srv = self.server
        u = urllib.parse.urlsplit(self.path)
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(u.query, keep_blank_values=True).items()}
        raw = self._body()
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
            return answer(400, {"code": "invalid",
                                "message": "failed to decode request body: organization not found"})
        if q.get("bucket") not in srv.buckets:
            return answer(404, {"code": "not found",
                                "message": "bucket \"%s\" not found" % q.get("bucket", "")})
        if q.get("precision") != "ns":
            # the writer always says ns; anything else is a test failure (2.x would take it)
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
        bad = []
        for ln in lines:
            parts = ln.rsplit(" ", 1)
            if len(parts) != 2 or not parts[1].lstrip("-").isdigit() or " " not in parts[0]:
                bad.append("unable to parse '%s': missing fields" % ln)
        if bad:
            return answer(400, {"code": "invalid", "message": "\n".join(bad)})
        with srv.lock:
            if srv.lines_path:
                with open(srv.lines_path, "a", encoding="utf-8") as f:
                    for ln in lines:
                        f.write(json.dumps({"bucket": q["bucket"], "line": ln}) + "\n")
        answer(204)

    def post_v3(self):
        srv = self.server
        u = urllib.parse.urlsplit(self.path)
        raw = self._body()
        pairs = urllib.parse.parse_qsl(u.query, keep_blank_values=True)
        q = dict(pairs)
        auth = self.headers.get("Authorization", "")
        enc = self.headers.get("Content-Encoding")
        entry = {"method": "POST", "path": u.path, "query": q, "gzip": enc == "gzip",
                 "auth_scheme": auth.split(" ", 1)[0] if auth else "",
                 "content_type": self.headers.get("Content-Type", ""),
                 "bytes": len(raw)}

        def answer(status, text=""):
            entry["status"] = status
            self._log(entry)
            self._reply3(status, text)

        if u.path == "/ping":
            return self.do_GET()
        if u.path != "/api/v3/write_lp":
            bad = self._v3_token_ok()
            return answer(*bad) if bad else answer(404, "Not found")
        bad = self._v3_token_ok()
        entry["token_ok"] = bad is None
        if bad:
            return answer(*bad)
        if not u.query:
            return answer(400, "missing query parameter 'db'")
        if "db" not in q:
            return answer(400, "serde error: missing field `db`")
        err = v3_db_error(q["db"])
        if err:
            return answer(400, json.dumps({"error": err}, separators=(",", ":")))
        prec = q.get("precision", "auto")
        if prec not in V3_PRECISIONS:
            return answer(400, "serde error: unknown variant `%s`" % prec)
        flags = {}
        for name in ("accept_partial", "no_sync"):
            if name in q:
                if q[name] not in ("true", "false"):
                    return answer(400, "serde error: invalid value for %s" % name)
                flags[name] = q[name] == "true"
        accept_partial = flags.get("accept_partial", True)
        if enc not in (None, "identity", "gzip"):
            return answer(400, "unacceptable content-encoding: %s" % enc)
        body = raw
        if enc == "gzip":
            try:
                body = zlib.decompress(raw, 16 + zlib.MAX_WBITS)
            except zlib.error as e:
                return answer(400, "error decoding gzip stream: %s" % e)
        if len(body) > srv.max_bytes:
            return answer(413, "max request size (%d bytes) exceeded" % srv.max_bytes)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as e:
            return answer(400, "body content is not valid utf8: %s" % e)
        lines = split_lines(text)
        entry["lines"] = len(lines)
        if not lines:
            return answer(400, "incoming write was empty")
        good, errors = [], []
        with srv.lock:
            schema = srv.schema.setdefault(q["db"], {})
            pending = {}
            for i, ln in enumerate(lines):
                meas, fields, msg = v3_check_line(ln)
                if msg is None:
                    for f, t in fields.items():
                        have = pending.get((meas, f)) or schema.get((meas, f))
                        if have and have != t:
                            msg = ("invalid column type for column '%s', expected "
                                   "iox::column_type::field::%s, got iox::column_type::field::%s"
                                   % (f, have, t))
                            break
                if msg is not None:
                    errors.append({"error_message": msg, "line_number": i + 1,
                                   "original_line": cut20(ln)})
                    if not accept_partial:
                        break
                    continue
                for f, t in fields.items():
                    pending.setdefault((meas, f), t)
                good.append(ln)
            if errors and not accept_partial:
                entry["rejected"] = len(errors)
                return answer(400, json.dumps({"error": "line protocol parsing error",
                                               "data": errors[0]}, separators=(",", ":")))
            schema.update(pending)
            if srv.lines_path and good:
                with open(srv.lines_path, "a", encoding="utf-8") as f:
                    for ln in good:
                        f.write(json.dumps({"bucket": q["db"], "line": ln}) + "\n")
        entry["rejected"] = len(errors)
        if errors:
            return answer(400, json.dumps({"error": "partial write of line protocol occurred",
                                           "data": errors}, separators=(",", ":")))
        answer(204)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--api", type=int, choices=(2, 3), default=2)
    ap.add_argument("--token", required=True, help="the expected token, or @FILE to read it")
    ap.add_argument("--org", help="2.x: the organization (required with --api 2)")
    ap.add_argument("--bucket", action="append", default=[], help="2.x: a bucket (repeat)")
    ap.add_argument("--without-auth", action="store_true", help="3.x: no token needed")
    ap.add_argument("--max-bytes", type=int, default=10485760, help="3.x: max request size")
    ap.add_argument("--lines", help='append received lines here, one {"bucket":..,"line":..} a line')
    ap.add_argument("--log")
    ap.add_argument("--require-gzip", action="store_true")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--version", default=V2_VERSION, help="2.x: the version the server says")
    ap.add_argument("--ping-version-empty", action="store_true",
                    help="2.x: X-Influxdb-Version sent empty (2.0.x)")
    ap.add_argument("--port-file")
    a = ap.parse_args()
    if a.api == 2 and (not a.org or not a.bucket):
        ap.error("--api 2 needs --org and --bucket")
    tok = a.token
    if tok.startswith("@"):
        with open(tok[1:], encoding="utf-8") as f:
            tok = f.read().rstrip("\n")
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    srv.lock = threading.Lock()
    srv.n = 0
    srv.api = a.api
    srv.token = tok
    srv.org = a.org
    srv.buckets = set(a.bucket)
    srv.without_auth = a.without_auth
    srv.max_bytes = a.max_bytes
    srv.schema = {}
    srv.cluster_uuid = str(uuid.uuid4())
    srv.process_id = str(uuid.uuid4())
    srv.lines_path = a.lines
    srv.require_gzip = a.require_gzip
    srv.version = a.version
    srv.ping_version_empty = a.ping_version_empty
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
