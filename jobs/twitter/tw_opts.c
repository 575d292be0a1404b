/* tw_opts: twitter-stats' options, its time range and its account list (see tw_job.h). */
#include <ctype.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../runtime/errf.h"
#include "../../runtime/log.h"
#include "../../runtime/slice.h"
#include "../../runtime/tparse.h"
#include "tw_job.h"
#include "../../runtime/exitcode.h"
#include "../../runtime/clock.h"

static const char usage[] =
    "usage: twitter-stats [options]\n"
    "\n"
    "Reads the counters of X (Twitter) accounts and the metrics of their recent posts and\n"
    "writes them as points: twitter_user (tags user, user_id; followers, following, posts,\n"
    "listed, likes, media) and twitter_post (tags user, post_id; likes, reposts, replies,\n"
    "quotes, impressions, bookmarks where the API gives them), stamped with the run's time,\n"
    "and what the run cost: twitter_usage (tags endpoint, owned; requests, resources,\n"
    "billable, cost_usd).\n"
    "\n"
    "Accounts: --users / TWITTER_USERS (comma-separated; TWITTER_USER too), else the account\n"
    "the access token belongs to (GET /2/users/me).\n"
    "\n"
    "options:\n"
    "  -u, --users LIST    accounts to read, comma-separated (env TWITTER_USERS, TWITTER_USER)\n"
    "  --api 2|1.1         X API version (default 2); 1.1 only for apps that still have it\n"
    "  --schema S          cronflux (default) or twittergraph: one measurement per counter\n"
    "                      (followers_count, friends_count, listed_count, favourites_count,\n"
    "                      statuses_count; field value, tag user) as twittergraph wrote; no posts\n"
    "  --lookback D        how far back a scheduled run re-reads post metrics (default 7d);\n"
    "                      given, it also re-reads posts read earlier this UTC day\n"
    "  --since T           backfill: read every post created from T ...\n"
    "  --until T           ... to T (default now); metrics as of now; resumable (the API\n"
    "                      serves an account's newest 3200 posts); in an Indexed Job each\n"
    "                      pod takes its slice (JOB_COMPLETION_INDEX of CRONFLUX_SLICES)\n"
    "  --fresh             backfill: ignore the progress saved by an earlier run of this range\n"
    "  --no-posts          read the account counters only\n"
    "  --analytics G       also read GET /2/tweets/analytics buckets (G: hourly, daily,\n"
    "                      weekly, total) of the accounts' posts over --lookback, or over\n"
    "                      --since/--until (resumable): twitter_post_analytics points\n"
    "  --daily-budget USD  send no request that could take this UTC day's estimated spend\n"
    "                      over USD (env TWITTER_DAILY_BUDGET_USD); the run then exits 0\n"
    "                      with status=budget\n"
    "  --force             send requests even after X answered UsageCapExceeded today\n"
    "  --max-wait D        longest wait for a rate-limit window (default 0: stop with 75)\n"
    "  --strict            exit 65 when an answer carried an errors array (see below)\n"
    "  --api-url URL       API base URL (env TWITTER_API_URL, default https://api.twitter.com)\n"
    "  --retries N         retries after a network error or 5xx (default 2)\n"
    CLI_COMMON_HELP
    "\n"
    "environment:\n"
    "  TWITTER_API_KEY, TWITTER_API_SECRET, TWITTER_ACCESS_TOKEN, TWITTER_ACCESS_SECRET\n"
    "  (or API_KEY, API_SECRET, ACCESS_TOKEN, ACCESS_SECRET; each also as NAME_FILE),\n"
    "  TWITTER_API_URL, TWITTER_USERS / TWITTER_USER, TWITTER_CA_FILE (a private CA for\n"
    "  TWITTER_API_URL), TWITTER_BEARER_TOKEN (optional, also _FILE: records X's own count\n"
    "  of the project's usage from GET /2/usage/tweets as twitter_project_usage),\n"
    "  TWITTER_PRICE_POST_READ (default 0.005), TWITTER_PRICE_USER_READ (0.010),\n"
    "  TWITTER_PRICE_OWNED_READ (0.001) in US dollars, CRONFLUX_STATE, CRONFLUX_ALIGN,\n"
    "  CRONFLUX_PROGRESS (a backfill's progress line when not on a terminal, every 5 s;\n"
    "  0: none),\n"
    "  INFLUXDB_* (see the README), DEBUG=1 (requests, with signature and tokens redacted)\n"
    "\n"
    "A scheduled run reads the posts created in the last --lookback, and every post newer\n"
    "than the newest one an earlier run saw (a checkpoint in the state file), so a stopped\n"
    "CronJob catches up. Points carry the run's time truncated to --align, so a retried run\n"
    "overwrites its points. Rate limits are read from x-rate-limit-* headers: a request the\n"
    "window cannot take is not sent. non_public_metrics and organic_metrics (impressions)\n"
    "are asked for the posts of the account the access token belongs to (GET /2/users/me,\n"
    "or the numeric prefix X gives its access tokens) when they are at most 30 days old.\n"
    "\n"
    "An answer of 200 that carries an errors array (an account not found, suspended or\n"
    "protected) writes what it could, logs one warning per error, and exits 0 - the other\n"
    "accounts keep being recorded; with --strict it exits 65 instead. When not one of the\n"
    "accounts can be read the run exits 78 (the list is wrong).\n"
    "\n"
    "Cost (X's pay-per-use pricing): each post or user returned is billed once per UTC day;\n"
    "the account the access token belongs to is read through the cheaper owned-read\n"
    "endpoint. The state file remembers what was read today, so the estimate counts a\n"
    "resource once, and a later run of the day reads only posts newer than those. A 429\n"
    "UsageCapExceeded (the monthly cap or spending limit) exits 75 and no request is sent\n"
    "until the next UTC day (--force tries earlier).\n"
    "\n"
    "exit codes: 0 done; 64 usage; 65 the API sent data that does not parse (or over the\n"
    "8 MiB cap); 69 the API is unreachable; 75 rate limited, usage cap, the API failing\n"
    "(5xx) or not answering in time, or InfluxDB down: points read are safe in the spool,\n"
    "run again later; 77 credentials refused; 78 configuration missing or wrong.\n";

