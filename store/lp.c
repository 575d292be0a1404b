/* lp: InfluxDB line protocol, written and read the way InfluxDB 1.6.7 reads it.
 *
 * Encoder: two passes over the point. The first checks everything that can make the point
 * unstorable and adds up an upper bound of its encoded size; the output buffer is grown once;
 * the second writes straight into it. Nothing else is allocated.
 *
 * Parser: a port of the rules of InfluxDB 1.6.7's models.ParsePointsWithPrecision (scanKey,
 * scanFields, scanTime, then the field iterator that turns the text into typed values), quirks
 * included, so that what `cronflux push` accepts is what the server would accept.
 */
#include "lp.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- shared helpers */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    if (n < 0)
        err[0] = '\0';
    /* n >= errlen: the message was cut to fit; vsnprintf still NUL-terminated it. */
}

/* A name for an error message: at most 48 bytes, control bytes shown as '?', so a key
 * holding a newline cannot break the one-line log message it ends up in. */
static const char *show(char *tmp, size_t tmplen, const char *s, size_t len)
{
    size_t max = tmplen - 4, o = 0;
    for (size_t i = 0; i < len && o < max; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            c = '?';
        tmp[o++] = (char)c;
    }
    if (len > max) {
        tmp[o++] = '.';
        tmp[o++] = '.';
        tmp[o++] = '.';
    }
    tmp[o] = '\0';
    return tmp;
}

int lp_precision_parse(const char *s, lp_precision *out)
{
    if (!s || !out)
        return -1;
    if (strcmp(s, "ns") == 0 || strcmp(s, "n") == 0)
        *out = LP_NS;
    else if (strcmp(s, "us") == 0 || strcmp(s, "u") == 0)
        *out = LP_US;
    else if (strcmp(s, "ms") == 0)
        *out = LP_MS;
    else if (strcmp(s, "s") == 0)
        *out = LP_S;
    else
        return -1;
    return 0;
}

const char *lp_precision_name(lp_precision p)
{
    switch (p) {
    case LP_NS: return "ns";
    case LP_US: return "us";
    case LP_MS: return "ms";
    case LP_S: return "s";
    }
    return "ns";
}

const char *lp_precision_influx1(lp_precision p)
{
    switch (p) {
    case LP_NS: return "n";
    case LP_US: return "u";
    case LP_MS: return "ms";
    case LP_S: return "s";
    }
    return "n";
}

static int64_t prec_mult(lp_precision p)
{
    switch (p) {
    case LP_NS: return 1;
    case LP_US: return 1000;
    case LP_MS: return 1000000;
    case LP_S: return 1000000000;
    }
    return 1;
}

/* InfluxDB 1.x refuses the two lowest and the highest int64 nanosecond times. */
#define LP_MIN_NANO (INT64_MIN + 2)
#define LP_MAX_NANO (INT64_MAX - 1)
#define LP_MAX_KEY 65535 /* models.MaxKeyLength: measurement + tags, + 4 + field key */

/* ---------------------------------------------------------------- number writing */

static const char digits2[201] =
    "00010203040506070809101112131415161718192021222324"
    "25262728293031323334353637383940414243444546474849"
    "50515253545556575859606162636465666768697071727374"
    "75767778798081828384858687888990919293949596979899";

static size_t u64_to_dec(char *o, uint64_t v)
{
    char tmp[24];
    char *p = tmp + sizeof tmp;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        p -= 2;
        memcpy(p, digits2 + (size_t)2 * r, 2);
    }
    if (v >= 10) {
        p -= 2;
        memcpy(p, digits2 + (size_t)2 * v, 2);
    } else {
        *--p = (char)('0' + v);
    }
    size_t n = (size_t)(tmp + sizeof tmp - p);
    memcpy(o, p, n);
    return n;
}

static size_t i64_to_dec(char *o, int64_t v)
{
    if (v < 0) {
        *o = '-';
        return 1 + u64_to_dec(o + 1, (uint64_t)0 - (uint64_t)v);
    }
    return u64_to_dec(o, (uint64_t)v);
}

/* Shortest decimal digits of a finite d > 0 that read back as d: digs[0..nd) without
 * trailing zeros, value = 0.digs x 10^dp. */
static int float_digits(double d, char *digs, int *dp)
{
    /* Whole numbers below 2^53: every other integer is a different double, so the digits of
     * the integer are the shortest form. No printf needed. */
    if (d < 9007199254740992.0 && d >= 1.0 && d == (double)(uint64_t)d) {
        char tmp[24];
        size_t n = u64_to_dec(tmp, (uint64_t)d);
        *dp = (int)n;
        while (n > 1 && tmp[n - 1] == '0')
            n--;
        memcpy(digs, tmp, n);
        return (int)n;
    }
    /* Otherwise the correctly rounded 15-, 16- or 17-digit form, whichever reads back first.
     * (Any decimal of 15 digits or fewer survives double -> 15 digits unchanged, so if the
     * shortest form has <= 15 digits the 15-digit one is it, padded with zeros.) */
    char tmp[40];
    /* Subnormals carry fewer digits, so the 15-digit shortcut does not hold: search up. */
    for (int prec = d < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
        int n = snprintf(tmp, sizeof tmp, "%.*e", prec - 1, d);
        if (n <= 0 || (size_t)n >= sizeof tmp)
            return -1;
        if (prec < 17 && strtod(tmp, NULL) != d)
            continue;
        /* tmp: D.DDDDe[+-]XX */
        int nd = 0;
        const char *p = tmp;
        for (; *p && *p != 'e'; p++)
            if (*p >= '0' && *p <= '9')
                digs[nd++] = *p;
        if (*p != 'e')
            return -1;
        p++;
        int neg = *p == '-';
        if (*p == '-' || *p == '+')
            p++;
        int e = 0;
        for (; *p >= '0' && *p <= '9'; p++)
            e = e * 10 + (*p - '0');
        *dp = (neg ? -e : e) + 1;
        while (nd > 1 && digs[nd - 1] == '0')
            nd--;
        return nd;
    }
    return -1;
}

