/*
 * Shared pieces of the CPU backend (rows cpu-fp32 and cpu-int8 of the backend table). Both
 * precisions run the same forward (forward.c: conv stack, RNN stack, lookahead, FC + softmax);
 * they differ only in the "linear" step y (+)= x W^T used for the RNN input/recurrent products
 * and the FC, supplied as a cpu_linear_i.
 */
#ifndef DS2_CPU_INTERNAL_H
#define DS2_CPU_INTERNAL_H

#include <stddef.h>

#include "base/backend.h"
#include "format/net.h"
#include "cpu/threadpool.h"

typedef struct cpu_session cpu_session;
typedef struct cpu_worker cpu_worker;

/* x prepared for frame products computed a column slice at a time (cpu_linear_i.frames_*). */
typedef struct cpu_frames {
    const float *x;
    int rows, k, ldx;
    const void *impl; /* int8: the quantized rows (in the worker's scratch) */
} cpu_frames;

typedef struct cpu_linear_i {
    const char *name;
    /* Once per model: turn a weight matrix into this implementation's form, one layout for the
     * frame products (apply, frames_cols) and the recurrent step (step_cols). */
    ds2_status (*pack)(const ds2_matrix *m, void **packed, ds2_err *err);
    void (*unpack)(void *packed);
    /* 1 when packed keeps no pointer into the original matrix (the backend then lets the model
     * file drop those pages from memory). */
    int (*copied)(const void *packed);
    /* 1 when apply computes every row on its own (int8: each row quantized by itself, exact
     * integer products; fp32 panels: one fma chain per output), so one call over a whole batch
     * gives each row what a call of its utterance alone would. 0 (fp32 through OpenBLAS): its
     * blocking over rows can change a row's rounding with the row count (its Haswell kernels
     * do), so cpu_linear_frames calls apply once per utterance. */
    int (*rows_independent)(const void *packed);
    /* y[r][0..m.rows) (+)= x[r][0..m.cols) . W^T for r < rows; accumulate 0 overwrites y. */
    ds2_status (*apply)(cpu_worker *s, const void *packed, int rows, const float *x, int ldx,
                        float *y, int ldy, int accumulate, ds2_err *err);
    /* The recurrent step split by output columns over threads
     * that each own a step context (rnn_split.c). step_new makes one for products with up to
     * max_rows rows of k columns; step_input takes the step's x [rows][k] (the same on every
     * thread: each quantizes it itself, no hand-off); step_cols then adds x·W^T into
     * y[r][n0..n1) (+ when accumulate), walking the columns backwards when reverse (same
     * bits). Threads with their own contexts may call step_* concurrently. */
    void *(*step_new)(int max_rows, int k);
    void (*step_free)(void *step);
    int (*step_input)(void *step, const float *x, int rows, int ldx);
    int (*step_cols)(void *step, const void *packed, float *y, int ldy, int n0, int n1,
                     int accumulate, int reverse);
    /* Frame products inside the recurrence (rnn_split.c), for matrices where rows_independent:
     * frames_input prepares x [rows][k] once (int8: quantizes every row into the worker's
     * scratch, valid until the worker's next apply or frames_input); frames_cols then sets
     * y[r - r0][n0..n1) (+)= x[r]·Wᵀ for r0 <= r < r1, from any thread, for disjoint column
     * ranges (returns 0, or -1 on bad arguments). */
    ds2_status (*frames_input)(cpu_worker *s, const float *x, int rows, int k, int ldx,
                               cpu_frames *f, ds2_err *err);
    int (*frames_cols)(const cpu_frames *f, const void *packed, float *y, int ldy, int r0, int r1,
                       int n0, int n1, int accumulate);
    /* Bytes of the packed matrix: what one step over all its columns streams (rnn_layer.c
     * runs both directions at once when a direction's W_hh stays in a core's L2). */
    size_t (*bytes)(const void *packed);
} cpu_linear_i;

