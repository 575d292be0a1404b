/* cronflux: the store tool (DESIGN.md "Binaries").
 *
 *   cronflux push [--format lp|json] [--precision ns|us|ms|s] [--dry-run] [--no-flush]
 *   cronflux flush
 *   cronflux status [--json]
 *   cronflux replay --from T --to T
 *   cronflux export [--from T] [--to T]
 *   cronflux dead-letters [list|export|requeue|drop] [--job J] [--id N[,N...]] [--all] [--json]
 *
 * push streams stdin a line at a time (a line is capped at CF_LINE_MAX bytes), so memory
 * stays flat however many lines come in: the sink commits a batch every few thousand.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "../../store/influx.h"
#include "../../runtime/errf.h"
#include "../../store/lp.h"
#include "../../store/sink.h"
#include "../../store/sink_tool.h"
#include "../../store/spool.h"
#include "../../runtime/buf.h"
#include "../../runtime/cli.h"
#include "../../runtime/http.h"
#include "../../runtime/jsonu.h"
#include "../../runtime/log.h"
#include "../../runtime/sig.h"
#include "../../runtime/tparse.h"
#include "cf_json.h"
#include "../../runtime/exitcode.h"
#include "../../runtime/clock.h"

#define CF_JOB "cronflux"
#define CF_LINE_MAX ((size_t)1 << 20)   /* longest input line */
#define CF_BAD_SHOWN 20                  /* bad lines reported one by one */

static const char USAGE[] =
    "Usage: cronflux [OPTIONS] COMMAND [COMMAND OPTIONS]\n"
    "\n"
    "The store tool: points into the local sqlite store (the spool), and from it to\n"
    "InfluxDB. Options may come before or after the command.\n"
    "\n"
    "Commands:\n"
    "  push      read points from stdin, one a line, commit them to the spool, and send\n"
    "            what the spool holds when InfluxDB is configured (from the first full\n"
    "            batch on while still reading, the rest at the end)\n"
    "              --format lp|json       input format (default lp)\n"
    "              --precision ns|us|ms|s unit of line-protocol timestamps (default ns)\n"
    "              --no-flush             commit to the spool only; do not contact InfluxDB\n"
    "              --dry-run              print the line protocol (ns) that would be stored\n"
    "                                     to stdout; touch no file and no server\n"
    "  flush     send every pending batch (of any job) to InfluxDB\n"
    "  status    pending batches and points, the oldest pending, claimed batches, sent\n"
    "            batches kept for replay, dead letters, where InfluxDB is, and the last\n"
    "            run of each job\n"
    "              --json                 one JSON object instead of text\n"
    "  replay    --from T --to T: put stored batches whose points fall in the range back\n"
    "            to pending and send them (refills a new or wiped InfluxDB)\n"
    "  export    [--from T] [--to T]: print the stored lines (line protocol, ns) whose\n"
    "            timestamp is in the range (default: all) to stdout\n"
    "  dead-letters [ACTION]  the lines InfluxDB refused (a field type conflict, a bad\n"
    "            value), each kept with InfluxDB's reason, when, and which job sent it:\n"
    "              list      (default) each one: id, when, job, the line, the reason\n"
    "                        (--json: one JSON object a line)\n"
    "              export    their lines (line protocol, ns) to stdout, to be fixed and\n"
    "                        pushed again (then drop them)\n"
    "              requeue   once the cause is fixed in InfluxDB: put their lines back\n"
    "                        to pending and send them (refused again: dead letters again)\n"
    "              drop      forget them (needs --id, --job or --all)\n"
    "              --job J   only those of job J      --id N[,N...]  only those ids\n"
    "              --all     every one (drop)         --dry-run      say, change nothing\n"
    "\n"
    "Options:\n"
    CLI_COMMON_HELP
    "\n"
    "push input, one point a line:\n"
    "  --format lp    InfluxDB line protocol; blank lines and '#' comments are skipped;\n"
    "                 a quoted string field may hold raw newlines (as InfluxDB reads it)\n"
    "  --format json  {\"measurement\":\"m\",\"tags\":{\"k\":\"v\"},\n"
    "                  \"fields\":{\"f\":1.5,\"n\":3,\"s\":\"text\",\"b\":true},\"time\":1700000000000000000}\n"
    "                 a JSON integer is an integer field, a real a float, a string a string,\n"
    "                 true/false a boolean; tags are strings; \"time\" is in nanoseconds\n"
    "  A point without a timestamp gets the run's time (now, truncated to --align).\n"
    "  A bad line is reported as \"line N: reason\" (the first 20, then a count); the good\n"
    "  lines still go in and the exit code is 65. Lines longer than 1 MiB are bad lines.\n"
    "\n"
    "Times T: RFC 3339 (2026-11-01T00:00:00Z), Unix seconds (1700000000), or relative\n"
    "(-7d, -36h, -90m, now).\n"
    "\n"
    "Environment:\n"
    "  InfluxDB 1.x   INFLUXDB_URL (or INFLUXDB_HOST + INFLUXDB_PORT, default 8086),\n"
    "                 INFLUXDB_DATABASE, INFLUXDB_USERNAME, INFLUXDB_PASSWORD[_FILE],\n"
    "                 INFLUXDB_RETENTION_POLICY (a missing database is created when the\n"
    "                 user may)\n"
    "  InfluxDB 2.x   INFLUXDB_URL, INFLUXDB_TOKEN[_FILE], INFLUXDB_ORG, INFLUXDB_BUCKET\n"
    "  InfluxDB 3.x   INFLUXDB_URL, INFLUXDB_TOKEN[_FILE], INFLUXDB_DATABASE\n"
    "  INFLUXDB_API             1, 2 or 3 (default: INFLUXDB_ORG means 2, no token 1,\n"
    "                           else GET /ping tells; 'cronflux status' shows it)\n"
    "  INFLUXDB_CA_FILE         PEM bundle of a private CA for https\n"
    "  no INFLUXDB_URL/HOST     the embedded default: points stay in the sqlite store;\n"
    "                           'cronflux flush' sends them once InfluxDB is configured\n"
    "  CRONFLUX_STATE           state file (default ./cronflux.db)\n"
    "  CRONFLUX_BATCH           lines per batch (default 20000)\n"
    "  CRONFLUX_CONNECTIONS     writes in flight at once, 1-8 (default 2; a flush with\n"
    "                           one batch, or one the server refuses, uses one)\n"
    "  CRONFLUX_RETAIN          how long sent batches are kept for replay (default 7d;\n"
    "                           0: not kept)\n"
    "  CRONFLUX_GZIP            gzip stored and sent bodies: 1 (default), 0, or a level\n"
    "                           1-9; unset, a loopback InfluxDB gets the lines plain\n"
    "                           (stored as LZ4 blocks, not gzip)\n"
    "  CRONFLUX_RETRIES         retries of a failed write (default 3)\n"
    "  CRONFLUX_MAX_WAIT        longest Retry-After honoured, seconds (default 60)\n"
    "  CRONFLUX_INFLUX_TIMEOUT  seconds for one write request (default 30)\n"
    "  CRONFLUX_ALIGN           as --align\n"
    "  CRONFLUX_LOG             text (default) or json; DEBUG=1 request detail\n"
    "\n"
    "Exit codes: 0 done; 64 usage; 65 some input lines were bad (the good ones went in);\n"
    "73 the state file cannot be created or opened; 74 writing stdout failed;\n"
    "75 InfluxDB unreachable or busy: the points are safe in the spool and go with the\n"
    "next run; 77 InfluxDB refused the credentials; 78 configuration missing or wrong.\n";

