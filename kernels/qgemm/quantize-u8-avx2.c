/* AVX2 version of ds2_qgemm_quantize_u8_ukernel__ref: same operations in the same order, so the
 * two produce identical uint8 rows, zero points and scales. (The VNNI tier uses it: quantizing
 * is ~1 % of a product, AVX-512 would not show.) */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#include "qgemm/quantize-avx2.h"
#include "qgemm/quantize-params.h"
#include "qgemm/ukernels.h"

float ds2_qgemm_quantize_u8_ukernel__avx2(const float *x, int k, int kp, void *out,
                                          int32_t *zero_out)
{
    uint8_t *q = out;
    float lo_s, hi_s;
    ds2_qgemm_row_range_avx2(x, k, &lo_s, &hi_s);
    float inv_s, zero;
    const float scale = ds2_qgemm_row_scale(lo_s, hi_s, &inv_s, &zero);
    *zero_out = (int32_t)zero;
    const __m256 inv = _mm256_set1_ps(inv_s);
    const __m256 qmin = _mm256_set1_ps(-zero), qmax = _mm256_set1_ps(255.0f - zero);
    const __m256i zp = _mm256_set1_epi32((int32_t)zero);
    /* kp is a multiple of 8 ≥ k: masked loads past k give 0; those bytes are reset below. */
    for (int j = 0; j < kp; j += 8) {
        const __m256 v = ds2_qgemm_load8_avx2(x, j, k);
        /* max(v·inv, qmin) maps NaN to qmin, as fmaxf does in the reference. */
        __m256 t = _mm256_max_ps(_mm256_mul_ps(v, inv), qmin);
        t = _mm256_min_ps(t, qmax);
        /* round to nearest even like rintf, then + zero point ∈ [0, 255] (exact in int32) */
        const __m256i i32 = _mm256_add_epi32(_mm256_cvtps_epi32(t), zp);
        const __m128i i16 =
            _mm_packs_epi32(_mm256_castsi256_si128(i32), _mm256_extracti128_si256(i32, 1));
        _mm_storel_epi64((__m128i *)(q + j), _mm_packus_epi16(i16, i16));
    }
    for (int j = k; j < kp; j++)
        q[j] = 0; /* padding is 0 like the reference's, not the zero point (weights are 0 there) */
    return scale;
}
