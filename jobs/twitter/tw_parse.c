/* tw_parse: X API v2 / v1.1 answers into structs (see tw.h). */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../../runtime/jsonu.h"
#include "../../runtime/errf.h"
#include "../../runtime/tparse.h"
#include "tw.h"
#include "../../runtime/util.h"

/* Copy a string, cutting it to fit; control characters become spaces (one-line output). */
static void copy_line(char *out, size_t cap, const char *s)
{
    size_t o = 0;
    if (cap == 0)
        return;
    for (; s && *s && o + 1 < cap; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            out[o++] = ' ';
        else
            out[o++] = *s;
    }
    out[o] = '\0';
}

static const char *type_name(json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "real";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

/* ---- containers ------------------------------------------------------------ */

void tw_users_init(tw_users *u)
{
    memset(u, 0, sizeof *u);
}

void tw_users_free(tw_users *u)
{
    if (!u)
        return;
    free(u->v);
    free(u->errors);
    tw_users_init(u);
}

void tw_page_init(tw_page *p)
{
    memset(p, 0, sizeof *p);
    p->result_count = -1;
}

void tw_page_free(tw_page *p)
{
    if (!p)
        return;
    free(p->v);
    free(p->errors);
    tw_page_init(p);
}

/* Grow an array of `size`-byte elements to hold one more. 0 or -1. */
static int grow(void **v, size_t *n, size_t *cap, size_t size)
{
    if (*n >= (size_t)1 << 24)   /* no answer of ours holds more */
        return -1;
    return util_grow(v, cap, *n + 1, size);
}

/* ---- where a value sits, for messages ----------------------------------------- */

/* "data[3].public_metrics": base, [idx] when idx >= 0, .sub when sub. Formatted only when
 * a message needs it (a page of 100 posts would otherwise format ~400 paths to use none). */
typedef struct where {
    const char *base;
    long idx;
    const char *sub;
} where;

static const char *where_str(const where *w, char *buf, size_t cap)
{
    char ix[24] = "";
    if (w->idx >= 0 && snprintf(ix, sizeof ix, "[%ld]", w->idx) < 0)
        ix[0] = '\0';
    if (snprintf(buf, cap, "%s%s%s%s", w->base, ix, w->sub ? "." : "", w->sub ? w->sub : "") < 0 &&
        cap)
        buf[0] = '\0';
    return buf;
}

#define WHERE_MAX 128

/* ---- small readers ------------------------------------------------------------ */

/* A counter: absent is fine (not set); present must be a non-negative integer. */
static int get_count(json_t *obj, const char *key, int64_t *out, unsigned bit, unsigned *have,
                     const char *what, const where *at, char *err, size_t errlen)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        char path[WHERE_MAX];
        errf_set(err, errlen, "%s: %s.%s: expected a non-negative integer, got %s", what,
                 where_str(at, path, sizeof path), key,
                 json_is_integer(v) ? "a negative number" : type_name(v));
        return -1;
    }
    *out = (int64_t)json_integer_value(v);
    *have |= bit;
    return 0;
}

/* A decimal id string into out[cap]. */
static int get_id(json_t *obj, const char *key, char *out, size_t cap, const char *what,
                  const where *at, char *err, size_t errlen)
{
    char path[WHERE_MAX];
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v)) {
        errf_set(err, errlen, "%s: %s: %s \"%s\"", what, where_str(at, path, sizeof path),
                 v ? "expected a string at" : "missing", key);
        return -1;
    }
    const char *s = json_string_value(v);
    size_t n = strlen(s);
    if (n == 0 || n >= cap || n != json_string_length(v) || strspn(s, "0123456789") != n) {
        errf_set(err, errlen, "%s: %s.%s: not a decimal id", what, where_str(at, path, sizeof path),
                 key);
        return -1;
    }
    memcpy(out, s, n + 1);
    return 0;
}

