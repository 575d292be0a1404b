/* k8s_quantity: exact Kubernetes quantity parsing (see k8s_quantity.h).
 *
 * The significand is kept as decimal digits (least significant first), multiplied by
 * 2^b for a binary suffix, then read at the decimal exponent: the digits left of the
 * point are the integer part, any non-zero digit right of it rounds the magnitude up. */
#include "k8s_quantity.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* significant digits we keep: K8S_QUANTITY_MAX input characters, plus room for 2^60 */
#define QDIGITS (K8S_QUANTITY_MAX + 24)
/* exponent digits past this cannot change the outcome (cap or one unit) */
#define QEXP_CLAMP 100000

static int qfail(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
    return -1;
}

/* The suffix: decimal power (*dec) or binary power (*bin). 0 or -1. */
static int suffix_interpret(const char *s, size_t n, int *dec, int *bin)
{
    static const struct { const char *s; int dec, bin; } tab[] = {
        { "", 0, 0 },    { "n", -9, 0 },  { "u", -6, 0 },  { "m", -3, 0 },  { "k", 3, 0 },
        { "M", 6, 0 },   { "G", 9, 0 },   { "T", 12, 0 },  { "P", 15, 0 },  { "E", 18, 0 },
        { "Ki", 0, 10 }, { "Mi", 0, 20 }, { "Gi", 0, 30 }, { "Ti", 0, 40 }, { "Pi", 0, 50 },
        { "Ei", 0, 60 },
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        if (strlen(tab[i].s) == n && memcmp(tab[i].s, s, n) == 0) {
            *dec = tab[i].dec;
            *bin = tab[i].bin;
            return 0;
        }
    }
    /* decimal exponent: e|E, optional sign, at least one digit, nothing else */
    if (n < 2 || (s[0] != 'e' && s[0] != 'E'))
        return -1;
    size_t i = 1;
    bool neg = false;
    if (s[i] == '+' || s[i] == '-') {
        neg = s[i] == '-';
        i++;
    }
    if (i >= n)
        return -1;
    long v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        if (v < QEXP_CLAMP)
            v = v * 10 + (s[i] - '0');
    }
    *dec = (int)(neg ? -v : v);
    *bin = 0;
    return 0;
}

/* d[0..*n) *= 2^b (little-endian decimal digits). */
static void digits_shift(unsigned char *d, size_t *n, int b)
{
    while (b > 0) {
        int step = b > 24 ? 24 : b;
        unsigned long m = 1ul << step, carry = 0;
        for (size_t i = 0; i < *n; i++) {
            unsigned long v = (unsigned long)d[i] * m + carry;
            d[i] = (unsigned char)(v % 10);
            carry = v / 10;
        }
        while (carry && *n < QDIGITS) {
            d[(*n)++] = (unsigned char)(carry % 10);
            carry /= 10;
        }
        b -= step;
    }
}

int k8s_quantity(const char *s, int scale, int64_t *out, char *err, size_t errlen)
{
    if (!s || !*s)
        return qfail(err, errlen, "empty quantity");
    size_t len = strlen(s);
    if (len > K8S_QUANTITY_MAX)
        return qfail(err, errlen, "quantity too long");
    if (scale < -9 || scale > 9)
        return qfail(err, errlen, "internal: scale out of range");

    size_t p = 0;
    bool neg = false;
    if (s[p] == '+' || s[p] == '-') {
        neg = s[p] == '-';
        p++;
    }
    /* number: digits [. digits] */
    size_t int_start = p;
    while (p < len && s[p] >= '0' && s[p] <= '9')
        p++;
    size_t int_end = p, frac_start = p, frac_end = p;
    if (p < len && s[p] == '.') {
        p++;
        frac_start = p;
        while (p < len && s[p] >= '0' && s[p] <= '9')
            p++;
        frac_end = p;
    }
    if (int_end == int_start && frac_end == frac_start)
        return qfail(err, errlen, "expected a number");
    /* suffix, scanned as Kubernetes does: [eEinumkKMGTP]* [+-]? [0-9]* to the end */
    size_t suf = p;
    while (p < len && strchr("eEinumkKMGTP", s[p]))
        p++;
    if (p < len && (s[p] == '+' || s[p] == '-'))
        p++;
    while (p < len && s[p] >= '0' && s[p] <= '9')
        p++;
    if (p != len)
        return qfail(err, errlen,
                     "not a quantity (want a number with an optional suffix: n u m k M G T P E "
                     "Ki Mi Gi Ti Pi Ei or an exponent e3)");
    int dec = 0, bin = 0;
    if (suffix_interpret(s + suf, len - suf, &dec, &bin) != 0)
        return qfail(err, errlen,
                     "unknown suffix (want n u m k M G T P E Ki Mi Gi Ti Pi Ei or an exponent e3)");

    /* significant digits, least significant first; leading zeros dropped */
    unsigned char d[QDIGITS];
    size_t n = 0;
    for (size_t i = frac_end; i > frac_start; i--)
        d[n++] = (unsigned char)(s[i - 1] - '0');
    for (size_t i = int_end; i > int_start; i--)
        d[n++] = (unsigned char)(s[i - 1] - '0');
    while (n > 0 && d[n - 1] == 0)
        n--;
    if (n == 0) {
        *out = 0;
        return 0;
    }
    digits_shift(d, &n, bin);

    /* value = d * 10^x */
    long x = (long)dec + scale - (long)(frac_end - frac_start);
    uint64_t mag = 0;
    bool cap = false;
    if (x >= 0) {
        if ((long)n + x > 19) {
            cap = true;
        } else {
            for (size_t i = n; i > 0 && !cap; i--) {
                if (mag > (UINT64_MAX - d[i - 1]) / 10)
                    cap = true;
                else
                    mag = mag * 10 + d[i - 1];
            }
            for (long i = 0; i < x && !cap; i++) {
                if (mag > UINT64_MAX / 10)
                    cap = true;
                else
                    mag *= 10;
            }
        }
    } else {
        long k = -x;
        if (k >= (long)n) {
            mag = 1; /* 0 < value < 1: rounds up to one unit */
        } else if ((long)n - k > 19) {
            cap = true;
        } else {
            bool frac = false;
            for (long i = 0; i < k; i++)
                frac |= d[i] != 0;
            for (size_t i = n; i > (size_t)k; i--)
                mag = mag * 10 + d[i - 1];
            if (frac)
                mag++;
        }
    }
    if (cap || mag > (uint64_t)INT64_MAX)
        mag = (uint64_t)INT64_MAX;
    *out = neg ? -(int64_t)mag : (int64_t)mag;
    return 0;
}
