/*
 * Recurrent layers with pack_padded_sequence semantics. All frames' input projections come
 * from one Sgemm; each step is one strided-batched Sgemm (h . W_hhᵀ for both directions) and
 * one fused cell kernel over [direction][row][unit]. Rows whose utterance has ended are
 * inactive: their state is left as is, so the final state is each utterance's own. A chunk
 * of steps is captured once into a CUDA graph whose steps read their index from device memory,
 * so the same graph serves every utterance length (see cuda/README.md).
 */
#include "ops.h"

__device__ static inline float sigmoid(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

/* Step s = *step + k. Direction 0 reads frame s, direction 1 frame len-1-s, of each row with
 * s < len. PyTorch gate order: LSTM i f g o, GRU r z n (b_hn inside r * (.)), RNN one gate. */
template <ds2_rnn_type TYPE>
__global__ void rnn_cell_kernel(const float *__restrict__ xp, const float *__restrict__ hp,
                                const float *__restrict__ b_ih, const float *__restrict__ b_hh,
                                const int *__restrict__ out_len, const int *__restrict__ step,
                                int k, int batch, int hidden, int dirs, float *__restrict__ h,
                                float *__restrict__ c, float *__restrict__ y)
{
    const int gates = TYPE == DS2_RNN_LSTM ? 4 : TYPE == DS2_RNN_GRU ? 3 : 1;
    const size_t gh = (size_t)gates * hidden;
    const int s = *step + k;
    const size_t total = (size_t)dirs * batch * hidden;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        const int j = (int)(i % hidden);
        const size_t r = i / hidden;
        const int b = (int)(r % batch), d = (int)(r / batch);
        const int len = out_len[b];
        if (s >= len)
            continue;
        const int t = d == 0 ? s : len - 1 - s;
        const float *xr = xp + ((size_t)t * batch + b) * dirs * gh + d * gh;
        const float *hr = hp + ((size_t)d * batch + b) * gh;
        const float *bi = b_ih + d * gh, *bh = b_hh + d * gh;
        float hn;
        if (TYPE == DS2_RNN_LSTM) {
            const int H = hidden;
            const float gi = sigmoid(xr[j] + bi[j] + hr[j] + bh[j]);
            const float gf = sigmoid(xr[H + j] + bi[H + j] + hr[H + j] + bh[H + j]);
            const float gg = tanhf(xr[2 * H + j] + bi[2 * H + j] + hr[2 * H + j] + bh[2 * H + j]);
            const float go = sigmoid(xr[3 * H + j] + bi[3 * H + j] + hr[3 * H + j] + bh[3 * H + j]);
            const float cn = gf * c[i] + gi * gg;
            c[i] = cn;
            hn = go * tanhf(cn);
        } else if (TYPE == DS2_RNN_GRU) {
            const int H = hidden;
            const float gr = sigmoid(xr[j] + bi[j] + hr[j] + bh[j]);
            const float gz = sigmoid(xr[H + j] + bi[H + j] + hr[H + j] + bh[H + j]);
            const float gn =
                tanhf(xr[2 * H + j] + bi[2 * H + j] + gr * (hr[2 * H + j] + bh[2 * H + j]));
            hn = (1.0f - gz) * gn + gz * h[i];
        } else {
            hn = tanhf(xr[j] + bi[j] + hr[j] + bh[j]);
        }
        h[i] = hn;
        y[(((size_t)t * batch + b) * dirs + d) * hidden + j] = hn;
    }
}

__global__ void step_advance_kernel(int *step, int n)
{
    *step += n;
}

