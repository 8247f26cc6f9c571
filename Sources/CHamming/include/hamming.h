#ifndef HSDB_HAMMING_H
#define HSDB_HAMMING_H
#include <stddef.h>
#include <stdint.h>

// Scan kernels over 1-bit codes for hsdb's Index module (DESIGN.md, "Index", "Scan kernel").
//
// Block layout: codes are grouped 8 to a block, word-major inside the block, so one 512-bit
// load holds word j of 8 codes. Word j of code i sits at
//     blocks[((i / 8) * words + j) * 8 + (i % 8)]
// A layout of `count` codes holds hsdb_code_blocks_words(count, words) words; the lanes of
// the last block past `count` are zero and are never reported. Ordinal i of the live
// bitmap is bit (i % 64) of live[i / 64], so a block's 8 ordinals are one bitmap byte.
//
// Every kernel has three paths that return identical results: AVX-512 (F + VPOPCNTDQ),
// AVX2 (pshufb nibble popcount), and portable C. The path is chosen once from the CPU and
// the environment variable HSDB_SIMD (scalar | avx2 | avx512; a path the CPU lacks falls
// back to the best one below it); hsdb_simd_path() says which is active.

enum {
    HSDB_SIMD_SCALAR = 0,
    HSDB_SIMD_AVX2 = 1,
    HSDB_SIMD_AVX512 = 2,
};

/// The active path (HSDB_SIMD_*).
int hsdb_simd_path(void);

/// The best path this CPU supports.
int hsdb_simd_best_path(void);

/// Makes `path` active (clamped to what the CPU supports) and returns the path now active.
/// Safe to call while other threads scan: every path gives the same results.
int hsdb_simd_set_path(int path);

/// Re-reads HSDB_SIMD (as at first use) and returns the path now active.
int hsdb_simd_reload_environment(void);

/// Words in the block layout of `count` codes of `words` words: count rounded up to 8.
size_t hsdb_code_blocks_words(size_t count, size_t words);

/// Writes the block layout of `count` row-major codes (`words` u64 each) to `blocks`
/// (hsdb_code_blocks_words(count, words) words), zeroing the lanes past `count`.
void hsdb_code_blocks_pack(const uint64_t *codes, size_t count, size_t words, uint64_t *blocks);

/// Hamming distance from `query` (`words` u64) to each of the `count` codes in `blocks`,
/// written to out[0 ..< count].
void hsdb_code_distances(const uint64_t *query, const uint64_t *blocks, size_t count, size_t words, uint32_t *out);

// MARK: Bounded selection over one or more scans

/// Keys order candidates: distance (saturated at HSDB_TOPK_MAX_DISTANCE) in the top 16 bits,
/// then a tag (which layer the code is from) in 16 bits, then its ordinal in 32 bits; the
/// smaller key is the nearer candidate, ties going to the lower tag, then ordinal.
enum { HSDB_TOPK_DISTANCE_SHIFT = 48 };
#define HSDB_TOPK_MAX_DISTANCE 0xFFFFull

static inline uint64_t hsdb_topk_key(uint32_t distance, uint32_t tag, uint32_t ordinal) {
    uint64_t d = distance > HSDB_TOPK_MAX_DISTANCE ? HSDB_TOPK_MAX_DISTANCE : distance;
    return d << HSDB_TOPK_DISTANCE_SHIFT | (uint64_t)(tag & 0xFFFF) << 32 | ordinal;
}

/// The `capacity` smallest keys offered so far, as a max-heap in `keys` (room for capacity).
/// Start with size 0; several scans (one per layer, each with its own tag) may feed one
/// selection, so every scan after the first starts from the distance already needed.
typedef struct {
    uint64_t *keys;
    size_t size, capacity;
} hsdb_topk;

/// Offers one key (kept if the selection is not full or it is below the largest kept).
void hsdb_topk_offer(hsdb_topk *h, uint64_t key);

/// The distance a code must be below to enter: the largest kept one's once full, else
/// UINT64_MAX.
uint64_t hsdb_topk_threshold(const hsdb_topk *h);

/// Sorts the kept keys ascending in place (the selection takes no more offers after) and
/// returns how many there are.
size_t hsdb_topk_finish(hsdb_topk *h);

/// Offers the codes of `blocks` (`count` codes of `words` u64 in the block layout) whose bit
/// is set in `live` (NULL: all), each keyed by its Hamming distance to `query`, `tag` and
/// `first` + its index. Selection is fused into the scan: a block's 8 distances are compared
/// at once with the distance needed so far, and only the few below it are offered. Reads
/// exactly the blocks covering `count` codes. REQUIRES: live (if any) has (count + 63) / 64
/// words; first + count <= 2^32.
void hsdb_topk_scan(
    hsdb_topk *h, const uint64_t *query, const uint64_t *blocks, size_t count, size_t words, const uint64_t *live,
    uint32_t tag, uint32_t first);

/// The Hamming distance from `query` to code `i` of `blocks`, reading only that code's lanes
/// (so a block still being filled by another thread can be read up to its last written code).
uint32_t hsdb_code_block_distance(const uint64_t *query, const uint64_t *blocks, size_t words, size_t i);

/// The `k` codes nearest to `query` among those set in `live` (NULL: all `count`): one scan
/// with tag 0 and first ordinal 0. Writes min(k, live codes) keys to `keys`, ascending, and
/// returns how many. REQUIRES: `keys` has room for k; count < 2^32.
size_t hsdb_code_scan_topk(
    const uint64_t *query, const uint64_t *blocks, size_t count, size_t words, const uint64_t *live, size_t k,
    uint64_t *keys);

/// Writes the 1-bit code of `vector` (`dimension` floats) to `code` ((dimension + 63) / 64
/// u64): bit i set when vector[i] > mean[i] (false for NaN), unused high bits zero.
void hsdb_encode_code(const float *vector, const float *mean, size_t dimension, uint64_t *code);

/// Hints the CPU to bring the `bytes` starting at `p` into cache (one prefetch per 64-byte
/// line), so the exact rescoring of a candidate can overlap the fetch of the next ones.
static inline void hsdb_prefetch(const void *p, size_t bytes) {
    const char *c = (const char *)p;
    for (size_t off = 0; off < bytes; off += 64) __builtin_prefetch(c + off, 0, 3);
}

#endif
