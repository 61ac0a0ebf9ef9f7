/*
 * The panel microkernel on AVX-512: 12 rows × 32 columns are 24 zmm accumulators; each k loads
 * the panel's 32 weights once (2 zmm, sequential in the panel) and broadcasts 12 values of X
 * from memory into 24 FMAs, so the FMA ports set the pace (the same tile as the shifted-taps conv
 * kernel, kernels/conv/taps-12x32-avx512.c). For few rows the tile widens to 2, 3 or 4 panels
 * (6 × 64, 4 × 96, 3 × 128), so a batch-1 step still has 8 independent chains in flight. Lane j
 * of accumulator (i, v) is the reference's chain for output (i, 16v + j); all columns of the
 * panels are computed (past n from the panels' zero padding) and only c0 ≤ j < c1 stored,
 * through masks.
 */
#include <immintrin.h>
#include <stdint.h>

#include "f32gemm/panels.h"

#define MR DS2_F32GEMM_PANEL_MR
#define NR DS2_F32GEMM_PANEL_NR

/* R rows × P panels (R·P ≤ 12: 2·R·P ≤ 24 accumulators), constants at every call site. */
static inline __attribute__((always_inline)) void tile(const int R, const int P, int c0, int c1,
                                                       int k, const float *x, size_t ldx,
                                                       const float *panels, float *y, size_t ldy,
                                                       int accumulate)
{
    __m512 acc[MR][8];
    const size_t stride = (size_t)k * NR; /* floats from one panel to the next */
#pragma GCC unroll 12
    for (int i = 0; i < R; i++)
#pragma GCC unroll 8
        for (int v = 0; v < 2 * P; v++)
            acc[i][v] = _mm512_setzero_ps();
    for (int t = 0; t < k; t++) {
        __m512 w[8];
#pragma GCC unroll 4
        for (int q = 0; q < P; q++) {
            w[2 * q] = _mm512_load_ps(panels + q * stride + (size_t)t * NR);
            w[2 * q + 1] = _mm512_load_ps(panels + q * stride + (size_t)t * NR + 16);
        }
#pragma GCC unroll 12
        for (int i = 0; i < R; i++) {
            const __m512 b = _mm512_set1_ps(x[(size_t)i * ldx + t]);
#pragma GCC unroll 8
            for (int v = 0; v < 2 * P; v++)
                acc[i][v] = _mm512_fmadd_ps(b, w[v], acc[i][v]);
        }
    }
    /* Per 16-column vector v: bit j of its mask stores column 16v + j (masked-off lanes are
     * neither read nor written). */
    __mmask16 m[8];
#pragma GCC unroll 8
    for (int v = 0; v < 2 * P; v++) {
        const int lo = c0 - 16 * v, hi = c1 - 16 * v; /* the range relative to the vector */
        const uint32_t below_hi = hi >= 16 ? 0xffffu : hi <= 0 ? 0u : (1u << hi) - 1u;
        const uint32_t below_lo = lo >= 16 ? 0xffffu : lo <= 0 ? 0u : (1u << lo) - 1u;
        m[v] = (__mmask16)(below_hi & ~below_lo);
    }
#pragma GCC unroll 12
    for (int i = 0; i < R; i++) {
        float *yi = y + (size_t)i * ldy;
#pragma GCC unroll 8
        for (int v = 0; v < 2 * P; v++) {
            if (!m[v])
                continue;
            __m512 r = acc[i][v];
            if (accumulate)
                r = _mm512_add_ps(_mm512_maskz_loadu_ps(m[v], yi + 16 * v), r);
            _mm512_mask_storeu_ps(yi + 16 * v, m[v], r);
        }
    }
}

void ds2_f32gemm_panel_ukernel_12x32__avx512(int mr, int np, int c0, int c1, int k, const float *x,
                                             size_t ldx, const float *panels, float *y, size_t ldy,
                                             int accumulate)
{
    /* One instance per (rows, panels), so every accumulator lives in a register. */
#define DS2_TILE(R, P)                                                                             \
    case R:                                                                                        \
        tile(R, P, c0, c1, k, x, ldx, panels, y, ldy, accumulate);                                 \
        return;
    switch (np) {
    case 4:
        switch (mr) {
            DS2_TILE(1, 4)
            DS2_TILE(2, 4)
        default:
            tile(3, 4, c0, c1, k, x, ldx, panels, y, ldy, accumulate);
            return;
        }
    case 3:
        switch (mr) {
            DS2_TILE(1, 3)
            DS2_TILE(2, 3)
            DS2_TILE(3, 3)
        default:
            tile(4, 3, c0, c1, k, x, ldx, panels, y, ldy, accumulate);
            return;
        }
    case 2:
        switch (mr) {
            DS2_TILE(1, 2)
            DS2_TILE(2, 2)
            DS2_TILE(3, 2)
            DS2_TILE(4, 2)
            DS2_TILE(5, 2)
        default:
            tile(6, 2, c0, c1, k, x, ldx, panels, y, ldy, accumulate);
            return;
        }
    default:
        switch (mr) {
            DS2_TILE(1, 1)
            DS2_TILE(2, 1)
            DS2_TILE(3, 1)
            DS2_TILE(4, 1)
            DS2_TILE(5, 1)
            DS2_TILE(6, 1)
            DS2_TILE(7, 1)
            DS2_TILE(8, 1)
            DS2_TILE(9, 1)
            DS2_TILE(10, 1)
            DS2_TILE(11, 1)
        default:
            tile(MR, 1, c0, c1, k, x, ldx, panels, y, ldy, accumulate);
            return;
        }
    }
#undef DS2_TILE
}
