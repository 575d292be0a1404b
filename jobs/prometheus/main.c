/* prom-metrics: named PromQL queries from Prometheus, as points.
 *
 * A scheduled run asks /api/v1/query once per query at the run's time (--align'ed); a
 * backfill (--from/--to/--step) asks /api/v1/query_range in chunks, commits each chunk to
 * the spool and then checkpoints it, so a killed backfill goes on with --resume. See
 * jobs/prometheus/README.md and DESIGN.md. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../store/sink.h"
#include "../../runtime/cfg.h"
#include "../../runtime/cli.h"
#include "../../runtime/clock.h"
#include "../../runtime/errf.h"
#include "../../runtime/http.h"
#include "../../runtime/log.h"
#include "../../runtime/progress.h"
#include "../../runtime/sig.h"
#include "../../runtime/slice.h"
#include "../../runtime/tparse.h"
#include "prom.h"
#include "../../runtime/exitcode.h"

#define JOB "prom-metrics"
/* The first chunk of a query, before its size is known. Small, because a backfill's first
 * chunk is also its first write, and InfluxDB's first write into a new shard takes 50-90 ms
 * whatever its size: the sooner it is paid, the sooner both connections run (1 d backfill,
 * bench_prom's history: 0.233 s with 10, 0.244 s with 120, five runs each); 10 grid times
 * still give a size per grid time to size the next chunk from. */
#define PROBE_POINTS 10
#define FORM_MAX (PROM_EXPR_MAX * 3 + 256)
#define MAX_BODY_MIN ((size_t)64 * 1024)

enum {
    OPT_FROM = 1, OPT_TO, OPT_STEP, OPT_RESUME, OPT_QUERIES, OPT_CHUNK, OPT_URL, OPT_MAX_BODY,
    OPT_MEASUREMENT, OPT_DEADLINE, OPT_GZIP
};

static int64_t run_deadline_ns;   /* clock_mono_ns() time the run stops at; 0: none */

/* The run's deadline (--deadline) has passed. */
static bool deadline_passed(void)
{
    return run_deadline_ns > 0 && clock_mono_ns() >= run_deadline_ns;
}

static void usage(FILE *f)
{
    fprintf(f,
"usage: " JOB " [--queries FILE] [--url URL] [--dry-run] [--state PATH] [--align D]\n"
"       " JOB " --from T [--to T] [--step D] [--resume] [--chunk N] [--queries FILE] ...\n"
"\n"
"Runs named PromQL queries against Prometheus and writes one point per sample:\n"
"measurement \"prometheus\" for the built-in cluster queries, or the query's name for\n"
"queries from a file; tags: the series' labels and query=NAME; field: value (float).\n"
"NaN and +-Inf samples cannot be stored by InfluxDB: they are counted and skipped.\n"
"\n"
"Without --from, one instant query each (/api/v1/query) at the run's time (truncated to\n"
"--align). With --from, a backfill (/api/v1/query_range) over the multiples of --step\n"
"inside [from, to], in chunks; each chunk is committed to the state file and checkpointed.\n"
"\n"
"  --queries FILE   `name = expr` lines ('#' comment lines, blank lines, a trailing '\\'\n"
"                   continues a line) instead of the built-in set (env PROMETHEUS_QUERIES)\n"
"  --url URL        Prometheus base URL (env PROMETHEUS_URL, or PROMETHEUS_HOST and\n"
"                   PROMETHEUS_PORT, default port 9090)\n"
"  --measurement M  write every query's points to measurement M\n"
"  --from T         backfill from T (RFC 3339, Unix seconds, or relative like -7d)\n"
"  --to T           backfill up to T (default now)\n"
"  --step D         resolution of a backfill (default 60s; whole milliseconds)\n"
"  --resume         go on from the checkpoint of an earlier run over the same range\n"
"                   (give the same --from/--to; relative times move with the clock)\n"
"  --chunk N        at most N points per series per request (default %d, at most %d)\n"
"  --max-body SIZE  largest answer accepted (default 32M); a larger one halves the\n"
"                   chunk; chunks are sized to answers of about SIZE/16\n"
"  --deadline D     stop the run D after it started, with what it read stored (75; a\n"
"                   backfill goes on with --resume); set it below the CronJob's\n"
"                   activeDeadlineSeconds (env CRONFLUX_DEADLINE; default: none)\n"
"  --gzip           ask Prometheus for gzip answers: fewer bytes, for a slow link (by\n"
"                   default plain: gzip costs Prometheus several times the CPU of the\n"
"                   answer itself)\n"
CLI_COMMON_HELP
"\n"
"Environment: PROMETHEUS_TOKEN (or _FILE) for a bearer token, PROMETHEUS_CA_FILE,\n"
"PROMETHEUS_TIMEOUT (per request, default 2m), PROMETHEUS_RETRIES (default 3);\n"
"JOB_COMPLETION_INDEX + CRONFLUX_SLICES take one slice of a backfill (Indexed Job);\n"
"CRONFLUX_PROGRESS: a backfill's progress line when not on a terminal, every 5 s\n"
"(seconds or a duration like 500ms; 0: none).\n"
"\n"
"Exit: 0 done; 64 usage; 65 Prometheus sent an answer that does not parse; 69 Prometheus\n"
"unreachable; 75 temporary (Prometheus busy or timing out, InfluxDB down: points are\n"
"spooled; a backfill goes on with --resume); 77 token refused; 78 configuration: a bad\n"
"queries file (FILE:LINE), a query Prometheus refuses (400 bad_data) or cannot run\n"
"(422 execution), a wrong URL.\n",
            PROM_CHUNK_DEFAULT, PROM_POINTS_LIMIT);
}

