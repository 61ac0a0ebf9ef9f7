/*
 * Dynamically quantized int8 linear layers: y = dequant(quant(X) · quant(W)ᵀ) + bias.
 *
 * Weights: int8, symmetric, one scale per output row n (w[n][k] ≈ q[n][k]·s[n]), packed once.
 * Activations: quantized on every call, one asymmetric uint8 scale/zero point per ROW of X
 * (so an utterance's result never depends on what else is in the batch), stored as the chosen
 * kernel set needs (centred int16 for vpmaddwd, uint8 + zero point for VNNI vpdpbusd).
 * See kernels/qgemm/README.md for the scheme, its error bounds and why.
 *
 * Threading: ds2_qgemm_weights is immutable and shareable. Quantize X once per product, then any
 * number of threads may call ds2_qgemm_compute on disjoint column ranges. Column ranges
 * that start at a multiple of DS2_QGEMM_NR are fastest; any range is correct.
 */
#ifndef DS2_QGEMM_H
#define DS2_QGEMM_H

#include <stddef.h>
#include <stdint.h>

/* Output columns per packed block: the natural granularity for splitting column ranges. */
#define DS2_QGEMM_NR 16
/* Largest supported K: keeps K·255·128 inside an int32 accumulator. */
#define DS2_QGEMM_MAX_K 65536

typedef struct ds2_qgemm_weights ds2_qgemm_weights;

/* Packs W [n][k] row-major. Give either w_f32 (quantized per row here) or w_i8 + scale [n]
 * (already quantized, scale ≥ 0 and finite). bias [n] or NULL. Returns NULL on bad arguments
 * (sizes ≤ 0, k > DS2_QGEMM_MAX_K, non-finite values, both or neither source) or OOM. */
ds2_qgemm_weights *ds2_qgemm_weights_pack(int n, int k, const float *w_f32, const int8_t *w_i8,
                                          const float *scale, const float *bias);
void ds2_qgemm_weights_free(ds2_qgemm_weights *w);
size_t ds2_qgemm_weights_bytes(const ds2_qgemm_weights *w);
int ds2_qgemm_weights_n(const ds2_qgemm_weights *w);
int ds2_qgemm_weights_k(const ds2_qgemm_weights *w);
/* The stored int8 weight and row scale (for tests and diagnostics, not for speed). */
int8_t ds2_qgemm_weights_get(const ds2_qgemm_weights *w, int n, int k);
float ds2_qgemm_weights_scale(const ds2_qgemm_weights *w, int n);

/* Quantized X: points into a workspace owned by the caller. The format is the kernel set's
 * (kernels/qgemm/ukernels.h); both hold the same integers q − zero_point. */
typedef enum ds2_qgemm_acts_format {
    DS2_QGEMM_ACTS_S16 = 0, /* q: int16 [m][kp], the quantized value minus the row's zero point */
    DS2_QGEMM_ACTS_U8       /* q: uint8 [m][kp], the quantized value; zero[i] its zero point */
} ds2_qgemm_acts_format;

typedef struct ds2_qgemm_acts {
    int m, k;
    int kp; /* row stride of q: k rounded up to a multiple of 8, zero padded */
    ds2_qgemm_acts_format format;
    const void *q;
    const int32_t *zero; /* [m] zero points, in [0, 255] */
    const float *scale;  /* [m] x[i][j] ≈ (q[i][j] − zero[i])·scale[i] */
} ds2_qgemm_acts;

/* Bytes of workspace for an m×k product (64-byte alignment included); 0 for bad sizes. */
size_t ds2_qgemm_acts_workspace_size(int m, int k);
/* Quantizes X [m][k] (row stride ldx ≥ k) into workspace. Returns 0, or -1 on bad
 * arguments. ds2_qgemm_acts_init + ds2_qgemm_acts_quantize_rows split the same work so that threads
 * can quantize disjoint row ranges. */
int ds2_qgemm_acts_quantize(ds2_qgemm_acts *qa, void *workspace, const float *x, int m, int k,
                            int ldx);
int ds2_qgemm_acts_init(ds2_qgemm_acts *qa, void *workspace, int m, int k);
int ds2_qgemm_acts_quantize_rows(ds2_qgemm_acts *qa, const float *x, int ldx, int m_begin,
                                 int m_end);

/* y[i][j] (= or +=, by accumulate) dequant(Σ_k qa[i][k]·W[j][k]) + bias[j] for all rows i and
 * columns n_begin ≤ j < n_end; y has row stride ldy (≥ n_end when m > 1). Touches no other
 * element of y. Returns 0, or -1 on bad arguments (NULLs, k mismatch, bad range). */
int ds2_qgemm_compute(const ds2_qgemm_weights *w, const ds2_qgemm_acts *qa, float *y, int ldy,
                      int n_begin, int n_end, int accumulate);

/* ds2_qgemm_compute with the column blocks walked from n_end down to n_begin (same results, bit
 * for bit). For a product repeated with the same weights — the recurrent step — alternating the
 * two orders starts each step on the blocks the previous one ended on, which are still in L2:
 * a W_hh larger than L2 is then only partly re-read from L3. */
int ds2_qgemm_compute_reverse(const ds2_qgemm_weights *w, const ds2_qgemm_acts *qa, float *y,
                              int ldy, int n_begin, int n_end, int accumulate);

/* Columns [*n_begin, *n_end) for thread t of n_threads over an n-column product: contiguous,
 * starting at multiples of DS2_QGEMM_NR, balanced to within one block; empty when there
 * are more threads than blocks. */
void ds2_qgemm_thread_range(int n, int n_threads, int t, int *n_begin, int *n_end);

/* The activation format ds2_qgemm_compute expects on this CPU (callers that lay out quantized
 * rows themselves, like the int8 convs' im2col, write this format). */
ds2_qgemm_acts_format ds2_qgemm_acts_preferred_format(void);

/* Plain scalar references (tests): same contract, no packing tricks, no SIMD. */
int ds2_qgemm_compute_ref(const ds2_qgemm_weights *w, const ds2_qgemm_acts *qa, float *y, int ldy,
                          int n_begin, int n_end, int accumulate);
int ds2_qgemm_acts_quantize_ref(ds2_qgemm_acts *qa, void *workspace, const float *x, int m, int k,
                                int ldx);
/* Per-row symmetric weight quantization used by ds2_qgemm_weights_pack: q [n][k], scale [n].
 * Returns -1 on non-finite input. */
int ds2_qgemm_quantize_weights_ref(int n, int k, const float *w, int8_t *q, float *scale);

/* Name of the kernel set chosen for this CPU ("avx512vnni", "avx2", "ref"). */
const char *ds2_qgemm_isa(void);

#endif
