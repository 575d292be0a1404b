/* sink: points -> spool (sqlite) -> InfluxDB (see sink.h). */
#include "sink.h"
#include "sink_tool.h"
#include "influx.h"
#include "spool.h"
#include "../runtime/errf.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/cfg.h"
#include "../runtime/tparse.h"
#include "../runtime/exitcode.h"
#include "../runtime/clock.h"

#define SINK_BATCH_DEFAULT 20000   /* docs/PERFORMANCE.md: the choice, measured */
#define SINK_BATCH_LINES_MAX 1000000
#define SINK_BATCH_BYTES ((size_t)8 << 20)   /* a batch is committed once it holds this much */
#define SINK_BUF_MAX ((size_t)64 << 20)      /* hard cap on the batch buffer */
#define SINK_LEASE_MIN_S 60
#define SINK_LEASE_MAX_S 7200
#define SINK_MAX_PASSES 4                    /* partial-write passes before splitting */
#define SINK_SPLIT_DEPTH_MAX 40              /* halvings followed at once (2^40 lines) */
#define SINK_RETAIN_DEFAULT (INT64_C(7) * 24 * 3600 * TPARSE_NS_PER_S)

struct sink {
    char job[64];
    bool dry_run, no_send, early_send;
    size_t batch_lines;
    spool *sp;
    int64_t run_id;
    influx_cfg icfg;
    int configured;
    http_client *hc;
    influx *iw;
    buf batch;              /* the current batch, '\n'-terminated ns lines */
    size_t nlines;
    int64_t min_ns, max_ns;
    buf line;               /* dry-run: one encoded line */
    lp_keycache *kc;        /* the last series key (lp.h); NULL: none kept */
    int64_t start_ns, start_mono, align_ns, retain_ns;
    int busy_ms;            /* CRONFLUX_BUSY_TIMEOUT; 0: the spool's default (30 s) */
    int lease_s;            /* how long a claim holds a batch */
    struct bg_sender *bg;   /* sending while the job still adds (see below), or NULL */
    bool bg_off;            /* the run is finishing: no background sender from now on */
    bool pruned;            /* spool_prune ran (once a run: what it deletes is days old) */
    atomic_bool *halt;      /* set by whichever flush of a multi-connection flush fails first:
                             * the others take no new batch (NULL: a flush on its own) */
    atomic_bool *lane_accepted; /* a background lane's: set at each batch InfluxDB accepts */
    char status[24];        /* the job's own status for a run that exits 0, or "" */
    sink_stats st;
};

/* Another flush of the same multi-connection flush failed: take no new batch. */
static bool halted(const sink *s)
{
    return s->halt && atomic_load(s->halt);
}

static void halt_set(sink *s)
{
    if (s->halt)
        atomic_store(s->halt, true);
}

/* How the bodies sp commits are stored: as they will be sent, gzip at CRONFLUX_GZIP's
 * level when gzip goes on the wire (or no InfluxDB is configured: the spool is the store),
 * an LZ4 block when the lines go plain (cheaper to pack and unpack), lines when off. */
static void store_form(const sink *s, spool *sp)
{
    spool_set_gzip(sp, s->icfg.gzip);
    spool_set_lz4(sp, s->configured && !s->icfg.gzip_wire);
}

static void bg_start(sink *s, uint64_t commits);
static void bg_accepted(sink *s);
static void bg_notify(sink *s);
static int bg_finish(sink *s, char *err, size_t errlen);

static int env_duration(const char *name, int64_t *out, int allow_zero, char *err, size_t errlen)
{
    const char *v = cfg_env(name);
    if (!v)
        return 0;
    if (allow_zero && strcmp(v, "0") == 0) {
        *out = 0;
        return 0;
    }
    char why[256];
    if (tparse_duration(v, out, why, sizeof why) != 0) {
        errf_set(err, errlen, "%s: %s", name, why);
        return -1;
    }
    return 0;
}

static int env_batch(size_t *out, char *err, size_t errlen)
{
    const char *v = cfg_env("CRONFLUX_BATCH");
    if (!v)
        return 0;
    char *end = NULL;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || *end || x < 1 || x > SINK_BATCH_LINES_MAX) {
        errf_set(err, errlen, "CRONFLUX_BATCH: \"%s\" is not a line count from 1 to %d", v,
                 SINK_BATCH_LINES_MAX);
        return -1;
    }
    *out = (size_t)x;
    return 0;
}

/* A claim must outlast the slowest send of a batch, retries included, twice over (a batch
 * is claimed while the one before it is on the wire, and a partial write is resent), so
 * that no other process takes it over while this one still works on it. */
static int lease_seconds(const influx_cfg *c)
{
    long timeout_s = c->timeout_ms > 0 ? c->timeout_ms / 1000 : 30;
    long one = (long)(c->max_retries + 1) * (timeout_s + 30) + (long)c->max_retries * c->max_wait_s;
    long l = 2 * one + 60;
    if (l < SINK_LEASE_MIN_S)
        l = SINK_LEASE_MIN_S;
    if (l > SINK_LEASE_MAX_S)
        l = SINK_LEASE_MAX_S;
    return (int)l;
}

static void sink_free(sink *s)
{
    if (!s)
        return;
    char ignored[SINK_ERR_MAX];
    (void)bg_finish(s, ignored, sizeof ignored);
    influx_free(s->iw);
    http_free(s->hc);
    spool_close(s->sp);
    influx_cfg_wipe(&s->icfg);
    buf_free(&s->batch);
    buf_free(&s->line);
    lp_keycache_free(s->kc);
    free(s);
}

