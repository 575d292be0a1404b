/* spool: the sqlite3 store that keeps every point safe until InfluxDB has it.
 *
 * A batch is a block of line-protocol lines (ns precision, '\n'-terminated) committed to
 * sqlite (WAL, synchronous=FULL: on disk when spool_add returns) before any network write.
 * The bookkeeping commits (claim, mark_sent, release, run ledger, prune) skip the fsync: a
 * power loss can undo the last of them (a batch is then sent again; never lost). Its life:
 *   pending --claim--> claimed --mark_sent--> sent --(retention)--> deleted
 *                        \--release--> pending
 * A claim names its owner (host + pid) and a lease; another process may take over a
 * claim whose lease has run out, or whose owner is on this host and no longer alive
 * (kill -9). Two processes never hold a claim on the same batch, so no batch is sent
 * twice by two flushes at once. All writes run in BEGIN IMMEDIATE transactions with a
 * busy timeout, so a CronJob and a manual backfill can share one file.
 *
 * Also here: dead letters (lines InfluxDB refused, with its reason), checkpoints per job
 * (key -> value, for resumable backfills), and a run ledger (one row per job run).
 *
 * Storage: a batch's body is kept apart from its state, gzip-compressed by default
 * (spool_set_gzip), or as an LZ4 block for lines sent plain (spool_set_lz4). Every call
 * here takes and gives the lines themselves, except spool_claim_ex with
 * SPOOL_CLAIM_STORED, which may give the stored bytes as they are (gzip: sent to InfluxDB
 * without compressing again; either: unpacked by the writer into a buffer it keeps).
 *
 * Errors: 0 / -1 (or a count) with err = "spool PATH: reason".
 */
#ifndef CF_SPOOL_H
#define CF_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../runtime/exitcode.h"

#define SPOOL_ERR_MAX 512

typedef struct spool spool;

/* Open (and create or migrate) the state file. busy_timeout_ms 0: 30000. NULL on error.
 * Also sets SIGXFSZ to be ignored (process-wide): a file-size limit (ulimit -f) then fails
 * a write with EFBIG, reported as an error, instead of killing the process. */
spool *spool_open(const char *path, int busy_timeout_ms, char *err, size_t errlen);
/* The same, and says why it failed in *why (may be NULL), so the caller can pick its exit code. */
enum spool_open_why {
    SPOOL_OPEN_OK = 0,
    SPOOL_OPEN_CANTCREATE,   /* cannot create/open/write the file or its directory (EX_CANTCREAT) */
    SPOOL_OPEN_BUSY,         /* locked by another process past the busy timeout (EX_TEMPFAIL) */
    SPOOL_OPEN_BADFILE,      /* a directory, not sqlite, corrupt, another program's database,
                                or a newer schema (EX_CONFIG) */
    SPOOL_OPEN_IOERR,        /* a write failed: disk full, file-size limit, I/O error (EX_IOERR) */
};
spool *spool_open_ex(const char *path, int busy_timeout_ms, int *why, char *err, size_t errlen);
/* Close; claims this handle still holds go back to pending (best effort). Accepts NULL.
 * Handles are per process (open after fork) and per thread (open/close from one thread). */
void spool_close(spool *sp);
const char *spool_path(const spool *sp);
/* How bodies committed from now on by this handle are stored: 0 as the lines, 1-9 as a
 * gzip member of the lines at that zlib level (default 1; a body under 16 KiB, or one
 * gzip does not make smaller, is stored as lines). Bodies already stored stay as they
 * are; every call reads both forms. Accepts NULL. */
void spool_set_gzip(spool *sp, int level);
/* on: bodies committed from now on by this handle whose level (above) is not 0 are stored
 * as LZ4 blocks instead of gzip (for a writer that sends the lines plain: under half of
 * gzip's CPU to pack, a third to unpack, 1.6 times the bytes). Off by default. Accepts
 * NULL. */
void spool_set_lz4(spool *sp, bool on);

/* Copy what the write-ahead log holds into the state file now, as far as no other handle's
 * read stands in the way (sqlite's passive checkpoint; it waits for nothing and fails
 * quietly: the next checkpoint, at the latest the last close, does it). For a thread with
 * nothing else to do while others send: the close then has little left to copy and fsync
 * (3-4 ms of a 1-day backfill's end). Accepts NULL. */
void spool_fold_wal(spool *sp);

/* Commit one batch as pending. body[len] is '\n'-terminated lines. min/max_ns: the range
 * of the lines' timestamps. Returns the new batch id (> 0) or -1. */
int64_t spool_add(spool *sp, const char *job, const char *body, size_t len, size_t nlines,
                  int64_t min_ns, int64_t max_ns, char *err, size_t errlen);

/* spool_add, and (cp_key not NULL) the checkpoint (job, cp_key) -> cp_value in the same
 * transaction: the checkpoint is never stored without the points it follows, nor the
 * points without it. With no lines (body NULL or len 0, nlines 0) only the checkpoint is
 * stored and 0 is returned. Otherwise the new batch id (> 0). -1 on error (nothing stored). */
