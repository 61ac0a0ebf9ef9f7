/*
 * Shifted-taps conv pass (taps.h) on AVX2 + FMA: the AVX-512 kernel's scheme in 16 ymm
 * registers — a tile of 6 positions x 16 channels is 12 accumulators, each patch element loads
 * the 16 channel weights once (2 ymm) and broadcasts 6 patch values into 12 FMAs. Same
 * summation order, so bit-identical to the reference and to the AVX-512 version.
 */
#include "conv/tile-store-avx2.h"

#include "conv/taps.h"

#define MR DS2_CONV_TILE_MR_AVX2

static inline __attribute__((always_inline)) void tile(const ds2_conv_taps_geom *g, const float *x,
                                                       const float *w, const float *bias,
                                                       float *out, int p0, int co0, const int mr)
{
    __m256 acc[MR][2];
#pragma GCC unroll 6
    for (int j = 0; j < mr; j++)
        acc[j][0] = acc[j][1] = _mm256_setzero_ps();
    const int k = g->k, C = g->c_out;
    const size_t ld = g->ld_x;
    for (int tap = 0; tap < g->taps; tap++) {
        const float *xt = x + (size_t)(p0 + tap * g->tap_shift) * ld;
        const float *wk = w + (size_t)tap * k * C + co0;
        for (int r = 0; r < k; r++, wk += C) {
            const __m256 w0 = _mm256_loadu_ps(wk), w1 = _mm256_loadu_ps(wk + 8);
#pragma GCC unroll 6
            for (int j = 0; j < mr; j++) {
                const __m256 b = _mm256_broadcast_ss(xt + j * ld + r);
                acc[j][0] = _mm256_fmadd_ps(b, w0, acc[j][0]);
                acc[j][1] = _mm256_fmadd_ps(b, w1, acc[j][1]);
            }
        }
    }
    ds2_conv_store_tile_avx2(acc, mr, bias + co0, g->lo, g->hi, out + (size_t)co0 * g->ld_out + p0,
                             g->ld_out);
}

void ds2_conv_taps_ukernel_6x16__avx2(const ds2_conv_taps_geom *g, const float *x, const float *w,
                                      const float *bias, float *out)
{
    const int n = g->n;
    for (int co0 = 0; co0 < g->c_out; co0 += 16) {
        if (n < MR) {
            for (int q = 0; q < n; q++)
                tile(g, x, w, bias, out, q, co0, 1);
            continue;
        }
        for (int p0 = 0; p0 < n; p0 += MR)
            tile(g, x, w, bias, out, p0 + MR <= n ? p0 : n - MR, co0, MR);
    }
}