extern const cpu_linear_i cpu_linear_fp32;
/* The linear step over time-major rows t·B + r of utterances sorted by length (len[r] frames,
 * descending): y[t·B + r] += x[t·B + r]·Wᵀ for t < len[r] (padding rows: undefined after).
 * Each utterance's rows come out as if it ran alone: results do not depend on the batch. */
extern const cpu_linear_i cpu_linear_int8;

/* Immutable per-model data (the backend's model_data). */
typedef struct cpu_model {
    ds2_net net; /* copy of the description; weights still point into the model file */
    const cpu_linear_i *lin;
    void **w_ih, **w_hh; /* [layers * directions], packed */
    float **bias_x;      /* [layers * directions][G*H]: b_ih + b_hh (LSTM, tanh) or b_ih (GRU) */
    void *fc;
    float *lookahead_t; /* [context][H]: lookahead weights transposed, NULL if bidirectional */
    float *conv_wt[DS2_MAX_CONV]; /* [k_time][c_out][c_in * k_freq] for stride-1-in-time convs */
    /* [k_time][k_freq][c_out] for one-input-channel convs run by the direct kernel
     * (kernels/conv/direct1.h), NULL where the CPU has no version that beats im2col + sgemm */
    float *conv_w1[DS2_MAX_CONV];
    /* [k_time][c_in * k_freq][c_out] for stride-1-in-time convs run by the shifted-taps kernel
     * (kernels/conv/taps.h); such a layer then has no conv_wt */
    float *conv_wk[DS2_MAX_CONV];
    /* int8 convs (conv_int8.c), int8 models only: per layer conv_q_taps packed qgemm weight
     * matrices — one per time tap (stride 1 in time) or one for the whole patch. */
    void **conv_q[DS2_MAX_CONV];
    int conv_q_taps[DS2_MAX_CONV];
} cpu_model;

/* A float buffer grown on demand and reused across calls (buf.c). */
typedef struct cpu_buf {
    float *p;
    size_t n;
} cpu_buf;

ds2_status cpu_buf_reserve(cpu_buf *b, size_t n, const char *what, ds2_err *err);
void cpu_buf_free(cpu_buf *b);

/* What the linear step works with: the session's pool, the recurrent state buffers and the
 * linear implementation's scratch. */
struct cpu_worker {
    ds2_threadpool *pool; /* NULL: single-threaded */
    cpu_buf hs, cs, hg;   /* RNN state h, LSTM cell c [B][H]; GRU hidden gates [B][G*H] */
    /* scratch owned by the linear implementation (int8: quantized activations) */
    void *lin_scratch;
    void (*lin_scratch_free)(void *);
};

struct cpu_session {
    const cpu_model *m;
    int n_threads;
    cpu_worker w;
    /* conv stack, one utterance at a time; im2col tiles hold about conv_col_bytes */
    size_t conv_col_bytes;
    cpu_buf conv_in, conv_a, conv_b, col;
    int conv_int8;            /* run the convs after the first in int8 (int8 models only) */
    cpu_buf conv_qin, conv_y; /* int8 convs: quantized layer input; GEMM output [pos][c_out] */
    /* RNN stack, [T][B][*] rows in length-sorted order */
    cpu_buf x0, ya, yb, proj, logits;
    cpu_buf y_back; /* [T][B][H]: the backward direction's h while both directions run at once */
    int *perm, *len_sorted, *n_active; /* [batch], [batch], [frames] */
    float **state_rows;                /* [batch] */
    int cap_batch, cap_frames;
};

/* C (= or += by beta 0/1) A·B (B [k][n]) or A·Bᵀ (trans_b, B [n][k]), row-major, split over the
 * worker's pool in fixed column blocks with OpenBLAS single-threaded (blas.c): bit-identical
 * for any thread count (OpenBLAS itself single-threaded: base/blas_threads.h). */
