/* k8s_api: talk to a Kubernetes API server the way a pod (or kubectl proxy) does.
 *
 * Where the API is (first that applies):
 *  1. KUBE_API_URL (e.g. http://127.0.0.1:8001 from `kubectl proxy`, or https://host:6443),
 *     with an optional bearer token (KUBE_TOKEN, or KUBE_TOKEN_FILE: a path) and an
 *     optional CA bundle KUBE_CA_FILE (else the system store).
 *  2. In a pod: KUBERNETES_SERVICE_HOST + KUBERNETES_SERVICE_PORT (default 443), with the
 *     service account's token, ca.crt and namespace from KUBE_SA_DIR (default
 *     /var/run/secrets/kubernetes.io/serviceaccount). KUBE_TOKEN(_FILE) and KUBE_CA_FILE,
 *     when set, win over the service account's files.
 *  Neither: configuration missing (78).
 *
 * The token is read from its file when the client is made (each run: bound service-account
 * tokens rotate), and read again once when the server answers 401 (rotated during the run).
 * It goes out only as "Authorization: Bearer ..." and is redacted from DEBUG=1 logs; no
 * message built here ever holds it.
 *
 * Return codes of the request functions are sysexits values, with err set:
 *   0 done; 65 an answer that does not parse (with line and column), is over the body
 *   cap, or repeats its continue token; 69 unreachable (connection refused, TLS refused);
 *   75 temporary after retries: 429 rate limited, a 5xx, no answer in time (the same in
 *   every source: docs/DESIGN.md); 77 401 (token refused) or 403 (RBAC: the
 *   message names the verb and resource, and the server's reason); 78 404 on a core path
 *   (KUBE_API_URL is not an API server).
 */
#ifndef CF_K8S_API_H
#define CF_K8S_API_H

#include <jansson.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define K8S_SA_DIR_DEFAULT "/var/run/secrets/kubernetes.io/serviceaccount"
#define K8S_URL_MAX 1024
#define K8S_PATH_MAX 4096

/* Returned by k8s_list for an optional API that is not served (404, 503). */
#define K8S_ABSENT 1

typedef struct k8s_config {
    char url[K8S_URL_MAX];          /* base URL, no trailing '/' */
    char token_file[K8S_PATH_MAX];  /* "" when the token is not in a file we can re-read */
    char ca_file[K8S_PATH_MAX];     /* "" for the system store */
    char sa_namespace[256];         /* the service account's namespace, "" if unknown */
    const char *source;             /* "KUBE_API_URL" or "in-cluster service account" */
    int has_token;                  /* a token is configured (file or KUBE_TOKEN) */
} k8s_config;

/* Read the configuration from the environment. 0, or 78 with err set (what is missing and
 * how to set it; never a token). */
int k8s_config_load(k8s_config *c, char *err, size_t errlen);

typedef struct k8s_api k8s_api;

typedef struct k8s_api_opts {
    long timeout_ms;        /* per request; 0: 60000 */
    int retries;            /* extra attempts on network errors, 429 and 5xx; <0: 2 */
    long backoff_ms;        /* base of the exponential backoff; 0: 250 */
    int64_t deadline_ns;    /* clock_mono_ns() time no request or wait goes past; 0: none */
} k8s_api_opts;

/* A client: reads the token and sets up TLS. NULL with *code (78 token/CA unreadable) and err. */
k8s_api *k8s_api_new(const k8s_config *c, const k8s_api_opts *o, int *code, char *err,
                     size_t errlen);
void k8s_api_free(k8s_api *a);   /* accepts NULL; wipes the token */

/* One page: called for each item of a list, in order. A non-zero return (an exit code)
 * stops the walk and k8s_list returns it. */
typedef int (*k8s_item_fn)(void *ctx, json_t *item, char *err, size_t errlen);
/* Called when the list starts over (the continue token expired: 410 Gone). */
typedef void (*k8s_restart_fn)(void *ctx);

typedef struct k8s_list_req {
    const char *path;        /* "/api/v1/pods" */
    const char *resource;    /* "pods", "nodes.metrics.k8s.io": for messages ("list pods") */
    int page_size;           /* limit=; 0: no limit */
    int max_restarts;        /* restarts after 410 Gone on a continue token; <0: 3 */
    int optional;            /* 404/503: return K8S_ABSENT (err says what answered) */
    k8s_item_fn on_item;
    k8s_restart_fn on_restart;   /* may be NULL */
    void *ctx;
} k8s_list_req;

typedef struct k8s_list_stats {
    int64_t items;           /* items handed to on_item over all attempts */
    int pages;               /* requests answered 2xx */
    int restarts;            /* 410 restarts */
    size_t max_page_bytes;   /* largest page body */
} k8s_list_stats;

/* List r->path in pages of r->page_size, following metadata.continue, handing each item to
 * on_item; each page's JSON is dropped before the next is read. On 410 Gone for a continue
 * token: on_restart, then the list starts over (at most max_restarts times).
 * Returns 0, K8S_ABSENT, an exit code (65, 69, 77, 78) with err set, or on_item's code. */
int k8s_list(k8s_api *a, const k8s_list_req *r, k8s_list_stats *st, char *err, size_t errlen);

/* The "message" of a Kubernetes Status body (403, 410, 422, ...) into out[cap], made
 * printable; "" when the body is not a Status. */
void k8s_status_message(const char *body, size_t len, char *out, size_t cap);

#endif
