/* prom_api: one Prometheus API call with retries (see prom.h). */
#include "prom.h"
#include "../../runtime/errf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/cfg.h"
#include "../../runtime/log.h"
#include "../../runtime/retry.h"

#define RETRY_AFTER_MAX_S 60

/* The samples of an answer as its check reads them, handed to the caller's callback once
 * the whole answer proved good: the answer is then read once, not twice. Bounded (about
 * the answer's own size at most); an answer that does not fit is read a second time
 * instead, as it was before the stash. */
typedef struct stash_series {
    size_t text_off;    /* its labels in text: name\0value\0 ... */
    size_t nlabels;
    size_t nsamples;
} stash_series;

typedef struct stash_sample {
    int64_t t_ns;
    double v;
    uint32_t voff, vlen;   /* the value's text in the body (vlen 0: none kept) */
} stash_sample;

typedef struct stash {
    buf series;         /* stash_series[] */
    buf samples;        /* stash_sample[] */
    buf text;           /* the label text */
    uint64_t last_id;   /* the parser's labels_id of the last series stashed */
    const char *body;   /* the answer the samples' texts are in */
    int full;           /* over the bound: not used for this answer */
} stash;

struct prom_client {
    http_client *http;
    prom_cfg cfg;
    http_resp resp;
    stash st;          /* kept across calls: its room is reused */
    prom_label lv[PROM_LABELS_MAX];
    char auth[4200];   /* "Authorization" value; a secret */
};

static void stash_init(stash *st, size_t body_max)
{
    /* a sample takes at least 8 bytes of JSON ([1,"1"],) and 24 here: three times the
     * answer; labels and their series at most the answer's size once more */
    size_t cap = body_max > SIZE_MAX / 4 ? SIZE_MAX / 2 : body_max * 3;
    buf_init(&st->series, cap);
    buf_init(&st->samples, cap);
    buf_init(&st->text, cap);
}

static void stash_reset(stash *st)
{
    buf_reset(&st->series);
    buf_reset(&st->samples);
    buf_reset(&st->text);
    st->last_id = 0;
    st->full = 0;
}

static void stash_free(stash *st)
{
    buf_free(&st->series);
    buf_free(&st->samples);
    buf_free(&st->text);
}

/* prom_sample_fn of the checking read: keep the sample (and its labels, once per series).
 * -1 (stop the read) when over the bound. */
static int stash_sample_fn(void *ctx, const prom_label *l, size_t nl, uint64_t labels_id,
                           int64_t t_ns, double v, const prom_text *vt)
{
    stash *st = ctx;
    if (labels_id != st->last_id || st->series.len == 0) {
        stash_series se = { .text_off = st->text.len, .nlabels = nl, .nsamples = 0 };
        for (size_t i = 0; i < nl; i++) {
            if (buf_add(&st->text, l[i].name, strlen(l[i].name) + 1) != 0 ||
                buf_add(&st->text, l[i].value, strlen(l[i].value) + 1) != 0)
                goto full;
        }
        if (buf_add(&st->series, &se, sizeof se) != 0)
            goto full;
        st->last_id = labels_id;
    }
    stash_sample sa = { .t_ns = t_ns, .v = v };
    if (vt && vt->p && st->body && vt->p >= st->body && vt->len <= UINT32_MAX &&
        (size_t)(vt->p - st->body) <= UINT32_MAX) {
        sa.voff = (uint32_t)(vt->p - st->body);
        sa.vlen = (uint32_t)vt->len;
    }
    if (st->samples.cap - st->samples.len > sizeof sa && st->samples.p) {
        memcpy(st->samples.p + st->samples.len, &sa, sizeof sa);   /* room known: no call */
        st->samples.len += sizeof sa;
        st->samples.p[st->samples.len] = '\0';   /* buf's invariant */
    } else if (buf_add(&st->samples, &sa, sizeof sa) != 0) {
        goto full;
    }
    ((stash_series *)(void *)(st->series.p + st->series.len - sizeof(stash_series)))->nsamples++;
    return 0;
full:
    st->full = 1;
    return -1;
}

/* Hand the stashed samples to fn, in the order read, one labels_id per series.
 * 0, or -1 when fn stopped. */
static int stash_replay(const stash *st, prom_label *lv, prom_sample_fn fn, void *ctx)
{
    const stash_series *se = (const stash_series *)(const void *)st->series.p;
    const stash_sample *sa = (const stash_sample *)(const void *)st->samples.p;
    size_t nseries = st->series.len / sizeof *se, k = 0;
    for (size_t i = 0; i < nseries; i++) {
        const char *p = st->text.p + se[i].text_off;   /* read only when nlabels > 0 */
        for (size_t j = 0; j < se[i].nlabels; j++) {
            lv[j].name = p;
            p += strlen(p) + 1;
            lv[j].value = p;
            p += strlen(p) + 1;
        }
        for (size_t j = 0; j < se[i].nsamples; j++, k++) {
            prom_text vt = { sa[k].vlen ? st->body + sa[k].voff : NULL, sa[k].vlen };
            if (fn(ctx, lv, se[i].nlabels, (uint64_t)i + 1, sa[k].t_ns, sa[k].v, &vt) != 0)
                return -1;
        }
    }
    return 0;
}

