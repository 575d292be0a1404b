/* tw_run: one run of twitter-stats, and what its fetches share (see tw_job.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../runtime/log.h"
#include "../../runtime/sig.h"
#include "../../runtime/tparse.h"
#include "tw_job.h"
#include "../../runtime/exitcode.h"
#include "../../runtime/clock.h"

#define MAX_WARNINGS 20

void tw_run_msg(tw_run *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        r->msg[0] = '\0';
}

int tw_run_store_failed(tw_run *r, const char *err)
{
    tw_run_msg(r, "store: %s", err);
    r->store_failed = true;
    return EX_TEMPFAIL;
}

void tw_run_partial(tw_run *r, const char *what, const tw_problem *e, size_t n)
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

int tw_run_add(tw_run *r, const lp_point *p)
{
    char err[SINK_ERR_MAX];
    int rc = sink_add(r->s, p, err, sizeof err);
    if (rc == 1) {
        if (r->n_rejected++ < MAX_WARNINGS)
            log_warn("a point was refused: %s", err);
        return 0;
    }
    if (rc != 0) {
        return tw_run_store_failed(r, err);
    }
    return 0;
}

/* A stop was requested (runtime/sig.h): what was read is kept, the run ends with 75. */
static int tw_run_stopped(tw_run *r)
{
    tw_run_msg(r, "stopped by %s: the points read so far are stored; the rest is read by the "
               "next run", sig_name());
    return EX_TEMPFAIL;
}

int tw_run_get(tw_run *r, const char *endpoint, const buf *pq, http_resp *resp)
{
    char err[TW_RUN_MSG_MAX];
    if (!pq->p) {
        tw_run_msg(r, "%s: out of memory building the request", endpoint);
        return EX_SOFTWARE;
    }
    if (sig_stop_requested())
        return tw_run_stopped(r);
    int rc = tw_get(r->c, endpoint, pq->p, resp, err, sizeof err);
    if (rc && sig_stop_requested())
        return tw_run_stopped(r);
    if (rc)
        tw_run_msg(r, "%s", err);
    return rc;
}

int tw_add_param(buf *pq, const char *k, const char *v)
{
    if (buf_addc(pq, strchr(pq->p ? pq->p : "", '?') ? '&' : '?') != 0 || buf_adds(pq, k) != 0 ||
        buf_addc(pq, '=') != 0 || http_urlencode(pq, v) != 0)
        return -1;
    return 0;
}

void tw_keep_newest(tw_post *newest, const tw_post *p)
{
    if (!newest->id[0] || tw_id_cmp(p->id, newest->id) > 0)
        *newest = *p;
}

bool tw_run_is_me(const tw_run *r, const tw_user *u)
{
    return (r->me_id[0] && strcmp(r->me_id, u->id) == 0) ||
           (r->token_user_id[0] && strcmp(r->token_user_id, u->id) == 0);
}

/* ---- checkpoints ---------------------------------------------------------------------- */

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

/* "newest_post:UID" = "ID CREATED_NS" */
int tw_cp_newest_get(tw_run *r, const char *uid, char *id, size_t idcap, int64_t *created)
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
    char *end = NULL;
    long long c = strtoll(sp + 1, &end, 10);
    if (!end || *end || strlen(val) >= idcap || strspn(val, "0123456789") != strlen(val))
        return 0;
    memcpy(id, val, strlen(val) + 1);
    *created = c;
    return 1;
}

int tw_cp_newest_set(tw_run *r, const char *uid, const tw_post *newest)
{
    if (sink_dry_run(r->s) || !newest->id[0])
        return 0;
    char old[TW_ID_MAX];
    int64_t oc;
    if (tw_cp_newest_get(r, uid, old, sizeof old, &oc) == 1 && tw_id_cmp(old, newest->id) >= 0)
        return 0;
    char key[96], val[128], err[SINK_ERR_MAX];
    if (!fits(snprintf(key, sizeof key, "newest_post:%s", uid), sizeof key) ||
        !fits(snprintf(val, sizeof val, "%s %lld", newest->id, (long long)newest->created_ns),
              sizeof val))
        return 0;
    /* the points so far and the checkpoint in one commit */
    if (sink_checkpoint_set(r->s, key, val, err, sizeof err) != 0) {
        return tw_run_store_failed(r, err);
    }
    return 0;
}

#define STATE_MAX ((size_t)4 << 20)   /* the largest state value read back */