/* A name string (username / screen_name) into out[cap]. */
static int get_name(json_t *obj, const char *key, char *out, size_t cap, const char *what,
                    const where *at, char *err, size_t errlen)
{
    char path[WHERE_MAX];
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v)) {
        errf_set(err, errlen, "%s: %s: %s \"%s\"", what, where_str(at, path, sizeof path),
                 v ? "expected a string at" : "missing", key);
        return -1;
    }
    size_t n = json_string_length(v);
    if (n == 0 || n >= cap || memchr(json_string_value(v), '\0', n)) {
        errf_set(err, errlen, "%s: %s.%s: empty or longer than %zu bytes", what,
                 where_str(at, path, sizeof path), key, cap - 1);
        return -1;
    }
    memcpy(out, json_string_value(v), n + 1);
    return 0;
}

static void get_str(json_t *obj, const char *key, char *out, size_t cap)
{
    json_t *v = json_object_get(obj, key);
    if (json_is_string(v))
        copy_line(out, cap, json_string_value(v));
    else if (json_is_integer(v)) {
        if (snprintf(out, cap, "%lld", (long long)json_integer_value(v)) < 0 && cap)
            out[0] = '\0';
    } else if (cap)
        out[0] = '\0';
}

static void problem_from(json_t *o, tw_problem *p)
{
    memset(p, 0, sizeof *p);
    if (!json_is_object(o))
        return;
    get_str(o, "title", p->title, sizeof p->title);
    get_str(o, "detail", p->detail, sizeof p->detail);
    if (!p->detail[0])
        get_str(o, "message", p->detail, sizeof p->detail);
    get_str(o, "type", p->type, sizeof p->type);
    get_str(o, "value", p->value, sizeof p->value);
    get_str(o, "resource_id", p->resource_id, sizeof p->resource_id);
    get_str(o, "period", p->period, sizeof p->period);
    get_str(o, "scope", p->scope, sizeof p->scope);
    json_t *code = json_object_get(o, "code");
    if (json_is_integer(code))
        p->code = (long)json_integer_value(code);
}

/* The optional "errors" array of a v2 answer. */
static int get_errors(json_t *root, tw_problem **v, size_t *n, size_t *cap, const char *what,
                      char *err, size_t errlen)
{
    json_t *errs = json_object_get(root, "errors");
    if (!errs)
        return 0;
    if (!json_is_array(errs)) {
        errf_set(err, errlen, "%s: errors: expected an array, got %s", what, type_name(errs));
        return -1;
    }
    size_t i;
    json_t *e;
    json_array_foreach(errs, i, e) {
        if (!json_is_object(e)) {
            errf_set(err, errlen, "%s: errors[%zu]: expected an object, got %s", what, i,
                     type_name(e));
            return -1;
        }
        if (grow((void **)v, n, cap, sizeof **v) != 0) {
            errf_set(err, errlen, "%s: out of memory", what);
            return -1;
        }
        problem_from(e, &(*v)[*n]);
        (*n)++;
    }
    return 0;
}

static json_t *parse_object(const char *body, size_t len, const char *what, char *err,
                            size_t errlen)
{
    json_t *root = jsonu_parse(body, len, what, err, errlen);
    if (root && !json_is_object(root)) {
        errf_set(err, errlen, "%s: line 1, column 1: expected a JSON object, got %s", what,
                 type_name(root));
        json_decref(root);
        return NULL;
    }
    return root;
}

/* ---- v2 ------------------------------------------------------------------------ */

