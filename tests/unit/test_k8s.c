/* test_k8s: cluster-metrics' pieces without a server: Kubernetes quantities (every suffix,
 * every exponent form, rounding, caps, malformed ones), the object parsers on the recorded
 * fixtures in tests/fixtures/k8s (Node, NodeList, PodList, NodeMetrics(List),
 * PodMetrics(List)) and on hand-made objects (init containers, sidecars, overhead, bad
 * quantities), the list envelope, Status messages, the usage map / seen set / namespace
 * counts, and the configuration from the environment. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../jobs/cluster/k8s_api.h"
#include "../../jobs/cluster/k8s_objects.h"
#include "../../jobs/cluster/k8s_quantity.h"
#include "../../jobs/cluster/k8s_tables.h"
#include "harness.h"

/* ------------------------------------------------------------------ helpers */

static json_t *load_fixture(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/k8s/%s", th_fixtures(), name);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    CHECK(j != NULL, "%s: %s (line %d)", path, je.text, je.line);
    return j;
}

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    CHECK(j != NULL, "test JSON: %s: %s", text, je.text);
    return j;
}

/* ------------------------------------------------------------------ quantities */

typedef struct qcase {
    const char *in;
    int ok;
    int64_t units;   /* Value(): rounded up, away from zero */
    int64_t milli;   /* MilliValue() */
} qcase;

#define MAX64 INT64_MAX

static const qcase qcases[] = {
    /* plain and decimal */
    { "0", 1, 0, 0 },
    { "2", 1, 2, 2000 },
    { "1.5", 1, 2, 1500 },
    { "0.5", 1, 1, 500 },
    { ".5", 1, 1, 500 },
    { "5.", 1, 5, 5000 },
    { "007", 1, 7, 7000 },
    { "0.000", 1, 0, 0 },
    { "+3", 1, 3, 3000 },
    { "-1.5", 1, -2, -1500 },
    { "-250m", 1, -1, -250 },
    /* decimal SI suffixes */
    { "100n", 1, 1, 1 },
    { "1000000n", 1, 1, 1 },
    { "1000001n", 1, 1, 2 },
    { "487558164n", 1, 1, 488 },
    { "1u", 1, 1, 1 },
    { "1500u", 1, 1, 2 },
    { "250m", 1, 1, 250 },
    { "1000m", 1, 1, 1000 },
    { "0.1m", 1, 1, 1 },
    { "1k", 1, 1000, 1000000 },
    { "129M", 1, 129000000, 129000000000 },
    { "5M", 1, 5000000, 5000000000 },
    { "1G", 1, 1000000000, 1000000000000 },
    { "2T", 1, 2000000000000, 2000000000000000 },
    { "3P", 1, 3000000000000000, 3000000000000000000 },
    { "10P", 1, 10000000000000000, MAX64 },
    { "9E", 1, 9000000000000000000, MAX64 },
    { "12E", 1, MAX64, MAX64 },            /* > 2^63-1: capped */
    { "1.G", 1, 1000000000, 1000000000000 },
    /* binary SI suffixes */
    { "1Ki", 1, 1024, 1024000 },
    { "505020Ki", 1, 517140480, 517140480000 },
    { "8165556Ki", 1, 8361529344, 8361529344000 },
    { "1Mi", 1, 1048576, 1048576000 },
    { "200Mi", 1, 209715200, 209715200000 },
    { "1Gi", 1, 1073741824, 1073741824000 },
    { "0.5Gi", 1, 536870912, 536870912000 },
    { "1.5Gi", 1, 1610612736, 1610612736000 },
    { "1Ti", 1, 1099511627776, 1099511627776000 },
    { "1Pi", 1, 1125899906842624, 1125899906842624000 },
    { "1Ei", 1, 1152921504606846976, MAX64 },
    { "7.99Ei", 1, 9211842821808707339, MAX64 },
    { "8Ei", 1, MAX64, MAX64 },
    { "0.1Ki", 1, 103, 102400 },           /* 102.4 bytes: up */
    { "0.001Ki", 1, 2, 1024 },             /* 1.024 */
    /* decimal exponents */
    { "1e3", 1, 1000, 1000000 },
    { "1E3", 1, 1000, 1000000 },
    { "1e+3", 1, 1000, 1000000 },
    { "1E+3", 1, 1000, 1000000 },
    { "1e-3", 1, 1, 1 },
    { "15e-1", 1, 2, 1500 },
    { "2.5e2", 1, 250, 250000 },
    { "1e0", 1, 1, 1000 },
    { "1e18", 1, 1000000000000000000, MAX64 },
    { "1e19", 1, MAX64, MAX64 },
    { "1e-100", 1, 1, 1 },
    { "1e100", 1, MAX64, MAX64 },
    { "0e5", 1, 0, 0 },
    { "9223372036854775807", 1, MAX64, MAX64 },
    { "9223372036854775808", 1, MAX64, MAX64 },
    { "0.000000000000000000000000000001", 1, 1, 1 },
    /* malformed */
    { "", 0, 0, 0 },
    { "12q", 0, 0, 0 },
    { "1K", 0, 0, 0 },        /* kilo is k */
    { "1ki", 0, 0, 0 },
    { "1mi", 0, 0, 0 },
    { "1e", 0, 0, 0 },
    { "1ee3", 0, 0, 0 },
    { "1e3.5", 0, 0, 0 },
    { "1Ki3", 0, 0, 0 },
    { "1m3", 0, 0, 0 },
    { "m", 0, 0, 0 },
    { "Ki", 0, 0, 0 },
    { ".", 0, 0, 0 },
    { "+", 0, 0, 0 },
    { "-", 0, 0, 0 },
    { "1..5", 0, 0, 0 },
    { "1.5.", 0, 0, 0 },
    { " 1", 0, 0, 0 },
    { "1 ", 0, 0, 0 },
    { "1,5", 0, 0, 0 },
    { "0x10", 0, 0, 0 },
    { "--1", 0, 0, 0 },
    { "1Gi ", 0, 0, 0 },
    { "1e+", 0, 0, 0 },
    { "NaN", 0, 0, 0 },
    { "Inf", 0, 0, 0 },
};

