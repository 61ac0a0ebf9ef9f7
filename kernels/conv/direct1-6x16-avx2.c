/*
 * One-input-channel direct conv (direct1.h) on AVX2 + FMA: the AVX-512 kernel's scheme in 16
 * ymm registers — tiles of 6 output bins x 16 channels (12 accumulators), each tap 2 weight
 * loads and 6 broadcasts for 12 FMAs. Same summation order, so bit-identical to the reference.
 */
#include "conv/tile-store-avx2.h"

#include "conv/direct1.h"

#define MR DS2_CONV_TILE_MR_AVX2

static inline __attribute__((always_inline)) void tile(const ds2_conv_direct1_geom *g,
                                                       const float *x, const float *w,
                                                       const float *bias, float *out, int f0,
                                                       int co0, const int mr)
{
    __m256 acc[MR][2];
#pragma GCC unroll 6
    for (int j = 0; j < mr; j++)
        acc[j][0] = acc[j][1] = _mm256_setzero_ps();
    const int sf = g->stride_freq, kf_n = g->k_freq, C = g->c_out;
    const float *wk = w + co0;
    for (int kt = 0; kt < g->k_time; kt++) {
        const float *xt = x + (size_t)kt * g->ld_x + (size_t)f0 * sf;
        for (int kf = 0; kf < kf_n; kf++, wk += C) {
            const __m256 w0 = _mm256_loadu_ps(wk), w1 = _mm256_loadu_ps(wk + 8);
#pragma GCC unroll 6
            for (int j = 0; j < mr; j++) {
                const __m256 b = _mm256_broadcast_ss(xt + j * sf + kf);
                acc[j][0] = _mm256_fmadd_ps(b, w0, acc[j][0]);
                acc[j][1] = _mm256_fmadd_ps(b, w1, acc[j][1]);
            }
        }
    }
    ds2_conv_store_tile_avx2(acc, mr, bias + co0, g->lo, g->hi, out + (size_t)co0 * g->ld_c + f0,
                             g->ld_c);
}

void ds2_conv_direct1_ukernel_6x16__avx2(const ds2_conv_direct1_geom *g, const float *x,
                                         const float *w, const float *bias, float *out)
{
    const int F = g->f_out;
    for (int co0 = 0; co0 < g->c_out; co0 += 16) {
        if (F < MR) {
            for (int f = 0; f < F; f++)
                tile(g, x, w, bias, out, f, co0, 1);
            continue;
        }
        for (int f0 = 0; f0 < F; f0 += MR)
            tile(g, x, w, bias, out, f0 + MR <= F ? f0 : F - MR, co0, MR);
    }
}
