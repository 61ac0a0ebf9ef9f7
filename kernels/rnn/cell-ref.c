/* Scalar reference cells: libm expf/tanhf, the definition the AVX2 cells are tested against. */
#include "rnn/rnn.h"

#include <math.h>

static float sigmoid(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

void ds2_lstm_cell_ref(int n, int stride, const float *gates, float *c, float *h)
{
    const float *gi = gates, *gf = gates + stride, *gg = gates + 2 * stride,
                *go = gates + 3 * stride;
    for (int j = 0; j < n; j++) {
        float cj = sigmoid(gf[j]) * c[j] + sigmoid(gi[j]) * tanhf(gg[j]);
        c[j] = cj;
        h[j] = sigmoid(go[j]) * tanhf(cj);
    }
}

void ds2_gru_cell_ref(int n, int stride, const float *xg, const float *hg, float *h)
{
    for (int j = 0; j < n; j++) {
        float r = sigmoid(xg[j] + hg[j]);
        float z = sigmoid(xg[stride + j] + hg[stride + j]);
        float nn = tanhf(xg[2 * stride + j] + r * hg[2 * stride + j]);
        h[j] = (1.0f - z) * nn + z * h[j];
    }
}

void ds2_tanh_cell_ref(int n, const float *pre, float *h)
{
    for (int j = 0; j < n; j++)
        h[j] = tanhf(pre[j]);
}