/* "32M", "65536", "1G", "512k" -> bytes. */
static int parse_size(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || s[0] == '-')
        return -1;
    unsigned long long mul = 1;
    if (*end == 'k' || *end == 'K')
        mul = 1024ull;
    else if (*end == 'm' || *end == 'M')
        mul = 1024ull * 1024;
    else if (*end == 'g' || *end == 'G')
        mul = 1024ull * 1024 * 1024;
    else if (*end)
        return -1;
    if (*end && end[1])
        return -1;
    if (v > (unsigned long long)SIZE_MAX / mul / 2)
        return -1;
    *out = (size_t)(v * mul);
    return 0;
}

static int parse_count(const char *s, long max, int64_t *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > max)
        return -1;
    *out = v;
    return 0;
}

/* ---------------------------------------------------------------- points */

typedef struct emit {
    sink *s;
    const prom_query *q;
    lp_tag tags[PROM_LABELS_MAX + 1];
    size_t ntags;
    uint64_t labels_id;   /* the label set tags[] was built from (0: none; set 0 before each
                             prom_call: the parser's numbers start again with each answer) */
    int64_t points, nonfinite, rejected;
    char reject_why[256];
    int store_failed;
    char err[SINK_ERR_MAX];
} emit;

/* A series' tags, once per series: its labels (renamed where they clash) and query=NAME,
 * which goes where it sorts (Prometheus sends the labels sorted), so the encoder finds them
 * already in order. The order does not change the line: the encoder writes tags sorted. */
static void build_tags(emit *e, const prom_label *l, size_t nl)
{
    size_t n = 0;
    bool placed = false;
    for (size_t i = 0; i < nl; i++) {
        const char *k = l[i].name;
        /* our own tag, and a key InfluxDB 1.x drops a point for, keep Prometheus' own
         * convention for clashing labels */
        if (strcmp(k, "query") == 0)
            k = "exported_query";
        else if (strcmp(k, "time") == 0)
            k = "exported_time";
        else if (strcmp(k, "value") == 0)   /* the field's name: InfluxDB 3 refuses both */
            k = "exported_value";
        if (!placed && strcmp(k, "query") > 0) {
            e->tags[n].key = "query";
            e->tags[n].value = e->q->name;
            n++;
            placed = true;
        }
        e->tags[n].key = k;
        e->tags[n].value = l[i].value;
        n++;
    }
    if (!placed) {
        e->tags[n].key = "query";
        e->tags[n].value = e->q->name;
        n++;
    }
    e->ntags = n;
}

