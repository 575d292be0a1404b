/* tw: the X/Twitter source of twitter-stats (prefix tw_).
 *
 *   tw_parse.c   response parsers (X API v2 and v1.1 shapes, error bodies); pure
 *   tw_points.c  the points a user or a post becomes (cronflux or twittergraph schema)
 *   tw_api.c     the signed HTTP client: OAuth 1.0a user context, rate limits, retries,
 *                and the mapping of every failure to an exit code and one line
 *
 * Nothing here prints or builds line protocol: parsers fill structs, tw_points fills
 * lp_point structs, and main hands them to sink_add.
 */
#ifndef CF_TW_H
#define CF_TW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../store/sink.h" /* the point type (lp_point) comes with the sink */
#include "../../runtime/http.h"
#include "../../runtime/oauth1.h"

#define TW_ID_MAX 32          /* decimal ids ("1577730467436138524") */
#define TW_NAME_MAX 64        /* usernames are at most 15 characters; room for odd ones */
#define TW_TOKEN_MAX 256      /* pagination tokens */
#define TW_MSG_MAX 512        /* one-line messages */
#define TW_BODY_MAX ((size_t)8 * 1024 * 1024)   /* response body cap */
#define TW_MAX_USERS 1000     /* accounts in one run */

/* ---- parsed data ---------------------------------------------------------- */

/* which counters a user has (bits of tw_user.have) */
enum { TW_U_FOLLOWERS = 1u << 0, TW_U_FOLLOWING = 1u << 1, TW_U_POSTS = 1u << 2,
       TW_U_LISTED = 1u << 3, TW_U_LIKES = 1u << 4, TW_U_MEDIA = 1u << 5 };

typedef struct tw_user {
    char id[TW_ID_MAX];
    char username[TW_NAME_MAX];
    int64_t followers, following, posts, listed, likes, media;
    unsigned have;              /* TW_U_* */
    bool has_metrics;           /* the answer had public_metrics (v2) / counters (v1.1) */
} tw_user;

/* which metrics a post has (bits of tw_post.have) */
enum { TW_P_LIKES = 1u << 0, TW_P_REPOSTS = 1u << 1, TW_P_REPLIES = 1u << 2,
       TW_P_QUOTES = 1u << 3, TW_P_IMPRESSIONS = 1u << 4, TW_P_BOOKMARKS = 1u << 5 };

typedef struct tw_post {
    char id[TW_ID_MAX];
    int64_t created_ns;         /* 0 when the answer has no created_at */
    int64_t likes, reposts, replies, quotes, impressions, bookmarks;
    unsigned have;              /* TW_P_* */
} tw_post;

/* One entry of an "errors" array (v2 partial answer, v2 or v1.1 error body). */
typedef struct tw_problem {
    char title[128];
    char detail[320];
    char type[160];
    char value[TW_NAME_MAX];        /* v2: the value that failed (a username) */
    char resource_id[TW_ID_MAX + TW_NAME_MAX];
    long code;                      /* v1.1 error code (453, 88, 32, 89, 50); 0 if none */
    char period[16], scope[16];     /* UsageCapExceeded: "Monthly"/"Daily", "Product"/"Account" */
} tw_problem;

/* The body of a 429 says UsageCapExceeded (title, or a type ending /2/problems/usage-capped
 * on either API host): the app's monthly cap or spending limit, not a rate-limit window. */
bool tw_problem_usage_capped(const tw_problem *p);

typedef struct tw_users {
    tw_user *v;
    size_t n, cap;
    tw_problem *errors;             /* 200 with errors: what could not be read */
    size_t nerrors, errcap;
} tw_users;

typedef struct tw_page {
    tw_post *v;
    size_t n, cap;
    char next_token[TW_TOKEN_MAX];  /* v2 meta.next_token, "" at the end */
    long result_count;              /* v2 meta.result_count (-1 if absent) */
    tw_problem *errors;
    size_t nerrors, errcap;
} tw_page;

void tw_users_init(tw_users *u);
void tw_users_free(tw_users *u);    /* accepts NULL */
void tw_page_init(tw_page *p);
void tw_page_free(tw_page *p);      /* accepts NULL; frees and re-inits */

/* All parsers: 0 on success; -1 when the body is not JSON or not the documented shape,
 * with err = "WHAT: line L, column C: reason" (not JSON) or "WHAT: PATH: reason" (shape),
 * WHAT being the caller's label (e.g. "GET /2/users/me"). Never a secret in err. */