static void test_quantities(void)
{
    for (size_t i = 0; i < sizeof qcases / sizeof qcases[0]; i++) {
        const qcase *c = &qcases[i];
        int64_t u = 42, m = 42;
        char eu[256] = "", em[256] = "";
        int ru = k8s_quantity(c->in, K8S_Q_UNITS, &u, eu, sizeof eu);
        int rm = k8s_quantity(c->in, K8S_Q_MILLI, &m, em, sizeof em);
        if (c->ok) {
            CHECK(ru == 0 && u == c->units, "\"%s\" units: rc %d got %" PRId64 " want %" PRId64 " (%s)",
                  c->in, ru, u, c->units, eu);
            CHECK(rm == 0 && m == c->milli, "\"%s\" milli: rc %d got %" PRId64 " want %" PRId64 " (%s)",
                  c->in, rm, m, c->milli, em);
        } else {
            CHECK(ru == -1 && rm == -1, "\"%s\" should be refused (rc %d %d)", c->in, ru, rm);
            CHECK(u == 42 && m == 42, "\"%s\": output touched on error", c->in);
            CHECK(eu[0] != '\0', "\"%s\": no reason given", c->in);
        }
    }
    /* nano scale (the pod usage sums) */
    int64_t n = 0;
    CHECK(k8s_quantity("123n", 9, &n, NULL, 0) == 0 && n == 123, "123n at nano: %" PRId64, n);
    CHECK(k8s_quantity("1.5", 9, &n, NULL, 0) == 0 && n == 1500000000, "1.5 at nano: %" PRId64, n);
    CHECK(k8s_quantity("250m", 9, &n, NULL, 0) == 0 && n == 250000000, "250m at nano");
    /* too long */
    char longq[K8S_QUANTITY_MAX + 8];
    memset(longq, '1', sizeof longq - 1);
    longq[sizeof longq - 1] = '\0';
    CHECK(k8s_quantity(longq, 0, &n, NULL, 0) == -1, "an over-long quantity is refused");
    /* JSON numbers are quantities too */
    json_t *v = json_integer(3);
    CHECK(k8s_quantity_json(v, K8S_Q_MILLI, &n, NULL, 0) == 0 && n == 3000, "JSON 3 -> 3000m");
    json_decref(v);
    v = json_real(0.25);
    CHECK(k8s_quantity_json(v, K8S_Q_MILLI, &n, NULL, 0) == 0 && n == 250, "JSON 0.25 -> 250m");
    json_decref(v);
    v = json_true();
    CHECK(k8s_quantity_json(v, K8S_Q_MILLI, &n, NULL, 0) == -1, "JSON true is not a quantity");
    json_decref(v);
}

/* ------------------------------------------------------------------ nodes */

static void test_node_fixtures(void)
{
    char err[K8S_ERR_MAX];
    k8s_node n;

    /* k9s: a single v1 Node from minikube */
    json_t *j = load_fixture("node_v1_minikube_k9s.json");
    if (j) {
        CHECK(k8s_node_parse(j, &n, err, sizeof err) == 0, "minikube node: %s", err);
        CHECK_STREQ(n.name, "minikube", "node name");
        CHECK_STREQ(n.kubelet_version, "v1.15.2", "kubelet");
        CHECK_STREQ(n.os_image, "Buildroot 2018.05.3", "os image");
        CHECK_STREQ(n.container_runtime, "docker://18.9.8", "runtime");
        CHECK(n.cpu_capacity_m == 4000 && n.cpu_allocatable_m == 4000, "cpu %" PRId64 " %" PRId64,
              n.cpu_capacity_m, n.cpu_allocatable_m);
        CHECK(n.memory_capacity_b == 8165556LL * 1024, "mem cap %" PRId64, n.memory_capacity_b);
        CHECK(n.memory_allocatable_b == 8063156LL * 1024, "mem alloc %" PRId64, n.memory_allocatable_b);
        CHECK(n.pods_capacity == 110, "pods %" PRId64, n.pods_capacity);
        CHECK(n.have == (K8S_N_CPU_CAP | K8S_N_CPU_ALLOC | K8S_N_MEM_CAP | K8S_N_MEM_ALLOC |
                         K8S_N_PODS_CAP), "have %u", n.have);
        CHECK(n.ready == 1, "Ready True -> 1");
        json_decref(j);
    }

    /* nri: kubectl's List of one Node, converted from YAML */
    j = load_fixture("nodelist_k8s1.35_nri.converted.json");
    if (j) {
        json_t *items;
        const char *cont;
        CHECK(k8s_list_parse(j, &items, &cont, err, sizeof err) == 0, "node List: %s", err);
        CHECK(json_array_size(items) == 1, "one node");
        CHECK_STREQ(cont, "", "no continue");
        CHECK(k8s_node_parse(json_array_get(items, 0), &n, err, sizeof err) == 0, "datagen: %s", err);
        CHECK_STREQ(n.name, "datagen-1-35", "name");
        CHECK_STREQ(n.kubelet_version, "v1.35.0", "kubelet");
        CHECK_STREQ(n.os_image, "Debian GNU/Linux 12 (bookworm)", "os");
        CHECK_STREQ(n.container_runtime, "containerd://2.2.1", "runtime");
        CHECK(n.cpu_capacity_m == 14000 && n.cpu_allocatable_m == 14000, "cpu");
        CHECK(n.memory_capacity_b == 8024304LL * 1024 && n.memory_allocatable_b == 8024304LL * 1024, "mem");
        CHECK(n.pods_capacity == 110 && n.ready == 1, "pods, ready");
        json_decref(j);
    }
}

