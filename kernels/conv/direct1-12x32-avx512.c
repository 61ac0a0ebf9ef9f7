/*
 * One-input-channel direct conv (direct1.h) on AVX-512: a tile of 12 output bins x 32 channels
 * is 24 zmm accumulators; each tap loads the 32 channel weights once (2 zmm) and broadcasts 12
 * input values from memory into 24 FMAs, so the FMA ports, not loads, set the pace. The last
 * tile of a frame is shifted back to end at f_out and overlaps the previous one: the overlapped
 * bins are computed again identically, which beats a narrower remainder tile.
 */
#include "conv/tile-store-avx512.h"

#include "conv/direct1.h"

#define MR DS2_CONV_TILE_MR_AVX512

static inline __attribute__((always_inline)) void tile(const ds2_conv_direct1_geom *g,
                                                       const float *x, const float *w,
                                                       const float *bias, float *out, int f0,
                                                       int co0, const int mr, const int nv)
{
    __m512 acc[MR][2];
    /* fully unrolled (mr, nv are constants here) so that acc lives in registers */
#pragma GCC unroll 12
    for (int j = 0; j < mr; j++)
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++)
            acc[j][v] = _mm512_setzero_ps();
    const int sf = g->stride_freq, kf_n = g->k_freq, C = g->c_out;
    const float *wk = w + co0;
    for (int kt = 0; kt < g->k_time; kt++) {
        const float *xt = x + (size_t)kt * g->ld_x + (size_t)f0 * sf;
        for (int kf = 0; kf < kf_n; kf++, wk += C) {
            const __m512 w0 = _mm512_loadu_ps(wk);
            const __m512 w1 = nv > 1 ? _mm512_loadu_ps(wk + 16) : w0;
#pragma GCC unroll 12
            for (int j = 0; j < mr; j++) {
                const __m512 b = _mm512_set1_ps(xt[j * sf + kf]);
                acc[j][0] = _mm512_fmadd_ps(b, w0, acc[j][0]);
                if (nv > 1)
                    acc[j][1] = _mm512_fmadd_ps(b, w1, acc[j][1]);
            }
        }
    }
    ds2_conv_store_tile_avx512(acc, mr, nv, bias + co0, g->lo, g->hi,
                               out + (size_t)co0 * g->ld_c + f0, g->ld_c);
}

void ds2_conv_direct1_ukernel_12x32__avx512(const ds2_conv_direct1_geom *g, const float *x,
                                            const float *w, const float *bias, float *out)
{
    const int F = g->f_out;
    for (int co0 = 0; co0 < g->c_out; co0 += 32) {
        const int nv = g->c_out - co0 >= 32 ? 2 : 1;
        if (F < MR) {
            for (int f = 0; f < F; f++)
                nv == 2 ? tile(g, x, w, bias, out, f, co0, 1, 2)
                        : tile(g, x, w, bias, out, f, co0, 1, 1);
            continue;
        }
        for (int f0 = 0; f0 < F; f0 += MR) {
            const int f = f0 + MR <= F ? f0 : F - MR;
            nv == 2 ? tile(g, x, w, bias, out, f, co0, MR, 2)
                    : tile(g, x, w, bias, out, f, co0, MR, 1);
        }
    }
}
