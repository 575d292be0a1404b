/* buf: a growable byte buffer with a hard cap (after curl's dynbuf).
 *
 * Every append either fits under `max` or fails with -1, so a runaway input can never eat
 * the machine. A failure is sticky, as in curl's dynbuf: the failed append frees the
 * contents and marks the buffer (`failed`), and every later append fails too, until
 * buf_reset or buf_free. So a caller that misses one failure cannot go on to send a
 * silently shortened URL or body: what it built is gone, and its next append says so.
 * Check for room first (len and max) when running out of room is not an error.
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
    int failed;   /* an append failed: contents freed, appends fail until buf_reset/free */
} buf;

/* Set up an empty buffer that may grow to at most `max` bytes. Allocates nothing. */
void buf_init(buf *b, size_t max);
/* Free the contents and reset to empty, clearing `failed` (max is kept). Accepts NULL. */
void buf_free(buf *b);
/* Forget the contents but keep the allocation; clears `failed`. */
void buf_reset(buf *b);
/* Make room for `more` bytes past len. 0, or -1 when over max or out of memory (then
 * failed, as an append). */
int buf_reserve(buf *b, size_t more);
/* Append bytes / a NUL-terminated string / one char / printf output. 0, or -1 (over max,
 * out of memory, or the buffer failed before): the buffer is then freed and failed. */
int buf_add(buf *b, const void *data, size_t len);
int buf_adds(buf *b, const char *s);
int buf_addc(buf *b, char c);
int buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(buf *b, const char *fmt, va_list ap);
/* Hand the contents to the caller (who frees them) and reset the buffer. Never NULL on
 * success: an empty buffer gives "". NULL when out of memory or the buffer failed. */
char *buf_steal(buf *b);

#endif
