/* k8s_collect: metrics -> usage maps; nodes, pods -> points; namespace counts -> points. */
#include "k8s_collect.h"
#include "../../runtime/errf.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../../runtime/log.h"
#include "k8s_tables.h"
#include "../../runtime/exitcode.h"

#define PAGE_DEFAULT 500

typedef struct run {
    sink *s;
    const char *cluster;
    int64_t t;
    k8s_collect_stats *st;
    k8s_usage_map *node_usage, *pod_usage;
    k8s_seen *seen_nodes, *seen_pods;
    k8s_ns_counts *ns;
    int64_t listed, bad;       /* this attempt of the current list */
} run;

static void note_bad(run *r, const char *what)
{
    r->bad++;
    if (!r->st->first_bad[0])
        snprintf(r->st->first_bad, sizeof r->st->first_bad, "%s", what);
}

static int add_point(run *r, const lp_point *p, char *err, size_t errlen)
{
    char e[SINK_ERR_MAX];
    int rc = sink_add(r->s, p, e, sizeof e);
    if (rc < 0) {
        errf_fail(err, errlen, "store: %s", e);
        r->st->store_failed = 1;
        return EX_CANTCREAT;
    }
    if (rc > 0) {
        r->st->rejected++;
        log_debug("%s point refused by the encoder: %s", p->measurement, e);
        return 0;
    }
    r->st->points++;
    return 0;
}

static void restart_counts(void *ctx)
{
    run *r = ctx;
    r->listed = 0;
    r->bad = 0;
    k8s_ns_counts_reset(r->ns);
}

/* ---- metrics.k8s.io ---------------------------------------------------------------- */

static int node_usage_item(void *ctx, json_t *item, char *err, size_t errlen)
{
    run *r = ctx;
    k8s_usage u;
    char e[K8S_ERR_MAX];
    if (k8s_node_metrics_parse(item, &u, e, sizeof e) != 0) {
        note_bad(r, e);
        return 0;
    }
    r->listed++;
    if (k8s_usage_map_put(r->node_usage, NULL, u.name, u.cpu_m, u.memory_b, u.have) != 0) {
        errf_fail(err, errlen, "out of memory (node usage)");
        return EX_TEMPFAIL;
    }
    return 0;
}

static int pod_usage_item(void *ctx, json_t *item, char *err, size_t errlen)
{
    run *r = ctx;
    k8s_usage u;
    char e[K8S_ERR_MAX];
    if (k8s_pod_metrics_parse(item, &u, e, sizeof e) != 0) {
        note_bad(r, e);
        return 0;
    }
    r->listed++;
    if (k8s_usage_map_put(r->pod_usage, u.namespace_, u.name, u.cpu_m, u.memory_b, u.have) != 0) {
        errf_fail(err, errlen, "out of memory (pod usage)");
        return EX_TEMPFAIL;
    }
    return 0;
}

/* ---- nodes ------------------------------------------------------------------------ */

static int node_item(void *ctx, json_t *item, char *err, size_t errlen)
{
    run *r = ctx;
    k8s_node n;
    char e[K8S_ERR_MAX];
    if (k8s_node_parse(item, &n, e, sizeof e) != 0) {
        note_bad(r, e);
        return 0;
    }
    r->listed++;
    int fresh = k8s_seen_add(r->seen_nodes, k8s_key_hash(NULL, n.name));
    if (fresh < 0) {
        errf_fail(err, errlen, "out of memory (nodes written)");
        return EX_TEMPFAIL;
    }
    if (fresh == 0)
        return 0;   /* written before the list started over */

    lp_tag tags[] = {
        { "cluster", r->cluster },
        { "node", n.name },
        { "kubelet_version", n.kubelet_version },
        { "os_image", n.os_image },
        { "container_runtime", n.container_runtime },
    };
    lp_field f[8];
    size_t nf = 0;
    if (n.have & K8S_N_CPU_CAP)
        f[nf++] = lp_f_int("cpu_capacity_millicores", n.cpu_capacity_m);
    if (n.have & K8S_N_CPU_ALLOC)
        f[nf++] = lp_f_int("cpu_allocatable_millicores", n.cpu_allocatable_m);
    if (n.have & K8S_N_MEM_CAP)
        f[nf++] = lp_f_int("memory_capacity_bytes", n.memory_capacity_b);
    if (n.have & K8S_N_MEM_ALLOC)
        f[nf++] = lp_f_int("memory_allocatable_bytes", n.memory_allocatable_b);
    if (n.have & K8S_N_PODS_CAP)
        f[nf++] = lp_f_int("pods_capacity", n.pods_capacity);
    f[nf++] = lp_f_int("ready", n.ready);
    int64_t cpu, mem;
    unsigned have;
    if (k8s_usage_map_get(r->node_usage, NULL, n.name, &cpu, &mem, &have)) {
        if (have & K8S_U_CPU)
            f[nf++] = lp_f_int("cpu_usage_millicores", cpu);
        if (have & K8S_U_MEM)
            f[nf++] = lp_f_int("memory_usage_bytes", mem);
    }
    lp_point p = { .measurement = "k8s_node", .tags = tags, .ntags = sizeof tags / sizeof tags[0],
                   .fields = f, .nfields = nf, .time_ns = r->t, .has_time = true };
    return add_point(r, &p, err, errlen);
}