enum { OPT_FORMAT = 1, OPT_PRECISION, OPT_NO_FLUSH, OPT_JSON, OPT_FROM, OPT_TO, OPT_JOB, OPT_ID,
       OPT_ALL };

typedef struct opts {
    cli_common common;
    const char *format;      /* "lp" / "json" */
    const char *precision;   /* NULL: ns */
    bool no_flush, json;
    const char *from, *to;
    const char *cmd;
    const char *action;      /* dead-letters: list / export / requeue / drop */
    const char *job, *ids;   /* dead-letters --job, --id */
    bool all;                /* dead-letters --all */
} opts;

/* ---------------------------------------------------------------- helpers */

/* Reads stdin a line at a time; a line longer than CF_LINE_MAX is read past and flagged.
 * Text given back (the lines after a bad first line of a multi-line record) is read again
 * before the rest of stdin. */
typedef struct line_reader {
    FILE *f;
    char blk[1 << 16];
    size_t pos, end;
    bool eof;
    bool cut;        /* a stop request ended the input inside a line (its last text) */
    buf line;        /* the record; never more than CF_LINE_MAX bytes */
    buf back;        /* given back, read from back_pos on before blk */
    size_t back_pos;
    lp_split split;  /* InfluxDB's splitter over line[0..scanned) */
    size_t scanned;
} line_reader;

/* Read one physical line, appending it to lr->line (after a '\n' when `append`).
 * 1: read; 0: end of input; -1: read error. A first line (not `append`) that does not fit
 * is read past and *too_long set. An appended line that does not fit is left unread from
 * where it stops (*full set), to be read again after lr_give_back. */
static int lr_physical(line_reader *lr, bool append, bool *too_long, bool *full)
{
    bool any = false;
    if (append) {
        if (lr->line.len + 1 > CF_LINE_MAX || buf_addc(&lr->line, '\n') != 0) {
            *full = true;
            return 1;
        }
    }
    for (;;) {
        bool from_back = lr->back_pos < lr->back.len;
        const char *start;
        size_t avail;
        if (from_back) {
            start = lr->back.p + lr->back_pos;
            avail = lr->back.len - lr->back_pos;
        } else {
            if (lr->pos == lr->end) {
                /* a stop request (runtime/sig.h): what is buffered is used, no more read */
                if (!lr->eof && sig_stop_requested()) {
                    lr->eof = true;
                    lr->cut = any;
                }
                if (lr->eof)
                    return any ? 1 : 0;
                size_t n = fread(lr->blk, 1, sizeof lr->blk, lr->f);
                if (n == 0) {
                    if (ferror(lr->f) && errno == EINTR && sig_stop_requested()) {
                        lr->eof = true;
                        lr->cut = any;
                        return any ? 1 : 0;
                    }
                    if (ferror(lr->f))
                        return -1;
                    lr->eof = true;
                    return any ? 1 : 0;
                }
                lr->pos = 0;
                lr->end = n;
            }
            start = lr->blk + lr->pos;
            avail = lr->end - lr->pos;
        }
        any = true;
        const char *nl = memchr(start, '\n', avail);
        size_t take = nl ? (size_t)(nl - start) : avail;
        size_t used = take + (nl ? 1 : 0);
        if (!*too_long && take > 0) {
            size_t room = CF_LINE_MAX - lr->line.len;
            if (append && take > room) {
                take = room;   /* the rest stays unread */
                used = room;
                nl = NULL;
                *full = true;
            }
            if (take > room || buf_add(&lr->line, start, take) != 0)
                *too_long = true;
        }
        if (from_back) {
            lr->back_pos += used;
            if (lr->back_pos >= lr->back.len) {
                buf_reset(&lr->back);
                lr->back_pos = 0;
            }
        } else {
            lr->pos += used;
        }
        if (nl || *full)
            return 1;
    }
}

/* Whether the record just read holds the text a stop request cut short: the input was cut
 * inside a line and nothing is left to read after this record. */
static bool lr_cut_here(const line_reader *lr)
{
    return lr->cut && lr->eof && lr->pos == lr->end && lr->back_pos >= lr->back.len;
}

/* Put p[0..n) (and a '\n' if nl) back in front of what is still to be read. 0 or -1 (out
 * of memory). */
static int lr_give_back(line_reader *lr, const char *p, size_t n, bool nl)
{
    buf nb;
    buf_init(&nb, lr->back.max);
    size_t left = lr->back.len - lr->back_pos;
    if (buf_add(&nb, p, n) != 0 || (nl && buf_addc(&nb, '\n') != 0) ||
        (left && buf_add(&nb, lr->back.p + lr->back_pos, left) != 0)) {
        buf_free(&nb);
        return -1;
    }
    buf_free(&lr->back);
    lr->back = nb;
    lr->back_pos = 0;
    return 0;
}

/* Whether the text in lr->line goes on past its end: its last character is inside a
 * quoted string field value or escaped by a backslash, as InfluxDB splits a body. */
