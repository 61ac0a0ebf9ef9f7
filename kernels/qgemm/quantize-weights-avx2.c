/* AVX2 version of the per-row symmetric weight quantizer of ds2_qgemm_quantize_weights_ref:
 * the same amax, scale and rint(w·127/amax) (vcvtps2dq rounds to nearest even like rintf), so
 * the packed bytes are identical; it is what makes quantize-at-load of a full-size model fast. */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#include "qgemm/ukernels.h"

int ds2_qgemm_quantize_weights_ukernel__avx2(int k, const float *w, int8_t *q, float *scale)
{
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 amax = _mm256_setzero_ps(), bad = _mm256_setzero_ps();
    int j = 0;
    for (; j + 8 <= k; j += 8) {
        const __m256 v = _mm256_loadu_ps(w + j);
        bad = _mm256_or_ps(bad, _mm256_cmp_ps(_mm256_sub_ps(v, v), _mm256_setzero_ps(),
                                              _CMP_NEQ_UQ)); /* NaN or ±Inf */
        amax = _mm256_max_ps(amax, _mm256_and_ps(v, abs_mask));
    }
    if (_mm256_movemask_ps(bad))
        return -1;
    float t[8], a = 0.0f;
    _mm256_storeu_ps(t, amax);
    for (int i = 0; i < 8; i++)
        a = fmaxf(a, t[i]);
    for (int jj = j; jj < k; jj++) {
        if (!isfinite(w[jj]))
            return -1;
        a = fmaxf(a, fabsf(w[jj]));
    }
    const float inv = a > 0.0f ? 127.0f / a : 0.0f;
    *scale = a / 127.0f;
    const __m256 vinv = _mm256_set1_ps(inv), lo = _mm256_set1_ps(-127.0f),
                 hi = _mm256_set1_ps(127.0f);
    for (j = 0; j + 8 <= k; j += 8) {
        const __m256 r = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(w + j), vinv),
                                         _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        const __m256i i32 = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(r, lo), hi));
        const __m128i i16 =
            _mm_packs_epi32(_mm256_castsi256_si128(i32), _mm256_extracti128_si256(i32, 1));
        _mm_storel_epi64((__m128i *)(q + j), _mm_packs_epi16(i16, i16));
    }
    for (; j < k; j++)
        q[j] = (int8_t)fminf(fmaxf(rintf(w[j] * inv), -127.0f), 127.0f);
    return 0;
}
