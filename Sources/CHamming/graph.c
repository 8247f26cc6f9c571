// The asymmetric estimator and the HNSW search that walks by it. See include/estimator.h.
#include "estimator.h"
#include "hamming.h"
#include <stdlib.h>
#include <string.h>

typedef struct {
    float d;
    uint32_t node;
} cand;

// MARK: Heaps of candidates

/// A binary heap; `max` orders the largest distance on top, else the smallest.
typedef struct {
    cand *items;
    size_t size, capacity;
    int max;
} heap;

static inline int above(const heap *h, cand a, cand b) { return h->max ? a.d > b.d : a.d < b.d; }

static int heap_push(heap *h, cand c) {
    if (h->size == h->capacity) {
        size_t grown = h->capacity * 2 + 16;
        cand *items = realloc(h->items, grown * sizeof(cand));
        if (!items) return 0;
        h->items = items;
        h->capacity = grown;
    }
    size_t i = h->size++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!above(h, c, h->items[parent])) break;
        h->items[i] = h->items[parent];
        i = parent;
    }
    h->items[i] = c;
    return 1;
}

static cand heap_pop(heap *h) {
    cand top = h->items[0], last = h->items[--h->size];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, pick = l;
        if (l >= h->size) break;
        if (l + 1 < h->size && above(h, h->items[l + 1], h->items[l])) pick = l + 1;
        if (!above(h, h->items[pick], last)) break;
        h->items[i] = h->items[pick];
        i = pick;
    }
    if (h->size) h->items[i] = last;
    return top;
}

// MARK: The estimator, compiled twice: with the POPCNT instruction and portable

