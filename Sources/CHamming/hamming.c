// Hamming scan kernels for hsdb: block layout, fused top-k selection, run-time dispatch.
// See include/hamming.h for the layout and the contract of each function.
#include "hamming.h"
#include "floats.h"
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define HSDB_X86 1
#endif

enum { LANES = 8 };

// MARK: Bounded selection

// A max-heap of the k smallest keys seen so far (hsdb_topk, keys as hsdb_topk_key builds
// them). Within one scan ordinals are offered in ascending order, so a later code with the
// same distance never beats a kept one: once full, a code enters only if its distance is
// below the root's.

static void sift_down(uint64_t *keys, size_t size, size_t i) {
    uint64_t v = keys[i];
    for (;;) {
        size_t l = 2 * i + 1, big = l;
        if (l >= size) break;
        if (l + 1 < size && keys[l + 1] > keys[l]) big = l + 1;
        if (keys[big] <= v) break;
        keys[i] = keys[big];
        i = big;
    }
    keys[i] = v;
}

void hsdb_topk_offer(hsdb_topk *h, uint64_t key) {
    if (h->size < h->capacity) {
        size_t i = h->size++;
        while (i > 0) {  // sift up
            size_t parent = (i - 1) / 2;
            if (h->keys[parent] >= key) break;
            h->keys[i] = h->keys[parent];
            i = parent;
        }
        h->keys[i] = key;
    } else if (h->capacity > 0 && key < h->keys[0]) {
        h->keys[0] = key;
        sift_down(h->keys, h->size, 0);
    }
}

uint64_t hsdb_topk_threshold(const hsdb_topk *h) {
    return h->size < h->capacity ? UINT64_MAX : h->keys[0] >> HSDB_TOPK_DISTANCE_SHIFT;
}

/// Offers the lanes of `mask` of the block whose first code is `first` (an ordinal, with
/// the scan's tag already in `tag_bits`).
static void offer(hsdb_topk *h, const uint64_t distances[LANES], unsigned mask, uint64_t tag_bits, uint64_t first) {
    while (mask) {
        unsigned lane = (unsigned)__builtin_ctz(mask);
        mask &= mask - 1;
        uint64_t d = distances[lane] > HSDB_TOPK_MAX_DISTANCE ? HSDB_TOPK_MAX_DISTANCE : distances[lane];
        if (d < hsdb_topk_threshold(h)) hsdb_topk_offer(h, d << HSDB_TOPK_DISTANCE_SHIFT | tag_bits | (first + lane));
    }
}

size_t hsdb_topk_finish(hsdb_topk *h) {
    for (size_t end = h->size; end > 1; end--) {
        uint64_t top = h->keys[0];
        h->keys[0] = h->keys[end - 1];
        h->keys[end - 1] = top;
        sift_down(h->keys, end - 1, 0);
    }
    return h->size;
}

/// Lanes of block `b` that may be reported: live and below `count`.
static inline unsigned lane_mask(size_t b, size_t count, const uint64_t *live) {
    unsigned m = 0xFF;
    if (live) m = (unsigned)(live[b >> 3] >> ((b & 7) * 8)) & 0xFF;
    size_t first = b * LANES;
    if (count - first < LANES) m &= (1u << (count - first)) - 1;
    return m;
}

// MARK: Portable path

static void block_scalar(const uint64_t *q, const uint64_t *blk, size_t words, uint64_t d[LANES]) {
    for (int l = 0; l < LANES; l++) d[l] = 0;
    for (size_t j = 0; j < words; j++)
        for (int l = 0; l < LANES; l++) d[l] += (uint64_t)__builtin_popcountll(blk[j * LANES + l] ^ q[j]);
}

static void distances_scalar(const uint64_t *q, const uint64_t *blocks, size_t count, size_t words, uint32_t *out) {
    uint64_t d[LANES];
    for (size_t b = 0; b * LANES < count; b++) {
        block_scalar(q, blocks + b * words * LANES, words, d);
        for (size_t l = 0; l < LANES && b * LANES + l < count; l++) out[b * LANES + l] = (uint32_t)d[l];
    }
}

