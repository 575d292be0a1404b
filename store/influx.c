/* influx: the InfluxDB writer (see influx.h).
 *
 * Answers of a real InfluxDB 1.6.7 this file reads (JSON body {"error":"..."}; the same
 * text, newlines turned into spaces, in the X-Influxdb-Error header):
 *   204                      stored
 *   400 partial write: unable to parse 'LINE': REASON\nunable to parse 'LINE2': REASON dropped=0
 *   400 unable to parse 'LINE': REASON            (no line of the batch could be parsed)
 *   400 partial write: field type conflict: input field "F" on measurement "M" is type T,
 *       already exists as type U dropped=N
 *   400 field type conflict                       (two types inside one batch: none stored)
 *   400 partial write: points beyond retention policy dropped=N
 *   401 authorization failed / unable to parse authentication credentials
 *   403 "bob" user is not authorized to write to database "d"
 *   404 database not found: "d"
 *   413 Request Entity Too Large
 *   500 retention policy not found: RP
 * InfluxDB 2.x answers {"code":"invalid","message":"..."} with the same texts inside, and
 * 422 for a field type conflict; 400 "failed to decode request body: organization not
 * found" for an unknown org.
 * InfluxDB 3.x /api/v3/write_lp (tests/fixtures/influxdb/v3_*.json):
 *   204                      stored
 *   400/422 {"error":"partial write of line protocol occurred","data":[{"error_message":..,
 *       "line_number":N,"original_line":<20 bytes>},..]}   the other lines stored
 *   400 {"error":"line protocol parsing error","data":{..}}  nothing stored
 *   400 {"error":"db name did not start with a number or letter"} (and other db checks)
 *   400 "incoming write was empty" (text); 401 {"error": "the request was not authenticated"}
 *   413 "max request size (N bytes) exceeded" (text)
 */
#include "influx.h"
#include "../runtime/errf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "../runtime/cfg.h"
#include "../runtime/log.h"
#include "../runtime/retry.h"
#include "lp.h"
#include "../runtime/exitcode.h"
#include "../runtime/gz.h"
#include "../runtime/lz.h"

#define INFLUX_CONNECTIONS_DEFAULT 2   /* bench/bench_store.sh prints why (docs/PERFORMANCE.md) */
#define INFLUX_BACKOFF_BASE_MS 500
#define INFLUX_BACKOFF_MAX_MS 30000
#define INFLUX_URL_MAX 4096
#define INFLUX_ERRTEXT_MAX 4096          /* raw body kept as an error text */
#define INFLUX_GZIP_MAX ((size_t)1 << 31) /* cap on a compressed body */

/* Copy at most cap-1 bytes of s[n] into out as one line (control characters -> ' '). */
static void one_line(char *out, size_t cap, const char *s, size_t n)
{
    if (cap == 0)
        return;
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        char ch = s[i];
        if (c < 0x20 || c == 0x7F)
            ch = ' ';
        out[k++] = ch;
    }
    out[k] = '\0';
}

/* ---------------------------------------------------------------- configuration */

static int copy_env(char *out, size_t cap, const char *name, const char *v, char *err,
                    size_t errlen)
{
    size_t n = strlen(v);
    if (n >= cap) {
        errf_set(err, errlen, "%s: longer than %zu bytes", name, cap - 1);
        return -1;
    }
    memcpy(out, v, n + 1);
    return 0;
}

static bool env_false(const char *v)
{
    return strcmp(v, "0") == 0 || strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0 ||
           strcasecmp(v, "off") == 0;
}

static int env_long(const char *name, long lo, long hi, long *out, char *err, size_t errlen)
{
    const char *v = cfg_env(name);
    if (!v)
        return 0;
    char *end = NULL;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi) {
        errf_set(err, errlen, "%s: \"%s\" is not a whole number from %ld to %ld", name, v, lo, hi);
        return -1;
    }
    *out = x;
    return 0;
}

/* Secret `name` (or name_FILE) into out: 1 set, 0 not, -1 error (names the variable). */
static int read_secret(const char *name, char *out, size_t cap, char *err, size_t errlen)
{
    char e[512];
    int rc = cfg_secret(name, out, cap, e, sizeof e);
    if (rc < 0)
        errf_set(err, errlen, "%s", e);
    return rc;
}

/* The URL's host is this machine's loopback: localhost, 127.0.0.0/8 or [::1]. */
static bool url_loopback(const char *url)
{
    char h[256];
    if (!http_url_host(url, h, sizeof h))
        return false;
    if (strcasecmp(h, "localhost") == 0 || strcmp(h, "[::1]") == 0)
        return true;
    if (strncmp(h, "127.", 4) != 0)
        return false;
    return h[4 + strspn(h + 4, "0123456789.")] == '\0';
}

static int base_url(influx_cfg *cfg, char *err, size_t errlen)
{
    const char *url = cfg_env("INFLUXDB_URL");
    if (url) {
        if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0) {
            errf_set(err, errlen, "INFLUXDB_URL: must start with http:// or https:// "
                                "(e.g. http://influxdb:8086)");
            return -1;
        }
        if (strchr(url, '?') || strchr(url, '#') || strpbrk(url, " \t\r\n")) {
            errf_set(err, errlen, "INFLUXDB_URL: give the base URL only (no query, fragment "
                                "or spaces), e.g. http://influxdb:8086");
            return -1;
        }
        if (copy_env(cfg->url, sizeof cfg->url, "INFLUXDB_URL", url, err, errlen) != 0)
            return -1;
    } else {
        const char *host = cfg_env("INFLUXDB_HOST");
        if (!host)
            return 0;
        if (strstr(host, "://") || strpbrk(host, "/?#@ \t\r\n")) {
            errf_set(err, errlen, "INFLUXDB_HOST: give a host name or address only "
                                "(or a full URL in INFLUXDB_URL)");
            return -1;
        }
        long port = 8086;
        if (env_long("INFLUXDB_PORT", 1, 65535, &port, err, errlen) != 0)
            return -1;
        bool v6 = strchr(host, ':') && host[0] != '[';
        int n = snprintf(cfg->url, sizeof cfg->url, "http://%s%s%s:%ld", v6 ? "[" : "", host,
                         v6 ? "]" : "", port);
        if (n < 0 || (size_t)n >= sizeof cfg->url) {
            errf_set(err, errlen, "INFLUXDB_HOST: too long");
            return -1;
        }
    }
    size_t n = strlen(cfg->url);
    while (n > 0 && cfg->url[n - 1] == '/')
        cfg->url[--n] = '\0';
    const char *hostpart = strstr(cfg->url, "://");
    if (!hostpart || !hostpart[3]) {
        errf_set(err, errlen, "%s: no host in the URL", url ? "INFLUXDB_URL" : "INFLUXDB_HOST");
        return -1;
    }
    return 1;
}

