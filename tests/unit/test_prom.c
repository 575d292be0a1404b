/* test_prom: the Prometheus answer parser on every fixture in tests/fixtures/prometheus
 * (exact values and nanosecond times), sample times and values, the queries file, the
 * backfill chunk planner, checkpoints, and what each answer means (outcome, exit code). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../jobs/prometheus/prom.h"
#include "harness.h"

/* ------------------------------------------------------------------ helpers */

static char *slurp(const char *rel, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/prometheus/%s", th_fixtures(), rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *p = malloc(cap);
    size_t k;
    while (p && (k = fread(p + n, 1, cap - n, f)) > 0) {
        n += k;
        if (n == cap) {
            char *np = realloc(p, cap *= 2);
            if (!np) {
                free(p);
                p = NULL;
            }
            p = np;
        }
    }
    fclose(f);
    *len = n;
    return p;
}

typedef struct got {
    char labels[512];   /* "{a=1,b=2}" in document order */
    int64_t t;
    double v;
} got;

typedef struct rec {
    got s[64];
    size_t n;
    int stop_after;     /* > 0: stop when this many were seen */
    /* labels_id: the last one seen, and the labels it came with, to check that an
     * unchanged id means unchanged labels (same pointers, same text) */
    uint64_t id;
    const prom_label *id_l;
    size_t id_nl;
    const char *id_ptr[8];
    char id_text[512];
    size_t ids;         /* distinct labels_id values seen */
    int id_bad;         /* an id went back, or stayed with other labels */
    int text_bad;       /* a value's text missing, or not reading back as the value */
} rec;

