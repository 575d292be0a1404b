/* retry: attempts, backoff with jitter, Retry-After, a deadline (see retry.h). */
#include "retry.h"

#include <limits.h>
#include <stdint.h>
#include <sys/random.h>
#include <sys/types.h>

#include "clock.h"
#include "sig.h"

long retry_backoff_ms(int attempt, long base_ms, long max_ms)
{
    if (base_ms <= 0)
        return 0;
    if (attempt < 1)
        attempt = 1;
    long ceiling = base_ms;
    for (int i = 1; i < attempt; i++) {
        if ((max_ms > 0 && ceiling >= max_ms) || ceiling > LONG_MAX / 2)
            break;
        ceiling *= 2;
    }
    if (max_ms > 0 && ceiling > max_ms)
        ceiling = max_ms;
    uint64_t rnd = 0;
    ssize_t got = getrandom(&rnd, sizeof rnd, GRND_NONBLOCK);
    if (got != (ssize_t)sizeof rnd) {
        /* no entropy yet (very early boot): fall back to the clock's low bits */
        rnd = (uint64_t)clock_mono_ns() * UINT64_C(0x9E3779B97F4A7C15);
    }
    /* full jitter: uniform in [0, ceiling] */
    return (long)(rnd % ((uint64_t)ceiling + 1));
}

long retry_timeout_ms(long timeout_ms, int64_t deadline_ns)
{
    long left = clock_left_ms(deadline_ns);
    if (left < 0 || (timeout_ms > 0 && left >= timeout_ms))
        return timeout_ms;
    return left > 0 ? left : 1;
}

retry_end retry_run(const retry_policy *p, retry_try_fn try_fn, void *ctx, int *attempts)
{
    int max = p->max_attempts < 1 ? 1 : p->max_attempts;
    int attempt = 1;
    retry_end end;
    for (;;) {
        long wait = -1;
        retry_verdict v = try_fn(ctx, attempt, &wait);
        if (v == RETRY_STOP) {
            end = RETRY_END_STOPPED;
            break;
        }
        if (v == RETRY_GIVE_UP) {
            end = RETRY_END_GAVE_UP;
            break;
        }
        if (v == RETRY_AGAIN) {
            if (attempt >= max) {
                end = RETRY_END_EXHAUSTED;
                break;
            }
            if (wait >= 0) {
                if (p->retry_after_max_ms > 0 && wait > p->retry_after_max_ms)
                    wait = p->retry_after_max_ms;
            } else {
                wait = retry_backoff_ms(attempt, p->backoff_base_ms, p->backoff_max_ms);
            }
        } else if (wait < 0) {   /* RETRY_WAIT */
            wait = 0;
        }
        if (sig_stop_requested()) {   /* SIGTERM/SIGINT: no more tries, no wait */
            end = RETRY_END_GAVE_UP;
            break;
        }
        long left = clock_left_ms(p->deadline_ns);
        if (left >= 0 && (left == 0 || wait >= left)) {
            end = RETRY_END_DEADLINE;
            break;
        }
        clock_sleep_ms(wait);
        if (v == RETRY_AGAIN)
            attempt++;
    }
    if (attempts)
        *attempts = attempt;
    return end;
}
