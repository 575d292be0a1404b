/* clock: the one place the process reads clocks and sleeps.
 *
 * Wall-clock time (CLOCK_REALTIME) stamps points and ledger rows; the monotonic clock
 * (CLOCK_MONOTONIC) measures durations and deadlines, which must not jump with the wall
 * clock. Sleeps restart after a signal until the whole time has passed.
 */
#ifndef CF_CLOCK_H
#define CF_CLOCK_H

#include <stdint.h>

#define CLOCK_NS_PER_MS INT64_C(1000000)
#define CLOCK_NS_PER_S INT64_C(1000000000)

/* Wall-clock time in ns since the epoch; 0 if the clock cannot be read. */
int64_t clock_real_ns(void);
/* Monotonic time in ns (an arbitrary origin), for durations and deadlines. */
int64_t clock_mono_ns(void);
/* Sleep ms milliseconds (<= 0: return at once); restarts on EINTR, but ends early once
 * SIGTERM/SIGINT asked the process to stop (runtime/sig.h), so waits end at once. */
void clock_sleep_ms(long ms);
/* Sleep ms milliseconds whatever signals come (a short wait inside a retry that must not
 * spin: a lock held by another process). */
void clock_nap_ms(long ms);
/* Milliseconds left until the monotonic deadline_ns: 0 when passed; LONG_MAX-capped;
 * deadline_ns <= 0 (no deadline): -1. */
long clock_left_ms(int64_t deadline_ns);

#endif
