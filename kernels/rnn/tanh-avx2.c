/* AVX2+FMA tanh-RNN cell: 8 units per iteration, a partial last group through a
 * zero-padded stack copy. */
#include "rnn/rnn.h"
#include "rnn/vmath-avx2.h"

#include <string.h>

void ds2_rnn_tanh_ukernel__avx2(int n, const float *pre, float *h)
{
    int j = 0;
    for (; j + 8 <= n; j += 8)
        _mm256_storeu_ps(h + j, ds2_v_tanh(_mm256_loadu_ps(pre + j)));
    if (j < n) {
        float t[8] = {0};
        memcpy(t, pre + j, sizeof(float) * (n - j));
        _mm256_storeu_ps(t, ds2_v_tanh(_mm256_loadu_ps(t)));
        memcpy(h + j, t, sizeof(float) * (n - j));
    }
}
