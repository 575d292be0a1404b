/* progress: how far a long run (a backfill) has got, for a person watching it.
 *
 * A job calls progress_due() as it goes and, when it says yes, progress_format() and prints
 * the line (modules never print: the job's main does). On a terminal the line is redrawn in
 * place (at most ten times a second); elsewhere (kubectl logs -f, a file) it is one log line
 * every few seconds (CRONFLUX_PROGRESS, default 5 s; 0: none), so that a Job's log shows
 * that it moves: done/total, rate, ETA.
 */
#ifndef CF_PROGRESS_H
#define CF_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROGRESS_EVERY_S 5   /* default seconds between lines when not on a terminal */

typedef struct progress {
    bool tty;           /* redraw one line in place */
    int64_t every_ns;   /* least time between two lines; 0: never (except the final one on a tty) */
    int64_t t0_ns;      /* monotonic start */
    int64_t last_ns;    /* when the last line was due */
} progress;

/* The interval from CRONFLUX_PROGRESS: whole seconds ("5"; "0": no lines) or a duration
 * ("500ms", "1m") up to 1h; unset: 5 s. 0, or -1 with err naming the variable. */
int progress_every_from_env(int64_t *every_ns, char *err, size_t errlen);

/* Start: tty says whether stderr is a terminal (then every_ns is 100 ms); now_ns monotonic. */
void progress_start(progress *p, bool tty, int64_t every_ns, int64_t now_ns);

/* Whether a line is due at now_ns (a final one always is, when lines are on). Marks it done. */
bool progress_due(progress *p, int64_t now_ns, bool final);

/* The line, without the job's name: "<what> (<pct>%), <count> <unit>, <rate> <unit>/s,
 * ETA <eta>" with frac in [0, 1] the part done (< 0: unknown: no % and no ETA) and count
 * the items done so far (the rate is count over the time since start). what may be NULL.
 * Returns out (always NUL-terminated; cut short when cap is too small). */
char *progress_format(const progress *p, int64_t now_ns, const char *what, double frac,
                      int64_t count, const char *unit, char *out, size_t cap);

/* A duration in seconds as "42s", "3m05s", "2h07m" into out[cap]. Returns out. */
char *progress_fmt_dur(double s, char *out, size_t cap);

#endif
