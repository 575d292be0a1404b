/* k8s_quantity: Kubernetes resource quantities ("250m", "1.5", "505020Ki", "1e3") as integers.
 *
 * Grammar (k8s.io/apimachinery resource.Quantity):
 *   quantity ::= [+|-] number suffix
 *   number   ::= digits | digits "." | digits "." digits | "." digits
 *   suffix   ::= "" | n | u | m | k | M | G | T | P | E          (powers of 1000)
 *              | Ki | Mi | Gi | Ti | Pi | Ei                    (powers of 1024)
 *              | (e|E) [+|-] digits                             (decimal exponent)
 * "12E" is 12 exa (suffix E); "12E3" and "12e3" are 12000 (exponent).
 *
 * The result is exact (no floating point): the value scaled by 10^scale and rounded up
 * away from zero to an integer, as Kubernetes' Quantity.Value() (scale 0) and
 * Quantity.MilliValue() (scale 3) do: "100n" cpu is 1 millicore, "0.5" bytes is 1 byte,
 * "1.5Gi" is 1610612736 bytes. A magnitude above 2^63-1 is capped at INT64_MAX (negative:
 * -INT64_MAX), as Kubernetes caps quantities at 2^63-1.
 *
 * Deviations from Kubernetes, on purpose: a number needs at least one digit ("." and "+"
 * alone are errors, Kubernetes reads them as 0); leading/trailing blanks are errors; a
 * quantity longer than K8S_QUANTITY_MAX characters is an error.
 */
#ifndef CF_K8S_QUANTITY_H
#define CF_K8S_QUANTITY_H

#include <stddef.h>
#include <stdint.h>

#define K8S_QUANTITY_MAX 128

enum { K8S_Q_UNITS = 0, K8S_Q_MILLI = 3 };

/* Parse s and store ceil(|q| * 10^scale) (with q's sign) in *out. scale is K8S_Q_UNITS
 * (bytes, pods, cores) or K8S_Q_MILLI (millicores); any scale in [-9, 9] works.
 * 0, or -1 with err = the reason (without the quantity text: the caller names the object
 * and the quantity). *out is left unchanged on error. */
int k8s_quantity(const char *s, int scale, int64_t *out, char *err, size_t errlen);

#endif