/* One sample -> one point (NaN and +-Inf counted and skipped). */
static int on_sample(void *ctx, const prom_label *l, size_t nl, uint64_t labels_id,
                     int64_t t_ns, double v, const prom_text *vt)
{
    emit *e = ctx;
    if (!isfinite(v)) {
        e->nonfinite++;
        return 0;
    }
    if (labels_id != e->labels_id || labels_id == 0) {
        build_tags(e, l, nl);
        e->labels_id = labels_id;
    }
    size_t n = e->ntags;
    lp_field f = lp_f_float("value", v);
    if (vt && vt->p) {   /* Prometheus' own text: the encoder may take its digits */
        f.text = vt->p;
        f.text_len = vt->len;
    }
    lp_point p = { .measurement = e->q->measurement, .tags = e->tags, .ntags = n,
                   .fields = &f, .nfields = 1, .time_ns = t_ns, .has_time = true };
    char why[256];
    int rc = sink_add(e->s, &p, why, sizeof why);
    if (rc == 0) {
        e->points++;
        return 0;
    }
    if (rc == 1) {
        if (e->rejected++ == 0)
            snprintf(e->reject_why, sizeof e->reject_why, "%s", why);
        log_debug("query %s: point refused: %s", e->q->name, why);
        return 0;
    }
    e->store_failed = 1;
    snprintf(e->err, sizeof e->err, "%s", why);
    return -1;
}

/* ---------------------------------------------------------------- the run */

typedef struct run {
    sink *s;
    prom_client *pc;
    const prom_queries *qs;
    const char *queries_file;   /* for hints; NULL: built-in */
    int64_t points, nonfinite, rejected, strings, histograms;
    int64_t chunks, halvings, skipped_complete;
    int rc;                     /* the first failure's exit code */
    int errors;                 /* queries that failed */
    char store_msg[SINK_ERR_MAX + 160];   /* the store failed: said once, after sink_finish
                                           * (which counts the points not stored) */
    /* backfill */
    prom_range range;
    int64_t maxpts;
    size_t target_bytes;
    bool resume;
    bool range_moves;           /* --from/--to relative to now (or --to left out) */
    bool said_moves;
    const char *from_abs, *to_abs;   /* this run's range, absolute */
    /* progress */
    bool progress_on;
    progress pg;
    int64_t steps_total, steps_done, cur_n;
} run;

static void note_rc(run *r, int rc)
{
    if (rc != 0 && r->rc == 0)
        r->rc = rc;
}

/* Progress of a backfill: redrawn in place on a terminal, a log line every few seconds
 * elsewhere (runtime/progress.h). */
static void draw_progress(run *r, bool final)
{
    int64_t now = clock_mono_ns();
    if (!r->progress_on || !progress_due(&r->pg, now, final))
        return;
    if (final && !r->pg.tty)
        return;   /* the summary line follows */
    int64_t left = r->steps_total - r->steps_done;
    int64_t n = r->cur_n > 0 ? r->cur_n : 1;
    int64_t total = r->chunks + (left + n - 1) / n;
    char what[64], line[256];
    snprintf(what, sizeof what, "chunk %" PRId64 "/%s%" PRId64, r->chunks,
             final || left == 0 ? "" : "~", total);
    double frac = r->steps_total > 0 ? (double)r->steps_done / (double)r->steps_total : -1;
    progress_format(&r->pg, now, what, final ? 1.0 : frac, r->points, "points", line, sizeof line);
    if (r->pg.tty) {
        fprintf(stderr, "\r" JOB ": %s\033[K%s", line, final ? "\n" : "");
        fflush(stderr);
    } else {
        log_info("progress: %s", line);
    }
}

/* Form body: query=EXPR&... */
static int make_form(buf *form, const prom_query *q, const char *rest)
{
    buf_reset(form);
    if (buf_adds(form, "query=") != 0 || http_urlencode(form, q->expr) != 0 ||
        buf_adds(form, rest) != 0)
        return -1;
    return 0;
}

/* After a query's answer: the warnings it deserves. */
static void after_answer(run *r, const prom_query *q, const prom_parse_result *res, emit *e)
{
    if (res->type == PROM_R_STRING) {
        r->strings++;
        log_warn("query %s: the result is a string, not a number: skipped", q->name);
    }
    if (res->warnings > 0)
        log_warn("query %s: Prometheus warns: %s", q->name, res->warning);
    (void)e;
}

