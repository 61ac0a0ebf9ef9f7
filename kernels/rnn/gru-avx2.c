/* AVX2+FMA GRU cell: 8 units per iteration; a partial last group goes through zero-padded
 * stack copies so every unit sees the same arithmetic. */
#include "rnn/rnn.h"
#include "rnn/vmath-avx2.h"

#include <string.h>

static inline void gru8(const float *xr, const float *xz, const float *xn, const float *hr,
                        const float *hz, const float *hn, float *h)
{
    __m256 r = ds2_v_sigmoid(_mm256_add_ps(_mm256_loadu_ps(xr), _mm256_loadu_ps(hr)));
    __m256 z = ds2_v_sigmoid(_mm256_add_ps(_mm256_loadu_ps(xz), _mm256_loadu_ps(hz)));
    __m256 nn = ds2_v_tanh(_mm256_fmadd_ps(r, _mm256_loadu_ps(hn), _mm256_loadu_ps(xn)));
    __m256 hp = _mm256_loadu_ps(h);
    /* (1 - z) nn + z h  ==  nn + z (h - nn) */
    _mm256_storeu_ps(h, _mm256_fmadd_ps(z, _mm256_sub_ps(hp, nn), nn));
}

void ds2_rnn_gru_ukernel__avx2(int n, int stride, const float *xg, const float *hg, float *h)
{
    int j = 0;
    for (; j + 8 <= n; j += 8)
        gru8(xg + j, xg + stride + j, xg + 2 * stride + j, hg + j, hg + stride + j,
             hg + 2 * stride + j, h + j);
    if (j < n) {
        int m = n - j;
        float t[7][8] = {{0}};
        for (int g = 0; g < 3; g++) {
            memcpy(t[g], xg + g * stride + j, sizeof(float) * m);
            memcpy(t[3 + g], hg + g * stride + j, sizeof(float) * m);
        }
        memcpy(t[6], h + j, sizeof(float) * m);
        gru8(t[0], t[1], t[2], t[3], t[4], t[5], t[6]);
        memcpy(h + j, t[6], sizeof(float) * m);
    }
}
