/* oauth1: OAuth 1.0a request signing, HMAC-SHA1 (RFC 5849), over liboauth.
 *
 * liboauth does the RFC 3986 percent-encoding (oauth_url_escape) and the HMAC-SHA1
 * (oauth_sign_hmac_sha1_raw); this module builds what goes around them: the base string
 * URI (RFC 5849 3.4.1.2), the collected and normalised parameters (3.4.1.3: query string
 * and form body, '+' read as a space, oauth_signature left out, sorted by encoded name
 * then encoded value), the signing key, and the Authorization header (3.5.1).
 *
 * Every step is a separate function so tests can check each against published known
 * answers (tests/fixtures/oauth1/vectors.json); oauth1_sign does them all and takes
 * the nonce and timestamp from its caller when given (tests), else a fresh nonce from
 * getrandom() and the current time.
 *
 * Nothing here logs. Errors never carry a secret: err names the step and the URL without
 * its query string.
 */
#ifndef CF_OAUTH1_H
#define CF_OAUTH1_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define OAUTH1_NONCE_LEN 32          /* hex characters in a generated nonce */
#define OAUTH1_SIG_MAX 64            /* base64 of a SHA-1 HMAC is 28 characters + NUL */
#define OAUTH1_MAX_TEXT (1u << 20)   /* cap on a base string or header (1 MiB) */

/* Base string URI options. The default follows RFC 5849 and oauthlib/liboauth: an empty
 * path becomes "/". OAUTH1_URI_EMPTY_PATH_AS_IS keeps an empty path empty, as
 * dghubble/oauth1 does (some published vectors were made that way). */
enum { OAUTH1_URI_EMPTY_PATH_AS_IS = 1u << 0 };

/* One decoded (raw) name/value pair. */
typedef struct oauth1_param {
    char *key;
    char *value;
} oauth1_param;

/* A list of parameters; owns its strings. */
typedef struct oauth1_params {
    oauth1_param *v;
    size_t n, cap;
} oauth1_params;

void oauth1_params_init(oauth1_params *p);
/* Free every string and the array. Accepts NULL. */
void oauth1_params_free(oauth1_params *p);
/* Append a copy of key/value. 0 or -1 (out of memory). */
int oauth1_params_add(oauth1_params *p, const char *key, const char *value);
/* Append the pairs of an application/x-www-form-urlencoded text[len] (a query string
 * without '?', or a form body): split at '&', name and value at the first '=', '+' is a
 * space, %XX is a byte (a '%' not followed by two hex digits stays as it is), a piece
 * without '=' is a name with an empty value, empty pieces are skipped. 0 or -1 (ENOMEM). */
int oauth1_params_add_form(oauth1_params *p, const char *text, size_t len);
/* Append the parameters of url's query string (after '?', before '#'); none: 0. */
int oauth1_params_add_query(oauth1_params *p, const char *url);

/* RFC 3986 percent-encoding of s (unreserved ALPHA DIGIT - . _ ~ kept, every other byte
 * %XX with upper-case hex), appended to out. 0 or -1 (cap, ENOMEM). */
int oauth1_percent_encode(buf *out, const char *s);

/* The base string URI of url: scheme and host in lower case, the default port (80 for
 * http, 443 for https) dropped, userinfo, query and fragment removed, the path kept as
 * given; an empty path is "/" unless flags has OAUTH1_URI_EMPTY_PATH_AS_IS. Appended to
 * out. 0, or -1 with err set (not an absolute http(s)-style URL, or over the cap). */
int oauth1_base_uri(buf *out, const char *url, unsigned flags, char *err, size_t errlen);

/* The normalised parameter string of p (3.4.1.3.2): every pair but oauth_signature,
 * name and value encoded, sorted by encoded name then encoded value (bytes), joined as
 * name=value with '&'. Appended to out. 0 or -1. */
int oauth1_normalize(buf *out, const oauth1_params *p);

