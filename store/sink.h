/* sink: the one write path every job uses: points -> spool (sqlite) -> InfluxDB.
 *
 * A job opens a sink, adds points, and finishes it. sink_add encodes each point into the
 * current batch; a full batch (batch_lines, default 20000) is committed to the spool at
 * once, so memory stays bounded however many points a job reads. sink_commit commits the
 * partial batch (a job calls it before a checkpoint, so a checkpoint never runs ahead of
 * the points it covers). sink_finish commits, sends everything pending (this run's and any
 * earlier run's) when InfluxDB is configured, records the run in the ledger and the job's
 * own `cronflux_job` point, and returns the exit code to use.
 *
 * With --dry-run the sink prints each line to stdout and touches no file or server (and
 * records no run: no ledger row, no cronflux_job point).
 *
 * A sink belongs to one thread. sink_flush runs the HTTP writes on a helper thread of its
 * own (joined before it returns), so that claiming the next batch overlaps the network.
 * Flush outcomes per batch: 2xx -> sent; 400 naming lines -> those lines dead-lettered,
 * the rest resent (at most a few passes); 400 naming none / 413 -> split in two, the first
 * half sent next (depth first); a single line refused so is kept, not dead-lettered, and
 * the flush stops with 69 and the server's words (dead letters are only for lines InfluxDB
 * names: a partial write, a parse error quoting the line, beyond retention policy);
 * 5xx / network / 429 -> given back, 75; 401/403 -> 77; 404 or a missing retention
 * policy -> 78. Sent batches older than CRONFLUX_RETAIN (default 7d;
 * "0": none kept) are pruned after a successful flush.
 *
 * Sending while adding: once a run has committed batch_lines points or more with InfluxDB
 * configured (and not no_send), background lanes send committed batches (any job's, oldest
 * first, claimed like any flush's) while the job goes on adding: one thread per
 * CRONFLUX_CONNECTIONS, each with its own spool handle and InfluxDB connection, each taking
 * a batch as soon as it is committed (the second and later only after InfluxDB accepted one
 * in the run). sink_finish joins them once each has flushed a last time, then sends what is
 * left. The first failure stops them all and becomes the run's flush result (not tried
 * again in this run; what is left stays pending). The job is never held back by them: when
 * InfluxDB is slower than the source the spool grows on disk, as without sending. A run of
 * fewer points (a scheduled run) never starts them. A run opened with early_send (a
 * backfill, which commits at every chunk) starts them when the sink opens instead, so the
 * first chunk is on the wire as soon as it is committed, while the next one is read.
 */
#ifndef CF_SINK_H
#define CF_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lp.h"
#include "../runtime/exitcode.h"

#define SINK_ERR_MAX 512
#define SINK_EX_IOERR EX_IOERR       /* points read that the spool could not store */
#define SINK_EX_REFUSED EX_UNAVAILABLE /* InfluxDB refuses writes for a reason that
                                 names no point (the points stay pending) */

typedef struct sink_opts {
    const char *job;          /* "twitter-stats", ...: the cronflux_job tag and ledger key */
    const char *state_path;   /* --state / CRONFLUX_STATE / ./cronflux.db */
    bool dry_run;
    size_t batch_lines;       /* 0: CRONFLUX_BATCH or 20000 */
    bool no_send;             /* commit only, never contact InfluxDB (e.g. push --no-flush) */
    bool early_send;          /* a long run that commits as it goes (a backfill): the
                                 background lanes start when the sink opens and send from
                                 the first commit, not once batch_lines points are committed */
} sink_opts;

typedef struct sink_stats {
    int64_t points;           /* points accepted by sink_add */
    int64_t rejected;         /* points the encoder refused */
    int64_t replaced;         /* newline characters replaced in names/tags */
    int64_t spooled;          /* points committed to the spool by this run */
    int64_t sent;             /* points InfluxDB accepted during this run (any run's) */
    int64_t dead_letters;     /* lines InfluxDB refused during this run */
    int64_t quarantined;      /* batches moved aside during this run: their stored body
                                 does not read back (damaged); see cronflux status */
    int64_t batches_sent;
    int64_t pending_points;   /* left in the spool at the end */
} sink_stats;

