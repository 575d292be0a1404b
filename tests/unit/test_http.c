/* Unit tests for runtime/http: a tiny scripted HTTP/1.1 server on 127.0.0.1 (port 0)
 * in a thread of this process, and the client talking to it. No timing assertions. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "../../runtime/cfg.h"
#include "../../runtime/clock.h"
#include "../../runtime/http.h"
#include "../../runtime/log.h"
#include "../../runtime/retry.h"
#include "harness.h"

/* ---- the server ----------------------------------------------------------------------- */

#define SRV_MAX_CONN 16
#define SRV_IN_MAX (256 * 1024)
#define SRV_REQ_MAX (64 * 1024)

typedef struct {
    int fd;
    int id;
    char *in;
    size_t len;
} srv_conn;

static struct {
    int lfd;
    int port;
    int wake[2];
    pthread_t thread;
    pthread_mutex_t mu;
    /* what the tests look at, under mu */
    int accepts;
    int requests;
    int last_conn;            /* connection id of the last request */
    char last[SRV_REQ_MAX];   /* the last request, head and body, as received */
    size_t last_len;
    size_t last_body_len;
} S = { .mu = PTHREAD_MUTEX_INITIALIZER };

static int send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t k = send(fd, c, n, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        c += k;
        n -= (size_t)k;
    }
    return 0;
}