int influx_cfg_from_env(influx_cfg *cfg, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->gzip = 1;
    cfg->timeout_ms = 30000;
    cfg->max_retries = 3;
    cfg->max_wait_s = 60;
    if (err && errlen)
        err[0] = '\0';

    /* settings of the writer itself, checked even when InfluxDB is not configured */
    const char *gz = cfg_env("CRONFLUX_GZIP");
    if (gz) {
        if (env_false(gz)) {
            cfg->gzip = 0;
        } else if (strlen(gz) == 1 && gz[0] >= '1' && gz[0] <= '9') {
            cfg->gzip = gz[0] - '0';
        } else if (strcmp(gz, "true") == 0 || strcmp(gz, "yes") == 0 || strcmp(gz, "on") == 0) {
            cfg->gzip = 1;
        } else {
            errf_set(err, errlen, "CRONFLUX_GZIP: \"%s\" is not 0/1 (or a level 1-9)", gz);
            goto fail;
        }
    }
    long retries = cfg->max_retries;
    if (env_long("CRONFLUX_RETRIES", 0, 100, &retries, err, errlen) != 0)
        goto fail;
    cfg->max_retries = (int)retries;
    if (env_long("CRONFLUX_MAX_WAIT", 0, 86400, &cfg->max_wait_s, err, errlen) != 0)
        goto fail;
    long conns = INFLUX_CONNECTIONS_DEFAULT;
    if (env_long("CRONFLUX_CONNECTIONS", 1, 8, &conns, err, errlen) != 0)
        goto fail;
    cfg->connections = (int)conns;
    long tsec = cfg->timeout_ms / 1000;
    if (env_long("CRONFLUX_INFLUX_TIMEOUT", 1, 3600, &tsec, err, errlen) != 0)
        goto fail;
    cfg->timeout_ms = tsec * 1000;

    int rc = base_url(cfg, err, errlen);
    if (rc <= 0) {
        if (rc < 0)
            goto fail;
        cfg->url[0] = '\0';
        return 0;
    }
    cfg->gzip_wire = cfg->gzip && (gz || !url_loopback(cfg->url));

    const char *v;
    if ((v = cfg_env("INFLUXDB_CA_FILE"))) {
        if (copy_env(cfg->ca_file, sizeof cfg->ca_file, "INFLUXDB_CA_FILE", v, err, errlen))
            goto fail;
        if (access(v, R_OK) != 0) {
            errf_set(err, errlen, "INFLUXDB_CA_FILE: %s: %s", v, strerror(errno));
            goto fail;
        }
    }

    rc = read_secret("INFLUXDB_TOKEN", cfg->token, sizeof cfg->token, err, errlen);
    if (rc < 0)
        goto fail;
    bool have_token = rc == 1;

    /* which API: INFLUXDB_API; else INFLUXDB_ORG (2.x only) says 2; else no token says 1;
     * else (a token and no org) the server's /ping tells, on the first write */
    cfg->api = 0;
    cfg->api_from = INFLUX_API_FROM_PING;
    if ((v = cfg_env("INFLUXDB_API")) && strcasecmp(v, "auto") != 0) {
        if (strlen(v) != 1 || v[0] < '1' || v[0] > '3') {
            errf_set(err, errlen, "INFLUXDB_API: \"%s\" is not 1, 2, 3 or auto", v);
            goto fail;
        }
        cfg->api = v[0] - '0';
        cfg->api_from = INFLUX_API_FROM_ENV;
    } else if (cfg_env("INFLUXDB_ORG")) {
        cfg->api = 2;
        cfg->api_from = INFLUX_API_FROM_ORG;
    } else if (!have_token) {
        cfg->api = 1;
        cfg->api_from = INFLUX_API_FROM_NO_TOKEN;
    }
    cfg->v2 = cfg->api == 2;
    if ((v = cfg_env("INFLUXDB_ORG")) &&
        copy_env(cfg->org, sizeof cfg->org, "INFLUXDB_ORG", v, err, errlen))
        goto fail;
    if ((v = cfg_env("INFLUXDB_BUCKET")) &&
        copy_env(cfg->bucket, sizeof cfg->bucket, "INFLUXDB_BUCKET", v, err, errlen))
        goto fail;
    if ((v = cfg_env("INFLUXDB_DATABASE")) &&
        copy_env(cfg->database, sizeof cfg->database, "INFLUXDB_DATABASE", v, err, errlen))
        goto fail;
    if ((v = cfg_env("INFLUXDB_NO_SYNC")))
        cfg->no_sync = !env_false(v) && v[0] != '\0';

    if (cfg->api == 2) {
        if (!have_token) {
            errf_set(err, errlen, "INFLUXDB_TOKEN is not set (the 2.x API needs INFLUXDB_TOKEN, "
                                "INFLUXDB_ORG and INFLUXDB_BUCKET)");
            goto fail;
        }
        if (!cfg->org[0]) {
            errf_set(err, errlen, "INFLUXDB_ORG is not set (the 2.x API, chosen by "
                                "INFLUXDB_API=2, needs INFLUXDB_ORG and INFLUXDB_BUCKET)");
            goto fail;
        }
        if (!cfg->bucket[0]) {
            errf_set(err, errlen, "INFLUXDB_BUCKET is not set (the 2.x API, chosen by %s, "
                                "needs INFLUXDB_ORG and INFLUXDB_BUCKET)",
                     cfg->api_from == INFLUX_API_FROM_ENV ? "INFLUXDB_API=2" : "INFLUXDB_ORG");
            goto fail;
        }
        return 1;
    }
    char shown[sizeof cfg->url];   /* the URL as a message may show it: no userinfo */
    if (cfg->api != 1) {
        /* 3.x, or found by /ping: one name serves as the 1.x/3.x database or 2.x bucket */
        if (!cfg->database[0] && cfg->bucket[0])
            memcpy(cfg->database, cfg->bucket, strlen(cfg->bucket) + 1);
        if (!cfg->bucket[0] && cfg->database[0] && strlen(cfg->database) < sizeof cfg->bucket)
            memcpy(cfg->bucket, cfg->database, strlen(cfg->database) + 1);
        if (!cfg->database[0]) {
            errf_set(err, errlen, "INFLUXDB_DATABASE is not set (InfluxDB at %s: the database "
                                "to write to; INFLUXDB_BUCKET is taken as well)",
                     http_url_show(cfg->url, NULL, 0, shown, sizeof shown));
            goto fail;
        }
    } else if (!cfg->database[0]) {
        errf_set(err, errlen, "INFLUXDB_DATABASE is not set (InfluxDB 1.x at %s needs a "
                            "database; for the 2.x API set INFLUXDB_TOKEN, INFLUXDB_ORG, "
                            "INFLUXDB_BUCKET; for 3.x INFLUXDB_TOKEN and INFLUXDB_DATABASE)",
                 http_url_show(cfg->url, NULL, 0, shown, sizeof shown));
        goto fail;
    }
    if (cfg->api == 3)
        cfg->rp[0] = '\0';
    else if ((v = cfg_env("INFLUXDB_RETENTION_POLICY")) &&
             copy_env(cfg->rp, sizeof cfg->rp, "INFLUXDB_RETENTION_POLICY", v, err, errlen))
        goto fail;
    if ((v = cfg_env("INFLUXDB_USERNAME")) &&
        copy_env(cfg->username, sizeof cfg->username, "INFLUXDB_USERNAME", v, err, errlen))
        goto fail;
    if (strchr(cfg->username, ':')) {
        errf_set(err, errlen, "INFLUXDB_USERNAME: a user name cannot hold ':'");
        goto fail;
    }
    if (read_secret("INFLUXDB_PASSWORD", cfg->password, sizeof cfg->password, err, errlen) < 0)
        goto fail;
    if (cfg->password[0] && !cfg->username[0]) {
        errf_set(err, errlen, "INFLUXDB_PASSWORD is set but INFLUXDB_USERNAME is not");
        goto fail;
    }
    return 1;

fail:
    influx_cfg_wipe(cfg);
    cfg->url[0] = '\0';
    return -1;
}

void influx_cfg_wipe(influx_cfg *cfg)
{
    if (!cfg)
        return;
    cfg_wipe(cfg->password, sizeof cfg->password);
    cfg_wipe(cfg->token, sizeof cfg->token);
}