/* Go's strconv.FormatFloat(d, 'g', -1, 64): the shortest form, with an exponent when it is
 * below -4 or at least 6 (6.632243e+06, 1e-05, 0.0001, 123456). Any such text is read by
 * InfluxDB as a float (integers need the 'i' suffix). o needs 32 bytes. */
static size_t fmt_float(char *o, double d)
{
    char *w = o;
    if (signbit(d)) {
        *w++ = '-';
        d = -d;
    }
    if (d == 0) {
        *w++ = '0';
        return (size_t)(w - o);
    }
    char digs[24];
    int dp;
    int nd = float_digits(d, digs, &dp);
    if (nd <= 0) { /* cannot happen with a working libc; fall back to round-trip %.17g */
        int n = snprintf(w, 28, "%.17g", d);
        return (size_t)(w - o) + (n > 0 && n < 28 ? (size_t)n : 0);
    }
    int exp = dp - 1;
    if (exp < -4 || exp >= 6) {
        *w++ = digs[0];
        if (nd > 1) {
            *w++ = '.';
            memcpy(w, digs + 1, (size_t)nd - 1);
            w += nd - 1;
        }
        *w++ = 'e';
        if (exp < 0) {
            *w++ = '-';
            exp = -exp;
        } else {
            *w++ = '+';
        }
        if (exp < 10) {
            *w++ = '0';
            *w++ = (char)('0' + exp);
        } else if (exp < 100) {
            memcpy(w, digits2 + (size_t)2 * (size_t)exp, 2);
            w += 2;
        } else {
            *w++ = (char)('0' + exp / 100);
            memcpy(w, digits2 + (size_t)2 * (size_t)(exp % 100), 2);
            w += 2;
        }
        return (size_t)(w - o);
    }
    if (dp <= 0) {
        *w++ = '0';
        *w++ = '.';
        for (int i = 0; i < -dp; i++)
            *w++ = '0';
        memcpy(w, digs, (size_t)nd);
        w += nd;
        return (size_t)(w - o);
    }
    for (int i = 0; i < dp; i++) {
        if (i < nd)
            *w++ = digs[i];
        else
            *w++ = '0';
    }
    if (nd > dp) {
        *w++ = '.';
        memcpy(w, digs + dp, (size_t)(nd - dp));
        w += nd - dp;
    }
    return (size_t)(w - o);
}

/* ---------------------------------------------------------------- encoder */

/* Byte classes for the escaping rules. */
enum {
    C_MEAS = 1,    /* escaped in a measurement: ',' ' ' */
    C_TAG = 2,     /* escaped in tag keys/values and field keys: ',' '=' ' ' */
    C_NL = 4,      /* replaced by a (escaped) space in names: '\n' '\r' */
    C_STR = 8,     /* escaped in string field values: '"' '\\' */
    C_MEAS_BS = 16,/* refused in a measurement right after a backslash: '"' '=' */
    C_FKEY_BS = 32,/* escaped in a field key when right after a backslash: '"' */
    C_BS = 64,     /* the backslash */
};

static const unsigned char cls[256] = {
    ['\n'] = C_NL,
    ['\r'] = C_NL,
    [','] = C_MEAS | C_TAG,
    [' '] = C_MEAS | C_TAG,
    ['='] = C_TAG | C_MEAS_BS,
    ['"'] = C_STR | C_MEAS_BS | C_FKEY_BS,
    ['\\'] = C_STR | C_BS,
};

/* Write the NUL-terminated name s escaped: bytes of class `esc` get a backslash, newlines/CRs
 * become an escaped space (counted in *nrep), bytes of class `after_bs` get a backslash when
 * the byte before them is a backslash (InfluxDB's unescaping would otherwise eat that
 * backslash); *saw_bs is set when a backslash was written. Needs at most 2*strlen(s) bytes
 * at w. The common run of plain bytes is copied by a tight loop. */
static char *put_name(char *w, const char *s, unsigned esc, unsigned after_bs, size_t *nrep,
                      int *saw_bs)
{
    const unsigned char *p = (const unsigned char *)s;
    int prev_bs = 0;
    for (;;) {
        unsigned char c;
        const unsigned char *run = p;
        while ((c = *p) != 0 && cls[c] == 0)
            *w++ = (char)*p++;
        if (c == 0)
            return w;
        if (p != run)
            prev_bs = 0;
        p++;
        unsigned k = cls[c];
        if (k & C_NL) {
            (*nrep)++;
            *w++ = '\\';
            *w++ = ' ';
            prev_bs = 0;
        } else if ((k & esc) || (prev_bs && (k & after_bs))) {
            *w++ = '\\';
            *w++ = (char)c;
            prev_bs = 0;
        } else {
            *w++ = (char)c;
            prev_bs = (k & C_BS) != 0;
            *saw_bs |= prev_bs;
        }
    }
}

static char *put_string_value(char *w, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *e = p + len;
    *w++ = '"';
    while (p < e) {
        unsigned char c = *p++;
        if (cls[c] & C_STR)
            *w++ = '\\';
        *w++ = (char)c;
    }
    *w++ = '"';
    return w;
}

/* Order of tag keys as InfluxDB sorts them (bytewise), with newline/CR compared as the
 * space they will be written as. */
static int name_cmp(const char *a, const char *b)
{
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
    for (;; x++, y++) {
        unsigned cx = *x, cy = *y;
        if (cx == cy) {
            if (cx == 0)
                return 0;
            continue;
        }
        if (cx == '\n' || cx == '\r')
            cx = ' ';
        if (cy == '\n' || cy == '\r')
            cy = ' ';
        if (cx != cy)
            return cx < cy ? -1 : 1;
    }
}