/* One state value into a heap buffer (NULL when absent, unreadable or out of memory). */
static char *state_get(tw_run *r, const char *key)
{
    char err[SINK_ERR_MAX];
    char *v = malloc(STATE_MAX);
    if (!v)
        return NULL;
    int g = sink_checkpoint_get(r->s, key, v, STATE_MAX, err, sizeof err);
    if (g < 0)
        cp_read_failed(err);
    if (g != 1) {
        free(v);
        return NULL;
    }
    return v;
}

static int state_set(tw_run *r, const char *key, const char *val)
{
    char err[SINK_ERR_MAX];
    if (sink_checkpoint_set(r->s, key, val, err, sizeof err) != 0) {
        return tw_run_store_failed(r, err);
    }
    return 0;
}

char *tw_run_state_get(tw_run *r, const char *key)
{
    return state_get(r, key);
}

int tw_run_state_set(tw_run *r, const char *key, const char *val)
{
    return sink_dry_run(r->s) ? 0 : state_set(r, key, val);
}

int tw_run_listed(tw_run *r, const tw_post *p)
{
    if (r->nlisted == r->caplisted) {
        size_t ncap = r->caplisted ? r->caplisted * 2 : 128;
        tw_listed *nv = realloc(r->listed, ncap * sizeof *nv);
        if (!nv)
            return -1;
        r->listed = nv;
        r->caplisted = ncap;
    }
    tw_listed *l = &r->listed[r->nlisted++];
    memcpy(l->id, p->id, sizeof l->id);
    l->created_ns = p->created_ns;
    return 0;
}

static const char *const seen_key[2] = { "billing.posts", "billing.users" };

/* The bill of this run, with what was read earlier this UTC day. 0 or 70 (no memory). */
static int load_billing(tw_run *r)
{
    r->bill = tw_bill_new(&r->o->prices, r->o->now_ns);
    if (!r->bill) {
        tw_run_msg(r, "out of memory");
        return EX_SOFTWARE;
    }
    for (int k = 0; k < 2; k++) {
        char *v = state_get(r, seen_key[k]);
        int rc = v ? tw_bill_load_seen(r->bill, (tw_res)k, v) : 0;
        free(v);
        if (rc != 0) {
            tw_run_msg(r, "out of memory");
            return EX_SOFTWARE;
        }
    }
    char *v = state_get(r, "billing.spend");
    if (v)
        (void)tw_bill_load_spend(r->bill, v);
    free(v);
    v = state_get(r, "usage_cap");
    if (v && strlen(v) == 10)
        memcpy(r->usage_cap_day, v, 11);
    free(v);
    return 0;
}

/* Keep what this run read and spent (for the next runs of the day). 0 or 75. */
static int save_billing(tw_run *r)
{
    if (!r->bill || sink_dry_run(r->s))
        return 0;
    buf v;
    buf_init(&v, STATE_MAX - 1);
    int rc = 0;
    for (int k = 0; k < 2 && !rc; k++) {
        buf_reset(&v);
        if (tw_bill_save_seen(r->bill, (tw_res)k, &v) != 0 || !v.p)
            continue;           /* over the cap: the next run prices those again */
        rc = state_set(r, seen_key[k], v.p);
    }
    buf_reset(&v);
    if (!rc && tw_bill_save_spend(r->bill, &v) == 0 && v.p)
        rc = state_set(r, "billing.spend", v.p);
    buf_free(&v);
    return rc;
}

/* The twitter_usage points of this run, and its twitter_budget point. 0 or 75. */
static int write_usage(tw_run *r, bool capped)
{
    if (!r->bill || r->o->api == 1)
        return 0;
    const tw_bill_line *l;
    size_t n = tw_bill_lines(r->bill, &l);
    for (size_t i = 0; i < n; i++) {
        tw_pt pt;
        tw_usage_point(&l[i], r->t_ns, &pt);
        int rc = tw_run_add(r, &pt.pt);
        if (rc)
            return rc;
    }
    /* where the day stands: for the dashboard's budget line and the alerts */
    tw_pt b;
    memset(&b, 0, sizeof b);
    b.pt.measurement = "twitter_budget";
    b.pt.fields = b.fields;
    b.pt.time_ns = r->t_ns;
    b.pt.has_time = true;
    size_t nf = 0;
    b.fields[nf++] = lp_f_float("spent_today_usd", tw_bill_spent_today(r->bill));
    if (r->o->has_budget)
        b.fields[nf++] = lp_f_float("daily_budget_usd", r->o->daily_budget_usd);
    b.fields[nf++] = lp_f_int("budget_stopped", r->budget_stop ? 1 : 0);
    b.fields[nf++] = lp_f_int("usage_capped", capped ? 1 : 0);
    b.pt.nfields = nf;
    return tw_run_add(r, &b.pt);
}