sink *sink_open(const sink_opts *o, int *exit_code, char *err, size_t errlen)
{
    int dummy;
    if (!exit_code)
        exit_code = &dummy;
    *exit_code = 0;
    if (!o || !o->job || !*o->job || strlen(o->job) >= sizeof(((sink *)0)->job)) {
        errf_set(err, errlen, "sink: a job name (1 to 63 bytes) is needed");
        *exit_code = EX_SOFTWARE;
        return NULL;
    }
    sink *s = calloc(1, sizeof *s);
    if (!s) {
        errf_set(err, errlen, "out of memory");
        *exit_code = EX_OSERR;
        return NULL;
    }
    memcpy(s->job, o->job, strlen(o->job) + 1);
    s->dry_run = o->dry_run;
    s->no_send = o->no_send;
    s->early_send = o->early_send;
    s->kc = lp_keycache_new();   /* NULL (out of memory): every key is encoded afresh */
    s->start_ns = clock_real_ns();
    s->start_mono = clock_mono_ns();
    s->retain_ns = SINK_RETAIN_DEFAULT;
    buf_init(&s->batch, SINK_BUF_MAX);
    buf_init(&s->line, SINK_BUF_MAX);

    s->batch_lines = SINK_BATCH_DEFAULT;
    if (o->batch_lines > 0)
        s->batch_lines = o->batch_lines > SINK_BATCH_LINES_MAX ? SINK_BATCH_LINES_MAX
                                                                : o->batch_lines;
    else if (env_batch(&s->batch_lines, err, errlen) != 0)
        goto config;
    int64_t busy_ns = 0;
    if (env_duration("CRONFLUX_ALIGN", &s->align_ns, 0, err, errlen) != 0 ||
        env_duration("CRONFLUX_RETAIN", &s->retain_ns, 1, err, errlen) != 0 ||
        env_duration("CRONFLUX_BUSY_TIMEOUT", &busy_ns, 0, err, errlen) != 0)
        goto config;
    if (busy_ns > 0) {
        int64_t ms = busy_ns / 1000000;
        s->busy_ms = ms < 1 ? 1 : ms > 3600000 ? 3600000 : (int)ms;
    }

    char ierr[INFLUX_ERR_MAX];
    int ic = influx_cfg_from_env(&s->icfg, ierr, sizeof ierr);
    if (ic < 0 && !s->dry_run && !s->no_send) {
        errf_set(err, errlen, "%s", ierr);
        goto config;
    }
    s->configured = ic == 1;
    s->lease_s = lease_seconds(&s->icfg);
    if (s->dry_run)
        return s;

    const char *path = o->state_path && *o->state_path ? o->state_path : cfg_env("CRONFLUX_STATE");
    if (!path)
        path = "./cronflux.db";
    /* A file-size limit (ulimit -f) makes a write fail with EFBIG instead of killing the
     * process: the failure is then reported like any other write error. */
    (void)signal(SIGXFSZ, SIG_IGN);
    int why = SPOOL_OPEN_OK;
    char e[SINK_ERR_MAX];
    s->sp = spool_open_ex(path, s->busy_ms, &why, e, sizeof e);
    if (!s->sp) {
        /* nothing was stored: not 75 (75 says the points are safe in the spool) */
        bool io = why == SPOOL_OPEN_BUSY || why == SPOOL_OPEN_IOERR;
        *exit_code = io ? SINK_EX_IOERR : why == SPOOL_OPEN_BADFILE ? 78 : 73;
        errf_set(err, errlen, "%s%s", io ? "no point stored: " : "", e);
        sink_free(s);
        return NULL;
    }
    store_form(s, s->sp);
    s->run_id = spool_run_begin(s->sp, s->job, s->start_ns, e, sizeof e);
    if (s->run_id < 0) {
        /* e.g. a full disk or a lock held past the busy timeout: nothing can be stored */
        *exit_code = SINK_EX_IOERR;
        errf_set(err, errlen, "no point stored: %s", e);
        sink_free(s);
        return NULL;
    }
    if (s->early_send && s->configured && !s->no_send && !s->dry_run)
        bg_start(s, 0);   /* the lanes get ready while the job reads its first chunk */
    return s;

config:
    *exit_code = EX_CONFIG;
    sink_free(s);
    return NULL;
}

int64_t sink_run_time_ns(const sink *s)
{
    if (!s)
        return clock_real_ns();
    return tparse_align(s->start_ns, s->align_ns);
}

void sink_set_align(sink *s, int64_t align_ns)
{
    if (s)
        s->align_ns = align_ns > 0 ? align_ns : 0;
}

spool *sink_spool(sink *s) { return s ? s->sp : NULL; }
const char *sink_job(const sink *s) { return s ? s->job : ""; }
bool sink_dry_run(const sink *s) { return s && s->dry_run; }
bool sink_influx_configured(const sink *s) { return s && s->configured; }
const sink_stats *sink_get_stats(const sink *s) { return s ? &s->st : NULL; }

int sink_add(sink *s, const lp_point *p, char *err, size_t errlen)
{
    if (!s || !p) {
        errf_set(err, errlen, "sink_add: no sink or point");
        return -1;
    }
    lp_point q = *p;
    if (!q.has_time) {
        q.time_ns = sink_run_time_ns(s);
        q.has_time = true;
    }
    size_t replaced = 0;
    if (s->dry_run) {
        buf_reset(&s->line);
        if (lp_encode_kc(s->kc, &q, LP_NS, &s->line, &replaced, err, errlen) != 0) {
            s->st.rejected++;
            return 1;
        }
        if (fwrite(s->line.p, 1, s->line.len, stdout) != s->line.len) {
            errf_set(err, errlen, "dry run: writing to stdout: %s", strerror(errno));
            return -1;
        }
        s->st.replaced += (int64_t)replaced;
        s->st.points++;
        return 0;
    }
    if (lp_encode_kc(s->kc, &q, LP_NS, &s->batch, &replaced, err, errlen) != 0) {
        if (s->batch.failed) {
            /* out of memory: the batch being built is gone (buf.h), not a refused point */
            errf_set(err, errlen, "out of memory: %zu points read were not stored", s->nlines);
            return -1;
        }
        s->st.rejected++;
        return 1;
    }
    s->st.replaced += (int64_t)replaced;
    s->st.points++;
    if (s->nlines == 0 || q.time_ns < s->min_ns)
        s->min_ns = q.time_ns;
    if (s->nlines == 0 || q.time_ns > s->max_ns)
        s->max_ns = q.time_ns;
    s->nlines++;
    if (s->nlines >= s->batch_lines || s->batch.len >= SINK_BATCH_BYTES)
        return sink_commit(s, err, errlen) == 0 ? 0 : -1;
    return 0;
}

/* Commit the current batch, and the checkpoint key -> value with it when key is set. */
static int commit_batch(sink *s, const char *key, const char *value, char *err, size_t errlen)
{
    if (s->dry_run || (s->nlines == 0 && !key))
        return 0;
    if (s->nlines == 0)
        return spool_add_cp(s->sp, s->job, NULL, 0, 0, 0, 0, key, value, err, errlen) < 0 ? -1
                                                                                           : 0;
    if (s->batch.failed) {   /* out of memory while encoding: the batch's lines are gone */
        errf_set(err, errlen, "out of memory: %zu points read were not stored", s->nlines);
        return -1;
    }
    if (spool_add_cp(s->sp, s->job, s->batch.p, s->batch.len, s->nlines, s->min_ns, s->max_ns,
                     key, value, err, errlen) < 0)
        return -1;
    s->st.spooled += (int64_t)s->nlines;
    s->nlines = 0;
    buf_reset(&s->batch);
    if (s->bg)
        bg_notify(s);
    else if (s->configured && !s->no_send && !s->bg_off &&
             (s->early_send || s->st.spooled >= (int64_t)s->batch_lines))
        bg_start(s, 1);
    return 0;
}

int sink_commit(sink *s, char *err, size_t errlen)
{
    if (!s) {
        errf_set(err, errlen, "sink_commit: no sink");
        return -1;
    }
    return commit_batch(s, NULL, NULL, err, errlen);
}

int sink_checkpoint_set(sink *s, const char *key, const char *value, char *err, size_t errlen)
{
    if (!s || !key || !*key || !value) {
        errf_set(err, errlen, "sink: checkpoint: no sink, key or value");
        return -1;
    }
    if (commit_batch(s, key, value, err, errlen) != 0) {
        char e[SINK_ERR_MAX];
        errf_set(e, sizeof e, "checkpoint %s: %s", key, err ? err : "");
        errf_set(err, errlen, "%s", e);
        return -1;
    }
    return 0;
}