typedef struct sink sink;

/* Open the sink: state file, InfluxDB config from the environment, a run in the ledger.
 * NULL on error with *exit_code set and err set: 78 configuration or not a state file,
 * 73 the file can not be created, 74 nothing can be stored (locked by another process
 * past the busy timeout, disk full: err starts "no point stored: "). Never 75: no point
 * was stored. Also sets SIGXFSZ to be ignored (a file-size limit then fails a write with
 * an error instead of killing the process). */
sink *sink_open(const sink_opts *o, int *exit_code, char *err, size_t errlen);

/* Encode p into the current batch (committing the batch when full).
 * 0 added; 1 the point was refused by the encoder (err says why; the job goes on and
 * counts it); -1 a store error (err set; the job should stop reading and call
 * sink_finish, which tries the commit once more and picks the exit code: 74 if points
 * read stay uncommitted, never 75). */
int sink_add(sink *s, const lp_point *p, char *err, size_t errlen);

/* Commit the current partial batch to the spool. 0 or -1. */
int sink_commit(sink *s, char *err, size_t errlen);

/* Checkpoints: the job's own (key -> value) notes, e.g. where a backfill got to.
 * get: 1 found (copied into out[cap], NUL-terminated), 0 absent (always in dry-run),
 * -1 error (err set; out is ""). */
int sink_checkpoint_get(sink *s, const char *key, char *out, size_t cap, char *err,
                        size_t errlen);
/* Commit the points added so far and set the checkpoint in one transaction: the
 * checkpoint never runs ahead of the points it follows (and they are never stored
 * without it). 0, or -1 (err set; neither is stored, the points stay in the batch).
 * Dry-run: nothing is stored, 0. */
int sink_checkpoint_set(sink *s, const char *key, const char *value, char *err, size_t errlen);

const char *sink_job(const sink *s);
bool sink_dry_run(const sink *s);
bool sink_influx_configured(const sink *s);
const sink_stats *sink_get_stats(const sink *s);

/* Send what the spool holds (any job's batches) to InfluxDB. Returns the exit code:
 * 0 all sent (or InfluxDB not configured), 69 InfluxDB refuses a single line without
 * naming it (all kept), 75 some left for the next run, 77 credentials refused, 78
 * configuration wrong. err describes the first failure. */
int sink_flush(sink *s, char *err, size_t errlen);

/* The job's own word for a run that ends with exit 0 (e.g. "budget": it stopped early on
 * purpose), used instead of "ok"/"partial" as the ledger's status and the cronflux_job
 * point's `status` tag. At most 23 characters (longer or NULL: none). */
void sink_set_status(sink *s, const char *status);

/* End the run: commit, flush (unless no_send/dry-run), record the ledger row and the
 * cronflux_job point (job, status; duration_ms, points, spooled, sent, dead_letters, pending,
 * exit_code), and free the sink. `job_rc` is the exit code the job's own work came to;
 * `message` a one-line summary or NULL. Returns the process exit code: job_rc if it is
 * not 0, else the flush's; except that points the spool could not store (the last
 * commit failed: disk full, file-size limit, state file locked) make it 74 when job_rc
 * is 0, 65, 73 or 75, with err "N points were not stored: why". 75 thus always means every
 * point read is committed. Accepts NULL s (returns job_rc). */
int sink_finish(sink *s, int job_rc, const char *message, char *err, size_t errlen);
/* sink_finish that also copies the run's final counters into *out (may be NULL) before
 * the sink is freed, for a summary line. */
int sink_finish_ex(sink *s, int job_rc, const char *message, sink_stats *out, char *err,
                   size_t errlen);

/* Points/lines that could not be stored: the job's own timestamp for a scheduled run,
 * truncated to --align when set (env CRONFLUX_ALIGN). */
int64_t sink_run_time_ns(const sink *s);
void sink_set_align(sink *s, int64_t align_ns);

#endif
