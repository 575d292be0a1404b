#include "oauth1.h"
#include "util.h"

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <stddef.h>   /* liboauth's header uses size_t without including it */
#include <oauth.h>

/* ---- parameter lists ---------------------------------------------------- */

void oauth1_params_init(oauth1_params *p)
{
    p->v = NULL;
    p->n = 0;
    p->cap = 0;
}

void oauth1_params_free(oauth1_params *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].key);
        free(p->v[i].value);
    }
    free(p->v);
    p->v = NULL;
    p->n = 0;
    p->cap = 0;
}

/* Take ownership of key and value (both malloc'd); frees them on failure. */
static int params_push(oauth1_params *p, char *key, char *value)
{
    if (!key || !value)
        goto fail;
    if (p->n == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 16;
        if (ncap > SIZE_MAX / sizeof *p->v)
            goto fail;
        oauth1_param *nv = realloc(p->v, ncap * sizeof *nv);
        if (!nv)
            goto fail;
        p->v = nv;
        p->cap = ncap;
    }
    p->v[p->n].key = key;
    p->v[p->n].value = value;
    p->n++;
    return 0;
fail:
    free(key);
    free(value);
    return -1;
}

int oauth1_params_add(oauth1_params *p, const char *key, const char *value)
{
    return params_push(p, strdup(key ? key : ""), strdup(value ? value : ""));
}

/* Decode one form-encoded component s[len] into a new string. */
static char *form_decode(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%' && i + 2 < len &&
                   util_hexval((unsigned char)s[i + 1]) >= 0 && util_hexval((unsigned char)s[i + 2]) >= 0) {
            out[o++] = (char)(util_hexval((unsigned char)s[i + 1]) * 16 + util_hexval((unsigned char)s[i + 2]));
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

int oauth1_params_add_form(oauth1_params *p, const char *text, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && text[j] != '&')
            j++;
        if (j > i) {
            const char *piece = text + i;
            size_t plen = j - i;
            const char *eq = memchr(piece, '=', plen);
            size_t klen = eq ? (size_t)(eq - piece) : plen;
            char *k = form_decode(piece, klen);
            char *v = eq ? form_decode(eq + 1, plen - klen - 1) : strdup("");
            if (params_push(p, k, v) != 0)
                return -1;
        }
        i = j + 1;
    }
    return 0;
}

int oauth1_params_add_query(oauth1_params *p, const char *url)
{
    const char *q = strchr(url, '?');
    if (!q)
        return 0;
    q++;
    size_t len = strcspn(q, "#");
    return oauth1_params_add_form(p, q, len);
}

/* ---- encoding ----------------------------------------------------------- */

int oauth1_percent_encode(buf *out, const char *s)
{
    char *e = oauth_url_escape(s ? s : "");
    if (!e)
        return -1;
    int rc = buf_adds(out, e);
    free(e);
    return rc;
}

static void set_err(char *err, size_t errlen, const char *fmt, const char *a)
{
    if (err && errlen) {
        int n = snprintf(err, errlen, fmt, a);
        if (n < 0)
            err[0] = '\0';
    }
}

/* The URL up to '?' or '#' for error messages (never the query: it may hold a token). */
static void url_for_err(const char *url, char *out, size_t cap)
{
    size_t n = strcspn(url, "?#");
    if (n >= cap)
        n = cap - 1;
    memcpy(out, url, n);
    out[n] = '\0';
}

