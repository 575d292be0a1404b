#!/usr/bin/python3
"""counting_proxy: a small threaded HTTP proxy on 127.0.0.1 for the store's integration tests.

It forwards every request to an upstream InfluxDB (or stand-in) and appends one JSON line per
request to a log file:

  {"n": 7, "method": "POST", "path": "/write", "query": "db=x&precision=ns",
   "status": 204, "forwarded": true, "lines": 100, "bytes": 1234, "raw_bytes": 456,
   "measurements": {"cpu": 99, "cronflux_job": 1}, "client_port": 51234,
   "gzip": true, "sha256": "<hash of the decompressed body>", "t0": 1700000000.101,
   "t": 1700000000.123}

("t0": when the request was read; "t": when its answer was decided, just before it is sent.)

Faults it can inject into write requests (POST /write and /api/v2/write), set on the command
line or at run time through the control endpoint (GET /__proxy__/set?name=value&...):

  delay=S          sleep S seconds before forwarding each write (a slow InfluxDB)
  fail503=N        answer the next N writes with 503 and "Retry-After: <retry_after>"
  fail429=N        the same with 429
  fail500=N        answer the next N writes with 500 (no Retry-After)
  fail413=N        answer the next N writes with 413, whatever their size (a proxy's limit)
  fail400=N        answer the next N writes with 400 and a body that names no line
  retry_after=V    the Retry-After value sent with 503/429 (default "1")
  max_lines=N      answer 413 to a write whose decompressed body has more than N lines
  down=1           answer every write with 502 as if InfluxDB were unreachable
  pass_first=K     forward the next K writes untouched before any of the faults above apply

GET /__proxy__/stats prints the counters as JSON. The proxy never forwards anywhere but the
--upstream URL (which the tests set to a loopback address). Secrets in headers are forwarded,
never logged.

Usage: counting_proxy.py --upstream http://127.0.0.1:PORT --log FILE [--port-file F] [--port P]
       [--delay S] [--fail503 N] [--fail429 N] [--fail500 N] [--retry-after V] [--max-lines N]
"""
import argparse
import gzip
import hashlib
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from influx2_standin import split_lines  # noqa: E402

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
              "trailers", "transfer-encoding", "upgrade", "content-length", "host"}
WRITE_PATHS = ("/write", "/api/v2/write")


