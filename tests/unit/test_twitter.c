/* The X API parsers and point builders of twitter-stats, on the recorded answers in
 * tests/fixtures/twitter/ and on broken variants of them. Table-driven. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../jobs/twitter/tw.h"
#include "harness.h"

static char *slurp(const char *name, size_t *len)
{
    char path[1024];
    int n = snprintf(path, sizeof path, "%s/twitter/%s", th_fixtures(), name);
    if (n < 0 || (size_t)n >= sizeof path)
        return NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        CHECK(0, "open %s", path);
        return NULL;
    }
    buf b;
    buf_init(&b, 1 << 24);
    char tmp[8192];
    size_t got;
    while ((got = fread(tmp, 1, sizeof tmp, f)) > 0)
        buf_add(&b, tmp, got);
    fclose(f);
    *len = b.len;
    return buf_steal(&b);
}

/* ---- users (v2 and v1.1) ------------------------------------------------------------ */

#define NA (-1)
typedef struct user_case {
    const char *file;       /* fixture, or NULL for inline */
    const char *inline_body;
    int v1;                 /* 1: v1.1 user object parser */
    int ok;                 /* parse succeeds */
    const char *err_has;    /* on failure: substring of err */
    size_t nusers, nerrors;
    const char *id, *username;
    int has_metrics;
    long long followers, following, posts, listed, likes;   /* NA: absent */
} user_case;

static const user_case user_cases[] = {
    { "v2_users_me_public_metrics_docs.json", NULL, 0, 1, NULL, 1, 0, "2244994945", "XDevelopers", 1,
      583423, 2048, 14052, 1672, NA },
    { "v2_users_me_tweepy.json", NULL, 0, 1, NULL, 1, 0, "1072250532645998596", "TweepyDev", 0,
      NA, NA, NA, NA, NA },
    { "v1.1_account_verify_credentials_tweepy.json", NULL, 1, 1, NULL, 1, 0, "1072250532645998596",
      "TweepyDev", 1, 1, 6, 11, 0, 0 },
    { "v1.1_users_show_screen_name_Twitter_tweepy.json", NULL, 1, 1, NULL, 1, 0, "783214", "Twitter", 1,
      59112688, 0, 14045, 87117, 6363 },
    /* users/by: several users, one not found (the documented 200-with-errors shape) */
    { NULL,
      "{\"data\":[{\"id\":\"2244994945\",\"name\":\"X Dev\",\"username\":\"XDevelopers\","
      "\"public_metrics\":{\"followers_count\":10,\"following_count\":20,\"tweet_count\":30,"
      "\"listed_count\":40,\"like_count\":50,\"media_count\":3}},"
      "{\"id\":\"783214\",\"name\":\"X\",\"username\":\"X\",\"public_metrics\":{\"followers_count\":1,"
      "\"following_count\":2,\"tweet_count\":3,\"listed_count\":4}}],"
      "\"errors\":[{\"value\":\"nosuchuser\",\"detail\":\"Could not find user with usernames: [nosuchuser].\","
      "\"title\":\"Not Found Error\",\"resource_type\":\"user\",\"parameter\":\"usernames\","
      "\"resource_id\":\"nosuchuser\",\"type\":\"https://api.twitter.com/2/problems/resource-not-found\"}]}",
      0, 1, NULL, 2, 1, "2244994945", "XDevelopers", 1, 10, 20, 30, 40, 50 },
    /* OpenAPI 2.167 names: post_count (was tweet_count), like_count, media_count */
    { "v2_users_by_public_metrics_renamed_spec2167.json", NULL, 0, 1, NULL, 2, 0, "2244994945",
      "XDevelopers", 1, 583423, 2048, 14052, 1672, 3130 },
    /* both spellings: post_count wins; neither: posts absent (never 0) */
    { NULL, "{\"data\":{\"id\":\"1\",\"username\":\"a\",\"public_metrics\":{\"followers_count\":1,"
      "\"post_count\":7,\"tweet_count\":6}}}", 0, 1, NULL, 1, 0, "1", "a", 1, 1, NA, 7, NA, NA },
    { NULL, "{\"data\":{\"id\":\"1\",\"username\":\"a\",\"public_metrics\":{\"followers_count\":1,"
      "\"like_count\":null}}}", 0, 1, NULL, 1, 0, "1", "a", 1, 1, NA, NA, NA, NA },
    { NULL, "{\"data\":{\"id\":\"1\",\"username\":\"a\",\"public_metrics\":{\"post_count\":-1}}}",
      0, 0, "data.public_metrics.post_count: expected a non-negative integer", 0, 0, NULL, NULL, 0, NA,
      NA, NA, NA, NA },
    /* every user not found: no data, only errors */
    { NULL,
      "{\"errors\":[{\"value\":\"a\",\"detail\":\"Could not find user with usernames: [a].\","
      "\"title\":\"Not Found Error\",\"type\":\"https://api.twitter.com/2/problems/resource-not-found\"}]}",
      0, 1, NULL, 0, 1, NULL, NULL, 0, NA, NA, NA, NA, NA },
    /* shapes that are not the documented one: exit 65 with a position */
    { NULL, "{\"data\":{\"id\":\"1\",\"username\":\"a\",\"public_metrics\":{\"followers_count\":\"12\"}}}",
      0, 0, "data.public_metrics.followers_count: expected a non-negative integer, got string", 0, 0,
      NULL, NULL, 0, NA, NA, NA, NA, NA },
    { NULL, "{\"data\":{\"id\":\"1\",\"username\":\"a\",\"public_metrics\":{\"followers_count\":-3}}}",
      0, 0, "followers_count: expected a non-negative integer", 0, 0, NULL, NULL, 0, NA, NA, NA, NA, NA },
    { NULL, "{\"data\":[{\"id\":\"1\",\"username\":\"a\"},{\"id\":2,\"username\":\"b\"}]}", 0, 0,
      "data[1]", 0, 0, NULL, NULL, 0, NA, NA, NA, NA, NA },
    { NULL, "{\"data\":{\"username\":\"a\"}}", 0, 0, "missing \"id\"", 0, 0, NULL, NULL, 0, NA, NA, NA,
      NA, NA },
    { NULL, "{\"data\":\"x\"}", 0, 0, "data: expected an object or an array, got string", 0, 0, NULL,
      NULL, 0, NA, NA, NA, NA, NA },
    { NULL, "{\"meta\":{}}", 0, 0, "missing \"data\"", 0, 0, NULL, NULL, 0, NA, NA, NA, NA, NA },
    { NULL, "[1,2]", 0, 0, "expected a JSON object, got array", 0, 0, NULL, NULL, 0, NA, NA, NA, NA, NA },
    { NULL, "{\"data\":{\"id\":\"1\",\"username\":\"a\",}", 0, 0, "line 1, column", 0, 0, NULL, NULL, 0,
      NA, NA, NA, NA, NA },
    { NULL, "{\"data\":\n{\"id\":\"1\",\n\"username\":\"a\"", 0, 0, "line 3", 0, 0, NULL, NULL, 0, NA,
      NA, NA, NA, NA },
    { NULL, "", 0, 0, "line", 0, 0, NULL, NULL, 0, NA, NA, NA, NA, NA },
    { NULL, "{\"id\":1,\"screen_name\":\"a\"}", 1, 0, "missing \"id_str\"", 0, 0, NULL, NULL, 0, NA, NA,
      NA, NA, NA },
    { NULL, "{\"id_str\":\"1\",\"screen_name\":\"a\",\"followers_count\":1.5}", 1, 0,
      "$.followers_count: expected a non-negative integer, got real", 0, 0, NULL, NULL, 0, NA, NA, NA,
      NA, NA },
};

