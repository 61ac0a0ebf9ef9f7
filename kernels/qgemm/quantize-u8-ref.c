/* Scalar reference of the U8 activation quantizer (VNNI tier): the same integers as the S16 one
 * plus the zero point, stored as uint8 q = centred + zero_point ∈ [0, 255]. K padding is 0,
 * which the zero-padded weights cancel. */
#include <stdint.h>

#include "qgemm/quantize-params.h"
#include "qgemm/ukernels.h"

float ds2_qgemm_quantize_u8_ukernel__ref(const float *x, int k, int kp, void *out, int32_t *zero)
{
    uint8_t *q = out;
    float lo, hi, inv, z;
    ds2_qgemm_row_range(x, k, &lo, &hi);
    const float scale = ds2_qgemm_row_scale(lo, hi, &inv, &z);
    for (int j = 0; j < k; j++)
        q[j] = (uint8_t)((int)ds2_qgemm_quantize_one(x[j], inv, z) + (int)z);
    for (int j = k; j < kp; j++)
        q[j] = 0;
    *zero = (int32_t)z;
    return scale;
}
