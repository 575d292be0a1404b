/* twitter-stats: account counters and post metrics from the X API into cronflux.
 *
 * Reads with OAuth 1.0a user context (X API v2 by default, --api 1.1 for apps that still
 * have v1.1 access), turns what it read into points (tw_points), and hands them to the
 * sink, which keeps them in the spool and sends them to InfluxDB. See --help.
 */
#include <ctype.h>
#include <getopt.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "../../store/sink.h"
#include "../../runtime/cfg.h"
#include "../../runtime/cli.h"
#include "../../runtime/http.h"
#include "../../runtime/log.h"
#include "../../runtime/slice.h"
#include "../../runtime/tparse.h"
#include "tw.h"

#define JOB "twitter-stats"
#define MSG_MAX 1024
#define MAX_PAGES 2000           /* guard against a server that never ends a listing */
#define V2_USERS_PER_CALL 100
#define V1_PAGES_MAX 20          /* v1.1 timelines give at most 3200 posts (16 pages of 200) */
#define PRIVATE_METRICS_DAYS 29  /* non_public/organic metrics exist for 30 days */
#define MAX_WARNINGS 20

static const char usage[] =
    "usage: twitter-stats [options]\n"
    "\n"
    "Reads the counters of X (Twitter) accounts and the metrics of their recent posts and\n"
    "writes them as points: twitter_user (tags user, user_id; followers, following, posts,\n"
    "listed, likes) and twitter_post (tags user, post_id; likes, reposts, replies, quotes,\n"
    "impressions, bookmarks where the API gives them), stamped with the run's time.\n"
    "\n"
    "Accounts: --users / TWITTER_USERS (comma-separated; TWITTER_USER too), else the account\n"
    "the access token belongs to (GET /2/users/me).\n"
    "\n"
    "options:\n"
    "  -u, --users LIST    accounts to read, comma-separated (env TWITTER_USERS, TWITTER_USER)\n"
    "  --api 2|1.1         X API version (default 2); 1.1 only for apps that still have it\n"
    "  --schema S          cronflux (default) or twittergraph: one measurement per counter\n"
    "                      (followers_count, friends_count, listed_count, favourites_count,\n"
    "                      statuses_count; field value, tag user) as twittergraph wrote; no posts\n"
    "  --lookback D        how far back a scheduled run re-reads post metrics (default 7d)\n"
    "  --since T           backfill: read every post created from T ...\n"
    "  --until T           ... to T (default now); metrics as of now; resumable (the API\n"
    "                      serves an account's newest 3200 posts); in an Indexed Job each\n"
    "                      pod takes its slice (JOB_COMPLETION_INDEX of CRONFLUX_SLICES)\n"
    "  --fresh             backfill: ignore the progress saved by an earlier run of this range\n"
    "  --no-posts          read the account counters only\n"
    "  --max-wait D        longest wait for a rate-limit window (default 0: stop with 75)\n"
    "  --strict            exit 65 when an answer carried an errors array (see below)\n"
    "  --api-url URL       API base URL (env TWITTER_API_URL, default https://api.twitter.com)\n"
    "  --retries N         retries after a network error or 5xx (default 2)\n"
    CLI_COMMON_HELP
    "\n"
    "environment:\n"
    "  TWITTER_API_KEY, TWITTER_API_SECRET, TWITTER_ACCESS_TOKEN, TWITTER_ACCESS_SECRET\n"
    "  (or API_KEY, API_SECRET, ACCESS_TOKEN, ACCESS_SECRET; each also as NAME_FILE),\n"
    "  TWITTER_API_URL, TWITTER_USERS / TWITTER_USER, TWITTER_CA_FILE (a private CA for\n"
    "  TWITTER_API_URL), CRONFLUX_STATE, CRONFLUX_ALIGN,\n"
    "  INFLUXDB_* (see the README), DEBUG=1 (requests, with signature and tokens redacted)\n"
    "\n"
    "A scheduled run reads the posts created in the last --lookback, and every post newer\n"
    "than the newest one an earlier run saw (a checkpoint in the state file), so a stopped\n"
    "CronJob catches up. Points carry the run's time truncated to --align, so a retried run\n"
    "overwrites its points. Rate limits are read from x-rate-limit-* headers: a request the\n"
    "window cannot take is not sent. non_public_metrics and organic_metrics (impressions)\n"
    "are asked for the posts of the account the access token belongs to (GET /2/users/me,\n"
    "or the numeric prefix X gives its access tokens) when they are at most 30 days old.\n"
    "\n"
    "An answer of 200 that carries an errors array (an account not found, suspended or\n"
    "protected) writes what it could, logs one warning per error, and exits 0 - the other\n"
    "accounts keep being recorded; with --strict it exits 65 instead. When not one of the\n"
    "accounts can be read the run exits 78 (the list is wrong).\n"
    "\n"
    "exit codes: 0 done; 64 usage; 65 the API sent data that does not parse (or over the\n"
    "8 MiB cap); 69 the API is unreachable; 75 rate limited or InfluxDB down: points read\n"
    "are safe in the spool, run again later; 77 credentials refused; 78 configuration\n"
    "missing or wrong.\n";

enum { OPT_API = 1, OPT_SCHEMA, OPT_LOOKBACK, OPT_SINCE, OPT_UNTIL, OPT_MAXWAIT, OPT_STRICT,
       OPT_APIURL, OPT_RETRIES, OPT_NOPOSTS, OPT_FRESH };

