/* tw_fetch_v2: the accounts and posts of X API v2 (tw_ops_v2, see tw_job.h). */
#include <stdio.h>
#include <string.h>

#include "../../runtime/log.h"
#include "../../runtime/tparse.h"
#include "tw_job.h"
#include "../../runtime/exitcode.h"

#define MAX_PAGES 2000           /* guard against a server that never ends a listing */
#define V2_USERS_PER_CALL 100
#define PRIVATE_METRICS_DAYS 29  /* non_public/organic metrics exist for 30 days */

/* The request of the accounts names.v[from .. from+100): 0 or -1 (no memory). */
static int users_by_query(buf *pq, const tw_names *names, size_t from)
{
    buf_reset(pq);
    if (buf_adds(pq, "/2/users/by?usernames=") != 0)
        return -1;
    for (size_t j = from; j < names->n && j < from + V2_USERS_PER_CALL; j++)
        if ((j > from && buf_adds(pq, "%2C") != 0) || http_urlencode(pq, names->v[j]) != 0)
            return -1;
    return buf_adds(pq, "&user.fields=public_metrics");
}

/* Count a request and the users it returned (users->v[first..]). 0 or 70. */
static int bill_users(tw_run *r, const char *endpoint, const tw_users *users, size_t first)
{
    if (tw_bill_request(r->bill, endpoint, false) != 0)
        goto nomem;
    for (size_t i = first; i < users->n; i++)
        if (tw_bill_resource(r->bill, endpoint, false, TW_RES_USER, users->v[i].id) < 0)
            goto nomem;
    return 0;
nomem:
    tw_run_msg(r, "%s: out of memory counting the cost", endpoint);
    return EX_SOFTWARE;
}

static int users_v2(tw_run *r, tw_users *users)
{
    int rc = 0;
    http_resp resp;
    http_resp_init(&resp);
    buf pq;
    buf_init(&pq, 16384);
    char err[TW_RUN_MSG_MAX];
    const tw_names *names = &r->o->names;

    if (names->n == 0) {
        const char *ep = "GET /2/users/me";
        if (!tw_run_budget_ok(r, ep, tw_bill_price(r->bill, TW_RES_USER, false)))
            goto done;
        if (buf_adds(&pq, "/2/users/me?user.fields=public_metrics") != 0) {
            tw_run_msg(r, "%s: out of memory building the request", ep);
            rc = EX_SOFTWARE;
            goto done;
        }
        if ((rc = tw_run_get(r, ep, &pq, &resp)))
            goto done;
        if (tw_parse_users_v2(resp.body.p, resp.body.len, ep, users, err, sizeof err) != 0) {
            tw_run_msg(r, "%s", err);
            rc = EX_DATAERR;
            goto done;
        }
        if (users->n != 1) {
            tw_run_msg(r, "%s: expected one user in data, got %zu", ep, users->n);
            rc = EX_DATAERR;
            goto done;
        }
        memcpy(r->me_id, users->v[0].id, sizeof r->me_id);
        rc = bill_users(r, "/2/users/me", users, 0);
        goto done;
    }
    const char *ep = "GET /2/users/by";
    for (size_t i = 0; i < names->n; i += V2_USERS_PER_CALL) {
        size_t in_call = names->n - i < V2_USERS_PER_CALL ? names->n - i : V2_USERS_PER_CALL;
        if (!tw_run_budget_ok(r, ep, (double)in_call * tw_bill_price(r->bill, TW_RES_USER, false)))
            goto done;
        size_t first = users->n;
        if (users_by_query(&pq, names, i) != 0) {
            tw_run_msg(r, "%s: out of memory building the request", ep);
            rc = EX_SOFTWARE;
            goto done;
        }
        if ((rc = tw_run_get(r, ep, &pq, &resp)))
            goto done;
        size_t before = users->nerrors;
        if (tw_parse_users_v2(resp.body.p, resp.body.len, ep, users, err, sizeof err) != 0) {
            tw_run_msg(r, "%s", err);
            rc = EX_DATAERR;
            goto done;
        }
        tw_run_partial(r, ep, users->errors + before, users->nerrors - before);
        if ((rc = bill_users(r, "/2/users/by", users, first)))
            goto done;
    }
done:
    buf_free(&pq);
    http_resp_free(&resp);
    return rc;
}

