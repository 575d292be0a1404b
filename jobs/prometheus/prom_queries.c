/* prom_queries: the queries file and the built-in cluster set (see prom.h). */
#include "prom.h"
#include "../../runtime/errf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/cfg.h"

/* The built-in set: what a cluster dashboard wants from node_exporter, cAdvisor (kubelet)
 * and kube-state-metrics. Rates over 5m, the usual window for 15-60 s scrapes. */
static const struct { const char *name, *expr; } builtin[] = {
    { "node_cpu_usage_cores",
      "sum by (instance) (rate(node_cpu_seconds_total{mode!~\"idle|iowait|steal\"}[5m]))" },
    { "node_cpu_utilisation",
      "1 - avg by (instance) (rate(node_cpu_seconds_total{mode=\"idle\"}[5m]))" },
    { "node_memory_working_set_bytes",
      "node_memory_MemTotal_bytes - node_memory_MemAvailable_bytes" },
    { "node_memory_available_bytes", "node_memory_MemAvailable_bytes" },
    { "node_network_receive_bytes_per_second",
      "sum by (instance) (rate(node_network_receive_bytes_total{device!~\"lo|veth.*|cali.*|"
      "flannel.*|cni.*|docker.*|virbr.*|tunl.*\"}[5m]))" },
    { "node_network_transmit_bytes_per_second",
      "sum by (instance) (rate(node_network_transmit_bytes_total{device!~\"lo|veth.*|cali.*|"
      "flannel.*|cni.*|docker.*|virbr.*|tunl.*\"}[5m]))" },
    { "container_cpu_usage_cores",
      "sum by (namespace, pod, container) (rate(container_cpu_usage_seconds_total"
      "{container!=\"\", container!=\"POD\"}[5m]))" },
    { "container_memory_working_set_bytes",
      "sum by (namespace, pod, container) (container_memory_working_set_bytes"
      "{container!=\"\", container!=\"POD\"})" },
    { "pod_network_receive_bytes_per_second",
      "sum by (namespace, pod) (rate(container_network_receive_bytes_total[5m]))" },
    { "pod_network_transmit_bytes_per_second",
      "sum by (namespace, pod) (rate(container_network_transmit_bytes_total[5m]))" },
    { "container_restarts",
      "sum by (namespace, pod, container) (kube_pod_container_status_restarts_total)" },
    { "pods_by_phase", "sum by (namespace, phase) (kube_pod_status_phase)" },
};

void prom_queries_init(prom_queries *qs)
{
    qs->q = NULL;
    qs->n = qs->cap = 0;
}

void prom_queries_free(prom_queries *qs)
{
    if (!qs)
        return;
    for (size_t i = 0; i < qs->n; i++) {
        free(qs->q[i].name);
        free(qs->q[i].expr);
        free(qs->q[i].measurement);
    }
    free(qs->q);
    prom_queries_init(qs);
}

static char *dupn(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* Append (name, expr, measurement); 0 or -1 (out of memory). */
static int add(prom_queries *qs, const char *name, size_t nlen, const char *expr, size_t elen,
               const char *meas)
{
    if (qs->n == qs->cap) {
        size_t ncap = qs->cap ? qs->cap * 2 : 16;
        prom_query *nq = realloc(qs->q, ncap * sizeof *nq);
        if (!nq)
            return -1;
        qs->q = nq;
        qs->cap = ncap;
    }
    prom_query *q = &qs->q[qs->n];
    q->name = dupn(name, nlen);
    q->expr = dupn(expr, elen);
    q->measurement = meas ? dupn(meas, strlen(meas)) : dupn(name, nlen);
    if (!q->name || !q->expr || !q->measurement) {
        free(q->name);
        free(q->expr);
        free(q->measurement);
        return -1;
    }
    qs->n++;
    return 0;
}

int prom_queries_builtin(prom_queries *out, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++) {
        if (add(out, builtin[i].name, strlen(builtin[i].name), builtin[i].expr,
                strlen(builtin[i].expr), PROM_MEASUREMENT) != 0) {
            errf_set(err, errlen, "out of memory");
            return -1;
        }
    }
    return 0;
}

int prom_queries_set_measurement(prom_queries *qs, const char *m, char *err, size_t errlen)
{
    if (!m || !*m || strchr(m, '\n') || strchr(m, '\r')) {
        errf_set(err, errlen, "measurement: must be a non-empty name on one line");
        return -1;
    }
    for (size_t i = 0; i < qs->n; i++) {
        char *d = dupn(m, strlen(m));
        if (!d) {
            errf_set(err, errlen, "out of memory");
            return -1;
        }
        free(qs->q[i].measurement);
        qs->q[i].measurement = d;
    }
    return 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static int name_char(char c, int first)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
        return 1;
    if (first)
        return 0;
    return (c >= '0' && c <= '9') || c == ':' || c == '.' || c == '-';
}