int sink_checkpoint_get(sink *s, const char *key, char *out, size_t cap, char *err,
                        size_t errlen)
{
    if (out && cap)
        out[0] = '\0';
    if (!s || !key || !out || cap == 0) {
        errf_set(err, errlen, "sink: checkpoint: no sink, key or room for the value");
        return -1;
    }
    if (s->dry_run)
        return 0;
    return spool_checkpoint_get(s->sp, s->job, key, out, cap, err, errlen);
}

/* ---------------------------------------------------------------- flushing */

static int ensure_writer(sink *s, char *err, size_t errlen)
{
    if (s->iw)
        return 0;
    http_opts ho = { 0 };
    ho.timeout_ms = s->icfg.timeout_ms;
    ho.ca_file = s->icfg.ca_file[0] ? s->icfg.ca_file : NULL;
    char e[HTTP_ERR_MAX];
    s->hc = http_new(&ho, e, sizeof e);
    if (!s->hc) {
        errf_set(err, errlen, "InfluxDB client: %s", e);
        return -1;
    }
    s->iw = influx_new(&s->icfg, s->hc, e, sizeof e);
    if (!s->iw) {
        errf_set(err, errlen, "InfluxDB writer: %s", e);
        http_free(s->hc);
        s->hc = NULL;
        return -1;
    }
    return 0;
}

/* Give the batch back and say why (the state error, if any, wins). */
static void give_back(sink *s, int64_t id, const char *why, char *err, size_t errlen)
{
    char e[SPOOL_ERR_MAX];
    if (spool_release(s->sp, id, why, e, sizeof e) != 0)
        errf_set(err, errlen, "%s", e);
}

/* A batch whose every line was dead-lettered: empty it and mark it done. */
static int finish_empty(sink *s, int64_t id, char *err, size_t errlen)
{
    if (spool_rewrite(s->sp, id, "", 0, 0, err, errlen) != 0 ||
        spool_mark_sent(s->sp, id, err, errlen) != 0)
        return -1;
    return 0;
}

/* Dead-letter the lines res->bad names (ascending indexes) and write the others to out. */
static int drop_bad_lines(sink *s, const spool_batch *b, const char *body, size_t len,
                          const influx_result *res, buf *out, size_t *out_lines, char *err,
                          size_t errlen)
{
    buf_reset(out);
    *out_lines = 0;
    size_t pos = 0, idx = 0, k = 0;
    while (pos < len) {
        size_t l = lp_line_len(body + pos, len - pos);
        while (k < res->nbad && res->bad[k].index < idx)
            k++;
        if (k < res->nbad && res->bad[k].index == idx) {
            if (spool_dead_letter(s->sp, b->id, b->job[0] ? b->job : s->job, body + pos, l,
                                  res->bad[k].reason, err, errlen) != 0)
                return -1;
            s->st.dead_letters++;
        } else {
            if (buf_add(out, body + pos, l) != 0 || buf_addc(out, '\n') != 0) {
                errf_set(err, errlen, "out of memory rewriting batch %lld", (long long)b->id);
                return -1;
            }
            (*out_lines)++;
        }
        pos += l + 1;
        idx++;
    }
    return 0;
}

static int refuse_message(sink *s, const influx_result *res, int code, char *err, size_t errlen)
{
    char where[700];
    influx_cfg_describe(&s->icfg, where, sizeof where);
    if (code == EX_NOPERM)
        errf_set(err, errlen, "InfluxDB %s refused the credentials (%s); check %s", where,
                 res->message, influx_check_hint(s->iw, code));
    else if (code == EX_CONFIG)
        errf_set(err, errlen, "InfluxDB %s: %s; check %s", where, res->message,
                 influx_check_hint(s->iw, code));
    else
        errf_set(err, errlen, "InfluxDB %s did not take the points (%s); they stay in the spool "
                            "%s for the next run", where, res->message, spool_path(s->sp));
    return code;
}

/* A refusal that names no point: the server's words, and that the points stay. */
static void refused_message(sink *s, const influx_result *res, char *err, size_t errlen)
{
    char where[700];
    influx_cfg_describe(&s->icfg, where, sizeof where);
    errf_set(err, errlen, "InfluxDB %s refused even a single line without naming it as bad "
                          "(%s%s); the points stay pending in the spool %s (a proxy's or the "
                          "server's request limit?)",
             where, res->message[0] ? "" : "no reason given, HTTP ",
             res->message[0] ? res->message : res->status == 413 ? "413" : "400",
             spool_path(s->sp));
}

/* The sender: one thread that runs influx_write, so the spool's work on the next batch
 * (claim, mark sent) overlaps the network round trip of this one. It is started only when
 * a flush has a second batch; without a thread (one batch, or it could not be started)
 * the write runs inline. Only the sender touches s->iw while a
 * write is under way. */
typedef struct sender {
    influx *iw;
    bool threaded, busy, done, quit;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    const char *body;
    size_t len, nlines;
    int packed;             /* body[len] holds lines_len bytes of lines packed (SPOOL_PACK_*) */
    size_t lines_len;
    int rc;
    influx_result res;
    char err[INFLUX_ERR_MAX];
} sender;

static void sender_run(sender *sd)
{
    if (sd->packed == SPOOL_PACK_GZIP)
        sd->rc = influx_write_gz(sd->iw, sd->body, sd->len, sd->lines_len, sd->nlines, &sd->res,
                                 sd->err, sizeof sd->err);
    else if (sd->packed == SPOOL_PACK_LZ4)
        sd->rc = influx_write_lz4(sd->iw, sd->body, sd->len, sd->lines_len, sd->nlines,
                                  &sd->res, sd->err, sizeof sd->err);
    else
        sd->rc = influx_write(sd->iw, sd->body, sd->len, sd->nlines, &sd->res, sd->err,
                              sizeof sd->err);
}

static void *sender_main(void *arg)
{
    sender *sd = arg;
    pthread_mutex_lock(&sd->mu);
    for (;;) {
        while (!sd->busy && !sd->quit)
            pthread_cond_wait(&sd->cv, &sd->mu);
        if (sd->quit)
            break;
        pthread_mutex_unlock(&sd->mu);
        sender_run(sd);
        pthread_mutex_lock(&sd->mu);
        sd->busy = false;
        sd->done = true;
        pthread_cond_broadcast(&sd->cv);
    }
    pthread_mutex_unlock(&sd->mu);
    return NULL;
}

static void sender_init(sender *sd, influx *iw)
{
    memset(sd, 0, sizeof *sd);
    sd->iw = iw;
}

/* Start the thread (once a flush has a second batch to put behind the first: a run that
 * sends one batch starts none); when it can not be started, writes stay inline. Only
 * between writes. */