/* A 400 that names the query parameter `name` (an unknown parameter): 1, else 0. */
static int refused_param(const http_resp *resp, const char *name)
{
    if (resp->status != 400 || !resp->body.p)
        return 0;
    char quoted[40];
    if (snprintf(quoted, sizeof quoted, "[%s]", name) >= (int)sizeof quoted)
        return 0;
    return strstr(resp->body.p, quoted) != NULL;
}

/* The request of one page of an account's posts. 0 or -1 (no memory). */
static int posts_query(buf *pq, const char *uid, int max_results, const char *fields_param,
                       bool private, const char *since_id, int64_t start_ns, int64_t end_ns,
                       const char *token)
{
    char ts[40], mr[16];
    buf_reset(pq);
    if (snprintf(mr, sizeof mr, "%d", max_results) >= (int)sizeof mr ||
        buf_printf(pq, "/2/users/%s/tweets", uid) != 0 ||
        tw_add_param(pq, "max_results", mr) != 0 ||
        tw_add_param(pq, fields_param, private ? "created_at,public_metrics,non_public_metrics,organic_metrics"
                                               : "created_at,public_metrics") != 0)
        return -1;
    if (since_id[0] ? tw_add_param(pq, "since_id", since_id)
                    : tw_add_param(pq, "start_time", tparse_format(start_ns, ts, sizeof ts)))
        return -1;
    if (end_ns && tw_add_param(pq, "end_time", tparse_format(end_ns, ts, sizeof ts)) != 0)
        return -1;
    if (token[0] && tw_add_param(pq, "pagination_token", token) != 0)
        return -1;
    return 0;
}