static int tag_used(const lp_tag *t)
{
    return t->value && t->value[0];
}

#define LP_SORT_STACK 256

/* Checks one name: not empty, not ending in a backslash (InfluxDB 1.x cannot read a name
 * back whose last byte is a backslash: the backslash escapes the separator after it).
 * Field keys may not hold a backslash right before ',', '=', ' ' or a newline (1.x's field
 * scanner and its key unescaper disagree there). Measurements may not hold one right before
 * ',', '"', ' ', '=' or a newline: 1.6.7 files the series under a key rebuilt from the
 * unescaped name, which then differs from the key the data is written under, so the points
 * are stored but no query finds them (tried against influxd 1.6.7). Returns NULL or why. */
enum { NAME_TAG = 0, NAME_FIELD_KEY = 1, NAME_MEASUREMENT = 2 };

static const char *name_problem(const char *s, size_t len, int kind)
{
    if (len == 0)
        return "empty";
    if (s[len - 1] == '\\')
        return "ends with a backslash, which InfluxDB 1.x cannot read back";
    if (kind == NAME_TAG)
        return NULL;
    for (const char *p = memchr(s, '\\', len); p && p < s + len - 1;
         p = memchr(p + 1, '\\', len - (size_t)(p + 1 - s))) {
        unsigned char nx = (unsigned char)p[1];
        if (kind == NAME_FIELD_KEY && (cls[nx] & (C_TAG | C_NL)))
            return "has a backslash before ',', '=', ' ' or a newline, which InfluxDB 1.x "
                   "cannot read back";
        if (kind == NAME_MEASUREMENT && (cls[nx] & (C_MEAS | C_MEAS_BS | C_NL)))
            return "has a backslash before ',', '\"', ' ', '=' or a newline: InfluxDB 1.6.7 "
                   "would store the points where no query finds them";
    }
    return NULL;
}

