/* progress: see progress.h. */
#include "progress.h"
#include "cfg.h"
#include "errf.h"
#include "tparse.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_S INT64_C(1000000000)
#define TTY_EVERY_NS (NS_PER_S / 10)

int progress_every_from_env(int64_t *every_ns, char *err, size_t errlen)
{
    *every_ns = PROGRESS_EVERY_S * NS_PER_S;
    const char *v = cfg_env("CRONFLUX_PROGRESS");
    if (!v)
        return 0;
    char why[160];
    const char *p = v;
    while (*p >= '0' && *p <= '9')
        p++;
    if (*p == '\0' && p - v <= 4) {   /* whole seconds */
        *every_ns = strtol(v, NULL, 10) * NS_PER_S;
        return 0;
    }
    if (tparse_duration(v, every_ns, why, sizeof why) != 0 || *every_ns > 3600 * NS_PER_S) {
        errf_set(err, errlen, "CRONFLUX_PROGRESS must be seconds (5) or a duration (500ms, 1m) "
                              "up to 1h, or 0 for none (got \"%.20s\")", v);
        return -1;
    }
    return 0;
}

void progress_start(progress *p, bool tty, int64_t every_ns, int64_t now_ns)
{
    p->tty = tty;
    p->every_ns = tty ? TTY_EVERY_NS : every_ns;
    p->t0_ns = now_ns;
    p->last_ns = now_ns;
}

bool progress_due(progress *p, int64_t now_ns, bool final)
{
    if (p->every_ns <= 0)
        return false;
    if (!final && now_ns - p->last_ns < p->every_ns)
        return false;
    p->last_ns = now_ns;
    return true;
}

char *progress_fmt_dur(double s, char *out, size_t cap)
{
    long v = s < 0 ? 0 : s > 1e9 ? 1000000000L : (long)(s + 0.5);
    int n;
    if (v >= 3600)
        n = snprintf(out, cap, "%ldh%02ldm", v / 3600, v / 60 % 60);
    else if (v >= 60)
        n = snprintf(out, cap, "%ldm%02lds", v / 60, v % 60);
    else
        n = snprintf(out, cap, "%lds", v);
    if (n < 0 && cap)
        out[0] = '\0';
    return out;
}

char *progress_format(const progress *p, int64_t now_ns, const char *what, double frac,
                      int64_t count, const char *unit, char *out, size_t cap)
{
    if (!out || cap == 0)
        return out;
    double el = (double)(now_ns - p->t0_ns) / (double)NS_PER_S;
    double rate = el > 0 ? (double)count / el : 0;
    const char *u = unit ? unit : "items";
    char head[256] = "", eta[32] = "?";
    int n = 0;
    if (frac >= 0) {
        if (frac > 1)
            frac = 1;
        n = what ? snprintf(head, sizeof head, "%s (%.0f%%), ", what, frac * 100)
                 : snprintf(head, sizeof head, "%.0f%%, ", frac * 100);
        if (frac >= 1)
            progress_fmt_dur(0, eta, sizeof eta);
        else if (frac > 0)
            progress_fmt_dur(el * (1 - frac) / frac, eta, sizeof eta);
    } else if (what) {
        n = snprintf(head, sizeof head, "%s, ", what);
    }
    if (n < 0 || (size_t)n >= sizeof head)
        head[0] = '\0';
    n = snprintf(out, cap, "%s%" PRId64 " %s, %.0f %s/s, ETA %s", head, count, u, rate, u, eta);
    if (n < 0)
        out[0] = '\0';
    return out;
}
