/* tw_bill: what a run of twitter-stats costs under X's pay-per-use pricing (see tw.h).
 *
 * The ids read this UTC day are kept as 64-bit integers (X ids are decimal snowflakes or
 * smaller) in an open-addressing set per kind, so a run of thousands of posts checks each
 * in constant time and the state stays a plain comma-separated list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tw.h"

#define BILL_LINES 8
#define SEEN_MAX 150000          /* ids kept a kind a day (at most 3 MB of state) */

typedef struct id_set {
    uint64_t *slot;              /* 0: empty */
    size_t n, cap;               /* cap a power of two, or 0 */
} id_set;

struct tw_bill {
    tw_prices price;
    char day[11];
    id_set seen[2];
    double spent_before, spent_run;
    tw_bill_line line[BILL_LINES];
    size_t nline;
};

/* A decimal id to an integer: 0 when it is not one (empty, not digits, over 19 digits). */
static uint64_t id_value(const char *s)
{
    uint64_t v = 0;
    size_t n = 0;
    for (; s[n]; n++) {
        if (s[n] < '0' || s[n] > '9' || n >= 19)
            return 0;
        v = v * 10 + (uint64_t)(s[n] - '0');
    }
    return v;
}

static size_t id_hash(uint64_t v)
{
    v ^= v >> 33;
    v *= 0xff51afd7ed558ccdULL;
    v ^= v >> 33;
    return (size_t)v;
}

static bool set_has(const id_set *s, uint64_t v)
{
    if (!s->cap || !v)
        return false;
    for (size_t i = id_hash(v) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        if (s->slot[i] == v)
            return true;
        if (s->slot[i] == 0)
            return false;
    }
}

/* 1 added, 0 already there (or full), -1 out of memory */
static int set_add(id_set *s, uint64_t v)
{
    if (!v || set_has(s, v))
        return 0;
    if (s->n >= SEEN_MAX)
        return 0;
    if ((s->n + 1) * 2 > s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 256;
        uint64_t *ns = calloc(ncap, sizeof *ns);
        if (!ns)
            return -1;
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->slot[i])
                continue;
            size_t j = id_hash(s->slot[i]) & (ncap - 1);
            while (ns[j])
                j = (j + 1) & (ncap - 1);
            ns[j] = s->slot[i];
        }
        free(s->slot);
        s->slot = ns;
        s->cap = ncap;
    }
    size_t i = id_hash(v) & (s->cap - 1);
    while (s->slot[i])
        i = (i + 1) & (s->cap - 1);
    s->slot[i] = v;
    s->n++;
    return 1;
}

tw_bill *tw_bill_new(const tw_prices *prices, int64_t now_ns)
{
    tw_bill *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->price = *prices;
    time_t t = (time_t)(now_ns / 1000000000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(b->day, sizeof b->day, "%Y-%m-%d", &tm) == 0)
        memcpy(b->day, "1970-01-01", 11);
    return b;
}

void tw_bill_free(tw_bill *b)
{
    if (!b)
        return;
    free(b->seen[0].slot);
    free(b->seen[1].slot);
    free(b);
}

const char *tw_bill_day(const tw_bill *b)
{
    return b->day;
}

/* The part after "DAY " when state is of this bill's day, else NULL. */
static const char *of_today(const tw_bill *b, const char *state)
{
    if (!state || strncmp(state, b->day, 10) != 0 || state[10] != ' ')
        return NULL;
    return state + 11;
}

int tw_bill_load_seen(tw_bill *b, tw_res kind, const char *state)
{
    const char *p = of_today(b, state);
    if (!p)
        return 0;
    while (*p) {
        char id[TW_ID_MAX];
        size_t n = strcspn(p, ",");
        if (n > 0 && n < sizeof id) {
            memcpy(id, p, n);
            id[n] = '\0';
            if (set_add(&b->seen[kind], id_value(id)) < 0)
                return -1;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

int tw_bill_load_spend(tw_bill *b, const char *state)
{
    const char *p = of_today(b, state);
    if (!p)
        return 0;
    char *end = NULL;
    double v = strtod(p, &end);
    if (end != p && *end == '\0' && v >= 0 && v < 1e9)
        b->spent_before = v;
    return 0;
}

int tw_bill_save_seen(const tw_bill *b, tw_res kind, buf *out)
{
    const id_set *s = &b->seen[kind];
    if (buf_adds(out, b->day) != 0 || buf_addc(out, ' ') != 0)
        return -1;
    bool first = true;
    for (size_t i = 0; i < s->cap; i++) {
        if (!s->slot[i])
            continue;
        if (buf_printf(out, "%s%llu", first ? "" : ",", (unsigned long long)s->slot[i]) != 0)
            return -1;
        first = false;
    }
    return 0;
}

int tw_bill_save_spend(const tw_bill *b, buf *out)
{
    return buf_printf(out, "%s %.6f", b->day, b->spent_before + b->spent_run);
}

static tw_bill_line *line_for(tw_bill *b, const char *endpoint, bool owned)
{
    for (size_t i = 0; i < b->nline; i++)
        if (b->line[i].owned == owned && strcmp(b->line[i].endpoint, endpoint) == 0)
            return &b->line[i];
    if (b->nline == BILL_LINES || strlen(endpoint) >= sizeof b->line[0].endpoint)
        return NULL;
    tw_bill_line *l = &b->line[b->nline++];
    memset(l, 0, sizeof *l);
    memcpy(l->endpoint, endpoint, strlen(endpoint) + 1);
    l->owned = owned;
    return l;
}

int tw_bill_request(tw_bill *b, const char *endpoint, bool owned)
{
    tw_bill_line *l = line_for(b, endpoint, owned);
    if (!l)
        return -1;
    l->requests++;
    return 0;
}

double tw_bill_price(const tw_bill *b, tw_res kind, bool owned)
{
    if (owned)
        return b->price.owned_read;
    return kind == TW_RES_USER ? b->price.user_read : b->price.post_read;
}

bool tw_bill_seen(const tw_bill *b, tw_res kind, const char *id)
{
    return set_has(&b->seen[kind], id_value(id));
}

double tw_bill_resource(tw_bill *b, const char *endpoint, bool owned, tw_res kind, const char *id)
{
    tw_bill_line *l = line_for(b, endpoint, owned);
    if (!l)
        return -1;
    l->resources++;
    uint64_t v = id_value(id);
    int added = set_add(&b->seen[kind], v);
    if (added < 0)
        return -1;
    /* an id that is no number cannot be told apart: priced, as X would */
    if (added == 0 && v != 0 && set_has(&b->seen[kind], v))
        return 0;
    double c = tw_bill_price(b, kind, owned);
    l->billable++;
    l->cost_usd += c;
    b->spent_run += c;
    return c;
}

double tw_bill_spent_today(const tw_bill *b)
{
    return b->spent_before + b->spent_run;
}

double tw_bill_spent_run(const tw_bill *b)
{
    return b->spent_run;
}

size_t tw_bill_lines(const tw_bill *b, const tw_bill_line **out)
{
    *out = b->line;
    return b->nline;
}
