/* tw_analytics: GET /2/tweets/analytics buckets of an account's posts (see tw_job.h).
 *
 * Which posts: the job keeps an index of the posts it has listed per account (the state
 * file's "post_index:ID" = "ID:CREATED_S,...", newest 3200 — what the API serves), so a run
 * that lists only the posts new since its last run still knows the account's recent ones.
 * A scheduled run asks for the buckets of the posts created in --lookback, from the start
 * of that window (down to the hour or the UTC day) to now; a bucket read again overwrites
 * its point (same series, same time). A backfill asks for the posts created in
 * --since/--until, the range cut into spans the API takes, each span checkpointed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../runtime/exitcode.h"

#include "../../runtime/log.h"
#include "../../runtime/tparse.h"
#include "tw_job.h"

#define INDEX_MAX 3200
#define IDS_PER_CALL 100
#define AN_FIELDS "engagements,impressions,likes,quote_tweets,replies,retweets,url_clicks," \
                  "user_profile_clicks"

static int cmp_newest_first(const void *a, const void *b)
{
    return tw_id_cmp(((const tw_listed *)b)->id, ((const tw_listed *)a)->id);
}

/* The index of u's posts: the state's and this run's, newest first, no duplicates, at most
 * INDEX_MAX; saved when this run added to it. 0, 70 (memory) or 75 (store). */
