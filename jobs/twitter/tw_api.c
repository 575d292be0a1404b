/* tw_api: signed GETs against the X API with rate limits, retries and exit codes
 * (see tw.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../../runtime/cfg.h"
#include "../../runtime/errf.h"
#include "../../runtime/log.h"
#include "../../runtime/retry.h"
#include "../../runtime/tparse.h"
#include "tw.h"
#include "../../runtime/exitcode.h"
#include "../../runtime/util.h"

#define TW_RATE_SLOTS 16
#define TW_URL_MAX 8192
#define TW_MAX_RATE_WAITS 3      /* waits for one request before giving up */
#define TW_DEFAULT_WINDOW_S 900  /* X rate-limit windows are 15 minutes */
#define TW_RESET_SPAN_S 86400    /* a reset further than this from now is not believed */
#define TW_RETRY_AFTER_MAX_S 30  /* a 5xx's Retry-After above this: backoff instead */

typedef struct rate_slot {
    char endpoint[80];
    bool known;                  /* remaining/reset came from headers */
    long limit, remaining;
    int64_t reset_s;             /* epoch seconds */
    bool reset_unknown;          /* the header's reset was not believable: reset_s assumed */
} rate_slot;

struct tw_client {
    http_client *http;
    char base[512];
    char *ck, *cs, *tk, *ts;     /* copies of the credentials, wiped on free */
    char *bearer;                /* app-only token, or NULL; wiped on free */
    char app_names[160], user_names[160];
    int64_t max_wait_ns;
    int retries;
    int64_t deadline_ns;         /* clock_mono_ns() deadline of the run; 0: none */
    size_t body_max;
    rate_slot rate[TW_RATE_SLOTS];
    size_t nrate;
    tw_client_stats st;
};

static char *dup_secret(const char *s)
{
    return strdup(s ? s : "");
}

static void free_secret(char *s)
{
    if (s) {
        cfg_wipe(s, strlen(s));
        free(s);
    }
}

tw_client *tw_client_new(const tw_client_opts *o, char *err, size_t errlen)
{
    tw_client *c = calloc(1, sizeof *c);
    if (!c) {
        errf_set(err, errlen, "out of memory");
        return NULL;
    }
    size_t bl = strlen(o->base_url ? o->base_url : "");
    while (bl > 0 && o->base_url[bl - 1] == '/')
        bl--;
    if (bl == 0 || bl >= sizeof c->base ||
        (strncmp(o->base_url, "http://", 7) != 0 && strncmp(o->base_url, "https://", 8) != 0)) {
        errf_set(err, errlen, "TWITTER_API_URL: needs an http:// or https:// URL");
        free(c);
        return NULL;
    }
    memcpy(c->base, o->base_url, bl);
    c->base[bl] = '\0';
    c->ck = dup_secret(o->creds.consumer_key);
    c->cs = dup_secret(o->creds.consumer_secret);
    c->tk = dup_secret(o->creds.token);
    c->ts = dup_secret(o->creds.token_secret);
    if (o->bearer_token && o->bearer_token[0] && !(c->bearer = dup_secret(o->bearer_token))) {
        errf_set(err, errlen, "out of memory");
        tw_client_free(c);
        return NULL;
    }
    const char *an = o->app_names ? o->app_names : "TWITTER_API_KEY/TWITTER_API_SECRET";
    const char *un = o->user_names ? o->user_names : "TWITTER_ACCESS_TOKEN/TWITTER_ACCESS_SECRET";
    util_copy_cut(c->app_names, sizeof c->app_names, an, strlen(an));
    util_copy_cut(c->user_names, sizeof c->user_names, un, strlen(un));
    c->max_wait_ns = o->max_wait_ns;
    c->retries = o->retries < 0 ? 0 : o->retries;
    c->deadline_ns = o->deadline_ns;
    c->body_max = o->body_max ? o->body_max : TW_BODY_MAX;
    http_opts ho = { .connect_timeout_ms = 10000,
                     .timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 30000,
                     .body_max = c->body_max,
                     .ca_file = o->ca_file,
                     .user_agent = "cronflux-twitter-stats/" CF_VERSION };
    char herr[HTTP_ERR_MAX];
    c->http = http_new(&ho, herr, sizeof herr);
    if (!c->ck || !c->cs || !c->tk || !c->ts || !c->http) {
        errf_set(err, errlen, "%s", c->http ? "out of memory" : herr);
        tw_client_free(c);
        return NULL;
    }
    return c;
}

