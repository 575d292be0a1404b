/* http: the one HTTP client over libcurl (see http.h). */
#include "http.h"
#include "errf.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cfg.h"
#include "clock.h"
#include "log.h"
#include "sig.h"
#include "util.h"

#ifndef CF_VERSION
#define CF_VERSION "0.0.0-dev"
#endif

#define HTTP_URL_SHOW_MAX 256   /* longest URL shown in a message */
#define HTTP_HEADER_LINE_MAX 16384

struct http_client {
    CURL *h;
    long connect_timeout_ms;
    long timeout_ms;
    size_t body_max;
    char errbuf[CURL_ERROR_SIZE];
};

/* Per-request state the callbacks see. */
typedef struct {
    http_resp *r;
    size_t max;
    long timeout_ms;   /* the client's */
} http_ctx;

/* Replace every occurrence of needle in s (a NUL-terminated string in a buffer of cap
 * bytes) by "***". The result never grows past cap-1. */
static void scrub(char *s, size_t cap, const char *needle)
{
    if (!needle || !*needle || !s)
        return;
    size_t nl = strlen(needle);
    char out[1024];
    if (cap > sizeof out)
        cap = sizeof out;
    size_t o = 0;
    const char *p = s;
    int changed = 0;
    while (*p && o + 1 < cap) {
        if (strncmp(p, needle, nl) == 0) {
            const char *mask = "***";
            for (const char *m = mask; *m && o + 1 < cap; m++)
                out[o++] = *m;
            p += nl;
            changed = 1;
        } else {
            out[o++] = *p++;
        }
    }
    if (!changed)
        return;
    out[o] = '\0';
    memcpy(s, out, o + 1);
}

char *http_url_show(const char *url, const char *redact, int keep_query, char *out, size_t cap)
{
    if (cap == 0)
        return out;
    out[0] = '\0';
    if (!url)
        return out;
    size_t end = keep_query ? strcspn(url, "#") : strcspn(url, "?#");
    const char *scheme_end = strstr(url, "://");
    size_t auth = 0; /* where the authority starts ("host" when curl guesses the scheme) */
    if (scheme_end && (size_t)(scheme_end - url) < end)
        auth = (size_t)(scheme_end - url) + 3;
    size_t auth_end = auth + strcspn(url + auth, "/?#");
    /* the last '@' in the authority ends the userinfo */
    size_t at = 0;
    for (size_t k = auth; k < auth_end; k++)
        if (url[k] == '@')
            at = k + 1;
    size_t head = auth < cap - 1 ? auth : cap - 1; /* "scheme://" */
    memcpy(out, url, head);
    size_t o = head;
    size_t i = at ? at : auth;
    while (i < end && o + 1 < cap)
        out[o++] = url[i++];
    out[o] = '\0';
    if (i < end && cap > 4) {
        /* cut: say so */
        memcpy(out + cap - 4, "...", 4);
    }
    scrub(out, cap, redact);
    return out;
}

char *http_url_host(const char *url, char *out, size_t cap)
{
    if (!url || !out || cap == 0)
        return NULL;
    CURLU *u = curl_url();
    if (!u)
        return NULL;
    char *host = NULL;
    char *ret = NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host && strlen(host) < cap) {
        memcpy(out, host, strlen(host) + 1);
        ret = out;
    }
    curl_free(host);
    curl_url_cleanup(u);
    return ret;
}

int http_global_init(char *err, size_t errlen)
{
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) {
        errf_set(err, errlen, "libcurl: global init: %s", curl_easy_strerror(rc));
        return -1;
    }
    return 0;
}

void http_global_cleanup(void)
{
    curl_global_cleanup();
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    http_ctx *x = userdata;
    size_t n = size * nmemb;
    http_resp *r = x->r;
    if (n > x->max - r->body.len) {
        /* keep what fits, then stop the transfer */
        size_t fit = x->max - r->body.len;
        if (fit)
            (void)buf_add(&r->body, data, fit);
        r->truncated = 1;
        return 0;
    }
    if (buf_add(&r->body, data, n) != 0)
        return 0; /* out of memory */
    return n;
}

static void clear_headers(http_resp *r)
{
    r->content_type[0] = '\0';
    r->retry_after_s = -1;
    buf_reset(&r->headers);
    r->timed_out = 0;
}

/* libcurl's progress callback (about once a second while a transfer waits, more often
 * while it moves): non-zero aborts the transfer with CURLE_ABORTED_BY_CALLBACK. */
static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)userdata;
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return sig_stop_requested() ? 1 : 0;
}

/* The last value of response header `name` of the last request on h (origin: the final
 * response's headers, not a 1xx's or a proxy's), or NULL. */