static int post_index(tw_run *r, const tw_user *u, tw_listed **out, size_t *n)
{
    char key[64];
    *out = NULL;
    *n = 0;
    if (snprintf(key, sizeof key, "post_index:%s", u->id) >= (int)sizeof key)
        return 0;
    char *st = tw_run_state_get(r, key);
    size_t cap = r->nlisted + 16;
    for (const char *p = st; p && *p; p++)
        cap += *p == ',';
    tw_listed *v = calloc(cap, sizeof *v);
    if (!v) {
        free(st);
        tw_run_msg(r, "out of memory");
        return EX_SOFTWARE;
    }
    size_t k = 0;
    for (const char *p = st; p && *p && k < cap;) {
        size_t len = strcspn(p, ",");
        const char *colon = memchr(p, ':', len);
        size_t il = colon ? (size_t)(colon - p) : 0;
        if (colon && il > 0 && il < TW_ID_MAX && strspn(p, "0123456789") == il) {
            memcpy(v[k].id, p, il);
            v[k].id[il] = '\0';
            v[k].created_ns = strtoll(colon + 1, NULL, 10) * TPARSE_NS_PER_S;
            k++;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    free(st);
    size_t before = k;
    for (size_t i = 0; i < r->nlisted && k < cap; i++)
        v[k++] = r->listed[i];
    qsort(v, k, sizeof *v, cmp_newest_first);
    size_t m = 0;
    for (size_t i = 0; i < k; i++)
        if (m == 0 || strcmp(v[m - 1].id, v[i].id) != 0)
            v[m++] = v[i];
    if (m > INDEX_MAX)
        m = INDEX_MAX;
    int rc = 0;
    if (m != before || r->nlisted) {
        buf b;
        buf_init(&b, (size_t)INDEX_MAX * (TW_ID_MAX + 24));
        for (size_t i = 0; i < m && rc == 0; i++)
            if (buf_printf(&b, "%s%s:%lld", i ? "," : "", v[i].id,
                           (long long)(v[i].created_ns / TPARSE_NS_PER_S)) != 0)
                rc = -1;
        if (rc == 0 && b.p)
            rc = tw_run_state_set(r, key, b.p);
        else
            rc = 0;             /* not kept: the next run lists again */
        buf_free(&b);
    }
    *out = v;
    *n = m;
    return rc;
}

static int64_t span_ns(const char *g)
{
    int64_t day = 86400 * TPARSE_NS_PER_S;
    if (strcmp(g, "hourly") == 0)
        return 7 * day;
    if (strcmp(g, "daily") == 0)
        return 90 * day;
    if (strcmp(g, "weekly") == 0)
        return 364 * day;
    return INT64_MAX / 4;
}

/* The bucket boundary at or before t: the hour for hourly, else the UTC day. */
static int64_t bucket_floor(int64_t t, const char *g)
{
    int64_t unit = (strcmp(g, "hourly") == 0 ? 3600 : 86400) * TPARSE_NS_PER_S;
    return t - t % unit;
}

/* The one warning of a refusal, remembered for the UTC day. 0 or 75. */
static int refused(tw_run *r, const char *ep)
{
    log_warn("%s: refused (%s); X offers post analytics only on some plans (its pricing "
             "pages say Enterprise): no analytics this UTC day, asked again tomorrow", ep, r->msg);
    r->msg[0] = '\0';
    r->analytics_off = true;
    return tw_run_state_set(r, "analytics_refused", tw_bill_day(r->bill));
}

/* One request: ids[from..from+100) over [t0, t1). 0 or an exit code (refusal handled). */
static int one_call(tw_run *r, const tw_user *u, const tw_listed *ids, size_t nids, int64_t t0,
                    int64_t t1, buf *pq, http_resp *resp)
{
    const char *ep = "GET /2/tweets/analytics";
    char a[40], b[40], err[TW_RUN_MSG_MAX];
    buf_reset(pq);
    if (buf_adds(pq, "/2/tweets/analytics?ids=") != 0)
        goto nomem;
    for (size_t i = 0; i < nids; i++)
        if ((i && buf_adds(pq, "%2C") != 0) || buf_adds(pq, ids[i].id) != 0)
            goto nomem;
    if (tw_add_param(pq, "start_time", tparse_format(t0, a, sizeof a)) != 0 ||
        tw_add_param(pq, "end_time", tparse_format(t1, b, sizeof b)) != 0 ||
        tw_add_param(pq, "granularity", r->o->analytics) != 0 ||
        tw_add_param(pq, "analytics.fields", AN_FIELDS) != 0)
        goto nomem;
    int rc = tw_run_get(r, ep, pq, resp);
    if (rc == EX_NOPERM)
        return refused(r, ep);
    if (rc)
        return rc;
    (void)tw_bill_request(r->bill, "/2/tweets/analytics", false);
    tw_an_page page;
    tw_an_page_init(&page);
    if (tw_parse_analytics(resp->body.p, resp->body.len, ep, &page, err, sizeof err) != 0) {
        tw_run_msg(r, "%s (user %s)", err, u->username);
        tw_an_page_free(&page);
        return EX_DATAERR;
    }
    tw_run_partial(r, ep, page.errors, page.nerrors);
    if (page.skipped)
        log_warn("%s: %ld bucket(s) with a null timestamp or null metrics skipped", ep, page.skipped);
    rc = 0;
    for (size_t i = 0; i < page.n && !rc; i++) {
        tw_an_pt pt;
        if (tw_analytics_point(&page.v[i], u->username, r->o->analytics, &pt) == 1) {
            rc = tw_run_add(r, &pt.pt);
            r->n_buckets++;
        }
    }
    tw_an_page_free(&page);
    return rc;
nomem:
    tw_run_msg(r, "%s: out of memory building the request", ep);
    return EX_SOFTWARE;
}

int tw_analytics_v2(tw_run *r, const tw_user *u)
{
    if (r->analytics_off)
        return 0;
    char *day = tw_run_state_get(r, "analytics_refused");
    bool off = day && strcmp(day, tw_bill_day(r->bill)) == 0;
    free(day);
    if (off) {
        r->analytics_off = true;    /* warned when it happened; asked again tomorrow */
        return 0;
    }
    tw_listed *ix = NULL;
    size_t nix = 0;
    int rc = post_index(r, u, &ix, &nix);
    if (rc)
        goto done;
    const tw_opts *o = r->o;
    int64_t lo = o->backfill ? o->since_ns : o->now_ns - o->lookback_ns;
    int64_t hi = o->backfill ? o->until_ns : o->now_ns;
    /* the posts of the window: newest first in ix, so [a, b) is a slice */
    size_t a = 0, b = 0;
    while (a < nix && ix[a].created_ns >= hi)
        a++;
    b = a;
    while (b < nix && ix[b].created_ns >= lo)
        b++;
    if (b == a)
        goto done;
    int64_t t0 = bucket_floor(lo, o->analytics);
    int64_t t1 = hi - hi % TPARSE_NS_PER_S;
    char key[160] = "";
    if (o->backfill) {
        if (snprintf(key, sizeof key, "analytics.%s:%s:%lld:%lld", o->analytics, u->id,
                     (long long)(o->since_ns / TPARSE_NS_PER_S),
                     (long long)(o->until_ns / TPARSE_NS_PER_S)) >= (int)sizeof key)
            key[0] = '\0';
        char *cp = key[0] && !o->fresh ? tw_run_state_get(r, key) : NULL;
        if (cp && strcmp(cp, "done") == 0) {
            log_info("user %s: the analytics of this range were read by an earlier run "
                     "(--fresh reads them again)", u->username);
            free(cp);
            goto done;
        }
        if (cp && strncmp(cp, "next:", 5) == 0) {
            int64_t next = strtoll(cp + 5, NULL, 10) * TPARSE_NS_PER_S;
            if (next > t0 && next < t1) {
                t0 = next;
                log_info("user %s: resuming the analytics backfill where an earlier run stopped",
                         u->username);
            }
        }
        free(cp);
    }
    http_resp resp;
    http_resp_init(&resp);
    buf pq;
    buf_init(&pq, 16384);
    for (int64_t s = t0; s < t1 && !rc && !r->analytics_off;) {
        int64_t e = t1 - s > span_ns(o->analytics) ? s + span_ns(o->analytics) : t1;
        for (size_t i = a; i < b && !rc && !r->analytics_off; i += IDS_PER_CALL)
            rc = one_call(r, u, ix + i, b - i < IDS_PER_CALL ? b - i : IDS_PER_CALL, s, e, &pq, &resp);
        if (!rc && !r->analytics_off && key[0]) {
            char val[40];
            if (e < t1)
                snprintf(val, sizeof val, "next:%lld", (long long)(e / TPARSE_NS_PER_S));
            else
                snprintf(val, sizeof val, "done");
            rc = tw_run_state_set(r, key, val);     /* with the points it follows */
        }
        s = e;
    }
    buf_free(&pq);
    http_resp_free(&resp);
done:
    free(ix);
    return rc;
}
