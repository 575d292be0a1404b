/* exitcode: the one exit-code map (docs/DESIGN.md, "Exit codes").
 *
 * Modules return outcomes (prom_outcome, influx_outcome, ...) or these <sysexits.h> names;
 * a binary's main picks one and exits with it. This header is the only place the numbers
 * appear: tests/lint.sh refuses a literal exit number anywhere else under runtime/,
 * store/ and jobs/. What each name means here:
 *
 *   EX_OK          0   done
 *   EX_USAGE       64  a bad flag or flag value
 *   EX_DATAERR     65  data that does not parse (a source's answer, an input line)
 *   EX_UNAVAILABLE 69  no connection to a source (refused, no such host, TLS refused), or
 *                      InfluxDB refusing writes for a reason that names no point
 *   EX_SOFTWARE    70  a bug: a state the code says cannot happen
 *   EX_OSERR       71  out of memory, a library that cannot start
 *   EX_CANTCREAT   73  the state file cannot be created or opened
 *   EX_IOERR       74  points read could not be stored, or stdout could not be written
 *   EX_TEMPFAIL    75  temporary, and every point read is safe in the spool: rate limited
 *                      (429), a 5xx or no answer in time after the retries, InfluxDB down,
 *                      a deadline or a stop request; the next run goes on
 *   EX_NOPERM      77  credentials refused (401, 403)
 *   EX_CONFIG      78  configuration missing or wrong
 */
#ifndef CF_EXITCODE_H
#define CF_EXITCODE_H

#include <sysexits.h>

/* The contract's numbers (DESIGN.md, the CronJobs' podFailurePolicy, the dashboards) */
_Static_assert(EX_OK == 0 && EX_USAGE == 64 && EX_DATAERR == 65 && EX_UNAVAILABLE == 69 &&
                   EX_SOFTWARE == 70 && EX_OSERR == 71 && EX_CANTCREAT == 73 &&
                   EX_IOERR == 74 && EX_TEMPFAIL == 75 && EX_NOPERM == 77 && EX_CONFIG == 78,
               "sysexits.h numbers differ from the exit-code contract");

#endif
