/* fuzz target: Kubernetes objects and quantities (jobs/cluster/k8s_objects.h,
 * k8s_quantity.h). The input as JSON: a list (its items) or one object, read as a node, a
 * pod and both metrics kinds; the input as text: a quantity at every scale. */
#include "fuzz.h"

#include "../jobs/cluster/k8s_objects.h"
#include "../jobs/cluster/k8s_quantity.h"

static void one_item(json_t *item)
{
    char err[K8S_ERR_MAX];
    k8s_node n;
    k8s_pod p;
    k8s_usage u;
    err[0] = '\0';
    if (k8s_node_parse(item, &n, err, sizeof err) != 0)
        fuzz_check_err(err, sizeof err, "k8s_node_parse");
    else
        FUZZ_CHECK(n.name != NULL, "a node without a name");
    err[0] = '\0';
    if (k8s_pod_parse(item, &p, err, sizeof err) != 0)
        fuzz_check_err(err, sizeof err, "k8s_pod_parse");
    else
        FUZZ_CHECK(p.name && p.namespace_ && p.node && p.phase, "a pod with a NULL string");
    err[0] = '\0';
    if (k8s_node_metrics_parse(item, &u, err, sizeof err) != 0)
        fuzz_check_err(err, sizeof err, "k8s_node_metrics_parse");
    err[0] = '\0';
    if (k8s_pod_metrics_parse(item, &u, err, sizeof err) != 0)
        fuzz_check_err(err, sizeof err, "k8s_pod_metrics_parse");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[K8S_ERR_MAX];
    json_error_t je;
    json_t *root = json_loadb((const char *)data, size, 0, &je);
    if (root) {
        json_t *items = NULL;
        const char *cont = NULL;
        err[0] = '\0';
        if (k8s_list_parse(root, &items, &cont, err, sizeof err) == 0) {
            FUZZ_CHECK(cont != NULL, "no continue token");
            size_t i;
            json_t *it;
            if (items)
                json_array_foreach(items, i, it)
                    one_item(it);
        } else {
            fuzz_check_err(err, sizeof err, "k8s_list_parse");
        }
        one_item(root);
        int64_t q;
        err[0] = '\0';
        if (k8s_quantity_json(root, K8S_Q_MILLI, &q, err, sizeof err) != 0)
            fuzz_check_err(err, sizeof err, "k8s_quantity_json");
        json_decref(root);
    }

    char *s = fuzz_cstr(data, size);
    int64_t prevq = 0;
    for (int scale = -9; scale <= 9; scale++) {
        int64_t q = INT64_C(0x5a5a5a5a);
        err[0] = '\0';
        int r = k8s_quantity(s, scale, &q, err, sizeof err);
        if (r != 0) {
            fuzz_check_err(err, sizeof err, "k8s_quantity");
            FUZZ_CHECK(q == INT64_C(0x5a5a5a5a), "value changed on error");
            break;   /* text that fails fails at every scale */
        }
        /* ceil(|x| * 10^scale): the magnitude never shrinks as the scale grows */
        if (scale > -9)
            FUZZ_CHECK((q >= 0 ? q : -q) >= (prevq >= 0 ? prevq : -prevq),
                       "[%s] at scale %d is %" PRId64 ", at %d %" PRId64, s, scale, q,
                       scale - 1, prevq);
        prevq = q;
    }
    char shown[64];
    k8s_printable(s, shown, sizeof shown);
    FUZZ_CHECK(strlen(shown) < sizeof shown, "k8s_printable overran");
    for (const char *c = shown; *c; c++)
        FUZZ_CHECK((unsigned char)*c >= 0x20 && *c != 0x7f && *c != '"' && *c != '\\',
                   "k8s_printable let 0x%02x through", (unsigned char)*c);
    free(s);
    return 0;
}
