/* lp: the point model and InfluxDB line protocol (encoder and parser).
 *
 * The rule for every choice here: a point written to a real InfluxDB 1.6.7 and read back
 * must equal the point given (see tests/fixtures/README.md).
 *  - measurement: escape ',' and ' '; tag keys/values and field keys: escape ',', '=', ' ';
 *    string field values: escape '"' and '\'; a newline inside a string field is written as is.
 *  - a newline/CR in a measurement, tag key or tag value cannot be stored: it is replaced
 *    by a space and counted (lp_encoder.replaced), never allowed to break the line.
 *  - a tag with an empty value is dropped; an empty measurement, tag key or field key is an
 *    error for that point; NaN/±Inf floats are an error for that field; a point with no
 *    field left is rejected with a reason.
 *  - floats: the shortest form that parses back to the same double (always with a '.', 'e'
 *    or written so that InfluxDB reads a float, never mistaken for an integer);
 *    integers "123i"; unsigned values are written as integers ("i") when they fit in int64,
 *    else the point is rejected (stock InfluxDB 1.x refuses "u"); booleans true/false.
 *  - tags are written sorted by key (InfluxDB's canonical order).
 *  - names and string values must be valid UTF-8 (else InfluxDB gives back U+FFFD).
 *  - also rejected, because 1.6.7 would not give them back as given (checked against a real
 *    influxd 1.6.7): a duplicate tag or field key; a tag or field key "time" (1.x drops the
 *    point / the field); a measurement, tag key, tag value or field key ending in a
 *    backslash; a measurement with a backslash right before ',', '"', ' ', '=' or a newline
 *    (stored under a series key no query finds); a field key with a backslash right before
 *    ',', '=', ' ' or a newline, or starting with a tab; a measurement starting with '#'
 *    (a comment line) or a tab; a series key over 65535 bytes; a tag key equal to a field key
 *    (InfluxDB 3 refuses the point; 1.x stores both and a query sees one); an ns timestamp outside
 *    [INT64_MIN+2, INT64_MAX-1]; and any line that 1.x's line splitter would not end at its
 *    own '\n' (backslashes before escaped bytes can make it run into the next line).
 *    The error names the part and the reason.
 *
 * Nothing here allocates per point on the encode path except the output buffer growth.
 */
#ifndef CF_LP_H
#define CF_LP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../runtime/buf.h"

typedef enum lp_type { LP_FLOAT, LP_INT, LP_UINT, LP_STRING, LP_BOOL } lp_type;

typedef struct lp_tag {
    const char *key;
    const char *value;
} lp_tag;

typedef struct lp_field {
    const char *key;
    lp_type type;
    union {
        double f;
        int64_t i;
        uint64_t u;
        bool b;
        struct { const char *p; size_t len; } s;   /* string field (may hold NUL-free bytes) */
    } v;
    /* LP_FLOAT only, optional: the decimal text v.f was read from, e.g. a Prometheus
     * sample's value ("831.545"), such that strtod of text[0..text_len) gives v.f exactly.
     * When it is plain digits with at most one '.', a leading '-' matching v.f's sign, no
     * exponent, and 15 significant digits or fewer, those digits are the shortest of v.f,
     * and the encoder takes them instead of finding them (printf and strtod: most of the
     * encoder's work on a float); the line written is the same either way. Any other text
     * is ignored. NULL: none. So build a field with lp_f_* (or a designated initializer),
     * never member by member on an uninitialized one: text must be NULL or set. */
    const char *text;
    size_t text_len;
} lp_field;

typedef struct lp_point {
    const char *measurement;
    const lp_tag *tags;
    size_t ntags;
    const lp_field *fields;
    size_t nfields;
    int64_t time_ns;    /* nanoseconds since the epoch */
    bool has_time;      /* false: no timestamp written (the server's "now") */
} lp_point;

typedef enum lp_precision { LP_NS = 0, LP_US, LP_MS, LP_S } lp_precision;

/* Field constructors, for readable sources: lp_int("followers", n). */
static inline lp_field lp_f_int(const char *k, int64_t i)
{ lp_field f = { .key = k, .type = LP_INT }; f.v.i = i; return f; }
static inline lp_field lp_f_float(const char *k, double d)
{ lp_field f = { .key = k, .type = LP_FLOAT }; f.v.f = d; return f; }
static inline lp_field lp_f_bool(const char *k, bool b)
{ lp_field f = { .key = k, .type = LP_BOOL }; f.v.b = b; return f; }
static inline lp_field lp_f_str(const char *k, const char *s, size_t len)
{ lp_field f = { .key = k, .type = LP_STRING }; f.v.s.p = s; f.v.s.len = len; return f; }

/* "ns"/"n", "us"/"u", "ms", "s" -> precision. 0 or -1. */
int lp_precision_parse(const char *s, lp_precision *out);
const char *lp_precision_name(lp_precision p);   /* "ns", "us", "ms", "s" (InfluxDB 1.x: "n","u","ms","s" via lp_precision_influx1) */
const char *lp_precision_influx1(lp_precision p);

