/* lp_parse: InfluxDB line protocol read the way InfluxDB 1.6.7 reads it.
 *
 * A port of the rules of InfluxDB 1.6.7's models.ParsePointsWithPrecision, quirks included,
 * so that what `cronflux push` accepts is what the server would accept. lp_parse runs the
 * same scan steps as InfluxDB's parser, each a function here: scan_measurement and scan_tags
 * (scanKey), scan_fields (scanFields), scan_time (scanTime), then read_names and read_fields
 * (the field iterator that turns the text into typed values).
 * Also: how a body splits into lines (lp_line_len, lp_count_lines) and the timestamp at the
 * end of an encoded line (lp_line_time_ns). The encoder is lp_encode.c.
 */
#include "lp_internal.h"
#include "../runtime/util.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static int parse_line(const char *line, size_t len, lp_precision prec, int64_t default_ns,
                      int strict, lp_parsed *out, char *err, size_t errlen);

/* Byte classes for the scanners. Most bytes of a line are letters and digits that no rule
 * looks at; with one table lookup a scanner skips them in a tight loop and runs its full
 * checks only on the few bytes that can matter (the checks themselves are unchanged). */
enum {
    P_SEP = 1,     /* ',' ' ': can end a measurement or a tag value */
    P_TAG = 2,     /* ',' ' ' '=': can end a tag key or value, or be refused in it */
    P_FIELD = 4,   /* '\\' '"' '=' ',' ' ': the bytes scan_fields acts on */
    P_DIGIT = 8,   /* '0'-'9' */
    P_UNM = 16,    /* ',' '"' ' ' '=': a backslash before one is dropped (measurement,
                    * field key) */
    P_UNT = 32,    /* ',' ' ' '=': a backslash before one is dropped (tag key, tag value) */
    P_NUM = 64,    /* "0123456789-.nNiIu": a field value read as a number */
    P_FVAL = 128,  /* '\\' '"' ',': the bytes the field iterator's value loop acts on */
    P_UNS = 256,   /* '\\' '"': a backslash before one is dropped (string value) */
    P_SPLIT = 512, /* '\\' ' ' '=' ',' '"' '\n': the bytes lp_split_feed acts on */
};

static const unsigned short pcls[256] = {
    [','] = P_SEP | P_TAG | P_FIELD | P_UNM | P_UNT | P_FVAL | P_SPLIT,
    [' '] = P_SEP | P_TAG | P_FIELD | P_UNM | P_UNT | P_SPLIT,
    ['='] = P_TAG | P_FIELD | P_UNM | P_UNT | P_SPLIT,
    ['"'] = P_FIELD | P_UNM | P_FVAL | P_UNS | P_SPLIT,
    ['\\'] = P_FIELD | P_FVAL | P_UNS | P_SPLIT,
    ['\n'] = P_SPLIT,
    ['0' ... '9'] = P_DIGIT | P_NUM,
    ['-'] = P_NUM, ['.'] = P_NUM, ['n'] = P_NUM, ['N'] = P_NUM, ['i'] = P_NUM,
    ['I'] = P_NUM, ['u'] = P_NUM,
};

#define PCLS(ch) pcls[(unsigned char)(ch)]

/* The first position from i (at most n) whose byte is (`in` = 1) or is not (`in` = 0) of a
 * class in `mask`. Four bytes a round: one bounds test for four lookups. */
static inline size_t skip_until(const char *b, size_t i, size_t n, unsigned mask, int in)
{
#define HIT(ch) (((PCLS(ch) & mask) != 0) == in)
    for (; i + 4 <= n; i += 4) {
        if (HIT(b[i]))
            return i;
        if (HIT(b[i + 1]))
            return i + 1;
        if (HIT(b[i + 2]))
            return i + 2;
        if (HIT(b[i + 3]))
            return i + 3;
    }
    while (i < n && !HIT(b[i]))
        i++;
    return i;
#undef HIT
}

