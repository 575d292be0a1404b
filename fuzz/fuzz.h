/* fuzz: what the fuzz targets share (see fuzz/README.md).
 *
 * Each fuzz/fuzz_NAME.c defines LLVMFuzzerTestOneInput and is linked two ways: with
 * libFuzzer (clang -fsanitize=fuzzer, `make fuzz`) and with fuzz/replay.c, a plain main()
 * that feeds it every file of a corpus folder (`make fuzz-replay`, part of `make test`,
 * gcc or clang, with or without sanitizers). A broken invariant calls FUZZ_CHECK, which
 * prints what and where and aborts: libFuzzer keeps the input, the replay fails.
 */
#ifndef CF_FUZZ_H
#define CF_FUZZ_H

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../store/lp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond, ...)                                                   \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "fuzz: %s:%d: %s: ", __FILE__, __LINE__, #cond);    \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
            abort();                                                            \
        }                                                                       \
    } while (0)

/* A NUL-terminated heap copy of data[size] (the parsers that take C strings). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* An error message must be a non-empty one-line C string (it ends up in a log line). */
static inline void fuzz_check_err(const char *err, size_t cap, const char *what)
{
    FUZZ_CHECK(memchr(err, '\0', cap) != NULL, "%s: error not terminated", what);
    FUZZ_CHECK(err[0] != '\0', "%s: failed without a reason", what);
    FUZZ_CHECK(strchr(err, '\n') == NULL, "%s: error spans lines: %s", what, err);
}

static inline int64_t fuzz_trunc(int64_t ns, lp_precision prec)
{
    static const int64_t div[] = { 1, 1000, 1000000, 1000000000 };
    return ns / div[prec] * div[prec];
}

static inline bool fuzz_same_double(double a, double b)
{
    if (isnan(a) || isnan(b))
        return false;
    return memcmp(&a, &b, sizeof a) == 0 || (a == 0 && b == 0);
}

/* A name as the encoder stores it: newline and CR become a space. */
static inline bool fuzz_same_name(const char *given, const char *back)
{
    size_t i = 0;
    for (; given[i] && back[i]; i++) {
        char g = given[i] == '\n' || given[i] == '\r' ? ' ' : given[i];
        if (g != back[i])
            return false;
    }
    return given[i] == back[i];
}

/* parse(encode(p)) == p, the rule of tests/fixtures/README.md as far as the point model
 * goes: measurement and tags (empty-valued tags dropped, sorted; newline/CR as a space),
 * every field in order with its type and exact value, the time truncated to `prec` (or the
 * parser's default time when p has none). `back` is what lp_parse gave for encode(p). */
static inline void fuzz_check_same_point(const lp_point *p, const lp_point *back,
                                         lp_precision prec, int64_t default_ns)
{
    FUZZ_CHECK(fuzz_same_name(p->measurement, back->measurement), "measurement [%s] came back [%s]",
               p->measurement, back->measurement);
    size_t want_tags = 0;
    for (size_t i = 0; i < p->ntags; i++) {
        if (!p->tags[i].value[0])
            continue;
        want_tags++;
        bool found = false;
        for (size_t j = 0; j < back->ntags && !found; j++)
            found = fuzz_same_name(p->tags[i].key, back->tags[j].key) &&
                    fuzz_same_name(p->tags[i].value, back->tags[j].value);
        FUZZ_CHECK(found, "tag [%s]=[%s] did not come back", p->tags[i].key, p->tags[i].value);
    }
    FUZZ_CHECK(back->ntags == want_tags, "%zu tags came back, %zu given", back->ntags, want_tags);
    /* (sorted as InfluxDB sorts them: by their escaped bytes, which the re-encoding
     * check in fuzz_roundtrip covers) */
    FUZZ_CHECK(back->nfields == p->nfields, "%zu fields came back, %zu given", back->nfields,
               p->nfields);
    for (size_t i = 0; i < p->nfields; i++) {
        const lp_field *a = &p->fields[i], *b = &back->fields[i];
        FUZZ_CHECK(fuzz_same_name(a->key, b->key), "field key [%s] came back [%s]", a->key, b->key);
        lp_type want = a->type == LP_UINT ? LP_INT : a->type;
        FUZZ_CHECK(b->type == want, "field [%s]: type %d came back %d", a->key, (int)a->type,
                   (int)b->type);
        switch (a->type) {
        case LP_FLOAT:
            FUZZ_CHECK(fuzz_same_double(a->v.f, b->v.f), "field [%s]: %.17g came back %.17g",
                       a->key, a->v.f, b->v.f);
            break;
        case LP_INT:
            FUZZ_CHECK(a->v.i == b->v.i, "field [%s]: %" PRId64 " came back %" PRId64, a->key,
                       a->v.i, b->v.i);
            break;
        case LP_UINT:
            FUZZ_CHECK(a->v.u <= INT64_MAX && (int64_t)a->v.u == b->v.i,
                       "field [%s]: %" PRIu64 "u came back %" PRId64, a->key, a->v.u, b->v.i);
            break;
        case LP_BOOL:
            FUZZ_CHECK(a->v.b == b->v.b, "field [%s]: bool changed", a->key);
            break;
        case LP_STRING:
            FUZZ_CHECK(a->v.s.len == b->v.s.len &&
                       (a->v.s.len == 0 || memcmp(a->v.s.p, b->v.s.p, a->v.s.len) == 0),
                       "field [%s]: string of %zu bytes came back as %zu bytes", a->key,
                       a->v.s.len, b->v.s.len);
            break;
        }
    }
    int64_t want_t = fuzz_trunc(p->has_time ? p->time_ns : default_ns, prec);
    FUZZ_CHECK(back->has_time && back->time_ns == want_t,
               "time %" PRId64 " (precision %d) came back %" PRId64, want_t, (int)prec,
               back->time_ns);
}

