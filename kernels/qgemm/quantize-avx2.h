/* The part of the AVX2 activation quantizers that S16 and U8 share: the row's min/max pass (with
 * the reference's NaN-skipping result) and the tail mask. Included only by *-avx2.c files. */
#ifndef DS2_QGEMM_QUANTIZE_AVX2_H
#define DS2_QGEMM_QUANTIZE_AVX2_H

#include <immintrin.h>

static inline __m256i ds2_qgemm_tail_mask_avx2(int left)
{
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(left), idx);
}

/* x[j] for j < k, zeros past k (masked load). */
static inline __m256 ds2_qgemm_load8_avx2(const float *x, int j, int k)
{
    return j + 8 <= k ? _mm256_loadu_ps(x + j)
                      : _mm256_maskload_ps(x + j, ds2_qgemm_tail_mask_avx2(k - j));
}

/* min and max of x[0..k) and 0. min_ps/max_ps return the second operand when either is NaN:
 * the running value, as the reference's comparisons skip NaN. */
static inline void ds2_qgemm_row_range_avx2(const float *x, int k, float *lo_out, float *hi_out)
{
    __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
    for (int j = 0; j < k; j += 8) {
        const __m256 v = ds2_qgemm_load8_avx2(x, j, k);
        lo = _mm256_min_ps(v, lo);
        hi = _mm256_max_ps(v, hi);
    }
    __m128 m = _mm_min_ps(_mm256_castps256_ps128(lo), _mm256_extractf128_ps(lo, 1));
    m = _mm_min_ps(m, _mm_movehl_ps(m, m));
    m = _mm_min_ss(m, _mm_movehdup_ps(m));
    __m128 n = _mm_max_ps(_mm256_castps256_ps128(hi), _mm256_extractf128_ps(hi, 1));
    n = _mm_max_ps(n, _mm_movehl_ps(n, n));
    n = _mm_max_ss(n, _mm_movehdup_ps(n));
    *lo_out = _mm_cvtss_f32(m);
    *hi_out = _mm_cvtss_f32(n);
}

#endif
