/* prom_cfg: where Prometheus is and how to talk to it, from the environment (see prom.h). */
#include "prom.h"
#include "../../runtime/errf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/cfg.h"
#include "../../runtime/tparse.h"

#define BODY_MAX_DEFAULT ((size_t)32 * 1024 * 1024)
#define TIMEOUT_DEFAULT_MS 120000L

static int parse_uint(const char *s, long max, long *out)
{
    long v = 0;
    if (!s || !*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
        if (v > max)
            return -1;
    }
    *out = v;
    return 0;
}

static int copy_url(prom_cfg *cfg, const char *what, const char *u, char *err, size_t errlen)
{
    if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) {
        errf_set(err, errlen, "%s must start with http:// or https:// (got \"%.80s\")", what, u);
        return -1;
    }
    if (strchr(u, '?') || strchr(u, '#') || strpbrk(u, " \t\r\n")) {
        errf_set(err, errlen, "%s must be a base URL without a query string or spaces", what);
        return -1;
    }
    size_t n = strlen(u);
    while (n > 0 && u[n - 1] == '/')
        n--;
    if (n >= sizeof cfg->url) {
        errf_set(err, errlen, "%s is longer than %zu bytes", what, sizeof cfg->url - 1);
        return -1;
    }
    memcpy(cfg->url, u, n);
    cfg->url[n] = '\0';
    return 0;
}

int prom_cfg_from_env(prom_cfg *cfg, const char *url_flag, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->timeout_ms = TIMEOUT_DEFAULT_MS;
    cfg->max_retries = 3;
    cfg->body_max = BODY_MAX_DEFAULT;

    const char *url = url_flag && *url_flag ? url_flag : cfg_env("PROMETHEUS_URL");
    if (url) {
        if (copy_url(cfg, url_flag && *url_flag ? "--url" : "PROMETHEUS_URL", url, err,
                     errlen) != 0)
            return -1;
    } else {
        const char *host = cfg_env("PROMETHEUS_HOST");
        const char *port = cfg_env("PROMETHEUS_PORT");
        long p = 9090;
        if (!host) {
            errf_set(err, errlen,
                     "Prometheus is not configured: set PROMETHEUS_URL (e.g. "
                     "http://prometheus.monitoring:9090) or PROMETHEUS_HOST and PROMETHEUS_PORT");
            return -1;
        }
        if (strstr(host, "://") || strpbrk(host, "/?# \t\r\n@")) {
            errf_set(err, errlen, "PROMETHEUS_HOST must be a host name or address (use "
                                "PROMETHEUS_URL for a URL)");
            return -1;
        }
        if (port && (parse_uint(port, 65535, &p) != 0 || p == 0)) {
            errf_set(err, errlen, "PROMETHEUS_PORT must be a port number 1-65535 (got \"%.20s\")",
                     port);
            return -1;
        }
        int v6 = strchr(host, ':') != NULL && host[0] != '[';
        int n = snprintf(cfg->url, sizeof cfg->url, "http://%s%s%s:%ld", v6 ? "[" : "", host,
                         v6 ? "]" : "", p);
        if (n < 0 || (size_t)n >= sizeof cfg->url) {
            errf_set(err, errlen, "PROMETHEUS_HOST is too long");
            return -1;
        }
    }

    char e[PROM_ERR_MAX];
    if (cfg_secret("PROMETHEUS_TOKEN", cfg->token, sizeof cfg->token, e, sizeof e) < 0) {
        errf_set(err, errlen, "%s", e);
        return -1;
    }
    const char *ca = cfg_env("PROMETHEUS_CA_FILE");
    if (ca) {
        int n = snprintf(cfg->ca_file, sizeof cfg->ca_file, "%s", ca);
        if (n < 0 || (size_t)n >= sizeof cfg->ca_file) {
            errf_set(err, errlen, "PROMETHEUS_CA_FILE is too long");
            return -1;
        }
    }
    const char *to = cfg_env("PROMETHEUS_TIMEOUT");
    if (to) {
        int64_t ns;
        if (tparse_duration(to, &ns, e, sizeof e) != 0 || ns < INT64_C(1000000)) {
            errf_set(err, errlen, "PROMETHEUS_TIMEOUT must be a duration like 30s or 2m (got "
                                "\"%.20s\")", to);
            return -1;
        }
        cfg->timeout_ms = ns / 1000000 > 86400000 ? 86400000 : (long)(ns / 1000000);
    }
    const char *rt = cfg_env("PROMETHEUS_RETRIES");
    if (rt) {
        long r;
        if (parse_uint(rt, 10, &r) != 0) {
            errf_set(err, errlen, "PROMETHEUS_RETRIES must be 0-10 (got \"%.20s\")", rt);
            return -1;
        }
        cfg->max_retries = (int)r;
    }
    return 0;
}

void prom_cfg_wipe(prom_cfg *cfg)
{
    if (cfg)
        cfg_wipe(cfg->token, sizeof cfg->token);
}

