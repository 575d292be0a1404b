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

#endif