/* GET /2/users/me ("data" an object) or /2/users/by ("data" an array); "errors" kept.
 * public_metrics: followers_count, following_count, listed_count, like_count, media_count,
 * and post_count (OpenAPI 2.167) or tweet_count (before it, and the prose docs); a key
 * absent (or null) under every name leaves its TW_U_* bit clear: never a 0. */
int tw_parse_users_v2(const char *body, size_t len, const char *what, tw_users *out,
                      char *err, size_t errlen);
/* GET /2/users/:id/tweets: "data" (absent when result_count is 0), "meta", "errors".
 * Metrics from public_metrics (like_count, repost_count (2.167) or retweet_count, reply_count, quote_count,
 * bookmark_count, impression_count), non_public_metrics and organic_metrics
 * (impression_count; the private figure wins over the public one). */
int tw_parse_posts_v2(const char *body, size_t len, const char *what, tw_page *out,
                      char *err, size_t errlen);
/* GET /1.1/account/verify_credentials.json or /1.1/users/show.json: one user object. */
int tw_parse_user_v1(const char *body, size_t len, const char *what, tw_user *out,
                     char *err, size_t errlen);
/* GET /1.1/statuses/user_timeline.json: an array of tweets (favorite_count, retweet_count,
 * reply_count/quote_count where given, created_at "Sat Jul 13 02:28:15 +0000 2019"). */
int tw_parse_timeline_v1(const char *body, size_t len, const char *what, tw_page *out,
                         char *err, size_t errlen);

/* An error body: v2 problem details (title, detail, type, status), a v2/v1.1 "errors"
 * array ({code, message} or problem entries). Fills *first and a one-line summary
 * "Title: detail (type)" or "code 88: Rate limit exceeded" into msg[cap]. Returns 0 when
 * the body had one of these shapes, -1 otherwise (then msg holds a short printable
 * excerpt of the body, or "" when it is empty). */
int tw_parse_error(const char *body, size_t len, tw_problem *first, char *msg, size_t cap);

/* GET /2/usage/tweets: what X counts of the project's Post reads this billing cycle. */
typedef struct tw_usage {
    char project_id[TW_ID_MAX];
    int64_t usage, cap, cap_reset_day;
    bool has_usage, has_cap, has_reset_day;
} tw_usage;
/* data.project_usage, data.project_cap (digit strings as in OpenAPI 2.167 and the recorded
 * answers, or integers as in 2.166 and the 2026 prose example), data.cap_reset_day,
 * data.project_id; other members (daily usage in either shape) are ignored. 0 or -1. */
int tw_parse_usage(const char *body, size_t len, const char *what, tw_usage *out, char *err,
                   size_t errlen);

/* One line for a problem: "Not Found Error: Could not find user ... (resource-type ...)". */
void tw_problem_line(const tw_problem *p, char *out, size_t cap);

/* v1.1 created_at ("Wed Oct 10 20:19:24 +0000 2018") to ns. 0 or -1. */
int tw_parse_v1_time(const char *s, int64_t *out_ns);

/* Compare two decimal ids numerically (no leading zeros): <0, 0, >0. */
int tw_id_cmp(const char *a, const char *b);
/* out = id - 1 (for v1.1 max_id paging). 0 or -1 (not a positive decimal id). */
int tw_id_prev(const char *id, char *out, size_t cap);

/* ---- points --------------------------------------------------------------- */

typedef enum tw_schema { TW_SCHEMA_CRONFLUX = 0, TW_SCHEMA_TWITTERGRAPH } tw_schema;

/* Storage for one point: the lp_point's tags/fields point into it. */
typedef struct tw_pt {
    lp_tag tags[2];
    lp_field fields[8];
    lp_point pt;
} tw_pt;

/* The points for a user's counters at time t_ns, tagged user=user_tag:
 *   cronflux: one twitter_user point (tags user, user_id; the counters it has: followers,
 *   following, listed, likes, posts, media);
 *   twittergraph: one point per counter it has, measurements followers_count,
 *   friends_count, listed_count, favourites_count, statuses_count, field value, tag user.
 * Fills out[0..n) and returns n (0 when the user has no counters). */
size_t tw_user_points(const tw_user *u, const char *user_tag, tw_schema schema, int64_t t_ns,
                      tw_pt out[5]);
/* The twitter_post point of a post (tags user, post_id; the metrics it has). 1, or 0
 * when the post has no metrics. */
int tw_post_point(const tw_post *p, const char *user_tag, int64_t t_ns, tw_pt *out);

