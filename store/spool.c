/* spool: the sqlite3 store. See spool.h for the contract.
 *
 * One connection a handle, WAL, foreign keys on, a busy timeout, and every write in a
 * BEGIN IMMEDIATE transaction. Statements are prepared once and kept in the handle.
 *
 * Durability. A commit that holds points or what became of them (add, rewrite, split,
 * dead letters) and checkpoints run with synchronous=FULL: the WAL is on disk when the
 * commit returns. The bookkeeping commits (claim, mark sent, release, the run ledger,
 * prune) run with synchronous=NORMAL: no fsync of their own; the next FULL commit or the
 * checkpoint at close makes them durable (the WAL keeps commits in order). A power loss
 * can only undo a suffix of them: a batch sent but not yet marked is sent again (writes
 * are idempotent, a resend overwrites), a claim or a run row is as before; no point is
 * lost. An application crash loses nothing (the WAL is written at every commit).
 *
 * Claims. A claim records its owner: the host name, the id of the pid namespace and boot
 * ("pid space": two pids are only comparable inside one), the pid, and a random token of
 * the handle, plus a lease end (wall clock, ns). spool_claim takes, inside one
 * BEGIN IMMEDIATE transaction (so no other writer runs between the look and the take):
 *   - the oldest pending batch, or
 *   - an older claimed batch whose lease has run out, or whose owner is gone: same host
 *     and pid space, and the pid no longer exists (or is a zombie), or the pid is ours
 *     but the token belongs to no handle open in this process (a closed handle, or an
 *     earlier process that had our pid, e.g. a restarted container).
 * mark_sent / release / rewrite / split only act on a batch this handle still holds
 * (state claimed and our token), so a process whose claim was taken over can not undo
 * the new owner's work.
 */
#include "spool.h"
#include "lp.h"
#include "../runtime/errf.h"
#include "../runtime/clock.h"
#include "../runtime/gz.h"
#include "../runtime/lz.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#define SCHEMA_VERSION 3
#define APPLICATION_ID 0x43464c58 /* "CFLX" */
#define DEFAULT_BUSY_MS 30000
#define JOB_MAX 63                /* spool_batch.job and spool_last_run.job hold 64 bytes */
#define RUN_MESSAGE_MAX 1024
#define GZIP_DEFAULT 1            /* gzip level of stored bodies (spool_set_gzip) */
#define BODY_MAX ((size_t)1 << 30) /* longest body handled here (sqlite's own limit is 1 GB) */
#define GZIP_MIN 16384            /* smaller bodies are stored as lines (little to gain) */

/* bodies.enc: how a body is stored (the packed ones are spool_batch.packed's values) */
enum { ENC_LINES = 0, ENC_GZIP = SPOOL_PACK_GZIP, ENC_LZ4 = SPOOL_PACK_LZ4 };

enum st_id {
    ST_BEGIN_IMMEDIATE,
    ST_BEGIN_READ,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_ADD,
    ST_ADD_BODY,
    ST_GET_BODY,
    ST_REWRITE_BODY,
    ST_PICK_PENDING,
    ST_LIST_CLAIMED,
    ST_TAKE,
    ST_STATE_OF,
    ST_MARK_SENT,
    ST_RELEASE,
    ST_RELEASE_ALL_MINE,
    ST_REWRITE,
    ST_GET_MINE,
    ST_DELETE,
    ST_DEAD_LETTER,
    ST_CP_GET,
    ST_CP_SET,
    ST_RUN_BEGIN,
    ST_RUN_END,
    ST_STAT_BATCHES,
    ST_PENDING,
    ST_STAT_DEAD,
    ST_STAT_RUNS,
    ST_PRUNE,
    ST_REQUEUE,
    ST_FOREACH,
    ST_QUARANTINE,
    ST_STAT_QUARANTINE,
    ST_COUNT
};

/* Ownership test shared by every statement that acts on "my" claimed batch:
 * ?1 id, ?2 token, ?3 pid. */
#define MINE "id = ?1 AND state = 'claimed' AND claim_token = ?2 AND claim_pid = ?3"

static const char *const st_sql[ST_COUNT] = {
    [ST_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
    [ST_BEGIN_READ] = "BEGIN",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_ADD] = "INSERT INTO batches(job, created_ns, lines, bytes, min_ns, max_ns, state, attempts)"
               " VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', 0) RETURNING id",
    [ST_ADD_BODY] = "INSERT INTO bodies(batch_id, enc, body) VALUES (?1, ?2, ?3)",
    [ST_GET_BODY] = "SELECT enc, body FROM bodies WHERE batch_id = ?1",
    [ST_REWRITE_BODY] = "UPDATE bodies SET enc = ?2, body = ?3 WHERE batch_id = ?1",
    [ST_PICK_PENDING] = "SELECT id FROM batches WHERE state = 'pending' ORDER BY id LIMIT 1",
    [ST_LIST_CLAIMED] = "SELECT id, claim_host, claim_pidns, claim_pid, claim_token, claim_until_ns"
                        " FROM batches WHERE state = 'claimed' AND id < ?1 ORDER BY id",
    [ST_TAKE] = "UPDATE batches SET state = 'claimed', claim_host = ?2, claim_pidns = ?3,"
                " claim_pid = ?4, claim_token = ?5, claim_until_ns = ?6, attempts = attempts + 1"
                " WHERE id = ?1 RETURNING job, lines, attempts, bytes",
    [ST_STATE_OF] = "SELECT state, claim_host, claim_pid FROM batches WHERE id = ?1",
    [ST_MARK_SENT] = "UPDATE batches SET state = 'sent', sent_ns = ?4, claim_until_ns = NULL,"
                     " claim_token = NULL, last_error = NULL WHERE " MINE,
    [ST_RELEASE] = "UPDATE batches SET state = 'pending', claim_host = NULL, claim_pidns = NULL,"
                   " claim_pid = NULL, claim_token = NULL, claim_until_ns = NULL, last_error = ?4"
                   " WHERE " MINE,
    [ST_RELEASE_ALL_MINE] = "UPDATE batches SET state = 'pending', claim_host = NULL,"
                            " claim_pidns = NULL, claim_pid = NULL, claim_token = NULL,"
                            " claim_until_ns = NULL"
                            " WHERE state = 'claimed' AND claim_token = ?1 AND claim_pid = ?2",
    [ST_REWRITE] = "UPDATE batches SET bytes = ?4, lines = ?5 WHERE " MINE,
    [ST_GET_MINE] = "SELECT job, created_ns, min_ns, max_ns FROM batches WHERE " MINE,
    [ST_DELETE] = "DELETE FROM batches WHERE id = ?1",
    [ST_DEAD_LETTER] = "INSERT INTO dead_letters(batch_id, job, line, error, created_ns)"
                       " VALUES ((SELECT id FROM batches WHERE id = ?1), ?2, ?3, ?4, ?5)",
    [ST_CP_GET] = "SELECT value FROM checkpoints WHERE job = ?1 AND key = ?2",
    [ST_CP_SET] = "INSERT INTO checkpoints(job, key, value, updated_ns) VALUES (?1, ?2, ?3, ?4)"
                  " ON CONFLICT(job, key) DO UPDATE SET value = excluded.value,"
                  " updated_ns = excluded.updated_ns",
    [ST_RUN_BEGIN] = "INSERT INTO runs(job, started_ns, status) VALUES (?1, ?2, 'running') RETURNING id",
    [ST_RUN_END] = "UPDATE runs SET finished_ns = ?2, exit_code = ?3, status = ?4, duration_ms = ?5,"
                   " points = ?6, spooled = ?7, sent = ?8, dead_letters = ?9, message = ?10"
                   " WHERE id = ?1",
    [ST_PENDING] = "SELECT coalesce(sum(lines), 0) FROM batches WHERE state = 'pending'",
    [ST_STAT_BATCHES] = "SELECT state, count(*), coalesce(sum(lines), 0), coalesce(min(created_ns), 0)"
                        " FROM batches GROUP BY state",
    [ST_STAT_DEAD] = "SELECT count(*) FROM dead_letters",
    [ST_STAT_RUNS] = "SELECT job, started_ns, coalesce(finished_ns, 0), coalesce(exit_code, 0),"
                     " status, coalesce(points, 0), coalesce(message, '')"
                     " FROM runs WHERE id IN (SELECT max(id) FROM runs GROUP BY job) ORDER BY job",
    [ST_PRUNE] = "DELETE FROM batches WHERE state = 'sent' AND sent_ns < ?1",
    [ST_REQUEUE] = "UPDATE batches SET state = 'pending', sent_ns = NULL, claim_host = NULL,"
                   " claim_pidns = NULL, claim_pid = NULL, claim_token = NULL,"
                   " claim_until_ns = NULL, attempts = 0, last_error = NULL"
                   " WHERE state = 'sent' AND max_ns >= ?1 AND min_ns <= ?2 AND ?1 <= ?2",
    [ST_QUARANTINE] = "INSERT INTO quarantine(batch_id, job, created_ns, lines, bytes, min_ns,"
                      " max_ns, state, enc, body, reason, quarantined_ns)"
                      " SELECT b.id, b.job, b.created_ns, b.lines, b.bytes, b.min_ns, b.max_ns,"
                      " b.state, coalesce(d.enc, 0), coalesce(d.body, x''), ?2, ?3"
                      " FROM batches b LEFT JOIN bodies d ON d.batch_id = b.id WHERE b.id = ?1",
    [ST_STAT_QUARANTINE] = "SELECT count(*), coalesce(sum(lines), 0), coalesce((SELECT 'batch '"
                           " || batch_id || ': ' || reason FROM quarantine ORDER BY id DESC"
                           " LIMIT 1), '') FROM quarantine",
    [ST_FOREACH] = "SELECT b.id, b.bytes, d.enc, d.body FROM batches b"
                   " LEFT JOIN bodies d ON d.batch_id = b.id"
                   " WHERE b.max_ns >= ?1 AND b.min_ns <= ?2 AND ?1 <= ?2 ORDER BY b.id",
};

/* Schema steps: migrations[v] takes user_version v to v + 1, inside the open transaction.
 *
 * 2: bodies move out of batches into their own table keyed by batch id. A batch's state
 * changes (claim, mark sent, release) then rewrite a row of a few dozen bytes instead of
 * the whole body (sqlite rewrites a row's overflow pages with the row), and a body may be
 * stored gzip-compressed (enc 1, a gzip member of the lines, as sent to InfluxDB) or as
 * the lines themselves (enc 0; every body of a version-1 file). batches.bytes stays the
 * length of the lines. The move copies the bodies of an existing file once.
 *
 * 3: a body may also be stored as an LZ4 block (enc 2, runtime/lz.h), for lines that go to
 * InfluxDB plain (a loopback server): under half of gzip's CPU to pack, a third to unpack.
 * sqlite cannot change a CHECK in place, so the table is copied once (its rows as they are). */

