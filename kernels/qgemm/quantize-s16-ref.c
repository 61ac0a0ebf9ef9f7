/* Scalar reference of the S16 activation quantizer: per row of X, asymmetric uint8 from the
 * row's min/max (widened to include 0 so that 0.0 is exact), stored centred as int16
 * q − zero_point. */
#include <stdint.h>

#include "qgemm/quantize-params.h"
#include "qgemm/ukernels.h"

float ds2_qgemm_quantize_s16_ukernel__ref(const float *x, int k, int kp, void *out, int32_t *zero)
{
    int16_t *q = out;
    float lo, hi, inv, z;
    ds2_qgemm_row_range(x, k, &lo, &hi);
    const float scale = ds2_qgemm_row_scale(lo, hi, &inv, &z);
    for (int j = 0; j < k; j++)
        q[j] = (int16_t)ds2_qgemm_quantize_one(x[j], inv, z);
    for (int j = k; j < kp; j++)
        q[j] = 0;
    *zero = (int32_t)z;
    return scale;
}