/* GET /2/tweets/analytics: time buckets per post. */
#define TW_AN_METRICS 23
/* The metric keys as the API names them (OpenAPI 2.166 and 2.167, their union), and the
 * field each becomes (the API's name, except retweets -> reposts, quote_tweets -> quotes). */
extern const char *const tw_an_keys[TW_AN_METRICS];
extern const char *const tw_an_fields[TW_AN_METRICS];

typedef struct tw_an_bucket {
    char post_id[TW_ID_MAX];
    int64_t t_ns;                   /* the bucket's start */
    int64_t v[TW_AN_METRICS];
    uint32_t have;                  /* bit i: v[i] given (a null or absent metric: clear) */
} tw_an_bucket;

typedef struct tw_an_page {
    tw_an_bucket *v;
    size_t n, cap;
    long skipped;                   /* buckets with a null timestamp or null metrics */
    tw_problem *errors;
    size_t nerrors, errcap;
} tw_an_page;

void tw_an_page_init(tw_an_page *p);
void tw_an_page_free(tw_an_page *p);     /* accepts NULL; frees and re-inits */
/* data[].timestamped_metrics[] {timestamp, metrics{...}} (2.166 and 2.167), or an item's
 * flat metrics with its own timestamp (2.167 allows that); "errors" kept. Every value is
 * nullable (2.167): a null metric is left out, a null timestamp or metrics object skips
 * the bucket (counted). 0 or -1 (err as the other parsers). */
int tw_parse_analytics(const char *body, size_t len, const char *what, tw_an_page *out,
                       char *err, size_t errlen);

/* The twitter_project_usage point (tag project_id when known; usage, cap, cap_reset_day
 * where given). 1, or 0 when the answer had none of them. */
int tw_project_usage_point(const tw_usage *u, int64_t t_ns, tw_pt *out);

/* The twitter_post_analytics point of a bucket (tags user, post_id, granularity; the metrics
 * it has, as integers) at the bucket's start. 1, or 0 when it has no metric. */
typedef struct tw_an_pt {
    lp_tag tags[3];
    lp_field fields[TW_AN_METRICS];
    lp_point pt;
} tw_an_pt;
int tw_analytics_point(const tw_an_bucket *b, const char *user, const char *granularity,
                       tw_an_pt *out);

/* ---- pay-per-use accounting (tw_bill.c) -------------------------------------------
 *
 * X bills reads per resource returned (a post, a user), each resource at most once per UTC
 * day; reads through an "owned read" endpoint (the {id} in the path is the app owner's own
 * account) cost less. tw_bill counts the requests and resources of a run per endpoint, knows
 * which resources were read earlier this UTC day (state the job keeps in its state file), and
 * prices what is new. Its figures are estimates: X's own count is GET /2/usage/tweets. */

typedef enum tw_res { TW_RES_POST = 0, TW_RES_USER = 1 } tw_res;

/* US dollars per resource; the documented defaults (pricing page, August 2026) */
#define TW_PRICE_POST_READ 0.005
#define TW_PRICE_USER_READ 0.010
#define TW_PRICE_OWNED_READ 0.001

typedef struct tw_prices {
    double post_read, user_read, owned_read;
} tw_prices;

/* What one endpoint (path template, e.g. "/2/users/:id/tweets") cost this run. */
typedef struct tw_bill_line {
    char endpoint[48];
    bool owned;
    int64_t requests, resources, billable;
    double cost_usd;
} tw_bill_line;

typedef struct tw_bill tw_bill;

/* A bill for the UTC day of now_ns. NULL when out of memory. tw_bill_free accepts NULL. */
tw_bill *tw_bill_new(const tw_prices *prices, int64_t now_ns);
void tw_bill_free(tw_bill *b);
/* "YYYY-MM-DD", the UTC day the bill counts */
const char *tw_bill_day(const tw_bill *b);

/* The state of one kind of resource: "YYYY-MM-DD ID,ID,..." (the ids read that day) and of
 * the day's spend: "YYYY-MM-DD USD". A state of another day, or one that does not parse,
 * counts as nothing read (0 returned; -1 only when out of memory). */
int tw_bill_load_seen(tw_bill *b, tw_res kind, const char *state);
int tw_bill_load_spend(tw_bill *b, const char *state);
/* The states to keep: appended to out (0, or -1 when out does not take it). */
int tw_bill_save_seen(const tw_bill *b, tw_res kind, buf *out);
int tw_bill_save_spend(const tw_bill *b, buf *out);