static void check_metric(const char *ctx, const char *name, unsigned have, unsigned bit,
                         long long got, long long want)
{
    if (want == NA) {
        CHECK(!(have & bit), "%s: %s should be absent", ctx, name);
    } else {
        CHECK(have & bit, "%s: %s should be present", ctx, name);
        CHECK(got == want, "%s: %s = %lld, want %lld", ctx, name, got, want);
    }
}

static void test_users(void)
{
    for (size_t i = 0; i < sizeof user_cases / sizeof user_cases[0]; i++) {
        const user_case *c = &user_cases[i];
        size_t len = 0;
        char *body = c->file ? slurp(c->file, &len) : strdup(c->inline_body);
        if (!c->file)
            len = strlen(body);
        const char *ctx = c->file ? c->file : c->inline_body;
        char err[512] = "";
        tw_users us;
        tw_users_init(&us);
        int rc;
        if (c->v1) {
            tw_user u;
            rc = tw_parse_user_v1(body, len, "GET /1.1/x", &u, err, sizeof err);
            if (rc == 0) {
                us.v = malloc(sizeof u);
                us.v[0] = u;
                us.n = us.cap = 1;
            }
        } else {
            rc = tw_parse_users_v2(body, len, "GET /2/x", &us, err, sizeof err);
        }
        CHECK((rc == 0) == (c->ok != 0), "%s: rc %d err %s", ctx, rc, err);
        if (!c->ok) {
            CHECK(strstr(err, c->err_has) != NULL, "%s: err [%s] lacks [%s]", ctx, err, c->err_has);
            CHECK(strncmp(err, c->v1 ? "GET /1.1/x: " : "GET /2/x: ", c->v1 ? 12 : 10) == 0,
                  "err names the request: %s", err);
        } else {
            CHECK(us.n == c->nusers, "%s: %zu users, want %zu", ctx, us.n, c->nusers);
            CHECK(us.nerrors == c->nerrors, "%s: %zu errors, want %zu", ctx, us.nerrors, c->nerrors);
            if (us.n > 0 && c->id) {
                const tw_user *u = &us.v[0];
                CHECK_STREQ(u->id, c->id, ctx);
                CHECK_STREQ(u->username, c->username, ctx);
                CHECK(u->has_metrics == (c->has_metrics != 0), "%s: has_metrics", ctx);
                check_metric(ctx, "followers", u->have, TW_U_FOLLOWERS, u->followers, c->followers);
                check_metric(ctx, "following", u->have, TW_U_FOLLOWING, u->following, c->following);
                check_metric(ctx, "posts", u->have, TW_U_POSTS, u->posts, c->posts);
                check_metric(ctx, "listed", u->have, TW_U_LISTED, u->listed, c->listed);
                check_metric(ctx, "likes", u->have, TW_U_LIKES, u->likes, c->likes);
            }
            if (us.nerrors) {
                CHECK_STREQ(us.errors[0].title, "Not Found Error", ctx);
                CHECK(strstr(us.errors[0].detail, "Could not find user") != NULL, "%s: detail", ctx);
            }
        }
        tw_users_free(&us);
        free(body);
    }
}

/* ---- posts (v2 and v1.1 timelines) ----------------------------------------------------- */

typedef struct post_case {
    const char *file;
    const char *inline_body;
    int v1;
    int ok;
    const char *err_has;
    size_t nposts, nerrors;
    const char *next_token;
    long result_count;
    /* first post */
    const char *id;
    long long created_s;   /* NA: none */
    long long likes, reposts, replies, quotes, impressions, bookmarks;
} post_case;

