/* Scalar reference of the shifted-taps conv pass (taps.h): the summation order every version
 * reproduces, with fmaf for the fused multiply-add. */
#include <math.h>

#include "conv/taps.h"

void ds2_conv_taps_ukernel_12x32__ref(const ds2_conv_taps_geom *g, const float *x, const float *w,
                                      const float *bias, float *out)
{
    for (int co = 0; co < g->c_out; co++)
        for (int p = 0; p < g->n; p++) {
            float acc = 0.0f;
            for (int tap = 0; tap < g->taps; tap++) {
                const float *xr = x + (size_t)(p + tap * g->tap_shift) * g->ld_x;
                const float *wt = w + (size_t)tap * g->k * g->c_out + co;
                for (int r = 0; r < g->k; r++)
                    acc = fmaf(xr[r], wt[(size_t)r * g->c_out], acc);
            }
            float v = acc + bias[co];
            v = v < g->lo ? g->lo : v;
            out[co * g->ld_out + p] = v > g->hi ? g->hi : v;
        }
}
