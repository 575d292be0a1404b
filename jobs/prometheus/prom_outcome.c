/* prom_outcome: what an answer from Prometheus means, and its exit code (see prom.h). */
#include "prom.h"
#include "../../runtime/exitcode.h"

#include <string.h>

int prom_outcome_exit(prom_outcome o)
{
    switch (o) {
    case PROM_OK:
        return 0;
    case PROM_BAD_QUERY:   /* a query is configuration */
    case PROM_EXEC:
    case PROM_TOO_LARGE:
    case PROM_CONFIG:
        return EX_CONFIG;
    case PROM_TIMEOUT:
    case PROM_TEMP:
    case PROM_STOPPED:
        return EX_TEMPFAIL;
    case PROM_UNREACHABLE:
        return EX_UNAVAILABLE;
    case PROM_AUTH:
        return EX_NOPERM;
    case PROM_SHAPE:
        return EX_DATAERR;
    }
    return EX_SOFTWARE;
}

const char *prom_outcome_name(prom_outcome o)
{
    switch (o) {
    case PROM_OK: return "ok";
    case PROM_BAD_QUERY: return "bad query";
    case PROM_EXEC: return "execution error";
    case PROM_TOO_LARGE: return "too large";
    case PROM_TIMEOUT: return "timeout";
    case PROM_TEMP: return "temporarily unavailable";
    case PROM_UNREACHABLE: return "unreachable";
    case PROM_AUTH: return "credentials refused";
    case PROM_CONFIG: return "configuration";
    case PROM_SHAPE: return "unexpected answer";
    case PROM_STOPPED: return "stopped";
    }
    return "?";
}

prom_outcome prom_classify(long status, bool has_envelope, const prom_parse_result *res)
{
    if (has_envelope && res && res->is_error) {
        const char *et = res->error_type;
        if (strcmp(et, "bad_data") == 0)
            return PROM_BAD_QUERY;
        if (strcmp(et, "execution") == 0)
            return strstr(res->error, "too many samples") ? PROM_TOO_LARGE : PROM_EXEC;
        if (strcmp(et, "timeout") == 0)
            return PROM_TIMEOUT;
        if (strcmp(et, "canceled") == 0 || strcmp(et, "unavailable") == 0 ||
            strcmp(et, "internal") == 0)
            return PROM_TEMP;
        if (strcmp(et, "not_found") == 0)
            return PROM_CONFIG;
        /* an errorType we do not know: go by the status */
        if (status == 400)
            return PROM_BAD_QUERY;
        if (status == 422)
            return PROM_EXEC;
        if (status >= 200 && status < 300)
            return PROM_SHAPE;
    }
    if (status >= 200 && status < 300)
        return PROM_OK;
    if (status == 401 || status == 403 || status == 407)
        return PROM_AUTH;
    if (status == 408 || status == 429 || status >= 500)
        return PROM_TEMP;
    if (status >= 400)
        return PROM_CONFIG;
    return PROM_SHAPE;   /* 1xx/3xx that curl did not follow */
}