/* Append one encoded line (with a trailing '\n') for p to out, timestamp written in
 * precision `prec` (truncated toward zero). On error returns -1, leaves out unchanged and
 * fills err with the reason ("field \"x\": NaN cannot be stored"). `replaced`, if not NULL,
 * is incremented by the number of newline/CR characters replaced in names and tags. */
int lp_encode(const lp_point *p, lp_precision prec, buf *out, size_t *replaced,
              char *err, size_t errlen);

/* The series key of the last point encoded through it, kept to be written again: lp_encode_kc
 * is lp_encode, and when p's measurement and tags equal the last successfully keyed point's
 * (byte for byte, the same tags in the same order), the key's bytes are copied instead of
 * checked, ordered and escaped again. Output, errors and `replaced` are lp_encode's in every
 * case (tests/unit/test_lp.c compares them). kc NULL: lp_encode. A cache is for one thread;
 * lp_keycache_new gives NULL when out of memory, lp_keycache_free accepts NULL. */
typedef struct lp_keycache lp_keycache;
lp_keycache *lp_keycache_new(void);
void lp_keycache_free(lp_keycache *kc);
int lp_encode_kc(lp_keycache *kc, const lp_point *p, lp_precision prec, buf *out,
                 size_t *replaced, char *err, size_t errlen);

/* Parsing (for `cronflux push --format lp` and for reading spooled lines back).
 * The parsed point's strings point into `scratch`, which the parser fills; keep it alive
 * while the point is used. tags/fields arrays are owned by the lp_parsed. */
typedef struct lp_parsed {
    lp_point pt;
    lp_tag *tags;
    size_t tags_cap;
    lp_field *fields;
    size_t fields_cap;
    buf scratch;
} lp_parsed;

void lp_parsed_init(lp_parsed *pp);
void lp_parsed_free(lp_parsed *pp);   /* accepts NULL */

/* Parse one line (without its '\n'; a trailing '\r' is not allowed) as InfluxDB 1.6.7 does.
 * A timestamp is read in precision `prec`; a line without one gets default_ns (truncated to
 * `prec`, as 1.6.7 does), so a parsed point always has has_time set. Tags come out sorted;
 * unsigned values ("1u") are refused, as stock 1.x refuses them; a NUL byte in a name is
 * refused (C strings cannot carry it); a line of only NUL bytes (and blanks) is an error,
 * not a blank line. Split a body into lines with lp_record_len.
 * Returns 1 for a point, 0 for a blank or comment line ('#'), -1 on error with err set to a
 * reason with the byte column ("column 12: invalid field format"). */
int lp_parse(const char *line, size_t len, lp_precision prec, int64_t default_ns,
             lp_parsed *out, char *err, size_t errlen);

/* Where the first line of buf[0..len) ends, the way InfluxDB 1.6.7 splits a request body:
 * the index of the first '\n' that is neither escaped by a backslash nor inside a quoted
 * string field value (a string field may hold a raw newline), or len if there is none. The
 * next line starts at the returned index + 1. */
size_t lp_line_len(const char *buf, size_t len);

/* InfluxDB's line splitter fed a line in pieces (physical lines read from a stream, say):
 * zero an lp_split before the line's first piece, then lp_split_feed each piece. Returns
 * the index in this piece of the '\n' that ends the line, or len if the line goes on (the
 * state carries to the next piece). lp_line_len(b, len) is one feed on a zeroed state. */
typedef struct lp_split {
    size_t equals, commas; /* unquoted '=' and ',' seen in the fields */
    int quoted;            /* inside a string field value */
    int fields;            /* past the first space */
    int skip;              /* the piece ended in a backslash: the next byte is escaped */
} lp_split;

size_t lp_split_feed(lp_split *st, const char *buf, size_t len);

/* Whether a time read in precision prec (t_ns = the digits x prec) looks like a wrong
 * precision: t_ns is outside 1990..2100 while the same digits read in another precision
 * fall inside. 1 with *better and *better_ns set (that precision and the time it gives),
 * else 0. For the warning of `cronflux push` ("1700000000 read as ns is 1970"). */
int lp_time_implausible(int64_t t_ns, lp_precision prec, lp_precision *better,
                        int64_t *better_ns);

/* Where the first line of buf[0..len) ends, the way cronflux reads line protocol (push's
 * input, the store's batches): as lp_line_len, except that a line running past a raw
 * newline (inside a quoted string, or after a backslash) is one line only if that whole
 * text parses as a point (lp_parse in precision prec, and each string value ending with its
 * closing quote, which 1.x does not check); otherwise the line ends at its first newline,
 * so a bad line (an unbalanced quote, say) never hides the lines after it. On what
 * lp_encode writes, this and lp_line_len agree. */
size_t lp_record_len(const char *buf, size_t len, lp_precision prec);

/* How many lines buf[0..len) holds, split as lp_record_len splits them (ns precision; a
 * last line without its '\n' counts). */
size_t lp_count_lines(const char *buf, size_t len);

/* The timestamp (ns) at the end of an encoded ns-precision line: returns 0 and sets *out_ns,
 * or returns -1 if the line has none (a trailing '\n' is allowed).
 * Used by the store to filter spooled lines by time without a full parse. */
int lp_line_time_ns(const char *line, size_t len, int64_t *out_ns);

#endif