static ds2_status launch_cell(const ds2_cuda_rnn_desc *d, const ds2_cuda_layer *w,
                              const ds2_cuda_rnn_bufs *bf, int k, int batch, cudaStream_t stream,
                              ds2_err *err)
{
    const unsigned blocks = ds2_cuda_blocks((size_t)d->directions * batch * d->hidden);
#define DS2_CELL_ARGS                                                                              \
    bf->xp, bf->hp, w->b_ih, w->b_hh, bf->out_len, bf->step, k, batch, d->hidden, d->directions,   \
        bf->h, bf->c, bf->y
    switch (d->type) {
    case DS2_RNN_LSTM:
        rnn_cell_kernel<DS2_RNN_LSTM><<<blocks, DS2_CUDA_BLOCK, 0, stream>>>(DS2_CELL_ARGS);
        break;
    case DS2_RNN_GRU:
        rnn_cell_kernel<DS2_RNN_GRU><<<blocks, DS2_CUDA_BLOCK, 0, stream>>>(DS2_CELL_ARGS);
        break;
    case DS2_RNN_TANH:
        rnn_cell_kernel<DS2_RNN_TANH><<<blocks, DS2_CUDA_BLOCK, 0, stream>>>(DS2_CELL_ARGS);
        break;
    default:
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "rnn: unknown cell type %d", (int)d->type);
    }
#undef DS2_CELL_ARGS
    CUDA_CHECK(cudaGetLastError());
    return DS2_OK;
}

/* hp[d][b][g] = sum_j W_hh[d][g][j] h[d][b][j] for every direction; one row is a
 * matrix-vector product, which gemv streams at memory bandwidth. */
static ds2_status recurrent_projection(cublasHandle_t blas, const ds2_cuda_rnn_desc *d,
                                       const ds2_cuda_layer *w, const ds2_cuda_rnn_bufs *bf,
                                       int batch, ds2_err *err)
{
    const int gh = d->gates * d->hidden, H = d->hidden;
    const float one = 1.0f, zero = 0.0f;
    if (batch == 1) {
        /* Column-major W_hh[d] is H x gh (lda H); its transpose times h[d]. */
        CUBLAS_CHECK(cublasSgemvStridedBatched(blas, CUBLAS_OP_T, H, gh, &one, w->w_hh, H,
                                               (long long)gh * H, bf->h, 1, H, &zero, bf->hp, 1, gh,
                                               d->directions));
        return DS2_OK;
    }
    /* Column-major hpᵀ (gh x batch) = (W_hh as H x gh)ᵀ . (h as H x batch). */
    CUBLAS_CHECK(cublasSgemmStridedBatched(
        blas, CUBLAS_OP_T, CUBLAS_OP_N, gh, batch, H, &one, w->w_hh, H, (long long)gh * H, bf->h, H,
        (long long)batch * H, &zero, bf->hp, gh, (long long)batch * gh, d->directions));
    return DS2_OK;
}

/* `steps` steps, then the step counter advances by as many. */
static ds2_status enqueue_steps(cublasHandle_t blas, cudaStream_t stream,
                                const ds2_cuda_rnn_desc *d, const ds2_cuda_layer *w,
                                const ds2_cuda_rnn_bufs *bf, int batch, int steps, ds2_err *err)
{
    for (int k = 0; k < steps; k++) {
        DS2_TRY(recurrent_projection(blas, d, w, bf, batch, err));
        DS2_TRY(launch_cell(d, w, bf, k, batch, stream, err));
    }
    step_advance_kernel<<<1, 1, 0, stream>>>(bf->step, steps);
    CUDA_CHECK(cudaGetLastError());
    return DS2_OK;
}

ds2_status ds2_cuda_rnn_capture(cublasHandle_t blas, cudaStream_t stream,
                                const ds2_cuda_rnn_desc *d, const ds2_cuda_layer *w,
                                const ds2_cuda_rnn_bufs *bufs, int batch, int steps,
                                cudaGraphExec_t *exec, ds2_err *err)
{
    *exec = NULL;
    cudaGraph_t graph = NULL;
    CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    ds2_status st = enqueue_steps(blas, stream, d, w, bufs, batch, steps, err);
    /* Capture must end even after a failure, or the stream stays unusable. */
    cudaError_t e = cudaStreamEndCapture(stream, &graph);
    if (st != DS2_OK || e != cudaSuccess) {
        if (graph)
            cudaGraphDestroy(graph);
        (void)cudaGetLastError();
        if (st != DS2_OK)
            return st;
        return ds2_fail(err, DS2_ERR_BACKEND, "cudaStreamEndCapture(rnn steps) failed: %s",
                        cudaGetErrorString(e));
    }
    e = cudaGraphInstantiateWithFlags(exec, graph, 0);
    cudaGraphDestroy(graph);
    if (e != cudaSuccess) {
        *exec = NULL;
        return ds2_fail(err, DS2_ERR_BACKEND, "cudaGraphInstantiateWithFlags(rnn steps) failed: %s",
                        cudaGetErrorString(e));
    }
    return DS2_OK;
}

