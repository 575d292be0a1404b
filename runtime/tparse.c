/* tparse: times and durations (see tparse.h). */
#include "tparse.h"
#include "errf.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define NS_PER_US INT64_C(1000)
#define NS_PER_MS INT64_C(1000000)
#define NS_PER_S TPARSE_NS_PER_S
#define NS_PER_M (60 * NS_PER_S)
#define NS_PER_H (60 * NS_PER_M)
#define NS_PER_D (24 * NS_PER_H)
#define NS_PER_W (7 * NS_PER_D)

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* ---- durations ------------------------------------------------------------------------ */

static const struct {
    const char *name;
    int64_t ns;
} units[] = {
    { "ns", 1 }, { "us", NS_PER_US }, { "\xc2\xb5s", NS_PER_US }, { "ms", NS_PER_MS },
    { "s", NS_PER_S }, { "m", NS_PER_M }, { "h", NS_PER_H }, { "d", NS_PER_D },
    { "w", NS_PER_W },
};

/* The unit at p (longest match), its length in *len; 0 when none. */
static int64_t unit_at(const char *p, size_t *len)
{
    int64_t best = 0;
    size_t best_len = 0;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        size_t n = strlen(units[i].name);
        if (n > best_len && strncmp(p, units[i].name, n) == 0) {
            best = units[i].ns;
            best_len = n;
        }
    }
    *len = best_len;
    return best;
}

/* Parse a duration of one or more "<number>[.<fraction>]<unit>" parts. The number may be
 * 0 here; callers check the sign they need. 0, -1 (syntax) or -2 (overflow); err has no
 * prefix. */
static int parse_dur(const char *s, int64_t *out, char *err, size_t errlen)
{
    const char *p = s;
    int64_t total = 0;
    if (!*p) {
        errf_set(err, errlen, "empty");
        return -1;
    }
    while (*p) {
        if (!is_digit(*p) && !(*p == '.' && is_digit(p[1]))) {
            errf_set(err, errlen, "expected a number at \"%.32s\"", p);
            return -1;
        }
        int64_t whole = 0;
        bool over = false;
        while (is_digit(*p)) {
            if (__builtin_mul_overflow(whole, 10, &whole) ||
                __builtin_add_overflow(whole, *p - '0', &whole))
                over = true;
            p++;
        }
        /* fraction: keep up to 18 digits, enough for any unit down to ns */
        int64_t frac = 0, scale = 1;
        if (*p == '.') {
            p++;
            while (is_digit(*p)) {
                if (scale < INT64_C(1000000000000000000)) {
                    frac = frac * 10 + (*p - '0');
                    scale *= 10;
                }
                p++;
            }
        }
        size_t ulen;
        int64_t unit = unit_at(p, &ulen);
        if (unit == 0) {
            if (!*p)
                errf_set(err, errlen, "missing unit");
            else
                errf_set(err, errlen, "unknown unit \"%.8s\"", p);
            return -1;
        }
        p += ulen;
        int64_t part;
        if (over || __builtin_mul_overflow(whole, unit, &part)) {
            errf_set(err, errlen, "too large (the limit is about 292 years)");
            return -2;
        }
        if (frac) {
            /* frac/scale of a unit in ns; frac < 1e18 and unit <= 6.048e14 (a week),
             * so the product fits in 128 bits and the result is below `unit` */
            __int128 f = (__int128)frac * unit / scale;
            if (__builtin_add_overflow(part, (int64_t)f, &part)) {
                errf_set(err, errlen, "too large (the limit is about 292 years)");
                return -2;
            }
        }
        if (__builtin_add_overflow(total, part, &total)) {
            errf_set(err, errlen, "too large (the limit is about 292 years)");
            return -2;
        }
    }
    *out = total;
    return 0;
}

#define DUR_HINT " (units ns us ms s m h d w; e.g. 30s, 5m, 1h30m, 7d)"

