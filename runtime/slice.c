#include "slice.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static int64_t align_down(int64_t t, int64_t a)
{
    if (a <= 0)
        return t;
    int64_t r = t % a;
    if (r < 0)
        r += a;
    return t - r;
}

int slice_range(int64_t from, int64_t to, long index, long count, int64_t align_ns,
                int64_t *out_from, int64_t *out_to)
{
    if (count < 1 || index < 0 || index >= count || to < from)
        return -1;
    /* the span divided without overflow: (to - from) fits because both are times */
    int64_t span = to - from;
    int64_t part = span / count;
    int64_t f = index == 0 ? from : align_down(from + part * index, align_ns);
    int64_t t = index == count - 1 ? to : align_down(from + part * (index + 1), align_ns);
    if (f < from)
        f = from;
    if (t < f)
        t = f;
    *out_from = f;
    *out_to = t;
    return 0;
}

static int env_long(const char *name, long *out, char *err, size_t errlen)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return 0;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || *end || n < 0) {
        snprintf(err, errlen, "%s=\"%.32s\": not a whole number", name, v);
        return -1;
    }
    *out = n;
    return 1;
}

int slice_from_env(int64_t *from, int64_t *to, int64_t align_ns, char *err, size_t errlen)
{
    long index = 0, count = 0;
    int hi = env_long("JOB_COMPLETION_INDEX", &index, err, errlen);
    if (hi < 0)
        return -1;
    int hc = env_long("CRONFLUX_SLICES", &count, err, errlen);
    if (hc < 0)
        return -1;
    if (hc == 0 || count <= 1)
        return 0;
    if (hi == 0) {
        snprintf(err, errlen, "CRONFLUX_SLICES=%ld but JOB_COMPLETION_INDEX is not set "
                 "(run it as an Indexed Job)", count);
        return -1;
    }
    if (slice_range(*from, *to, index, count, align_ns, from, to) != 0) {
        snprintf(err, errlen, "JOB_COMPLETION_INDEX=%ld is out of range for CRONFLUX_SLICES=%ld",
                 index, count);
        return -1;
    }
    return 1;
}