typedef struct nodecase {
    const char *json;
    int ok;
    int ready;
    unsigned have;
    const char *err_has;    /* substring of the error */
} nodecase;

static const nodecase nodecases[] = {
    { "{\"metadata\":{\"name\":\"n1\"}}", 1, 0, 0, NULL },
    { "{\"metadata\":{\"name\":\"n1\"},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"Unknown\"}]}}",
      1, 0, 0, NULL },
    { "{\"metadata\":{\"name\":\"n1\"},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"}]}}",
      1, 0, 0, NULL },
    { "{\"metadata\":{\"name\":\"n1\"},\"status\":{\"capacity\":{\"cpu\":\"2\"},\"conditions\":[{\"type\":\"DiskPressure\",\"status\":\"True\"},{\"type\":\"Ready\",\"status\":\"True\"}]}}",
      1, 1, K8S_N_CPU_CAP, NULL },
    { "{\"metadata\":{\"name\":\"n1\"},\"status\":{\"capacity\":{\"memory\":\"12q\"}}}", 0, 0, 0,
      "node n1: memory capacity \"12q\": " },
    { "{\"metadata\":{\"name\":\"n1\"},\"status\":{\"allocatable\":{\"cpu\":\"1.5.\"}}}", 0, 0, 0,
      "node n1: cpu allocatable \"1.5.\"" },
    { "{\"metadata\":{\"name\":\"n1\"},\"status\":{\"capacity\":{\"pods\":true}}}", 0, 0, 0,
      "node n1: pods capacity \"true\"" },
    { "{\"metadata\":{\"name\":\"n1\"},\"status\":{\"capacity\":[]}}", 0, 0, 0, "not an object" },
    { "{\"metadata\":{}}", 0, 0, 0, "name" },
    { "[]", 0, 0, 0, "node" },
    { "{\"metadata\":{\"name\":\"n\\u0007\\\"x\"},\"status\":{\"capacity\":{\"cpu\":\"x\"}}}", 0, 0, 0,
      "node n?'x: cpu capacity" },
};

static void test_node_cases(void)
{
    for (size_t i = 0; i < sizeof nodecases / sizeof nodecases[0]; i++) {
        const nodecase *c = &nodecases[i];
        json_t *j = parse(c->json);
        if (!j)
            continue;
        k8s_node n;
        char err[K8S_ERR_MAX] = "";
        int rc = k8s_node_parse(j, &n, err, sizeof err);
        if (c->ok) {
            CHECK(rc == 0, "node case %zu: %s", i, err);
            CHECK(rc != 0 || (n.ready == c->ready && n.have == c->have),
                  "node case %zu: ready %d have %u", i, n.ready, n.have);
        } else {
            CHECK(rc == -1, "node case %zu should fail", i);
            CHECK(c->err_has && strstr(err, c->err_has), "node case %zu: error [%s] lacks [%s]", i,
                  err, c->err_has);
        }
        json_decref(j);
    }
}

/* ------------------------------------------------------------------ pods */

static void test_pod_fixture(void)
{
    json_t *j = load_fixture("podlist_kubelet_pods_k8s1.35_nri.json");
    if (!j)
        return;
    char err[K8S_ERR_MAX];
    json_t *items;
    const char *cont;
    CHECK(k8s_list_parse(j, &items, &cont, err, sizeof err) == 0, "PodList: %s", err);
    CHECK(json_array_size(items) == 24, "24 pods, got %zu", json_array_size(items));
    int64_t running = 0, failed = 0, succeeded = 0, kube_system = 0, scraper = 0;
    int64_t restarts = 0, ready = 0, containers = 0, cpu = 0, mem = 0;
    int found_creating = 0, found_ms = 0;
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        k8s_pod p;
        if (k8s_pod_parse(it, &p, err, sizeof err) != 0) {
            CHECK(0, "pod %zu: %s", i, err);
            continue;
        }
        running += strcmp(p.phase, "Running") == 0;
        failed += strcmp(p.phase, "Failed") == 0;
        succeeded += strcmp(p.phase, "Succeeded") == 0;
        kube_system += strcmp(p.namespace_, "kube-system") == 0;
        scraper += strcmp(p.namespace_, "scraper") == 0;
        restarts += p.restarts;
        ready += p.ready_containers;
        containers += p.containers;
        cpu += p.cpu_request_m;
        mem += p.memory_request_b;
        CHECK_STREQ(p.node, "datagen-1-35", "every pod runs on the one node");
        if (strcmp(p.name, "e2e-container-creating") == 0) {
            found_creating = 1;
            CHECK(p.restarts == 2 && p.ready_containers == 0 && p.containers == 1,
                  "creating: restarts %" PRId64 " ready %" PRId64, p.restarts, p.ready_containers);
            CHECK(p.cpu_request_m == 5 && p.memory_request_b == 5000000, "creating: 5m, 5M");
        }
        if (strcmp(p.name, "metrics-server-9d74bb658-c6nnt") == 0) {
            found_ms = 1;
            CHECK(p.cpu_request_m == 100 && p.memory_request_b == 200LL * 1048576,
                  "metrics-server: 100m, 200Mi");
            CHECK_STREQ(p.namespace_, "kube-system", "metrics-server namespace");
        }
    }
    CHECK(found_creating && found_ms, "known pods present");
    CHECK(running == 18 && failed == 4 && succeeded == 2,
          "phases %" PRId64 "/%" PRId64 "/%" PRId64, running, failed, succeeded);
    CHECK(kube_system == 9 && scraper == 15, "namespaces");
    CHECK(restarts == 2, "restarts %" PRId64, restarts);
    CHECK(ready == 17 && containers == 24, "ready %" PRId64 " containers %" PRId64, ready, containers);
    CHECK(cpu == 1435, "cpu requests %" PRId64, cpu);
    CHECK(mem == 555502400, "memory requests %" PRId64, mem);
    json_decref(j);
}

