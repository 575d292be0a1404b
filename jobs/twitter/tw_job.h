/* tw_job: the twitter-stats program itself, split by what a reader looks for (prefix tw_).
 *
 *   tw_opts.c    the options: --help text, flags, the time range, the account list
 *   tw_creds.c   the credentials: four secrets from the environment (or _FILE paths)
 *   tw_run.c     the run: accounts then posts, through one tw_ops (v2 or v1.1);
 *                the helpers both fetches share (points, partial answers, checkpoints)
 *   tw_fetch_v2.c, tw_fetch_v1.c   the fetches of one API version, as a tw_ops table
 *   main.c       the order of it all, and the one error line and exit code
 *
 * Errors are returned as an exit code with the one line in the caller's buffer (or in
 * run.msg); main logs it once. Progress and warnings (a partial answer, a resumed
 * backfill) are logged where they happen.
 */
#ifndef CF_TW_JOB_H
#define CF_TW_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../runtime/cfg.h"
#include "../../runtime/cli.h"
#include "../../runtime/progress.h"
#include "../../store/sink.h"
#include "tw.h"

#define TW_JOB "twitter-stats"
#define TW_RUN_MSG_MAX 1024

/* ---- options (tw_opts.c) ------------------------------------------------------------ */

typedef struct tw_names {
    char (*v)[TW_NAME_MAX];
    size_t n;
} tw_names;

typedef struct tw_opts {
    cli_common cc;
    const char *users;          /* --users as given */
    const char *users_src;      /* where the accounts came from: "--users", "TWITTER_USERS"
                                 * or "TWITTER_USER" (for messages) */
    int api;                    /* 2 or 1 (1.1) */
    tw_schema schema;
    const char *since, *until;
    int64_t lookback_ns;
    int64_t max_wait_ns;
    bool strict, no_posts, fresh;
    const char *api_url;        /* --api-url, else TWITTER_API_URL, else the default */
    int retries;
    bool lookback_given;        /* --lookback was given: re-read posts read earlier today */
    bool has_budget;            /* --daily-budget / TWITTER_DAILY_BUDGET_USD given */
    double daily_budget_usd;
    tw_prices prices;           /* TWITTER_PRICE_* or the documented defaults */
    bool force;                 /* --force: send even after UsageCapExceeded today */
    const char *analytics;      /* --analytics GRANULARITY, or NULL */
    /* resolved from the above */
    int64_t now_ns;
    bool backfill;              /* --since given (and this slice not empty) */
    bool range_moves;           /* --since/--until relative to now, or --until left out */
    int64_t since_ns, until_ns; /* whole seconds, this pod's slice */
    tw_names names;             /* the accounts; n == 0: the token's own */
} tw_opts;

/* Parse argv and the environment into o (which it zeroes first).
 * Returns CLI_RUN to go on with the run, else the exit code to return now:
 * 0 (--help / --version printed, or this backfill slice is empty), 64 usage,
 * 78 configuration, with err set to the one line (or "" when nothing is to be logged).
 * tw_opts_free releases what it allocated (always call it). */
int tw_opts_parse(tw_opts *o, int argc, char **argv, char *err, size_t errlen);
void tw_opts_free(tw_opts *o);

/* ---- credentials (tw_creds.c) ------------------------------------------------------------ */

typedef struct tw_creds {
    char ck[CFG_SECRET_MAX], cs[CFG_SECRET_MAX], tk[CFG_SECRET_MAX], ts[CFG_SECRET_MAX];
    char bearer[CFG_SECRET_MAX];         /* TWITTER_BEARER_TOKEN (optional), or "" */
    char app_names[96], user_names[96];  /* the variables used, e.g. "TWITTER_API_KEY/..." */
    char token_user_id[TW_ID_MAX];       /* from the access token's "<id>-" prefix, or "" */
} tw_creds;

/* Read the four secrets: TWITTER_X, else X (each also as X_FILE), X being API_KEY,
 * API_SECRET, ACCESS_TOKEN, ACCESS_SECRET, and the optional BEARER_TOKEN (the same
 * way). 0, or 78 with err naming the missing
 * variables (never a value). tw_creds_wipe clears every secret (always call it). */
int tw_creds_read(tw_creds *c, char *err, size_t errlen);
void tw_creds_wipe(tw_creds *c);

/* ---- the run (tw_run.c) ------------------------------------------------------------------ */

typedef struct tw_run tw_run;

/* The fetches of one API version. Each returns 0 or an exit code with run->msg set. */
typedef struct tw_ops {
    const char *name;                                   /* "2", "1.1" */
    int (*users)(tw_run *r, tw_users *out);             /* the configured (or own) accounts */
    int (*posts)(tw_run *r, const tw_user *u);          /* one account's posts -> points */
    int (*analytics)(tw_run *r, const tw_user *u);      /* --analytics; NULL: not offered */
} tw_ops;

/* GET /2/tweets/analytics for the posts of u (tw_analytics.c): the buckets of its recent
 * posts (--lookback), or of the posts created in --since/--until (resumable). A refusal
 * (401/403) is warned once, remembered for the UTC day, and is not the run's failure. */
int tw_analytics_v2(tw_run *r, const tw_user *u);

/* A post listed this run (id and creation time), for the analytics that follow. */
typedef struct tw_listed {
    char id[TW_ID_MAX];
    int64_t created_ns;
} tw_listed;

extern const tw_ops tw_ops_v2;
extern const tw_ops tw_ops_v1;

