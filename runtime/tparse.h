/* tparse: times and durations as the CLI contract spells them.
 *
 * A time is RFC 3339 ("2026-11-01T00:00:00Z", "2026-11-01T00:00:00.5+02:00"),
 * a Unix time in seconds ("1700000000"), or relative to now ("-7d", "-36h", "-90m",
 * "-30s", "now"). A duration is a number with a unit: ns, us, ms, s, m, h, d, w
 * ("30s", "5m", "1h", "7d", also "1h30m"). All results are nanoseconds since the epoch.
 */
#ifndef CF_TPARSE_H
#define CF_TPARSE_H

#include <stddef.h>
#include <stdint.h>

#define TPARSE_NS_PER_S INT64_C(1000000000)

/* Parse a time; relative forms are taken from now_ns. 0 or -1 (err: what was wrong). */
int tparse_time(const char *s, int64_t now_ns, int64_t *out_ns, char *err, size_t errlen);
/* 1 when the time s moves with the clock ("now", "-7d", "+1h"; what tparse_time takes
 * from now_ns), 0 for an absolute one (RFC 3339, Unix seconds) and for NULL. */
int tparse_is_relative(const char *s);
/* Parse a duration (> 0). 0 or -1. */
int tparse_duration(const char *s, int64_t *out_ns, char *err, size_t errlen);
/* Format ns since epoch as RFC 3339 UTC with seconds ("2026-11-01T00:00:00Z"), into out[cap].
 * Returns out. */
char *tparse_format(int64_t ns, char *out, size_t cap);
/* Truncate t to a multiple of `align_ns` (align_ns <= 0: t unchanged). */
int64_t tparse_align(int64_t t_ns, int64_t align_ns);

#endif
