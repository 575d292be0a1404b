/* fuzz target: the Prometheus API answer scanner (jobs/prometheus/prom.h): prom_parse over
 * the whole input, and the sample-time and value readers over it as one token. */
#include "fuzz.h"

#include "../jobs/prometheus/prom.h"

typedef struct seen {
    int64_t samples;
    uint64_t labels_id;
} seen;

static int on_sample(void *ctx, const prom_label *labels, size_t nlabels, uint64_t labels_id,
                     int64_t t_ns, double value, const prom_text *vt)
{
    seen *s = ctx;
    /* the value's text reads back as the value (what lp_field.text relies on) */
    FUZZ_CHECK(vt && vt->p && vt->len > 0, "a sample without its value's text");
    if (vt && vt->p && vt->len > 0 && vt->len < 512) {
        char vb[512];
        memcpy(vb, vt->p, vt->len);
        vb[vt->len] = '\0';
        double back = strtod(vb, NULL);
        FUZZ_CHECK((isnan(back) && isnan(value)) ||
                       (back == value && signbit(back) == signbit(value)),
                   "value text \"%s\" reads back as %.17g, not %.17g", vb, back, value);
    }
    FUZZ_CHECK(labels_id >= 1 && labels_id >= s->labels_id, "labels_id %" PRIu64 " after %" PRIu64,
               labels_id, s->labels_id);
    s->labels_id = labels_id;
    (void)t_ns;
    (void)value;
    FUZZ_CHECK(nlabels <= PROM_LABELS_MAX, "%zu labels", nlabels);
    for (size_t i = 0; i < nlabels; i++)
        FUZZ_CHECK(labels[i].name && labels[i].value, "label %zu without text", i);
    s->samples++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *b = (const char *)data;
    prom_parse_result res;
    char err[PROM_ERR_MAX];
    seen s = { 0 };
    err[0] = '\0';
    int r = prom_parse(b, size, on_sample, &s, &res, err, sizeof err);
    FUZZ_CHECK(r == 0 || r == -1, "prom_parse returned %d", r);
    if (r < 0)
        fuzz_check_err(err, sizeof err, "prom_parse");
    else
        FUZZ_CHECK(s.samples <= res.samples,
                   "%" PRId64 " samples called back, %" PRId64 " counted", s.samples,
                   res.samples);
    FUZZ_CHECK(memchr(res.error, '\0', sizeof res.error) && memchr(res.warning, '\0',
               sizeof res.warning) && memchr(res.error_type, '\0', sizeof res.error_type),
               "result text not terminated");
    /* validate only: the same verdict */
    prom_parse_result res2;
    int r2 = prom_parse(b, size, NULL, NULL, &res2, err, sizeof err);
    FUZZ_CHECK(r2 == r, "with a callback %d, without %d", r, r2);

    int64_t ns;
    if (prom_ts_parse(b, size, &ns) == 0) {
        char text[64];
        FUZZ_CHECK(prom_fmt_seconds(ns, text, sizeof text) != NULL, "prom_fmt_seconds failed");
        int64_t back;
        FUZZ_CHECK(prom_ts_parse(text, strlen(text), &back) == 0 && back == ns,
                   "%" PRId64 " ns written as %s does not read back", ns, text);
    }
    double v;
    (void)prom_value_parse(b, size, &v);
    return 0;
}