int lp_encode(const lp_point *p, lp_precision prec, buf *out, size_t *replaced, char *err,
              size_t errlen)
{
    char show_tmp[64];
    if (!p || !out) {
        set_err(err, errlen, "no point or no output buffer");
        return -1;
    }

    /* ---- pass 1: check, and bound the size */
    const char *m = p->measurement;
    size_t mlen = m ? strlen(m) : 0;
    if (mlen == 0) {
        set_err(err, errlen, "empty measurement");
        return -1;
    }
    const char *why = name_problem(m, mlen, NAME_MEASUREMENT);
    if (why) {
        set_err(err, errlen, "measurement \"%s\": %s", show(show_tmp, sizeof show_tmp, m, mlen),
                why);
        return -1;
    }
    if (m[0] == '#' || m[0] == '\t') {
        set_err(err, errlen, "measurement \"%s\": starts with %s, which InfluxDB 1.x skips",
                show(show_tmp, sizeof show_tmp, m, mlen),
                m[0] == '#' ? "'#' (a comment line)" : "a tab");
        return -1;
    }
    size_t need = 2 * mlen + 1 /* ' ' */ + 1 /* '\n' */;

    int sorted = 1;
    size_t nused = 0;
    const lp_tag *prev = NULL;
    for (size_t i = 0; i < p->ntags; i++) {
        const lp_tag *t = &p->tags[i];
        size_t klen = t->key ? strlen(t->key) : 0;
        if (klen == 0) {
            set_err(err, errlen, "tag %zu: empty key", i);
            return -1;
        }
        if (!tag_used(t))
            continue; /* an empty tag value is dropped, as InfluxDB 1.x does */
        size_t vlen = strlen(t->value);
        if (klen == 4 && memcmp(t->key, "time", 4) == 0) {
            set_err(err, errlen, "tag key \"time\": InfluxDB 1.x drops a point with it");
            return -1;
        }
        if ((why = name_problem(t->key, klen, NAME_TAG))) {
            set_err(err, errlen, "tag key \"%s\": %s", show(show_tmp, sizeof show_tmp, t->key, klen),
                    why);
            return -1;
        }
        if ((why = name_problem(t->value, vlen, NAME_TAG))) {
            set_err(err, errlen, "tag \"%s\": value %s",
                    show(show_tmp, sizeof show_tmp, t->key, klen), why);
            return -1;
        }
        need += 2 * (klen + vlen) + 2;
        if (prev && name_cmp(prev->key, t->key) >= 0)
            sorted = 0;
        prev = t;
        nused++;
    }

    if (p->nfields == 0 || !p->fields) {
        set_err(err, errlen, "point has no fields");
        return -1;
    }
    for (size_t i = 0; i < p->nfields; i++) {
        const lp_field *f = &p->fields[i];
        size_t klen = f->key ? strlen(f->key) : 0;
        if (klen == 0) {
            set_err(err, errlen, "field %zu: empty key", i);
            return -1;
        }
        if (f->key[0] == '\t')
            why = "starts with a tab, which InfluxDB 1.x skips";
        else if (klen == 4 && memcmp(f->key, "time", 4) == 0)
            why = "InfluxDB 1.x drops a field named \"time\"";
        else
            why = name_problem(f->key, klen, NAME_FIELD_KEY);
        if (why) {
            set_err(err, errlen, "field key \"%s\": %s",
                    show(show_tmp, sizeof show_tmp, f->key, klen), why);
            return -1;
        }
        need += 2 * klen + 2;
        switch (f->type) {
        case LP_FLOAT:
            if (isnan(f->v.f) || isinf(f->v.f)) {
                set_err(err, errlen, "field \"%s\": %s cannot be stored",
                        show(show_tmp, sizeof show_tmp, f->key, klen),
                        isnan(f->v.f) ? "NaN" : (f->v.f > 0 ? "+Inf" : "-Inf"));
                return -1;
            }
            need += 32;
            break;
        case LP_INT:
            need += 21;
            break;
        case LP_UINT:
            if (f->v.u > (uint64_t)INT64_MAX) {
                set_err(err, errlen,
                        "field \"%s\": unsigned value %" PRIu64
                        " does not fit in InfluxDB 1.x's signed 64-bit integers",
                        show(show_tmp, sizeof show_tmp, f->key, klen), f->v.u);
                return -1;
            }
            need += 21;
            break;
        case LP_STRING:
            if (f->v.s.len && !f->v.s.p) {
                set_err(err, errlen, "field \"%s\": string value is NULL",
                        show(show_tmp, sizeof show_tmp, f->key, klen));
                return -1;
            }
            if (f->v.s.len > (SIZE_MAX - need) / 2 - 4) {
                set_err(err, errlen, "field \"%s\": string too long",
                        show(show_tmp, sizeof show_tmp, f->key, klen));
                return -1;
            }
            need += 2 * f->v.s.len + 2;
            break;
        case LP_BOOL:
            need += 5;
            break;
        default:
            set_err(err, errlen, "field \"%s\": unknown type %d",
                    show(show_tmp, sizeof show_tmp, f->key, klen), (int)f->type);
            return -1;
        }
        /* A repeated field key would come back as one field. */
        for (size_t j = 0; j < i; j++) {
            if (name_cmp(p->fields[j].key, f->key) == 0) {
                set_err(err, errlen, "field \"%s\": duplicate key",
                        show(show_tmp, sizeof show_tmp, f->key, klen));
                return -1;
            }
        }
    }

    int64_t mult = prec_mult(prec);
    if (p->has_time) {
        if (mult == 1 && (p->time_ns < LP_MIN_NANO || p->time_ns > LP_MAX_NANO)) {
            set_err(err, errlen, "time %" PRId64 " is outside InfluxDB's range", p->time_ns);
            return -1;
        }
        need += 1 + 20;
    }

    /* Tag order: as given when already sorted (the cheap, usual path), else sorted here. */
    size_t order_stack[LP_SORT_STACK];
    size_t *order = NULL;
    if (!sorted && nused <= LP_SORT_STACK) {
        size_t n = 0;
        for (size_t i = 0; i < p->ntags; i++)
            if (tag_used(&p->tags[i]))
                order_stack[n++] = i;
        for (size_t i = 1; i < n; i++) {
            size_t x = order_stack[i], j = i;
            while (j > 0 && name_cmp(p->tags[order_stack[j - 1]].key, p->tags[x].key) > 0) {
                order_stack[j] = order_stack[j - 1];
                j--;
            }
            order_stack[j] = x;
        }
        order = order_stack;
    }
    if (!sorted) {
        /* duplicates: adjacent after sorting, or found by the selection below */
        if (order) {
            for (size_t i = 1; i < nused; i++) {
                const char *k = p->tags[order[i]].key;
                if (name_cmp(p->tags[order[i - 1]].key, k) == 0) {
                    set_err(err, errlen, "tag \"%s\": duplicate key",
                            show(show_tmp, sizeof show_tmp, k, strlen(k)));
                    return -1;
                }
            }
        }
    }

    /* ---- pass 2: write */
    if (buf_reserve(out, need) != 0) {
        set_err(err, errlen, "output buffer full (a point needs up to %zu bytes)", need);
        return -1;
    }
    char *const start = out->p + out->len;
    char *w = start;
    size_t nrep = 0;
    int saw_bs = 0;
    w = put_name(w, m, C_MEAS, 0, &nrep, &saw_bs);

    if (sorted) {
        for (size_t i = 0; i < p->ntags; i++) {
            const lp_tag *t = &p->tags[i];
            if (!tag_used(t))
                continue;
            *w++ = ',';
            w = put_name(w, t->key, C_TAG, 0, &nrep, &saw_bs);
            *w++ = '=';
            w = put_name(w, t->value, C_TAG, 0, &nrep, &saw_bs);
        }
    } else if (order) {
        for (size_t i = 0; i < nused; i++) {
            const lp_tag *t = &p->tags[order[i]];
            *w++ = ',';
            w = put_name(w, t->key, C_TAG, 0, &nrep, &saw_bs);
            *w++ = '=';
            w = put_name(w, t->value, C_TAG, 0, &nrep, &saw_bs);
        }
    } else {
        /* Many unsorted tags: pick the next smallest key each time (no allocation). */
        const lp_tag *last = NULL;
        for (size_t n = 0; n < nused; n++) {
            const lp_tag *best = NULL;
            for (size_t i = 0; i < p->ntags; i++) {
                const lp_tag *t = &p->tags[i];
                if (!tag_used(t) || t == last)
                    continue;
                if (last) {
                    int c = name_cmp(t->key, last->key);
                    if (c == 0) {
                        set_err(err, errlen, "tag \"%s\": duplicate key",
                                show(show_tmp, sizeof show_tmp, t->key, strlen(t->key)));
                        goto fail;
                    }
                    if (c < 0)
                        continue;
                }
                if (!best || name_cmp(t->key, best->key) < 0)
                    best = t;
            }
            if (!best)
                break;
            *w++ = ',';
            w = put_name(w, best->key, C_TAG, 0, &nrep, &saw_bs);
            *w++ = '=';
            w = put_name(w, best->value, C_TAG, 0, &nrep, &saw_bs);
            last = best;
        }
    }
    size_t keylen = (size_t)(w - start);
    if (keylen > LP_MAX_KEY) {
        set_err(err, errlen, "series key is %zu bytes, InfluxDB 1.x allows %d", keylen,
                LP_MAX_KEY);
        goto fail;
    }

    *w++ = ' ';
    for (size_t i = 0; i < p->nfields; i++) {
        const lp_field *f = &p->fields[i];
        if (i)
            *w++ = ',';
        char *ks = w;
        w = put_name(w, f->key, C_TAG, C_FKEY_BS, &nrep, &saw_bs);
        if (keylen + 4 + (size_t)(w - ks) > LP_MAX_KEY) {
            set_err(err, errlen, "field \"%s\": series key + field key exceed %d bytes",
                    show(show_tmp, sizeof show_tmp, f->key, strlen(f->key)), LP_MAX_KEY);
            goto fail;
        }
        *w++ = '=';
        switch (f->type) {
        case LP_FLOAT:
            w += fmt_float(w, f->v.f);
            break;
        case LP_INT:
            w += i64_to_dec(w, f->v.i);
            *w++ = 'i';
            break;
        case LP_UINT:
            w += u64_to_dec(w, f->v.u);
            *w++ = 'i';
            break;
        case LP_STRING:
            w = put_string_value(w, f->v.s.p, f->v.s.len);
            break;
        case LP_BOOL:
            if (f->v.b) {
                memcpy(w, "true", 4);
                w += 4;
            } else {
                memcpy(w, "false", 5);
                w += 5;
            }
            break;
        }
    }
    if (p->has_time) {
        *w++ = ' ';
        w += i64_to_dec(w, p->time_ns / mult); /* C division truncates toward zero */
    }
    *w++ = '\n';
    /* A backslash written before an escaped byte (a name holding "\\ ", say) pairs up
     * differently in 1.x's line splitter than in its parser; make sure this line still ends
     * where it should and does not swallow the next one. */
    if (saw_bs && lp_line_len(start, (size_t)(w - start)) != (size_t)(w - start) - 1) {
        set_err(err, errlen, "names with backslashes before escaped characters would make "
                             "InfluxDB 1.x split this line wrongly");
        goto fail;
    }
    out->len = (size_t)(w - out->p);
    *w = '\0';
    if (replaced)
        *replaced += nrep;
    return 0;

fail:
    start[0] = '\0'; /* out->len unchanged: the buffer reads as it did before */
    return -1;
}