static bool lr_continues(line_reader *lr)
{
    /* Only a quote or a backslash can carry a line past its newline: most lines hold
     * neither, and two memchr are much cheaper than splitting the line again. */
    if (lr->scanned == 0 && (!lr->line.p || (!memchr(lr->line.p, '"', lr->line.len) &&
                                             !memchr(lr->line.p, '\\', lr->line.len))))
        return false;
    if (lr->line.len + 1 > CF_LINE_MAX || buf_addc(&lr->line, '\n') != 0)
        return false;
    /* split only what was added since the last look: a long string stays linear */
    size_t len = lr->line.len;
    size_t end = lr->scanned + lp_split_feed(&lr->split, lr->line.p + lr->scanned,
                                             len - lr->scanned);
    lr->scanned = len;   /* the '\n' is put back by the next lr_physical when it goes on */
    lr->line.len--;
    lr->line.p[lr->line.len] = '\0';
    return end >= len;
}

/* The next input record into lr->line (without its '\n'): one line, or for line protocol
 * one point whose string field may hold raw newlines (so it spans *nlines physical lines)
 * when the whole text parses (lp_record_len); when it does not, the record is its first
 * line only and the lines after it are read again, so a bad line never hides the lines
 * after it. 1: a record (*too_long if it was cut); 0: end; -1: read error (or out of
 * memory, errno set). */
static int lr_next(line_reader *lr, bool lp, lp_precision prec, bool *too_long,
                   uint64_t *nlines)
{
    buf_reset(&lr->line);
    memset(&lr->split, 0, sizeof lr->split);
    lr->scanned = 0;
    *too_long = false;
    *nlines = 0;
    bool full = false;
    int r = lr_physical(lr, false, too_long, &full);
    if (r != 1)
        return r;
    *nlines = 1;
    while (lp && !*too_long && !full && lr_continues(lr)) {
        r = lr_physical(lr, true, too_long, &full);
        if (r < 0)
            return -1;
        if (r == 0) {
            lr->line.p[--lr->line.len] = '\0';   /* the '\n' appended: the input ended */
            break;
        }
        if (!full)
            (*nlines)++;
    }
    if (*nlines == 1 && !full)
        return 1;
    const char *text = lr->line.p;
    size_t len = lr->line.len;
    const char *nl = memchr(text, '\n', len);
    size_t chk = len > 0 && text[len - 1] == '\r' ? len - 1 : len;   /* CRLF input */
    size_t keep = !nl ? len : full ? (size_t)(nl - text) : lp_record_len(text, chk, prec);
    if (keep >= chk)
        return 1;
    /* the rest goes back; its last line ended at a '\n' already read, unless it was cut
     * (full: the rest of it is still unread) */
    if (lr_give_back(lr, text + keep + 1, len - keep - 1, !full) != 0) {
        errno = ENOMEM;
        return -1;
    }
    lr->line.len = keep;
    lr->line.p[keep] = '\0';
    *nlines = 1;
    return 1;
}

static int parse_range(const opts *o, bool need_both, int64_t *from, int64_t *to, char *err,
                       size_t errlen)
{
    int64_t now = clock_real_ns();
    char why[256];
    *from = INT64_MIN;
    *to = INT64_MAX;
    if (need_both && (!o->from || !o->to)) {
        errf_set(err, errlen, "%s needs --from T and --to T", o->cmd);
        return -1;
    }
    if (o->from && tparse_time(o->from, now, from, why, sizeof why) != 0) {
        errf_set(err, errlen, "--from: %s", why);
        return -1;
    }
    if (o->to && tparse_time(o->to, now, to, why, sizeof why) != 0) {
        errf_set(err, errlen, "--to: %s", why);
        return -1;
    }
    if (*from > *to) {
        errf_set(err, errlen, "--from is after --to");
        return -1;
    }
    return 0;
}

/* "s" unless n is 1: "1 point", "2 points" */
static const char *pl(int64_t n)
{
    return n == 1 ? "" : "s";
}

static bool file_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* ---------------------------------------------------------------- push */

typedef struct bad_report {
    uint64_t count;
} bad_report;

static void report_bad(bad_report *br, uint64_t lineno, const char *why)
{
    br->count++;
    if (br->count <= CF_BAD_SHOWN)
        log_error("line %" PRIu64 ": %s", lineno, why);
}

/* Once per push: a timestamp whose magnitude fits another precision than the one it is
 * read in (1700000000 read as ns is 1970; as s, 2023) is most likely a missing or wrong
 * --precision. true when the warning was given. */
static bool warn_precision(int64_t t_ns, lp_precision prec, bool json, const char *given,
                           uint64_t lineno)
{
    lp_precision better;
    int64_t better_ns;
    if (!lp_time_implausible(t_ns, prec, &better, &better_ns))
        return false;
    char now[40], then[40];
    tparse_format(t_ns, now, sizeof now);
    tparse_format(better_ns, then, sizeof then);
    if (json)
        log_warn("line %" PRIu64 ": \"time\" is read as nanoseconds (%s); in %s it would be "
                 "%s: JSON times are nanoseconds since the epoch", lineno, now,
                 lp_precision_name(better), then);
    else
        log_warn("line %" PRIu64 ": the timestamp read as %s is %s; read as %s it would be %s: "
                 "is --precision %s %s?", lineno, lp_precision_name(prec), now,
                 lp_precision_name(better), then,
                 given ? lp_precision_name(prec) : lp_precision_name(better),
                 given ? "wrong" : "missing");
    return true;
}