static int posts_v2(tw_run *r, const tw_user *u)
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
    char err[TW_RUN_MSG_MAX], token[TW_TOKEN_MAX] = "", since_id[TW_ID_MAX] = "";
    int64_t start_ns = 0, end_ns = 0;
    const char *ep = "GET /2/users/:id/tweets";
    r->nlisted = 0;

    if (r->o->backfill) {
        start_ns = r->o->since_ns;
        end_ns = r->o->until_ns;
        int b = tw_cp_backfill_get(r, u->id, token, sizeof token);
        if (b == 2) {
            log_info("user %s: this backfill range was done by an earlier run (--fresh reads it again)",
                     u->username);
            goto done;
        }
        if (b == 1)
            log_info("user %s: resuming the backfill where an earlier run stopped", u->username);
    } else {
        start_ns = r->o->now_ns - r->o->lookback_ns;
        int64_t cp_created;
        char cp_id[TW_ID_MAX];
        int found = tw_cp_newest_get(r, u->id, cp_id, sizeof cp_id, &cp_created);
        if (found == 1 && cp_created > 0 && cp_created < start_ns) {
            /* an earlier run saw posts up to cp_id, longer ago than --lookback: read
             * everything since then, so that no post is missed after a pause */
            memcpy(since_id, cp_id, sizeof since_id);
            start_ns = cp_created;
        } else if (found == 1 && !r->o->lookback_given && tw_run_posts_read_today(r, u->id) &&
                   (!r->o->analytics || tw_run_has_post_index(r, u->id))) {
            /* every post of the window was read earlier this UTC day: only newer ones now
             * (--lookback reads the window again) */
            memcpy(since_id, cp_id, sizeof since_id);
        }
    }
    /* the account the access token belongs to: X's cheaper "owned read" (pricing page) */
    bool owned = tw_run_is_me(r, u);
    double price = tw_bill_price(r->bill, TW_RES_POST, owned);
    bool private = owned &&
                   start_ns >= r->o->now_ns - (int64_t)PRIVATE_METRICS_DAYS * 86400 * TPARSE_NS_PER_S;

    char prev_token[TW_TOKEN_MAX] = "";
    bool switched = false;
    for (long pages = 0;; pages++) {
        if (pages >= MAX_PAGES) {
            tw_run_msg(r, "%s: user %s: more than %d pages; the listing does not end", ep,
                       u->username, MAX_PAGES);
            rc = EX_DATAERR;
            goto done;
        }
        int max_results = tw_run_budget_page(r, ep, price);
        if (max_results == 0)
            goto done;          /* over the budget: the checkpoints stay where they were */
        if (posts_query(&pq, u->id, max_results, r->fields_param, private, since_id, start_ns,
                        end_ns, token) != 0) {
            tw_run_msg(r, "%s: out of memory building the request", ep);
            rc = EX_SOFTWARE;
            goto done;
        }
        rc = tw_run_get(r, ep, &pq, &resp);
        if (rc == EX_CONFIG && refused_param(&resp, r->fields_param) && !switched) {
            /* OpenAPI 2.167 renamed tweet.fields to post.fields; the API of the day takes
             * one of them: use the other, and remember it for the next runs */
            switched = true;
            const char *other = strcmp(r->fields_param, "post.fields") == 0 ? "tweet.fields" : "post.fields";
            log_info("%s: the API refused %s as unknown; using %s from now on", ep, r->fields_param,
                     other);
            if ((rc = tw_run_set_fields_param(r, other)))
                goto done;
            pages--;
            continue;
        }
        if (rc)
            goto done;
        tw_page_free(&page);
        if (tw_parse_posts_v2(resp.body.p, resp.body.len, ep, &page, err, sizeof err) != 0) {
            tw_run_msg(r, "%s (user %s)", err, u->username);
            rc = EX_DATAERR;
            goto done;
        }
        r->n_pages++;
        tw_run_partial(r, ep, page.errors, page.nerrors);
        if (tw_bill_request(r->bill, "/2/users/:id/tweets", owned) != 0)
            goto nomem;
        for (size_t i = 0; i < page.n; i++)
            if (tw_bill_resource(r->bill, "/2/users/:id/tweets", owned, TW_RES_POST, page.v[i].id) < 0)
                goto nomem;
        for (size_t i = 0; i < page.n; i++) {
            if (page.v[i].have && !(page.v[i].have & TW_P_REPOSTS) && !r->warned_reposts) {
                r->warned_reposts = true;
                log_warn("%s: post %s: public_metrics has no repost_count or retweet_count; "
                         "reposts not written", ep, page.v[i].id);
            }
            tw_pt pt;
            if (tw_post_point(&page.v[i], u->username, r->t_ns, &pt) == 1) {
                if ((rc = tw_run_add(r, &pt.pt)))
                    goto done;
                r->n_posts++;
            }
            tw_keep_newest(&newest, &page.v[i]);
            if (r->o->analytics && tw_run_listed(r, &page.v[i]) != 0)
                goto nomem;
        }
        if (page.next_token[0] && strcmp(page.next_token, token) == 0 &&
            strcmp(prev_token, token) == 0) {
            tw_run_msg(r, "%s: user %s: the API gave the same next_token twice", ep, u->username);
            rc = EX_DATAERR;
            goto done;
        }
        memcpy(prev_token, token, sizeof prev_token);
        memcpy(token, page.next_token, sizeof token);
        if (r->o->backfill && (rc = tw_cp_backfill_set(r, u->id, token[0] ? token : NULL)))
            goto done;
        if (r->o->backfill) {
            int64_t oldest = 0;
            for (size_t i = 0; i < page.n; i++)
                if (page.v[i].created_ns > 0 && (!oldest || page.v[i].created_ns < oldest))
                    oldest = page.v[i].created_ns;
            tw_run_progress(r, u, oldest);
        }
        if (!token[0])
            break;
    }
    rc = tw_cp_newest_set(r, u->id, &newest);
    if (!rc && !r->o->backfill)
        rc = tw_run_set_posts_read_today(r, u->id);
    goto done;
nomem:
    tw_run_msg(r, "%s: out of memory counting the cost", ep);
    rc = EX_SOFTWARE;
done:
    /* a listing cut short (rate limit, error) leaves the checkpoint where it was: the
     * posts it did not reach must be read by the next run */
    tw_page_free(&page);
    buf_free(&pq);
    http_resp_free(&resp);
    return rc;
}

const tw_ops tw_ops_v2 = { .name = "2", .users = users_v2, .posts = posts_v2,
                           .analytics = tw_analytics_v2 };
