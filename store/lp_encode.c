/* lp_encode: points written as InfluxDB line protocol, the way InfluxDB 1.6.7 reads it back.
 *
 * Two passes over the point. The first checks everything that can make the point unstorable
 * and adds up an upper bound of its encoded size (check_measurement, check_tags,
 * check_fields, check_time, order_tags); the output buffer is grown once; the second writes
 * straight into it (put_name, write_tags, write_fields). Nothing else is allocated.
 * The rules are in lp.h; the parser is lp_parse.c.
 */
#include "lp_internal.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- precision */

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

/* ---------------------------------------------------------------- number writing */

static const char digits2[201] =
    "00010203040506070809101112131415161718192021222324"
    "25262728293031323334353637383940414243444546474849"
    "50515253545556575859606162636465666768697071727374"
    "75767778798081828384858687888990919293949596979899";

static const uint64_t pow10[20] = {
    UINT64_C(1), UINT64_C(10), UINT64_C(100), UINT64_C(1000), UINT64_C(10000),
    UINT64_C(100000), UINT64_C(1000000), UINT64_C(10000000), UINT64_C(100000000),
    UINT64_C(1000000000), UINT64_C(10000000000), UINT64_C(100000000000),
    UINT64_C(1000000000000), UINT64_C(10000000000000), UINT64_C(100000000000000),
    UINT64_C(1000000000000000), UINT64_C(10000000000000000),
    UINT64_C(100000000000000000), UINT64_C(1000000000000000000),
    UINT64_C(10000000000000000000),
};

/* The digits of v at o, written from the end: their number is known first (log10 from
 * the bit length: 1233/4096 is just above log10(2)), so nothing is copied twice. */
static size_t u64_to_dec(char *o, uint64_t v)
{
    if (v < 10) {
        *o = (char)('0' + v);
        return 1;
    }
    unsigned t = (unsigned)(64 - __builtin_clzll(v)) * 1233 >> 12;
    size_t n = t + (v >= pow10[t]);
    char *p = o + n;
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

/* The exponent printf wrote after an 'e': [+-]digits. */
static int printf_exp(const char *p)
{
    int neg = *p == '-';
    if (*p == '-' || *p == '+')
        p++;
    int e = 0;
    for (; *p >= '0' && *p <= '9'; p++)
        e = e * 10 + (*p - '0');
    return neg ? -e : e;
}

/* float_digits for a normal d > 0 from one printf: the 17-digit form, cut to 15 and 16
 * digits here. Rounding that already rounded text gives what printf gives for fewer digits
 * unless the digits cut off are exactly half a unit ("50" for 15 digits, "5" for 16): the
 * exact value lies within half a unit of the 17th digit of the text, so on the same side of
 * any other rounding boundary. Each candidate still has to read back as d (strtod), as in
 * float_digits. Returns the number of digits, 0 when a cut is such a tie (float_digits
 * then asks printf), or -1. */
static int float_digits_from17(double d, char *digs, int *dp)
{
    char tmp[40];
    int n = snprintf(tmp, sizeof tmp, "%.16e", d);
    if (n <= 0 || (size_t)n >= sizeof tmp || tmp[1] != '.' || tmp[18] != 'e')
        return -1;
    char d17[17]; /* tmp is D.DDDDDDDDDDDDDDDDe[+-]XX */
    d17[0] = tmp[0];
    memcpy(d17 + 1, tmp + 2, 16);
    int e = printf_exp(tmp + 19);
    for (int prec = 15; prec <= 17; prec++) {
        char c[17];
        int ce = e;
        memcpy(c, d17, (size_t)prec);
        if (prec < 17) {
            int cut = prec == 15 ? (d17[15] - '0') * 10 + (d17[16] - '0') : d17[16] - '0';
            int half = prec == 15 ? 50 : 5;
            if (cut == half)
                return 0;
            if (cut > half) { /* round up, carrying left; all nines become 1 and e + 1 */
                int k = prec - 1;
                while (k >= 0 && c[k] == '9')
                    c[k--] = '0';
                if (k >= 0) {
                    c[k]++;
                } else {
                    c[0] = '1';
                    ce++;
                }
            }
            /* read back: "D.DDDe-XXX" */
            char back[40], *b = back;
            *b++ = c[0];
            *b++ = '.';
            memcpy(b, c + 1, (size_t)prec - 1);
            b += prec - 1;
            *b++ = 'e';
            unsigned ae = ce < 0 ? (unsigned)-ce : (unsigned)ce; /* at most 309 */
            if (ce < 0)
                *b++ = '-';
            if (ae >= 100)
                *b++ = (char)('0' + ae / 100);
            if (ae >= 10)
                *b++ = (char)('0' + ae / 10 % 10);
            *b++ = (char)('0' + ae % 10);
            *b = '\0';
            if (strtod(back, NULL) != d)
                continue;
        }
        int nd = prec;
        while (nd > 1 && c[nd - 1] == '0')
            nd--;
        memcpy(digs, c, (size_t)nd);
        *dp = ce + 1;
        return nd;
    }
    return -1;
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
    if (d >= DBL_MIN) {
        int nd = float_digits_from17(d, digs, dp);
        if (nd != 0)
            return nd;
    }
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
        *dp = printf_exp(p + 1) + 1;
        while (nd > 1 && digs[nd - 1] == '0')
            nd--;
        return nd;
    }
    return -1;
}