size_t lp_split_feed(lp_split *st, const char *b, size_t len)
{
    size_t i = 0, equals = st->equals, commas = st->commas;
    int quoted = st->quoted, fields = st->fields;
    if (st->skip && len > 0) {
        st->skip = 0;
        i = 1; /* escaped by the backslash that ended the previous piece */
    }
    while (i < len) {
        i = skip_until(b, i, len, P_SPLIT, 1); /* the other bytes only move on */
        if (i >= len)
            break;
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
    if (i > len) {
        st->skip = 1;
        i = len;
    }
    st->equals = equals;
    st->commas = commas;
    st->quoted = quoted;
    st->fields = fields;
    return i;
}

size_t lp_line_len(const char *b, size_t len)
{
    lp_split st = {0};
    return lp_split_feed(&st, b, len);
}

size_t lp_record_len(const char *buf, size_t len, lp_precision prec)
{
    size_t l = lp_line_len(buf, len);
    const char *nl = memchr(buf, '\n', l);
    if (!nl)
        return l;
    /* The text runs past a raw newline (a quoted string, or a backslash before it): it is
     * one line only if it parses as a point, each string ending with its closing quote
     * (else the next line's opening quote could close a string left open, and the text in
     * between, good lines, would be read as that string). */
    lp_parsed pp;
    lp_parsed_init(&pp);
    int r = parse_line(buf, l, prec, 0, 1, &pp, NULL, 0);
    lp_parsed_free(&pp);
    return r == 1 ? l : (size_t)(nl - buf);
}

/* 1990-01-01 and 2100-01-01, ns since the epoch: where a timestamp is likely meant to be */
#define LP_PLAUSIBLE_MIN INT64_C(631152000000000000)
#define LP_PLAUSIBLE_MAX INT64_C(4102444800000000000)

static int plausible(int64_t t)
{
    return t >= LP_PLAUSIBLE_MIN && t < LP_PLAUSIBLE_MAX;
}

int lp_time_implausible(int64_t t_ns, lp_precision prec, lp_precision *better,
                        int64_t *better_ns)
{
    if (plausible(t_ns))
        return 0;
    int64_t v = t_ns / lp_prec_mult(prec); /* the digits as written */
    static const lp_precision all[] = {LP_NS, LP_US, LP_MS, LP_S};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        int64_t t;
        if (all[i] == prec || __builtin_mul_overflow(v, lp_prec_mult(all[i]), &t) ||
            !plausible(t))
            continue;
        if (better)
            *better = all[i];
        if (better_ns)
            *better_ns = t;
        return 1;
    }
    return 0;
}

size_t lp_count_lines(const char *buf, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i += lp_record_len(buf + i, len - i, LP_NS) + 1)
        n++;
    return n;
}

typedef struct pctx {
    const char *b; /* the point's text, leading whitespace skipped */
    size_t n;
    size_t base;   /* offset of b in the caller's line, for columns */
    char *err;
    size_t errlen;
    /* what the scan steps find, as offsets into b */
    size_t i;      /* the scan position */
    size_t mend;   /* end of the measurement */
    size_t ntags;  /* tags found (raw positions in out->tags until read_names) */
    size_t keyend; /* end of the series key: the space before the fields */
    size_t fs, fe; /* the fields' text */
    int strict;    /* a string value must end with its closing quote (1.x drops the last
                    * byte unseen: "a"x reads as a") */
} pctx;

static int perr(const pctx *c, size_t i, const char *msg)
{
    lp_set_err(c->err, c->errlen, "column %zu: %s", c->base + i + 1, msg);
    return -1;
}

/* A field value that is none of the types: "invalid field value 'oops' (a number,
 * true/false, or a quoted string)", the value as far as the next ',' or ' '. */
