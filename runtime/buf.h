/* buf: a growable byte buffer with a hard cap (after curl's dynbuf).
 *
 * Every append either fits under `max` or fails with -1 and leaves the
 * buffer as it was, so a runaway input can never eat the machine.
 * The contents are always NUL-terminated (the NUL is not counted in len).
 */
#ifndef CF_BUF_H
#define CF_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct buf {
    char *p;      /* contents, NUL-terminated; NULL until first append */
    size_t len;   /* bytes used, excluding the NUL */
    size_t cap;   /* bytes allocated */
    size_t max;   /* hard cap on len */
} buf;

/* Set up an empty buffer that may grow to at most `max` bytes. Allocates nothing. */
void buf_init(buf *b, size_t max);
/* Free the contents and reset to empty (max is kept). Accepts NULL. */
void buf_free(buf *b);
/* Forget the contents but keep the allocation. */
void buf_reset(buf *b);
/* Make room for `more` bytes past len. 0, or -1 when over max or out of memory. */
int buf_reserve(buf *b, size_t more);
/* Append bytes / a NUL-terminated string / one char / printf output. 0 or -1 (cap, ENOMEM). */
int buf_add(buf *b, const void *data, size_t len);
int buf_adds(buf *b, const char *s);
int buf_addc(buf *b, char c);
int buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(buf *b, const char *fmt, va_list ap);
/* Hand the contents to the caller (who frees them) and reset the buffer. Never NULL on
 * success: an empty buffer gives "". NULL only when out of memory. */
char *buf_steal(buf *b);

#endif