static void sender_thread(sender *sd)
{
    if (sd->threaded)
        return;
    if (pthread_mutex_init(&sd->mu, NULL) != 0)
        return;
    if (pthread_cond_init(&sd->cv, NULL) != 0) {
        pthread_mutex_destroy(&sd->mu);
        return;
    }
    if (pthread_create(&sd->th, NULL, sender_main, sd) != 0) {
        pthread_cond_destroy(&sd->cv);
        pthread_mutex_destroy(&sd->mu);
        return;
    }
    sd->threaded = true;
}

static void sender_stop(sender *sd)
{
    if (!sd->threaded)
        return;
    pthread_mutex_lock(&sd->mu);
    sd->quit = true;
    pthread_cond_broadcast(&sd->cv);
    pthread_mutex_unlock(&sd->mu);
    pthread_join(sd->th, NULL);
    pthread_cond_destroy(&sd->cv);
    pthread_mutex_destroy(&sd->mu);
    sd->threaded = false;
}

/* Start writing body[len] (kept alive by the caller until sender_wait); packed: it holds
 * lines_len bytes of lines packed (SPOOL_PACK_*; 0: it is the lines). */
static void sender_start(sender *sd, const char *body, size_t len, size_t nlines, int packed,
                         size_t lines_len)
{
    sd->body = body;
    sd->len = len;
    sd->nlines = nlines;
    sd->packed = packed;
    sd->lines_len = lines_len;
    sd->done = false;
    if (!sd->threaded) {
        sender_run(sd);
        sd->done = true;
        return;
    }
    pthread_mutex_lock(&sd->mu);
    sd->busy = true;
    pthread_cond_broadcast(&sd->cv);
    pthread_mutex_unlock(&sd->mu);
}

/* Wait for the write started last: influx_write's return, its result moved to *res. */
static int sender_wait(sender *sd, influx_result *res, char *err, size_t errlen)
{
    if (sd->threaded) {
        pthread_mutex_lock(&sd->mu);
        while (!sd->done)
            pthread_cond_wait(&sd->cv, &sd->mu);
        pthread_mutex_unlock(&sd->mu);
    }
    *res = sd->res;
    memset(&sd->res, 0, sizeof sd->res);
    if (sd->rc != 0)
        errf_set(err, errlen, "%s", sd->err);
    return sd->rc;
}

/* The batch that follows the one being finished, already claimed: it is put on the wire
 * as soon as InfluxDB accepted the one before, before that one is marked sent, so the
 * spool's bookkeeping does not stand between two requests. */
typedef struct early {
    spool_batch *next;      /* NULL: none claimed */
    int64_t claimed;        /* when it was claimed (monotonic ns) */
    size_t nlines;          /* set when started */
    bool started;
} early;

/* The line count a claimed batch goes out with: the spool's, stored with the batch (every
 * writer of a batch counts its lines); counted only when the spool has none for a plain
 * body (a scan of every byte: 15% of a plain flush's CPU); 0: empty. */
static size_t batch_nlines(const spool_batch *b)
{
    if (b->lines_len == 0)
        return 0;
    if (b->packed || b->nlines > 0)
        return b->nlines;
    return lp_count_lines(b->body ? b->body : "", b->len);
}

static void batch_start(sender *sd, const spool_batch *b, size_t nlines)
{
    sender_start(sd, b->body ? b->body : "", b->len, nlines, b->packed, b->lines_len);
}

/* A prefetched claim that waited long is given back and claimed afresh, so it is never
 * sent near the end of its lease. */
static bool claim_stale(const sink *s, int64_t claimed)
{
    return clock_mono_ns() - claimed > (int64_t)s->lease_s * TPARSE_NS_PER_S / 2;
}

static void early_start(sink *s, sender *sd, early *ea)
{
    if (!ea || !ea->next || ea->started || claim_stale(s, ea->claimed) || halted(s))
        return;
    size_t nl = batch_nlines(ea->next);
    if (nl == 0)
        return;   /* nothing to send: the loop marks it done */
    batch_start(sd, ea->next, nl);
    ea->nlines = nl;
    ea->started = true;
}

/* The flush stops while the next batch is on the wire: wait for InfluxDB's answer and
 * mark it sent, or give it back for the next run. */
static void early_finish(sink *s, sender *sd, early *ea)
{
    influx_result res;
    memset(&res, 0, sizeof res);
    char e[INFLUX_ERR_MAX];
    int wr = sender_wait(sd, &res, e, sizeof e);
    if (wr == 0 && res.outcome == INFLUX_OK) {
        if (spool_mark_sent(s->sp, ea->next->id, e, sizeof e) == 0) {
            s->st.sent += (int64_t)ea->nlines;
            s->st.batches_sent++;
            bg_accepted(s);
        }
    } else {
        (void)spool_release(s->sp, ea->next->id, "not sent: the flush stopped before it", e,
                            sizeof e);
    }
    influx_result_free(&res);
    ea->started = false;
}

/* Finish one claimed batch whose first write was started on sd: resend after partial
 * writes, split, dead-letter or give it back. When InfluxDB accepts it, ea's batch (if
 * any) is started before this one is marked sent (ea->started says so). A packed body
 * (b->packed) went to the writer as it is stored (a gzip member sent as it is, or unpacked
 * into the writer's own buffer); the batch is turned into its lines only when InfluxDB's
 * answer needs them (partial write, unparsable batch, 413). Returns 0 to go on with the next batch, else
 * the exit code (75/77/78). */
static int flush_batch(sink *s, sender *sd, spool_batch *b, size_t first_nlines, int depth,
                       early *ea, char *err, size_t errlen);

/* A claimed batch sent as stored (packed) that InfluxDB could not take or the writer could
 * not send: if its body does not read back (damaged on disk), it is moved aside with the
 * reason and the flush goes on with the next batch (*rc 0, or 75 if the move failed).
 * true when so; false (b unchanged, or turned into its lines) when the body is sound. */
static bool damaged(sink *s, spool_batch *b, const char *answer, int *rc, char *err,
                    size_t errlen)
{
    if (!b->packed)
        return false;
    char le[SPOOL_ERR_MAX];
    if (spool_batch_lines(b, le, sizeof le) != -2)
        return false;
    char why[SPOOL_ERR_MAX + 200];
    errf_set(why, sizeof why, "%s; not sent (%s)", le, answer && *answer ? answer : "refused");
    if (spool_quarantine(s->sp, b->id, why, err, errlen) != 0) {
        *rc = EX_TEMPFAIL;
        return true;
    }
    s->st.quarantined++;
    *rc = 0;
    return true;
}

/* Split the claimed batch b (body[len], its lines) in two pending halves, then claim the
 * first half and send it at once (flush_batch, one level deeper); the second half waits
 * its turn in the queue. 0 or an exit code, as flush_batch. */
