/* k8s_api: configuration, the bearer-token client, and the paged list walker. */
#include "k8s_api.h"
#include "../../runtime/errf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../runtime/buf.h"
#include "../../runtime/cfg.h"
#include "../../runtime/http.h"
#include "../../runtime/jsonu.h"
#include "../../runtime/log.h"
#include "../../runtime/retry.h"
#include "k8s_objects.h"
#include "../../runtime/exitcode.h"

#define GONE 1000                       /* internal: 410 on a continue token */
#define RETRY_AFTER_MAX_S 10            /* longest Retry-After we sit through */
#define PATHQ_MAX ((size_t)64 * 1024)        /* path + query (continue tokens can be long) */
#define MSG_MAX 300                     /* a server's Status message in our messages */

struct k8s_api {
    http_client *http;
    k8s_config cfg;
    char *token;          /* NULL: no Authorization header */
    char *auth;           /* "Bearer <token>" */
    int retries;
    long backoff_ms;
    long timeout_ms;
    int64_t deadline_ns;  /* clock_mono_ns() deadline of the run; 0: none */
    http_resp resp;
};

static int copy_str(char *dst, size_t cap, const char *src)
{
    int n = snprintf(dst, cap, "%s", src);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* ---- configuration ---------------------------------------------------------------- */

int k8s_config_load(k8s_config *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    const char *url = cfg_env("KUBE_API_URL");
    const char *sa_dir = cfg_env("KUBE_SA_DIR");
    if (!sa_dir)
        sa_dir = K8S_SA_DIR_DEFAULT;
    const char *tok_file = cfg_env("KUBE_TOKEN_FILE");
    const char *tok_env = cfg_env("KUBE_TOKEN");
    const char *ca = cfg_env("KUBE_CA_FILE");
    char path[K8S_PATH_MAX];
    int n;

    if (url) {
        if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
            errf_fail(err, errlen, "KUBE_API_URL must start with http:// or https://");
            return EX_CONFIG;
        }
        if (copy_str(c->url, sizeof c->url, url) != 0) {
            errf_fail(err, errlen, "KUBE_API_URL is longer than %d characters", K8S_URL_MAX - 1);
            return EX_CONFIG;
        }
        c->source = "KUBE_API_URL";
    } else {
        const char *host = cfg_env("KUBERNETES_SERVICE_HOST");
        const char *port = cfg_env("KUBERNETES_SERVICE_PORT");
        if (!host) {
            errf_fail(err, errlen,
                      "no Kubernetes API configured: set KUBE_API_URL (e.g. http://127.0.0.1:8001 "
                      "from kubectl proxy, with KUBE_TOKEN_FILE and KUBE_CA_FILE as needed) or run "
                      "in a pod with a service account (KUBERNETES_SERVICE_HOST)");
            return EX_CONFIG;
        }
        if (!port)
            port = "443";
        if (strspn(port, "0123456789") != strlen(port) || strlen(port) > 5) {
            errf_fail(err, errlen, "KUBERNETES_SERVICE_PORT is not a port number");
            return EX_CONFIG;
        }
        if (strchr(host, ':'))
            n = snprintf(c->url, sizeof c->url, "https://[%s]:%s", host, port);
        else
            n = snprintf(c->url, sizeof c->url, "https://%s:%s", host, port);
        if (n < 0 || (size_t)n >= sizeof c->url) {
            errf_fail(err, errlen, "KUBERNETES_SERVICE_HOST is too long");
            return EX_CONFIG;
        }
        c->source = "in-cluster service account";
        if (!tok_file && !tok_env) {
            n = snprintf(path, sizeof path, "%s/token", sa_dir);
            if (n < 0 || (size_t)n >= sizeof path) {
                errf_fail(err, errlen, "KUBE_SA_DIR is too long");
                return EX_CONFIG;
            }
            tok_file = path;
        }
        if (!ca) {
            n = snprintf(c->ca_file, sizeof c->ca_file, "%s/ca.crt", sa_dir);
            if (n < 0 || (size_t)n >= sizeof c->ca_file) {
                errf_fail(err, errlen, "KUBE_SA_DIR is too long");
                return EX_CONFIG;
            }
        }
        char nspath[K8S_PATH_MAX], e[256];
        n = snprintf(nspath, sizeof nspath, "%s/namespace", sa_dir);
        if (n > 0 && (size_t)n < sizeof nspath && access(nspath, R_OK) == 0) {
            char *ns = cfg_read_file(nspath, sizeof c->sa_namespace - 1, 1, e, sizeof e);
            if (ns) {
                copy_str(c->sa_namespace, sizeof c->sa_namespace, ns);
                free(ns);
            }
        }
    }
    /* strip trailing slashes from the base */
    for (size_t l = strlen(c->url); l > 0 && c->url[l - 1] == '/'; l--)
        c->url[l - 1] = '\0';

    if (ca && copy_str(c->ca_file, sizeof c->ca_file, ca) != 0) {
        errf_fail(err, errlen, "KUBE_CA_FILE is too long");
        return EX_CONFIG;
    }
    if (tok_env) {
        c->has_token = 1;   /* KUBE_TOKEN wins over KUBE_TOKEN_FILE (cfg_secret) */
    } else if (tok_file) {
        c->has_token = 1;
        if (copy_str(c->token_file, sizeof c->token_file, tok_file) != 0) {
            errf_fail(err, errlen, "KUBE_TOKEN_FILE is too long");
            return EX_CONFIG;
        }
    }
    return 0;
}