static void budget_warn(tw_run *r, const char *endpoint, double est_usd)
{
    if (r->budget_stop)
        return;
    r->budget_stop = true;
    log_warn("daily budget: %s not sent: it may cost up to $%.4f and today's spend is $%.4f "
             "(this run $%.4f) of the $%.2f --daily-budget (UTC day %s); the rest is read by "
             "a run after midnight UTC, or with a larger budget",
             endpoint, est_usd, tw_bill_spent_today(r->bill), tw_bill_spent_run(r->bill),
             r->o->daily_budget_usd, tw_bill_day(r->bill));
}

bool tw_run_budget_ok(tw_run *r, const char *endpoint, double est_usd)
{
    if (r->budget_stop)
        return false;
    if (!r->o->has_budget || est_usd <= 0 ||
        tw_bill_spent_today(r->bill) + est_usd <= r->o->daily_budget_usd + 1e-9)
        return true;
    budget_warn(r, endpoint, est_usd);
    return false;
}

int tw_run_budget_page(tw_run *r, const char *endpoint, double price_usd)
{
    if (r->budget_stop)
        return 0;
    if (!r->o->has_budget || price_usd <= 0)
        return 100;
    double left = r->o->daily_budget_usd - tw_bill_spent_today(r->bill);
    double fit = left > 0 ? left / price_usd + 1e-9 : 0;
    if (fit >= 100)
        return 100;
    if (fit >= 5)
        return (int)fit;
    budget_warn(r, endpoint, 5 * price_usd);
    return 0;
}

bool tw_run_posts_read_today(tw_run *r, const char *uid)
{
    char key[64], val[32], err[SINK_ERR_MAX];
    if (!fits(snprintf(key, sizeof key, "posts_day:%s", uid), sizeof key))
        return false;
    int g = sink_checkpoint_get(r->s, key, val, sizeof val, err, sizeof err);
    if (g < 0)
        cp_read_failed(err);
    return g == 1 && r->bill && strcmp(val, tw_bill_day(r->bill)) == 0;
}

bool tw_run_has_post_index(tw_run *r, const char *uid)
{
    char key[64];
    if (!fits(snprintf(key, sizeof key, "post_index:%s", uid), sizeof key))
        return false;
    char *v = state_get(r, key);
    bool has = v && v[0];
    free(v);
    return has;
}

int tw_run_set_posts_read_today(tw_run *r, const char *uid)
{
    char key[64];
    if (!r->bill || sink_dry_run(r->s) || !fits(snprintf(key, sizeof key, "posts_day:%s", uid), sizeof key))
        return 0;
    return state_set(r, key, tw_bill_day(r->bill));
}

void tw_run_load_state(tw_run *r)
{
    char val[32], err[SINK_ERR_MAX];
    snprintf(r->fields_param, sizeof r->fields_param, "%s", "tweet.fields");
    int g = sink_checkpoint_get(r->s, "param.post_fields", val, sizeof val, err, sizeof err);
    if (g < 0)
        cp_read_failed(err);
    if (g == 1 && strcmp(val, "post.fields") == 0)
        snprintf(r->fields_param, sizeof r->fields_param, "%s", "post.fields");
}

int tw_run_set_fields_param(tw_run *r, const char *name)
{
    char err[SINK_ERR_MAX];
    if (snprintf(r->fields_param, sizeof r->fields_param, "%s", name) >= (int)sizeof r->fields_param)
        return EX_SOFTWARE;
    if (sink_checkpoint_set(r->s, "param.post_fields", name, err, sizeof err) != 0) {
        return tw_run_store_failed(r, err);
    }
    return 0;
}

/* "backfill.vAPI:UID:SINCE_S:UNTIL_S". 0, or -1 when the key does not fit. */
static int backfill_key(const tw_run *r, const char *uid, char *key, size_t cap)
{
    return fits(snprintf(key, cap, "backfill.v%d:%s:%lld:%lld", r->o->api, uid,
                         (long long)(r->o->since_ns / TPARSE_NS_PER_S),
                         (long long)(r->o->until_ns / TPARSE_NS_PER_S)), cap) ? 0 : -1;
}

