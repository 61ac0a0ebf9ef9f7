/* Shared tail of the AVX-512 (VNNI) qgemm microkernels: one row × one 16-column block of int32
 * sums Σ q·w → zero-point correction (− z·colsum) → the fused dequantize/bias/accumulate epilogue
 * of ds2_qgemm_dequant (same operations and order, no FMA). */
#ifndef DS2_QGEMM_EPILOGUE_AVX512_H
#define DS2_QGEMM_EPILOGUE_AVX512_H

#include <immintrin.h>

#include "qgemm/ukernels.h"

/* Row i, block b of the call: c holds Σ_k q·w for its 16 columns; y points at row i's first
 * column of the call (block 0, column n_first); acc (exact tests) has row stride acc_ld. */
static inline void ds2_qgemm_store_block_avx512(__m512i c, int i, int b, float *y, int32_t *acc,
                                                int acc_ld, const ds2_qgemm_params *p)
{
    const int col0 = b * DS2_QGEMM_NR;
    /* vpmulld/vpsubd wrap like ds2_qgemm_zero_correct: exact when the true sum fits int32. */
    c = _mm512_sub_epi32(c, _mm512_mullo_epi32(_mm512_set1_epi32(p->a_zero[i]),
                                               _mm512_loadu_si512(p->colsum + col0)));
    if (acc) {
        _mm512_storeu_si512(acc + (size_t)i * acc_ld + col0, c);
        return;
    }
    const __m512 s =
        _mm512_mul_ps(_mm512_set1_ps(p->a_scale[i]), _mm512_loadu_ps(p->w_scale + col0));
    __m512 v =
        _mm512_add_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(c), s), _mm512_loadu_ps(p->bias + col0));
    if (p->n_first == 0 && (p->n_count == DS2_QGEMM_NR || p->n_blocks > 1)) {
        float *yb = y + col0;
        if (p->accumulate)
            v = _mm512_add_ps(_mm512_loadu_ps(yb), v);
        _mm512_storeu_ps(yb, v);
        return;
    }
    /* Partial block (only ever a call's single block): only the requested columns may be
     * written, other threads own the rest. */
    float t[DS2_QGEMM_NR];
    _mm512_storeu_ps(t, v);
    for (int j = 0; j < p->n_count; j++)
        y[j] = p->accumulate ? y[j] + t[p->n_first + j] : t[p->n_first + j];
}

static inline __m512i ds2_qgemm_bcast4_avx512(const uint8_t *a)
{
    int32_t v;
    __builtin_memcpy(&v, a, sizeof v);
    return _mm512_set1_epi32(v);
}

#endif