typedef struct name_list {
    char (*v)[TW_NAME_MAX];
    size_t n;
} name_list;

typedef struct opts {
    cli_common cc;
    const char *users;
    int api;                    /* 2 or 1 (1.1) */
    tw_schema schema;
    const char *since, *until;
    int64_t lookback_ns;
    int64_t max_wait_ns;
    bool strict, no_posts, fresh;
    const char *api_url;
    int retries;
} opts;

typedef struct run {
    const opts *o;
    sink *s;
    tw_client *c;
    name_list names;
    int64_t t_ns;               /* the points' timestamp */
    int64_t now_ns;
    bool backfill;
    int64_t since_ns, until_ns;
    char token_user_id[TW_ID_MAX];   /* from the access token's prefix, "" if none */
    char me_id[TW_ID_MAX];
    long n_users, n_posts, n_pages, n_partial, n_rejected;
    char first_partial[TW_MSG_MAX];
    char msg[MSG_MAX];          /* the one error line */
} run;

/* snprintf into out[cap], "" on an encoding error; a cut message is still a message. */
static void fmt(char *out, size_t cap, const char *f, ...) __attribute__((format(printf, 3, 4)));
static void fmt(char *out, size_t cap, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(out, cap, f, ap);
    va_end(ap);
    if (n < 0 && cap)
        out[0] = '\0';
}