static int cmd_push(const opts *o)
{
    bool json = false;
    if (!o->format || strcmp(o->format, "lp") == 0) {
        json = false;
    } else if (strcmp(o->format, "json") == 0) {
        json = true;
    } else {
        log_error("--format: \"%s\" is not lp or json", o->format);
        return EX_USAGE;
    }
    lp_precision prec = LP_NS;
    if (o->precision) {
        if (lp_precision_parse(o->precision, &prec) != 0) {
            log_error("--precision: \"%s\" is not ns, us, ms or s", o->precision);
            return EX_USAGE;
        }
        if (json)
            log_warn("--precision applies to --format lp; JSON \"time\" is in nanoseconds");
    }

    char err[SINK_ERR_MAX];
    int code = 0;
    sink_opts so = { .job = CF_JOB, .state_path = o->common.state, .dry_run = o->common.dry_run,
                     .no_send = o->no_flush };
    sink *s = sink_open(&so, &code, err, sizeof err);
    if (!s) {
        log_error("%s", err);
        return code ? code : EX_CONFIG;
    }
    if (o->common.align_ns > 0)
        sink_set_align(s, o->common.align_ns);
    int64_t default_ns = sink_run_time_ns(s);

    line_reader *lr = calloc(1, sizeof *lr);
    if (!lr) {
        log_error("out of memory");
        sink_finish(s, EX_OSERR, "out of memory", err, sizeof err);
        return EX_OSERR;
    }
    lr->f = stdin;
    buf_init(&lr->line, CF_LINE_MAX);
    buf_init(&lr->back, 2 * CF_LINE_MAX + 2);
    lp_parsed pp;
    lp_parsed_init(&pp);
    cf_json js;
    memset(&js, 0, sizeof js);
    bad_report br = { 0 };
    uint64_t lineno = 0;
    int job_rc = 0;
    char why[512], store_why[SINK_ERR_MAX + 64] = "";
    bool too_long, prec_warned = false;
    int r;
    uint64_t span = 0, first;
    while ((r = lr_next(lr, !json, prec, &too_long, &span)) == 1) {
        first = lineno + 1;
        lineno += span;
        if (lr_cut_here(lr)) {   /* the stop cut this record short: not a point */
            lineno = first - 1;
            log_warn("line %" PRIu64 ": cut short by %s, not stored", first, sig_name());
            break;
        }
        if (too_long) {
            errf_set(why, sizeof why, "longer than %zu bytes", CF_LINE_MAX);
            report_bad(&br, first, why);
            continue;
        }
        const char *line = lr->line.p ? lr->line.p : "";
        size_t len = lr->line.len;
        if (len > 0 && line[len - 1] == '\r')
            len--;   /* CRLF input */
        lp_point pt;
        const lp_point *p = NULL;
        int pr;
        if (json) {
            pr = cf_json_point(line, len, &js, &pt, why, sizeof why);
            p = &pt;
        } else {
            pr = lp_parse(line, len, prec, default_ns, &pp, why, sizeof why);
            p = &pp.pt;
        }
        if (pr == 0)
            continue;
        if (pr < 0) {
            report_bad(&br, first, why);
            continue;
        }
        if (!prec_warned)
            prec_warned = warn_precision(p->time_ns, json ? LP_NS : prec, json, o->precision,
                                         first);
        int ar = sink_add(s, p, why, sizeof why);
        if (ar == 1) {
            report_bad(&br, first, why);
        } else if (ar < 0) {
            /* said once, after sink_finish: it knows how many points were not stored */
            errf_set(store_why, sizeof store_why, "line %" PRIu64 ": storing the point: %s",
                     first, why);
            job_rc = EX_TEMPFAIL;
            break;
        }
    }
    if (r < 0) {
        log_error("reading stdin after line %" PRIu64 ": %s", lineno, strerror(errno));
        job_rc = EX_IOERR;
    }
    bool stopped = sig_stop_requested() && !job_rc;
    if (stopped) {
        log_error("stopped by %s after line %" PRIu64 ": the input after it was not read; "
                  "every point read is stored", sig_name(), lineno);
        job_rc = EX_TEMPFAIL;
    }
    cf_json_free(&js);
    lp_parsed_free(&pp);
    buf_free(&lr->line);
    buf_free(&lr->back);
    free(lr);
    if (o->common.dry_run && fflush(stdout) != 0) {
        log_error("writing stdout: %s", strerror(errno));
        if (!job_rc)
            job_rc = EX_IOERR;
    }

    if (br.count > CF_BAD_SHOWN)
        log_error("... and %" PRIu64 " more bad lines", br.count - CF_BAD_SHOWN);
    char msg[256];
    if (br.count && !job_rc)
        job_rc = EX_DATAERR;
    errf_set(msg, sizeof msg, "push: %" PRIu64 " line%s, %" PRIu64 " bad%s%s", lineno,
             pl((int64_t)lineno), br.count, stopped ? ", stopped by " : "",
             stopped ? sig_name() : "");

    bool configured = sink_influx_configured(s);
    bool dry = o->common.dry_run;
    char state[1024];
    errf_set(state, sizeof state, "%s", o->common.state);
    sink_stats st;
    memset(&st, 0, sizeof st);
    int rc = sink_finish_ex(s, job_rc, msg, &st, err, sizeof err);
    if (err[0])
        log_error("%s", err);
    else if (store_why[0])
        log_error("%s", store_why);
    if (br.count)
        log_error("%" PRIu64 " of %" PRIu64 " line%s %s bad; the %" PRId64 " good point%s went in",
                  br.count, lineno, pl((int64_t)lineno), br.count == 1 ? "was" : "were", st.points,
                  pl(st.points));
    if (dry) {
        log_info("dry run: %" PRId64 " point%s printed, nothing stored or sent", st.points,
                 pl(st.points));
    } else if (rc == 0 || rc == EX_DATAERR) {
        if (o->no_flush || !configured)
            log_info("%" PRId64 " point%s stored in %s%s", st.spooled, pl(st.spooled), state,
                     o->no_flush ? " (not sent: --no-flush)"
                                 : "; InfluxDB not configured: they stay in the embedded "
                                   "sqlite store");
        else {
            /* what this run sent beyond its own points was waiting from earlier runs */
            char waiting[96] = "", refused[128] = "";
            if (st.sent > st.spooled)
                errf_set(waiting, sizeof waiting, " (%" PRId64 " of them waiting from earlier runs)",
                         st.sent - st.spooled);
            if (st.dead_letters > 0)
                errf_set(refused, sizeof refused, ", %" PRId64 " refused by InfluxDB (dead letters: "
                         "cronflux dead-letters lists them)", st.dead_letters);
            log_info("%" PRId64 " point%s stored, %" PRId64 " sent to InfluxDB%s, %" PRId64
                     " pending%s", st.spooled, pl(st.spooled), st.sent, waiting,
                     st.pending_points, refused);
        }
    }
    return rc;
}

/* ---------------------------------------------------------------- flush / replay */

/* End a flush, replay or requeue run and say what it sent. `replayed`: points this run put
 * back to pending (replay, requeue), the rest of what it sent was already pending. */