static const post_case post_cases[] = {
    { "v2_users_783214_tweets_tweepy.json", NULL, 0, 1, NULL, 2, 0,
      "7140dibdnow9c7btw4232poeq0wapgnwgwqwvuwn3peex", 2, "1577730467436138524", NA, NA, NA, NA, NA,
      NA, NA },
    { "v2_users_id_mentions_public_metrics_next_token_docs.json", NULL, 0, 1, NULL, 1, 0,
      "t3buvdr5pujq9g7bggsnf3ep2ha28", 1, "1301573587187331074", 1705314600, 42, 5, 2, 1, NA, NA },
    { "v2_users_id_tweets_next_token_docs_2024.json", NULL, 0, 1, NULL, 5, 0,
      "t3buvdr5pujq9g7bggsnf3ep2ha28", 5, "1301573587187331074", 1599154299, NA, NA, NA, NA, NA, NA },
    { "v2_partial_errors_200_docs.json", NULL, 0, 1, NULL, 1, 1, "", -1, "123", NA, NA, NA, NA, NA, NA,
      NA },
    /* OpenAPI 2.167 names: repost_count (was retweet_count), edit_history_post_ids */
    { "v2_users_id_tweets_public_metrics_renamed_spec2167.json", NULL, 0, 1, NULL, 2, 0,
      "7140dibdnow9c7btw4b1yd2z9vq1k1lo2aw0z0u0ikgpx", 2, "1960000000000000002", 1787238131, 87, 12, 3,
      1, 4311, 9 },
    /* both spellings: the new one wins; neither: reposts absent (never 0) */
    { NULL, "{\"data\":[{\"id\":\"7\",\"public_metrics\":{\"repost_count\":4,\"retweet_count\":3,"
      "\"like_count\":1}}],\"meta\":{\"result_count\":1}}", 0, 1, NULL, 1, 0, "", 1, "7", NA, 1, 4,
      NA, NA, NA, NA },
    { NULL, "{\"data\":[{\"id\":\"7\",\"public_metrics\":{\"like_count\":1}}],\"meta\":{\"result_count\":1}}",
      0, 1, NULL, 1, 0, "", 1, "7", NA, 1, NA, NA, NA, NA, NA },
    { NULL, "{\"data\":[{\"id\":\"7\",\"public_metrics\":{\"repost_count\":\"4\"}}],\"meta\":{}}", 0, 0,
      "data[0].public_metrics.repost_count: expected a non-negative integer, got string", 0, 0, NULL, 0,
      NULL, NA, NA, NA, NA, NA, NA, NA },
    /* the last page: no next_token; an empty window: no data */
    { NULL, "{\"meta\":{\"result_count\":0}}", 0, 1, NULL, 0, 0, "", 0, NULL, NA, NA, NA, NA, NA, NA, NA },
    /* every metric, private figures over public ones */
    { NULL,
      "{\"data\":[{\"id\":\"99\",\"created_at\":\"2026-01-02T03:04:05.000Z\",\"text\":\"x\","
      "\"public_metrics\":{\"retweet_count\":1,\"reply_count\":2,\"like_count\":3,\"quote_count\":4,"
      "\"bookmark_count\":5,\"impression_count\":6},"
      "\"non_public_metrics\":{\"impression_count\":600,\"url_link_clicks\":1,\"user_profile_clicks\":2},"
      "\"organic_metrics\":{\"impression_count\":600,\"like_count\":3,\"reply_count\":2,\"retweet_count\":1}}],"
      "\"meta\":{\"result_count\":1,\"newest_id\":\"99\",\"oldest_id\":\"99\"}}",
      0, 1, NULL, 1, 0, "", 1, "99", 1767323045, 3, 1, 2, 4, 600, 5 },
    { NULL, "{\"data\":[{\"id\":\"1\",\"public_metrics\":{\"like_count\":true}}],\"meta\":{}}", 0, 0,
      "data[0].public_metrics.like_count: expected a non-negative integer, got boolean", 0, 0, NULL, 0,
      NULL, NA, NA, NA, NA, NA, NA, NA },
    { NULL, "{\"data\":[{\"id\":\"1\",\"created_at\":\"yesterday\"}],\"meta\":{}}", 0, 0,
      "data[0].created_at: not an RFC 3339 time", 0, 0, NULL, 0, NULL, NA, NA, NA, NA, NA, NA, NA },
    { NULL, "{\"data\":{\"id\":\"1\"},\"meta\":{}}", 0, 0, "data: expected an array, got object", 0, 0,
      NULL, 0, NULL, NA, NA, NA, NA, NA, NA, NA },
    { NULL, "{\"data\":[],\"meta\":{\"next_token\":\"a&b\"}}", 0, 0, "meta.next_token", 0, 0, NULL, 0,
      NULL, NA, NA, NA, NA, NA, NA, NA },
    { NULL, "{\"data\":[],\"meta\":{\"result_count\":\"3\"}}", 0, 0, "meta.result_count", 0, 0, NULL, 0,
      NULL, NA, NA, NA, NA, NA, NA, NA },
    { NULL, "{\"data\":[{\"id\":\"12a\"}]}", 0, 0, "data[0].id: not a decimal id", 0, 0, NULL, 0, NULL,
      NA, NA, NA, NA, NA, NA, NA },
    { NULL, "{}", 0, 0, "neither", 0, 0, NULL, 0, NULL, NA, NA, NA, NA, NA, NA, NA },
    { NULL, "{\"data\":[{\"id\":\"1\"}],\"meta\":{\"result_count\":1", 0, 0, "line 1, column", 0, 0,
      NULL, 0, NULL, NA, NA, NA, NA, NA, NA, NA },
    /* v1.1 timelines */
    { NULL,
      "[{\"created_at\":\"Sat Jul 13 02:28:15 +0000 2019\",\"id\":1149868110373171201,"
      "\"id_str\":\"1149868110373171201\",\"retweet_count\":7,\"favorite_count\":9},"
      "{\"created_at\":\"Mon Dec 10 22:03:43 +0000 2018\",\"id_str\":\"1072250532645998597\","
      "\"retweet_count\":0,\"favorite_count\":null,\"reply_count\":3,\"quote_count\":4}]",
      1, 1, NULL, 2, 0, "", 2, "1149868110373171201", 1562984895, 9, 7, NA, NA, NA, NA },
    { NULL, "[]", 1, 1, NULL, 0, 0, "", 0, NULL, NA, NA, NA, NA, NA, NA, NA },
    { NULL, "{\"errors\":[{\"code\":34,\"message\":\"Sorry, that page does not exist.\"}]}", 1, 0,
      "expected a JSON array, got object", 0, 0, NULL, 0, NULL, NA, NA, NA, NA, NA, NA, NA },
    { NULL, "[{\"id_str\":\"1\",\"created_at\":\"2019-07-13T02:28:15Z\"}]", 1, 0,
      "[0].created_at: missing or not a v1.1 time", 0, 0, NULL, 0, NULL, NA, NA, NA, NA, NA, NA, NA },
};

static void test_posts(void)
{
    for (size_t i = 0; i < sizeof post_cases / sizeof post_cases[0]; i++) {
        const post_case *c = &post_cases[i];
        size_t len = 0;
        char *body = c->file ? slurp(c->file, &len) : strdup(c->inline_body);
        if (!c->file)
            len = strlen(body);
        const char *ctx = c->file ? c->file : c->inline_body;
        char err[512] = "";
        tw_page pg;
        tw_page_init(&pg);
        int rc = c->v1 ? tw_parse_timeline_v1(body, len, "GET /1.1/t", &pg, err, sizeof err)
                       : tw_parse_posts_v2(body, len, "GET /2/t", &pg, err, sizeof err);
        CHECK((rc == 0) == (c->ok != 0), "%s: rc %d err %s", ctx, rc, err);
        if (!c->ok) {
            CHECK(strstr(err, c->err_has) != NULL, "%s: err [%s] lacks [%s]", ctx, err, c->err_has);
        } else {
            CHECK(pg.n == c->nposts, "%s: %zu posts, want %zu", ctx, pg.n, c->nposts);
            CHECK(pg.nerrors == c->nerrors, "%s: %zu errors", ctx, pg.nerrors);
            CHECK_STREQ(pg.next_token, c->next_token, ctx);
            CHECK(pg.result_count == c->result_count, "%s: result_count %ld want %ld", ctx,
                  pg.result_count, c->result_count);
            if (c->id && pg.n) {
                const tw_post *p = &pg.v[0];
                CHECK_STREQ(p->id, c->id, ctx);
                if (c->created_s == NA)
                    CHECK(p->created_ns == 0, "%s: no created_at", ctx);
                else
                    CHECK(p->created_ns == c->created_s * 1000000000LL, "%s: created %lld want %lld",
                          ctx, (long long)p->created_ns, c->created_s * 1000000000LL);
                check_metric(ctx, "likes", p->have, TW_P_LIKES, p->likes, c->likes);
                check_metric(ctx, "reposts", p->have, TW_P_REPOSTS, p->reposts, c->reposts);
                check_metric(ctx, "replies", p->have, TW_P_REPLIES, p->replies, c->replies);
                check_metric(ctx, "quotes", p->have, TW_P_QUOTES, p->quotes, c->quotes);
                check_metric(ctx, "impressions", p->have, TW_P_IMPRESSIONS, p->impressions, c->impressions);
                check_metric(ctx, "bookmarks", p->have, TW_P_BOOKMARKS, p->bookmarks, c->bookmarks);
            }
            if (pg.nerrors) {
                CHECK_STREQ(pg.errors[0].title, "Not Found Error", ctx);
                CHECK_STREQ(pg.errors[0].resource_id, "456", ctx);
            }
        }
        tw_page_free(&pg);
        free(body);
    }
    /* the second v1.1 post: null favorite_count is absent, reply/quote counts when given */
    const char *tl = NULL;
    for (size_t i = 0; i < sizeof post_cases / sizeof post_cases[0] && !tl; i++)
        if (post_cases[i].v1 && post_cases[i].inline_body &&
            strstr(post_cases[i].inline_body, "1149868110373171201"))
            tl = post_cases[i].inline_body;
    if (!tl) {
        CHECK(0, "the v1.1 timeline case");
        return;
    }
    tw_page pg;
    tw_page_init(&pg);
    char err[256];
    CHECK(tw_parse_timeline_v1(tl, strlen(tl), "t", &pg, err, sizeof err) == 0, "timeline");
    if (pg.n == 2) {
        CHECK(!(pg.v[1].have & TW_P_LIKES), "null favorite_count is no field");
        CHECK(pg.v[1].replies == 3 && pg.v[1].quotes == 4, "reply/quote counts");
        CHECK(pg.v[1].created_ns == 1544479423LL * 1000000000LL, "v1.1 time");
    }
    tw_page_free(&pg);
    tw_page_free(NULL);
    tw_users_free(NULL);
}

