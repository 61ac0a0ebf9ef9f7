/*
 * AVX2 f32gemm: tiles of up to 2 rows of X × 3 rows of W (outputs). The reference's 16 lane
 * chains of an output are two ymm accumulators (lanes 0–7 and 8–15 of each 16-float step), so
 * a tile holds 12 accumulators plus the 2 rows' 4 X vectors: the 16 ymm registers; W is read
 * from L1 as FMA memory operands. The k tail is a masked load (zeros: fmaf(0, 0, p) = p
 * exactly). Then the reference's tree per output: s8 = lo + hi, then halves as in the AVX-512
 * tier, so every tier agrees bit for bit.
 */
#include <immintrin.h>

#include "f32gemm/f32gemm.h"

static inline float tree(__m256 lo, __m256 hi)
{
    const __m256 s8 = _mm256_add_ps(lo, hi);
    const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4)); /* lanes 0,1: s4[i] + s4[i+2] */
    return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
}

/* Lanes [0, n) of 8 set (n may be <= 0 or >= 8). */
static inline __m256i lane_mask(int n)
{
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
}

/* R rows × C outputs, constants at every call site. */
static inline __attribute__((always_inline)) void tile(const int R, const int C, int k,
                                                       const float *x, size_t ldx, const float *w,
                                                       size_t ldw, float *y, size_t ldy,
                                                       int accumulate)
{
    __m256 lo[2][3], hi[2][3];
#pragma GCC unroll 2
    for (int i = 0; i < 2; i++)
#pragma GCC unroll 3
        for (int j = 0; j < 3; j++)
            lo[i][j] = hi[i][j] = _mm256_setzero_ps();
    int t = 0;
    for (; t + 16 <= k; t += 16) {
        __m256 xl[2], xh[2];
#pragma GCC unroll 2
        for (int i = 0; i < 2; i++)
            if (i < R) {
                xl[i] = _mm256_loadu_ps(x + (size_t)i * ldx + t);
                xh[i] = _mm256_loadu_ps(x + (size_t)i * ldx + t + 8);
            }
#pragma GCC unroll 3
        for (int j = 0; j < 3; j++)
            if (j < C) {
                const __m256 wl = _mm256_loadu_ps(w + (size_t)j * ldw + t);
                const __m256 wh = _mm256_loadu_ps(w + (size_t)j * ldw + t + 8);
#pragma GCC unroll 2
                for (int i = 0; i < 2; i++)
                    if (i < R) {
                        lo[i][j] = _mm256_fmadd_ps(xl[i], wl, lo[i][j]);
                        hi[i][j] = _mm256_fmadd_ps(xh[i], wh, hi[i][j]);
                    }
            }
    }
    if (t < k) {
        const __m256i ml = lane_mask(k - t), mh = lane_mask(k - t - 8);
        __m256 xl[2], xh[2];
#pragma GCC unroll 2
        for (int i = 0; i < 2; i++)
            if (i < R) {
                xl[i] = _mm256_maskload_ps(x + (size_t)i * ldx + t, ml);
                xh[i] = _mm256_maskload_ps(x + (size_t)i * ldx + t + 8, mh);
            }
#pragma GCC unroll 3
        for (int j = 0; j < 3; j++)
            if (j < C) {
                const __m256 wl = _mm256_maskload_ps(w + (size_t)j * ldw + t, ml);
                const __m256 wh = _mm256_maskload_ps(w + (size_t)j * ldw + t + 8, mh);
#pragma GCC unroll 2
                for (int i = 0; i < 2; i++)
                    if (i < R) {
                        lo[i][j] = _mm256_fmadd_ps(xl[i], wl, lo[i][j]);
                        hi[i][j] = _mm256_fmadd_ps(xh[i], wh, hi[i][j]);
                    }
            }
    }
#pragma GCC unroll 2
    for (int i = 0; i < 2; i++)
#pragma GCC unroll 3
        for (int j = 0; j < 3; j++)
            if (i < R && j < C) {
                const float v = tree(lo[i][j], hi[i][j]);
                float *out = y + (size_t)i * ldy + j;
                *out = accumulate ? *out + v : v;
            }
}

/* R rows × c outputs: a constant R and C for every tile() call. */
#define DS2_COLS(R)                                                                                \
    do {                                                                                           \
        if (c == 3)                                                                                \
            tile(R, 3, k, xi, ldx, wj, ldw, yij, ldy, accumulate);                                 \
        else if (c == 2)                                                                           \
            tile(R, 2, k, xi, ldx, wj, ldw, yij, ldy, accumulate);                                 \
        else                                                                                       \
            tile(R, 1, k, xi, ldx, wj, ldw, yij, ldy, accumulate);                                 \
    } while (0)

void ds2_f32gemm_gemm_nt_ukernel_2x3__avx2(int m, int n, int k, const float *x, size_t ldx,
                                           const float *w, size_t ldw, float *y, size_t ldy,
                                           int accumulate)
{
    /* Outputs outer, rows inner: 3 rows of W (12 KiB at k = 1024) stay in L1 while every row
     * of X passes over them, so W streams from memory once per call. */
    for (int j = 0; j < n; j += 3) {
        const int c = n - j < 3 ? n - j : 3;
        const float *wj = w + (size_t)j * ldw;
        for (int i = 0; i < m; i += 2) {
            const float *xi = x + (size_t)i * ldx;
            float *yij = y + (size_t)i * ldy + j;
            if (m - i >= 2)
                DS2_COLS(2);
            else
                DS2_COLS(1);
        }
    }
}