static void topk_scalar(const uint64_t *q, const uint64_t *blocks, size_t count, size_t words, const uint64_t *live, hsdb_topk *h, uint64_t tag_bits, uint64_t first) {
    uint64_t d[LANES];
    for (size_t b = 0; b * LANES < count; b++) {
        unsigned m = lane_mask(b, count, live);
        if (!m) continue;
        block_scalar(q, blocks + b * words * LANES, words, d);
        offer(h, d, m, tag_bits, first + b * LANES);
    }
}

#if HSDB_X86

// MARK: AVX2 path

// Popcount of each byte by two 16-entry table lookups (Mula, Kurz, Lemire, arXiv:1611.07612).
// Byte counts are at most 8 per word, so 31 words fit a byte before they are summed (SAD).
enum { AVX2_WORDS_PER_FLUSH = 31 };

__attribute__((target("avx2"))) static inline __m256i popcount_bytes(__m256i x) {
    const __m256i table = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i low = _mm256_set1_epi8(0x0F);
    __m256i lo = _mm256_and_si256(x, low), hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), low);
    return _mm256_add_epi8(_mm256_shuffle_epi8(table, lo), _mm256_shuffle_epi8(table, hi));
}

/// Distances of one block: lanes 0-3 in *a, 4-7 in *b.
__attribute__((target("avx2"))) static inline void block_avx2(const uint64_t *q, const uint64_t *blk, size_t words, __m256i *a, __m256i *b) {
    __m256i sa = _mm256_setzero_si256(), sb = sa, zero = sa;
    size_t j = 0;
    while (j < words) {
        size_t end = j + AVX2_WORDS_PER_FLUSH < words ? j + AVX2_WORDS_PER_FLUSH : words;
        __m256i ca = _mm256_setzero_si256(), cb = ca;
        for (; j < end; j++) {
            __m256i qj = _mm256_set1_epi64x((long long)q[j]);
            ca = _mm256_add_epi8(ca, popcount_bytes(_mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(blk + j * LANES)), qj)));
            cb = _mm256_add_epi8(cb, popcount_bytes(_mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(blk + j * LANES + 4)), qj)));
        }
        sa = _mm256_add_epi64(sa, _mm256_sad_epu8(ca, zero));
        sb = _mm256_add_epi64(sb, _mm256_sad_epu8(cb, zero));
    }
    *a = sa;
    *b = sb;
}

__attribute__((target("avx2"))) static void distances_avx2(const uint64_t *q, const uint64_t *blocks, size_t count, size_t words, uint32_t *out) {
    uint64_t d[LANES];
    for (size_t b = 0; b * LANES < count; b++) {
        __m256i lo, hi;
        block_avx2(q, blocks + b * words * LANES, words, &lo, &hi);
        _mm256_storeu_si256((__m256i *)d, lo);
        _mm256_storeu_si256((__m256i *)(d + 4), hi);
        for (size_t l = 0; l < LANES && b * LANES + l < count; l++) out[b * LANES + l] = (uint32_t)d[l];
    }
}

__attribute__((target("avx2"))) static void topk_avx2(
    const uint64_t *q, const uint64_t *blocks, size_t count, size_t words, const uint64_t *live, hsdb_topk *h, uint64_t tag_bits, uint64_t first) {
    // Distances are small, so the signed 64-bit compare is exact; the threshold is capped.
    uint64_t t = hsdb_topk_threshold(h);
    __m256i thr = _mm256_set1_epi64x((long long)(t > INT64_MAX ? INT64_MAX : t));
    uint64_t d[LANES];
    for (size_t b = 0; b * LANES < count; b++) {
        unsigned m = lane_mask(b, count, live);
        if (!m) continue;
        __m256i lo, hi;
        block_avx2(q, blocks + b * words * LANES, words, &lo, &hi);
        unsigned below = (unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpgt_epi64(thr, lo))) |
                         (unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpgt_epi64(thr, hi))) << 4;
        m &= below;
        if (!m) continue;
        _mm256_storeu_si256((__m256i *)d, lo);
        _mm256_storeu_si256((__m256i *)(d + 4), hi);
        offer(h, d, m, tag_bits, first + b * LANES);
        t = hsdb_topk_threshold(h);
        thr = _mm256_set1_epi64x((long long)(t > INT64_MAX ? INT64_MAX : t));
    }
}

// MARK: AVX-512 path

#define AVX512 __attribute__((target("avx512f,avx512vpopcntdq")))