static void fmt_labels(char *out, size_t cap, const prom_label *l, size_t nl)
{
    size_t o = 0;
    o += (size_t)snprintf(out + o, cap - o, "{");
    for (size_t i = 0; i < nl && o < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%s=%s", i ? "," : "", l[i].name, l[i].value);
    if (o < cap)
        snprintf(out + o, cap - o, "}");
}

static int same_double(double a, double b);

static int record(void *ctx, const prom_label *l, size_t nl, uint64_t id, int64_t t, double v,
                  const prom_text *vt)
{
    rec *r = ctx;
    /* the value's text is there, and strtod reads it as the value (prom_text's contract) */
    char vbuf[128];
    if (!vt || !vt->p || vt->len == 0 || vt->len >= sizeof vbuf) {
        r->text_bad = 1;
    } else {
        memcpy(vbuf, vt->p, vt->len);
        vbuf[vt->len] = '\0';
        if (!same_double(strtod(vbuf, NULL), v))
            r->text_bad = 1;
    }
    if (r->stop_after > 0 && (int)r->n >= r->stop_after)
        return -1;
    if (r->n >= sizeof r->s / sizeof r->s[0])
        return -1;
    got *g = &r->s[r->n++];
    fmt_labels(g->labels, sizeof g->labels, l, nl);
    if (id == 0 || id < r->id) {
        r->id_bad = 1;
    } else if (id == r->id) {
        int same = l == r->id_l && nl == r->id_nl && strcmp(g->labels, r->id_text) == 0;
        for (size_t i = 0; same && i < nl && i < 4; i++)
            same = l[i].name == r->id_ptr[2 * i] && l[i].value == r->id_ptr[2 * i + 1];
        if (!same)
            r->id_bad = 1;
    } else {
        r->ids++;
        r->id = id;
        r->id_l = l;
        r->id_nl = nl;
        for (size_t i = 0; i < nl && i < 4; i++) {
            r->id_ptr[2 * i] = l[i].name;
            r->id_ptr[2 * i + 1] = l[i].value;
        }
        snprintf(r->id_text, sizeof r->id_text, "%s", g->labels);
    }
    g->t = t;
    g->v = v;
    return 0;
}

static int same_double(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    return a == b && signbit(a) == signbit(b);
}

/* ------------------------------------------------------------------ fixtures */

typedef struct want_sample {
    const char *labels;
    int64_t t;
    double v;
} want_sample;

#define S(l, t, v) { l, INT64_C(t), v }
#define UP9090 "{__name__=up,instance=127.0.0.1:19090,job=prometheus}"
#define UP9100 "{__name__=up,instance=127.0.0.1:19100,job=node}"
#define P9090 "{instance=127.0.0.1:19090,job=prometheus}"
#define N9100 "{instance=127.0.0.1:19100,job=node}"
#define RF "instance=127.0.0.1:19090,job=prometheus"

static const struct fixture_case {
    const char *file;
    int is_error;
    const char *error_type, *error;
    prom_rtype type;
    int64_t series, nonfinite;
    size_t n;
    want_sample s[16];
} fixtures[] = {
    { "docs_query_vector_up.json", 0, "", "", PROM_R_VECTOR, 2, 0, 2,
      { S("{__name__=up,job=prometheus,instance=localhost:9090}", 1435781451781000000, 1),
        S("{__name__=up,job=node,instance=localhost:9100}", 1435781451781000000, 0) } },
    { "docs_query_range_matrix_up.json", 0, "", "", PROM_R_MATRIX, 2, 0, 6,
      { S("{__name__=up,job=prometheus,instance=localhost:9090}", 1435781430781000000, 1),
        S("{__name__=up,job=prometheus,instance=localhost:9090}", 1435781445781000000, 1),
        S("{__name__=up,job=prometheus,instance=localhost:9090}", 1435781460781000000, 1),
        S("{__name__=up,job=node,instance=localhost:9091}", 1435781430781000000, 0),
        S("{__name__=up,job=node,instance=localhost:9091}", 1435781445781000000, 0),
        S("{__name__=up,job=node,instance=localhost:9091}", 1435781460781000000, 1) } },
    { "grafana_range_infinity.result.json", 0, "", "", PROM_R_MATRIX, 1, 3, 3,
      { S("{}", 1641889530000000000, INFINITY), S("{}", 1641889531000000000, INFINITY),
        S("{}", 1641889532000000000, INFINITY) } },
    { "grafana_range_nan.result.json", 0, "", "", PROM_R_MATRIX, 1, 3, 3,
      { S("{handler=/api/v1/query_range,job=prometheus}", 1641889530000000000, NAN),
        S("{handler=/api/v1/query_range,job=prometheus}", 1641889531000000000, NAN),
        S("{handler=/api/v1/query_range,job=prometheus}", 1641889532000000000, NAN) } },
    { "captured_2.42.0/error_execution_422.json", 1, "execution",
      "invalid regular expression in label_replace(): (", PROM_R_NONE, 0, 0, 0, { S("", 0, 0) } },
    { "captured_2.42.0/error_parse_bad_data.json", 1, "bad_data",
      "invalid parameter \"query\": 1:7: parse error: unclosed left parenthesis", PROM_R_NONE, 0,
      0, 0, { S("", 0, 0) } },
    { "captured_2.42.0/error_query_range_missing_start.json", 1, "bad_data",
      "invalid parameter \"start\": cannot parse \"\" to a valid timestamp", PROM_R_NONE, 0, 0,
      0, { S("", 0, 0) } },
    { "captured_2.42.0/error_range_vector_in_range_query.json", 1, "bad_data",
      "invalid expression type \"range vector\" for range query, must be Scalar or instant "
      "Vector",
      PROM_R_NONE, 0, 0, 0, { S("", 0, 0) } },
    { "captured_2.42.0/query_empty_vector.json", 0, "", "", PROM_R_VECTOR, 0, 0, 0,
      { S("", 0, 0) } },
    { "captured_2.42.0/query_range_fractional_step.json", 0, "", "", PROM_R_MATRIX, 1, 0, 8,
      { S(UP9090, 1795562831500000000, 1), S(UP9090, 1795562834000000000, 1),
        S(UP9090, 1795562836500000000, 1), S(UP9090, 1795562839000000000, 1),
        S(UP9090, 1795562841500000000, 1), S(UP9090, 1795562844000000000, 1),
        S(UP9090, 1795562846500000000, 1), S(UP9090, 1795562849000000000, 1) } },
    { "captured_2.42.0/query_range_matrix_div_zero_inf_nan.json", 0, "", "", PROM_R_MATRIX, 2,
      10, 10,
      { S(P9090, 1795562831000000000, INFINITY), S(P9090, 1795562836000000000, INFINITY),
        S(P9090, 1795562841000000000, INFINITY), S(P9090, 1795562846000000000, INFINITY),
        S(P9090, 1795562851000000000, INFINITY), S(N9100, 1795562831000000000, NAN),
        S(N9100, 1795562836000000000, NAN), S(N9100, 1795562841000000000, NAN),
        S(N9100, 1795562846000000000, NAN), S(N9100, 1795562851000000000, NAN) } },
    { "captured_2.42.0/query_range_matrix_up.json", 0, "", "", PROM_R_MATRIX, 2, 0, 10,
      { S(UP9090, 1795562831000000000, 1), S(UP9090, 1795562836000000000, 1),
        S(UP9090, 1795562841000000000, 1), S(UP9090, 1795562846000000000, 1),
        S(UP9090, 1795562851000000000, 1), S(UP9100, 1795562831000000000, 0),
        S(UP9100, 1795562836000000000, 0), S(UP9100, 1795562841000000000, 0),
        S(UP9100, 1795562846000000000, 0), S(UP9100, 1795562851000000000, 0) } },
    { "captured_2.42.0/query_scalar.json", 0, "", "", PROM_R_SCALAR, 1, 0, 1,
      { S("{}", 1795562851000000000, 1) } },
    { "captured_2.42.0/query_string.json", 0, "", "", PROM_R_STRING, 0, 0, 0, { S("", 0, 0) } },
    { "captured_2.42.0/query_vector_div_zero_inf_nan.json", 0, "", "", PROM_R_VECTOR, 2, 2, 2,
      { S(P9090, 1795562851000000000, INFINITY), S(N9100, 1795562851000000000, NAN) } },
    { "captured_2.42.0/query_vector_fractional_time.json", 0, "", "", PROM_R_VECTOR, 2, 0, 2,
      { S(UP9090, 1795562851781000000, 1), S(UP9100, 1795562851781000000, 0) } },
    { "captured_2.42.0/query_vector_neg_inf_nan.json", 0, "", "", PROM_R_VECTOR, 2, 2, 2,
      { S(P9090, 1795562851000000000, -INFINITY), S(N9100, 1795562851000000000, NAN) } },
    { "captured_2.42.0/query_vector_real_floats.json", 0, "", "", PROM_R_VECTOR, 8, 0, 8,
      { S("{__name__=go_gc_duration_seconds," RF ",quantile=0}", 1795562851000000000,
          0.000035908),
        S("{__name__=go_gc_duration_seconds," RF ",quantile=0.25}", 1795562851000000000,
          0.000108815),
        S("{__name__=go_gc_duration_seconds," RF ",quantile=0.5}", 1795562851000000000,
          0.000260842),
        S("{__name__=go_gc_duration_seconds," RF ",quantile=0.75}", 1795562851000000000,
          0.000280714),
        S("{__name__=go_gc_duration_seconds," RF ",quantile=1}", 1795562851000000000,
          0.000378741),
        S("{__name__=process_cpu_seconds_total," RF "}", 1795562851000000000, 0.24),
        S("{__name__=process_resident_memory_bytes," RF "}", 1795562851000000000, 51142656),
        S("{__name__=prometheus_tsdb_head_series," RF "}", 1795562851000000000, 385) } },
    { "captured_2.42.0/query_vector_tiny_huge_values.json", 0, "", "", PROM_R_VECTOR, 3, 0, 3,
      { S("{" RF ",v=tiny}", 1795562851000000000, 1e-10),
        S("{" RF ",v=huge}", 1795562851000000000, 1.7976931348623157e+308),
        S("{" RF ",v=negative}", 1795562851000000000, -123.456) } },
    { "captured_2.42.0/query_vector_up.json", 0, "", "", PROM_R_VECTOR, 2, 0, 2,
      { S(UP9090, 1795562851000000000, 1), S(UP9100, 1795562851000000000, 0) } },
};

static void test_fixtures(void)
{
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
        const struct fixture_case *c = &fixtures[i];
        size_t len = 0;
        char *body = slurp(c->file, &len);
        CHECK(body != NULL, "fixture %s not readable", c->file);
        if (!body)
            continue;
        rec *r = calloc(1, sizeof *r);
        prom_parse_result res;
        char err[256] = "";
        int rc = prom_parse(body, len, record, r, &res, err, sizeof err);
        CHECK(rc == 0, "%s: rc %d (%s)", c->file, rc, err);
        CHECK(res.is_error == (c->is_error != 0), "%s: is_error %d", c->file, res.is_error);
        CHECK_STREQ(res.error_type, c->error_type, c->file);
        CHECK_STREQ(res.error, c->error, c->file);
        CHECK(res.type == c->type, "%s: type %s want %s", c->file, prom_rtype_name(res.type),
              prom_rtype_name(c->type));
        CHECK(res.series == c->series, "%s: series %lld want %lld", c->file,
              (long long)res.series, (long long)c->series);
        CHECK(res.samples == (int64_t)c->n, "%s: samples %lld want %zu", c->file,
              (long long)res.samples, c->n);
        CHECK(res.nonfinite == c->nonfinite, "%s: nonfinite %lld", c->file,
              (long long)res.nonfinite);
        CHECK(r->n == c->n, "%s: callback saw %zu samples, want %zu", c->file, r->n, c->n);
        CHECK(!r->text_bad, "%s: every value's text reads back as the value", c->file);
        CHECK(!r->id_bad && (r->n == 0 || r->ids >= 1),
              "%s: labels_id went back, or stayed while the labels changed", c->file);
        for (size_t k = 0; k < c->n && k < r->n; k++) {
            CHECK_STREQ(r->s[k].labels, c->s[k].labels, c->file);
            CHECK(r->s[k].t == c->s[k].t, "%s #%zu: t %lld want %lld", c->file, k,
                  (long long)r->s[k].t, (long long)c->s[k].t);
            CHECK(same_double(r->s[k].v, c->s[k].v), "%s #%zu: v %.17g want %.17g", c->file, k,
                  r->s[k].v, c->s[k].v);
        }
        /* Validation alone (no callback) gives the same counts. */
        prom_parse_result res2;
        rc = prom_parse(body, len, NULL, NULL, &res2, err, sizeof err);
        CHECK(rc == 0 && res2.samples == res.samples && res2.series == res.series,
              "%s: validate-only pass differs", c->file);
        /* Every proper prefix of the body is refused (never read past the end). */
        int prefix_ok = 1;
        for (size_t cut = 0; cut < len; cut++) {
            size_t trimmed = len;
            while (trimmed > 0 && (body[trimmed - 1] == '\n' || body[trimmed - 1] == ' '))
                trimmed--;
            if (cut >= trimmed)
                break;
            char *copy = malloc(cut ? cut : 1);   /* exact size: ASan sees any overread */
            memcpy(copy, body, cut);
            int prc = prom_parse(copy, cut, NULL, NULL, &res2, err, sizeof err);
            free(copy);
            if (prc != -1 || strncmp(err, "line ", 5) != 0) {
                prefix_ok = 0;
                fprintf(stderr, "%s: prefix %zu: rc %d err [%s]\n", c->file, cut, prc, err);
                break;
            }
        }
        CHECK(prefix_ok, "%s: a truncated body was not refused with a position", c->file);
        /* A callback that stops: -2. */
        if (c->n > 1) {
            memset(r, 0, sizeof *r);
            r->stop_after = 1;
            rc = prom_parse(body, len, record, r, &res2, err, sizeof err);
            CHECK(rc == -2 && r->n == 1, "%s: stop: rc %d n %zu", c->file, rc, r->n);
        }
        free(r);
        free(body);
    }
}