const char *influx_cfg_describe(const influx_cfg *cfg, char *out, size_t cap)
{
    if (!out || cap == 0)
        return "";
    if (!cfg->url[0]) {
        errf_set(out, cap, "not configured");
        return out;
    }
    char u[sizeof cfg->url];
    http_url_show(cfg->url, NULL, 0, u, sizeof u);
    int n;
    if (cfg->api == 2)
        n = snprintf(out, cap, "%s org=%s bucket=%s (2.x API)", u, cfg->org, cfg->bucket);
    else if (cfg->api == 3)
        n = snprintf(out, cap, "%s db=%s (3.x API)", u, cfg->database);
    else
        n = snprintf(out, cap, "%s db=%s%s%s%s%s%s", u, cfg->database, cfg->rp[0] ? " rp=" : "",
                     cfg->rp, cfg->username[0] ? " user=" : "", cfg->username,
                     cfg->api == 0 ? " (API from /ping)" : "");
    if (n < 0)
        out[0] = '\0';
    return out;
}

/* ---------------------------------------------------------------- the writer */

struct influx {
    influx_cfg cfg;
    http_client *c;
    int api;                           /* 1, 2, 3; 0 until /ping told */
    char server[160];                  /* what /ping said the server is, "" before */
    char write_url[INFLUX_URL_MAX];
    char public_url[INFLUX_URL_MAX];   /* for messages: base URL without userinfo */
    char auth_header[1100];            /* "Token ..." (2.x; 1.x without a user), "Bearer ..." (3.x) */
    char userpwd[1300];                /* "user:password" (1.x) */
    buf gz;                            /* compressed body, reused */
    gz_packer *gzp;                    /* its compressor (made at the first gzip write) */
    buf plain;                         /* influx_write_gz: the lines of a gzip body, reused */
    bool create_tried;
    bool ping_answered;                /* the last /ping got an HTTP answer */
    long ping_status;
};

static int build_url(influx *w, char *err, size_t errlen)
{
    buf u;
    buf_init(&u, INFLUX_URL_MAX - 1);
    int rc = -1;
    if (buf_adds(&u, w->cfg.url) != 0)
        goto done;
    if (w->api == 2) {
        if (buf_adds(&u, "/api/v2/write?org=") || http_urlencode(&u, w->cfg.org) ||
            buf_adds(&u, "&bucket=") || http_urlencode(&u, w->cfg.bucket) ||
            buf_adds(&u, "&precision=ns"))
            goto done;
    } else if (w->api == 3) {
        /* accept_partial=true (the server's default, said anyway): the good lines are
         * stored, the bad ones named by line_number */
        if (buf_adds(&u, "/api/v3/write_lp?db=") || http_urlencode(&u, w->cfg.database) ||
            buf_adds(&u, "&precision=nanosecond&accept_partial=true") ||
            (w->cfg.no_sync && buf_adds(&u, "&no_sync=true")))
            goto done;
    } else {
        if (buf_adds(&u, "/write?db=") || http_urlencode(&u, w->cfg.database))
            goto done;
        if (w->cfg.rp[0] && (buf_adds(&u, "&rp=") || http_urlencode(&u, w->cfg.rp)))
            goto done;
        if (buf_adds(&u, "&precision=n"))
            goto done;
    }
    memcpy(w->write_url, u.p, u.len + 1);
    rc = 0;
done:
    if (rc != 0)
        errf_set(err, errlen, "InfluxDB write URL too long");
    buf_free(&u);
    return rc;
}

/* The write URL and credentials of API api (1, 2, 3), or of none yet (0: only the
 * credentials /ping takes). */
static int set_api(influx *w, int api, char *err, size_t errlen)
{
    w->api = api;
    cfg_wipe(w->auth_header, sizeof w->auth_header);
    cfg_wipe(w->userpwd, sizeof w->userpwd);
    w->cfg.v2 = api == 2;
    if (api != 0 && build_url(w, err, errlen) != 0)
        return -1;
    if (w->cfg.username[0] && api != 2 && api != 3) {
        int n = snprintf(w->userpwd, sizeof w->userpwd, "%s:%s", w->cfg.username,
                         w->cfg.password);
        if (n < 0 || (size_t)n >= sizeof w->userpwd) {
            errf_set(err, errlen, "INFLUXDB_USERNAME/INFLUXDB_PASSWORD: too long");
            return -1;
        }
    } else if (w->cfg.token[0]) {
        int n = snprintf(w->auth_header, sizeof w->auth_header, "%s %s",
                         api == 3 ? "Bearer" : "Token", w->cfg.token);
        if (n < 0 || (size_t)n >= sizeof w->auth_header) {
            errf_set(err, errlen, "INFLUXDB_TOKEN: too long");
            return -1;
        }
    }
    return 0;
}

influx *influx_new(const influx_cfg *cfg, http_client *c, char *err, size_t errlen)
{
    if (!cfg || !cfg->url[0] || !c) {
        errf_set(err, errlen, "InfluxDB is not configured");
        return NULL;
    }
    influx *w = calloc(1, sizeof *w);
    if (!w) {
        errf_set(err, errlen, "out of memory");
        return NULL;
    }
    w->cfg = *cfg;
    w->c = c;
    buf_init(&w->gz, INFLUX_GZIP_MAX);
    buf_init(&w->plain, INFLUX_GZIP_MAX);
    http_url_show(cfg->url, NULL, 0, w->public_url, sizeof w->public_url);
    if (set_api(w, cfg->api, err, errlen) != 0)
        goto fail;
    return w;
fail:
    influx_free(w);
    return NULL;
}

void influx_free(influx *w)
{
    if (!w)
        return;
    influx_cfg_wipe(&w->cfg);
    cfg_wipe(w->auth_header, sizeof w->auth_header);
    cfg_wipe(w->userpwd, sizeof w->userpwd);
    buf_free(&w->gz);
    gz_packer_free(w->gzp);
    buf_free(&w->plain);
    free(w);
}

void influx_result_free(influx_result *r)
{
    if (!r)
        return;
    free(r->bad);
    r->bad = NULL;
    r->nbad = 0;
}

/* ------------------------------------------------------- reading InfluxDB's answers */

char *influx_error_text(const char *body, size_t len, const char *header)
{
    if (body && len > 0) {
        json_error_t je;
        json_t *root = json_loadb(body, len, 0, &je);
        if (root && json_is_object(root)) {
            json_t *m = json_object_get(root, "error");
            if (!json_is_string(m))
                m = json_object_get(root, "message");
            if (json_is_string(m)) {
                char *s = strndup(json_string_value(m), json_string_length(m));
                json_decref(root);
                return s;
            }
        }
        json_decref(root);
    }
    if (header && *header)
        return strdup(header);
    if (body && len > 0) {
        size_t n = len > INFLUX_ERRTEXT_MAX ? INFLUX_ERRTEXT_MAX : len;
        while (n > 0 && (body[n - 1] == '\n' || body[n - 1] == '\r' || body[n - 1] == ' '))
            n--;
        return strndup(body, n);
    }
    return strdup("");
}

/* An index of the batch's lines, for matching quoted line text back to line numbers. */
typedef struct line_ref {
    const char *p;
    size_t len;
    size_t index;
} line_ref;

typedef struct line_index {
    line_ref *lines;     /* in batch order */
    size_t n;
    size_t *slots;       /* open addressing: position+1 in lines, 0 = empty */
    size_t nslots;
} line_index;

static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static void line_index_free(line_index *ix)
{
    free(ix->lines);
    free(ix->slots);
    memset(ix, 0, sizeof *ix);
}

