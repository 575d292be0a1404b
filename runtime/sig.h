/* sig: SIGTERM and SIGINT as a request to stop, the same in every binary (DESIGN.md
 * "Signals").
 *
 * A CronJob's pod gets SIGTERM at activeDeadlineSeconds and when its node is drained, then
 * SIGKILL after the grace period (30 s by default). A job that installs these handlers is
 * not killed by SIGTERM/SIGINT: the handler only sets a flag, and
 *  - the job's read loop checks sig_stop_requested() and stops reading;
 *  - an HTTP transfer in progress (runtime/http.c) is aborted within about a second
 *    (libcurl's progress callback checks the flag), and clock_sleep_ms returns early, so
 *    retry loops and rate-limit waits end at once;
 *  - the job then commits what it read, records the run and exits 75 (or 0 when its work
 *    was done already), well within the grace period.
 * Handlers are installed without SA_RESTART: a blocking read() returns EINTR, so a job
 * reading stdin notices at once. Only the flag is touched in the handler.
 */
#ifndef CF_SIG_H
#define CF_SIG_H

#include <stdbool.h>

/* Install the handlers for SIGTERM and SIGINT (idempotent). 0, or -1 with errno set. */
int sig_install(void);
/* True once SIGTERM or SIGINT was received (after sig_install). Async-signal-safe. */
bool sig_stop_requested(void);
/* The signal that asked to stop: "SIGTERM", "SIGINT", or "" when none. */
const char *sig_name(void);

#endif