/* Trim s[*n] in place (pointer and length). */
static const char *trim(const char *s, size_t *n)
{
    while (*n > 0 && is_space(*s)) {
        s++;
        (*n)--;
    }
    while (*n > 0 && is_space(s[*n - 1]))
        (*n)--;
    return s;
}

/* One logical line (continuations joined) starting at source line `lineno`. */
static int one(prom_queries *out, const char *file, size_t lineno, const char *s, size_t n,
               size_t first_new, char *err, size_t errlen)
{
    const char *eq = memchr(s, '=', n);
    if (!eq) {
        errf_set(err, errlen, "%s:%zu: expected `name = expr`", file, lineno);
        return -1;
    }
    size_t nlen = (size_t)(eq - s), elen = n - nlen - 1;
    const char *name = trim(s, &nlen);
    const char *expr = trim(eq + 1, &elen);
    if (nlen == 0) {
        errf_set(err, errlen, "%s:%zu: the query has no name (expected `name = expr`)", file,
                 lineno);
        return -1;
    }
    if (nlen >= PROM_NAME_MAX) {
        errf_set(err, errlen, "%s:%zu: name longer than %d characters", file, lineno,
                 PROM_NAME_MAX - 1);
        return -1;
    }
    for (size_t i = 0; i < nlen; i++) {
        if (!name_char(name[i], i == 0)) {
            errf_set(err, errlen,
                     "%s:%zu: invalid name \"%.*s\" (letters, digits, '_', ':', '.', '-'; "
                     "not starting with a digit)",
                     file, lineno, (int)nlen, name);
            return -1;
        }
    }
    if (elen == 0) {
        errf_set(err, errlen, "%s:%zu: query \"%.*s\" has no expression", file, lineno, (int)nlen,
                 name);
        return -1;
    }
    if (elen >= PROM_EXPR_MAX) {
        errf_set(err, errlen, "%s:%zu: expression longer than %d bytes", file, lineno,
                 PROM_EXPR_MAX - 1);
        return -1;
    }
    for (size_t i = first_new; i < out->n; i++) {
        if (strlen(out->q[i].name) == nlen && memcmp(out->q[i].name, name, nlen) == 0) {
            errf_set(err, errlen, "%s:%zu: query \"%.*s\" is defined twice", file, lineno,
                     (int)nlen, name);
            return -1;
        }
    }
    if (out->n - first_new >= PROM_QUERIES_MAX) {
        errf_set(err, errlen, "%s:%zu: more than %d queries", file, lineno, PROM_QUERIES_MAX);
        return -1;
    }
    if (add(out, name, nlen, expr, elen, NULL) != 0) {
        errf_set(err, errlen, "%s:%zu: out of memory", file, lineno);
        return -1;
    }
    return 0;
}

int prom_queries_parse(const char *text, size_t len, const char *file, prom_queries *out,
                       char *err, size_t errlen)
{
    buf logical;
    int rc = -1;
    size_t lineno = 0, start_line = 0, first_new = out->n;
    int cont = 0;
    buf_init(&logical, PROM_EXPR_MAX + PROM_NAME_MAX + 16);
    if (!file)
        file = "queries";
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && text[j] != '\n')
            j++;
        lineno++;
        const char *s = text + i;
        size_t n = j - i;
        i = j < len ? j + 1 : j;
        if (memchr(s, '\0', n)) {
            errf_set(err, errlen, "%s:%zu: NUL byte in the line", file, lineno);
            goto out;
        }
        s = trim(s, &n);
        if (!cont) {
            if (n == 0 || s[0] == '#')
                continue;
            start_line = lineno;
            buf_reset(&logical);
        }
        int more = n > 0 && s[n - 1] == '\\';
        if (more)
            n--;
        if ((cont && logical.len > 0 && buf_addc(&logical, '\n') != 0) ||
            buf_add(&logical, s, n) != 0) {
            errf_set(err, errlen, "%s:%zu: line too long", file, start_line);
            goto out;
        }
        cont = more;
        if (!cont && one(out, file, start_line, logical.p ? logical.p : "", logical.len,
                         first_new, err, errlen) != 0)
            goto out;
    }
    if (cont) {
        errf_set(err, errlen, "%s:%zu: the file ends inside a continued line", file, lineno);
        goto out;
    }
    rc = 0;
out:
    buf_free(&logical);
    return rc;
}

int prom_queries_load(const char *path, prom_queries *out, char *err, size_t errlen)
{
    char e[PROM_ERR_MAX];
    char *text = cfg_read_file(path, PROM_QUERIES_FILE_MAX, 0, e, sizeof e);
    if (!text) {
        errf_set(err, errlen, "queries file %s", e);
        return -1;
    }
    size_t before = out->n;
    int rc = prom_queries_parse(text, strlen(text), path, out, err, errlen);
    free(text);
    if (rc == 0 && out->n == before) {
        errf_set(err, errlen, "%s: no queries in the file (expected `name = expr` lines)", path);
        return -1;
    }
    return rc;
}