static int line_index_build(line_index *ix, const char *body, size_t len, size_t nlines)
{
    memset(ix, 0, sizeof *ix);
    size_t cap = nlines ? nlines : 1;
    ix->lines = malloc(cap * sizeof *ix->lines);
    if (!ix->lines)
        return -1;
    size_t pos = 0;
    while (pos < len) {
        /* a string field may hold a raw newline: split as InfluxDB does */
        size_t l = lp_line_len(body + pos, len - pos);
        if (ix->n == cap) {
            size_t ncap = cap * 2;
            line_ref *nv = realloc(ix->lines, ncap * sizeof *nv);
            if (!nv)
                goto oom;
            ix->lines = nv;
            cap = ncap;
        }
        ix->lines[ix->n] = (line_ref){ body + pos, l, ix->n };
        ix->n++;
        pos += l + 1;
    }
    ix->nslots = 16;
    while (ix->nslots < ix->n * 2)
        ix->nslots *= 2;
    ix->slots = calloc(ix->nslots, sizeof *ix->slots);
    if (!ix->slots)
        goto oom;
    for (size_t i = 0; i < ix->n; i++) {
        size_t s = (size_t)hash_bytes(ix->lines[i].p, ix->lines[i].len) & (ix->nslots - 1);
        while (ix->slots[s])
            s = (s + 1) & (ix->nslots - 1);
        ix->slots[s] = i + 1;
    }
    return 0;
oom:
    line_index_free(ix);
    return -1;
}

/* A growing list of bad lines (flag per line to keep them unique). */
typedef struct bad_list {
    influx_bad_line *v;
    size_t n, cap;
    unsigned char *seen;   /* one flag per batch line */
    size_t nseen;
} bad_list;

static int bad_add(bad_list *b, size_t index, const char *reason, size_t rlen)
{
    if (index >= b->nseen || b->seen[index])
        return 0;
    if (b->n == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 16;
        influx_bad_line *nv = realloc(b->v, ncap * sizeof *nv);
        if (!nv)
            return -1;
        b->v = nv;
        b->cap = ncap;
    }
    b->seen[index] = 1;
    b->v[b->n].index = index;
    one_line(b->v[b->n].reason, sizeof b->v[b->n].reason, reason, rlen);
    b->n++;
    return 0;
}

/* Mark every batch line equal to text[n]; returns how many, -1 out of memory. */
static long mark_lines(line_index *ix, bad_list *b, const char *text, size_t n,
                       const char *reason, size_t rlen)
{
    long found = 0;
    size_t s = (size_t)hash_bytes(text, n) & (ix->nslots - 1);
    while (ix->slots[s]) {
        const line_ref *r = &ix->lines[ix->slots[s] - 1];
        if (r->len == n && memcmp(r->p, text, n) == 0) {
            if (bad_add(b, r->index, reason, rlen) != 0)
                return -1;
            found++;
        }
        s = (s + 1) & (ix->nslots - 1);
    }
    return found;
}

static const char UNABLE[] = "unable to parse '";

/* End of one reason: the next newline, the next " unable to parse '" (header form) or a
 * final " dropped=N". */
static size_t reason_len(const char *r)
{
    size_t n = strcspn(r, "\n");
    const char *next = strstr(r, " unable to parse '");
    if (next && (size_t)(next - r) < n)
        n = (size_t)(next - r);
    const char *d = strstr(r, " dropped=");
    while (d && (size_t)(d - r) < n) {
        const char *q = d + 9;
        while (*q >= '0' && *q <= '9')
            q++;
        if (*q == '\0' || *q == '\n') {
            n = (size_t)(d - r);
            break;
        }
        d = strstr(d + 1, " dropped=");
    }
    return n;
}

static int classify_unparsable(const char *msg, line_index *ix, bad_list *b)
{
    const char *p = msg;
    while ((p = strstr(p, UNABLE)) != NULL) {
        const char *start = p + sizeof UNABLE - 1;
        const char *next = strstr(start, UNABLE);
        /* the quoted line ends at a "': " — the line itself may hold one, so try each
         * up to the next report until one names a batch line */
        const char *q = start;
        while ((q = strstr(q, "': ")) != NULL && (!next || q < next)) {
            const char *reason = q + 3;
            long k = mark_lines(ix, b, start, (size_t)(q - start), reason, reason_len(reason));
            if (k < 0)
                return -1;
            if (k > 0)
                break;
            q++;
        }
        if (!next)
            break;
        p = next;
    }
    return 0;
}

static int type_of(const char *t, size_t n, lp_type *out)
{
    static const struct { const char *name; lp_type type; } types[] = {
        { "float", LP_FLOAT }, { "integer", LP_INT }, { "string", LP_STRING },
        { "boolean", LP_BOOL }, { "unsigned", LP_UINT },
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strlen(types[i].name) == n && memcmp(types[i].name, t, n) == 0) {
            *out = types[i].type;
            return 0;
        }
    return -1;
}

/* "field type conflict: input field "F" on measurement "M" is type T, already exists as
 * type U": every line of M with field F of type T was dropped. */
static int classify_conflict(const char *msg, line_index *ix, bad_list *b)
{
    const char *c = strstr(msg, "field type conflict: input field \"");
    if (!c)
        return 0;
    c += strlen("field type conflict: input field \"");
    const char *on = strstr(c, "\" on measurement \"");
    if (!on)
        return 0;
    const char *meas = on + strlen("\" on measurement \"");
    /* the last "\" is type " before the end of this report */
    const char *is = NULL, *s = meas;
    while ((s = strstr(s, "\" is type ")) != NULL) {
        is = s;
        s++;
    }
    if (!is)
        return 0;
    const char *tname = is + strlen("\" is type ");
    size_t tlen = strcspn(tname, ", \n");
    lp_type want;
    if (type_of(tname, tlen, &want) != 0)
        return 0;
    size_t flen = (size_t)(on - c), mlen = (size_t)(is - meas);
    const char *reason = strstr(msg, "field type conflict: input field \"");
    size_t rlen = reason_len(reason);

    lp_parsed pp;
    lp_parsed_init(&pp);
    char perr[128];
    int rc = 0;
    for (size_t i = 0; i < ix->n; i++) {
        const line_ref *r = &ix->lines[i];
        if (r->len < mlen || memcmp(r->p, meas, mlen) != 0) {
            /* a measurement with escapes does not start with its plain name: parse it */
            if (!memchr(r->p, '\\', r->len))
                continue;
        }
        if (lp_parse(r->p, r->len, LP_NS, 0, &pp, perr, sizeof perr) != 1)
            continue;
        if (strlen(pp.pt.measurement) != mlen || memcmp(pp.pt.measurement, meas, mlen) != 0)
            continue;
        for (size_t f = 0; f < pp.pt.nfields; f++) {
            const lp_field *fd = &pp.pt.fields[f];
            if (fd->type == want && strlen(fd->key) == flen && memcmp(fd->key, c, flen) == 0) {
                if (bad_add(b, r->index, reason, rlen) != 0)
                    rc = -1;
                break;
            }
        }
        if (rc != 0)
            break;
    }
    lp_parsed_free(&pp);
    return rc;
}

/* "... dropped=N" at the end of msg: N, or -1. */
static long dropped_count(const char *msg)
{
    const char *d = NULL, *s = msg;
    while ((s = strstr(s, "dropped=")) != NULL) {
        d = s;
        s++;
    }
    if (!d)
        return -1;
    d += 8;
    char *end = NULL;
    errno = 0;
    long n = strtol(d, &end, 10);
    if (errno || end == d || n < 0)
        return -1;
    while (*end == ' ' || *end == '\n' || *end == '\r')
        end++;
    return *end ? -1 : n;
}

static int cmp_bad(const void *a, const void *b)
{
    size_t x = ((const influx_bad_line *)a)->index, y = ((const influx_bad_line *)b)->index;
    return x < y ? -1 : x > y;
}