int oauth1_base_uri(buf *out, const char *url, unsigned flags, char *err, size_t errlen)
{
    char shown[256];
    url_for_err(url ? url : "", shown, sizeof shown);
    if (!url) {
        set_err(err, errlen, "oauth1: no URL%s", "");
        return -1;
    }
    const char *sep = strstr(url, "://");
    if (!sep || sep == url) {
        set_err(err, errlen, "oauth1: %s: not an absolute URL", shown);
        return -1;
    }
    size_t slen = (size_t)(sep - url);
    char scheme[16];
    if (slen >= sizeof scheme) {
        set_err(err, errlen, "oauth1: %s: scheme too long", shown);
        return -1;
    }
    for (size_t i = 0; i < slen; i++) {
        unsigned char c = (unsigned char)url[i];
        if (!isalnum(c) && c != '+' && c != '-' && c != '.') {
            set_err(err, errlen, "oauth1: %s: bad scheme", shown);
            return -1;
        }
        scheme[i] = (char)tolower(c);
    }
    scheme[slen] = '\0';

    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?#");
    const char *path = auth + alen;
    size_t plen = strcspn(path, "?#");

    /* userinfo is not part of the base string URI */
    const char *at = memchr(auth, '@', alen);
    if (at) {
        alen -= (size_t)(at + 1 - auth);
        auth = at + 1;
    }
    /* host [":" port]; an IPv6 literal is in brackets */
    size_t hlen = alen;
    const char *port = NULL;
    size_t portlen = 0;
    if (alen && auth[0] == '[') {
        const char *rb = memchr(auth, ']', alen);
        if (!rb) {
            set_err(err, errlen, "oauth1: %s: bad IPv6 host", shown);
            return -1;
        }
        hlen = (size_t)(rb + 1 - auth);
    } else {
        const char *colon = memchr(auth, ':', alen);
        if (colon)
            hlen = (size_t)(colon - auth);
    }
    if (hlen < alen) {
        if (auth[hlen] != ':') {
            set_err(err, errlen, "oauth1: %s: bad authority", shown);
            return -1;
        }
        port = auth + hlen + 1;
        portlen = alen - hlen - 1;
        for (size_t i = 0; i < portlen; i++) {
            if (!isdigit((unsigned char)port[i])) {
                set_err(err, errlen, "oauth1: %s: bad port", shown);
                return -1;
            }
        }
    }
    if (hlen == 0) {
        set_err(err, errlen, "oauth1: %s: no host", shown);
        return -1;
    }
    bool drop_port = portlen == 0 ||
                     (strcmp(scheme, "http") == 0 && portlen == 2 && memcmp(port, "80", 2) == 0) ||
                     (strcmp(scheme, "https") == 0 && portlen == 3 && memcmp(port, "443", 3) == 0);

    if (buf_adds(out, scheme) != 0 || buf_adds(out, "://") != 0)
        goto cap;
    for (size_t i = 0; i < hlen; i++)
        if (buf_addc(out, (char)tolower((unsigned char)auth[i])) != 0)
            goto cap;
    if (!drop_port && (buf_addc(out, ':') != 0 || buf_add(out, port, portlen) != 0))
        goto cap;
    if (plen == 0) {
        if (!(flags & OAUTH1_URI_EMPTY_PATH_AS_IS) && buf_addc(out, '/') != 0)
            goto cap;
    } else if (buf_add(out, path, plen) != 0) {
        goto cap;
    }
    return 0;
cap:
    /* the buffer failed (buf.h: freed and marked), nothing to restore */
    set_err(err, errlen, "oauth1: %s: base string URI over the size cap", shown);
    return -1;
}

typedef struct enc_pair {
    char *k, *v;
} enc_pair;

static int enc_pair_cmp(const void *a, const void *b)
{
    const enc_pair *x = a, *y = b;
    int c = strcmp(x->k, y->k);
    return c ? c : strcmp(x->v, y->v);
}

int oauth1_normalize(buf *out, const oauth1_params *p)
{
    int rc = -1;
    size_t n = 0;
    enc_pair *pairs = calloc(p->n ? p->n : 1, sizeof *pairs);
    if (!pairs)
        return -1;
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->v[i].key, "oauth_signature") == 0)
            continue;
        pairs[n].k = oauth_url_escape(p->v[i].key);
        pairs[n].v = oauth_url_escape(p->v[i].value);
        n++;
        if (!pairs[n - 1].k || !pairs[n - 1].v)
            goto done;
    }
    qsort(pairs, n, sizeof *pairs, enc_pair_cmp);
    for (size_t i = 0; i < n; i++) {
        if ((i && buf_addc(out, '&') != 0) || buf_adds(out, pairs[i].k) != 0 ||
            buf_addc(out, '=') != 0 || buf_adds(out, pairs[i].v) != 0) {
            /* the buffer failed (buf.h: freed and marked), nothing to restore */
            goto done;
        }
    }
    rc = 0;
