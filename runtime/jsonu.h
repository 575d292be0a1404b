/* jsonu: small helpers over jansson for validating API answers in one place.
 *
 * Every error message carries where it was: "line L, column C: reason" for text that does
 * not parse, and the jansson unpack message (which names the key path) for a wrong shape.
 */
#ifndef CF_JSONU_H
#define CF_JSONU_H

#include <jansson.h>
#include <stddef.h>

/* Parse text[len]. A new reference, or NULL with err = "what: line L, column C: reason". */
json_t *jsonu_parse(const char *text, size_t len, const char *what, char *err, size_t errlen);

/* json_unpack_ex with the error folded into err as "what: line L, column C: text".
 * 0 or -1. */
int jsonu_unpack(json_t *root, const char *what, char *err, size_t errlen, const char *fmt, ...);

/* Copy a JSON string (or the decimal form of an integer) into out[cap]; "" if missing.
 * 0 or -1 when too long or of another type. */
int jsonu_strcpy(json_t *v, char *out, size_t cap);

/* A JSON number (integer or real) or a numeric string as int64 / double. 0 or -1. */
int jsonu_int64(json_t *v, long long *out);
int jsonu_double(json_t *v, double *out);

#endif
