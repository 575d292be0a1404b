/* jsonu: helpers over jansson (see jsonu.h). */
#include "jsonu.h"
#include "errf.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *jsonu_parse(const char *text, size_t len, const char *what, char *err, size_t errlen)
{
    json_error_t e;
    memset(&e, 0, sizeof e);
    if (!text) {
        text = "";
        len = 0;
    }
    json_t *root = json_loadb(text, len, 0, &e);
    if (!root) {
        errf_set(err, errlen, "%s: line %d, column %d: %s", what ? what : "JSON", e.line,
                 e.column, e.text[0] ? e.text : "invalid JSON");
        return NULL;
    }
    return root;
}

int jsonu_unpack(json_t *root, const char *what, char *err, size_t errlen, const char *fmt, ...)
{
    json_error_t e;
    memset(&e, 0, sizeof e);
    if (!root) {
        errf_set(err, errlen, "%s: line %d, column %d: %s", what ? what : "JSON", 0, 0,
                 "no JSON value");
        return -1;
    }
    va_list ap;
    va_start(ap, fmt);
    int rc = json_vunpack_ex(root, &e, 0, fmt, ap);
    va_end(ap);
    if (rc != 0) {
        errf_set(err, errlen, "%s: line %d, column %d: %s", what ? what : "JSON", e.line,
                 e.column, e.text[0] ? e.text : "unexpected shape");
        return -1;
    }
    return 0;
}

int jsonu_strcpy(json_t *v, char *out, size_t cap)
{
    if (!out || cap == 0)
        return -1;
    out[0] = '\0';
    if (!v || json_is_null(v))
        return 0;
    if (json_is_string(v)) {
        size_t n = json_string_length(v);
        const char *s = json_string_value(v);
        if (n >= cap || memchr(s, '\0', n))
            return -1;
        memcpy(out, s, n);
        out[n] = '\0';
        return 0;
    }
    if (json_is_integer(v)) {
        int n = snprintf(out, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        if (n < 0 || (size_t)n >= cap) {
            out[0] = '\0';
            return -1;
        }
        return 0;
    }
    return -1;
}

int jsonu_int64(json_t *v, long long *out)
{
    if (!v)
        return -1;
    if (json_is_integer(v)) {
        *out = (long long)json_integer_value(v);
        return 0;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        /* only whole numbers that fit: 1e3 is 1000, 1.5 is not an integer */
        if (!isfinite(d) || d != floor(d) || d < -9223372036854775808.0 ||
            d >= 9223372036854775808.0)
            return -1;
        *out = (long long)d;
        return 0;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (n == 0 || strlen(s) != n || !(s[0] == '-' || s[0] == '+' || (s[0] >= '0' && s[0] <= '9')))
            return -1;
        char *end = NULL;
        errno = 0;
        long long x = strtoll(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0')
            return -1;
        *out = x;
        return 0;
    }
    return -1;
}

int jsonu_double(json_t *v, double *out)
{
    if (!v)
        return -1;
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 0;
    }
    if (json_is_string(v)) {
        /* numeric strings as Prometheus sends them: "1.5", "1e3", "NaN", "+Inf", "-Inf" */
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (n == 0 || strlen(s) != n)
            return -1;
        unsigned char c0 = (unsigned char)s[0];
        if (!(c0 == '-' || c0 == '+' || c0 == '.' || (c0 >= '0' && c0 <= '9') || c0 == 'N' ||
              c0 == 'n' || c0 == 'I' || c0 == 'i'))
            return -1;
        char *end = NULL;
        errno = 0;
        double d = strtod(s, &end);
        if (end == s || *end != '\0')
            return -1;
        /* overflow is an error; underflow to a tiny number or zero is fine */
        if (errno == ERANGE && isinf(d))
            return -1;
        *out = d;
        return 0;
    }
    return -1;
}