static int split_and_go_on(sink *s, sender *sd, spool_batch *b, const char *body, size_t len,
                           int depth, early *ea, char *err, size_t errlen)
{
    int64_t halves[2] = { 0, 0 };
    if (spool_split_ex(s->sp, b->id, body, len, halves, err, errlen) != 0)
        return EX_TEMPFAIL;
    if (depth >= SINK_SPLIT_DEPTH_MAX)
        return 0;   /* the halves wait for the loop (never reached: 2^40 lines) */
    spool_batch half;
    int c = spool_claim_id(s->sp, halves[0], s->lease_s, SPOOL_CLAIM_STORED, &half, err, errlen);
    if (c < 0)
        return EX_TEMPFAIL;
    if (c == 0)
        return 0;   /* taken by another process meanwhile: it sends it */
    int rc = 0;
    size_t nl = batch_nlines(&half);
    if (nl == 0) {
        rc = finish_empty(s, half.id, err, errlen) == 0 ? 0 : 75;
    } else {
        batch_start(sd, &half, nl);
        rc = flush_batch(s, sd, &half, nl, depth + 1, ea, err, errlen);
    }
    spool_batch_free(&half);
    return rc;
}

static int flush_batch(sink *s, sender *sd, spool_batch *b, size_t first_nlines, int depth,
                       early *ea, char *err, size_t errlen)
{
    const char *body = b->body ? b->body : "";
    size_t len = b->len, nlines = first_nlines;
    buf alt[2];
    buf_init(&alt[0], SINK_BUF_MAX);
    buf_init(&alt[1], SINK_BUF_MAX);
    int which = 0, rc = 0;
    char e[INFLUX_ERR_MAX];

    for (int pass = 0;; pass++) {
        influx_result res;
        memset(&res, 0, sizeof res);
        if (pass > 0 && (nlines == 0 || len == 0)) {
            rc = finish_empty(s, b->id, err, errlen) == 0 ? 0 : 75;
            break;
        }
        if (pass > 0)
            sender_start(sd, body, len, nlines, 0, len);
        if (sender_wait(sd, &res, e, sizeof e) != 0) {
            if (pass == 0 && b->packed && damaged(s, b, e, &rc, err, errlen))
                break;   /* moved aside */
            halt_set(s);   /* before the spool's bookkeeping: the others stop sooner */
            errf_set(err, errlen, "sending batch %lld: %s", (long long)b->id, e);
            give_back(s, b->id, e, err, errlen);
            rc = EX_TEMPFAIL;
            break;
        }
        influx_outcome oc = res.outcome;
        if (oc == INFLUX_PARTIAL && pass >= SINK_MAX_PASSES)
            oc = INFLUX_BAD_BATCH;
        if (b->packed &&
            (oc == INFLUX_PARTIAL || oc == INFLUX_BAD_BATCH || oc == INFLUX_TOO_LARGE)) {
            /* the answer names lines (res.bad indexes them) or the batch must be split */
            char le[SPOOL_ERR_MAX];
            if (damaged(s, b, res.message, &rc, err, errlen)) {
                influx_result_free(&res);
                break;   /* moved aside */
            }
            if (spool_batch_lines(b, le, sizeof le) != 0) {
                errf_set(err, errlen, "%s", le);
                give_back(s, b->id, le, err, errlen);
                influx_result_free(&res);
                rc = EX_TEMPFAIL;
                break;
            }
            body = b->body;
            len = b->len;
            nlines = lp_count_lines(body, len);
        }

        if (oc == INFLUX_OK) {
            early_start(s, sd, ea);
            if (spool_mark_sent(s->sp, b->id, err, errlen) != 0) {
                rc = EX_TEMPFAIL;
            } else {
                s->st.sent += (int64_t)nlines;
                s->st.batches_sent++;
                bg_accepted(s);
            }
        } else if (oc == INFLUX_PARTIAL) {
            buf *out = &alt[which];
            size_t left = 0;
            if (drop_bad_lines(s, b, body, len, &res, out, &left, err, errlen) != 0 ||
                spool_rewrite(s->sp, b->id, out->p ? out->p : "", out->len, left, err,
                              errlen) != 0) {
                influx_result_free(&res);
                rc = EX_TEMPFAIL;
                break;
            }
            body = out->p ? out->p : "";
            len = out->len;
            nlines = left;
            which ^= 1;
            influx_result_free(&res);
            continue;   /* send what is left (InfluxDB stored it already: a resend overwrites) */
        } else if (oc == INFLUX_BAD_BATCH || oc == INFLUX_TOO_LARGE) {
            /* a refusal that names no line: split, and send the first half next, so the
             * refusal is narrowed down depth first (a few requests, whatever the spool
             * holds); a single line refused so is not a bad line InfluxDB named (dead
             * letters are only for those): it is kept and the flush stops, with the
             * server's words */
            if (nlines > 1) {
                rc = split_and_go_on(s, sd, b, body, len, depth, ea, err, errlen);
            } else {
                rc = SINK_EX_REFUSED;
                refused_message(s, &res, err, errlen);
                give_back(s, b->id, res.message, err, errlen);
            }
        } else {
            halt_set(s);
            rc = oc == INFLUX_AUTH ? 77 : oc == INFLUX_CONFIG ? 78 : 75;
            refuse_message(s, &res, rc, err, errlen);
            give_back(s, b->id, res.message, err, errlen);
        }
        influx_result_free(&res);
        break;
    }
    buf_free(&alt[0]);
    buf_free(&alt[1]);
    return rc;
}

static void update_pending(sink *s)
{
    char e[SPOOL_ERR_MAX];
    int64_t n = spool_pending_points(s->sp, e, sizeof e);
    if (n >= 0)
        s->st.pending_points = n;
}

/* CRONFLUX_CONNECTIONS = n > 1: a flush whose first batch InfluxDB accepted (or whose sink
 * had a batch accepted earlier in the run: the job's own flush after its background lanes
 * sent some), and that finds
 * another, starts n-1 helpers, each a flush of its own on its own thread (its own spool
 * handle and InfluxDB connection) that claims batches as another process would, until none
 * is left; so n writes are in flight. Each batch is marked sent only after its own 2xx,
 * whatever else is in flight. A server that refuses the first batch hears one request, as
 * with one connection; a failure later stops every flush of the set before its next batch
 * (the shared halt flag), so at most one request per connection follows it. */
typedef struct flush_helper {
    pthread_t th;
    sink *child;
    const char *path;
    int rc;
    char err[SINK_ERR_MAX];
} flush_helper;

#define SINK_HELPERS_MAX 7

static sink *child_of(const sink *s);

static void *helper_main(void *arg)
{
    flush_helper *h = arg;
    sink *c = h->child;
    int why = 0;
    char err[SINK_ERR_MAX] = "";
    c->sp = spool_open_ex(h->path, c->busy_ms, &why, err, sizeof err);
    int rc = c->sp ? 0 : why == SPOOL_OPEN_BADFILE ? 78 : 75;
    if (c->sp) {
        store_form(c, c->sp);
        rc = sink_flush(c, err, sizeof err);
    }
    h->rc = rc;
    if (rc != 0)
        errf_set(h->err, sizeof h->err, "%s", err);
    return NULL;
}