int influx_classify_400(const char *msg, const char *body, size_t len, size_t nlines,
                        influx_result *res)
{
    res->outcome = INFLUX_BAD_BATCH;
    res->bad = NULL;
    res->nbad = 0;
    if (!msg || !body || len == 0)
        return 0;

    line_index ix;
    bad_list b;
    memset(&b, 0, sizeof b);
    if (line_index_build(&ix, body, len, nlines) != 0)
        return -1;
    int rc = -1;
    b.nseen = ix.n;
    b.seen = calloc(ix.n ? ix.n : 1, 1);
    if (!b.seen)
        goto done;
    if (classify_unparsable(msg, &ix, &b) != 0 || classify_conflict(msg, &ix, &b) != 0)
        goto done;
    if (b.n == 0 && ix.n > 0 && dropped_count(msg) == (long)ix.n) {
        /* every line refused, none named (e.g. all beyond the retention policy) */
        const char *r = msg;
        if (strncmp(r, "partial write: ", 15) == 0)
            r += 15;
        for (size_t i = 0; i < ix.n; i++)
            if (bad_add(&b, i, r, reason_len(r)) != 0)
                goto done;
    }
    if (b.n > 0) {
        qsort(b.v, b.n, sizeof *b.v, cmp_bad);
        res->outcome = INFLUX_PARTIAL;
        res->bad = b.v;
        res->nbad = b.n;
        b.v = NULL;
    }
    rc = 0;
done:
    free(b.v);
    free(b.seen);
    line_index_free(&ix);
    return rc;
}

/* ---------------------------------------------------------------- requests */

static void result_reset(influx_result *res)
{
    memset(res, 0, sizeof *res);
    res->retry_after_s = -1;
}

static void set_message(influx_result *res, long status, const char *text)
{
    char line[sizeof res->message];
    one_line(line, sizeof line, text, strlen(text));
    int n;
    if (status > 0)
        n = snprintf(res->message, sizeof res->message, "HTTP %ld%s%s", status,
                     line[0] ? ": " : "", line);
    else
        n = snprintf(res->message, sizeof res->message, "%s", line);
    if (n < 0)
        res->message[0] = '\0';
}

/* The response headers the writer reads: the refusal's text (the JSON body's "error"
 * wins), and what /ping says the server is. */
static const char *const influx_headers[] = { "X-Influxdb-Error", NULL };
static const char *const ping_headers[] = { "X-Influxdb-Version", "X-Influxdb-Build",
                                            "Cluster-Uuid", NULL };

/* InfluxQL identifier in double quotes. */
static int quote_ident(buf *q, const char *s)
{
    if (buf_addc(q, '"'))
        return -1;
    for (; *s; s++) {
        if ((*s == '"' || *s == '\\') && buf_addc(q, '\\'))
            return -1;
        if (buf_addc(q, *s))
            return -1;
    }
    return buf_addc(q, '"');
}

/* POST /query CREATE DATABASE (1.x). 0 created (or already there), -1 not (why set). */
static int create_database(influx *w, char *why, size_t whylen)
{
    buf stmt, form, url;
    buf_init(&stmt, 4096);
    buf_init(&form, 16384);
    buf_init(&url, INFLUX_URL_MAX - 1);
    http_resp r;
    http_resp_init(&r);
    int rc = -1;
    char herr[HTTP_ERR_MAX];
    if (buf_adds(&stmt, "CREATE DATABASE ") || quote_ident(&stmt, w->cfg.database) ||
        buf_adds(&form, "q=") || http_urlencode(&form, stmt.p) ||
        buf_printf(&url, "%s/query", w->cfg.url)) {
        errf_set(why, whylen, "database name too long");
        goto done;
    }
    http_header h[] = { { "Content-Type", "application/x-www-form-urlencoded" } };
    http_req req = {
        .method = "POST", .url = url.p, .headers = h, .nheaders = 1,
        .body = form.p, .body_len = form.len,
        .userpwd = w->userpwd[0] ? w->userpwd : NULL,
        .redact = w->cfg.password[0] ? w->cfg.password : NULL,
        .want_headers = influx_headers,
    };
    if (http_request(w->c, &req, &r, herr, sizeof herr) != 0) {
        errf_set(why, whylen, "%s", herr);
        goto done;
    }
    char *text = influx_error_text(r.body.p, r.body.len, http_resp_header(&r, "X-Influxdb-Error"));
    if (r.status == 200 && (!r.body.p || !strstr(r.body.p, "\"error\""))) {
        rc = 0;
    } else if (r.status == 200) {
        /* {"results":[{"statement_id":0,"error":"..."}]} */
        const char *e = strstr(r.body.p, "\"error\":\"");
        char line[256];
        one_line(line, sizeof line, e ? e + 9 : r.body.p, strcspn(e ? e + 9 : r.body.p, "\""));
        errf_set(why, whylen, "CREATE DATABASE: %s", line);
    } else {
        char line[256];
        one_line(line, sizeof line, text ? text : "", text ? strlen(text) : 0);
        errf_set(why, whylen, "CREATE DATABASE: HTTP %ld%s%s", r.status, line[0] ? ": " : "",
                 line);
    }
    free(text);
done:
    http_resp_free(&r);
    buf_free(&stmt);
    buf_free(&form);
    buf_free(&url);
    return rc;
}

/* A stored body z[zlen] (lz4: an LZ4 block, runtime/lz.h; else a gzip member) unpacked into
 * out: exactly len bytes, NUL-terminated. */
static int unpack_body(buf *out, bool lz4, const char *z, size_t zlen, size_t len)
{
    buf_reset(out);
    if (len >= out->max || buf_reserve(out, len + 1) != 0)
        return -1;
    char why[128];
    int rc = (lz4 ? lz_unpack_exact(z, zlen, out->p, len, why, sizeof why)
                  : gz_inflate_exact(z, zlen, out->p, len, why, sizeof why)) == 0 ? 0 : -1;
    out->len = rc == 0 ? len : 0;
    out->p[out->len] = '\0';
    return rc;
}

/* A 400 whose text says the request's settings are wrong (not a line): 2.x "organization
 * not found", 3.x's db name checks and soft-deleted database. */
static bool config_refusal(const char *text)
{
    static const char *const says[] = {
        "organization not found", "db name cannot be empty", "db name did not start with",
        "db name too long", "invalid character in database or rp name",
        "cannot write to soft-deleted database", "missing query parameter 'db'",
    };
    for (size_t i = 0; i < sizeof says / sizeof says[0]; i++)
        if (strstr(text, says[i]))
            return true;
    return false;
}

/* Before the first write of a writer whose API is still to be found: GET /ping. 0 when
 * the API is known (go on), 1 when res says why not (no write was made). */
static int ensure_api(influx *w, influx_result *res)
{
    if (w->api != 0)
        return 0;
    char e[INFLUX_ERR_MAX];
    if (influx_ping(w, e, sizeof e) == 0)
        return 0;
    /* unreachable: try again later; reachable but not telling: a setting is wrong */
    res->outcome = w->ping_answered ? INFLUX_CONFIG : INFLUX_TEMP;
    res->status = w->ping_status;
    set_message(res, 0, e);
    return 1;
}

/* POST send[send_len] (a gzip member when gz) and read the answer. body[len] are the
 * lines it holds, to name refused ones; NULL: inflated from send when a 400 needs them. */
static int post_write(influx *w, const char *send, size_t send_len, bool gz, const char *body,
                      size_t len, size_t nlines, influx_result *res, char *err, size_t errlen);

int influx_write(influx *w, const char *body, size_t len, size_t nlines, influx_result *res,
                 char *err, size_t errlen)
{
    result_reset(res);
    if (!w || (!body && len > 0)) {
        errf_set(err, errlen, "influx_write: no writer");
        return -1;
    }
    if (len == 0 || nlines == 0) {
        res->outcome = INFLUX_OK;
        return 0;
    }
    if (ensure_api(w, res))
        return 0;

    const char *send = body;
    size_t send_len = len;
    if (w->cfg.gzip_wire) {
        if (!w->gzp)
            w->gzp = gz_packer_new(w->cfg.gzip);
        if (gz_pack(w->gzp, &w->gz, body, len) != 0) {
            errf_set(err, errlen, "gzip of a %zu-byte batch failed", len);
            return -1;
        }
        send = w->gz.p;
        send_len = w->gz.len;
    }
    return post_write(w, send, send_len, w->cfg.gzip_wire, body, len, nlines, res, err, errlen);
}

