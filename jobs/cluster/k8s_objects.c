/* k8s_objects: the fields cluster-metrics reads from Nodes, Pods and metrics.k8s.io objects. */
#include "k8s_objects.h"
#include "../../runtime/errf.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../../runtime/jsonu.h"
#include "k8s_quantity.h"

#define NAME_SHOW 160   /* longest name / quantity text put into a message */
#define NANO 9

char *k8s_printable(const char *s, char *out, size_t cap)
{
    if (!out || cap == 0)
        return out;
    size_t o = 0;
    if (!s)
        s = "";
    for (; *s && o + 1 < cap; s++) {
        char c = *s;
        unsigned char u = (unsigned char)c;
        if (c == '"')
            c = '\'';
        else if (u < 0x20 || u == 0x7f || c == '\\')
            c = '?';
        out[o++] = c;
    }
    if (*s && cap >= 4) {   /* cut: mark it */
        o = o > cap - 4 ? cap - 4 : o;
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

static int64_t sat_add(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b)
        return INT64_MAX;
    if (b < 0 && a < INT64_MIN + 1 - b)
        return INT64_MIN + 1;
    return a + b;
}

static int64_t nano_to_milli_up(int64_t n)
{
    if (n >= 0)
        return n / 1000000 + (n % 1000000 != 0);
    return -((-n) / 1000000 + ((-n) % 1000000 != 0));
}

int k8s_quantity_json(json_t *v, int scale, int64_t *out, char *err, size_t errlen)
{
    char text[64];
    if (json_is_string(v))
        return k8s_quantity(json_string_value(v), scale, out, err, errlen);
    if (json_is_integer(v)) {
        int n = snprintf(text, sizeof text, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        if (n < 0 || (size_t)n >= sizeof text)
            return errf_fail(err, errlen, "number too long");
        return k8s_quantity(text, scale, out, err, errlen);
    }
    if (json_is_real(v)) {
        int n = snprintf(text, sizeof text, "%.17g", json_real_value(v));
        if (n < 0 || (size_t)n >= sizeof text)
            return errf_fail(err, errlen, "number too long");
        return k8s_quantity(text, scale, out, err, errlen);
    }
    return errf_fail(err, errlen, "not a string or a number");
}

/* Show a quantity value in a message: its text, or its JSON type. */
static const char *qtext(json_t *v, char *buf, size_t cap)
{
    if (json_is_string(v))
        return k8s_printable(json_string_value(v), buf, cap);
    if (json_is_integer(v)) {
        int n = snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return (n < 0 || (size_t)n >= cap) ? "?" : buf;
    }
    if (json_is_real(v)) {
        int n = snprintf(buf, cap, "%.17g", json_real_value(v));
        return (n < 0 || (size_t)n >= cap) ? "?" : buf;
    }
    return json_is_null(v) ? "null" : json_is_true(v) ? "true" : json_is_false(v) ? "false"
           : json_is_object(v) ? "{...}" : json_is_array(v) ? "[...]" : "?";
}

/* obj[key] as a quantity. 1 parsed, 0 absent (or obj not given), -1 error:
 * err = "<label> \"<text>\": <reason>". */
static int get_q(json_t *obj, const char *key, int scale, const char *label, int64_t *out,
                 char *err, size_t errlen)
{
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    if (!v)
        return 0;
    char why[160], shown[NAME_SHOW];
    if (k8s_quantity_json(v, scale, out, why, sizeof why) != 0)
        return errf_fail(err, errlen, "%s \"%s\": %s", label, qtext(v, shown, sizeof shown), why);
    return 1;
}

static const char *str_or_empty(const char *s)
{
    return s ? s : "";
}

int k8s_node_parse(json_t *item, k8s_node *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->kubelet_version = out->os_image = out->container_runtime = "";
    const char *name = NULL;
    json_t *cap = NULL, *alloc = NULL, *conds = NULL, *info = NULL;
    char e[K8S_ERR_MAX], shown[NAME_SHOW];
    if (jsonu_unpack(item, "node", e, sizeof e, "{s:{s:s}, s?{s?o, s?o, s?o, s?o}}", "metadata",
                     "name", &name, "status", "capacity", &cap, "allocatable", &alloc,
                     "conditions", &conds, "nodeInfo", &info) != 0)
        return errf_fail(err, errlen, "%s", e);
    out->name = name;
    const char *sname = k8s_printable(name, shown, sizeof shown);
    if (cap && !json_is_object(cap) && !json_is_null(cap))
        return errf_fail(err, errlen, "node %s: status.capacity is not an object", sname);
    if (alloc && !json_is_object(alloc) && !json_is_null(alloc))
        return errf_fail(err, errlen, "node %s: status.allocatable is not an object", sname);
    if (!json_is_object(cap))
        cap = NULL;
    if (!json_is_object(alloc))
        alloc = NULL;

    static const struct {
        int which; /* 0 capacity, 1 allocatable */
        const char *key, *label;
        int scale;
        unsigned bit;
        size_t off;
    } qs[] = {
        { 0, "cpu", "cpu capacity", K8S_Q_MILLI, K8S_N_CPU_CAP, offsetof(k8s_node, cpu_capacity_m) },
        { 1, "cpu", "cpu allocatable", K8S_Q_MILLI, K8S_N_CPU_ALLOC, offsetof(k8s_node, cpu_allocatable_m) },
        { 0, "memory", "memory capacity", K8S_Q_UNITS, K8S_N_MEM_CAP, offsetof(k8s_node, memory_capacity_b) },
        { 1, "memory", "memory allocatable", K8S_Q_UNITS, K8S_N_MEM_ALLOC, offsetof(k8s_node, memory_allocatable_b) },
        { 0, "pods", "pods capacity", K8S_Q_UNITS, K8S_N_PODS_CAP, offsetof(k8s_node, pods_capacity) },
    };
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        int64_t *dst = (int64_t *)((char *)out + qs[i].off);
        int r = get_q(qs[i].which ? alloc : cap, qs[i].key, qs[i].scale, qs[i].label, dst, e,
                      sizeof e);
        if (r < 0)
            return errf_fail(err, errlen, "node %s: %s", sname, e);
        if (r > 0)
            out->have |= qs[i].bit;
    }

    if (info && json_is_object(info)) {
        const char *kv = NULL, *os = NULL, *rt = NULL;
        if (jsonu_unpack(info, "node status.nodeInfo", e, sizeof e, "{s?s, s?s, s?s}",
                         "kubeletVersion", &kv, "osImage", &os, "containerRuntimeVersion",
                         &rt) != 0)
            return errf_fail(err, errlen, "node %s: %s", sname, e);
        out->kubelet_version = str_or_empty(kv);
        out->os_image = str_or_empty(os);
        out->container_runtime = str_or_empty(rt);
    }

    if (conds && json_is_array(conds)) {
        size_t i;
        json_t *c;
        json_array_foreach(conds, i, c) {
            const char *type = NULL, *status = NULL;
            if (jsonu_unpack(c, "node condition", e, sizeof e, "{s:s, s?s}", "type", &type,
                             "status", &status) != 0)
                return errf_fail(err, errlen, "node %s: status.conditions[%zu]: %s", sname, i, e);
            if (strcmp(type, "Ready") == 0)
                out->ready = status && strcmp(status, "True") == 0;
        }
    } else if (conds && !json_is_null(conds)) {
        return errf_fail(err, errlen, "node %s: status.conditions is not an array", sname);
    }
    return 0;
}

/* Requests of one container: cpu in nanocores, memory in bytes (0 when not requested). */
static int container_requests(json_t *c, const char *kind, int64_t *cpu_n, int64_t *mem_b,
                              const char **restart_policy, char *err, size_t errlen)
{
    const char *name = NULL;
    json_t *requests = NULL;
    char e[K8S_ERR_MAX], shown[NAME_SHOW];
    *cpu_n = *mem_b = 0;
    *restart_policy = "";
    const char *rp = NULL;
    if (jsonu_unpack(c, kind, e, sizeof e, "{s:s, s?s, s?{s?o}}", "name", &name,
                     "restartPolicy", &rp, "resources", "requests", &requests) != 0)
        return errf_fail(err, errlen, "%s", e);
    *restart_policy = str_or_empty(rp);
    if (!requests || json_is_null(requests))
        return 0;
    const char *sname = k8s_printable(name, shown, sizeof shown);
    if (!json_is_object(requests))
        return errf_fail(err, errlen, "%s %s: resources.requests is not an object", kind, sname);
    if (get_q(requests, "cpu", NANO, "cpu request", cpu_n, e, sizeof e) < 0 ||
        get_q(requests, "memory", K8S_Q_UNITS, "memory request", mem_b, e, sizeof e) < 0)
        return errf_fail(err, errlen, "%s %s: %s", kind, sname, e);
    return 0;
}

int k8s_pod_parse(json_t *item, k8s_pod *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->node = "";
    out->phase = "Unknown";
    const char *ns = NULL, *name = NULL, *node = NULL, *phase = NULL;
    json_t *containers = NULL, *inits = NULL, *overhead = NULL, *statuses = NULL;
    char e[K8S_ERR_MAX], sns[NAME_SHOW / 2], sname[NAME_SHOW];
    if (jsonu_unpack(item, "pod", e, sizeof e, "{s:{s:s, s:s}, s?{s?o, s?o, s?o, s?s}, s?{s?s, s?o}}",
                     "metadata", "name", &name, "namespace", &ns, "spec", "containers",
                     &containers, "initContainers", &inits, "overhead", &overhead, "nodeName",
                     &node, "status", "phase", &phase, "containerStatuses", &statuses) != 0)
        return errf_fail(err, errlen, "%s", e);
    out->namespace_ = ns;
    out->name = name;
    out->node = str_or_empty(node);
    if (phase && *phase)
        out->phase = phase;
    k8s_printable(ns, sns, sizeof sns);
    k8s_printable(name, sname, sizeof sname);

    /* requests: app containers (+ sidecars), against the largest init step, + overhead */
    int64_t cpu = 0, mem = 0, side_cpu = 0, side_mem = 0, init_cpu = 0, init_mem = 0;
    size_t i;
    json_t *c;
    if (containers && !json_is_array(containers) && !json_is_null(containers))
        return errf_fail(err, errlen, "pod %s/%s: spec.containers is not an array", sns, sname);
    if (json_is_array(containers)) {
        json_array_foreach(containers, i, c) {
            int64_t cc, cm;
            const char *rp;
            if (container_requests(c, "container", &cc, &cm, &rp, e, sizeof e) != 0)
                return errf_fail(err, errlen, "pod %s/%s: %s", sns, sname, e);
            cpu = sat_add(cpu, cc);
            mem = sat_add(mem, cm);
        }
        out->containers = (int64_t)json_array_size(containers);
    }
    if (inits && !json_is_array(inits) && !json_is_null(inits))
        return errf_fail(err, errlen, "pod %s/%s: spec.initContainers is not an array", sns, sname);
    if (json_is_array(inits)) {
        json_array_foreach(inits, i, c) {
            int64_t cc, cm, step_cpu, step_mem;
            const char *rp;
            if (container_requests(c, "init container", &cc, &cm, &rp, e, sizeof e) != 0)
                return errf_fail(err, errlen, "pod %s/%s: %s", sns, sname, e);
            if (strcmp(rp, "Always") == 0) {   /* a sidecar: runs beside the app containers */
                side_cpu = sat_add(side_cpu, cc);
                side_mem = sat_add(side_mem, cm);
                step_cpu = side_cpu;
                step_mem = side_mem;
            } else {
                step_cpu = sat_add(cc, side_cpu);
                step_mem = sat_add(cm, side_mem);
            }
            if (step_cpu > init_cpu)
                init_cpu = step_cpu;
            if (step_mem > init_mem)
                init_mem = step_mem;
        }
    }
    cpu = sat_add(cpu, side_cpu);
    mem = sat_add(mem, side_mem);
    if (init_cpu > cpu)
        cpu = init_cpu;
    if (init_mem > mem)
        mem = init_mem;
    if (overhead && json_is_object(overhead)) {
        int64_t oc = 0, om = 0;
        if (get_q(overhead, "cpu", NANO, "overhead cpu", &oc, e, sizeof e) < 0 ||
            get_q(overhead, "memory", K8S_Q_UNITS, "overhead memory", &om, e, sizeof e) < 0)
            return errf_fail(err, errlen, "pod %s/%s: %s", sns, sname, e);
        cpu = sat_add(cpu, oc);
        mem = sat_add(mem, om);
    }
    out->cpu_request_m = nano_to_milli_up(cpu);
    out->memory_request_b = mem;

    if (statuses && !json_is_array(statuses) && !json_is_null(statuses))
        return errf_fail(err, errlen, "pod %s/%s: status.containerStatuses is not an array", sns, sname);
    if (json_is_array(statuses)) {
        json_array_foreach(statuses, i, c) {
            json_int_t restarts = 0;
            int ready = 0;
            if (jsonu_unpack(c, "container status", e, sizeof e, "{s?I, s?b}", "restartCount",
                             &restarts, "ready", &ready) != 0)
                return errf_fail(err, errlen, "pod %s/%s: status.containerStatuses[%zu]: %s", sns,
                                 sname, i, e);
            out->restarts = sat_add(out->restarts, (int64_t)restarts);
            if (ready)
                out->ready_containers++;
        }
    }
    return 0;
}

static int usage_of(json_t *usage, const char *what, k8s_usage *out, char *err, size_t errlen)
{
    char e[K8S_ERR_MAX];
    int64_t cpu_n = 0, mem = 0;
    int r;
    if (!usage || json_is_null(usage))
        return 0;
    if (!json_is_object(usage))
        return errf_fail(err, errlen, "%s: usage is not an object", what);
    if ((r = get_q(usage, "cpu", NANO, "cpu usage", &cpu_n, e, sizeof e)) < 0)
        return errf_fail(err, errlen, "%s: %s", what, e);
    if (r > 0) {
        out->cpu_m = sat_add(out->cpu_m, cpu_n); /* nanocores until the end */
        out->have |= K8S_U_CPU;
    }
    if ((r = get_q(usage, "memory", K8S_Q_UNITS, "memory usage", &mem, e, sizeof e)) < 0)
        return errf_fail(err, errlen, "%s: %s", what, e);
    if (r > 0) {
        out->memory_b = sat_add(out->memory_b, mem);
        out->have |= K8S_U_MEM;
    }
    return 0;
}

int k8s_node_metrics_parse(json_t *item, k8s_usage *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->namespace_ = "";
    const char *name = NULL;
    json_t *usage = NULL;
    char e[K8S_ERR_MAX], shown[NAME_SHOW], what[NAME_SHOW + 32];
    if (jsonu_unpack(item, "node metrics", e, sizeof e, "{s:{s:s}, s?o}", "metadata", "name",
                     &name, "usage", &usage) != 0)
        return errf_fail(err, errlen, "%s", e);
    out->name = name;
    snprintf(what, sizeof what, "node metrics %s", k8s_printable(name, shown, sizeof shown));
    if (usage_of(usage, what, out, err, errlen) != 0)
        return -1;
    out->cpu_m = nano_to_milli_up(out->cpu_m);
    return 0;
}

int k8s_pod_metrics_parse(json_t *item, k8s_usage *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *ns = NULL, *name = NULL;
    json_t *containers = NULL;
    char e[K8S_ERR_MAX], sns[NAME_SHOW / 2], sname[NAME_SHOW], what[2 * NAME_SHOW + 64];
    if (jsonu_unpack(item, "pod metrics", e, sizeof e, "{s:{s:s, s:s}, s?o}", "metadata", "name",
                     &name, "namespace", &ns, "containers", &containers) != 0)
        return errf_fail(err, errlen, "%s", e);
    out->namespace_ = ns;
    out->name = name;
    k8s_printable(ns, sns, sizeof sns);
    k8s_printable(name, sname, sizeof sname);
    if (containers && !json_is_array(containers) && !json_is_null(containers))
        return errf_fail(err, errlen, "pod metrics %s/%s: containers is not an array", sns, sname);
    size_t i;
    json_t *c;
    json_array_foreach(containers, i, c) {
        const char *cname = NULL;
        json_t *usage = NULL;
        char scname[NAME_SHOW];
        if (jsonu_unpack(c, "pod metrics container", e, sizeof e, "{s?s, s?o}", "name", &cname,
                         "usage", &usage) != 0)
            return errf_fail(err, errlen, "pod metrics %s/%s: containers[%zu]: %s", sns, sname, i, e);
        int n = snprintf(what, sizeof what, "pod metrics %s/%s: container %s", sns, sname,
                         k8s_printable(cname ? cname : "?", scname, sizeof scname));
        if (n < 0)
            what[0] = '\0';
        if (usage_of(usage, what, out, err, errlen) != 0)
            return -1;
    }
    out->cpu_m = nano_to_milli_up(out->cpu_m);
    return 0;
}

int k8s_list_parse(json_t *root, json_t **items, const char **cont, char *err, size_t errlen)
{
    json_t *it = NULL;
    const char *c = NULL;
    char e[K8S_ERR_MAX];
    *items = NULL;
    *cont = "";
    if (jsonu_unpack(root, "list", e, sizeof e, "{s?o, s?{s?s}}", "items", &it, "metadata",
                     "continue", &c) != 0)
        return errf_fail(err, errlen, "%s", e);
    if (it && !json_is_array(it) && !json_is_null(it))
        return errf_fail(err, errlen, "list: items is not an array");
    if (json_is_array(it))
        *items = it;
    else if (!it && !json_object_get(root, "kind"))
        return errf_fail(err, errlen, "not a Kubernetes list (no items, no kind)");
    *cont = str_or_empty(c);
    return 0;
}
