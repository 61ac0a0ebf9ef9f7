/* Scalar reference GRU cell: libm expf/tanhf, the definition the SIMD cells are tested
 * against. */
#include "rnn/rnn.h"

#include <math.h>

static float sigmoid(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

void ds2_rnn_gru_ukernel__ref(int n, int stride, const float *xg, const float *hg, float *h)
{
    for (int j = 0; j < n; j++) {
        float r = sigmoid(xg[j] + hg[j]);
        float z = sigmoid(xg[stride + j] + hg[stride + j]);
        float nn = tanhf(xg[2 * stride + j] + r * hg[2 * stride + j]);
        h[j] = (1.0f - z) * nn + z * h[j];
    }
}
