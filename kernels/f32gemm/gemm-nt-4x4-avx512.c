/*
 * AVX-512 f32gemm: tiles of up to 4 rows of X × 4 rows of W (outputs), 16 zmm accumulators —
 * lane l of accumulator (i, j) is the reference's chain p[l] for output (i, j) — each W vector
 * loaded once per tile and each X vector reused over the 4 outputs. The k tail is a masked
 * load (zeros: fmaf(0, 0, p) = p exactly). Then the reference's tree per output.
 */
#include <immintrin.h>

#include "f32gemm/f32gemm.h"

static inline float tree(__m512 p)
{
    const __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(p), _mm512_extractf32x8_ps(p, 1));
    const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4)); /* lanes 0,1: s4[i] + s4[i+2] */
    return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
}

/* R rows × C outputs, constants at every call site. */
static inline __attribute__((always_inline)) void tile(const int R, const int C, int k,
                                                       const float *x, size_t ldx, const float *w,
                                                       size_t ldw, float *y, size_t ldy,
                                                       int accumulate)
{
    __m512 acc[4][4];
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++)
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++)
            acc[i][j] = _mm512_setzero_ps();
    int t = 0;
    for (; t + 16 <= k; t += 16) {
        __m512 wv[4];
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++)
            if (j < C)
                wv[j] = _mm512_loadu_ps(w + (size_t)j * ldw + t);
#pragma GCC unroll 4
        for (int i = 0; i < 4; i++)
            if (i < R) {
                const __m512 xv = _mm512_loadu_ps(x + (size_t)i * ldx + t);
#pragma GCC unroll 4
                for (int j = 0; j < 4; j++)
                    if (j < C)
                        acc[i][j] = _mm512_fmadd_ps(xv, wv[j], acc[i][j]);
            }
    }
    if (t < k) {
        const __mmask16 mk = (__mmask16)((1u << (k - t)) - 1u);
        __m512 wv[4];
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++)
            if (j < C)
                wv[j] = _mm512_maskz_loadu_ps(mk, w + (size_t)j * ldw + t);
#pragma GCC unroll 4
        for (int i = 0; i < 4; i++)
            if (i < R) {
                const __m512 xv = _mm512_maskz_loadu_ps(mk, x + (size_t)i * ldx + t);
#pragma GCC unroll 4
                for (int j = 0; j < 4; j++)
                    if (j < C)
                        acc[i][j] = _mm512_fmadd_ps(xv, wv[j], acc[i][j]);
            }
    }
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++)
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++)
            if (i < R && j < C) {
                const float v = tree(acc[i][j]);
                float *out = y + (size_t)i * ldy + j;
                *out = accumulate ? *out + v : v;
            }
}

#define DS2_COLS(R)                                                                                \
    switch (c) {                                                                                   \
    case 1:                                                                                        \
        tile(R, 1, k, xi, ldx, wj, ldw, yij, ldy, accumulate);                                     \
        break;                                                                                     \
    case 2:                                                                                        \
        tile(R, 2, k, xi, ldx, wj, ldw, yij, ldy, accumulate);                                     \
        break;                                                                                     \
    case 3:                                                                                        \
        tile(R, 3, k, xi, ldx, wj, ldw, yij, ldy, accumulate);                                     \
        break;                                                                                     \
    default:                                                                                       \
        tile(R, 4, k, xi, ldx, wj, ldw, yij, ldy, accumulate);                                     \
        break;                                                                                     \
    }

void ds2_f32gemm_gemm_nt_ukernel_4x4__avx512(int m, int n, int k, const float *x, size_t ldx,
                                             const float *w, size_t ldw, float *y, size_t ldy,
                                             int accumulate)
{
    /* Outputs outer, rows inner: a tile of W (4 rows, 16 KiB at k = 1024) stays in L1 while
     * every row of X passes over it, so W streams from memory once per call. */
    for (int j = 0; j < n; j += 4) {
        const int c = n - j < 4 ? n - j : 4;
        const float *wj = w + (size_t)j * ldw;
        for (int i = 0; i < m; i += 4) {
            const int r = m - i < 4 ? m - i : 4;
            const float *xi = x + (size_t)i * ldx;
            float *yij = y + (size_t)i * ldy + j;
            switch (r) {
            case 1:
                DS2_COLS(1);
                break;
            case 2:
                DS2_COLS(2);
                break;
            case 3:
                DS2_COLS(3);
                break;
            default:
                DS2_COLS(4);
                break;
            }
        }
    }
}
