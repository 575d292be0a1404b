/* prom: the Prometheus HTTP API client behind bin/prom-metrics.
 *
 * The parts, each in its own file:
 *  - prom_parse.c    the response parser (/api/v1/query and /api/v1/query_range bodies)
 *  - prom_queries.c  the queries file ("name = expr" lines) and the built-in cluster set
 *  - prom_plan.c     backfill ranges: the step grid, chunks, checkpoint keys, time text
 *  - prom_cfg.c      where Prometheus is, from the environment
 *  - prom_outcome.c  what an answer means (outcome) and its exit code
 *  - prom_api.c      one API call with retries over the shared http client
 *
 * Why the parser is not jansson: memory. A query_range chunk of a long backfill is one large
 * body (tens of MB for many series), and a jansson tree of it costs several times its size;
 * the reader here walks the body in place, hands each sample to a callback and builds no
 * tree, so a backfill's peak memory is one chunk's body, whatever its length (bench_prom:
 * peak RSS flat from 1 to 30 days). Exactness is not the reason: Prometheus' times are whole
 * milliseconds ("1795562831.500"), which a double holds exactly enough to round back to the
 * millisecond; the reader still takes the number's text, so no rounding is needed at all.
 * It is strict JSON and reports every error as "line L, column C: reason".
 * (Changed 2026-12, issue 9: the reason given here before, exact times, did not hold.)
 */
#ifndef CF_PROM_H
#define CF_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../runtime/buf.h"
#include "../../runtime/http.h"

#define PROM_ERR_MAX 512
#define PROM_NAME_MAX 128          /* a query's name */
#define PROM_EXPR_MAX 16384        /* a query's PromQL text */
#define PROM_QUERIES_MAX 1000      /* queries in one file */
#define PROM_QUERIES_FILE_MAX ((size_t)1024 * 1024)
#define PROM_LABELS_MAX 256        /* labels of one series */
#define PROM_LABEL_TEXT_MAX 65536  /* bytes of one label name or value */
#define PROM_POINTS_LIMIT 11000    /* Prometheus refuses more points per series per query */
#define PROM_CHUNK_DEFAULT 10000   /* default --chunk: points per series per query_range */
#define PROM_MEASUREMENT "prometheus"

/* ---------------------------------------------------------------- response parser */

typedef enum prom_rtype {
    PROM_R_NONE = 0,   /* an error envelope, or not read yet */
    PROM_R_VECTOR,
    PROM_R_MATRIX,
    PROM_R_SCALAR,
    PROM_R_STRING,
} prom_rtype;

const char *prom_rtype_name(prom_rtype t);   /* "vector", ... ("none") */

typedef struct prom_label {
    const char *name;
    const char *value;
} prom_label;

/* A sample value's text as Prometheus wrote it ("831.545"), which value was read from
 * exactly; it lives as long as the answer's body. */
typedef struct prom_text {
    const char *p;
    size_t len;
} prom_text;

/* Called once per sample, NaN and ±Inf included (the caller decides; see prom_parse_result
 * .nonfinite). labels[nlabels] and their strings belong to the parser. A scalar has no
 * labels. labels_id numbers the label sets of one prom_parse call (1, 2, ...; a new number
 * whenever the labels are read anew, i.e. for each series): while it stays the same, so do
 * labels, nlabels and every pointer and byte they hold, so a caller may keep what it built
 * from them (tags, say) across the samples of one series, until labels_id changes or
 * prom_parse returns; then they are gone. Return 0 to go on, -1 to stop the parse
 * (prom_parse then returns -2 and leaves err alone: the callback keeps its own reason). */
typedef int (*prom_sample_fn)(void *ctx, const prom_label *labels, size_t nlabels,
                              uint64_t labels_id, int64_t t_ns, double value,
                              const prom_text *vtext);

typedef struct prom_parse_result {
    bool is_error;           /* {"status":"error", ...} */
    char error_type[64];     /* "bad_data", "execution", "timeout", ... ("" when none) */
    char error[512];         /* Prometheus' message, cut to fit */
    prom_rtype type;
    int64_t series;          /* series (vector/matrix elements; 1 for a scalar) */
    int64_t samples;         /* every sample seen, NaN/±Inf included */
    int64_t nonfinite;       /* of which NaN, +Inf or -Inf */
    int64_t histograms;      /* native-histogram samples: skipped, counted */
    int64_t warnings;        /* entries of "warnings" */
    char warning[256];       /* the first of them */
} prom_parse_result;

/* Parse body[len] (a whole /api/v1/query or /api/v1/query_range answer) and call fn (may
 * be NULL: validate only) for every sample in document order. Strict: the body must be
 * exactly one JSON object of the documented shape.
 * Returns 0 when it was a well-formed answer (success, or an error envelope: check
 * res->is_error); -1 when the body is not JSON or not of the documented shape (err =
 * "line L, column C: reason"); -2 when fn returned -1. res is filled in every case. */
