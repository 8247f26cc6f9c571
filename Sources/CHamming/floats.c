// Float kernels with run-time dispatch; see include/floats.h.
#include "floats.h"
#include "hamming.h"
#include <stdatomic.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define HSDB_X86 1
#endif

typedef float (*float_kernel)(const float *, const float *, size_t);

#if HSDB_X86
__attribute__((target("avx2,fma"))) static inline float sum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma"))) static float dot_avx2(const float *a, const float *b, size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float sum = sum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++) {
#pragma clang fp contract(off)  // a product then a sum, as Qdrant's scalar tail: the same last digit
        sum += a[i] * b[i];
    }
    return sum;
}

__attribute__((target("avx2,fma"))) static float l2sq_avx2(const float *a, const float *b, size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
        __m256 d2 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16));
        __m256 d3 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24));
        s0 = _mm256_fmadd_ps(d0, d0, s0);
        s1 = _mm256_fmadd_ps(d1, d1, s1);
        s2 = _mm256_fmadd_ps(d2, d2, s2);
        s3 = _mm256_fmadd_ps(d3, d3, s3);
    }
    for (; i + 8 <= n; i += 8) {
        __m256 d = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        s0 = _mm256_fmadd_ps(d, d, s0);
    }
    float sum = sum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++) {
#pragma clang fp contract(off)
        sum += (a[i] - b[i]) * (a[i] - b[i]);
    }
    return sum;
}

#endif

// Eight independent lanes: the compiler vectorizes them for the baseline target (SSE2 on
// x86-64) without reassociating a sum.
static float dot_portable(const float *a, const float *b, size_t n) {
    float s[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (size_t j = 0; j < 8; j++) s[j] += a[i + j] * b[i + j];
    float sum = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    for (; i < n; i++) {
#pragma clang fp contract(off)  // a product then a sum, as Qdrant's scalar tail: the same last digit
        sum += a[i] * b[i];
    }
    return sum;
}

static float l2sq_portable(const float *a, const float *b, size_t n) {
    float s[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (size_t j = 0; j < 8; j++) s[j] += (a[i + j] - b[i + j]) * (a[i + j] - b[i + j]);
    float sum = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    for (; i < n; i++) {
#pragma clang fp contract(off)
        sum += (a[i] - b[i]) * (a[i] - b[i]);
    }
    return sum;
}

// MARK: Dispatch (follows hsdb_simd_path(); re-read when the path changes)

static _Atomic(float_kernel) dot_fn = NULL;
static _Atomic(float_kernel) l2sq_fn = NULL;

void hsdb_floats_select(int path) {
    float_kernel dot = dot_portable, l2sq = l2sq_portable;
#if HSDB_X86
    __builtin_cpu_init();
    if (path >= HSDB_SIMD_AVX2 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        dot = dot_avx2;
        l2sq = l2sq_avx2;
    }
#endif
    atomic_store_explicit(&dot_fn, dot, memory_order_relaxed);
    atomic_store_explicit(&l2sq_fn, l2sq, memory_order_relaxed);
}

float hsdb_float_dot(const float *a, const float *b, size_t count) {
    float_kernel f = atomic_load_explicit(&dot_fn, memory_order_relaxed);
    if (__builtin_expect(f == NULL, 0)) {
        hsdb_floats_select(hsdb_simd_path());
        f = atomic_load_explicit(&dot_fn, memory_order_relaxed);
    }
    return f(a, b, count);
}

float hsdb_float_l2sq(const float *a, const float *b, size_t count) {
    float_kernel f = atomic_load_explicit(&l2sq_fn, memory_order_relaxed);
    if (__builtin_expect(f == NULL, 0)) {
        hsdb_floats_select(hsdb_simd_path());
        f = atomic_load_explicit(&l2sq_fn, memory_order_relaxed);
    }
    return f(a, b, count);
}
