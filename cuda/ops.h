/*
 * Device operations of the GPU backend, one family per .cu file. Kernel launchers return the
 * launch's cudaError_t; the layer-level functions return ds2_status with a message naming the
 * failing call. Every pointer here is device memory unless named *_host.
 */
#ifndef DS2_CUDA_OPS_H
#define DS2_CUDA_OPS_H

#include <stddef.h>

#include "check.h"

extern "C" {
#include "format/net.h"
#include "plan.h"
}

#define DS2_CUDA_BLOCK 256

/* Blocks for a grid-stride loop over n elements. */
static inline unsigned ds2_cuda_blocks(size_t n)
{
    size_t g = (n + DS2_CUDA_BLOCK - 1) / DS2_CUDA_BLOCK;
    const size_t cap = (size_t)1 << 20;
    return (unsigned)(g == 0 ? 1 : g < cap ? g : cap);
}

/* ------------------------------------------------------------------ conv.cu */

/* Conv + bias + Hardtanh(0,20) + MaskConv for every utterance: in [batch][c_in][f_in][t_in],
 * out [batch][c_out][f_out][t_out] (frames >= out_len[b] zeroed). When x_out is not NULL the
 * result goes to x_out[t_out][batch][c_out*f_out + f] instead (the RNN input layout), and out
 * is only scratch. col holds col_floats floats of im2col scratch. */
ds2_status ds2_cuda_conv_layer(cublasHandle_t blas, cudaStream_t stream,
                               const ds2_cuda_conv_shape *s, int batch, const float *weight,
                               const float *bias, const int *out_len, const float *in, float *out,
                               float *x_out, float *col, size_t col_floats, ds2_err *err);

/* ------------------------------------------------------------------ rnn.cu */

typedef struct ds2_cuda_rnn_desc {
    ds2_rnn_type type;
    int gates, hidden, directions;
} ds2_cuda_rnn_desc;

/* One RNN layer's weights on the device, both directions stacked. */
typedef struct ds2_cuda_layer {
    int input_size;
    float *w_ih; /* [D*G*H][input_size] */
    float *w_hh; /* [D][G*H][H] */
    float *b_ih; /* [D][G*H] */
    float *b_hh; /* [D][G*H] */
} ds2_cuda_layer;

/* Session buffers the recurrence uses. Their addresses are baked into captured graphs. */
typedef struct ds2_cuda_rnn_bufs {
    float *xp;          /* [T][B][D*G*H] input projections */
    float *hp;          /* [D][B][G*H] recurrent projections of one step */
    float *h, *c;       /* [D][B][H] running state (c: LSTM only) */
    float *y;           /* [T][B][D][H] per-direction outputs */
    const int *out_len; /* [B] */
    int *step;          /* first step of the current chunk */
} ds2_cuda_rnn_bufs;

/* Captures `steps` recurrent steps of layer w (both directions, all rows) for `batch` rows
 * into an executable graph. Steps read their index from bufs->step and advance it. */
ds2_status ds2_cuda_rnn_capture(cublasHandle_t blas, cudaStream_t stream,
                                const ds2_cuda_rnn_desc *d, const ds2_cuda_layer *w,
                                const ds2_cuda_rnn_bufs *bufs, int batch, int steps,
                                cudaGraphExec_t *exec, ds2_err *err);

/* x_in [T][B][I] -> xp = x_in . W_ihᵀ (both directions, one GEMM). */
ds2_status ds2_cuda_rnn_project(cublasHandle_t blas, const ds2_cuda_rnn_desc *d,
                                const ds2_cuda_layer *w, int rows, const float *x_in, float *xp,
                                ds2_err *err);

/* Carried state [B][state_floats] <-> h, c of layer `layer` (see ds2_net_state_floats). */
cudaError_t ds2_cuda_state_load(const ds2_cuda_rnn_desc *d, int layer, int batch, int state_floats,
                                const float *state, float *h, float *c, cudaStream_t stream);
cudaError_t ds2_cuda_state_store(const ds2_cuda_rnn_desc *d, int layer, int batch, int state_floats,
                                 const float *h, const float *c, float *state, cudaStream_t stream);

/* x_out[t][b][j] = sum over directions of y[t][b][d][j] for t < out_len[b], else 0. */
cudaError_t ds2_cuda_rnn_merge(const float *y, const int *out_len, int T, int batch, int hidden,
                               int directions, float *x_out, cudaStream_t stream);

/* ------------------------------------------------------------------ elementwise.cu */

/* out[t][b][j] = Hardtanh(0,20)(sum_k x[t+k][b][j] * w[j][k]) over t+k < out_len[b]; rows
 * t >= out_len[b] are 0. */
cudaError_t ds2_cuda_lookahead(const float *x, const float *w, const int *out_len, int T, int batch,
                               int hidden, int context, float *out, cudaStream_t stream);

/* probs[b][t][l] = softmax_l(logits[t][b][l] + bias[l]) for t < out_len[b], else 0. */
cudaError_t ds2_cuda_softmax(const float *logits, const float *bias, const int *out_len, int T,
                             int batch, int labels, float *probs, cudaStream_t stream);

#endif