static int finish_send(sink *s, const char *what, const opts *o, int64_t replayed)
{
    char err[SINK_ERR_MAX];
    bool configured = sink_influx_configured(s);
    sink_stats st;
    memset(&st, 0, sizeof st);
    int rc = sink_finish_ex(s, 0, what, &st, err, sizeof err);
    if (rc != 0) {
        log_error("%s", err[0] ? err : "flush failed");
        return rc;
    }
    if (err[0])
        log_warn("%s", err);
    if (!configured)
        log_info("InfluxDB not configured: %" PRId64 " point%s stay in the embedded sqlite "
                 "store (%s)", st.pending_points, pl(st.pending_points), o->common.state);
    else {
        char parts[128] = "";
        if (replayed >= 0)
            errf_set(parts, sizeof parts, " (%" PRId64 " put back by this run, %" PRId64
                     " already pending)", replayed < st.sent ? replayed : st.sent,
                     st.sent > replayed ? st.sent - replayed : 0);
        else if (st.sent > 0)
            errf_set(parts, sizeof parts, " (what earlier runs left: their points and each "
                     "run's cronflux_job record)");
        log_info("%s: %" PRId64 " point%s sent in %" PRId64 " batch%s%s, %" PRId64
                 " dead letter%s, %" PRId64 " point%s pending", what, st.sent, pl(st.sent),
                 st.batches_sent, st.batches_sent == 1 ? "" : "es", parts, st.dead_letters,
                 pl(st.dead_letters), st.pending_points, pl(st.pending_points));
    }
    return 0;
}

static int cmd_flush(const opts *o)
{
    char err[SINK_ERR_MAX];
    if (o->common.dry_run) {
        /* touch nothing: say what is pending */
        if (!file_exists(o->common.state)) {
            log_info("dry run: no state file %s; nothing to send", o->common.state);
            return 0;
        }
        spool *sp = spool_open(o->common.state, 0, err, sizeof err);
        if (!sp) {
            log_error("%s", err);
            return EX_CANTCREAT;
        }
        spool_stats st;
        memset(&st, 0, sizeof st);
        int rc = 0;
        if (spool_status(sp, &st, err, sizeof err) != 0) {
            log_error("%s", err);
            rc = EX_TEMPFAIL;
        } else {
            log_info("dry run: %" PRId64 " batch%s (%" PRId64 " point%s) pending; nothing sent",
                     st.pending_batches, st.pending_batches == 1 ? "" : "es", st.pending_points,
                     pl(st.pending_points));
        }
        spool_stats_free(&st);
        spool_close(sp);
        return rc;
    }
    int code = 0;
    sink_opts so = { .job = CF_JOB, .state_path = o->common.state };
    sink *s = sink_open(&so, &code, err, sizeof err);
    if (!s) {
        log_error("%s", err);
        return code ? code : EX_CONFIG;
    }
    return finish_send(s, "flush", o, -1);
}

/* export and replay --dry-run: print stored lines in [from, to]. */
typedef struct export_ctx {
    int64_t from, to;
    bool ranged;
    uint64_t lines;
    int werr;
} export_ctx;

/* Open the state file for a store command; NULL after logging the one error line, with
 * *rc the exit code (locked past the busy timeout 75, not a state file 78, else 73). */
static spool *open_state(const opts *o, int *rc)
{
    char err[SPOOL_ERR_MAX];
    int why = 0;
    spool *sp = spool_open_ex(o->common.state, 0, &why, err, sizeof err);
    if (!sp) {
        log_error("%s", err);
        *rc = why == SPOOL_OPEN_BUSY ? EX_TEMPFAIL
                                     : why == SPOOL_OPEN_BADFILE ? EX_CONFIG : EX_CANTCREAT;
    }
    return sp;
}

static int export_batch(void *ctx, const char *body, size_t len)
{
    export_ctx *x = ctx;
    size_t pos = 0;
    while (pos < len) {
        size_t l = lp_line_len(body + pos, len - pos);   /* a string may hold a newline */
        int64_t t;
        bool has = lp_line_time_ns(body + pos, l, &t) == 0;
        bool keep = has ? (t >= x->from && t <= x->to) : !x->ranged;
        if (keep && l > 0) {
            if (fwrite(body + pos, 1, l, stdout) != l || fputc('\n', stdout) == EOF) {
                x->werr = errno ? errno : EIO;
                return -1;
            }
            x->lines++;
        }
        pos += l + 1;
    }
    return 0;
}

static int export_range(const opts *o, int64_t from, int64_t to, const char *what)
{
    export_ctx x = { .from = from, .to = to, .ranged = o->from || o->to };
    if (!file_exists(o->common.state)) {
        log_info("%s: no state file %s; nothing stored", what, o->common.state);
        return 0;
    }
    char err[SPOOL_ERR_MAX];
    int orc = 0;
    spool *sp = open_state(o, &orc);
    if (!sp)
        return orc;
    int rc = 0;
    int64_t damaged = 0;
    if (spool_foreach_ex(sp, from, to, export_batch, &x, &damaged, err, sizeof err) != 0) {
        if (x.werr) {
            log_error("%s: writing stdout: %s", what, strerror(x.werr));
            rc = EX_IOERR;
        } else {
            log_error("%s", err);
            rc = EX_TEMPFAIL;
        }
    }
    spool_close(sp);
    if (damaged > 0)
        log_warn("%s: %" PRId64 " damaged %s skipped and moved aside (cronflux status shows "
                 "the quarantine)", what, damaged, damaged == 1 ? "batch" : "batches");
    if (rc == 0 && fflush(stdout) != 0) {
        log_error("%s: writing stdout: %s", what, strerror(errno));
        rc = EX_IOERR;
    }
    return rc;
}

static int cmd_export(const opts *o)
{
    int64_t from, to;
    char err[256];
    if (parse_range(o, false, &from, &to, err, sizeof err) != 0) {
        log_error("export: %s", err);
        return EX_USAGE;
    }
    return export_range(o, from, to, "export");
}