#define ESTIMATOR_KERNELS(SUFFIX, ATTR)                                                                          \
    ATTR static inline float estimate_##SUFFIX(const hsdb_estimator_query *q, const uint8_t *record) {           \
        const uint64_t *x = (const uint64_t *)record, *p = q->planes;                                          \
        size_t w = q->words;                                                                                     \
        uint32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;                                                                 \
        for (size_t j = 0; j < w; j++) {                                                                         \
            uint64_t v = x[j];                                                                                   \
            s0 += (uint32_t)__builtin_popcountll(v & p[j]);                                                      \
            s1 += (uint32_t)__builtin_popcountll(v & p[w + j]);                                                  \
            s2 += (uint32_t)__builtin_popcountll(v & p[2 * w + j]);                                              \
            s3 += (uint32_t)__builtin_popcountll(v & p[3 * w + j]);                                              \
        }                                                                                                        \
        const float *f = (const float *)(record + w * 8);                                                        \
        float planes = (float)(s0 + 2 * s1 + 4 * s2 + 8 * s3);                                                   \
        float s = 2.0f * (q->lo * f[2] + q->delta * planes) - q->sum_q;                                          \
        float dot = f[0] * s + f[1] + q->c_dot_q;                                                                \
        return q->euclidean ? f[3] - 2.0f * dot : -dot;                                                          \
    }                                                                                                            \
                                                                                                                 \
    ATTR static void estimate_many_##SUFFIX(                                                                     \
        const hsdb_estimator_query *q, const uint8_t *records, size_t stride, const uint32_t *ordinals, size_t n, \
        float *out) {                                                                                            \
        for (size_t i = 0; i < n && i < 4; i++) __builtin_prefetch(records + (size_t)ordinals[i] * stride);     \
        for (size_t i = 0; i < n; i++) {                                                                         \
            if (i + 4 < n) __builtin_prefetch(records + (size_t)ordinals[i + 4] * stride);                       \
            out[i] = estimate_##SUFFIX(q, records + (size_t)ordinals[i] * stride);                               \
        }                                                                                                        \
    }                                                                                                            \
                                                                                                                 \
    /* Neighbours of `node` on `level` (clamped counts, checked blocks, as HNSWGraph reads them). */           \
    ATTR static const uint32_t *neighbors_##SUFFIX(const hsdb_graph *g, uint32_t node, size_t level, size_t *n) { \
        if (level == 0) {                                                                                        \
            const uint32_t *block = g->level0 + (size_t)node * (g->m0 + 1);                                      \
            *n = block[0] < g->m0 ? block[0] : g->m0;                                                            \
            return block + 1;                                                                                    \
        }                                                                                                        \
        uint32_t first = g->upper_index[node];                                                                   \
        if (first == UINT32_MAX || (size_t)first + level - 1 >= g->upper_blocks) {                               \
            *n = 0;                                                                                              \
            return NULL;                                                                                         \
        }                                                                                                        \
        const uint32_t *block = g->upper + ((size_t)first + level - 1) * (g->m + 1);                             \
        *n = block[0] < g->m ? block[0] : g->m;                                                                  \
        return block + 1;                                                                                        \
    }                                                                                                            \
                                                                                                                 \
    ATTR static size_t graph_search_##SUFFIX(                                                                    \
        const hsdb_graph *g, const hsdb_estimator_query *q, size_t k, size_t ef, const uint64_t *accept,         \
        uint64_t *visited, float *out_d, uint32_t *out_n) {                                                      \
        if (g->count == 0 || k == 0) return 0;                                                                   \
        if (ef < k) ef = k;                                                                                      \
        uint32_t node = g->entry < g->count ? g->entry : 0;                                                      \
        float d = estimate_##SUFFIX(q, g->records + (size_t)node * g->stride);                                  \
        for (size_t level = g->max_level; level > 0; level--) { /* greedy, a beam of one */                    \
            for (int improved = 1; improved;) {                                                                  \
                improved = 0;                                                                                    \
                size_t n;                                                                                        \
                const uint32_t *nb = neighbors_##SUFFIX(g, node, level, &n);                                     \
                for (size_t i = 0; i < n; i++)                                                                   \
                    if (nb[i] < g->count) __builtin_prefetch(g->records + (size_t)nb[i] * g->stride);            \
                for (size_t i = 0; i < n; i++) {                                                                 \
                    if (nb[i] >= g->count) continue;                                                             \
                    float dn = estimate_##SUFFIX(q, g->records + (size_t)nb[i] * g->stride);                     \
                    if (dn < d) {                                                                                \
                        d = dn;                                                                                  \
                        node = nb[i];                                                                            \
                        improved = 1;                                                                            \
                    }                                                                                            \
                }                                                                                                \
            }                                                                                                    \
        }                                                                                                        \
        heap queue = {malloc((ef * 2 + 16) * sizeof(cand)), 0, ef * 2 + 16, 0};                                   \
        heap results = {malloc((ef + 1) * sizeof(cand)), 0, ef + 1, 1};                                           \
        size_t found = 0;                                                                                        \
        if (!queue.items || !results.items) goto done;                                                          \
        visited[node >> 6] |= (uint64_t)1 << (node & 63);                                                        \
        heap_push(&queue, (cand){d, node});                                                                      \
        if (!accept || (accept[node >> 6] >> (node & 63) & 1)) heap_push(&results, (cand){d, node});             \
        while (queue.size) {                                                                                     \
            cand current = heap_pop(&queue);                                                                     \
            if (results.size >= ef && current.d > results.items[0].d) break;                                    \
            /* The next node's list is likely read next: start its fetch now. */                                \
            if (queue.size) __builtin_prefetch(g->level0 + (size_t)queue.items[0].node * (g->m0 + 1));          \
            size_t n;                                                                                            \
            const uint32_t *nb = neighbors_##SUFFIX(g, current.node, 0, &n);                                     \
            for (size_t start = 0; start < n; start += 64) { /* prefetch a group, then estimate it */         \
                uint32_t fresh[64];                                                                              \
                size_t nf = 0, end = start + 64 < n ? start + 64 : n;                                            \
                for (size_t i = start; i < end; i++) {                                                           \
                    uint32_t v = nb[i];                                                                          \
                    if (v >= g->count || (visited[v >> 6] >> (v & 63) & 1)) continue;                            \
                    visited[v >> 6] |= (uint64_t)1 << (v & 63);                                                  \
                    fresh[nf++] = v;                                                                             \
                    __builtin_prefetch(g->records + (size_t)v * g->stride);                                      \
                }                                                                                                \
                for (size_t i = 0; i < nf; i++) {                                                                \
                    uint32_t v = fresh[i];                                                                       \
                    float dv = estimate_##SUFFIX(q, g->records + (size_t)v * g->stride);                         \
                    if (results.size < ef || dv < results.items[0].d) {                                          \
                        if (!heap_push(&queue, (cand){dv, v})) goto done;                                        \
                        if (!accept || (accept[v >> 6] >> (v & 63) & 1)) {                                       \
                            heap_push(&results, (cand){dv, v});                                                  \
                            if (results.size > ef) heap_pop(&results);                                           \
                        }                                                                                        \
                    }                                                                                            \
                }                                                                                                \
            }                                                                                                    \
        }                                                                                                        \
        while (results.size > k) heap_pop(&results);                                                             \
        found = results.size;                                                                                    \
        for (size_t i = found; i > 0; i--) {                                                                     \
            cand c = heap_pop(&results);                                                                         \
            out_d[i - 1] = c.d;                                                                                  \
            out_n[i - 1] = c.node;                                                                               \
        }                                                                                                        \
    done:                                                                                                        \
        free(queue.items);                                                                                       \
        free(results.items);                                                                                     \
        return found;                                                                                            \
    }

