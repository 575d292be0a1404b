/* jsonu: helpers over jansson (see jsonu.h). */
#include "jsonu.h"
#include "errf.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *jsonu_parse(const char *text, size_t len, const char *what, char *err, size_t errlen)
{
    json_error_t e;
    memset(&e, 0, sizeof e);
    if (!text) {
        text = "";
        len = 0;
    }
    json_t *root = json_loadb(text, len, 0, &e);
    if (!root) {
        errf_set(err, errlen, "%s: line %d, column %d: %s", what ? what : "JSON", e.line,
                 e.column, e.text[0] ? e.text : "invalid JSON");
        return NULL;
    }
    return root;
}

/* ---- where a failed unpack points ------------------------------------------------- */

#define PATH_DEPTH 32

/* The key path (and the value) the unpack format had reached at fmt[stop]: walk fmt up to
 * there, taking the arguments as json_vunpack_ex did (keys: const char *; values: one
 * pointer each, two for "s%"), and follow the keys from node. *at: the deepest value
 * reached (the object whose key is missing, or the value of the wrong type). */
static void unpack_path(json_t *node, const char *fmt, size_t stop, va_list ap, char *path,
                        size_t cap, json_t **at)
{
    struct {
        json_t *v;
        int is_obj;
        size_t idx;          /* arrays: the next index */
        const char *key;     /* objects: the key whose value comes next */
    } st[PATH_DEPTH];
    int depth = -1;
    json_t *cur = node;      /* the value the next value token stands for */
    *at = node;
    path[0] = '\0';
    size_t len = strlen(fmt);
    if (stop > len)
        stop = len;
    for (size_t i = 0; i < stop; i++) {
        char c = fmt[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == ',' || c == ':' || c == '?' || c == '!' ||
            c == '*' || c == '%')
            continue;
        bool last = i + 1 == stop;   /* the token jansson stopped at */
        bool key_pos = depth >= 0 && st[depth].is_obj && !st[depth].key;
        if (c == '}' || c == ']' || (key_pos && c == '}')) {
            if (last) {   /* a key missing or left over: the object itself */
                if (depth >= 0 && st[depth].v)
                    *at = st[depth].v;
                break;
            }
            depth--;
            continue;
        }
        if (key_pos) {   /* 's': the key */
            st[depth].key = va_arg(ap, const char *);
            cur = st[depth].v && st[depth].key ? json_object_get(st[depth].v, st[depth].key)
                                               : NULL;
            if (last) {
                *at = st[depth].v;
                break;
            }
            continue;
        }
        if (last) {   /* the value of the wrong type */
            *at = cur ? cur : depth >= 0 && st[depth].v ? st[depth].v : node;
            break;
        }
        if (c == '{' || c == '[') {
            if (depth + 1 >= PATH_DEPTH)
                break;
            depth++;
            st[depth].v = cur;
            st[depth].is_obj = c == '{';
            st[depth].idx = 0;
            st[depth].key = NULL;
            if (c == '[')
                cur = cur ? json_array_get(cur, 0) : NULL;
            continue;
        }
        /* a value: take its pointer argument(s) */
        if (c != 'n')
            (void)va_arg(ap, void *);
        if (c == 's' && i + 1 < len && fmt[i + 1] == '%')
            (void)va_arg(ap, void *);
        if (depth >= 0 && st[depth].is_obj) {
            st[depth].key = NULL;
        } else if (depth >= 0) {
            st[depth].idx++;
            cur = st[depth].v ? json_array_get(st[depth].v, st[depth].idx) : NULL;
        }
    }
    /* the path: the keys and indexes of the open containers */
    size_t o = 0;
    for (int d = 0; d <= depth && o + 1 < cap; d++) {
        int n;
        if (st[d].is_obj && st[d].key)
            n = snprintf(path + o, cap - o, "%s%s", o ? "." : "", st[d].key);
        else if (!st[d].is_obj)
            n = snprintf(path + o, cap - o, "[%zu]", st[d].idx);
        else
            n = 0;
        if (n < 0 || (size_t)n >= cap - o)
            break;
        o += (size_t)n;
    }
}

/* Text scanner that walks doc->text in step with doc's tree to find where `target` is. */
typedef struct scan {
    const char *s;
    size_t n, i;
    json_t *target;
    size_t found;            /* offset of target's first character, or SIZE_MAX */
} scan;

static void skip_ws(scan *c)
{
    while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t' || c->s[c->i] == '\n' ||
                           c->s[c->i] == '\r'))
        c->i++;
}

/* A JSON string at c->i: skip it; its decoded text into out[cap] when out ("" when it
 * does not fit). 0, or -1 when it is not a string. */