prom_client *prom_client_new(const prom_cfg *cfg, char *err, size_t errlen)
{
    prom_client *pc = calloc(1, sizeof *pc);
    if (!pc) {
        errf_set(err, errlen, "out of memory");
        return NULL;
    }
    pc->cfg = *cfg;
    http_resp_init(&pc->resp);
    stash_init(&pc->st, cfg->body_max);
    if (cfg->token[0]) {
        int n = snprintf(pc->auth, sizeof pc->auth, "Bearer %s", cfg->token);
        if (n < 0 || (size_t)n >= sizeof pc->auth) {
            errf_set(err, errlen, "PROMETHEUS_TOKEN is too long");
            prom_client_free(pc);
            return NULL;
        }
    }
    http_opts o = { .timeout_ms = cfg->timeout_ms, .body_max = cfg->body_max,
                    .ca_file = cfg->ca_file[0] ? cfg->ca_file : NULL };
    pc->http = http_new(&o, err, errlen);
    if (!pc->http) {
        prom_client_free(pc);
        return NULL;
    }
    return pc;
}

void prom_client_free(prom_client *pc)
{
    if (!pc)
        return;
    http_free(pc->http);
    http_resp_free(&pc->resp);
    stash_free(&pc->st);
    cfg_wipe(pc->auth, sizeof pc->auth);
    prom_cfg_wipe(&pc->cfg);
    free(pc);
}

/* One POST of a retry_run and what its answer means. */
typedef struct call_try {
    prom_client *pc;
    http_req req;
    const char *shown;        /* the URL as messages show it */
    prom_sample_fn fn;
    void *ctx;
    prom_parse_result *res;
    size_t *body_len;
    prom_outcome o;
    char *err;
    size_t errlen;
} call_try;

static retry_verdict call_once(void *ctx, int attempt, long *wait_ms)
{
    call_try *t = ctx;
    prom_client *pc = t->pc;
    http_resp *r = &pc->resp;
    const char *url = t->shown;
    char e[PROM_ERR_MAX];
    e[0] = '\0';
    memset(t->res, 0, sizeof *t->res);
    t->req.timeout_ms = retry_timeout_ms(pc->cfg.timeout_ms, pc->cfg.deadline_ns);
    if (http_request(pc->http, &t->req, r, e, sizeof e) != 0) {
        if (r->truncated) {
            errf_set(t->err, t->errlen, "POST %s: answer larger than %zu bytes", url,
                     pc->cfg.body_max);
            t->o = PROM_TOO_LARGE;
            return RETRY_STOP;
        }
        log_debug("POST %s: %s; %s %d", url, e,
                  attempt <= pc->cfg.max_retries ? "retry" : "giving up after try", attempt);
        if (r->timed_out) {
            /* no answer in time: temporary (75), like a 503 */
            errf_set(t->err, t->errlen, "%s (Prometheus did not answer in time; PROMETHEUS_TIMEOUT "
                     "sets the limit of one request)", e);
            t->o = PROM_TEMP;
        } else {
            errf_set(t->err, t->errlen, "%s (Prometheus unreachable; check PROMETHEUS_URL)", e);
            t->o = PROM_UNREACHABLE;
        }
        return RETRY_AGAIN;
    }
    if (t->body_len)
        *t->body_len = r->body.len;
    const char *body = r->body.p ? r->body.p : "";
    char perr[256];
    /* the check; a 2xx answer's samples kept aside as it goes (the stash) */
    stash *st = &pc->st;
    stash_reset(st);
    st->body = body;
    bool stashed = t->fn && r->status >= 200 && r->status < 300;
    int prc = prom_parse(body, r->body.len, stashed ? stash_sample_fn : NULL, st, t->res,
                         perr, sizeof perr);
    if (prc == -2 || st->full) {   /* over the stash's bound: the check alone, as before */
        stashed = false;
        stash_reset(st);
        prc = prom_parse(body, r->body.len, NULL, NULL, t->res, perr, sizeof perr);
    }
    bool envelope = prc == 0 && t->res->is_error;
    prom_outcome o = prom_classify(r->status, envelope, t->res);
    t->o = o;
    if (o == PROM_OK) {
        if (prc != 0) {
            errf_set(t->err, t->errlen, "POST %s: %ld answer not of the documented shape: %s",
                     url, r->status, perr);
            t->o = PROM_SHAPE;
            return RETRY_STOP;
        }
        if (!t->fn)
            return RETRY_STOP;
        if (stashed) {
            if (stash_replay(st, pc->lv, t->fn, t->ctx) != 0)
                t->o = PROM_STOPPED;
            stash_reset(st);
            return RETRY_STOP;
        }
        prc = prom_parse(body, r->body.len, t->fn, t->ctx, t->res, perr, sizeof perr);
        if (prc == -2) {
            t->o = PROM_STOPPED;
        } else if (prc != 0) {   /* cannot happen: the same text passed the check */
            errf_set(t->err, t->errlen, "POST %s: %s", url, perr);
            t->o = PROM_SHAPE;
        }
        return RETRY_STOP;
    }
    if (envelope) {
        errf_set(t->err, t->errlen, "POST %s: HTTP %ld %s: %s", url, r->status,
                 t->res->error_type, t->res->error);
    } else if (o == PROM_SHAPE) {
        errf_set(t->err, t->errlen, "POST %s: HTTP %ld answer not of the documented shape: %s",
                 url, r->status, perr);
    } else {
        const char *hint = o == PROM_AUTH ? " (check PROMETHEUS_TOKEN)"
                           : o == PROM_CONFIG ? " (check PROMETHEUS_URL and its path)"
                                              : "";
        errf_set(t->err, t->errlen, "POST %s: HTTP %ld%s", url, r->status, hint);
    }
    if (o == PROM_TEMP) {
        long ra = http_retry_after_s(r);
        if (ra >= 0)
            *wait_ms = ra * 1000L;
        log_debug("POST %s: HTTP %ld; %s %d", url, r->status,
                  attempt <= pc->cfg.max_retries ? "retry" : "giving up after try", attempt);
        return RETRY_AGAIN;
    }
    return RETRY_STOP;
}