int tw_cp_backfill_get(tw_run *r, const char *uid, char *out, size_t cap)
{
    if (r->o->fresh)
        return 0;
    char key[160], val[TW_TOKEN_MAX + 16], err[SINK_ERR_MAX];
    if (backfill_key(r, uid, key, sizeof key) != 0)
        return 0;
    int g = sink_checkpoint_get(r->s, key, val, sizeof val, err, sizeof err);
    if (g < 0)
        cp_read_failed(err);
    if (g == 0 && r->o->range_moves && !r->said_moves) {
        char a[40], b[40];
        r->said_moves = true;
        log_info("no checkpoint for this range: relative times move; use absolute times to "
                 "resume (--since %s --until %s resumes this run)",
                 tparse_format(r->o->since_ns, a, sizeof a), tparse_format(r->o->until_ns, b, sizeof b));
    }
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

int tw_cp_backfill_set(tw_run *r, const char *uid, const char *cursor)
{
    if (sink_dry_run(r->s))
        return 0;
    char key[160], val[TW_TOKEN_MAX + 16], err[SINK_ERR_MAX];
    if (backfill_key(r, uid, key, sizeof key) != 0 ||
        !fits(snprintf(val, sizeof val, "%s%s", cursor ? "next:" : "done", cursor ? cursor : ""),
              sizeof val))
        return 0;
    if (sink_checkpoint_set(r->s, key, val, err, sizeof err) != 0) {
        return tw_run_store_failed(r, err);
    }
    return 0;
}

/* ---- the run ---------------------------------------------------------------------------- */

static int write_user(tw_run *r, const tw_user *u, const char *configured)
{
    if (!u->has_metrics) {
        tw_run_msg(r, "user %s: the answer has no public_metrics (asked for with "
                      "user.fields=public_metrics)", u->username);
        return EX_DATAERR;
    }
    /* a counter missing under every name it has had is not written (never as 0); say so
     * once a run */
    static const struct { unsigned bit; const char *names; } need[] = {
        { TW_U_FOLLOWERS, "followers_count" }, { TW_U_FOLLOWING, "following_count" },
        { TW_U_POSTS, "post_count or tweet_count" }, { TW_U_LISTED, "listed_count" },
    };
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (!(u->have & need[i].bit) && !(r->warned_missing & need[i].bit)) {
            r->warned_missing |= need[i].bit;
            log_warn("user %s: public_metrics has no %s; that counter is not written", u->username,
                     need[i].names);
        }
    tw_pt pts[5];
    /* twittergraph tagged the account as configured; cronflux uses the API's spelling */
    const char *tag = r->o->schema == TW_SCHEMA_TWITTERGRAPH && configured ? configured : u->username;
    size_t n = tw_user_points(u, tag, r->o->schema, r->t_ns, pts);
    for (size_t i = 0; i < n; i++) {
        int rc = tw_run_add(r, &pts[i].pt);
        if (rc)
            return rc;
    }
    r->n_users++;
    return 0;
}

static const char *configured_name(const tw_run *r, const char *username)
{
    for (size_t i = 0; i < r->o->names.n; i++)
        if (strcasecmp(r->o->names.v[i], username) == 0)
            return r->o->names.v[i];
    return NULL;
}

/* With a bearer token: X's own count of the project's usage (GET /2/usage/tweets) as a
 * twitter_project_usage point, to check the estimate against. Its failure is warned, not
 * the run's. 0 or 75 (store). */
static int read_project_usage(tw_run *r)
{
    if (r->o->api == 1 || !tw_client_has_bearer(r->c))
        return 0;
    const char *ep = "GET /2/usage/tweets";
    http_resp resp;
    http_resp_init(&resp);
    char err[TW_RUN_MSG_MAX];
    int rc = 0;
    if (tw_get_app(r->c, ep, "/2/usage/tweets?usage.fields=cap_reset_day%2Cproject_cap%2Cproject_id"
                             "%2Cproject_usage", &resp, err, sizeof err) != 0) {
        log_warn("%s; X's own usage count is not recorded this run", err);
        goto done;
    }
    (void)tw_bill_request(r->bill, "/2/usage/tweets", false);
    tw_usage u;
    if (tw_parse_usage(resp.body.p, resp.body.len, ep, &u, err, sizeof err) != 0) {
        log_warn("%s; X's own usage count is not recorded this run", err);
        goto done;
    }
    tw_pt pt;
    if (tw_project_usage_point(&u, r->t_ns, &pt) == 1)
        rc = tw_run_add(r, &pt.pt);
    else
        log_warn("%s: the answer has no project_usage, project_cap or cap_reset_day", ep);
done:
    http_resp_free(&resp);
    return rc;
}

void tw_run_progress(tw_run *r, const tw_user *u, int64_t oldest_ns)
{
    int64_t now = clock_mono_ns();
    if (!r->progress_on || !progress_due(&r->pg, now, false))
        return;
    /* posts come newest first: how far back this account's listing has got, in time */
    double span = (double)(r->o->until_ns - r->o->since_ns);
    double part = 0;
    if (oldest_ns > 0 && span > 0)
        part = (double)(r->o->until_ns - oldest_ns) / span;
    part = part < 0 ? 0 : part > 1 ? 1 : part;
    double frac = r->users_n ? ((double)r->user_i + part) / (double)r->users_n : -1;
    char what[160], when[40], line[320];
    if (oldest_ns > 0)
        tparse_format(oldest_ns, when, sizeof when);
    else
        snprintf(when, sizeof when, "?");
    if (snprintf(what, sizeof what, "account %zu/%zu %s, back to %s", r->user_i + 1, r->users_n,
                 u->username, when) < 0)
        what[0] = '\0';
    progress_format(&r->pg, now, what, frac, r->n_posts, "posts", line, sizeof line);
    if (r->pg.tty) {
        fprintf(stderr, "\r" TW_JOB ": %s\033[K", line);
        fflush(stderr);
    } else {
        log_info("progress: %s", line);
    }
}

int tw_run_job(tw_run *r)
{
    tw_users users;
    tw_users_init(&users);
    tw_run_load_state(r);
    int rc = load_billing(r);
    if (rc)
        goto done;
    if (r->usage_cap_day[0] && strcmp(r->usage_cap_day, tw_bill_day(r->bill)) == 0 && !r->o->force) {
        tw_run_msg(r, "X answered 429 UsageCapExceeded earlier this UTC day (%s): no request is "
                      "sent until 00:00 UTC; raise the spending limit or add credits in the "
                      "developer console, then run with --force to try now", r->usage_cap_day);
        rc = EX_TEMPFAIL;
        goto done;
    }
    rc = r->ops->users(r, &users);
    if (rc)
        goto done;
    if (users.n == 0 && r->budget_stop)
        goto done;
    if (users.n == 0) {
        /* every account was refused: the list is wrong, not one account */
        tw_run_msg(r, "none of the %zu accounts could be read: %s; check %s", r->o->names.n,
                   r->first_partial[0] ? r->first_partial : "the API returned no user",
                   r->o->users_src ? r->o->users_src : "TWITTER_USERS");
        rc = EX_CONFIG;
        goto done;
    }
    /* user points first: they are kept whatever happens to the post reads */
    for (size_t i = 0; i < users.n; i++)
        if ((rc = write_user(r, &users.v[i], configured_name(r, users.v[i].username))))
            goto done;
    if (r->o->schema != TW_SCHEMA_TWITTERGRAPH && !r->o->no_posts) {
        r->users_n = users.n;
        for (size_t i = 0; i < users.n && !r->budget_stop; i++) {
            r->user_i = i;
            if (sig_stop_requested()) {
                rc = tw_run_stopped(r);
                goto done;
            }
            if ((rc = r->ops->posts(r, &users.v[i])))
                goto done;
            if (r->o->analytics && r->ops->analytics && !r->budget_stop &&
                (rc = r->ops->analytics(r, &users.v[i])))
                goto done;
        }
    }
    rc = read_project_usage(r);
done:
    tw_users_free(&users);
    /* what was read was paid for, whatever stopped the run */
    const tw_client_stats *st = tw_client_get_stats(r->c);
    bool capped = st->usage_capped > 0 ||
                  (r->bill && r->usage_cap_day[0] && !r->o->force &&
                   strcmp(r->usage_cap_day, tw_bill_day(r->bill)) == 0);
    int urc = write_usage(r, capped);
    if (!urc)
        urc = save_billing(r);
    if (!urc && r->bill && !sink_dry_run(r->s)) {
        if (st->usage_capped > 0)
            urc = state_set(r, "usage_cap", tw_bill_day(r->bill));
        else if (r->usage_cap_day[0] && st->requests > 0)
            urc = state_set(r, "usage_cap", "");    /* --force got through */
    }
    if (!rc && urc)
        rc = urc;
    return rc;
}

void tw_run_free(tw_run *r)
{
    tw_bill_free(r->bill);
    r->bill = NULL;
    free(r->listed);
    r->listed = NULL;
}
