/* influx: the InfluxDB writer (1.x /write and 2.x /api/v2/write) over the shared http client.
 *
 * It sends one batch of ns-precision line protocol and says what became of it; the spool
 * and the flush loop (sink.c) decide what to do next. gzip on the wire, one keep-alive
 * connection, Basic auth (1.x) or "Authorization: Token" (2.x). Retries of 5xx and
 * network errors with backoff and jitter happen inside influx_write, within max_retries
 * and the Retry-After of 429/503 up to max_wait_s.
 */
#ifndef CF_INFLUX_H
#define CF_INFLUX_H

#include <stddef.h>
#include <stdint.h>

#include "../runtime/http.h"

#define INFLUX_ERR_MAX 512

typedef struct influx_cfg {
    char url[512];         /* base URL, no trailing slash; "" = InfluxDB not configured */
    int v2;                /* 1: /api/v2/write with token, org, bucket */
    char database[256];    /* 1.x */
    char rp[256];          /* 1.x retention policy, may be "" */
    char username[256];    /* 1.x, may be "" */
    char password[1024];   /* secret */
    char token[1024];      /* 2.x, secret */
    char org[256];         /* 2.x */
    char bucket[256];      /* 2.x */
    char ca_file[512];     /* INFLUXDB_CA_FILE */
    int gzip;              /* default 1 (CRONFLUX_GZIP=0 turns it off) */
    long timeout_ms;       /* default 30000 */
    int max_retries;       /* default 3 */
    long max_wait_s;       /* longest Retry-After honoured, default 60 */
} influx_cfg;

/* Fill cfg from the environment (DESIGN.md names; secrets via *_FILE too).
 * Returns 1 configured, 0 not configured (no INFLUXDB_URL / INFLUXDB_HOST: the embedded
 * default), -1 wrong (err names the variable; exit 78). */
int influx_cfg_from_env(influx_cfg *cfg, char *err, size_t errlen);
/* Overwrite the secrets in cfg. */
void influx_cfg_wipe(influx_cfg *cfg);
/* "http://127.0.0.1:8086 db=telegraf" style description without any secret. */
const char *influx_cfg_describe(const influx_cfg *cfg, char *out, size_t cap);

typedef struct influx influx;

/* A writer using client c (not owned). NULL on error. */
influx *influx_new(const influx_cfg *cfg, http_client *c, char *err, size_t errlen);
void influx_free(influx *w);   /* accepts NULL */

typedef enum influx_outcome {
    INFLUX_OK = 0,        /* 2xx: every line stored */
    INFLUX_PARTIAL,       /* 400 partial write: bad lines listed in res->bad, others stored */
    INFLUX_BAD_BATCH,     /* 400 that names no line (whole batch unparsable): dead-letter it */
    INFLUX_TOO_LARGE,     /* 413: split and retry */
    INFLUX_TEMP,          /* 5xx, 429, network, timeout after retries: keep, exit 75 */
    INFLUX_AUTH,          /* 401/403: exit 77 */
    INFLUX_CONFIG,        /* 404 / database not found and cannot be created: exit 78 */
} influx_outcome;

typedef struct influx_bad_line {
    size_t index;         /* 0-based line number within the batch */
    char reason[256];
} influx_bad_line;

typedef struct influx_result {
    influx_outcome outcome;
    long status;                 /* last HTTP status, 0 when none */
    long retry_after_s;          /* from 429/503, -1 if none */
    influx_bad_line *bad;        /* malloc'd, for INFLUX_PARTIAL */
    size_t nbad;
    char message[512];           /* InfluxDB's error, one line */
} influx_result;

void influx_result_free(influx_result *r);   /* accepts NULL */

/* Write body[len] (ns-precision lines, '\n'-terminated, nlines of them).
 * Returns 0 with res->outcome set for every answer InfluxDB gave (check outcome), -1 only
 * on an internal error (out of memory, gzip). The first write of a process creates a
 * missing 1.x database when the answer says it is not found and the credentials allow. */
int influx_write(influx *w, const char *body, size_t len, size_t nlines, influx_result *res,
                 char *err, size_t errlen);

/* influx_write of a body kept gzip-compressed: gz[gz_len] is a gzip member of len bytes
 * of such lines (e.g. a spool batch claimed with SPOOL_CLAIM_STORED). It is sent as it is
 * when gzip is on (CRONFLUX_GZIP, the default), inflated and sent plain when it is off,
 * and inflated to name the refused lines of a 400/422 (res->bad indexes the lines).
 * Returns as influx_write; -1 also when gz does not inflate to exactly len bytes. */
int influx_write_gz(influx *w, const char *gz, size_t gz_len, size_t len, size_t nlines,
                    influx_result *res, char *err, size_t errlen);

/* GET /ping (1.x and 2.x): 0 reachable, -1 not (err set). */
int influx_ping(influx *w, char *err, size_t errlen);

/* The pieces of influx_write that read InfluxDB's answers, exposed for tests. */

/* InfluxDB's error text of an answer: the JSON "error" (1.x) or "message" (2.x) of
 * body[len], else the X-Influxdb-Error header value (may be NULL), else the body itself
 * (at most 4 KiB). Newlines inside are kept (1.x separates several bad lines with them).
 * A malloc'd string the caller frees ("" when there is none), NULL when out of memory. */
char *influx_error_text(const char *body, size_t len, const char *header);

/* Name the refused lines of a 400/422 answer whose error text is msg, for the batch
 * body[len] of nlines '\n'-terminated lines:
 *  - "unable to parse 'LINE': reason" (1.x and 2.x; several, one a line): each quoted LINE
 *    is matched back to every batch line equal to it;
 *  - "field type conflict: input field "F" on measurement "M" is type T, already exists
 *    as type U": every batch line of measurement M with field F of type T;
 *  - "... dropped=N" with N = nlines and nothing named: every line.
 * Sets res->outcome to INFLUX_PARTIAL with res->bad (ascending, unique indexes) when at
 * least one line is named, else INFLUX_BAD_BATCH; res->message keeps its value.
 * res->bad must be NULL on entry. 0, or -1 when out of memory. */
int influx_classify_400(const char *msg, const char *body, size_t len, size_t nlines,
                        influx_result *res);

#endif