/* ------------------------------------------------------------------ bodies not of the shape */

static const struct bad_case {
    const char *body;
    const char *err;    /* exact */
} bad[] = {
    { "", "line 1, column 1: empty body" },
    { "   \n", "line 2, column 1: empty body" },
    { "[]", "line 1, column 1: expected '{' to open the answer" },
    { "<html>502 Bad Gateway</html>", "line 1, column 1: expected '{' to open the answer" },
    { "{\"status\":\"success\"}", "line 1, column 1: a success answer without \"data\"" },
    { "{\"data\":{}}", "line 1, column 1: no \"status\" in the answer" },
    { "{\"status\":\"maybe\",\"data\":{}}", "line 1, column 11: unknown status \"maybe\"" },
    { "{\"status\":\"error\"}",
      "line 1, column 1: an error answer without \"errorType\" or \"error\"" },
    { "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\"}}",
      "line 1, column 28: \"data\" without \"result\"" },
    { "{\"status\":\"success\",\"data\":{\"resultType\":\"table\",\"result\":[]}}",
      "line 1, column 42: unknown resultType \"table\"" },
    { "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":{}}}",
      "line 1, column 60: expected '[' to open \"result\"" },
    { "{\"status\":\"success\",\n\"data\":{\"resultType\":\"vector\",\"result\":[\n"
      "{\"metric\":{},\"value\":[1,2]}]}}",
      "line 3, column 25: expected a string" },
    { "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
      "{\"metric\":{},\"value\":[\"1\",\"2\"]}]}}",
      "line 1, column 83: expected a number" },
    { "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
      "{\"metric\":{},\"value\":[1,\"abc\"]}]}}",
      "line 1, column 85: sample value is not a number" },
    { "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
      "{\"value\":[1,\"1\"]}]}}",
      "line 1, column 61: a vector element without \"metric\"" },
    { "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
      "{\"metric\":{}}]}}",
      "line 1, column 61: a matrix element without \"values\"" },
    { "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1e30,\"1\"]}}",
      "line 1, column 61: sample time out of range" },
    { "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}} x",
      "line 1, column 65: text after the answer" },
    { "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
      "{\"metric\":{\"a\":\"x\\qy\"},\"value\":[1,\"1\"]}]}}",
      "line 1, column 78: invalid escape '\\q'" },
    { "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
      "{\"metric\":{\"\":\"x\"},\"value\":[1,\"1\"]}]}}",
      "line 1, column 72: empty label name" },
    { "{\"status\":\"success\" \"data\":{}}",
      "line 1, column 21: expected ',' or '}' in an object" },
    { "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]},}",
      "line 1, column 64: expected a string" },
};

static void test_bad_bodies(void)
{
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        prom_parse_result res;
        char err[256] = "";
        size_t n = strlen(bad[i].body);
        char *copy = malloc(n ? n : 1);
        memcpy(copy, bad[i].body, n);
        int rc = prom_parse(copy, n, NULL, NULL, &res, err, sizeof err);
        free(copy);
        CHECK(rc == -1, "bad #%zu: rc %d", i, rc);
        CHECK_STREQ(err, bad[i].err, bad[i].body);
    }
}

/* Orders and forms Prometheus does not write but JSON allows; escapes in labels. */
static void test_other_orders(void)
{
    static const struct {
        const char *body;
        const char *labels;
        int64_t t;
        double v;
    } c[] = {
        { "{\"data\":{\"result\":[{\"value\":[1.5,\"2\"],\"metric\":{\"a\":\"b\"}}],"
          "\"resultType\":\"vector\"},\"status\":\"success\"}",
          "{a=b}", INT64_C(1500000000), 2 },
        { "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"values\":"
          "[[1435781430.781,\"1e3\"]],\"metric\":{\"x\":\"\\u00e9\\ud83d\\ude00\\n\\\"q\\\"\"}}]}"
          ",\"warnings\":[\"w1\",\"w2\"]}",
          "{x=\xc3\xa9\xf0\x9f\x98\x80\n\"q\"}", INT64_C(1435781430781000000), 1000 },
        { " \r\n{ \"status\" : \"success\" , \"data\" : { \"resultType\" : \"scalar\" , "
          "\"result\" : [ 1.4357814307e9 , \"-0\" ] , \"stats\":{\"x\":[1,true,null]} } } \n",
          "{}", INT64_C(1435781430700000000), -0.0 },
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        rec *r = calloc(1, sizeof *r);
        prom_parse_result res;
        char err[256] = "";
        int rc = prom_parse(c[i].body, strlen(c[i].body), record, r, &res, err, sizeof err);
        CHECK(rc == 0, "order #%zu: rc %d (%s)", i, rc, err);
        CHECK(r->n == 1, "order #%zu: %zu samples", i, r->n);
        if (r->n == 1) {
            CHECK_STREQ(r->s[0].labels, c[i].labels, "order labels");
            CHECK(r->s[0].t == c[i].t, "order #%zu: t %lld", i, (long long)r->s[0].t);
            CHECK(same_double(r->s[0].v, c[i].v), "order #%zu: v %g", i, r->s[0].v);
        }
        if (i == 1) {
            CHECK(res.warnings == 2, "warnings %lld", (long long)res.warnings);
            CHECK_STREQ(res.warning, "w1", "first warning");
        }
        free(r);
    }
}

/* labels_id: one per series, a new one whenever the labels are read again (a series
 * object with "metric" twice; a scalar after nothing), kept while they stay. */