prom_outcome prom_call(prom_client *pc, const char *path, const char *form, prom_sample_fn fn,
                       void *ctx, prom_parse_result *res, size_t *body_len, char *err,
                       size_t errlen)
{
    char url[1024], shown[HTTP_ERR_MAX];
    memset(res, 0, sizeof *res);
    if (body_len)
        *body_len = 0;
    int n = snprintf(url, sizeof url, "%s%s", pc->cfg.url, path);
    if (n < 0 || (size_t)n >= sizeof url) {
        errf_set(err, errlen, "URL too long");
        return PROM_CONFIG;
    }
    http_url_show(url, pc->cfg.token[0] ? pc->cfg.token : NULL, 0, shown, sizeof shown);
    /* Plain answers unless --gzip: compressing an answer costs Prometheus about
     * six times the CPU of the answer itself (query_range of 1M samples: 1.2 CPU-s gzipped,
     * 0.2 plain, 23 MB plain and 6.7 MB gzipped), and inflating it costs us about 5% of
     * ours; the 3.4x fewer bytes pay for that only on links slower than about 130 Mbit/s. */
    http_header hs[4];
    size_t nh = 0;
    hs[nh++] = (http_header){ "Content-Type", "application/x-www-form-urlencoded" };
    hs[nh++] = (http_header){ "Accept", "application/json" };
    if (!pc->cfg.gzip)
        hs[nh++] = (http_header){ "Accept-Encoding", "identity" };
    if (pc->auth[0])
        hs[nh++] = (http_header){ "Authorization", pc->auth };
    call_try t = {
        .pc = pc, .shown = shown, .fn = fn, .ctx = ctx, .res = res, .body_len = body_len,
        .o = PROM_UNREACHABLE, .err = err, .errlen = errlen,
        .req = { .method = "POST", .url = url, .headers = hs,
                 .nheaders = nh, .body = form, .body_len = strlen(form),
                 .redact = pc->cfg.token[0] ? pc->cfg.token : NULL },
    };
    retry_policy p = { .max_attempts = pc->cfg.max_retries + 1, .backoff_base_ms = 500,
                       .backoff_max_ms = 10000, .retry_after_max_ms = RETRY_AFTER_MAX_S * 1000L,
                       .deadline_ns = pc->cfg.deadline_ns };
    retry_end end = retry_run(&p, call_once, &t, NULL);
    if (end == RETRY_END_DEADLINE) {
        /* the run's time is up before Prometheus answered: temporary, not a lost server */
        if (t.o == PROM_UNREACHABLE)
            t.o = PROM_TEMP;
        char was[PROM_ERR_MAX];
        errf_set(was, sizeof was, "%s", err);
        errf_set(err, errlen, "%s; stopped at the run's deadline (--deadline, CRONFLUX_DEADLINE)",
                 was);
    }
    return t.o;
}