static const char *last_header(CURL *h, const char *name)
{
    struct curl_header *hd = NULL;
    if (curl_easy_header(h, name, 0, CURLH_HEADER, -1, &hd) != CURLHE_OK || !hd)
        return NULL;
    if (hd->amount > 1 &&
        curl_easy_header(h, name, hd->amount - 1, CURLH_HEADER, -1, &hd) != CURLHE_OK)
        return NULL;
    return hd ? hd->value : NULL;
}

/* After an answer: Content-Type, Retry-After and the headers the request asked for. */
static void keep_headers(CURL *h, const http_req *req, http_resp *r)
{
    char *ct = NULL;
    if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
        util_copy_cut(r->content_type, sizeof r->content_type, ct, strlen(ct));
    const char *ra = last_header(h, "Retry-After");
    long want = http_retry_after_parse(ra);
    if (want >= 0) {
        /* curl's reading of the same header (delta-seconds, or the date less now) */
        curl_off_t s = 0;
        if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &s) == CURLE_OK && s >= 0 &&
            s <= LONG_MAX)
            want = (long)s;
        r->retry_after_s = want;
    }
    for (const char *const *n = req->want_headers; n && *n; n++) {
        const char *v = last_header(h, *n);
        if (!v)
            continue;
        /* libcurl 7.88 leaves the CR of an empty value ("Name: \r\n" gives "\r"): the
         * value is kept without white space around it */
        size_t vl = strlen(v);
        while (vl > 0 && (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n')) {
            v++;
            vl--;
        }
        while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t' || v[vl - 1] == '\r' ||
                          v[vl - 1] == '\n'))
            vl--;
        size_t nl = strlen(*n) + 1;
        if (buf_add(&r->headers, *n, nl) != 0 || buf_add(&r->headers, v, vl) != 0 ||
            buf_add(&r->headers, "", 1) != 0) {
            /* a header over the cap is as if absent: drop the half-written pair */
            buf_reset(&r->headers);
            break;
        }
    }
}

const char *http_resp_header(const http_resp *r, const char *name)
{
    if (!r || !name || !r->headers.p)
        return NULL;
    const char *p = r->headers.p, *end = r->headers.p + r->headers.len;
    while (p < end) {
        const char *v = p + strlen(p) + 1;
        if (v >= end)
            break;
        if (strcasecmp(p, name) == 0)
            return v;
        p = v + strlen(v) + 1;
    }
    return NULL;
}

http_client *http_new(const http_opts *opts, char *err, size_t errlen)
{
    http_opts o;
    memset(&o, 0, sizeof o);
    if (opts)
        o = *opts;
    http_client *c = calloc(1, sizeof *c);
    if (!c) {
        errf_set(err, errlen, "http: out of memory");
        return NULL;
    }
    c->connect_timeout_ms = o.connect_timeout_ms > 0 ? o.connect_timeout_ms : 10000;
    c->timeout_ms = o.timeout_ms > 0 ? o.timeout_ms : 60000;
    c->body_max = o.body_max > 0 ? o.body_max : HTTP_BODY_MAX_DEFAULT;
    c->h = curl_easy_init();
    if (!c->h) {
        errf_set(err, errlen, "http: curl_easy_init failed");
        free(c);
        return NULL;
    }
    CURL *h = c->h;
    CURLcode rc = CURLE_OK;
    const char *what = "";
#define SET(opt, val)                                   \
    do {                                                \
        if (rc == CURLE_OK) {                           \
            rc = curl_easy_setopt(h, opt, val);         \
            what = #opt;                                \
        }                                               \
    } while (0)
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_ERRORBUFFER, c->errbuf);
    SET(CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    SET(CURLOPT_TIMEOUT_MS, c->timeout_ms);
    SET(CURLOPT_USERAGENT, o.user_agent ? o.user_agent : "cronflux/" CF_VERSION);
    SET(CURLOPT_SSL_VERIFYPEER, o.insecure ? 0L : 1L);
    SET(CURLOPT_SSL_VERIFYHOST, o.insecure ? 0L : 2L);
    if (o.ca_file && *o.ca_file)
        SET(CURLOPT_CAINFO, o.ca_file);
    SET(CURLOPT_ACCEPT_ENCODING, "");
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_WRITEFUNCTION, on_body);
    /* a stop request (runtime/sig.h) aborts a transfer in progress */
    SET(CURLOPT_XFERINFOFUNCTION, on_progress);
    SET(CURLOPT_NOPROGRESS, 0L);
#undef SET
    if (rc != CURLE_OK) {
        errf_set(err, errlen, "http: libcurl option %s: %s", what, curl_easy_strerror(rc));
        curl_easy_cleanup(h);
        free(c);
        return NULL;
    }
    return c;
}

void http_free(http_client *c)
{
    if (!c)
        return;
    if (c->h)
        curl_easy_cleanup(c->h);
    free(c);
}