AVX512 static inline __m512i block_avx512(const uint64_t *q, const uint64_t *blk, size_t words) {
    __m512i acc = _mm512_setzero_si512();
    for (size_t j = 0; j < words; j++) {
        __m512i x = _mm512_xor_si512(_mm512_loadu_si512((const void *)(blk + j * LANES)), _mm512_set1_epi64((long long)q[j]));
        acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(x));
    }
    return acc;
}

AVX512 static void distances_avx512(const uint64_t *q, const uint64_t *blocks, size_t count, size_t words, uint32_t *out) {
    size_t full = count / LANES;
    for (size_t b = 0; b < full; b++)
        _mm256_storeu_si256((__m256i *)(out + b * LANES), _mm512_cvtepi64_epi32(block_avx512(q, blocks + b * words * LANES, words)));
    if (count % LANES) {
        uint32_t d[LANES];
        _mm256_storeu_si256((__m256i *)d, _mm512_cvtepi64_epi32(block_avx512(q, blocks + full * words * LANES, words)));
        memcpy(out + full * LANES, d, (count % LANES) * sizeof(uint32_t));
    }
}

AVX512 static void topk_avx512(
    const uint64_t *q, const uint64_t *blocks, size_t count, size_t words, const uint64_t *live, hsdb_topk *h, uint64_t tag_bits, uint64_t first) {
    __m512i thr = _mm512_set1_epi64((long long)hsdb_topk_threshold(h));
    uint64_t d[LANES];
    size_t blocks_total = (count + LANES - 1) / LANES, b = 0;
    // Two blocks a step, one branch for both: the branch is taken rarely once the heap is full.
    for (; b + 2 <= blocks_total; b += 2) {
        __m512i a0 = block_avx512(q, blocks + b * words * LANES, words);
        __m512i a1 = block_avx512(q, blocks + (b + 1) * words * LANES, words);
        unsigned m = (unsigned)_mm512_cmplt_epu64_mask(a0, thr) | (unsigned)_mm512_cmplt_epu64_mask(a1, thr) << 8;
        if (!m) continue;
        unsigned m0 = m & 0xFF & lane_mask(b, count, live), m1 = m >> 8 & lane_mask(b + 1, count, live);
        if (m0) {
            _mm512_storeu_si512((void *)d, a0);
            offer(h, d, m0, tag_bits, first + b * LANES);
        }
        if (m1) {
            _mm512_storeu_si512((void *)d, a1);
            offer(h, d, m1, tag_bits, first + (b + 1) * LANES);
        }
        thr = _mm512_set1_epi64((long long)hsdb_topk_threshold(h));
    }
    for (; b < blocks_total; b++) {
        __m512i acc = block_avx512(q, blocks + b * words * LANES, words);
        unsigned m = (unsigned)_mm512_cmplt_epu64_mask(acc, thr) & lane_mask(b, count, live);
        if (!m) continue;
        _mm512_storeu_si512((void *)d, acc);
        offer(h, d, m, tag_bits, first + b * LANES);
        thr = _mm512_set1_epi64((long long)hsdb_topk_threshold(h));
    }
}

#endif  // HSDB_X86

// MARK: Encoding

static void encode_scalar(const float *v, const float *mean, size_t dimension, uint64_t *code) {
    for (size_t w = 0; w * 64 < dimension; w++) {
        uint64_t bits = 0;
        size_t end = dimension - w * 64 < 64 ? dimension - w * 64 : 64;
        for (size_t i = 0; i < end; i++) bits |= (uint64_t)(v[w * 64 + i] > mean[w * 64 + i]) << i;
        code[w] = bits;
    }
}

#if HSDB_X86
/// Eight comparisons per instruction, their sign bits gathered by movemask.
__attribute__((target("avx2"))) static void encode_avx2(const float *v, const float *mean, size_t dimension, uint64_t *code) {
    size_t words = (dimension + 63) / 64, full = dimension / 8;
    for (size_t w = 0; w < words; w++) code[w] = 0;
    for (size_t g = 0; g < full; g++) {
        __m256 gt = _mm256_cmp_ps(_mm256_loadu_ps(v + g * 8), _mm256_loadu_ps(mean + g * 8), _CMP_GT_OQ);
        code[g / 8] |= (uint64_t)(unsigned)_mm256_movemask_ps(gt) << (g % 8 * 8);
    }
    for (size_t i = full * 8; i < dimension; i++) code[i / 64] |= (uint64_t)(v[i] > mean[i]) << (i % 64);
}
#endif