int lp_line_time_ns(const char *line, size_t len, int64_t *out_ns)
{
    if (!line)
        return -1;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    size_t i = len;
    while (i > 0 && line[i - 1] >= '0' && line[i - 1] <= '9')
        i--;
    if (i == len)
        return -1;
    size_t digits_at = i;
    int neg = 0;
    if (i > 0 && line[i - 1] == '-') {
        neg = 1;
        i--;
    }
    if (i == 0 || line[i - 1] != ' ')
        return -1;
    /* A space escaped by a backslash is part of a name, not the separator. */
    if (i >= 2 && line[i - 2] == '\\')
        return -1;
    uint64_t v = 0;
    for (size_t k = digits_at; k < len; k++) {
        unsigned d = (unsigned)(line[k] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1)
            return -1;
        if (out_ns)
            *out_ns = (int64_t)(0 - v);
    } else {
        if (v > (uint64_t)INT64_MAX)
            return -1;
        if (out_ns)
            *out_ns = (int64_t)v;
    }
    return 0;
}

/* ---------------------------------------------------------------- parser */

#define LP_PARSE_MAX_LINE ((size_t)64 << 20)

void lp_parsed_init(lp_parsed *pp)
{
    if (!pp)
        return;
    memset(pp, 0, sizeof *pp);
    buf_init(&pp->scratch, 2 * LP_PARSE_MAX_LINE + 64);
}

void lp_parsed_free(lp_parsed *pp)
{
    if (!pp)
        return;
    free(pp->tags);
    free(pp->fields);
    buf_free(&pp->scratch);
    size_t max = pp->scratch.max;
    memset(pp, 0, sizeof *pp);
    buf_init(&pp->scratch, max);
}

size_t lp_line_len(const char *b, size_t len)
{
    size_t i = 0, equals = 0, commas = 0;
    int quoted = 0, fields = 0;
    while (i < len) {
        char c = b[i];
        if (c == '\\') {
            i += 2;
            continue;
        }
        if (c == ' ')
            fields = 1;
        if (fields) {
            if (!quoted && c == '=') {
                i++;
                equals++;
                continue;
            } else if (!quoted && c == ',') {
                i++;
                commas++;
                continue;
            } else if (c == '"' && equals > commas) {
                i++;
                quoted = !quoted;
                continue;
            }
        }
        if (c == '\n' && !quoted)
            break;
        i++;
    }
    return i > len ? len : i;
}

size_t lp_count_lines(const char *buf, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i += lp_line_len(buf + i, len - i) + 1)
        n++;
    return n;
}

typedef struct pctx {
    const char *b; /* the point's text, leading whitespace skipped */
    size_t n;
    size_t base;   /* offset of b in the caller's line, for columns */
    char *err;
    size_t errlen;
} pctx;

static int perr(const pctx *c, size_t i, const char *msg)
{
    set_err(c->err, c->errlen, "column %zu: %s", c->base + i + 1, msg);
    return -1;
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\0';
}

static int is_numeric(char c)
{
    return (c >= '0' && c <= '9') || c == '.';
}