int prom_parse(const char *body, size_t len, prom_sample_fn fn, void *ctx,
               prom_parse_result *res, char *err, size_t errlen);

/* A Prometheus sample time, the text of a JSON number in seconds ("1795562831.500",
 * "1641889530", "1.4357814307e9"), as exact nanoseconds (rounded half away from zero past
 * the ninth decimal). Never goes through a double. 0, or -1 when not a JSON number or out
 * of int64 range. */
int prom_ts_parse(const char *s, size_t len, int64_t *out_ns);

/* A sample value as Prometheus writes it: a decimal/exponent number, "NaN", "+Inf",
 * "-Inf" (also "Inf"). 0 or -1. */
int prom_value_parse(const char *s, size_t len, double *out);

/* ns as decimal seconds for a request parameter: "1795562831.5", "1795562851".
 * Exact (no double). Returns out, or NULL when cap is too small. */
char *prom_fmt_seconds(int64_t ns, char *out, size_t cap);

/* ---------------------------------------------------------------- queries */

typedef struct prom_query {
    char *name;         /* [A-Za-z_][A-Za-z0-9_:.-]*, at most PROM_NAME_MAX-1 bytes */
    char *expr;         /* PromQL */
    char *measurement;  /* where its points go: "prometheus" (built-in) or the name (file) */
} prom_query;

typedef struct prom_queries {
    prom_query *q;      /* owned */
    size_t n, cap;
} prom_queries;

void prom_queries_init(prom_queries *qs);
void prom_queries_free(prom_queries *qs);   /* frees every string; accepts NULL */

/* Parse a queries file's text. One query a line: `name = expr` (split at the first '=';
 * spaces around either side trimmed). A line whose first non-blank character is '#' is a
 * comment (a '#' later in a line belongs to the PromQL); blank lines are skipped; a line
 * ending in a backslash continues on the next one (joined with a newline, which PromQL
 * reads as a space). Each query's
 * measurement is its own name. `file` names the source in errors.
 * Appends to out. 0, or -1 with err = "FILE:LINE: reason" (exit 78). */
int prom_queries_parse(const char *text, size_t len, const char *file, prom_queries *out,
                       char *err, size_t errlen);
/* Read and parse a file (at most PROM_QUERIES_FILE_MAX bytes; at least one query).
 * 0 or -1 (err "FILE: reason" or "FILE:LINE: reason"). */
int prom_queries_load(const char *path, prom_queries *out, char *err, size_t errlen);
/* The built-in cluster set (node_exporter, cAdvisor, kube-state-metrics names), each with
 * measurement "prometheus". 0 or -1 (out of memory). */
int prom_queries_builtin(prom_queries *out, char *err, size_t errlen);
/* Set every query's measurement to m (--measurement). 0 or -1. */
int prom_queries_set_measurement(prom_queries *qs, const char *m, char *err, size_t errlen);

/* ---------------------------------------------------------------- backfill planning */

/* A backfill range: the step grid inside [from, to]. Grid times are the multiples of step
 * (counted from the Unix epoch), so a rerun over an overlapping range lands on the same
 * timestamps and overwrites instead of adding near-duplicates. */
typedef struct prom_range {
    int64_t first_ns;   /* first grid time >= from */
    int64_t last_ns;    /* last grid time <= to */
    int64_t step_ns;    /* > 0, a whole number of milliseconds */
    int64_t npoints;    /* grid times in [first, last] (points per series) */
} prom_range;

/* 0, or -1 (err) when from > to, a time is negative, the step is not a positive whole
 * number of milliseconds, or no grid time falls inside the range. */
int prom_range_plan(int64_t from_ns, int64_t to_ns, int64_t step_ns, prom_range *r,
                    char *err, size_t errlen);

/* The chunk that starts at grid time start_ns with at most maxpts (>= 1) points per
 * series: its last grid time in *end_ns (never past r->last_ns). Returns its number of
 * points (>= 1), or 0 when start_ns is past the range or not on the grid. The next chunk
 * starts at *end_ns + step. */
int64_t prom_chunk(const prom_range *r, int64_t start_ns, int64_t maxpts, int64_t *end_ns);

/* Grid times from start_ns (a grid time) to the end of the range. */
int64_t prom_points_left(const prom_range *r, int64_t start_ns);

/* Size of the next chunk (points per series). Chunks are kept near a response size of
 * target_bytes: after a chunk of `points` points whose body was body_len bytes and held
 * `samples` samples, the next holds about target_bytes / (body_len / points) points;
 * an empty chunk lets the next one grow fourfold. Always within [1, maxpts]. */
int64_t prom_chunk_next(int64_t cur, int64_t maxpts, size_t target_bytes, size_t body_len,
                        int64_t samples, int64_t points);