int tparse_duration(const char *s, int64_t *out_ns, char *err, size_t errlen)
{
    char why[160];
    if (!s) {
        errf_set(err, errlen, "duration: missing");
        return -1;
    }
    if (*s == '-' || *s == '+') {
        errf_set(err, errlen, "duration \"%.64s\": must be positive, without a sign", s);
        return -1;
    }
    int64_t v;
    int rc = parse_dur(s, &v, why, sizeof why);
    if (rc != 0) {
        errf_set(err, errlen, "duration \"%.64s\": %s%s", s, why, rc == -1 ? DUR_HINT : "");
        return -1;
    }
    if (v <= 0) {
        errf_set(err, errlen, "duration \"%.64s\": must be greater than zero", s);
        return -1;
    }
    *out_ns = v;
    return 0;
}

/* ---- times ---------------------------------------------------------------------------- */

/* Exactly n digits at *p into *out; advances *p. */
static bool digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit((*p)[i]))
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int mdays(int y, int m)
{
    static const int d[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return m == 2 && leap(y) ? 29 : d[m - 1];
}

/* secs (since the epoch) and ns (0..999999999) to a total in ns, with overflow check. */
static int to_ns(int64_t secs, int64_t ns, int64_t *out)
{
    int64_t t;
    if (secs < 0 && ns > 0) {
        /* keep the product in range near the lower end */
        secs += 1;
        ns -= NS_PER_S;
    }
    if (__builtin_mul_overflow(secs, NS_PER_S, &t) || __builtin_add_overflow(t, ns, &t))
        return -1;
    *out = t;
    return 0;
}

#define RANGE_MSG "outside the range 1677-09-21 .. 2262-04-11"

/* RFC 3339: YYYY-MM-DD[Tt ]HH:MM:SS[.frac](Z|z|+HH:MM|-HH:MM), or a bare YYYY-MM-DD
 * (midnight UTC). */
static int parse_rfc3339(const char *s, int64_t *out, char *err, size_t errlen)
{
    const char *p = s;
    int Y, M, D, h = 0, mi = 0, sec = 0;
    int64_t frac = 0;
    long off = 0;

    if (!digits(&p, 4, &Y) || *p++ != '-' || !digits(&p, 2, &M) || *p++ != '-' ||
        !digits(&p, 2, &D)) {
        errf_set(err, errlen, "want YYYY-MM-DDTHH:MM:SSZ");
        return -1;
    }
    if (M < 1 || M > 12) {
        errf_set(err, errlen, "month %02d out of range", M);
        return -1;
    }
    if (D < 1 || D > mdays(Y, M)) {
        errf_set(err, errlen, "day %02d out of range for %04d-%02d", D, Y, M);
        return -1;
    }
    if (*p) {
        if (*p != 'T' && *p != 't' && *p != ' ') {
            errf_set(err, errlen, "want 'T' after the date");
            return -1;
        }
        p++;
        if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi) || *p++ != ':' ||
            !digits(&p, 2, &sec)) {
            errf_set(err, errlen, "want HH:MM:SS after the date");
            return -1;
        }
        if (h > 23 || mi > 59 || sec > 60) {
            errf_set(err, errlen, "time of day %02d:%02d:%02d out of range", h, mi, sec);
            return -1;
        }
        if (*p == '.' || *p == ',') {
            p++;
            if (!is_digit(*p)) {
                errf_set(err, errlen, "want digits after the decimal point");
                return -1;
            }
            int n = 0;
            while (is_digit(*p)) {
                if (n < 9) {
                    frac = frac * 10 + (*p - '0');
                    n++;
                }
                p++;
            }
            for (; n < 9; n++)
                frac *= 10;
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p == '-' ? -1 : 1;
            int oh, om;
            p++;
            if (!digits(&p, 2, &oh) || *p++ != ':' || !digits(&p, 2, &om)) {
                errf_set(err, errlen, "want a UTC offset like +02:00");
                return -1;
            }
            if (oh > 23 || om > 59) {
                errf_set(err, errlen, "UTC offset %02d:%02d out of range", oh, om);
                return -1;
            }
            off = sign * (oh * 3600L + om * 60L);
        } else if (!*p) {
            errf_set(err, errlen, "missing time zone (add 'Z' for UTC or an offset like +02:00)");
            return -1;
        } else {
            errf_set(err, errlen, "want 'Z' or an offset like +02:00 after the time");
            return -1;
        }
        if (*p) {
            errf_set(err, errlen, "trailing text \"%.16s\"", p);
            return -1;
        }
    }

    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec; /* 60 (a leap second) rolls over into the next minute */
    time_t t = timegm(&tm);
    int64_t secs = (int64_t)t - off;
    if (to_ns(secs, frac, out) != 0) {
        errf_set(err, errlen, RANGE_MSG);
        return -1;
    }
    return 0;
}

