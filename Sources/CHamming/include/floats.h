#ifndef HSDB_FLOATS_H
#define HSDB_FLOATS_H
#include <stddef.h>

// Float kernels for hsdb's Index module (DESIGN.md, "Index"): the dot product and the squared
// euclidean distance of two vectors of `count` floats, the inner loops of graph builds and of
// exact rescoring. Chosen at run time with the Hamming kernels' path (hamming.h): AVX2 with
// FMA when the CPU has both and the path is AVX2 or AVX-512, else portable C (eight lanes,
// vectorized for the build's target). So a build for the portable x86-64 target (SwiftPM's default, what an
// embedding application gets) runs as fast as one for a newer CPU. Paths may differ in the
// last bits (FMA rounds once), never by more.

float hsdb_float_dot(const float *a, const float *b, size_t count);
float hsdb_float_l2sq(const float *a, const float *b, size_t count);

/// Chooses the kernels for `path` (HSDB_SIMD_*); hsdb_simd_set_path calls it.
void hsdb_floats_select(int path);

#endif
