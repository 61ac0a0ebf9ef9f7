/* Scalar reference tanh-RNN cell: libm expf/tanhf, the definition the SIMD cells are tested
 * against. */
#include "rnn/rnn.h"

#include <math.h>

void ds2_rnn_tanh_ukernel__ref(int n, const float *pre, float *h)
{
    for (int j = 0; j < n; j++)
        h[j] = tanhf(pre[j]);
}