void tw_client_free(tw_client *c)
{
    if (!c)
        return;
    http_free(c->http);
    free_secret(c->ck);
    free_secret(c->cs);
    free_secret(c->tk);
    free_secret(c->ts);
    free_secret(c->bearer);
    free(c);
}

const tw_client_stats *tw_client_get_stats(const tw_client *c)
{
    return &c->st;
}

static rate_slot *slot_for(tw_client *c, const char *endpoint)
{
    for (size_t i = 0; i < c->nrate; i++)
        if (strcmp(c->rate[i].endpoint, endpoint) == 0)
            return &c->rate[i];
    rate_slot *s = c->nrate < TW_RATE_SLOTS ? &c->rate[c->nrate++] : &c->rate[TW_RATE_SLOTS - 1];
    memset(s, 0, sizeof *s);
    util_copy_cut(s->endpoint, sizeof s->endpoint, endpoint, strlen(endpoint));
    return s;
}

static int parse_long(const char *s, long *out)
{
    if (!s || !*s)
        return -1;
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || v < 0 || errno == ERANGE)
        return -1;
    *out = v;
    return 0;
}

/* A reset time (epoch seconds) is believed when it lies within a day of now: X windows
 * are 15 minutes (24 hours for a few endpoints). Anything else is "unknown". */
static int plausible_reset(long v, int64_t now_s)
{
    return (int64_t)v >= now_s - TW_RESET_SPAN_S && (int64_t)v <= now_s + TW_RESET_SPAN_S;
}

/* Remember what the rate-limit headers said. An implausible reset counts as a window of
 * TW_DEFAULT_WINDOW_S from now, said "unknown" in messages. */
static void slot_update(rate_slot *s, const http_resp *r)
{
    long rem, reset, lim;
    if (parse_long(http_resp_header(r, "x-rate-limit-remaining"), &rem) != 0)
        return;
    const char *rv = http_resp_header(r, "x-rate-limit-reset");
    int64_t now_s = (int64_t)time(NULL);
    if (parse_long(rv, &reset) == 0 && plausible_reset(reset, now_s)) {
        s->reset_s = reset;
        s->reset_unknown = false;
    } else if (rv) {
        s->reset_s = now_s + TW_DEFAULT_WINDOW_S;
        s->reset_unknown = true;
    } else {
        return;
    }
    s->known = true;
    s->remaining = rem;
    if (parse_long(http_resp_header(r, "x-rate-limit-limit"), &lim) == 0)
        s->limit = lim;
}

static void fmt_when(int64_t epoch_s, bool unknown, char *out, size_t cap)
{
    if (unknown) {
        int n = snprintf(out, cap, "an unknown time (x-rate-limit-reset is not a time within "
                         "a day; %d minutes assumed)", TW_DEFAULT_WINDOW_S / 60);
        if (n < 0 && cap)
            out[0] = '\0';
        return;
    }
    char t[40];
    tparse_format(epoch_s * TPARSE_NS_PER_S, t, sizeof t);
    int64_t in = epoch_s - (int64_t)time(NULL);
    if (in < 0)
        in = 0;
    int n = snprintf(out, cap, "%s (in %lldm%02llds)", t, (long long)(in / 60), (long long)(in % 60));
    if (n < 0 && cap)
        out[0] = '\0';
}

/* A wait for a window, when allowed: 1 with *wait_ms set (go again after it), 0 not
 * allowed. */
static int maybe_wait(tw_client *c, const char *endpoint, int64_t reset_s, int *waits,
                      long *wait_ms)
{
    int64_t wait_s = reset_s - (int64_t)time(NULL) + 1;
    if (wait_s < 1)
        wait_s = 1;
    if (*waits >= TW_MAX_RATE_WAITS || c->max_wait_ns <= 0 ||
        wait_s > c->max_wait_ns / TPARSE_NS_PER_S)
        return 0;
    (*waits)++;
    /* a wait of minutes must not look like a hang (kubectl logs -f, a terminal) */
    char until[40];
    log_info("%s: rate limited: waiting %llds for the window, until %s (--max-wait allows it)",
             endpoint, (long long)wait_s,
             tparse_format(((int64_t)time(NULL) + wait_s) * TPARSE_NS_PER_S, until, sizeof until));
    *wait_ms = (long)(wait_s * 1000);
    c->st.waited_s += (long)wait_s;
    return 1;
}