/* Start the helpers (those that can be started); returns how many. */
static int helpers_start(sink *s, flush_helper *hs)
{
    int want = s->icfg.connections - 1, n = 0;
    if (want > SINK_HELPERS_MAX)
        want = SINK_HELPERS_MAX;
    for (int i = 0; i < want; i++) {
        memset(&hs[n], 0, sizeof hs[n]);
        hs[n].child = child_of(s);
        hs[n].path = spool_path(s->sp);
        if (!hs[n].child)
            break;
        hs[n].child->icfg.connections = 1;   /* a helper starts none of its own */
        hs[n].child->pruned = true;          /* the flush that started it prunes */
        hs[n].child->halt = s->halt;
        if (pthread_create(&hs[n].th, NULL, helper_main, &hs[n]) != 0) {
            sink_free(hs[n].child);
            break;
        }
        n++;
    }
    return n;
}

/* Start the helpers unless this flush tried already (or runs one connection): *n says how
 * many run. */
static void helpers_once(sink *s, flush_helper *hs, int *n, bool *tried)
{
    if (*tried || s->icfg.connections <= 1)
        return;
    *tried = true;
    *n = helpers_start(s, hs);
}

/* Join the helpers, add what they sent; the first failure's code (rc's if rc failed). */
static int helpers_join(sink *s, flush_helper *hs, int n, int rc, char *err, size_t errlen)
{
    for (int i = 0; i < n; i++) {
        pthread_join(hs[i].th, NULL);
        sink *c = hs[i].child;
        s->st.sent += c->st.sent;
        s->st.batches_sent += c->st.batches_sent;
        s->st.dead_letters += c->st.dead_letters;
        if (rc == 0 && hs[i].rc != 0) {
            rc = hs[i].rc;
            errf_set(err, errlen, "%s", hs[i].err);
        }
        sink_free(c);
    }
    return rc;
}

int sink_flush(sink *s, char *err, size_t errlen)
{
    if (!s) {
        errf_set(err, errlen, "sink_flush: no sink");
        return EX_TEMPFAIL;
    }
    if (s->dry_run || s->no_send)
        return 0;
    if (!s->configured) {
        update_pending(s);
        return 0;
    }
    if (ensure_writer(s, err, errlen) != 0)
        return EX_CONFIG;
    atomic_bool halt_here;
    bool own_halt = !s->halt && s->icfg.connections > 1;
    if (own_halt) {
        atomic_init(&halt_here, false);
        s->halt = &halt_here;
    }
    /* While batch k is on the wire, batch k+1 is claimed (two bodies in memory at most). */
    sender sd;
    sender_init(&sd, s->iw);
    spool_batch cur, next;
    memset(&cur, 0, sizeof cur);
    memset(&next, 0, sizeof next);
    int rc = 0;
    int c = spool_claim_ex(s->sp, s->lease_s, SPOOL_CLAIM_STORED, &cur, err, errlen);
    if (c < 0)
        rc = EX_TEMPFAIL;
    bool started = false;   /* cur is on the wire already (started early) */
    flush_helper helpers[SINK_HELPERS_MAX];
    int nhelpers = 0;
    bool helpers_tried = false;
    size_t nl = 0;
    while (c == 1) {
        if (!started)
            nl = batch_nlines(&cur);
        if (!started && nl == 0) {
            if (finish_empty(s, cur.id, err, errlen) != 0)
                rc = EX_TEMPFAIL;
        } else {
            char cerr[SPOOL_ERR_MAX] = "";
            int cn = 2;   /* 2: next not looked for yet */
            if (!started && !sd.threaded) {
                /* no thread yet: look for a next batch first; only then does one pay */
                cn = spool_claim_ex(s->sp, s->lease_s, SPOOL_CLAIM_STORED, &next, cerr,
                                    sizeof cerr);
                if (cn == 1)
                    sender_thread(&sd);
            }
            if (!started)
                batch_start(&sd, &cur, nl);
            started = false;
            if (cn == 2)
                cn = halted(s) ? 0
                               : spool_claim_ex(s->sp, s->lease_s, SPOOL_CLAIM_STORED, &next,
                                                cerr, sizeof cerr);
            if (cn == 1 && s->st.batches_sent > 0)
                /* InfluxDB took a batch of this run earlier (the background lanes'): the
                 * other connections start at once */
                helpers_once(s, helpers, &nhelpers, &helpers_tried);
            early ea = { cn == 1 ? &next : NULL, clock_mono_ns(), 0, false };
            rc = flush_batch(s, &sd, &cur, nl, 0, &ea, err, errlen);
            if (cn < 0 && rc == 0) {
                errf_set(err, errlen, "%s", cerr);
                rc = EX_TEMPFAIL;
            }
            if (rc != 0)
                halt_set(s);
            bool stop = rc != 0 || halted(s);
            if (ea.started && rc != 0)
                early_finish(s, &sd, &ea);   /* its claim is settled there */
            else if (cn == 1 && !ea.started && (stop || claim_stale(s, ea.claimed))) {
                char e[SPOOL_ERR_MAX];
                (void)spool_release(s->sp, next.id,
                                    stop ? "not sent: the flush stopped before it"
                                         : "claimed too long ago; claimed again",
                                    e, sizeof e);
                if (rc == 0)
                    cn = 0;
            }
            if (cn == 1 && rc == 0) {
                /* the first 2xx: the other connections start (none if it was refused) */
                helpers_once(s, helpers, &nhelpers, &helpers_tried);
                spool_batch_free(&cur);
                cur = next;
                memset(&next, 0, sizeof next);
                started = ea.started;
                nl = ea.nlines;
                continue;
            }
            spool_batch_free(&next);
            memset(&next, 0, sizeof next);
        }
        spool_batch_free(&cur);
        memset(&cur, 0, sizeof cur);
        if (rc != 0 || halted(s))
            break;
        /* nothing was prefetched: a split may have left new pending halves */
        c = spool_claim_ex(s->sp, s->lease_s, SPOOL_CLAIM_STORED, &cur, err, errlen);
        if (c < 0)
            rc = EX_TEMPFAIL;
    }
    spool_batch_free(&cur);
    sender_stop(&sd);
    rc = helpers_join(s, helpers, nhelpers, rc, err, errlen);
    if (own_halt)
        s->halt = NULL;
    if (rc == 0 && !s->pruned) {
        /* only sent batches older than the retention window: once a run is enough (the
         * cronflux_job point's flush, and a backfill's many flushes, find none new) */
        char e[SPOOL_ERR_MAX];
        int64_t cutoff = clock_real_ns() - s->retain_ns;
        if (spool_prune(s->sp, cutoff, e, sizeof e) >= 0)   /* a failure: retried next run */
            s->pruned = true;
    }
    update_pending(s);
    return rc;
}

/* ---------------------------------------------------------- sending while adding */