typedef struct podcase {
    const char *name;
    const char *json;
    int ok;
    int64_t cpu_m, mem_b, restarts, ready, containers;
    const char *phase, *node, *err_has;
} podcase;

#define META "\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\"}"
#define C(name, cpu, mem) "{\"name\":\"" name "\",\"resources\":{\"requests\":{\"cpu\":\"" cpu "\",\"memory\":\"" mem "\"}}}"
#define SIDE(name, cpu, mem) "{\"name\":\"" name "\",\"restartPolicy\":\"Always\",\"resources\":{\"requests\":{\"cpu\":\"" cpu "\",\"memory\":\"" mem "\"}}}"

static const podcase podcases[] = {
    { "bare", "{" META "}", 1, 0, 0, 0, 0, 0, "Unknown", "", NULL },
    { "two containers", "{" META ",\"spec\":{\"nodeName\":\"n1\",\"containers\":[" C("a", "100m", "64Mi") "," C("b", "0.25", "1Gi") "]},\"status\":{\"phase\":\"Running\",\"containerStatuses\":[{\"name\":\"a\",\"ready\":true,\"restartCount\":3},{\"name\":\"b\",\"ready\":false,\"restartCount\":4}]}}",
      1, 350, 64LL * 1048576 + 1073741824, 7, 1, 2, "Running", "n1", NULL },
    { "nanocores add up before rounding", "{" META ",\"spec\":{\"containers\":[" C("a", "400000n", "1") "," C("b", "400000n", "1") "]}}",
      1, 1, 2, 0, 0, 2, "Unknown", "", NULL },
    { "init larger than app", "{" META ",\"spec\":{\"initContainers\":[" C("init", "2", "2Gi") "],\"containers\":[" C("a", "500m", "1Gi") "]}}",
      1, 2000, 2147483648, 0, 0, 1, "Unknown", "", NULL },
    { "init smaller than app", "{" META ",\"spec\":{\"initContainers\":[" C("init", "100m", "1Mi") "],\"containers\":[" C("a", "500m", "1Gi") "]}}",
      1, 500, 1073741824, 0, 0, 1, "Unknown", "", NULL },
    { "sidecar adds to the app, and to later init steps",
      "{" META ",\"spec\":{\"initContainers\":[" SIDE("side", "200m", "100Mi") "," C("init", "1", "1Mi") "],\"containers\":[" C("a", "500m", "1Gi") "]}}",
      1, 1200, 1073741824 + 100LL * 1048576, 0, 0, 1, "Unknown", "", NULL },
    { "overhead", "{" META ",\"spec\":{\"overhead\":{\"cpu\":\"250m\",\"memory\":\"120Mi\"},\"containers\":[" C("a", "1", "1Gi") "]}}",
      1, 1250, 1073741824 + 120LL * 1048576, 0, 0, 1, "Unknown", "", NULL },
    { "bad cpu request", "{" META ",\"spec\":{\"containers\":[" C("x", "12q", "1Mi") "]}}",
      0, 0, 0, 0, 0, 0, NULL, NULL, "pod ns/p: container x: cpu request \"12q\": " },
    { "bad memory request", "{" META ",\"spec\":{\"containers\":[" C("x", "1", "1KiB") "]}}",
      0, 0, 0, 0, 0, 0, NULL, NULL, "pod ns/p: container x: memory request \"1KiB\": " },
    { "bad init request", "{" META ",\"spec\":{\"initContainers\":[" C("setup", "1", "lots") "]}}",
      0, 0, 0, 0, 0, 0, NULL, NULL, "pod ns/p: init container setup: memory request \"lots\"" },
    { "bad overhead", "{" META ",\"spec\":{\"overhead\":{\"cpu\":\"-\"}}}",
      0, 0, 0, 0, 0, 0, NULL, NULL, "pod ns/p: overhead cpu \"-\"" },
    { "no namespace", "{\"metadata\":{\"name\":\"p\"}}", 0, 0, 0, 0, 0, 0, NULL, NULL, "namespace" },
    { "containers not an array", "{" META ",\"spec\":{\"containers\":{}}}", 0, 0, 0, 0, 0, 0, NULL, NULL,
      "spec.containers is not an array" },
    { "restartCount a string", "{" META ",\"status\":{\"containerStatuses\":[{\"restartCount\":\"1\"}]}}",
      0, 0, 0, 0, 0, 0, NULL, NULL, "status.containerStatuses[0]" },
};