/* One request sent to endpoint. 0, or -1 (more endpoints than a run has). */
int tw_bill_request(tw_bill *b, const char *endpoint, bool owned);
/* One resource returned by endpoint: counted, and priced unless it was read earlier this UTC
 * day. Returns its cost (0 when not billable), or -1 when out of memory / too many lines. */
double tw_bill_resource(tw_bill *b, const char *endpoint, bool owned, tw_res kind, const char *id);
/* Read earlier this UTC day (or earlier in this run)? */
bool tw_bill_seen(const tw_bill *b, tw_res kind, const char *id);
/* The price of one new resource of kind, through an owned-read endpoint or not. */
double tw_bill_price(const tw_bill *b, tw_res kind, bool owned);
/* This UTC day's spend: before this run (from the state) plus this run's. */
double tw_bill_spent_today(const tw_bill *b);
double tw_bill_spent_run(const tw_bill *b);
/* The lines of this run, in the order the endpoints were first used. */
size_t tw_bill_lines(const tw_bill *b, const tw_bill_line **out);

/* The twitter_usage point of a line (tags endpoint, owned; fields requests, resources,
 * billable, cost_usd) at t_ns. */
void tw_usage_point(const tw_bill_line *l, int64_t t_ns, tw_pt *out);

/* ---- client ------------------------------------------------------------------ */

typedef struct tw_client tw_client;

typedef struct tw_client_opts {
    const char *base_url;           /* TWITTER_API_URL, no trailing '/' needed */
    oauth1_creds creds;             /* user context: consumer key/secret + access token/secret */
    const char *app_names;          /* "TWITTER_API_KEY/TWITTER_API_SECRET" (names, not values) */
    const char *user_names;         /* "TWITTER_ACCESS_TOKEN/TWITTER_ACCESS_SECRET" */
    int64_t max_wait_ns;            /* longest wait for a rate-limit window (0: never wait) */
    int retries;                    /* retries after a network error or 5xx */
    long timeout_ms;                /* per request; 0: 30000 */
    size_t body_max;                /* 0: TW_BODY_MAX */
    const char *ca_file;            /* private CA for the API (tests), or NULL */
    const char *bearer_token;       /* app-only token (TWITTER_BEARER_TOKEN), or NULL */
    int64_t deadline_ns;            /* clock_mono_ns() time no retry wait goes past; 0: none */
} tw_client_opts;

/* NULL on error (err set). The credentials are copied; opts need not outlive the call. */
tw_client *tw_client_new(const tw_client_opts *o, char *err, size_t errlen);
void tw_client_free(tw_client *c);  /* wipes the copied secrets; accepts NULL */

/* GET base_url + path_query (the path with its already-encoded query), signed. `endpoint`
 * names the rate-limit family ("GET /2/users/:id/tweets") and appears in messages.
 * Returns 0 with a 2xx answer in r, or an exit code with err set to one line:
 *   65 the answer is over the body cap; 69 no connection (refused, DNS, TLS) after retries;
 *   75 a 5xx or no answer in time after retries (temporary in every source);
 *   75 rate limited and the window resets later than --max-wait allows (err names the reset
 *      time, RFC 3339), or 429 UsageCapExceeded (never waited for nor retried; counted in
 *      tw_client_stats.usage_capped; err says what clears it); 77 401/403 (err names the refused credential variables, and for
 *      v1.1 code 453 says v2 is the way); 78 400/404/3xx (the request or TWITTER_API_URL is
 *      wrong). err carries the problem-details title/detail/type of the error body.
 * A rate limit whose window is used up (remaining 0, reset in the future) is never sent. */
int tw_get(tw_client *c, const char *endpoint, const char *path_query, http_resp *r,
           char *err, size_t errlen);

/* tw_get with the app-only Bearer token instead of OAuth 1.0a (GET /2/usage/tweets takes
 * only that); a 401/403 names TWITTER_BEARER_TOKEN (77). 78 when the client has none. */
int tw_get_app(tw_client *c, const char *endpoint, const char *path_query, http_resp *r,
               char *err, size_t errlen);
bool tw_client_has_bearer(const tw_client *c);

/* Requests sent, 429 answers seen, seconds waited for rate limits: for the run summary. */
typedef struct tw_client_stats {
    long requests, rate_limited, waited_s, retries;
    long usage_capped;              /* 429 UsageCapExceeded answers (tw_get returned 75) */
} tw_client_stats;
const tw_client_stats *tw_client_get_stats(const tw_client *c);

#endif