done:
    for (size_t i = 0; i < n; i++) {
        free(pairs[i].k);
        free(pairs[i].v);
    }
    free(pairs);
    return rc;
}

int oauth1_base_string(buf *out, const char *method, const char *url, const oauth1_params *p,
                       unsigned flags, char *err, size_t errlen)
{
    int rc = -1;
    buf uri, norm;
    buf_init(&uri, OAUTH1_MAX_TEXT);
    buf_init(&norm, OAUTH1_MAX_TEXT);

    if (!method || !*method) {
        set_err(err, errlen, "oauth1: no method%s", "");
        goto done;
    }
    if (oauth1_base_uri(&uri, url, flags, err, errlen) != 0)
        goto done;
    if (oauth1_normalize(&norm, p) != 0) {
        set_err(err, errlen, "oauth1: parameters over the size cap or out of memory%s", "");
        goto done;
    }
    for (const char *m = method; *m; m++)
        if (buf_addc(out, (char)toupper((unsigned char)*m)) != 0)
            goto cap;
    if (buf_addc(out, '&') != 0 || oauth1_percent_encode(out, uri.p) != 0 ||
        buf_addc(out, '&') != 0 || oauth1_percent_encode(out, norm.p ? norm.p : "") != 0)
        goto cap;
    rc = 0;
    goto done;
cap:
    /* the buffer failed (buf.h: freed and marked), nothing to restore */
    set_err(err, errlen, "oauth1: base string over the size cap%s", "");
done:
    buf_free(&uri);
    buf_free(&norm);
    return rc;
}

int oauth1_signing_key(buf *out, const char *consumer_secret, const char *token_secret)
{
    if (oauth1_percent_encode(out, consumer_secret) != 0 || buf_addc(out, '&') != 0 ||
        oauth1_percent_encode(out, token_secret) != 0)
        return -1;
    return 0;
}

int oauth1_hmac_sha1(const char *key, size_t key_len, const char *text, size_t text_len,
                     char *out, size_t cap)
{
    char *sig = oauth_sign_hmac_sha1_raw(text, text_len, key, key_len);
    if (!sig)
        return -1;
    size_t n = strlen(sig);
    int rc = -1;
    if (n > 0 && n < cap) {
        memcpy(out, sig, n + 1);
        rc = 0;
    }
    free(sig);
    return rc;
}