/* ---- error bodies -------------------------------------------------------------------------- */

typedef struct err_case {
    const char *file;
    const char *inline_body;
    int known;
    long code;
    const char *line;       /* the one-line summary, exactly */
} err_case;

static const err_case err_cases[] = {
    { "v2_error_403_client_forbidden_observed.json", NULL, 1, 0,
      "Client Forbidden: When authenticating requests to the Twitter API v2 endpoints, you must use "
      "keys and tokens from a Twitter developer App that is attached to a Project. You can create a "
      "project via the developer portal. (https://api.twitter.com/2/problems/client-forbidden)" },
    { "v2_error_429_too_many_requests_observed.json", NULL, 1, 0, "Too Many Requests" },
    { "v2_error_invalid_request_docs.json", NULL, 1, 0,
      "Invalid Request: The 'query' parameter is required. (https://api.x.com/2/problems/invalid-request)" },
    { "v1.1_style_error_429_rate_limit_docs.json", NULL, 1, 88, "code 88: Rate limit exceeded" },
    { NULL,
      "{\"errors\":[{\"message\":\"You currently have access to a subset of X API V2 endpoints and "
      "limited v1.1 endpoints (e.g. media post, oauth) only. If you need access to this endpoint, you "
      "may need a different access level.\",\"code\":453}]}",
      1, 453,
      "code 453: You currently have access to a subset of X API V2 endpoints and limited v1.1 endpoints "
      "(e.g. media post, oauth) only. If you need access to this endpoint, you may need a different "
      "access level." },
    { NULL, "{\"title\":\"Unauthorized\",\"type\":\"about:blank\",\"status\":401,\"detail\":\"Unauthorized\"}",
      1, 0, "Unauthorized" },
    { NULL, "{\"errors\":[{\"code\":32,\"message\":\"Could not authenticate you.\"}]}", 1, 32,
      "code 32: Could not authenticate you." },
    { NULL, "{\"error\":\"Not authorized.\",\"request\":\"/1.1/x.json\"}", 1, 0, "error: Not authorized." },
    { NULL, "<html><body>Bad gateway\n</body></html>", 0, 0, "<html><body>Bad gateway </body></html>" },
    { NULL, "", 0, 0, "" },
    { NULL, "{\"foo\":1}", 0, 0, "{\"foo\":1}" },
};

static void test_errors(void)
{
    for (size_t i = 0; i < sizeof err_cases / sizeof err_cases[0]; i++) {
        const err_case *c = &err_cases[i];
        size_t len = 0;
        char *body = c->file ? slurp(c->file, &len) : strdup(c->inline_body);
        if (!c->file)
            len = strlen(body);
        tw_problem p;
        char line[1024];
        int rc = tw_parse_error(body, len, &p, line, sizeof line);
        const char *ctx = c->file ? c->file : c->inline_body;
        CHECK((rc == 0) == (c->known != 0), "%s: rc %d", ctx, rc);
        CHECK(p.code == c->code, "%s: code %ld want %ld", ctx, p.code, c->code);
        CHECK_STREQ(line, c->line, ctx);
        CHECK(!strchr(line, '\n'), "%s: one line", ctx);
        free(body);
    }
    /* the assembled 429 descriptor: both bodies it quotes */
    size_t len;
    char *desc = slurp("rate_limit_429_example.json", &len);
    json_error_t je;
    json_t *d = desc ? json_loadb(desc, len, 0, &je) : NULL;
    CHECK(d != NULL, "429 descriptor parses");
    static const struct {
        const char *section, *line;
        long code;
    } raws[] = { { "v2_body_observed", "Too Many Requests", 0 },
                 { "v1_1_style_body_documented", "code 88: Rate limit exceeded", 88 } };
    for (size_t i = 0; d && i < 2; i++) {
        json_t *raw = json_object_get(json_object_get(d, raws[i].section), "raw");
        CHECK(json_is_string(raw), "%s.raw", raws[i].section);
        if (!json_is_string(raw))
            continue;
        tw_problem p;
        char line[256];
        CHECK(tw_parse_error(json_string_value(raw), json_string_length(raw), &p, line, sizeof line) == 0,
              "%s parses", raws[i].section);
        CHECK_STREQ(line, raws[i].line, raws[i].section);
        CHECK(p.code == raws[i].code, "%s code", raws[i].section);
    }
    json_decref(d);
    free(desc);
    /* a long body is cut, with a mark */
    char big[600];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    tw_problem p;
    char line[256];
    CHECK(tw_parse_error(big, strlen(big), &p, line, sizeof line) == -1, "long body");
    CHECK(strlen(line) == 163 && strcmp(line + 160, "...") == 0, "excerpt cut: %zu", strlen(line));
}

/* ---- small helpers ------------------------------------------------------------------------ */

