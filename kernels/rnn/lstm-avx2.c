/* AVX2+FMA LSTM cell: 8 units per iteration; a partial last group goes through zero-padded
 * stack copies so every unit sees the same arithmetic. */
#include "rnn/rnn.h"
#include "rnn/vmath-avx2.h"

#include <string.h>

static inline void lstm8(const float *gi, const float *gf, const float *gg, const float *go,
                         float *c, float *h)
{
    __m256 i = ds2_v_sigmoid(_mm256_loadu_ps(gi));
    __m256 f = ds2_v_sigmoid(_mm256_loadu_ps(gf));
    __m256 g = ds2_v_tanh(_mm256_loadu_ps(gg));
    __m256 o = ds2_v_sigmoid(_mm256_loadu_ps(go));
    __m256 cn = _mm256_fmadd_ps(f, _mm256_loadu_ps(c), _mm256_mul_ps(i, g));
    _mm256_storeu_ps(c, cn);
    _mm256_storeu_ps(h, _mm256_mul_ps(o, ds2_v_tanh(cn)));
}

void ds2_rnn_lstm_ukernel__avx2(int n, int stride, const float *gates, float *c, float *h)
{
    const float *gi = gates, *gf = gates + stride, *gg = gates + 2 * stride,
                *go = gates + 3 * stride;
    int j = 0;
    for (; j + 8 <= n; j += 8)
        lstm8(gi + j, gf + j, gg + j, go + j, c + j, h + j);
    if (j < n) {
        int m = n - j;
        float t[6][8] = {{0}};
        memcpy(t[0], gi + j, sizeof(float) * m);
        memcpy(t[1], gf + j, sizeof(float) * m);
        memcpy(t[2], gg + j, sizeof(float) * m);
        memcpy(t[3], go + j, sizeof(float) * m);
        memcpy(t[4], c + j, sizeof(float) * m);
        lstm8(t[0], t[1], t[2], t[3], t[4], t[5]);
        memcpy(c + j, t[4], sizeof(float) * m);
        memcpy(h + j, t[5], sizeof(float) * m);
    }
}