int oauth1_nonce(char *out, size_t cap)
{
    unsigned char raw[OAUTH1_NONCE_LEN / 2];
    static const char hex[] = "0123456789abcdef";
    if (cap <= OAUTH1_NONCE_LEN)
        return -1;
    size_t got = 0;
    while (got < sizeof raw) {
        ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        got += (size_t)n;
    }
    for (size_t i = 0; i < sizeof raw; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[OAUTH1_NONCE_LEN] = '\0';
    return 0;
}

/* ---- signing ------------------------------------------------------------ */

void oauth1_signed_init(oauth1_signed *s)
{
    buf_init(&s->base_string, OAUTH1_MAX_TEXT);
    buf_init(&s->header, OAUTH1_MAX_TEXT);
    s->signature[0] = '\0';
    s->nonce[0] = '\0';
    s->timestamp[0] = '\0';
}

void oauth1_signed_free(oauth1_signed *s)
{
    if (!s)
        return;
    if (s->header.p)
        explicit_bzero(s->header.p, s->header.cap);
    buf_free(&s->header);
    buf_free(&s->base_string);
    explicit_bzero(s->signature, sizeof s->signature);
}

static int is_reserved_oauth(const char *k)
{
    static const char *const own[] = { "oauth_consumer_key", "oauth_nonce", "oauth_signature",
                                       "oauth_signature_method", "oauth_timestamp",
                                       "oauth_token", "oauth_version", NULL };
    for (size_t i = 0; own[i]; i++)
        if (strcmp(k, own[i]) == 0)
            return 1;
    return 0;
}

/* Append `name="enc(value)"` (with ", " before it unless first) to the header. */
static int header_param(buf *h, int *first, const char *name, const char *value)
{
    if (!*first && buf_adds(h, ", ") != 0)
        return -1;
    *first = 0;
    if (oauth1_percent_encode(h, name) != 0 || buf_adds(h, "=\"") != 0 ||
        oauth1_percent_encode(h, value) != 0 || buf_addc(h, '"') != 0)
        return -1;
    return 0;
}

static int param_name_cmp(const void *a, const void *b)
{
    const oauth1_param *x = a, *y = b;
    return strcmp(x->key, y->key);
}

int oauth1_sign(const oauth1_creds *c, const oauth1_request *r, oauth1_signed *out,
                char *err, size_t errlen)
{
    int rc = -1;
    char shown[256];
    oauth1_params all, proto;
    buf key;
    oauth1_params_init(&all);
    oauth1_params_init(&proto);
    buf_init(&key, OAUTH1_MAX_TEXT);
    url_for_err(r && r->url ? r->url : "", shown, sizeof shown);

    buf_reset(&out->base_string);
    buf_reset(&out->header);
    out->signature[0] = '\0';

    if (!c || !r || !c->consumer_key || !c->consumer_secret || !r->url || !r->method) {
        set_err(err, errlen, "oauth1: %s: missing credentials or request", shown);
        goto done;
    }
    /* nonce and timestamp */
    if (r->nonce) {
        size_t n = strlen(r->nonce);
        if (n == 0 || n >= sizeof out->nonce) {
            set_err(err, errlen, "oauth1: %s: bad nonce length", shown);
            goto done;
        }
        memcpy(out->nonce, r->nonce, n + 1);
    } else if (oauth1_nonce(out->nonce, sizeof out->nonce) != 0) {
        set_err(err, errlen, "oauth1: %s: getrandom failed", shown);
        goto done;
    }
    if (r->timestamp) {
        size_t n = strlen(r->timestamp);
        if (n == 0 || n >= sizeof out->timestamp) {
            set_err(err, errlen, "oauth1: %s: bad timestamp", shown);
            goto done;
        }
        memcpy(out->timestamp, r->timestamp, n + 1);
    } else {
        int n = snprintf(out->timestamp, sizeof out->timestamp, "%lld", (long long)time(NULL));
        if (n < 0 || (size_t)n >= sizeof out->timestamp)
            goto done;
    }

    /* protocol parameters */
    if (oauth1_params_add(&proto, "oauth_consumer_key", c->consumer_key) != 0 ||
        oauth1_params_add(&proto, "oauth_nonce", out->nonce) != 0 ||
        oauth1_params_add(&proto, "oauth_signature_method", "HMAC-SHA1") != 0 ||
        oauth1_params_add(&proto, "oauth_timestamp", out->timestamp) != 0 ||
        (c->token && oauth1_params_add(&proto, "oauth_token", c->token) != 0) ||
        (!r->no_version && oauth1_params_add(&proto, "oauth_version", "1.0") != 0))
        goto nomem;
    for (size_t i = 0; i < r->nextra; i++) {
        if (!r->extra[i].key || strncmp(r->extra[i].key, "oauth_", 6) != 0 ||
            is_reserved_oauth(r->extra[i].key)) {
            set_err(err, errlen, "oauth1: %s: extra parameters must be other oauth_* names",
                    shown);
            goto done;
        }
        if (oauth1_params_add(&proto, r->extra[i].key, r->extra[i].value) != 0)
            goto nomem;
    }

    /* every signed parameter: query, form body, protocol */
    if (oauth1_params_add_query(&all, r->url) != 0 ||
        (r->form_body && oauth1_params_add_form(&all, r->form_body, strlen(r->form_body)) != 0))
        goto nomem;
    for (size_t i = 0; i < proto.n; i++)
        if (oauth1_params_add(&all, proto.v[i].key, proto.v[i].value) != 0)
            goto nomem;

    if (oauth1_base_string(&out->base_string, r->method, r->url, &all, r->uri_flags, err,
                           errlen) != 0)
        goto done;
    if (oauth1_signing_key(&key, c->consumer_secret, c->token_secret) != 0) {
        set_err(err, errlen, "oauth1: %s: secrets too long", shown);
        goto done;
    }
    if (oauth1_hmac_sha1(key.p, key.len, out->base_string.p, out->base_string.len,
                         out->signature, sizeof out->signature) != 0) {
        set_err(err, errlen, "oauth1: %s: HMAC-SHA1 failed", shown);
        goto done;
    }

    /* header: realm first, then the protocol parameters and the signature by name */
    if (oauth1_params_add(&proto, "oauth_signature", out->signature) != 0)
        goto nomem;
    qsort(proto.v, proto.n, sizeof *proto.v, param_name_cmp);
    int first = 1;
    if (buf_adds(&out->header, "OAuth ") != 0)
        goto nomem;
    if (r->realm && header_param(&out->header, &first, "realm", r->realm) != 0)
        goto nomem;
    for (size_t i = 0; i < proto.n; i++)
        if (header_param(&out->header, &first, proto.v[i].key, proto.v[i].value) != 0)
            goto nomem;
    rc = 0;
    goto done;
nomem:
    set_err(err, errlen, "oauth1: %s: out of memory or over the size cap", shown);
done:
    if (key.p)
        explicit_bzero(key.p, key.cap);
    buf_free(&key);
    /* the protocol list holds the consumer key and token */
    for (size_t i = 0; i < proto.n; i++)
        if (proto.v[i].value)
            explicit_bzero(proto.v[i].value, strlen(proto.v[i].value));
    for (size_t i = 0; i < all.n; i++)
        if (all.v[i].value)
            explicit_bzero(all.v[i].value, strlen(all.v[i].value));
    oauth1_params_free(&proto);
    oauth1_params_free(&all);
    if (rc != 0) {
        if (out->header.p)
            explicit_bzero(out->header.p, out->header.cap);
        buf_reset(&out->header);
        out->signature[0] = '\0';
    }
    return rc;
}

int oauth1_redact_header(buf *out, const char *h)
{
    static const char *const hidden[] = { "oauth_consumer_key", "oauth_token",
                                          "oauth_signature", NULL };
    const char *p = h;
    while (*p) {
        /* copy up to the next name="...": find the '=' of a parameter */
        const char *eq = strstr(p, "=\"");
        if (!eq)
            return buf_adds(out, p);
        /* name starts after the last ' ' or ',' before eq */
        const char *name = eq;
        while (name > p && name[-1] != ' ' && name[-1] != ',')
            name--;
        size_t nlen = (size_t)(eq - name);
        const char *close = strchr(eq + 2, '"');
        if (buf_add(out, p, (size_t)(eq + 2 - p)) != 0)
            return -1;
        if (!close)   /* unterminated: hide the rest whatever it is */
            return buf_adds(out, "<redacted>");
        int hide = 0;
        for (size_t i = 0; hidden[i]; i++)
            if (strlen(hidden[i]) == nlen && memcmp(hidden[i], name, nlen) == 0)
                hide = 1;
        if (hide ? buf_adds(out, "<redacted>") != 0
                 : buf_add(out, eq + 2, (size_t)(close - (eq + 2))) != 0)
            return -1;
        if (buf_addc(out, '"') != 0)
            return -1;
        p = close + 1;
    }
    return 0;
}

void oauth1_global_cleanup(void)
{
    /* Looked up, not linked: liboauth may be built over OpenSSL, and then NSS is absent. */
    typedef int (*is_init_fn)(void);
    typedef int (*shutdown_fn)(void);
    void *isinit = dlsym(RTLD_DEFAULT, "NSS_IsInitialized");
    void *shut = dlsym(RTLD_DEFAULT, "NSS_Shutdown");
    if (!isinit || !shut)
        return;
    is_init_fn f_is;
    shutdown_fn f_shut;
    memcpy(&f_is, &isinit, sizeof f_is);   /* object to function pointer, as POSIX allows */
    memcpy(&f_shut, &shut, sizeof f_shut);
    if (f_is())
        (void)f_shut();
}