static int cmd_replay(const opts *o)
{
    int64_t from, to;
    char err[SINK_ERR_MAX];
    if (parse_range(o, true, &from, &to, err, sizeof err) != 0) {
        log_error("replay: %s", err);
        return EX_USAGE;
    }
    if (o->common.dry_run)
        return export_range(o, from, to, "replay (dry run)");
    influx_cfg icfg;
    int ic = influx_cfg_from_env(&icfg, err, sizeof err);
    influx_cfg_wipe(&icfg);
    if (ic == 0) {
        log_error("replay sends to InfluxDB, which is not configured: set INFLUXDB_URL (or "
                  "INFLUXDB_HOST) and INFLUXDB_DATABASE, or INFLUXDB_TOKEN, INFLUXDB_ORG and "
                  "INFLUXDB_BUCKET");
        return EX_CONFIG;
    }
    int code = 0;
    sink_opts so = { .job = CF_JOB, .state_path = o->common.state };
    sink *s = sink_open(&so, &code, err, sizeof err);
    if (!s) {
        log_error("%s", err);
        return code ? code : EX_CONFIG;
    }
    int64_t before = spool_pending_points(sink_spool(s), err, sizeof err);
    int64_t n = before < 0 ? -1 : spool_requeue(sink_spool(s), from, to, err, sizeof err);
    int64_t after = n < 0 ? -1 : spool_pending_points(sink_spool(s), err, sizeof err);
    if (n < 0 || after < 0) {
        char e2[SINK_ERR_MAX];
        sink_finish(s, EX_TEMPFAIL, "replay: requeue failed", e2, sizeof e2);
        log_error("%s", err);
        return EX_TEMPFAIL;
    }
    char f[32], t[32];
    log_info("replay: %" PRId64 " sent batch%s (%" PRId64 " point%s) from %s to %s put back "
             "to pending", n, n == 1 ? "" : "es", after - before, pl(after - before),
             tparse_format(from, f, sizeof f), tparse_format(to, t, sizeof t));
    return finish_send(s, "replay", o, after - before);
}

/* ---------------------------------------------------------------- dead letters */

#define DL_IDS_MAX 1000

/* "3,7,12" -> ids; -1 with err on anything else. */
static int parse_ids(const char *text, int64_t *ids, size_t cap, size_t *n, char *err,
                     size_t errlen)
{
    *n = 0;
    const char *p = text;
    while (*p) {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (end == p || errno || v <= 0 || (*end && *end != ',')) {
            errf_set(err, errlen, "--id: \"%s\" is not a list of dead-letter ids (like 3,7,12; "
                     "cronflux dead-letters lists them)", text);
            return -1;
        }
        if (*n >= cap) {
            errf_set(err, errlen, "--id: more than %zu ids; use --job or --all", cap);
            return -1;
        }
        ids[(*n)++] = v;
        p = *end ? end + 1 : end;
        if (*end == ',' && !*p) {
            errf_set(err, errlen, "--id: \"%s\" ends with a comma", text);
            return -1;
        }
    }
    if (*n == 0) {
        errf_set(err, errlen, "--id needs one or more ids (like 3,7,12)");
        return -1;
    }
    return 0;
}

typedef struct dl_ctx {
    const char *action;   /* list / export / requeue / drop: how to print */
    bool json;
    int werr;
} dl_ctx;

static int dl_print(void *ctx, const spool_dead *d)
{
    dl_ctx *x = ctx;
    char when[40];
    tparse_format(d->created_ns, when, sizeof when);
    int w;
    if (strcmp(x->action, "export") == 0) {
        w = printf("%.*s\n", (int)d->len, d->line);
    } else if (x->json) {
        json_t *o = json_pack("{s:I, s:s, s:s, s:s#, s:s, s:o}", "id", (json_int_t)d->id,
                              "time", when, "job", d->job, "line", d->line, (int)d->len,
                              "error", d->error, "batch",
                              d->batch_id > 0 ? json_integer(d->batch_id) : json_null());
        char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(o);
        w = text ? printf("%s\n", text) : -1;
        free(text);
    } else {
        w = printf("#%-5" PRId64 " %s  job %s\n       line:   %.*s\n       reason: %s\n", d->id,
                   when, d->job, (int)d->len, d->line, d->error);
    }
    if (w < 0) {
        x->werr = errno ? errno : EIO;
        return -1;
    }
    return 0;
}