int influx_write_gz(influx *w, const char *gz, size_t gz_len, size_t len, size_t nlines,
                    influx_result *res, char *err, size_t errlen)
{
    result_reset(res);
    if (!w || (!gz && gz_len > 0)) {
        errf_set(err, errlen, "influx_write_gz: no writer");
        return -1;
    }
    if (len == 0 || nlines == 0) {
        res->outcome = INFLUX_OK;
        return 0;
    }
    if (ensure_api(w, res))
        return 0;
    if (w->cfg.gzip_wire)
        return post_write(w, gz, gz_len, true, NULL, len, nlines, res, err, errlen);
    /* plain on the wire (CRONFLUX_GZIP=0, or a loopback InfluxDB): send the lines */
    if (unpack_body(&w->plain, false, gz, gz_len, len) != 0) {
        errf_set(err, errlen, "a stored gzip body does not inflate to its %zu bytes of lines", len);
        return -1;
    }
    return post_write(w, w->plain.p, len, false, w->plain.p, len, nlines, res, err, errlen);
}

int influx_write_lz4(influx *w, const char *z, size_t zlen, size_t len, size_t nlines,
                     influx_result *res, char *err, size_t errlen)
{
    result_reset(res);
    if (!w || (!z && zlen > 0)) {
        errf_set(err, errlen, "influx_write_lz4: no writer");
        return -1;
    }
    if (len == 0 || nlines == 0) {
        res->outcome = INFLUX_OK;
        return 0;
    }
    if (unpack_body(&w->plain, true, z, zlen, len) != 0) {
        errf_set(err, errlen, "a stored LZ4 body does not unpack to its %zu bytes of lines", len);
        return -1;
    }
    return influx_write(w, w->plain.p, len, nlines, res, err, errlen);
}

/* One POST of a retry_run and what its answer means. */
typedef struct write_try {
    influx *w;
    http_req req;
    http_resp r;
    const char *send;
    size_t send_len, len, nlines;
    const char *body;          /* the lines, or NULL until a 400 needs them */
    influx_result *res;
    int rc;                    /* -1: an internal error (err set) */
    char *err;
    size_t errlen;
} write_try;

/* The outcome of an answer that is not 2xx, into t->res; the verdict for retry_run. */
static retry_verdict write_refused(write_try *t, long st, const char *text)
{
    influx *w = t->w;
    influx_result *res = t->res;
    if (st == 400 && config_refusal(text)) {
        /* the request itself is wrong, not a line: 2.x unknown org, 3.x db name */
        res->outcome = INFLUX_CONFIG;
        return RETRY_STOP;
    }
    if (st == 400 && strstr(text, "Authorization header was malformed")) {
        res->outcome = INFLUX_AUTH;
        return RETRY_STOP;
    }
    if (st == 400 || st == 422) {
        if (!t->body) {
            if (unpack_body(&w->plain, false, t->send, t->send_len, t->len) != 0) {
                errf_set(t->err, t->errlen, "HTTP %ld: the sent gzip body does not inflate to "
                         "its %zu bytes of lines", st, t->len);
                t->rc = -1;
                return RETRY_STOP;
            }
            t->body = w->plain.p;
        }
        int v3 = influx_classify_v3(t->r.body.p, t->r.body.len, t->nlines, res);
        if (v3 < 0 ||
            (v3 == 0 && influx_classify_400(text, t->body, t->len, t->nlines, res) != 0)) {
            errf_set(t->err, t->errlen, "out of memory");
            t->rc = -1;
        }
        return RETRY_STOP;
    }
    if (st == 401 || st == 403) {
        res->outcome = INFLUX_AUTH;
        return RETRY_STOP;
    }
    if (st == 413) {
        res->outcome = INFLUX_TOO_LARGE;
        return RETRY_STOP;
    }
    if (st == 404) {
        res->outcome = INFLUX_CONFIG;
        if (w->api == 1 && strstr(text, "database not found") && !w->create_tried) {
            w->create_tried = true;
            char why[384];
            if (create_database(w, why, sizeof why) == 0) {
                log_debug("influx: created database \"%s\"", w->cfg.database);
                return RETRY_WAIT;   /* the same batch again at once, not counted */
            }
            char m[sizeof res->message];
            int n = snprintf(m, sizeof m, "database \"%s\" not found and not created (%s)",
                             w->cfg.database, why);
            if (n < 0)
                m[0] = '\0';
            set_message(res, st, m);
        }
        return RETRY_STOP;
    }
    if (st == 500 && (strstr(text, "retention policy not found") ||
                      strstr(text, "database not found"))) {
        res->outcome = INFLUX_CONFIG;
        return RETRY_STOP;
    }
    if (st == 429 || st == 503 || st >= 500 || st == 408) {
        res->outcome = INFLUX_TEMP;
        return RETRY_AGAIN;
    }
    /* any other answer (3xx, 405, ...): the URL does not lead to InfluxDB's API */
    res->outcome = INFLUX_CONFIG;
    return RETRY_STOP;
}

static retry_verdict write_once(void *ctx, int attempt, long *wait_ms)
{
    write_try *t = ctx;
    influx *w = t->w;
    influx_result *res = t->res;
    char herr[HTTP_ERR_MAX];
    log_debug("influx: POST %s: %zu lines, %zu bytes (%zu on the wire)", w->public_url,
              t->nlines, t->len, t->send_len);
    if (http_request(w->c, &t->req, &t->r, herr, sizeof herr) != 0) {
        res->status = t->r.status;
        res->outcome = INFLUX_TEMP;
        set_message(res, 0, herr);
        log_debug("influx: %s; %s %d", herr,
                  attempt <= w->cfg.max_retries ? "retry after try" : "giving up after try",
                  attempt);
        return RETRY_AGAIN;
    }
    long st = t->r.status;
    res->status = st;
    if (st >= 200 && st < 300) {
        res->outcome = INFLUX_OK;
        return RETRY_STOP;
    }
    char *text = influx_error_text(t->r.body.p, t->r.body.len,
                                   http_resp_header(&t->r, "X-Influxdb-Error"));
    if (!text) {
        errf_set(t->err, t->errlen, "out of memory");
        t->rc = -1;
        return RETRY_STOP;
    }
    set_message(res, st, text);
    log_debug("influx: POST %s: HTTP %ld", w->public_url, st);
    retry_verdict v = write_refused(t, st, text);
    free(text);
    if (v == RETRY_AGAIN && (st == 429 || st == 503)) {
        long ra = http_retry_after_s(&t->r);
        res->retry_after_s = ra;
        if (ra > w->cfg.max_wait_s)
            return RETRY_GIVE_UP;   /* asks for a longer wait than CRONFLUX_MAX_WAIT allows */
        if (ra >= 0)
            *wait_ms = ra * 1000;
    }
    if (v == RETRY_AGAIN)
        log_debug("influx: HTTP %ld; %s %d", st,
                  attempt <= w->cfg.max_retries ? "retry after try" : "giving up after try",
                  attempt);
    return v;
}

