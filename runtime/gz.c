/* gz: gzip members in memory (see gz.h). */
#include "gz.h"
#include "errf.h"

#include <libdeflate.h>
#include <stdlib.h>

struct gz_packer {
    struct libdeflate_compressor *c;
    int level;
};

gz_packer *gz_packer_new(int level)
{
    if (level < 1 || level > 9)
        level = 1;
    gz_packer *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->c = libdeflate_alloc_compressor(level);
    if (!p->c) {
        free(p);
        return NULL;
    }
    p->level = level;
    return p;
}

void gz_packer_free(gz_packer *p)
{
    if (!p)
        return;
    libdeflate_free_compressor(p->c);
    free(p);
}

int gz_packer_level(const gz_packer *p) { return p ? p->level : 0; }

int gz_pack(gz_packer *p, buf *out, const char *in, size_t len)
{
    buf_reset(out);
    if (!p)
        return -1;
    size_t bound = libdeflate_gzip_compress_bound(p->c, len);
    if (bound > out->max || buf_reserve(out, bound) != 0)
        return -1;
    /* room for the terminating NUL buf keeps after the data */
    size_t n = libdeflate_gzip_compress(p->c, in, len, out->p, out->cap - 1);
    if (n == 0)
        return -1;   /* cannot happen with the bound's room */
    out->len = n;
    out->p[n] = '\0';
    return 0;
}

int gz_inflate_exact(const void *gz, size_t gzlen, char *out, size_t want, char *why,
                     size_t whylen)
{
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    if (!d) {
        errf_set(why, whylen, "out of memory");
        return -1;
    }
    static char none[1];
    size_t used = 0, got = 0;
    enum libdeflate_result r = libdeflate_gzip_decompress_ex(d, gz, gzlen, want ? out : none,
                                                             want, &used, &got);
    libdeflate_free_decompressor(d);
    if (r == LIBDEFLATE_SUCCESS && got == want && used == gzlen)
        return 0;
    errf_set(why, whylen, "%s",
             r == LIBDEFLATE_BAD_DATA ? "not a whole gzip member (bad data or checksum)"
             : r == LIBDEFLATE_INSUFFICIENT_SPACE ? "length differs from the batch's (longer)"
             : r != LIBDEFLATE_SUCCESS ? "truncated"
             : got != want ? "length differs from the batch's"
                           : "bytes after the gzip member");
    return -2;
}