static void test_helpers(void)
{
    static const struct {
        const char *s;
        int ok;
        long long t;
    } times[] = {
        { "Mon Dec 10 22:03:43 +0000 2018", 1, 1544479423 },
        { "Sat Jul 13 02:28:15 +0000 2019", 1, 1562984895 },
        { "Tue Feb 20 14:35:54 +0000 2007", 1, 1171982154 },
        { "Tue Feb 20 16:35:54 +0200 2007", 1, 1171982154 },
        { "Tue Feb 20 14:35:54 -0130 2007", 1, 1171987554 },
        { "Tue Foo 20 14:35:54 +0000 2007", 0, 0 },
        { "Tue Feb 20 14:35:54 +0000 2007 x", 0, 0 },
        { "2019-07-13T02:28:15Z", 0, 0 },
        { "", 0, 0 },
    };
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        int64_t ns = 0;
        int rc = tw_parse_v1_time(times[i].s, &ns);
        CHECK((rc == 0) == (times[i].ok != 0), "v1 time [%s] rc %d", times[i].s, rc);
        if (times[i].ok)
            CHECK(ns == times[i].t * 1000000000LL, "v1 time [%s] = %lld", times[i].s, (long long)ns);
    }
    static const struct {
        const char *a, *b;
        int sign;
    } cmps[] = {
        { "9", "10", -1 }, { "1577730467436138524", "1565318587736285184", 1 }, { "5", "5", 0 },
        { "1301573587187331074", "1301573587187331075", -1 },
    };
    for (size_t i = 0; i < sizeof cmps / sizeof cmps[0]; i++) {
        int c = tw_id_cmp(cmps[i].a, cmps[i].b);
        CHECK((c > 0) - (c < 0) == cmps[i].sign, "cmp %s %s", cmps[i].a, cmps[i].b);
    }
    static const struct {
        const char *in, *out;
    } prevs[] = {
        { "10", "9" }, { "1", "0" }, { "1149868110373171201", "1149868110373171200" },
        { "1000", "999" }, { "0", NULL }, { "", NULL }, { "12a", NULL }, { "012", NULL },
    };
    for (size_t i = 0; i < sizeof prevs / sizeof prevs[0]; i++) {
        char out[TW_ID_MAX];
        int rc = tw_id_prev(prevs[i].in, out, sizeof out);
        if (prevs[i].out) {
            CHECK(rc == 0, "prev %s", prevs[i].in);
            CHECK_STREQ(out, prevs[i].out, prevs[i].in);
        } else {
            CHECK(rc == -1, "prev %s refused", prevs[i].in);
        }
    }
    tw_problem p;
    memset(&p, 0, sizeof p);
    char line[128];
    snprintf(p.title, sizeof p.title, "%s", "Not Found Error");
    snprintf(p.detail, sizeof p.detail, "%s", "Could not find user");
    snprintf(p.type, sizeof p.type, "%s", "https://api.twitter.com/2/problems/resource-not-found");
    tw_problem_line(&p, line, sizeof line);
    CHECK_STREQ(line, "Not Found Error: Could not find user (https://api.twitter.com/2/problems/resource-not-found)",
                "problem line");
    tw_problem_line(&p, line, 10);
    CHECK(strlen(line) == 9, "problem line cut to fit");
}

/* ---- points ----------------------------------------------------------------------------------- */

static const lp_field *field(const lp_point *pt, const char *k)
{
    for (size_t i = 0; i < pt->nfields; i++)
        if (strcmp(pt->fields[i].key, k) == 0)
            return &pt->fields[i];
    return NULL;
}

static const char *tag(const lp_point *pt, const char *k)
{
    for (size_t i = 0; i < pt->ntags; i++)
        if (strcmp(pt->tags[i].key, k) == 0)
            return pt->tags[i].value;
    return NULL;
}

static void test_points(void)
{
    tw_user u;
    memset(&u, 0, sizeof u);
    snprintf(u.id, sizeof u.id, "%s", "783214");
    snprintf(u.username, sizeof u.username, "%s", "Twitter");
    u.followers = 59112688;
    u.following = 0;
    u.posts = 14045;
    u.listed = 87117;
    u.likes = 6363;
    u.have = TW_U_FOLLOWERS | TW_U_FOLLOWING | TW_U_POSTS | TW_U_LISTED | TW_U_LIKES;
    u.has_metrics = true;
    tw_pt pts[5];
    int64_t t = 1700000000000000000LL;

    size_t n = tw_user_points(&u, NULL, TW_SCHEMA_CRONFLUX, t, pts);
    CHECK(n == 1, "cronflux: one point");
    const lp_point *pt = &pts[0].pt;
    CHECK_STREQ(pt->measurement, "twitter_user", "measurement");
    CHECK_STREQ(tag(pt, "user"), "Twitter", "user tag");
    CHECK_STREQ(tag(pt, "user_id"), "783214", "user_id tag");
    CHECK(pt->has_time && pt->time_ns == t, "time");
    static const struct {
        const char *k;
        long long v;
    } want[] = { { "followers", 59112688 }, { "following", 0 }, { "posts", 14045 },
                 { "listed", 87117 }, { "likes", 6363 } };
    CHECK(pt->nfields == 5, "5 fields");
    for (size_t i = 0; i < 5; i++) {
        const lp_field *f = field(pt, want[i].k);
        CHECK(f && f->type == LP_INT && f->v.i == want[i].v, "field %s", want[i].k);
    }

    n = tw_user_points(&u, "twitter", TW_SCHEMA_TWITTERGRAPH, t, pts);
    CHECK(n == 5, "twittergraph: five points");
    static const struct {
        const char *m;
        long long v;
    } graph[] = { { "followers_count", 59112688 }, { "friends_count", 0 }, { "listed_count", 87117 },
                  { "favourites_count", 6363 }, { "statuses_count", 14045 } };
    for (size_t i = 0; i < 5 && i < n; i++) {
        int found = 0;
        for (size_t j = 0; j < n; j++) {
            if (strcmp(pts[j].pt.measurement, graph[i].m) != 0)
                continue;
            found = 1;
            CHECK(pts[j].pt.ntags == 1, "%s: one tag", graph[i].m);
            CHECK_STREQ(tag(&pts[j].pt, "user"), "twitter", graph[i].m);
            const lp_field *f = field(&pts[j].pt, "value");
            CHECK(pts[j].pt.nfields == 1 && f && f->type == LP_INT && f->v.i == graph[i].v,
                  "%s value", graph[i].m);
        }
        CHECK(found, "measurement %s", graph[i].m);
    }
    /* a counter the API did not give is not written (no zero invented) */
    u.have &= ~TW_U_LIKES;
    CHECK(tw_user_points(&u, NULL, TW_SCHEMA_TWITTERGRAPH, t, pts) == 4, "four without likes");
    CHECK(tw_user_points(&u, NULL, TW_SCHEMA_CRONFLUX, t, pts) == 1 && pts[0].pt.nfields == 4,
          "four fields without likes");
    CHECK(field(&pts[0].pt, "likes") == NULL, "no likes field");
    u.have = 0;
    CHECK(tw_user_points(&u, NULL, TW_SCHEMA_CRONFLUX, t, pts) == 0, "no counters, no point");

    tw_post p;
    memset(&p, 0, sizeof p);
    snprintf(p.id, sizeof p.id, "%s", "1301573587187331074");
    p.likes = 42;
    p.reposts = 5;
    p.replies = 2;
    p.quotes = 1;
    p.have = TW_P_LIKES | TW_P_REPOSTS | TW_P_REPLIES | TW_P_QUOTES;
    tw_pt pp;
    CHECK(tw_post_point(&p, "developer", t, &pp) == 1, "post point");
    CHECK_STREQ(pp.pt.measurement, "twitter_post", "post measurement");
    CHECK_STREQ(tag(&pp.pt, "post_id"), "1301573587187331074", "post_id");
    CHECK_STREQ(tag(&pp.pt, "user"), "developer", "post user");
    CHECK(pp.pt.nfields == 4 && field(&pp.pt, "likes")->v.i == 42 && field(&pp.pt, "quotes")->v.i == 1 &&
              !field(&pp.pt, "impressions") && !field(&pp.pt, "bookmarks"),
          "post fields where given");
    p.have = 0;
    CHECK(tw_post_point(&p, "developer", t, &pp) == 0, "post without metrics: no point");
}

