/* prom_parse: a strict, tree-less reader of Prometheus query answers (see prom.h). */
#include "prom.h"

#include "../../runtime/errf.h"
#include "../../runtime/util.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEPTH_MAX 64

/* The reader: body[len], a cursor, and the first error. */
typedef struct rd {
    const char *p;
    size_t len;
    size_t pos;
    char *err;
    size_t errlen;
    int failed;
} rd;

/* One series' labels while it is being read: names and values live in `text`, as offsets
 * until the series is complete (text may move as it grows). */
typedef struct lbls {
    buf text;
    size_t off[PROM_LABELS_MAX][2];
    prom_label v[PROM_LABELS_MAX];
    size_t n;
} lbls;

typedef struct walk {
    rd r;
    prom_sample_fn fn;
    void *ctx;
    prom_parse_result *res;
    lbls *l;
    uint64_t labels_id;   /* the labels' serial (prom_sample_fn): 1, 2, ... per parse */
    int stopped;
} walk;

const char *prom_rtype_name(prom_rtype t)
{
    switch (t) {
    case PROM_R_VECTOR: return "vector";
    case PROM_R_MATRIX: return "matrix";
    case PROM_R_SCALAR: return "scalar";
    case PROM_R_STRING: return "string";
    default: return "none";
    }
}

