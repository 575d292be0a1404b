/* cli: the flags every job binary shares (see cli.h). */
#include "cli.h"
#include "errf.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>

#include "cfg.h"
#include "tparse.h"
#include "exitcode.h"

int cli_common_opt(cli_common *c, int opt, const char *arg, char *err, size_t errlen)
{
    char why[256];
    switch (opt) {
    case CLI_OPT_HELP:
        c->help = true;
        return 1;
    case CLI_OPT_VERSION:
        c->version = true;
        return 1;
    case CLI_OPT_DRY_RUN:
        c->dry_run = true;
        return 1;
    case CLI_OPT_STATE:
        if (!arg || !*arg) {
            errf_set(err, errlen, "--state: needs a file path");
            return -1;
        }
        c->state = arg;
        return 1;
    case CLI_OPT_ALIGN: {
        int64_t d;
        if (!arg || tparse_duration(arg, &d, why, sizeof why) != 0) {
            errf_set(err, errlen, "--align: %s", arg ? why : "needs a duration");
            return -1;
        }
        c->align_ns = d;
        return 1;
    }
    default:
        return 0;
    }
}

int cli_common_env(cli_common *c, char *err, size_t errlen)
{
    char why[256];
    if (!c->state) {
        const char *s = cfg_env("CRONFLUX_STATE");
        c->state = s ? s : "./cronflux.db";
    }
    if (c->align_ns == 0) {
        const char *a = cfg_env("CRONFLUX_ALIGN");
        int64_t d;
        if (a) {
            if (tparse_duration(a, &d, why, sizeof why) != 0) {
                errf_set(err, errlen, "CRONFLUX_ALIGN: %s", why);
                return -1;
            }
            c->align_ns = d;
        }
    }
    return 0;
}

int cli_common_other(cli_common *c, int opt, const char *arg, const char *optname,
                     char *err, size_t errlen)
{
    if (!optname)
        optname = "?";
    if (opt == ':') {
        errf_set(err, errlen, "%s needs a value (see --help)", optname);
        return -1;
    }
    int r = opt == '?' ? 0 : cli_common_opt(c, opt, arg, err, errlen);
    if (r < 0)
        return -1;
    if (r == 0) {
        errf_set(err, errlen, "unknown option or missing value: %s (see --help)", optname);
        return -1;
    }
    return 0;
}

int cli_common_finish(cli_common *c, const char *job, void (*usage)(FILE *out), int argc,
                      char *const argv[], char *err, size_t errlen)
{
    if (optind < argc) {
        errf_set(err, errlen, "unexpected argument \"%s\" (see --help)", argv[optind]);
        return EX_USAGE;
    }
    if (c->help) {
        usage(stdout);
        return 0;
    }
    if (c->version) {
        printf("%s %s\n", job, CF_VERSION);
        return 0;
    }
    if (cli_common_env(c, err, errlen) != 0)
        return EX_CONFIG;
    return CLI_RUN;
}