static int scan_string(scan *c, char *out, size_t cap)
{
    if (c->i >= c->n || c->s[c->i] != '"')
        return -1;
    size_t o = 0;
    bool fits = true;
    c->i++;
    while (c->i < c->n && c->s[c->i] != '"') {
        char ch = c->s[c->i++];
        if (ch == '\\' && c->i < c->n) {
            char e = c->s[c->i++];
            switch (e) {
            case 'b': ch = '\b'; break;
            case 'f': ch = '\f'; break;
            case 'n': ch = '\n'; break;
            case 'r': ch = '\r'; break;
            case 't': ch = '\t'; break;
            case 'u': fits = false; c->i += 4; continue;   /* keys with \u: not matched */
            default: ch = e; break;
            }
        }
        if (out && o + 1 < cap)
            out[o++] = ch;
        else
            fits = false;
    }
    c->i++;
    if (out && cap)
        out[fits ? o : 0] = '\0';
    return 0;
}

/* Walk the value at c->i, which is v in the tree (NULL: skip it). Stops once found. */
static void scan_value(scan *c, json_t *v, int depth)
{
    skip_ws(c);
    if (c->found != SIZE_MAX || c->i >= c->n || depth > 512)
        return;
    if (v && v == c->target) {
        c->found = c->i;
        return;
    }
    char ch = c->s[c->i];
    if (ch == '{') {
        c->i++;
        for (;;) {
            skip_ws(c);
            if (c->i >= c->n || c->s[c->i] == '}') {
                c->i++;
                return;
            }
            char key[256];
            if (scan_string(c, key, sizeof key) != 0)
                return;
            skip_ws(c);
            if (c->i < c->n && c->s[c->i] == ':')
                c->i++;
            json_t *child = v && key[0] ? json_object_get(v, key) : NULL;
            scan_value(c, child, depth + 1);
            if (c->found != SIZE_MAX)
                return;
            skip_ws(c);
            if (c->i < c->n && c->s[c->i] == ',')
                c->i++;
        }
    }
    if (ch == '[') {
        c->i++;
        for (size_t k = 0;; k++) {
            skip_ws(c);
            if (c->i >= c->n || c->s[c->i] == ']') {
                c->i++;
                return;
            }
            scan_value(c, v ? json_array_get(v, k) : NULL, depth + 1);
            if (c->found != SIZE_MAX)
                return;
            skip_ws(c);
            if (c->i < c->n && c->s[c->i] == ',')
                c->i++;
        }
    }
    if (ch == '"') {
        (void)scan_string(c, NULL, 0);
        return;
    }
    while (c->i < c->n && !strchr(",]} \t\r\n", c->s[c->i]))
        c->i++;   /* a number, true, false, null */
}

/* Line and column (1-based, columns in bytes as jansson counts) of target in doc. 0, or
 * -1 when it is not there. */
static int locate(const jsonu_doc *doc, json_t *target, int *line, int *col)
{
    if (!doc || !doc->text || !doc->root || !target)
        return -1;
    scan c = { doc->text, doc->len, 0, target, SIZE_MAX };
    scan_value(&c, doc->root, 0);
    if (c.found == SIZE_MAX)
        return -1;
    int l = 1, k = 1;
    for (size_t i = 0; i < c.found; i++) {
        if (doc->text[i] == '\n') {
            l++;
            k = 1;
        } else {
            k++;
        }
    }
    *line = l;
    *col = k;
    return 0;
}

static int unpack_v(const jsonu_doc *doc, json_t *node, const char *what, char *err,
                    size_t errlen, const char *fmt, va_list ap)
{
    json_error_t e;
    memset(&e, 0, sizeof e);
    what = what ? what : "JSON";
    if (!node) {
        errf_set(err, errlen, "%s: no JSON value", what);
        return -1;
    }
    va_list ap2;
    va_copy(ap2, ap);
    int rc = json_vunpack_ex(node, &e, 0, fmt, ap);
    if (rc == 0) {
        va_end(ap2);
        return 0;
    }
    char path[256];
    json_t *at = node;
    /* e.position: where in fmt the unpack stopped (jansson counts from 1 past the token) */
    unpack_path(node, fmt, e.position > 0 ? (size_t)e.position : 0, ap2, path, sizeof path, &at);
    va_end(ap2);
    const char *why = e.text[0] ? e.text : "unexpected shape";
    int line, col;
    if (locate(doc, at, &line, &col) == 0)
        errf_set(err, errlen, "%s: line %d, column %d: %s%s%s", what, line, col, path,
                 path[0] ? ": " : "", why);
    else
        errf_set(err, errlen, "%s: %s%s%s", what, path, path[0] ? ": " : "", why);
    return -1;
}

int jsonu_unpack_in(const jsonu_doc *doc, json_t *node, const char *what, char *err,
                    size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = unpack_v(doc, node, what, err, errlen, fmt, ap);
    va_end(ap);
    return rc;
}

int jsonu_unpack(json_t *root, const char *what, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = unpack_v(NULL, root, what, err, errlen, fmt, ap);
    va_end(ap);
    return rc;
}
