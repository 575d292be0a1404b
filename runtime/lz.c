/* lz: LZ4 blocks in memory (see lz.h). */
#include "lz.h"
#include "errf.h"

#include <libdeflate.h>
#include <lz4.h>
#include <stdint.h>

#define LZ_HEAD 4   /* the CRC-32 of the lines */

static void put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int lz_pack(buf *out, const char *in, size_t len)
{
    buf_reset(out);
    if (len > LZ_MAX || (len && !in))
        return -1;
    size_t bound = LZ_HEAD + (size_t)LZ4_compressBound((int)len);
    if (bound > out->max || buf_reserve(out, bound) != 0)
        return -1;
    put_le32((unsigned char *)out->p, (uint32_t)libdeflate_crc32(0, in, len));
    int n = len ? LZ4_compress_default(in, out->p + LZ_HEAD, (int)len,
                                       (int)(out->cap - 1 - LZ_HEAD))
                : 0;
    if (len && n <= 0)
        return -1;   /* cannot happen with the bound's room */
    out->len = LZ_HEAD + (size_t)n;
    out->p[out->len] = '\0';
    return 0;
}

int lz_unpack_exact(const void *z, size_t zlen, char *out, size_t want, char *why,
                    size_t whylen)
{
    const unsigned char *p = z;
    if (zlen < LZ_HEAD || zlen - LZ_HEAD > (size_t)INT32_MAX || want > LZ_MAX) {
        errf_set(why, whylen, "%s", zlen < LZ_HEAD ? "truncated" : "too long");
        return -2;
    }
    int n = 0;
    if (want > 0)
        n = LZ4_decompress_safe((const char *)p + LZ_HEAD, out, (int)(zlen - LZ_HEAD), (int)want);
    else if (zlen > LZ_HEAD)
        n = -1;   /* data for no lines */
    if (n < 0) {
        errf_set(why, whylen, "not a whole LZ4 block (bad data, or longer than the batch's)");
        return -2;
    }
    if ((size_t)n != want) {
        errf_set(why, whylen, "length differs from the batch's");
        return -2;
    }
    if ((uint32_t)libdeflate_crc32(0, out, want) != get_le32(p)) {
        errf_set(why, whylen, "checksum differs (bad data)");
        return -2;
    }
    return 0;
}