/* Record the first error at byte `at` as "line L, column C: reason". */
static void fail_at(rd *r, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail_at(rd *r, size_t at, const char *fmt, ...)
{
    if (r->failed)
        return;
    r->failed = 1;
    if (!r->err || r->errlen == 0)
        return;
    size_t line = 1, col = 1;
    if (at > r->len)
        at = r->len;
    for (size_t i = 0; i < at; i++) {
        if (r->p[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        msg[0] = '\0';
    n = snprintf(r->err, r->errlen, "line %zu, column %zu: %s", line, col, msg);
    if (n < 0)
        r->err[0] = '\0';
    errf_oneline(r->err);   /* a quoted value may hold a decoded newline */
}

static void ws(rd *r)
{
    while (r->pos < r->len) {
        char c = r->p[r->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        r->pos++;
    }
}

/* The next significant byte (after whitespace), or 0 at the end. */
static char peek(rd *r)
{
    ws(r);
    if (r->pos < r->len)
        return r->p[r->pos];
    return '\0';
}

static const char *what(rd *r)
{
    return r->pos < r->len ? "" : " (end of input)";
}

static int expect(rd *r, char c, const char *ctx)
{
    if (peek(r) != c) {
        fail_at(r, r->pos, "expected '%c' %s%s", c, ctx, what(r));
        return -1;
    }
    r->pos++;
    return 0;
}

static int read_u4(rd *r, size_t at, unsigned *out)
{
    if (at + 4 > r->len)
        return -1;
    unsigned v = 0;
    for (size_t i = 0; i < 4; i++) {
        int h = util_hexval(r->p[at + i]);
        if (h < 0)
            return -1;
        v = v * 16 + (unsigned)h;
    }
    *out = v;
    return 0;
}

static int put_utf8(buf *b, unsigned cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return buf_add(b, u, n);
}

/* Read a JSON string at the cursor. With out == NULL it is only checked. Without escapes
 * the raw span is given in *raw and *rawlen as well (NULL when it had escapes). Unescaped text
 * goes to out (appended, NUL-terminated by buf), at most `max` bytes. */
static int str(rd *r, buf *out, size_t max, const char **raw, size_t *rawlen)
{
    if (raw)
        *raw = NULL;
    if (peek(r) != '"') {
        fail_at(r, r->pos, "expected a string%s", what(r));
        return -1;
    }
    size_t start = ++r->pos, added = 0;
    int escaped = 0;
    while (r->pos < r->len) {
        unsigned char c = (unsigned char)r->p[r->pos];
        if (c == '"') {
            if (raw && !escaped) {
                *raw = r->p + start;
                *rawlen = r->pos - start;
            }
            r->pos++;
            return 0;
        }
        if (c < 0x20) {
            fail_at(r, r->pos, "control character 0x%02x inside a string", c);
            return -1;
        }
        if (c != '\\') {
            size_t run = r->pos;
            while (run < r->len && r->p[run] != '"' && r->p[run] != '\\' &&
                   (unsigned char)r->p[run] >= 0x20)
                run++;
            if (out) {
                if (added + (run - r->pos) > max)
                    goto toolong;
                if (buf_add(out, r->p + r->pos, run - r->pos) != 0)
                    goto oom;
            }
            added += run - r->pos;
            r->pos = run;
            continue;
        }
        escaped = 1;
        size_t at = r->pos;
        if (r->pos + 1 >= r->len)
            break;
        char e = r->p[r->pos + 1];
        char lit = 0;
        unsigned cp = 0;
        switch (e) {
        case '"': lit = '"'; break;
        case '\\': lit = '\\'; break;
        case '/': lit = '/'; break;
        case 'b': lit = '\b'; break;
        case 'f': lit = '\f'; break;
        case 'n': lit = '\n'; break;
        case 'r': lit = '\r'; break;
        case 't': lit = '\t'; break;
        case 'u':
            if (read_u4(r, r->pos + 2, &cp) != 0) {
                fail_at(r, at, "invalid \\u escape");
                return -1;
            }
            r->pos += 6;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;
                if (r->pos + 1 < r->len && r->p[r->pos] == '\\' && r->p[r->pos + 1] == 'u' &&
                    read_u4(r, r->pos + 2, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    r->pos += 6;
                } else {
                    fail_at(r, at, "unpaired surrogate in \\u escape");
                    return -1;
                }
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                fail_at(r, at, "unpaired surrogate in \\u escape");
                return -1;
            }
            if (cp == 0) {
                fail_at(r, at, "\\u0000 inside a string");
                return -1;
            }
            if (out) {
                if (added + 4 > max)
                    goto toolong;
                if (put_utf8(out, cp) != 0)
                    goto oom;
            }
            added += 4;
            continue;
        default:
            fail_at(r, at, "invalid escape '\\%c'", e);
            return -1;
        }
        r->pos += 2;
        if (out) {
            if (added + 1 > max)
                goto toolong;
            if (buf_addc(out, lit) != 0)
                goto oom;
        }
        added++;
    }
    fail_at(r, start - 1, "unterminated string");
    return -1;
toolong:
    fail_at(r, start - 1, "string longer than %zu bytes", max);
    return -1;
oom:
    fail_at(r, start - 1, "out of memory");
    return -1;
}

/* Read a JSON number at the cursor; its text in *s and *n. */
static int num(rd *r, const char **s, size_t *n)
{
    ws(r);
    size_t i = r->pos, start = r->pos;
    if (i < r->len && r->p[i] == '-')
        i++;
    if (i >= r->len || r->p[i] < '0' || r->p[i] > '9')
        goto bad;
    if (r->p[i] == '0') {
        i++;
    } else {
        while (i < r->len && r->p[i] >= '0' && r->p[i] <= '9')
            i++;
    }
    if (i < r->len && r->p[i] == '.') {
        i++;
        if (i >= r->len || r->p[i] < '0' || r->p[i] > '9')
            goto bad;
        while (i < r->len && r->p[i] >= '0' && r->p[i] <= '9')
            i++;
    }
    if (i < r->len && (r->p[i] == 'e' || r->p[i] == 'E')) {
        i++;
        if (i < r->len && (r->p[i] == '+' || r->p[i] == '-'))
            i++;
        if (i >= r->len || r->p[i] < '0' || r->p[i] > '9')
            goto bad;
        while (i < r->len && r->p[i] >= '0' && r->p[i] <= '9')
            i++;
    }
    *s = r->p + start;
    *n = i - start;
    r->pos = i;
    return 0;
bad:
    fail_at(r, start, "expected a number%s", what(r));
    return -1;
}

static int lit(rd *r, const char *word)
{
    size_t n = strlen(word);
    if (r->len - r->pos < n || memcmp(r->p + r->pos, word, n) != 0) {
        fail_at(r, r->pos, "invalid literal");
        return -1;
    }
    r->pos += n;
    return 0;
}

/* Check any value and move past it. */
static int skip(rd *r, int depth)
{
    if (depth > DEPTH_MAX) {
        fail_at(r, r->pos, "nested deeper than %d", DEPTH_MAX);
        return -1;
    }
    char c = peek(r);
    const char *s;
    size_t n;
    switch (c) {
    case '"':
        return str(r, NULL, 0, NULL, NULL);
    case '{':
        r->pos++;
        if (peek(r) == '}') {
            r->pos++;
            return 0;
        }
        for (;;) {
            if (str(r, NULL, 0, NULL, NULL) || expect(r, ':', "after an object key") ||
                skip(r, depth + 1))
                return -1;
            c = peek(r);
            r->pos++;
            if (c == '}')
                return 0;
            if (c != ',') {
                fail_at(r, r->pos - 1, "expected ',' or '}' in an object%s", what(r));
                return -1;
            }
        }
    case '[':
        r->pos++;
        if (peek(r) == ']') {
            r->pos++;
            return 0;
        }
        for (;;) {
            if (skip(r, depth + 1))
                return -1;
            c = peek(r);
            r->pos++;
            if (c == ']')
                return 0;
            if (c != ',') {
                fail_at(r, r->pos - 1, "expected ',' or ']' in an array%s", what(r));
                return -1;
            }
        }
    case 't':
        return lit(r, "true");
    case 'f':
        return lit(r, "false");
    case 'n':
        return lit(r, "null");
    default:
        return num(r, &s, &n);
    }
}

/* Object iteration: call after '{' was consumed. 1 a key follows (read into key[cap],
 * cut; the ':' consumed), 0 the object ended, -1 error. `first` tracks the comma. */
static int obj_next(rd *r, int *first, char *key, size_t cap)
{
    char c = peek(r);
    if (*first) {
        *first = 0;
        if (c == '}') {
            r->pos++;
            return 0;
        }
    } else {
        if (c == '}') {
            r->pos++;
            return 0;
        }
        if (c != ',') {
            fail_at(r, r->pos, "expected ',' or '}' in an object%s", what(r));
            return -1;
        }
        r->pos++;
    }
    const char *raw;
    size_t rawlen;
    if (str(r, NULL, 0, &raw, &rawlen))
        return -1;
    if (raw && rawlen < cap) {
        memcpy(key, raw, rawlen);
        key[rawlen] = '\0';
    } else {
        key[0] = '\0';   /* long or escaped: no key we know */
    }
    if (expect(r, ':', "after an object key"))
        return -1;
    return 1;
}

/* Array iteration: after '[' was consumed. 1 an element follows, 0 the array ended. */
static int arr_next(rd *r, int *first)
{
    char c = peek(r);
    if (*first) {
        *first = 0;
        if (c == ']') {
            r->pos++;
            return 0;
        }
        return 1;
    }
    if (c == ']') {
        r->pos++;
        return 0;
    }
    if (c != ',') {
        fail_at(r, r->pos, "expected ',' or ']' in an array%s", what(r));
        return -1;
    }
    r->pos++;
    return 1;
}

/* Copy a short string value into out[cap] (cut to fit). */
static int str_into(rd *r, char *out, size_t cap)
{
    buf b;
    buf_init(&b, 1 << 20);
    int rc = str(r, &b, 1 << 20, NULL, NULL);
    if (rc == 0) {
        size_t n = b.len < cap ? b.len : cap - 1;
        memcpy(out, b.p ? b.p : "", n);
        out[n] = '\0';
    }
    buf_free(&b);
    return rc;
}

/* ------------------------------------------------------------------ numbers */

/* The usual sample time at p (before end), "1795562831" or "1795562831.5" (at most nine
 * decimals, no sign, no exponent): 1 with *out_ns set and *stop at the byte after it, or 0
 * when the text there is anything else (prom_ts_parse's general reader then decides; it
 * gives the same value for any text this accepts). */
static const uint64_t frac_scale[10] = {
    1000000000, 100000000, 10000000, 1000000, 100000, 10000, 1000, 100, 10, 1,
};

static int ts_scan(const char *p, const char *end, const char **stop, int64_t *out_ns)
{
    const char *s0 = p;
    uint64_t sec = 0, frac = 0;
    while (p < end && (unsigned char)(*p - '0') < 10) {
        sec = sec * 10 + (uint64_t)(*p - '0');   /* wraps past 20 digits: refused below */
        p++;
    }
    size_t nint = (size_t)(p - s0);
    if (nint == 0 || nint > 10 || (s0[0] == '0' && nint > 1))
        return 0;
    if (p < end && *p == '.') {
        const char *f0 = ++p;
        while (p < end && (unsigned char)(*p - '0') < 10) {
            frac = frac * 10 + (uint64_t)(*p - '0');
            p++;
        }
        size_t nf = (size_t)(p - f0);
        if (nf == 0 || nf > 9)
            return 0;
        frac *= frac_scale[nf];
    }
    if (sec > UINT64_C(9223372035))   /* sec * 1e9 + frac then fits in int64 */
        return 0;
    *out_ns = (int64_t)(sec * UINT64_C(1000000000) + frac);
    *stop = p;
    return 1;
}

static int ts_fast(const char *s, size_t len, int64_t *out_ns)
{
    const char *stop;
    return ts_scan(s, s + len, &stop, out_ns) && stop == s + len;
}

int prom_ts_parse(const char *s, size_t len, int64_t *out_ns)
{
    if (s && ts_fast(s, len, out_ns))
        return 0;
    size_t i = 0;
    int neg = 0;
    char dig[32];          /* significant digits, leading zeros dropped */
    size_t nd = 0;
    long point = 0;        /* digits before the decimal point (may go negative) */
    int round_up = 0;

    if (!s || len == 0)
        return -1;
    if (s[i] == '-') {
        neg = 1;
        i++;
    }
    if (i >= len || s[i] < '0' || s[i] > '9')
        return -1;
    if (s[i] == '0' && i + 1 < len && s[i + 1] >= '0' && s[i + 1] <= '9')
        return -1;   /* JSON forbids leading zeros */
    int seen_point = 0, any = 0;
    for (; i < len; i++) {
        char c = s[i];
        if (c == '.') {
            if (seen_point || !any)
                return -1;
            seen_point = 1;
            if (i + 1 >= len || s[i + 1] < '0' || s[i + 1] > '9')
                return -1;
            continue;
        }
        if (c < '0' || c > '9')
            break;
        any = 1;
        if (nd == 0 && c == '0') {
            if (seen_point)
                point--;   /* 0.00123: the point moves right past leading zeros */
            continue;
        }
        if (nd < sizeof dig) {
            dig[nd++] = c;
        }
        if (!seen_point)
            point++;
    }
    long e = 0;
    if (i < len) {
        if (s[i] != 'e' && s[i] != 'E')
            return -1;
        i++;
        int eneg = 0;
        if (i < len && (s[i] == '+' || s[i] == '-')) {
            eneg = s[i] == '-';
            i++;
        }
        if (i >= len)
            return -1;
        for (; i < len; i++) {
            if (s[i] < '0' || s[i] > '9')
                return -1;
            if (e < 100000)
                e = e * 10 + (s[i] - '0');
        }
        if (eneg)
            e = -e;
    }
    if (nd == 0) {
        *out_ns = 0;
        return 0;
    }
    /* value = 0.dig * 10^(point + e); ns = value * 1e9: the integer is the first
     * (point + e + 9) digits of dig, zero-padded. */
    long keep = point + e + 9;
    if (keep > 19)
        return -1;
    uint64_t v = 0;
    for (long k = 0; k < keep; k++) {
        int d = (size_t)k < nd ? dig[k] - '0' : 0;
        if (v > (UINT64_MAX - (uint64_t)d) / 10)
            return -1;
        v = v * 10 + (uint64_t)d;
    }
    /* the first digit past the nanoseconds decides (half away from zero); a value below
     * a tenth of a nanosecond rounds to 0 */
    if (keep >= 0 && (size_t)keep < nd)
        round_up = dig[keep] >= '5';
    if (round_up)
        v++;
    if (v > (uint64_t)INT64_MAX + (neg ? 1u : 0u))
        return -1;
    *out_ns = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

#if FLT_EVAL_METHOD == 0 && DBL_MANT_DIG == 53
#define VALUE_FAST 1
/* 10^0 .. 10^22: each exactly a double */
static const double pow10_exact[23] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/* A decimal value whose significant digits make an integer m <= 2^53 and whose power of
 * ten e is within +-22 ("831.545", "51142656", "-0.24", "1e-10"): m and 10^|e| are then
 * both exact doubles, and one IEEE multiplication or division rounds m x 10^e correctly,
 * to the very double strtod gives (round to nearest, the default mode). value_scan reads
 * such a number at p (before end): 1 with *out set and *stop at the byte after it, or 0
 * for any other text (strtod decides, as before). */
static int value_scan(const char *p, const char *end, const char **stop, double *out)
{
    int neg = 0, any = 0, nd = 0;
    uint64_t m = 0;
    long e10 = 0;
    if (p < end && (*p == '-' || *p == '+'))
        neg = *p++ == '-';
    for (; p < end && (unsigned char)(*p - '0') < 10; p++) {
        any = 1;
        if (m == 0 && *p == '0')
            continue;
        if (nd++ >= 19)
            return 0;
        m = m * 10 + (uint64_t)(*p - '0');
    }
    if (p < end && *p == '.') {
        for (p++; p < end && (unsigned char)(*p - '0') < 10; p++) {
            any = 1;
            e10--;
            if (m == 0 && *p == '0')
                continue;
            if (nd++ >= 19)
                return 0;
            m = m * 10 + (uint64_t)(*p - '0');
        }
    }
    if (!any)
        return 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        int eneg = 0;
        long x = 0;
        p++;
        if (p < end && (*p == '-' || *p == '+'))
            eneg = *p++ == '-';
        if (p >= end || (unsigned char)(*p - '0') >= 10)
            return 0;
        for (; p < end && (unsigned char)(*p - '0') < 10; p++) {
            if (x > 1000)
                return 0;
            x = x * 10 + (*p - '0');
        }
        e10 += eneg ? -x : x;
    }
    double d;
    if (m == 0) {
        d = neg ? -0.0 : 0.0;
    } else {
        if (m > (UINT64_C(1) << 53) || e10 < -22 || e10 > 22)
            return 0;
        d = (double)m;
        d = e10 < 0 ? d / pow10_exact[-e10] : d * pow10_exact[e10];
        if (neg)
            d = -d;
    }
    *out = d;
    *stop = p;
    return 1;
}

/* value_scan over exactly s[len]: 1 with *out set, or 0 (*out untouched). */
static int value_fast(const char *s, size_t len, double *out)
{
    const char *stop;
    double d;
    if (!value_scan(s, s + len, &stop, &d) || stop != s + len)
        return 0;
    *out = d;
    return 1;
}
#endif

int prom_value_parse(const char *s, size_t len, double *out)
{
    if (!s || len == 0 || len >= 64)
        return -1;
#ifdef VALUE_FAST
    if (value_fast(s, len, out))   /* refuses NaN and Inf: no digit */
        return 0;
#endif
    if (len == 3 && memcmp(s, "NaN", 3) == 0) {
        *out = NAN;
        return 0;
    }
    if ((len == 4 && memcmp(s, "+Inf", 4) == 0) || (len == 3 && memcmp(s, "Inf", 3) == 0)) {
        *out = INFINITY;
        return 0;
    }
    if (len == 4 && memcmp(s, "-Inf", 4) == 0) {
        *out = -INFINITY;
        return 0;
    }
    char tmp[64];
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' ||
              c == '-'))
            return -1;
        tmp[i] = c;
    }
    tmp[len] = '\0';
    char *end;
    errno = 0;
    double d = strtod(tmp, &end);
    if (end != tmp + len || end == tmp)
        return -1;
    *out = d;
    return 0;
}

char *prom_fmt_seconds(int64_t ns, char *out, size_t cap)
{
    const char *sign = "";
    uint64_t u;
    if (ns < 0) {
        sign = "-";
        u = (uint64_t)(-(ns + 1)) + 1;
    } else {
        u = (uint64_t)ns;
    }
    uint64_t sec = u / 1000000000u, frac = u % 1000000000u;
    int n;
    if (frac == 0) {
        n = snprintf(out, cap, "%s%llu", sign, (unsigned long long)sec);
    } else {
        char f[16];
        int k = snprintf(f, sizeof f, "%09llu", (unsigned long long)frac);
        if (k != 9)
            return NULL;
        while (k > 0 && f[k - 1] == '0')
            f[--k] = '\0';
        n = snprintf(out, cap, "%s%llu.%s", sign, (unsigned long long)sec, f);
    }
    if (n < 0 || (size_t)n >= cap)
        return NULL;
    return out;
}

/* ------------------------------------------------------------------ the walk */

/* [ts, "value"]: one sample, handed to the callback. With want_value == 0 (a string
 * result) the string is only checked. */
/* The sample as Prometheus writes it, [1795562831.5,"831.545"] with no blanks and no
 * escapes, read at the cursor in one go: 1 with the cursor past it, or 0 (nothing moved)
 * for anything else, which the general reader then takes, errors and all. What this
 * accepts the general reader reads the same way (the same time and value readers). */
static int sample_fast(rd *r, int64_t *t_ns, double *v, prom_text *vt)
{
    const char *p = r->p + r->pos, *end = r->p + r->len, *val;
    if (p >= end || *p != '[' || !ts_scan(p + 1, end, &p, t_ns))
        return 0;
    if (end - p < 2 || p[0] != ',' || p[1] != '"')
        return 0;
    val = p += 2;
#ifdef VALUE_FAST
    /* the usual value: read as the string's text is scanned (prom_value_parse would take
     * the same short path over the same text: at most 63 bytes, nothing after it) */
    const char *q;
    if (value_scan(p, end, &q, v) && q - val < 64 && end - q >= 2 && q[0] == '"' &&
        q[1] == ']') {
        r->pos = (size_t)(q + 2 - r->p);
        vt->p = val;
        vt->len = (size_t)(q - val);
        return 1;
    }
#endif
    while (p < end && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
        p++;
    if (end - p < 2 || p[0] != '"' || p[1] != ']' ||
        prom_value_parse(val, (size_t)(p - val), v) != 0)
        return 0;
    r->pos = (size_t)(p + 2 - r->p);
    vt->p = val;
    vt->len = (size_t)(p - val);
    return 1;
}

static int sample(walk *w, int want_value)
{
    rd *r = &w->r;
    const char *ts, *val;
    size_t tslen, vallen;
    int64_t t_ns;
    double v = 0;
    prom_text vt = { NULL, 0 };
    ws(r);
    if (want_value && sample_fast(r, &t_ns, &v, &vt))
        goto got;
    if (expect(r, '[', "to open a sample [time, \"value\"]"))
        return -1;
    if (num(r, &ts, &tslen))
        return -1;
    if (prom_ts_parse(ts, tslen, &t_ns) != 0) {
        fail_at(r, (size_t)(ts - r->p), "sample time out of range");
        return -1;
    }
    if (expect(r, ',', "between a sample's time and value"))
        return -1;
    ws(r);
    size_t vat = r->pos;
    if (str(r, NULL, 0, &val, &vallen))
        return -1;
    if (want_value && (!val || prom_value_parse(val, vallen, &v) != 0)) {
        fail_at(r, vat, "sample value is not a number");
        return -1;
    }
    vt.p = val;
    vt.len = vallen;
    if (expect(r, ']', "to close a sample [time, \"value\"]"))
        return -1;
    if (!want_value)
        return 0;
got:
    w->res->samples++;
    if (!isfinite(v))
        w->res->nonfinite++;
    if (w->fn && w->fn(w->ctx, w->l->v, w->l->n, w->labels_id, t_ns, v, &vt) != 0) {
        w->stopped = 1;
        r->failed = 1;   /* unwind */
        return -1;
    }
    return 0;
}

/* "metric": {"name": "value", ...} into w->l. */
static int metric(walk *w)
{
    rd *r = &w->r;
    lbls *l = w->l;
    buf_reset(&l->text);
    l->n = 0;
    w->labels_id++;
    if (expect(r, '{', "to open \"metric\""))
        return -1;
    int first = 1;
    for (;;) {
        char c = peek(r);
        if (c == '}') {
            r->pos++;
            break;
        }
        if (!first) {
            if (c != ',') {
                fail_at(r, r->pos, "expected ',' or '}' in \"metric\"%s", what(r));
                return -1;
            }
            r->pos++;
            ws(r);
        }
        first = 0;
        if (l->n >= PROM_LABELS_MAX) {
            fail_at(r, r->pos, "more than %d labels", PROM_LABELS_MAX);
            return -1;
        }
        size_t kat = r->pos;
        l->off[l->n][0] = l->text.len;
        if (str(r, &l->text, PROM_LABEL_TEXT_MAX, NULL, NULL) || buf_addc(&l->text, '\0'))
            goto bad;
        if (l->text.len == l->off[l->n][0] + 1) {
            fail_at(r, kat, "empty label name");
            return -1;
        }
        if (expect(r, ':', "after a label name"))
            return -1;
        l->off[l->n][1] = l->text.len;
        if (str(r, &l->text, PROM_LABEL_TEXT_MAX, NULL, NULL) || buf_addc(&l->text, '\0'))
            goto bad;
        l->n++;
    }
    for (size_t i = 0; i < l->n; i++) {
        l->v[i].name = l->text.p + l->off[i][0];
        l->v[i].value = l->text.p + l->off[i][1];
    }
    return 0;
bad:
    fail_at(r, r->pos, "out of memory");
    return -1;
}

/* The samples of one series: "value" (a vector) or "values" (a matrix). */
static int samples(walk *w, int matrix)
{
    rd *r = &w->r;
    if (!matrix)
        return sample(w, 1);
    int first = 1, k;
    if (expect(r, '[', "to open \"values\""))
        return -1;
    while ((k = arr_next(r, &first)) == 1)
        if (sample(w, 1))
            return -1;
    return k < 0 ? -1 : 0;
}

/* Native histograms ("histogram" / "histograms"): no float sample; counted, skipped. */
static int histograms(walk *w, int matrix)
{
    rd *r = &w->r;
    if (!matrix) {
        w->res->histograms++;
        return skip(r, 3);
    }
    int first = 1, k;
    if (expect(r, '[', "to open \"histograms\""))
        return -1;
    while ((k = arr_next(r, &first)) == 1) {
        if (skip(r, 4))
            return -1;
        w->res->histograms++;
    }
    return k < 0 ? -1 : 0;
}

/* One element of a vector or matrix result. The labels are needed before the samples:
 * when "value(s)" comes before "metric" (Prometheus never does this, but JSON allows it)
 * the samples are skipped and read again once the labels are known. */
static int series(walk *w, int matrix)
{
    rd *r = &w->r;
    char key[32];
    int first = 1, k, have_metric = 0, have_samples = 0;
    size_t later = 0, obj_at;
    const char *skey = matrix ? "values" : "value";
    ws(r);
    obj_at = r->pos;
    if (expect(r, '{', matrix ? "to open a series {\"metric\", \"values\"}"
                              : "to open a sample {\"metric\", \"value\"}"))
        return -1;
    w->l->n = 0;
    w->labels_id++;
    while ((k = obj_next(r, &first, key, sizeof key)) == 1) {
        ws(r);
        if (strcmp(key, "metric") == 0) {
            if (metric(w))
                return -1;
            have_metric = 1;
        } else if (strcmp(key, skey) == 0) {
            have_samples = 1;
            if (have_metric) {
                if (samples(w, matrix))
                    return -1;
            } else {
                later = r->pos;
                if (skip(r, 3))
                    return -1;
            }
        } else if (strcmp(key, matrix ? "histograms" : "histogram") == 0) {
            have_samples = 1;
            if (histograms(w, matrix))
                return -1;
        } else if (skip(r, 3)) {
            return -1;
        }
    }
    if (k < 0)
        return -1;
    if (!have_metric || !have_samples) {
        fail_at(r, obj_at, "a %s element without \"%s\"", matrix ? "matrix" : "vector",
                have_metric ? skey : "metric");
        return -1;
    }
    if (later) {
        size_t end = r->pos;
        r->pos = later;
        if (samples(w, matrix))
            return -1;
        r->pos = end;
    }
    w->res->series++;
    return 0;
}

static int result(walk *w, prom_rtype type)
{
    rd *r = &w->r;
    w->l->n = 0;
    w->labels_id++;
    if (type == PROM_R_SCALAR || type == PROM_R_STRING) {
        if (sample(w, type == PROM_R_SCALAR))
            return -1;
        if (type == PROM_R_SCALAR)
            w->res->series = 1;
        return 0;
    }
    int first = 1, k;
    if (expect(r, '[', "to open \"result\""))
        return -1;
    while ((k = arr_next(r, &first)) == 1)
        if (series(w, type == PROM_R_MATRIX))
            return -1;
    return k < 0 ? -1 : 0;
}

static int data(walk *w)
{
    rd *r = &w->r;
    char key[32], rt[32] = "";
    int first = 1, k, have_result = 0;
    size_t later = 0, obj_at;
    prom_rtype type = PROM_R_NONE;
    ws(r);
    obj_at = r->pos;
    if (expect(r, '{', "to open \"data\""))
        return -1;
    while ((k = obj_next(r, &first, key, sizeof key)) == 1) {
        ws(r);
        if (strcmp(key, "resultType") == 0) {
            size_t at = r->pos;
            if (str_into(r, rt, sizeof rt))
                return -1;
            if (strcmp(rt, "vector") == 0) {
                type = PROM_R_VECTOR;
            } else if (strcmp(rt, "matrix") == 0) {
                type = PROM_R_MATRIX;
            } else if (strcmp(rt, "scalar") == 0) {
                type = PROM_R_SCALAR;
            } else if (strcmp(rt, "string") == 0) {
                type = PROM_R_STRING;
            } else {
                fail_at(r, at, "unknown resultType \"%s\"", rt);
                return -1;
            }
        } else if (strcmp(key, "result") == 0) {
            have_result = 1;
            if (type != PROM_R_NONE) {
                if (result(w, type))
                    return -1;
            } else {
                later = r->pos;   /* resultType comes after: read it then */
                if (skip(r, 2))
                    return -1;
            }
        } else if (skip(r, 2)) {
            return -1;
        }
    }
    if (k < 0)
        return -1;
    if (type == PROM_R_NONE || !have_result) {
        fail_at(r, obj_at, "\"data\" without \"%s\"", have_result ? "resultType" : "result");
        return -1;
    }
    w->res->type = type;
    if (later) {
        size_t end = r->pos;
        r->pos = later;
        if (result(w, type))
            return -1;
        r->pos = end;
    }
    return 0;
}

static int walk_doc(walk *w)
{
    rd *r = &w->r;
    prom_parse_result *res = w->res;
    char key[32], status[32] = "";
    int first = 1, k, have_data = 0;
    size_t later = 0;
    ws(r);
    if (r->pos >= r->len) {
        fail_at(r, r->pos, "empty body");
        return -1;
    }
    if (expect(r, '{', "to open the answer"))
        return -1;
    while ((k = obj_next(r, &first, key, sizeof key)) == 1) {
        ws(r);
        size_t at = r->pos;
        if (strcmp(key, "status") == 0) {
            if (str_into(r, status, sizeof status))
                return -1;
            if (strcmp(status, "success") != 0 && strcmp(status, "error") != 0) {
                fail_at(r, at, "unknown status \"%s\"", status);
                return -1;
            }
        } else if (strcmp(key, "errorType") == 0) {
            if (str_into(r, res->error_type, sizeof res->error_type))
                return -1;
        } else if (strcmp(key, "error") == 0) {
            if (str_into(r, res->error, sizeof res->error))
                return -1;
        } else if (strcmp(key, "warnings") == 0 || strcmp(key, "infos") == 0) {
            int f2 = 1, j, warn = key[0] == 'w';
            if (expect(r, '[', "to open a list of messages"))
                return -1;
            while ((j = arr_next(r, &f2)) == 1) {
                char wbuf[256];
                if (str_into(r, wbuf, sizeof wbuf))
                    return -1;
                if (warn && res->warnings++ == 0)
                    memcpy(res->warning, wbuf, sizeof wbuf);
            }
            if (j < 0)
                return -1;
        } else if (strcmp(key, "data") == 0) {
            have_data = 1;
            if (strcmp(status, "success") == 0) {
                if (data(w))
                    return -1;
            } else {
                later = at;   /* status not known yet (or "error"): decide after */
                if (skip(r, 1))
                    return -1;
            }
        } else if (skip(r, 1)) {
            return -1;
        }
    }
    if (k < 0)
        return -1;
    ws(r);
    if (r->pos != r->len) {
        fail_at(r, r->pos, "text after the answer");
        return -1;
    }
    if (status[0] == '\0') {
        fail_at(r, 0, "no \"status\" in the answer");
        return -1;
    }
    if (strcmp(status, "error") == 0) {
        res->is_error = true;
        res->type = PROM_R_NONE;
        if (res->error_type[0] == '\0' && res->error[0] == '\0') {
            fail_at(r, 0, "an error answer without \"errorType\" or \"error\"");
            return -1;
        }
        return 0;
    }
    if (!have_data) {
        fail_at(r, 0, "a success answer without \"data\"");
        return -1;
    }
    if (later) {
        size_t end = r->pos;
        r->pos = later;
        if (data(w))
            return -1;
        r->pos = end;
    }
    return 0;
}

int prom_parse(const char *body, size_t len, prom_sample_fn fn, void *ctx,
               prom_parse_result *res, char *err, size_t errlen)
{
    memset(res, 0, sizeof *res);
    if (err && errlen)
        err[0] = '\0';
    lbls *l = malloc(sizeof *l);
    if (!l) {
        if (err && errlen)
            snprintf(err, errlen, "out of memory");
        return -1;
    }
    buf_init(&l->text, (size_t)PROM_LABELS_MAX * 2 * (PROM_LABEL_TEXT_MAX + 1));
    l->n = 0;
    walk w = { .r = { .p = body ? body : "", .len = body ? len : 0, .err = err,
                      .errlen = errlen },
               .fn = fn, .ctx = ctx, .res = res, .l = l };
    int rc = walk_doc(&w);
    buf_free(&l->text);
    free(l);
    if (rc == 0)
        return 0;
    return w.stopped ? -2 : -1;
}
