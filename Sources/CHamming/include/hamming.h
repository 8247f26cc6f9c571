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

/// The `k` codes nearest to `query` by Hamming distance, ties to the lower ordinal, among
/// the ordinals whose bit is set in `live` (NULL: all `count`). Selection is fused into the
/// scan: a block's 8 distances are compared at once with the k-th distance kept so far, and
/// only the few that beat it enter a bounded max-heap.
/// Writes min(k, live codes) keys to `keys`, ascending, each (distance << 32) | ordinal, and
/// returns how many. REQUIRES: `keys` has room for k; live (if any) has (count + 63) / 64
/// words; count < 2^32.
size_t hsdb_code_scan_topk(
    const uint64_t *query, const uint64_t *blocks, size_t count, size_t words, const uint64_t *live, size_t k,
    uint64_t *keys);

/// Hints the CPU to bring the `bytes` starting at `p` into cache (one prefetch per 64-byte
/// line), so the exact rescoring of a candidate can overlap the fetch of the next ones.
static inline void hsdb_prefetch(const void *p, size_t bytes) {
    const char *c = (const char *)p;
    for (size_t off = 0; off < bytes; off += 64) __builtin_prefetch(c + off, 0, 3);
}

#endif