/* Go's strconv.ParseInt(s, 10, 64). */
static int parse_i64(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    if (i < len && (s[i] == '+' || s[i] == '-')) {
        neg = s[i] == '-';
        i++;
    }
    if (i == len)
        return -1;
    uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (lim - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

/* Go's strconv.ParseUint(s, 10, 64). */
static int parse_u64(const char *s, size_t len, uint64_t *out)
{
    if (len == 0)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* Go's strconv.ParseFloat(s, 64) for decimal text: [+-]digits[.digits][e[+-]digits], with
 * at least one mantissa digit; out of range is an error, underflow is not. */
static int parse_f64(const char *s, size_t len, double *out)
{
    size_t i = 0, mant = 0;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        i++;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++, mant++;
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++, mant++;
    }
    if (mant == 0)
        return -1;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t ed = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++, ed++;
        if (ed == 0)
            return -1;
    }
    if (i != len)
        return -1;
    char small[128];
    char *tmp = small;
    if (len >= sizeof small) {
        tmp = malloc(len + 1);
        if (!tmp)
            return -1;
    }
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    char *end = NULL;
    double d = strtod(tmp, &end);
    int ok = end == tmp + len && !isinf(d);
    if (tmp != small)
        free(tmp);
    if (!ok)
        return -1;
    *out = d;
    return 0;
}

/* models.scanNumber. Returns the end position or (size_t)-1 with *why set. */
static size_t scan_number(const char *b, size_t n, size_t i, const char **why)
{
    size_t start = i;
    int is_int = 0, is_uns = 0, decimal = 0, scientific = 0;
    *why = "invalid number";
    if (i < n && b[i] == '-') {
        i++;
        if (i == n)
            return (size_t)-1;
    }
    for (;;) {
        if (i >= n)
            break;
        char c = b[i];
        if (c == ',' || c == ' ')
            break;
        if (c == 'i' && i > start && !(is_int || is_uns)) {
            is_int = 1;
            i++;
            continue;
        } else if (c == 'u' && i > start && !(is_int || is_uns)) {
            is_uns = 1;
            i++;
            continue;
        }
        if (c == '.') {
            if (decimal)
                return (size_t)-1;
            decimal = 1;
        }
        if (i > start && (c == 'e' || c == 'E')) {
            scientific = 1;
            i++;
            continue;
        }
        if ((c == '+' || c == '-') && (b[i - 1] == 'e' || b[i - 1] == 'E')) {
            i++;
            continue;
        }
        if (i + 2 < n && (c == 'N' || c == 'n')) {
            *why = "NaN is not a supported value";
            return (size_t)-1;
        }
        if (!is_numeric(c))
            return (size_t)-1;
        i++;
    }
    if ((is_int || is_uns) && (decimal || scientific))
        return (size_t)-1;
    size_t digits = i - start;
    if (is_int)
        digits--;
    if (decimal)
        digits--;
    if (b[start] == '-')
        digits--;
    if (digits == 0)
        return (size_t)-1;
    if (is_int) {
        if (b[i - 1] != 'i')
            return (size_t)-1;
        int64_t v;
        if (parse_i64(b + start, i - 1 - start, &v) != 0) {
            *why = "integer out of range";
            return (size_t)-1;
        }
    } else if (is_uns) {
        /* stock InfluxDB 1.x is built without unsigned support */
        *why = "unsigned integers ('u') are not supported by InfluxDB 1.x";
        return (size_t)-1;
    } else if (scientific || i - start >= 25) {
        double d;
        if (parse_f64(b + start, i - start, &d) != 0) {
            *why = "invalid float";
            return (size_t)-1;
        }
    }
    return i;
}

/* models.scanBoolean */
static size_t scan_bool(const char *b, size_t n, size_t i)
{
    size_t start = i;
    if (i < n && b[i] != 't' && b[i] != 'f' && b[i] != 'T' && b[i] != 'F')
        return (size_t)-1;
    i++;
    while (i < n && b[i] != ',' && b[i] != ' ')
        i++;
    size_t len = i - start;
    if (len == 1)
        return i;
    const char *s = b + start;
    int ok = 0;
    switch (s[0]) {
    case 't': ok = len == 4 && memcmp(s, "true", 4) == 0; break;
    case 'f': ok = len == 5 && memcmp(s, "false", 5) == 0; break;
    case 'T': ok = len == 4 && (memcmp(s, "TRUE", 4) == 0 || memcmp(s, "True", 4) == 0); break;
    case 'F': ok = len == 5 && (memcmp(s, "FALSE", 5) == 0 || memcmp(s, "False", 5) == 0); break;
    }
    return ok ? i : (size_t)-1;
}

/* Length of a raw tag key (up to the '=' not preceded by a backslash) and a raw tag value
 * (up to the ',' or ' ' not preceded by a backslash), as the 1.x scanner delimits them. */
static size_t raw_tag_key_len(const char *s, const char *end)
{
    const char *p = s + 1;
    while (p < end && !(*p == '=' && p[-1] != '\\'))
        p++;
    return (size_t)(p - s);
}

static size_t raw_tag_value_len(const char *s, const char *end)
{
    const char *p = s + 1;
    while (p < end && !((*p == ',' || *p == ' ') && p[-1] != '\\'))
        p++;
    return (size_t)(p - s);
}

static int raw_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = memcmp(a, b, n);
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* Unescape s[0..len) into w: a backslash followed by a byte of `set` is dropped (the byte
 * kept); any other backslash stays. Returns the end of what was written. */
static char *unescape_into(char *w, const char *s, size_t len, const char *set)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\\' && i + 1 < len && strchr(set, s[i + 1]) && s[i + 1] != '\0') {
            *w++ = s[i + 1];
            i++;
            continue;
        }
        *w++ = s[i];
    }
    return w;
}

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 16;
    while (nc < need) {
        if (nc > SIZE_MAX / 2 / elem)
            return -1;
        nc *= 2;
    }
    void *np = realloc(*arr, nc * elem);
    if (!np)
        return -1;
    *arr = np;
    *cap = nc;
    return 0;
}

static int has_nul(const char *s, size_t len)
{
    return memchr(s, '\0', len) != NULL;
}