static const char *const migrations[SCHEMA_VERSION] = {
    "CREATE TABLE batches ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  job TEXT NOT NULL,"
    "  created_ns INTEGER NOT NULL,"
    "  lines INTEGER NOT NULL CHECK (lines >= 0),"
    "  bytes INTEGER NOT NULL CHECK (bytes >= 0),"
    "  min_ns INTEGER NOT NULL,"
    "  max_ns INTEGER NOT NULL,"
    "  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'claimed', 'sent')),"
    "  claim_host TEXT,"
    "  claim_pidns TEXT,"
    "  claim_pid INTEGER,"
    "  claim_token INTEGER,"
    "  claim_until_ns INTEGER,"
    "  sent_ns INTEGER,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  last_error TEXT,"
    "  body BLOB NOT NULL"
    ");"
    "CREATE INDEX batches_claim ON batches(state, id);"
    "CREATE INDEX batches_sent ON batches(state, sent_ns);"
    "CREATE INDEX batches_range ON batches(max_ns, min_ns);"
    "CREATE TABLE dead_letters ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  batch_id INTEGER REFERENCES batches(id) ON DELETE SET NULL,"
    "  job TEXT NOT NULL,"
    "  line TEXT NOT NULL,"
    "  error TEXT NOT NULL,"
    "  created_ns INTEGER NOT NULL"
    ");"
    "CREATE INDEX dead_letters_batch ON dead_letters(batch_id);"
    "CREATE INDEX dead_letters_created ON dead_letters(created_ns);"
    "CREATE TABLE checkpoints ("
    "  job TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  value TEXT NOT NULL,"
    "  updated_ns INTEGER NOT NULL,"
    "  PRIMARY KEY (job, key)"
    ");"
    "CREATE TABLE runs ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  job TEXT NOT NULL,"
    "  started_ns INTEGER NOT NULL,"
    "  finished_ns INTEGER,"
    "  exit_code INTEGER,"
    "  status TEXT NOT NULL,"
    "  duration_ms INTEGER,"
    "  points INTEGER,"
    "  spooled INTEGER,"
    "  sent INTEGER,"
    "  dead_letters INTEGER,"
    "  message TEXT"
    ");"
    "CREATE INDEX runs_job ON runs(job, id);"
    "CREATE INDEX runs_started ON runs(started_ns);",

    "CREATE TABLE bodies ("
    "  batch_id INTEGER PRIMARY KEY REFERENCES batches(id) ON DELETE CASCADE,"
    "  enc INTEGER NOT NULL DEFAULT 0 CHECK (enc IN (0, 1)),"
    "  body BLOB NOT NULL"
    ");"
    "INSERT INTO bodies(batch_id, enc, body) SELECT id, 0, body FROM batches ORDER BY id;"
    "ALTER TABLE batches DROP COLUMN body;",

    "CREATE TABLE bodies_v3 ("
    "  batch_id INTEGER PRIMARY KEY REFERENCES batches(id) ON DELETE CASCADE,"
    "  enc INTEGER NOT NULL DEFAULT 0 CHECK (enc IN (0, 1, 2)),"
    "  body BLOB NOT NULL"
    ");"
    "INSERT INTO bodies_v3(batch_id, enc, body) SELECT batch_id, enc, body FROM bodies"
    "  ORDER BY batch_id;"
    "DROP TABLE bodies;"
    "ALTER TABLE bodies_v3 RENAME TO bodies;",
};

/* Tables added without a schema step: created at open when missing, so that a file stays
 * readable by the cronflux before (it does not know them and does not need to).
 * quarantine: batches whose stored body can not be read back (a damaged gzip member), moved
 * aside whole with the reason, so that the batches after them are sent. */
static const char additive_tables[] =
    "CREATE TABLE IF NOT EXISTS quarantine ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  batch_id INTEGER NOT NULL,"
    "  job TEXT NOT NULL,"
    "  created_ns INTEGER NOT NULL,"
    "  lines INTEGER NOT NULL,"
    "  bytes INTEGER NOT NULL,"
    "  min_ns INTEGER NOT NULL,"
    "  max_ns INTEGER NOT NULL,"
    "  state TEXT NOT NULL,"
    "  enc INTEGER NOT NULL,"
    "  body BLOB NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  quarantined_ns INTEGER NOT NULL"
    ");";

struct spool {
    sqlite3 *db;
    char *path;
    int busy_ms;
    char host[256];        /* gethostname() */
    char pidns[96];        /* pid namespace + boot id: where our pids mean something */
    int64_t token;         /* random, this handle's claims */
    int64_t held;          /* claims taken and not yet marked sent, released or split:
                              close gives back what this handle may still hold */
    int64_t quarantined;   /* batches this handle moved aside (spool_quarantined) */
    int gz_level;          /* level new bodies are stored at; 0: as lines */
    bool lz4;              /* with gz_level > 0: stored as LZ4 blocks instead (enc 2) */
    gz_packer *gzp;        /* the compressor, kept between bodies (made at the first) */
    buf zbuf;              /* a compressed body, reused */
    char *lbuf;            /* spool_foreach: a body's lines, reused */
    size_t lcap;
    bool sync_full;        /* the connection's synchronous level: FULL, else NORMAL */
    bool in_foreach;
    sqlite3_stmt *st[ST_COUNT];
    struct spool *next_open;
};

/* Handles open in this process: a claim with our pid whose token is none of these has no
 * live owner. Not thread-safe: open and close handles from one thread. */
static spool *open_handles;

/* ---- errors ---------------------------------------------------------------------- */

static bool is_busy(int rc)
{
    return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

/* "spool PATH: what: sqlite message" from the connection's last error. */
static void db_err(const spool *sp, char *err, size_t errlen, const char *what)
{
    int rc = sqlite3_extended_errcode(sp->db);
    if (is_busy(rc))
        errf_set(err, errlen,
                 "spool %s: %s: %s (another process held the state file longer than the %d ms"
                 " busy timeout; try again)",
                 sp->path, what, sqlite3_errmsg(sp->db), sp->busy_ms);
    else
        errf_set(err, errlen, "spool %s: %s: %s", sp->path, what, sqlite3_errmsg(sp->db));
}

static bool bad_handle(const spool *sp, char *err, size_t errlen)
{
    if (sp && sp->db)
        return false;
    errf_set(err, errlen, "spool: no open state file");
    return true;
}

/* ---- clocks and owner identity ----------------------------------------------------- */

/* Read at most cap-1 bytes of a small file, NUL-terminated; trailing newline dropped. */
static int read_small(const char *path, char *out, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, out, cap - 1);
    close(fd);
    if (n <= 0)
        return -1;
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = '\0';
    return 0;
}

static void owner_identity(spool *sp)
{
    if (gethostname(sp->host, sizeof sp->host - 1) != 0 || sp->host[0] == '\0') {
        int n = snprintf(sp->host, sizeof sp->host, "%s", "unknown-host");
        if (n < 0)
            sp->host[0] = '\0';
    }
    sp->host[sizeof sp->host - 1] = '\0';

    char ns[48] = "", boot[48] = "";
    ssize_t n = readlink("/proc/self/ns/pid", ns, sizeof ns - 1);
    ns[n > 0 ? n : 0] = '\0';
    if (read_small("/proc/sys/kernel/random/boot_id", boot, sizeof boot) != 0)
        boot[0] = '\0';
    int m = snprintf(sp->pidns, sizeof sp->pidns, "%s %s", ns, boot);
    if (m < 0 || (size_t)m >= sizeof sp->pidns)
        sp->pidns[0] = '\0';

    int64_t t = 0;
    if (getrandom(&t, sizeof t, GRND_NONBLOCK) != (ssize_t)sizeof t)
        t = clock_real_ns() ^ ((int64_t)getpid() << 32) ^ (int64_t)(intptr_t)sp;
    t &= INT64_MAX;
    sp->token = t ? t : 1;
}

static bool token_is_open(int64_t token)
{
    for (const spool *p = open_handles; p; p = p->next_open)
        if (p->token == token)
            return true;
    return false;
}

/* A process that kill(2) still finds may be a zombie (dead, not yet reaped). */
static bool pid_is_zombie(pid_t pid)
{
    char path[64], stat[512];
    int n = snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (n < 0 || (size_t)n >= sizeof path || read_small(path, stat, sizeof stat) != 0)
        return false;
    const char *rp = strrchr(stat, ')');
    return rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X');
}

/* True when the claim's owner can be known to be gone for good. */
static bool owner_gone(const spool *sp, const char *host, const char *pidns, int64_t pid,
                       int64_t token)
{
    if (!host || pid <= 0)
        return true; /* a claim without an owner: nobody will finish it */
    if (strcmp(host, sp->host) != 0 || !pidns || strcmp(pidns, sp->pidns) != 0)
        return false; /* another machine or pid namespace: only the lease tells */
    if (pid > INT_MAX)
        return true;
    if (pid == (int64_t)getpid())
        return !token_is_open(token);
    if (kill((pid_t)pid, 0) == -1 && errno == ESRCH)
        return true;
    return pid_is_zombie((pid_t)pid);
}

/* ---- statements and transactions --------------------------------------------------- */

static sqlite3_stmt *stmt(spool *sp, enum st_id id, char *err, size_t errlen)
{
    if (!sp->st[id]) {
        int rc = sqlite3_prepare_v3(sp->db, st_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                    &sp->st[id], NULL);
        if (rc != SQLITE_OK) {
            db_err(sp, err, errlen, "prepare");
            sqlite3_finalize(sp->st[id]);
            sp->st[id] = NULL;
            return NULL;
        }
    }
    return sp->st[id];
}

static void done(sqlite3_stmt *s)
{
    if (s) {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
    }
}

static int exec1(spool *sp, enum st_id id, const char *what, char *err, size_t errlen)
{
    sqlite3_stmt *s = stmt(sp, id, err, errlen);
    if (!s)
        return -1;
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        db_err(sp, err, errlen, what);
        done(s);
        return -1;
    }
    done(s);
    return 0;
}

/* synchronous=FULL (durable) or NORMAL (bookkeeping) for the next transaction; sqlite
 * applies the pragma when it is prepared and refuses it inside a transaction. */
static int set_sync(spool *sp, bool durable, const char *what, char *err, size_t errlen)
{
    if (sp->sync_full == durable)
        return 0;
    if (sqlite3_exec(sp->db, durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
                     NULL, NULL, NULL) != SQLITE_OK) {
        db_err(sp, err, errlen, what);
        return -1;
    }
    sp->sync_full = durable;
    return 0;
}

/* BEGIN IMMEDIATE: the busy handler waits up to the busy timeout; a BUSY that comes back
 * without waiting (e.g. during WAL recovery by another process) is retried here until
 * the same deadline. durable: commit with synchronous=FULL (see the top of this file). */
static int tx_begin_sync(spool *sp, bool durable, const char *what, char *err, size_t errlen)
{
    if (set_sync(sp, durable, what, err, errlen) != 0)
        return -1;
    sqlite3_stmt *s = stmt(sp, ST_BEGIN_IMMEDIATE, err, errlen);
    if (!s)
        return -1;
    int64_t deadline = (clock_mono_ns() / CLOCK_NS_PER_MS) + sp->busy_ms;
    for (;;) {
        int rc = sqlite3_step(s);
        if (rc == SQLITE_DONE) {
            done(s);
            return 0;
        }
        if (is_busy(rc) && (clock_mono_ns() / CLOCK_NS_PER_MS) < deadline) {
            done(s);
            clock_nap_ms(20);
            continue;
        }
        char w[128];
        int n = snprintf(w, sizeof w, "%s: begin", what);
        db_err(sp, err, errlen, n > 0 && (size_t)n < sizeof w ? w : what);
        done(s);
        return -1;
    }
}

/* A durable write transaction. */
static int tx_begin(spool *sp, const char *what, char *err, size_t errlen)
{
    return tx_begin_sync(sp, true, what, err, errlen);
}

/* A bookkeeping write transaction: no fsync at its commit. */
static int tx_begin_light(spool *sp, const char *what, char *err, size_t errlen)
{
    return tx_begin_sync(sp, false, what, err, errlen);
}

static void tx_rollback(spool *sp)
{
    if (sqlite3_get_autocommit(sp->db))
        return;
    char ignored[8];
    if (exec1(sp, ST_ROLLBACK, "rollback", ignored, sizeof ignored) != 0 &&
        !sqlite3_get_autocommit(sp->db))
        sqlite3_exec(sp->db, "ROLLBACK", NULL, NULL, NULL);
}