/* The signature base string: METHOD (upper-cased) & enc(base URI of url) & enc(normalised
 * p). Only url's scheme, authority and path are used: p must already hold every
 * parameter (see oauth1_params_add_query / _add_form). Appended to out. 0 or -1. */
int oauth1_base_string(buf *out, const char *method, const char *url, const oauth1_params *p,
                       unsigned flags, char *err, size_t errlen);

/* The HMAC-SHA1 signing key: enc(consumer_secret) '&' enc(token_secret); NULL is "".
 * Appended to out (the caller wipes it: it holds secrets). 0 or -1. */
int oauth1_signing_key(buf *out, const char *consumer_secret, const char *token_secret);

/* base64(HMAC-SHA1(key, text)) into out[cap] (cap >= OAUTH1_SIG_MAX). 0 or -1. */
int oauth1_hmac_sha1(const char *key, size_t key_len, const char *text, size_t text_len,
                     char *out, size_t cap);

/* A fresh nonce: OAUTH1_NONCE_LEN hex characters from getrandom(). out[cap] with
 * cap > OAUTH1_NONCE_LEN. 0 or -1 (no randomness available). */
int oauth1_nonce(char *out, size_t cap);

typedef struct oauth1_creds {
    const char *consumer_key;     /* API key */
    const char *consumer_secret;  /* API secret */
    const char *token;            /* access token; NULL: no oauth_token parameter */
    const char *token_secret;     /* access token secret; NULL is "" */
} oauth1_creds;

typedef struct oauth1_request {
    const char *method;           /* "GET", "POST" */
    const char *url;              /* absolute URL; its query parameters are signed */
    const char *form_body;        /* application/x-www-form-urlencoded body (signed), or NULL */
    const char *nonce;            /* NULL: a fresh one (oauth1_nonce) */
    const char *timestamp;        /* NULL: now, in seconds */
    const char *realm;            /* NULL: none; in the header only, never signed */
    const oauth1_param *extra;    /* more oauth_* protocol parameters (oauth_callback,
                                     oauth_verifier): signed and put in the header */
    size_t nextra;
    bool no_version;              /* leave out oauth_version="1.0" (it is optional) */
    unsigned uri_flags;           /* OAUTH1_URI_* */
} oauth1_request;

typedef struct oauth1_signed {
    buf base_string;              /* the signature base string (no secret in it) */
    buf header;                   /* the Authorization header value: OAuth realm="..",
                                     then the protocol parameters sorted by name, each
                                     name="enc(value)", separated by ", " */
    char signature[OAUTH1_SIG_MAX];  /* base64, not percent-encoded */
    char nonce[128];              /* the nonce used (given ones may be up to 127 chars) */
    char timestamp[24];
} oauth1_signed;

void oauth1_signed_init(oauth1_signed *s);
/* Free the buffers (the header is wiped first: it carries the key and token). NULL ok. */
void oauth1_signed_free(oauth1_signed *s);

/* Sign one request: collect the query and form parameters, add the protocol parameters
 * (oauth_consumer_key, oauth_nonce, oauth_signature_method=HMAC-SHA1, oauth_timestamp,
 * oauth_token when given, oauth_version=1.0 unless no_version, and `extra`), build the base
 * string, sign it, and build the header. `out` must have been initialised; its previous
 * contents are replaced. 0, or -1 with err set (never a secret). */
int oauth1_sign(const oauth1_creds *c, const oauth1_request *r, oauth1_signed *out,
                char *err, size_t errlen);

/* Once at exit, after the last signature: liboauth's NSS build initialises NSS
 * (NSS_NoDB_Init) on the first HMAC and never shuts it down; this does (when NSS is in the
 * process and initialised), so that the process ends with nothing leaked. Safe to call
 * when nothing was signed, and more than once. */
void oauth1_global_cleanup(void);

/* Copy header value h into out with the values of oauth_consumer_key, oauth_token and
 * oauth_signature replaced by "<redacted>", for DEBUG logs. 0 or -1. */
int oauth1_redact_header(buf *out, const char *h);

#endif