struct tw_run {
    const tw_opts *o;
    const tw_ops *ops;
    sink *s;
    tw_client *c;
    int64_t t_ns;               /* the points' timestamp */
    char token_user_id[TW_ID_MAX];
    char me_id[TW_ID_MAX];      /* GET /2/users/me (or verify_credentials) when read */
    long n_users, n_posts, n_pages, n_partial, n_rejected;
    tw_bill *bill;              /* what this run reads costs (tw_run_load_state) */
    bool budget_stop;           /* a request was not sent: it would go over --daily-budget */
    char usage_cap_day[11];     /* the UTC day X last answered UsageCapExceeded, or "" */
    tw_listed *listed;          /* the posts of the current account listed this run */
    size_t nlisted, caplisted;
    bool analytics_off;         /* refused this UTC day: not asked again in this run */
    long n_buckets;
    char fields_param[16];      /* "tweet.fields" or "post.fields" (OpenAPI 2.167), as the
                                 * API last took it (state file) */
    unsigned warned_missing;    /* TW_U_* counters said missing (once a run) */
    bool warned_reposts;        /* a post without repost_count/retweet_count said */
    char first_partial[TW_MSG_MAX];
    char msg[TW_RUN_MSG_MAX];   /* the one error line */
    bool store_failed;          /* msg is the store's failure: main says it after
                                 * sink_finish, which knows how many points were lost */
    /* a backfill's progress (runtime/progress.h): which account of how many */
    bool progress_on, said_moves;
    progress pg;
    size_t user_i, users_n;
};

/* A backfill's progress after a page of u's posts reaching back to oldest_ns (0: not
 * known): on a terminal a line redrawn in place, else a log line every few seconds. */
void tw_run_progress(tw_run *r, const tw_user *u, int64_t oldest_ns);

/* Read the accounts, write their points, then their posts (unless --no-posts or the
 * twittergraph schema). 0 or an exit code with r->msg set. */
int tw_run_job(tw_run *r);
/* What tw_run_job allocated (the bill). */
void tw_run_free(tw_run *r);

/* helpers the fetches share */
void tw_run_msg(tw_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The store (sink) failed with err: the run's message, said once by main (EX_TEMPFAIL). */
int tw_run_store_failed(tw_run *r, const char *err);
/* Log an answer's errors array (at most a few lines a run); they make the run partial. */
void tw_run_partial(tw_run *r, const char *what, const tw_problem *e, size_t n);
/* sink_add with the job's accounting: 0 (added or refused and counted), or 75. */
int tw_run_add(tw_run *r, const lp_point *p);
/* tw_get with r->msg set on failure; a NULL pq->p (a failed build) is 70. */
int tw_run_get(tw_run *r, const char *endpoint, const buf *pq, http_resp *resp);
/* Append "?k=v" or "&k=v" (v URL-encoded). 0 or -1. */
int tw_add_param(buf *pq, const char *k, const char *v);
/* *newest = p when p's id is the larger. */
void tw_keep_newest(tw_post *newest, const tw_post *p);
/* 1 when u is the account the access token belongs to. */
bool tw_run_is_me(const tw_run *r, const tw_user *u);

/* The state this job keeps beyond checkpoints of posts (the state file, through the sink's
 * checkpoints): load it at the start of a run (missing or unreadable: the defaults). */
void tw_run_load_state(tw_run *r);
/* Remember the name of the post fields parameter. 0 or 75. */
int tw_run_set_fields_param(tw_run *r, const char *name);
/* Before a request that may cost up to est_usd: true to send it; false when it would take
 * today's spend over --daily-budget (then r->budget_stop is set and the figures warned once). */
bool tw_run_budget_ok(tw_run *r, const char *endpoint, double est_usd);
/* max_results for a page of posts at price_usd each: 100, fewer to stay in the budget, or 0
 * when not even the API's minimum of 5 fits (the stop recorded as by tw_run_budget_ok). */
int tw_run_budget_page(tw_run *r, const char *endpoint, double price_usd);
/* Remember a post listed this run (for --analytics). 0 or -1 (no memory). */
int tw_run_listed(tw_run *r, const tw_post *p);
/* The state file's helpers for the fetches: a value (heap, NULL when absent) and a set. */
char *tw_run_state_get(tw_run *r, const char *key);
int tw_run_state_set(tw_run *r, const char *key, const char *val);   /* 0 or 75 */
/* The posts of uid were read in full earlier this UTC day by a scheduled run. */
bool tw_run_posts_read_today(tw_run *r, const char *uid);
/* The state file has an index of uid's posts (kept by --analytics runs). */
bool tw_run_has_post_index(tw_run *r, const char *uid);
/* Remember that they were. 0 or 75. */
int tw_run_set_posts_read_today(tw_run *r, const char *uid);

/* checkpoints (in the state file, per account id) */
/* The newest post an earlier run saw. 1 found (id, *created set), 0 none. */
int tw_cp_newest_get(tw_run *r, const char *uid, char *id, size_t idcap, int64_t *created);
/* Remember newest when it is newer, in one commit with the points so far. 0 or 75. */
int tw_cp_newest_set(tw_run *r, const char *uid, const tw_post *newest);
/* This backfill range's progress: 0 none (or --fresh), 1 a cursor in out, 2 done. */
int tw_cp_backfill_get(tw_run *r, const char *uid, char *out, size_t cap);
/* Record the cursor (NULL: done), in one commit with the points so far. 0 or 75. */
int tw_cp_backfill_set(tw_run *r, const char *uid, const char *cursor);

#endif