#if defined(__x86_64__)
ESTIMATOR_KERNELS(popcnt, __attribute__((target("popcnt"))))
#endif
ESTIMATOR_KERNELS(portable, )

static inline int use_popcnt(void) {
#if defined(__x86_64__)
    return hsdb_simd_path() >= HSDB_SIMD_AVX2;  // every AVX2 CPU has POPCNT
#else
    return 0;
#endif
}

// MARK: Preparing queries and records

void hsdb_estimator_prepare(
    const float *query, const float *mean, size_t dimension, int euclidean, uint64_t *planes, hsdb_estimator_query *q) {
    size_t words = (dimension + 63) / 64;
    float lo = 0, hi = 0, c_dot_q = 0;
    for (size_t i = 0; i < dimension; i++) {
        float centred = query[i] - mean[i];
        if (i == 0 || centred < lo) lo = centred;
        if (i == 0 || centred > hi) hi = centred;
        c_dot_q += mean[i] * query[i];
    }
    float delta = (hi - lo) / 15.0f, scale = delta > 0 ? 1.0f / delta : 0;
    memset(planes, 0, 4 * words * sizeof(uint64_t));
    uint32_t levels = 0;
    for (size_t i = 0; i < dimension; i++) {
        float scaled = (query[i] - mean[i] - lo) * scale + 0.5f;  // branch-free rounding to 0...15
        uint32_t u = scaled <= 0 ? 0 : scaled >= 15 ? 15 : (uint32_t)scaled;
        levels += u;
        uint64_t bit = (uint64_t)1 << (i % 64);
        size_t w = i / 64;
        planes[w] |= (uint64_t)-(int64_t)(u & 1) & bit;
        planes[words + w] |= (uint64_t)-(int64_t)(u >> 1 & 1) & bit;
        planes[2 * words + w] |= (uint64_t)-(int64_t)(u >> 2 & 1) & bit;
        planes[3 * words + w] |= (uint64_t)-(int64_t)(u >> 3 & 1) & bit;
    }
    q->planes = planes;
    q->words = words;
    q->lo = lo;
    q->delta = delta;
    q->sum_q = lo * (float)dimension + delta * (float)levels;
    q->c_dot_q = c_dot_q;
    q->euclidean = euclidean;
}

void hsdb_write_record(const float *vector, const float *mean, size_t dimension, uint8_t *record) {
    size_t words = (dimension + 63) / 64;
    uint64_t *code = (uint64_t *)record;
    hsdb_encode_code(vector, mean, dimension, code);
    float squares = 0, absolutes = 0, toward_mean = 0, norm = 0;
    for (size_t i = 0; i < dimension; i++) {
        float centred = vector[i] - mean[i];
        squares += centred * centred;
        absolutes += centred < 0 ? -centred : centred;
        toward_mean += centred * mean[i];
        norm += vector[i] * vector[i];
    }
    uint32_t ones = 0;
    for (size_t j = 0; j < words; j++) ones += (uint32_t)__builtin_popcountll(code[j]);
    float *f = (float *)(record + words * 8);
    f[0] = absolutes > 0 ? squares / absolutes : 0;
    f[1] = toward_mean;
    f[2] = (float)ones;
    f[3] = norm;
}

// MARK: Entry points

float hsdb_estimate(const hsdb_estimator_query *q, const uint8_t *record) {
#if defined(__x86_64__)
    if (use_popcnt()) return estimate_popcnt(q, record);
#endif
    return estimate_portable(q, record);
}

void hsdb_estimate_many(
    const hsdb_estimator_query *q, const uint8_t *records, size_t stride, const uint32_t *ordinals, size_t count, float *out) {
#if defined(__x86_64__)
    if (use_popcnt()) {
        estimate_many_popcnt(q, records, stride, ordinals, count, out);
        return;
    }
#endif
    estimate_many_portable(q, records, stride, ordinals, count, out);
}

size_t hsdb_graph_search(
    const hsdb_graph *g, const hsdb_estimator_query *q, size_t k, size_t ef, const uint64_t *accept, uint64_t *visited,
    float *distances, uint32_t *nodes) {
#if defined(__x86_64__)
    if (use_popcnt()) return graph_search_popcnt(g, q, k, ef, accept, visited, distances, nodes);
#endif
    return graph_search_portable(g, q, k, ef, accept, visited, distances, nodes);
}
