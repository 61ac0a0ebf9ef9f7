/* Scalar reference of the C4 layout with U8 activations: the definition the VNNI microkernels are
 * tested against, with the zero point corrected by the packed column sums. Any n_blocks. */
#include <string.h>

#include "qgemm/ukernels.h"

void ds2_qgemm_gemm_ukernel_4x16c4__ref(int mr, int kp, const void *a, size_t lda, const int8_t *w,
                                        float *y, size_t ldy, int32_t *acc,
                                        const ds2_qgemm_params *p)
{
    const uint8_t *a8 = a;
    const int nb = p && p->n_blocks > 1 ? p->n_blocks : 1;
    const int ncols = nb * DS2_QGEMM_NR;
    for (int b = 0; b < nb; b++) {
        const int8_t *wb = w + (size_t)b * (p && nb > 1 ? p->w_block_stride : 0);
        for (int i = 0; i < mr; i++) {
            int32_t c[DS2_QGEMM_NR];
            memset(c, 0, sizeof c);
            const uint8_t *ai = a8 + (size_t)i * lda;
            for (int k = 0; k < kp; k += 4)
                for (int j = 0; j < DS2_QGEMM_NR; j++)
                    for (int t = 0; t < 4; t++)
                        c[j] += ai[k + t] * wb[(size_t)k * DS2_QGEMM_NR + 4 * j + t];
            for (int j = 0; j < DS2_QGEMM_NR; j++)
                c[j] = ds2_qgemm_zero_correct(c[j], p->a_zero[i], p->colsum[b * DS2_QGEMM_NR + j]);
            if (acc) {
                memcpy(acc + (size_t)i * ncols + b * DS2_QGEMM_NR, c, sizeof c);
                continue;
            }
            float *yi = y + (size_t)i * ldy + b * DS2_QGEMM_NR;
            const int first = nb > 1 ? 0 : p->n_first, count = nb > 1 ? DS2_QGEMM_NR : p->n_count;
            for (int j = 0; j < count; j++) {
                const int col = first + j, at = b * DS2_QGEMM_NR + col;
                const float v =
                    ds2_qgemm_dequant(c[col], p->a_scale[i], p->w_scale[at], p->bias[at]);
                yi[j] = p->accumulate ? yi[j] + v : v;
            }
        }
    }
}