static void query_summary(run *r, const prom_query *q, emit *e, int64_t histograms)
{
    if (e->nonfinite > 0)
        log_warn("query %s: %" PRId64 " NaN/Inf samples skipped (InfluxDB cannot store them)",
                 q->name, e->nonfinite);
    if (histograms > 0)
        log_warn("query %s: %" PRId64 " native-histogram samples skipped (not a float)",
                 q->name, histograms);
    if (e->rejected > 0)
        log_warn("query %s: %" PRId64 " points refused by the encoder: %s", q->name,
                 e->rejected, e->reject_why);
    r->nonfinite += e->nonfinite;
    r->rejected += e->rejected;
    r->histograms += histograms;
}

/* A failed call: log it once, naming the query. Returns 1 when the whole run must stop
 * (the server, not the query, is the problem). */
static int query_failed(run *r, const prom_query *q, prom_outcome o, const char *err, emit *e)
{
    if (sig_stop_requested()) {   /* the request was cut short by SIGTERM/SIGINT */
        log_warn("query %s: stopped by %s; the points read are stored", q->name, sig_name());
        note_rc(r, EX_TEMPFAIL);
        return 1;
    }
    if (o == PROM_STOPPED) {
        errf_set(r->store_msg, sizeof r->store_msg, "query %s: storing points: %s", q->name,
                 e->err);
        note_rc(r, EX_TEMPFAIL);
        return 1;
    }
    const char *hint = "";
    char hbuf[256] = "";
    if (o == PROM_BAD_QUERY || o == PROM_EXEC) {
        snprintf(hbuf, sizeof hbuf, " (fix the query%s%s)", r->queries_file ? " in " : "",
                 r->queries_file ? r->queries_file : "");
        hint = hbuf;
    } else if (o == PROM_TOO_LARGE) {
        hint = " (raise --max-body, or narrow the query)";
    }
    log_error("query %s: %s%s", q->name, err, hint);
    note_rc(r, prom_outcome_exit(o));
    r->errors++;
    return o == PROM_UNREACHABLE || o == PROM_TEMP || o == PROM_TIMEOUT || o == PROM_AUTH ||
           o == PROM_CONFIG;
}

static void run_instant(run *r)
{
    char err[1024], secs[40], rest[80];
    buf form;
    buf_init(&form, FORM_MAX);
    int64_t t = sink_run_time_ns(r->s);
    t -= t % 1000000;   /* Prometheus reads times to the millisecond */
    if (!prom_fmt_seconds(t, secs, sizeof secs)) {
        log_error("run time out of range");
        note_rc(r, EX_SOFTWARE);
        goto out;
    }
    snprintf(rest, sizeof rest, "&time=%s", secs);
    size_t i;
    for (i = 0; i < r->qs->n && !sig_stop_requested(); i++) {
        if (deadline_passed()) {
            log_error("the run's deadline (--deadline) passed before query %s: %zu of %zu "
                      "queries run; what they read is stored", r->qs->q[i].name, i, r->qs->n);
            note_rc(r, EX_TEMPFAIL);
            break;
        }
        const prom_query *q = &r->qs->q[i];
        emit e = { .s = r->s, .q = q };
        prom_parse_result res;
        if (make_form(&form, q, rest) != 0) {
            log_error("query %s: the request is too long", q->name);
            note_rc(r, EX_CONFIG);
            r->errors++;
            continue;
        }
        e.labels_id = 0;
        prom_outcome o = prom_call(r->pc, "/api/v1/query", form.p, on_sample, &e, &res, NULL,
                                   err, sizeof err);
        r->points += e.points;
        if (o != PROM_OK) {
            if (query_failed(r, q, o, err, &e))
                break;
            continue;
        }
        after_answer(r, q, &res, &e);
        query_summary(r, q, &e, res.histograms);
        log_debug("query %s: %s, %" PRId64 " series, %" PRId64 " points", q->name,
                  prom_rtype_name(res.type), res.series, e.points);
    }
    if (i < r->qs->n && sig_stop_requested() && r->rc == 0) {
        log_warn("stopped by %s before query %s: the points read are stored; the next run "
                 "reads again", sig_name(), r->qs->q[i].name);
        note_rc(r, EX_TEMPFAIL);
    }
out:
    buf_free(&form);
}