/* ---- the client ------------------------------------------------------------------- */

static void wipe_free(char *p)
{
    if (p) {
        cfg_wipe(p, strlen(p));
        free(p);
    }
}

/* Read the token (file or KUBE_TOKEN) into a fresh string. NULL with err (never the value). */
static char *token_read(const k8s_config *c, char *err, size_t errlen)
{
    char *t;
    if (c->token_file[0]) {
        char e[HTTP_ERR_MAX];
        t = cfg_read_file(c->token_file, CFG_SECRET_MAX, 1, e, sizeof e);
        if (!t) {
            errf_fail(err, errlen, "bearer token: %s", e);
            return NULL;
        }
    } else {
        char *v = malloc(CFG_SECRET_MAX);
        if (!v) {
            errf_fail(err, errlen, "out of memory");
            return NULL;
        }
        int r = cfg_secret("KUBE_TOKEN", v, CFG_SECRET_MAX, err, errlen);
        if (r != 1) {
            if (r == 0)
                errf_fail(err, errlen, "KUBE_TOKEN is empty");
            cfg_wipe(v, CFG_SECRET_MAX);
            free(v);
            return NULL;
        }
        t = v;
    }
    /* a trailing newline was removed; surrounding blanks are never part of a token */
    size_t l = strlen(t);
    while (l > 0 && (t[l - 1] == ' ' || t[l - 1] == '\t' || t[l - 1] == '\n' || t[l - 1] == '\r'))
        t[--l] = '\0';
    if (l == 0) {
        errf_fail(err, errlen, "bearer token %s is empty", c->token_file[0] ? c->token_file : "KUBE_TOKEN");
        wipe_free(t);
        return NULL;
    }
    for (size_t i = 0; i < l; i++) {
        unsigned char ch = (unsigned char)t[i];
        if (ch < 0x20 || ch == 0x7f) {
            errf_fail(err, errlen, "bearer token %s holds a control character",
                      c->token_file[0] ? c->token_file : "KUBE_TOKEN");
            wipe_free(t);
            return NULL;
        }
    }
    return t;
}

static int set_token(k8s_api *a, char *t)
{
    buf b;
    buf_init(&b, CFG_SECRET_MAX + 16);
    if (buf_adds(&b, "Bearer ") != 0 || buf_adds(&b, t) != 0) {
        if (b.p)
            cfg_wipe(b.p, b.len);
        buf_free(&b);
        return -1;
    }
    char *auth = buf_steal(&b);
    if (!auth)
        return -1;
    wipe_free(a->token);
    wipe_free(a->auth);
    a->token = t;
    a->auth = auth;
    return 0;
}

k8s_api *k8s_api_new(const k8s_config *c, const k8s_api_opts *o, int *code, char *err,
                     size_t errlen)
{
    *code = EX_CONFIG;
    k8s_api *a = calloc(1, sizeof *a);
    if (!a) {
        errf_fail(err, errlen, "out of memory");
        *code = EX_TEMPFAIL;
        return NULL;
    }
    a->cfg = *c;
    a->retries = o && o->retries >= 0 ? o->retries : 2;
    a->backoff_ms = o && o->backoff_ms > 0 ? o->backoff_ms : 250;
    a->timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : 60000;
    a->deadline_ns = o ? o->deadline_ns : 0;
    http_resp_init(&a->resp);

    if (c->ca_file[0] && access(c->ca_file, R_OK) != 0) {
        errf_fail(err, errlen, "CA bundle %s: %s (set KUBE_CA_FILE or KUBE_SA_DIR)", c->ca_file,
                  strerror(errno));
        goto fail;
    }
    if (c->has_token) {
        char *t = token_read(c, err, errlen);
        if (!t)
            goto fail;
        if (set_token(a, t) != 0) {
            wipe_free(t);
            errf_fail(err, errlen, "out of memory");
            goto fail;
        }
    }
    http_opts ho = { .timeout_ms = a->timeout_ms,
                     .ca_file = c->ca_file[0] ? c->ca_file : NULL };
    a->http = http_new(&ho, err, errlen);
    if (!a->http)
        goto fail;
    *code = 0;
    return a;
fail:
    k8s_api_free(a);
    return NULL;
}