static void test_pod_cases(void)
{
    for (size_t i = 0; i < sizeof podcases / sizeof podcases[0]; i++) {
        const podcase *c = &podcases[i];
        json_t *j = parse(c->json);
        if (!j)
            continue;
        k8s_pod p;
        char err[K8S_ERR_MAX] = "";
        int rc = k8s_pod_parse(j, &p, err, sizeof err);
        if (c->ok) {
            CHECK(rc == 0, "%s: %s", c->name, err);
            if (rc == 0) {
                CHECK(p.cpu_request_m == c->cpu_m, "%s: cpu %" PRId64 " want %" PRId64, c->name,
                      p.cpu_request_m, c->cpu_m);
                CHECK(p.memory_request_b == c->mem_b, "%s: mem %" PRId64 " want %" PRId64, c->name,
                      p.memory_request_b, c->mem_b);
                CHECK(p.restarts == c->restarts && p.ready_containers == c->ready &&
                      p.containers == c->containers, "%s: restarts/ready/containers", c->name);
                CHECK_STREQ(p.phase, c->phase, c->name);
                CHECK_STREQ(p.node, c->node, c->name);
            }
        } else {
            CHECK(rc == -1, "%s: should fail", c->name);
            CHECK(strstr(err, c->err_has) != NULL, "%s: error [%s] lacks [%s]", c->name, err, c->err_has);
        }
        json_decref(j);
    }
}

/* ------------------------------------------------------------------ metrics */

static void test_metrics_fixtures(void)
{
    char err[K8S_ERR_MAX];
    k8s_usage u;
    json_t *j = load_fixture("metrics_nodemetrics_minikube_k8s_docs.json");
    if (j) {
        CHECK(k8s_node_metrics_parse(j, &u, err, sizeof err) == 0, "NodeMetrics: %s", err);
        CHECK_STREQ(u.name, "minikube", "name");
        CHECK(u.cpu_m == 488 && u.memory_b == 732212LL * 1024 && u.have == (K8S_U_CPU | K8S_U_MEM),
              "minikube usage %" PRId64 " %" PRId64, u.cpu_m, u.memory_b);
        json_decref(j);
    }
    j = load_fixture("metrics_nodemetricslist_k3s_kyverno_docs.json");
    if (j) {
        json_t *items;
        const char *cont;
        CHECK(k8s_list_parse(j, &items, &cont, err, sizeof err) == 0 && json_array_size(items) == 1,
              "NodeMetricsList: %s", err);
        CHECK(k8s_node_metrics_parse(json_array_get(items, 0), &u, err, sizeof err) == 0, "%s", err);
        CHECK_STREQ(u.name, "k3d-kyv180rc1-server-0", "k3s node");
        CHECK(u.cpu_m == 299 && u.memory_b == 1311340LL * 1024, "k3s usage %" PRId64 " %" PRId64,
              u.cpu_m, u.memory_b);
        json_decref(j);
    }
    j = load_fixture("metrics_podmetrics_kube-scheduler_k8s_docs.json");
    if (j) {
        CHECK(k8s_pod_metrics_parse(j, &u, err, sizeof err) == 0, "PodMetrics: %s", err);
        CHECK_STREQ(u.namespace_, "kube-system", "ns");
        CHECK_STREQ(u.name, "kube-scheduler-minikube", "name");
        CHECK(u.cpu_m == 10 && u.memory_b == 22244LL * 1024, "scheduler usage %" PRId64 " %" PRId64,
              u.cpu_m, u.memory_b);
        json_decref(j);
    }
    j = load_fixture("metrics_podmetricslist_kind_minifi_test.json");
    if (j) {
        json_t *items;
        const char *cont;
        CHECK(k8s_list_parse(j, &items, &cont, err, sizeof err) == 0 && json_array_size(items) == 3,
              "PodMetricsList: %s", err);
        static const struct { const char *ns, *name; int64_t cpu, mem; } want[] = {
            { "default", "hello-world", 1, (1596 + 1560) * 1024LL },   /* 123n + 456n = 579n -> 1m */
            { "default", "minifi", 1, 8800 * 1024LL },
            { "kube-system", "kube-apiserver-kind-control-plane", 84, 270396 * 1024LL },
        };
        for (size_t i = 0; i < 3; i++) {
            CHECK(k8s_pod_metrics_parse(json_array_get(items, i), &u, err, sizeof err) == 0, "%s", err);
            CHECK_STREQ(u.namespace_, want[i].ns, "ns");
            CHECK_STREQ(u.name, want[i].name, "name");
            CHECK(u.cpu_m == want[i].cpu && u.memory_b == want[i].mem,
                  "%s: %" PRId64 " %" PRId64, want[i].name, u.cpu_m, u.memory_b);
        }
        json_decref(j);
    }
    /* hand-made */
    static const struct { const char *json; int node, ok; unsigned have; const char *err_has; } mc[] = {
        { "{\"metadata\":{\"name\":\"n\"},\"usage\":{\"cpu\":\"1\"}}", 1, 1, K8S_U_CPU, NULL },
        { "{\"metadata\":{\"name\":\"n\"}}", 1, 1, 0, NULL },
        { "{\"metadata\":{\"name\":\"n\"},\"usage\":{\"cpu\":\"1x\"}}", 1, 0, 0, "node metrics n: cpu usage \"1x\"" },
        { "{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\"},\"containers\":[{\"name\":\"c\",\"usage\":{\"memory\":\"9Zi\"}}]}",
          0, 0, 0, "pod metrics ns/p: container c: memory usage \"9Zi\"" },
        { "{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\"},\"containers\":[]}", 0, 1, 0, NULL },
    };
    for (size_t i = 0; i < sizeof mc / sizeof mc[0]; i++) {
        json_t *x = parse(mc[i].json);
        if (!x)
            continue;
        char e[K8S_ERR_MAX] = "";
        int rc = mc[i].node ? k8s_node_metrics_parse(x, &u, e, sizeof e)
                            : k8s_pod_metrics_parse(x, &u, e, sizeof e);
        if (mc[i].ok)
            CHECK(rc == 0 && u.have == mc[i].have, "metrics case %zu: rc %d have %u (%s)", i, rc, u.have, e);
        else
            CHECK(rc == -1 && strstr(e, mc[i].err_has), "metrics case %zu: [%s]", i, e);
        json_decref(x);
    }
}