static void test_labels_id(void)
{
    static const struct {
        const char *body;
        size_t n;          /* samples */
        size_t ids;        /* distinct labels_id values */
        const char *labels[4];
    } c[] = {
        { "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
          "{\"metric\":{\"a\":\"1\"},\"values\":[[1,\"1\"],[2,\"2\"]]},"
          "{\"metric\":{\"a\":\"2\"},\"values\":[[1,\"3\"]]}]}}",
          3, 2, { "{a=1}", "{a=1}", "{a=2}" } },
        { "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
          "{\"metric\":{\"a\":\"1\"},\"values\":[[1,\"1\"]],"
          "\"metric\":{\"a\":\"22222222222222222222222222222222222222222222\"},"
          "\"values\":[[2,\"2\"]]}]}}",
          2, 2, { "{a=1}", "{a=22222222222222222222222222222222222222222222}" } },
        { "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
          "{\"value\":[1,\"1\"],\"metric\":{\"b\":\"x\"}},"
          "{\"metric\":{\"b\":\"y\"},\"value\":[1,\"2\"]}]}}",
          2, 2, { "{b=x}", "{b=y}" } },
        { "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
          "{\"metric\":{\"a\":\"1\"},\"values\":[]},"
          "{\"metric\":{\"a\":\"1\"},\"values\":[[5,\"5\"]]}]}}",
          1, 1, { "{a=1}" } },
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        rec *r = calloc(1, sizeof *r);
        prom_parse_result res;
        char err[256] = "";
        int rc = prom_parse(c[i].body, strlen(c[i].body), record, r, &res, err, sizeof err);
        CHECK(rc == 0, "labels_id #%zu: rc %d (%s)", i, rc, err);
        CHECK(r->n == c[i].n && r->ids == c[i].ids && !r->id_bad,
              "labels_id #%zu: %zu samples, %zu ids (want %zu, %zu), bad %d", i, r->n, r->ids,
              c[i].n, c[i].ids, r->id_bad);
        for (size_t k = 0; k < r->n && k < c[i].n; k++)
            CHECK_STREQ(r->s[k].labels, c[i].labels[k], "labels_id labels");
        free(r);
    }
}

/* ------------------------------------------------------------------ times and values */

static void test_ts(void)
{
    static const struct {
        const char *s;
        int rc;
        int64_t ns;
    } c[] = {
        { "1795562831.500", 0, INT64_C(1795562831500000000) },
        { "1795562851.781", 0, INT64_C(1795562851781000000) },
        { "1641889530", 0, INT64_C(1641889530000000000) },
        { "1435781430.781", 0, INT64_C(1435781430781000000) },
        { "0", 0, 0 },
        { "0.001", 0, INT64_C(1000000) },
        { "0.000000001", 0, 1 },
        { "0.0000000004", 0, 0 },
        { "0.0000000005", 0, 1 },
        { "1.4357814307e9", 0, INT64_C(1435781430700000000) },
        { "1435781430781E-3", 0, INT64_C(1435781430781000000) },
        { "1e-9", 0, 1 },
        { "5e-10", 0, 1 },
        { "4.9e-10", 0, 0 },
        { "-1.5", 0, INT64_C(-1500000000) },
        { "9223372036.854775807", 0, INT64_MAX },
        { "9223372036.854775808", -1, 0 },
        { "123456789012345678901234567890e-20", 0, INT64_C(1234567890123456789) },
        { "1795562831.5000000000000000000000001", 0, INT64_C(1795562831500000000) },
        { "1e10", -1, 0 },
        { "1e99999999", -1, 0 },
        { "1e-99999999", 0, 0 },
        { "01", -1, 0 },
        { "1.", -1, 0 },
        { ".5", -1, 0 },
        { "", -1, 0 },
        { "-", -1, 0 },
        { "1e", -1, 0 },
        { "1e+", -1, 0 },
        { "abc", -1, 0 },
        { "1.5x", -1, 0 },
        { "+1", -1, 0 },
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        int64_t ns = -42;
        int rc = prom_ts_parse(c[i].s, strlen(c[i].s), &ns);
        CHECK(rc == c[i].rc, "ts [%s]: rc %d want %d", c[i].s, rc, c[i].rc);
        if (rc == 0 && c[i].rc == 0)
            CHECK(ns == c[i].ns, "ts [%s]: %lld want %lld", c[i].s, (long long)ns,
                  (long long)c[i].ns);
    }
}

static void test_values(void)
{
    static const struct {
        const char *s;
        int rc;
        double v;
    } c[] = {
        { "1", 0, 1 },
        { "0", 0, 0 },
        { "-0", 0, -0.0 },
        { "0.24", 0, 0.24 },
        { "51142656", 0, 51142656 },
        { "1e-10", 0, 1e-10 },
        { "1.7976931348623157e+308", 0, 1.7976931348623157e+308 },
        { "4.9406564584124654e-324", 0, 4.9406564584124654e-324 },
        { "-123.456", 0, -123.456 },
        { "NaN", 0, NAN },
        { "+Inf", 0, INFINITY },
        { "Inf", 0, INFINITY },
        { "-Inf", 0, -INFINITY },
        { "nan", -1, 0 },
        { "inf", -1, 0 },
        { "infinity", -1, 0 },
        { "0x10", -1, 0 },
        { "", -1, 0 },
        { "1.5 ", -1, 0 },
        { " 1.5", -1, 0 },
        { "1,5", -1, 0 },
        { "--1", -1, 0 },
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        double v = 42;
        int rc = prom_value_parse(c[i].s, strlen(c[i].s), &v);
        CHECK(rc == c[i].rc, "value [%s]: rc %d", c[i].s, rc);
        if (rc == 0 && c[i].rc == 0)
            CHECK(same_double(v, c[i].v), "value [%s]: %.17g", c[i].s, v);
    }
}

static uint64_t rnd_state = UINT64_C(0x9e3779b97f4a7c15);

static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

static size_t rnd_digits(char *o, size_t max)
{
    size_t n = (size_t)(rnd() % (max + 1));
    for (size_t i = 0; i < n; i++)
        o[i] = (char)('0' + rnd() % 10);
    return n;
}

/* The short paths for the usual texts (times "S.FFF", values of up to 19 digits and small
 * exponents) give what the general readers give: values as strtod, times as the same
 * text through the exponent reader ("...e0"). Random texts, some well formed, some not. */