static int send_fmt(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int send_fmt(int fd, const char *fmt, ...)
{
    char tmp[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return -1;
    return send_all(fd, tmp, (size_t)n);
}

/* gzip data (for the Content-Encoding case). Returns the compressed length. */
static size_t gzip_buf(const char *in, size_t n, unsigned char *out, size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return 0;
    z.next_in = (unsigned char *)(uintptr_t)in;
    z.avail_in = (unsigned)n;
    z.next_out = out;
    z.avail_out = (unsigned)cap;
    int rc = deflate(&z, Z_FINISH);
    size_t len = cap - z.avail_out;
    deflateEnd(&z);
    return rc == Z_STREAM_END ? len : 0;
}

/* Answer one request. Returns 1 to keep the connection, 0 to close it. */
static int srv_answer(int fd, const char *method, const char *path)
{
    int head = strcmp(method, "HEAD") == 0;
    if (strcmp(path, "/ok") == 0 || strncmp(path, "/tok/", 5) == 0) {
        return send_fmt(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                            "Content-Length: 5\r\n\r\n%s",
                        head ? "" : "hello") == 0;
    }
    if (strcmp(path, "/limits") == 0) {
        return send_fmt(fd, "HTTP/1.1 429 Too Many Requests\r\n"
                            "Retry-After: 7\r\n"
                            "X-Rate-Limit-Limit: 900\r\n"
                            "x-rate-limit-remaining:    0   \r\n"
                            "X-RATE-LIMIT-RESET: 1793491200\r\n"
                            "X-Influxdb-Error: partial write: field type conflict\r\n"
                            "X-Influxdb-Version: \r\n"
                            "X-Empty:\r\n"
                            "Content-Type: application/json\r\n"
                            "Content-Length: 2\r\n\r\n{}") == 0;
    }
    if (strcmp(path, "/continue") == 0) {
        /* a 1xx before the answer: its headers must not leak into the response */
        return send_fmt(fd, "HTTP/1.1 100 Continue\r\nRetry-After: 99\r\n\r\n"
                            "HTTP/1.1 204 No Content\r\n\r\n") == 0;
    }
    if (strcmp(path, "/big") == 0) {
        char body[1000];
        memset(body, 'b', sizeof body);
        if (send_fmt(fd, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", sizeof body) != 0)
            return 0;
        return send_all(fd, body, sizeof body) == 0;
    }
    if (strcmp(path, "/gzip") == 0 || strcmp(path, "/gzipbomb") == 0) {
        static char plain[20000];
        size_t n = strcmp(path, "/gzip") == 0 ? 300 : sizeof plain;
        for (size_t i = 0; i < n; i++)
            plain[i] = (char)('a' + i % 7);
        unsigned char z[4096];
        size_t zl = gzip_buf(plain, n, z, sizeof z);
        if (send_fmt(fd, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n",
                     zl) != 0)
            return 0;
        return send_all(fd, z, zl) == 0;
    }
    if (strcmp(path, "/chunked") == 0) {
        return send_fmt(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "6\r\nchunk1\r\n6\r\nchunk2\r\n0\r\n\r\n") == 0;
    }
    if (strcmp(path, "/redirect") == 0) {
        return send_fmt(fd, "HTTP/1.1 302 Found\r\nLocation: /ok\r\nContent-Length: 0\r\n\r\n") ==
               0;
    }
    if (strcmp(path, "/close") == 0) {
        send_fmt(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbye");
        return 0;
    }
    if (strcmp(path, "/hangup") == 0)
        return 0; /* close without an answer */
    if (strcmp(path, "/echo") == 0) {
        return send_fmt(fd, "HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\n%s",
                        head ? "" : "seen") == 0;
    }
    return send_fmt(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found") == 0;
}

/* Content-Length of a request head (0 when absent). */
static size_t content_length(const char *head, size_t hlen)
{
    const char *p = head;
    const char *end = head + hlen;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            break;
        if ((size_t)(eol - p) > 15 && strncasecmp(p, "Content-Length:", 15) == 0)
            return (size_t)strtoul(p + 15, NULL, 10);
        p = eol + 1;
    }
    return 0;
}

/* Handle whole requests in c->in. Returns 0 to close the connection. */
static int srv_process(srv_conn *c)
{
    for (;;) {
        char *eoh = memmem(c->in, c->len, "\r\n\r\n", 4);
        if (!eoh)
            return 1;
        size_t hlen = (size_t)(eoh - c->in) + 4;
        size_t blen = content_length(c->in, hlen);
        if (c->len < hlen + blen)
            return 1;
        char method[16] = "", path[512] = "";
        const char *sp1 = memchr(c->in, ' ', hlen);
        const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', hlen - (size_t)(sp1 + 1 - c->in)) : NULL;
        if (sp1 && sp2 && (size_t)(sp1 - c->in) < sizeof method &&
            (size_t)(sp2 - sp1 - 1) < sizeof path) {
            memcpy(method, c->in, (size_t)(sp1 - c->in));
            method[sp1 - c->in] = '\0';
            size_t pl = strcspn(sp1 + 1, "? ");
            if (pl > (size_t)(sp2 - sp1 - 1))
                pl = (size_t)(sp2 - sp1 - 1);
            memcpy(path, sp1 + 1, pl);
            path[pl] = '\0';
        }
        pthread_mutex_lock(&S.mu);
        S.requests++;
        S.last_conn = c->id;
        size_t keep = hlen + blen < sizeof S.last - 1 ? hlen + blen : sizeof S.last - 1;
        memcpy(S.last, c->in, keep);
        S.last[keep] = '\0';
        S.last_len = keep;
        S.last_body_len = blen;
        pthread_mutex_unlock(&S.mu);

        int keepalive = srv_answer(c->fd, method, path);
        memmove(c->in, c->in + hlen + blen, c->len - hlen - blen);
        c->len -= hlen + blen;
        if (!keepalive)
            return 0;
    }
}

static void *srv_main(void *arg)
{
    (void)arg;
    srv_conn conns[SRV_MAX_CONN];
    int nconn = 0, next_id = 1;
    for (;;) {
        struct pollfd pf[SRV_MAX_CONN + 2];
        pf[0].fd = S.wake[0];
        pf[0].events = POLLIN;
        pf[1].fd = S.lfd;
        pf[1].events = nconn < SRV_MAX_CONN ? POLLIN : 0;
        for (int i = 0; i < nconn; i++) {
            pf[i + 2].fd = conns[i].fd;
            pf[i + 2].events = POLLIN;
        }
        if (poll(pf, (nfds_t)nconn + 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pf[0].revents)
            break;
        for (int i = nconn - 1; i >= 0; i--) {
            if (!pf[i + 2].revents)
                continue;
            srv_conn *c = &conns[i];
            int keep = 1;
            if (c->len >= SRV_IN_MAX) {
                keep = 0;
            } else {
                ssize_t k = recv(c->fd, c->in + c->len, SRV_IN_MAX - c->len, 0);
                if (k <= 0) {
                    keep = 0;
                } else {
                    c->len += (size_t)k;
                    keep = srv_process(c);
                }
            }
            if (!keep) {
                close(c->fd);
                free(c->in);
                conns[i] = conns[nconn - 1];
                nconn--;
            }
        }
        /* accept after serving: the new connection has no poll entry yet */
        if (pf[1].revents & POLLIN) {
            int fd = accept4(S.lfd, NULL, NULL, SOCK_CLOEXEC);
            char *in = fd >= 0 ? malloc(SRV_IN_MAX) : NULL;
            if (fd >= 0 && !in)
                close(fd);
            if (in) {
                pthread_mutex_lock(&S.mu);
                S.accepts++;
                pthread_mutex_unlock(&S.mu);
                conns[nconn].fd = fd;
                conns[nconn].id = next_id++;
                conns[nconn].in = in;
                conns[nconn].len = 0;
                nconn++;
            }
        }
    }
    for (int i = 0; i < nconn; i++) {
        close(conns[i].fd);
        free(conns[i].in);
    }
    return NULL;
}

static int srv_start(void)
{
    S.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (S.lfd < 0)
        return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t al = sizeof a;
    if (bind(S.lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(S.lfd, 16) != 0 ||
        getsockname(S.lfd, (struct sockaddr *)&a, &al) != 0)
        return -1;
    S.port = ntohs(a.sin_port);
    if (pipe2(S.wake, O_CLOEXEC) != 0)
        return -1;
    return pthread_create(&S.thread, NULL, srv_main, NULL) == 0 ? 0 : -1;
}

static void srv_stop(void)
{
    if (write(S.wake[1], "x", 1) != 1)
        return;
    pthread_join(S.thread, NULL);
    close(S.lfd);
    close(S.wake[0]);
    close(S.wake[1]);
}

static int srv_accepts(void)
{
    pthread_mutex_lock(&S.mu);
    int n = S.accepts;
    pthread_mutex_unlock(&S.mu);
    return n;
}

/* A copy of the last request the server saw (static storage). */
static const char *srv_last(int *conn, size_t *body_len)
{
    static char copy[SRV_REQ_MAX];
    pthread_mutex_lock(&S.mu);
    memcpy(copy, S.last, S.last_len + 1);
    if (conn)
        *conn = S.last_conn;
    if (body_len)
        *body_len = S.last_body_len;
    pthread_mutex_unlock(&S.mu);
    return copy;
}

/* ---- the tests ------------------------------------------------------------------------ */

static char base[64];

static void url(char *out, size_t cap, const char *path)
{
    int n = snprintf(out, cap, "%s%s", base, path);
    if (n < 0 || (size_t)n >= cap)
        out[0] = '\0';
}

static http_client *client(size_t body_max)
{
    http_opts o;
    memset(&o, 0, sizeof o);
    o.connect_timeout_ms = 5000;
    o.timeout_ms = 20000;
    o.body_max = body_max;
    char err[HTTP_ERR_MAX];
    http_client *c = http_new(&o, err, sizeof err);
    if (!c) {
        fprintf(stderr, "http_new: %s\n", err);
        exit(2);
    }
    return c;
}

static void test_basic(void)
{
    http_client *c = client(0);
    http_resp r;
    http_resp_init(&r);
    char u[256], err[HTTP_ERR_MAX];
    url(u, sizeof u, "/ok?x=1");
    static const char *const want[] = { "x-rate-limit-limit", "Retry-After", NULL };
    http_req q = { .method = "GET", .url = u, .want_headers = want };
    int rc = http_request(c, &q, &r, err, sizeof err);
    CHECK(rc == 0, "GET /ok: %s", err);
    CHECK(r.status == 200, "status %ld", r.status);
    CHECK(r.body.len == 5 && r.body.p && strcmp(r.body.p, "hello") == 0, "body [%s]",
          r.body.p ? r.body.p : "");
    CHECK_STREQ(r.content_type, "text/plain; charset=utf-8", "content type");
    CHECK(r.retry_after_s == -1 && http_resp_header(&r, "x-rate-limit-limit") == NULL &&
              http_resp_header(&r, "retry-after") == NULL,
          "absent headers: -1 and NULL");
    const char *seen = srv_last(NULL, NULL);
    CHECK(strncmp(seen, "GET /ok?x=1 HTTP/1.1\r\n", 22) == 0, "request line [%.40s]", seen);
    CHECK(strstr(seen, "\r\nUser-Agent: cronflux/") != NULL, "default user agent");
    CHECK(strcasestr(seen, "\r\nAccept-Encoding: ") != NULL &&
              strstr(strcasestr(seen, "\r\nAccept-Encoding: "), "gzip"),
          "Accept-Encoding offers gzip");

    /* 404 is a response, not an error */
    url(u, sizeof u, "/nope");
    rc = http_request(c, &q, &r, err, sizeof err);
    CHECK(rc == 0 && r.status == 404 && strcmp(r.body.p, "not found") == 0, "404: %s", err);
    CHECK(r.content_type[0] == '\0', "headers reset between requests");

    /* redirects are handed back, not followed */
    url(u, sizeof u, "/redirect");
    rc = http_request(c, &q, &r, err, sizeof err);
    CHECK(rc == 0 && r.status == 302, "302 returned: %ld", r.status);

    /* chunked */
    url(u, sizeof u, "/chunked");
    rc = http_request(c, &q, &r, err, sizeof err);
    CHECK(rc == 0 && r.status == 200 && r.body.len == 12 && strcmp(r.body.p, "chunk1chunk2") == 0,
          "chunked body");

    /* gzip, decoded */
    url(u, sizeof u, "/gzip");
    rc = http_request(c, &q, &r, err, sizeof err);
    int okz = rc == 0 && r.body.len == 300;
    for (size_t i = 0; okz && i < 300; i++)
        okz = r.body.p[i] == (char)('a' + i % 7);
    CHECK(okz, "gzip body decoded (rc %d, len %zu): %s", rc, r.body.len, err);

    /* a 1xx answer's headers do not stick */
    url(u, sizeof u, "/continue");
    rc = http_request(c, &q, &r, err, sizeof err);
    CHECK(rc == 0 && r.status == 204 && r.retry_after_s == -1 &&
              http_resp_header(&r, "Retry-After") == NULL,
          "after 100: %ld [%ld]", r.status, r.retry_after_s);

    /* HEAD: no body */
    url(u, sizeof u, "/ok");
    http_req h = { .method = "HEAD", .url = u };
    rc = http_request(c, &h, &r, err, sizeof err);
    CHECK(rc == 0 && r.status == 200 && r.body.len == 0, "HEAD: %s", err);
    seen = srv_last(NULL, NULL);
    CHECK(strncmp(seen, "HEAD /ok ", 9) == 0, "HEAD sent [%.20s]", seen);

    http_resp_free(&r);
    http_resp_free(&r);
    http_free(c);
    http_free(NULL);
}

static void test_headers_captured(void)
{
    http_client *c = client(0);
    http_resp r;
    http_resp_init(&r);
    char u[256], err[HTTP_ERR_MAX];
    url(u, sizeof u, "/limits");
    /* the runtime keeps only what the caller names (any case), by name */
    static const char *const want[] = { "Retry-After", "x-rate-limit-limit",
                                        "X-Rate-Limit-Remaining", "x-rate-limit-reset",
                                        "x-influxdb-error", "x-not-sent",
                                        "X-Influxdb-Version", "x-empty", NULL };
    http_req q = { .method = "GET", .url = u, .want_headers = want };
    CHECK(http_request(c, &q, &r, err, sizeof err) == 0, "GET /limits: %s", err);
    CHECK(r.status == 429, "status %ld", r.status);
    const char *v = http_resp_header(&r, "retry-after");
    CHECK(v && strcmp(v, "7") == 0, "Retry-After [%s]", v ? v : "(null)");
    v = http_resp_header(&r, "x-rate-limit-limit");
    CHECK(v && strcmp(v, "900") == 0, "x-rate-limit-limit [%s]", v ? v : "(null)");
    v = http_resp_header(&r, "x-rate-limit-remaining");
    CHECK(v && strcmp(v, "0") == 0, "x-rate-limit-remaining (trimmed) [%s]", v ? v : "(null)");
    v = http_resp_header(&r, "x-rate-limit-reset");
    CHECK(v && strcmp(v, "1793491200") == 0, "X-RATE-LIMIT-RESET (any case) [%s]",
          v ? v : "(null)");
    v = http_resp_header(&r, "X-InfluxDB-Error");
    CHECK(v && strcmp(v, "partial write: field type conflict") == 0, "x-influxdb-error [%s]",
          v ? v : "(null)");
    CHECK(http_resp_header(&r, "x-not-sent") == NULL, "a header not sent: NULL");
    CHECK(http_resp_header(&r, "content-length") == NULL, "a header not asked for: NULL");
    /* "Name: \r\n" (2.0.x's empty X-Influxdb-Version): libcurl 7.88 gives "\r" */
    v = http_resp_header(&r, "x-influxdb-version");
    CHECK(v && *v == '\0', "an empty value after a space: \"\" [%s]", v ? v : "(null)");
    v = http_resp_header(&r, "x-empty");
    CHECK(v && *v == '\0', "an empty value: \"\" [%s]", v ? v : "(null)");
    CHECK_STREQ(r.content_type, "application/json", "content type");
    CHECK(http_retry_after_s(&r) == 7, "http_retry_after_s = %ld", http_retry_after_s(&r));
    /* not asked for: not kept, but Retry-After and Content-Type always are */
    http_req q2 = { .method = "GET", .url = u };
    CHECK(http_request(c, &q2, &r, err, sizeof err) == 0, "GET /limits again: %s", err);
    CHECK(http_resp_header(&r, "x-rate-limit-limit") == NULL, "not asked for: NULL");
    CHECK(http_retry_after_s(&r) == 7, "Retry-After without asking: %ld",
          http_retry_after_s(&r));
    http_resp_free(&r);
    http_free(c);
}

static void test_request_seen(void)
{
    http_client *c = client(0);
    http_resp r;
    http_resp_init(&r);
    char u[256], err[HTTP_ERR_MAX];
    url(u, sizeof u, "/echo");
    static const char body[] = "line one\nweight,host=a value=1\0binary";
    const http_header hs[] = {
        { "Content-Type", "text/plain; charset=utf-8" },
        { "X-Custom", "v1" },
        { "Authorization", "Token SECRETTOKEN" },
        { "X-Empty", "" },
    };
    http_req q = { .method = "POST", .url = u, .headers = hs, .nheaders = 4, .body = body,
                   .body_len = sizeof body - 1, .userpwd = NULL };
    CHECK(http_request(c, &q, &r, err, sizeof err) == 0 && r.status == 201, "POST: %s", err);
    size_t blen = 0;
    const char *seen = srv_last(NULL, &blen);
    CHECK(strncmp(seen, "POST /echo HTTP/1.1\r\n", 21) == 0, "POST line [%.30s]", seen);
    CHECK(strstr(seen, "\r\nContent-Type: text/plain; charset=utf-8\r\n") != NULL, "Content-Type");
    CHECK(strstr(seen, "\r\nX-Custom: v1\r\n") != NULL, "X-Custom");
    CHECK(strstr(seen, "\r\nAuthorization: Token SECRETTOKEN\r\n") != NULL, "Authorization");
    CHECK(strstr(seen, "\r\nX-Empty:") != NULL, "empty header sent");
    CHECK(strcasestr(seen, "\r\nExpect:") == NULL, "no Expect header");
    CHECK(blen == sizeof body - 1, "body length %zu", blen);
    const char *b = strstr(seen, "\r\n\r\n");
    CHECK(b && memcmp(b + 4, body, sizeof body - 1) == 0, "body bytes (NUL included)");

    /* a larger body, with no Expect: 100-continue round trip */
    static char large[100000];
    memset(large, 'L', sizeof large);
    http_req ql = { .method = "POST", .url = u, .body = large, .body_len = sizeof large };
    CHECK(http_request(c, &ql, &r, err, sizeof err) == 0 && r.status == 201, "large POST: %s",
          err);
    seen = srv_last(NULL, &blen);
    CHECK(blen == sizeof large && strcasestr(seen, "\r\nExpect:") == NULL,
          "large body %zu, no Expect", blen);

    /* GET on the same handle after a POST: no body, GET method */
    http_req g = { .method = "GET", .url = u };
    CHECK(http_request(c, &g, &r, err, sizeof err) == 0, "GET after POST: %s", err);
    seen = srv_last(NULL, &blen);
    CHECK(strncmp(seen, "GET /echo ", 10) == 0 && blen == 0, "GET after POST [%.20s] %zu", seen,
          blen);
    CHECK(strstr(seen, "X-Custom") == NULL && strstr(seen, "Authorization") == NULL,
          "headers of the last request are gone");

    /* custom methods */
    http_req p = { .method = "PUT", .url = u, .body = "{}", .body_len = 2 };
    CHECK(http_request(c, &p, &r, err, sizeof err) == 0, "PUT: %s", err);
    seen = srv_last(NULL, &blen);
    CHECK(strncmp(seen, "PUT /echo ", 10) == 0 && blen == 2, "PUT [%.20s]", seen);
    http_req d = { .method = "DELETE", .url = u };
    CHECK(http_request(c, &d, &r, err, sizeof err) == 0, "DELETE: %s", err);
    seen = srv_last(NULL, &blen);
    CHECK(strncmp(seen, "DELETE /echo ", 13) == 0 && blen == 0, "DELETE [%.20s]", seen);
    /* POST without a body */
    http_req pe = { .method = "POST", .url = u };
    CHECK(http_request(c, &pe, &r, err, sizeof err) == 0, "empty POST: %s", err);
    seen = srv_last(NULL, &blen);
    CHECK(strncmp(seen, "POST /echo ", 11) == 0 && blen == 0 &&
              strstr(seen, "Content-Length: 0\r\n"),
          "empty POST [%.60s]", seen);

    /* Basic auth */
    http_req ba = { .method = "GET", .url = u, .userpwd = "alice:PASSW0RD" };
    CHECK(http_request(c, &ba, &r, err, sizeof err) == 0, "basic: %s", err);
    seen = srv_last(NULL, NULL);
    CHECK(strstr(seen, "\r\nAuthorization: Basic YWxpY2U6UEFTU1cwUkQ=\r\n") != NULL,
          "Basic auth header");
    CHECK(http_request(c, &g, &r, err, sizeof err) == 0, "GET: %s", err);
    seen = srv_last(NULL, NULL);
    CHECK(strstr(seen, "Authorization") == NULL, "credentials not reused on the next request");

    /* bad headers never reach the network */
    int before = srv_accepts();
    int reqs_before;
    pthread_mutex_lock(&S.mu);
    reqs_before = S.requests;
    pthread_mutex_unlock(&S.mu);
    static const http_header bad[][1] = {
        { { "X-Evil", "a\r\nX-Injected: 1" } },
        { { "Bad Name", "v" } },
        { { "X-Null", NULL } },
        { { "", "v" } },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        http_req bq = { .method = "GET", .url = u, .headers = bad[i], .nheaders = 1 };
        err[0] = '\0';
        CHECK(http_request(c, &bq, &r, err, sizeof err) == -1 && strstr(err, "header"),
              "bad header %zu: [%s]", i, err);
        CHECK(strstr(err, "Injected") == NULL, "bad header value not echoed");
    }
    http_req bm = { .method = "G T", .url = u };
    CHECK(http_request(c, &bm, &r, err, sizeof err) == -1 && strstr(err, "method"),
          "bad method: [%s]", err);
    pthread_mutex_lock(&S.mu);
    CHECK(S.requests == reqs_before, "no request sent for bad input");
    pthread_mutex_unlock(&S.mu);
    CHECK(srv_accepts() == before, "no new connection for bad input");

    http_resp_free(&r);
    http_free(c);
}

static void test_keepalive(void)
{
    http_client *c = client(0);
    http_resp r;
    http_resp_init(&r);
    char u[256], err[HTTP_ERR_MAX];
    url(u, sizeof u, "/ok");
    http_req q = { .method = "GET", .url = u };
    int a0 = srv_accepts();
    int conn1 = 0, conn2 = 0, conn3 = 0;
    CHECK(http_request(c, &q, &r, err, sizeof err) == 0, "first: %s", err);
    srv_last(&conn1, NULL);
    url(u, sizeof u, "/echo");
    http_req p = { .method = "POST", .url = u, .body = "x", .body_len = 1 };
    CHECK(http_request(c, &p, &r, err, sizeof err) == 0, "second: %s", err);
    srv_last(&conn2, NULL);
    CHECK(srv_accepts() - a0 == 1, "two requests, one connection (accepts %d)",
          srv_accepts() - a0);
    CHECK(conn1 == conn2 && conn1 != 0, "same connection id %d %d", conn1, conn2);

    /* the server closes: the next request opens a new connection and works */
    url(u, sizeof u, "/close");
    CHECK(http_request(c, &q, &r, err, sizeof err) == 0 && strcmp(r.body.p, "bye") == 0,
          "close: %s", err);
    url(u, sizeof u, "/ok");
    CHECK(http_request(c, &q, &r, err, sizeof err) == 0 && r.status == 200, "after close: %s",
          err);
    srv_last(&conn3, NULL);
    CHECK(srv_accepts() - a0 == 2 && conn3 != conn1, "a new connection after Connection: close");

    /* a second client has its own connection */
    http_client *c2 = client(0);
    CHECK(http_request(c2, &q, &r, err, sizeof err) == 0, "second client: %s", err);
    CHECK(srv_accepts() - a0 == 3, "second client connects");
    http_free(c2);
    http_resp_free(&r);
    http_free(c);
}

static int contains_secret(const char *s)
{
    static const char *const secrets[] = { "SECRETQ", "PASSW0RD", "alice", "api_key",
                                           "SECRETTOKEN", "?" };
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
        if (strstr(s, secrets[i]))
            return 1;
    return 0;
}

static void test_errors(void)
{
    char u[256], want[256], err[HTTP_ERR_MAX];
    http_resp r;
    http_resp_init(&r);

    /* body over the cap */
    http_client *c = client(100);
    int n = snprintf(u, sizeof u, "http://alice:PASSW0RD@127.0.0.1:%d/big?api_key=SECRETQ",
                     S.port);
    CHECK(n > 0 && (size_t)n < sizeof u, "url fits");
    http_req q = { .method = "GET", .url = u, .userpwd = "alice:PASSW0RD" };
    err[0] = '\0';
    int rc = http_request(c, &q, &r, err, sizeof err);
    CHECK(rc == -1, "body over cap fails");
    CHECK(r.truncated == 1 && r.body.len == 100, "truncated %d len %zu", r.truncated, r.body.len);
    CHECK(r.status == 200, "status known: %ld", r.status);
    n = snprintf(want, sizeof want, "GET http://127.0.0.1:%d/big: response body over 100 bytes",
                 S.port);
    CHECK(n > 0 && (size_t)n < sizeof want, "want fits");
    CHECK_STREQ(err, want, "body cap error");
    CHECK(!contains_secret(err), "no credential or query in [%s]", err);

    /* the client still works after that */
    url(u, sizeof u, "/ok");
    http_req ok = { .method = "GET", .url = u };
    CHECK(http_request(c, &ok, &r, err, sizeof err) == 0 && r.status == 200 && !r.truncated,
          "after a capped body: %s", err);

    /* the cap counts decoded bytes: a small gzip that inflates past it */
    url(u, sizeof u, "/gzipbomb");
    CHECK(http_request(c, &ok, &r, err, sizeof err) == -1 && r.truncated &&
              strstr(err, "response body over 100 bytes"),
          "gzip bomb: [%s]", err);
    http_free(c);

    /* connection refused: a bound socket that does not listen */
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    CHECK(s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0 &&
              getsockname(s, (struct sockaddr *)&a, &al) == 0,
          "refusing socket");
    int port = ntohs(a.sin_port);
    c = client(0);
    n = snprintf(u, sizeof u,
                 "http://alice:PASSW0RD@127.0.0.1:%d/write?db=x&u=alice&p=PASSW0RD#SECRETQ", port);
    CHECK(n > 0 && (size_t)n < sizeof u, "url fits");
    static const http_header auth[] = { { "Authorization", "Token SECRETTOKEN" } };
    http_req w = { .method = "POST", .url = u, .headers = auth, .nheaders = 1, .body = "m v=1",
                   .body_len = 5, .userpwd = "alice:PASSW0RD", .redact = "SECRETTOKEN" };
    err[0] = '\0';
    rc = http_request(c, &w, &r, err, sizeof err);
    CHECK(rc == -1 && r.status == 0, "refused: rc %d status %ld", rc, r.status);
    n = snprintf(want, sizeof want, "POST http://127.0.0.1:%d/write: ", port);
    CHECK(n > 0 && (size_t)n < sizeof want, "want fits");
    CHECK(strncmp(err, want, strlen(want)) == 0 && strlen(err) > strlen(want),
          "refused error [%s] starts with [%s]", err, want);
    CHECK(!contains_secret(err), "no credential or query in [%s]", err);
    /* without a scheme (curl guesses http), the userinfo still goes */
    n = snprintf(u, sizeof u, "alice:PASSW0RD@127.0.0.1:%d/x?api_key=SECRETQ", port);
    CHECK(n > 0 && (size_t)n < sizeof u, "url fits");
    http_req ns = { .method = "GET", .url = u };
    rc = http_request(c, &ns, &r, err, sizeof err);
    n = snprintf(want, sizeof want, "GET 127.0.0.1:%d/x: ", port);
    CHECK(n > 0 && (size_t)n < sizeof want, "want fits");
    CHECK(rc == -1 && strncmp(err, want, strlen(want)) == 0 && !contains_secret(err),
          "scheme-less error [%s]", err);
    /* a very long URL is cut in the message, never overrun */
    char longu[2048];
    n = snprintf(longu, sizeof longu, "http://127.0.0.1:%d/", port);
    CHECK(n > 0 && (size_t)n < sizeof longu, "url fits");
    memset(longu + n, 'p', sizeof longu - (size_t)n - 1);
    longu[sizeof longu - 1] = '\0';
    http_req lq = { .method = "GET", .url = longu };
    rc = http_request(c, &lq, &r, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "...: ") && strlen(err) < sizeof err - 1,
          "long URL cut: [%.80s...] (%zu)", err, strlen(err));
    close(s);

    /* the server hangs up without answering */
    url(u, sizeof u, "/hangup?token=SECRETQ");
    http_req hq = { .method = "GET", .url = u };
    rc = http_request(c, &hq, &r, err, sizeof err);
    n = snprintf(want, sizeof want, "GET http://127.0.0.1:%d/hangup: ", S.port);
    CHECK(n > 0 && (size_t)n < sizeof want, "want fits");
    CHECK(rc == -1 && strncmp(err, want, strlen(want)) == 0 && !contains_secret(err),
          "hang-up error [%s]", err);

    /* bad arguments */
    CHECK(http_request(NULL, &hq, &r, err, sizeof err) == -1, "NULL client");
    http_req nu = { .method = "GET", .url = NULL };
    CHECK(http_request(c, &nu, &r, err, sizeof err) == -1, "NULL url");
    http_req bad = { .method = "GET", .url = "ftp://127.0.0.1/x" };
    CHECK(http_request(c, &bad, &r, err, sizeof err) == -1 &&
              strncmp(err, "GET ftp://127.0.0.1/x: ", 23) == 0,
          "ftp refused: [%s]", err);
    http_free(c);
    http_resp_free(&r);
}

static void request_with_debug(void)
{
    http_client *c = client(0);
    http_resp r;
    http_resp_init(&r);
    char u[256], err[HTTP_ERR_MAX];
    url(u, sizeof u, "/tok/SECRETTOKEN/x?api_key=SECRETQ");
    static const http_header auth[] = { { "Authorization", "Bearer SECRETTOKEN" } };
    http_req q = { .method = "GET", .url = u, .headers = auth, .nheaders = 1,
                   .userpwd = "alice:PASSW0RD", .redact = "SECRETTOKEN" };
    if (http_request(c, &q, &r, err, sizeof err) != 0)
        fprintf(stderr, "request failed: %s\n", err);
    http_resp_free(&r);
    http_free(c);
}

static char tmpdir[256];

static void test_debug_log(void)
{
    char path[512];
    int n = snprintf(path, sizeof path, "%s/stderr", tmpdir);
    CHECK(n > 0 && (size_t)n < sizeof path, "path fits");
    setenv("DEBUG", "1", 1);
    unsetenv("CRONFLUX_LOG");
    log_init("test-http");
    fflush(stderr);
    int saved = dup(2);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CHECK(saved >= 0 && fd >= 0, "redirect stderr");
    dup2(fd, 2);
    close(fd);
    request_with_debug();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    unsetenv("DEBUG");
    log_init("test-http");

    char err[256];
    char *s = cfg_read_file(path, 1 << 16, 0, err, sizeof err);
    unlink(path);
    CHECK(s != NULL, "read log: %s", err);
    if (!s)
        return;
    char want[256];
    n = snprintf(want, sizeof want, "test-http: debug: http: GET http://127.0.0.1:%d/tok/***/x -> 200, 5 bytes, ",
                 S.port);
    CHECK(n > 0 && (size_t)n < sizeof want, "want fits");
    CHECK(strncmp(s, want, strlen(want)) == 0 && strstr(s, " ms\n"), "debug line [%s]", s);
    CHECK(strchr(s, '\n') == s + strlen(s) - 1, "one line per request: [%s]", s);
    CHECK(!contains_secret(s) && strstr(s, "Bearer") == NULL, "no secret in the log [%s]", s);
    free(s);
}

static void test_helpers(void)
{
    http_resp r;
    http_resp_init(&r);
    static const struct {
        const char *v;
        long want;
    } ra[] = {
        { "", -1 },         { "0", 0 },        { "120", 120 },  { "120 ", 120 },
        { "12a", -1 },      { "abc", -1 },     { "-5", -1 },    { "99999999999999999999999", -1 },
        { "Wed, 21 Oct 2015 07:28:00 GMT", 0 }, /* in the past */
    };
    for (size_t i = 0; i < sizeof ra / sizeof ra[0]; i++) {
        CHECK(http_retry_after_parse(ra[i].v) == ra[i].want, "retry-after [%s] = %ld", ra[i].v,
              http_retry_after_parse(ra[i].v));
    }
    CHECK(http_retry_after_parse(NULL) == -1, "retry-after NULL");
    /* an HTTP date one hour ahead: between 0 and 3600 seconds (no timing claim beyond that) */
    time_t later = time(NULL) + 3600;
    struct tm tm;
    gmtime_r(&later, &tm);
    char date[64];
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    long s = http_retry_after_parse(date);
    CHECK(s > 0 && s <= 3600, "retry-after date ahead: %ld", s);
    CHECK(http_retry_after_s(NULL) == -1, "NULL response");
    http_resp_free(&r);

    /* backoff: within [0, min(base*2^(n-1), max)], and not constant */
    static const struct {
        int attempt;
        long base, max, ceiling;
    } bo[] = {
        { 1, 100, 10000, 100 },   { 2, 100, 10000, 200 },     { 5, 100, 10000, 1600 },
        { 8, 100, 10000, 10000 }, { 200, 100, 10000, 10000 }, { 0, 100, 10000, 100 },
        { -3, 100, 10000, 100 },  { 70, 1000, 0, LONG_MAX },
    };
    for (size_t i = 0; i < sizeof bo / sizeof bo[0]; i++) {
        long lo = LONG_MAX, hi = -1;
        for (int k = 0; k < 300; k++) {
            long v = retry_backoff_ms(bo[i].attempt, bo[i].base, bo[i].max);
            if (v < lo)
                lo = v;
            if (v > hi)
                hi = v;
        }
        CHECK(lo >= 0 && hi <= bo[i].ceiling, "backoff(%d, %ld, %ld) in [%ld, %ld]",
              bo[i].attempt, bo[i].base, bo[i].max, lo, hi);
        CHECK(lo != hi, "backoff(%d) jitters: %ld..%ld", bo[i].attempt, lo, hi);
    }
    CHECK(retry_backoff_ms(3, 0, 1000) == 0, "base 0");

    clock_sleep_ms(1);
    clock_sleep_ms(0);
    clock_sleep_ms(-5);

    /* urlencode */
    static const struct {
        const char *in, *want;
    } ue[] = {
        { "", "" },
        { "abcXYZ019-._~", "abcXYZ019-._~" },
        { "a b&c=d/e?f#g", "a%20b%26c%3Dd%2Fe%3Ff%23g" },
        { "caf\xc3\xa9", "caf%C3%A9" },
        { "100%", "100%25" },
        { "rate(x[5m])+1", "rate%28x%5B5m%5D%29%2B1" },
        { "\x01\x7f\xff", "%01%7F%FF" },
    };
    for (size_t i = 0; i < sizeof ue / sizeof ue[0]; i++) {
        buf b;
        buf_init(&b, 1024);
        CHECK(http_urlencode(&b, ue[i].in) == 0, "urlencode");
        CHECK_STREQ(b.p ? b.p : "", ue[i].want, "urlencode");
        buf_free(&b);
    }
    buf b;
    buf_init(&b, 6);
    CHECK(buf_adds(&b, "q=") == 0 && http_urlencode(&b, "a b") == -1, "urlencode over cap");
    CHECK(b.len == 0 && b.p == NULL && b.failed,
          "urlencode over cap fails the buffer (sticky: no shortened URL goes out)");
    CHECK(http_urlencode(&b, "x") == -1, "and later appends fail");
    buf_reset(&b);
    CHECK(buf_adds(&b, "q=") == 0 && http_urlencode(&b, "abcd") == 0 &&
              strcmp(b.p, "q=abcd") == 0,
          "exactly at cap");
    buf_free(&b);
}

/* ---- retry_run: a scripted sequence of verdicts ------------------------------------ */
typedef struct script {
    const retry_verdict *v;   /* verdict of each call */
    const long *wait;         /* *wait_ms each call sets (-1: leaves it) */
    int n, calls;
    int seen_attempt[16];
} script;

static retry_verdict scripted(void *ctx, int attempt, long *wait_ms)
{
    script *s = ctx;
    int i = s->calls < s->n ? s->calls : s->n - 1;
    if (s->calls < 16)
        s->seen_attempt[s->calls] = attempt;
    s->calls++;
    if (s->wait && s->wait[i] >= 0)
        *wait_ms = s->wait[i];
    return s->v[i];
}

/* http_url_host: the host as libcurl parses it, without userinfo or port. */
static void test_url_host(void)
{
    static const struct {
        const char *url, *want;   /* want NULL: no host */
    } cases[] = {
        { "http://127.0.0.1:8086", "127.0.0.1" },
        { "http://u:pw@127.0.0.1:8086/x?y", "127.0.0.1" },
        { "https://influx.example.com", "influx.example.com" },
        { "http://[::1]:8086", "[::1]" },
        { "http://LOCALHOST", "LOCALHOST" },
        { "http://", NULL },
        { "not a url", NULL },
    };
    char h[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = http_url_host(cases[i].url, h, sizeof h);
        if (cases[i].want)
            CHECK(got && strcmp(got, cases[i].want) == 0, "url host of %s: %s, want %s",
                  cases[i].url, got ? got : "(none)", cases[i].want);
        else
            CHECK(got == NULL, "url host of %s: %s, want none", cases[i].url, got);
    }
    char tiny[4];
    CHECK(http_url_host("http://influxdb:8086", tiny, sizeof tiny) == NULL,
          "a host longer than out: none");
}

static void test_retry(void)
{
    static const retry_verdict stop[] = { RETRY_STOP };
    static const retry_verdict again3[] = { RETRY_AGAIN, RETRY_AGAIN, RETRY_AGAIN };
    static const retry_verdict again_stop[] = { RETRY_AGAIN, RETRY_STOP };
    static const retry_verdict wait_stop[] = { RETRY_WAIT, RETRY_WAIT, RETRY_AGAIN, RETRY_STOP };
    static const retry_verdict give_up[] = { RETRY_AGAIN, RETRY_GIVE_UP };
    static const long waits0[] = { 0, 0, 0, 0 };
    static const long big_wait[] = { 60000, -1 };
    static const struct {
        const char *name;
        const retry_verdict *v;
        const long *wait;
        int n, max;
        long ra_max_ms;
        int64_t deadline_in_ms;   /* 0: none */
        retry_end want;
        int want_calls, want_attempts;
        long max_elapsed_ms;
    } cases[] = {
        { "stop at once", stop, NULL, 1, 3, 0, 0, RETRY_END_STOPPED, 1, 1, 200 },
        { "again until exhausted", again3, waits0, 3, 3, 0, 0, RETRY_END_EXHAUSTED, 3, 3, 200 },
        { "one attempt: no retry", again3, waits0, 3, 1, 0, 0, RETRY_END_EXHAUSTED, 1, 1, 200 },
        { "again then stop", again_stop, waits0, 2, 3, 0, 0, RETRY_END_STOPPED, 2, 2, 200 },
        { "waits are not attempts", wait_stop, waits0, 4, 2, 0, 0, RETRY_END_STOPPED, 4, 2, 200 },
        { "give up", give_up, waits0, 2, 5, 0, 0, RETRY_END_GAVE_UP, 2, 2, 200 },
        /* Retry-After 60 s, cut to 50 ms by the policy */
        { "retry-after capped", again_stop, big_wait, 2, 3, 50, 0, RETRY_END_STOPPED, 2, 2, 1000 },
        /* Retry-After 60 s, a deadline in 300 ms: not slept */
        { "deadline", again_stop, big_wait, 2, 3, 0, 300, RETRY_END_DEADLINE, 1, 1, 200 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        script sc = { cases[i].v, cases[i].wait, cases[i].n, 0, { 0 } };
        int64_t t0 = clock_mono_ns();
        retry_policy p = { .max_attempts = cases[i].max, .backoff_base_ms = 1,
                           .backoff_max_ms = 2, .retry_after_max_ms = cases[i].ra_max_ms,
                           .deadline_ns = cases[i].deadline_in_ms
                                              ? t0 + cases[i].deadline_in_ms * CLOCK_NS_PER_MS
                                              : 0 };
        int attempts = -1;
        retry_end e = retry_run(&p, scripted, &sc, &attempts);
        long ms = (long)((clock_mono_ns() - t0) / CLOCK_NS_PER_MS);
        CHECK(e == cases[i].want, "%s: end %d, want %d", cases[i].name, (int)e,
              (int)cases[i].want);
        CHECK(sc.calls == cases[i].want_calls, "%s: %d tries, want %d", cases[i].name, sc.calls,
              cases[i].want_calls);
        CHECK(attempts == cases[i].want_attempts, "%s: %d attempts counted, want %d",
              cases[i].name, attempts, cases[i].want_attempts);
        CHECK(ms <= cases[i].max_elapsed_ms, "%s: took %ld ms", cases[i].name, ms);
    }
    /* the attempt number handed to the try counts only RETRY_AGAIN */
    script sc = { wait_stop, waits0, 4, 0, { 0 } };
    retry_policy p = { .max_attempts = 5 };
    (void)retry_run(&p, scripted, &sc, NULL);
    CHECK(sc.seen_attempt[0] == 1 && sc.seen_attempt[1] == 1 && sc.seen_attempt[2] == 1 &&
              sc.seen_attempt[3] == 2,
          "attempts seen %d %d %d %d", sc.seen_attempt[0], sc.seen_attempt[1],
          sc.seen_attempt[2], sc.seen_attempt[3]);
    /* a request's timeout under a deadline */
    CHECK(retry_timeout_ms(5000, 0) == 5000, "no deadline");
    int64_t now = clock_mono_ns();
    long t = retry_timeout_ms(5000, now + 2000 * CLOCK_NS_PER_MS);
    CHECK(t > 1000 && t <= 2000, "deadline in 2 s cuts 5 s to %ld", t);
    CHECK(retry_timeout_ms(500, now + 60000 * CLOCK_NS_PER_MS) == 500, "timeout shorter");
    CHECK(retry_timeout_ms(500, now - CLOCK_NS_PER_MS) == 1, "deadline passed: 1 ms");
}

int main(void)
{
    char err[HTTP_ERR_MAX];
    int n = snprintf(tmpdir, sizeof tmpdir, "%s/cf-http-XXXXXX",
                     getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (n < 0 || (size_t)n >= sizeof tmpdir || !mkdtemp(tmpdir)) {
        fprintf(stderr, "mkdtemp failed\n");
        return 2;
    }
    unsetenv("DEBUG");
    /* loopback only: no proxy from the environment */
    static const char *const proxies[] = { "http_proxy", "HTTP_PROXY", "https_proxy",
                                           "HTTPS_PROXY", "all_proxy", "ALL_PROXY" };
    for (size_t i = 0; i < sizeof proxies / sizeof proxies[0]; i++)
        unsetenv(proxies[i]);
    log_init("test-http");
    if (http_global_init(err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    if (srv_start() != 0) {
        fprintf(stderr, "cannot start the test server: %s\n", strerror(errno));
        return 2;
    }
    n = snprintf(base, sizeof base, "http://127.0.0.1:%d", S.port);
    if (n < 0 || (size_t)n >= sizeof base)
        return 2;

    test_basic();
    test_headers_captured();
    test_request_seen();
    test_keepalive();
    test_errors();
    test_debug_log();
    test_helpers();
    test_url_host();
    test_retry();

    srv_stop();
    http_global_cleanup();
    rmdir(tmpdir);
    return th_summary("test_http");
}
