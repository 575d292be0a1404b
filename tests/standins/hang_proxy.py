#!/usr/bin/env python3
"""A plain-HTTP server that answers the first N requests and then never answers: a source or
an InfluxDB that stops responding mid-run (for the SIGTERM tests).

  hang_proxy.py --port-file F (--upstream URL | --answer FILE) [--hang-after N] [--log F]

  --upstream URL   forward each answered request (method, path, headers, body) to URL
                   (http or https; an https upstream's certificate is not checked: loopback
                   stand-ins only) and relay its answer
  --answer FILE    answer each answered request 200 with FILE's bytes (application/json)
  --hang-after N   answer the first N requests (default 0); every later one is read and
                   then held open without a byte of answer until the client goes away
  --log F          one line per request: "answered PATH" or "held PATH"

Listens on 127.0.0.1 only.
"""
import argparse
import http.server
import socketserver
import ssl
import threading
import time
import urllib.error
import urllib.request


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def make_handler(args):
    lock = threading.Lock()
    state = {"n": 0}
    answer = open(args.answer, "rb").read() if args.answer else None
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE

    def log(line):
        if args.log:
            with lock, open(args.log, "a") as f:
                f.write(line + "\n")

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def handle_any(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else None
            with lock:
                state["n"] += 1
                k = state["n"]
            if k > args.hang_after:
                log("held " + self.path)
                try:
                    while True:   # until the client hangs up (or we are killed)
                        time.sleep(0.2)
                        self.connection.setblocking(False)
                        try:
                            if self.connection.recv(1) == b"":
                                return
                        except BlockingIOError:
                            pass
                        finally:
                            self.connection.setblocking(True)
                except OSError:
                    return
            log("answered " + self.path)
            if answer is not None:
                status, hdrs, data = 200, [("Content-Type", "application/json")], answer
            else:
                req = urllib.request.Request(args.upstream.rstrip("/") + self.path, data=body,
                                             method=self.command)
                for h, v in self.headers.items():
                    if h.lower() not in ("content-length", "connection",
                                         "accept-encoding"):
                        req.add_header(h, v)
                try:
                    with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
                        status, hdrs, data = r.status, list(r.headers.items()), r.read()
                except urllib.error.HTTPError as e:
                    status, hdrs, data = e.code, list(e.headers.items()), e.read()
            self.send_response(status)
            for h, v in hdrs:
                if h.lower() not in ("content-length", "transfer-encoding", "connection",
                                     "content-encoding"):
                    self.send_header(h, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = handle_any

    return H


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--upstream")
    g.add_argument("--answer")
    ap.add_argument("--hang-after", type=int, default=0)
    ap.add_argument("--log")
    args = ap.parse_args()
    srv = Server(("127.0.0.1", 0), make_handler(args))
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.replace(args.port_file + ".tmp", args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