int64_t spool_add_cp(spool *sp, const char *job, const char *body, size_t len, size_t nlines,
                     int64_t min_ns, int64_t max_ns, const char *cp_key, const char *cp_value,
                     char *err, size_t errlen);

typedef struct spool_batch {
    int64_t id;
    char *body;        /* malloc'd, NUL-terminated, owned by the batch; free with spool_batch_free */
    size_t len;
    size_t nlines;
    int attempts;      /* sends tried before this claim */
    char job[64];
    int packed;        /* how body[len] holds the lines: 0 as they are; SPOOL_PACK_GZIP a
                          gzip member, SPOOL_PACK_LZ4 an LZ4 block (runtime/lz.h) of them, as
                          stored (only from spool_claim_ex with SPOOL_CLAIM_STORED) */
    size_t lines_len;  /* length of the lines (== len when packed is 0) */
} spool_batch;
#define SPOOL_PACK_GZIP 1
#define SPOOL_PACK_LZ4 2

void spool_batch_free(spool_batch *b);   /* frees body; accepts NULL */
/* Turn a batch whose body is packed (b->packed) into its lines in place (body, len; packed
 * 0); nothing to do otherwise. 0; -2 (err set; the batch is unchanged) if the stored body
 * does not unpack to exactly lines_len bytes (damaged: see spool_quarantine); -1 (err
 * set, unchanged) if memory runs out. */
int spool_batch_lines(spool_batch *b, char *err, size_t errlen);

/* Claim the oldest pending batch (or a claim that may be taken over) for lease_s seconds
 * (lease_s <= 0: the lease has run out at once; others may take the batch over).
 * 1: claimed into *out; 0: nothing to send; -1: error. mark_sent, release,
 * rewrite and split act only on a batch this handle still holds; otherwise -1 ("claimed
 * by ..."). */
int spool_claim(spool *sp, int lease_s, spool_batch *out, char *err, size_t errlen);
/* spool_claim with flags: SPOOL_CLAIM_STORED gives a packed body as it is stored
 * (out->packed says how; spool_batch_lines gives the lines): a writer sends a gzip member
 * as it is, or unpacks it into a buffer of its own; without it, the same as spool_claim. */
#define SPOOL_CLAIM_STORED 1u
int spool_claim_ex(spool *sp, int lease_s, unsigned flags, spool_batch *out, char *err,
                   size_t errlen);
/* Claim the batch `id` if it is pending (e.g. the first half of a split, sent next so that
 * a refusal is narrowed down depth first). 1 claimed, 0 not pending (gone, sent, or
 * claimed by another), -1 error. */
int spool_claim_id(spool *sp, int64_t id, int lease_s, unsigned flags, spool_batch *out,
                   char *err, size_t errlen);
/* Quarantine: a batch whose stored body can not be read back (a gzip member that does not
 * inflate to its length: damaged on disk) is moved aside whole (body, range, state) into
 * the state file's quarantine table with the reason, so that the batches after it are
 * sent and exported. spool_claim/spool_claim_ex (without SPOOL_CLAIM_STORED) and
 * spool_foreach do it themselves and go on with the next batch; spool_quarantine does it
 * for a batch this handle holds (e.g. one InfluxDB could not read as sent). 0 or -1. */
int spool_quarantine(spool *sp, int64_t id, const char *why, char *err, size_t errlen);
/* How many batches this handle moved aside since it was opened. */
int64_t spool_quarantined(const spool *sp);
/* The claimed batch was accepted (2xx): it becomes sent (kept for replay). */
int spool_mark_sent(spool *sp, int64_t id, char *err, size_t errlen);
/* Give a claimed batch back as pending (after a failed send), recording the reason. */
int spool_release(spool *sp, int64_t id, const char *why, char *err, size_t errlen);
/* Replace a claimed batch's body (after dead-lettering or splitting); still claimed. */
int spool_rewrite(spool *sp, int64_t id, const char *body, size_t len, size_t nlines,
                  char *err, size_t errlen);
/* Split a claimed batch in two pending halves (413); the original is deleted.
 * body[len] is the batch's current body. */
int spool_split(spool *sp, int64_t id, const char *body, size_t len, char *err, size_t errlen);
/* spool_split that also gives the halves' ids (halves may be NULL): halves[0] the first. */
int spool_split_ex(spool *sp, int64_t id, const char *body, size_t len, int64_t halves[2],
                   char *err, size_t errlen);
/* Record one refused line with InfluxDB's reason. */
int spool_dead_letter(spool *sp, int64_t batch_id, const char *job, const char *line, size_t len,
                      const char *why, char *err, size_t errlen);

/* Dead letters, for `cronflux dead-letters`: the lines spool_dead_letter recorded.
 * A selection: job NULL (or "") every job's; ids NULL / nids 0 every id, else those ids. */