void k8s_api_free(k8s_api *a)
{
    if (!a)
        return;
    http_free(a->http);
    http_resp_free(&a->resp);
    wipe_free(a->token);
    wipe_free(a->auth);
    free(a);
}

/* ---- Status bodies ---------------------------------------------------------------- */

void k8s_status_message(const char *body, size_t len, char *out, size_t cap)
{
    if (!out || cap == 0)
        return;
    out[0] = '\0';
    if (!body || len == 0)
        return;
    json_error_t je;
    json_t *root = json_loadb(body, len, 0, &je);
    if (!root)
        return;
    json_t *kind = json_object_get(root, "kind");
    json_t *msg = json_object_get(root, "message");
    if (json_is_string(kind) && strcmp(json_string_value(kind), "Status") == 0 && json_is_string(msg))
        k8s_printable(json_string_value(msg), out, cap);
    json_decref(root);
}

/* ---- one GET ---------------------------------------------------------------------- */

typedef struct get_ctx {
    const char *path;         /* for messages: path without the query */
    const char *resource;     /* "pods" */
    int optional;
    int has_continue;
} get_ctx;

/* One GET of a retry_run: the request and what its answer means. */
typedef struct get_try {
    k8s_api *a;
    const get_ctx *g;
    http_header hdr[2];
    http_req req;
    int reread;               /* the token file was read again after a 401 */
    int rc;                   /* the outcome so far (an exit code, K8S_ABSENT, GONE) */
    char *err;
    size_t errlen;
    char e[HTTP_ERR_MAX];     /* the last network error */
} get_try;