static void test_number_paths(void)
{
    char t[80], t2[84];
    for (int k = 0; k < 100000; k++) {
        size_t n = 0;
        uint64_t shape = rnd();
        if (shape & 1)
            t[n++] = (shape & 2) ? '-' : '+';
        if (shape & 4)
            t[n++] = '0';
        n += rnd_digits(t + n, (shape >> 8) & 1 ? 22 : 8);
        if (shape & 16) {
            t[n++] = '.';
            n += rnd_digits(t + n, (shape >> 9) & 1 ? 24 : 6);
        }
        if (shape & 32) {
            t[n++] = (shape & 64) ? 'e' : 'E';
            if (shape & 128)
                t[n++] = (shape & 1024) ? '-' : '+';
            n += rnd_digits(t + n, 3);
        }
        t[n] = '\0';
        double got = 42, want = 0;
        int rc = prom_value_parse(t, n, &got);
        char *end;
        want = n ? strtod(t, &end) : 0;
        int wrc = n && n < 64 && end == t + n ? 0 : -1;
        CHECK(rc == wrc, "value [%s]: rc %d, strtod says %d", t, rc, wrc);
        if (rc == 0 && wrc == 0)
            CHECK(same_double(got, want), "value [%s]: %.17g, strtod %.17g", t, got, want);

        /* a time: digits, maybe a fraction */
        n = 0;
        if (shape & (1u << 11))
            t[n++] = '-';
        n += rnd_digits(t + n, (shape >> 12) & 1 ? 11 : 10);
        if (shape & (1u << 13)) {
            t[n++] = '.';
            n += rnd_digits(t + n, (shape >> 14) & 1 ? 12 : 9);
        }
        t[n] = '\0';
        snprintf(t2, sizeof t2, "%se0", t);
        int64_t a = 42, b = 43;
        int ra = prom_ts_parse(t, n, &a), rb = prom_ts_parse(t2, n + 2, &b);
        CHECK(ra == rb && (ra != 0 || a == b), "ts [%s]: rc %d %lld, with e0 rc %d %lld", t, ra,
              (long long)a, rb, (long long)b);

        /* the sample as Prometheus writes it (the parser's short path) and with blanks
         * (the general one): the same verdict, time and value */
        if (k % 8 == 0) {
            char vt[80], tight[320], loose[320];
            snprintf(vt, sizeof vt, "%s", t);   /* this round's time text */
            size_t vn = rnd_digits(t2, 7);
            t2[vn] = '\0';
            static const char *const tails[] = { "", ".5", "e3", "x", "\\n", ".25e-2" };
            const char *tail = tails[rnd() % 6];
            static const char fmt_t[] = "{\"status\":\"success\",\"data\":{\"resultType\":"
                                        "\"matrix\",\"result\":[{\"metric\":{},\"values\":"
                                        "[[%s,\"%s%s\"]]}]}}";
            static const char fmt_l[] = "{\"status\":\"success\",\"data\":{\"resultType\":"
                                        "\"matrix\",\"result\":[{\"metric\":{},\"values\":"
                                        "[[ %s , \"%s%s\" ]]}]}}";
            snprintf(tight, sizeof tight, fmt_t, vt, t2, tail);
            snprintf(loose, sizeof loose, fmt_l, vt, t2, tail);
            rec *r1 = calloc(1, sizeof *r1), *r2 = calloc(1, sizeof *r2);
            prom_parse_result x1, x2;
            char e1[256] = "", e2[256] = "";
            int c1 = prom_parse(tight, strlen(tight), record, r1, &x1, e1, sizeof e1);
            int c2 = prom_parse(loose, strlen(loose), record, r2, &x2, e2, sizeof e2);
            /* the same reason (its column differs by the blanks) */
            const char *w1 = strstr(e1, ": "), *w2 = strstr(e2, ": ");
            CHECK(c1 == c2 && r1->n == r2->n && (c1 == 0 || (w1 && w2 && strcmp(w1, w2) == 0)),
                  "sample [%s,\"%s%s\"]: rc %d (%s) n %zu, with blanks rc %d (%s) n %zu", vt, t2,
                  tail, c1, e1, r1->n, c2, e2, r2->n);
            if (c1 == 0 && c2 == 0 && r1->n == 1 && r2->n == 1)
                CHECK(r1->s[0].t == r2->s[0].t && same_double(r1->s[0].v, r2->s[0].v),
                      "sample [%s,\"%s%s\"]: %lld %.17g, with blanks %lld %.17g", vt, t2, tail,
                      (long long)r1->s[0].t, r1->s[0].v, (long long)r2->s[0].t, r2->s[0].v);
            free(r1);
            free(r2);
        }
    }

    /* a value text of 64 bytes or more is refused, by the short path too (leading zeros
     * would make it a number); 63 is read */
    for (int len = 62; len <= 65; len++) {
        char zeros[80], body[256];
        memset(zeros, '0', (size_t)len - 1);
        zeros[len - 1] = '1';
        zeros[len] = '\0';
        snprintf(body, sizeof body, "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\","
                 "\"result\":[{\"metric\":{},\"values\":[[1,\"%s\"]]}]}}", zeros);
        rec *r1 = calloc(1, sizeof *r1);
        prom_parse_result x1;
        char e1[256] = "";
        int c1 = prom_parse(body, strlen(body), record, r1, &x1, e1, sizeof e1);
        if (len < 64)
            CHECK(c1 == 0 && r1->n == 1 && r1->s[0].v == 1, "value of %d bytes: rc %d (%s)", len,
                  c1, e1);
        else
            CHECK(c1 == -1 && strstr(e1, "sample value is not a number"),
                  "value of %d bytes: rc %d (%s)", len, c1, e1);
        free(r1);
    }
}

static void test_fmt_seconds(void)
{
    static const struct {
        int64_t ns;
        const char *s;
    } c[] = {
        { INT64_C(1795562831500000000), "1795562831.5" },
        { INT64_C(1795562851000000000), "1795562851" },
        { INT64_C(1795562851781000000), "1795562851.781" },
        { 1, "0.000000001" },
        { 0, "0" },
        { INT64_C(-1500000000), "-1.5" },
        { INT64_MAX, "9223372036.854775807" },
        { INT64_MIN, "-9223372036.854775808" },
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        char out[32];
        CHECK_STREQ(prom_fmt_seconds(c[i].ns, out, sizeof out), c[i].s, "fmt_seconds");
        /* and back, exactly */
        int64_t back = 0;
        CHECK(prom_ts_parse(out, strlen(out), &back) == 0 && back == c[i].ns,
              "fmt/parse round trip %s", out);
    }
    char small[5];
    CHECK(prom_fmt_seconds(INT64_C(1795562851000000000), small, sizeof small) == NULL,
          "fmt_seconds: a short buffer is refused");
}

/* ------------------------------------------------------------------ queries file */