/* ---- pods ------------------------------------------------------------------------- */

static int pod_item(void *ctx, json_t *item, char *err, size_t errlen)
{
    run *r = ctx;
    k8s_pod p;
    char e[K8S_ERR_MAX];
    int bad = k8s_pod_parse(item, &p, e, sizeof e) != 0;
    if (bad)
        note_bad(r, e);
    if (!p.namespace_ || !p.name)
        return 0;   /* not even a name: nothing to count */
    r->listed++;
    if (k8s_ns_counts_add(r->ns, p.namespace_, p.phase) != 0) {
        errf_fail(err, errlen, "out of memory (namespace counts)");
        return EX_TEMPFAIL;
    }
    if (bad)
        return 0;
    int fresh = k8s_seen_add(r->seen_pods, k8s_key_hash(p.namespace_, p.name));
    if (fresh < 0) {
        errf_fail(err, errlen, "out of memory (pods written)");
        return EX_TEMPFAIL;
    }
    if (fresh == 0)
        return 0;

    lp_tag tags[] = {
        { "cluster", r->cluster },
        { "namespace", p.namespace_ },
        { "pod", p.name },
        { "node", p.node },
        { "phase", p.phase },
    };
    lp_field f[7];
    size_t nf = 0;
    f[nf++] = lp_f_int("restarts", p.restarts);
    f[nf++] = lp_f_int("containers", p.containers);
    f[nf++] = lp_f_int("ready_containers", p.ready_containers);
    f[nf++] = lp_f_int("cpu_request_millicores", p.cpu_request_m);
    f[nf++] = lp_f_int("memory_request_bytes", p.memory_request_b);
    int64_t cpu, mem;
    unsigned have;
    if (k8s_usage_map_get(r->pod_usage, p.namespace_, p.name, &cpu, &mem, &have)) {
        if (have & K8S_U_CPU)
            f[nf++] = lp_f_int("cpu_usage_millicores", cpu);
        if (have & K8S_U_MEM)
            f[nf++] = lp_f_int("memory_usage_bytes", mem);
    }
    lp_point pt = { .measurement = "k8s_pod", .tags = tags, .ntags = sizeof tags / sizeof tags[0],
                    .fields = f, .nfields = nf, .time_ns = r->t, .has_time = true };
    return add_point(r, &pt, err, errlen);
}

typedef struct ns_emit {
    run *r;
    char *err;
    size_t errlen;
} ns_emit;

static int ns_point(void *ctx, const char *ns, const char *phase, int64_t pods)
{
    ns_emit *x = ctx;
    lp_tag tags[] = { { "cluster", x->r->cluster }, { "namespace", ns }, { "phase", phase } };
    lp_field f[1] = { lp_f_int("pods", pods) };
    lp_point p = { .measurement = "k8s_namespace", .tags = tags, .ntags = 3, .fields = f,
                   .nfields = 1, .time_ns = x->r->t, .has_time = true };
    return add_point(x->r, &p, x->err, x->errlen);
}

/* ---- the run ---------------------------------------------------------------------- */

/* List one resource; fold the per-attempt counters into the stats. */
static int list_one(k8s_api *a, run *r, k8s_list_req *req, int64_t *count, char *err,
                    size_t errlen)
{
    k8s_list_stats ls;
    r->listed = 0;
    r->bad = 0;
    req->ctx = r;
    if (!req->on_restart)
        req->on_restart = restart_counts;
    int rc = k8s_list(a, req, &ls, err, errlen);
    r->st->restarts += ls.restarts;
    r->st->pages += ls.pages;
    if (ls.max_page_bytes > r->st->max_page_bytes)
        r->st->max_page_bytes = ls.max_page_bytes;
    r->st->bad += r->bad;
    if (count)
        *count = r->listed;
    return rc;
}