/* Backfill one query over r->range. Returns 1 when the whole run must stop. */
static int backfill_query(run *r, const prom_query *q, buf *form)
{
    char key[PROM_NAME_MAX + 160], val[64], err[1024], e2[SINK_ERR_MAX];
    char s0[40], s1[40], st[40], rest[160];
    const prom_range *g = &r->range;
    int64_t cursor = g->first_ns;
    emit e = { .s = r->s, .q = q };
    int64_t histograms = 0;
    int stop = 0;

    if (!prom_checkpoint_key(q, g, key, sizeof key)) {
        log_error("query %s: checkpoint key too long", q->name);
        note_rc(r, EX_CONFIG);
        return 0;
    }
    if (r->resume) {
        int c = sink_checkpoint_get(r->s, key, val, sizeof val, e2, sizeof e2);
        if (c < 0) {
            log_error("query %s: reading the checkpoint: %s", q->name, e2);
            note_rc(r, EX_TEMPFAIL);
            return 1;
        }
        if (c == 0 && r->range_moves && !r->said_moves) {
            r->said_moves = true;
            log_warn("no checkpoint for this range: relative times move; use absolute times to "
                     "resume (--from %s --to %s resumes this run)", r->from_abs, r->to_abs);
        }
        if (c == 1) {
            int64_t next;
            int pc = prom_checkpoint_parse(val, g, &next, err, sizeof err);
            if (pc == 1) {
                log_info("query %s: already complete (checkpoint), nothing to do", q->name);
                r->skipped_complete++;
                r->steps_done += g->npoints;
                return 0;
            }
            if (pc == 0) {
                r->steps_done += (next - g->first_ns) / g->step_ns;
                cursor = next;
                char tb[40];
                log_info("query %s: resuming at %s", q->name, tparse_format(next, tb, sizeof tb));
            } else {
                log_warn("query %s: %s; starting over", q->name, err);
            }
        }
    }
    int64_t n = r->maxpts < PROBE_POINTS ? r->maxpts : PROBE_POINTS;
    r->cur_n = n;
    if (!prom_fmt_seconds(g->step_ns, st, sizeof st))
        return 0;
    while (cursor <= g->last_ns) {
        if (sig_stop_requested()) {
            log_warn("interrupted: every chunk up to the last checkpoint is stored; rerun with "
                     "--resume to go on");
            note_rc(r, EX_TEMPFAIL);
            stop = 1;
            break;
        }
        if (deadline_passed()) {
            log_warn("the run's deadline (--deadline) passed: every chunk up to the last "
                     "checkpoint is stored; rerun with --resume to go on");
            note_rc(r, EX_TEMPFAIL);
            stop = 1;
            break;
        }
        int64_t end;
        int64_t pts = prom_chunk(g, cursor, n, &end);
        if (pts <= 0)
            break;
        if (!prom_fmt_seconds(cursor, s0, sizeof s0) || !prom_fmt_seconds(end, s1, sizeof s1))
            break;
        snprintf(rest, sizeof rest, "&start=%s&end=%s&step=%s", s0, s1, st);
        if (make_form(form, q, rest) != 0) {
            log_error("query %s: the request is too long", q->name);
            note_rc(r, EX_CONFIG);
            r->errors++;
            break;
        }
        prom_parse_result res;
        size_t body_len = 0;
        int64_t before = e.points;
        e.labels_id = 0;
        prom_outcome o = prom_call(r->pc, "/api/v1/query_range", form->p, on_sample, &e, &res,
                                   &body_len, err, sizeof err);
        if ((o == PROM_TOO_LARGE || o == PROM_TIMEOUT) && pts > 1) {
            n = pts / 2;
            r->cur_n = n;
            r->halvings++;
            log_info("query %s: %s; chunk halved to %" PRId64 " points", q->name,
                     o == PROM_TOO_LARGE ? "answer too large" : "query timed out", n);
            continue;
        }
        r->points += e.points - before;
        if (o != PROM_OK) {
            stop = query_failed(r, q, o, err, &e);
            break;
        }
        after_answer(r, q, &res, &e);
        histograms += res.histograms;
        int64_t next = end + g->step_ns;
        bool done = next > g->last_ns;
        if (done)
            snprintf(val, sizeof val, "%s", PROM_CHECKPOINT_COMPLETE);
        else
            snprintf(val, sizeof val, "next=%" PRId64, next);
        /* the chunk and the checkpoint that says so, in one commit */
        if (sink_checkpoint_set(r->s, key, val, e2, sizeof e2) != 0) {
            errf_set(r->store_msg, sizeof r->store_msg,
                     "query %s: committing points and checkpoint: %s", q->name, e2);
            note_rc(r, EX_TEMPFAIL);
            stop = 1;
            break;
        }
        r->chunks++;
        r->steps_done += pts;
        /* no flush here: the sink sends committed batches while the backfill goes on */
        n = prom_chunk_next(pts, r->maxpts, r->target_bytes, body_len, res.samples, pts);
        r->cur_n = n;
        cursor = next;
        draw_progress(r, false);
    }
    query_summary(r, q, &e, histograms);
    return stop;
}

