/* cluster-metrics: nodes, pods and their usage from the Kubernetes API, as points.
 * See jobs/cluster/README.md and DESIGN.md. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../store/sink.h"
#include "../../runtime/cfg.h"
#include "../../runtime/cli.h"
#include "../../runtime/errf.h"
#include "../../runtime/http.h"
#include "../../runtime/log.h"
#include "../../runtime/sig.h"
#include "../../runtime/tparse.h"
#include "k8s_api.h"
#include "k8s_collect.h"
#include "../../runtime/exitcode.h"
#include "../../runtime/clock.h"

#define JOB "cluster-metrics"
#define PAGE_MAX 10000

enum { OPT_CLUSTER = 1, OPT_PAGE_SIZE };

static void usage(FILE *f)
{
    fprintf(f,
            "usage: " JOB " [--cluster NAME] [--page-size N] [--dry-run] [--state PATH] [--align D]\n"
            "\n"
            "Reads nodes and pods (and their usage from metrics.k8s.io when it is served) from\n"
            "the Kubernetes API and writes k8s_node, k8s_pod and k8s_namespace points.\n"
            "\n"
            "  --cluster NAME   the cluster tag (env CLUSTER_NAME, default \"default\")\n"
            "  --page-size N    items per list request (limit=, 1..%d, default 500)\n"
            CLI_COMMON_HELP
            "\n"
            "Where the API is:\n"
            "  KUBE_API_URL          e.g. http://127.0.0.1:8001 (kubectl proxy) or https://host:6443\n"
            "  KUBE_TOKEN_FILE       bearer token file (or KUBE_TOKEN), read on each run\n"
            "  KUBE_CA_FILE          CA bundle for the API's certificate (else the system store)\n"
            "  in a pod, without KUBE_API_URL: KUBERNETES_SERVICE_HOST/_PORT and the service\n"
            "  account's token, ca.crt and namespace in KUBE_SA_DIR\n"
            "  (default " K8S_SA_DIR_DEFAULT ")\n"
            "\n"
            "Exit: 0 done, 64 usage, 65 the API sent data that does not parse, 69 unreachable\n"
            "(TLS refused too), 73 state file, 75 rate limited (429), a server error (5xx) or no\n"
            "answer in time: points spooled for the next run, 77 token refused (401) or\n"
            "forbidden (403), 78 configuration missing or wrong.\n",
            PAGE_MAX);
}

static int parse_page_size(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > PAGE_MAX)
        return -1;
    *out = (int)v;
    return 0;
}

int main(int argc, char **argv)
{
    int64_t t0 = clock_mono_ns();
    log_init(JOB);
    static const struct option longopts[] = {
        { "cluster", required_argument, NULL, OPT_CLUSTER },
        { "page-size", required_argument, NULL, OPT_PAGE_SIZE },
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    cli_common cc = { 0 };
    const char *cluster = NULL;
    int page_size = 500, opt;
    char err[1024];
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case OPT_CLUSTER:
            cluster = optarg;
            break;
        case OPT_PAGE_SIZE:
            if (parse_page_size(optarg, &page_size) != 0) {
                log_error("--page-size: want a number from 1 to %d", PAGE_MAX);
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
    if (!cluster)
        cluster = cfg_env("CLUSTER_NAME");
    if (!cluster)
        cluster = "default";

    k8s_config kc;
    int rc = k8s_config_load(&kc, err, sizeof err);
    if (rc != 0) {
        log_error("%s", err);
        return rc;
    }
    if (http_global_init(err, sizeof err) != 0) {
        log_error("%s", err);
        return EX_UNAVAILABLE;
    }
    /* SIGTERM/SIGINT: stop reading, keep what was read, record the run (runtime/sig.h) */
    if (sig_install() != 0)
        log_warn("installing the SIGTERM handler failed");
    k8s_api *api = k8s_api_new(&kc, NULL, &rc, err, sizeof err);
    if (!api) {
        log_error("%s", err);
        http_global_cleanup();
        return rc;
    }
    sink_opts so = { .job = JOB, .state_path = cc.state, .dry_run = cc.dry_run };
    int ec = 0;
    sink *s = sink_open(&so, &ec, err, sizeof err);
    if (!s) {
        log_error("%s", err);
        k8s_api_free(api);
        http_global_cleanup();
        return ec ? ec : 73;
    }
    sink_set_align(s, cc.align_ns);

    k8s_collect_opts co = { .cluster = cluster, .page_size = page_size, .max_restarts = -1 };
    k8s_collect_stats st;
    rc = k8s_collect(api, s, &co, &st, err, sizeof err);
    if (rc != 0 && sig_stop_requested()) {   /* the lists were cut short: keep what was read */
        rc = EX_TEMPFAIL;
        errf_set(err, sizeof err, "stopped by %s: the %" PRId64 " points read are stored; the "
                 "next run reads the cluster again", sig_name(), st.points);
    }
    if (st.metrics_absent)
        log_warn("metrics.k8s.io is not served (%s): cpu_usage_millicores and "
                 "memory_usage_bytes are left out; install metrics-server to get them",
                 st.metrics_note);
    if (rc == EX_DATAERR && st.bad > 0 && st.first_bad[0])
        log_error("%s (%" PRId64 " object%s left out, the rest written)", st.first_bad, st.bad,
                  st.bad == 1 ? "" : "s");
    else if (rc != 0 && !st.store_failed)
        log_error("%s", err);
    if (st.rejected > 0)
        log_warn("%" PRId64 " points refused by the encoder (DEBUG=1 says why)", st.rejected);

    char summary[256];
    int n = snprintf(summary, sizeof summary,
                     "%" PRId64 " nodes, %" PRId64 " pods, %" PRId64 " namespaces, %" PRId64
                     " points, %d pages, %d list restarts (410 Gone)",
                     st.nodes, st.pods, st.namespaces, st.points, st.pages, st.restarts);
    if (n < 0)
        summary[0] = '\0';
    char ferr[SINK_ERR_MAX];
    ferr[0] = '\0';
    sink_stats fin;
    memset(&fin, 0, sizeof fin);
    bool configured = sink_influx_configured(s), dry = cc.dry_run;
    int final = sink_finish_ex(s, rc, summary, &fin, ferr, sizeof ferr);
    /* one line for a store failure: the sink's, which counts the points not stored */
    if (st.store_failed)
        log_error("%s", ferr[0] ? ferr : err);
    else if (final != rc && ferr[0])
        log_error("%s", ferr);
    /* the one summary line: read, written, pending, how long */
    double took = (double)(clock_mono_ns() - t0) / 1e9;
    if (rc == 0 && dry)
        log_info("%s; dry run, nothing stored; %.1fs", summary, took);
    else if (rc == 0 && !configured)
        log_info("%s; stored, InfluxDB not configured: %" PRId64 " pending in the spool; %.1fs",
                 summary, fin.pending_points, took);
    else if (rc == 0 || final == EX_TEMPFAIL)
        log_info("%s; %" PRId64 " sent to InfluxDB, %" PRId64 " pending; %.1fs", summary,
                 fin.sent, fin.pending_points, took);
    k8s_api_free(api);
    http_global_cleanup();
    return final;
}
