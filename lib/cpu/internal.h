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

typedef struct cpu_linear_i {
    const char *name;
    int copies_weights; /* pack keeps no pointer into the original matrix */
    /* apply() on a pool-less worker is single-threaded and may run concurrently with another
     * such call: the two directions of a bidirectional layer can then recur on two threads with
     * no synchronisation per step. (Not so for OpenBLAS, whose threads are process-wide.) */
    int concurrent_directions;
    /* Once per model: turn a weight matrix into this implementation's form. */
    ds2_status (*pack)(const ds2_matrix *m, void **packed, ds2_err *err);
    void (*unpack)(void *packed);
    /* y[r][0..m.rows) (+)= x[r][0..m.cols) . W^T for r < rows; accumulate 0 overwrites y. */
    ds2_status (*apply)(cpu_worker *s, const void *packed, int rows, const float *x, int ldx,
                        float *y, int ldy, int accumulate, ds2_err *err);
} cpu_linear_i;

extern const cpu_linear_i cpu_linear_fp32;
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
} cpu_model;

/* A float buffer grown on demand and reused across calls (buf.c). */
typedef struct cpu_buf {
    float *p;
    size_t n;
} cpu_buf;

ds2_status cpu_buf_reserve(cpu_buf *b, size_t n, const char *what, ds2_err *err);
void cpu_buf_free(cpu_buf *b);

/* What one thread of recurrence works with: the session's own (with its pool), or a lane that
 * recurs one direction alone (no pool). The linear step sees only this. */
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
    /* RNN stack, [T][B][*] rows in length-sorted order */
    cpu_buf x0, ya, yb, proj, logits;
    int *perm, *len_sorted, *n_active; /* [batch], [batch], [frames] */
    float **state_rows;                /* [batch] */
    int cap_batch, cap_frames;
    /* Pool-less workers that recur one direction each (concurrent_directions), and the layer
     * output of lane 1 (lane 0 writes the layer's own). */
    cpu_worker lane[2];
    cpu_buf lane_y;
};

/* The backend's forward entry point (forward.c). */
ds2_status cpu_forward(void *session_data, ds2_forward_batch *batch, ds2_err *err);

/* Per-model conv weight layouts (cpu_model.conv_wt; conv_stack.c); unpack is safe on a partial
 * pack. */
ds2_status cpu_conv_pack(cpu_model *m, ds2_err *err);
void cpu_conv_unpack(cpu_model *m);

/* Conv stack for one utterance (MaskConv semantics), written to x0[t][row][c*F + f] for
 * t < out_len and zeros for out_len <= t < t_rows; x0 row stride between frames: batch * K. */
ds2_status cpu_conv_utterance(cpu_session *s, const float *features, int t_max, int length,
                              int out_len, float *x0, int row, int batch, int t_rows, ds2_err *err);

/* One RNN layer (rnn_layer.c) over x[T][B][K] -> y[T][B][H] (directions summed; rows past len
 * zero). Rows are sorted by length, descending; n_active[t] = rows with length > t. state[r] points
 * at row r's carried state for this layer (NULL array: zero initial state, final state dropped). */
ds2_status cpu_rnn_layer(cpu_session *s, int layer, const float *x, int K, float *y, int T, int B,
                         const int *n_active, float *const *state, ds2_err *err);

#endif
