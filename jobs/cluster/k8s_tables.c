/* k8s_tables: usage map, seen set, namespace counts (see k8s_tables.h). */
#include "k8s_tables.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- hashing ---------------------------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

static uint64_t fnv_add(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

uint64_t k8s_key_hash(const char *ns, const char *name)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    if (ns && *ns) {
        h = fnv_add(h, ns);
        h ^= '/';
        h *= UINT64_C(0x100000001b3);
    }
    h = fnv_add(h, name ? name : "");
    return mix64(h);
}

/* "ns/name" (or "name") into out[K8S_KEY_MAX]. 0 or -1 when too long. */
static int make_key(const char *ns, const char *name, char *out)
{
    int n = ns && *ns ? snprintf(out, K8S_KEY_MAX, "%s/%s", ns, name ? name : "")
                      : snprintf(out, K8S_KEY_MAX, "%s", name ? name : "");
    return n < 0 || n >= K8S_KEY_MAX ? -1 : 0;
}

/* ---- arena ------------------------------------------------------------------------ */

#define ARENA_CHUNK ((size_t)64 * 1024)

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    char data[];
} chunk;

static char *arena_strdup(chunk **head, size_t *bytes, const char *s)
{
    size_t n = strlen(s) + 1;
    chunk *c = *head;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
        chunk *nc = malloc(sizeof *nc + cap);
        if (!nc)
            return NULL;
        nc->next = c;
        nc->used = 0;
        nc->cap = cap;
        *head = nc;
        *bytes += sizeof *nc + cap;
        c = nc;
    }
    char *p = c->data + c->used;
    memcpy(p, s, n);
    c->used += n;
    return p;
}

static void arena_free(chunk *c)
{
    while (c) {
        chunk *next = c->next;
        free(c);
        c = next;
    }
}

/* ---- usage map -------------------------------------------------------------------- */

typedef struct uentry {
    uint64_t h;
    const char *key;
    int64_t cpu_m, memory_b;
    unsigned have;
} uentry;

struct k8s_usage_map {
    uentry *e;          /* dense entries */
    size_t n, ecap;
    uint32_t *slot;     /* 0 empty, else index + 1 */
    size_t nslots;      /* power of two */
    chunk *arena;
    size_t arena_bytes;
};

k8s_usage_map *k8s_usage_map_new(void)
{
    return calloc(1, sizeof(k8s_usage_map));
}

void k8s_usage_map_free(k8s_usage_map *m)
{
    if (!m)
        return;
    free(m->e);
    free(m->slot);
    arena_free(m->arena);
    free(m);
}

static size_t umap_find(const k8s_usage_map *m, uint64_t h, const char *key, bool *found)
{
    size_t mask = m->nslots - 1, i = (size_t)h & mask;
    for (;;) {
        uint32_t s = m->slot[i];
        if (s == 0) {
            *found = false;
            return i;
        }
        const uentry *e = &m->e[s - 1];
        if (e->h == h && strcmp(e->key, key) == 0) {
            *found = true;
            return i;
        }
        i = (i + 1) & mask;
    }
}

static int umap_grow(k8s_usage_map *m)
{
    size_t ns = m->nslots ? m->nslots * 2 : 1024;
    if (ns > (size_t)UINT32_MAX)
        return -1;
    uint32_t *slot = calloc(ns, sizeof *slot);
    if (!slot)
        return -1;
    for (size_t k = 0; k < m->n; k++) {
        size_t i = (size_t)m->e[k].h & (ns - 1);
        while (slot[i])
            i = (i + 1) & (ns - 1);
        slot[i] = (uint32_t)(k + 1);
    }
    free(m->slot);
    m->slot = slot;
    m->nslots = ns;
    return 0;
}

int k8s_usage_map_put(k8s_usage_map *m, const char *ns, const char *name, int64_t cpu_m,
                      int64_t memory_b, unsigned have)
{
    char key[K8S_KEY_MAX];
    if (!m || make_key(ns, name, key) != 0)
        return -1;
    if ((m->n + 1) * 2 > m->nslots && umap_grow(m) != 0)
        return -1;
    uint64_t h = k8s_key_hash(ns, name);
    bool found;
    size_t i = umap_find(m, h, key, &found);
    if (found) {
        uentry *e = &m->e[m->slot[i] - 1];
        e->cpu_m = cpu_m;
        e->memory_b = memory_b;
        e->have = have;
        return 0;
    }
    if (m->n == m->ecap) {
        size_t nc = m->ecap ? m->ecap * 2 : 512;
        uentry *ne = realloc(m->e, nc * sizeof *ne);
        if (!ne)
            return -1;
        m->e = ne;
        m->ecap = nc;
    }
    const char *k = arena_strdup(&m->arena, &m->arena_bytes, key);
    if (!k)
        return -1;
    m->e[m->n] = (uentry){ .h = h, .key = k, .cpu_m = cpu_m, .memory_b = memory_b, .have = have };
    m->slot[i] = (uint32_t)(m->n + 1);
    m->n++;
    return 0;
}

