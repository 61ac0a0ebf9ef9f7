/*
 * The panel microkernel on AVX-512: 12 rows × 32 columns are 24 zmm accumulators; each k loads
 * the panel's 32 weights once (2 zmm, sequential in the panel) and broadcasts 12 values of X
 * from memory into 24 FMAs, so the FMA ports set the pace (the same tile as the shifted-taps conv
 * kernel, kernels/conv/taps-12x32-avx512.c). Lane j of accumulator (i, v) is the reference's
 * chain for output (i, 16v + j); columns past nc are computed from the panel's zero padding and
 * not stored.
 */
#include <immintrin.h>

#include "f32gemm/panels.h"

#define MR DS2_F32GEMM_PANEL_MR
#define NR DS2_F32GEMM_PANEL_NR

static inline __attribute__((always_inline)) void tile(const int mr, int nc, int k, const float *x,
                                                       size_t ldx, const float *panel, float *y,
                                                       size_t ldy, int accumulate)
{
    __m512 acc[MR][2];
#pragma GCC unroll 12
    for (int i = 0; i < mr; i++)
        acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    for (int t = 0; t < k; t++) {
        const __m512 w0 = _mm512_load_ps(panel + (size_t)t * NR);
        const __m512 w1 = _mm512_load_ps(panel + (size_t)t * NR + 16);
#pragma GCC unroll 12
        for (int i = 0; i < mr; i++) {
            const __m512 b = _mm512_set1_ps(x[(size_t)i * ldx + t]);
            acc[i][0] = _mm512_fmadd_ps(b, w0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(b, w1, acc[i][1]);
        }
    }
    const __mmask16 m0 = nc >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nc) - 1u);
    const __mmask16 m1 = nc >= 32  ? (__mmask16)0xffff
                         : nc > 16 ? (__mmask16)((1u << (nc - 16)) - 1u)
                                   : (__mmask16)0;
#pragma GCC unroll 12
    for (int i = 0; i < mr; i++) {
        float *yi = y + (size_t)i * ldy;
        __m512 v0 = acc[i][0], v1 = acc[i][1];
        if (accumulate) {
            v0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, yi), v0);
            v1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, yi + 16), v1);
        }
        _mm512_mask_storeu_ps(yi, m0, v0);
        _mm512_mask_storeu_ps(yi + 16, m1, v1);
    }
}

void ds2_f32gemm_panel_ukernel_12x32__avx512(int mr, int nc, int k, const float *x, size_t ldx,
                                             const float *panel, float *y, size_t ldy,
                                             int accumulate)
{
    /* One instance per row count, so every accumulator lives in a register. */
    switch (mr) {
#define DS2_ROWS(R)                                                                                \
    case R:                                                                                        \
        tile(R, nc, k, x, ldx, panel, y, ldy, accumulate);                                         \
        break;
        DS2_ROWS(1)
        DS2_ROWS(2)
        DS2_ROWS(3)
        DS2_ROWS(4)
        DS2_ROWS(5)
        DS2_ROWS(6)
        DS2_ROWS(7)
        DS2_ROWS(8)
        DS2_ROWS(9)
        DS2_ROWS(10)
        DS2_ROWS(11)
    default:
        tile(MR, nc, k, x, ldx, panel, y, ldy, accumulate);
        break;
#undef DS2_ROWS
    }
}