static int tx_commit(spool *sp, const char *what, char *err, size_t errlen)
{
    char w[128];
    int n = snprintf(w, sizeof w, "%s: commit", what);
    if (exec1(sp, ST_COMMIT, n > 0 && (size_t)n < sizeof w ? w : what, err, errlen) != 0) {
        tx_rollback(sp);
        return -1;
    }
    return 0;
}

/* The bound statement s, alone in a write transaction (durable: see the top of this file):
 * begin, step, commit. *changes, when not NULL, gets the rows it changed; with want_one set,
 * any other number rolls the transaction back and returns -2 (err not set: the caller says
 * what was missing). 0 or -1 (err set). s is reset on every path. */
static int step_alone(spool *sp, sqlite3_stmt *s, bool durable, bool want_one, const char *what,
                      int64_t *changes, char *err, size_t errlen)
{
    if (tx_begin_sync(sp, durable, what, err, errlen) != 0) {
        done(s);
        return -1;
    }
    if (sqlite3_step(s) != SQLITE_DONE) {
        db_err(sp, err, errlen, what);
        done(s);
        tx_rollback(sp);
        return -1;
    }
    done(s);
    int64_t n = sqlite3_changes64(sp->db);
    if (changes)
        *changes = n;
    if (want_one && n != 1) {
        tx_rollback(sp);
        return -2;
    }
    return tx_commit(sp, what, err, errlen);
}

/* Bind a blob that is never NULL (sqlite binds a NULL pointer as SQL NULL). Not copied:
 * every caller steps the statement and clears its bindings (done()) while body lives. */
static int bind_body(sqlite3_stmt *s, int i, const void *body, size_t len)
{
    static const char empty[1] = "";
    return sqlite3_bind_blob64(s, i, len ? body : empty, len, SQLITE_STATIC);
}

static int bind_text(sqlite3_stmt *s, int i, const char *t, size_t len)
{
    return sqlite3_bind_text64(s, i, t ? t : "", t ? len : 0, SQLITE_TRANSIENT, SQLITE_UTF8);
}

/* ---- stored bodies ------------------------------------------------------------------ */

/* The stored form of lines[len] in *out[*outlen] (*enc ENC_GZIP: a gzip member in
 * sp->zbuf; ENC_LZ4: an LZ4 block in sp->zbuf, when sp->lz4; ENC_LINES: the lines
 * themselves, when compression is off, the body is small (a scheduled run's few points:
 * not worth a deflate state), or packing would not make it smaller). */
static int encode_body(spool *sp, const char *lines, size_t len, const void **out,
                       size_t *outlen, int *enc, char *err, size_t errlen)
{
    *out = lines;
    *outlen = len;
    *enc = ENC_LINES;
    if (sp->gz_level == 0 || len < GZIP_MIN)
        return 0;
    if (len > BODY_MAX) {
        errf_set(err, errlen, "spool %s: a body of %zu bytes is too large", sp->path, len);
        return -1;
    }
    if (sp->lz4) {
        if (lz_pack(&sp->zbuf, lines, len) != 0) {
            errf_set(err, errlen, "spool %s: LZ4 of a %zu-byte body failed (out of memory)",
                     sp->path, len);
            return -1;
        }
        if (sp->zbuf.len < len) {
            *out = sp->zbuf.p;
            *outlen = sp->zbuf.len;
            *enc = ENC_LZ4;
        }
        return 0;
    }
    if (sp->gzp && gz_packer_level(sp->gzp) != sp->gz_level) {
        gz_packer_free(sp->gzp);
        sp->gzp = NULL;
    }
    if (!sp->gzp && !(sp->gzp = gz_packer_new(sp->gz_level))) {
        errf_set(err, errlen, "spool %s: gzip: out of memory", sp->path);
        return -1;
    }
    if (gz_pack(sp->gzp, &sp->zbuf, lines, len) != 0) {
        errf_set(err, errlen, "spool %s: gzip of a %zu-byte body failed (out of memory)",
                 sp->path, len);
        return -1;
    }
    if (sp->zbuf.len < len) {
        *out = sp->zbuf.p;
        *outlen = sp->zbuf.len;
        *enc = ENC_GZIP;
    }
    return 0;
}

/* Unpack the stored body z[zlen] (enc ENC_GZIP: a gzip member; ENC_LZ4: an LZ4 block)
 * into out[want] (out has room for want bytes); it must hold exactly `want` bytes. 0, -2
 * damaged (why set), or -1 other failure (why set). */
static int unpack_body(int enc, const void *z, size_t zlen, char *out, size_t want, char *why,
                       size_t whylen)
{
    if (zlen > BODY_MAX || want > BODY_MAX) {
        errf_set(why, whylen, "stored body too large");
        return -1;
    }
    char r[128];
    const char *tool = enc == ENC_LZ4 ? "LZ4" : "gunzip";
    int rc = enc == ENC_LZ4 ? lz_unpack_exact(z, zlen, out, want, r, sizeof r)
                            : gz_inflate_exact(z, zlen, out, want, r, sizeof r);
    if (rc == -2)
        errf_set(why, whylen, "stored body is damaged (%s: %s)", tool, r);
    else if (rc != 0)
        errf_set(why, whylen, "%s: %s", tool, r);
    return rc;
}

/* A stored body (column `col` of s, encoded as `enc`, `bytes` long as lines) as a
 * malloc'd, NUL-terminated copy in *out[*outlen]: the stored bytes when `stored`, else
 * the lines. *packed says which (0 the lines, else SPOOL_PACK_*). 0, -2 the body is
 * damaged, -1 other. */
static int copy_body(spool *sp, sqlite3_stmt *s, int col, int enc, int64_t bytes, bool stored,
                     int64_t id, char **out, size_t *outlen, int *packed, char *err,
                     size_t errlen)
{
    const void *blob = sqlite3_column_blob(s, col);
    int n = sqlite3_column_bytes(s, col);
    size_t blen = n > 0 ? (size_t)n : 0;
    bool inflate_it = (enc == ENC_GZIP || enc == ENC_LZ4) && !stored;
    size_t want = inflate_it ? (size_t)(bytes > 0 ? bytes : 0) : blen;
    if (inflate_it && (bytes < 0 || (uint64_t)bytes > BODY_MAX)) {
        errf_set(err, errlen, "spool %s: batch %lld: stored length %lld is wrong", sp->path,
                 (long long)id, (long long)bytes);
        return -1;
    }
    char *p = malloc(want + 1);
    if (!p) {
        errf_set(err, errlen, "spool %s: batch %lld: out of memory", sp->path, (long long)id);
        return -1;
    }
    if (inflate_it) {
        char why[160];
        int ir = unpack_body(enc, blob, blen, p, want, why, sizeof why);
        if (ir != 0) {
            free(p);
            errf_set(err, errlen, "spool %s: batch %lld: %s", sp->path, (long long)id, why);
            return ir;
        }
    } else if (blen) {
        memcpy(p, blob, blen);
    }
    p[want] = '\0';
    *out = p;
    *outlen = want;
    *packed = stored && (enc == ENC_GZIP || enc == ENC_LZ4) ? enc : 0;
    return 0;
}

/* Explain why an ownership statement changed no row. */
static void not_mine_err(spool *sp, int64_t id, const char *what, char *err, size_t errlen)
{
    sqlite3_stmt *s = stmt(sp, ST_STATE_OF, err, errlen);
    if (!s)
        return;
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const char *state = (const char *)sqlite3_column_text(s, 0);
        const char *host = (const char *)sqlite3_column_text(s, 1);
        int64_t pid = sqlite3_column_int64(s, 2);
        if (state && strcmp(state, "claimed") == 0)
            errf_set(err, errlen,
                     "spool %s: %s batch %lld: claimed by %s pid %lld, not by this handle"
                     " (a claim whose lease has run out may be taken over)",
                     sp->path, what, (long long)id, host ? host : "?", (long long)pid);
        else
            errf_set(err, errlen, "spool %s: %s batch %lld: not claimed by this process (it is %s)",
                     sp->path, what, (long long)id, state ? state : "?");
    } else if (rc == SQLITE_DONE) {
        errf_set(err, errlen, "spool %s: %s batch %lld: no such batch", sp->path, what, (long long)id);
    } else {
        db_err(sp, err, errlen, what);
    }
    done(s);
}

/* Run an UPDATE on a batch this handle must hold (?1 id, ?2 token, ?3 pid already bound
 * by this function; the caller binds the rest), in its own transaction (durable or
 * bookkeeping). `then`, if not NULL, runs inside the same transaction once the batch is
 * known to be ours (0, or -1 with err set). */
static int update_mine(spool *sp, sqlite3_stmt *s, int64_t id, bool durable, const char *what,
                       int (*then)(spool *, int64_t, void *, char *, size_t), void *ctx,
                       char *err, size_t errlen)
{
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, sp->token);
    sqlite3_bind_int64(s, 3, (int64_t)getpid());
    if (tx_begin_sync(sp, durable, what, err, errlen) != 0) {
        done(s);
        return -1;
    }
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) {
        db_err(sp, err, errlen, what);
        done(s);
        tx_rollback(sp);
        return -1;
    }
    done(s);
    if (sqlite3_changes64(sp->db) != 1) {
        not_mine_err(sp, id, what, err, errlen);
        tx_rollback(sp);
        return -1;
    }
    if (then && then(sp, id, ctx, err, errlen) != 0) {
        tx_rollback(sp);
        return -1;
    }
    return tx_commit(sp, what, err, errlen);
}

/* ---- open / close ------------------------------------------------------------------ */

static int classify(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
    case SQLITE_FORMAT:
        return SPOOL_OPEN_BADFILE;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return SPOOL_OPEN_BUSY;
    case SQLITE_FULL:
    case SQLITE_IOERR:
        return SPOOL_OPEN_IOERR;
    default:
        return SPOOL_OPEN_CANTCREATE;
    }
}

static int pragma_int(spool *sp, const char *sql, int64_t *out)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(sp->db, sql, -1, &s, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int64(s, 0);
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(s);
    return rc;
}

/* A file already at this schema (our application id, this version, every additive table):
 * read without a lock, so that opening a current file (each run, each lane and helper of a
 * flush) takes no write lock and waits for no writer. Any doubt: false (migrate decides). */
static bool schema_current(spool *sp)
{
    int64_t version = 0, app = 0, additive = 0;
    return pragma_int(sp, "PRAGMA user_version", &version) == SQLITE_OK &&
           version == SCHEMA_VERSION &&
           pragma_int(sp, "PRAGMA application_id", &app) == SQLITE_OK && app == APPLICATION_ID &&
           pragma_int(sp, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND"
                          " name = 'quarantine'", &additive) == SQLITE_OK &&
           additive == 1;
}

