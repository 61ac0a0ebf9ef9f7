/* Scalar reference of the one-input-channel direct conv (direct1.h): the summation order every
 * version reproduces, with fmaf for the fused multiply-add. */
#include <math.h>

#include "conv/direct1.h"

void ds2_conv_direct1_ukernel_12x32__ref(const ds2_conv_direct1_geom *g, const float *x,
                                         const float *w, const float *bias, float *out)
{
    for (int co = 0; co < g->c_out; co++)
        for (int f = 0; f < g->f_out; f++) {
            float acc = 0.0f;
            for (int kt = 0; kt < g->k_time; kt++) {
                const float *xt = x + (size_t)kt * g->ld_x + (size_t)f * g->stride_freq;
                const float *wt = w + (size_t)kt * g->k_freq * g->c_out + co;
                for (int kf = 0; kf < g->k_freq; kf++)
                    acc = fmaf(xt[kf], wt[(size_t)kf * g->c_out], acc);
            }
            float v = acc + bias[co];
            v = v < g->lo ? g->lo : v;
            out[co * g->ld_c + f] = v > g->hi ? g->hi : v;
        }
}
