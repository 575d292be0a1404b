/* util: the small helpers several modules need, one copy each.
 *
 * No allocation outlives a call except util_grow's (the caller's array, freed by it).
 */
#ifndef CF_UTIL_H
#define CF_UTIL_H

#include <stddef.h>

/* Copy at most cap-1 bytes of s[n] into out, NUL-terminated (cap 0: nothing). */
void util_copy_cut(char *out, size_t cap, const char *s, size_t n);

/* The value of one hex digit (0-9, a-f, A-F), or -1. */
int util_hexval(int c);

/* Make *arr (elements of elem bytes, *cap of them) hold at least need: doubles from 16.
 * 0, or -1 on overflow or out of memory (then *arr and *cap are unchanged). */
int util_grow(void **arr, size_t *cap, size_t need, size_t elem);

/* Length (1-4) of the valid UTF-8 sequence at s, of at most n bytes, or 0 if it is not valid
 * UTF-8 (RFC 3629, as Go's utf8.Valid: no overlong forms, no UTF-16 surrogates, nothing above
 * U+10FFFF). Reads no byte past the first one that makes it invalid, so a NUL-terminated
 * string may be given n = 4. */
static inline size_t util_utf8_seq(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    if (n == 0)
        return 0;
    unsigned c = u[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0; /* overlong */
        else if (c == 0xed)
            hi = 0x9f; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90; /* overlong */
        else if (c == 0xf4)
            hi = 0x8f; /* above U+10FFFF */
    } else {
        return 0;
    }
    if (n < 2 || u[1] < lo || u[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (n <= i || u[i] < 0x80 || u[i] > 0xbf)
            return 0;
    return len;
}

#endif
