/* lp_internal: what the line-protocol encoder (lp_encode.c) and parser (lp_parse.c) share.
 * Not part of the store's API: only store/lp_*.c include it. Everything here is static
 * inline, so each file gets its own copy and no symbol leaves the module. */
#ifndef CF_LP_INTERNAL_H
#define CF_LP_INTERNAL_H

#include "../runtime/util.h"
#include "lp.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* InfluxDB 1.x refuses the two lowest and the highest int64 nanosecond times. */
#define LP_MIN_NANO (INT64_MIN + 2)
#define LP_MAX_NANO (INT64_MAX - 1)
#define LP_MAX_KEY 65535 /* models.MaxKeyLength: measurement + tags, + 4 + field key */

/* Fill err (if any) with a formatted message, cut to fit. */
static inline void lp_set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline void lp_set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    if (n < 0)
        err[0] = '\0';
    /* n >= errlen: the message was cut to fit; vsnprintf still NUL-terminated it. */
}

/* The offset of the first byte of s[0..len) that is not valid UTF-8, or len. */
static inline size_t lp_utf8_bad(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        if ((unsigned char)s[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = util_utf8_seq(s + i, len - i);
        if (k == 0)
            return i;
        i += k;
    }
    return len;
}

/* A name for an error message, written into tmp (tmplen >= 8): at most tmplen - 4 bytes of
 * s, then "..." if cut; control bytes and bytes that are not valid UTF-8 shown as '?', so
 * a key holding a newline cannot break the one-line log message it ends up in. Returns tmp. */
static inline const char *lp_show(char *tmp, size_t tmplen, const char *s, size_t len)
{
    size_t max = tmplen - 4, o = 0, i = 0;
    while (i < len && o < max) {
        unsigned char c = (unsigned char)s[i];
        size_t k = c < 0x80 ? 1 : util_utf8_seq(s + i, len - i);
        if (k > 1 && o + k <= max) {
            for (size_t j = 0; j < k; j++)
                tmp[o++] = s[i + j];
            i += k;
            continue;
        }
        if (k > 1)
            break; /* a whole character does not fit */
        if (c < 0x20 || c == 0x7f || c >= 0x80)
            c = '?';
        tmp[o++] = (char)c;
        i++;
    }
    if (i < len) {
        tmp[o++] = '.';
        tmp[o++] = '.';
        tmp[o++] = '.';
    }
    tmp[o] = '\0';
    return tmp;
}

/* memcpy(dst, src, n) for the short names most copies are: up to 32 bytes by fixed-size
 * loads and stores that overlap in the middle (each within the n bytes), without the call
 * and its size dispatch; longer ones by memcpy. dst and src do not overlap. */
static inline void lp_copy(char *dst, const char *src, size_t n)
{
    uint64_t a, b, c, d;
    if (n > 32) {
        memcpy(dst, src, n);
    } else if (n >= 16) {
        memcpy(&a, src, 8);
        memcpy(&b, src + 8, 8);
        memcpy(&c, src + n - 16, 8);
        memcpy(&d, src + n - 8, 8);
        memcpy(dst, &a, 8);
        memcpy(dst + 8, &b, 8);
        memcpy(dst + n - 16, &c, 8);
        memcpy(dst + n - 8, &d, 8);
    } else if (n >= 8) {
        memcpy(&a, src, 8);
        memcpy(&b, src + n - 8, 8);
        memcpy(dst, &a, 8);
        memcpy(dst + n - 8, &b, 8);
    } else if (n >= 4) {
        uint32_t x, y;
        memcpy(&x, src, 4);
        memcpy(&y, src + n - 4, 4);
        memcpy(dst, &x, 4);
        memcpy(dst + n - 4, &y, 4);
    } else if (n > 0) {
        dst[0] = src[0];
        dst[n / 2] = src[n / 2];
        dst[n - 1] = src[n - 1];
    }
}

/* Nanoseconds per unit of precision p. */
static inline int64_t lp_prec_mult(lp_precision p)
{
    switch (p) {
    case LP_NS: return 1;
    case LP_US: return 1000;
    case LP_MS: return 1000000;
    case LP_S: return 1000000000;
    }
    return 1;
}

#endif
