/* k8s_tables: the small in-memory state cluster-metrics keeps while it pages through lists.
 *
 *  - k8s_usage_map: "namespace/name" (or a node name) -> cpu millicores, memory bytes, from
 *    metrics.k8s.io. Keys are copied into an arena; about 100 bytes per entry, so the usage
 *    of 150,000 pods takes ~15 MB (the JSON it came from is never held: pages are dropped).
 *  - k8s_seen: a set of 64-bit hashes of object keys already written in this run, so a list
 *    restarted after 410 Gone writes no object twice (8-16 bytes per object).
 *  - k8s_ns_counts: pods per namespace and phase (a few hundred bytes per namespace).
 *
 * Each *_new returns NULL when out of memory; each *_free accepts NULL. Add/put functions
 * return 0 or -1 (out of memory, or a key longer than K8S_KEY_MAX).
 */
#ifndef CF_K8S_TABLES_H
#define CF_K8S_TABLES_H

#include <stddef.h>
#include <stdint.h>

#define K8S_KEY_MAX 1024

/* 64-bit hash of ns + '/' + name (ns may be "" or NULL: just the name). */
uint64_t k8s_key_hash(const char *ns, const char *name);

typedef struct k8s_usage_map k8s_usage_map;
k8s_usage_map *k8s_usage_map_new(void);
void k8s_usage_map_free(k8s_usage_map *m);
/* Set (or replace) the usage of ns/name. have: K8S_U_* bits (k8s_objects.h). */
int k8s_usage_map_put(k8s_usage_map *m, const char *ns, const char *name, int64_t cpu_m,
                      int64_t memory_b, unsigned have);
/* 1 found (outputs set), 0 not found. */
int k8s_usage_map_get(const k8s_usage_map *m, const char *ns, const char *name, int64_t *cpu_m,
                      int64_t *memory_b, unsigned *have);
size_t k8s_usage_map_count(const k8s_usage_map *m);
/* Bytes allocated (table + arena), for the docs and the bench. */
size_t k8s_usage_map_bytes(const k8s_usage_map *m);

typedef struct k8s_seen k8s_seen;
k8s_seen *k8s_seen_new(void);
void k8s_seen_free(k8s_seen *s);
/* Add the key: 1 it was new, 0 it was already there, -1 out of memory. */
int k8s_seen_add(k8s_seen *s, uint64_t h);
size_t k8s_seen_count(const k8s_seen *s);

/* Pods per namespace and phase. The five phases of the API (Pending, Running, Succeeded,
 * Failed, Unknown) exist for every namespace seen, so a phase that drops to zero is written
 * as 0 rather than left stale; any other phase string is kept as given. */
typedef struct k8s_ns_counts k8s_ns_counts;
k8s_ns_counts *k8s_ns_counts_new(void);
void k8s_ns_counts_free(k8s_ns_counts *c);
int k8s_ns_counts_add(k8s_ns_counts *c, const char *ns, const char *phase);
/* Forget every count (a list restarted from the beginning). */
void k8s_ns_counts_reset(k8s_ns_counts *c);
size_t k8s_ns_counts_namespaces(const k8s_ns_counts *c);
/* Visit every (namespace, phase, pods) in namespace order, then phase order (the five API
 * phases first). A non-zero return from fn stops the walk and is returned. */
typedef int (*k8s_ns_visit)(void *ctx, const char *ns, const char *phase, int64_t pods);
int k8s_ns_counts_each(k8s_ns_counts *c, k8s_ns_visit fn, void *ctx);

#endif
