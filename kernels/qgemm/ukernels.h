/*
 * Internal to the qgemm family: packed layouts, microkernel signatures and the dispatch table.
 * Tests and the kernel bench include it to drive each variant directly.
 *
 * Two packed weight layouts, both in column blocks of NR = 16 with K zero padded to kp (a
 * multiple of KR = 8) and N to a multiple of NR (zero weights, scale 0):
 *   C2 (vpmaddwd tiers): block b holds, for each k pair p, 32 bytes
 *      [n0k0 n0k1 n1k0 n1k1 ... n15k0 n15k1], so one 16-byte half widens to the 8 int16 pairs
 *      that vpmaddwd multiplies by a broadcast (x_k, x_k+1).
 *   C4 (VNNI tier): block b holds, for each k quad q, 64 bytes [n0k0..n0k3 n1k0..n1k3 ...
 *      n15k0..n15k3]: one zmm, whose 32-bit lane j vpdpbusd multiplies by a broadcast
 *      (x_k..x_k+3), column j. Σ_k w[n][k] per column (colsum) is stored for the zero point.
 *
 * Two activation formats, with identical integers: S16 stores q − zero_point as int16 (no
 * correction needed); U8 stores q itself as uint8 plus the row's zero point z, and the kernel
 * subtracts z·colsum[n] — Σ_k (q_k − z)·w_nk = Σ_k q_k·w_nk − z·Σ_k w_nk. So every tier computes
 * the same int32 and, with the shared epilogue, the same float bits.
 */
#ifndef DS2_QGEMM_UKERNELS_H
#define DS2_QGEMM_UKERNELS_H

#include "cpuinfo.h"
#include "qgemm/qgemm.h"

#define DS2_QGEMM_MR 4
#define DS2_QGEMM_KR 8
/* Most column blocks one microkernel call covers (the VNNI kernel's 4 × 16 = 64 columns). */
#define DS2_QGEMM_MAX_BLOCKS 4

typedef enum ds2_qgemm_layout { DS2_QGEMM_LAYOUT_C2 = 0, DS2_QGEMM_LAYOUT_C4 } ds2_qgemm_layout;

struct ds2_qgemm_weights {
    int n, k, kp, n_blocks;
    ds2_qgemm_layout layout;
    int8_t *packed;  /* [n_blocks][kp · NR] in `layout` */
    float *scale;    /* [n_blocks·NR] */
    float *bias;     /* [n_blocks·NR], zeros when the layer has none */
    int32_t *colsum; /* [n_blocks·NR] Σ_k q[n][k] (C4 only; NULL for C2) */
    size_t bytes;
    void *mem;
};

/* Epilogue of one tile: y = (float)acc · (a_scale[i]·w_scale[j]) + bias[j] (+ y when
 * accumulate), for block columns n_first ≤ j < n_first + n_count. With n_blocks > 1 (only whole
 * blocks: n_first 0, n_count NR·n_blocks) the call covers consecutive blocks, w_block_stride
 * bytes apart in w, and consecutive columns of y. */
typedef struct ds2_qgemm_params {
    const float *a_scale;  /* [mr] */
    const float *w_scale;  /* [NR·n_blocks] of these blocks */
    const float *bias;     /* [NR·n_blocks] */
    const int32_t *a_zero; /* [mr] (U8 kernels) */
    const int32_t *colsum; /* [NR·n_blocks] (U8 kernels) */
    int n_first, n_count;
    int accumulate;
    int n_blocks;          /* 1..the kernel set's max_blocks; 0 counts as 1 */
    size_t w_block_stride; /* bytes between blocks of w */
} ds2_qgemm_params;

/* One tile: mr (1..MR) rows of activations a (row stride lda ELEMENTS of the kernel's format,
 * kp columns) times p->n_blocks packed weight blocks at w. With acc != NULL it stores the exact
 * int32 sums Σ_k (q − z)·w as acc[i][0 .. NR·n_blocks) instead of running the epilogue (exact
 * tests; p still gives n_blocks and, for U8, a_zero/colsum). Otherwise y points at row 0, block
 * column n_first, row stride ldy. */
typedef void (*ds2_qgemm_ukernel_fn)(int mr, int kp, const void *a, size_t lda, const int8_t *w,
                                     float *y, size_t ldy, int32_t *acc, const ds2_qgemm_params *p);

/* Quantizes one row: x [k] -> q [kp] (zero padded) in the kernel's format, *zero = the row's
 * zero point; returns the row scale. */
typedef float (*ds2_qgemm_quantize_ukernel_fn)(const float *x, int k, int kp, void *q,
                                               int32_t *zero);

typedef struct ds2_qgemm_kernels {
    const char *isa;
    ds2_isa tier;
    ds2_qgemm_layout layout;
    ds2_qgemm_acts_format format;
    int max_blocks;            /* blocks per gemm/gemv call */
    ds2_qgemm_ukernel_fn gemm; /* mr 1..MR */
    ds2_qgemm_ukernel_fn gemv; /* mr == 1 */
    /* optional: row tiles, mr a multiple of 16 or below 16 (AMX); the rest of a product's rows
     * go to gemm. Same contract and results as gemm. */
    ds2_qgemm_ukernel_fn gemm_tiles;
    ds2_qgemm_quantize_ukernel_fn quantize;
} ds2_qgemm_kernels;