/* ------------------------------------------------------------------ lists, Status */

static void test_lists(void)
{
    static const struct { const char *json; int ok; size_t n; const char *cont; } lc[] = {
        { "{\"kind\":\"PodList\",\"metadata\":{\"continue\":\"abc\"},\"items\":[{},{}]}", 1, 2, "abc" },
        { "{\"kind\":\"PodList\",\"metadata\":{},\"items\":[]}", 1, 0, "" },
        { "{\"kind\":\"PodMetricsList\",\"metadata\":{},\"items\":null}", 1, 0, "" },
        { "{\"kind\":\"NodeList\",\"metadata\":{\"resourceVersion\":\"1\"}}", 1, 0, "" },
        { "{\"metadata\":{}}", 0, 0, "" },
        { "{\"kind\":\"PodList\",\"items\":{}}", 0, 0, "" },
        { "{\"kind\":\"PodList\",\"metadata\":{\"continue\":5},\"items\":[]}", 0, 0, "" },
        { "[1,2]", 0, 0, "" },
    };
    for (size_t i = 0; i < sizeof lc / sizeof lc[0]; i++) {
        json_t *j = parse(lc[i].json);
        if (!j)
            continue;
        json_t *items;
        const char *cont;
        char err[K8S_ERR_MAX] = "";
        int rc = k8s_list_parse(j, &items, &cont, err, sizeof err);
        if (lc[i].ok) {
            CHECK(rc == 0, "list case %zu: %s", i, err);
            CHECK(rc != 0 || (json_array_size(items) == lc[i].n && strcmp(cont, lc[i].cont) == 0),
                  "list case %zu: %zu items, continue [%s]", i, json_array_size(items), cont);
        } else {
            CHECK(rc == -1 && err[0], "list case %zu should fail", i);
        }
        json_decref(j);
    }

    char msg[128];
    const char *st = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
                     "\"message\":\"pods is forbidden: User \\\"u\\\" cannot list\",\"code\":403}";
    k8s_status_message(st, strlen(st), msg, sizeof msg);
    CHECK_STREQ(msg, "pods is forbidden: User 'u' cannot list", "Status message");
    const char *notst = "{\"kind\":\"Pod\",\"message\":\"x\"}";
    k8s_status_message(notst, strlen(notst), msg, sizeof msg);
    CHECK_STREQ(msg, "", "not a Status");
    k8s_status_message("<html>", 6, msg, sizeof msg);
    CHECK_STREQ(msg, "", "not JSON");

    char p[12];
    CHECK_STREQ(k8s_printable("a\nb\"c", p, sizeof p), "a?b'c", "printable");
    CHECK_STREQ(k8s_printable("0123456789abcdef", p, sizeof p), "01234567...", "printable cut");
}

/* ------------------------------------------------------------------ tables */

typedef struct visited {
    char line[64][48];
    int n;
    int stop_at;
} visited;

static int visit_ns(void *ctx, const char *ns, const char *phase, int64_t pods)
{
    visited *v = ctx;
    if (v->n < 64)
        snprintf(v->line[v->n], sizeof v->line[0], "%s %s %" PRId64, ns, phase, pods);
    v->n++;
    return v->stop_at && v->n >= v->stop_at ? 9 : 0;
}