/* Create or migrate the schema, in one write transaction. */
static int migrate(spool *sp, int *why, char *err, size_t errlen)
{
    int64_t version = 0, app = 0, tables = 0;
    int rc;
    if (schema_current(sp))
        return 0;
    if (tx_begin(sp, "open", err, errlen) != 0) {
        *why = classify(sqlite3_extended_errcode(sp->db));
        return -1;
    }
    if ((rc = pragma_int(sp, "PRAGMA user_version", &version)) != SQLITE_OK ||
        (rc = pragma_int(sp, "PRAGMA application_id", &app)) != SQLITE_OK ||
        (rc = pragma_int(sp, "SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'",
                         &tables)) != SQLITE_OK) {
        db_err(sp, err, errlen, "read schema");
        *why = classify(rc);
        goto fail;
    }
    if ((app != 0 && app != APPLICATION_ID) || (version == 0 && tables > 0)) {
        errf_set(err, errlen,
                 "spool %s: a sqlite database of another program, not a cronflux state file;"
                 " point --state / CRONFLUX_STATE at a new or cronflux file",
                 sp->path);
        *why = SPOOL_OPEN_BADFILE;
        goto fail;
    }
    if (version > SCHEMA_VERSION) {
        errf_set(err, errlen,
                 "spool %s: state file has schema version %lld, newer than this cronflux knows"
                 " (%d); upgrade cronflux",
                 sp->path, (long long)version, SCHEMA_VERSION);
        *why = SPOOL_OPEN_BADFILE;
        goto fail;
    }
    for (int64_t v = version; v < SCHEMA_VERSION; v++) {
        char sql[96];
        int n = snprintf(sql, sizeof sql, "PRAGMA user_version = %lld; PRAGMA application_id = %d",
                         (long long)v + 1, APPLICATION_ID);
        if (n < 0 || (size_t)n >= sizeof sql)
            goto fail;
        rc = sqlite3_exec(sp->db, migrations[v], NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(sp->db, sql, NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
            db_err(sp, err, errlen, "create schema");
            *why = classify(rc);
            goto fail;
        }
    }
    rc = sqlite3_exec(sp->db, additive_tables, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        db_err(sp, err, errlen, "create schema");
        *why = classify(rc);
        goto fail;
    }
    if (tx_commit(sp, "open", err, errlen) != 0) {
        *why = classify(sqlite3_extended_errcode(sp->db));
        return -1;
    }
    return 0;
fail:
    tx_rollback(sp);
    return -1;
}

/* Why a path cannot be opened for writing, in words; "" when nothing obvious is wrong.
 * (sqlite's own errno is often that of its read-only fallback, e.g. ENOENT.) */
static void diagnose_path(const char *path, char *out, size_t cap)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    int n;
    out[0] = '\0';
    if (!slash)
        n = snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        n = snprintf(dir, sizeof dir, "/");
    else
        n = snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    if (n < 0 || (size_t)n >= sizeof dir)
        return;
    struct stat st;
    if (stat(dir, &st) != 0)
        n = snprintf(out, cap, ": directory %s: %s", dir, strerror(errno));
    else if (!S_ISDIR(st.st_mode))
        n = snprintf(out, cap, ": %s is not a directory", dir);
    else if (access(dir, W_OK | X_OK) != 0)
        n = snprintf(out, cap, ": directory %s is not writable (%s); sqlite needs to create"
                     " the file and its -wal and -shm files there", dir, strerror(errno));
    else if (access(path, F_OK) == 0 && access(path, R_OK | W_OK) != 0)
        n = snprintf(out, cap, ": %s", strerror(errno));
    else
        n = 0;
    if (n < 0 || (size_t)n >= cap)
        out[0] = '\0';
}

static void cantopen_err(spool *sp, const char *path, char *err, size_t errlen)
{
    char why[PATH_MAX + 160];
    diagnose_path(path, why, sizeof why);
    int e = sp->db ? sqlite3_system_errno(sp->db) : 0;
    errf_set(err, errlen, "spool %s: cannot open or create: %s%s%s%s", path,
             sp->db ? sqlite3_errmsg(sp->db) : "out of memory",
             why[0] ? why : (e ? ": " : ""), why[0] ? "" : (e ? strerror(e) : ""),
             why[0] ? "" : "; check that the directory exists and is writable");
}

static void free_handle(spool *sp)
{
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(sp->st[i]);
    sqlite3_close(sp->db);
    gz_packer_free(sp->gzp);
    buf_free(&sp->zbuf);
    free(sp->lbuf);
    free(sp->path);
    free(sp);
}

spool *spool_open_ex(const char *path, int busy_timeout_ms, int *why_out, char *err,
                     size_t errlen)
{
    int why_local = SPOOL_OPEN_OK;
    int *why = why_out ? why_out : &why_local;
    *why = SPOOL_OPEN_OK;
    /* a file-size limit (ulimit -f) fails a write with EFBIG instead of killing the process,
     * the state file's and any other (export's stdout): the caller reports it */
    (void)signal(SIGXFSZ, SIG_IGN);
    if (!path || !*path) {
        errf_set(err, errlen, "spool: no state file path (set --state or CRONFLUX_STATE)");
        *why = SPOOL_OPEN_BADFILE;
        return NULL;
    }
    struct stat stb;
    if (stat(path, &stb) == 0 && S_ISDIR(stb.st_mode)) {
        errf_set(err, errlen, "spool %s: is a directory; the state path names a file (e.g. %s/cronflux.db)",
                 path, path);
        *why = SPOOL_OPEN_BADFILE;
        return NULL;
    }
    spool *sp = calloc(1, sizeof *sp);
    if (!sp || !(sp->path = strdup(path))) {
        free(sp);
        errf_set(err, errlen, "spool %s: out of memory", path);
        *why = SPOOL_OPEN_CANTCREATE;
        return NULL;
    }
    sp->busy_ms = busy_timeout_ms > 0 ? busy_timeout_ms : DEFAULT_BUSY_MS;
    buf_init(&sp->zbuf, BODY_MAX);
    sp->gz_level = GZIP_DEFAULT;
    owner_identity(sp);

    int rc = sqlite3_open_v2(path, &sp->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_EXRESCODE,
                             NULL);
    if (rc != SQLITE_OK) {
        cantopen_err(sp, path, err, errlen);
        *why = classify(rc);
        goto fail;
    }
    sqlite3_extended_result_codes(sp->db, 1);
    sqlite3_busy_timeout(sp->db, sp->busy_ms);
    if (sqlite3_db_readonly(sp->db, "main") == 1) {
        /* sqlite falls back to read-only when the file is not writable */
        errf_set(err, errlen, "spool %s: the state file is read-only; make it writable for this"
                 " user", path);
        *why = SPOOL_OPEN_CANTCREATE;
        goto fail;
    }

    /* The first real read: a file that is not a database fails here. */
    sqlite3_stmt *s = NULL;
    rc = sqlite3_prepare_v2(sp->db, "PRAGMA journal_mode=WAL", -1, &s, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        *why = classify(rc);
        if (*why == SPOOL_OPEN_BADFILE)
            errf_set(err, errlen, "spool %s: not a cronflux state file: %s; point --state /"
                     " CRONFLUX_STATE at a new or cronflux file", path, sqlite3_errmsg(sp->db));
        else if (*why == SPOOL_OPEN_BUSY)
            db_err(sp, err, errlen, "open");
        else
            cantopen_err(sp, path, err, errlen);
        sqlite3_finalize(s);
        goto fail;
    }
    const char *mode = (const char *)sqlite3_column_text(s, 0);
    bool wal = mode && (strcmp(mode, "wal") == 0 || strcmp(mode, "memory") == 0);
    char modebuf[16];
    int n = snprintf(modebuf, sizeof modebuf, "%s", mode ? mode : "?");
    if (n < 0)
        modebuf[0] = '\0';
    sqlite3_finalize(s);
    if (!wal) {
        errf_set(err, errlen, "spool %s: cannot use write-ahead logging (journal mode stays %s);"
                 " put the state file on a local file system", path, modebuf);
        *why = SPOOL_OPEN_CANTCREATE;
        goto fail;
    }
    rc = sqlite3_exec(sp->db, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        db_err(sp, err, errlen, "open");
        *why = classify(rc);
        goto fail;
    }
    sp->sync_full = true;
    /* Keep the -wal and -shm files between runs: the last close checkpoints and then
     * truncates the WAL to zero bytes (journal_size_limit=0) instead of deleting both
     * files, which the next run would create again (and fsync their directory). */
    int persist = 1;
    if (sqlite3_file_control(sp->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist) != SQLITE_OK ||
        sqlite3_exec(sp->db, "PRAGMA journal_size_limit=0", NULL, NULL, NULL) != SQLITE_OK) {
        db_err(sp, err, errlen, "open");
        *why = classify(sqlite3_extended_errcode(sp->db));
        goto fail;
    }
    if (migrate(sp, why, err, errlen) != 0) {
        if (*why == SPOOL_OPEN_OK)
            *why = SPOOL_OPEN_CANTCREATE;
        goto fail;
    }
    sp->next_open = open_handles;
    open_handles = sp;
    return sp;
fail:
    free_handle(sp);
    return NULL;
}

spool *spool_open(const char *path, int busy_timeout_ms, char *err, size_t errlen)
{
    return spool_open_ex(path, busy_timeout_ms, NULL, err, errlen);
}

void spool_close(spool *sp)
{
    if (!sp)
        return;
    for (spool **pp = &open_handles; *pp; pp = &(*pp)->next_open) {
        if (*pp == sp) {
            *pp = sp->next_open;
            break;
        }
    }
    if (sp->db && sp->held > 0) {
        /* Best effort: give back what this handle still holds, so the next flush need not
         * wait for a lease. A failure leaves the claims to expire or be taken over. */
        char ignored[SPOOL_ERR_MAX];
        sqlite3_stmt *s = stmt(sp, ST_RELEASE_ALL_MINE, ignored, sizeof ignored);
        if (s && tx_begin_light(sp, "close", ignored, sizeof ignored) == 0) {
            sqlite3_bind_int64(s, 1, sp->token);
            sqlite3_bind_int64(s, 2, (int64_t)getpid());
            int rc = sqlite3_step(s);
            done(s);
            if (rc == SQLITE_DONE)
                tx_commit(sp, "close", ignored, sizeof ignored);
            else
                tx_rollback(sp);
        }
    }
    free_handle(sp);
}

const char *spool_path(const spool *sp)
{
    return sp ? sp->path : NULL;
}

void spool_set_gzip(spool *sp, int level)
{
    if (sp)
        sp->gz_level = level <= 0 ? 0 : level > 9 ? 9 : level;
}

void spool_fold_wal(spool *sp)
{
    if (sp && !sp->in_foreach)
        (void)sqlite3_wal_checkpoint_v2(sp->db, "main", SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
}

void spool_set_lz4(spool *sp, bool on)
{
    if (sp)
        sp->lz4 = on;
}



/* ---- batches ----------------------------------------------------------------------- */

static bool job_ok(const spool *sp, const char *job, char *err, size_t errlen)
{
    size_t n = job ? strnlen(job, JOB_MAX + 1) : 0;
    if (n == 0 || n > JOB_MAX) {
        errf_set(err, errlen, "spool %s: job name must be 1..%d bytes", sp->path, JOB_MAX);
        return false;
    }
    return true;
}

/* A body in its stored form (encode_body). */
typedef struct stored_body {
    const void *p;
    size_t len;
    int enc;
} stored_body;

/* Insert one pending batch inside the caller's transaction. pre: body[len] already in its
 * stored form (encoded before the transaction, so the write lock is not held while
 * compressing); NULL: encode it here. */
static int64_t insert_batch(spool *sp, const char *job, int64_t created_ns, const char *body,
                            size_t len, size_t nlines, int64_t min_ns, int64_t max_ns,
                            const stored_body *pre, const char *what, char *err, size_t errlen)
{
    sqlite3_stmt *s = stmt(sp, ST_ADD, err, errlen);
    sqlite3_stmt *b = s ? stmt(sp, ST_ADD_BODY, err, errlen) : NULL;
    if (!b)
        return -1;
    stored_body sb;
    if (pre)
        sb = *pre;
    else if (encode_body(sp, body, len, &sb.p, &sb.len, &sb.enc, err, errlen) != 0)
        return -1;
    const void *stored = sb.p;
    size_t slen = sb.len;
    int enc = sb.enc;
    sqlite3_bind_text(s, 1, job, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, created_ns);
    sqlite3_bind_int64(s, 3, (int64_t)nlines);
    sqlite3_bind_int64(s, 4, (int64_t)len);
    sqlite3_bind_int64(s, 5, min_ns);
    sqlite3_bind_int64(s, 6, max_ns);
    int64_t id = -1;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        id = sqlite3_column_int64(s, 0);
        rc = sqlite3_step(s);
    }
    done(s);
    if (rc == SQLITE_DONE) {
        sqlite3_bind_int64(b, 1, id);
        sqlite3_bind_int(b, 2, enc);
        bind_body(b, 3, stored, slen);
        rc = sqlite3_step(b);
        done(b);
    }
    if (rc != SQLITE_DONE) {
        db_err(sp, err, errlen, what);
        id = -1;
    }
    return id;
}