static int user_v2(json_t *o, const char *what, long idx, tw_user *u, char *err, size_t errlen)
{
    char path[WHERE_MAX];
    where at = { "data", idx, NULL };
    memset(u, 0, sizeof *u);
    if (!json_is_object(o)) {
        errf_set(err, errlen, "%s: %s: expected an object, got %s", what,
                 where_str(&at, path, sizeof path), type_name(o));
        return -1;
    }
    if (get_id(o, "id", u->id, sizeof u->id, what, &at, err, errlen) != 0 ||
        get_name(o, "username", u->username, sizeof u->username, what, &at, err, errlen) != 0)
        return -1;
    json_t *pm = json_object_get(o, "public_metrics");
    if (!pm)
        return 0;
    where mat = { "data", idx, "public_metrics" };
    if (!json_is_object(pm)) {
        errf_set(err, errlen, "%s: %s: expected an object, got %s", what,
                 where_str(&mat, path, sizeof path), type_name(pm));
        return -1;
    }
    u->has_metrics = true;
    if (get_count(pm, "followers_count", &u->followers, TW_U_FOLLOWERS, &u->have, what, &mat, err, errlen) ||
        get_count(pm, "following_count", &u->following, TW_U_FOLLOWING, &u->have, what, &mat, err, errlen) ||
        get_count(pm, "listed_count", &u->listed, TW_U_LISTED, &u->have, what, &mat, err, errlen) ||
        get_count(pm, "like_count", &u->likes, TW_U_LIKES, &u->have, what, &mat, err, errlen) ||
        get_count(pm, "media_count", &u->media, TW_U_MEDIA, &u->have, what, &mat, err, errlen))
        return -1;
    /* OpenAPI 2.167 says post_count, the prose docs and live answers tweet_count: either */
    if (get_count(pm, "post_count", &u->posts, TW_U_POSTS, &u->have, what, &mat, err, errlen))
        return -1;
    if (!(u->have & TW_U_POSTS) &&
        get_count(pm, "tweet_count", &u->posts, TW_U_POSTS, &u->have, what, &mat, err, errlen))
        return -1;
    return 0;
}

int tw_parse_users_v2(const char *body, size_t len, const char *what, tw_users *out,
                      char *err, size_t errlen)
{
    int rc = -1;
    json_t *root = parse_object(body, len, what, err, errlen);
    if (!root)
        return -1;
    json_t *data = json_object_get(root, "data");
    if (get_errors(root, &out->errors, &out->nerrors, &out->errcap, what, err, errlen) != 0)
        goto done;
    if (!data) {
        /* a 200 without data is only documented with errors (every user not found) */
        if (out->nerrors == 0) {
            errf_set(err, errlen, "%s: missing \"data\" (and no \"errors\")", what);
            goto done;
        }
        rc = 0;
        goto done;
    }
    if (json_is_object(data)) {
        if (grow((void **)&out->v, &out->n, &out->cap, sizeof *out->v) != 0)
            goto nomem;
        if (user_v2(data, what, -1, &out->v[out->n], err, errlen) != 0)
            goto done;
        out->n++;
    } else if (json_is_array(data)) {
        size_t i;
        json_t *o;
        json_array_foreach(data, i, o) {
            if (grow((void **)&out->v, &out->n, &out->cap, sizeof *out->v) != 0)
                goto nomem;
            if (user_v2(o, what, (long)i, &out->v[out->n], err, errlen) != 0)
                goto done;
            out->n++;
        }
    } else {
        errf_set(err, errlen, "%s: data: expected an object or an array, got %s", what,
                 type_name(data));
        goto done;
    }
    rc = 0;
    goto done;
nomem:
    errf_set(err, errlen, "%s: out of memory", what);
done:
    json_decref(root);
    return rc;
}

static int post_v2(json_t *o, const char *what, long idx, tw_post *p, char *err, size_t errlen)
{
    char path[WHERE_MAX];
    where at = { "data", idx, NULL };
    memset(p, 0, sizeof *p);
    if (!json_is_object(o)) {
        errf_set(err, errlen, "%s: %s: expected an object, got %s", what,
                 where_str(&at, path, sizeof path), type_name(o));
        return -1;
    }
    if (get_id(o, "id", p->id, sizeof p->id, what, &at, err, errlen) != 0)
        return -1;
    json_t *ca = json_object_get(o, "created_at");
    if (ca) {
        char why[128];
        if (!json_is_string(ca) ||
            tparse_time(json_string_value(ca), 0, &p->created_ns, why, sizeof why) != 0) {
            errf_set(err, errlen, "%s: %s.created_at: not an RFC 3339 time", what,
                     where_str(&at, path, sizeof path));
            return -1;
        }
    }
    static const char *const groups[] = { "public_metrics", "organic_metrics", "non_public_metrics" };
    for (size_t g = 0; g < 3; g++) {
        json_t *m = json_object_get(o, groups[g]);
        if (!m)
            continue;
        where mat = { "data", idx, groups[g] };
        if (!json_is_object(m)) {
            errf_set(err, errlen, "%s: %s: expected an object, got %s", what,
                     where_str(&mat, path, sizeof path), type_name(m));
            return -1;
        }
        if (g == 0) {
            if (get_count(m, "like_count", &p->likes, TW_P_LIKES, &p->have, what, &mat, err, errlen) ||
                get_count(m, "repost_count", &p->reposts, TW_P_REPOSTS, &p->have, what, &mat, err, errlen) ||
                (!(p->have & TW_P_REPOSTS) &&   /* 2.167 repost_count, before it retweet_count */
                 get_count(m, "retweet_count", &p->reposts, TW_P_REPOSTS, &p->have, what, &mat, err, errlen)) ||
                get_count(m, "reply_count", &p->replies, TW_P_REPLIES, &p->have, what, &mat, err, errlen) ||
                get_count(m, "quote_count", &p->quotes, TW_P_QUOTES, &p->have, what, &mat, err, errlen) ||
                get_count(m, "bookmark_count", &p->bookmarks, TW_P_BOOKMARKS, &p->have, what, &mat, err, errlen) ||
                get_count(m, "impression_count", &p->impressions, TW_P_IMPRESSIONS, &p->have, what, &mat, err, errlen))
                return -1;
        } else {
            /* organic, then non-public: the owner's own impression figure wins */
            unsigned dummy = 0;
            int64_t imp = 0;
            if (get_count(m, "impression_count", &imp, TW_P_IMPRESSIONS, &dummy, what, &mat, err, errlen))
                return -1;
            if (dummy) {
                p->impressions = imp;
                p->have |= TW_P_IMPRESSIONS;
            }
        }
    }
    return 0;
}