/* float_digits of a normal d > 0 taken from t[0..n), a decimal that reads back as d
 * (lp_field.text, its sign already matched and skipped): digits and at most one '.', 15
 * significant digits or fewer. Such a decimal is the one float_digits finds: it lies within
 * half an ulp of d (2^-53 of it), and 15-digit decimals near d are at least 10^-15 of it
 * apart, so it is d's correctly rounded 15-digit form, padded with zeros, and it reads back.
 * (Subnormals are searched differently by float_digits: not taken here.) Returns the
 * number of digits, or 0 when t is not such a text. */
static int float_digits_text(double d, const char *t, size_t n, char *digs, int *dp)
{
    if (d < DBL_MIN || n == 0 || n > 64)
        return 0;
    int before = -1;   /* digits before the '.', once seen */
    int ndig = 0, first = -1, nd = 0;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (c == '.') {
            if (before >= 0)
                return 0;
            before = ndig;
            continue;
        }
        if (c < '0' || c > '9')
            return 0;
        if (first < 0 && c != '0')
            first = ndig;
        if (first >= 0) {
            if (nd >= 24)
                return 0;
            digs[nd++] = c;
        }
        ndig++;
    }
    if (first < 0 || ndig == 0)
        return 0;
    if (before < 0)
        before = ndig;
    while (nd > 1 && digs[nd - 1] == '0')
        nd--;
    if (nd > 15)
        return 0;
    *dp = before - first;
    return nd;
}

/* Go's strconv.FormatFloat(d, 'g', -1, 64): the shortest form, with an exponent when it is
 * below -4 or at least 6 (6.632243e+06, 1e-05, 0.0001, 123456). Any such text is read by
 * InfluxDB as a float (integers need the 'i' suffix). text[0..tlen): the decimal d was
 * read from, or NULL (lp_field.text). o needs 32 bytes. */
static size_t fmt_float(char *o, double d, const char *text, size_t tlen)
{
    char *w = o;
    bool neg = signbit(d);
    if (neg) {
        *w++ = '-';
        d = -d;
    }
    if (d == 0) {
        *w++ = '0';
        return (size_t)(w - o);
    }
    char digs[24];
    int dp = 0, nd = 0;
    if (text && tlen > 0 && (text[0] == '-') == neg)
        nd = float_digits_text(d, text + neg, tlen - neg, digs, &dp);
    if (nd <= 0)
        nd = float_digits(d, digs, &dp);
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
    C_HI = 128,    /* 0x80-0xff: checked to be valid UTF-8 */
    C_NUL = 256,   /* the end of a name */
};

static const unsigned short cls[256] = {
    [0] = C_NUL,
    ['\n'] = C_NL,
    ['\r'] = C_NL,
    [','] = C_MEAS | C_TAG,
    [' '] = C_MEAS | C_TAG,
    ['='] = C_TAG | C_MEAS_BS,
    ['"'] = C_STR | C_MEAS_BS | C_FKEY_BS,
    ['\\'] = C_STR | C_BS,
    [0x80 ... 0xff] = C_HI,
};

/* The end of the run of bytes from p that are copied as they are (the NUL has a class of
 * its own, so no byte after it is read). Four bytes a round. */
