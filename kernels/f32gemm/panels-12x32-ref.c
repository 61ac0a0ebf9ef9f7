/* Scalar reference of the panel microkernel (panels.h): one fmaf chain per output, k ascending. */
#include <math.h>

#include "f32gemm/panels.h"

void ds2_f32gemm_panel_ukernel_12x32__ref(int mr, int np, int c0, int c1, int k, const float *x,
                                          size_t ldx, const float *panels, float *y, size_t ldy,
                                          int accumulate)
{
    (void)np; /* the tile's width changes the SIMD kernel's register use, not the arithmetic */
    const int NR = DS2_F32GEMM_PANEL_NR;
    for (int i = 0; i < mr; i++)
        for (int j = c0; j < c1; j++) {
            const float *panel = panels + (size_t)(j / NR) * k * NR;
            float v = 0.0f;
            for (int t = 0; t < k; t++)
                v = fmaf(x[(size_t)i * ldx + t], panel[(size_t)t * NR + j % NR], v);
            float *out = y + (size_t)i * ldy + j;
            *out = accumulate ? *out + v : v;
        }
}
