/* k8s_objects: read the fields cluster-metrics uses from Kubernetes API objects.
 *
 * Each parser takes one list item (a borrowed jansson value) and fills a plain struct
 * whose strings point INTO that JSON value: they stay valid until the caller drops the
 * tree (json_decref). Nothing is allocated. Errors: -1 with err = "<kind> NAME: what"
 * ("pod ns/name: container x: cpu request \"12q\": unknown suffix ..."); quantity text
 * and names in messages are cut to a sane length and stripped of control characters.
 *
 * Quantities become integers with k8s_quantity (rounded up like Kubernetes):
 * cpu in millicores, memory in bytes, pods as a count.
 */
#ifndef CF_K8S_OBJECTS_H
#define CF_K8S_OBJECTS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define K8S_ERR_MAX 512

/* A Node (v1). */
enum {
    K8S_N_CPU_CAP = 1 << 0,
    K8S_N_CPU_ALLOC = 1 << 1,
    K8S_N_MEM_CAP = 1 << 2,
    K8S_N_MEM_ALLOC = 1 << 3,
    K8S_N_PODS_CAP = 1 << 4,
};
typedef struct k8s_node {
    const char *name;               /* metadata.name (required) */
    const char *kubelet_version;    /* status.nodeInfo.kubeletVersion, "" when absent */
    const char *os_image;           /* status.nodeInfo.osImage */
    const char *container_runtime;  /* status.nodeInfo.containerRuntimeVersion */
    int64_t cpu_capacity_m, cpu_allocatable_m;
    int64_t memory_capacity_b, memory_allocatable_b;
    int64_t pods_capacity;
    unsigned have;                  /* K8S_N_* bits: which of the numbers above were given */
    int ready;                      /* 1: condition Ready is "True"; 0: False, Unknown, absent */
} k8s_node;

/* A Pod (v1). */
typedef struct k8s_pod {
    const char *namespace_;         /* metadata.namespace (required) */
    const char *name;               /* metadata.name (required) */
    const char *node;               /* spec.nodeName, "" when not scheduled */
    const char *phase;              /* status.phase, "Unknown" when absent */
    int64_t restarts;               /* sum of status.containerStatuses[].restartCount */
    int64_t containers;             /* number of spec.containers */
    int64_t ready_containers;       /* containerStatuses with ready: true */
    int64_t cpu_request_m;          /* effective pod request, see k8s_pod_parse */
    int64_t memory_request_b;
} k8s_pod;

/* Usage from metrics.k8s.io/v1beta1 (NodeMetrics or PodMetrics). */
enum { K8S_U_CPU = 1 << 0, K8S_U_MEM = 1 << 1 };
typedef struct k8s_usage {
    const char *namespace_;         /* "" for a node */
    const char *name;
    int64_t cpu_m;                  /* millicores (a pod: containers summed in nanocores, then rounded up) */
    int64_t memory_b;               /* bytes */
    unsigned have;                  /* K8S_U_* */
} k8s_usage;

/* Node: capacity/allocatable cpu, memory, pods; nodeInfo; the Ready condition.
 * A missing capacity entry is simply absent (bit clear); a malformed one is an error. */
int k8s_node_parse(json_t *item, k8s_node *out, char *err, size_t errlen);

/* Pod. The cpu/memory requests are the pod's effective requests as the scheduler counts
 * them: max(sum of containers + sum of restartable (sidecar) init containers,
 * the largest init container plus the sidecars started before it) + spec.overhead.
 * Containers without requests count 0. Every request is checked (a malformed one is an
 * error naming the container). */
int k8s_pod_parse(json_t *item, k8s_pod *out, char *err, size_t errlen);

/* NodeMetrics: usage.cpu, usage.memory. */
int k8s_node_metrics_parse(json_t *item, k8s_usage *out, char *err, size_t errlen);
/* PodMetrics: the sum over containers[].usage. */
int k8s_pod_metrics_parse(json_t *item, k8s_usage *out, char *err, size_t errlen);

/* A list answer (NodeList, PodList, List, *MetricsList): *items is the items array (null or
 * missing: an empty array is not created, *items = NULL and the list is empty), *cont the
 * metadata.continue token ("" on the last page). Borrowed. 0 or -1 (err: what is wrong). */
int k8s_list_parse(json_t *root, json_t **items, const char **cont, char *err, size_t errlen);

/* A quantity given as a JSON string (or number) at `scale` (K8S_Q_UNITS / K8S_Q_MILLI /
 * 9 for nano). 0, or -1 with err = the reason. */
int k8s_quantity_json(json_t *v, int scale, int64_t *out, char *err, size_t errlen);

/* Copy s into out[cap] for an error message: at most cap-1 bytes, '"' shown as '\'',
 * control characters and '\\' as '?', "..." when cut. Returns out. */
char *k8s_printable(const char *s, char *out, size_t cap);

#endif
