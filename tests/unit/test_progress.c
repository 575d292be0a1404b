/* test_progress: runtime/progress (a backfill's progress line, and when it is due) and
 * tparse_is_relative (which times move with the clock). Tables of cases. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/progress.h"
#include "../../runtime/tparse.h"
#include "harness.h"

#define S INT64_C(1000000000)

static void test_format(void)
{
    static const struct {
        int64_t el_ns;      /* since start */
        const char *what;
        double frac;
        int64_t count;
        const char *unit, *want;
    } cases[] = {
        { 10 * S, "chunk 3/~12", 0.25, 1000, "points", "chunk 3/~12 (25%), 1000 points, 100 points/s, ETA 30s" },
        { 10 * S, NULL, 0.5, 50, "posts", "50%, 50 posts, 5 posts/s, ETA 10s" },
        { 60 * S, "account 1/3 x", -1, 7, "posts", "account 1/3 x, 7 posts, 0 posts/s, ETA ?" },
        { 5 * S, NULL, -1, 0, NULL, "0 items, 0 items/s, ETA ?" },
        { 2 * S, "done", 1.0, 4, "points", "done (100%), 4 points, 2 points/s, ETA 0s" },
        { 2 * S, "over", 1.7, 4, "points", "over (100%), 4 points, 2 points/s, ETA 0s" },
        { 100 * S, "slow", 0.01, 1, "points", "slow (1%), 1 points, 0 points/s, ETA 2h45m" },
        { 0, "at once", 0.0, 0, "points", "at once (0%), 0 points, 0 points/s, ETA ?" },
        { 30 * S, "mid", 0.4, 120, "points", "mid (40%), 120 points, 4 points/s, ETA 45s" },
        { 90 * S, "min", 0.5, 9, "posts", "min (50%), 9 posts, 0 posts/s, ETA 1m30s" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        progress p;
        progress_start(&p, false, 5 * S, 1000);
        char out[256];
        progress_format(&p, 1000 + cases[i].el_ns, cases[i].what, cases[i].frac, cases[i].count,
                        cases[i].unit, out, sizeof out);
        CHECK_STREQ(out, cases[i].want, "progress_format");
    }
    /* a short buffer: cut, NUL-terminated */
    progress p;
    progress_start(&p, false, 5 * S, 0);
    char small[12];
    progress_format(&p, 10 * S, "a long description", 0.5, 1, "points", small, sizeof small);
    CHECK(strlen(small) == sizeof small - 1, "cut to the buffer: [%s]", small);
}

static void test_due(void)
{
    /* not a terminal: every 5 s; the first line 5 s after the start; a final one always */
    progress p;
    progress_start(&p, false, 5 * S, 0);
    CHECK(!progress_due(&p, 1 * S, false), "not yet after 1 s");
    CHECK(progress_due(&p, 5 * S, false), "due after 5 s");
    CHECK(!progress_due(&p, 9 * S, false), "not again 4 s later");
    CHECK(progress_due(&p, 10 * S, false), "again 5 s later");
    CHECK(progress_due(&p, 10 * S + 1, true), "a final one at once");
    /* a terminal: ten a second, whatever the interval asked */
    progress_start(&p, true, 5 * S, 0);
    CHECK(!progress_due(&p, S / 20, false) && progress_due(&p, S / 10, false), "tty: 100 ms");
    /* 0: no line, not even a final one */
    progress_start(&p, false, 0, 0);
    CHECK(!progress_due(&p, 100 * S, false) && !progress_due(&p, 100 * S, true), "0: none");
}

static void test_env(void)
{
    static const struct { const char *v; int rc; int64_t want; } cases[] = {
        { NULL, 0, 5 * S }, { "", 0, 5 * S }, { "7", 0, 7 * S }, { "0", 0, 0 },
        { "500ms", 0, S / 2 }, { "1m", 0, 60 * S }, { "1h", 0, 3600 * S },
        { "2h", -1, 0 }, { "-1", -1, 0 }, { "x", -1, 0 }, { "5 s", -1, 0 }, { "99999", -1, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cases[i].v)
            setenv("CRONFLUX_PROGRESS", cases[i].v, 1);
        else
            unsetenv("CRONFLUX_PROGRESS");
        int64_t every = -7;
        char err[256] = "";
        int rc = progress_every_from_env(&every, err, sizeof err);
        CHECK(rc == cases[i].rc, "CRONFLUX_PROGRESS=%s: rc %d", cases[i].v ? cases[i].v : "(unset)", rc);
        if (rc == 0)
            CHECK(every == cases[i].want, "CRONFLUX_PROGRESS=%s: %lld", cases[i].v ? cases[i].v : "(unset)",
                  (long long)every);
        else
            CHECK(strstr(err, "CRONFLUX_PROGRESS") != NULL, "the error names the variable: %s", err);
    }
    unsetenv("CRONFLUX_PROGRESS");
}

static void test_relative(void)
{
    static const struct { const char *t; int want; } cases[] = {
        { "now", 1 }, { "-7d", 1 }, { "-36h", 1 }, { "+1h", 1 }, { " -1h", 1 },
        { "2026-11-01T00:00:00Z", 0 }, { "1700000000", 0 }, { NULL, 0 }, { "", 0 },
        { "nowhere", 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK(tparse_is_relative(cases[i].t) == cases[i].want, "tparse_is_relative(%s)",
              cases[i].t ? cases[i].t : "NULL");
}

int main(void)
{
    test_format();
    test_due();
    test_env();
    test_relative();
    return th_summary("test_progress");
}