/* The checkpoint key of one query over one range:
 * "q=NAME first=NS last=NS step=NS expr=FNV64HEX". Returns out or NULL (cap too small). */
char *prom_checkpoint_key(const prom_query *q, const prom_range *r, char *out, size_t cap);
/* Checkpoint values: "next=NS" (the first grid time not yet stored) or "complete". */
#define PROM_CHECKPOINT_COMPLETE "complete"
/* Read a checkpoint value: 1 complete, 0 *next_ns set (a grid time inside r), -1 not
 * understood (err). */
int prom_checkpoint_parse(const char *value, const prom_range *r, int64_t *next_ns,
                          char *err, size_t errlen);

/* ---------------------------------------------------------------- the API */

typedef struct prom_cfg {
    char url[512];        /* base URL without a trailing slash, e.g. http://127.0.0.1:9090 */
    char token[4096];     /* PROMETHEUS_TOKEN(_FILE): "Authorization: Bearer"; secret */
    char ca_file[512];    /* PROMETHEUS_CA_FILE */
    long timeout_ms;      /* PROMETHEUS_TIMEOUT (duration), default 120 s */
    int max_retries;      /* retries of network errors and 429/5xx, default 3 */
    size_t body_max;      /* cap on one response; over it the chunk is halved */
    int64_t deadline_ns;  /* clock_mono_ns() time of the run's deadline (--deadline); 0: none.
                             No request or retry wait goes past it (then PROM_TEMP). */
    bool gzip;            /* --gzip: ask for gzip answers; default plain ones
                             (Accept-Encoding: identity; prom_api.c says why) */
} prom_cfg;

/* Fill cfg from the environment; url_flag (--url) wins when not NULL. PROMETHEUS_URL, or
 * PROMETHEUS_HOST + PROMETHEUS_PORT (default 9090). 0, or -1 when nothing names the server
 * or a value is wrong (err names the variable; exit 78). */
int prom_cfg_from_env(prom_cfg *cfg, const char *url_flag, char *err, size_t errlen);
void prom_cfg_wipe(prom_cfg *cfg);

typedef enum prom_outcome {
    PROM_OK = 0,
    PROM_BAD_QUERY,     /* 400 bad_data: the query (configuration) -> 78 */
    PROM_EXEC,          /* 422 execution: the query cannot be evaluated -> 78 */
    PROM_TOO_LARGE,     /* body over body_max, or 422 "too many samples": a backfill halves
                         * the chunk; otherwise -> 78 */
    PROM_TIMEOUT,       /* 503 errorType "timeout" (not retried): a backfill halves the
                         * chunk; otherwise -> 75 */
    PROM_TEMP,          /* 429/5xx, no answer in time, or the run's deadline -> 75 */
    PROM_UNREACHABLE,   /* no connection (refused, DNS, TLS) after retries -> 69 */
    PROM_AUTH,          /* 401/403 -> 77 */
    PROM_CONFIG,        /* 404 and other 4xx: wrong URL or path prefix -> 78 */
    PROM_SHAPE,         /* the body is not of the documented shape -> 65 */
    PROM_STOPPED,       /* the sample callback stopped the parse */
} prom_outcome;

/* The exit code (sysexits.h) for an outcome; 0 for PROM_OK. */
int prom_outcome_exit(prom_outcome o);
const char *prom_outcome_name(prom_outcome o);

/* The outcome of one answer (no retries here): status and body as received. res must
 * already hold prom_parse's result when a JSON envelope was found (has_envelope). */
prom_outcome prom_classify(long status, bool has_envelope, const prom_parse_result *res);

typedef struct prom_client prom_client;

/* A client over its own http_client. NULL on error (err). */
prom_client *prom_client_new(const prom_cfg *cfg, char *err, size_t errlen);
void prom_client_free(prom_client *pc);   /* accepts NULL */

/* Run one API call: POST base+path with the form body `form` (already URL-encoded),
 * retrying network errors and 429/5xx (Retry-After honoured, up to 60 s) with backoff.
 * A 2xx answer is validated whole first and only then are its samples handed to fn, so a
 * chunk is stored all or nothing (the check keeps the samples aside as it reads them, in
 * at most about twice body_max; a larger answer is read again instead). fn sees labels_id
 * start again at 1 in each call. res is filled; *body_len (may be NULL) gets the body's size.
 * Returns the outcome; err holds a one-line reason for anything but PROM_OK/PROM_STOPPED
 * (the method and path, Prometheus' errorType and error, or "line L, column C: ...").
 * Prometheus' error text is passed on as it is; the request never carries a secret in
 * its URL. */
prom_outcome prom_call(prom_client *pc, const char *path, const char *form, prom_sample_fn fn,
                       void *ctx, prom_parse_result *res, size_t *body_len, char *err,
                       size_t errlen);

#endif
