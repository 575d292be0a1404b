/* lp_internal: what the line-protocol encoder (lp_encode.c) and parser (lp_parse.c) share.
 * Not part of the store's API: only store/lp_*.c include it. Everything here is static
 * inline, so each file gets its own copy and no symbol leaves the module. */
#ifndef CF_LP_INTERNAL_H
#define CF_LP_INTERNAL_H

#include "lp.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

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

/* A name for an error message, written into tmp (tmplen >= 8): at most tmplen - 4 bytes of
 * s, then "..." if cut; control bytes shown as '?', so a key holding a newline cannot break
 * the one-line log message it ends up in. Returns tmp. */
static inline const char *lp_show(char *tmp, size_t tmplen, const char *s, size_t len)
{
    size_t max = tmplen - 4, o = 0;
    for (size_t i = 0; i < len && o < max; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            c = '?';
        tmp[o++] = (char)c;
    }
    if (len > max) {
        tmp[o++] = '.';
        tmp[o++] = '.';
        tmp[o++] = '.';
    }
    tmp[o] = '\0';
    return tmp;
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