/* The checkpoint upsert, bound and stepped inside the caller's transaction. 0 or -1. */
static int put_checkpoint(spool *sp, const char *job, const char *key, const char *value,
                          char *err, size_t errlen)
{
    sqlite3_stmt *s = stmt(sp, ST_CP_SET, err, errlen);
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, job, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, value, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 4, clock_real_ns());
    int rc = sqlite3_step(s);
    done(s);
    if (rc != SQLITE_DONE) {
        db_err(sp, err, errlen, "checkpoint set");
        return -1;
    }
    return 0;
}

static bool checkpoint_ok(const spool *sp, const char *key, const char *value, char *err,
                          size_t errlen)
{
    if (!key || !*key || !value) {
        errf_set(err, errlen, "spool %s: checkpoint: no key or value", sp->path);
        return false;
    }
    return true;
}

int64_t spool_add(spool *sp, const char *job, const char *body, size_t len, size_t nlines,
                  int64_t min_ns, int64_t max_ns, char *err, size_t errlen)
{
    return spool_add_cp(sp, job, body, len, nlines, min_ns, max_ns, NULL, NULL, err, errlen);
}

int64_t spool_add_cp(spool *sp, const char *job, const char *body, size_t len, size_t nlines,
                     int64_t min_ns, int64_t max_ns, const char *cp_key, const char *cp_value,
                     char *err, size_t errlen)
{
    if (bad_handle(sp, err, errlen) || !job_ok(sp, job, err, errlen))
        return -1;
    if (cp_key && !checkpoint_ok(sp, cp_key, cp_value, err, errlen))
        return -1;
    if (cp_key && nlines == 0 && len == 0) {
        /* no points to go with it: the checkpoint alone */
        if (tx_begin(sp, "checkpoint set", err, errlen) != 0)
            return -1;
        if (put_checkpoint(sp, job, cp_key, cp_value, err, errlen) != 0) {
            tx_rollback(sp);
            return -1;
        }
        return tx_commit(sp, "checkpoint set", err, errlen) == 0 ? 0 : -1;
    }
    if (!body || len == 0 || nlines == 0) {
        errf_set(err, errlen, "spool %s: add: empty batch", sp->path);
        return -1;
    }
    if (min_ns > max_ns) {
        errf_set(err, errlen, "spool %s: add: time range is backwards (min %lld > max %lld)",
                 sp->path, (long long)min_ns, (long long)max_ns);
        return -1;
    }
    stored_body sb;
    if (encode_body(sp, body, len, &sb.p, &sb.len, &sb.enc, err, errlen) != 0)
        return -1;
    if (tx_begin(sp, "add batch", err, errlen) != 0)
        return -1;
    int64_t id = insert_batch(sp, job, clock_real_ns(), body, len, nlines, min_ns, max_ns, &sb,
                              "add batch", err, errlen);
    if (id < 0 || (cp_key && put_checkpoint(sp, job, cp_key, cp_value, err, errlen) != 0)) {
        tx_rollback(sp);
        return -1;
    }
    if (tx_commit(sp, "add batch", err, errlen) != 0)
        return -1;
    return id;
}

void spool_batch_free(spool_batch *b)
{
    if (!b)
        return;
    free(b->body);
    b->body = NULL;
    b->len = 0;
    b->lines_len = 0;
    b->packed = 0;
}

int spool_batch_lines(spool_batch *b, char *err, size_t errlen)
{
    if (!b) {
        errf_set(err, errlen, "spool: batch lines: no batch");
        return -1;
    }
    if (!b->packed)
        return 0;
    if (b->lines_len > BODY_MAX) {
        errf_set(err, errlen, "spool: batch %lld: stored length %zu is wrong", (long long)b->id,
                 b->lines_len);
        return -1;
    }
    char *p = malloc(b->lines_len + 1);
    if (!p) {
        errf_set(err, errlen, "spool: batch %lld: out of memory", (long long)b->id);
        return -1;
    }
    char why[160];
    int ir = unpack_body(b->packed == SPOOL_PACK_LZ4 ? ENC_LZ4 : ENC_GZIP, b->body, b->len, p,
                         b->lines_len, why, sizeof why);
    if (ir != 0) {
        free(p);
        errf_set(err, errlen, "spool: batch %lld: %s", (long long)b->id, why);
        return ir;
    }
    p[b->lines_len] = '\0';
    free(b->body);
    b->body = p;
    b->len = b->lines_len;
    b->packed = 0;
    return 0;
}

static int take_batch(spool *sp, int64_t id, int lease_s, unsigned flags, int64_t now,
                      spool_batch *out, char *err, size_t errlen);

/* Inside an open write transaction: move batch id (body, range, state) to the quarantine
 * table with the reason and delete it. 0, or -1 (err set). */
static int move_aside(spool *sp, int64_t id, const char *why, char *err, size_t errlen)
{
    char reason[RUN_MESSAGE_MAX + 1];
    errf_set(reason, sizeof reason, "%s", why && *why ? why : "damaged");
    sqlite3_stmt *mv = stmt(sp, ST_QUARANTINE, err, errlen);
    sqlite3_stmt *del = mv ? stmt(sp, ST_DELETE, err, errlen) : NULL;
    if (!del)
        return -1;
    sqlite3_bind_int64(mv, 1, id);
    bind_text(mv, 2, reason, strlen(reason));
    sqlite3_bind_int64(mv, 3, clock_real_ns());
    int rc = sqlite3_step(mv);
    done(mv);
    if (rc != SQLITE_DONE) {
        db_err(sp, err, errlen, "quarantine");
        return -1;
    }
    if (sqlite3_changes64(sp->db) != 1) {
        errf_set(err, errlen, "spool %s: quarantine batch %lld: no such batch", sp->path,
                 (long long)id);
        return -1;
    }
    sqlite3_bind_int64(del, 1, id);
    rc = sqlite3_step(del);
    done(del);
    if (rc != SQLITE_DONE) {
        db_err(sp, err, errlen, "quarantine");
        return -1;
    }
    return 0;
}

int spool_quarantine(spool *sp, int64_t id, const char *why, char *err, size_t errlen)
{
    if (bad_handle(sp, err, errlen))
        return -1;
    sqlite3_stmt *mine = stmt(sp, ST_GET_MINE, err, errlen);
    if (!mine)
        return -1;
    if (tx_begin(sp, "quarantine", err, errlen) != 0)
        return -1;
    sqlite3_bind_int64(mine, 1, id);
    sqlite3_bind_int64(mine, 2, sp->token);
    sqlite3_bind_int64(mine, 3, (int64_t)getpid());
    int rc = sqlite3_step(mine);
    done(mine);
    if (rc != SQLITE_ROW) {
        if (rc == SQLITE_DONE)
            not_mine_err(sp, id, "quarantine", err, errlen);
        else
            db_err(sp, err, errlen, "quarantine");
        tx_rollback(sp);
        return -1;
    }
    if (move_aside(sp, id, why, err, errlen) != 0) {
        tx_rollback(sp);
        return -1;
    }
    if (tx_commit(sp, "quarantine", err, errlen) != 0)
        return -1;
    if (sp->held > 0)
        sp->held--;
    sp->quarantined++;
    return 0;
}

int64_t spool_quarantined(const spool *sp)
{
    return sp ? sp->quarantined : 0;
}

int spool_claim(spool *sp, int lease_s, spool_batch *out, char *err, size_t errlen)
{
    return spool_claim_ex(sp, lease_s, 0, out, err, errlen);
}

static int claim_once(spool *sp, int lease_s, unsigned flags, spool_batch *out, char *err,
                      size_t errlen);

int spool_claim_ex(spool *sp, int lease_s, unsigned flags, spool_batch *out, char *err,
                   size_t errlen)
{
    int rc;
    /* a batch whose body can not be read back is moved aside and the next one taken */
    for (int i = 0; (rc = claim_once(sp, lease_s, flags, out, err, errlen)) == 2; i++) {
        if (i >= 1000) {
            errf_set(err, errlen, "spool %s: claim: 1000 damaged batches in a row", sp->path);
            return -1;
        }
    }
    return rc;
}

