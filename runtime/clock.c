/* clock: clocks and sleeps (see clock.h). */
#include "clock.h"
#include "sig.h"

#include <errno.h>
#include <limits.h>
#include <time.h>

static int64_t read_ns(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * CLOCK_NS_PER_S + ts.tv_nsec;
}

int64_t clock_real_ns(void)
{
    return read_ns(CLOCK_REALTIME);
}

int64_t clock_mono_ns(void)
{
    return read_ns(CLOCK_MONOTONIC);
}

void clock_sleep_ms(long ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    struct timespec rem;
    while (!sig_stop_requested() && nanosleep(&ts, &rem) != 0 && errno == EINTR)
        ts = rem;   /* a stop request (runtime/sig.h) ends the wait */
}

void clock_nap_ms(long ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    struct timespec rem;
    while (nanosleep(&ts, &rem) != 0 && errno == EINTR)
        ts = rem;
}

long clock_left_ms(int64_t deadline_ns)
{
    if (deadline_ns <= 0)
        return -1;
    int64_t left = deadline_ns - clock_mono_ns();
    if (left <= 0)
        return 0;
    left = (left + CLOCK_NS_PER_MS - 1) / CLOCK_NS_PER_MS;   /* 0 only once passed */
    return left > LONG_MAX ? LONG_MAX : (long)left;
}