/* A run that has committed batch_lines points or more (an early_send run: any), with
 * InfluxDB configured, starts a background sender: CRONFLUX_CONNECTIONS threads ("lanes")
 * that flush committed batches (any job's, oldest first, through the same claims as any
 * other flush) while the job goes on reading and adding, so a long run takes about the
 * longer of reading and sending instead of their sum. A scheduled run of a few points
 * never starts it.
 *
 * Every lane waits for the job's next commit and then flushes until nothing is pending,
 * on one connection of its own; when the job has added its last point, every lane flushes
 * once more, so the last batches go out side by side. Lane 0 sends from the first commit;
 * the others take a batch only once InfluxDB accepted one in this run, so a server that
 * refuses the first hears one request, as with one connection. Each lane waits on the
 * commits rather than on a backlog, so a second write goes out as soon as the job commits
 * a batch while the first is still on the wire (a flush's own helpers would start only
 * when that flush finds two).
 *
 * The lanes start at the first commit, or (early_send) when the sink opens, so that each
 * has its spool handle and writer ready while the job reads its first chunk. A lane owns
 * all it uses: a sink of its own (the "child": counters, InfluxDB writer, and a spool
 * handle it opens and closes itself). The lanes share
 * with the job's thread only the state under mu and the halt flag, and the children's
 * counters are read after the join.
 *
 * Nothing lost, nothing sent twice: a batch is committed (FULL) before a lane can see it,
 * and a lane claims a batch before it sends it, as another process would; each batch is
 * marked sent only after its own 2xx. The first failure halts every lane (the others take
 * no new batch); sink_finish then reports that failure instead of trying again, and what
 * is left stays pending for the next run. Memory stays bounded: the job holds one batch,
 * each lane at most two. The job is not held back when the lanes fall behind (InfluxDB
 * slower than the source, or down): the spool on disk is the buffer, as for a run that
 * does not send at all. */
typedef struct bg_lane {
    pthread_t th;
    struct bg_sender *bg;
    int idx;
    sink *child;
    int rc;                /* 0, or the exit code of the failure that stopped the lane */
    char err[SINK_ERR_MAX];
} bg_lane;

typedef struct bg_sender {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t commits;      /* batches the job committed (under mu) */
    bool stop;             /* the job added its last point (under mu) */
    atomic_bool accepted;  /* InfluxDB accepted a batch of this run: every lane may send */
    atomic_bool halt;      /* a lane failed: the others take no new batch */
    const char *path;      /* the state file (the job's spool handle outlives the lanes) */
    int nlanes;            /* lanes started */
    bg_lane lanes[SINK_HELPERS_MAX + 1];
} bg_sender;

/* The child sink of a lane: set when InfluxDB accepts one of its batches. */
static void bg_accepted(sink *s)
{
    if (s->lane_accepted)
        atomic_store(s->lane_accepted, true);
}

static void *bg_main(void *arg)
{
    bg_lane *ln = arg;
    bg_sender *bg = ln->bg;
    sink *c = ln->child;
    char err[SINK_ERR_MAX] = "";
    int rc = 0;
    uint64_t seen = 0;
    /* the spool handle and the writer first, while the job reads (nothing is sent) */
    int why = 0;
    c->sp = spool_open_ex(bg->path, c->busy_ms, &why, err, sizeof err);
    if (!c->sp) {
        rc = why == SPOOL_OPEN_BADFILE ? 78 : 75;
        atomic_store(&bg->halt, true);
    } else {
        store_form(c, c->sp);   /* a split or a rewrite stores bodies */
        if (ensure_writer(c, err, sizeof err) != 0) {
            rc = EX_CONFIG;
            atomic_store(&bg->halt, true);
        }
    }
    while (rc == 0) {
        pthread_mutex_lock(&bg->mu);
        while (!bg->stop && !atomic_load(&bg->halt) &&
               (bg->commits == seen || (ln->idx > 0 && !atomic_load(&bg->accepted))))
            pthread_cond_wait(&bg->cv, &bg->mu);
        bool stop = bg->stop;
        /* a halt, or the end before InfluxDB accepted a batch: the job's own flush decides */
        bool go = !atomic_load(&bg->halt) && (ln->idx == 0 || atomic_load(&bg->accepted));
        seen = bg->commits;
        pthread_mutex_unlock(&bg->mu);
        if (!go)
            break;
        rc = sink_flush(c, err, sizeof err);   /* until nothing is pending */
        if (rc != 0 || stop)
            break;   /* a failure (the flush set the halt flag), or the job's last commit */
    }
    /* what the lane opened, it closes */
    spool_close(c->sp);
    c->sp = NULL;
    influx_free(c->iw);
    c->iw = NULL;
    http_free(c->hc);
    c->hc = NULL;
    ln->rc = rc;
    if (rc != 0)
        errf_set(ln->err, sizeof ln->err, "%s", err);
    return NULL;
}

/* A sink for another thread: s's settings, no spool handle or writer yet (the thread
 * opens its own), no background sender of its own. NULL when out of memory. */
static sink *child_of(const sink *s)
{
    sink *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    memcpy(c->job, s->job, sizeof c->job);
    c->batch_lines = s->batch_lines;
    c->icfg = s->icfg;
    c->configured = s->configured;
    c->start_ns = s->start_ns;
    c->start_mono = s->start_mono;
    c->align_ns = s->align_ns;
    c->retain_ns = s->retain_ns;
    c->lease_s = s->lease_s;
    c->busy_ms = s->busy_ms;
    c->bg_off = true;
    buf_init(&c->batch, SINK_BUF_MAX);
    buf_init(&c->line, SINK_BUF_MAX);
    return c;
}

/* Start the lanes (those that can be started); with none, the job's flush at the end
 * sends all. */
static void bg_start(sink *s, uint64_t commits)
{
    bg_sender *bg = calloc(1, sizeof *bg);
    if (!bg)
        goto fail;
    bg->path = spool_path(s->sp);
    bg->commits = commits;
    atomic_init(&bg->accepted, false);
    atomic_init(&bg->halt, false);
    if (pthread_mutex_init(&bg->mu, NULL) != 0)
        goto fail;
    if (pthread_cond_init(&bg->cv, NULL) != 0) {
        pthread_mutex_destroy(&bg->mu);
        goto fail;
    }
    int want = s->icfg.connections < 1 ? 1 : s->icfg.connections;
    if (want > SINK_HELPERS_MAX + 1)
        want = SINK_HELPERS_MAX + 1;
    for (int i = 0; i < want; i++) {
        bg_lane *ln = &bg->lanes[i];
        ln->bg = bg;
        ln->idx = i;
        if (!(ln->child = child_of(s)))
            break;
        ln->child->icfg.connections = 1;   /* a lane is one connection */
        ln->child->pruned = i > 0;         /* lane 0's first flush prunes (once a run) */
        ln->child->halt = &bg->halt;
        ln->child->lane_accepted = &bg->accepted;
        if (pthread_create(&ln->th, NULL, bg_main, ln) != 0) {
            sink_free(ln->child);
            ln->child = NULL;
            break;
        }
        bg->nlanes++;
    }
    if (bg->nlanes == 0) {
        pthread_cond_destroy(&bg->cv);
        pthread_mutex_destroy(&bg->mu);
        goto fail;
    }
    s->bg = bg;
    return;
fail:
    free(bg);
    s->bg_off = true;   /* not tried again */
}