/* media_count (2.167) becomes the twitter_user field media; not a twittergraph measurement */
static void test_media(void)
{
    size_t len = 0;
    char *body = slurp("v2_users_by_public_metrics_renamed_spec2167.json", &len);
    char err[512] = "";
    tw_users us;
    tw_users_init(&us);
    CHECK(body && tw_parse_users_v2(body, len, "GET /2/users/by", &us, err, sizeof err) == 0,
          "renamed users parse: %s", err);
    if (us.n == 2) {
        check_metric("XDevelopers", "media", us.v[0].have, TW_U_MEDIA, us.v[0].media, 1217);
        check_metric("X", "media", us.v[1].have, TW_U_MEDIA, us.v[1].media, NA);
        check_metric("X", "likes", us.v[1].have, TW_U_LIKES, us.v[1].likes, NA);
        check_metric("X", "posts", us.v[1].have, TW_U_POSTS, us.v[1].posts, 15112);
        tw_pt pts[5];
        CHECK(tw_user_points(&us.v[0], NULL, TW_SCHEMA_CRONFLUX, 1, pts) == 1, "one point");
        const lp_field *f = field(&pts[0].pt, "media");
        CHECK(pts[0].pt.nfields == 6 && f && f->type == LP_INT && f->v.i == 1217, "media=1217i");
        CHECK(tw_user_points(&us.v[0], "x", TW_SCHEMA_TWITTERGRAPH, 1, pts) == 5,
              "twittergraph: still the five measurements");
        CHECK(tw_user_points(&us.v[1], NULL, TW_SCHEMA_CRONFLUX, 1, pts) == 1 &&
                  pts[0].pt.nfields == 4 && !field(&pts[0].pt, "media") && !field(&pts[0].pt, "likes"),
              "X: no media, no likes (absent, not 0)");
    } else {
        CHECK(0, "renamed users: %zu users", us.n);
    }
    tw_users_free(&us);
    free(body);
}

/* ---- pay-per-use accounting ------------------------------------------------------------ */

static void test_bill(void)
{
    const tw_prices pr = { TW_PRICE_POST_READ, TW_PRICE_USER_READ, TW_PRICE_OWNED_READ };
    const int64_t day1 = 1796342400LL * 1000000000LL + 3600LL * 1000000000LL; /* 2026-12-04T01:00Z */
    tw_bill *b = tw_bill_new(&pr, day1);
    CHECK(b != NULL, "bill");
    if (!b)
        return;
    CHECK_STREQ(tw_bill_day(b), "2026-12-04", "the UTC day");
    /* a table of reads: endpoint, owned, kind, id, the cost expected */
    static const struct {
        const char *ep;
        bool owned;
        tw_res kind;
        const char *id;
        double cost;
    } reads[] = {
        { "/2/users/me", false, TW_RES_USER, "2244994945", 0.010 },
        { "/2/users/:id/tweets", true, TW_RES_POST, "1960000000000000002", 0.001 },
        { "/2/users/:id/tweets", true, TW_RES_POST, "1960000000000000001", 0.001 },
        { "/2/users/:id/tweets", false, TW_RES_POST, "1577730467436138524", 0.005 },
        { "/2/users/:id/tweets", false, TW_RES_POST, "1577730467436138524", 0 },  /* same day */
        { "/2/users/by", false, TW_RES_USER, "2244994945", 0 },                  /* read above */
        { "/2/users/by", false, TW_RES_USER, "783214", 0.010 },
        { "/2/users/by", false, TW_RES_USER, "not-an-id", 0.010 },   /* cannot be told apart */
        { "/2/users/by", false, TW_RES_USER, "not-an-id", 0.010 },
    };
    double total = 0;
    for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
        double c = tw_bill_resource(b, reads[i].ep, reads[i].owned, reads[i].kind, reads[i].id);
        CHECK(c > reads[i].cost - 1e-12 && c < reads[i].cost + 1e-12, "read %zu (%s %s): cost %g, want %g",
              i, reads[i].ep, reads[i].id, c, reads[i].cost);
        total += reads[i].cost;
    }
    CHECK(tw_bill_request(b, "/2/users/:id/tweets", true) == 0, "request");
    CHECK(tw_bill_spent_run(b) > total - 1e-9 && tw_bill_spent_run(b) < total + 1e-9, "run total %g",
          tw_bill_spent_run(b));
    const tw_bill_line *l;
    size_t n = tw_bill_lines(b, &l);
    CHECK(n == 4, "4 lines (endpoint x owned), got %zu", n);
    if (n == 4) {
        CHECK(strcmp(l[1].endpoint, "/2/users/:id/tweets") == 0 && l[1].owned && l[1].requests == 1 &&
                  l[1].resources == 2 && l[1].billable == 2, "owned line");
        CHECK(!l[2].owned && l[2].resources == 2 && l[2].billable == 1, "post line: 2 read, 1 billable");
        CHECK(l[3].resources == 4 && l[3].billable == 3, "users/by: 4 read, 3 billable");
        tw_pt pt;
        tw_usage_point(&l[1], 7, &pt);
        CHECK_STREQ(pt.pt.measurement, "twitter_usage", "usage measurement");
        CHECK_STREQ(tag(&pt.pt, "endpoint"), "/2/users/:id/tweets", "endpoint tag");
        CHECK_STREQ(tag(&pt.pt, "owned"), "true", "owned tag");
        const lp_field *f = field(&pt.pt, "cost_usd");
        CHECK(f && f->type == LP_FLOAT && f->v.f > 0.002 - 1e-12 && f->v.f < 0.002 + 1e-12, "cost_usd");
        f = field(&pt.pt, "billable");
        CHECK(f && f->type == LP_INT && f->v.i == 2, "billable");
    }
    /* the state: the next run of the same day prices nothing read again; another day does */
    buf posts, users, spend;
    buf_init(&posts, 1 << 20);
    buf_init(&users, 1 << 20);
    buf_init(&spend, 1024);
    CHECK(tw_bill_save_seen(b, TW_RES_POST, &posts) == 0 && tw_bill_save_seen(b, TW_RES_USER, &users) == 0 &&
              tw_bill_save_spend(b, &spend) == 0, "save");
    CHECK(posts.p && strncmp(posts.p, "2026-12-04 ", 11) == 0 && strstr(posts.p, "1960000000000000001"),
          "posts state: %s", posts.p ? posts.p : "(null)");
    CHECK(spend.p && strcmp(spend.p, "2026-12-04 0.047000") == 0, "spend state: %s", spend.p ? spend.p : "");
    for (int d = 0; d < 2; d++) {
        tw_bill *b2 = tw_bill_new(&pr, day1 + (d ? 86400LL : 3600LL) * 1000000000LL);
        CHECK(b2 && tw_bill_load_seen(b2, TW_RES_POST, posts.p) == 0 &&
                  tw_bill_load_seen(b2, TW_RES_USER, users.p) == 0 && tw_bill_load_spend(b2, spend.p) == 0,
              "load");
        if (!b2)
            continue;
        double c1 = tw_bill_resource(b2, "/2/users/:id/tweets", false, TW_RES_POST, "1960000000000000002");
        double c2 = tw_bill_resource(b2, "/2/users/by", false, TW_RES_USER, "783214");
        double c3 = tw_bill_resource(b2, "/2/users/:id/tweets", false, TW_RES_POST, "42");
        CHECK(c1 == (d ? 0.005 : 0) && c2 == (d ? 0.010 : 0) && c3 == 0.005,
              "day %d: costs %g %g %g", d, c1, c2, c3);
        double today = tw_bill_spent_today(b2);
        CHECK(d ? today < 0.0201 && today > 0.0199 : today < 0.0521 && today > 0.0519,
              "day %d: spent today %g", d, today);
        tw_bill_free(b2);
    }
    /* states that do not parse count as nothing read */
    static const char *const junk[] = { "", "2026-12-04", "2026-12-04x1,2", "garbage", "2026-12-04 ,,a,1x," };
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        tw_bill *b3 = tw_bill_new(&pr, day1);
        CHECK(b3 && tw_bill_load_seen(b3, TW_RES_POST, junk[i]) == 0 && tw_bill_load_spend(b3, junk[i]) == 0,
              "junk state %zu loads", i);
        if (b3) {
            CHECK(tw_bill_spent_today(b3) == 0, "junk %zu: no spend", i);
            CHECK(!tw_bill_seen(b3, TW_RES_POST, "1"), "junk %zu: nothing seen", i);
            tw_bill_free(b3);
        }
    }
    /* thousands of ids: the set grows and the state round-trips */
    tw_bill *big = tw_bill_new(&pr, day1);
    char id[32];
    for (int i = 1; big && i <= 5000; i++) {
        snprintf(id, sizeof id, "%d", 1000000 + i * 7);
        tw_bill_resource(big, "/2/users/:id/tweets", false, TW_RES_POST, id);
    }
    buf st;
    buf_init(&st, 1 << 22);
    CHECK(big && tw_bill_save_seen(big, TW_RES_POST, &st) == 0, "big save");
    tw_bill *big2 = tw_bill_new(&pr, day1);
    CHECK(big2 && tw_bill_load_seen(big2, TW_RES_POST, st.p) == 0, "big load");
    int seen = 0;
    for (int i = 1; big2 && i <= 5000; i++) {
        snprintf(id, sizeof id, "%d", 1000000 + i * 7);
        seen += tw_bill_seen(big2, TW_RES_POST, id);
    }
    CHECK(seen == 5000, "5000 ids round-trip, %d", seen);
    CHECK(big2 && !tw_bill_seen(big2, TW_RES_POST, "1000001"), "an id never read is not seen");
    buf_free(&st);
    tw_bill_free(big);
    tw_bill_free(big2);
    buf_free(&posts);
    buf_free(&users);
    buf_free(&spend);
    tw_bill_free(b);
    tw_bill_free(NULL);
}