int tw_parse_posts_v2(const char *body, size_t len, const char *what, tw_page *out,
                      char *err, size_t errlen)
{
    int rc = -1;
    json_t *root = parse_object(body, len, what, err, errlen);
    if (!root)
        return -1;
    out->next_token[0] = '\0';
    out->result_count = -1;
    if (get_errors(root, &out->errors, &out->nerrors, &out->errcap, what, err, errlen) != 0)
        goto done;
    json_t *meta = json_object_get(root, "meta");
    json_t *data = json_object_get(root, "data");
    if (!meta && !data && out->nerrors == 0) {
        errf_set(err, errlen, "%s: neither \"data\" nor \"meta\" nor \"errors\"", what);
        goto done;
    }
    if (meta) {
        json_t *rcnt = NULL;
        const char *next = NULL;
        if (jsonu_unpack(meta, what, err, errlen, "{s?o, s?s}", "result_count", &rcnt,
                         "next_token", &next) != 0)
            goto done;
        if (rcnt) {
            if (!json_is_integer(rcnt) || json_integer_value(rcnt) < 0) {
                errf_set(err, errlen, "%s: meta.result_count: expected a non-negative integer, got %s",
                         what, type_name(rcnt));
                goto done;
            }
            out->result_count = (long)json_integer_value(rcnt);
        }
        if (next) {
            size_t n = strlen(next);
            if (n == 0 || n >= sizeof out->next_token || strcspn(next, "&=#? /\\\"") != n) {
                errf_set(err, errlen, "%s: meta.next_token: empty, too long or not a token", what);
                goto done;
            }
            memcpy(out->next_token, next, n + 1);
        }
    }
    if (data) {
        if (!json_is_array(data)) {
            errf_set(err, errlen, "%s: data: expected an array, got %s", what, type_name(data));
            goto done;
        }
        size_t i;
        json_t *o;
        json_array_foreach(data, i, o) {
            if (grow((void **)&out->v, &out->n, &out->cap, sizeof *out->v) != 0) {
                errf_set(err, errlen, "%s: out of memory", what);
                goto done;
            }
            if (post_v2(o, what, (long)i, &out->v[out->n], err, errlen) != 0)
                goto done;
            out->n++;
        }
    }
    rc = 0;
done:
    json_decref(root);
    return rc;
}

/* ---- v1.1 ---------------------------------------------------------------------- */