static int claim_once(spool *sp, int lease_s, unsigned flags, spool_batch *out, char *err,
                      size_t errlen)
{
    if (!out) {
        errf_set(err, errlen, "spool: claim: no batch to fill");
        return -1;
    }
    memset(out, 0, sizeof *out);
    if (bad_handle(sp, err, errlen))
        return -1;
    sqlite3_stmt *pick = stmt(sp, ST_PICK_PENDING, err, errlen);
    sqlite3_stmt *list = pick ? stmt(sp, ST_LIST_CLAIMED, err, errlen) : NULL;
    if (!list || !stmt(sp, ST_TAKE, err, errlen) || !stmt(sp, ST_GET_BODY, err, errlen))
        return -1;
    if (tx_begin_light(sp, "claim", err, errlen) != 0)
        return -1;

    int64_t now = clock_real_ns(), id = 0;
    int rc = sqlite3_step(pick);
    if (rc == SQLITE_ROW)
        id = sqlite3_column_int64(pick, 0);
    else if (rc != SQLITE_DONE)
        goto db_fail;
    done(pick);

    /* An older claim that may be taken over comes first. */
    sqlite3_bind_int64(list, 1, id ? id : INT64_MAX);
    while ((rc = sqlite3_step(list)) == SQLITE_ROW) {
        bool expired = sqlite3_column_type(list, 5) == SQLITE_NULL ||
                       sqlite3_column_int64(list, 5) <= now;
        if (expired || owner_gone(sp, (const char *)sqlite3_column_text(list, 1),
                                  (const char *)sqlite3_column_text(list, 2),
                                  sqlite3_column_int64(list, 3), sqlite3_column_int64(list, 4))) {
            id = sqlite3_column_int64(list, 0);
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc != SQLITE_DONE)
        goto db_fail;
    done(list);

    if (id == 0) {
        tx_rollback(sp);
        return 0;
    }
    return take_batch(sp, id, lease_s, flags, now, out, err, errlen);

db_fail:
    db_err(sp, err, errlen, "claim");
    done(pick);
    done(list);
    tx_rollback(sp);
    return -1;
}

/* Inside the claim's open transaction: take batch id for this handle and copy its body
 * into *out; commit. 1, or -1 (rolled back, *out zeroed). */
static int take_batch(spool *sp, int64_t id, int lease_s, unsigned flags, int64_t now,
                      spool_batch *out, char *err, size_t errlen)
{
    sqlite3_stmt *take = stmt(sp, ST_TAKE, err, errlen);
    sqlite3_stmt *get = take ? stmt(sp, ST_GET_BODY, err, errlen) : NULL;
    if (!get) {
        tx_rollback(sp);
        return -1;
    }
    int rc;
    sqlite3_bind_int64(take, 1, id);
    sqlite3_bind_text(take, 2, sp->host, -1, SQLITE_STATIC);
    sqlite3_bind_text(take, 3, sp->pidns, -1, SQLITE_STATIC);
    sqlite3_bind_int64(take, 4, (int64_t)getpid());
    sqlite3_bind_int64(take, 5, sp->token);
    sqlite3_bind_int64(take, 6, now + (int64_t)lease_s * 1000000000);
    rc = sqlite3_step(take);
    if (rc != SQLITE_ROW)
        goto db_fail;
    const char *job = (const char *)sqlite3_column_text(take, 0);
    int n = snprintf(out->job, sizeof out->job, "%s", job ? job : "");
    if (n < 0)
        out->job[0] = '\0';
    out->nlines = (size_t)sqlite3_column_int64(take, 1);
    out->attempts = sqlite3_column_int(take, 2) - 1;
    int64_t bytes = sqlite3_column_int64(take, 3);
    out->id = id;
    rc = sqlite3_step(take);
    if (rc != SQLITE_DONE)
        goto db_fail;
    done(take);

    sqlite3_bind_int64(get, 1, id);
    rc = sqlite3_step(get);
    if (rc == SQLITE_ROW) {
        int cr = copy_body(sp, get, 1, sqlite3_column_int(get, 0), bytes,
                           (flags & SPOOL_CLAIM_STORED) != 0, id, &out->body, &out->len,
                           &out->packed, err, errlen);
        if (cr != 0) {
            done(get);
            memset(out, 0, sizeof *out);
            if (cr == -2 && move_aside(sp, id, err, err, errlen) == 0 &&
                tx_commit(sp, "quarantine", err, errlen) == 0) {
                sp->quarantined++;
                return 2;   /* moved aside: the caller claims the next one */
            }
            tx_rollback(sp);
            return -1;
        }
        rc = sqlite3_step(get);
    } else if (rc == SQLITE_DONE) {
        /* no body row (only a hand-edited file has none): an empty batch */
        out->body = calloc(1, 1);
        out->len = 0;
        if (!out->body) {
            done(get);
            tx_rollback(sp);
            memset(out, 0, sizeof *out);
            errf_set(err, errlen, "spool %s: claim batch %lld: out of memory", sp->path,
                     (long long)id);
            return -1;
        }
    }
    if (rc != SQLITE_DONE)
        goto db_fail;
    done(get);
    out->lines_len = out->packed ? (size_t)bytes : out->len;
    sp->held++;
    if (tx_commit(sp, "claim", err, errlen) != 0) {
        spool_batch_free(out);
        memset(out, 0, sizeof *out);
        return -1;
    }
    return 1;

db_fail:
    db_err(sp, err, errlen, "claim");
    done(take);
    done(get);
    tx_rollback(sp);
    spool_batch_free(out);
    memset(out, 0, sizeof *out);
    return -1;
}

int spool_claim_id(spool *sp, int64_t id, int lease_s, unsigned flags, spool_batch *out,
                   char *err, size_t errlen)
{
    if (!out) {
        errf_set(err, errlen, "spool: claim: no batch to fill");
        return -1;
    }
    memset(out, 0, sizeof *out);
    if (bad_handle(sp, err, errlen))
        return -1;
    sqlite3_stmt *st = stmt(sp, ST_STATE_OF, err, errlen);
    if (!st)
        return -1;
    if (tx_begin_light(sp, "claim", err, errlen) != 0)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    bool pending = rc == SQLITE_ROW && sqlite3_column_text(st, 0) &&
                   strcmp((const char *)sqlite3_column_text(st, 0), "pending") == 0;
    done(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        db_err(sp, err, errlen, "claim");
        tx_rollback(sp);
        return -1;
    }
    if (!pending) {
        tx_rollback(sp);
        return 0;
    }
    rc = take_batch(sp, id, lease_s, flags, clock_real_ns(), out, err, errlen);
    return rc == 2 ? 0 : rc;   /* 2: damaged, moved aside */
}

int spool_mark_sent(spool *sp, int64_t id, char *err, size_t errlen)
{
    if (bad_handle(sp, err, errlen))
        return -1;
    sqlite3_stmt *s = stmt(sp, ST_MARK_SENT, err, errlen);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 4, clock_real_ns());
    int rc = update_mine(sp, s, id, false, "mark sent", NULL, NULL, err, errlen);
    if (rc == 0 && sp->held > 0)
        sp->held--;
    return rc;
}

int spool_release(spool *sp, int64_t id, const char *why, char *err, size_t errlen)
{
    if (bad_handle(sp, err, errlen))
        return -1;
    sqlite3_stmt *s = stmt(sp, ST_RELEASE, err, errlen);
    if (!s)
        return -1;
    if (why)
        sqlite3_bind_text(s, 4, why, (int)strnlen(why, RUN_MESSAGE_MAX), SQLITE_TRANSIENT);
    int rc = update_mine(sp, s, id, false, "release", NULL, NULL, err, errlen);
    if (rc == 0 && sp->held > 0)
        sp->held--;
    return rc;
}

typedef struct rewrite_ctx {
    const void *stored;
    size_t len;
    int enc;
} rewrite_ctx;

/* The body half of spool_rewrite, inside its transaction. */
static int rewrite_body(spool *sp, int64_t id, void *ctx, char *err, size_t errlen)
{
    const rewrite_ctx *rc = ctx;
    sqlite3_stmt *s = stmt(sp, ST_REWRITE_BODY, err, errlen);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int(s, 2, rc->enc);
    bind_body(s, 3, rc->stored, rc->len);
    int r = sqlite3_step(s);
    done(s);
    if (r != SQLITE_DONE) {
        db_err(sp, err, errlen, "rewrite");
        return -1;
    }
    return 0;
}

int spool_rewrite(spool *sp, int64_t id, const char *body, size_t len, size_t nlines, char *err,
                  size_t errlen)
{
    if (bad_handle(sp, err, errlen))
        return -1;
    if (!body && len) {
        errf_set(err, errlen, "spool %s: rewrite batch %lld: no body", sp->path, (long long)id);
        return -1;
    }
    sqlite3_stmt *s = stmt(sp, ST_REWRITE, err, errlen);
    if (!s)
        return -1;
    rewrite_ctx rc = { 0 };
    if (encode_body(sp, body ? body : "", len, &rc.stored, &rc.len, &rc.enc, err, errlen) != 0)
        return -1;
    sqlite3_bind_int64(s, 4, (int64_t)len);
    sqlite3_bind_int64(s, 5, (int64_t)nlines);
    return update_mine(sp, s, id, true, "rewrite", rewrite_body, &rc, err, errlen);
}

/* Lines are split as lp_count_lines counts them (lp_record_len): a string field may hold a
 * raw newline, which does not end its line; on what the encoder writes, this is how InfluxDB
 * splits the body too. */

/* The time range of a block of lines from each line's timestamp. -1 if some line has none. */
static int lines_range(const char *p, size_t len, int64_t *mn, int64_t *mx)
{
    bool any = false;
    for (size_t i = 0; i < len;) {
        size_t n = lp_record_len(p + i, len - i, LP_NS);
        int64_t v;
        if (lp_line_time_ns(p + i, n, &v) != 0)
            return -1;
        if (!any || v < *mn)
            *mn = v;
        if (!any || v > *mx)
            *mx = v;
        any = true;
        i += n + 1;
    }
    return any ? 0 : -1;
}

/* Where to cut: just after the line end nearest the middle that leaves a line on each side.
 * 0 when the body holds a single line. */
static size_t split_point(const char *body, size_t len)
{
    size_t best = 0, mid = len / 2;
    for (size_t i = 0; i < len;) {
        size_t end = i + lp_record_len(body + i, len - i, LP_NS) + 1;   /* the next line's start */
        if (end >= len)
            break;
        size_t d = end > mid ? end - mid : mid - end;
        size_t bd = best > mid ? best - mid : mid - best;
        if (best == 0 || d < bd)
            best = end;
        else if (end > mid)
            break;   /* past the middle and moving away from it */
        i = end;
    }
    return best;
}

int spool_split(spool *sp, int64_t id, const char *body, size_t len, char *err, size_t errlen)
{
    return spool_split_ex(sp, id, body, len, NULL, err, errlen);
}

int spool_split_ex(spool *sp, int64_t id, const char *body, size_t len, int64_t halves[2],
                   char *err, size_t errlen)
{
    if (bad_handle(sp, err, errlen))
        return -1;
    if (!body || len == 0) {
        errf_set(err, errlen, "spool %s: split batch %lld: empty body", sp->path, (long long)id);
        return -1;
    }
    size_t cut = split_point(body, len);
    if (cut == 0) {
        errf_set(err, errlen,
                 "spool %s: split batch %lld: a single line (%zu bytes) cannot be split;"
                 " dead-letter it", sp->path, (long long)id, len);
        return -1;
    }
    sqlite3_stmt *get = stmt(sp, ST_GET_MINE, err, errlen);
    sqlite3_stmt *del = get ? stmt(sp, ST_DELETE, err, errlen) : NULL;
    if (!del || !stmt(sp, ST_ADD, err, errlen))
        return -1;
    if (tx_begin(sp, "split", err, errlen) != 0)
        return -1;

    sqlite3_bind_int64(get, 1, id);
    sqlite3_bind_int64(get, 2, sp->token);
    sqlite3_bind_int64(get, 3, (int64_t)getpid());
    int rc = sqlite3_step(get);
    if (rc == SQLITE_DONE) {
        done(get);
        not_mine_err(sp, id, "split", err, errlen);
        tx_rollback(sp);
        return -1;
    }
    if (rc != SQLITE_ROW) {
        db_err(sp, err, errlen, "split");
        done(get);
        tx_rollback(sp);
        return -1;
    }
    char job[JOB_MAX + 1];
    int n = snprintf(job, sizeof job, "%s", (const char *)sqlite3_column_text(get, 0));
    if (n < 0)
        job[0] = '\0';
    int64_t created = sqlite3_column_int64(get, 1);
    int64_t omin = sqlite3_column_int64(get, 2), omax = sqlite3_column_int64(get, 3);
    done(get);

    /* Both halves get new ids, first half first, so their order is kept; the created
     * time stays the original's (its age is what status reports). A half whose lines
     * do not all carry a timestamp keeps the original's range, which covers it. */
    const char *part[2] = { body, body + cut };
    size_t plen[2] = { cut, len - cut };
    for (int h = 0; h < 2; h++) {
        int64_t mn = omin, mx = omax;
        if (lines_range(part[h], plen[h], &mn, &mx) != 0) {
            mn = omin;
            mx = omax;
        }
        int64_t hid = insert_batch(sp, job, created, part[h], plen[h],
                                   lp_count_lines(part[h], plen[h]), mn, mx, NULL, "split", err,
                                   errlen);
        if (hid < 0) {
            tx_rollback(sp);
            return -1;
        }
        if (halves)
            halves[h] = hid;
    }
    sqlite3_bind_int64(del, 1, id);
    rc = sqlite3_step(del);
    if (rc != SQLITE_DONE) {
        db_err(sp, err, errlen, "split");
        done(del);
        tx_rollback(sp);
        return -1;
    }
    done(del);
    if (tx_commit(sp, "split", err, errlen) != 0)
        return -1;
    if (sp->held > 0)
        sp->held--;
    return 0;
}

int spool_dead_letter(spool *sp, int64_t batch_id, const char *job, const char *line, size_t len,
                      const char *why, char *err, size_t errlen)
{
    if (bad_handle(sp, err, errlen) || !job_ok(sp, job, err, errlen))
        return -1;
    if (!line && len) {
        errf_set(err, errlen, "spool %s: dead letter: no line", sp->path);
        return -1;
    }
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    sqlite3_stmt *s = stmt(sp, ST_DEAD_LETTER, err, errlen);
    if (!s)
        return -1;
    if (batch_id > 0)
        sqlite3_bind_int64(s, 1, batch_id);
    sqlite3_bind_text(s, 2, job, -1, SQLITE_TRANSIENT);
    bind_text(s, 3, line, len);
    bind_text(s, 4, why ? why : "refused", why ? strnlen(why, RUN_MESSAGE_MAX) : 7);
    sqlite3_bind_int64(s, 5, clock_real_ns());
    return step_alone(sp, s, true, false, "dead letter", NULL, err, errlen);
}

