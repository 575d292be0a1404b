/* prom_api: one Prometheus API call with retries (see prom.h). */
#include "prom.h"
#include "../../runtime/errf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/cfg.h"
#include "../../runtime/log.h"

#define RETRY_AFTER_MAX_S 60

struct prom_client {
    http_client *http;
    prom_cfg cfg;
    http_resp resp;
    char auth[4200];   /* "Authorization" value; a secret */
};

prom_client *prom_client_new(const prom_cfg *cfg, char *err, size_t errlen)
{
    prom_client *pc = calloc(1, sizeof *pc);
    if (!pc) {
        errf_set(err, errlen, "out of memory");
        return NULL;
    }
    pc->cfg = *cfg;
    http_resp_init(&pc->resp);
    if (cfg->token[0]) {
        int n = snprintf(pc->auth, sizeof pc->auth, "Bearer %s", cfg->token);
        if (n < 0 || (size_t)n >= sizeof pc->auth) {
            errf_set(err, errlen, "PROMETHEUS_TOKEN is too long");
            prom_client_free(pc);
            return NULL;
        }
    }
    http_opts o = { .timeout_ms = cfg->timeout_ms, .body_max = cfg->body_max,
                    .ca_file = cfg->ca_file[0] ? cfg->ca_file : NULL };
    pc->http = http_new(&o, err, errlen);
    if (!pc->http) {
        prom_client_free(pc);
        return NULL;
    }
    return pc;
}

void prom_client_free(prom_client *pc)
{
    if (!pc)
        return;
    http_free(pc->http);
    http_resp_free(&pc->resp);
    cfg_wipe(pc->auth, sizeof pc->auth);
    prom_cfg_wipe(&pc->cfg);
    free(pc);
}

/* Wait before retry `attempt` (1, 2, ...): Retry-After when given (capped), else backoff. */
static void pause_before(prom_client *pc, int attempt)
{
    long s = http_retry_after_s(&pc->resp);
    if (s >= 0)
        http_sleep_ms((s > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : s) * 1000L);
    else
        http_sleep_ms(http_backoff_ms(attempt, 500, 10000));
}

prom_outcome prom_call(prom_client *pc, const char *path, const char *form, prom_sample_fn fn,
                       void *ctx, prom_parse_result *res, size_t *body_len, char *err,
                       size_t errlen)
{
    char url[1024], e[PROM_ERR_MAX];
    memset(res, 0, sizeof *res);
    if (body_len)
        *body_len = 0;
    int n = snprintf(url, sizeof url, "%s%s", pc->cfg.url, path);
    if (n < 0 || (size_t)n >= sizeof url) {
        errf_set(err, errlen, "URL too long");
        return PROM_CONFIG;
    }
    http_header hs[3] = {
        { "Content-Type", "application/x-www-form-urlencoded" },
        { "Accept", "application/json" },
        { "Authorization", pc->auth },
    };
    http_req req = { .method = "POST", .url = url, .headers = hs,
                     .nheaders = pc->auth[0] ? 3 : 2, .body = form,
                     .body_len = strlen(form), .redact = pc->cfg.token[0] ? pc->cfg.token : NULL };
    http_resp *r = &pc->resp;
    for (int attempt = 0;; attempt++) {
        e[0] = '\0';
        if (http_request(pc->http, &req, r, e, sizeof e) != 0) {
            if (r->truncated) {
                errf_set(err, errlen, "POST %s: answer larger than %zu bytes", url,
                         pc->cfg.body_max);
                return PROM_TOO_LARGE;
            }
            if (attempt < pc->cfg.max_retries) {
                log_debug("POST %s: %s; retry %d", url, e, attempt + 1);
                pause_before(pc, attempt + 1);
                continue;
            }
            errf_set(err, errlen, "%s (Prometheus unreachable; check PROMETHEUS_URL)", e);
            return PROM_UNREACHABLE;
        }
        if (body_len)
            *body_len = r->body.len;
        const char *body = r->body.p ? r->body.p : "";
        char perr[256];
        int prc = prom_parse(body, r->body.len, NULL, NULL, res, perr, sizeof perr);
        bool envelope = prc == 0 && res->is_error;
        prom_outcome o = prom_classify(r->status, envelope, res);
        if (o == PROM_OK) {
            if (prc != 0) {
                errf_set(err, errlen, "POST %s: %ld answer not of the documented shape: %s", url,
                         r->status, perr);
                return PROM_SHAPE;
            }
            if (!fn)
                return PROM_OK;
            prc = prom_parse(body, r->body.len, fn, ctx, res, perr, sizeof perr);
            if (prc == -2)
                return PROM_STOPPED;
            if (prc != 0) {   /* cannot happen: the same text passed the check */
                errf_set(err, errlen, "POST %s: %s", url, perr);
                return PROM_SHAPE;
            }
            return PROM_OK;
        }
        if (o == PROM_TEMP && attempt < pc->cfg.max_retries) {
            log_debug("POST %s: HTTP %ld; retry %d", url, r->status, attempt + 1);
            pause_before(pc, attempt + 1);
            continue;
        }
        if (envelope) {
            errf_set(err, errlen, "POST %s: HTTP %ld %s: %s", url, r->status, res->error_type,
                     res->error);
        } else if (o == PROM_SHAPE) {
            errf_set(err, errlen, "POST %s: HTTP %ld answer not of the documented shape: %s", url,
                     r->status, perr);
        } else {
            const char *hint = o == PROM_AUTH ? " (check PROMETHEUS_TOKEN)"
                               : o == PROM_CONFIG ? " (check PROMETHEUS_URL and its path)"
                                                  : "";
            errf_set(err, errlen, "POST %s: HTTP %ld%s", url, r->status, hint);
        }
        return o;
    }
}