static void test_queries(void)
{
    static const struct {
        const char *text;
        const char *err;        /* NULL: ok */
        size_t n;
        const char *names[3], *exprs[3];
    } c[] = {
        { "a = up\n", NULL, 1, { "a" }, { "up" } },
        { "# comment\n\n  b=rate(x[5m])  \n", NULL, 1, { "b" }, { "rate(x[5m])" } },
        { "a = up # a PromQL comment stays\n", NULL, 1, { "a" },
          { "up # a PromQL comment stays" } },
        { "x = sum(\\\n    up)\ny = 1\n", NULL, 2, { "x", "y" }, { "sum(\nup)", "1" } },
        { "a = up\r\nb = down\r\n", NULL, 2, { "a", "b" }, { "up", "down" } },
        { "a.b:c-d_1 = x == 1", NULL, 1, { "a.b:c-d_1" }, { "x == 1" } },
        { "  # indented comment\n\t\nq = up{job=\"a=b\"}", NULL, 1, { "q" },
          { "up{job=\"a=b\"}" } },
        { "", NULL, 0, { NULL }, { NULL } },
        { "noequals\n", "f.txt:1: expected `name = expr`", 0, { NULL }, { NULL } },
        { "a = up\n = up\n", "f.txt:2: the query has no name (expected `name = expr`)", 0,
          { NULL }, { NULL } },
        { "\n# c\n\n1a = up\n",
          "f.txt:4: invalid name \"1a\" (letters, digits, '_', ':', '.', '-'; not starting "
          "with a digit)",
          0, { NULL }, { NULL } },
        { "my query = up\n",
          "f.txt:1: invalid name \"my query\" (letters, digits, '_', ':', '.', '-'; not "
          "starting with a digit)",
          0, { NULL }, { NULL } },
        { "a = \n", "f.txt:1: query \"a\" has no expression", 0, { NULL }, { NULL } },
        { "a = up\nb = 1\na = down\n", "f.txt:3: query \"a\" is defined twice", 0, { NULL },
          { NULL } },
        { "a = up \\\n", "f.txt:1: the file ends inside a continued line", 0, { NULL },
          { NULL } },
        { "a = \\\n\\\n\n", "f.txt:1: query \"a\" has no expression", 0, { NULL }, { NULL } },
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        prom_queries qs;
        prom_queries_init(&qs);
        char err[256] = "";
        int rc = prom_queries_parse(c[i].text, strlen(c[i].text), "f.txt", &qs, err, sizeof err);
        if (c[i].err) {
            CHECK(rc == -1, "queries #%zu: rc %d", i, rc);
            CHECK_STREQ(err, c[i].err, c[i].text);
        } else {
            CHECK(rc == 0, "queries #%zu: rc %d (%s)", i, rc, err);
            CHECK(qs.n == c[i].n, "queries #%zu: %zu queries", i, qs.n);
            for (size_t k = 0; k < qs.n && k < c[i].n; k++) {
                CHECK_STREQ(qs.q[k].name, c[i].names[k], c[i].text);
                CHECK_STREQ(qs.q[k].expr, c[i].exprs[k], c[i].text);
                CHECK_STREQ(qs.q[k].measurement, c[i].names[k], "file measurement = name");
            }
        }
        prom_queries_free(&qs);
    }

    /* An over-long name and expression. */
    char *big = malloc(PROM_EXPR_MAX + 64);
    memset(big, 'n', PROM_NAME_MAX);
    memcpy(big + PROM_NAME_MAX, " = up", 6);
    prom_queries qs;
    prom_queries_init(&qs);
    char err[256];
    CHECK(prom_queries_parse(big, strlen(big), "f", &qs, err, sizeof err) == -1 &&
              strstr(err, "f:1: name longer than") == err,
          "long name: %s", err);
    memcpy(big, "a = ", 4);
    memset(big + 4, 'x', PROM_EXPR_MAX);
    big[PROM_EXPR_MAX + 4] = '\0';
    CHECK(prom_queries_parse(big, strlen(big), "f", &qs, err, sizeof err) == -1 &&
              strstr(err, "f:1: ") == err,
          "long expr: %s", err);
    prom_queries_free(&qs);
    free(big);

    /* The built-in set: names unique and valid, measurement "prometheus". */
    prom_queries_init(&qs);
    CHECK(prom_queries_builtin(&qs, err, sizeof err) == 0, "builtin");
    CHECK(qs.n >= 10, "builtin: %zu queries", qs.n);
    int uniq = 1, meas = 1, wanted = 0;
    for (size_t i = 0; i < qs.n; i++) {
        for (size_t k = i + 1; k < qs.n; k++)
            if (strcmp(qs.q[i].name, qs.q[k].name) == 0)
                uniq = 0;
        if (strcmp(qs.q[i].measurement, "prometheus") != 0)
            meas = 0;
        const char *e = qs.q[i].expr;
        wanted |= strstr(e, "node_cpu_seconds_total") ? 1 : 0;
        wanted |= strstr(e, "container_memory_working_set_bytes") ? 2 : 0;
        wanted |= strstr(e, "network_receive_bytes_total") ? 4 : 0;
        wanted |= strstr(e, "kube_pod_container_status_restarts_total") ? 8 : 0;
        wanted |= strstr(e, "kube_pod_status_phase") ? 16 : 0;
        wanted |= strstr(e, "container_cpu_usage_seconds_total") ? 32 : 0;
        /* every built-in name would pass the file's own rules */
        char line[PROM_EXPR_MAX + PROM_NAME_MAX + 8];
        snprintf(line, sizeof line, "%s = %s", qs.q[i].name, e);
        prom_queries one;
        prom_queries_init(&one);
        CHECK(prom_queries_parse(line, strlen(line), "b", &one, err, sizeof err) == 0 &&
                  one.n == 1,
              "builtin %s as a file line: %s", qs.q[i].name, err);
        prom_queries_free(&one);
    }
    CHECK(uniq, "builtin names unique");
    CHECK(meas, "builtin measurement");
    CHECK(wanted == 63, "builtin covers cpu, memory, network, restarts, phases (%d)", wanted);
    CHECK(prom_queries_set_measurement(&qs, "m", err, sizeof err) == 0 &&
              strcmp(qs.q[0].measurement, "m") == 0,
          "set measurement");
    CHECK(prom_queries_set_measurement(&qs, "a\nb", err, sizeof err) == -1, "newline refused");
    prom_queries_free(&qs);
    prom_queries_free(NULL);
}

/* ------------------------------------------------------------------ chunk planning */

#define SEC INT64_C(1000000000)

static void test_range_plan(void)
{
    static const struct {
        int64_t from, to, step;
        int rc;
        int64_t first, last, n;
    } c[] = {
        { 0, 100 * SEC, 10 * SEC, 0, 0, 100 * SEC, 11 },
        { 5 * SEC, 95 * SEC, 10 * SEC, 0, 10 * SEC, 90 * SEC, 9 },
        { 10 * SEC, 10 * SEC, 10 * SEC, 0, 10 * SEC, 10 * SEC, 1 },
        { 5 * SEC, 9 * SEC, 10 * SEC, -1, 0, 0, 0 },
        { 9 * SEC, 5 * SEC, 1 * SEC, -1, 0, 0, 0 },
        { 0, SEC, 1500000, -1, 0, 0, 0 },   /* 1.5 ms */
        { 0, SEC, 0, -1, 0, 0, 0 },
        { -SEC, SEC, SEC, -1, 0, 0, 0 },
        { INT64_C(1795562831000000000), INT64_C(1795562851000000000), 2500 * INT64_C(1000000), 0,
          INT64_C(1795562832500000000), INT64_C(1795562850000000000), 8 },
        { INT64_C(1700000000123456789), INT64_C(1700086400000000000), 60 * SEC, 0,
          INT64_C(1700000040000000000), INT64_C(1700086380000000000), 1440 },
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        prom_range r;
        char err[128] = "";
        int rc = prom_range_plan(c[i].from, c[i].to, c[i].step, &r, err, sizeof err);
        CHECK(rc == c[i].rc, "plan #%zu: rc %d (%s)", i, rc, err);
        if (rc == 0 && c[i].rc == 0) {
            CHECK(r.first_ns == c[i].first && r.last_ns == c[i].last && r.npoints == c[i].n,
                  "plan #%zu: first %lld last %lld n %lld", i, (long long)r.first_ns,
                  (long long)r.last_ns, (long long)r.npoints);
        } else if (rc == -1) {
            CHECK(err[0] != '\0', "plan #%zu: a reason", i);
        }
    }
}

/* Walk the chunks of r from start with maxpts (and, when vary, a changing size) and check
 * they cover every grid time from start to the end exactly once, each on the grid, each
 * within the limit. */
static int cover(const prom_range *r, int64_t start, int64_t maxpts, int vary, int64_t *nchunks)
{
    int64_t t = start, seen = 0, chunks = 0, m = maxpts;
    uint32_t rnd = 12345;
    int64_t want = prom_points_left(r, start);
    while (t <= r->last_ns) {
        int64_t end;
        int64_t n = prom_chunk(r, t, m, &end);
        if (n < 1 || n > m || end > r->last_ns || (end - t) != (n - 1) * r->step_ns ||
            (t - r->first_ns) % r->step_ns != 0)
            return 0;
        seen += n;
        chunks++;
        t = end + r->step_ns;
        if (vary) {
            rnd = rnd * 1103515245u + 12345u;
            m = 1 + (int64_t)((rnd >> 8) % (uint32_t)maxpts);
        }
        if (chunks > want + 1)
            return 0;
    }
    if (nchunks)
        *nchunks = chunks;
    return seen == want && t == r->last_ns + r->step_ns;
}

