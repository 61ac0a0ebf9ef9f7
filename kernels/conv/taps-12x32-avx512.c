/*
 * Shifted-taps conv pass (taps.h) on AVX-512: a tile of 12 positions x 32 channels is 24 zmm
 * accumulators; each patch element loads the 32 channel weights once (2 zmm) and broadcasts 12
 * patch values from memory into 24 FMAs, so the FMA ports set the pace. The 12 patch rows of a
 * tap stream sequentially, and the rows of neighbouring tiles and taps overlap, so they stay in
 * L2. The last tile of the positions is shifted back to end at n and overlaps the previous one
 * (recomputed identically).
 */
#include "conv/tile-store-avx512.h"

#include "conv/taps.h"

#define MR DS2_CONV_TILE_MR_AVX512

static inline __attribute__((always_inline)) void tile(const ds2_conv_taps_geom *g, const float *x,
                                                       const float *w, const float *bias,
                                                       float *out, int p0, int co0, const int mr,
                                                       const int nv)
{
    __m512 acc[MR][2];
#pragma GCC unroll 12
    for (int j = 0; j < mr; j++)
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++)
            acc[j][v] = _mm512_setzero_ps();
    const int k = g->k, C = g->c_out;
    const size_t ld = g->ld_x;
    for (int tap = 0; tap < g->taps; tap++) {
        const float *xt = x + (size_t)(p0 + tap * g->tap_shift) * ld;
        const float *wk = w + (size_t)tap * k * C + co0;
        for (int r = 0; r < k; r++, wk += C) {
            const __m512 w0 = _mm512_loadu_ps(wk);
            const __m512 w1 = nv > 1 ? _mm512_loadu_ps(wk + 16) : w0;
#pragma GCC unroll 12
            for (int j = 0; j < mr; j++) {
                const __m512 b = _mm512_set1_ps(xt[j * ld + r]);
                acc[j][0] = _mm512_fmadd_ps(b, w0, acc[j][0]);
                if (nv > 1)
                    acc[j][1] = _mm512_fmadd_ps(b, w1, acc[j][1]);
            }
        }
    }
    ds2_conv_store_tile_avx512(acc, mr, nv, bias + co0, g->lo, g->hi,
                               out + (size_t)co0 * g->ld_out + p0, g->ld_out);
}

void ds2_conv_taps_ukernel_12x32__avx512(const ds2_conv_taps_geom *g, const float *x,
                                         const float *w, const float *bias, float *out)
{
    const int n = g->n;
    for (int p0 = 0; p0 < n; p0 += MR) {
        const int p = p0 + MR <= n ? p0 : n - MR;
        for (int co0 = 0; co0 < g->c_out; co0 += 32) {
            const int nv = g->c_out - co0 >= 32 ? 2 : 1;
            if (n < MR) {
                for (int q = 0; q < n; q++)
                    nv == 2 ? tile(g, x, w, bias, out, q, co0, 1, 2)
                            : tile(g, x, w, bias, out, q, co0, 1, 1);
            } else {
                nv == 2 ? tile(g, x, w, bias, out, p, co0, MR, 2)
                        : tile(g, x, w, bias, out, p, co0, MR, 1);
            }
        }
        if (n < MR)
            break;
    }
}
