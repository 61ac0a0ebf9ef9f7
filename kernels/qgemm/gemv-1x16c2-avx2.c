/*
 * 1x16c2 AVX2 matrix-vector kernel (M = 1, the batch-1 recurrent step): streams one packed
 * weight block; bound by how fast vpmaddwd (one per 16 weight bytes) and the cache feed it.
 * Two accumulator sets keep the vpaddd chains independent.
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

#define STEP(KOFF, C0, C1)                                                                         \
    do {                                                                                           \
        const __m256i x = bcast_pair(a + k + (KOFF));                                              \
        const __m256i wl =                                                                         \
            _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + 16 * (KOFF))));             \
        const __m256i wh =                                                                         \
            _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + 16 * (KOFF) + 16)));        \
        C0 = _mm256_add_epi32(C0, _mm256_madd_epi16(x, wl));                                       \
        C1 = _mm256_add_epi32(C1, _mm256_madd_epi16(x, wh));                                       \
    } while (0)

void ds2_qgemm_gemv_ukernel_1x16c2__avx2(int mr, int kp, const void *a_, size_t lda,
                                         const int8_t *w, float *y, size_t ldy, int32_t *acc,
                                         const ds2_qgemm_params *p)
{
    const int16_t *a = a_;
    (void)mr; /* always 1 */
    (void)lda;
    (void)ldy;
    __m256i c0 = _mm256_setzero_si256(), c1 = c0, d0 = c0, d1 = c0;
    for (int k = 0; k < kp; k += DS2_QGEMM_KR, w += DS2_QGEMM_KR * DS2_QGEMM_NR) {
        STEP(0, c0, c1);
        STEP(2, d0, d1);
        STEP(4, c0, c1);
        STEP(6, d0, d1);
    }
    ds2_qgemm_store_row_avx2(_mm256_add_epi32(c0, d0), _mm256_add_epi32(c1, d1), 0, y, acc, p);
}