static void test_tables(void)
{
    k8s_usage_map *m = k8s_usage_map_new();
    CHECK(m != NULL, "usage map");
    char ns[32], name[32];
    int ok = 1;
    for (int i = 0; i < 100000 && m; i++) {
        snprintf(ns, sizeof ns, "ns-%d", i % 37);
        snprintf(name, sizeof name, "pod-%d", i);
        ok &= k8s_usage_map_put(m, ns, name, i, (int64_t)i * 1024, K8S_U_CPU | K8S_U_MEM) == 0;
    }
    CHECK(ok, "100000 puts");
    CHECK(k8s_usage_map_count(m) == 100000, "count %zu", k8s_usage_map_count(m));
    int64_t cpu = -1, mem = -1;
    unsigned have = 0;
    ok = 1;
    for (int i = 0; i < 100000 && m; i += 997) {
        snprintf(ns, sizeof ns, "ns-%d", i % 37);
        snprintf(name, sizeof name, "pod-%d", i);
        ok &= k8s_usage_map_get(m, ns, name, &cpu, &mem, &have) == 1 && cpu == i && mem == (int64_t)i * 1024;
    }
    CHECK(ok, "gets find what was put");
    CHECK(k8s_usage_map_get(m, "ns-1", "pod-0", &cpu, &mem, &have) == 0, "wrong namespace: absent");
    CHECK(k8s_usage_map_get(m, "ns-0", "pod-100000", &cpu, &mem, &have) == 0, "absent");
    CHECK(k8s_usage_map_put(m, "ns-0", "pod-0", 7, 8, K8S_U_CPU) == 0 &&
          k8s_usage_map_get(m, "ns-0", "pod-0", &cpu, &mem, &have) == 1 && cpu == 7 && mem == 8 &&
          have == K8S_U_CPU && k8s_usage_map_count(m) == 100000, "put replaces");
    size_t bytes = k8s_usage_map_bytes(m);
    CHECK(bytes > 0 && bytes < (size_t)100000 * 160, "about 100 bytes an entry: %zu", bytes);
    /* a node map: no namespace; "a/b" as ns+name and as a name are the same key by design */
    k8s_usage_map *nm = k8s_usage_map_new();
    CHECK(nm && k8s_usage_map_put(nm, NULL, "node-1", 1, 2, K8S_U_CPU) == 0 &&
          k8s_usage_map_get(nm, "", "node-1", &cpu, &mem, &have) == 1 && cpu == 1, "node keys");
    k8s_usage_map_free(nm);
    k8s_usage_map_free(m);
    k8s_usage_map_free(NULL);

    k8s_seen *s = k8s_seen_new();
    CHECK(s != NULL, "seen set");
    ok = 1;
    for (int i = 0; i < 50000 && s; i++) {
        snprintf(name, sizeof name, "pod-%d", i);
        ok &= k8s_seen_add(s, k8s_key_hash("ns", name)) == 1;
    }
    CHECK(ok, "50000 distinct keys are new");
    ok = 1;
    for (int i = 0; i < 50000 && s; i += 7) {
        snprintf(name, sizeof name, "pod-%d", i);
        ok &= k8s_seen_add(s, k8s_key_hash("ns", name)) == 0;
    }
    CHECK(ok && k8s_seen_count(s) == 50000, "seen again: not new");
    CHECK(k8s_seen_add(s, 0) == 1 && k8s_seen_add(s, 0) == 0, "hash 0 is a key too");
    CHECK(k8s_key_hash("a", "b") != k8s_key_hash("ab", "") && k8s_key_hash("a", "b") != k8s_key_hash(NULL, "ab"),
          "key hash separates namespace and name");
    k8s_seen_free(s);
    k8s_seen_free(NULL);

    k8s_ns_counts *c = k8s_ns_counts_new();
    CHECK(c != NULL, "ns counts");
    static const char *adds[][2] = {
        { "zeta", "Running" }, { "alpha", "Running" }, { "alpha", "Running" }, { "zeta", "Failed" },
        { "alpha", "Evicted" }, { "alpha", "" }, { "mid", "Pending" }, { "alpha", "Evicted" },
    };
    for (size_t i = 0; i < sizeof adds / sizeof adds[0]; i++)
        CHECK(k8s_ns_counts_add(c, adds[i][0], adds[i][1]) == 0, "add %zu", i);
    CHECK(k8s_ns_counts_namespaces(c) == 3, "3 namespaces");
    visited v = { .n = 0 };
    CHECK(k8s_ns_counts_each(c, visit_ns, &v) == 0, "walk");
    static const char *want[] = {
        "alpha Pending 0", "alpha Running 2", "alpha Succeeded 0", "alpha Failed 0", "alpha Unknown 1",
        "alpha Evicted 2",
        "mid Pending 1", "mid Running 0", "mid Succeeded 0", "mid Failed 0", "mid Unknown 0",
        "zeta Pending 0", "zeta Running 1", "zeta Succeeded 0", "zeta Failed 1", "zeta Unknown 0",
    };
    CHECK(v.n == (int)(sizeof want / sizeof want[0]), "%d (namespace, phase) rows", v.n);
    for (int i = 0; i < v.n && i < (int)(sizeof want / sizeof want[0]); i++)
        CHECK_STREQ(v.line[i], want[i], "namespace row");
    k8s_ns_counts_reset(c);
    CHECK(k8s_ns_counts_namespaces(c) == 0, "reset forgets");
    CHECK(k8s_ns_counts_add(c, "b", "Running") == 0 && k8s_ns_counts_namespaces(c) == 1, "usable after reset");
    v.n = 0;
    v.stop_at = 2;
    CHECK(k8s_ns_counts_each(c, visit_ns, &v) == 9 && v.n == 2, "a non-zero visit stops the walk");
    k8s_ns_counts_free(c);
    k8s_ns_counts_free(NULL);
}

/* ------------------------------------------------------------------ configuration */

