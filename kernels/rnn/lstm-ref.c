/* Scalar reference LSTM cell: libm expf/tanhf, the definition the SIMD cells are tested
 * against. */
#include "rnn/rnn.h"

#include <math.h>

static float sigmoid(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

void ds2_rnn_lstm_ukernel__ref(int n, int stride, const float *gates, float *c, float *h)
{
    const float *gi = gates, *gf = gates + stride, *gg = gates + 2 * stride,
                *go = gates + 3 * stride;
    for (int j = 0; j < n; j++) {
        float cj = sigmoid(gf[j]) * c[j] + sigmoid(gi[j]) * tanhf(gg[j]);
        c[j] = cj;
        h[j] = sigmoid(go[j]) * tanhf(cj);
    }
}
