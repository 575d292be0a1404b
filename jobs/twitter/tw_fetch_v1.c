/* tw_fetch_v1: the accounts and posts of X API v1.1 (tw_ops_v1, see tw_job.h), for apps
 * that still have it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/log.h"
#include "tw_job.h"
#include "../../runtime/exitcode.h"

#define V1_PAGES_MAX 20          /* v1.1 timelines give at most 3200 posts (16 pages of 200) */

/* The request for account i (or the token's own when there is no list). 0 or -1. */
static int user_query(buf *pq, const tw_names *names, size_t i, const char **ep)
{
    buf_reset(pq);
    if (names->n == 0) {
        *ep = "GET /1.1/account/verify_credentials.json";
        return buf_adds(pq, "/1.1/account/verify_credentials.json?include_entities=false&skip_status=true");
    }
    *ep = "GET /1.1/users/show.json";
    if (buf_adds(pq, "/1.1/users/show.json?screen_name=") != 0 ||
        http_urlencode(pq, names->v[i]) != 0 || buf_adds(pq, "&include_entities=false") != 0)
        return -1;
    return 0;
}

static int users_v1(tw_run *r, tw_users *users)
{
    int rc = 0;
    http_resp resp;
    http_resp_init(&resp);
    buf pq;
    buf_init(&pq, 4096);
    char err[TW_RUN_MSG_MAX];
    const tw_names *names = &r->o->names;
    size_t count = names->n ? names->n : 1;

    for (size_t i = 0; i < count; i++) {
        const char *ep = "GET /1.1/users/show.json";
        if (user_query(&pq, names, i, &ep) != 0) {
            tw_run_msg(r, "%s: out of memory building the request", ep);
            rc = EX_SOFTWARE;
            goto done;
        }
        rc = tw_get(r->c, ep, pq.p, &resp, err, sizeof err);
        if (rc) {
            tw_problem p;
            char line[TW_MSG_MAX];
            tw_parse_error(resp.body.p, resp.body.len, &p, line, sizeof line);
            /* 50 user not found, 63 suspended: that account, not the run */
            if (names->n && ((resp.status == 404 && (p.code == 50 || p.code == 17)) ||
                             (resp.status == 403 && p.code == 63))) {
                if (snprintf(p.value, sizeof p.value, "%s", names->v[i]) < 0)
                    p.value[0] = '\0';
                tw_run_partial(r, ep, &p, 1);
                rc = 0;
                continue;
            }
            tw_run_msg(r, "%s", err);
            goto done;
        }
        if (users->n == users->cap) {
            size_t ncap = users->cap ? users->cap * 2 : 16;
            tw_user *nv = realloc(users->v, ncap * sizeof *nv);
            if (!nv) {
                tw_run_msg(r, "out of memory");
                rc = EX_SOFTWARE;
                goto done;
            }
            users->v = nv;
            users->cap = ncap;
        }
        if (tw_parse_user_v1(resp.body.p, resp.body.len, ep, &users->v[users->n], err, sizeof err) != 0) {
            tw_run_msg(r, "%s", err);
            rc = EX_DATAERR;
            goto done;
        }
        if (names->n == 0)
            memcpy(r->me_id, users->v[users->n].id, sizeof r->me_id);
        users->n++;
    }
done:
    buf_free(&pq);
    http_resp_free(&resp);
    return rc;
}

/* One page of the timeline, older than max_id when given. 0 or -1. */
static int timeline_query(buf *pq, const char *uid, const char *since_id, const char *max_id)
{
    buf_reset(pq);
    if (buf_printf(pq, "/1.1/statuses/user_timeline.json?user_id=%s&count=200&trim_user=true"
                       "&include_rts=true&exclude_replies=false", uid) != 0)
        return -1;
    if (since_id[0] && tw_add_param(pq, "since_id", since_id) != 0)
        return -1;
    if (max_id[0] && tw_add_param(pq, "max_id", max_id) != 0)
        return -1;
    return 0;
}

static int posts_v1(tw_run *r, const tw_user *u)
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
    char err[TW_RUN_MSG_MAX], max_id[TW_ID_MAX] = "", since_id[TW_ID_MAX] = "";
    int64_t start_ns, end_ns = 0;
    const char *ep = "GET /1.1/statuses/user_timeline.json";

    if (r->o->backfill) {
        start_ns = r->o->since_ns;
        end_ns = r->o->until_ns;
        int b = tw_cp_backfill_get(r, u->id, max_id, sizeof max_id);
        if (b == 2) {
            log_info("user %s: this backfill range was done by an earlier run (--fresh reads it again)",
                     u->username);
            goto done;
        }
    } else {
        start_ns = r->o->now_ns - r->o->lookback_ns;
        int64_t cp_created;
        char cp_id[TW_ID_MAX];
        if (tw_cp_newest_get(r, u->id, cp_id, sizeof cp_id, &cp_created) == 1 && cp_created > 0 &&
            cp_created < start_ns) {
            memcpy(since_id, cp_id, sizeof since_id);
            start_ns = 0;
        }
    }
    for (int pages = 0; pages < V1_PAGES_MAX; pages++) {
        if (timeline_query(&pq, u->id, since_id, max_id) != 0) {
            tw_run_msg(r, "%s: out of memory building the request", ep);
            rc = EX_SOFTWARE;
            goto done;
        }
        if ((rc = tw_run_get(r, ep, &pq, &resp)))
            goto done;
        tw_page_free(&page);
        if (tw_parse_timeline_v1(resp.body.p, resp.body.len, ep, &page, err, sizeof err) != 0) {
            tw_run_msg(r, "%s (user %s)", err, u->username);
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
                if ((rc = tw_run_add(r, &pt.pt)))
                    goto done;
                r->n_posts++;
            }
            tw_keep_newest(&newest, p);
        }
        if (page.n == 0 || older || !oldest || tw_id_prev(oldest, max_id, sizeof max_id) != 0)
            max_id[0] = '\0';
        if (r->o->backfill && (rc = tw_cp_backfill_set(r, u->id, max_id[0] ? max_id : NULL)))
            goto done;
        if (r->o->backfill) {
            int64_t oldest_ns = 0;
            for (size_t i = 0; i < page.n; i++)
                if (page.v[i].created_ns > 0 && (!oldest_ns || page.v[i].created_ns < oldest_ns))
                    oldest_ns = page.v[i].created_ns;
            tw_run_progress(r, u, oldest_ns);
        }
        if (!max_id[0])
            break;
    }
    rc = tw_cp_newest_set(r, u->id, &newest);
done:
    tw_page_free(&page);
    buf_free(&pq);
    http_resp_free(&resp);
    return rc;
}

const tw_ops tw_ops_v1 = { .name = "1.1", .users = users_v1, .posts = posts_v1 };