static void test_chunks(void)
{
    static const struct {
        int64_t from, to, step, maxpts, chunks;
    } c[] = {
        { 0, 100 * SEC, 10 * SEC, 5, 3 },           /* 11 points: 5 + 5 + 1 */
        { 0, 100 * SEC, 10 * SEC, 11, 1 },
        { 0, 100 * SEC, 10 * SEC, 10000, 1 },
        { 0, 100 * SEC, 10 * SEC, 1, 11 },
        { 0, INT64_C(30) * 86400 * SEC, 60 * SEC, 10000, 5 }, /* 43201 points */
        { 0, INT64_C(30) * 86400 * SEC, 60 * SEC, 11000, 4 },
        { 7 * SEC, INT64_C(7) * 86400 * SEC + 3 * SEC, 15 * SEC, 10000, 5 }, /* 40320 points */
        { INT64_C(1795562831500000000), INT64_C(1795562851000000000), 2500 * INT64_C(1000000),
          3, 3 },
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        prom_range r;
        char err[128];
        CHECK(prom_range_plan(c[i].from, c[i].to, c[i].step, &r, err, sizeof err) == 0,
              "chunks #%zu plan", i);
        int64_t n = 0;
        CHECK(cover(&r, r.first_ns, c[i].maxpts, 0, &n), "chunks #%zu: coverage", i);
        CHECK(n == c[i].chunks, "chunks #%zu: %lld chunks, want %lld", i, (long long)n,
              (long long)c[i].chunks);
        CHECK(cover(&r, r.first_ns, c[i].maxpts, 1, NULL), "chunks #%zu: varying sizes", i);
        /* resuming at any grid time covers the rest exactly once */
        int all = 1;
        for (int64_t k = 0; k < r.npoints; k += 1 + r.npoints / 37)
            if (!cover(&r, r.first_ns + k * r.step_ns, c[i].maxpts, 0, NULL))
                all = 0;
        CHECK(all, "chunks #%zu: resume from any grid time", i);
        /* off the grid, or past the end: no chunk */
        int64_t end;
        CHECK(prom_chunk(&r, r.last_ns + r.step_ns, 5, &end) == 0, "past the end");
        if (r.step_ns > 1000000)
            CHECK(prom_chunk(&r, r.first_ns + 1000000, 5, &end) == 0, "off the grid");
        CHECK(prom_chunk(&r, r.first_ns - r.step_ns, 5, &end) == 0, "before the start");
    }
    /* Randomised ranges. */
    uint32_t s = 777;
    int ok = 1;
    for (int i = 0; i < 300 && ok; i++) {
        s = s * 1664525u + 1013904223u;
        int64_t step = (int64_t)(1 + s % 120000) * 1000000;   /* 1 ms .. 120 s */
        s = s * 1664525u + 1013904223u;
        int64_t from = INT64_C(1700000000000000000) + (int64_t)(s % 1000000) * 997;
        s = s * 1664525u + 1013904223u;
        int64_t to = from + (int64_t)(s % 500000) * step / 7;
        s = s * 1664525u + 1013904223u;
        int64_t maxpts = 1 + s % 11000;
        prom_range r;
        char err[128];
        if (prom_range_plan(from, to, step, &r, err, sizeof err) != 0)
            continue;   /* no grid time inside: fine */
        if (r.first_ns < from || r.last_ns > to || r.first_ns % step || r.last_ns % step ||
            r.first_ns - step >= from || r.last_ns + step <= to)
            ok = 0;
        if (!cover(&r, r.first_ns, maxpts, (int)(s & 1), NULL))
            ok = 0;
    }
    CHECK(ok, "random ranges: grid inside [from, to] and covered exactly once");
}

static void test_chunk_next(void)
{
    static const struct {
        int64_t cur, maxpts;
        size_t target, body;
        int64_t samples, points, want;
    } c[] = {
        { 100, 10000, 2 << 20, 0, 0, 100, 400 },              /* empty: grow fourfold */
        { 4000, 10000, 2 << 20, 0, 0, 4000, 10000 },          /* capped */
        { 100, 10000, 2000000, 220000, 10000, 100, 909 },     /* 2200 B per grid time */
        { 1000, 10000, 2000000, 22, 1, 1000, 10000 },         /* tiny answers: the max */
        { 1000, 10000, 100, 100000, 1000, 1000, 1 },          /* never below 1 */
        { 0, 0, 100, 0, 0, 0, 1 },
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        int64_t n = prom_chunk_next(c[i].cur, c[i].maxpts, c[i].target, c[i].body,
                                    c[i].samples, c[i].points);
        CHECK(n == c[i].want, "chunk_next #%zu: %lld want %lld", i, (long long)n,
              (long long)c[i].want);
    }
}

static void test_checkpoints(void)
{
    prom_query q = { .name = "up", .expr = "up", .measurement = "up" };
    prom_query q2 = { .name = "up", .expr = "up == 1", .measurement = "up" };
    prom_range r;
    char err[128], k1[256], k2[256];
    CHECK(prom_range_plan(0, 100 * SEC, 10 * SEC, &r, err, sizeof err) == 0, "plan");
    CHECK(prom_checkpoint_key(&q, &r, k1, sizeof k1) != NULL, "key");
    CHECK(strncmp(k1, "q=up first=0 last=100000000000 step=10000000000 expr=", 53) == 0 &&
              strlen(k1) == 53 + 16,
          "key text [%s]", k1);
    CHECK(prom_checkpoint_key(&q2, &r, k2, sizeof k2) != NULL && strcmp(k1, k2) != 0,
          "another expression, another key");
    CHECK(prom_checkpoint_key(&q, &r, k1, 20) == NULL, "key: short buffer");
    int64_t next = -1;
    CHECK(prom_checkpoint_parse("complete", &r, &next, err, sizeof err) == 1, "complete");
    CHECK(prom_checkpoint_parse("next=50000000000", &r, &next, err, sizeof err) == 0 &&
              next == 50 * SEC,
          "next");
    static const char *badv[] = { "next=5", "next=", "next=110000000000", "next=-10",
                                  "next=50000000000x", "done", "",
                                  "next=99999999999999999999999" };
    for (size_t i = 0; i < sizeof badv / sizeof badv[0]; i++)
        CHECK(prom_checkpoint_parse(badv[i], &r, &next, err, sizeof err) == -1,
              "checkpoint [%s] refused", badv[i]);
}

/* ------------------------------------------------------------------ outcomes */