ds2_status ds2_cuda_rnn_project(cublasHandle_t blas, const ds2_cuda_rnn_desc *d,
                                const ds2_cuda_layer *w, int rows, const float *x_in, float *xp,
                                ds2_err *err)
{
    const int m = d->directions * d->gates * d->hidden, k = w->input_size;
    const float one = 1.0f, zero = 0.0f;
    /* Row-major xp[rows][m] = x[rows][k] . W_ih[m][k]ᵀ. */
    CUBLAS_CHECK(cublasSgemm(blas, CUBLAS_OP_T, CUBLAS_OP_N, m, rows, k, &one, w->w_ih, k, x_in, k,
                             &zero, xp, m));
    return DS2_OK;
}

/* i over [d][b][j]; the state of (layer, d) starts at ((layer*dirs + d)*per)*hidden in each
 * utterance's block, h then (LSTM) c. */
__global__ void state_copy_kernel(int layer, int batch, int hidden, int dirs, int lstm,
                                  int state_floats, float *__restrict__ state,
                                  float *__restrict__ h, float *__restrict__ c, int to_state)
{
    const size_t total = (size_t)dirs * batch * hidden;
    const int per = lstm ? 2 : 1;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        const int j = (int)(i % hidden);
        const size_t r = i / hidden;
        const int b = (int)(r % batch), d = (int)(r / batch);
        float *u = state + (size_t)b * state_floats + ((size_t)(layer * dirs + d) * per) * hidden;
        if (to_state) {
            u[j] = h[i];
            if (lstm)
                u[hidden + j] = c[i];
        } else {
            h[i] = u[j];
            if (lstm)
                c[i] = u[hidden + j];
        }
    }
}

cudaError_t ds2_cuda_state_load(const ds2_cuda_rnn_desc *d, int layer, int batch, int state_floats,
                                const float *state, float *h, float *c, cudaStream_t stream)
{
    state_copy_kernel<<<ds2_cuda_blocks((size_t)d->directions * batch * d->hidden), DS2_CUDA_BLOCK,
                        0, stream>>>(layer, batch, d->hidden, d->directions,
                                     d->type == DS2_RNN_LSTM, state_floats, (float *)state, h, c,
                                     0);
    return cudaGetLastError();
}

cudaError_t ds2_cuda_state_store(const ds2_cuda_rnn_desc *d, int layer, int batch, int state_floats,
                                 const float *h, const float *c, float *state, cudaStream_t stream)
{
    state_copy_kernel<<<ds2_cuda_blocks((size_t)d->directions * batch * d->hidden), DS2_CUDA_BLOCK,
                        0, stream>>>(layer, batch, d->hidden, d->directions,
                                     d->type == DS2_RNN_LSTM, state_floats, state, (float *)h,
                                     (float *)c, 1);
    return cudaGetLastError();
}

__global__ void rnn_merge_kernel(const float *__restrict__ y, const int *__restrict__ out_len,
                                 int T, int batch, int hidden, int dirs, float *__restrict__ x)
{
    const size_t total = (size_t)T * batch * hidden;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        const int j = (int)(i % hidden);
        const size_t r = i / hidden; /* t*batch + b */
        const int b = (int)(r % batch), t = (int)(r / batch);
        float v = 0.0f;
        if (t < out_len[b])
            for (int d = 0; d < dirs; d++)
                v += y[(r * dirs + d) * hidden + j];
        x[i] = v;
    }
}

cudaError_t ds2_cuda_rnn_merge(const float *y, const int *out_len, int T, int batch, int hidden,
                               int directions, float *x_out, cudaStream_t stream)
{
    rnn_merge_kernel<<<ds2_cuda_blocks((size_t)T * batch * hidden), DS2_CUDA_BLOCK, 0, stream>>>(
        y, out_len, T, batch, hidden, directions, x_out);
    return cudaGetLastError();
}