/* The message and code for a 401/403. */
static int auth_error(tw_client *c, const char *endpoint, long status, const tw_problem *p,
                      const char *problem, char *err, size_t errlen)
{
    const char *reason = status == 401 ? "401 Unauthorized" : "403 Forbidden";
    if (p->code == 453) {
        errf_set(err, errlen,
                 "%s: %s: %s: this app has no X API v1.1 access (the Free and Basic tiers "
                 "give none); use X API v2, the default: run without --api 1.1",
                 endpoint, reason, problem);
    } else if (strstr(p->type, "client-forbidden") || p->code == 261) {
        errf_set(err, errlen,
                 "%s: %s: %s: the app credentials %s (app) were refused: attach the app to a "
                 "Project in the developer portal, or use the keys of one that is",
                 endpoint, reason, problem, c->app_names);
    } else if (p->code == 89) {
        errf_set(err, errlen,
                 "%s: %s: %s: the credentials %s (user context) were refused: the access token "
                 "is invalid, expired or revoked; generate a new one for this app",
                 endpoint, reason, problem, c->user_names);
    } else if (status == 401) {
        errf_set(err, errlen,
                 "%s: %s: %s: the OAuth 1.0a credentials %s (user context) with %s (app) were "
                 "refused: check that the access token belongs to this app and that none of "
                 "the four was regenerated or revoked",
                 endpoint, reason, problem, c->user_names, c->app_names);
    } else {
        errf_set(err, errlen,
                 "%s: %s: %s: the credentials %s (user context) with %s (app) are not allowed "
                 "this request (app permissions or access level)",
                 endpoint, reason, problem, c->user_names, c->app_names);
    }
    return EX_NOPERM;
}

/* One signed GET of a retry_run and what its answer means. */
typedef struct get_try {
    tw_client *c;
    const char *endpoint;
    const char *url;
    http_resp *r;
    rate_slot *slot;
    oauth1_signed sig;
    bool bearer;               /* app-only token instead of OAuth 1.0a user context */
    buf bh;                    /* "Bearer TOKEN", wiped */
    int waits;                 /* rate-limit windows waited for */
    int ret;                   /* the outcome so far: 0 or an exit code */
    char *err;
    size_t errlen;
} get_try;

static const char *const tw_headers[] = { "x-rate-limit-limit", "x-rate-limit-remaining",
                                          "x-rate-limit-reset", NULL };

