/* fuzz target: times and durations (runtime/tparse.h). Every accepted time formats as
 * RFC 3339 and reads back as the same second. */
#include "fuzz.h"

#include "../runtime/tparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    const int64_t now = INT64_C(1795562831500000000);
    char err[256];
    int64_t t = 0, d = 0;
    err[0] = '\0';
    if (tparse_time(s, now, &t, err, sizeof err) == 0) {
        char text[64];
        tparse_format(t, text, sizeof text);
        FUZZ_CHECK(memchr(text, '\0', sizeof text) != NULL, "tparse_format overran");
        int64_t back = 0;
        int64_t sec = t / TPARSE_NS_PER_S - (t % TPARSE_NS_PER_S < 0);
        if (tparse_time(text, now, &back, err, sizeof err) == 0)
            FUZZ_CHECK(back == sec * TPARSE_NS_PER_S, "[%s] -> %" PRId64 " -> [%s] -> %" PRId64,
                       s, t, text, back);
    } else {
        fuzz_check_err(err, sizeof err, "tparse_time");
    }
    err[0] = '\0';
    if (tparse_duration(s, &d, err, sizeof err) == 0)
        FUZZ_CHECK(d > 0, "duration [%s] = %" PRId64 " is not positive", s, d);
    else
        fuzz_check_err(err, sizeof err, "tparse_duration");
    (void)tparse_align(t, d);
    free(s);
    return 0;
}
