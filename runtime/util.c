/* util: small helpers, one copy each (see util.h). */
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void util_copy_cut(char *out, size_t cap, const char *s, size_t n)
{
    if (cap == 0)
        return;
    if (!s)
        n = 0;
    if (n > cap - 1)
        n = cap - 1;
    if (n)
        memcpy(out, s, n);
    out[n] = '\0';
}

int util_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int util_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    if (elem == 0)
        return -1;
    size_t nc = *cap ? *cap : 16;
    while (nc < need) {
        if (nc > SIZE_MAX / 2 / elem)
            return -1;
        nc *= 2;
    }
    void *np = realloc(*arr, nc * elem);
    if (!np)
        return -1;
    *arr = np;
    *cap = nc;
    return 0;
}
