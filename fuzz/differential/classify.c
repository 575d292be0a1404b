/* classify: the verdict push gives each line, for make_sample.py (not built by make).
 *   cc -D_GNU_SOURCE -Iruntime -o build/classify fuzz/differential/classify.c \
 *      build/libcfstore.a build/libcfruntime.a -lm
 * Reads lines (one per '\n'), parses each as line protocol in ns precision (lp_parse) and
 * encodes what it gives (lp_encode), as `cronflux push` does; prints one line per input:
 * "OK <hex of the encoded line> <the parsed point as JSON>" or "BAD <reason>" ("BLANK" for
 * blank and comment lines). The JSON is store_check.py's expected point: {"measurement",
 * "tags": {k: v}, "fields": {k: [type, value]}, "time": ns, or null for no timestamp}. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../store/lp.h"

static void json_str(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void json_point(const lp_point *p, bool own_time)
{
    fputs("{\"measurement\": ", stdout);
    json_str(p->measurement, strlen(p->measurement));
    fputs(", \"tags\": {", stdout);
    for (size_t i = 0; i < p->ntags; i++) {
        printf("%s", i ? ", " : "");
        json_str(p->tags[i].key, strlen(p->tags[i].key));
        fputs(": ", stdout);
        json_str(p->tags[i].value, strlen(p->tags[i].value));
    }
    fputs("}, \"fields\": {", stdout);
    for (size_t i = 0; i < p->nfields; i++) {
        const lp_field *f = &p->fields[i];
        printf("%s", i ? ", " : "");
        json_str(f->key, strlen(f->key));
        switch (f->type) {
        case LP_FLOAT:
            printf(": [\"float\", %.17g]", f->v.f);
            break;
        case LP_INT:
            printf(": [\"integer\", %lld]", (long long)f->v.i);
            break;
        case LP_UINT:
            printf(": [\"integer\", %llu]", (unsigned long long)f->v.u);
            break;
        case LP_BOOL:
            printf(": [\"boolean\", %s]", f->v.b ? "true" : "false");
            break;
        case LP_STRING:
            fputs(": [\"string\", ", stdout);
            json_str(f->v.s.p, f->v.s.len);
            putchar(']');
            break;
        }
    }
    if (!own_time)
        fputs("}, \"time\": null}", stdout);
    else
        printf("}, \"time\": %lld}", (long long)p->time_ns);
}

int main(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    lp_parsed pp;
    lp_parsed_init(&pp);
    buf out;
    buf_init(&out, (size_t)1 << 24);
    char err[512];
    while ((n = getline(&line, &cap, stdin)) > 0) {
        if (line[n - 1] == '\n')
            n--;
        int r = lp_parse(line, (size_t)n, LP_NS, INT64_C(1600000000000000000), &pp, err,
                         sizeof err);
        if (r == 0) {
            puts("BLANK");
            continue;
        }
        /* read again with another default time: a point whose time moved has none of its own */
        int64_t t1 = pp.pt.time_ns;
        lp_parsed again;
        lp_parsed_init(&again);
        bool own_time = lp_parse(line, (size_t)n, LP_NS, INT64_C(1600000000000000001), &again,
                                 err, sizeof err) == 1 && again.pt.time_ns == t1;
        lp_parsed_free(&again);
        if (r < 0) {
            printf("BAD %s\n", err);
            continue;
        }
        buf_reset(&out);
        if (lp_encode(&pp.pt, LP_NS, &out, NULL, err, sizeof err) != 0) {
            printf("BAD %s\n", err);
            continue;
        }
        fputs("OK ", stdout);
        for (size_t i = 0; i + 1 < out.len; i++)
            printf("%02x", (unsigned char)out.p[i]);
        putchar(' ');
        json_point(&pp.pt, own_time);
        putchar('\n');
    }
    free(line);
    buf_free(&out);
    lp_parsed_free(&pp);
    return 0;
}