enum { OPT_API = 1, OPT_SCHEMA, OPT_LOOKBACK, OPT_SINCE, OPT_UNTIL, OPT_MAXWAIT, OPT_STRICT,
       OPT_APIURL, OPT_RETRIES, OPT_NOPOSTS, OPT_FRESH, OPT_BUDGET, OPT_FORCE, OPT_ANALYTICS };

/* A usage error: err = "WHAT: \"ARG\": HINT (see --help)" (no quotes and hint when
 * hint is NULL: arg is then a message); returns 64. */
static int usage_error(char *err, size_t errlen, const char *what, const char *arg,
                       const char *hint)
{
    if (hint)
        errf_set(err, errlen, "%s: \"%s\": %s (see --help)", what, arg, hint);
    else
        errf_set(err, errlen, "%s%s%s (see --help)", what, arg[0] ? ": " : "", arg);
    return EX_USAGE;
}

/* A non-negative amount of US dollars ("0.50", "2"). 0 or -1. */
static int parse_usd(const char *s, double *out)
{
    char *end = NULL;
    double v = strtod(s, &end);
    if (!s[0] || !end || *end || end == s || !(v >= 0) || v > 1e6)
        return -1;
    *out = v;
    return 0;
}

/* The budget and the prices: flags, then the environment. CLI_RUN, 64 or 78. */
static int parse_money(tw_opts *o, const char *budget_arg, char *err, size_t errlen)
{
    if (budget_arg) {
        if (parse_usd(budget_arg, &o->daily_budget_usd) != 0)
            return usage_error(err, errlen, "--daily-budget", budget_arg,
                               "an amount of US dollars, e.g. 0.50");
        o->has_budget = true;
    } else if ((budget_arg = cfg_env("TWITTER_DAILY_BUDGET_USD"))) {
        if (parse_usd(budget_arg, &o->daily_budget_usd) != 0) {
            errf_set(err, errlen, "TWITTER_DAILY_BUDGET_USD: \"%.40s\": an amount of US dollars, "
                     "e.g. 0.50", budget_arg);
            return EX_CONFIG;
        }
        o->has_budget = true;
    }
    static const struct { const char *env; size_t off; double def; } prices[] = {
        { "TWITTER_PRICE_POST_READ", offsetof(tw_prices, post_read), TW_PRICE_POST_READ },
        { "TWITTER_PRICE_USER_READ", offsetof(tw_prices, user_read), TW_PRICE_USER_READ },
        { "TWITTER_PRICE_OWNED_READ", offsetof(tw_prices, owned_read), TW_PRICE_OWNED_READ },
    };
    for (size_t i = 0; i < sizeof prices / sizeof prices[0]; i++) {
        double *v = (double *)((char *)&o->prices + prices[i].off);
        *v = prices[i].def;
        const char *e = cfg_env(prices[i].env);
        if (e && parse_usd(e, v) != 0) {
            errf_set(err, errlen, "%s: \"%.40s\": a price in US dollars, e.g. %.3f", prices[i].env,
                     e, prices[i].def);
            return EX_CONFIG;
        }
    }
    return CLI_RUN;
}

