/* errf: fill a caller's error buffer, the one way every module reports a failure.
 *
 * A function that fails returns -1 (or its documented code) and leaves one line in the
 * caller's `char err[errlen]`; errf_set writes it. err may be NULL or errlen 0 (nothing is
 * written); a message longer than the buffer is cut, never overflowed, and then ends in "...".
 */
#ifndef CF_ERRF_H
#define CF_ERRF_H

#include <stdarg.h>
#include <stddef.h>

void errf_set(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void errf_vset(char *err, size_t errlen, const char *fmt, va_list ap);
/* errf_set, then return -1: `return errf_fail(err, errlen, "...", ...);` */
int errf_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
