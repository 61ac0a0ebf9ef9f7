/* The tail shared by the AVX-512 conv tiles (direct1, taps): + bias, Hardtanh as the scalar
 * references clamp, and the [position][channel] register tile stored channel-major. */
#ifndef DS2_KERNELS_CONV_TILE_STORE_AVX512_H
#define DS2_KERNELS_CONV_TILE_STORE_AVX512_H

#include <immintrin.h>
#include <stddef.h>

#define DS2_CONV_TILE_MR_AVX512 12

/* acc[j][v]: position j, channels 16v..16v+15 of the tile; bias: its first channel's;
 * out[c * ld + j] for c < 16 nv, j < mr. */
static inline __attribute__((always_inline)) void
ds2_conv_store_tile_avx512(__m512 acc[][2], const int mr, const int nv, const float *bias,
                           float lo_s, float hi_s, float *out, size_t ld)
{
    float tmp[DS2_CONV_TILE_MR_AVX512][32];
    const __m512 lo = _mm512_set1_ps(lo_s), hi = _mm512_set1_ps(hi_s);
#pragma GCC unroll 2
    for (int v = 0; v < nv; v++) {
        const __m512 b = _mm512_loadu_ps(bias + 16 * v);
#pragma GCC unroll 12
        for (int j = 0; j < mr; j++) {
            /* as the reference's v < lo ? lo : v, then v > hi ? hi : v: max/min return their
             * second operand when the two compare equal or either is NaN */
            const __m512 r = _mm512_add_ps(acc[j][v], b);
            _mm512_storeu_ps(&tmp[j][16 * v], _mm512_min_ps(hi, _mm512_max_ps(lo, r)));
        }
    }
    for (int c = 0; c < 16 * nv; c++)
        for (int j = 0; j < mr; j++)
            out[(size_t)c * ld + j] = tmp[j][c];
}

#endif
