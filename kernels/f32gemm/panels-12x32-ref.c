/* Scalar reference of the panel microkernel (panels.h): one fmaf chain per output, k ascending. */
#include <math.h>

#include "f32gemm/panels.h"

void ds2_f32gemm_panel_ukernel_12x32__ref(int mr, int c0, int c1, int k, const float *x, size_t ldx,
                                          const float *panel, float *y, size_t ldy, int accumulate)
{
    for (int i = 0; i < mr; i++)
        for (int j = c0; j < c1; j++) {
            float v = 0.0f;
            for (int t = 0; t < k; t++)
                v = fmaf(x[(size_t)i * ldx + t], panel[(size_t)t * DS2_F32GEMM_PANEL_NR + j], v);
            float *out = y + (size_t)i * ldy + j;
            *out = accumulate ? *out + v : v;
        }
}
