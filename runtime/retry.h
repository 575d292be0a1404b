/* retry: the one retry loop of every client (X, Kubernetes, Prometheus, InfluxDB).
 *
 * retry_run calls the caller's `try` function, which sends one request and classifies the
 * answer with a verdict:
 *   RETRY_STOP     final: done, or a failure another try will not change (401, 404, ...);
 *   RETRY_AGAIN    temporary (a network error, 429, 5xx): try again, if attempts and the
 *                  deadline allow, after the wait the answer asked for (Retry-After, set in
 *                  *wait_ms) or else a backoff with full jitter;
 *   RETRY_WAIT     try again after exactly *wait_ms without counting an attempt (a
 *                  rate-limit window the caller chose to wait for, a token read again): the
 *                  caller bounds how often it says so;
 *   RETRY_GIVE_UP  temporary, but not worth another try now (the wait asked for is longer
 *                  than the caller accepts).
 * A wait that would end past the deadline is not slept: the run ends with RETRY_END_DEADLINE.
 * retry_run never prints; the caller keeps the last answer (in its ctx) and words the error.
 */
#ifndef CF_RETRY_H
#define CF_RETRY_H

#include <stdint.h>

typedef enum retry_verdict {
    RETRY_STOP = 0,
    RETRY_AGAIN,
    RETRY_WAIT,
    RETRY_GIVE_UP,
} retry_verdict;

/* Why retry_run returned. */
typedef enum retry_end {
    RETRY_END_STOPPED = 0,  /* the try said RETRY_STOP */
    RETRY_END_EXHAUSTED,    /* RETRY_AGAIN on the last attempt */
    RETRY_END_GAVE_UP,      /* the try said RETRY_GIVE_UP, or a stop was requested
                               (SIGTERM/SIGINT, runtime/sig.h): no more tries */
    RETRY_END_DEADLINE,     /* the next wait would cross the deadline */
} retry_end;

typedef struct retry_policy {
    int max_attempts;        /* tries in all (counted ones); < 1: 1 */
    long backoff_base_ms;    /* ceiling of the first backoff; doubles each retry */
    long backoff_max_ms;     /* cap on the ceiling (<= 0: none) */
    long retry_after_max_ms; /* a wait the answer asked for is cut to this (<= 0: not cut) */
    int64_t deadline_ns;     /* clock_mono_ns() deadline of the whole call; 0: none */
} retry_policy;

/* One try. attempt counts the counted tries, from 1. Set *wait_ms (in: -1) to the wait the
 * answer asked for (Retry-After), with RETRY_AGAIN; the wait, with RETRY_WAIT. */
typedef retry_verdict (*retry_try_fn)(void *ctx, int attempt, long *wait_ms);

/* Run tries until one stops, gives up, the attempts are used, or the deadline. *attempts
 * (may be NULL): the counted tries made. */
retry_end retry_run(const retry_policy *p, retry_try_fn try_fn, void *ctx, int *attempts);

/* Backoff before retry number `attempt` (1, 2, ...): uniform in [0, min(base_ms *
 * 2^(attempt-1), max_ms)] (full jitter; max_ms <= 0: no cap), from the OS random source.
 * base_ms <= 0: 0. */
long retry_backoff_ms(int attempt, long base_ms, long max_ms);

/* The timeout for a request sent now under deadline_ns: timeout_ms, or what is left of
 * the deadline when that is shorter (at least 1 ms). deadline_ns 0: timeout_ms. */
long retry_timeout_ms(long timeout_ms, int64_t deadline_ns);

#endif