/* Unix seconds, optionally with a fraction ("1700000000", "1700000000.25"). */
static int parse_unix(const char *s, int64_t *out, char *err, size_t errlen)
{
    const char *p = s;
    int64_t secs = 0, frac = 0;
    while (is_digit(*p)) {
        if (__builtin_mul_overflow(secs, 10, &secs) ||
            __builtin_add_overflow(secs, *p - '0', &secs)) {
            errf_set(err, errlen, RANGE_MSG);
            return -1;
        }
        p++;
    }
    if (*p == '.') {
        p++;
        int n = 0;
        if (!is_digit(*p)) {
            errf_set(err, errlen, "want digits after the decimal point");
            return -1;
        }
        while (is_digit(*p)) {
            if (n < 9) {
                frac = frac * 10 + (*p - '0');
                n++;
            }
            p++;
        }
        for (; n < 9; n++)
            frac *= 10;
    }
    if (*p) {
        errf_set(err, errlen, "not a Unix time in seconds");
        return -1;
    }
    if (to_ns(secs, frac, out) != 0) {
        errf_set(err, errlen, RANGE_MSG);
        return -1;
    }
    return 0;
}

int tparse_is_relative(const char *s)
{
    if (!s)
        return 0;
    while (*s == ' ')
        s++;
    return strcmp(s, "now") == 0 || s[0] == '-' || s[0] == '+';
}

int tparse_time(const char *s, int64_t now_ns, int64_t *out_ns, char *err, size_t errlen)
{
    char why[160];
    if (!s || !*s) {
        errf_set(err, errlen, "time: empty (want RFC 3339, Unix seconds, or relative like -7d)");
        return -1;
    }
    int64_t v;
    if (strcmp(s, "now") == 0) {
        *out_ns = now_ns;
        return 0;
    }
    if (s[0] == '-' || s[0] == '+') {
        /* relative to now: -7d, -36h, +1h, -1h30m */
        int64_t d;
        int rc = parse_dur(s + 1, &d, why, sizeof why);
        if (rc != 0) {
            errf_set(err, errlen, "time \"%.64s\": relative time: %s%s", s, why,
                     rc == -1 ? " (units ns us ms s m h d w; e.g. -7d, -36h, -90m)" : "");
            return -1;
        }
        int64_t t;
        bool over = s[0] == '-' ? __builtin_sub_overflow(now_ns, d, &t)
                                : __builtin_add_overflow(now_ns, d, &t);
        if (over) {
            errf_set(err, errlen, "time \"%.64s\": " RANGE_MSG, s);
            return -1;
        }
        *out_ns = t;
        return 0;
    }
    const char *p = s;
    while (is_digit(*p))
        p++;
    int rc;
    if (p - s == 4 && *p == '-')
        rc = parse_rfc3339(s, &v, why, sizeof why);
    else if (p > s && *p != '-' && *p != ':')
        rc = parse_unix(s, &v, why, sizeof why);
    else {
        errf_set(err, errlen,
                 "time \"%.64s\": not a time (want RFC 3339 like 2026-11-01T00:00:00Z, Unix "
                 "seconds, \"now\", or relative like -7d)",
                 s);
        return -1;
    }
    if (rc != 0) {
        errf_set(err, errlen, "time \"%.64s\": %s", s, why);
        return -1;
    }
    *out_ns = v;
    return 0;
}

char *tparse_format(int64_t ns, char *out, size_t cap)
{
    if (!out || cap == 0)
        return out;
    out[0] = '\0';
    int64_t secs = ns / NS_PER_S;
    if (ns % NS_PER_S < 0)
        secs--; /* floor for times before 1970 */
    time_t t = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return out;
    if (strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        out[0] = '\0';
    return out;
}

int64_t tparse_align(int64_t t_ns, int64_t align_ns)
{
    if (align_ns <= 0)
        return t_ns;
    int64_t r = t_ns % align_ns;
    if (r < 0)
        r += align_ns;
    return t_ns - r;
}
