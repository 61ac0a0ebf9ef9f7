/*
 * The panel microkernel on AVX2+FMA. Sixteen ymm registers cannot hold the AVX-512 kernel's
 * 12 × 32 tile, so each call's tile (panels.h: mr rows × np panels, mr·np ≤ 12) is walked in
 * sub-tiles that keep at most 12 accumulators, the panel's weights for one k in registers and one
 * broadcast value of X. The rows are split into balanced groups of at most 6 (8 rows = 4 + 4,
 * 7 = 3 + 4), and each group's width follows its row count:
 *  - 4-6 rows: × 16 columns (half a panel: 2 ymm of weights per k, up to 6 broadcasts and 12
 *    FMAs), the Haswell-class tile that keeps both FMA ports busy;
 *  - 2-3 rows: × 32 columns (a whole panel, 4 ymm per k: 8-12 chains);
 *  - 1 row (the batch-1 recurrent step): 1 row × 64 columns (two panels, 8 chains), so the FMA
 *    latency is hidden while W streams in once.
 * Lane j of accumulator (i, v) is the reference's chain for output (i, 8v + j), k ascending from
 * zero: the bits equal the scalar reference's for every tile. Columns outside c0 ≤ j < c1 are
 * computed from the panels (past n from their zero padding) but neither read nor written
 * (maskload / maskstore).
 */
#include <immintrin.h>
#include <stdint.h>

#include "f32gemm/panels.h"

#define NR DS2_F32GEMM_PANEL_NR

/* Lanes of 8-column vector v (columns 8v .. 8v + 7 of the sub-tile) inside [lo, hi). */
static inline __m256i lane_mask(int v, int lo, int hi)
{
    const __m256i lane =
        _mm256_add_epi32(_mm256_set1_epi32(8 * v), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const __m256i ge_lo = _mm256_cmpgt_epi32(lane, _mm256_set1_epi32(lo - 1));
    const __m256i lt_hi = _mm256_cmpgt_epi32(_mm256_set1_epi32(hi), lane);
    return _mm256_and_si256(ge_lo, lt_hi);
}

/* R rows × V vectors of 8 columns (R·V ≤ 12). Vector v reads column 8v of the sub-tile, which
 * lies in panel v / 4 (panel stride `stride` floats) at offset 8 (v % 4) + off: off is 0 or 16
 * (the half panel of the 6 × 16 tile). lo, hi: the columns to store, relative to the sub-tile. */
static inline __attribute__((always_inline)) void tile(const int R, const int V, int off, int lo,
                                                       int hi, int k, const float *x, size_t ldx,
                                                       const float *panels, size_t stride, float *y,
                                                       size_t ldy, int accumulate)
{
    __m256 acc[6][8];
#pragma GCC unroll 6
    for (int i = 0; i < R; i++)
#pragma GCC unroll 8
        for (int v = 0; v < V; v++)
            acc[i][v] = _mm256_setzero_ps();
    for (int t = 0; t < k; t++) {
        __m256 w[8];
#pragma GCC unroll 8
        for (int v = 0; v < V; v++)
            w[v] = _mm256_load_ps(panels + (size_t)(v / 4) * stride + (size_t)t * NR + off +
                                  8 * (v % 4));
#pragma GCC unroll 6
        for (int i = 0; i < R; i++) {
            const __m256 b = _mm256_broadcast_ss(x + (size_t)i * ldx + t);
#pragma GCC unroll 8
            for (int v = 0; v < V; v++)
                acc[i][v] = _mm256_fmadd_ps(b, w[v], acc[i][v]);
        }
    }
#pragma GCC unroll 8
    for (int v = 0; v < V; v++) {
        /* Output column 8v + j of the sub-tile sits at y + 8v + j when V ≤ 4 (one panel) and
         * likewise across two panels, since panel q's columns follow panel q - 1's in y. */
        if (hi <= 8 * v || lo >= 8 * v + 8)
            continue;
        const int full = lo <= 8 * v && hi >= 8 * v + 8;
        const __m256i m = lane_mask(v, lo, hi);
#pragma GCC unroll 6
        for (int i = 0; i < R; i++) {
            float *yv = y + (size_t)i * ldy + 8 * v;
            __m256 r = acc[i][v];
            if (full) {
                if (accumulate)
                    r = _mm256_add_ps(_mm256_loadu_ps(yv), r);
                _mm256_storeu_ps(yv, r);
            } else {
                if (accumulate)
                    r = _mm256_add_ps(_mm256_maskload_ps(yv, m), r);
                _mm256_maskstore_ps(yv, m, r);
            }
        }
    }
}

/* R rows of the call in sub-tiles of R × 8V columns (V = 2: half panels, 4: one panel, 8: two
 * panels) covering [c0, c1). A two-panel sub-tile whose columns end inside its first panel takes
 * that panel alone, so no panel past the call's np is read (the second exists when c1 reaches
 * into it: c1 ≤ np·NR). */
static inline __attribute__((always_inline)) void columns(const int R, const int V, int c0, int c1,
                                                          int k, const float *x, size_t ldx,
                                                          const float *panels, float *y, size_t ldy,
                                                          int accumulate)
{
    const size_t stride = (size_t)k * NR;
    const int width = 8 * V;
    for (int s = c0 / width * width; s < c1; s += width) {
        const int lo = c0 - s > 0 ? c0 - s : 0, hi = c1 - s < width ? c1 - s : width;
        const float *ps = panels + (size_t)(s / NR) * stride;
        if (V == 8 && hi <= NR)
            tile(R, 4, 0, lo, hi, k, x, ldx, ps, stride, y + s, ldy, accumulate);
        else
            tile(R, V, s % NR, lo, hi, k, x, ldx, ps, stride, y + s, ldy, accumulate);
    }
}

void ds2_f32gemm_panel_ukernel_6x16__avx2(int mr, int np, int c0, int c1, int k, const float *x,
                                          size_t ldx, const float *panels, float *y, size_t ldy,
                                          int accumulate)
{
    (void)np; /* [c0, c1) says which of the np panels are read */
    /* Rows in balanced groups of at most 6 (8 = 4 + 4, not 6 + 2: a 2 × 16 tile has only 4
     * FMA chains, too few to hide the FMA latency; the batch-8 recurrent step is this case). */
    const int groups = (mr + 5) / 6;
    for (int g = 0, i = 0; g < groups; g++) {
        const int rows = (mr - i) / (groups - g);
        const float *xi = x + (size_t)i * ldx;
        float *yi = y + (size_t)i * ldy;
        i += rows;
        /* One instance per row count, so every accumulator lives in a register; fewer rows
         * take wider sub-tiles (8 or more chains each). */
#define DS2_ROWS(R, V)                                                                             \
    case R:                                                                                        \
        columns(R, V, c0, c1, k, xi, ldx, panels, yi, ldy, accumulate);                            \
        break;
        switch (rows) {
            DS2_ROWS(1, 8)
            DS2_ROWS(2, 4)
            DS2_ROWS(3, 4)
            DS2_ROWS(4, 2)
            DS2_ROWS(5, 2)
        default:
            columns(6, 2, c0, c1, k, xi, ldx, panels, yi, ldy, accumulate);
            break;
        }
#undef DS2_ROWS
    }
}