/* ---- dead letters: list, requeue, drop ----------------------------------------------- */

#define DEAD_SELECT "SELECT id, coalesce(batch_id, 0), job, line, error, created_ns" \
                    " FROM dead_letters WHERE (?1 IS NULL OR job = ?1) AND (?2 IS NULL OR id = ?2)"
#define DEAD_BATCH_LINES 5000

/* The selected rows, one statement a call: with ids, once per id (k = the id's index);
 * without, once (k = 0) with the rows ordered by job then id (so that requeue makes one
 * batch per job). */
static sqlite3_stmt *dead_prepare(spool *sp, const spool_dead_sel *sel, const char *sql,
                                  char *err, size_t errlen)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(sp->db, sql, -1, &s, NULL) != SQLITE_OK) {
        db_err(sp, err, errlen, "dead letters");
        sqlite3_finalize(s);
        return NULL;
    }
    if (sel && sel->job && *sel->job)
        sqlite3_bind_text(s, 1, sel->job, -1, SQLITE_TRANSIENT);
    return s;
}

static size_t dead_rounds(const spool_dead_sel *sel)
{
    return sel && sel->ids && sel->nids ? sel->nids : 1;
}

static void dead_bind_round(sqlite3_stmt *s, const spool_dead_sel *sel, size_t k)
{
    sqlite3_reset(s);
    if (sel && sel->ids && sel->nids)
        sqlite3_bind_int64(s, 2, sel->ids[k]);
}

static void dead_row(sqlite3_stmt *s, spool_dead *d)
{
    d->id = sqlite3_column_int64(s, 0);
    d->batch_id = sqlite3_column_int64(s, 1);
    d->job = (const char *)sqlite3_column_text(s, 2);
    d->line = (const char *)sqlite3_column_text(s, 3);
    int n = sqlite3_column_bytes(s, 3);
    d->len = n > 0 ? (size_t)n : 0;
    d->error = (const char *)sqlite3_column_text(s, 4);
    d->created_ns = sqlite3_column_int64(s, 5);
    if (!d->job)
        d->job = "";
    if (!d->line)
        d->line = "";
    if (!d->error)
        d->error = "";
}

int64_t spool_dead_foreach(spool *sp, const spool_dead_sel *sel, spool_dead_fn fn, void *ctx,
                           char *err, size_t errlen)
{
    if (bad_handle(sp, err, errlen))
        return -1;
    if (!fn) {
        errf_set(err, errlen, "spool %s: dead letters: no callback", sp->path);
        return -1;
    }
    sqlite3_stmt *s = dead_prepare(sp, sel, DEAD_SELECT " ORDER BY id", err, errlen);
    if (!s)
        return -1;
    int64_t n = 0;
    int rc = SQLITE_DONE;
    for (size_t k = 0; k < dead_rounds(sel) && rc == SQLITE_DONE; k++) {
        dead_bind_round(s, sel, k);
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            spool_dead d;
            dead_row(s, &d);
            n++;
            if (fn(ctx, &d) != 0) {
                sqlite3_finalize(s);
                return -1;
            }
        }
    }
    if (rc != SQLITE_DONE) {
        db_err(sp, err, errlen, "dead letters");
        n = -1;
    }
    sqlite3_finalize(s);
    return n;
}

/* requeue: the lines gathered for one job so far, made a pending batch */
typedef struct dead_pending {
    char job[JOB_MAX + 1];
    char *body;
    size_t len, cap, nlines;
    int64_t first_ns;       /* when the first of them was refused: the range's fallback */
} dead_pending;

static int dead_put_batch(spool *sp, dead_pending *dp, char *err, size_t errlen)
{
    if (dp->nlines == 0)
        return 0;
    int64_t mn = dp->first_ns, mx = dp->first_ns;
    if (lines_range(dp->body, dp->len, &mn, &mx) != 0)
        mn = mx = dp->first_ns;
    int64_t id = insert_batch(sp, dp->job, clock_real_ns(), dp->body, dp->len, dp->nlines, mn, mx, NULL,
                              "requeue dead letters", err, errlen);
    dp->len = 0;
    dp->nlines = 0;
    return id < 0 ? -1 : 0;
}

static int dead_gather(spool *sp, dead_pending *dp, const spool_dead *d, char *err,
                       size_t errlen)
{
    if (strcmp(dp->job, d->job) != 0 || dp->nlines >= DEAD_BATCH_LINES) {
        if (dead_put_batch(sp, dp, err, errlen) != 0)
            return -1;
        int n = snprintf(dp->job, sizeof dp->job, "%s", d->job);
        if (n < 0 || (size_t)n >= sizeof dp->job || n == 0) {
            errf_set(err, errlen, "spool %s: dead letter %lld: job name must be 1..%d bytes",
                     sp->path, (long long)d->id, JOB_MAX);
            return -1;
        }
    }
    if (d->len > BODY_MAX || dp->len > BODY_MAX - d->len - 1) {
        errf_set(err, errlen, "spool %s: dead letter %lld: too long", sp->path, (long long)d->id);
        return -1;
    }
    if (dp->len + d->len + 2 > dp->cap) {
        size_t cap = dp->cap ? dp->cap : 4096;
        while (cap < dp->len + d->len + 2)
            cap *= 2;
        char *nb = realloc(dp->body, cap);
        if (!nb) {
            errf_set(err, errlen, "spool %s: requeue dead letters: out of memory", sp->path);
            return -1;
        }
        dp->body = nb;
        dp->cap = cap;
    }
    if (dp->nlines == 0)
        dp->first_ns = d->created_ns;
    memcpy(dp->body + dp->len, d->line, d->len);
    dp->len += d->len;
    dp->body[dp->len++] = '\n';
    dp->body[dp->len] = '\0';
    dp->nlines++;
    return 0;
}

/* Requeue (requeue true) or drop the selection, in one durable transaction. */
static int64_t dead_move(spool *sp, const spool_dead_sel *sel, bool requeue, char *err,
                         size_t errlen)
{
    const char *what = requeue ? "requeue dead letters" : "drop dead letters";
    if (bad_handle(sp, err, errlen))
        return -1;
    sqlite3_stmt *s = dead_prepare(sp, sel, DEAD_SELECT " ORDER BY job, id", err, errlen);
    if (!s)
        return -1;
    sqlite3_stmt *del = NULL;
    if (sqlite3_prepare_v2(sp->db, "DELETE FROM dead_letters WHERE id = ?1", -1, &del, NULL) !=
        SQLITE_OK) {
        db_err(sp, err, errlen, what);
        sqlite3_finalize(del);
        sqlite3_finalize(s);
        return -1;
    }
    if (tx_begin(sp, what, err, errlen) != 0) {
        sqlite3_finalize(del);
        sqlite3_finalize(s);
        return -1;
    }
    dead_pending dp = { .job = "" };
    int64_t n = 0;
    int rc = SQLITE_DONE;
    bool failed = false;
    for (size_t k = 0; k < dead_rounds(sel) && !failed; k++) {
        dead_bind_round(s, sel, k);
        while (!failed && (rc = sqlite3_step(s)) == SQLITE_ROW) {
            spool_dead d;
            dead_row(s, &d);
            if (requeue && dead_gather(sp, &dp, &d, err, errlen) != 0) {
                failed = true;
                break;
            }
            sqlite3_bind_int64(del, 1, d.id);
            if (sqlite3_step(del) != SQLITE_DONE) {
                db_err(sp, err, errlen, what);
                failed = true;
            }
            sqlite3_reset(del);
            n++;
        }
        if (!failed && rc != SQLITE_DONE) {
            db_err(sp, err, errlen, what);
            failed = true;
        }
    }
    sqlite3_finalize(s);
    sqlite3_finalize(del);
    if (!failed && requeue && dead_put_batch(sp, &dp, err, errlen) != 0)
        failed = true;
    free(dp.body);
    if (failed) {
        tx_rollback(sp);
        return -1;
    }
    if (tx_commit(sp, what, err, errlen) != 0)
        return -1;
    return n;
}

int64_t spool_dead_requeue(spool *sp, const spool_dead_sel *sel, char *err, size_t errlen)
{
    return dead_move(sp, sel, true, err, errlen);
}

int64_t spool_dead_drop(spool *sp, const spool_dead_sel *sel, char *err, size_t errlen)
{
    return dead_move(sp, sel, false, err, errlen);
}

/* ---- checkpoints ------------------------------------------------------------------- */

int spool_checkpoint_get(spool *sp, const char *job, const char *key, char *out, size_t cap,
                         char *err, size_t errlen)
{
    if (bad_handle(sp, err, errlen) || !job_ok(sp, job, err, errlen))
        return -1;
    if (!key || !out || cap == 0) {
        errf_set(err, errlen, "spool %s: checkpoint: no key or no room for the value", sp->path);
        return -1;
    }
    out[0] = '\0';
    sqlite3_stmt *s = stmt(sp, ST_CP_GET, err, errlen);
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, job, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, key, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s), ret;
    if (rc == SQLITE_DONE) {
        ret = 0;
    } else if (rc == SQLITE_ROW) {
        const unsigned char *v = sqlite3_column_text(s, 0);
        size_t n = (size_t)sqlite3_column_bytes(s, 0);
        if (n >= cap) {
            errf_set(err, errlen, "spool %s: checkpoint %s/%s: value of %zu bytes does not fit in %zu",
                     sp->path, job, key, n, cap - 1);
            ret = -1;
        } else {
            if (n)
                memcpy(out, v, n);
            out[n] = '\0';
            ret = 1;
        }
    } else {
        db_err(sp, err, errlen, "checkpoint get");
        ret = -1;
    }
    done(s);
    return ret;
}

int spool_checkpoint_set(spool *sp, const char *job, const char *key, const char *value,
                         char *err, size_t errlen)
{
    if (bad_handle(sp, err, errlen) || !job_ok(sp, job, err, errlen) ||
        !checkpoint_ok(sp, key, value, err, errlen))
        return -1;
    return spool_add_cp(sp, job, NULL, 0, 0, 0, 0, key, value, err, errlen) < 0 ? -1 : 0;
}

/* ---- run ledger -------------------------------------------------------------------- */

int64_t spool_run_begin(spool *sp, const char *job, int64_t started_ns, char *err, size_t errlen)
{
    if (bad_handle(sp, err, errlen) || !job_ok(sp, job, err, errlen))
        return -1;
    sqlite3_stmt *s = stmt(sp, ST_RUN_BEGIN, err, errlen);
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, job, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, started_ns);
    if (tx_begin_light(sp, "run begin", err, errlen) != 0) {
        done(s);
        return -1;
    }
    int64_t id = -1;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        id = sqlite3_column_int64(s, 0);
        rc = sqlite3_step(s);
    }
    if (rc != SQLITE_DONE) {
        db_err(sp, err, errlen, "run begin");
        done(s);
        tx_rollback(sp);
        return -1;
    }
    done(s);
    if (tx_commit(sp, "run begin", err, errlen) != 0)
        return -1;
    return id;
}