int k8s_usage_map_get(const k8s_usage_map *m, const char *ns, const char *name, int64_t *cpu_m,
                      int64_t *memory_b, unsigned *have)
{
    char key[K8S_KEY_MAX];
    if (!m || m->n == 0 || make_key(ns, name, key) != 0)
        return 0;
    bool found;
    size_t i = umap_find(m, k8s_key_hash(ns, name), key, &found);
    if (!found)
        return 0;
    const uentry *e = &m->e[m->slot[i] - 1];
    *cpu_m = e->cpu_m;
    *memory_b = e->memory_b;
    *have = e->have;
    return 1;
}

size_t k8s_usage_map_count(const k8s_usage_map *m)
{
    return m ? m->n : 0;
}

size_t k8s_usage_map_bytes(const k8s_usage_map *m)
{
    return m ? m->ecap * sizeof(uentry) + m->nslots * sizeof(uint32_t) + m->arena_bytes : 0;
}

/* ---- seen set --------------------------------------------------------------------- */

struct k8s_seen {
    uint64_t *slot;   /* 0 empty */
    size_t nslots, n;
};

k8s_seen *k8s_seen_new(void)
{
    return calloc(1, sizeof(k8s_seen));
}

void k8s_seen_free(k8s_seen *s)
{
    if (!s)
        return;
    free(s->slot);
    free(s);
}

static int seen_grow(k8s_seen *s)
{
    size_t ns = s->nslots ? s->nslots * 2 : 1024;
    uint64_t *slot = calloc(ns, sizeof *slot);
    if (!slot)
        return -1;
    for (size_t k = 0; k < s->nslots; k++) {
        uint64_t h = s->slot[k];
        if (!h)
            continue;
        size_t i = (size_t)h & (ns - 1);
        while (slot[i])
            i = (i + 1) & (ns - 1);
        slot[i] = h;
    }
    free(s->slot);
    s->slot = slot;
    s->nslots = ns;
    return 0;
}

int k8s_seen_add(k8s_seen *s, uint64_t h)
{
    if (!s)
        return -1;
    if (h == 0)
        h = 1;
    if ((s->n + 1) * 2 > s->nslots && seen_grow(s) != 0)
        return -1;
    size_t mask = s->nslots - 1, i = (size_t)h & mask;
    while (s->slot[i]) {
        if (s->slot[i] == h)
            return 0;
        i = (i + 1) & mask;
    }
    s->slot[i] = h;
    s->n++;
    return 1;
}

size_t k8s_seen_count(const k8s_seen *s)
{
    return s ? s->n : 0;
}

/* ---- namespace counts ------------------------------------------------------------- */

static const char *const std_phases[] = { "Pending", "Running", "Succeeded", "Failed", "Unknown" };
#define NSTD (sizeof std_phases / sizeof std_phases[0])

typedef struct extra_phase {
    char *phase;
    int64_t n;
} extra_phase;

typedef struct ns_entry {
    char *ns;
    uint64_t h;
    int64_t std[NSTD];
    extra_phase *extra;
    size_t nextra;
} ns_entry;

struct k8s_ns_counts {
    ns_entry *e;
    size_t n, ecap;
    uint32_t *slot;
    size_t nslots;
    size_t last;      /* index + 1 of the last namespace used (lists come in namespace order) */
};

k8s_ns_counts *k8s_ns_counts_new(void)
{
    return calloc(1, sizeof(k8s_ns_counts));
}

void k8s_ns_counts_reset(k8s_ns_counts *c)
{
    if (!c)
        return;
    for (size_t k = 0; k < c->n; k++) {
        for (size_t j = 0; j < c->e[k].nextra; j++)
            free(c->e[k].extra[j].phase);
        free(c->e[k].extra);
        free(c->e[k].ns);
    }
    free(c->e);
    free(c->slot);
    memset(c, 0, sizeof *c);
}

