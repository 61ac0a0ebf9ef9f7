/*
 * 4x16c2 AVX2 microkernel: int8 weights are sign-extended to int16 (vpmovsxbw) and multiplied
 * with broadcast pairs of centred int16 activations by vpmaddwd into int32, which is exact
 * (|pair| ≤ 2·255·128) and runs at the same 16 multiply-adds per cycle on Zen 2 as the
 * saturating vpmaddubsw + vpmaddwd chain. Each widened weight vector serves 4 rows.
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

#define STEP(KOFF)                                                                                 \
    do {                                                                                           \
        const __m256i wl = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + 0)));        \
        const __m256i wh = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + 16)));       \
        w += 32;                                                                                   \
        __m256i x = bcast_pair(a0 + k + (KOFF));                                                   \
        c00 = _mm256_add_epi32(c00, _mm256_madd_epi16(x, wl));                                     \
        c01 = _mm256_add_epi32(c01, _mm256_madd_epi16(x, wh));                                     \
        x = bcast_pair(a1 + k + (KOFF));                                                           \
        c10 = _mm256_add_epi32(c10, _mm256_madd_epi16(x, wl));                                     \
        c11 = _mm256_add_epi32(c11, _mm256_madd_epi16(x, wh));                                     \
        x = bcast_pair(a2 + k + (KOFF));                                                           \
        c20 = _mm256_add_epi32(c20, _mm256_madd_epi16(x, wl));                                     \
        c21 = _mm256_add_epi32(c21, _mm256_madd_epi16(x, wh));                                     \
        x = bcast_pair(a3 + k + (KOFF));                                                           \
        c30 = _mm256_add_epi32(c30, _mm256_madd_epi16(x, wl));                                     \
        c31 = _mm256_add_epi32(c31, _mm256_madd_epi16(x, wh));                                     \
    } while (0)

void ds2_qgemm_4x16c2__avx2(int mr, int kp, const int16_t *a, size_t lda, const int8_t *w, float *y,
                            size_t ldy, int32_t *acc, const ds2_qgemm_params *p)
{
    /* Rows past mr alias the last valid row: computed, never stored. */
    const int16_t *a0 = a;
    const int16_t *a1 = mr > 1 ? a0 + lda : a0;
    const int16_t *a2 = mr > 2 ? a1 + lda : a1;
    const int16_t *a3 = mr > 3 ? a2 + lda : a2;
    __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00;
    __m256i c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    for (int k = 0; k < kp; k += DS2_QGEMM_KR) {
        STEP(0);
        STEP(2);
        STEP(4);
        STEP(6);
    }
    ds2_qgemm_store_row_avx2(c00, c01, 0, y, acc, p);
    if (mr > 1)
        ds2_qgemm_store_row_avx2(c10, c11, 1, y + ldy, acc, p);
    if (mr > 2)
        ds2_qgemm_store_row_avx2(c20, c21, 2, y + 2 * ldy, acc, p);
    if (mr > 3)
        ds2_qgemm_store_row_avx2(c30, c31, 3, y + 3 * ldy, acc, p);
}
