/* AVX2 version of ds2_qgemm_quantize_u8_ukernel__ref: same operations in the same order, so the
 * two produce identical uint8 rows, zero points and scales. (The VNNI tier uses it: quantizing
 * is ~1 % of a product, AVX-512 would not show.) */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#include "qgemm/quantize-params.h"
#include "qgemm/ukernels.h"

static __m256i tail_mask(int left)
{
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(left), idx);
}

static float hmin(__m256 v)
{
    __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_min_ps(m, _mm_movehl_ps(m, m));
    m = _mm_min_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

static float hmax(__m256 v)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

float ds2_qgemm_quantize_u8_ukernel__avx2(const float *x, int k, int kp, void *out,
                                          int32_t *zero_out)
{
    uint8_t *q = out;
    /* min_ps/max_ps return the second operand when either is NaN: the running value. */
    __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
    int j = 0;
    for (; j + 8 <= k; j += 8) {
        const __m256 v = _mm256_loadu_ps(x + j);
        lo = _mm256_min_ps(v, lo);
        hi = _mm256_max_ps(v, hi);
    }
    if (j < k) {
        const __m256 v = _mm256_maskload_ps(x + j, tail_mask(k - j)); /* zeros past k */
        lo = _mm256_min_ps(v, lo);
        hi = _mm256_max_ps(v, hi);
    }
    const float lo_s = hmin(lo), hi_s = hmax(hi);
    float inv_s, zero;
    const float scale = ds2_qgemm_row_scale(lo_s, hi_s, &inv_s, &zero);
    *zero_out = (int32_t)zero;
    const __m256 inv = _mm256_set1_ps(inv_s);
    const __m256 qmin = _mm256_set1_ps(-zero), qmax = _mm256_set1_ps(255.0f - zero);
    const __m256i zp = _mm256_set1_epi32((int32_t)zero);
    /* kp is a multiple of 8 ≥ k: masked loads past k give 0; those bytes are reset below. */
    for (j = 0; j < kp; j += 8) {
        const __m256 v =
            j + 8 <= k ? _mm256_loadu_ps(x + j) : _mm256_maskload_ps(x + j, tail_mask(k - j));
        /* max(v·inv, qmin) maps NaN to qmin, as fmaxf does in the reference. */
        __m256 t = _mm256_max_ps(_mm256_mul_ps(v, inv), qmin);
        t = _mm256_min_ps(t, qmax);
        /* round to nearest even like rintf, then + zero point ∈ [0, 255] (exact in int32) */
        const __m256i i32 = _mm256_add_epi32(_mm256_cvtps_epi32(t), zp);
        const __m128i i16 =
            _mm_packs_epi32(_mm256_castsi256_si128(i32), _mm256_extracti128_si256(i32, 1));
        _mm_storel_epi64((__m128i *)(q + j), _mm_packus_epi16(i16, i16));
    }
    for (j = k; j < kp; j++)
        q[j] = 0; /* padding is 0 like the reference's, not the zero point (weights are 0 there) */
    return scale;
}
