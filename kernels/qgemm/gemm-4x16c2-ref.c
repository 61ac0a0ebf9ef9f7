/* Scalar reference of the 4x16c2 microkernel (and the fallback on CPUs without AVX2). */
#include <string.h>

#include "qgemm/ukernels.h"

void ds2_qgemm_gemm_ukernel_4x16c2__ref(int mr, int kp, const void *a_, size_t lda, const int8_t *w,
                                        float *y, size_t ldy, int32_t *acc,
                                        const ds2_qgemm_params *p)
{
    const int16_t *a = a_;
    int32_t c[DS2_QGEMM_MR][DS2_QGEMM_NR];
    memset(c, 0, sizeof c);
    for (int k = 0; k < kp; k += 2, w += 2 * DS2_QGEMM_NR)
        for (int i = 0; i < mr; i++) {
            const int16_t *ai = a + (size_t)i * lda + k;
            for (int j = 0; j < DS2_QGEMM_NR; j++)
                c[i][j] += ai[0] * w[2 * j] + ai[1] * w[2 * j + 1];
        }
    for (int i = 0; i < mr; i++) {
        if (acc) {
            memcpy(acc + (size_t)i * DS2_QGEMM_NR, c[i], sizeof c[i]);
            continue;
        }
        float *yi = y + (size_t)i * ldy;
        for (int j = 0; j < p->n_count; j++) {
            const int col = p->n_first + j;
            const float v =
                ds2_qgemm_dequant(c[i][col], p->a_scale[i], p->w_scale[col], p->bias[col]);
            yi[j] = p->accumulate ? yi[j] + v : v;
        }
    }
}