static void run_backfill(run *r)
{
    buf form;
    buf_init(&form, FORM_MAX);
    r->steps_total = r->range.npoints * (int64_t)r->qs->n;
    for (size_t i = 0; i < r->qs->n; i++)
        if (backfill_query(r, &r->qs->q[i], &form))
            break;
    if (r->chunks > 0 || r->steps_done > 0)
        draw_progress(r, true);
    buf_free(&form);
}

int main(int argc, char **argv)
{
    int64_t started = clock_mono_ns();
    log_init(JOB);
    static const struct option longopts[] = {
        { "from", required_argument, NULL, OPT_FROM },
        { "to", required_argument, NULL, OPT_TO },
        { "step", required_argument, NULL, OPT_STEP },
        { "resume", no_argument, NULL, OPT_RESUME },
        { "queries", required_argument, NULL, OPT_QUERIES },
        { "chunk", required_argument, NULL, OPT_CHUNK },
        { "url", required_argument, NULL, OPT_URL },
        { "max-body", required_argument, NULL, OPT_MAX_BODY },
        { "measurement", required_argument, NULL, OPT_MEASUREMENT },
        { "deadline", required_argument, NULL, OPT_DEADLINE },
        { "gzip", no_argument, NULL, OPT_GZIP },
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    cli_common cc = { 0 };
    const char *from_s = NULL, *to_s = NULL, *step_s = NULL, *queries = NULL, *url = NULL,
               *measurement = NULL, *deadline_s = NULL;
    bool resume = false, gzip = false;
    int64_t maxpts = PROM_CHUNK_DEFAULT;
    size_t max_body = 0;
    char err[1024];
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case OPT_FROM: from_s = optarg; break;
        case OPT_TO: to_s = optarg; break;
        case OPT_STEP: step_s = optarg; break;
        case OPT_RESUME: resume = true; break;
        case OPT_GZIP: gzip = true; break;
        case OPT_QUERIES: queries = optarg; break;
        case OPT_URL: url = optarg; break;
        case OPT_MEASUREMENT: measurement = optarg; break;
        case OPT_DEADLINE: deadline_s = optarg; break;
        case OPT_CHUNK:
            if (parse_count(optarg, PROM_POINTS_LIMIT, &maxpts) != 0) {
                log_error("--chunk: want points per series per request, 1 to %d "
                          "(Prometheus refuses more than %d)", PROM_POINTS_LIMIT,
                          PROM_POINTS_LIMIT);
                return EX_USAGE;
            }
            break;
        case OPT_MAX_BODY:
            if (parse_size(optarg, &max_body) != 0 || max_body < MAX_BODY_MIN) {
                log_error("--max-body: want a size like 32M (at least 64k)");
                return EX_USAGE;
            }
            break;
        default:
            if (cli_common_other(&cc, opt, optarg, argv[optind - 1], err, sizeof err) != 0) {
                log_error("%s", err);
                return EX_USAGE;
            }
        }
    }
    int done = cli_common_finish(&cc, JOB, usage, argc, argv, err, sizeof err);
    if (done != CLI_RUN) {
        if (done != 0)
            log_error("%s", err);
        return done;
    }
    /* the deadline of the whole run: from the flag (a bad one is usage) or the env */
    {
        const char *d = deadline_s ? deadline_s : cfg_env("CRONFLUX_DEADLINE");
        int64_t dns = 0;
        if (d && tparse_duration(d, &dns, err, sizeof err) != 0) {
            log_error("%s: %s", deadline_s ? "--deadline" : "CRONFLUX_DEADLINE", err);
            return deadline_s ? EX_USAGE : EX_CONFIG;
        }
        if (d)
            run_deadline_ns = started + dns;
    }
    bool backfill = from_s != NULL;
    if (!backfill && (to_s || step_s || resume)) {
        log_error("--to, --step and --resume belong to a backfill: give --from too");
        return EX_USAGE;
    }

    /* The range, before anything is opened. */
    prom_range range = { 0 };
    char from_abs[40] = "", to_abs[40] = "";
    int64_t progress_every = 0;
    if (backfill) {
        int64_t now = clock_real_ns(), from, to = now, step = 60 * TPARSE_NS_PER_S;
        if (tparse_time(from_s, now, &from, err, sizeof err) != 0) {
            log_error("--from: %s", err);
            return EX_USAGE;
        }
        if (to_s && tparse_time(to_s, now, &to, err, sizeof err) != 0) {
            log_error("--to: %s", err);
            return EX_USAGE;
        }
        if (step_s && tparse_duration(step_s, &step, err, sizeof err) != 0) {
            log_error("--step: %s", err);
            return EX_USAGE;
        }
        /* an Indexed Job's pod takes its slice [from, to) of the range */
        int64_t sf = from, st = to;
        int sl = slice_from_env(&sf, &st, step, err, sizeof err);
        if (sl < 0) {
            log_error("%s", err);
            return EX_CONFIG;
        }
        if (sl == 1) {
            bool last = st == to;
            from = sf;
            to = last ? st : st - 1;   /* the next slice owns its first time */
        }
        if (prom_range_plan(from, to, step, &range, err, sizeof err) != 0) {
            log_error("backfill range: %s", err);
            return EX_USAGE;
        }
        /* the planned range (multiples of --step): given back as --from/--to, it plans the same */
        tparse_format(range.first_ns, from_abs, sizeof from_abs);
        tparse_format(range.last_ns, to_abs, sizeof to_abs);
        if (progress_every_from_env(&progress_every, err, sizeof err) != 0) {
            log_error("%s", err);
            return EX_CONFIG;
        }
    }
    /* a range given relative to now is another range at each run: no checkpoint to resume */
    bool range_moves = backfill && (tparse_is_relative(from_s) || !to_s || tparse_is_relative(to_s));

    prom_queries qs;
    prom_queries_init(&qs);
    if (!queries)
        queries = cfg_env("PROMETHEUS_QUERIES");
    int rc = queries ? prom_queries_load(queries, &qs, err, sizeof err)
                     : prom_queries_builtin(&qs, err, sizeof err);
    if (rc == 0 && measurement)
        rc = prom_queries_set_measurement(&qs, measurement, err, sizeof err);
    if (rc != 0) {
        log_error("%s", err);
        prom_queries_free(&qs);
        return EX_CONFIG;
    }

    prom_cfg pcfg;
    if (prom_cfg_from_env(&pcfg, url, err, sizeof err) != 0) {
        log_error("%s", err);
        prom_cfg_wipe(&pcfg);
        prom_queries_free(&qs);
        return EX_CONFIG;
    }
    if (max_body)
        pcfg.body_max = max_body;
    pcfg.gzip = gzip;
    pcfg.deadline_ns = run_deadline_ns;
    if (http_global_init(err, sizeof err) != 0) {
        log_error("%s", err);
        prom_cfg_wipe(&pcfg);
        prom_queries_free(&qs);
        return EX_UNAVAILABLE;
    }
    prom_client *pc = prom_client_new(&pcfg, err, sizeof err);
    size_t body_max = pcfg.body_max;
    prom_cfg_wipe(&pcfg);
    if (!pc) {
        log_error("%s", err);
        prom_queries_free(&qs);
        http_global_cleanup();
        return EX_CONFIG;
    }

    /* a backfill commits at every chunk: its first chunk goes out while the next is read */
    sink_opts so = { .job = JOB, .state_path = cc.state, .dry_run = cc.dry_run,
                     .early_send = backfill };
    int ec = 0;
    sink *s = sink_open(&so, &ec, err, sizeof err);
    if (!s) {
        log_error("%s", err);
        prom_client_free(pc);
        prom_queries_free(&qs);
        http_global_cleanup();
        return ec ? ec : 73;
    }
    sink_set_align(s, cc.align_ns);

    /* SIGTERM/SIGINT (a scheduled run at activeDeadlineSeconds, a drained node, a backfill
     * stopped by hand): stop reading, keep what was read, record the run (runtime/sig.h) */
    if (sig_install() != 0)
        log_warn("installing the SIGTERM handler failed");

    run r = { .s = s, .pc = pc, .qs = &qs, .queries_file = queries, .range = range,
              .maxpts = maxpts, .target_bytes = body_max / 16, .resume = resume,
              .progress_on = backfill, .range_moves = range_moves, .from_abs = from_abs,
              .to_abs = to_abs };
    progress_start(&r.pg, isatty(STDERR_FILENO), progress_every, clock_mono_ns());
    if (backfill) {
        char a[40], b[40], st[40];
        log_info("backfill %s .. %s, step %ss, %" PRId64 " points per series, %zu quer%s%s",
                 tparse_format(range.first_ns, a, sizeof a),
                 tparse_format(range.last_ns, b, sizeof b),
                 prom_fmt_seconds(range.step_ns, st, sizeof st) ? st : "?", range.npoints, qs.n,
                 qs.n == 1 ? "y" : "ies", resume ? " (resume)" : "");
        if (resume && cc.dry_run)
            log_warn("--dry-run reads no checkpoint: the whole range is printed");
        run_backfill(&r);
    } else {
        run_instant(&r);
    }
    if (!queries && r.points == 0 && r.errors == 0 && r.nonfinite == 0 && !sig_stop_requested())
        log_warn("the built-in queries found no samples: they read node_exporter (node_*), "
                 "cAdvisor (container_*) and kube-state-metrics (kube_*) series; scrape those "
                 "with this Prometheus, or give your own queries with --queries FILE");

    char summary[512];
    int n;
    if (backfill)
        n = snprintf(summary, sizeof summary,
                     "%zu %s, %" PRId64 " point%s, %" PRId64 " chunk%s, %" PRId64
                     " NaN/Inf skipped, %" PRId64 " string results skipped, %" PRId64
                     " refused, %d failed%s",
                     qs.n, qs.n == 1 ? "query" : "queries", r.points, r.points == 1 ? "" : "s",
                     r.chunks, r.chunks == 1 ? "" : "s", r.nonfinite,
                     r.strings, r.rejected, r.errors,
                     r.skipped_complete ? ", some already complete" : "");
    else
        n = snprintf(summary, sizeof summary,
                     "%zu %s, %" PRId64 " point%s, %" PRId64 " NaN/Inf skipped, %" PRId64
                     " string results skipped, %" PRId64 " refused, %d failed",
                     qs.n, qs.n == 1 ? "query" : "queries", r.points, r.points == 1 ? "" : "s",
                     r.nonfinite, r.strings,
                     r.rejected, r.errors);
    if (n < 0)
        summary[0] = '\0';
    char ferr[SINK_ERR_MAX];
    ferr[0] = '\0';
    sink_stats fin;
    memset(&fin, 0, sizeof fin);
    int final = sink_finish_ex(s, r.rc, summary, &fin, ferr, sizeof ferr);
    /* one line for a store failure: the sink's, which counts the points not stored */
    if (r.store_msg[0])
        log_error("%s", ferr[0] ? ferr : r.store_msg);
    else if (final != r.rc && ferr[0])
        log_error("%s", ferr);
    if (final == 0 || final == EX_TEMPFAIL)
        log_info("%s; %" PRId64 " sent to InfluxDB, %" PRId64 " pending; %.1fs", summary, fin.sent,
                 fin.pending_points, (double)(clock_mono_ns() - started) / 1e9);
    prom_client_free(pc);
    prom_queries_free(&qs);
    http_global_cleanup();
    return final;
}