typedef struct spool_dead_sel {
    const char *job;
    const int64_t *ids;
    size_t nids;
} spool_dead_sel;
/* One dead letter; its pointers are valid during the callback only (not to be freed). */
typedef struct spool_dead {
    int64_t id;             /* stable; what a selection names */
    int64_t batch_id;       /* the batch it was refused from; 0 once that batch is gone */
    const char *job;        /* the job whose batch held it */
    const char *line;       /* the line as sent (ns timestamp), no newline, NUL-terminated */
    size_t len;
    const char *error;      /* InfluxDB's reason */
    int64_t created_ns;     /* when InfluxDB refused it */
} spool_dead;
typedef int (*spool_dead_fn)(void *ctx, const spool_dead *d);
/* Visit the selected dead letters, oldest first (with ids: in the order given; an id
 * that does not exist is skipped). fn returns 0 to go on, non-zero to stop (then -1 is
 * returned, err not set). Returns how many were visited, or -1 (err set). No nesting,
 * and no other call on this handle from fn. */
int64_t spool_dead_foreach(spool *sp, const spool_dead_sel *sel, spool_dead_fn fn, void *ctx,
                           char *err, size_t errlen);
/* Requeue the selected dead letters (after their cause is fixed): in one durable
 * transaction their lines become pending batches again (one per job, at most 5000 lines
 * each, to be sent by the next flush) and the dead letters are deleted. Returns how many
 * lines were requeued (0: none selected), or -1 (nothing changed). */
int64_t spool_dead_requeue(spool *sp, const spool_dead_sel *sel, char *err, size_t errlen);
/* Delete the selected dead letters. Returns how many, or -1 (nothing changed). */
int64_t spool_dead_drop(spool *sp, const spool_dead_sel *sel, char *err, size_t errlen);

/* Checkpoints: (job, key) -> value. get: 1 found (copied into out[cap]), 0 absent, -1 error. */
int spool_checkpoint_get(spool *sp, const char *job, const char *key, char *out, size_t cap,
                         char *err, size_t errlen);
int spool_checkpoint_set(spool *sp, const char *job, const char *key, const char *value,
                         char *err, size_t errlen);

/* Run ledger. begin returns the run id (> 0) or -1; end records the outcome. */
int64_t spool_run_begin(spool *sp, const char *job, int64_t started_ns, char *err, size_t errlen);
typedef struct spool_run_result {
    int exit_code;
    const char *status;     /* "ok", "partial", "failed", "spooled" */
    int64_t duration_ms;
    int64_t points, spooled, sent, dead_letters;
    const char *message;    /* one line, may be NULL; never a secret */
} spool_run_result;
int spool_run_end(spool *sp, int64_t run_id, const spool_run_result *r, char *err, size_t errlen);

typedef struct spool_last_run {
    char job[64];
    int64_t started_ns, finished_ns;
    int exit_code;
    char status[16];
    int64_t points;
    char message[256];
} spool_last_run;

typedef struct spool_stats {
    int64_t pending_batches, pending_points;
    int64_t oldest_pending_ns;        /* created time of the oldest pending batch; 0 if none */
    int64_t claimed_batches;
    int64_t sent_batches, sent_points;
    int64_t dead_letters;
    int64_t quarantined_batches, quarantined_points;   /* moved aside: body damaged */
    char quarantine_newest[256];      /* "batch ID: reason" of the newest, or "" */
    spool_last_run *runs;             /* the last run of each job, malloc'd */
    size_t nruns;
} spool_stats;
int spool_status(spool *sp, spool_stats *st, char *err, size_t errlen);
void spool_stats_free(spool_stats *st);   /* accepts NULL */
/* spool_status's pending_points alone (one indexed query): lines in pending batches, or -1. */
int64_t spool_pending_points(spool *sp, char *err, size_t errlen);

/* Delete sent batches sent before cutoff_ns. Returns how many, or -1. */
int64_t spool_prune(spool *sp, int64_t cutoff_ns, char *err, size_t errlen);
/* Put sent batches whose time range overlaps [from_ns, to_ns] back to pending (replay).
 * Returns how many, or -1. */
int64_t spool_requeue(spool *sp, int64_t from_ns, int64_t to_ns, char *err, size_t errlen);

/* Visit every stored batch (pending, claimed and sent) whose range overlaps [from, to],
 * oldest first. The callback returns 0 to go on, -1 to stop (the -1 is returned). */
typedef int (*spool_visit_fn)(void *ctx, const char *body, size_t len);
int spool_foreach(spool *sp, int64_t from_ns, int64_t to_ns, spool_visit_fn fn, void *ctx,
                  char *err, size_t errlen);
/* spool_foreach, and *skipped (may be NULL) = the batches skipped because their body is
 * damaged; those are moved aside (quarantine) after the visit unless another process holds
 * a claim on them or the file is read-only. A damaged batch never stops the visit. */
int spool_foreach_ex(spool *sp, int64_t from_ns, int64_t to_ns, spool_visit_fn fn, void *ctx,
                     int64_t *skipped, char *err, size_t errlen);

#endif
