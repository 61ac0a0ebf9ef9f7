/*
 * 1x64c4 AVX-512 VNNI matrix-vector kernel (M = 1: the batch-1 recurrent step). It streams up to
 * four column blocks at once — four far-apart streams feed the cache better than one — and keeps
 * two accumulator sets over alternate k quads so that the vpdpbusd chains do not wait on each
 * other's latency. Bound by how fast the packed weights arrive (L2/L3), not by arithmetic.
 */
#include <immintrin.h>

#include "qgemm/epilogue-avx512.h"

static inline __attribute__((always_inline)) void row(const int NB, int kp, const uint8_t *a,
                                                      const int8_t *w, float *y, int32_t *acc,
                                                      const ds2_qgemm_params *p)
{
    const size_t ws = NB > 1 ? p->w_block_stride : 0;
    const int8_t *w0 = w, *w1 = w + ws, *w2 = w + 2 * ws, *w3 = w + 3 * ws;
    __m512i c0 = _mm512_setzero_si512(), c1 = c0, c2 = c0, c3 = c0;
    __m512i d0 = c0, d1 = c0, d2 = c0, d3 = c0;
    /* kp is a multiple of 8: k quads come in pairs. */
#pragma GCC unroll 1
    for (int k = 0; k < kp; k += 8) {
        const size_t off = (size_t)k * DS2_QGEMM_NR;
        const __m512i x = ds2_qgemm_bcast4_avx512(a + k), z = ds2_qgemm_bcast4_avx512(a + k + 4);
        c0 = _mm512_dpbusd_epi32(c0, x, _mm512_loadu_si512(w0 + off));
        d0 = _mm512_dpbusd_epi32(d0, z, _mm512_loadu_si512(w0 + off + 64));
        if (NB > 1) {
            c1 = _mm512_dpbusd_epi32(c1, x, _mm512_loadu_si512(w1 + off));
            d1 = _mm512_dpbusd_epi32(d1, z, _mm512_loadu_si512(w1 + off + 64));
        }
        if (NB > 2) {
            c2 = _mm512_dpbusd_epi32(c2, x, _mm512_loadu_si512(w2 + off));
            d2 = _mm512_dpbusd_epi32(d2, z, _mm512_loadu_si512(w2 + off + 64));
        }
        if (NB > 3) {
            c3 = _mm512_dpbusd_epi32(c3, x, _mm512_loadu_si512(w3 + off));
            d3 = _mm512_dpbusd_epi32(d3, z, _mm512_loadu_si512(w3 + off + 64));
        }
    }
    const int acc_ld = NB * DS2_QGEMM_NR;
    ds2_qgemm_store_block_avx512(_mm512_add_epi32(c0, d0), 0, 0, y, acc, acc_ld, p);
    if (NB > 1)
        ds2_qgemm_store_block_avx512(_mm512_add_epi32(c1, d1), 0, 1, y, acc, acc_ld, p);
    if (NB > 2)
        ds2_qgemm_store_block_avx512(_mm512_add_epi32(c2, d2), 0, 2, y, acc, acc_ld, p);
    if (NB > 3)
        ds2_qgemm_store_block_avx512(_mm512_add_epi32(c3, d3), 0, 3, y, acc, acc_ld, p);
}

void ds2_qgemm_gemv_ukernel_1x64c4__avx512vnni(int mr, int kp, const void *act, size_t lda,
                                               const int8_t *w, float *y, size_t ldy, int32_t *acc,
                                               const ds2_qgemm_params *p)
{
    (void)mr; /* always 1 */
    (void)lda;
    (void)ldy;
    const uint8_t *a = act;
    switch (p->n_blocks > 1 ? p->n_blocks : 1) {
    case 1:
        row(1, kp, a, w, y, acc, p);
        break;
    case 2:
        row(2, kp, a, w, y, acc, p);
        break;
    case 3:
        row(3, kp, a, w, y, acc, p);
        break;
    default:
        row(4, kp, a, w, y, acc, p);
        break;
    }
}
