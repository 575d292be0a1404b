/* influx: the InfluxDB writer (1.x /write, 2.x /api/v2/write, 3.x /api/v3/write_lp) over
 * the shared http client.
 *
 * It sends one batch of ns-precision line protocol and says what became of it; the spool
 * and the flush loop (sink.c) decide what to do next. gzip on the wire (plain to a loopback
 * InfluxDB unless CRONFLUX_GZIP is set: cfg.gzip_wire), one keep-alive connection, Basic
 * auth or "Authorization: Token" (1.x), "Authorization: Token" (2.x), "Authorization:
 * Bearer" (3.x). Retries of 5xx and network errors with backoff and
 * jitter happen inside influx_write, within max_retries and the Retry-After of 429/503
 * up to max_wait_s.
 *
 * Which API (docs/DESIGN.md): INFLUXDB_API=1|2|3 when set; else INFLUXDB_ORG (a 2.x-only
 * setting) means 2.x; else no INFLUXDB_TOKEN means 1.x; else (a token, no org) the
 * server's GET /ping answer decides, once, before the first write.
 */
#ifndef CF_INFLUX_H
#define CF_INFLUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../runtime/http.h"

#define INFLUX_ERR_MAX 512

/* Why cfg.api holds what it holds. */
typedef enum influx_api_from {
    INFLUX_API_FROM_PING = 0,   /* api 0: GET /ping decides before the first write */
    INFLUX_API_FROM_ENV,        /* INFLUXDB_API */
    INFLUX_API_FROM_ORG,        /* INFLUXDB_ORG set: 2.x */
    INFLUX_API_FROM_NO_TOKEN,   /* no INFLUXDB_TOKEN: 1.x */
} influx_api_from;