/* C2 layout, S16 activations. */
void ds2_qgemm_gemm_ukernel_4x16c2__ref(int mr, int kp, const void *a, size_t lda, const int8_t *w,
                                        float *y, size_t ldy, int32_t *acc,
                                        const ds2_qgemm_params *p);
void ds2_qgemm_gemm_ukernel_4x16c2__avx2(int mr, int kp, const void *a, size_t lda, const int8_t *w,
                                         float *y, size_t ldy, int32_t *acc,
                                         const ds2_qgemm_params *p);
void ds2_qgemm_gemv_ukernel_1x16c2__avx2(int mr, int kp, const void *a, size_t lda, const int8_t *w,
                                         float *y, size_t ldy, int32_t *acc,
                                         const ds2_qgemm_params *p);
float ds2_qgemm_quantize_s16_ukernel__ref(const float *x, int k, int kp, void *q, int32_t *zero);
float ds2_qgemm_quantize_s16_ukernel__avx2(const float *x, int k, int kp, void *q, int32_t *zero);

/* C4 layout, U8 activations. */
void ds2_qgemm_gemm_ukernel_4x16c4__ref(int mr, int kp, const void *a, size_t lda, const int8_t *w,
                                        float *y, size_t ldy, int32_t *acc,
                                        const ds2_qgemm_params *p);
void ds2_qgemm_gemm_ukernel_4x64c4__avx512vnni(int mr, int kp, const void *a, size_t lda,
                                               const int8_t *w, float *y, size_t ldy, int32_t *acc,
                                               const ds2_qgemm_params *p);
void ds2_qgemm_gemv_ukernel_1x64c4__avx512vnni(int mr, int kp, const void *a, size_t lda,
                                               const int8_t *w, float *y, size_t ldy, int32_t *acc,
                                               const ds2_qgemm_params *p);
void ds2_qgemm_gemm_ukernel_32x32c4__amx(int mr, int kp, const void *a, size_t lda, const int8_t *w,
                                         float *y, size_t ldy, int32_t *acc,
                                         const ds2_qgemm_params *p);
float ds2_qgemm_quantize_u8_ukernel__ref(const float *x, int k, int kp, void *q, int32_t *zero);
float ds2_qgemm_quantize_u8_ukernel__avx2(const float *x, int k, int kp, void *q, int32_t *zero);

/* One row of per-row symmetric int8 weights: q [k], *scale; -1 on a non-finite value. The ref is
 * ds2_qgemm_quantize_weights_ref with n = 1. */
int ds2_qgemm_quantize_weights_ukernel__avx2(int k, const float *w, int8_t *q, float *scale);

/* The scalar epilogue of one value, shared by the reference paths so they agree bit for bit
 * with the SIMD ones (same operations, same order, no FMA). */
static inline float ds2_qgemm_dequant(int32_t acc, float a_scale, float w_scale, float bias)
{
    return (float)acc * (a_scale * w_scale) + bias;
}

/* Σ q·w − z·colsum in wrapping int32 arithmetic: exact whenever the true sum fits int32
 * (guaranteed by DS2_QGEMM_MAX_K), though the two terms alone may not. */
static inline int32_t ds2_qgemm_zero_correct(int32_t acc, int32_t zero, int32_t colsum)
{
    return (int32_t)((uint32_t)acc - (uint32_t)zero * (uint32_t)colsum);
}

/* Kernel sets. ref (C2/S16) is the reference and the fallback; ref-c4 is the scalar
 * definition of the VNNI tier's layout and format. *_for returns NULL when the CPU (or a
 * DS2_ISA cap) lacks the tier. ds2_qgemm_kernel_sets lists every set usable here, ref first. */
const ds2_qgemm_kernels *ds2_qgemm_kernels_ref(void);
const ds2_qgemm_kernels *ds2_qgemm_kernels_ref_c4(void);
const ds2_qgemm_kernels *ds2_qgemm_kernels_for(ds2_isa tier);
const ds2_qgemm_kernels *ds2_qgemm_kernels_best(void);
int ds2_qgemm_kernel_sets(const ds2_qgemm_kernels **sets, int max);

/* ds2_qgemm_weights_pack / ds2_qgemm_compute / ds2_qgemm_acts_quantize for one kernel set. The
 * weights and activations must be in that set's layout and format (-1 / NULL otherwise). */
ds2_qgemm_weights *ds2_qgemm_weights_pack_with(const ds2_qgemm_kernels *kt, int n, int k,
                                               const float *w_f32, const int8_t *w_i8,
                                               const float *scale, const float *bias);
int ds2_qgemm_compute_with(const ds2_qgemm_kernels *kt, const ds2_qgemm_weights *w,
                           const ds2_qgemm_acts *qa, float *y, int ldy, int n_begin, int n_end,
                           int accumulate);
int ds2_qgemm_acts_quantize_with(const ds2_qgemm_kernels *kt, ds2_qgemm_acts *qa, void *workspace,
                                 const float *x, int m, int k, int ldx);

#endif
