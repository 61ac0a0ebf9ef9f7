/* Shared tail of the AVX2 qgemm microkernels: int32 tile row -> float with the fused
 * dequantize/bias/accumulate epilogue of ds2_qgemm_dequant (same operations and order). */
#ifndef DS2_QGEMM_EPILOGUE_AVX2_H
#define DS2_QGEMM_EPILOGUE_AVX2_H

#include <immintrin.h>

#include "qgemm/ukernels.h"

static inline void ds2_qgemm_store_row_avx2(__m256i c0, __m256i c1, int i, float *y, int32_t *acc,
                                            const ds2_qgemm_params *p)
{
    if (acc) {
        _mm256_storeu_si256((__m256i *)(acc + i * DS2_QGEMM_NR), c0);
        _mm256_storeu_si256((__m256i *)(acc + i * DS2_QGEMM_NR + 8), c1);
        return;
    }
    const __m256 sa = _mm256_set1_ps(p->a_scale[i]);
    const __m256 s0 = _mm256_mul_ps(sa, _mm256_loadu_ps(p->w_scale));
    const __m256 s1 = _mm256_mul_ps(sa, _mm256_loadu_ps(p->w_scale + 8));
    __m256 v0 = _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(c0), s0), _mm256_loadu_ps(p->bias));
    __m256 v1 =
        _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(c1), s1), _mm256_loadu_ps(p->bias + 8));
    if (p->n_first == 0 && p->n_count == DS2_QGEMM_NR) {
        if (p->accumulate) {
            v0 = _mm256_add_ps(_mm256_loadu_ps(y), v0);
            v1 = _mm256_add_ps(_mm256_loadu_ps(y + 8), v1);
        }
        _mm256_storeu_ps(y, v0);
        _mm256_storeu_ps(y + 8, v1);
        return;
    }
    /* Partial block: only the requested columns may be written (other threads own the rest). */
    float t[DS2_QGEMM_NR];
    _mm256_storeu_ps(t, v0);
    _mm256_storeu_ps(t + 8, v1);
    for (int j = 0; j < p->n_count; j++)
        y[j] = p->accumulate ? y[j] + t[p->n_first + j] : t[p->n_first + j];
}

#endif