int tw_parse_v1_time(const char *s, int64_t *out_ns)
{
    /* "Wed Oct 10 20:19:24 +0000 2018" */
    static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    char wd[4], mo[4], sign;
    int d, H, M, S, oh, om, Y, used = 0;
    if (!s || sscanf(s, "%3s %3s %d %d:%d:%d %c%2d%2d %d%n", wd, mo, &d, &H, &M, &S, &sign,
                     &oh, &om, &Y, &used) != 10 || s[used] != '\0')
        return -1;
    int m = -1;
    for (int i = 0; i < 12; i++)
        if (strcmp(mo, mon[i]) == 0)
            m = i;
    if (m < 0 || d < 1 || d > 31 || H > 23 || M > 59 || S > 60 || (sign != '+' && sign != '-') ||
        Y < 1970 || Y > 9999 || H < 0 || M < 0 || S < 0 || oh < 0 || om < 0)
        return -1;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = Y - 1900;
    tm.tm_mon = m;
    tm.tm_mday = d;
    tm.tm_hour = H;
    tm.tm_min = M;
    tm.tm_sec = S;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    long off = (long)oh * 3600 + (long)om * 60;
    t -= sign == '+' ? off : -off;
    if (t > INT64_MAX / TPARSE_NS_PER_S)
        return -1;   /* past 2262-04-11: no ns timestamp holds it (found by fuzz/) */
    *out_ns = (int64_t)t * TPARSE_NS_PER_S;
    return 0;
}

static int user_v1(json_t *o, const char *what, tw_user *u, char *err, size_t errlen)
{
    static const where root = { "$", -1, NULL };
    memset(u, 0, sizeof *u);
    if (get_id(o, "id_str", u->id, sizeof u->id, what, &root, err, errlen) != 0 ||
        get_name(o, "screen_name", u->username, sizeof u->username, what, &root, err, errlen) != 0)
        return -1;
    if (get_count(o, "followers_count", &u->followers, TW_U_FOLLOWERS, &u->have, what, &root, err, errlen) ||
        get_count(o, "friends_count", &u->following, TW_U_FOLLOWING, &u->have, what, &root, err, errlen) ||
        get_count(o, "statuses_count", &u->posts, TW_U_POSTS, &u->have, what, &root, err, errlen) ||
        get_count(o, "listed_count", &u->listed, TW_U_LISTED, &u->have, what, &root, err, errlen) ||
        get_count(o, "favourites_count", &u->likes, TW_U_LIKES, &u->have, what, &root, err, errlen))
        return -1;
    u->has_metrics = u->have != 0;
    return 0;
}

int tw_parse_user_v1(const char *body, size_t len, const char *what, tw_user *out,
                     char *err, size_t errlen)
{
    json_t *root = parse_object(body, len, what, err, errlen);
    if (!root)
        return -1;
    int rc = user_v1(root, what, out, err, errlen);
    json_decref(root);
    return rc;
}

int tw_parse_timeline_v1(const char *body, size_t len, const char *what, tw_page *out,
                         char *err, size_t errlen)
{
    int rc = -1;
    json_t *root = jsonu_parse(body, len, what, err, errlen);
    if (!root)
        return -1;
    out->next_token[0] = '\0';
    if (!json_is_array(root)) {
        errf_set(err, errlen, "%s: line 1, column 1: expected a JSON array, got %s", what,
                 type_name(root));
        goto done;
    }
    size_t i;
    json_t *o;
    json_array_foreach(root, i, o) {
        char path[WHERE_MAX];
        where at = { "", (long)i, NULL };
        if (!json_is_object(o)) {
            errf_set(err, errlen, "%s: %s: expected an object, got %s", what,
                     where_str(&at, path, sizeof path), type_name(o));
            goto done;
        }
        if (grow((void **)&out->v, &out->n, &out->cap, sizeof *out->v) != 0) {
            errf_set(err, errlen, "%s: out of memory", what);
            goto done;
        }
        tw_post *p = &out->v[out->n];
        memset(p, 0, sizeof *p);
        if (get_id(o, "id_str", p->id, sizeof p->id, what, &at, err, errlen) != 0)
            goto done;
        json_t *ca = json_object_get(o, "created_at");
        if (!json_is_string(ca) || tw_parse_v1_time(json_string_value(ca), &p->created_ns) != 0) {
            errf_set(err, errlen, "%s: %s.created_at: missing or not a v1.1 time", what,
                     where_str(&at, path, sizeof path));
            goto done;
        }
        if (get_count(o, "favorite_count", &p->likes, TW_P_LIKES, &p->have, what, &at, err, errlen) ||
            get_count(o, "retweet_count", &p->reposts, TW_P_REPOSTS, &p->have, what, &at, err, errlen) ||
            get_count(o, "reply_count", &p->replies, TW_P_REPLIES, &p->have, what, &at, err, errlen) ||
            get_count(o, "quote_count", &p->quotes, TW_P_QUOTES, &p->have, what, &at, err, errlen))
            goto done;
        out->n++;
    }
    out->result_count = (long)out->n;
    rc = 0;
done:
    json_decref(root);
    return rc;
}

