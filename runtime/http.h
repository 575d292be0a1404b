/* http: the one HTTP client every source and the InfluxDB writer use (libcurl).
 *
 * One easy handle per client, reused for keep-alive. curl_global_init is done once by
 * http_global_init() from main. Every request has connect and total timeouts, an error
 * buffer, a response-body cap, and TLS verification (a private CA via ca_file). The HTTP
 * status is always returned to the caller, who decides what it means.
 *
 * Errors: functions return 0 or -1 and fill err[errlen] with one line naming the method
 * and URL (query string removed, never a credential).
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
} http_req;

typedef struct http_resp {
    long status;               /* HTTP status; 0 when no response */
    buf body;                  /* response body (capped at body_max) */
    char content_type[128];
    /* Response headers the callers use, "" when absent. */
    char retry_after[64];
    char rate_limit[32];       /* x-rate-limit-limit */
    char rate_remaining[32];   /* x-rate-limit-remaining */
    char rate_reset[32];       /* x-rate-limit-reset */
    char influx_error[512];    /* x-influxdb-error */
    char influx_version[64];   /* x-influxdb-version */
    char influx_build[64];     /* x-influxdb-build */
    char cluster_uuid[64];     /* cluster-uuid (InfluxDB 3) */
    int truncated;             /* body hit body_max: request failed with -1 as well */
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

/* Seconds to wait from a Retry-After value (delta-seconds or an HTTP date); -1 if absent
 * or unparsable. */
long http_retry_after_s(const http_resp *r);

/* Backoff before retry number `attempt` (1, 2, ...): base_ms * 2^(attempt-1), capped at
 * max_ms, with full jitter from the OS random source. */
long http_backoff_ms(int attempt, long base_ms, long max_ms);

/* Sleep for ms milliseconds (restarts on EINTR). */
void http_sleep_ms(long ms);

/* Percent-encode s (RFC 3986 unreserved set kept) into out. 0 or -1 (cap). */
int http_urlencode(buf *out, const char *s);

#endif
