/* http: the one HTTP client every source and the InfluxDB writer use (libcurl).
 *
 * One easy handle per client, reused for keep-alive. curl_global_init is done once by
 * http_global_init() from main. Every request has connect and total timeouts, an error
 * buffer, a response-body cap, and TLS verification (a private CA via ca_file). The HTTP
 * status is always returned to the caller, who decides what it means.
 *
 * Response headers: the runtime knows no source, so it keeps no header of its own choosing
 * but Content-Type and Retry-After; a caller names the headers it wants in the request
 * (want_headers) and reads them by name from the response (http_resp_header).
 *
 * Errors: functions return 0 or -1 and fill err[errlen] with one line naming the method
 * and URL (http_url_show: userinfo, query string and fragment removed, never a credential).
 */
#ifndef CF_HTTP_H
#define CF_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define HTTP_ERR_MAX 512
#define HTTP_BODY_MAX_DEFAULT ((size_t)64 * 1024 * 1024)

typedef struct http_client http_client;

typedef struct http_opts {
    long connect_timeout_ms;  /* 0: 10000 */
    long timeout_ms;          /* whole request; 0: 60000 */
    size_t body_max;          /* cap on a response body; 0: HTTP_BODY_MAX_DEFAULT */
    const char *ca_file;      /* PEM bundle for a private CA; NULL: system store */
    const char *user_agent;   /* NULL: "cronflux/VERSION" */
    int insecure;             /* skip TLS verification (never the default) */
} http_opts;

typedef struct http_header {
    const char *name;
    const char *value;
} http_header;

typedef struct http_req {
    const char *method;        /* "GET", "POST" */
    const char *url;           /* full URL with query string */
    const http_header *headers;/* extra request headers */
    size_t nheaders;
    const char *body;          /* request body or NULL */
    size_t body_len;
    const char *userpwd;       /* "user:password" for Basic auth, or NULL */
    const char *redact;        /* substring to hide in debug logs (e.g. a token), or NULL */
    const char *const *want_headers; /* NULL-terminated names of response headers to keep
                                        (any case), or NULL */
    long timeout_ms;           /* this request's whole timeout; 0: the client's */
} http_req;

typedef struct http_resp {
    long status;               /* HTTP status; 0 when no response */
    buf body;                  /* response body (capped at body_max) */
    char content_type[128];    /* "" when absent */
    long retry_after_s;        /* Retry-After in seconds (CURLINFO_RETRY_AFTER); -1: absent
                                  or not a delta-seconds / HTTP date */
    buf headers;               /* the req's want_headers that came: "name\0value\0"... (the
                                  last of a repeated one); read them with http_resp_header */
    int truncated;             /* body hit body_max: request failed with -1 as well */
    int timed_out;             /* no (complete) answer within the timeout: failed with -1 */
} http_resp;

/* Once per process, before any client, from main. 0 or -1. */
int http_global_init(char *err, size_t errlen);
void http_global_cleanup(void);

/* A client with one reused curl handle. NULL on error (err set). opts may be NULL. */
http_client *http_new(const http_opts *opts, char *err, size_t errlen);
/* Accepts NULL. */
void http_free(http_client *c);

/* Initialise / release a response (http_request calls resp_reset itself). */
void http_resp_init(http_resp *r);
void http_resp_free(http_resp *r);

/* Send one request. 0 when an HTTP response arrived (any status: check r->status);
 * -1 on a network error, timeout, or a body over the cap (err set: method, URL, reason).
 * The response is reset at the start of each call. */
int http_request(http_client *c, const http_req *req, http_resp *r, char *err, size_t errlen);

/* The value of response header `name` (any case), if the request named it in
 * want_headers and it came; NULL otherwise. Valid until the next request with r. */
const char *http_resp_header(const http_resp *r, const char *name);

/* r->retry_after_s; -1 for NULL. */
long http_retry_after_s(const http_resp *r);

/* Seconds a Retry-After value asks for: delta-seconds (blanks after it allowed) or an
 * HTTP date (0 when past); -1 if v is NULL, empty or neither. */
long http_retry_after_parse(const char *v);

/* url as it may be shown in a message, a log or a file: no "user:password@", no ?query
 * (unless keep_query: for DEBUG=1 logs of a query without secrets), no #fragment, and
 * `redact` (may be NULL) masked as "***"; cut with "..." to cap-1 bytes. Every URL a job
 * or the store shows goes through here. Returns out. */
char *http_url_show(const char *url, const char *redact, int keep_query, char *out,
                    size_t cap);

/* The host of url as libcurl parses it ("127.0.0.1", "[::1]", "influxdb"; userinfo and
 * port left out) into out[cap]. Returns out, or NULL when url does not parse, has no host
 * or the host does not fit. */
char *http_url_host(const char *url, char *out, size_t cap);

/* Percent-encode s (RFC 3986 unreserved set kept) into out. 0 or -1 (cap). */
int http_urlencode(buf *out, const char *s);

#endif