static retry_verdict get_once(void *ctx, int attempt, long *wait_ms)
{
    get_try *t = ctx;
    tw_client *c = t->c;
    const char *endpoint = t->endpoint;
    rate_slot *slot = t->slot;
    http_resp *r = t->r;
    char herr[HTTP_ERR_MAX], shown[TW_URL_MAX];

    /* never send what the window cannot take */
    int64_t now_s = (int64_t)time(NULL);
    if (slot->known && slot->remaining <= 0 && slot->reset_s > now_s) {
        if (maybe_wait(c, endpoint, slot->reset_s, &t->waits, wait_ms)) {
            slot->known = false;
            return RETRY_WAIT;
        }
        char when[160];
        fmt_when(slot->reset_s, slot->reset_unknown, when, sizeof when);
        errf_set(t->err, t->errlen,
                 "%s: rate limit used up (0 of %ld left in this window), request not sent; "
                 "the window resets at %s; points read so far are kept; run again after "
                 "that, or allow the wait with --max-wait",
                 endpoint, slot->limit, when);
        t->ret = EX_TEMPFAIL;
        return RETRY_STOP;
    }

    const char *authz;
    if (t->bearer) {
        if (!c->bearer || (!t->bh.p && (buf_adds(&t->bh, "Bearer ") != 0 ||
                                        buf_adds(&t->bh, c->bearer) != 0))) {
            errf_set(t->err, t->errlen, "%s: no usable TWITTER_BEARER_TOKEN", endpoint);
            t->ret = EX_CONFIG;
            return RETRY_STOP;
        }
        authz = t->bh.p;
        if (log_debug_enabled())
            log_debug("twitter: GET %s Authorization: Bearer <redacted>",
                      http_url_show(t->url, NULL, 1, shown, sizeof shown));
    } else {
        oauth1_creds cr = { c->ck, c->cs, c->tk, c->ts };
        oauth1_request rq = { .method = "GET", .url = t->url };
        char serr[256];
        if (oauth1_sign(&cr, &rq, &t->sig, serr, sizeof serr) != 0) {
            errf_set(t->err, t->errlen, "%s: %s", endpoint, serr);
            t->ret = EX_CONFIG;
            return RETRY_STOP;
        }
        authz = t->sig.header.p;
    }
    http_header hd[2] = { { "Authorization", authz }, { "Accept", "application/json" } };
    http_req req = { .method = "GET", .url = t->url, .headers = hd, .nheaders = 2,
                     .redact = authz, .want_headers = tw_headers };
    if (!t->bearer && log_debug_enabled()) {
        buf red;
        buf_init(&red, OAUTH1_MAX_TEXT);
        if (oauth1_redact_header(&red, t->sig.header.p) == 0)
            log_debug("twitter: GET %s Authorization: %s",
                      http_url_show(t->url, NULL, 1, shown, sizeof shown), red.p);
        buf_free(&red);
    }
    c->st.requests++;
    int hrc = http_request(c->http, &req, r, herr, sizeof herr);
    if (hrc != 0) {
        if (r->truncated) {
            errf_set(t->err, t->errlen,
                     "%s: the answer is larger than the %zu MiB cap on a response body; "
                     "refusing to read it (%s)",
                     endpoint, c->body_max >> 20, herr);
            t->ret = EX_DATAERR;
            return RETRY_STOP;
        }
        http_url_show(c->base, NULL, 0, shown, sizeof shown);
        if (r->timed_out) {
            /* no answer in time: temporary, like a 5xx */
            errf_set(t->err, t->errlen, "%s: the X API at %s did not answer in time after %d "
                     "tries: %s; points read so far are kept; try again later", endpoint, shown,
                     attempt, herr);
            t->ret = EX_TEMPFAIL;
        } else {
            errf_set(t->err, t->errlen, "%s: the X API at %s is unreachable after %d tries: %s",
                     endpoint, shown, attempt, herr);
            t->ret = EX_UNAVAILABLE;
        }
        if (attempt <= c->retries)
            c->st.retries++;
        return RETRY_AGAIN;
    }
    slot_update(slot, r);
    long st = r->status;
    if (st >= 200 && st < 300) {
        t->ret = 0;
        return RETRY_STOP;
    }
    tw_problem p;
    char problem[TW_MSG_MAX];
    tw_parse_error(r->body.p, r->body.len, &p, problem, sizeof problem);
    if (!problem[0])
        util_copy_cut(problem, sizeof problem, "(empty body)", sizeof "(empty body)" - 1);

    if (st == 429 && tw_problem_usage_capped(&p)) {
        /* the app's cap or spending limit: no window to wait for, no retry */
        c->st.usage_capped++;
        char what[64] = "";
        if ((p.period[0] || p.scope[0]) &&
            snprintf(what, sizeof what, " (%s%s%s%s)", p.period, p.period[0] ? " cap" : "",
                     p.period[0] && p.scope[0] ? ", scope " : p.scope[0] ? "scope " : "",
                     p.scope) < 0)
            what[0] = '\0';
        errf_set(t->err, t->errlen,
                 "%s: 429 UsageCapExceeded: %s%s: X refuses this app's reads until the cap "
                 "resets (the next billing cycle) or its spending limit or credits change in "
                 "the developer console; waiting does not help; no request is sent until the "
                 "next UTC day (--force tries earlier); points read so far are kept",
                 endpoint, p.detail[0] ? p.detail : problem, what);
        t->ret = EX_TEMPFAIL;
        return RETRY_STOP;
    }
    if (st == 429) {
        c->st.rate_limited++;
        int64_t reset_s = 0;
        long lv;
        bool unknown = false;
        const char *how = "";
        const char *rv = http_resp_header(r, "x-rate-limit-reset");
        if (parse_long(rv, &lv) == 0 && plausible_reset(lv, now_s)) {
            reset_s = lv;
        } else if ((lv = http_retry_after_s(r)) >= 0) {
            reset_s = (int64_t)time(NULL) + lv;
            how = " (from Retry-After)";
        } else {
            reset_s = (int64_t)time(NULL) + TW_DEFAULT_WINDOW_S;
            unknown = rv != NULL;
            how = rv ? "" : " (no x-rate-limit-reset header; a 15-minute window assumed)";
        }
        slot->known = true;
        slot->remaining = 0;
        slot->reset_s = reset_s;
        slot->reset_unknown = unknown;
        if (maybe_wait(c, endpoint, reset_s, &t->waits, wait_ms)) {
            slot->known = false;
            return RETRY_WAIT;
        }
        char when[160];
        fmt_when(reset_s, unknown, when, sizeof when);
        errf_set(t->err, t->errlen,
                 "%s: 429 rate limited: %s; the window resets at %s%s; points read so far "
                 "are kept; run again after that, or allow the wait with --max-wait",
                 endpoint, problem, when, how);
        t->ret = EX_TEMPFAIL;
        return RETRY_STOP;
    }
    if ((st == 401 || st == 403) && t->bearer) {
        errf_set(t->err, t->errlen, "%s: %ld: %s: the app-only token TWITTER_BEARER_TOKEN was "
                 "refused: copy the Bearer Token of this app from the developer portal",
                 endpoint, st, problem);
        t->ret = EX_NOPERM;
        return RETRY_STOP;
    }
    if (st == 401 || st == 403) {
        t->ret = auth_error(c, endpoint, st, &p, problem, t->err, t->errlen);
        return RETRY_STOP;
    }
    http_url_show(c->base, NULL, 0, shown, sizeof shown);
    if (st >= 500) {
        /* a server error is temporary in every source (docs/DESIGN.md, "Exit codes") */
        errf_set(t->err, t->errlen, "%s: HTTP %ld after %d tries: %s: the X API is not "
                 "answering; points read so far are kept; try again later", endpoint, st,
                 attempt, problem);
        t->ret = EX_TEMPFAIL;
        long ra = http_retry_after_s(r);
        if (ra >= 0 && ra <= TW_RETRY_AFTER_MAX_S)
            *wait_ms = ra * 1000;
        if (attempt <= c->retries)
            c->st.retries++;
        return RETRY_AGAIN;
    }
    if (st == 400) {
        errf_set(t->err, t->errlen, "%s: 400 Bad Request: %s: check the accounts (--users, "
                 "TWITTER_USERS) and the time range flags", endpoint, problem);
    } else if (st == 404) {
        errf_set(t->err, t->errlen, "%s: 404 Not Found: %s: check TWITTER_API_URL (%s)",
                 endpoint, problem, shown);
    } else {
        errf_set(t->err, t->errlen, "%s: unexpected HTTP %ld: %s: check TWITTER_API_URL (%s)",
                 endpoint, st, problem, shown);
    }
    t->ret = EX_CONFIG;
    return RETRY_STOP;
}

