/* prom_plan: backfill ranges, chunks and checkpoints (see prom.h). */
#include "prom.h"
#include "../../runtime/errf.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_MS INT64_C(1000000)

int prom_range_plan(int64_t from_ns, int64_t to_ns, int64_t step_ns, prom_range *r,
                    char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    if (step_ns <= 0 || step_ns % NS_PER_MS != 0) {
        errf_set(err, errlen, "step must be a positive whole number of milliseconds");
        return -1;
    }
    if (from_ns < 0 || to_ns < 0) {
        errf_set(err, errlen, "times before 1970 are not supported");
        return -1;
    }
    if (from_ns > to_ns) {
        errf_set(err, errlen, "--from is after --to");
        return -1;
    }
    int64_t first = from_ns / step_ns * step_ns;
    if (first < from_ns) {
        if (first > INT64_MAX - step_ns) {
            errf_set(err, errlen, "range out of bounds");
            return -1;
        }
        first += step_ns;
    }
    int64_t last = to_ns / step_ns * step_ns;
    if (first > last) {
        errf_set(err, errlen, "no multiple of the step falls between --from and --to");
        return -1;
    }
    r->first_ns = first;
    r->last_ns = last;
    r->step_ns = step_ns;
    r->npoints = (last - first) / step_ns + 1;
    return 0;
}

static int on_grid(const prom_range *r, int64_t t)
{
    return r->step_ns > 0 && t >= r->first_ns && t <= r->last_ns &&
           (t - r->first_ns) % r->step_ns == 0;
}

int64_t prom_points_left(const prom_range *r, int64_t start_ns)
{
    if (!on_grid(r, start_ns))
        return 0;
    return (r->last_ns - start_ns) / r->step_ns + 1;
}

int64_t prom_chunk(const prom_range *r, int64_t start_ns, int64_t maxpts, int64_t *end_ns)
{
    int64_t left = prom_points_left(r, start_ns);
    if (left <= 0)
        return 0;
    if (maxpts < 1)
        maxpts = 1;
    int64_t n = left < maxpts ? left : maxpts;
    *end_ns = start_ns + (n - 1) * r->step_ns;
    return n;
}

int64_t prom_chunk_next(int64_t cur, int64_t maxpts, size_t target_bytes, size_t body_len,
                        int64_t samples, int64_t points)
{
    int64_t n;
    if (maxpts < 1)
        maxpts = 1;
    if (cur < 1)
        cur = 1;
    if (samples <= 0 || points <= 0 || body_len == 0) {
        n = cur > maxpts / 4 ? maxpts : cur * 4;
    } else {
        /* bytes one grid time costs across all series of this query */
        double per_point = (double)body_len / (double)points;
        double want = (double)target_bytes / per_point;
        n = want >= (double)maxpts ? maxpts : (int64_t)want;
    }
    if (n < 1)
        n = 1;
    if (n > maxpts)
        n = maxpts;
    return n;
}

static uint64_t fnv1a64(const char *s)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

char *prom_checkpoint_key(const prom_query *q, const prom_range *r, char *out, size_t cap)
{
    int n = snprintf(out, cap, "q=%s first=%" PRId64 " last=%" PRId64 " step=%" PRId64
                     " expr=%016" PRIx64,
                     q->name, r->first_ns, r->last_ns, r->step_ns, fnv1a64(q->expr));
    if (n < 0 || (size_t)n >= cap)
        return NULL;
    return out;
}

int prom_checkpoint_parse(const char *value, const prom_range *r, int64_t *next_ns, char *err,
                          size_t errlen)
{
    if (strcmp(value, PROM_CHECKPOINT_COMPLETE) == 0)
        return 1;
    if (strncmp(value, "next=", 5) == 0) {
        const char *p = value + 5;
        int64_t v = 0;
        if (*p < '0' || *p > '9')
            goto bad;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (v > (INT64_MAX - (*p - '0')) / 10)
                goto bad;
            v = v * 10 + (*p - '0');
        }
        if (*p != '\0' || !on_grid(r, v))
            goto bad;
        *next_ns = v;
        return 0;
    }
bad:
    errf_set(err, errlen, "checkpoint value \"%.64s\" is not understood", value);
    return -1;
}