void k8s_ns_counts_free(k8s_ns_counts *c)
{
    if (!c)
        return;
    k8s_ns_counts_reset(c);
    free(c);
}

static int ns_grow(k8s_ns_counts *c)
{
    size_t ns = c->nslots ? c->nslots * 2 : 64;
    uint32_t *slot = calloc(ns, sizeof *slot);
    if (!slot)
        return -1;
    for (size_t k = 0; k < c->n; k++) {
        size_t i = (size_t)c->e[k].h & (ns - 1);
        while (slot[i])
            i = (i + 1) & (ns - 1);
        slot[i] = (uint32_t)(k + 1);
    }
    free(c->slot);
    c->slot = slot;
    c->nslots = ns;
    return 0;
}

static ns_entry *ns_get(k8s_ns_counts *c, const char *ns)
{
    if (c->last && strcmp(c->e[c->last - 1].ns, ns) == 0)
        return &c->e[c->last - 1];
    if ((c->n + 1) * 2 > c->nslots && ns_grow(c) != 0)
        return NULL;
    uint64_t h = k8s_key_hash(NULL, ns);
    size_t mask = c->nslots - 1, i = (size_t)h & mask;
    while (c->slot[i]) {
        ns_entry *e = &c->e[c->slot[i] - 1];
        if (e->h == h && strcmp(e->ns, ns) == 0) {
            c->last = c->slot[i];
            return e;
        }
        i = (i + 1) & mask;
    }
    if (c->n == c->ecap) {
        size_t nc = c->ecap ? c->ecap * 2 : 32;
        ns_entry *ne = realloc(c->e, nc * sizeof *ne);
        if (!ne)
            return NULL;
        c->e = ne;
        c->ecap = nc;
    }
    char *copy = strdup(ns);
    if (!copy)
        return NULL;
    c->e[c->n] = (ns_entry){ .ns = copy, .h = h };
    c->slot[i] = (uint32_t)(c->n + 1);
    c->last = ++c->n;
    return &c->e[c->n - 1];
}

int k8s_ns_counts_add(k8s_ns_counts *c, const char *ns, const char *phase)
{
    if (!c || !ns)
        return -1;
    ns_entry *e = ns_get(c, ns);
    if (!e)
        return -1;
    if (!phase || !*phase)
        phase = "Unknown";
    for (size_t k = 0; k < NSTD; k++) {
        if (strcmp(std_phases[k], phase) == 0) {
            e->std[k]++;
            return 0;
        }
    }
    for (size_t k = 0; k < e->nextra; k++) {
        if (strcmp(e->extra[k].phase, phase) == 0) {
            e->extra[k].n++;
            return 0;
        }
    }
    extra_phase *nx = realloc(e->extra, (e->nextra + 1) * sizeof *nx);
    if (!nx)
        return -1;
    e->extra = nx;
    char *p = strdup(phase);
    if (!p)
        return -1;
    e->extra[e->nextra++] = (extra_phase){ .phase = p, .n = 1 };
    return 0;
}

size_t k8s_ns_counts_namespaces(const k8s_ns_counts *c)
{
    return c ? c->n : 0;
}

typedef struct ns_order {
    const ns_entry *e;
} ns_order;

static int cmp_ns(const void *a, const void *b)
{
    const ns_order *x = a, *y = b;
    return strcmp(x->e->ns, y->e->ns);
}

int k8s_ns_counts_each(k8s_ns_counts *c, k8s_ns_visit fn, void *ctx)
{
    if (!c || c->n == 0)
        return 0;
    ns_order *order = malloc(c->n * sizeof(ns_order));
    if (!order)
        return -1;
    for (size_t k = 0; k < c->n; k++)
        order[k].e = &c->e[k];
    qsort(order, c->n, sizeof(ns_order), cmp_ns);
    int rc = 0;
    for (size_t k = 0; k < c->n && rc == 0; k++) {
        const ns_entry *e = order[k].e;
        for (size_t j = 0; j < NSTD && rc == 0; j++)
            rc = fn(ctx, e->ns, std_phases[j], e->std[j]);
        for (size_t j = 0; j < e->nextra && rc == 0; j++)
            rc = fn(ctx, e->ns, e->extra[j].phase, e->extra[j].n);
    }
    free(order);
    return rc;
}
