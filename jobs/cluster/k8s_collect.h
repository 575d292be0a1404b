/* k8s_collect: one cluster-metrics run: read the cluster, add its points to the sink.
 *
 * Order and memory (DESIGN.md "Points written"; README in this folder):
 *  1. metrics.k8s.io node usage, paged  -> a name -> usage map (nodes: a few thousand);
 *  2. metrics.k8s.io pod usage, paged   -> a "ns/name" -> usage map (~100 bytes a pod);
 *     when metrics.k8s.io is not served (404/503) both are skipped and the usage fields
 *     are left out; st->metrics_note says so for main's one warning.
 *  3. /api/v1/nodes, paged: one k8s_node point per node, usage joined by name;
 *  4. /api/v1/pods, paged: one k8s_pod point per pod, usage joined by ns/name; pods counted
 *     per namespace and phase;
 *  5. one k8s_namespace point per namespace and phase (the five API phases always, zeros
 *     included).
 * Each page's JSON is dropped after its items are turned into points, so memory is one
 * page plus the usage maps, whatever the size of the cluster.
 *
 * A list restarted after 410 Gone writes no object twice (a set of written keys) and
 * counts the namespaces afresh. Every point carries sink_run_time_ns().
 * An object that does not parse (a malformed quantity...) is left out, the run goes on,
 * and the result is 65 with st->first_bad naming it.
 */
#ifndef CF_K8S_COLLECT_H
#define CF_K8S_COLLECT_H

#include <stddef.h>
#include <stdint.h>

#include "../../store/sink.h"
#include "k8s_api.h"
#include "k8s_objects.h"

typedef struct k8s_collect_opts {
    const char *cluster;        /* the `cluster` tag */
    int page_size;              /* limit= of each list request; 0: 500 */
    int max_restarts;           /* per list, after 410; <0: 3 */
} k8s_collect_opts;

typedef struct k8s_collect_stats {
    int64_t nodes, pods, namespaces;       /* in the (last) complete listing */
    int64_t node_usage, pod_usage;         /* usage entries read from metrics.k8s.io */
    int64_t points;                        /* points added to the sink */
    int64_t rejected;                      /* points the encoder refused */
    int64_t bad;                           /* objects left out: did not parse */
    int restarts;                          /* 410 restarts, all lists */
    int pages;                             /* list requests answered, all lists */
    size_t max_page_bytes;
    size_t usage_bytes;                    /* memory held by the usage maps */
    int metrics_absent;                    /* metrics.k8s.io not served */
    char metrics_note[K8S_ERR_MAX];        /* what answered, for the warning */
    char first_bad[K8S_ERR_MAX];           /* the first object left out, and why */
    int store_failed;                      /* the 73 came from the store: sink_finish says
                                            * how many points were not stored */
} k8s_collect_stats;

/* Returns the run's exit code: 0; 65 (objects left out, see st->first_bad; or a page that
 * does not parse, err); 69, 77, 78 from the API (err); 73 the store refused (err). */
int k8s_collect(k8s_api *a, sink *s, const k8s_collect_opts *o, k8s_collect_stats *st,
                char *err, size_t errlen);

#endif
