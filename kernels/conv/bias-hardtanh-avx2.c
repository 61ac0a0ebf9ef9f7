#include "conv/conv.h"

#include <immintrin.h>

void ds2_conv_bias_hardtanh_ukernel__avx2(int rows, int cols, const float *in, int ldi, float bias,
                                          float lo, float hi, float *out, int ldo)
{
    __m256 vb = _mm256_set1_ps(bias), vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
    for (int r = 0; r < rows; r++) {
        const float *x = in + (long)r * ldi;
        float *y = out + (long)r * ldo;
        int j = 0;
        /* max(lo, .) then min(hi, .) in the reference's order, so NaN and ties match it. */
        for (; j + 8 <= cols; j += 8) {
            __m256 v = _mm256_add_ps(_mm256_loadu_ps(x + j), vb);
            v = _mm256_blendv_ps(v, vlo, _mm256_cmp_ps(v, vlo, _CMP_LT_OQ));
            v = _mm256_blendv_ps(v, vhi, _mm256_cmp_ps(v, vhi, _CMP_GT_OQ));
            _mm256_storeu_ps(y + j, v);
        }
        for (; j < cols; j++) {
            float v = x[j] + bias;
            v = v < lo ? lo : v;
            y[j] = v > hi ? hi : v;
        }
    }
}