static inline const unsigned char *plain_run(const unsigned char *p)
{
    for (;; p += 4) {
        if (cls[p[0]])
            return p;
        if (cls[p[1]])
            return p + 1;
        if (cls[p[2]])
            return p + 2;
        if (cls[p[3]])
            return p + 3;
    }
}

/* Write the NUL-terminated name s escaped: bytes of class `esc` get a backslash, newlines/CRs
 * become an escaped space (counted in *nrep), bytes of class `after_bs` get a backslash when
 * the byte before them is a backslash (InfluxDB's unescaping would otherwise eat that
 * backslash); *saw_bs is set when a backslash was written. Needs at most 2*strlen(s) bytes
 * at w. Runs of plain bytes are copied whole (plain_run, lp_copy). Returns the end of what
 * was written, or NULL if s is not valid UTF-8 (InfluxDB would give back U+FFFD instead). */
static char *put_name_rest(char *w, const char *s, unsigned esc, unsigned after_bs,
                           size_t *nrep, int *saw_bs)
{
    const unsigned char *p = (const unsigned char *)s;
    int prev_bs = 0;
    for (;;) {
        const unsigned char *run = p;
        p = plain_run(p);
        if (p != run) {
            lp_copy(w, (const char *)run, (size_t)(p - run));
            w += p - run;
            prev_bs = 0;
        }
        unsigned char c = *p;
        if (c == 0)
            return w;
        unsigned k = cls[c];
        if (k & C_HI) {
            size_t n = util_utf8_seq((const char *)p, 4); /* stops at the NUL */
            if (n == 0)
                return NULL;
            memcpy(w, p, n);
            w += n;
            p += n;
            prev_bs = 0;
            continue;
        }
        p++;
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

/* put_name_rest behind a copy of the first run of plain bytes: most names are nothing else,
 * and are then written by one copy without the call. */
static inline char *put_name(char *w, const char *s, unsigned esc, unsigned after_bs,
                             size_t *nrep, int *saw_bs)
{
    const unsigned char *p = (const unsigned char *)s, *e = plain_run(p);
    lp_copy(w, (const char *)p, (size_t)(e - p));
    w += e - p;
    if (*e == 0)
        return w;
    return put_name_rest(w, (const char *)e, esc, after_bs, nrep, saw_bs);
}

/* A string field value, quoted and escaped; NULL if it is not valid UTF-8. */
static char *put_string_value(char *w, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *e = p + len;
    *w++ = '"';
    while (p < e) {
        unsigned char c = *p;
        if (cls[c] & C_HI) {
            size_t n = util_utf8_seq((const char *)p, (size_t)(e - p));
            if (n == 0)
                return NULL;
            memcpy(w, p, n);
            w += n;
            p += n;
            continue;
        }
        p++;
        if (cls[c] & C_STR)
            *w++ = '\\';
        *w++ = (char)c;
    }
    *w++ = '"';
    return w;
}

/* Order of tag keys as InfluxDB sorts them (bytewise), with newline/CR compared as the
 * space they will be written as. */
static int name_cmp_all(const char *a, const char *b)
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

/* name_cmp_all, with the usual answer first: two names that differ in their first byte,
 * neither a control byte (so no newline or CR to read as a space), compare by it. */
static inline int name_cmp(const char *a, const char *b)
{
    unsigned char x = (unsigned char)a[0], y = (unsigned char)b[0];
    if (x != y && x > '\r' && y > '\r')
        return x < y ? -1 : 1;
    return name_cmp_all(a, b);
}

static unsigned char nl_as_space(char c)
{
    return c == '\n' || c == '\r' ? ' ' : (unsigned char)c;
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


/* ---------------------------------------------------------------- pass 1: check and bound */

/* What pass 1 learns about a point and pass 2 needs. */
typedef struct enc_plan {
    size_t mlen;      /* strlen(measurement) */
    size_t need;      /* upper bound of the encoded line, '\n' included */
    size_t nused;     /* tags with a value (the ones written) */
    int sorted;       /* the used tags are already in InfluxDB's order */
    size_t *order;    /* else: their indexes sorted, when they fit order_stack; NULL otherwise */
    uint64_t tag_first[4]; /* a bit for each first byte of a used tag key (newline as ' '):
                              a field key whose first byte is not here names no tag */
    size_t order_stack[LP_SORT_STACK];
} enc_plan;

static int check_measurement(const char *m, enc_plan *pl, char *err, size_t errlen)
{
    char show_tmp[64];
    size_t mlen = m ? strlen(m) : 0;
    if (mlen == 0) {
        lp_set_err(err, errlen, "empty measurement");
        return -1;
    }
    const char *why = name_problem(m, mlen, NAME_MEASUREMENT);
    if (why) {
        lp_set_err(err, errlen, "measurement \"%s\": %s", lp_show(show_tmp, sizeof show_tmp, m, mlen),
                   why);
        return -1;
    }
    if (m[0] == '#' || m[0] == '\t') {
        lp_set_err(err, errlen, "measurement \"%s\": starts with %s, which InfluxDB 1.x skips",
                   lp_show(show_tmp, sizeof show_tmp, m, mlen),
                   m[0] == '#' ? "'#' (a comment line)" : "a tab");
        return -1;
    }
    pl->mlen = mlen;
    pl->need = 2 * mlen + 1 /* ' ' */ + 1 /* '\n' */;
    return 0;
}

static int check_tags(const lp_point *p, enc_plan *pl, char *err, size_t errlen)
{
    char show_tmp[64];
    const char *why;
    const lp_tag *prev = NULL;
    pl->sorted = 1;
    pl->nused = 0;
    memset(pl->tag_first, 0, sizeof pl->tag_first);
    for (size_t i = 0; i < p->ntags; i++) {
        const lp_tag *t = &p->tags[i];
        size_t klen = t->key ? strlen(t->key) : 0;
        if (klen == 0) {
            lp_set_err(err, errlen, "tag %zu: empty key", i);
            return -1;
        }
        if (!tag_used(t))
            continue; /* an empty tag value is dropped, as InfluxDB 1.x does */
        size_t vlen = strlen(t->value);
        if (klen == 4 && memcmp(t->key, "time", 4) == 0) {
            lp_set_err(err, errlen, "tag key \"time\": InfluxDB 1.x drops a point with it");
            return -1;
        }
        if ((why = name_problem(t->key, klen, NAME_TAG))) {
            lp_set_err(err, errlen, "tag key \"%s\": %s",
                       lp_show(show_tmp, sizeof show_tmp, t->key, klen), why);
            return -1;
        }
        if ((why = name_problem(t->value, vlen, NAME_TAG))) {
            lp_set_err(err, errlen, "tag \"%s\": value %s",
                       lp_show(show_tmp, sizeof show_tmp, t->key, klen), why);
            return -1;
        }
        pl->need += 2 * (klen + vlen) + 2;
        if (prev && name_cmp(prev->key, t->key) >= 0)
            pl->sorted = 0;
        prev = t;
        pl->nused++;
        unsigned char c0 = nl_as_space(t->key[0]);
        pl->tag_first[c0 >> 6] |= UINT64_C(1) << (c0 & 63);
    }
    return 0;
}

/* One field: its key and its value; adds its bound to pl->need. */
static int check_field(const lp_field *f, size_t i, enc_plan *pl, char *err, size_t errlen)
{
    char show_tmp[64];
    const char *why;
    size_t klen = f->key ? strlen(f->key) : 0;
    if (klen == 0) {
        lp_set_err(err, errlen, "field %zu: empty key", i);
        return -1;
    }
    if (f->key[0] == '\t')
        why = "starts with a tab, which InfluxDB 1.x skips";
    else if (klen == 4 && memcmp(f->key, "time", 4) == 0)
        why = "InfluxDB 1.x drops a field named \"time\"";
    else
        why = name_problem(f->key, klen, NAME_FIELD_KEY);
    if (why) {
        lp_set_err(err, errlen, "field key \"%s\": %s",
                   lp_show(show_tmp, sizeof show_tmp, f->key, klen), why);
        return -1;
    }
    pl->need += 2 * klen + 2;
    switch (f->type) {
    case LP_FLOAT:
        if (isnan(f->v.f) || isinf(f->v.f)) {
            lp_set_err(err, errlen, "field \"%s\": %s cannot be stored",
                       lp_show(show_tmp, sizeof show_tmp, f->key, klen),
                       isnan(f->v.f) ? "NaN" : (f->v.f > 0 ? "+Inf" : "-Inf"));
            return -1;
        }
        pl->need += 32;
        return 0;
    case LP_INT:
        pl->need += 21;
        return 0;
    case LP_UINT:
        if (f->v.u > (uint64_t)INT64_MAX) {
            lp_set_err(err, errlen,
                       "field \"%s\": unsigned value %" PRIu64
                       " does not fit in InfluxDB 1.x's signed 64-bit integers",
                       lp_show(show_tmp, sizeof show_tmp, f->key, klen), f->v.u);
            return -1;
        }
        pl->need += 21;
        return 0;
    case LP_STRING:
        if (f->v.s.len && !f->v.s.p) {
            lp_set_err(err, errlen, "field \"%s\": string value is NULL",
                       lp_show(show_tmp, sizeof show_tmp, f->key, klen));
            return -1;
        }
        if (f->v.s.len > (SIZE_MAX - pl->need) / 2 - 4) {
            lp_set_err(err, errlen, "field \"%s\": string too long",
                       lp_show(show_tmp, sizeof show_tmp, f->key, klen));
            return -1;
        }
        pl->need += 2 * f->v.s.len + 2;
        return 0;
    case LP_BOOL:
        pl->need += 5;
        return 0;
    }
    lp_set_err(err, errlen, "field \"%s\": unknown type %d",
               lp_show(show_tmp, sizeof show_tmp, f->key, klen), (int)f->type);
    return -1;
}

static int check_fields(const lp_point *p, enc_plan *pl, char *err, size_t errlen)
{
    char show_tmp[64], show_tmp2[64];
    if (p->nfields == 0 || !p->fields) {
        lp_set_err(err, errlen, "point has no fields");
        return -1;
    }
    for (size_t i = 0; i < p->nfields; i++) {
        const lp_field *f = &p->fields[i];
        if (check_field(f, i, pl, err, errlen) != 0)
            return -1;
        /* A repeated field key would come back as one field. */
        for (size_t j = 0; j < i; j++) {
            if (name_cmp(p->fields[j].key, f->key) == 0) {
                lp_set_err(err, errlen, "field \"%s\": duplicate key",
                           lp_show(show_tmp, sizeof show_tmp, f->key, strlen(f->key)));
                return -1;
            }
        }
        /* InfluxDB 3 rejects a point whose tag and field share a name (1.x would store
         * both, and a query would see only one). */
        unsigned char c0 = nl_as_space(f->key[0]);
        if (!(pl->tag_first[c0 >> 6] & (UINT64_C(1) << (c0 & 63))))
            continue;
        for (size_t j = 0; j < p->ntags; j++) {
            const lp_tag *t = &p->tags[j];
            if (nl_as_space(t->key[0]) == c0 && tag_used(t) && name_cmp(t->key, f->key) == 0) {
                lp_set_err(err, errlen,
                           "tag \"%s\" and field \"%s\" have the same key; InfluxDB 3 refuses "
                           "such a point (rename one)",
                           lp_show(show_tmp, sizeof show_tmp, t->key, strlen(t->key)),
                           lp_show(show_tmp2, sizeof show_tmp2, f->key, strlen(f->key)));
                return -1;
            }
        }
    }
    return 0;
}

static int check_time(const lp_point *p, int64_t mult, enc_plan *pl, char *err, size_t errlen)
{
    if (!p->has_time)
        return 0;
    if (mult == 1 && (p->time_ns < LP_MIN_NANO || p->time_ns > LP_MAX_NANO)) {
        lp_set_err(err, errlen, "time %" PRId64 " is outside InfluxDB's range", p->time_ns);
        return -1;
    }
    pl->need += 1 + 20;
    return 0;
}

/* Tag order: as given when already sorted (the cheap, usual path), else sorted here into
 * pl->order when they fit the stack (duplicates found now), else left to write_tags. */
static int order_tags(const lp_point *p, enc_plan *pl, char *err, size_t errlen)
{
    char show_tmp[64];
    pl->order = NULL;
    if (pl->sorted || pl->nused > LP_SORT_STACK)
        return 0;
    size_t *order = pl->order_stack, n = 0;
    for (size_t i = 0; i < p->ntags; i++)
        if (tag_used(&p->tags[i]))
            order[n++] = i;
    for (size_t i = 1; i < n; i++) {
        size_t x = order[i], j = i;
        while (j > 0 && name_cmp(p->tags[order[j - 1]].key, p->tags[x].key) > 0) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = x;
    }
    /* duplicates are adjacent after sorting */
    for (size_t i = 1; i < n; i++) {
        const char *k = p->tags[order[i]].key;
        if (name_cmp(p->tags[order[i - 1]].key, k) == 0) {
            lp_set_err(err, errlen, "tag \"%s\": duplicate key",
                       lp_show(show_tmp, sizeof show_tmp, k, strlen(k)));
            return -1;
        }
    }
    pl->order = order;
    return 0;
}

/* ---------------------------------------------------------------- pass 2: write */

typedef struct enc_out {
    char *w;       /* where the next byte goes */
    size_t nrep;   /* newlines/CRs replaced */
    int saw_bs;    /* a backslash was written in a name */
} enc_out;

/* The error for a name or value s that is not valid UTF-8: `<what> "<name>"<suffix> not
 * valid UTF-8 (byte N)...`, suffix ":" for a name, ": value is" for a value. */
static int utf8_err(const char *what, const char *name, const char *suffix, const char *s,
                    size_t len, char *err, size_t errlen)
{
    char show_tmp[64];
    lp_set_err(err, errlen, "%s \"%s\"%s not valid UTF-8 (byte %zu); InfluxDB would give back "
               "U+FFFD instead", what, lp_show(show_tmp, sizeof show_tmp, name, strlen(name)),
               suffix, lp_utf8_bad(s, len) + 1);
    return -1;
}

static int write_tag(enc_out *o, const lp_tag *t, char *err, size_t errlen)
{
    *o->w++ = ',';
    char *w = put_name(o->w, t->key, C_TAG, 0, &o->nrep, &o->saw_bs);
    if (!w)
        return utf8_err("tag key", t->key, ":", t->key, strlen(t->key), err, errlen);
    *w++ = '=';
    o->w = put_name(w, t->value, C_TAG, 0, &o->nrep, &o->saw_bs);
    if (!o->w)
        return utf8_err("tag", t->key, ": value is", t->value, strlen(t->value), err, errlen);
    return 0;
}

static int write_tags(const lp_point *p, const enc_plan *pl, enc_out *o, char *err,
                      size_t errlen)
{
    if (pl->sorted) {
        for (size_t i = 0; i < p->ntags; i++)
            if (tag_used(&p->tags[i]) && write_tag(o, &p->tags[i], err, errlen) != 0)
                return -1;
        return 0;
    }
    if (pl->order) {
        for (size_t i = 0; i < pl->nused; i++)
            if (write_tag(o, &p->tags[pl->order[i]], err, errlen) != 0)
                return -1;
        return 0;
    }
    /* Many unsorted tags: pick the next smallest key each time (no allocation). */
    char show_tmp[64];
    const lp_tag *last = NULL;
    for (size_t n = 0; n < pl->nused; n++) {
        const lp_tag *best = NULL;
        for (size_t i = 0; i < p->ntags; i++) {
            const lp_tag *t = &p->tags[i];
            if (!tag_used(t) || t == last)
                continue;
            if (last) {
                int c = name_cmp(t->key, last->key);
                if (c == 0) {
                    lp_set_err(err, errlen, "tag \"%s\": duplicate key",
                               lp_show(show_tmp, sizeof show_tmp, t->key, strlen(t->key)));
                    return -1;
                }
                if (c < 0)
                    continue;
            }
            if (!best || name_cmp(t->key, best->key) < 0)
                best = t;
        }
        if (!best)
            break;
        if (write_tag(o, best, err, errlen) != 0)
            return -1;
        last = best;
    }
    return 0;
}

/* The value of f at w; NULL if it is a string that is not valid UTF-8. */
static char *write_value(char *w, const lp_field *f)
{
    switch (f->type) {
    case LP_FLOAT:
        w += fmt_float(w, f->v.f, f->text, f->text_len);
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
    case LP_BOOL: {
        size_t n = f->v.b ? 4 : 5;
        memcpy(w, f->v.b ? "true" : "false", n);
        w += n;
        break;
    }
    }
    return w;
}

/* The fields after the series key of keylen bytes (each field key counts towards 1.x's
 * key length limit). */
static int write_fields(const lp_point *p, size_t keylen, enc_out *o, char *err, size_t errlen)
{
    char show_tmp[64];
    for (size_t i = 0; i < p->nfields; i++) {
        const lp_field *f = &p->fields[i];
        if (i)
            *o->w++ = ',';
        char *ks = o->w;
        o->w = put_name(o->w, f->key, C_TAG, C_FKEY_BS, &o->nrep, &o->saw_bs);
        if (!o->w)
            return utf8_err("field key", f->key, ":", f->key, strlen(f->key), err, errlen);
        if (keylen + 4 + (size_t)(o->w - ks) > LP_MAX_KEY) {
            lp_set_err(err, errlen, "field \"%s\": series key + field key exceed %d bytes",
                       lp_show(show_tmp, sizeof show_tmp, f->key, strlen(f->key)), LP_MAX_KEY);
            return -1;
        }
        *o->w++ = '=';
        o->w = write_value(o->w, f);
        if (!o->w)
            return utf8_err("field", f->key, ": string value is", f->v.s.p, f->v.s.len, err,
                            errlen);
    }
    return 0;
}

/* ---------------------------------------------------------------- the last series key */

/* A source writes a series' points one after another (prom-metrics: every sample of a
 * series; cluster-metrics: every field set of a pod), and the series key of each is the
 * same: checking, ordering and escaping its measurement and tags again is a fifth of the
 * encoder's work. The cache keeps the last key encoded, with what it was made from. */
struct lp_keycache {
    buf names;             /* the measurement and tags as given: "m\0", then per tag "k\0" and
                              "\1v\0" (used) or "\0" (no value: not written) */
    buf key;               /* the key written for them */
    size_t ntags;
    size_t need;           /* the key's part of pass 1's bound */
    size_t nrep;           /* newlines/CRs the key replaced */
    int saw_bs;            /* the key holds a backslash */
    uint64_t tag_first[4]; /* as enc_plan's */
    bool valid;
};

lp_keycache *lp_keycache_new(void)
{
    lp_keycache *kc = calloc(1, sizeof *kc);
    if (!kc)
        return NULL;
    buf_init(&kc->names, (size_t)LP_MAX_KEY * 4 + 1024);
    buf_init(&kc->key, (size_t)LP_MAX_KEY + 1);
    return kc;
}

void lp_keycache_free(lp_keycache *kc)
{
    if (!kc)
        return;
    buf_free(&kc->names);
    buf_free(&kc->key);
    free(kc);
}

/* s equals the NUL-terminated name at n: the byte after n's NUL, else NULL. */
static const char *kc_same_str(const char *n, const char *end, const char *s)
{
    while (n < end && *s && *n == *s) {
        n++;
        s++;
    }
    return n < end && *n == '\0' && *s == '\0' ? n + 1 : NULL;
}

/* p's measurement and tags are the cached ones, byte for byte and in the same order. */
static bool kc_hit(const lp_keycache *kc, const lp_point *p)
{
    if (!kc || !kc->valid || p->ntags != kc->ntags || !p->measurement ||
        (p->ntags && !p->tags))
        return false;
    const char *n = kc->names.p, *end = n + kc->names.len;
    if (!(n = kc_same_str(n, end, p->measurement)))
        return false;
    for (size_t i = 0; i < p->ntags; i++) {
        const lp_tag *t = &p->tags[i];
        if (!t->key || !(n = kc_same_str(n, end, t->key)) || n >= end)
            return false;
        if (!tag_used(t)) {
            if (*n++ != '\0')
                return false;
        } else if (*n != '\1' || !(n = kc_same_str(n + 1, end, t->value))) {
            return false;
        }
    }
    return n == end;
}

/* Remember key[keylen], the key just written for p (pass 1's plan pl, key_need its bound,
 * o the writer after it). Out of memory: the cache is left empty. */
static void kc_keep(lp_keycache *kc, const lp_point *p, const enc_plan *pl, size_t key_need,
                    const char *key, size_t keylen, const enc_out *o)
{
    kc->valid = false;
    buf_reset(&kc->names);
    buf_reset(&kc->key);
    int rc = buf_add(&kc->names, p->measurement, strlen(p->measurement) + 1);
    for (size_t i = 0; rc == 0 && i < p->ntags; i++) {
        const lp_tag *t = &p->tags[i];
        rc = buf_add(&kc->names, t->key, strlen(t->key) + 1);
        if (rc == 0 && tag_used(t))
            rc = buf_addc(&kc->names, '\1') == 0 ? buf_add(&kc->names, t->value,
                                                          strlen(t->value) + 1)
                                                 : -1;
        else if (rc == 0)
            rc = buf_addc(&kc->names, '\0');
    }
    if (rc != 0 || buf_add(&kc->key, key, keylen) != 0)
        return;
    kc->ntags = p->ntags;
    kc->need = key_need;
    kc->nrep = o->nrep;
    kc->saw_bs = o->saw_bs;
    memcpy(kc->tag_first, pl->tag_first, sizeof kc->tag_first);
    kc->valid = true;
}

int lp_encode(const lp_point *p, lp_precision prec, buf *out, size_t *replaced, char *err,
              size_t errlen)
{
    return lp_encode_kc(NULL, p, prec, out, replaced, err, errlen);
}

int lp_encode_kc(lp_keycache *kc, const lp_point *p, lp_precision prec, buf *out,
                 size_t *replaced, char *err, size_t errlen)
{
    if (!p || !out) {
        lp_set_err(err, errlen, "no point or no output buffer");
        return -1;
    }
    int64_t mult = lp_prec_mult(prec);
    enc_plan pl;
    bool hit = kc_hit(kc, p);
    size_t key_need;
    if (hit) {
        /* the measurement and tags passed every check when the key was made */
        pl.need = key_need = kc->need;
        memcpy(pl.tag_first, kc->tag_first, sizeof pl.tag_first);
    } else {
        if (check_measurement(p->measurement, &pl, err, errlen) != 0 ||
            check_tags(p, &pl, err, errlen) != 0)
            return -1;
        key_need = pl.need;
    }
    if (check_fields(p, &pl, err, errlen) != 0 || check_time(p, mult, &pl, err, errlen) != 0 ||
        (!hit && order_tags(p, &pl, err, errlen) != 0))
        return -1;

    /* room first: a full buffer refuses the point and keeps what it holds (a failed
     * buf_reserve would free it: buf.h) */
    if (out->failed || pl.need > out->max || out->len > out->max - pl.need) {
        lp_set_err(err, errlen, "output buffer full (a point needs up to %zu bytes)", pl.need);
        return -1;
    }
    if (buf_reserve(out, pl.need) != 0) {
        lp_set_err(err, errlen, "out of memory (a point needs up to %zu bytes)", pl.need);
        return -1;
    }
    char *const start = out->p + out->len;
    enc_out o = {.w = start};
    size_t keylen;
    if (hit) {
        memcpy(start, kc->key.p, kc->key.len);
        o.w = start + kc->key.len;
        o.nrep = kc->nrep;
        o.saw_bs = kc->saw_bs;
        keylen = kc->key.len;
    } else {
        o.w = put_name(o.w, p->measurement, C_MEAS, 0, &o.nrep, &o.saw_bs);
        if (!o.w) {
            o.w = start;
            utf8_err("measurement", p->measurement, ":", p->measurement, pl.mlen, err, errlen);
            goto fail;
        }
        if (write_tags(p, &pl, &o, err, errlen) != 0)
            goto fail;
        keylen = (size_t)(o.w - start);
        if (keylen > LP_MAX_KEY) {
            lp_set_err(err, errlen, "series key is %zu bytes, InfluxDB 1.x allows %d", keylen,
                       LP_MAX_KEY);
            goto fail;
        }
        if (kc)
            kc_keep(kc, p, &pl, key_need, start, keylen, &o);
    }
    *o.w++ = ' ';
    if (write_fields(p, keylen, &o, err, errlen) != 0)
        goto fail;
    if (p->has_time) {
        *o.w++ = ' ';
        o.w += i64_to_dec(o.w, p->time_ns / mult); /* C division truncates toward zero */
    }
    *o.w++ = '\n';
    /* A backslash written before an escaped byte (a name holding "\\ ", say) pairs up
     * differently in 1.x's line splitter than in its parser; make sure this line still ends
     * where it should and does not swallow the next one. */
    size_t linelen = (size_t)(o.w - start);
    if (o.saw_bs && lp_line_len(start, linelen) != linelen - 1) {
        lp_set_err(err, errlen, "names with backslashes before escaped characters would make "
                                "InfluxDB 1.x split this line wrongly");
        goto fail;
    }
    out->len = (size_t)(o.w - out->p);
    *o.w = '\0';
    if (replaced)
        *replaced += o.nrep;
    return 0;

fail:
    start[0] = '\0'; /* out->len unchanged: the buffer reads as it did before */
    return -1;
}
