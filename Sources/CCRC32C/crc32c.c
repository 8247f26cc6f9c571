// CRC-32C for hsdb: hardware (SSE4.2) with run-time dispatch, slice-by-8 fallback.
// The hardware path runs three independent streams over large inputs so the 3-cycle latency
// of the crc32 instruction is hidden; streams are merged with a shift-by-zeros table.
#include "crc32c.h"
#include <pthread.h>
#include <string.h>

#define POLY 0x82F63B78u

static uint32_t table[8][256];
static uint32_t shift_table_a[4][256];  // multiply by x^(8*LONG) mod P, per byte position
static uint32_t shift_table_b[4][256];  // multiply by x^(8*SHORT) mod P
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int use_hw;

enum { LONG = 8192, SHORT = 256 };

static uint32_t gf2_multiply_by_xpow(uint32_t crc, size_t zero_bytes) {
    // Feed zero bytes through the bitwise CRC: computes crc * x^(8*zero_bytes) mod P.
    for (size_t i = 0; i < zero_bytes * 8; i++) crc = (crc >> 1) ^ (POLY & (0u - (crc & 1u)));
    return crc;
}

static void build_shift_table(uint32_t out[4][256], size_t zero_bytes) {
    // The map is linear over GF(2): shift the 32 single-bit states, then XOR them per entry.
    uint32_t basis[32];
    for (int bit = 0; bit < 32; bit++) basis[bit] = gf2_multiply_by_xpow(1u << bit, zero_bytes);
    for (int pos = 0; pos < 4; pos++)
        for (uint32_t b = 0; b < 256; b++) {
            uint32_t v = 0;
            for (int k = 0; k < 8; k++)
                if (b & (1u << k)) v ^= basis[8 * pos + k];
            out[pos][b] = v;
        }
}

static uint32_t shift(const uint32_t t[4][256], uint32_t crc) {
    return t[0][crc & 0xff] ^ t[1][(crc >> 8) & 0xff] ^ t[2][(crc >> 16) & 0xff] ^ t[3][crc >> 24];
}

static void init(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (POLY & (0u - (c & 1u)));
        table[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; n++)
        for (int s = 1; s < 8; s++) table[s][n] = (table[s - 1][n] >> 8) ^ table[0][table[s - 1][n] & 0xff];
    build_shift_table(shift_table_a, LONG);
    build_shift_table(shift_table_b, SHORT);
#if defined(__x86_64__)
    __builtin_cpu_init();
    use_hw = __builtin_cpu_supports("sse4.2");
#endif
}

static uint32_t crc_software(uint32_t crc, const uint8_t *p, size_t len) {
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        v ^= crc;
        crc = table[7][v & 0xff] ^ table[6][(v >> 8) & 0xff] ^ table[5][(v >> 16) & 0xff] ^
              table[4][(v >> 24) & 0xff] ^ table[3][(v >> 32) & 0xff] ^ table[2][(v >> 40) & 0xff] ^
              table[1][(v >> 48) & 0xff] ^ table[0][v >> 56];
        p += 8;
        len -= 8;
    }
    while (len--) crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
    return crc;
}

#if defined(__x86_64__)
#include <nmmintrin.h>
__attribute__((target("sse4.2")))
static uint32_t crc_hw_streams(uint32_t crc, const uint8_t *p, size_t len, size_t block,
                               const uint32_t t[4][256], const uint8_t **end) {
    // Three streams over consecutive blocks of `block` bytes each.
    while (len >= 3 * block) {
        uint64_t c0 = crc, c1 = 0, c2 = 0;
        const uint8_t *a = p, *b = p + block, *c = p + 2 * block;
        for (size_t i = 0; i < block; i += 8) {
            uint64_t x, y, z;
            memcpy(&x, a + i, 8);
            memcpy(&y, b + i, 8);
            memcpy(&z, c + i, 8);
            c0 = _mm_crc32_u64(c0, x);
            c1 = _mm_crc32_u64(c1, y);
            c2 = _mm_crc32_u64(c2, z);
        }
        crc = shift(t, (uint32_t)c0) ^ (uint32_t)c1;
        crc = shift(t, crc) ^ (uint32_t)c2;
        p += 3 * block;
        len -= 3 * block;
    }
    *end = p;
    return crc;
}

__attribute__((target("sse4.2")))
static uint32_t crc_hardware(uint32_t crc, const uint8_t *p, size_t len) {
    const uint8_t *q;
    crc = crc_hw_streams(crc, p, len, LONG, shift_table_a, &q);
    len -= (size_t)(q - p);
    p = q;
    crc = crc_hw_streams(crc, p, len, SHORT, shift_table_b, &q);
    len -= (size_t)(q - p);
    p = q;
    uint64_t c = crc;
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
        p += 8;
        len -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (len--) c32 = _mm_crc32_u8(c32, *p++);
    return c32;
}
#endif

uint32_t hsdb_crc32c(uint32_t crc, const void *data, size_t len) {
    pthread_once(&once, init);
    crc = ~crc;
#if defined(__x86_64__)
    if (use_hw) return ~crc_hardware(crc, (const uint8_t *)data, len);
#endif
    return ~crc_software(crc, (const uint8_t *)data, len);
}

int hsdb_crc32c_hardware(void) {
    pthread_once(&once, init);
    return use_hw;
}
