/* A tiny test harness: CHECK records a failure and goes on; the summary line is the
 * plain "N passed, N failed" that CI reads. Each test file has one main() that runs its
 * tables of cases and returns th_summary(name). */
#ifndef CF_HARNESS_H
#define CF_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int th_pass, th_fail;

#define CHECK(cond, ...)                                                  \
    do {                                                                  \
        if (cond) {                                                       \
            th_pass++;                                                    \
        } else {                                                          \
            th_fail++;                                                    \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                 \
            fputc('\n', stderr);                                          \
        }                                                                 \
    } while (0)

#define CHECK_STREQ(got, want, ctx)                                        \
    do {                                                                   \
        const char *g_ = (got), *w_ = (want);                              \
        CHECK(g_ && w_ && strcmp(g_, w_) == 0, "%s: got [%s] want [%s]",   \
              (ctx), g_ ? g_ : "(null)", w_ ? w_ : "(null)");              \
    } while (0)

static inline int th_summary(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, th_pass, th_fail);
    return th_fail ? 1 : 0;
}

/* The fixtures folder: $CRONFLUX_FIXTURES or tests/fixtures from the project root. */
static inline const char *th_fixtures(void)
{
    const char *d = getenv("CRONFLUX_FIXTURES");
    return d && *d ? d : "tests/fixtures";
}

#endif