void http_resp_init(http_resp *r)
{
    memset(r, 0, sizeof *r);
    buf_init(&r->body, HTTP_BODY_MAX_DEFAULT);
    buf_init(&r->headers, HTTP_HEADER_LINE_MAX);
    r->retry_after_s = -1;
}

void http_resp_free(http_resp *r)
{
    if (!r)
        return;
    buf_free(&r->body);
    buf_free(&r->headers);
    r->status = 0;
    r->truncated = 0;
    clear_headers(r);
}

static int valid_token(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch <= 0x20 || ch >= 0x7F || strchr("()<>@,;:\\\"/[]?={}", ch))
            return 0;
    }
    return 1;
}

static int has_crlf(const char *s)
{
    return s && strpbrk(s, "\r\n") != NULL;
}

/* Build the request header list into *out (the caller frees it with curl_slist_free_all).
 * 0, or -1 with err set and *out NULL. Header lines are wiped after use: they may carry
 * an Authorization value. */
static int build_headers(const http_req *req, struct curl_slist **out, char *err,
                         size_t errlen, const char *method, const char *shown)
{
    struct curl_slist *list = NULL;
    int has_expect = 0;
    buf line;
    buf_init(&line, HTTP_HEADER_LINE_MAX);
    int rc = -1;
    for (size_t i = 0; i < req->nheaders; i++) {
        const http_header *hd = &req->headers[i];
        if (!valid_token(hd->name) || !hd->value || has_crlf(hd->value)) {
            errf_set(err, errlen, "%s %s: request header #%zu (%.64s) is malformed", method,
                     shown, i + 1, hd->name && !has_crlf(hd->name) ? hd->name : "?");
            goto done;
        }
        if (strcasecmp(hd->name, "Expect") == 0)
            has_expect = 1;
        buf_reset(&line);
        /* "Name:" with an empty value tells curl to drop a header; "Name;" sends it empty */
        int e = *hd->value ? buf_printf(&line, "%s: %s", hd->name, hd->value)
                           : buf_printf(&line, "%s;", hd->name);
        if (e != 0) {
            errf_set(err, errlen, "%s %s: request header %.64s is too long", method, shown,
                     hd->name);
            goto done;
        }
        struct curl_slist *nl = curl_slist_append(list, line.p);
        if (!nl) {
            errf_set(err, errlen, "%s %s: out of memory", method, shown);
            goto done;
        }
        list = nl;
    }
    if (!has_expect) {
        /* no "Expect: 100-continue" round trip on larger bodies */
        struct curl_slist *nl = curl_slist_append(list, "Expect:");
        if (!nl) {
            errf_set(err, errlen, "%s %s: out of memory", method, shown);
            goto done;
        }
        list = nl;
    }
    rc = 0;
done:
    if (line.p)
        cfg_wipe(line.p, line.cap);
    buf_free(&line);
    if (rc != 0) {
        curl_slist_free_all(list);
        list = NULL;
    }
    *out = list;
    return rc;
}

/* Set the per-request options. CURLE_OK or the first failure (*what names it). */
static CURLcode set_request(CURL *h, const http_req *req, const char *method,
                            struct curl_slist *headers, http_ctx *x, const char **what)
{
    CURLcode rc = CURLE_OK;
#define SET(opt, val)                                   \
    do {                                                \
        if (rc == CURLE_OK) {                           \
            rc = curl_easy_setopt(h, opt, val);         \
            *what = #opt;                               \
        }                                               \
    } while (0)
    int is_get = strcmp(method, "GET") == 0;
    int is_post = strcmp(method, "POST") == 0;
    int is_head = strcmp(method, "HEAD") == 0;
    SET(CURLOPT_URL, req->url);
    /* NOBODY first: clearing it would turn a POST back into a GET */
    SET(CURLOPT_NOBODY, is_head ? 1L : 0L);
    if (!is_get && !is_head && (req->body || is_post)) {
        SET(CURLOPT_POSTFIELDS, req->body ? req->body : "");
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(req->body ? req->body_len : 0));
    } else if (!is_head) {
        SET(CURLOPT_HTTPGET, 1L);
    }
    SET(CURLOPT_CUSTOMREQUEST, (is_get || is_post || is_head) ? NULL : method);
    SET(CURLOPT_HTTPHEADER, headers);
    SET(CURLOPT_USERPWD, req->userpwd);
    SET(CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : x->timeout_ms);
    if (req->userpwd)
        SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    SET(CURLOPT_WRITEDATA, x);
#undef SET
    return rc;
}

/* Remove what must never be shown from a message curl wrote. */
static void scrub_secrets(char *s, size_t cap, const http_req *req)
{
    const char *q = req->url ? strpbrk(req->url, "?#") : NULL;
    if (q && q[1]) {
        char query[512];
        util_copy_cut(query, sizeof query, q + 1, strlen(q + 1));
        scrub(s, cap, query);
    }
    if (req->userpwd) {
        const char *pw = strchr(req->userpwd, ':');
        if (pw && pw[1])
            scrub(s, cap, pw + 1);
        scrub(s, cap, req->userpwd);
    }
    scrub(s, cap, req->redact);
}