/* ---- errors ---------------------------------------------------------------------- */

void tw_problem_line(const tw_problem *p, char *out, size_t cap)
{
    int n;
    if (p->code && !p->title[0]) {
        n = snprintf(out, cap, "code %ld: %s", p->code, p->detail[0] ? p->detail : "(no message)");
    } else {
        const char *title = p->title[0] ? p->title : "error";
        bool show_detail = p->detail[0] && strcmp(p->detail, p->title) != 0;
        bool show_type = p->type[0] && strcmp(p->type, "about:blank") != 0;
        n = snprintf(out, cap, "%s%s%s%s%s%s", title, show_detail ? ": " : "",
                     show_detail ? p->detail : "", show_type ? " (" : "",
                     show_type ? p->type : "", show_type ? ")" : "");
    }
    if (n < 0 && cap)
        out[0] = '\0';
}

int tw_parse_error(const char *body, size_t len, tw_problem *first, char *msg, size_t cap)
{
    memset(first, 0, sizeof *first);
    if (cap)
        msg[0] = '\0';
    json_error_t je;
    json_t *root = body && len ? json_loadb(body, len, 0, &je) : NULL;
    int rc = -1;
    if (json_is_object(root)) {
        json_t *errs = json_object_get(root, "errors");
        if (json_object_get(root, "title") || json_object_get(root, "detail")) {
            problem_from(root, first);
            rc = 0;
        } else if (json_is_array(errs) && json_array_size(errs) > 0 &&
                   json_is_object(json_array_get(errs, 0))) {
            problem_from(json_array_get(errs, 0), first);
            rc = 0;
        } else if (json_is_string(json_object_get(root, "error"))) {
            /* {"error":"Not authorized.","request":"/1.1/..."} (old v1.1) */
            copy_line(first->detail, sizeof first->detail,
                      json_string_value(json_object_get(root, "error")));
            copy_line(first->title, sizeof first->title, "error");
            rc = 0;
        }
    }
    json_decref(root);
    if (rc == 0) {
        tw_problem_line(first, msg, cap);
        return 0;
    }
    /* not a known shape: a short printable excerpt */
    size_t o = 0;
    for (size_t i = 0; body && i < len && o + 4 < cap && i < 160; i++) {
        unsigned char c = (unsigned char)body[i];
        if (c < 0x20 || c >= 0x7f)
            msg[o++] = ' ';
        else
            msg[o++] = (char)c;
    }
    if (body && len > 160 && o + 4 < cap) {
        memcpy(msg + o, "...", 3);
        o += 3;
    }
    if (cap)
        msg[o < cap ? o : cap - 1] = '\0';
    return -1;
}

/* ---- ids --------------------------------------------------------------------------- */

bool tw_problem_usage_capped(const tw_problem *p)
{
    size_t n = strlen(p->type), k = strlen("/2/problems/usage-capped");
    return strcmp(p->title, "UsageCapExceeded") == 0 ||
           (n >= k && strcmp(p->type + n - k, "/2/problems/usage-capped") == 0);
}

int tw_id_cmp(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return la < lb ? -1 : 1;
    return strcmp(a, b);
}

int tw_id_prev(const char *id, char *out, size_t cap)
{
    size_t n = strlen(id);
    if (n == 0 || n >= cap || strspn(id, "0123456789") != n || (n > 1 && id[0] == '0'))
        return -1;
    memcpy(out, id, n + 1);
    size_t i = n;
    while (i > 0) {
        i--;
        if (out[i] > '0') {
            out[i]--;
            break;
        }
        out[i] = '9';
        if (i == 0)
            return -1;   /* was 0 */
    }
    /* drop a leading zero ("10" - 1 = "09" -> "9") */
    if (out[0] == '0' && n > 1)
        memmove(out, out + 1, n);
    return 0;
}

