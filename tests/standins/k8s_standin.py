#!/usr/bin/python3
"""k8s_standin: a Kubernetes API server stand-in on 127.0.0.1, over TLS, for cluster-metrics.

At start it makes a private CA and a server certificate for 127.0.0.1 (IP SAN) with the
openssl CLI in --dir, plus a second, unrelated CA (wrong-ca.crt) for the "TLS refused" test:
  DIR/ca.crt  DIR/wrong-ca.crt  DIR/server.crt  DIR/server.key
When it listens it writes its port to DIR/port (tests wait for that file).

Every request needs "Authorization: Bearer <token>" where <token> is the current content of
--token-file (read on each request, so a test can rotate it); otherwise 401 with a Status
body, as an API server answers. The token is never logged.

  GET /api/v1/nodes                         NodeList
  GET /api/v1/pods                          PodList
  GET /apis/metrics.k8s.io/v1beta1/nodes    NodeMetricsList
  GET /apis/metrics.k8s.io/v1beta1/pods     PodMetricsList
each honouring ?limit=N and ?continue=TOKEN (opaque tokens, as the API server's), and
anything else 404 with a Status body.

Data (--data):
  fixtures   the recorded answers in tests/fixtures/k8s (read in place): nodes from
             nodelist_k8s1.35_nri.converted.json + node_v1_minikube_k9s.json, pods from
             podlist_kubelet_pods_k8s1.35_nri.json, node usage from
             metrics_nodemetricslist_k3s_kyverno_docs.json + metrics_nodemetrics_minikube_k8s_docs.json,
             pod usage from metrics_podmetricslist_kind_minifi_test.json +
             metrics_podmetrics_kube-scheduler_k8s_docs.json
  generated  --nodes N --pods M --namespaces K: a synthetic cluster made page by page on
             the fly (memory stays small for 150,000 pods); what it serves is summed into
             DIR/expected.json at start (counts per namespace and phase, sums of fields)

Scenarios (--scenario, comma-separated):
  401            every request is refused (401)
  403=RESOURCE   "list RESOURCE" is forbidden (403 with an RBAC Status body); RESOURCE is
                 nodes, pods, nodes.metrics.k8s.io or pods.metrics.k8s.io
  410            the first request for /api/v1/pods that carries a continue token gets
                 410 Gone (reason Expired), once; then all is fine
  410-always     every continue request for /api/v1/pods gets 410
  truncated      the first page of /api/v1/pods is cut in the middle (valid HTTP, bad JSON)
  nometrics      /apis/metrics.k8s.io/... answers 404 (metrics-server not installed)
  metrics503     /apis/metrics.k8s.io/... answers 503 (metrics-server down)
  metrics-nolimit  the metrics lists ignore limit (one page, as metrics-server does)
  badquantity    (generated) pod 7 asks for cpu "12q"
  rotate         after the 2nd answered request the token file gets a new token and the
                 old one is refused from then on
  500-once       the first request for /api/v1/pods gets 500 (then all is fine: retried)
  stuck-continue /api/v1/pods hands back the continue token it was given (a broken server)

Every request is logged to DIR/requests.log as one JSON line: method, path, query (the
continue token shortened), status, items, bytes.
"""
import argparse
import base64
import json
import os
import secrets
import ssl
import subprocess
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

PATHS = {
    "/api/v1/nodes": ("nodes", "NodeList", "v1"),
    "/api/v1/pods": ("pods", "PodList", "v1"),
    "/apis/metrics.k8s.io/v1beta1/nodes": ("nodes.metrics.k8s.io", "NodeMetricsList", "metrics.k8s.io/v1beta1"),
    "/apis/metrics.k8s.io/v1beta1/pods": ("pods.metrics.k8s.io", "PodMetricsList", "metrics.k8s.io/v1beta1"),
}
PHASES = ["Pending", "Running", "Succeeded", "Failed", "Unknown"]


# ---- certificates ----------------------------------------------------------------------

def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", name + ".key", "-out", name + ".crt", "-days", "2",
            "-subj", "/CN=cronflux-test-kubernetes-ca",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)


def make_certs(d):
    make_ca(d, "ca")
    make_ca(d, "wrong-ca")
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=kube-apiserver", cwd=d)
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "server.ext", cwd=d)


