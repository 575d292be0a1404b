#include "errf.h"

#include <stdio.h>
#include <string.h>

void errf_oneline(char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

void errf_vset(char *err, size_t errlen, const char *fmt, va_list ap)
{
    if (!err || errlen == 0)
        return;
    int n = vsnprintf(err, errlen, fmt, ap);
    if (n < 0)
        err[0] = '\0';
    else if ((size_t)n >= errlen && errlen > 4)
        memcpy(err + errlen - 4, "...", 4);
    errf_oneline(err);
}

void errf_set(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    errf_vset(err, errlen, fmt, ap);
    va_end(ap);
}

int errf_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    errf_vset(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}