static void test_usage_cap(void)
{
    static const struct {
        const char *body;
        int capped;
    } cases[] = {
        { NULL, 1 },   /* the observed body (file) */
        { "{\"title\":\"Too Many Requests\",\"type\":\"about:blank\",\"status\":429,\"detail\":\"Too Many Requests\"}", 0 },
        { "{\"errors\":[{\"code\":88,\"message\":\"Rate limit exceeded\"}]}", 0 },
        { "{\"title\":\"Usage capped\",\"type\":\"https://api.x.com/2/problems/usage-capped\"}", 1 },
        { "{\"title\":\"UsageCapExceeded\"}", 1 },
        { "{\"type\":\"https://api.x.com/2/problems/usage-capped-not\"}", 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = 0;
        char *body = cases[i].body ? strdup(cases[i].body)
                                   : slurp("v2_error_429_usage_cap_exceeded_observed.json", &len);
        if (cases[i].body)
            len = strlen(body);
        tw_problem p;
        char msg[256];
        tw_parse_error(body, len, &p, msg, sizeof msg);
        CHECK(tw_problem_usage_capped(&p) == (cases[i].capped != 0), "usage cap case %zu: %s", i, msg);
        if (!cases[i].body) {
            CHECK_STREQ(p.period, "Monthly", "period");
            CHECK_STREQ(p.scope, "Product", "scope");
        }
        free(body);
    }
}

/* GET /2/usage/tweets in the shapes on record (strings, integers, the prose example) */
static void test_usage(void)
{
    static const struct {
        const char *file, *body;
        int ok;
        long long usage, cap, reset;   /* NA: absent */
        const char *project;
    } cases[] = {
        { "v2_usage_tweets_all_fields_built_from_spec2167.json", NULL, 1, 43435, 3000000, 19, "1369785403853424" },
        { "v2_usage_tweets_docs_2024.json", NULL, 1, 43435, 5000000000LL, 10, "1369785403853424" },
        { "v2_usage_tweets_docs_prose_2026_disagrees_with_spec.json", NULL, 1, NA, 10000000, NA, "1234567890" },
        { NULL, "{\"data\":{\"project_usage\":12,\"project_cap\":\"40\",\"project_id\":77}}", 1, 12, 40, NA, "77" },
        { NULL, "{\"data\":{\"project_cap\":\"3e6\"}}", 0, NA, NA, NA, NULL },
        { NULL, "{\"data\":{\"project_usage\":-1}}", 0, NA, NA, NA, NULL },
        { NULL, "{\"data\":[]}", 0, NA, NA, NA, NULL },
        { NULL, "{\"errors\":[{\"title\":\"x\"}]}", 0, NA, NA, NA, NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = 0;
        char *body = cases[i].file ? slurp(cases[i].file, &len) : strdup(cases[i].body);
        if (!cases[i].file)
            len = strlen(body);
        tw_usage u;
        char err[256] = "";
        int rc = tw_parse_usage(body, len, "GET /2/usage/tweets", &u, err, sizeof err);
        CHECK((rc == 0) == (cases[i].ok != 0), "usage case %zu: rc %d %s", i, rc, err);
        if (rc == 0) {
            CHECK(u.has_usage == (cases[i].usage != NA) && (!u.has_usage || u.usage == cases[i].usage),
                  "usage case %zu: usage", i);
            CHECK(u.has_cap == (cases[i].cap != NA) && (!u.has_cap || u.cap == cases[i].cap), "usage case %zu: cap", i);
            CHECK(u.has_reset_day == (cases[i].reset != NA) && (!u.has_reset_day || u.cap_reset_day == cases[i].reset),
                  "usage case %zu: cap_reset_day", i);
            CHECK_STREQ(u.project_id, cases[i].project, "project_id");
            tw_pt pt;
            CHECK(tw_project_usage_point(&u, 5, &pt) == 1 &&
                      strcmp(pt.pt.measurement, "twitter_project_usage") == 0 &&
                      pt.pt.nfields == (size_t)(u.has_usage + u.has_cap + u.has_reset_day),
                  "usage case %zu: the point", i);
        } else {
            CHECK(strncmp(err, "GET /2/usage/tweets: ", 21) == 0, "usage case %zu: err names the request: %s", i, err);
        }
        free(body);
    }
}

/* GET /2/tweets/analytics: the built answers (daily; nulls and a partial error) and shapes */
static int an_index(const char *field)
{
    for (int i = 0; i < TW_AN_METRICS; i++)
        if (strcmp(tw_an_fields[i], field) == 0)
            return i;
    return -1;
}

static void test_analytics(void)
{
    static const struct {
        const char *file, *body;
        int ok;
        size_t n, nerrors;
        long skipped;
        const char *err_has;
    } cases[] = {
        { "v2_tweets_analytics_daily_built_from_spec2167.json", NULL, 1, 6, 0, 0, NULL },
        { "v2_tweets_analytics_nullable_partial_error_built_from_spec2167.json", NULL, 1, 1, 1, 2, NULL },
        /* 2.167: flat metrics with the item's own timestamp */
        { NULL, "{\"data\":[{\"id\":\"5\",\"timestamp\":\"2026-08-01T00:00:00Z\",\"likes\":3,\"retweets\":1}]}", 1, 1, 0, 0, NULL },
        { NULL, "{\"data\":[]}", 1, 0, 0, 0, NULL },
        { NULL, "{\"errors\":[{\"title\":\"Not Found Error\",\"detail\":\"x\"}]}", 1, 0, 1, 0, NULL },
        { NULL, "{\"data\":[{\"id\":\"5\",\"timestamped_metrics\":[{\"timestamp\":\"yesterday\",\"metrics\":{}}]}]}", 0, 0, 0, 0,
          "data[0].timestamped_metrics.timestamp: not an RFC 3339 time" },
        { NULL, "{\"data\":[{\"id\":\"5\",\"timestamped_metrics\":[{\"timestamp\":\"2026-08-01T00:00:00Z\",\"metrics\":{\"likes\":\"3\"}}]}]}", 0, 0, 0, 0,
          "likes: expected a non-negative integer, got string" },
        { NULL, "{\"data\":[{\"id\":\"5\",\"timestamped_metrics\":{}}]}", 0, 0, 0, 0, "expected an array, got object" },
        { NULL, "{\"data\":{}}", 0, 0, 0, 0, "data: expected an array" },
        { NULL, "{}", 0, 0, 0, 0, "missing \"data\"" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = 0;
        char *body = cases[i].file ? slurp(cases[i].file, &len) : strdup(cases[i].body);
        if (!cases[i].file)
            len = strlen(body);
        tw_an_page pg;
        tw_an_page_init(&pg);
        char err[256] = "";
        int rc = tw_parse_analytics(body, len, "GET /2/tweets/analytics", &pg, err, sizeof err);
        CHECK((rc == 0) == (cases[i].ok != 0), "analytics case %zu: rc %d %s", i, rc, err);
        if (rc == 0) {
            CHECK(pg.n == cases[i].n && pg.nerrors == cases[i].nerrors && pg.skipped == cases[i].skipped,
                  "analytics case %zu: %zu buckets %zu errors %ld skipped", i, pg.n, pg.nerrors, pg.skipped);
        } else {
            CHECK(strstr(err, cases[i].err_has) != NULL, "analytics case %zu: err [%s] lacks [%s]", i, err,
                  cases[i].err_has);
        }
        if (i == 0 && pg.n == 6) {
            const tw_an_bucket *b = &pg.v[0];
            CHECK_STREQ(b->post_id, "1346889436626259968", "bucket post");
            CHECK(b->t_ns == 1785542400LL * 1000000000LL, "bucket start 2026-08-01");
            tw_an_pt pt;
            CHECK(tw_analytics_point(b, "XDevelopers", "daily", &pt) == 1, "analytics point");
            CHECK_STREQ(pt.pt.measurement, "twitter_post_analytics", "measurement");
            CHECK_STREQ(tag(&pt.pt, "granularity"), "daily", "granularity tag");
            CHECK_STREQ(tag(&pt.pt, "post_id"), "1346889436626259968", "post_id tag");
            CHECK(pt.pt.time_ns == b->t_ns && pt.pt.nfields == 8, "time and 8 fields");
            static const struct { const char *f; long long v; } want[] = {
                { "impressions", 1532 }, { "engagements", 76 }, { "likes", 41 }, { "reposts", 7 },
                { "replies", 5 }, { "quotes", 2 }, { "url_clicks", 12 }, { "user_profile_clicks", 9 } };
            for (size_t k = 0; k < 8; k++) {
                const lp_field *f = field(&pt.pt, want[k].f);
                CHECK(f && f->type == LP_INT && f->v.i == want[k].v, "field %s", want[k].f);
            }
            CHECK(!field(&pt.pt, "retweets") && !field(&pt.pt, "quote_tweets"), "API names renamed");
            CHECK(pg.v[5].t_ns == 1785715200LL * 1000000000LL, "last bucket 2026-08-03");
        }
        if (i == 1 && pg.n == 1) {
            int ir = an_index("reposts"), il = an_index("likes");
            CHECK(ir >= 0 && il >= 0 && !(pg.v[0].have & (1u << ir)) && (pg.v[0].have & (1u << il)) &&
                      pg.v[0].v[il] == 41, "a null metric is absent, not 0");
            CHECK_STREQ(pg.errors[0].resource_id, "1999999999999999999", "partial error kept");
        }
        tw_an_page_free(&pg);
        free(body);
    }
    tw_an_page_free(NULL);
}

int main(void)
{
    test_analytics();
    test_usage();
    test_bill();
    test_usage_cap();
    test_media();
    test_users();
    test_posts();
    test_errors();
    test_helpers();
    test_points();
    return th_summary("test_twitter");
}
