/* The per-row quantization parameters every activation quantizer shares, so that all of them
 * (scalar and SIMD, S16 and U8) give the same scale, zero point and integers. */
#ifndef DS2_QGEMM_QUANTIZE_PARAMS_H
#define DS2_QGEMM_QUANTIZE_PARAMS_H

#include <math.h>

/* From the row's min lo ≤ 0 and max hi ≥ 0 (already widened to include 0): the scale, and the
 * zero point as a float in [0, 255]. */
static inline float ds2_qgemm_row_scale(float lo, float hi, float *inv, float *zero)
{
    float scale = hi / 255.0f - lo / 255.0f; /* two divisions: no overflow for huge ranges */
    if (!(scale > 0.0f) || !isfinite(scale))
        scale = 1.0f; /* all zero (or unusable) row: every q is 0 */
    *inv = 1.0f / scale;
    *zero = fminf(fmaxf(rintf(-lo * *inv), 0.0f), 255.0f);
    return scale;
}

/* min/max over x[0..k) starting from 0; comparisons skip NaN like the SIMD operand order. */
static inline void ds2_qgemm_row_range(const float *x, int k, float *lo, float *hi)
{
    float l = 0.0f, h = 0.0f;
    for (int j = 0; j < k; j++) {
        l = x[j] < l ? x[j] : l;
        h = x[j] > h ? x[j] : h;
    }
    *lo = l;
    *hi = h;
}

/* The centred integer of one value: rint(clamp(x·inv, −zero, 255 − zero)); max first maps NaN
 * to −zero. */
static inline float ds2_qgemm_quantize_one(float x, float inv, float zero)
{
    return rintf(fminf(fmaxf(x * inv, -zero), 255.0f - zero));
}

#endif