static retry_verdict get_once(void *ctx, int attempt, long *wait_ms)
{
    get_try *t = ctx;
    k8s_api *a = t->a;
    const get_ctx *g = t->g;
    char msg[MSG_MAX];
    t->req.timeout_ms = retry_timeout_ms(a->timeout_ms, a->deadline_ns);
    if (http_request(a->http, &t->req, &a->resp, t->e, sizeof t->e) != 0) {
        if (a->resp.truncated) {
            errf_fail(t->err, t->errlen, "GET %s: the answer is larger than the client's cap: "
                      "try a smaller --page-size", g->path);
            t->rc = EX_DATAERR;
            return RETRY_STOP;
        }
        /* no answer in time is temporary; a refused connection or TLS is not */
        t->rc = a->resp.timed_out ? EX_TEMPFAIL : EX_UNAVAILABLE;
        log_debug("GET %s: %s; %s", g->path, t->e,
                  attempt <= a->retries ? "retrying" : "giving up");
        return RETRY_AGAIN;
    }
    long st = a->resp.status;
    if (st >= 200 && st < 300) {
        t->rc = 0;
        return RETRY_STOP;
    }
    k8s_status_message(a->resp.body.p, a->resp.body.len, msg, sizeof msg);
    if (st == 401) {
        if (!t->reread && a->cfg.token_file[0]) {
            /* the token may have rotated while we ran: read it once more */
            t->reread = 1;
            char e2[HTTP_ERR_MAX];
            char *tok = token_read(&a->cfg, e2, sizeof e2);
            if (tok && a->token && strcmp(tok, a->token) != 0 && set_token(a, tok) == 0) {
                t->hdr[1].value = a->auth;
                t->req.redact = a->token;
                log_debug("GET %s: 401; the token file changed, retrying with it", g->path);
                *wait_ms = 0;
                return RETRY_WAIT;   /* not counted as an attempt */
            }
            wipe_free(tok);
        }
        errf_fail(t->err, t->errlen,
                  "GET %s: 401 Unauthorized%s%s: the API server refused the %s (%s)%s",
                  g->path, msg[0] && strcmp(msg, "Unauthorized") != 0 ? ": " : "",
                  msg[0] && strcmp(msg, "Unauthorized") != 0 ? msg : "",
                  a->auth ? "bearer token" : "request without a token",
                  a->cfg.token_file[0] ? a->cfg.token_file
                  : a->auth ? "KUBE_TOKEN" : "set KUBE_TOKEN_FILE or use the service account",
                  a->auth ? "; give the job a valid token for this cluster" : "");
        t->rc = EX_NOPERM;
        return RETRY_STOP;
    }
    if (st == 403) {
        errf_fail(t->err, t->errlen,
                  "forbidden: list %s (GET %s): %s; grant the service account%s%s get and list "
                  "on %s (see k8s/rbac.yaml)",
                  g->resource, g->path, msg[0] ? msg : "403 Forbidden",
                  a->cfg.sa_namespace[0] ? " in namespace " : "", a->cfg.sa_namespace,
                  g->resource);
        t->rc = EX_NOPERM;
        return RETRY_STOP;
    }
    if (g->optional && (st == 404 || st == 503)) {
        errf_fail(t->err, t->errlen, "GET %s: HTTP %ld%s%s", g->path, st, msg[0] ? ": " : "",
                  msg);
        t->rc = K8S_ABSENT;
        return RETRY_STOP;
    }
    if (st == 404) {
        char shown[K8S_URL_MAX];
        errf_fail(t->err, t->errlen, "GET %s: 404 Not Found: %s does not look like a Kubernetes "
                  "API server%s%s", g->path,
                  http_url_show(a->cfg.url, NULL, 0, shown, sizeof shown), msg[0] ? ": " : "",
                  msg);
        t->rc = EX_CONFIG;
        return RETRY_STOP;
    }
    if (st == 410 && g->has_continue) {
        errf_fail(t->err, t->errlen, "GET %s: 410 Gone: the continue token expired%s%s", g->path,
                  msg[0] ? ": " : "", msg);
        t->rc = GONE;
        return RETRY_STOP;
    }
    if (st == 429 || st >= 500) {
        /* rate limited or a server error: temporary (docs/DESIGN.md, "Exit codes") */
        errf_fail(t->err, t->errlen, "GET %s: HTTP %ld from the Kubernetes API%s%s", g->path,
                  st, msg[0] ? ": " : "", msg);
        t->rc = EX_TEMPFAIL;
        long ra = http_retry_after_s(&a->resp);
        if (ra >= 0)
            *wait_ms = ra * 1000L;
        log_debug("GET %s: HTTP %ld; %s", g->path, st,
                  attempt <= a->retries ? "retrying" : "giving up");
        return RETRY_AGAIN;
    }
    errf_fail(t->err, t->errlen, "GET %s: HTTP %ld from the Kubernetes API%s%s", g->path, st,
              msg[0] ? ": " : "", msg);
    t->rc = EX_UNAVAILABLE;
    return RETRY_STOP;
}

/* GET base+pathq. 0 with the body in a->resp; K8S_ABSENT; GONE; or an exit code. */
static int api_get(k8s_api *a, const char *pathq, const get_ctx *g, char *err, size_t errlen)
{
    buf url;
    buf_init(&url, K8S_URL_MAX + PATHQ_MAX);
    if (buf_adds(&url, a->cfg.url) != 0 || buf_adds(&url, pathq) != 0) {
        buf_free(&url);
        errf_fail(err, errlen, "GET %s: URL too long", g->path);
        return EX_UNAVAILABLE;
    }
    get_try t = { .a = a, .g = g, .err = err, .errlen = errlen };
    t.hdr[0] = (http_header){ "Accept", "application/json" };
    t.hdr[1] = (http_header){ "Authorization", a->auth };
    t.req = (http_req){ .method = "GET", .url = url.p, .headers = t.hdr,
                        .nheaders = a->auth ? 2 : 1, .redact = a->token };
    retry_policy p = { .max_attempts = a->retries + 1, .backoff_base_ms = a->backoff_ms,
                       .backoff_max_ms = 5000, .retry_after_max_ms = RETRY_AFTER_MAX_S * 1000L,
                       .deadline_ns = a->deadline_ns };
    retry_end end = retry_run(&p, get_once, &t, NULL);
    if (end != RETRY_END_STOPPED && t.rc == EX_UNAVAILABLE && t.e[0]) {
        /* no answer at all: say where the API was looked for */
        bool tls = strstr(t.e, "SSL") || strstr(t.e, "certificate") || strstr(t.e, "TLS");
        errf_fail(err, errlen, "%s (Kubernetes API from %s%s)", t.e, a->cfg.source,
                  tls ? "; the server's certificate must verify against the CA in KUBE_CA_FILE "
                        "or KUBE_SA_DIR/ca.crt"
                      : "; is it running and reachable from here?");
    } else if (end != RETRY_END_STOPPED && t.rc == EX_TEMPFAIL && a->resp.timed_out) {
        errf_fail(err, errlen, "%s (Kubernetes API from %s: no answer in time)", t.e,
                  a->cfg.source);
    }
    buf_free(&url);
    return t.rc;
}