/* ---- GET /2/usage/tweets ------------------------------------------------------------ */

/* A count given as a digit string or a non-negative integer. 1 found, 0 absent/null, -1 bad. */
static int get_count_or_string(json_t *obj, const char *key, int64_t *out, const char *what,
                               char *err, size_t errlen)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 0;
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (int64_t)json_integer_value(v);
        return 1;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = strlen(s);
        if (n > 0 && n <= 18 && strspn(s, "0123456789") == n) {
            int64_t x = 0;
            for (size_t i = 0; i < n; i++)
                x = x * 10 + (s[i] - '0');
            *out = x;
            return 1;
        }
    }
    errf_set(err, errlen, "%s: data.%s: expected a count (digits or a non-negative integer), got %s",
             what, key, type_name(v));
    return -1;
}

int tw_parse_usage(const char *body, size_t len, const char *what, tw_usage *out, char *err,
                   size_t errlen)
{
    memset(out, 0, sizeof *out);
    json_t *root = parse_object(body, len, what, err, errlen);
    if (!root)
        return -1;
    int rc = -1;
    json_t *data = json_object_get(root, "data");
    if (!json_is_object(data)) {
        errf_set(err, errlen, "%s: data: expected an object, got %s", what,
                 data ? type_name(data) : "nothing");
        goto done;
    }
    int g;
    if ((g = get_count_or_string(data, "project_usage", &out->usage, what, err, errlen)) < 0)
        goto done;
    out->has_usage = g == 1;
    if ((g = get_count_or_string(data, "project_cap", &out->cap, what, err, errlen)) < 0)
        goto done;
    out->has_cap = g == 1;
    if ((g = get_count_or_string(data, "cap_reset_day", &out->cap_reset_day, what, err, errlen)) < 0)
        goto done;
    out->has_reset_day = g == 1;
    int64_t pid;
    json_t *p = json_object_get(data, "project_id");
    if (json_is_string(p) && strlen(json_string_value(p)) < sizeof out->project_id &&
        strspn(json_string_value(p), "0123456789") == strlen(json_string_value(p)))
        memcpy(out->project_id, json_string_value(p), strlen(json_string_value(p)) + 1);
    else if (get_count_or_string(data, "project_id", &pid, what, err, errlen) == 1 &&
             snprintf(out->project_id, sizeof out->project_id, "%lld", (long long)pid) < 0)
        out->project_id[0] = '\0';
    rc = 0;
done:
    json_decref(root);
    return rc;
}


/* ---- GET /2/tweets/analytics ------------------------------------------------------------ */

const char *const tw_an_keys[TW_AN_METRICS] = {
    "app_install_attempts", "app_opens", "bookmarks", "detail_expands", "email_tweet",
    "engagements", "follows", "hashtag_clicks", "impressions", "likes", "media_views",
    "permalink_clicks", "quote_tweets", "replies", "retweets", "shares", "unfollows", "unlikes",
    "url_clicks", "user_profile_clicks", "link_clicks", "media_engagements", "profile_visits",
};
const char *const tw_an_fields[TW_AN_METRICS] = {
    "app_install_attempts", "app_opens", "bookmarks", "detail_expands", "email_tweet",
    "engagements", "follows", "hashtag_clicks", "impressions", "likes", "media_views",
    "permalink_clicks", "quotes", "replies", "reposts", "shares", "unfollows", "unlikes",
    "url_clicks", "user_profile_clicks", "link_clicks", "media_engagements", "profile_visits",
};

void tw_an_page_init(tw_an_page *p)
{
    memset(p, 0, sizeof *p);
}

void tw_an_page_free(tw_an_page *p)
{
    if (!p)
        return;
    free(p->v);
    free(p->errors);
    tw_an_page_init(p);
}