static int post_write(influx *w, const char *send, size_t send_len, bool gz, const char *body,
                      size_t len, size_t nlines, influx_result *res, char *err, size_t errlen)
{
    http_header h[3];
    size_t nh = 0;
    h[nh++] = (http_header){ "Content-Type", "text/plain; charset=utf-8" };
    if (gz)
        h[nh++] = (http_header){ "Content-Encoding", "gzip" };
    if (w->auth_header[0])
        h[nh++] = (http_header){ "Authorization", w->auth_header };
    write_try t = {
        .w = w, .send = send, .send_len = send_len, .len = len, .nlines = nlines,
        .body = body, .res = res, .err = err, .errlen = errlen,
        .req = {
            .method = "POST", .url = w->write_url, .headers = h, .nheaders = nh,
            .body = send, .body_len = send_len,
            .userpwd = w->userpwd[0] ? w->userpwd : NULL,
            .redact = w->auth_header[0] ? w->cfg.token
                                        : (w->cfg.password[0] ? w->cfg.password : NULL),
            .want_headers = influx_headers,
        },
    };
    http_resp_init(&t.r);
    retry_policy p = { .max_attempts = w->cfg.max_retries + 1,
                       .backoff_base_ms = INFLUX_BACKOFF_BASE_MS,
                       .backoff_max_ms = INFLUX_BACKOFF_MAX_MS };
    (void)retry_run(&p, write_once, &t, NULL);
    http_resp_free(&t.r);
    return t.rc;
}

/* "v2.7.12" -> "2.7.12"; the major version (1, 2, 3), or 0. */
static int major_of(const char *v)
{
    if (!v)
        return 0;
    if (*v == 'v' || *v == 'V')
        v++;
    if (*v < '1' || *v > '9' || (v[1] != '.' && v[1] != '\0'))
        return 0;
    return *v - '0';
}

static void server_name(char *out, size_t cap, const char *product, const char *version,
                        const char *build)
{
    if (!out || cap == 0)
        return;
    const char *v = version && (*version == 'v' || *version == 'V') ? version + 1 : version;
    int n = snprintf(out, cap, "%s%s%s%s%s", product && *product ? product : "InfluxDB",
                     v && *v ? " " : "", v ? v : "", build && *build ? " " : "",
                     build ? build : "");
    if (n < 0)
        out[0] = '\0';
}

int influx_api_from_ping(long status, const char *version, const char *build,
                         const char *cluster_uuid, const char *content_type, const char *body,
                         size_t len, char *server, size_t cap)
{
    if (server && cap)
        server[0] = '\0';
    version = version ? version : "";
    build = build ? build : "";
    int major = major_of(version);
    bool v3_build = strcasecmp(build, "Core") == 0 || strcasecmp(build, "Enterprise") == 0;
    char product[96] = "";
    char bversion[64] = "";
    /* 3.x (and a verbose 1.x ping) answer 200 with JSON {"version":..} */
    if (status == 200 && body && len > 0 && content_type &&
        strncasecmp(content_type, "application/json", 16) == 0) {
        json_error_t je;
        json_t *root = json_loadb(body, len, 0, &je);
        json_t *jv = root ? json_object_get(root, "version") : NULL;
        json_t *jp = root ? json_object_get(root, "product_name") : NULL;
        if (json_is_string(jv))
            one_line(bversion, sizeof bversion, json_string_value(jv), json_string_length(jv));
        if (json_is_string(jp))
            one_line(product, sizeof product, json_string_value(jp), json_string_length(jp));
        json_decref(root);
    }
    int api = 0;
    if (status == 204) {
        /* 1.x and 2.x; 2.0.x and Cloud 2 leave the version out */
        api = major == 1 ? 1 : major == 2 || major == 0 ? 2 : major == 3 ? 3 : 0;
    } else if (status == 200) {
        int bmajor = major_of(bversion);
        if (major == 3 || bmajor == 3 || (v3_build && major != 1 && bmajor != 1) ||
            strstr(product, "InfluxDB 3"))
            api = 3;
        else if (major == 1 || bmajor == 1)
            api = 1;
        else if (major == 2 || bmajor == 2)
            api = 2;
    } else if (status == 401 || status == 403) {
        /* 3.x wants the token even for /ping; 1.8+ may too (ping-auth-enabled) */
        if (major >= 1 && major <= 3)
            api = major;
        else if ((cluster_uuid && *cluster_uuid) || v3_build)
            api = 3;
    } else if (major >= 1 && major <= 3) {
        api = major;
    }
    if (api != 0) {
        const char *ver = *version ? version : bversion;
        if (product[0])
            server_name(server, cap, product, ver, NULL);
        else
            server_name(server, cap, api == 3 && !*build ? "InfluxDB 3" : "InfluxDB", ver,
                        build);
    }
    return api;
}

int influx_api_from_health(long status, const char *content_type, const char *body,
                           size_t len, char *version, size_t cap)
{
    if (version && cap)
        version[0] = '\0';
    if (status != 200 || !body || len == 0 || !content_type ||
        strncasecmp(content_type, "application/json", 16) != 0)
        return 0;
    json_error_t je;
    json_t *root = json_loadb(body, len, 0, &je);
    json_t *jn = json_is_object(root) ? json_object_get(root, "name") : NULL;
    json_t *jv = json_is_object(root) ? json_object_get(root, "version") : NULL;
    int api = 0;
    char v[64] = "";
    if (json_is_string(jn) && strcmp(json_string_value(jn), "influxdb") == 0 &&
        json_is_string(jv)) {
        one_line(v, sizeof v, json_string_value(jv), json_string_length(jv));
        int major = major_of(v);
        api = major == 1 || major == 2 ? major : 0;
    }
    json_decref(root);
    if (api && version && cap) {
        int n = snprintf(version, cap, "%s", v);
        if (n < 0 || (size_t)n >= cap)
            version[0] = '\0';
    }
    return api;
}

int influx_api(const influx *w) { return w ? w->api : 0; }

static const char *api_endpoint(int api)
{
    return api == 1 ? "/write" : api == 2 ? "/api/v2/write" : api == 3 ? "/api/v3/write_lp" : "?";
}

const char *influx_describe_api(const influx *w, char *out, size_t cap)
{
    if (!out || cap == 0)
        return "";
    if (!w) {
        errf_set(out, cap, "not configured");
        return out;
    }
    const char *why = w->cfg.api_from == INFLUX_API_FROM_ENV ? "INFLUXDB_API"
                      : w->cfg.api_from == INFLUX_API_FROM_ORG ? "INFLUXDB_ORG is set"
                      : w->cfg.api_from == INFLUX_API_FROM_NO_TOKEN ? "no INFLUXDB_TOKEN"
                      : "detected by /ping";
    int n;
    if (w->api == 0)
        n = snprintf(out, cap, "not known yet (GET /ping decides)");
    else
        n = snprintf(out, cap, "%d.x %s (%s%s%s)", w->api, api_endpoint(w->api), why,
                     w->server[0] ? "; the server says " : "", w->server);
    if (n < 0)
        out[0] = '\0';
    return out;
}

int influx_probe_api(const influx_cfg *cfg, char *out, size_t cap)
{
    if (!out || cap == 0)
        return 0;
    out[0] = '\0';
    http_opts ho = { .connect_timeout_ms = 3000, .timeout_ms = 5000 };
    ho.ca_file = cfg->ca_file[0] ? cfg->ca_file : NULL;
    char e[INFLUX_ERR_MAX];
    http_client *c = http_new(&ho, e, sizeof e);
    influx *w = c ? influx_new(cfg, c, e, sizeof e) : NULL;
    int api = 0;
    if (w && influx_ping(w, e, sizeof e) == 0) {
        influx_describe_api(w, out, cap);
        api = w->api;
    } else if (w) {
        char d[300];
        influx_describe_api(w, d, sizeof d);
        errf_set(out, cap, "%s; GET /ping: %s", d, e);
        api = w->api;
    } else {
        errf_set(out, cap, "%s", e);
    }
    influx_free(w);
    http_free(c);
    return api;
}