def measurement_of(line):
    """The (unescaped) measurement name of a line-protocol line."""
    out, i = [], 0
    while i < len(line):
        c = line[i]
        if c == "\\" and i + 1 < len(line) and line[i + 1] in ", ":
            out.append(line[i + 1])
            i += 2
            continue
        if c in ", ":
            break
        out.append(c)
        i += 1
    return "".join(out)


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.n = 0
        self.delay = args.delay
        self.fail503 = args.fail503
        self.fail429 = args.fail429
        self.fail500 = args.fail500
        self.fail413 = 0
        self.fail400 = 0
        self.retry_after = args.retry_after
        self.max_lines = args.max_lines
        self.down = 0
        self.pass_first = 0
        self.counts = {"requests": 0, "writes": 0, "forwarded_writes": 0, "injected": 0}
        self.log = open(args.log, "a", encoding="utf-8") if args.log else None

    def set(self, name, value):
        if name in ("delay",):
            self.delay = float(value)
        elif name in ("fail503", "fail429", "fail500", "fail413", "fail400", "max_lines", "down",
                      "pass_first"):
            setattr(self, name, int(value))
        elif name == "retry_after":
            self.retry_after = value
        else:
            raise KeyError(name)

    def record(self, entry):
        with self.lock:
            self.n += 1
            entry["n"] = self.n
            entry["t"] = time.time()
            if self.log:
                self.log.write(json.dumps(entry, sort_keys=True) + "\n")
                self.log.flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "counting-proxy/1"
    # headers and body go out in two writes: without this an answer with a body waits
    # for the client's delayed ACK (40 ms), which no real InfluxDB adds
    disable_nagle_algorithm = True

    def log_message(self, fmt, *a):  # quiet
        pass

    def _reply(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _control(self, parsed):
        st = self.server.state
        if parsed.path == "/__proxy__/stats":
            with st.lock:
                body = dict(st.counts, delay=st.delay, fail503=st.fail503, fail429=st.fail429,
                            fail500=st.fail500, max_lines=st.max_lines, down=st.down)
            self._reply(200, json.dumps(body).encode(), {"Content-Type": "application/json"})
            return
        if parsed.path == "/__proxy__/set":
            try:
                with st.lock:
                    for k, vs in urllib.parse.parse_qs(parsed.query).items():
                        st.set(k, vs[-1])
            except (KeyError, ValueError) as e:
                self._reply(400, ("bad setting %s\n" % e).encode())
                return
            self._reply(200, b"ok\n")
            return
        self._reply(404, b"unknown control path\n")

    def _handle(self):
        st = self.server.state
        parsed = urllib.parse.urlsplit(self.path)
        if parsed.path.startswith("/__proxy__/"):
            self._control(parsed)
            return
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            raw = self._read_chunked()
        is_write = self.command == "POST" and parsed.path in WRITE_PATHS
        entry = {"method": self.command, "path": parsed.path, "query": parsed.query,
                 "raw_bytes": len(raw), "client_port": self.client_address[1],
                 "t0": time.time()}
        with st.lock:
            st.counts["requests"] += 1
        if is_write:
            gz = self.headers.get("Content-Encoding", "").lower() == "gzip"
            try:
                body = gzip.decompress(raw) if gz else raw
            except OSError:
                body = raw
                entry["gzip_error"] = True
            lines = split_lines(body.decode("utf-8", "replace"))
            meas = {}
            for ln in lines:
                m = measurement_of(ln)
                meas[m] = meas.get(m, 0) + 1
            entry.update(gzip=gz, bytes=len(body), lines=len(lines), measurements=meas,
                         sha256=hashlib.sha256(body).hexdigest())
            with st.lock:
                st.counts["writes"] += 1
                delay = st.delay
                inject = None
                if st.pass_first > 0:
                    st.pass_first -= 1
                elif st.down:
                    inject = (502, {}, b'{"error":"proxy: upstream down"}\n')
                elif st.fail503 > 0:
                    st.fail503 -= 1
                    inject = (503, {"Retry-After": st.retry_after}, b'{"error":"overloaded"}\n')
                elif st.fail429 > 0:
                    st.fail429 -= 1
                    inject = (429, {"Retry-After": st.retry_after}, b'{"error":"too many requests"}\n')
                elif st.fail500 > 0:
                    st.fail500 -= 1
                    inject = (500, {}, b'{"error":"internal error"}\n')
                elif st.fail413 > 0:
                    st.fail413 -= 1
                    inject = (413, {}, b'{"error":"proxy: request body limit"}\n')
                elif st.fail400 > 0:
                    st.fail400 -= 1
                    inject = (400, {}, b'{"error":"proxy: bad request"}\n')
                elif st.max_lines and len(lines) > st.max_lines:
                    inject = (413, {}, b'{"error":"Request Entity Too Large"}\n')
                if inject:
                    st.counts["injected"] += 1
            if delay > 0:
                time.sleep(delay)
            if inject:
                status, hdrs, rbody = inject
                hdrs = dict(hdrs, **{"Content-Type": "application/json",
                                      "X-Influxdb-Error": json.loads(rbody)["error"]})
                entry.update(status=status, forwarded=False)
                st.record(entry)
                self._reply(status, rbody, hdrs)
                return
        status, hdrs, rbody, reached = self._forward(raw)
        entry.update(status=status, forwarded=reached)
        if is_write and 200 <= status < 300:
            with st.lock:
                st.counts["forwarded_writes"] += 1
        st.record(entry)
        self._reply(status, rbody, hdrs)

    def _read_chunked(self):
        out = b""
        while True:
            size = int(self.rfile.readline().strip().split(b";")[0], 16)
            if size == 0:
                self.rfile.readline()
                return out
            out += self.rfile.read(size)
            self.rfile.readline()

    def _forward(self, raw):
        up = self.server.upstream
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["Host"] = up.netloc
        conn = http.client.HTTPConnection(up.hostname, up.port or 80, timeout=120)
        try:
            conn.request(self.command, up.path.rstrip("/") + self.path, body=raw or None,
                         headers=headers)
            resp = conn.getresponse()
            body = resp.read()
            rh = {k: v for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP}
            return resp.status, rh, body, True
        except OSError as e:
            return 502, {"Content-Type": "application/json"}, \
                json.dumps({"error": "proxy: upstream unreachable: %s" % e}).encode(), False
        finally:
            conn.close()

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _handle


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--log")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--delay", type=float, default=0.0)
    ap.add_argument("--fail503", type=int, default=0)
    ap.add_argument("--fail429", type=int, default=0)
    ap.add_argument("--fail500", type=int, default=0)
    ap.add_argument("--retry-after", default="1")
    ap.add_argument("--max-lines", type=int, default=0)
    args = ap.parse_args()
    up = urllib.parse.urlsplit(args.upstream)
    if up.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("counting_proxy: upstream must be a loopback address")
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.state = State(args)
    srv.upstream = up
    port = srv.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
