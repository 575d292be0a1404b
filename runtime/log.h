/* log: one line per event on stderr, prefixed with the job's name.
 *
 * CRONFLUX_LOG=text (default): "twitter-stats: error: ..."; CRONFLUX_LOG=json: one JSON
 * object a line {"ts":"...","job":"...","level":"...","msg":"..."}.
 * Only a main logs errors and warnings (modules fill `err` and return -1). Modules may
 * call log_debug for request-level detail; it prints only when DEBUG=1 and the caller
 * must already have redacted secrets and signatures.
 */
#ifndef CF_LOG_H
#define CF_LOG_H

#include <stdbool.h>

/* Set the job name (a static string) and read CRONFLUX_LOG / DEBUG. */
void log_init(const char *job);
bool log_debug_enabled(void);
const char *log_job(void);

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