void cpu_sgemm(cpu_worker *w, int trans_b, int m, int n, int k, const float *a, int lda,
               const float *b, int ldb, float beta, float *c, int ldc);

/* The backend's forward entry point (forward.c). */
ds2_status cpu_forward(void *session_data, ds2_forward_batch *batch, ds2_err *err);

/* Per-model conv weight layouts (cpu_model.conv_wt; conv_stack.c); unpack is safe on a partial
 * pack. */
ds2_status cpu_conv_pack(cpu_model *m, ds2_err *err);
void cpu_conv_unpack(cpu_model *m);

/* int8 convs (conv_int8.c): pack every layer's weights after the first (cpu_model.conv_q) / free
 * them; run layer l on one utterance's input [c][t][f] (contiguous, t_valid frames) into
 * out [c_out][n_out][f_out] after bias and Hardtanh(0, 20). */
ds2_status cpu_conv_int8_pack(cpu_model *m, ds2_err *err);
void cpu_conv_int8_unpack(cpu_model *m);
ds2_status cpu_conv_int8_layer(cpu_session *s, int l, const float *in, int t_valid, int n_out,
                               float *out, ds2_err *err);

/* Conv stack for one utterance (MaskConv semantics), written to x0[t][row][c*F + f] for
 * t < out_len and zeros for out_len <= t < t_rows; x0 row stride between frames: batch * K. */
ds2_status cpu_conv_utterance(cpu_session *s, const float *features, int t_max, int length,
                              int out_len, float *x0, int row, int batch, int t_rows, ds2_err *err);

/* The linear step over time-major rows t·B + r of utterances sorted by length (len[r] frames,
 * descending): y[t·B + r] += x[t·B + r]·Wᵀ for t < len[r] (padding rows: undefined after).
 * Each utterance's rows come out as if it ran alone: results do not depend on the batch. */
ds2_status cpu_linear_frames(cpu_session *s, const void *packed, const float *x, int ldx, float *y,
                             int ldy, int T, int B, const int *len, ds2_err *err);

/* One RNN layer (rnn_layer.c) over x[T][B][K] -> y[T][B][H] (directions summed; rows past len
 * zero). Rows are sorted by length, descending; n_active[t] = rows with length > t. state[r] points
 * at row r's carried state for this layer (NULL array: zero initial state, final state dropped). */
ds2_status cpu_rnn_layer(cpu_session *s, int layer, const float *x, int K, float *y, int T, int B,
                         const int *n_active, float *const *state, ds2_err *err);

/* The recurrence of direction d of one layer with every pool thread on every step, each owning
 * a slice of the hidden units (and so of W_hh), for lin->step_* implementations (rnn_split.c).
 * Adds h into y [T][B][H]; state as for cpu_rnn_layer. Bit-identical for any thread count.
 * frames NULL: proj [T][B][GH] holds every frame's input projection (bias included). Else proj
 * is room for `chunk` frames, and each thread projects frames (lin->frames_cols on W_ih) for
 * its own columns, chunk frames ahead of its steps, so they are read back from its cache. */
ds2_status cpu_rnn_recur_split(cpu_session *s, int layer, int d, float *proj, float *y, int T,
                               int B, const int *n_active, float *const *state,
                               const cpu_frames *frames, int chunk, ds2_err *err);

/* Both directions of a layer at once (rnn_split.c), each on its own part of the pool's threads
 * (P >= 2): thread group d runs direction d as cpu_rnn_recur_split would, into proj[d] (room for
 * `chunk` frames, or every frame's projections when frames is NULL) and y[d]. One barrier per
 * step between the threads of a direction, none between directions; with P = 2 none at all. The
 * bits equal cpu_rnn_recur_split's: each unit's arithmetic is the same. */
ds2_status cpu_rnn_recur_dirs(cpu_session *s, int layer, float *const proj[2], float *const y[2],
                              int T, int B, const int *n_active, float *const *state,
                              const cpu_frames *frames, int chunk, ds2_err *err);

#endif
