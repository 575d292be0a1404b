/* fuzz target: `cronflux push --format json` line decoding (jobs/cronflux/cf_json.h).
 * The input is split at '\n' as push splits it; each line decodes or fails with a
 * one-line reason; a decoded point that the encoder takes comes back from encode -> parse
 * unchanged (the JSON "time" is nanoseconds, so the round trip is at ns precision). */
#include "fuzz.h"

#include "../jobs/cronflux/cf_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cf_json js;
    memset(&js, 0, sizeof js);
    const char *b = (const char *)data;
    size_t off = 0;
    char err[512];
    while (off < size) {
        const char *nl = memchr(b + off, '\n', size - off);
        size_t n = nl ? (size_t)(nl - (b + off)) : size - off;
        lp_point pt;
        err[0] = '\0';
        int r = cf_json_point(b + off, n, &js, &pt, err, sizeof err);
        FUZZ_CHECK(r >= -1 && r <= 1, "cf_json_point returned %d", r);
        if (r < 0)
            fuzz_check_err(err, sizeof err, "cf_json_point");
        if (r == 1)
            (void)fuzz_roundtrip(&pt, LP_NS);
        off += n + 1;
    }
    cf_json_free(&js);
    return 0;
}