const char *influx_check_hint(const influx *w, int code)
{
    int api = w ? w->api : 0;
    bool user = w && w->cfg.username[0];
    if (code == EX_NOPERM) {
        if (api == 2)
            return "INFLUXDB_TOKEN and its permissions on the bucket";
        if (api == 3)
            return "INFLUXDB_TOKEN (InfluxDB 3 wants a token unless it runs --without-auth)";
        if (user || api == 1)
            return user ? "INFLUXDB_USERNAME / INFLUXDB_PASSWORD and the user's WRITE privilege"
                        : "INFLUXDB_TOKEN (1.8+: user:password), or INFLUXDB_USERNAME / "
                          "INFLUXDB_PASSWORD";
        return "INFLUXDB_TOKEN";
    }
    if (api == 2)
        return "INFLUXDB_URL, INFLUXDB_ORG and INFLUXDB_BUCKET";
    if (api == 3)
        return "INFLUXDB_URL and INFLUXDB_DATABASE";
    if (api == 1)
        return "INFLUXDB_URL, INFLUXDB_DATABASE and INFLUXDB_RETENTION_POLICY";
    return "INFLUXDB_URL, INFLUXDB_API (1, 2 or 3) and INFLUXDB_ORG for 2.x";
}

/* GET w's URL + path with the writer's credentials (3.x, and 1.x with ping-auth, answer
 * 401 without them): 0 answered (*r filled, any status), -1 not (err set). */
static int get_path(influx *w, const char *path, http_resp *r, char *err, size_t errlen)
{
    char url[INFLUX_URL_MAX];
    int n = snprintf(url, sizeof url, "%s%s", w->cfg.url, path);
    if (n < 0 || (size_t)n >= sizeof url) {
        errf_set(err, errlen, "InfluxDB URL too long");
        return -1;
    }
    char auth[sizeof w->auth_header];
    auth[0] = '\0';
    if (!w->userpwd[0] && w->cfg.token[0]) {
        n = snprintf(auth, sizeof auth, "%s %s", w->api == 3 ? "Bearer" : "Token",
                     w->cfg.token);
        if (n < 0 || (size_t)n >= sizeof auth)
            auth[0] = '\0';
    }
    http_header h[] = { { "Authorization", auth } };
    http_req req = {
        .method = "GET", .url = url, .headers = h, .nheaders = auth[0] ? 1 : 0,
        .userpwd = w->userpwd[0] ? w->userpwd : NULL,
        .redact = auth[0] ? w->cfg.token : (w->cfg.password[0] ? w->cfg.password : NULL),
        .want_headers = ping_headers,
    };
    return http_request(w->c, &req, r, err, errlen);
}

/* /ping answered 204 without a version: what GET /health says (influx_api_from_health),
 * or api when it says nothing usable (a 2.x without a version is the likely one). */
static int health_fallback(influx *w, int api, const char *build, char *server, size_t cap)
{
    http_resp r;
    http_resp_init(&r);
    char herr[HTTP_ERR_MAX], version[64];
    if (get_path(w, "/health", &r, herr, sizeof herr) == 0) {
        int h = influx_api_from_health(r.status, r.content_type, r.body.p, r.body.len, version,
                                       sizeof version);
        if (h) {
            api = h;
            server_name(server, cap, NULL, version, build);
        }
        log_debug("influx: %s/ping gave no version; /health: HTTP %ld, %s", w->public_url,
                  r.status, h ? server : "no version");
    }
    http_resp_free(&r);
    return api;
}

int influx_ping(influx *w, char *err, size_t errlen)
{
    if (!w) {
        errf_set(err, errlen, "InfluxDB is not configured");
        return -1;
    }
    w->ping_answered = false;
    w->ping_status = 0;
    http_resp r;
    http_resp_init(&r);
    char herr[HTTP_ERR_MAX];
    int rc = -1;
    if (get_path(w, "/ping", &r, herr, sizeof herr) != 0) {
        errf_set(err, errlen, "%s", herr);
        goto done;
    }
    w->ping_answered = true;
    w->ping_status = r.status;
    char server[sizeof w->server];
    const char *version = http_resp_header(&r, "X-Influxdb-Version");
    const char *build = http_resp_header(&r, "X-Influxdb-Build");
    const char *uuid = http_resp_header(&r, "Cluster-Uuid");
    int api = influx_api_from_ping(r.status, version ? version : "", build ? build : "",
                                   uuid ? uuid : "", r.content_type, r.body.p, r.body.len, server,
                                   sizeof server);
    if (r.status == 204 && (!version || !*version))
        api = health_fallback(w, api, build ? build : "", server, sizeof server);
    if (server[0])
        memcpy(w->server, server, sizeof server);
    if (w->api == 0) {
        if (api == 0) {
            errf_set(err, errlen, "GET %s/ping: HTTP %ld does not say which InfluxDB this is "
                     "(set INFLUXDB_API=1, 2 or 3)", w->public_url, r.status);
            goto done;
        }
        if (api == 2 && (!w->cfg.org[0] || !w->cfg.bucket[0])) {
            errf_set(err, errlen, "%s at %s (by /ping) takes the 2.x API, which needs "
                     "INFLUXDB_ORG and INFLUXDB_BUCKET", w->server[0] ? w->server : "InfluxDB 2",
                     w->public_url);
            goto done;
        }
        char e[INFLUX_ERR_MAX];
        if (set_api(w, api, e, sizeof e) != 0) {
            errf_set(err, errlen, "%s", e);
            set_api(w, 0, e, sizeof e);
            goto done;
        }
        log_debug("influx: %s/ping: HTTP %ld, %s: the %d.x API (%s)", w->public_url, r.status,
                  w->server, api, api_endpoint(api));
        rc = 0;   /* a 401 here comes back from the first write, as 77 */
    } else if (r.status == 204 || r.status == 200) {
        rc = 0;
    } else {
        errf_set(err, errlen, "GET %s/ping: HTTP %ld", w->public_url, r.status);
    }
done:
    http_resp_free(&r);
    return rc;
}

/* ------------------------------------------------------- InfluxDB 3 line errors */

int influx_classify_v3(const char *body, size_t len, size_t nlines, influx_result *res)
{
    if (!body || len == 0 || nlines == 0)
        return 0;
    json_error_t je;
    json_t *root = json_loadb(body, len, 0, &je);
    json_t *data = json_is_object(root) ? json_object_get(root, "data") : NULL;
    if (!json_is_array(data) && !json_is_object(data)) {
        json_decref(root);
        return 0;
    }
    bad_list b;
    memset(&b, 0, sizeof b);
    b.nseen = nlines;
    b.seen = calloc(nlines, 1);
    int rc = -1;
    if (!b.seen)
        goto done;
    size_t n = json_is_array(data) ? json_array_size(data) : 1;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_is_array(data) ? json_array_get(data, i) : data;
        json_t *ln = json_object_get(e, "line_number");
        json_t *em = json_object_get(e, "error_message");
        json_t *ol = json_object_get(e, "original_line");
        if (!json_is_integer(ln))
            continue;
        json_int_t k = json_integer_value(ln);
        if (k < 1 || (uint64_t)k > (uint64_t)nlines)
            continue;
        char reason[sizeof b.v->reason];
        int m = snprintf(reason, sizeof reason, "line %lld: %s%s%s%s", (long long)k,
                         json_is_string(em) ? json_string_value(em) : "refused",
                         json_is_string(ol) ? " (InfluxDB 3 saw: " : "",
                         json_is_string(ol) ? json_string_value(ol) : "",
                         json_is_string(ol) ? ")" : "");
        if (m < 0)
            reason[0] = '\0';
        if (bad_add(&b, (size_t)(k - 1), reason, strlen(reason)) != 0)
            goto done;
    }
    rc = 0;
    if (b.n > 0) {
        qsort(b.v, b.n, sizeof *b.v, cmp_bad);
        res->outcome = INFLUX_PARTIAL;
        res->bad = b.v;
        res->nbad = b.n;
        b.v = NULL;
        rc = 1;
    }
done:
    free(b.v);
    free(b.seen);
    json_decref(root);
    return rc;
}
