/* fuzz target: the X answers (jobs/twitter/tw.h): every parser over the same body (users,
 * posts, v1.1 user and timeline, error bodies), and the v1.1 time and id helpers. */
#include "fuzz.h"

#include "../jobs/twitter/tw.h"

static void check_problems(const tw_problem *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(memchr(p[i].title, '\0', sizeof p[i].title) &&
                   memchr(p[i].detail, '\0', sizeof p[i].detail) &&
                   memchr(p[i].value, '\0', sizeof p[i].value),
                   "problem %zu not terminated", i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *b = (const char *)data;
    char err[TW_MSG_MAX];

    tw_users u;
    tw_users_init(&u);
    err[0] = '\0';
    if (tw_parse_users_v2(b, size, "GET /2/users/by", &u, err, sizeof err) != 0)
        fuzz_check_err(err, sizeof err, "tw_parse_users_v2");
    for (size_t i = 0; i < u.n; i++)
        FUZZ_CHECK(memchr(u.v[i].id, '\0', TW_ID_MAX) && memchr(u.v[i].username, '\0',
                   TW_NAME_MAX), "user %zu not terminated", i);
    check_problems(u.errors, u.nerrors);
    tw_users_free(&u);

    tw_page pg;
    tw_page_init(&pg);
    err[0] = '\0';
    if (tw_parse_posts_v2(b, size, "GET /2/users/1/tweets", &pg, err, sizeof err) != 0)
        fuzz_check_err(err, sizeof err, "tw_parse_posts_v2");
    FUZZ_CHECK(memchr(pg.next_token, '\0', sizeof pg.next_token), "next_token not terminated");
    check_problems(pg.errors, pg.nerrors);
    tw_page_free(&pg);

    tw_user one;
    memset(&one, 0, sizeof one);
    err[0] = '\0';
    if (tw_parse_user_v1(b, size, "GET /1.1/users/show.json", &one, err, sizeof err) != 0)
        fuzz_check_err(err, sizeof err, "tw_parse_user_v1");

    tw_page_init(&pg);
    err[0] = '\0';
    if (tw_parse_timeline_v1(b, size, "GET /1.1/statuses/user_timeline.json", &pg, err,
                             sizeof err) != 0)
        fuzz_check_err(err, sizeof err, "tw_parse_timeline_v1");
    tw_page_free(&pg);

    tw_problem first;
    char msg[TW_MSG_MAX];
    memset(&first, 0, sizeof first);
    (void)tw_parse_error(b, size, &first, msg, sizeof msg);
    FUZZ_CHECK(memchr(msg, '\0', sizeof msg) && !strchr(msg, '\n'), "error summary: [%s]", msg);
    char line[TW_MSG_MAX];
    tw_problem_line(&first, line, sizeof line);
    FUZZ_CHECK(memchr(line, '\0', sizeof line) != NULL, "problem line not terminated");

    char *s = fuzz_cstr(data, size);
    int64_t ns;
    (void)tw_parse_v1_time(s, &ns);
    char prev[TW_ID_MAX];
    if (tw_id_prev(s, prev, sizeof prev) == 0)
        FUZZ_CHECK(tw_id_cmp(prev, s) < 0, "id %s - 1 = %s is not smaller", s, prev);
    free(s);
    return 0;
}