int lp_parse(const char *line, size_t len, lp_precision prec, int64_t default_ns,
             lp_parsed *out, char *err, size_t errlen)
{
    if (!line || !out) {
        set_err(err, errlen, "no line or no output");
        return -1;
    }
    out->pt = (lp_point){0};
    if (len > LP_PARSE_MAX_LINE) {
        set_err(err, errlen, "line is longer than %zu bytes", LP_PARSE_MAX_LINE);
        return -1;
    }
    size_t s0 = 0;
    while (s0 < len && is_ws(line[s0]))
        s0++;
    if (s0 >= len || line[s0] == '#')
        return 0;
    if (line[len - 1] == '\n')
        len--;

    pctx c = {.b = line + s0, .n = len - s0, .base = s0, .err = err, .errlen = errlen};
    const char *b = c.b;
    size_t n = c.n;
    size_t i = 0;
    const char *why = NULL;

    /* -- scanMeasurement */
    if (n == 0 || b[0] == ',')
        return perr(&c, 0, "missing measurement");
    int to_tags;
    for (;;) {
        i++;
        if (i >= n)
            return perr(&c, i, "missing fields");
        if (b[i - 1] == '\\')
            continue;
        if (b[i] == ',') {
            to_tags = 1;
            i++;
            break;
        }
        if (b[i] == ' ') {
            to_tags = 0;
            break;
        }
    }
    size_t mend = to_tags ? i - 1 : i;

    /* -- scanTags: raw tag positions go into out->tags for now */
    size_t ntags = 0;
    if (to_tags) {
        for (;;) {
            size_t ks = i;
            if (i >= n || b[i] == ' ' || b[i] == ',' || b[i] == '=')
                return perr(&c, i, "missing tag key");
            for (;;) {
                i++;
                if (i >= n || ((b[i] == ' ' || b[i] == ',') && b[i - 1] != '\\'))
                    return perr(&c, i, "missing tag value");
                if (b[i] == '=' && b[i - 1] != '\\') {
                    i++;
                    break;
                }
            }
            size_t vs = i;
            if (i >= n || b[i] == ',' || b[i] == ' ')
                return perr(&c, i, "missing tag value");
            int more;
            for (;;) {
                i++;
                if (i >= n)
                    return perr(&c, i, "missing fields");
                if (b[i] == '=' && b[i - 1] != '\\')
                    return perr(&c, i, "invalid tag format");
                if (b[i] == ',' && b[i - 1] != '\\') {
                    more = 1;
                    break;
                }
                if (b[i] == ' ' && b[i - 1] != '\\') {
                    more = 0;
                    break;
                }
            }
            if (grow((void **)&out->tags, &out->tags_cap, ntags + 1, sizeof *out->tags) != 0) {
                set_err(err, errlen, "out of memory");
                return -1;
            }
            out->tags[ntags].key = b + ks;
            out->tags[ntags].value = b + vs;
            ntags++;
            if (!more)
                break;
            i++;
        }
    }
    size_t keyend = i; /* at the space before the fields */

    /* sort tags by their raw keys (the 1.x parser sorts the escaped text), reject duplicates */
    for (size_t a = 1; a < ntags; a++) {
        lp_tag x = out->tags[a];
        size_t xl = raw_tag_key_len(x.key, b + keyend);
        size_t j = a;
        while (j > 0) {
            const char *pk = out->tags[j - 1].key;
            if (raw_cmp(pk, raw_tag_key_len(pk, b + keyend), x.key, xl) <= 0)
                break;
            out->tags[j] = out->tags[j - 1];
            j--;
        }
        out->tags[j] = x;
    }
    for (size_t a = 1; a < ntags; a++) {
        const char *ka = out->tags[a - 1].key, *kb = out->tags[a].key;
        if (raw_cmp(ka, raw_tag_key_len(ka, b + keyend), kb, raw_tag_key_len(kb, b + keyend)) == 0)
            return perr(&c, (size_t)(kb - b), "duplicate tags");
    }
    if (keyend > LP_MAX_KEY)
        return perr(&c, 0, "max key length exceeded");

    /* -- scanFields */
    while (i < n && is_ws(b[i]))
        i++;
    size_t fs = i;
    int quoted = 0;
    size_t equals = 0, commas = 0;
    for (;;) {
        if (i >= n)
            break;
        if (b[i] == '\\' && i + 1 < n) {
            i += 2;
            continue;
        }
        if (b[i] == '"' && equals > commas) {
            quoted = !quoted;
            i++;
            continue;
        }
        if (b[i] == '=' && !quoted) {
            equals++;
            if (i >= 2 && b[i - 1] == ' ' && b[i - 2] != '\\')
                return perr(&c, i, "missing field key");
            if (i >= 2 && b[i - 1] == ',' && b[i - 2] != '\\')
                return perr(&c, i, "missing field key");
            if (i + 1 >= n)
                return perr(&c, i, "missing field value");
            char nx = b[i + 1];
            if (nx == ',' || nx == ' ')
                return perr(&c, i, "missing field value");
            if (is_numeric(nx) || nx == '-' || nx == 'N' || nx == 'n') {
                size_t e = scan_number(b, n, i + 1, &why);
                if (e == (size_t)-1)
                    return perr(&c, i + 1, why);
                i = e;
                continue;
            }
            if (nx != '"') {
                size_t e = scan_bool(b, n, i + 1);
                if (e == (size_t)-1)
                    return perr(&c, i + 1, "invalid boolean");
                i = e;
                continue;
            }
        }
        if (b[i] == ',' && !quoted)
            commas++;
        if (b[i] == ' ' && !quoted)
            break;
        i++;
    }
    if (quoted)
        return perr(&c, i, "unbalanced quotes");
    if (equals == 0 || commas != equals - 1)
        return perr(&c, fs, "invalid field format");
    size_t fe = i;

    /* -- scanTime */
    while (i < n && is_ws(b[i]))
        i++;
    size_t ts = i;
    for (;;) {
        if (i >= n || b[i] == '\n' || b[i] == ' ')
            break;
        if (i == ts && b[i] == '-') {
            i++;
            continue;
        }
        if (b[i] < '0' || b[i] > '9')
            return perr(&c, i, "bad timestamp");
        i++;
    }
    size_t te = i;
    int64_t mult = prec_mult(prec);
    int64_t t;
    if (te == ts) {
        /* the default time, truncated to the precision (time.Truncate: toward the past) */
        t = default_ns;
        int64_t mod = t % mult;
        if (mod < 0)
            mod += mult;
        if (mod && t >= INT64_MIN + mod)
            t -= mod;
    } else {
        int64_t v;
        if (parse_i64(b + ts, te - ts, &v) != 0)
            return perr(&c, ts, "invalid timestamp");
        if (mult == 1 || v == 0 || v == 1) {
            t = v * mult;
        } else {
            if (v == LP_MIN_NANO || __builtin_mul_overflow(v, mult, &t))
                return perr(&c, ts, "time outside range");
        }
        if (t < LP_MIN_NANO || t > LP_MAX_NANO)
            return perr(&c, ts, "time outside range");
        for (size_t k = te; k < n; k++)
            if (b[k] != ' ')
                return perr(&c, k, "invalid point: text after the timestamp");
    }

    /* -- the values, as the 1.x field iterator reads them */
    buf_reset(&out->scratch);
    if (buf_reserve(&out->scratch, 2 * n + 16) != 0) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    char *w = out->scratch.p; /* no further growth: pointers into it stay valid */

    if (has_nul(b, mend))
        return perr(&c, 0, "NUL byte in measurement");
    out->pt.measurement = w;
    w = unescape_into(w, b, mend, ",\" =");
    *w++ = '\0';

    for (size_t a = 0; a < ntags; a++) {
        const char *kr = out->tags[a].key, *vr = out->tags[a].value;
        size_t kl = raw_tag_key_len(kr, b + keyend), vl = raw_tag_value_len(vr, b + keyend);
        if (has_nul(kr, kl) || has_nul(vr, vl))
            return perr(&c, (size_t)(kr - b), "NUL byte in tag");
        out->tags[a].key = w;
        w = unescape_into(w, kr, kl, ", =");
        *w++ = '\0';
        out->tags[a].value = w;
        w = unescape_into(w, vr, vl, ", =");
        *w++ = '\0';
    }

    const char *f = b + fs;
    size_t flen = fe - fs, pos = 0, nfields = 0;
    while (pos < flen) {
        size_t k = pos;
        while (k < flen && !(f[k] == '=' && (k == 0 || f[k - 1] != '\\')))
            k++;
        if (k >= flen)
            return perr(&c, fs + pos, "invalid field format");
        size_t v = k + 1;
        int q = 0;
        while (v < flen) {
            if (f[v] == '\\' && v + 1 < flen && (f[v + 1] == '"' || f[v + 1] == '\\')) {
                v += 2;
                continue;
            }
            if (f[v] == '"') {
                v++;
                q = !q;
                continue;
            }
            if (f[v] == ',' && !q)
                break;
            v++;
        }
        const char *kr = f + pos, *vr = f + k + 1;
        size_t kl = k - pos, vl = v - (k + 1);
        size_t col = fs + k + 1;
        pos = v + 1;
        if (keyend + 4 + kl > LP_MAX_KEY)
            return perr(&c, fs + (size_t)(kr - f), "max key length exceeded");
        if (kl == 0 || vl == 0)
            continue; /* 1.x skips a field without key or value */
        if (has_nul(kr, kl))
            return perr(&c, fs + (size_t)(kr - f), "NUL byte in field key");

        lp_field fld = {0};
        char c0 = vr[0];
        if (c0 == '"') {
            if (vl < 2)
                return perr(&c, col, "invalid string");
            const char *sp = vr + 1;
            size_t sl = vl - 2;
            char *sw = w;
            for (size_t x = 0; x < sl; x++) {
                if (sp[x] == '\\' && x + 1 < sl && (sp[x + 1] == '\\' || sp[x + 1] == '"')) {
                    *w++ = sp[x + 1];
                    x++;
                    continue;
                }
                *w++ = sp[x];
            }
            fld.type = LP_STRING;
            fld.v.s.p = sw;
            fld.v.s.len = (size_t)(w - sw);
            *w++ = '\0';
        } else if (c0 && strchr("0123456789-.nNiIu", c0)) {
            char last = vr[vl - 1];
            if (last == 'i') {
                fld.type = LP_INT;
                if (parse_i64(vr, vl - 1, &fld.v.i) != 0)
                    return perr(&c, col, "invalid integer");
            } else if (last == 'u') {
                fld.type = LP_UINT;
                if (parse_u64(vr, vl - 1, &fld.v.u) != 0)
                    return perr(&c, col, "invalid unsigned integer");
            } else {
                fld.type = LP_FLOAT;
                if (parse_f64(vr, vl, &fld.v.f) != 0)
                    return perr(&c, col, "invalid float");
            }
        } else {
            fld.type = LP_BOOL;
            static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
            static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
            int found = 0;
            for (size_t x = 0; x < sizeof yes / sizeof *yes && !found; x++) {
                if (strlen(yes[x]) == vl && memcmp(yes[x], vr, vl) == 0) {
                    fld.v.b = true;
                    found = 1;
                } else if (strlen(no[x]) == vl && memcmp(no[x], vr, vl) == 0) {
                    fld.v.b = false;
                    found = 1;
                }
            }
            if (!found)
                return perr(&c, col, "invalid boolean");
        }
        /* the key last: it goes to scratch after the string value */
        fld.key = w;
        w = unescape_into(w, kr, kl, ",\" =");
        *w++ = '\0';
        if (grow((void **)&out->fields, &out->fields_cap, nfields + 1, sizeof *out->fields) != 0) {
            set_err(err, errlen, "out of memory");
            return -1;
        }
        out->fields[nfields++] = fld;
    }
    if (nfields == 0)
        return perr(&c, fs, "missing fields");

    out->scratch.len = (size_t)(w - out->scratch.p);
    out->pt.tags = out->tags;
    out->pt.ntags = ntags;
    out->pt.fields = out->fields;
    out->pt.nfields = nfields;
    out->pt.time_ns = t;
    out->pt.has_time = true;
    return 1;
}