static void test_outcomes(void)
{
    static const struct {
        long status;
        const char *file;   /* an error body from the fixtures, or NULL */
        const char *error_type, *error;
        prom_outcome want;
        int exit;
    } c[] = {
        { 200, NULL, NULL, NULL, PROM_OK, 0 },
        { 400, "captured_2.42.0/error_parse_bad_data.json", NULL, NULL, PROM_BAD_QUERY, 78 },
        { 400, "captured_2.42.0/error_range_vector_in_range_query.json", NULL, NULL,
          PROM_BAD_QUERY, 78 },
        { 422, "captured_2.42.0/error_execution_422.json", NULL, NULL, PROM_EXEC, 78 },
        { 422, NULL, "execution",
          "query processing would load too many samples into memory in query execution",
          PROM_TOO_LARGE, 78 },
        { 503, NULL, "timeout", "query timed out in expression evaluation", PROM_TIMEOUT, 75 },
        { 503, NULL, "unavailable", "x", PROM_TEMP, 75 },
        { 503, NULL, NULL, NULL, PROM_TEMP, 75 },
        { 502, NULL, NULL, NULL, PROM_TEMP, 75 },
        { 500, NULL, NULL, NULL, PROM_TEMP, 75 },
        { 429, NULL, NULL, NULL, PROM_TEMP, 75 },
        { 401, NULL, NULL, NULL, PROM_AUTH, 77 },
        { 403, NULL, NULL, NULL, PROM_AUTH, 77 },
        { 404, NULL, NULL, NULL, PROM_CONFIG, 78 },
        { 405, NULL, NULL, NULL, PROM_CONFIG, 78 },
        { 400, NULL, "strange", "x", PROM_BAD_QUERY, 78 },
        { 200, NULL, "strange", "x", PROM_SHAPE, 65 },
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        prom_parse_result res;
        memset(&res, 0, sizeof res);
        bool env = false;
        if (c[i].file) {
            size_t len;
            char *body = slurp(c[i].file, &len);
            char err[128];
            env = body && prom_parse(body, len, NULL, NULL, &res, err, sizeof err) == 0 &&
                  res.is_error;
            free(body);
        } else if (c[i].error_type) {
            env = true;
            res.is_error = true;
            snprintf(res.error_type, sizeof res.error_type, "%s", c[i].error_type);
            snprintf(res.error, sizeof res.error, "%s", c[i].error);
        }
        prom_outcome o = prom_classify(c[i].status, env, &res);
        CHECK(o == c[i].want, "classify #%zu (%ld): %s want %s", i, c[i].status,
              prom_outcome_name(o), prom_outcome_name(c[i].want));
        CHECK(prom_outcome_exit(o) == c[i].exit, "exit #%zu: %d", i, prom_outcome_exit(o));
    }
    CHECK(prom_outcome_exit(PROM_UNREACHABLE) == 69, "unreachable -> 69");
    CHECK(prom_outcome_exit(PROM_SHAPE) == 65, "shape -> 65");
}

/* ------------------------------------------------------------------ configuration */

static void clear_env(void)
{
    static const char *names[] = { "PROMETHEUS_URL", "PROMETHEUS_HOST", "PROMETHEUS_PORT",
                                   "PROMETHEUS_TOKEN", "PROMETHEUS_TOKEN_FILE",
                                   "PROMETHEUS_CA_FILE", "PROMETHEUS_TIMEOUT",
                                   "PROMETHEUS_RETRIES" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        unsetenv(names[i]);
}

static void test_cfg(void)
{
    static const struct {
        const char *url, *host, *port, *timeout, *retries, *flag;
        int rc;
        const char *want;      /* url, or a substring of the error */
        long timeout_ms;
        int max_retries;
    } c[] = {
        { NULL, NULL, NULL, NULL, NULL, NULL, -1, "set PROMETHEUS_URL", 0, 0 },
        { "http://p:9090/", NULL, NULL, NULL, NULL, NULL, 0, "http://p:9090", 120000, 3 },
        { "https://p.example/prom///", NULL, NULL, NULL, NULL, NULL, 0,
          "https://p.example/prom", 120000, 3 },
        { "ftp://p", NULL, NULL, NULL, NULL, NULL, -1, "PROMETHEUS_URL must start with", 0, 0 },
        { "http://p/?x=1", NULL, NULL, NULL, NULL, NULL, -1, "without a query string", 0, 0 },
        { NULL, "prometheus.monitoring", NULL, NULL, NULL, NULL, 0,
          "http://prometheus.monitoring:9090", 120000, 3 },
        { NULL, "prom", "80", "30s", "0", NULL, 0, "http://prom:80", 30000, 0 },
        { NULL, "::1", "9091", NULL, NULL, NULL, 0, "http://[::1]:9091", 120000, 3 },
        { NULL, "http://prom", NULL, NULL, NULL, NULL, -1, "use PROMETHEUS_URL", 0, 0 },
        { NULL, "prom", "0", NULL, NULL, NULL, -1, "PROMETHEUS_PORT", 0, 0 },
        { NULL, "prom", "70000", NULL, NULL, NULL, -1, "PROMETHEUS_PORT", 0, 0 },
        { NULL, "prom", "90a", NULL, NULL, NULL, -1, "PROMETHEUS_PORT", 0, 0 },
        { "http://env:1", "host", NULL, NULL, NULL, "http://flag:2/", 0, "http://flag:2", 120000,
          3 },
        { "http://env:1", "host", NULL, NULL, NULL, NULL, 0, "http://env:1", 120000, 3 },
        { "http://p", NULL, NULL, "soon", NULL, NULL, -1, "PROMETHEUS_TIMEOUT", 0, 0 },
        { "http://p", NULL, NULL, NULL, "11", NULL, -1, "PROMETHEUS_RETRIES", 0, 0 },
        { "http://p", NULL, NULL, NULL, "-1", NULL, -1, "PROMETHEUS_RETRIES", 0, 0 },
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        clear_env();
        if (c[i].url)
            setenv("PROMETHEUS_URL", c[i].url, 1);
        if (c[i].host)
            setenv("PROMETHEUS_HOST", c[i].host, 1);
        if (c[i].port)
            setenv("PROMETHEUS_PORT", c[i].port, 1);
        if (c[i].timeout)
            setenv("PROMETHEUS_TIMEOUT", c[i].timeout, 1);
        if (c[i].retries)
            setenv("PROMETHEUS_RETRIES", c[i].retries, 1);
        prom_cfg cfg;
        char err[512] = "";
        int rc = prom_cfg_from_env(&cfg, c[i].flag, err, sizeof err);
        CHECK(rc == c[i].rc, "cfg #%zu: rc %d (%s)", i, rc, err);
        if (rc == 0 && c[i].rc == 0) {
            CHECK_STREQ(cfg.url, c[i].want, "cfg url");
            CHECK(cfg.timeout_ms == c[i].timeout_ms, "cfg #%zu: timeout %ld", i, cfg.timeout_ms);
            CHECK(cfg.max_retries == c[i].max_retries, "cfg #%zu: retries %d", i,
                  cfg.max_retries);
            CHECK(cfg.token[0] == '\0' && cfg.body_max > 0, "cfg #%zu: defaults", i);
        } else if (rc == -1) {
            CHECK(strstr(err, c[i].want) != NULL, "cfg #%zu: err [%s] lacks [%s]", i, err,
                  c[i].want);
        }
    }

    /* A token from a file: the trailing newline is not part of it; never in an error. */
    clear_env();
    char path[] = "/tmp/test_prom_tokenXXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd >= 0) {
        CHECK(write(fd, "t0k3n-value\n", 12) == 12, "write token");
        close(fd);
        setenv("PROMETHEUS_URL", "http://p", 1);
        setenv("PROMETHEUS_TOKEN_FILE", path, 1);
        prom_cfg cfg;
        char err[512] = "";
        CHECK(prom_cfg_from_env(&cfg, NULL, err, sizeof err) == 0, "token file: %s", err);
        CHECK_STREQ(cfg.token, "t0k3n-value", "token without its newline");
        prom_cfg_wipe(&cfg);
        CHECK(cfg.token[0] == '\0', "wipe clears the token");
        setenv("PROMETHEUS_TIMEOUT", "bad", 1);
        CHECK(prom_cfg_from_env(&cfg, NULL, err, sizeof err) == -1 &&
                  strstr(err, "t0k3n") == NULL,
              "an error never carries the token");
        unlink(path);
    }
    clear_env();
}

int main(void)
{
    test_fixtures();
    test_bad_bodies();
    test_other_orders();
    test_labels_id();
    test_number_paths();
    test_ts();
    test_values();
    test_fmt_seconds();
    test_queries();
    test_range_plan();
    test_chunks();
    test_chunk_next();
    test_checkpoints();
    test_outcomes();
    test_cfg();
    return th_summary("test_prom");
}
