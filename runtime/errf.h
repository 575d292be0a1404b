/* errf: fill a caller's error buffer, the one way every module reports a failure.
 *
 * A function that fails returns -1 (or its documented code) and leaves one line in the
 * caller's `char err[errlen]`; errf_set writes it. err may be NULL or errlen 0 (nothing is
 * written); a message longer than the buffer is cut, never overflowed, and then ends in "...".
 * One line means one: a control character that came in through an argument (a newline in a
 * server's message, in a command-line value) is written as '?' (found by fuzz/).
 */
#ifndef CF_ERRF_H
#define CF_ERRF_H

#include <stdarg.h>
#include <stddef.h>

void errf_set(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void errf_vset(char *err, size_t errlen, const char *fmt, va_list ap);
/* Make the C string s one printable line in place: bytes below 0x20 and 0x7f become '?'. */
void errf_oneline(char *s);
/* errf_set, then return -1: `return errf_fail(err, errlen, "...", ...);` */
int errf_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
