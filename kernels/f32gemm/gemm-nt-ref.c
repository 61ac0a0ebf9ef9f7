/* Scalar reference of the f32gemm order (f32gemm.h): 16 lane chains of fmaf, then the tree. */
#include <math.h>

#include "f32gemm/f32gemm.h"

static float dot(int k, const float *x, const float *w)
{
    float p[16] = {0};
    for (int t = 0; t < k; t++)
        p[t % 16] = fmaf(x[t], w[t], p[t % 16]);
    float s8[8], s4[4], s2[2];
    for (int i = 0; i < 8; i++)
        s8[i] = p[i] + p[i + 8];
    for (int i = 0; i < 4; i++)
        s4[i] = s8[i] + s8[i + 4];
    for (int i = 0; i < 2; i++)
        s2[i] = s4[i] + s4[i + 2];
    return s2[0] + s2[1];
}

void ds2_f32gemm_gemm_nt_ukernel__ref(int m, int n, int k, const float *x, size_t ldx,
                                      const float *w, size_t ldw, float *y, size_t ldy,
                                      int accumulate)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            const float v = dot(k, x + (size_t)i * ldx, w + (size_t)j * ldw);
            float *out = y + (size_t)i * ldy + j;
            *out = accumulate ? *out + v : v;
        }
}