int http_request(http_client *c, const http_req *req, http_resp *r, char *err, size_t errlen)
{
    if (!r) {
        errf_set(err, errlen, "http: no response structure");
        return -1;
    }
    r->status = 0;
    r->truncated = 0;
    clear_headers(r);
    buf_reset(&r->body);
    if (!c || !c->h || !req || !req->url || !*req->url) {
        errf_set(err, errlen, "http: no client or no URL");
        return -1;
    }
    r->body.max = c->body_max;
    const char *method = req->method && *req->method ? req->method : "GET";
    char shown[HTTP_URL_SHOW_MAX];
    http_url_show(req->url, req->redact, 0, shown, sizeof shown);
    if (!valid_token(method)) {
        errf_set(err, errlen, "http: %s: bad method", shown);
        return -1;
    }
    if (req->nheaders && !req->headers) {
        errf_set(err, errlen, "%s %s: headers missing", method, shown);
        return -1;
    }

    struct curl_slist *headers = NULL;
    if (build_headers(req, &headers, err, errlen, method, shown) != 0)
        return -1;

    http_ctx x = { r, c->body_max, c->timeout_ms };
    int ret = -1;
    const char *what = "";
    CURLcode rc = set_request(c->h, req, method, headers, &x, &what);
    if (rc != CURLE_OK) {
        errf_set(err, errlen, "%s %s: libcurl option %s: %s", method, shown, what,
                 curl_easy_strerror(rc));
        goto done;
    }

    c->errbuf[0] = '\0';
    int64_t t0 = clock_mono_ns();
    rc = curl_easy_perform(c->h);
    long ms = (long)((clock_mono_ns() - t0) / CLOCK_NS_PER_MS);
    long status = 0;
    if (curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK)
        r->status = status;
    if (status > 0)
        keep_headers(c->h, req, r);
    r->timed_out = rc == CURLE_OPERATION_TIMEDOUT;

    if (rc == CURLE_OK) {
        ret = 0;
        if (log_debug_enabled())
            log_debug("http: %s %s -> %ld, %zu bytes, %ld ms", method, shown, r->status,
                      r->body.len, ms);
        goto done;
    }

    char reason[CURL_ERROR_SIZE + 64];
    if (r->truncated)
        errf_set(reason, sizeof reason, "response body over %zu bytes", c->body_max);
    else if (rc == CURLE_ABORTED_BY_CALLBACK && sig_stop_requested())
        errf_set(reason, sizeof reason, "stopped by %s", sig_name());
    else if (rc == CURLE_WRITE_ERROR)
        errf_set(reason, sizeof reason, "out of memory storing the response body");
    else
        errf_set(reason, sizeof reason, "%s", c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
    scrub_secrets(reason, sizeof reason, req);
    errf_set(err, errlen, "%s %s: %s", method, shown, reason);
    if (log_debug_enabled())
        log_debug("http: %s %s -> %ld, %zu bytes, %ld ms, failed: %s", method, shown,
                  r->status, r->body.len, ms, reason);

done:
    /* the handle must not keep pointers to what is freed or owned by the caller */
    (void)curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
    (void)curl_easy_setopt(c->h, CURLOPT_USERPWD, (char *)NULL);
    (void)curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, (char *)NULL);
    curl_slist_free_all(headers);
    return ret;
}

long http_retry_after_s(const http_resp *r)
{
    return r ? r->retry_after_s : -1;
}

long http_retry_after_parse(const char *s)
{
    if (!s || !*s)
        return -1;
    if (s[0] >= '0' && s[0] <= '9') {
        long v = 0;
        for (; *s >= '0' && *s <= '9'; s++) {
            if (v > (LONG_MAX - 9) / 10)
                return -1;
            v = v * 10 + (*s - '0');
        }
        while (*s == ' ' || *s == '\t')
            s++;
        return *s ? -1 : v;
    }
    time_t t = curl_getdate(s, NULL);
    if (t == (time_t)-1)
        return -1;
    time_t now = time(NULL);
    return t > now ? (long)(t - now) : 0;
}

int http_urlencode(buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char ch = *p;
        int rc;
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '.' || ch == '_' || ch == '~') {
            rc = buf_addc(out, (char)ch);
        } else {
            char enc[3] = { '%', hex[ch >> 4], hex[ch & 15] };
            rc = buf_add(out, enc, sizeof enc);
        }
        if (rc != 0) {
            /* the buffer failed (buf.h: freed and marked), nothing to restore */
            return -1;
        }
    }
    return 0;
}
