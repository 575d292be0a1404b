/* cli: the flags every job binary shares (DESIGN.md "Binaries").
 *
 *   --help, --version, --dry-run, --state PATH, --align D
 *
 * Each main runs getopt_long with its own options plus CLI_COMMON_LONGOPTS and hands
 * every option it does not know to cli_common_opt. Flags win over the environment:
 * cli_common_env fills what no flag gave (CRONFLUX_STATE, CRONFLUX_ALIGN).
 */
#ifndef CF_CLI_H
#define CF_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifndef CF_VERSION
#define CF_VERSION "0.0.0-dev"
#endif

enum { CLI_OPT_HELP = 0x1000, CLI_OPT_VERSION, CLI_OPT_DRY_RUN, CLI_OPT_STATE, CLI_OPT_ALIGN };

#define CLI_COMMON_LONGOPTS                                   \
    { "help", no_argument, NULL, CLI_OPT_HELP },              \
    { "version", no_argument, NULL, CLI_OPT_VERSION },        \
    { "dry-run", no_argument, NULL, CLI_OPT_DRY_RUN },        \
    { "state", required_argument, NULL, CLI_OPT_STATE },      \
    { "align", required_argument, NULL, CLI_OPT_ALIGN }

#define CLI_COMMON_HELP                                                              \
    "  --dry-run        print the line protocol it would write; touch nothing\n"     \
    "  --state PATH     sqlite state file (env CRONFLUX_STATE, default ./cronflux.db)\n" \
    "  --align D        truncate the run's timestamp to a multiple of D (env CRONFLUX_ALIGN)\n" \
    "  --version        print the version\n"                                         \
    "  --help           this text\n"

typedef struct cli_common {
    bool help, version, dry_run;
    const char *state;      /* never NULL after cli_common_env */
    int64_t align_ns;       /* 0: none */
} cli_common;

/* Handle a common option. 1 handled, 0 not a common option, -1 bad value (err set). */
int cli_common_opt(cli_common *c, int opt, const char *arg, char *err, size_t errlen);
/* Fill unset values from the environment and defaults. 0 or -1 (err set). */
int cli_common_env(cli_common *c, char *err, size_t errlen);

/* For every option getopt_long returns that is not the job's own (the `default:` of its
 * switch): a common option is taken; '?' / ':' (unknown option, missing value) or anything
 * else is a usage error. `optname` is what the user typed (argv[optind - 1]).
 * 0, or -1 with err = one line naming the option (exit 64). Call with opterr = 0. */
int cli_common_other(cli_common *c, int opt, const char *arg, const char *optname,
                     char *err, size_t errlen);

/* After the getopt_long loop: an operand left over is a usage error; --help prints the
 * job's usage and --version "JOB VERSION" to stdout; then cli_common_env.
 * Returns CLI_RUN to go on with the job, else the exit code to return now: 0 (help or
 * version printed), 64 (usage, err set) or 78 (environment, err set). */
#define CLI_RUN (-1)
int cli_common_finish(cli_common *c, const char *job, void (*usage)(FILE *out), int argc,
                      char *const argv[], char *err, size_t errlen);

#endif
