/* The tail shared by the AVX2 conv tiles (direct1, taps): + bias, Hardtanh as the scalar
 * references clamp, and the [position][16 channels] register tile stored channel-major. */
#ifndef DS2_KERNELS_CONV_TILE_STORE_AVX2_H
#define DS2_KERNELS_CONV_TILE_STORE_AVX2_H

#include <immintrin.h>
#include <stddef.h>

#define DS2_CONV_TILE_MR_AVX2 6

/* acc[j][v]: position j, channels 8v..8v+7; out[c * ld + j] for c < 16, j < mr. */
static inline __attribute__((always_inline)) void
ds2_conv_store_tile_avx2(__m256 acc[][2], const int mr, const float *bias, float lo_s, float hi_s,
                         float *out, size_t ld)
{
    float tmp[DS2_CONV_TILE_MR_AVX2][16];
    const __m256 lo = _mm256_set1_ps(lo_s), hi = _mm256_set1_ps(hi_s);
#pragma GCC unroll 2
    for (int v = 0; v < 2; v++) {
        const __m256 b = _mm256_loadu_ps(bias + 8 * v);
#pragma GCC unroll 6
        for (int j = 0; j < mr; j++) {
            /* max/min return their second operand on ties and NaN, as the reference's clamps */
            const __m256 r = _mm256_add_ps(acc[j][v], b);
            _mm256_storeu_ps(&tmp[j][8 * v], _mm256_min_ps(hi, _mm256_max_ps(lo, r)));
        }
    }
    for (int c = 0; c < 16; c++)
        for (int j = 0; j < mr; j++)
            out[(size_t)c * ld + j] = tmp[j][c];
}

#endif