/* Encode p; when the encoder takes it, the line must parse back to p (and be one line).
 * Returns whether the encoder took it. */
static inline bool fuzz_roundtrip(const lp_point *p, lp_precision prec)
{
    const int64_t default_ns = INT64_C(1700000000123456789);
    buf out;
    buf_init(&out, (size_t)1 << 26);
    char err[512];
    err[0] = '\0';
    int r = lp_encode(p, prec, &out, NULL, err, sizeof err);
    if (r != 0) {
        fuzz_check_err(err, sizeof err, "lp_encode");
        FUZZ_CHECK(out.len == 0, "lp_encode failed but wrote %zu bytes", out.len);
        buf_free(&out);
        return false;
    }
    FUZZ_CHECK(out.len > 0 && out.p[out.len - 1] == '\n', "encoded line without its newline");
    /* FUZZ_DUMP_LP=FILE: append each ns line the encoder wrote (the differential sample,
     * fuzz/differential/, is drawn from these) */
    const char *dump = prec == LP_NS ? getenv("FUZZ_DUMP_LP") : NULL;
    FILE *df = dump && *dump ? fopen(dump, "ab") : NULL;
    if (df) {
        (void)fwrite(out.p, 1, out.len, df);
        fclose(df);
    }
    size_t n = lp_line_len(out.p, out.len);
    FUZZ_CHECK(n == out.len - 1, "the encoded line splits at %zu of %zu: [%.*s]", n, out.len,
               (int)out.len, out.p);
    FUZZ_CHECK(lp_record_len(out.p, out.len, prec) == n, "lp_record_len %zu, lp_line_len %zu",
               lp_record_len(out.p, out.len, prec), n);
    FUZZ_CHECK(lp_count_lines(out.p, out.len) == 1, "the encoded line counts as %zu lines",
               lp_count_lines(out.p, out.len));
    lp_parsed pp;
    lp_parsed_init(&pp);
    int pr = lp_parse(out.p, n, prec, default_ns, &pp, err, sizeof err);
    FUZZ_CHECK(pr == 1, "encoded line does not parse back (%d: %s): [%.*s]", pr, err, (int)n,
               out.p);
    fuzz_check_same_point(p, &pp.pt, prec, default_ns);
    if (prec == LP_NS && p->has_time) {
        int64_t t = 0;
        FUZZ_CHECK(lp_line_time_ns(out.p, out.len, &t) == 0 && t == p->time_ns,
                   "lp_line_time_ns read %" PRId64 ", encoded %" PRId64, t, p->time_ns);
    }
    /* encoding what came back gives the same line */
    pp.pt.has_time = p->has_time;
    buf again;
    buf_init(&again, (size_t)1 << 26);
    FUZZ_CHECK(lp_encode(&pp.pt, prec, &again, NULL, err, sizeof err) == 0,
               "re-encoding the parsed point failed: %s", err);
    FUZZ_CHECK(again.len == out.len && memcmp(again.p, out.p, out.len) == 0,
               "re-encoding changed the line: [%.*s] -> [%.*s]", (int)out.len, out.p,
               (int)again.len, again.p);
    buf_free(&again);
    lp_parsed_free(&pp);
    buf_free(&out);
    return true;
}

#endif
