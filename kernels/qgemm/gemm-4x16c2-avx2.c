/*
 * 4x16c2 AVX2 microkernel: int8 weights are sign-extended to int16 (vpmovsxbw) and multiplied
 * with broadcast pairs of centred int16 activations by vpmaddwd into int32, which is exact
 * (|pair| ≤ 2·255·128) and runs at the same 16 multiply-adds per cycle on Zen 2 as the
 * saturating vpmaddubsw + vpmaddwd chain. Each widened weight vector serves up to 4 rows.
 * Tiles of 2 or 3 rows get their own instantiation: with few rows the kernel is bound by the
 * multiplies it issues, so computing phantom rows would cost up to 2x at batch 2.
 */
#include <immintrin.h>
#include <string.h>

#include "qgemm/epilogue-avx2.h"

static inline __m256i bcast_pair(const int16_t *a)
{
    int32_t v;
    memcpy(&v, a, sizeof v);
    return _mm256_set1_epi32(v);
}

#define ROW(R, KOFF)                                                                               \
    if (ROWS > R) {                                                                                \
        const __m256i x = bcast_pair(a##R + k + (KOFF));                                           \
        c##R##0 = _mm256_add_epi32(c##R##0, _mm256_madd_epi16(x, wl));                             \
        c##R##1 = _mm256_add_epi32(c##R##1, _mm256_madd_epi16(x, wh));                             \
    }

#define STEP(KOFF)                                                                                 \
    do {                                                                                           \
        const __m256i wl = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + 0)));        \
        const __m256i wh = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + 16)));       \
        w += 32;                                                                                   \
        ROW(0, KOFF)                                                                               \
        ROW(1, KOFF)                                                                               \
        ROW(2, KOFF)                                                                               \
        ROW(3, KOFF)                                                                               \
    } while (0)

/* ROWS is a constant at every call site, so the row guards fold away. */
static inline __attribute__((always_inline)) void tile(const int ROWS, int kp, const int16_t *a,
                                                       size_t lda, const int8_t *w, float *y,
                                                       size_t ldy, int32_t *acc,
                                                       const ds2_qgemm_params *p)
{
    const int16_t *a0 = a, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
    __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00;
    __m256i c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    /* One k pair per iteration: unrolling further lets GCC hoist loads and spill accumulators. */
#pragma GCC unroll 1
    for (int k = 0; k < kp; k += 2)
        STEP(0);
    ds2_qgemm_store_row_avx2(c00, c01, 0, y, acc, p);
    if (ROWS > 1)
        ds2_qgemm_store_row_avx2(c10, c11, 1, y + ldy, acc, p);
    if (ROWS > 2)
        ds2_qgemm_store_row_avx2(c20, c21, 2, y + 2 * ldy, acc, p);
    if (ROWS > 3)
        ds2_qgemm_store_row_avx2(c30, c31, 3, y + 3 * ldy, acc, p);
}

void ds2_qgemm_gemm_ukernel_4x16c2__avx2(int mr, int kp, const void *a_, size_t lda,
                                         const int8_t *w, float *y, size_t ldy, int32_t *acc,
                                         const ds2_qgemm_params *p)
{
    const int16_t *a = a_;
    switch (mr) {
    case 1:
        tile(1, kp, a, lda, w, y, ldy, acc, p);
        break;
    case 2:
        tile(2, kp, a, lda, w, y, ldy, acc, p);
        break;
    case 3:
        tile(3, kp, a, lda, w, y, ldy, acc, p);
        break;
    default:
        tile(4, kp, a, lda, w, y, ldy, acc, p);
        break;
    }
}