typedef struct influx_cfg {
    char url[512];         /* base URL, no trailing slash; "" = InfluxDB not configured */
    int api;               /* 1, 2, 3, or 0: found by GET /ping before the first write */
    influx_api_from api_from;
    int v2;                /* api == 2 (kept for callers of the 2.x-only settings) */
    int no_sync;           /* 3.x: INFLUXDB_NO_SYNC (no_sync=true: 2xx before the WAL sync) */
    char database[256];    /* 1.x and 3.x (INFLUXDB_DATABASE, else INFLUXDB_BUCKET) */
    char rp[256];          /* 1.x retention policy, may be "" */
    char username[256];    /* 1.x, may be "" */
    char password[1024];   /* secret */
    char token[1024];      /* 2.x and 3.x (and 1.8+ as "user:password"), secret */
    char org[256];         /* 2.x */
    char bucket[256];      /* 2.x (INFLUXDB_BUCKET, else INFLUXDB_DATABASE when api is 0) */
    char ca_file[512];     /* INFLUXDB_CA_FILE */
    int gzip;              /* default 1 (CRONFLUX_GZIP=0 turns it off): the level of the
                            * bodies stored in the spool and of those sent */
    bool gzip_wire;        /* bodies go gzip on the wire: gzip on, and CRONFLUX_GZIP set or
                            * InfluxDB not on a loopback address (there the lines go plain:
                            * gunzip would only cost InfluxDB CPU; docs/PERFORMANCE.md) */
    long timeout_ms;       /* default 30000 */
    int max_retries;       /* default 3 */
    long max_wait_s;       /* longest Retry-After honoured, default 60 */
    int connections;       /* CRONFLUX_CONNECTIONS: writes in flight at once (1-8), default 2 */
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
 * when gzip goes on the wire (cfg.gzip_wire), inflated and sent plain when not (off, or a
 * loopback InfluxDB), and inflated to name the refused lines of a 400/422 (res->bad
 * indexes the lines).
 * Returns as influx_write; -1 also when gz does not inflate to exactly len bytes. */
int influx_write_gz(influx *w, const char *gz, size_t gz_len, size_t len, size_t nlines,
                    influx_result *res, char *err, size_t errlen);

/* influx_write of a body kept as an LZ4 block (runtime/lz.h): z[zlen] packs len bytes of
 * such lines (a spool batch stored for a loopback InfluxDB, claimed with
 * SPOOL_CLAIM_STORED). It is unpacked into the writer's own buffer (kept from write to
 * write), then sent as influx_write sends lines (gzip when cfg.gzip_wire).
 * Returns as influx_write; -1 also when z does not unpack to exactly len bytes. */
int influx_write_lz4(influx *w, const char *z, size_t zlen, size_t len, size_t nlines,
                     influx_result *res, char *err, size_t errlen);

/* GET /ping: 0 reachable, -1 not (err set). When the API is still to be found (cfg.api
 * 0) the answer decides it (see influx_api_from_ping): -1 also when it cannot tell, or
 * when it finds 2.x and INFLUXDB_ORG is not set. The token (or user:password) goes with
 * the request: 3.x and 1.x with ping-auth want it. */
int influx_ping(influx *w, char *err, size_t errlen);

/* The API in use: 1, 2, 3, or 0 while not yet found. */
int influx_api(const influx *w);

/* One line for people and `cronflux status`: the API, its endpoint, why it was chosen and
 * what the server said it is, e.g. "3.x /api/v3/write_lp (detected by /ping: InfluxDB 3
 * Core 3.10.1)". Never a secret. Returns out. */
const char *influx_describe_api(const influx *w, char *out, size_t cap);

/* For `cronflux status`: GET /ping with cfg's credentials (5 s at most) and
 * influx_describe_api of the answer into out; when unreachable, the configured choice and
 * why /ping failed. Returns the API (1, 2, 3) or 0 when not known. */
int influx_probe_api(const influx_cfg *cfg, char *out, size_t cap);

/* What to check after a refusal (code 77 credentials, 78 configuration): the settings of
 * the API in use, e.g. "INFLUXDB_TOKEN and its permissions on the bucket". Static text. */
const char *influx_check_hint(const influx *w, int code);

/* The API a GET /ping answer says (the recordings in tests/fixtures/influxdb/
 * ping_headers_docs.json): status, the X-Influxdb-Version, X-Influxdb-Build and
 * cluster-uuid headers ("" when absent), Content-Type and the body. 1, 2, 3, or 0 when it
 * cannot tell (not InfluxDB, or a proxy). server[cap] gets what the server says it is
 * ("InfluxDB 3 Core 3.10.1", "InfluxDB 1.6.7 OSS"), "" when nothing. */
int influx_api_from_ping(long status, const char *version, const char *build,
                         const char *cluster_uuid, const char *content_type, const char *body,
                         size_t len, char *server, size_t cap);

/* The fallback when /ping answered 204 with no X-Influxdb-Version (2.0.x sends it empty,
 * InfluxDB Cloud 2 not at all, a proxy may strip it): a GET /health answer (status,
 * Content-Type, body). 1.8+ and 2.x answer 200 JSON {"name":"influxdb",..,"version":V}; the
 * major of V is returned (1 or 2) and version[cap] gets V; 0 (version "") when the answer
 * says nothing usable (404 before 1.8, 3.x's plain "OK", not JSON). */
int influx_api_from_health(long status, const char *content_type, const char *body,
                           size_t len, char *version, size_t cap);

/* Read an InfluxDB 3 line-error body of a 400/422: {"error":..,"data":[{"error_message",
 * "line_number","original_line"},..]} (accept_partial=true: the other lines were stored)
 * or {"error":..,"data":{..}} (the batch refused at its first bad line: nothing stored).
 * Each line_number (1-based, within 1..nlines) becomes res->bad[index line_number-1] with
 * the reason "line N: error_message (InfluxDB 3 saw: original_line)"; res->outcome is then
 * INFLUX_PARTIAL. Returns 1 when body had that shape and named a line, 0 when not (res
 * untouched), -1 out of memory. res->bad must be NULL on entry. */
int influx_classify_v3(const char *body, size_t len, size_t nlines, influx_result *res);

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