static const char *plural(int64_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

static int cmd_dead_letters(const opts *o)
{
    const char *action = o->action ? o->action : "list";
    bool list = strcmp(action, "list") == 0, export = strcmp(action, "export") == 0;
    bool requeue = strcmp(action, "requeue") == 0, drop = strcmp(action, "drop") == 0;
    if (!list && !export && !requeue && !drop) {
        log_error("dead-letters: unknown action \"%s\" (list, export, requeue, drop); try "
                  "cronflux --help", action);
        return EX_USAGE;
    }
    if (o->json && !list) {
        log_error("dead-letters: --json belongs to list; try cronflux --help");
        return EX_USAGE;
    }
    int64_t ids[DL_IDS_MAX];
    char err[SINK_ERR_MAX];
    spool_dead_sel sel = { .job = o->job };
    if (o->ids) {
        size_t n = 0;
        if (parse_ids(o->ids, ids, DL_IDS_MAX, &n, err, sizeof err) != 0) {
            log_error("dead-letters: %s", err);
            return EX_USAGE;
        }
        sel.ids = ids;
        sel.nids = n;
    }
    if (o->all && (o->ids || o->job)) {
        log_error("dead-letters: --all selects every dead letter; leave out --id and --job");
        return EX_USAGE;
    }
    if (drop && !o->all && !o->ids && !o->job) {
        log_error("dead-letters drop forgets lines for good: name them with --id N[,N...] or "
                  "--job J, or say --all");
        return EX_USAGE;
    }
    if (!file_exists(o->common.state)) {
        log_info("no state file %s: no dead letters", o->common.state);
        return 0;
    }
    dl_ctx x = { .action = action, .json = o->json };
    if (list || export || o->common.dry_run) {
        int orc = 0;
        spool *sp = open_state(o, &orc);
        if (!sp)
            return orc;
        int64_t n = spool_dead_foreach(sp, &sel, dl_print, &x, err, sizeof err);
        spool_close(sp);
        if (n < 0 || fflush(stdout) != 0) {
            if (x.werr || n >= 0) {
                log_error("dead-letters: writing stdout: %s", strerror(x.werr ? x.werr : errno));
                return EX_IOERR;
            }
            log_error("%s", err);
            return EX_TEMPFAIL;
        }
        if (o->common.dry_run && (requeue || drop))
            log_info("dry run: %" PRId64 " dead %s would be %s; nothing changed", n,
                     plural(n, "letter", "letters"), requeue ? "requeued" : "dropped");
        else if (list && !o->json)
            log_info("%" PRId64 " dead %s%s", n, plural(n, "letter", "letters"),
                     n ? " (export prints the lines; requeue sends them again once the cause "
                         "is fixed; drop forgets them)" : "");
        else if (export)
            log_info("%" PRId64 " %s exported", n, plural(n, "line", "lines"));
        return 0;
    }
    if (drop) {
        int orc = 0;
        spool *sp = open_state(o, &orc);
        if (!sp)
            return orc;
        int64_t n = spool_dead_drop(sp, &sel, err, sizeof err);
        spool_close(sp);
        if (n < 0) {
            log_error("%s", err);
            return EX_TEMPFAIL;
        }
        log_info("%" PRId64 " dead %s dropped", n, plural(n, "letter", "letters"));
        return 0;
    }
    /* requeue: a run of the store tool, like replay: the lines back to pending, then sent */
    int code = 0;
    sink_opts so = { .job = CF_JOB, .state_path = o->common.state };
    sink *s = sink_open(&so, &code, err, sizeof err);
    if (!s) {
        log_error("%s", err);
        return code ? code : EX_CONFIG;
    }
    int64_t n = spool_dead_requeue(sink_spool(s), &sel, err, sizeof err);
    if (n < 0) {
        char e2[SINK_ERR_MAX];
        sink_finish(s, EX_TEMPFAIL, "dead-letters: requeue failed", e2, sizeof e2);
        log_error("%s", err);
        return EX_TEMPFAIL;
    }
    log_info("dead-letters: %" PRId64 " %s put back to pending", n, plural(n, "line", "lines"));
    return finish_send(s, "dead-letters requeue", o, n);
}

/* ---------------------------------------------------------------- status */

static int cmd_status(const opts *o)
{
    char err[SPOOL_ERR_MAX];
    influx_cfg icfg;
    char ierr[INFLUX_ERR_MAX];
    int ic = influx_cfg_from_env(&icfg, ierr, sizeof ierr);
    char target[700];
    influx_cfg_describe(&icfg, target, sizeof target);
    char api[400] = "";
    if (ic == 1)
        influx_probe_api(&icfg, api, sizeof api);
    influx_cfg_wipe(&icfg);

    spool_stats st;
    memset(&st, 0, sizeof st);
    bool exists = file_exists(o->common.state);
    int rc = 0;
    if (exists) {
        int orc = 0;
        spool *sp = open_state(o, &orc);
        if (!sp)
            return orc;
        if (spool_status(sp, &st, err, sizeof err) != 0) {
            log_error("%s", err);
            spool_close(sp);
            return EX_TEMPFAIL;
        }
        spool_close(sp);
    }

    char oldest[40] = "";
    if (st.pending_batches > 0 && st.oldest_pending_ns)
        tparse_format(st.oldest_pending_ns, oldest, sizeof oldest);

    if (o->json) {
        json_t *runs = json_array();
        for (size_t i = 0; runs && i < st.nruns; i++) {
            const spool_last_run *r = &st.runs[i];
            char s1[40], s2[40];
            json_t *jr = json_pack("{s:s, s:s, s:s?, s:i, s:s, s:I, s:s}", "job", r->job,
                                   "started", tparse_format(r->started_ns, s1, sizeof s1),
                                   "finished",
                                   r->finished_ns ? tparse_format(r->finished_ns, s2, sizeof s2)
                                                  : NULL,
                                   "exit_code", r->exit_code, "status", r->status,
                                   "points", (json_int_t)r->points, "message", r->message);
            if (!jr || json_array_append_new(runs, jr) != 0) {
                json_decref(runs);
                runs = NULL;
            }
        }
        /* one json_pack: s* leaves a key out when its value is NULL, s? writes null */
        json_t *root = !runs ? NULL : json_pack(
            "{s:s, s:b, s:{s:b, s:s*, s:s*, s:s*, s:s*},"
            " s:I, s:I, s:s?, s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
            "state", o->common.state, "state_exists", exists,
            "influxdb",
                "configured", ic == 1,
                "target", ic == 1 ? target : NULL,
                "api", ic == 1 ? api : NULL,
                "error", ic < 0 ? ierr : NULL,
                "note", ic == 0 ? "InfluxDB not configured: points stay in the embedded "
                                  "sqlite store" : NULL,
            "pending_batches", (json_int_t)st.pending_batches,
            "pending_points", (json_int_t)st.pending_points,
            "oldest_pending", oldest[0] ? oldest : NULL,
            "claimed_batches", (json_int_t)st.claimed_batches,
            "sent_batches", (json_int_t)st.sent_batches,
            "sent_points", (json_int_t)st.sent_points,
            "dead_letters", (json_int_t)st.dead_letters,
            "quarantined_batches", (json_int_t)st.quarantined_batches,
            "quarantined_points", (json_int_t)st.quarantined_points,
            "runs", runs);          /* o: root takes the reference, also on failure */
        if (!root) {
            spool_stats_free(&st);
            log_error("out of memory");
            return EX_OSERR;
        }
        char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(root);
        if (!text || printf("%s\n", text) < 0) {
            free(text);
            spool_stats_free(&st);
            log_error("writing stdout failed");
            return EX_IOERR;
        }
        free(text);
    } else {
        printf("state: %s%s\n", o->common.state, exists ? "" : " (not created yet: nothing stored)");
        if (ic == 1)
            printf("influxdb: %s\ninfluxdb api: %s\n", target, api);
        else if (ic == 0)
            printf("influxdb: InfluxDB not configured: points stay in the embedded sqlite store "
                   "(%s)\n", o->common.state);
        else
            printf("influxdb: configuration wrong: %s\n", ierr);
        printf("pending: %" PRId64 " batches, %" PRId64 " points%s%s\n", st.pending_batches,
               st.pending_points, oldest[0] ? ", oldest from " : "", oldest);
        printf("claimed: %" PRId64 " batches\n", st.claimed_batches);
        printf("sent (kept for replay): %" PRId64 " batches, %" PRId64 " points\n",
               st.sent_batches, st.sent_points);
        if (st.quarantined_batches > 0)
            printf("quarantined: %" PRId64 " batches, %" PRId64 " points (stored body damaged: "
                   "moved aside, kept in the state file's quarantine table); newest: %s\n",
                   st.quarantined_batches, st.quarantined_points, st.quarantine_newest);
        printf("dead letters: %" PRId64 "%s\n", st.dead_letters,
               st.dead_letters ? " (lines InfluxDB refused: cronflux dead-letters lists them)" : "");
        printf("last runs:%s\n", st.nruns ? "" : " none");
        for (size_t i = 0; i < st.nruns; i++) {
            const spool_last_run *r = &st.runs[i];
            char s1[40];
            printf("  %-16s %s  exit %-3d %-8s %8" PRId64 " point%s%s%s\n", r->job,
                   tparse_format(r->started_ns, s1, sizeof s1), r->exit_code,
                   r->status[0] ? r->status : (r->finished_ns ? "?" : "running"), r->points, r->points == 1 ? " " : "s",
                   r->message[0] ? "  " : "", r->message);
        }
        if (fflush(stdout) != 0) {
            spool_stats_free(&st);
            log_error("writing stdout: %s", strerror(errno));
            return EX_IOERR;
        }
    }
    spool_stats_free(&st);
    if (ic < 0) {
        log_error("%s", ierr);
        rc = EX_CONFIG;
    }
    return rc;
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    log_init(CF_JOB);
    static const struct option longopts[] = {
        { "format", required_argument, NULL, OPT_FORMAT },
        { "precision", required_argument, NULL, OPT_PRECISION },
        { "no-flush", no_argument, NULL, OPT_NO_FLUSH },
        { "json", no_argument, NULL, OPT_JSON },
        { "from", required_argument, NULL, OPT_FROM },
        { "to", required_argument, NULL, OPT_TO },
        { "job", required_argument, NULL, OPT_JOB },
        { "id", required_argument, NULL, OPT_ID },
        { "all", no_argument, NULL, OPT_ALL },
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    opts o;
    memset(&o, 0, sizeof o);
    char err[512];
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'h':
            o.common.help = true;
            break;
        case OPT_FORMAT: o.format = optarg; break;
        case OPT_PRECISION: o.precision = optarg; break;
        case OPT_NO_FLUSH: o.no_flush = true; break;
        case OPT_JSON: o.json = true; break;
        case OPT_FROM: o.from = optarg; break;
        case OPT_TO: o.to = optarg; break;
        case OPT_JOB: o.job = optarg; break;
        case OPT_ID: o.ids = optarg; break;
        case OPT_ALL: o.all = true; break;
        case ':':
            log_error("%s needs a value; try cronflux --help", argv[optind - 1]);
            return EX_USAGE;
        case '?':
            log_error("unknown option %s; try cronflux --help", argv[optind - 1]);
            return EX_USAGE;
        default: {
            int r = cli_common_opt(&o.common, c, optarg, err, sizeof err);
            if (r <= 0) {
                log_error("%s", r < 0 ? err : "unknown option; try cronflux --help");
                return EX_USAGE;
            }
        }
        }
    }
    if (o.common.help) {
        fputs(USAGE, stdout);
        return fflush(stdout) == 0 ? 0 : EX_IOERR;
    }
    if (o.common.version) {
        printf("cronflux %s\n", CF_VERSION);
        return fflush(stdout) == 0 ? 0 : EX_IOERR;
    }
    if (optind >= argc) {
        log_error("no command given (push, flush, status, replay, export, dead-letters); try "
                  "cronflux --help");
        return EX_USAGE;
    }
    o.cmd = argv[optind];
    if (strcmp(o.cmd, "dead-letters") == 0 && optind + 1 < argc)
        o.action = argv[++optind];
    if (optind + 1 < argc) {
        log_error("%s: unexpected argument \"%s\"; try cronflux --help", o.cmd, argv[optind + 1]);
        return EX_USAGE;
    }
    if (cli_common_env(&o.common, err, sizeof err) != 0) {
        log_error("%s", err);
        return EX_CONFIG;
    }

    bool is_push = strcmp(o.cmd, "push") == 0, is_status = strcmp(o.cmd, "status") == 0;
    bool is_replay = strcmp(o.cmd, "replay") == 0, is_export = strcmp(o.cmd, "export") == 0;
    bool is_flush = strcmp(o.cmd, "flush") == 0, is_dead = strcmp(o.cmd, "dead-letters") == 0;
    if (!is_push && !is_status && !is_replay && !is_export && !is_flush && !is_dead) {
        log_error("unknown command \"%s\" (push, flush, status, replay, export, dead-letters); "
                  "try cronflux --help", o.cmd);
        return EX_USAGE;
    }
    if (!is_dead && (o.job || o.ids || o.all)) {
        log_error("--job, --id and --all belong to dead-letters; try cronflux --help");
        return EX_USAGE;
    }
    if (!is_push && (o.format || o.precision || o.no_flush)) {
        log_error("--format, --precision and --no-flush belong to push; try cronflux --help");
        return EX_USAGE;
    }
    if (!is_status && !is_dead && o.json) {
        log_error("--json belongs to status and dead-letters list; try cronflux --help");
        return EX_USAGE;
    }
    if (!is_replay && !is_export && (o.from || o.to)) {
        log_error("--from and --to belong to replay and export; try cronflux --help");
        return EX_USAGE;
    }

    if (is_status)
        return cmd_status(&o);
    if (is_export)
        return cmd_export(&o);
    if (is_dead && (!o.action || strcmp(o.action, "requeue") != 0 || o.common.dry_run))
        return cmd_dead_letters(&o);

    if (http_global_init(err, sizeof err) != 0) {
        log_error("%s", err);
        return EX_OSERR;
    }
    /* SIGTERM/SIGINT: stop reading, keep what was read, record the run (runtime/sig.h) */
    if (sig_install() != 0)
        log_warn("installing the SIGTERM handler: %s", strerror(errno));
    int rc;
    if (is_push)
        rc = cmd_push(&o);
    else if (is_flush)
        rc = cmd_flush(&o);
    else if (is_dead)
        rc = cmd_dead_letters(&o);
    else
        rc = cmd_replay(&o);
    http_global_cleanup();
    return rc;
}
