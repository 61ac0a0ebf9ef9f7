/* Scalar reference of the activation quantizer: per row of X, asymmetric uint8 from the row's
 * min/max (widened to include 0 so that 0.0 is exact), stored centred as int16 q − zero_point. */
#include <math.h>
#include <stdint.h>

#include "qgemm/ukernels.h"

float ds2_qgemm_quantize_ukernel__ref(const float *x, int k, int kp, int16_t *q)
{
    float lo = 0.0f, hi = 0.0f;
    for (int j = 0; j < k; j++) {
        /* Comparisons skip NaN, like the SIMD min/max operand order. */
        lo = x[j] < lo ? x[j] : lo;
        hi = x[j] > hi ? x[j] : hi;
    }
    float scale = hi / 255.0f - lo / 255.0f; /* two divisions: no overflow for huge ranges */
    if (!(scale > 0.0f) || !isfinite(scale))
        scale = 1.0f; /* all zero (or unusable) row: every q is 0 */
    const float inv = 1.0f / scale;
    const float zero = fminf(fmaxf(rintf(-lo * inv), 0.0f), 255.0f);
    const float qmin = -zero, qmax = 255.0f - zero;
    for (int j = 0; j < k; j++)
        q[j] = (int16_t)rintf(fminf(fmaxf(x[j] * inv, qmin), qmax));
    for (int j = k; j < kp; j++)
        q[j] = 0;
    return scale;
}
