/* gz: gzip members in memory (see gz.h). */
#include "gz.h"
#include "errf.h"

#include <stdint.h>
#include <string.h>
#include <zlib.h>

/* The deflate window for a body of len bytes: the smallest (2^9 .. 2^15) that holds it
 * with zlib's 262-byte lookahead, so matches reach as far back as with 32 KiB; and a
 * memLevel in step (8 with the full window, as zlib's default). A small body (the
 * cronflux_job point) then needs ~8 KiB of zlib state instead of ~256 KiB allocated and
 * cleared for each request. */
static void gzip_sizes(size_t len, int *wbits, int *mem_level)
{
    int w = 9;
    while (w < 15 && ((size_t)1 << w) < len + 262)
        w++;
    *wbits = w;
    *mem_level = w - 7;
}

int gz_deflate(buf *out, const char *in, size_t len, int level)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    int wbits, mem_level;
    gzip_sizes(len, &wbits, &mem_level);
    if (deflateInit2(&zs, level, Z_DEFLATED, wbits + 16, mem_level, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    int rc = -1;
    buf_reset(out);
    uLong bound = deflateBound(&zs, (uLong)len);
    if (bound > out->max || buf_reserve(out, (size_t)bound) != 0)
        goto done;
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.next_out = (Bytef *)out->p;
    size_t left = len, room = out->cap - 1;
    for (;;) {
        if (zs.avail_in == 0 && left > 0) {
            uInt chunk = left > (1u << 30) ? (1u << 30) : (uInt)left;
            zs.avail_in = chunk;
            left -= chunk;
        }
        if (zs.avail_out == 0) {
            size_t used = (size_t)(zs.next_out - (Bytef *)out->p);
            size_t r = room - used;
            if (r == 0)
                goto done;
            zs.avail_out = r > (1u << 30) ? (1u << 30) : (uInt)r;
        }
        int z = deflate(&zs, left == 0 ? Z_FINISH : Z_NO_FLUSH);
        if (z == Z_STREAM_END)
            break;
        if (z != Z_OK && z != Z_BUF_ERROR)
            goto done;
    }
    out->len = (size_t)(zs.next_out - (Bytef *)out->p);
    out->p[out->len] = '\0';
    rc = 0;
done:
    deflateEnd(&zs);
    return rc;
}

int gz_inflate_exact(const void *gz, size_t gzlen, char *out, size_t want, char *why,
                     size_t whylen)
{
    if (gzlen > UINT32_MAX || want > UINT32_MAX) {
        errf_set(why, whylen, "over 4 GiB");
        return -1;
    }
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 16) != Z_OK) {
        errf_set(why, whylen, "out of memory");
        return -1;
    }
    static unsigned char none[1];
    zs.next_in = (Bytef *)(uintptr_t)gz;
    zs.avail_in = (uInt)gzlen;
    zs.next_out = want ? (Bytef *)out : none;
    zs.avail_out = (uInt)want;
    int z = inflate(&zs, Z_FINISH);
    int rc = 0;
    if (z != Z_STREAM_END || zs.total_out != want || zs.avail_in != 0) {
        errf_set(why, whylen, "%s",
                 z == Z_STREAM_END ? "length differs from the batch's" : zs.msg ? zs.msg : "truncated");
        rc = -2;
    }
    inflateEnd(&zs);
    return rc;
}
