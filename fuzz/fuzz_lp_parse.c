/* fuzz target: the line-protocol parser (store/lp.h) over a whole request body.
 * The first byte picks the precision; the rest is split into lines with lp_record_len as
 * push and the store split them. Every line parses or fails with a one-line reason; a
 * parsed point that the encoder takes comes back from encode -> parse unchanged; a split
 * never ends past InfluxDB's own (lp_line_len) and the ns split agrees with lp_count_lines. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    lp_precision prec = (lp_precision)(data[0] & 3);
    const char *b = (const char *)data + 1;
    size_t len = size - 1;
    lp_parsed pp;
    lp_parsed_init(&pp);
    char err[512];
    size_t off = 0, lines = 0;
    while (off < len) {
        size_t n = lp_record_len(b + off, len - off, prec);
        FUZZ_CHECK(n <= len - off, "lp_record_len %zu past the end (%zu left)", n, len - off);
        FUZZ_CHECK(n <= lp_line_len(b + off, len - off), "lp_record_len %zu past lp_line_len %zu",
                   n, lp_line_len(b + off, len - off));
        lines++;
        err[0] = '\0';
        int r = lp_parse(b + off, n, prec, INT64_C(1600000000000000000), &pp, err, sizeof err);
        FUZZ_CHECK(r >= -1 && r <= 1, "lp_parse returned %d", r);
        if (r < 0)
            fuzz_check_err(err, sizeof err, "lp_parse");
        if (r == 1) {
            FUZZ_CHECK(pp.pt.measurement && pp.pt.measurement[0], "empty measurement parsed");
            FUZZ_CHECK(pp.pt.nfields > 0, "a point without fields parsed");
            FUZZ_CHECK(pp.pt.has_time, "a parsed point without a time");
            (void)fuzz_roundtrip(&pp.pt, prec);
        }
        off += n + 1;
    }
    size_t ns_lines = 0;
    for (off = 0; off < len; off += lp_record_len(b + off, len - off, LP_NS) + 1)
        ns_lines++;
    FUZZ_CHECK(lp_count_lines(b, len) == ns_lines, "lp_count_lines %zu, lp_record_len split %zu",
               lp_count_lines(b, len), ns_lines);
    (void)lines;
    lp_parsed_free(&pp);
    return 0;
}