static void restart_listed(void *ctx)
{
    run *r = ctx;
    r->listed = 0;
    r->bad = 0;
}

int k8s_collect(k8s_api *a, sink *s, const k8s_collect_opts *o, k8s_collect_stats *st,
                char *err, size_t errlen)
{
    memset(st, 0, sizeof *st);
    run r = { .s = s, .cluster = o->cluster && *o->cluster ? o->cluster : "default",
              .t = sink_run_time_ns(s), .st = st };
    int page = o->page_size > 0 ? o->page_size : PAGE_DEFAULT;
    int rc = 0;
    r.node_usage = k8s_usage_map_new();
    r.pod_usage = k8s_usage_map_new();
    r.seen_nodes = k8s_seen_new();
    r.seen_pods = k8s_seen_new();
    r.ns = k8s_ns_counts_new();
    if (!r.node_usage || !r.pod_usage || !r.seen_nodes || !r.seen_pods || !r.ns) {
        errf_fail(err, errlen, "out of memory");
        rc = EX_TEMPFAIL;
        goto done;
    }

    /* 1, 2: usage from metrics.k8s.io, when it is served */
    k8s_list_req req = { .path = "/apis/metrics.k8s.io/v1beta1/nodes",
                         .resource = "nodes.metrics.k8s.io", .page_size = page,
                         .max_restarts = o->max_restarts, .optional = 1,
                         .on_item = node_usage_item, .on_restart = restart_listed };
    rc = list_one(a, &r, &req, &st->node_usage, err, errlen);
    if (rc == K8S_ABSENT) {
        st->metrics_absent = 1;
        snprintf(st->metrics_note, sizeof st->metrics_note, "%s", err);
        rc = 0;
    } else if (rc != 0) {
        goto done;
    } else {
        req = (k8s_list_req){ .path = "/apis/metrics.k8s.io/v1beta1/pods",
                              .resource = "pods.metrics.k8s.io", .page_size = page,
                              .max_restarts = o->max_restarts, .optional = 1,
                              .on_item = pod_usage_item, .on_restart = restart_listed };
        rc = list_one(a, &r, &req, &st->pod_usage, err, errlen);
        if (rc == K8S_ABSENT) {
            st->metrics_absent = 1;
            snprintf(st->metrics_note, sizeof st->metrics_note, "%s", err);
            rc = 0;
        } else if (rc != 0) {
            goto done;
        }
    }
    st->usage_bytes = k8s_usage_map_bytes(r.node_usage) + k8s_usage_map_bytes(r.pod_usage);

    /* 3: nodes */
    req = (k8s_list_req){ .path = "/api/v1/nodes", .resource = "nodes", .page_size = page,
                          .max_restarts = o->max_restarts, .on_item = node_item,
                          .on_restart = restart_listed };
    rc = list_one(a, &r, &req, &st->nodes, err, errlen);
    if (rc != 0)
        goto done;

    /* 4: pods (namespace counts start over with the list) */
    req = (k8s_list_req){ .path = "/api/v1/pods", .resource = "pods", .page_size = page,
                          .max_restarts = o->max_restarts, .on_item = pod_item,
                          .on_restart = restart_counts };
    rc = list_one(a, &r, &req, &st->pods, err, errlen);
    if (rc != 0)
        goto done;

    /* 5: namespaces */
    st->namespaces = (int64_t)k8s_ns_counts_namespaces(r.ns);
    ns_emit x = { .r = &r, .err = err, .errlen = errlen };
    rc = k8s_ns_counts_each(r.ns, ns_point, &x);
    if (rc < 0) {
        errf_fail(err, errlen, "out of memory (namespaces)");
        rc = EX_TEMPFAIL;
    }
    if (rc == 0 && st->bad > 0)
        rc = EX_DATAERR;
done:
    k8s_usage_map_free(r.node_usage);
    k8s_usage_map_free(r.pod_usage);
    k8s_seen_free(r.seen_nodes);
    k8s_seen_free(r.seen_pods);
    k8s_ns_counts_free(r.ns);
    return rc;
}