/* The metrics of obj into b (the keys it has). 0 or -1. */
static int an_metrics(json_t *obj, tw_an_bucket *b, const char *what, const where *at, char *err,
                      size_t errlen)
{
    for (unsigned i = 0; i < TW_AN_METRICS; i++) {
        unsigned have = 0;
        if (get_count(obj, tw_an_keys[i], &b->v[i], 1u, &have, what, at, err, errlen) != 0)
            return -1;
        if (have)
            b->have |= (uint32_t)1 << i;
    }
    return 0;
}

/* One bucket: a timestamp string (null: skipped) and the metrics object m (null: skipped). */
static int an_bucket(tw_an_page *out, const char *id, json_t *ts, json_t *m, const char *what,
                     const where *at, char *err, size_t errlen)
{
    char path[WHERE_MAX];
    if (!ts || json_is_null(ts) || !m || json_is_null(m)) {
        out->skipped++;
        return 0;
    }
    if (!json_is_object(m)) {
        errf_set(err, errlen, "%s: %s.metrics: expected an object, got %s", what,
                 where_str(at, path, sizeof path), type_name(m));
        return -1;
    }
    tw_an_bucket b;
    memset(&b, 0, sizeof b);
    char why[128];
    if (!json_is_string(ts) || tparse_time(json_string_value(ts), 0, &b.t_ns, why, sizeof why) != 0) {
        errf_set(err, errlen, "%s: %s.timestamp: not an RFC 3339 time", what,
                 where_str(at, path, sizeof path));
        return -1;
    }
    memcpy(b.post_id, id, strlen(id) + 1);
    if (an_metrics(m, &b, what, at, err, errlen) != 0)
        return -1;
    if (grow((void **)&out->v, &out->n, &out->cap, sizeof *out->v) != 0) {
        errf_set(err, errlen, "%s: out of memory", what);
        return -1;
    }
    out->v[out->n++] = b;
    return 0;
}

int tw_parse_analytics(const char *body, size_t len, const char *what, tw_an_page *out,
                       char *err, size_t errlen)
{
    json_t *root = parse_object(body, len, what, err, errlen);
    if (!root)
        return -1;
    int rc = -1;
    char path[WHERE_MAX];
    if (get_errors(root, &out->errors, &out->nerrors, &out->errcap, what, err, errlen) != 0)
        goto done;
    json_t *data = json_object_get(root, "data");
    if (!data || json_is_null(data)) {
        if (out->nerrors == 0) {
            errf_set(err, errlen, "%s: missing \"data\" (and no \"errors\")", what);
            goto done;
        }
        rc = 0;
        goto done;
    }
    if (!json_is_array(data)) {
        errf_set(err, errlen, "%s: data: expected an array, got %s", what, type_name(data));
        goto done;
    }
    size_t i;
    json_t *it;
    json_array_foreach(data, i, it) {
        where at = { "data", (long)i, NULL };
        if (!json_is_object(it)) {
            errf_set(err, errlen, "%s: %s: expected an object, got %s", what,
                     where_str(&at, path, sizeof path), type_name(it));
            goto done;
        }
        char id[TW_ID_MAX];
        if (get_id(it, "id", id, sizeof id, what, &at, err, errlen) != 0)
            goto done;
        json_t *tm = json_object_get(it, "timestamped_metrics");
        if (tm && !json_is_null(tm)) {
            where tat = { "data", (long)i, "timestamped_metrics" };
            if (!json_is_array(tm)) {
                errf_set(err, errlen, "%s: %s: expected an array, got %s", what,
                         where_str(&tat, path, sizeof path), type_name(tm));
                goto done;
            }
            size_t k;
            json_t *e;
            json_array_foreach(tm, k, e) {
                if (!json_is_object(e)) {
                    errf_set(err, errlen, "%s: %s[%zu]: expected an object, got %s", what,
                             where_str(&tat, path, sizeof path), k, type_name(e));
                    goto done;
                }
                if (an_bucket(out, id, json_object_get(e, "timestamp"), json_object_get(e, "metrics"),
                              what, &tat, err, errlen) != 0)
                    goto done;
            }
        } else if (json_object_get(it, "timestamp")) {
            /* 2.167: the metrics flat on the item, with its timestamp */
            if (an_bucket(out, id, json_object_get(it, "timestamp"), it, what, &at, err, errlen) != 0)
                goto done;
        }
    }
    rc = 0;
done:
    json_decref(root);
    return rc;
}