static void print_usage(FILE *out)
{
    fputs(usage, out);
}

static int valid_username(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= TW_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_')
            return 0;
    return 1;
}

/* Split "a, @b,c" into names. 0, or -1 with err. */
static int parse_users(const char *list, const char *source, tw_names *out, char *err,
                       size_t errlen)
{
    out->v = NULL;
    out->n = 0;
    if (!list)
        return 0;
    size_t max = 1;
    for (const char *p = list; *p; p++)
        max += *p == ',';
    if (max > TW_MAX_USERS) {
        errf_set(err, errlen, "%s: more than %d accounts; split them over several CronJobs",
                 source, TW_MAX_USERS);
        return -1;
    }
    out->v = calloc(max, sizeof *out->v);
    if (!out->v) {
        errf_set(err, errlen, "out of memory");
        return -1;
    }
    const char *p = list;
    while (*p) {
        size_t len = strcspn(p, ",");
        const char *a = p, *b = p + len;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        if (a < b && *a == '@')
            a++;
        if (b > a) {
            char name[TW_NAME_MAX];
            size_t nl = (size_t)(b - a);
            if (nl >= sizeof name) {
                errf_set(err, errlen, "%s: an account name is longer than %d characters",
                         source, TW_NAME_MAX - 1);
                return -1;
            }
            memcpy(name, a, nl);
            name[nl] = '\0';
            if (!valid_username(name)) {
                errf_set(err, errlen, "%s: \"%.40s\" is not an X username (letters, digits, _)",
                         source, name);
                return -1;
            }
            bool dup = false;
            for (size_t i = 0; i < out->n; i++)
                dup |= strcasecmp(out->v[i], name) == 0;
            if (!dup)
                memcpy(out->v[out->n++], name, nl + 1);
        }
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

/* --since/--until and this pod's slice of them. CLI_RUN, 0 (empty slice) or an exit code. */
static int parse_range(tw_opts *o, char *err, size_t errlen)
{
    char e[TW_RUN_MSG_MAX];
    if (o->until && !o->since)
        return usage_error(err, errlen, "--until needs --since", "", NULL);
    if (!o->since)
        return CLI_RUN;
    if (tparse_time(o->since, o->now_ns, &o->since_ns, e, sizeof e) != 0)
        return usage_error(err, errlen, "--since", e, NULL);
    o->until_ns = o->now_ns;
    if (o->until && tparse_time(o->until, o->now_ns, &o->until_ns, e, sizeof e) != 0)
        return usage_error(err, errlen, "--until", e, NULL);
    if (o->until_ns > o->now_ns)
        o->until_ns = o->now_ns;
    if (o->since_ns >= o->until_ns)
        return usage_error(err, errlen, "--since must be before --until (and before now)", "", NULL);
    /* whole seconds: the API takes RFC 3339 seconds, and the checkpoint key uses them */
    o->since_ns -= o->since_ns % TPARSE_NS_PER_S;
    o->until_ns -= o->until_ns % TPARSE_NS_PER_S;
    /* a pod of an Indexed Job takes its slice [since, until) of the range; the API's
     * start_time is inclusive and end_time exclusive, so slices meet without overlap */
    int sl = slice_from_env(&o->since_ns, &o->until_ns, TPARSE_NS_PER_S, err, errlen);
    if (sl < 0)
        return EX_CONFIG;
    if (sl == 1) {
        char a[40], b[40];
        const char *idx = cfg_env("JOB_COMPLETION_INDEX"), *cnt = cfg_env("CRONFLUX_SLICES");
        log_info("backfill slice %s of %s: %s to %s", idx ? idx : "?", cnt ? cnt : "?",
                 tparse_format(o->since_ns, a, sizeof a), tparse_format(o->until_ns, b, sizeof b));
        if (o->since_ns >= o->until_ns) {
            log_info("this slice is empty; nothing to read");
            errf_set(err, errlen, "%s", "");
            return 0;
        }
    }
    o->backfill = true;
    o->range_moves = tparse_is_relative(o->since) || !o->until || tparse_is_relative(o->until);
    return CLI_RUN;
}

int tw_opts_parse(tw_opts *o, int argc, char **argv, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    errf_set(err, errlen, "%s", "");
    o->api = 2;
    o->retries = 2;
    o->lookback_ns = (int64_t)7 * 86400 * TPARSE_NS_PER_S;
    const char *lookback_arg = NULL, *maxwait_arg = NULL, *budget_arg = NULL;

    static const struct option longopts[] = {
        { "users", required_argument, NULL, 'u' },
        { "api", required_argument, NULL, OPT_API },
        { "schema", required_argument, NULL, OPT_SCHEMA },
        { "lookback", required_argument, NULL, OPT_LOOKBACK },
        { "since", required_argument, NULL, OPT_SINCE },
        { "until", required_argument, NULL, OPT_UNTIL },
        { "max-wait", required_argument, NULL, OPT_MAXWAIT },
        { "strict", no_argument, NULL, OPT_STRICT },
        { "api-url", required_argument, NULL, OPT_APIURL },
        { "retries", required_argument, NULL, OPT_RETRIES },
        { "no-posts", no_argument, NULL, OPT_NOPOSTS },
        { "fresh", no_argument, NULL, OPT_FRESH },
        { "daily-budget", required_argument, NULL, OPT_BUDGET },
        { "force", no_argument, NULL, OPT_FORCE },
        { "analytics", required_argument, NULL, OPT_ANALYTICS },
        CLI_COMMON_LONGOPTS,
        { NULL, 0, NULL, 0 },
    };
    char e[TW_RUN_MSG_MAX];
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":u:", longopts, NULL)) != -1) {
        switch (opt) {
        case 'u': o->users = optarg; break;
        case OPT_API:
            if (strcmp(optarg, "2") == 0)
                o->api = 2;
            else if (strcmp(optarg, "1.1") == 0)
                o->api = 1;
            else
                return usage_error(err, errlen, "--api", optarg, "use 2 or 1.1");
            break;
        case OPT_SCHEMA:
            if (strcmp(optarg, "cronflux") == 0)
                o->schema = TW_SCHEMA_CRONFLUX;
            else if (strcmp(optarg, "twittergraph") == 0)
                o->schema = TW_SCHEMA_TWITTERGRAPH;
            else
                return usage_error(err, errlen, "--schema", optarg, "use cronflux or twittergraph");
            break;
        case OPT_LOOKBACK: lookback_arg = optarg; break;
        case OPT_SINCE: o->since = optarg; break;
        case OPT_UNTIL: o->until = optarg; break;
        case OPT_MAXWAIT: maxwait_arg = optarg; break;
        case OPT_STRICT: o->strict = true; break;
        case OPT_APIURL: o->api_url = optarg; break;
        case OPT_NOPOSTS: o->no_posts = true; break;
        case OPT_FRESH: o->fresh = true; break;
        case OPT_BUDGET: budget_arg = optarg; break;
        case OPT_FORCE: o->force = true; break;
        case OPT_ANALYTICS:
            if (strcmp(optarg, "hourly") != 0 && strcmp(optarg, "daily") != 0 &&
                strcmp(optarg, "weekly") != 0 && strcmp(optarg, "total") != 0)
                return usage_error(err, errlen, "--analytics", optarg,
                                   "use hourly, daily, weekly or total");
            o->analytics = optarg;
            break;
        case OPT_RETRIES: {
            char *end = NULL;
            long v = strtol(optarg, &end, 10);
            if (!end || *end || end == optarg || v < 0 || v > 10)
                return usage_error(err, errlen, "--retries", optarg, "a number from 0 to 10");
            o->retries = (int)v;
            break;
        }
        default:
            if (cli_common_other(&o->cc, opt, optarg, argv[optind - 1], err, errlen) != 0)
                return EX_USAGE;
        }
    }
    int done = cli_common_finish(&o->cc, TW_JOB, print_usage, argc, argv, err, errlen);
    if (done != CLI_RUN)
        return done;
    if (lookback_arg && tparse_duration(lookback_arg, &o->lookback_ns, e, sizeof e) != 0)
        return usage_error(err, errlen, "--lookback", e, NULL);
    o->lookback_given = lookback_arg != NULL;
    if (maxwait_arg) {
        if (strcmp(maxwait_arg, "0") == 0)
            o->max_wait_ns = 0;
        else if (tparse_duration(maxwait_arg, &o->max_wait_ns, e, sizeof e) != 0)
            return usage_error(err, errlen, "--max-wait", e, NULL);
    }
    if (o->analytics && o->api == 1)
        return usage_error(err, errlen, "--analytics needs X API v2 (it has no v1.1 form)", "", NULL);
    int rc = parse_money(o, budget_arg, err, errlen);
    if (rc != CLI_RUN)
        return rc;
    o->now_ns = clock_real_ns();
    rc = parse_range(o, err, errlen);
    if (rc != CLI_RUN)
        return rc;

    /* accounts: flag, then TWITTER_USERS, then twittergraph's TWITTER_USER */
    const char *users = o->users;
    o->users_src = "--users";
    if (!users && (users = cfg_env("TWITTER_USERS")))
        o->users_src = "TWITTER_USERS";
    if (!users && (users = cfg_env("TWITTER_USER")))
        o->users_src = "TWITTER_USER";
    if (!users)
        o->users_src = "TWITTER_USERS";
    /* a bad flag value is a usage error; a bad variable is configuration */
    if (parse_users(users, o->users_src, &o->names, err, errlen) != 0)
        return o->users ? EX_USAGE : EX_CONFIG;
    if (!o->api_url)
        o->api_url = cfg_env("TWITTER_API_URL");
    if (!o->api_url)
        o->api_url = "https://api.twitter.com";
    return CLI_RUN;
}

void tw_opts_free(tw_opts *o)
{
    free(o->names.v);
    o->names.v = NULL;
    o->names.n = 0;
}