static void clear_env(void)
{
    static const char *names[] = { "KUBE_API_URL", "KUBE_TOKEN", "KUBE_TOKEN_FILE", "KUBE_CA_FILE",
                                   "KUBE_SA_DIR", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        unsetenv(names[i]);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL, "write %s", path);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_config(void)
{
    k8s_config c;
    char err[512];
    clear_env();
    CHECK(k8s_config_load(&c, err, sizeof err) == 78, "nothing set: 78");
    CHECK(strstr(err, "KUBE_API_URL") != NULL, "the message says what to set: %s", err);

    setenv("KUBE_API_URL", "http://127.0.0.1:8001//", 1);
    CHECK(k8s_config_load(&c, err, sizeof err) == 0, "kubectl proxy URL: %s", err);
    CHECK_STREQ(c.url, "http://127.0.0.1:8001", "trailing slashes dropped");
    CHECK(!c.has_token && c.token_file[0] == '\0' && c.ca_file[0] == '\0', "no token, no CA");

    setenv("KUBE_API_URL", "ftp://x", 1);
    CHECK(k8s_config_load(&c, err, sizeof err) == 78, "bad scheme: 78");

    /* in a pod: the service-account directory */
    char dir[] = "/tmp/test_k8s_sa.XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "temp dir");
    char tok[256], ca[256], ns[256];
    snprintf(tok, sizeof tok, "%s/token", dir);
    snprintf(ca, sizeof ca, "%s/ca.crt", dir);
    snprintf(ns, sizeof ns, "%s/namespace", dir);
    write_file(tok, "sa-token-value");
    write_file(ca, "-----BEGIN CERTIFICATE-----\n");
    write_file(ns, "cronflux");
    clear_env();
    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    setenv("KUBE_SA_DIR", dir, 1);
    CHECK(k8s_config_load(&c, err, sizeof err) == 0, "in-cluster: %s", err);
    CHECK_STREQ(c.url, "https://10.96.0.1:443", "default port 443");
    CHECK_STREQ(c.token_file, tok, "token file from KUBE_SA_DIR");
    CHECK_STREQ(c.ca_file, ca, "ca.crt from KUBE_SA_DIR");
    CHECK_STREQ(c.sa_namespace, "cronflux", "namespace file");
    CHECK(c.has_token, "has a token");

    setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "6443", 1);
    CHECK(k8s_config_load(&c, err, sizeof err) == 0 && strcmp(c.url, "https://[fd00::1]:6443") == 0,
          "IPv6 host in brackets: %s", c.url);
    setenv("KUBERNETES_SERVICE_PORT", "https", 1);
    CHECK(k8s_config_load(&c, err, sizeof err) == 78, "bad port: 78");
    unsetenv("KUBERNETES_SERVICE_PORT");

    /* KUBE_API_URL wins; KUBE_TOKEN_FILE and KUBE_CA_FILE are used as given */
    setenv("KUBE_API_URL", "https://api.example:6443", 1);
    setenv("KUBE_TOKEN_FILE", "/nonexistent/token", 1);
    setenv("KUBE_CA_FILE", ca, 1);
    CHECK(k8s_config_load(&c, err, sizeof err) == 0, "URL + files: %s", err);
    CHECK_STREQ(c.url, "https://api.example:6443", "URL wins over the service");
    CHECK_STREQ(c.token_file, "/nonexistent/token", "KUBE_TOKEN_FILE");
    CHECK_STREQ(c.ca_file, ca, "KUBE_CA_FILE");
    /* a token file that cannot be read: 78, and the message has the path, not a token */
    int code = 0;
    k8s_api *a = k8s_api_new(&c, NULL, &code, err, sizeof err);
    CHECK(a == NULL && code == 78 && strstr(err, "/nonexistent/token"), "unreadable token: %d %s", code, err);
    /* an empty token file: 78 */
    write_file(tok, "\n");
    setenv("KUBE_TOKEN_FILE", tok, 1);
    CHECK(k8s_config_load(&c, err, sizeof err) == 0, "config");
    a = k8s_api_new(&c, NULL, &code, err, sizeof err);
    CHECK(a == NULL && code == 78 && strstr(err, "empty"), "empty token: %d %s", code, err);
    /* a CA file that is not there: 78 */
    write_file(tok, "t0ken\n");
    setenv("KUBE_CA_FILE", "/nonexistent/ca.crt", 1);
    CHECK(k8s_config_load(&c, err, sizeof err) == 0, "config");
    a = k8s_api_new(&c, NULL, &code, err, sizeof err);
    CHECK(a == NULL && code == 78 && strstr(err, "/nonexistent/ca.crt") && !strstr(err, "t0ken"),
          "missing CA: %d %s", code, err);
    /* KUBE_TOKEN as a value */
    unsetenv("KUBE_TOKEN_FILE");
    unsetenv("KUBE_CA_FILE");
    setenv("KUBE_TOKEN", "inline-token", 1);
    CHECK(k8s_config_load(&c, err, sizeof err) == 0 && c.has_token && c.token_file[0] == '\0',
          "KUBE_TOKEN value");
    a = k8s_api_new(&c, NULL, &code, err, sizeof err);
    CHECK(a != NULL && code == 0, "client with KUBE_TOKEN: %s", err);
    k8s_api_free(a);
    k8s_api_free(NULL);

    unlink(tok);
    unlink(ca);
    unlink(ns);
    rmdir(dir);
    clear_env();
}

int main(void)
{
    test_quantities();
    test_node_fixtures();
    test_node_cases();
    test_pod_fixture();
    test_pod_cases();
    test_metrics_fixtures();
    test_lists();
    test_tables();
    test_config();
    return th_summary("test_k8s");
}
