/*
 * Internal to the qgemm family: packed layout, microkernel signatures and the dispatch table.
 * Tests and the kernel bench include it to drive each variant directly.
 *
 * Packed weights: columns in blocks of NR = 16; block b holds, for each k pair p,
 * 32 bytes [n0k0 n0k1 n1k0 n1k1 ... n15k0 n15k1] (k = 2p, 2p+1), p = 0..kp/2-1, so one
 * 16-byte half widens to the 8 int16 pairs that vpmaddwd multiplies by a broadcast (x_k, x_k+1).
 * K is zero padded to kp (multiple of KR = 8), N to a multiple of NR (zero weights, scale 0).
 */
#ifndef DS2_QGEMM_UKERNELS_H
#define DS2_QGEMM_UKERNELS_H

#include "qgemm/qgemm.h"

#define DS2_QGEMM_MR 4
#define DS2_QGEMM_KR 8

struct ds2_qgemm_weights {
    int n, k, kp, n_blocks;
    int8_t *packed; /* [n_blocks][kp/2][NR][2] */
    float *scale;   /* [n_blocks·NR] */
    float *bias;    /* [n_blocks·NR], zeros when the layer has none */
    size_t bytes;
    void *mem;
};

/* Epilogue of one tile: y = (float)acc · (a_scale[i]·w_scale[j]) + bias[j] (+ y when
 * accumulate), for block columns n_first ≤ j < n_first + n_count. */
typedef struct ds2_qgemm_params {
    const float *a_scale; /* [mr] */
    const float *w_scale; /* [NR] of this block */
    const float *bias;    /* [NR] of this block */
    int n_first, n_count;
    int accumulate;
} ds2_qgemm_params;

/* One tile: mr (1..MR) rows of centred activations a (row stride lda elements, kp columns)
 * times one packed weight block w. With acc != NULL it stores the raw int32 sums
 * acc[i][0..NR) instead of running the epilogue (exact tests). Otherwise y points at row 0,
 * block column n_first, row stride ldy. */
typedef void (*ds2_qgemm_ukernel_fn)(int mr, int kp, const int16_t *a, size_t lda, const int8_t *w,
                                     float *y, size_t ldy, int32_t *acc, const ds2_qgemm_params *p);

/* Quantizes one row: x [k] -> q [kp] (zero padded), returns the row scale. */
typedef float (*ds2_qgemm_quantize_ukernel_fn)(const float *x, int k, int kp, int16_t *q);

typedef struct ds2_qgemm_kernels {
    const char *isa;
    ds2_qgemm_ukernel_fn gemm; /* mr 1..MR */
    ds2_qgemm_ukernel_fn gemv; /* mr == 1 */
    ds2_qgemm_quantize_ukernel_fn quantize_row;
} ds2_qgemm_kernels;

void ds2_qgemm_gemm_ukernel_4x16c2__ref(int mr, int kp, const int16_t *a, size_t lda,
                                        const int8_t *w, float *y, size_t ldy, int32_t *acc,
                                        const ds2_qgemm_params *p);
void ds2_qgemm_gemm_ukernel_4x16c2__avx2(int mr, int kp, const int16_t *a, size_t lda,
                                         const int8_t *w, float *y, size_t ldy, int32_t *acc,
                                         const ds2_qgemm_params *p);
void ds2_qgemm_gemv_ukernel_1x16c2__avx2(int mr, int kp, const int16_t *a, size_t lda,
                                         const int8_t *w, float *y, size_t ldy, int32_t *acc,
                                         const ds2_qgemm_params *p);
float ds2_qgemm_quantize_ukernel__ref(const float *x, int k, int kp, int16_t *q);
float ds2_qgemm_quantize_ukernel__avx2(const float *x, int k, int kp, int16_t *q);

/* The scalar epilogue of one value, shared by the reference paths so they agree bit for bit
 * with the SIMD ones (same operations, same order, no FMA). */
static inline float ds2_qgemm_dequant(int32_t acc, float a_scale, float w_scale, float bias)
{
    return (float)acc * (a_scale * w_scale) + bias;
}

/* Reference kernels, and the best set this CPU supports (chosen once, pthread_once + cpuid). */
const ds2_qgemm_kernels *ds2_qgemm_kernels_ref(void);
const ds2_qgemm_kernels *ds2_qgemm_kernels_avx2(void); /* NULL when the CPU lacks AVX2+FMA */
const ds2_qgemm_kernels *ds2_qgemm_kernels_best(void);

/* ds2_qgemm_compute / ds2_qgemm_acts_quantize with an explicit kernel set. */
int ds2_qgemm_compute_with(const ds2_qgemm_kernels *kt, const ds2_qgemm_weights *w,
                           const ds2_qgemm_acts *qa, float *y, int ldy, int n_begin, int n_end,
                           int accumulate);
int ds2_qgemm_acts_quantize_with(const ds2_qgemm_kernels *kt, ds2_qgemm_acts *qa, void *workspace,
                                 const float *x, int m, int k, int ldx);

#endif