void hsdb_encode_code(const float *vector, const float *mean, size_t dimension, uint64_t *code) {
#if HSDB_X86
    if (hsdb_simd_path() >= HSDB_SIMD_AVX2) {
        encode_avx2(vector, mean, dimension, code);
        return;
    }
#endif
    encode_scalar(vector, mean, dimension, code);
}

// MARK: Dispatch

static atomic_int active_path = -1;

int hsdb_simd_best_path(void) {
#if HSDB_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq")) return HSDB_SIMD_AVX512;
    if (__builtin_cpu_supports("avx2")) return HSDB_SIMD_AVX2;
#endif
    return HSDB_SIMD_SCALAR;
}

int hsdb_simd_set_path(int path) {
    int best = hsdb_simd_best_path();
    if (path < HSDB_SIMD_SCALAR || path > best) path = best;
    atomic_store_explicit(&active_path, path, memory_order_relaxed);
    hsdb_floats_select(path);
    return path;
}

int hsdb_simd_reload_environment(void) {
    const char *v = getenv("HSDB_SIMD");
    int path = hsdb_simd_best_path();
    if (v && strcmp(v, "scalar") == 0) path = HSDB_SIMD_SCALAR;
    else if (v && strcmp(v, "avx2") == 0) path = HSDB_SIMD_AVX2;
    else if (v && strcmp(v, "avx512") == 0) path = HSDB_SIMD_AVX512;
    return hsdb_simd_set_path(path);
}

int hsdb_simd_path(void) {
    int p = atomic_load_explicit(&active_path, memory_order_relaxed);
    return p >= 0 ? p : hsdb_simd_reload_environment();  // racing first calls agree
}

// MARK: Entry points

size_t hsdb_code_blocks_words(size_t count, size_t words) { return (count + LANES - 1) / LANES * LANES * words; }

void hsdb_code_blocks_pack(const uint64_t *codes, size_t count, size_t words, uint64_t *blocks) {
    size_t total = hsdb_code_blocks_words(count, words);
    if (total) memset(blocks, 0, total * sizeof(uint64_t));
    for (size_t i = 0; i < count; i++)
        for (size_t j = 0; j < words; j++) blocks[((i / LANES) * words + j) * LANES + i % LANES] = codes[i * words + j];
}

void hsdb_code_distances(const uint64_t *query, const uint64_t *blocks, size_t count, size_t words, uint32_t *out) {
    switch (hsdb_simd_path()) {
#if HSDB_X86
    case HSDB_SIMD_AVX512: distances_avx512(query, blocks, count, words, out); return;
    case HSDB_SIMD_AVX2: distances_avx2(query, blocks, count, words, out); return;
#endif
    default: distances_scalar(query, blocks, count, words, out); return;
    }
}

void hsdb_topk_scan(
    hsdb_topk *h, const uint64_t *query, const uint64_t *blocks, size_t count, size_t words, const uint64_t *live,
    uint32_t tag, uint32_t first) {
    if (h->capacity == 0 || count == 0) return;
    uint64_t tag_bits = (uint64_t)(tag & 0xFFFF) << 32;
    switch (hsdb_simd_path()) {
#if HSDB_X86
    case HSDB_SIMD_AVX512: topk_avx512(query, blocks, count, words, live, h, tag_bits, first); return;
    case HSDB_SIMD_AVX2: topk_avx2(query, blocks, count, words, live, h, tag_bits, first); return;
#endif
    default: topk_scalar(query, blocks, count, words, live, h, tag_bits, first); return;
    }
}

uint32_t hsdb_code_block_distance(const uint64_t *query, const uint64_t *blocks, size_t words, size_t i) {
    const uint64_t *lane = blocks + (i / LANES) * words * LANES + i % LANES;
    uint32_t d = 0;
    for (size_t j = 0; j < words; j++) d += (uint32_t)__builtin_popcountll(lane[j * LANES] ^ query[j]);
    return d;
}

size_t hsdb_code_scan_topk(
    const uint64_t *query, const uint64_t *blocks, size_t count, size_t words, const uint64_t *live, size_t k,
    uint64_t *keys) {
    hsdb_topk h = {keys, 0, k};
    hsdb_topk_scan(&h, query, blocks, count, words, live, 0, 0);
    return hsdb_topk_finish(&h);
}