static void bg_notify(sink *s)
{
    bg_sender *bg = s->bg;
    pthread_mutex_lock(&bg->mu);
    bg->commits++;
    pthread_cond_broadcast(&bg->cv);
    pthread_mutex_unlock(&bg->mu);
}

/* Stop the lanes once they have sent what is pending (or failed), add what they sent to
 * the run's counters. Returns 0, or the exit code of the failure that stopped them (err
 * set: the first lane's that failed). No background sender: 0. */
static int bg_finish(sink *s, char *err, size_t errlen)
{
    s->bg_off = true;
    bg_sender *bg = s->bg;
    if (!bg)
        return 0;
    pthread_mutex_lock(&bg->mu);
    bg->stop = true;
    pthread_cond_broadcast(&bg->cv);
    pthread_mutex_unlock(&bg->mu);
    int rc = 0;
    for (int i = 0; i < bg->nlanes; i++) {
        bg_lane *ln = &bg->lanes[i];
        pthread_join(ln->th, NULL);
        s->st.sent += ln->child->st.sent;
        s->st.batches_sent += ln->child->st.batches_sent;
        s->st.dead_letters += ln->child->st.dead_letters;
        s->st.quarantined += ln->child->st.quarantined;
        if (rc == 0 && ln->rc != 0) {
            rc = ln->rc;
            errf_set(err, errlen, "%s", ln->err);
        }
        sink_free(ln->child);
    }
    pthread_cond_destroy(&bg->cv);
    pthread_mutex_destroy(&bg->mu);
    free(bg);
    s->bg = NULL;
    return rc;
}

/* ---------------------------------------------------------------- the end of a run */

void sink_set_status(sink *s, const char *status)
{
    if (!s)
        return;
    size_t n = status ? strlen(status) : 0;
    if (n >= sizeof s->status)
        n = 0;
    memcpy(s->status, status ? status : "", n);
    s->status[n] = '\0';
}

static const char *run_status(const sink *s, int rc)
{
    if (rc == 0 && s->status[0])
        return s->status;
    if (rc == EX_TEMPFAIL)
        return "spooled";
    if (rc == 0)
        return s->st.dead_letters > 0 || s->st.rejected > 0 || s->st.quarantined > 0 ? "partial"
                                                                                     : "ok";
    if (rc == EX_DATAERR && s->st.points > 0)
        return "partial";
    return "failed";
}

static int add_job_point(sink *s, const char *status, int64_t duration_ms, int rc, char *err,
                         size_t errlen)
{
    lp_tag tags[] = { { "job", s->job }, { "status", status } };
    lp_field fields[] = {
        lp_f_int("duration_ms", duration_ms),
        lp_f_int("points", s->st.points),
        lp_f_int("spooled", s->st.spooled),
        lp_f_int("sent", s->st.sent),
        lp_f_int("dead_letters", s->st.dead_letters),
        lp_f_int("exit_code", rc),
        lp_f_int("pending", s->st.pending_points),
    };
    lp_point p = {
        .measurement = "cronflux_job",
        .tags = tags, .ntags = 2,
        .fields = fields, .nfields = sizeof fields / sizeof fields[0],
        .time_ns = sink_run_time_ns(s), .has_time = true,
    };
    /* not counted among the job's own points */
    sink_stats keep = s->st;
    int r = sink_add(s, &p, err, errlen);
    if (r == 0)
        r = sink_commit(s, err, errlen);
    s->st.points = keep.points;
    s->st.spooled = keep.spooled;
    return r == 0 ? 0 : -1;
}

int sink_finish_ex(sink *s, int job_rc, const char *message, sink_stats *out, char *err,
                   size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (!s)
        return job_rc;
    char first[SINK_ERR_MAX] = "";
    int store_rc = 0, flush_rc = 0;

    char cerr[SINK_ERR_MAX];
    size_t unstored = s->nlines;
    if (sink_commit(s, cerr, sizeof cerr) != 0) {
        /* points read and not committed: never 75 (see sink.h) */
        store_rc = SINK_EX_IOERR;
        errf_set(first, sizeof first, "%zu point%s not stored: %s", unstored,
                 unstored == 1 ? " was" : "s were", cerr);
    }
    char bgerr[SINK_ERR_MAX] = "";
    if (s->bg)
        spool_fold_wal(s->sp);   /* while the lanes send the last batches (spool.h) */
    int bg_rc = bg_finish(s, bgerr, sizeof bgerr);
    if (s->dry_run) {
        if (out)
            *out = s->st;
        errf_set(err, errlen, "%s", first);
        sink_free(s);
        return job_rc ? job_rc : store_rc;
    }
    if (!s->no_send) {
        char ferr[SINK_ERR_MAX] = "";
        if (bg_rc != 0) {
            /* the background sender stopped on a failure: not tried again in this run */
            flush_rc = bg_rc;
            errf_set(ferr, sizeof ferr, "%s", bgerr);
            update_pending(s);
        } else {
            flush_rc = sink_flush(s, ferr, sizeof ferr);
        }
        if (flush_rc != 0 && !first[0])
            errf_set(first, sizeof first, "%s", ferr);
    } else {
        update_pending(s);
    }
    int rc = job_rc ? job_rc : store_rc ? store_rc : flush_rc;
    if (store_rc && (job_rc == EX_TEMPFAIL || job_rc == EX_CANTCREAT || job_rc == EX_DATAERR))
        rc = store_rc;   /* a job that stopped on the store's error, or also had bad data */
    const char *status = run_status(s, rc);
    int64_t duration_ms = (clock_mono_ns() - s->start_mono) / 1000000;

    spool_run_result rr = {
        .exit_code = rc, .status = status, .duration_ms = duration_ms,
        .points = s->st.points, .spooled = s->st.spooled, .sent = s->st.sent,
        .dead_letters = s->st.dead_letters,
        .message = message ? message : (first[0] ? first : NULL),
    };
    char e[SINK_ERR_MAX];
    if (spool_run_end(s->sp, s->run_id, &rr, e, sizeof e) != 0 && !first[0])
        errf_set(first, sizeof first, "%s", e);

    if (add_job_point(s, status, duration_ms, rc, e, sizeof e) != 0) {
        if (!first[0])
            errf_set(first, sizeof first, "recording the cronflux_job point: %s", e);
    } else if (flush_rc == 0 && s->configured && !s->no_send && store_rc == 0) {
        sink_stats keep = s->st;
        char ferr[SINK_ERR_MAX];
        (void)sink_flush(s, ferr, sizeof ferr);   /* its failure leaves the point spooled */
        s->st.sent = keep.sent;
        s->st.batches_sent = keep.batches_sent;
    }
    if (out)
        *out = s->st;
    errf_set(err, errlen, "%s", first);
    sink_free(s);
    return rc;
}

int sink_finish(sink *s, int job_rc, const char *message, char *err, size_t errlen)
{
    return sink_finish_ex(s, job_rc, message, NULL, err, errlen);
}
