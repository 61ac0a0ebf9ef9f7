/*
 * The panel microkernel on AVX-512: 12 rows × 32 columns are 24 zmm accumulators; each k loads
 * the panel's 32 weights once (2 zmm, sequential in the panel) and broadcasts 12 values of X
 * from memory into 24 FMAs, so the FMA ports set the pace (the same tile as the shifted-taps conv
 * kernel, kernels/conv/taps-12x32-avx512.c). Lane j of accumulator (i, v) is the reference's
 * chain for output (i, 16v + j); all 32 columns are computed (past n from the panel's zero
 * padding) and only c0 ≤ j < c1 stored, through masks.
 */
#include <immintrin.h>
#include <stdint.h>

#include "f32gemm/panels.h"

#define MR DS2_F32GEMM_PANEL_MR
#define NR DS2_F32GEMM_PANEL_NR

static inline __attribute__((always_inline)) void tile(const int mr, int c0, int c1, int k,
                                                       const float *x, size_t ldx,
                                                       const float *panel, float *y, size_t ldy,
                                                       int accumulate)
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
    /* Bit j: column j is stored (masked-off lanes are neither read nor written). */
    const uint32_t cols = (c1 >= 32 ? 0xffffffffu : (1u << c1) - 1u) & ~((1u << c0) - 1u);
    const __mmask16 m0 = (__mmask16)(cols & 0xffffu), m1 = (__mmask16)(cols >> 16);
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

void ds2_f32gemm_panel_ukernel_12x32__avx512(int mr, int c0, int c1, int k, const float *x,
                                             size_t ldx, const float *panel, float *y, size_t ldy,
                                             int accumulate)
{
    /* One instance per row count, so every accumulator lives in a register. */
    switch (mr) {
#define DS2_ROWS(R)                                                                                \
    case R:                                                                                        \
        tile(R, c0, c1, k, x, ldx, panel, y, ldy, accumulate);                                     \
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
        tile(MR, c0, c1, k, x, ldx, panel, y, ldy, accumulate);
        break;
#undef DS2_ROWS
    }
}