static int bad_value(const pctx *c, size_t i)
{
    size_t e = i;
    while (e < c->n && c->b[e] != ',' && c->b[e] != ' ')
        e++;
    char shown[64];
    lp_set_err(c->err, c->errlen,
               "column %zu: invalid field value '%s' (a number, true/false, or a quoted string)",
               c->base + i + 1, lp_show(shown, sizeof shown, c->b + i, e - i));
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
    /* the first 18 digits cannot overflow: no range check for them */
    for (size_t fast = len - i <= 18 ? len : i + 18; i < fast; i++) {
        if (!(PCLS(s[i]) & P_DIGIT))
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
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
        i = skip_until(b, i, n, P_DIGIT, 0); /* a digit only moves on */
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
        /* the text is [-]digits then 'i' (the loop refused anything else): 18 digits or
         * fewer always fit, and only the range is left to check */
        int64_t v;
        if (digits > 18 && parse_i64(b + start, i - 1 - start, &v) != 0) {
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
 * (up to the ',' or ' ' not preceded by a backslash), as the 1.x scanner delimits them.
 * scan_tag starts the value right after the key's '=', so the key's length is known. */
static size_t raw_tag_key_len(const lp_tag *t)
{
    return (size_t)(t->value - t->key) - 1;
}

static size_t raw_tag_value_len(const char *s, const char *end)
{
    const char *p = s + 1;
    for (;; p++) {
        p += skip_until(p, 0, (size_t)(end - p), P_SEP, 1);
        if (p >= end || p[-1] != '\\')
            break;
    }
    return (size_t)(p - s);
}

static inline int raw_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen && blen && a[0] != b[0]) /* most keys differ at once: no call */
        return (unsigned char)a[0] < (unsigned char)b[0] ? -1 : 1;
    size_t n = alen < blen ? alen : blen;
    int c = memcmp(a, b, n);
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* Unescape s[0..len) into w: a backslash followed by a byte of class `set` (P_UNM, P_UNT
 * or P_UNS) is dropped (the byte kept); any other backslash stays. The text between
 * backslashes is copied whole. Returns the end of what was written. */
static char *unescape_into(char *w, const char *s, size_t len, unsigned set)
{
    size_t i = 0;
    for (;;) {
        const char *bs = memchr(s + i, '\\', len - i);
        size_t run = bs ? (size_t)(bs - (s + i)) : len - i;
        lp_copy(w, s + i, run);
        w += run;
        i += run;
        if (!bs)
            return w;
        if (i + 1 < len && (PCLS(s[i + 1]) & set)) {
            *w++ = s[i + 1];
            i += 2;
        } else {
            *w++ = '\\';
            i++;
        }
        if (i >= len)
            return w;
    }
}

static int has_nul(const char *s, size_t len)
{
    return memchr(s, '\0', len) != NULL;
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

/* ---------------------------------------------------------------- lp_parse's scan steps */

/* models.scanMeasurement: up to the first unescaped ',' (tags follow) or ' ' (fields). */
static int scan_measurement(pctx *c, int *to_tags)
{
    const char *b = c->b;
    size_t n = c->n, i = 0;
    if (n == 0 || b[0] == ',')
        return perr(c, 0, "missing measurement");
    for (;;) {
        i++;
        i = skip_until(b, i, n, P_SEP, 1); /* only a ',' or ' ' can end it */
        if (i >= n)
            return perr(c, i, "missing fields");
        if (b[i - 1] == '\\')
            continue;
        if (b[i] == ',') {
            *to_tags = 1;
            c->mend = i;
            c->i = i + 1;
            return 0;
        }
        if (b[i] == ' ') {
            *to_tags = 0;
            c->mend = i;
            c->i = i;
            return 0;
        }
    }
}

/* One tag of models.scanTags from c->i: raw positions into out->tags[c->ntags]; *more says
 * whether another tag follows. */
static int scan_tag(pctx *c, lp_parsed *out, int *more)
{
    const char *b = c->b;
    size_t n = c->n, i = c->i;
    size_t ks = i;
    if (i >= n || b[i] == ' ' || b[i] == ',' || b[i] == '=')
        return perr(c, i, "missing tag key");
    for (;;) {
        i++;
        i = skip_until(b, i, n, P_TAG, 1);
        if (i >= n || ((b[i] == ' ' || b[i] == ',') && b[i - 1] != '\\'))
            return perr(c, i, "missing tag value");
        if (b[i] == '=' && b[i - 1] != '\\') {
            i++;
            break;
        }
    }
    size_t vs = i;
    if (i >= n || b[i] == ',' || b[i] == ' ')
        return perr(c, i, "missing tag value");
    for (;;) {
        i++;
        i = skip_until(b, i, n, P_TAG, 1);
        if (i >= n)
            return perr(c, i, "missing fields");
        if (b[i] == '=' && b[i - 1] != '\\')
            return perr(c, i, "invalid tag format");
        if (b[i] == ',' && b[i - 1] != '\\') {
            *more = 1;
            break;
        }
        if (b[i] == ' ' && b[i - 1] != '\\') {
            *more = 0;
            break;
        }
    }
    if (c->ntags + 1 > out->tags_cap &&
        util_grow((void **)&out->tags, &out->tags_cap, c->ntags + 1, sizeof *out->tags) != 0) {
        lp_set_err(c->err, c->errlen, "out of memory");
        return -1;
    }
    out->tags[c->ntags].key = b + ks;
    out->tags[c->ntags].value = b + vs;
    c->ntags++;
    c->i = *more ? i + 1 : i;
    return 0;
}

/* models.scanTags, then the tags sorted by their raw keys (the 1.x parser sorts the escaped
 * text) and duplicates refused; c->keyend is set at the space before the fields. */
static int scan_tags(pctx *c, lp_parsed *out, int to_tags)
{
    c->ntags = 0;
    for (int more = to_tags; more;)
        if (scan_tag(c, out, &more) != 0)
            return -1;
    c->keyend = c->i;

    size_t ntags = c->ntags;
    for (size_t a = 1; a < ntags; a++) {
        lp_tag x = out->tags[a];
        size_t xl = raw_tag_key_len(&x);
        size_t j = a;
        while (j > 0) {
            const lp_tag *pt = &out->tags[j - 1];
            if (raw_cmp(pt->key, raw_tag_key_len(pt), x.key, xl) <= 0)
                break;
            out->tags[j] = out->tags[j - 1];
            j--;
        }
        out->tags[j] = x;
    }
    for (size_t a = 1; a < ntags; a++) {
        const lp_tag *ta = &out->tags[a - 1], *tb = &out->tags[a];
        if (raw_cmp(ta->key, raw_tag_key_len(ta), tb->key, raw_tag_key_len(tb)) == 0)
            return perr(c, (size_t)(tb->key - c->b), "duplicate tags");
    }
    if (c->keyend > LP_MAX_KEY)
        return perr(c, 0, "max key length exceeded");
    return 0;
}

/* models.scanFields: from after the whitespace at c->i to the first unquoted space; each
 * value's syntax checked (numbers, booleans), quotes balanced, one ',' between fields.
 * Sets c->fs and c->fe. */
static int scan_fields(pctx *c)
{
    const char *b = c->b;
    size_t n = c->n, i = c->i;
    const char *why = NULL;
    while (i < n && is_ws(b[i]))
        i++;
    size_t fs = i;
    int quoted = 0;
    size_t equals = 0, commas = 0;
    for (;;) {
        i = skip_until(b, i, n, P_FIELD, 1); /* the other bytes only move on */
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
                return perr(c, i, "missing field key");
            if (i >= 2 && b[i - 1] == ',' && b[i - 2] != '\\')
                return perr(c, i, "missing field key");
            if (i + 1 >= n)
                return perr(c, i, "missing field value");
            char nx = b[i + 1];
            if (nx == ',' || nx == ' ')
                return perr(c, i, "missing field value");
            if (is_numeric(nx) || nx == '-' || nx == 'N' || nx == 'n') {
                size_t e = scan_number(b, n, i + 1, &why);
                if (e == (size_t)-1)
                    return perr(c, i + 1, why);
                i = e;
                continue;
            }
            if (nx != '"') {
                size_t e = scan_bool(b, n, i + 1);
                if (e == (size_t)-1)
                    return bad_value(c, i + 1);
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
        return perr(c, i, "unbalanced quotes");
    if (equals == 0 || commas != equals - 1)
        return perr(c, fs, "invalid field format");
    c->fs = fs;
    c->fe = i;
    c->i = i;
    return 0;
}

/* models.scanTime and the timestamp's value: in precision prec, or default_ns truncated to
 * it when the line has none. */
static int scan_time(pctx *c, lp_precision prec, int64_t default_ns, int64_t *out_t)
{
    const char *b = c->b;
    size_t n = c->n, i = c->i;
    while (i < n && is_ws(b[i]))
        i++;
    size_t ts = i;
    if (i < n && b[i] == '-')
        i++;
    for (;;) {
        i = skip_until(b, i, n, P_DIGIT, 0);
        if (i >= n || b[i] == '\n' || b[i] == ' ')
            break;
        if (b[i] < '0' || b[i] > '9')
            return perr(c, i, "bad timestamp");
        i++;
    }
    size_t te = i;
    int64_t mult = lp_prec_mult(prec);
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
            return perr(c, ts, "invalid timestamp");
        if (mult == 1 || v == 0 || v == 1) {
            t = v * mult;
        } else {
            if (v == LP_MIN_NANO || __builtin_mul_overflow(v, mult, &t))
                return perr(c, ts, "time outside range");
        }
        if (t < LP_MIN_NANO || t > LP_MAX_NANO)
            return perr(c, ts, "time outside range");
        for (size_t k = te; k < n; k++)
            if (b[k] != ' ')
                return perr(c, k, "invalid point: text after the timestamp");
    }
    c->i = te;
    *out_t = t;
    return 0;
}

/* The measurement and the tags unescaped into scratch at *w (out->tags then point there). */
static int read_names(const pctx *c, lp_parsed *out, char **w)
{
    const char *b = c->b;
    if (!memchr(b, '\\', c->keyend) && !memchr(b, '\0', c->keyend)) {
        /* The usual series key, without a backslash or a NUL: nothing to unescape, so it is
         * copied whole and each name ends where its separator was. The separators are the
         * byte before each tag key (the first one ends the measurement), each key's '=', and
         * the space at keyend; the sort only reordered out->tags. */
        char *k = *w;
        memcpy(k, b, c->keyend);
        k[c->keyend] = '\0';
        out->pt.measurement = k;
        for (size_t a = 0; a < c->ntags; a++) {
            lp_tag *t = &out->tags[a];
            size_t ko = (size_t)(t->key - b), vo = (size_t)(t->value - b);
            k[ko - 1] = '\0';
            k[vo - 1] = '\0';
            t->key = k + ko;
            t->value = k + vo;
        }
        *w = k + c->keyend + 1;
        return 0;
    }
    if (has_nul(b, c->mend))
        return perr(c, 0, "NUL byte in measurement");
    out->pt.measurement = *w;
    *w = unescape_into(*w, b, c->mend, P_UNM);
    *(*w)++ = '\0';

    const char *end = b + c->keyend;
    for (size_t a = 0; a < c->ntags; a++) {
        const char *kr = out->tags[a].key, *vr = out->tags[a].value;
        size_t kl = raw_tag_key_len(&out->tags[a]), vl = raw_tag_value_len(vr, end);
        if (has_nul(kr, kl) || has_nul(vr, vl))
            return perr(c, (size_t)(kr - b), "NUL byte in tag");
        out->tags[a].key = *w;
        *w = unescape_into(*w, kr, kl, P_UNT);
        *(*w)++ = '\0';
        out->tags[a].value = *w;
        *w = unescape_into(*w, vr, vl, P_UNT);
        *(*w)++ = '\0';
    }
    return 0;
}

/* One field value vr[0..vl) (text at column col) read into fld; a string value is
 * unescaped into scratch at *w. */
static int read_value(const pctx *c, const char *vr, size_t vl, size_t col, lp_field *fld,
                      char **w)
{
    char c0 = vr[0];
    if (c0 == '"') {
        if (vl < 2 || (c->strict && vr[vl - 1] != '"'))
            return perr(c, col, "invalid string");
        char *sw = *w;
        char *o = unescape_into(sw, vr + 1, vl - 2, P_UNS);
        fld->type = LP_STRING;
        fld->v.s.p = sw;
        fld->v.s.len = (size_t)(o - sw);
        *o++ = '\0';
        *w = o;
        return 0;
    }
    if (PCLS(c0) & P_NUM) {
        char last = vr[vl - 1];
        if (last == 'i') {
            fld->type = LP_INT;
            if (parse_i64(vr, vl - 1, &fld->v.i) != 0)
                return perr(c, col, "invalid integer");
        } else if (last == 'u') {
            fld->type = LP_UINT;
            if (parse_u64(vr, vl - 1, &fld->v.u) != 0)
                return perr(c, col, "invalid unsigned integer");
        } else {
            fld->type = LP_FLOAT;
            if (parse_f64(vr, vl, &fld->v.f) != 0)
                return perr(c, col, "invalid float");
        }
        return 0;
    }
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    fld->type = LP_BOOL;
    for (size_t x = 0; x < sizeof yes / sizeof *yes; x++) {
        if (strlen(yes[x]) == vl && memcmp(yes[x], vr, vl) == 0) {
            fld->v.b = true;
            return 0;
        }
        if (strlen(no[x]) == vl && memcmp(no[x], vr, vl) == 0) {
            fld->v.b = false;
            return 0;
        }
    }
    return bad_value(c, col);
}

/* The fields iterator of 1.x over c->fs..c->fe: keys and typed values into out->fields,
 * strings into scratch at *w. */
static int read_fields(const pctx *c, lp_parsed *out, char **w, size_t *out_nfields)
{
    const char *f = c->b + c->fs;
    size_t fs = c->fs, flen = c->fe - c->fs, pos = 0, nfields = 0;
    /* most fields hold neither: then no key needs a look for them */
    int any_nul = memchr(f, '\0', flen) != NULL, any_bs = memchr(f, '\\', flen) != NULL;
    while (pos < flen) {
        size_t k = pos;
        for (;;) { /* the first '=' not after a backslash */
            const char *eq = memchr(f + k, '=', flen - k);
            k = eq ? (size_t)(eq - f) : flen;
            if (!eq || k == 0 || f[k - 1] != '\\')
                break;
            k++;
        }
        if (k >= flen)
            return perr(c, fs + pos, "invalid field format");
        size_t v = k + 1;
        int q = 0;
        while (v < flen) {
            v = skip_until(f, v, flen, P_FVAL, 1); /* the other bytes only move on */
            if (v >= flen)
                break;
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
        if (c->keyend + 4 + kl > LP_MAX_KEY)
            return perr(c, fs + (size_t)(kr - f), "max key length exceeded");
        if (kl == 0 || vl == 0)
            continue; /* 1.x skips a field without key or value */
        if (any_nul && has_nul(kr, kl))
            return perr(c, fs + (size_t)(kr - f), "NUL byte in field key");

        lp_field fld = {0};
        if (read_value(c, vr, vl, col, &fld, w) != 0)
            return -1;
        /* the key last: it goes to scratch after the string value */
        fld.key = *w;
        if (any_bs) {
            *w = unescape_into(*w, kr, kl, P_UNM);
        } else {
            lp_copy(*w, kr, kl);
            *w += kl;
        }
        *(*w)++ = '\0';
        if (nfields + 1 > out->fields_cap && util_grow((void **)&out->fields, &out->fields_cap, nfields + 1, sizeof *out->fields) != 0) {
            lp_set_err(c->err, c->errlen, "out of memory");
            return -1;
        }
        out->fields[nfields++] = fld;
    }
    if (nfields == 0)
        return perr(c, fs, "missing fields");
    *out_nfields = nfields;
    return 0;
}

/* lp_parse, and with `strict` the stricter reading lp_record_len asks of a line that runs
 * past a raw newline. */
static int parse_line(const char *line, size_t len, lp_precision prec, int64_t default_ns,
                      int strict, lp_parsed *out, char *err, size_t errlen)
{
    if (!line || !out) {
        lp_set_err(err, errlen, "no line or no output");
        return -1;
    }
    out->pt = (lp_point){0};
    if (len > LP_PARSE_MAX_LINE) {
        lp_set_err(err, errlen, "line is longer than %zu bytes", LP_PARSE_MAX_LINE);
        return -1;
    }
    size_t s0 = 0;
    while (s0 < len && is_ws(line[s0]))
        s0++;
    if (s0 >= len) {
        /* 1.x skips NUL bytes as blanks; a line of them is not a blank line but damage */
        const char *nul = memchr(line, '\0', len);
        if (nul) {
            lp_set_err(err, errlen, "column %zu: a line of NUL bytes", (size_t)(nul - line) + 1);
            return -1;
        }
        return 0;
    }
    if (line[s0] == '#')
        return 0;
    if (line[len - 1] == '\n')
        len--;

    pctx c = {.b = line + s0, .n = len - s0, .base = s0, .err = err, .errlen = errlen,
              .strict = strict};
    int to_tags = 0;
    int64_t t;
    if (scan_measurement(&c, &to_tags) != 0 || scan_tags(&c, out, to_tags) != 0 ||
        scan_fields(&c) != 0 || scan_time(&c, prec, default_ns, &t) != 0)
        return -1;

    /* the values, as the 1.x field iterator reads them */
    buf_reset(&out->scratch);
    if (buf_reserve(&out->scratch, 2 * c.n + 16) != 0) {
        lp_set_err(err, errlen, "out of memory");
        return -1;
    }
    char *w = out->scratch.p; /* no further growth: pointers into it stay valid */
    size_t nfields = 0;
    if (read_names(&c, out, &w) != 0 || read_fields(&c, out, &w, &nfields) != 0)
        return -1;

    out->scratch.len = (size_t)(w - out->scratch.p);
    out->pt.tags = out->tags;
    out->pt.ntags = c.ntags;
    out->pt.fields = out->fields;
    out->pt.nfields = nfields;
    out->pt.time_ns = t;
    out->pt.has_time = true;
    return 1;
}

int lp_parse(const char *line, size_t len, lp_precision prec, int64_t default_ns,
             lp_parsed *out, char *err, size_t errlen)
{
    return parse_line(line, len, prec, default_ns, 0, out, err, errlen);
}