int spool_run_end(spool *sp, int64_t run_id, const spool_run_result *r, char *err, size_t errlen)
{
    if (bad_handle(sp, err, errlen))
        return -1;
    if (!r) {
        errf_set(err, errlen, "spool %s: run end: no result", sp->path);
        return -1;
    }
    /* The message is one line: newlines become spaces, and it is capped. */
    char msg[RUN_MESSAGE_MAX + 1];
    size_t mlen = 0;
    if (r->message) {
        mlen = strnlen(r->message, RUN_MESSAGE_MAX);
        for (size_t i = 0; i < mlen; i++) {
            char ch = r->message[i];
            if (ch == '\n' || ch == '\r')
                ch = ' ';
            msg[i] = ch;
        }
    }
    msg[mlen] = '\0';
    const char *status = r->status && *r->status ? r->status : "unknown";
    sqlite3_stmt *s = stmt(sp, ST_RUN_END, err, errlen);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, run_id);
    sqlite3_bind_int64(s, 2, clock_real_ns());
    sqlite3_bind_int(s, 3, r->exit_code);
    sqlite3_bind_text(s, 4, status, (int)strnlen(status, 15), SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 5, r->duration_ms);
    sqlite3_bind_int64(s, 6, r->points);
    sqlite3_bind_int64(s, 7, r->spooled);
    sqlite3_bind_int64(s, 8, r->sent);
    sqlite3_bind_int64(s, 9, r->dead_letters);
    if (r->message)
        sqlite3_bind_text(s, 10, msg, (int)mlen, SQLITE_TRANSIENT);
    int rc = step_alone(sp, s, false, true, "run end", NULL, err, errlen);
    if (rc == -2)
        errf_set(err, errlen, "spool %s: run end: no run %lld", sp->path, (long long)run_id);
    return rc == 0 ? 0 : -1;
}

/* ---- status, prune, requeue, foreach ----------------------------------------------- */

void spool_stats_free(spool_stats *st)
{
    if (!st)
        return;
    free(st->runs);
    st->runs = NULL;
    st->nruns = 0;
}

static void copy_col(char *dst, size_t cap, sqlite3_stmt *s, int col)
{
    const char *v = (const char *)sqlite3_column_text(s, col);
    int n = snprintf(dst, cap, "%s", v ? v : "");
    if (n < 0)
        dst[0] = '\0';
}

int spool_status(spool *sp, spool_stats *st, char *err, size_t errlen)
{
    if (!st) {
        errf_set(err, errlen, "spool: status: nothing to fill");
        return -1;
    }
    memset(st, 0, sizeof *st);
    if (bad_handle(sp, err, errlen))
        return -1;
    sqlite3_stmt *b = stmt(sp, ST_STAT_BATCHES, err, errlen);
    sqlite3_stmt *d = b ? stmt(sp, ST_STAT_DEAD, err, errlen) : NULL;
    sqlite3_stmt *r = d ? stmt(sp, ST_STAT_RUNS, err, errlen) : NULL;
    sqlite3_stmt *q = r ? stmt(sp, ST_STAT_QUARANTINE, err, errlen) : NULL;
    if (!q)
        return -1;
    /* One read transaction: the three answers describe one moment. */
    if (exec1(sp, ST_BEGIN_READ, "status", err, errlen) != 0)
        return -1;
    int rc;
    size_t cap = 0;
    while ((rc = sqlite3_step(b)) == SQLITE_ROW) {
        const char *state = (const char *)sqlite3_column_text(b, 0);
        int64_t count = sqlite3_column_int64(b, 1), lines = sqlite3_column_int64(b, 2);
        if (!state)
            continue;
        if (strcmp(state, "pending") == 0) {
            st->pending_batches = count;
            st->pending_points = lines;
            st->oldest_pending_ns = sqlite3_column_int64(b, 3);
        } else if (strcmp(state, "claimed") == 0) {
            st->claimed_batches = count;
        } else if (strcmp(state, "sent") == 0) {
            st->sent_batches = count;
            st->sent_points = lines;
        }
    }
    if (rc != SQLITE_DONE)
        goto db_fail;
    if ((rc = sqlite3_step(d)) != SQLITE_ROW)
        goto db_fail;
    st->dead_letters = sqlite3_column_int64(d, 0);
    if ((rc = sqlite3_step(q)) != SQLITE_ROW)
        goto db_fail;
    st->quarantined_batches = sqlite3_column_int64(q, 0);
    st->quarantined_points = sqlite3_column_int64(q, 1);
    copy_col(st->quarantine_newest, sizeof st->quarantine_newest, q, 2);
    while ((rc = sqlite3_step(r)) == SQLITE_ROW) {
        if (st->nruns == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            spool_last_run *nr = realloc(st->runs, ncap * sizeof *nr);
            if (!nr) {
                errf_set(err, errlen, "spool %s: status: out of memory", sp->path);
                goto fail;
            }
            st->runs = nr;
            cap = ncap;
        }
        spool_last_run *lr = &st->runs[st->nruns++];
        memset(lr, 0, sizeof *lr);
        copy_col(lr->job, sizeof lr->job, r, 0);
        lr->started_ns = sqlite3_column_int64(r, 1);
        lr->finished_ns = sqlite3_column_int64(r, 2);
        lr->exit_code = sqlite3_column_int(r, 3);
        copy_col(lr->status, sizeof lr->status, r, 4);
        lr->points = sqlite3_column_int64(r, 5);
        copy_col(lr->message, sizeof lr->message, r, 6);
    }
    if (rc != SQLITE_DONE)
        goto db_fail;
    done(b);
    done(d);
    done(r);
    done(q);
    if (exec1(sp, ST_COMMIT, "status", err, errlen) != 0) {
        tx_rollback(sp);
        spool_stats_free(st);
        return -1;
    }
    return 0;
db_fail:
    db_err(sp, err, errlen, "status");
fail:
    done(b);
    done(d);
    done(r);
    done(q);
    tx_rollback(sp);
    spool_stats_free(st);
    return -1;
}

int64_t spool_pending_points(spool *sp, char *err, size_t errlen)
{
    if (bad_handle(sp, err, errlen))
        return -1;
    sqlite3_stmt *s = stmt(sp, ST_PENDING, err, errlen);
    if (!s)
        return -1;
    int64_t n = -1;
    if (sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    else
        db_err(sp, err, errlen, "pending");
    done(s);
    return n;
}

/* One write statement with two int64 parameters in its own transaction (durable or
 * bookkeeping); returns the number of rows changed or -1. */
static int64_t write_count(spool *sp, enum st_id id, int64_t a, int64_t b, int nparams,
                           bool durable, const char *what, char *err, size_t errlen)
{
    if (bad_handle(sp, err, errlen))
        return -1;
    sqlite3_stmt *s = stmt(sp, id, err, errlen);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, a);
    if (nparams > 1)
        sqlite3_bind_int64(s, 2, b);
    int64_t n = 0;
    if (step_alone(sp, s, durable, false, what, &n, err, errlen) != 0)
        return -1;
    return n;
}

int64_t spool_prune(spool *sp, int64_t cutoff_ns, char *err, size_t errlen)
{
    return write_count(sp, ST_PRUNE, cutoff_ns, 0, 1, false, "prune", err, errlen);
}

int64_t spool_requeue(spool *sp, int64_t from_ns, int64_t to_ns, char *err, size_t errlen)
{
    return write_count(sp, ST_REQUEUE, from_ns, to_ns, 2, true, "requeue", err, errlen);
}

int spool_foreach(spool *sp, int64_t from_ns, int64_t to_ns, spool_visit_fn fn, void *ctx,
                  char *err, size_t errlen)
{
    return spool_foreach_ex(sp, from_ns, to_ns, fn, ctx, NULL, err, errlen);
}

/* After a visit: move the damaged batches it skipped aside (those no other process holds
 * a claim on), best effort (a read-only file keeps them where they are). */
static void quarantine_skipped(spool *sp, const int64_t *ids, const char (*why)[160], size_t n)
{
    sqlite3_stmt *st = stmt(sp, ST_STATE_OF, NULL, 0);
    for (size_t i = 0; st && i < n; i++) {
        char e[SPOOL_ERR_MAX];
        if (tx_begin(sp, "quarantine", e, sizeof e) != 0)
            return;
        sqlite3_bind_int64(st, 1, ids[i]);
        int rc = sqlite3_step(st);
        bool claimed = rc == SQLITE_ROW && sqlite3_column_text(st, 0) &&
                       strcmp((const char *)sqlite3_column_text(st, 0), "claimed") == 0;
        done(st);
        if (rc != SQLITE_ROW || claimed || move_aside(sp, ids[i], why[i], e, sizeof e) != 0 ||
            tx_commit(sp, "quarantine", e, sizeof e) != 0) {
            tx_rollback(sp);
            continue;
        }
        sp->quarantined++;
    }
}

int spool_foreach_ex(spool *sp, int64_t from_ns, int64_t to_ns, spool_visit_fn fn, void *ctx,
                     int64_t *skipped, char *err, size_t errlen)
{
    if (skipped)
        *skipped = 0;
    if (bad_handle(sp, err, errlen))
        return -1;
    if (!fn || sp->in_foreach) {
        errf_set(err, errlen, "spool %s: foreach: %s", sp->path,
                 fn ? "already visiting (no nested foreach on one handle)" : "no callback");
        return -1;
    }
    sqlite3_stmt *s = stmt(sp, ST_FOREACH, err, errlen);
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, from_ns);
    sqlite3_bind_int64(s, 2, to_ns);
    sp->in_foreach = true;
    int rc, ret = 0;
    enum { SKIP_MAX = 64 };   /* moved aside after the visit; more are skipped all the same */
    int64_t skip_ids[SKIP_MAX];
    char skip_why[SKIP_MAX][160];
    size_t nskip = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(s, 0), bytes = sqlite3_column_int64(s, 1);
        const char *body = sqlite3_column_blob(s, 3);
        int n = sqlite3_column_bytes(s, 3);
        size_t len = n > 0 ? (size_t)n : 0;
        int enc = sqlite3_column_int(s, 2);
        if (enc == ENC_GZIP || enc == ENC_LZ4) {
            /* the lines, into a buffer kept for the next batch */
            char why[160];
            if (bytes < 0 || (uint64_t)bytes > BODY_MAX) {
                errf_set(why, sizeof why, "stored length %lld is wrong", (long long)bytes);
                goto damaged;
            }
            size_t want = (size_t)bytes;
            if (want + 1 > sp->lcap) {
                char *nb = realloc(sp->lbuf, want + 1);
                if (!nb) {
                    errf_set(err, errlen, "spool %s: foreach: out of memory", sp->path);
                    ret = -1;
                    break;
                }
                sp->lbuf = nb;
                sp->lcap = want + 1;
            }
            int ir = unpack_body(enc, body, len, sp->lbuf, want, why, sizeof why);
            if (ir == -2)
                goto damaged;
            if (ir != 0) {
                errf_set(err, errlen, "spool %s: batch %lld: %s", sp->path, (long long)id, why);
                ret = -1;
                break;
            }
            sp->lbuf[want] = '\0';
            body = sp->lbuf;
            len = want;
            goto visit;
        damaged:
            /* a body that can not be read back: skipped (and moved aside after the visit),
             * so that one damaged batch does not stop the others */
            if (skipped)
                (*skipped)++;
            if (nskip < SKIP_MAX) {
                skip_ids[nskip] = id;
                errf_set(skip_why[nskip], sizeof skip_why[nskip], "%s", why);
                nskip++;
            }
            continue;
        }
    visit:
        if (fn(ctx, body ? body : "", len) != 0) {
            ret = -1;
            break;
        }
    }
    if (ret == 0 && rc != SQLITE_DONE) {
        db_err(sp, err, errlen, "foreach");
        ret = -1;
    }
    done(s);
    sp->in_foreach = false;
    quarantine_skipped(sp, skip_ids, (const char (*)[160])skip_why, nskip);
    return ret;
}
