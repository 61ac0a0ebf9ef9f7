/*
 * f32gemm panels: y (= or +=) X·Wᵀ for the big fp32 products — every frame's RNN input
 * projection and the FC layer — with W packed once, at prepare, into panels of NR = 32 output
 * columns: panel p holds, for each k, the 32 floats W[32p .. 32p + 31][k] (columns past n are
 * zeros). OpenBLAS repacks W on every call, and on AMD Zen 4/5 Debian's OpenBLAS 0.3.21 runs its
 * AVX2 (Haswell) kernels; these panels feed an AVX-512 tile of 12 rows × 32 columns, or AVX2
 * tiles of 6 × 16 (half a panel), directly.
 *
 * Summation order, per output: one chain of fused multiply-adds over k in increasing order,
 * from zero, then + y when accumulating. The scalar reference and the SIMD kernel are
 * bit-identical, and no split of rows or columns (threads, batch composition) changes a result:
 * an utterance gets the same bits in any batch.
 */
#ifndef DS2_KERNELS_F32GEMM_PANELS_H
#define DS2_KERNELS_F32GEMM_PANELS_H

#include <stddef.h>

#define DS2_F32GEMM_PANEL_NR 32 /* output columns per panel */
#define DS2_F32GEMM_PANEL_MR 12 /* rows of X per microkernel tile */

typedef struct ds2_f32gemm_panels {
    int n, k, n_panels;
    float *data; /* [n_panels][k][NR], 64-byte aligned */
} ds2_f32gemm_panels;

/* Packs W [n][k] (row stride ldw ≥ k). NULL on bad sizes or out of memory. */
ds2_f32gemm_panels *ds2_f32gemm_panels_pack(int n, int k, const float *w, size_t ldw);
void ds2_f32gemm_panels_free(ds2_f32gemm_panels *p);
size_t ds2_f32gemm_panels_bytes(const ds2_f32gemm_panels *p);

/* One tile: y[i][j] (+)= Σ_t x[i][t]·W[j][t] for i < mr and c0 ≤ j < c1 over np consecutive
 * packed panels (64-byte aligned, [k][NR] each, panel q's column j at j - q·NR), with
 * 1 ≤ np ≤ 4, 1 ≤ mr, mr·np ≤ MR, 0 ≤ c0 < c1 ≤ np·NR: 12 rows × 32 columns, 6 × 64, 4 × 96 or
 * 3 × 128, the same 24 accumulators. The wide tiles are for few rows (the recurrent step's
 * batch): there a single panel would give each row only 2 FMA chains, too few to hide the FMA
 * latency. y points at the first panel's column 0 of row 0; nothing outside the requested
 * columns is touched (masked stores). Every output is the same single chain in any tile. */
typedef void (*ds2_f32gemm_panel_ukernel_fn)(int mr, int np, int c0, int c1, int k, const float *x,
                                             size_t ldx, const float *panels, float *y, size_t ldy,
                                             int accumulate);

void ds2_f32gemm_panel_ukernel_12x32__ref(int mr, int np, int c0, int c1, int k, const float *x,
                                          size_t ldx, const float *panels, float *y, size_t ldy,
                                          int accumulate);
void ds2_f32gemm_panel_ukernel_6x16__avx2(int mr, int np, int c0, int c1, int k, const float *x,
                                          size_t ldx, const float *panels, float *y, size_t ldy,
                                          int accumulate);
void ds2_f32gemm_panel_ukernel_12x32__avx512(int mr, int np, int c0, int c1, int k, const float *x,
                                             size_t ldx, const float *panels, float *y, size_t ldy,
                                             int accumulate);

/* The microkernel for this CPU (kernels/cpuinfo.c), or NULL without AVX2: callers then keep W
 * unpacked and call sgemm. */
ds2_f32gemm_panel_ukernel_fn ds2_f32gemm_panel_ukernel_get(void);

/* y[i][j] (+)= (X·Wᵀ)[i][j] for rows m_begin ≤ i < m_end of X [·][k] (row stride ldx) and
 * columns n_begin ≤ j < n_end (any range; starts at multiples of NR waste no lanes); y has row
 * stride ldy and nothing else of it is touched. Threads may run disjoint ranges concurrently.
 * The tile shape follows the row count (≤ 3 rows: 4 panels wide, ≤ 6: 2, else 1); the bits do
 * not. Returns 0, or -1 on bad arguments. */
int ds2_f32gemm_panels_compute(ds2_f32gemm_panel_ukernel_fn ukernel, const ds2_f32gemm_panels *p,
                               const float *x, size_t ldx, int m_begin, int m_end, int n_begin,
                               int n_end, float *y, size_t ldy, int accumulate);

#endif
