#ifndef HSDB_ESTIMATOR_H
#define HSDB_ESTIMATOR_H
#include <stddef.h>
#include <stdint.h>

// The asymmetric estimator over 1-bit codes (RaBitQ's, without the rotation; DESIGN.md,
// "Index", "Estimator") and the graph search that walks an HNSW graph by it.
//
// A vector o of a layer whose codes are centred on c is stored as a record: its code x
// (bit i set when o_i > c_i, `words` u64) followed by four floats:
//     f = |o - c|^2 / sum_i |o_i - c_i|   (0 when o = c)
//     g = <o - c, c>
//     ones = popcount(x)
//     n = |o|^2
// The query q (the same centring) is quantized to 4 bits per dimension: q_i - c_i is
// about lo + delta * u_i with u_i in 0...15, held as four bit planes (plane b: bit i set when
// bit b of u_i is). Then
//     S = sum_i (2 x_i - 1) (q_i - c_i) = 2 (lo * ones + delta * sum_b 2^b popcount(x & plane_b)) - sum_q
//     <o, q> ~ f * S + g + <c, q>
// and the distance a search orders by (smaller is nearer) is -<o, q> for inner-product
// metrics and n - 2 <o, q> for euclidean (|q|^2 left out: the same for every vector).

typedef struct {
    const uint64_t *planes;  // 4 * words, plane-major
    size_t words;
    float lo, delta;
    float sum_q;      // sum_i (lo + delta * u_i)
    float c_dot_q;    // <c, q>
    int euclidean;    // 0: inner product (cosine, dot), 1: squared euclidean
} hsdb_estimator_query;

/// Prepares `q` for `query` (`dimension` floats) under the centring `mean`: writes its four
/// bit planes to `planes` (4 * words u64, words = (dimension + 63) / 64) and sets every field.
void hsdb_estimator_prepare(
    const float *query, const float *mean, size_t dimension, int euclidean, uint64_t *planes, hsdb_estimator_query *q);

/// Writes the record of `vector` (`dimension` floats) under `mean`: its code, then f, g,
/// ones and |v|^2 (hsdb_record_bytes(words) bytes).
void hsdb_write_record(const float *vector, const float *mean, size_t dimension, uint8_t *record);

/// Bytes of one record: the code, then the four floats, rounded up to 16 bytes.
static inline size_t hsdb_record_bytes(size_t words) { return (words * 8 + 16 + 15) / 16 * 16; }

/// The estimated distance of one record.
float hsdb_estimate(const hsdb_estimator_query *q, const uint8_t *record);

/// The estimated distances of `count` records, record i at records + ordinals[i] * stride,
/// written to out[0 ..< count].
void hsdb_estimate_many(
    const hsdb_estimator_query *q, const uint8_t *records, size_t stride, const uint32_t *ordinals, size_t count, float *out);

/// An HNSW graph in the layout segments store (Index, HNSWGraph), with one record per node.
typedef struct {
    size_t count, m, m0, max_level, upper_blocks;
    uint32_t entry;
    const uint8_t *levels;
    const uint32_t *level0;
    const uint32_t *upper_index;
    const uint32_t *upper;
    const uint8_t *records;
    size_t stride;
} hsdb_graph;

/// The `k` nearest nodes by estimated distance whose bit is set in `accept` (NULL: all),
/// walking the graph with a beam of `ef` (at least k) on level 0; rejected nodes are walked
/// through, never returned. Each expansion prefetches the records of all its unvisited
/// neighbours before estimating any, and the list of the node likely expanded next.
/// `visited`: a zeroed bitset of (count + 63) / 64 words (a bit per node, small enough to
/// stay in cache), set as nodes are seen. Writes up to k results, nearest first, to
/// distances/nodes and returns how many.
size_t hsdb_graph_search(
    const hsdb_graph *g, const hsdb_estimator_query *q, size_t k, size_t ef, const uint64_t *accept, uint64_t *visited,
    float *distances, uint32_t *nodes);

#endif
