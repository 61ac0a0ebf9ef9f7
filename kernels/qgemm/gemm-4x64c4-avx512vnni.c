/*
 * 4x64c4 AVX-512 VNNI microkernel: uint8 activations × int8 weights with vpdpbusd, which sums
 * four u8·s8 products into each int32 lane without the int16 saturation of vpmaddubsw, so the
 * full 8-bit activation range is kept (no reduce_range) and the result is exact. A tile is up to
 * 4 rows × 4 column blocks (64 columns): 16 independent accumulators cover vpdpbusd's latency,
 * and each k quad costs 4 weight loads + 4 broadcasts for 16 vpdpbusd (64 MAC each).
 * Smaller tiles (the edges of a product) get their own instantiation.
 */
#include <immintrin.h>

#include "qgemm/epilogue-avx512.h"

/* ROWS and NB are constants at every call site, so the guards fold and the accumulator array
 * lives in registers. */
static inline __attribute__((always_inline)) void tile(const int ROWS, const int NB, int kp,
                                                       const uint8_t *a, size_t lda,
                                                       const int8_t *w, float *y, size_t ldy,
                                                       int32_t *acc, const ds2_qgemm_params *p)
{
    const size_t ws = NB > 1 ? p->w_block_stride : 0;
    const int8_t *w0 = w, *w1 = w + ws, *w2 = w + 2 * ws, *w3 = w + 3 * ws;
    const uint8_t *a0 = a, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
    __m512i c00 = _mm512_setzero_si512(), c01 = c00, c02 = c00, c03 = c00;
    __m512i c10 = c00, c11 = c00, c12 = c00, c13 = c00;
    __m512i c20 = c00, c21 = c00, c22 = c00, c23 = c00;
    __m512i c30 = c00, c31 = c00, c32 = c00, c33 = c00;
#define DS2_ROW(R)                                                                                 \
    if (ROWS > R) {                                                                                \
        const __m512i x = ds2_qgemm_bcast4_avx512(a##R + k);                                       \
        c##R##0 = _mm512_dpbusd_epi32(c##R##0, x, v0);                                             \
        if (NB > 1)                                                                                \
            c##R##1 = _mm512_dpbusd_epi32(c##R##1, x, v1);                                         \
        if (NB > 2)                                                                                \
            c##R##2 = _mm512_dpbusd_epi32(c##R##2, x, v2);                                         \
        if (NB > 3)                                                                                \
            c##R##3 = _mm512_dpbusd_epi32(c##R##3, x, v3);                                         \
    }
#pragma GCC unroll 1
    for (int k = 0; k < kp; k += 4) {
        const size_t off = (size_t)k * DS2_QGEMM_NR;
        const __m512i v0 = _mm512_loadu_si512(w0 + off);
        const __m512i v1 = NB > 1 ? _mm512_loadu_si512(w1 + off) : v0;
        const __m512i v2 = NB > 2 ? _mm512_loadu_si512(w2 + off) : v0;
        const __m512i v3 = NB > 3 ? _mm512_loadu_si512(w3 + off) : v0;
        DS2_ROW(0)
        DS2_ROW(1)
        DS2_ROW(2)
        DS2_ROW(3)
    }
#undef DS2_ROW
    const int acc_ld = NB * DS2_QGEMM_NR;
#define DS2_STORE(R)                                                                               \
    if (ROWS > R) {                                                                                \
        float *yr = y + (size_t)R * ldy;                                                           \
        ds2_qgemm_store_block_avx512(c##R##0, R, 0, yr, acc, acc_ld, p);                           \
        if (NB > 1)                                                                                \
            ds2_qgemm_store_block_avx512(c##R##1, R, 1, yr, acc, acc_ld, p);                       \
        if (NB > 2)                                                                                \
            ds2_qgemm_store_block_avx512(c##R##2, R, 2, yr, acc, acc_ld, p);                       \
        if (NB > 3)                                                                                \
            ds2_qgemm_store_block_avx512(c##R##3, R, 3, yr, acc, acc_ld, p);                       \
    }
    DS2_STORE(0)
    DS2_STORE(1)
    DS2_STORE(2)
    DS2_STORE(3)
#undef DS2_STORE
}

#define DS2_ROWS_CASE(R)                                                                           \
    switch (nb) {                                                                                  \
    case 1:                                                                                        \
        tile(R, 1, kp, a, lda, w, y, ldy, acc, p);                                                 \
        break;                                                                                     \
    case 2:                                                                                        \
        tile(R, 2, kp, a, lda, w, y, ldy, acc, p);                                                 \
        break;                                                                                     \
    case 3:                                                                                        \
        tile(R, 3, kp, a, lda, w, y, ldy, acc, p);                                                 \
        break;                                                                                     \
    default:                                                                                       \
        tile(R, 4, kp, a, lda, w, y, ldy, acc, p);                                                 \
        break;                                                                                     \
    }

void ds2_qgemm_gemm_ukernel_4x64c4__avx512vnni(int mr, int kp, const void *act, size_t lda,
                                               const int8_t *w, float *y, size_t ldy, int32_t *acc,
                                               const ds2_qgemm_params *p)
{
    const uint8_t *a = act;
    const int nb = p->n_blocks > 1 ? p->n_blocks : 1;
    switch (mr) {
    case 1:
        DS2_ROWS_CASE(1);
        break;
    case 2:
        DS2_ROWS_CASE(2);
        break;
    case 3:
        DS2_ROWS_CASE(3);
        break;
    default:
        DS2_ROWS_CASE(4);
        break;
    }
}