/* tw_get (bearer false: OAuth 1.0a user context) and tw_get_app (bearer true). */
static int get(tw_client *c, const char *endpoint, const char *path_query, bool bearer,
               http_resp *r, char *err, size_t errlen)
{
    buf url;
    buf_init(&url, TW_URL_MAX);
    if (buf_adds(&url, c->base) != 0 || buf_adds(&url, path_query) != 0) {
        buf_free(&url);
        errf_set(err, errlen, "%s: request URL longer than %d bytes", endpoint, TW_URL_MAX);
        return EX_CONFIG;
    }
    get_try t = { .c = c, .endpoint = endpoint, .url = url.p, .r = r,
                  .slot = slot_for(c, endpoint), .bearer = bearer, .ret = EX_SOFTWARE,
                  .err = err, .errlen = errlen };
    oauth1_signed_init(&t.sig);
    buf_init(&t.bh, 8192);
    retry_policy p = { .max_attempts = c->retries + 1, .backoff_base_ms = 500,
                       .backoff_max_ms = 8000, .deadline_ns = c->deadline_ns };
    (void)retry_run(&p, get_once, &t, NULL);
    oauth1_signed_free(&t.sig);
    if (t.bh.p)
        cfg_wipe(t.bh.p, t.bh.len);
    buf_free(&t.bh);
    buf_free(&url);
    return t.ret;
}

int tw_get(tw_client *c, const char *endpoint, const char *path_query, http_resp *r,
           char *err, size_t errlen)
{
    return get(c, endpoint, path_query, false, r, err, errlen);
}

int tw_get_app(tw_client *c, const char *endpoint, const char *path_query, http_resp *r,
               char *err, size_t errlen)
{
    return get(c, endpoint, path_query, true, r, err, errlen);
}

bool tw_client_has_bearer(const tw_client *c)
{
    return c->bearer != NULL;
}
