/* slice: the slices of a range cover it exactly once, in order, aligned. */
#include <stdint.h>
#include <stdlib.h>

#include "../../runtime/slice.h"
#include "harness.h"

static void check_cover(int64_t from, int64_t to, long count, int64_t align)
{
    int64_t prev = from;
    for (long i = 0; i < count; i++) {
        int64_t f, t;
        CHECK(slice_range(from, to, i, count, align, &f, &t) == 0, "slice %ld/%ld", i, count);
        CHECK(f == prev, "slice %ld/%ld starts where the previous ended (%lld != %lld)", i, count,
              (long long)f, (long long)prev);
        CHECK(t >= f, "slice %ld/%ld not reversed", i, count);
        if (align > 0 && i > 0)
            CHECK(f % align == 0, "slice %ld/%ld start aligned to %lld", i, count, (long long)align);
        prev = t;
    }
    CHECK(prev == to, "slices of [%lld,%lld) by %ld end at to", (long long)from, (long long)to, count);
}

int main(void)
{
    static const struct { int64_t from, to; long count; int64_t align; } cases[] = {
        { 0, 100, 1, 0 },
        { 0, 100, 3, 0 },
        { 0, 100, 7, 10 },
        { INT64_C(1700000000000000000), INT64_C(1702592000000000000), 6, INT64_C(60000000000) },
        { 5, 5, 4, 0 },
        { -1000, 1000, 5, 7 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_cover(cases[i].from, cases[i].to, cases[i].count, cases[i].align);

    int64_t f, t;
    CHECK(slice_range(0, 10, 3, 3, 0, &f, &t) == -1, "index == count refused");
    CHECK(slice_range(0, 10, -1, 3, 0, &f, &t) == -1, "negative index refused");
    CHECK(slice_range(10, 0, 0, 3, 0, &f, &t) == -1, "reversed range refused");

    char err[256];
    int64_t from = 0, to = 600;
    unsetenv("JOB_COMPLETION_INDEX");
    unsetenv("CRONFLUX_SLICES");
    CHECK(slice_from_env(&from, &to, 0, err, sizeof err) == 0 && from == 0 && to == 600, "no env: whole range");
    setenv("CRONFLUX_SLICES", "3", 1);
    setenv("JOB_COMPLETION_INDEX", "1", 1);
    CHECK(slice_from_env(&from, &to, 0, err, sizeof err) == 1 && from == 200 && to == 400,
          "index 1 of 3: [200,400) got [%lld,%lld)", (long long)from, (long long)to);
    from = 0, to = 600;
    setenv("JOB_COMPLETION_INDEX", "3", 1);
    CHECK(slice_from_env(&from, &to, 0, err, sizeof err) == -1 && strstr(err, "out of range"), "index 3 of 3 refused: %s", err);
    setenv("JOB_COMPLETION_INDEX", "x1", 1);
    CHECK(slice_from_env(&from, &to, 0, err, sizeof err) == -1 && strstr(err, "JOB_COMPLETION_INDEX"), "bad index named: %s", err);
    unsetenv("JOB_COMPLETION_INDEX");
    CHECK(slice_from_env(&from, &to, 0, err, sizeof err) == -1 && strstr(err, "Indexed Job"), "slices without index: %s", err);
    unsetenv("CRONFLUX_SLICES");
    return th_summary("slice");
}