# ---- data --------------------------------------------------------------------------------

class Fixtures:
    """The recorded answers, items served as they are."""

    def __init__(self, fixdir):
        k = os.path.join(fixdir, "k8s")

        def load(name):
            with open(os.path.join(k, name), encoding="utf-8") as f:
                return json.load(f)

        self.items = {
            "/api/v1/nodes": load("nodelist_k8s1.35_nri.converted.json")["items"]
            + [load("node_v1_minikube_k9s.json")],
            "/api/v1/pods": load("podlist_kubelet_pods_k8s1.35_nri.json")["items"],
            "/apis/metrics.k8s.io/v1beta1/nodes": load("metrics_nodemetricslist_k3s_kyverno_docs.json")["items"]
            + [load("metrics_nodemetrics_minikube_k8s_docs.json")],
            "/apis/metrics.k8s.io/v1beta1/pods": load("metrics_podmetricslist_kind_minifi_test.json")["items"]
            + [load("metrics_podmetrics_kube-scheduler_k8s_docs.json")],
        }

    def count(self, path):
        return len(self.items[path])

    def page(self, path, off, n):
        return [json.dumps(it, separators=(",", ":")) for it in self.items[path][off:off + n]]


class Generated:
    """A synthetic cluster; item i of each list is made from i alone."""

    def __init__(self, nodes, pods, namespaces, badquantity=False):
        self.nodes, self.pods, self.namespaces = nodes, pods, max(1, namespaces)
        self.badquantity = badquantity

    def count(self, path):
        return self.nodes if path.endswith("/nodes") else self.pods

    # node i
    def node_ready(self, i):
        return i % 10 != 9

    def node(self, i):
        return ('{"metadata":{"name":"node-%05d","uid":"n-%d","resourceVersion":"%d",'
                '"labels":{"kubernetes.io/hostname":"node-%05d","kubernetes.io/os":"linux"}},'
                '"spec":{"podCIDR":"10.%d.%d.0/24"},'
                '"status":{"capacity":{"cpu":"16","memory":"%dKi","pods":"110","ephemeral-storage":"101203004Ki"},'
                '"allocatable":{"cpu":"15890m","memory":"%dKi","pods":"110","ephemeral-storage":"93270221109"},'
                '"conditions":[{"type":"MemoryPressure","status":"False"},{"type":"DiskPressure","status":"False"},'
                '{"type":"PIDPressure","status":"False"},{"type":"Ready","status":"%s"}],'
                '"nodeInfo":{"kubeletVersion":"v1.30.2","osImage":"Ubuntu 22.04.4 LTS",'
                '"containerRuntimeVersion":"containerd://1.7.13","operatingSystem":"linux","architecture":"amd64"}}}'
                % (i, i, 1000 + i, i, (i >> 8) & 255, i & 255, 65843024 + i, 63643024 + i,
                   "True" if self.node_ready(i) else "False"))

    def node_usage(self, i):   # cpu nanocores, memory Ki
        return 1000000 * (i % 900) + 123456, 2097152 + i

    def node_metrics(self, i):
        cpu, mem = self.node_usage(i)
        return ('{"metadata":{"name":"node-%05d","creationTimestamp":"2026-01-01T00:00:00Z"},'
                '"timestamp":"2026-01-01T00:00:00Z","window":"10.5s","usage":{"cpu":"%dn","memory":"%dKi"}}'
                % (i, cpu, mem))

    # pod j
    def pod_ns(self, j):
        # uneven on purpose: namespace k gets about twice as many pods as k+1
        k = 0
        x = j
        while x % 2 == 1 and k < self.namespaces - 1:
            x //= 2
            k += 1
        return "ns-%03d" % k

    def pod_phase(self, j):
        r = j % 20
        return "Pending" if r == 0 else "Succeeded" if r == 1 else "Failed" if r == 2 else "Running"

    def pod_containers(self, j):
        return 1 + j % 3

    def pod_restarts(self, j, c):
        return (j + c) % 4 if self.pod_phase(j) == "Running" else 0

    def pod_ready(self, j, c):
        return self.pod_phase(j) == "Running" and not (j % 20 == 3 and c == 0)

    def pod_cpu_request(self, j, c):   # millicores
        return 50 * (c + 1)

    def pod_mem_request(self, j, c):   # Mi
        return 64 * (c + 1)

    def pod_usage(self, j, c):         # cpu nanocores, memory Ki
        return (j % 500) * 1000000 + 1 + c, 10240 + (j % 1000) + c

    def pod(self, j):
        phase = self.pod_phase(j)
        n = self.pod_containers(j)
        conts, stats = [], []
        for c in range(n):
            cpu = "%dm" % self.pod_cpu_request(j, c)
            if self.badquantity and j == 7 and c == 0:
                cpu = "12q"
            conts.append('{"name":"c%d","image":"registry.example/app:%d","resources":{"requests":'
                         '{"cpu":"%s","memory":"%dMi"},"limits":{"memory":"%dMi"}}}'
                         % (c, c, cpu, self.pod_mem_request(j, c), 2 * self.pod_mem_request(j, c)))
            if phase != "Pending":
                stats.append('{"name":"c%d","ready":%s,"restartCount":%d,"image":"registry.example/app:%d",'
                             '"state":{"running":{"startedAt":"2026-01-01T00:00:00Z"}}}'
                             % (c, "true" if self.pod_ready(j, c) else "false",
                                self.pod_restarts(j, c), c))
        node = '' if phase == "Pending" else ',"nodeName":"node-%05d"' % (j % max(1, self.nodes))
        status = '"phase":"%s"' % phase
        if stats:
            status += ',"containerStatuses":[' + ",".join(stats) + "]"
        return ('{"metadata":{"name":"pod-%06d","namespace":"%s","uid":"p-%d","resourceVersion":"%d",'
                '"labels":{"app":"a%d"}},"spec":{"containers":[%s]%s,"restartPolicy":"Always"},'
                '"status":{%s}}' % (j, self.pod_ns(j), j, 5000 + j, j % 50, ",".join(conts), node, status))

    def pod_has_usage(self, j):
        return self.pod_phase(j) == "Running"

    def pod_metrics_items(self):
        """Indices of pods with usage (Running ones), in order."""
        return [j for j in range(self.pods) if self.pod_has_usage(j)]

    def pod_metrics(self, j):
        cs = []
        for c in range(self.pod_containers(j)):
            cpu, mem = self.pod_usage(j, c)
            cs.append('{"name":"c%d","usage":{"cpu":"%dn","memory":"%dKi"}}' % (c, cpu, mem))
        return ('{"metadata":{"name":"pod-%06d","namespace":"%s","creationTimestamp":"2026-01-01T00:00:00Z"},'
                '"timestamp":"2026-01-01T00:00:00Z","window":"15s","containers":[%s]}'
                % (j, self.pod_ns(j), ",".join(cs)))

    def expected(self):
        """What a correct job reads from this cluster."""
        ns = {}
        restarts = ready = containers = cpu_req = mem_req = cpu_use = mem_use = 0
        for j in range(self.pods):
            d = ns.setdefault(self.pod_ns(j), {p: 0 for p in PHASES})
            d[self.pod_phase(j)] += 1
            n = self.pod_containers(j)
            containers += n
            restarts += sum(self.pod_restarts(j, c) for c in range(n))
            ready += sum(1 for c in range(n) if self.pod_ready(j, c))
            cpu_req += sum(self.pod_cpu_request(j, c) for c in range(n))
            mem_req += sum(self.pod_mem_request(j, c) for c in range(n)) * 1048576
            if self.pod_has_usage(j):
                nano = sum(self.pod_usage(j, c)[0] for c in range(n))
                cpu_use += -(-nano // 1000000)
                mem_use += sum(self.pod_usage(j, c)[1] for c in range(n)) * 1024
        nodes_ready = sum(1 for i in range(self.nodes) if self.node_ready(i))
        node_cpu_use = sum(-(-self.node_usage(i)[0] // 1000000) for i in range(self.nodes))
        node_mem_use = sum(self.node_usage(i)[1] * 1024 for i in range(self.nodes))
        node_mem_cap = sum((65843024 + i) * 1024 for i in range(self.nodes))
        return {
            "nodes": self.nodes, "pods": self.pods, "namespaces": ns,
            "nodes_ready": nodes_ready, "node_cpu_usage_millicores": node_cpu_use,
            "node_memory_usage_bytes": node_mem_use, "node_memory_capacity_bytes": node_mem_cap,
            "pod_restarts": restarts, "pod_containers": containers, "pod_ready_containers": ready,
            "pod_cpu_request_millicores": cpu_req, "pod_memory_request_bytes": mem_req,
            "pod_cpu_usage_millicores": cpu_use, "pod_memory_usage_bytes": mem_use,
            "pods_with_usage": len(self.pod_metrics_items()),
        }


# ---- the server ------------------------------------------------------------------------

def status_body(code, reason, message, details=None):
    b = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
         "message": message, "reason": reason, "code": code}
    if details:
        b["details"] = details
    return json.dumps(b).encode()


class State:
    def __init__(self, args, data):
        self.args = args
        self.data = data
        self.scen = {}
        for s in filter(None, (args.scenario or "").split(",")):
            k, _, v = s.partition("=")
            self.scen.setdefault(k, []).append(v)
        self.lock = threading.Lock()
        self.answered = 0
        self.gone_done = False
        self.failed_once = False
        self.truncated_done = False
        self.rv = 4711
        self.logf = open(os.path.join(args.dir, "requests.log"), "a", buffering=1)
        self.metrics_index = None

    def token(self):
        with open(self.args.token_file, encoding="utf-8") as f:
            return f.read().strip()

    def log(self, **kw):
        with self.lock:
            self.logf.write(json.dumps(kw) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "k8s-standin/1"
    disable_nagle_algorithm = True   # headers and body go in separate writes: no 40 ms stalls

    def log_message(self, fmt, *args):   # quiet: requests.log has what tests need
        pass

    def send(self, code, body, ctype="application/json", items=None, path="", query=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Audit-Id", secrets.token_hex(8))
        self.end_headers()
        self.wfile.write(body)
        q = dict(query or {})
        if "continue" in q:
            q["continue"] = q["continue"][:12] + "..."
        self.server.st.log(method=self.command, path=path, query=q, status=code,
                           items=items, bytes=len(body))

    def do_GET(self):
        st = self.server.st
        u = urllib.parse.urlsplit(self.path)
        path = u.path
        query = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))

        # authentication, against the token file as it is now
        auth = self.headers.get("Authorization", "")
        want = st.token()
        if "401" in st.scen or not (auth.startswith("Bearer ") and secrets.compare_digest(
                auth[7:].encode(), want.encode())):
            return self.send(401, status_body(401, "Unauthorized", "Unauthorized"), path=path,
                             query=query)
        if path not in PATHS:
            return self.send(404, status_body(404, "NotFound", "the server could not find the requested resource"),
                             path=path, query=query)
        resource, kind, api_version = PATHS[path]

        for r in st.scen.get("403", []):
            if r == resource:
                group = resource.partition(".")[2]
                res = resource.partition(".")[0]
                msg = ('%s is forbidden: User "system:serviceaccount:cronflux:cluster-metrics" '
                       'cannot list resource "%s" in API group "%s" at the cluster scope'
                       % (resource, res, group))
                return self.send(403, status_body(403, "Forbidden", msg, {"group": group, "kind": res}),
                                 path=path, query=query)
        is_metrics = path.startswith("/apis/metrics.k8s.io/")
        if is_metrics and "nometrics" in st.scen:
            return self.send(404, status_body(404, "NotFound", "the server could not find the requested resource"),
                             path=path, query=query)
        if is_metrics and "metrics503" in st.scen:
            return self.send(503, b"service unavailable\n", ctype="text/plain", path=path, query=query)

        if path == "/api/v1/pods" and "500-once" in st.scen and not st.failed_once:
            st.failed_once = True
            return self.send(500, status_body(500, "InternalError", "etcdserver: request timed out"),
                             path=path, query=query)

        cont = query.get("continue")
        if path == "/api/v1/pods" and cont and ("410-always" in st.scen or ("410" in st.scen and not st.gone_done)):
            st.gone_done = True
            msg = ("The provided continue parameter is too old to display a consistent list result. "
                   "You can start a new list without the continue parameter, or use the continue "
                   "token in this response to retrieve the remainder of the results.")
            body = json.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {},
                               "status": "Failure", "message": msg, "reason": "Expired",
                               "code": 410}).encode()
            return self.send(410, body, path=path, query=query)

        # paging
        total = st.data.count(path)
        if is_metrics and isinstance(st.data, Generated) and path.endswith("/pods"):
            if st.metrics_index is None:
                st.metrics_index = st.data.pod_metrics_items()
            total = len(st.metrics_index)
        off = 0
        if cont:
            try:
                tok = json.loads(base64.urlsafe_b64decode(cont.encode()))
                if tok["p"] != path:
                    raise ValueError("token for another list")
                off = int(tok["o"])
            except Exception:
                return self.send(400, status_body(400, "BadRequest", "invalid continue token"),
                                 path=path, query=query)
        limit = total
        if "limit" in query and not (is_metrics and "metrics-nolimit" in st.scen):
            try:
                limit = int(query["limit"])
            except ValueError:
                return self.send(400, status_body(400, "BadRequest", "invalid limit"), path=path, query=query)
            if limit <= 0:
                limit = total
        n = max(0, min(limit, total - off))
        if isinstance(st.data, Generated):
            g = st.data
            if path == "/api/v1/nodes":
                items = [g.node(i) for i in range(off, off + n)]
            elif path == "/api/v1/pods":
                items = [g.pod(j) for j in range(off, off + n)]
            elif path.endswith("/nodes"):
                items = [g.node_metrics(i) for i in range(off, off + n)]
            else:
                items = [g.pod_metrics(j) for j in st.metrics_index[off:off + n]]
        else:
            items = st.data.page(path, off, n)
        meta = {"resourceVersion": str(st.rv)}
        if off + n < total:
            meta["continue"] = base64.urlsafe_b64encode(json.dumps(
                {"p": path, "o": off + n, "rv": st.rv}).encode()).decode()
            meta["remainingItemCount"] = total - off - n
            if cont and path == "/api/v1/pods" and "stuck-continue" in st.scen:
                meta["continue"] = cont
        body = ('{"kind":"%s","apiVersion":"%s","metadata":%s,"items":[%s]}'
                % (kind, api_version, json.dumps(meta, separators=(",", ":")), ",".join(items))).encode()
        if path == "/api/v1/pods" and "truncated" in st.scen and not st.truncated_done:
            st.truncated_done = True
            body = body[:max(1, len(body) // 2)]
        self.send(200, body, items=n, path=path, query=query)
        with st.lock:
            st.answered += 1
            answered = st.answered
        if "rotate" in st.scen and answered == 2:
            tmp = st.args.token_file + ".new"
            with open(tmp, "w", encoding="utf-8") as f:
                f.write("rotated-" + secrets.token_hex(16))
            os.replace(tmp, st.args.token_file)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", required=True, help="work dir: certificates, port, requests.log")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--token-file", required=True)
    ap.add_argument("--data", choices=["fixtures", "generated"], default="fixtures")
    ap.add_argument("--fixtures", default=os.environ.get("CRONFLUX_FIXTURES",
                                                         os.path.join(ROOT, "tests", "fixtures")))
    ap.add_argument("--nodes", type=int, default=50)
    ap.add_argument("--pods", type=int, default=2000)
    ap.add_argument("--namespaces", type=int, default=8)
    ap.add_argument("--scenario", default="")
    ap.add_argument("--no-expected", action="store_true", help="skip DIR/expected.json")
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)

    if args.data == "fixtures":
        data = Fixtures(args.fixtures)
    else:
        data = Generated(args.nodes, args.pods, args.namespaces,
                         badquantity="badquantity" in args.scenario.split(","))
        if not args.no_expected:
            with open(os.path.join(args.dir, "expected.json"), "w") as f:
                json.dump(data.expected(), f, indent=1, sort_keys=True)

    if not os.path.exists(os.path.join(args.dir, "server.crt")):
        make_certs(args.dir)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(args.dir, "server.crt"), os.path.join(args.dir, "server.key"))

    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.st = State(args, data)
    port = srv.server_address[1]
    tmp = os.path.join(args.dir, "port.tmp")
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, os.path.join(args.dir, "port"))
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