static void setmsg(run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void setmsg(run *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        r->msg[0] = '\0';
}

/* ---- configuration ---------------------------------------------------------------- */

static int valid_username(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= TW_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_')
            return 0;
    return 1;
}

/* Split "a, @b,c" into names. 0, or -1 with msg. */
static int parse_users(const char *list, const char *source, name_list *out, char *msg, size_t cap)
{
    out->v = NULL;
    out->n = 0;
    if (!list)
        return 0;
    size_t max = 1;
    for (const char *p = list; *p; p++)
        max += *p == ',';
    if (max > TW_MAX_USERS) {
        fmt(msg, cap, "%s: more than %d accounts; split them over several CronJobs", source,
            TW_MAX_USERS);
        return -1;
    }
    out->v = calloc(max, sizeof *out->v);
    if (!out->v) {
        fmt(msg, cap, "out of memory");
        return -1;
    }
    const char *p = list;
    while (*p) {
        size_t len = strcspn(p, ",");
        const char *a = p, *b = p + len;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        if (a < b && *a == '@')
            a++;
        if (b > a) {
            char name[TW_NAME_MAX];
            size_t nl = (size_t)(b - a);
            if (nl >= sizeof name) {
                fmt(msg, cap, "%s: an account name is longer than %d characters", source,
                         TW_NAME_MAX - 1);
                return -1;
            }
            memcpy(name, a, nl);
            name[nl] = '\0';
            if (!valid_username(name)) {
                fmt(msg, cap, "%s: \"%.40s\" is not an X username (letters, digits, _)",
                         source, name);
                return -1;
            }
            bool dup = false;
            for (size_t i = 0; i < out->n; i++)
                dup |= strcasecmp(out->v[i], name) == 0;
            if (!dup)
                memcpy(out->v[out->n++], name, nl + 1);
        }
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

/* One secret: TWITTER_X, else X (each also as _FILE). 1 found, 0 missing, -1 error. */
static int get_secret(const char *name, char *out, size_t cap, const char **used, char *msg,
                      size_t msgcap)
{
    char pref[64];
    int n = snprintf(pref, sizeof pref, "TWITTER_%s", name);
    if (n < 0 || (size_t)n >= sizeof pref)
        return -1;
    int rc = cfg_secret(pref, out, cap, msg, msgcap);
    if (rc != 0) {
        *used = rc == 1 ? "TWITTER_" : NULL;
        return rc;
    }
    rc = cfg_secret(name, out, cap, msg, msgcap);
    *used = rc == 1 ? "" : NULL;
    return rc;
}

/* ---- helpers over the API ---------------------------------------------------------- */

/* Log the errors array of a 200 answer; they make the run partial. */
static void report_partial(run *r, const char *what, const tw_problem *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char line[TW_MSG_MAX];
        tw_problem_line(&e[i], line, sizeof line);
        if (r->n_partial < MAX_WARNINGS)
            log_warn("%s: the answer says: %s%s%s", what, line, e[i].value[0] ? " - value " : "",
                     e[i].value);
        else if (r->n_partial == MAX_WARNINGS)
            log_warn("more answers with errors follow; not shown");
        if (!r->first_partial[0] &&
            snprintf(r->first_partial, sizeof r->first_partial, "%s: %s", what, line) < 0)
            r->first_partial[0] = '\0';
        r->n_partial++;
    }
}

/* sink_add with the job's accounting. 0, or an exit code (store error). */
static int add_point(run *r, const lp_point *p)
{
    char err[SINK_ERR_MAX];
    int rc = sink_add(r->s, p, err, sizeof err);
    if (rc == 1) {
        if (r->n_rejected++ < MAX_WARNINGS)
            log_warn("a point was refused: %s", err);
        return 0;
    }
    if (rc != 0) {
        setmsg(r, "store: %s", err);
        return EX_TEMPFAIL;
    }
    return 0;
}

static int write_user(run *r, const tw_user *u, const char *configured)
{
    if (!u->has_metrics) {
        setmsg(r, "user %s: the answer has no public_metrics (asked for with "
                  "user.fields=public_metrics)", u->username);
        return EX_DATAERR;
    }
    tw_pt pts[5];
    /* twittergraph tagged the account as configured; cronflux uses the API's spelling */
    const char *tag = r->o->schema == TW_SCHEMA_TWITTERGRAPH && configured ? configured : u->username;
    size_t n = tw_user_points(u, tag, r->o->schema, r->t_ns, pts);
    for (size_t i = 0; i < n; i++) {
        int rc = add_point(r, &pts[i].pt);
        if (rc)
            return rc;
    }
    r->n_users++;
    return 0;
}

static const char *configured_name(const run *r, const char *username)
{
    for (size_t i = 0; i < r->names.n; i++)
        if (strcasecmp(r->names.v[i], username) == 0)
            return r->names.v[i];
    return NULL;
}

/* ---- checkpoints -------------------------------------------------------------------- */

/* snprintf's result: the whole text fitted in cap bytes */
static bool fits(int n, size_t cap)
{
    return n >= 0 && (size_t)n < cap;
}

/* A checkpoint read that failed: say so once and go on as if there were none (a scheduled
 * run then re-reads its --lookback window; a backfill starts its range again). */
static void cp_read_failed(const char *err)
{
    static bool said;
    if (!said)
        log_warn("store: reading a checkpoint failed (%s); going on without it", err);
    said = true;
}

/* The newest post an earlier run saw: "ID CREATED_NS". 1 found, 0 none. */
static int cp_newest_get(run *r, const char *uid, char *id, size_t idcap, int64_t *created)
{
    char key[96], val[128], err[SINK_ERR_MAX];
    if (!fits(snprintf(key, sizeof key, "newest_post:%s", uid), sizeof key))
        return 0;
    int g = sink_checkpoint_get(r->s, key, val, sizeof val, err, sizeof err);
    if (g < 0)
        cp_read_failed(err);
    if (g != 1)
        return 0;
    char *sp = strchr(val, ' ');
    if (!sp)
        return 0;
    *sp = '\0';
    long long c = 0;
    char *end = NULL;
    c = strtoll(sp + 1, &end, 10);
    if (!end || *end || strlen(val) >= idcap || strspn(val, "0123456789") != strlen(val))
        return 0;
    memcpy(id, val, strlen(val) + 1);
    *created = c;
    return 1;
}

static int cp_newest_set(run *r, const char *uid, const tw_post *newest)
{
    if (sink_dry_run(r->s) || !newest->id[0])
        return 0;
    char old[TW_ID_MAX];
    int64_t oc;
    if (cp_newest_get(r, uid, old, sizeof old, &oc) == 1 && tw_id_cmp(old, newest->id) >= 0)
        return 0;
    char key[96], val[128], err[SINK_ERR_MAX];
    if (!fits(snprintf(key, sizeof key, "newest_post:%s", uid), sizeof key) ||
        !fits(snprintf(val, sizeof val, "%s %lld", newest->id, (long long)newest->created_ns),
              sizeof val))
        return 0;
    /* the points so far and the checkpoint in one commit */
    if (sink_checkpoint_set(r->s, key, val, err, sizeof err) != 0) {
        setmsg(r, "store: %s", err);
        return EX_TEMPFAIL;
    }
    return 0;
}

/* 0, or -1 when the key does not fit (never with decimal ids). */
static int backfill_key(const run *r, const char *uid, char *key, size_t cap)
{
    return fits(snprintf(key, cap, "backfill.v%d:%s:%lld:%lld", r->o->api, uid,
                         (long long)(r->since_ns / TPARSE_NS_PER_S),
                         (long long)(r->until_ns / TPARSE_NS_PER_S)), cap) ? 0 : -1;
}

/* The saved progress of this backfill range: 0 none, 1 a cursor in out, 2 done. */
static int cp_backfill_get(run *r, const char *uid, char *out, size_t cap)
{
    if (r->o->fresh)
        return 0;
    char key[160], val[TW_TOKEN_MAX + 16], err[SINK_ERR_MAX];
    if (backfill_key(r, uid, key, sizeof key) != 0)
        return 0;
    int g = sink_checkpoint_get(r->s, key, val, sizeof val, err, sizeof err);
    if (g < 0)
        cp_read_failed(err);
    if (g != 1)
        return 0;
    if (strcmp(val, "done") == 0)
        return 2;
    if (strncmp(val, "next:", 5) == 0 && strlen(val + 5) < cap && val[5]) {
        memcpy(out, val + 5, strlen(val + 5) + 1);
        return 1;
    }
    return 0;
}

/* Commit the points so far, then record the cursor (NULL: done). */
static int cp_backfill_set(run *r, const char *uid, const char *cursor)
{
    if (sink_dry_run(r->s))
        return 0;
    char key[160], val[TW_TOKEN_MAX + 16], err[SINK_ERR_MAX];
    if (backfill_key(r, uid, key, sizeof key) != 0 ||
        !fits(snprintf(val, sizeof val, "%s%s", cursor ? "next:" : "done", cursor ? cursor : ""),
              sizeof val))
        return 0;
    if (sink_checkpoint_set(r->s, key, val, err, sizeof err) != 0) {
        setmsg(r, "store: %s", err);
        return EX_TEMPFAIL;
    }
    return 0;
}

/* ---- X API v2 ------------------------------------------------------------------------ */

static int get_json(run *r, const char *endpoint, buf *pq, http_resp *resp)
{
    char err[MSG_MAX];
    if (!pq->p) {
        setmsg(r, "%s: out of memory building the request", endpoint);
        return EX_SOFTWARE;
    }
    int rc = tw_get(r->c, endpoint, pq->p, resp, err, sizeof err);
    if (rc)
        setmsg(r, "%s", err);
    return rc;
}

static int users_v2(run *r, tw_users *users)
{
    int rc = 0;
    http_resp resp;
    http_resp_init(&resp);
    buf pq;
    buf_init(&pq, 16384);
    char err[MSG_MAX];

    if (r->names.n == 0) {
        const char *ep = "GET /2/users/me";
        buf_adds(&pq, "/2/users/me?user.fields=public_metrics");
        if ((rc = get_json(r, ep, &pq, &resp)))
            goto done;
        if (tw_parse_users_v2(resp.body.p, resp.body.len, ep, users, err, sizeof err) != 0) {
            setmsg(r, "%s", err);
            rc = EX_DATAERR;
            goto done;
        }
        if (users->n != 1) {
            setmsg(r, "%s: expected one user in data, got %zu", ep, users->n);
            rc = EX_DATAERR;
            goto done;
        }
        memcpy(r->me_id, users->v[0].id, sizeof r->me_id);
        goto done;
    }
    const char *ep = "GET /2/users/by";
    for (size_t i = 0; i < r->names.n; i += V2_USERS_PER_CALL) {
        buf_reset(&pq);
        buf_adds(&pq, "/2/users/by?usernames=");
        for (size_t j = i; j < r->names.n && j < i + V2_USERS_PER_CALL; j++) {
            if (j > i)
                buf_adds(&pq, "%2C");
            http_urlencode(&pq, r->names.v[j]);
        }
        buf_adds(&pq, "&user.fields=public_metrics");
        if ((rc = get_json(r, ep, &pq, &resp)))
            goto done;
        size_t before = users->nerrors;
        if (tw_parse_users_v2(resp.body.p, resp.body.len, ep, users, err, sizeof err) != 0) {
            setmsg(r, "%s", err);
            rc = EX_DATAERR;
            goto done;
        }
        report_partial(r, ep, users->errors + before, users->nerrors - before);
    }
done:
    buf_free(&pq);
    http_resp_free(&resp);
    return rc;
}

static void add_param(buf *pq, const char *k, const char *v)
{
    buf_addc(pq, strchr(pq->p ? pq->p : "", '?') ? '&' : '?');
    buf_adds(pq, k);
    buf_addc(pq, '=');
    http_urlencode(pq, v);
}

static void keep_newest(tw_post *newest, const tw_post *p)
{
    if (!newest->id[0] || tw_id_cmp(p->id, newest->id) > 0)
        *newest = *p;
}

static int posts_v2(run *r, const tw_user *u)
{
    int rc = 0;
    http_resp resp;
    http_resp_init(&resp);
    buf pq;
    buf_init(&pq, 16384);
    tw_page page;
    tw_page_init(&page);
    tw_post newest;
    memset(&newest, 0, sizeof newest);
    char err[MSG_MAX], ts[40], token[TW_TOKEN_MAX] = "", since_id[TW_ID_MAX] = "";
    int64_t start_ns = 0, end_ns = 0, lower_ns;
    const char *ep = "GET /2/users/:id/tweets";

    if (r->backfill) {
        start_ns = r->since_ns;
        end_ns = r->until_ns;
        int b = cp_backfill_get(r, u->id, token, sizeof token);
        if (b == 2) {
            log_info("user %s: this backfill range was done by an earlier run (--fresh reads it again)",
                     u->username);
            goto done;
        }
        if (b == 1)
            log_info("user %s: resuming the backfill where an earlier run stopped", u->username);
    } else {
        start_ns = r->now_ns - r->o->lookback_ns;
        int64_t cp_created;
        char cp_id[TW_ID_MAX];
        if (cp_newest_get(r, u->id, cp_id, sizeof cp_id, &cp_created) == 1 && cp_created > 0 &&
            cp_created < start_ns) {
            /* an earlier run saw posts up to cp_id, longer ago than --lookback: read
             * everything since then, so that no post is missed after a pause */
            memcpy(since_id, cp_id, sizeof since_id);
            start_ns = cp_created;
        }
    }
    lower_ns = start_ns;
    bool mine = (r->me_id[0] && strcmp(r->me_id, u->id) == 0) ||
                (r->token_user_id[0] && strcmp(r->token_user_id, u->id) == 0);
    bool private = mine && lower_ns >= r->now_ns - (int64_t)PRIVATE_METRICS_DAYS * 86400 * TPARSE_NS_PER_S;

    char prev_token[TW_TOKEN_MAX] = "";
    for (long pages = 0;; pages++) {
        if (pages >= MAX_PAGES) {
            setmsg(r, "%s: user %s: more than %d pages; the listing does not end", ep,
                   u->username, MAX_PAGES);
            rc = EX_DATAERR;
            goto done;
        }
        buf_reset(&pq);
        if (buf_printf(&pq, "/2/users/%s/tweets", u->id) != 0)
            goto nomem;
        add_param(&pq, "max_results", "100");
        add_param(&pq, "tweet.fields", private ? "created_at,public_metrics,non_public_metrics,organic_metrics"
                                               : "created_at,public_metrics");
        if (since_id[0]) {
            add_param(&pq, "since_id", since_id);
        } else {
            add_param(&pq, "start_time", tparse_format(start_ns, ts, sizeof ts));
        }
        if (end_ns)
            add_param(&pq, "end_time", tparse_format(end_ns, ts, sizeof ts));
        if (token[0])
            add_param(&pq, "pagination_token", token);
        if ((rc = get_json(r, ep, &pq, &resp)))
            goto done;
        tw_page_free(&page);
        if (tw_parse_posts_v2(resp.body.p, resp.body.len, ep, &page, err, sizeof err) != 0) {
            setmsg(r, "%s (user %s)", err, u->username);
            rc = EX_DATAERR;
            goto done;
        }
        r->n_pages++;
        report_partial(r, ep, page.errors, page.nerrors);
        for (size_t i = 0; i < page.n; i++) {
            tw_pt pt;
            if (tw_post_point(&page.v[i], u->username, r->t_ns, &pt) == 1) {
                if ((rc = add_point(r, &pt.pt)))
                    goto done;
                r->n_posts++;
            }
            keep_newest(&newest, &page.v[i]);
        }
        if (page.next_token[0] && strcmp(page.next_token, token) == 0 &&
            strcmp(prev_token, token) == 0) {
            setmsg(r, "%s: user %s: the API gave the same next_token twice", ep, u->username);
            rc = EX_DATAERR;
            goto done;
        }
        memcpy(prev_token, token, sizeof prev_token);
        memcpy(token, page.next_token, sizeof token);
        if (r->backfill && (rc = cp_backfill_set(r, u->id, token[0] ? token : NULL)))
            goto done;
        if (!token[0])
            break;
    }
    rc = cp_newest_set(r, u->id, &newest);
    goto done;
nomem:
    setmsg(r, "%s: out of memory building the request", ep);
    rc = EX_SOFTWARE;
done:
    /* a listing cut short (rate limit, error) leaves the checkpoint where it was: the
     * posts it did not reach must be read by the next run */
    tw_page_free(&page);
    buf_free(&pq);
    http_resp_free(&resp);
    return rc;
}

/* ---- X API v1.1 ---------------------------------------------------------------------- */

static int users_v1(run *r, tw_users *users)
{
    int rc = 0;
    http_resp resp;
    http_resp_init(&resp);
    buf pq;
    buf_init(&pq, 4096);
    char err[MSG_MAX];
    size_t count = r->names.n ? r->names.n : 1;

    for (size_t i = 0; i < count; i++) {
        const char *ep;
        buf_reset(&pq);
        if (r->names.n == 0) {
            ep = "GET /1.1/account/verify_credentials.json";
            buf_adds(&pq, "/1.1/account/verify_credentials.json?include_entities=false&skip_status=true");
        } else {
            ep = "GET /1.1/users/show.json";
            buf_adds(&pq, "/1.1/users/show.json?screen_name=");
            http_urlencode(&pq, r->names.v[i]);
            buf_adds(&pq, "&include_entities=false");
        }
        rc = tw_get(r->c, ep, pq.p, &resp, err, sizeof err);
        if (rc) {
            tw_problem p;
            char line[TW_MSG_MAX];
            tw_parse_error(resp.body.p, resp.body.len, &p, line, sizeof line);
            /* 50 user not found, 63 suspended: that account, not the run */
            if (r->names.n && ((resp.status == 404 && (p.code == 50 || p.code == 17)) ||
                               (resp.status == 403 && p.code == 63))) {
                fmt(p.value, sizeof p.value, "%s", r->names.v[i]);
                report_partial(r, ep, &p, 1);
                rc = 0;
                continue;
            }
            setmsg(r, "%s", err);
            goto done;
        }
        if (users->n == users->cap) {
            size_t ncap = users->cap ? users->cap * 2 : 16;
            tw_user *nv = realloc(users->v, ncap * sizeof *nv);
            if (!nv) {
                setmsg(r, "out of memory");
                rc = EX_SOFTWARE;
                goto done;
            }
            users->v = nv;
            users->cap = ncap;
        }
        if (tw_parse_user_v1(resp.body.p, resp.body.len, ep, &users->v[users->n], err, sizeof err) != 0) {
            setmsg(r, "%s", err);
            rc = EX_DATAERR;
            goto done;
        }
        if (r->names.n == 0)
            memcpy(r->me_id, users->v[users->n].id, sizeof r->me_id);
        users->n++;
    }
done:
    buf_free(&pq);
    http_resp_free(&resp);
    return rc;
}

static int posts_v1(run *r, const tw_user *u)
{
    int rc = 0;
    http_resp resp;
    http_resp_init(&resp);
    buf pq;
    buf_init(&pq, 4096);
    tw_page page;
    tw_page_init(&page);
    tw_post newest;
    memset(&newest, 0, sizeof newest);
    char err[MSG_MAX], max_id[TW_ID_MAX] = "", since_id[TW_ID_MAX] = "";
    int64_t start_ns, end_ns = 0;
    const char *ep = "GET /1.1/statuses/user_timeline.json";

    if (r->backfill) {
        start_ns = r->since_ns;
        end_ns = r->until_ns;
        int b = cp_backfill_get(r, u->id, max_id, sizeof max_id);
        if (b == 2) {
            log_info("user %s: this backfill range was done by an earlier run (--fresh reads it again)",
                     u->username);
            goto done;
        }
    } else {
        start_ns = r->now_ns - r->o->lookback_ns;
        int64_t cp_created;
        char cp_id[TW_ID_MAX];
        if (cp_newest_get(r, u->id, cp_id, sizeof cp_id, &cp_created) == 1 && cp_created > 0 &&
            cp_created < start_ns) {
            memcpy(since_id, cp_id, sizeof since_id);
            start_ns = 0;
        }
    }
    for (int pages = 0; pages < V1_PAGES_MAX; pages++) {
        buf_reset(&pq);
        if (buf_printf(&pq, "/1.1/statuses/user_timeline.json?user_id=%s&count=200&trim_user=true"
                            "&include_rts=true&exclude_replies=false", u->id) != 0)
            break;
        if (since_id[0])
            add_param(&pq, "since_id", since_id);
        if (max_id[0])
            add_param(&pq, "max_id", max_id);
        if ((rc = get_json(r, ep, &pq, &resp)))
            goto done;
        tw_page_free(&page);
        if (tw_parse_timeline_v1(resp.body.p, resp.body.len, ep, &page, err, sizeof err) != 0) {
            setmsg(r, "%s (user %s)", err, u->username);
            rc = EX_DATAERR;
            goto done;
        }
        r->n_pages++;
        bool older = false;
        const char *oldest = NULL;
        for (size_t i = 0; i < page.n; i++) {
            const tw_post *p = &page.v[i];
            if (!oldest || tw_id_cmp(p->id, oldest) < 0)
                oldest = p->id;
            if (p->created_ns < start_ns) {
                older = true;
                continue;
            }
            if (end_ns && p->created_ns >= end_ns)
                continue;
            tw_pt pt;
            if (tw_post_point(p, u->username, r->t_ns, &pt) == 1) {
                if ((rc = add_point(r, &pt.pt)))
                    goto done;
                r->n_posts++;
            }
            keep_newest(&newest, p);
        }
        if (page.n == 0 || older || !oldest || tw_id_prev(oldest, max_id, sizeof max_id) != 0) {
            max_id[0] = '\0';
        }
        if (r->backfill && (rc = cp_backfill_set(r, u->id, max_id[0] ? max_id : NULL)))
            goto done;
        if (!max_id[0])
            break;
    }
    rc = cp_newest_set(r, u->id, &newest);
done:
    tw_page_free(&page);
    buf_free(&pq);
    http_resp_free(&resp);
    return rc;
}

/* ---- the run ---------------------------------------------------------------------------- */

static int do_run(run *r)
{
    tw_users users;
    tw_users_init(&users);
    int rc = r->o->api == 1 ? users_v1(r, &users) : users_v2(r, &users);
    if (rc)
        goto done;
    if (users.n == 0) {
        /* every account was refused: the list is wrong, not one account */
        setmsg(r, "none of the %zu accounts could be read: %s; check TWITTER_USERS", r->names.n,
               r->first_partial[0] ? r->first_partial : "the API returned no user");
        rc = EX_CONFIG;
        goto done;
    }
    /* user points first: they are kept whatever happens to the post reads */
    for (size_t i = 0; i < users.n; i++)
        if ((rc = write_user(r, &users.v[i], configured_name(r, users.v[i].username))))
            goto done;
    if (r->o->schema == TW_SCHEMA_TWITTERGRAPH || r->o->no_posts)
        goto done;
    for (size_t i = 0; i < users.n; i++) {
        rc = r->o->api == 1 ? posts_v1(r, &users.v[i]) : posts_v2(r, &users.v[i]);
        if (rc)
            goto done;
    }
done:
    tw_users_free(&users);
    return rc;
}

static void print_usage(FILE *out)
{
    fputs(usage, out);
}

static int usage_error(const char *fmt, const char *arg)
{
    char m[512];
    if (snprintf(m, sizeof m, fmt, arg) < 0)
        m[0] = '\0';
    log_error("%s (see --help)", m);
    return EX_USAGE;
}

int main(int argc, char **argv)
{
    /* Each page's JSON tree is freed before the next is read; with glibc's default trim
     * threshold the heap is given back and faulted in again every page. The process is
     * short-lived: keep up to 64 MB of free heap instead. */
    (void)mallopt(M_TRIM_THRESHOLD, 64 << 20);
    log_init(JOB);
    opts o;
    memset(&o, 0, sizeof o);
    o.api = 2;
    o.retries = 2;
    o.lookback_ns = (int64_t)7 * 86400 * TPARSE_NS_PER_S;
    const char *lookback_arg = NULL, *maxwait_arg = NULL;

    static const struct option longopts[] = {
        { "users", required_argument, NULL, 'u' },
        { "api", required_argument, NULL, OPT_API },
        { "schema", required_argument, NULL, OPT_SCHEMA },
        { "lookback", required_argument, NULL, OPT_LOOKBACK },
        { "since", required_argument, NULL, OPT_SINCE },
        { "until", required_argument, NULL, OPT_UNTIL },
        { "max-wait", required_argument, NULL, OPT_MAXWAIT },
        { "strict", no_argument, NULL, OPT_STRICT },
        { "api-url", required_argument, NULL, OPT_APIURL },
        { "retries", required_argument, NULL, OPT_RETRIES },
        { "no-posts", no_argument, NULL, OPT_NOPOSTS },
        { "fresh", no_argument, NULL, OPT_FRESH },
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    char err[MSG_MAX];
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":u:", longopts, NULL)) != -1) {
        switch (opt) {
        case 'u': o.users = optarg; break;
        case OPT_API:
            if (strcmp(optarg, "2") == 0)
                o.api = 2;
            else if (strcmp(optarg, "1.1") == 0)
                o.api = 1;
            else
                return usage_error("--api: \"%s\": use 2 or 1.1", optarg);
            break;
        case OPT_SCHEMA:
            if (strcmp(optarg, "cronflux") == 0)
                o.schema = TW_SCHEMA_CRONFLUX;
            else if (strcmp(optarg, "twittergraph") == 0)
                o.schema = TW_SCHEMA_TWITTERGRAPH;
            else
                return usage_error("--schema: \"%s\": use cronflux or twittergraph", optarg);
            break;
        case OPT_LOOKBACK: lookback_arg = optarg; break;
        case OPT_SINCE: o.since = optarg; break;
        case OPT_UNTIL: o.until = optarg; break;
        case OPT_MAXWAIT: maxwait_arg = optarg; break;
        case OPT_STRICT: o.strict = true; break;
        case OPT_APIURL: o.api_url = optarg; break;
        case OPT_NOPOSTS: o.no_posts = true; break;
        case OPT_FRESH: o.fresh = true; break;
        case OPT_RETRIES: {
            char *end = NULL;
            long v = strtol(optarg, &end, 10);
            if (!end || *end || end == optarg || v < 0 || v > 10)
                return usage_error("--retries: \"%s\": a number from 0 to 10", optarg);
            o.retries = (int)v;
            break;
        }
        default:
            if (cli_common_other(&o.cc, opt, optarg, argv[optind - 1], err, sizeof err) != 0) {
                log_error("%s", err);
                return EX_USAGE;
            }
        }
    }
    int done = cli_common_finish(&o.cc, "twitter-stats", print_usage, argc, argv, err, sizeof err);
    if (done != CLI_RUN) {
        if (done != 0)
            log_error("%s", err);
        return done;
    }
    if (lookback_arg && tparse_duration(lookback_arg, &o.lookback_ns, err, sizeof err) != 0)
        return usage_error("--lookback: %s", err);
    if (maxwait_arg) {
        if (strcmp(maxwait_arg, "0") == 0)
            o.max_wait_ns = 0;
        else if (tparse_duration(maxwait_arg, &o.max_wait_ns, err, sizeof err) != 0)
            return usage_error("--max-wait: %s", err);
    }

    run r;
    memset(&r, 0, sizeof r);
    r.o = &o;
    r.now_ns = tparse_now_ns();
    if (o.until && !o.since)
        return usage_error("--until needs --since%s", "");
    if (o.since) {
        if (tparse_time(o.since, r.now_ns, &r.since_ns, err, sizeof err) != 0)
            return usage_error("--since: %s", err);
        r.until_ns = r.now_ns;
        if (o.until && tparse_time(o.until, r.now_ns, &r.until_ns, err, sizeof err) != 0)
            return usage_error("--until: %s", err);
        if (r.until_ns > r.now_ns)
            r.until_ns = r.now_ns;
        if (r.since_ns >= r.until_ns)
            return usage_error("--since must be before --until (and before now)%s", "");
        /* whole seconds: the API takes RFC 3339 seconds, and the checkpoint key uses them */
        r.since_ns -= r.since_ns % TPARSE_NS_PER_S;
        r.until_ns -= r.until_ns % TPARSE_NS_PER_S;
        /* a pod of an Indexed Job takes its slice [since, until) of the range; the API's
         * start_time is inclusive and end_time exclusive, so slices meet without overlap */
        int sl = slice_from_env(&r.since_ns, &r.until_ns, TPARSE_NS_PER_S, err, sizeof err);
        if (sl < 0) {
            log_error("%s", err);
            return EX_CONFIG;
        }
        if (sl == 1) {
            char a[40], b[40];
            const char *idx = cfg_env("JOB_COMPLETION_INDEX"), *cnt = cfg_env("CRONFLUX_SLICES");
            log_info("backfill slice %s of %s: %s to %s", idx ? idx : "?", cnt ? cnt : "?",
                     tparse_format(r.since_ns, a, sizeof a),
                     tparse_format(r.until_ns, b, sizeof b));
            if (r.since_ns >= r.until_ns) {
                log_info("this slice is empty; nothing to read");
                return 0;
            }
        }
        r.backfill = true;
    }

    /* accounts: flag, then TWITTER_USERS, then twittergraph's TWITTER_USER */
    const char *users = o.users, *users_src = "--users";
    if (!users && (users = cfg_env("TWITTER_USERS")))
        users_src = "TWITTER_USERS";
    if (!users && (users = cfg_env("TWITTER_USER")))
        users_src = "TWITTER_USER";
    if (parse_users(users, users_src, &r.names, err, sizeof err) != 0) {
        log_error("%s", err);
        free(r.names.v);
        return EX_CONFIG;
    }

    /* credentials: never printed; only their names are */
    static char ck[CFG_SECRET_MAX], cs[CFG_SECRET_MAX], tk[CFG_SECRET_MAX], tsec[CFG_SECRET_MAX];
    static const char *const cred_names[4] = { "API_KEY", "API_SECRET", "ACCESS_TOKEN", "ACCESS_SECRET" };
    char *cred_vals[4] = { ck, cs, tk, tsec };
    const char *used[4] = { NULL, NULL, NULL, NULL };
    char missing[256] = "";
    int exit_code = 0;
    for (int i = 0; i < 4; i++) {
        int g = get_secret(cred_names[i], cred_vals[i], CFG_SECRET_MAX, &used[i], err, sizeof err);
        if (g < 0) {
            log_error("%s", err);
            exit_code = EX_CONFIG;
            goto out;
        }
        if (g == 0) {
            size_t l = strlen(missing);
            if (snprintf(missing + l, sizeof missing - l, "%sTWITTER_%s", l ? ", " : "",
                         cred_names[i]) < 0)
                missing[l] = '\0';
        }
    }
    if (missing[0]) {
        log_error("missing credentials: set %s (or the same without TWITTER_, or as *_FILE "
                  "paths): the OAuth 1.0a user-context keys of an app in the X developer portal",
                  missing);
        exit_code = EX_CONFIG;
        goto out;
    }
    char app_names[96], user_names[96];
    if (snprintf(app_names, sizeof app_names, "%sAPI_KEY/%sAPI_SECRET", used[0], used[1]) < 0 ||
        snprintf(user_names, sizeof user_names, "%sACCESS_TOKEN/%sACCESS_SECRET", used[2],
                 used[3]) < 0) {
        exit_code = EX_SOFTWARE;
        goto out;
    }
    /* X issues user access tokens as "<user id>-<random>": the account they belong to */
    size_t idl = strspn(tk, "0123456789");
    if (idl > 0 && idl < sizeof r.token_user_id && tk[idl] == '-') {
        memcpy(r.token_user_id, tk, idl);
        r.token_user_id[idl] = '\0';
    }

    const char *api_url = o.api_url ? o.api_url : cfg_env("TWITTER_API_URL");
    if (!api_url)
        api_url = "https://api.twitter.com";

    if (http_global_init(err, sizeof err) != 0) {
        log_error("%s", err);
        exit_code = EX_SOFTWARE;
        goto out;
    }
    tw_client_opts co = { .base_url = api_url,
                          .creds = { ck, cs, tk, tsec },
                          .app_names = app_names,
                          .user_names = user_names,
                          .max_wait_ns = o.max_wait_ns,
                          .retries = o.retries,
                          .ca_file = cfg_env("TWITTER_CA_FILE") };
    r.c = tw_client_new(&co, err, sizeof err);
    if (!r.c) {
        log_error("%s", err);
        exit_code = EX_CONFIG;
        goto cleanup;
    }
    cfg_wipe(ck, sizeof ck);
    cfg_wipe(cs, sizeof cs);
    cfg_wipe(tk, sizeof tk);
    cfg_wipe(tsec, sizeof tsec);

    sink_opts so = { .job = JOB, .state_path = o.cc.state, .dry_run = o.cc.dry_run };
    char serr[SINK_ERR_MAX];
    r.s = sink_open(&so, &exit_code, serr, sizeof serr);
    if (!r.s) {
        log_error("%s", serr);
        goto cleanup;
    }
    if (o.cc.align_ns > 0)
        sink_set_align(r.s, o.cc.align_ns);
    r.t_ns = sink_run_time_ns(r.s);

    int job_rc = do_run(&r);
    if (job_rc == 0 && r.n_partial && o.strict) {
        job_rc = EX_DATAERR;
        setmsg(&r, "%ld error(s) in the API's answers (--strict): %s", r.n_partial, r.first_partial);
    }
    const tw_client_stats *st = tw_client_get_stats(r.c);
    char summary[MSG_MAX];
    if (snprintf(summary, sizeof summary, "%ld users, %ld posts, %ld pages, %ld requests%s%s%s",
                 r.n_users, r.n_posts, r.n_pages, st->requests,
                 job_rc ? "; " : (r.n_partial ? "; partial: " : ""),
                 job_rc ? r.msg : "", !job_rc && r.n_partial ? r.first_partial : "") < 0)
        summary[0] = '\0';
    if (job_rc)
        log_error("%s", r.msg);
    exit_code = sink_finish(r.s, job_rc, summary, serr, sizeof serr);
    r.s = NULL;
    if (exit_code != 0 && job_rc == 0)
        log_error("%s", serr[0] ? serr : "storing the points failed");
    else if (exit_code == 0 && log_debug_enabled())
        log_debug("%s", summary);

cleanup:
    tw_client_free(r.c);
    oauth1_global_cleanup();
    http_global_cleanup();
out:
    cfg_wipe(ck, sizeof ck);
    cfg_wipe(cs, sizeof cs);
    cfg_wipe(tk, sizeof tk);
    cfg_wipe(tsec, sizeof tsec);
    free(r.names.v);
    return exit_code;
}
