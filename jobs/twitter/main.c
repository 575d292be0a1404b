/* twitter-stats: account counters and post metrics from the X API into cronflux.
 *
 * Reads with OAuth 1.0a user context (X API v2 by default, --api 1.1 for apps that still
 * have v1.1 access), turns what it read into points (tw_points), and hands them to the
 * sink, which keeps them in the spool and sends them to InfluxDB. See --help.
 *
 * This file is the order of things: options (tw_opts.c), credentials (tw_creds.c), the
 * client and the sink, the run (tw_run.c with the fetches of tw_fetch_v2.c or
 * tw_fetch_v1.c), and the one error line and exit code.
 */
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../runtime/http.h"
#include "../../runtime/log.h"
#include "../../runtime/sig.h"
#include "tw_job.h"
#include "../../runtime/exitcode.h"
#include "../../runtime/clock.h"

#define PL(n) ((n) == 1 ? "" : "s")

/* The run's summary ("N users, N posts, N pages, N requests" and what went wrong). */
static void summarize(const tw_run *r, int job_rc, char *out, size_t cap)
{
    const tw_client_stats *st = tw_client_get_stats(r->c);
    char cost[128] = "", an[48] = "";
    if (r->o->analytics && snprintf(an, sizeof an, ", %ld analytics bucket%s", r->n_buckets,
                                    PL(r->n_buckets)) < 0)
        an[0] = '\0';
    if (r->bill && r->o->api != 1 && snprintf(cost, sizeof cost, ", $%.4f estimated (today $%.4f%s)",
                            tw_bill_spent_run(r->bill), tw_bill_spent_today(r->bill),
                            r->budget_stop ? ", daily budget reached" : "") < 0)
        cost[0] = '\0';
    if (snprintf(out, cap, "%ld user%s, %ld post%s, %ld page%s%s, %ld request%s%s%s%s%s", r->n_users,
                 PL(r->n_users), r->n_posts, PL(r->n_posts), r->n_pages, PL(r->n_pages), an,
                 st->requests, PL(st->requests), cost,
                 job_rc ? "; " : (r->n_partial ? "; partial: " : ""), job_rc ? r->msg : "",
                 !job_rc && r->n_partial ? r->first_partial : "") < 0)
        out[0] = '\0';
}

/* Open the sink, run, finish the sink. The process exit code. */
static int run_and_store(tw_run *r, const tw_opts *o)
{
    int64_t start_ns = clock_mono_ns();
    sink_opts so = { .job = TW_JOB, .state_path = o->cc.state, .dry_run = o->cc.dry_run };
    char serr[SINK_ERR_MAX];
    int exit_code = 0;
    r->s = sink_open(&so, &exit_code, serr, sizeof serr);
    if (!r->s) {
        log_error("%s", serr);
        return exit_code;
    }
    if (o->cc.align_ns > 0)
        sink_set_align(r->s, o->cc.align_ns);
    r->t_ns = sink_run_time_ns(r->s);
    if (o->backfill) {
        int64_t every = 0;
        char perr[160];
        if (progress_every_from_env(&every, perr, sizeof perr) != 0) {
            log_error("%s", perr);
            sink_finish(r->s, EX_CONFIG, perr, serr, sizeof serr);
            r->s = NULL;
            return EX_CONFIG;
        }
        r->progress_on = true;
        progress_start(&r->pg, isatty(STDERR_FILENO), every, clock_mono_ns());
    }

    int job_rc = tw_run_job(r);
    if (job_rc == 0 && r->n_partial && o->strict) {
        job_rc = EX_DATAERR;
        tw_run_msg(r, "%ld error(s) in the API's answers (--strict): %s", r->n_partial,
                   r->first_partial);
    }
    if (job_rc == 0 && r->budget_stop)
        sink_set_status(r->s, "budget");    /* stopped on purpose: exit 0 */
    char summary[TW_RUN_MSG_MAX];
    summarize(r, job_rc, summary, sizeof summary);
    if (job_rc && !r->store_failed)
        log_error("%s", r->msg);
    sink_stats fin;
    memset(&fin, 0, sizeof fin);
    exit_code = sink_finish_ex(r->s, job_rc, summary, &fin, serr, sizeof serr);
    r->s = NULL;
    /* one line: the store's failure is said by sink_finish when it knows how many points
     * were not stored, else by the run */
    if (r->store_failed)
        log_error("%s", serr[0] ? serr : r->msg);
    else if (exit_code != 0 && (job_rc == 0 || exit_code != job_rc))
        log_error("%s", serr[0] ? serr : "storing the points failed");
    if (exit_code == 0 || exit_code == EX_TEMPFAIL) {
        /* the one summary line: read, written, pending, how long */
        if (job_rc)
            summarize(r, 0, summary, sizeof summary);
        log_info("%s; %" PRId64 " point%s, %" PRId64 " sent to InfluxDB, %" PRId64
                 " pending; %.1fs", summary, fin.points, PL(fin.points), fin.sent, fin.pending_points,
                 (double)(clock_mono_ns() - start_ns) / 1e9);
    }
    return exit_code;
}

int main(int argc, char **argv)
{
    /* Each page's JSON tree is freed before the next is read; with glibc's default trim
     * threshold the heap is given back and faulted in again every page. The process is
     * short-lived: keep up to 64 MB of free heap instead. */
    (void)mallopt(M_TRIM_THRESHOLD, 64 << 20);
    log_init(TW_JOB);
    static tw_opts o;
    static tw_creds cr;
    char err[TW_RUN_MSG_MAX];
    int exit_code = tw_opts_parse(&o, argc, argv, err, sizeof err);
    if (exit_code != CLI_RUN) {
        if (err[0])
            log_error("%s", err);
        goto out;
    }
    if ((exit_code = tw_creds_read(&cr, err, sizeof err)) != 0) {
        log_error("%s", err);
        goto out;
    }
    if (http_global_init(err, sizeof err) != 0) {
        log_error("%s", err);
        exit_code = EX_SOFTWARE;
        goto out;
    }
    /* SIGTERM/SIGINT: stop reading, keep what was read, record the run (runtime/sig.h) */
    if (sig_install() != 0)
        log_warn("installing the SIGTERM handler failed");
    tw_run r;
    memset(&r, 0, sizeof r);
    r.o = &o;
    r.ops = o.api == 1 ? &tw_ops_v1 : &tw_ops_v2;
    memcpy(r.token_user_id, cr.token_user_id, sizeof r.token_user_id);
    tw_client_opts co = { .base_url = o.api_url,
                          .creds = { cr.ck, cr.cs, cr.tk, cr.ts },
                          .app_names = cr.app_names,
                          .user_names = cr.user_names,
                          .max_wait_ns = o.max_wait_ns,
                          .retries = o.retries,
                          .ca_file = cfg_env("TWITTER_CA_FILE"),
                          .bearer_token = cr.bearer[0] ? cr.bearer : NULL };
    r.c = tw_client_new(&co, err, sizeof err);
    tw_creds_wipe(&cr);         /* the client keeps its own copies */
    if (!r.c) {
        log_error("%s", err);
        exit_code = EX_CONFIG;
    } else {
        exit_code = run_and_store(&r, &o);
    }
    tw_run_free(&r);
    tw_client_free(r.c);
    oauth1_global_cleanup();
    http_global_cleanup();
out:
    tw_creds_wipe(&cr);
    tw_opts_free(&o);
    return exit_code;
}