/* ---- lists ------------------------------------------------------------------------ */

static int build_pathq(buf *b, const char *path, int limit, const char *cont)
{
    buf_reset(b);
    if (buf_adds(b, path) != 0)
        return -1;
    char sep = strchr(path, '?') ? '&' : '?';
    if (limit > 0) {
        if (buf_printf(b, "%climit=%d", sep, limit) != 0)
            return -1;
        sep = '&';
    }
    if (cont && *cont) {
        if (buf_printf(b, "%ccontinue=", sep) != 0 || http_urlencode(b, cont) != 0)
            return -1;
    }
    return 0;
}

int k8s_list(k8s_api *a, const k8s_list_req *r, k8s_list_stats *st, char *err, size_t errlen)
{
    k8s_list_stats local;
    if (!st)
        st = &local;
    memset(st, 0, sizeof *st);
    int max_restarts = r->max_restarts < 0 ? 3 : r->max_restarts;
    char *cont = NULL;
    buf pathq;
    buf_init(&pathq, PATHQ_MAX);
    int rc = 0, page = 0;

    for (;;) {
        page++;
        if (build_pathq(&pathq, r->path, r->page_size, cont) != 0) {
            errf_fail(err, errlen, "GET %s: continue token too long", r->path);
            rc = EX_UNAVAILABLE;
            break;
        }
        get_ctx g = { .path = r->path, .resource = r->resource, .optional = r->optional,
                      .has_continue = cont != NULL };
        rc = api_get(a, pathq.p, &g, err, errlen);
        if (rc == GONE) {
            if (st->restarts >= max_restarts) {
                char e[K8S_ERR_MAX];
                copy_str(e, sizeof e, err);
                errf_fail(err, errlen, "list %s: %s; started over %d times and it expired again: "
                          "try a larger --page-size", r->resource, e, st->restarts);
                rc = EX_UNAVAILABLE;
                break;
            }
            st->restarts++;
            log_debug("list %s: continue token expired (410); starting over (%d of %d)",
                      r->resource, st->restarts, max_restarts);
            if (r->on_restart)
                r->on_restart(r->ctx);
            free(cont);
            cont = NULL;
            page = 0;
            continue;
        }
        if (rc != 0)
            break;
        st->pages++;
        if (a->resp.body.len > st->max_page_bytes)
            st->max_page_bytes = a->resp.body.len;

        char what[256];
        int n = snprintf(what, sizeof what, "GET %s (page %d)", r->path, page);
        if (n < 0)
            what[0] = '\0';
        char e[K8S_ERR_MAX];
        json_t *root = jsonu_parse(a->resp.body.p ? a->resp.body.p : "", a->resp.body.len,
                                   what, e, sizeof e);
        if (!root) {
            errf_fail(err, errlen, "%s: %s", r->resource, e);
            rc = EX_DATAERR;
            break;
        }
        json_t *items;
        const char *next;
        if (k8s_list_parse(root, &items, &next, e, sizeof e) != 0) {
            json_decref(root);
            errf_fail(err, errlen, "%s: %s", what, e);
            rc = EX_DATAERR;
            break;
        }
        size_t i;
        json_t *item;
        json_array_foreach(items, i, item) {
            st->items++;
            rc = r->on_item(r->ctx, item, err, errlen);
            if (rc != 0)
                break;
        }
        log_debug("list %s: page %d: %zu items, %zu bytes%s", r->resource, page,
                  json_array_size(items), a->resp.body.len, next[0] ? ", more" : "");
        char *nc = NULL;
        if (rc == 0 && next[0] && cont && strcmp(next, cont) == 0) {
            errf_fail(err, errlen, "%s: the continue token did not change: the server would "
                      "send the same page forever", what);
            rc = EX_DATAERR;
        } else if (rc == 0 && next[0] && !(nc = strdup(next))) {
            errf_fail(err, errlen, "out of memory");
            rc = EX_TEMPFAIL;
        }
        json_decref(root);
        free(cont);
        cont = nc;
        if (rc != 0 || !cont)
            break;
    }
    free(cont);
    buf_free(&pathq);
    return rc;
}
