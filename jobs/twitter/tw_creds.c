/* tw_creds: the four OAuth 1.0a secrets of twitter-stats (see tw_job.h). Only the names of
 * the variables ever reach a message. */
#include <stdio.h>
#include <string.h>

#include "../../runtime/errf.h"
#include "tw_job.h"
#include "../../runtime/exitcode.h"

/* One secret: TWITTER_X, else X (each also as _FILE). 1 found, 0 missing, -1 error. */
static int get_secret(const char *name, char *out, size_t cap, const char **used, char *err,
                      size_t errlen)
{
    char pref[64];
    int n = snprintf(pref, sizeof pref, "TWITTER_%s", name);
    if (n < 0 || (size_t)n >= sizeof pref)
        return -1;
    int rc = cfg_secret(pref, out, cap, err, errlen);
    if (rc != 0) {
        *used = rc == 1 ? "TWITTER_" : NULL;
        return rc;
    }
    rc = cfg_secret(name, out, cap, err, errlen);
    *used = rc == 1 ? "" : NULL;
    return rc;
}

int tw_creds_read(tw_creds *c, char *err, size_t errlen)
{
    static const char *const names[4] = { "API_KEY", "API_SECRET", "ACCESS_TOKEN", "ACCESS_SECRET" };
    char *vals[4] = { c->ck, c->cs, c->tk, c->ts };
    const char *used[4] = { NULL, NULL, NULL, NULL };
    char missing[256] = "";
    c->token_user_id[0] = '\0';
    for (int i = 0; i < 4; i++) {
        int g = get_secret(names[i], vals[i], CFG_SECRET_MAX, &used[i], err, errlen);
        if (g < 0)
            return EX_CONFIG;
        if (g == 0) {
            size_t l = strlen(missing);
            if (snprintf(missing + l, sizeof missing - l, "%sTWITTER_%s", l ? ", " : "",
                         names[i]) < 0)
                missing[l] = '\0';
        }
    }
    if (missing[0]) {
        errf_set(err, errlen,
                 "missing credentials: set %s (or the same without TWITTER_, or as *_FILE "
                 "paths): the OAuth 1.0a user-context keys of an app in the X developer portal",
                 missing);
        return EX_CONFIG;
    }
    int a = snprintf(c->app_names, sizeof c->app_names, "%sAPI_KEY/%sAPI_SECRET", used[0], used[1]);
    int u = snprintf(c->user_names, sizeof c->user_names, "%sACCESS_TOKEN/%sACCESS_SECRET",
                     used[2], used[3]);
    if (a < 0 || (size_t)a >= sizeof c->app_names || u < 0 || (size_t)u >= sizeof c->user_names) {
        errf_set(err, errlen, "credential variable names do not fit");
        return EX_SOFTWARE;
    }
    /* optional: the app-only token, for GET /2/usage/tweets */
    const char *bused = NULL;
    if (get_secret("BEARER_TOKEN", c->bearer, sizeof c->bearer, &bused, err, errlen) < 0)
        return EX_CONFIG;
    /* X issues user access tokens as "<user id>-<random>": the account they belong to */
    size_t idl = strspn(c->tk, "0123456789");
    if (idl > 0 && idl < sizeof c->token_user_id && c->tk[idl] == '-') {
        memcpy(c->token_user_id, c->tk, idl);
        c->token_user_id[idl] = '\0';
    }
    return 0;
}

void tw_creds_wipe(tw_creds *c)
{
    cfg_wipe(c->ck, sizeof c->ck);
    cfg_wipe(c->cs, sizeof c->cs);
    cfg_wipe(c->tk, sizeof c->tk);
    cfg_wipe(c->ts, sizeof c->ts);
    cfg_wipe(c->bearer, sizeof c->bearer);
}
