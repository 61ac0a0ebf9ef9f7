/* AVX2 version of ds2_qgemm_quantize_s16_ukernel__ref: same operations in the same order, so the
 * two produce identical int16 rows and scales. */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#include "qgemm/quantize-avx2.h"
#include "qgemm/quantize-params.h"
#include "qgemm/ukernels.h"

float ds2_qgemm_quantize_s16_ukernel__avx2(const float *x, int k, int kp, void *out,
                                           int32_t *zero_out)
{
    int16_t *q = out;
    float lo_s, hi_s;
    ds2_qgemm_row_range_avx2(x, k, &lo_s, &hi_s);
    float inv_s, zero;
    const float scale = ds2_qgemm_row_scale(lo_s, hi_s, &inv_s, &zero);
    *zero_out = (int32_t)zero;
    const __m256 inv = _mm256_set1_ps(inv_s);
    const __m256 qmin = _mm256_set1_ps(-zero), qmax = _mm256_set1_ps(255.0f - zero);
    /* kp is a multiple of 8 ≥ k: masked loads past k give 0, which quantizes to 0 (padding). */
    for (int j = 0; j < kp; j += 8) {
        const __m256 v = ds2_qgemm_load8_avx2(x, j, k);
        /* max(v·inv, qmin) maps NaN to qmin, as fmaxf does in the reference. */
        __m256 t = _mm256_max_ps(_mm256_mul_ps(v, inv), qmin);
        t = _mm256_min_ps(t, qmax);
        const __m256i i32 = _mm256_cvtps_epi32(t); /* round to nearest even, like rintf */
        const __m128i i16 =
            _mm_packs_epi32(_mm256_castsi256_si128(i32), _mm256_extracti128_si256(i32, 1));
        _mm_storeu_si128((__m128i *)(q + j), i16);
    }
    return scale;
}
