/*
 * f32gemm: y (= or +=) X·Wᵀ for the fp32 recurrent step below AVX-512 (AVX-512 CPUs run the
 * step on panels.h's wide tiles) — few rows of X (the active batch),
 * W row-major as the model file stores it (the gate rows of W_hh that one thread owns). OpenBLAS
 * packs W into its own layout on every call, which at one step per frame cost more than the
 * product (45 % of a batch-8 forward); these kernels read W in place, each output a dot product.
 *
 * Every output is computed in one fixed order, the same in the scalar reference and the SIMD
 * tiers: 16 lane sums over k ≡ lane (mod 16), each a chain of fmaf in increasing k, then the
 * pairwise tree s8[i] = p[i] + p[i+8], s4 = s8[i] + s8[i+4], s2, s1. So the tiers agree bit for
 * bit, and no split of rows or outputs over threads changes a result.
 */
#ifndef DS2_KERNELS_F32GEMM_H
#define DS2_KERNELS_F32GEMM_H

#include <stddef.h>

/* y[i][j] (= or + by accumulate) Σ_k x[i][k]·w[j][k], i < m, j < n. */
typedef void (*ds2_f32gemm_nt_fn)(int m, int n, int k, const float *x, size_t ldx, const float *w,
                                  size_t ldw, float *y, size_t ldy, int accumulate);

void ds2_f32gemm_gemm_nt_ukernel__ref(int m, int n, int k, const float *x, size_t ldx,
                                      const float *w, size_t ldw, float *y, size_t ldy,
                                      int accumulate);
void ds2_f32gemm_gemm_nt_ukernel_2x3__avx2(int m, int n, int k, const float *x, size_t ldx,
                                           const float *w, size_t ldw, float *y, size_t ldy,
                                           int accumulate);

/* The best kernel this CPU runs (kernels/cpuinfo.c), chosen once; "ref" or "avx2" (AVX-512 CPUs
 * get the AVX2 one: they run the step on the panels, and an AVX-512 dot-product tile, tried,
 * was half as fast per FLOP there). */
ds2_f32gemm_nt_fn ds2_f32gemm_nt_get(void);
const char *ds2_f32gemm_isa(void);

#endif
