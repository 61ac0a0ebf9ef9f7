/* Lookahead convolution and the masked softmax that ends the network. */
#include <math.h>

#include "ops.h"

__global__ void lookahead_kernel(const float *__restrict__ x, const float *__restrict__ w,
                                 const int *__restrict__ out_len, int T, int batch, int hidden,
                                 int context, float *__restrict__ out)
{
    const size_t total = (size_t)T * batch * hidden;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        const int j = (int)(i % hidden);
        const size_t r = i / hidden;
        const int b = (int)(r % batch), t = (int)(r / batch);
        const int len = out_len[b];
        float v = 0.0f;
        if (t < len) {
            /* Frames at or past len are the zeros of pad_packed_sequence / F.pad. */
            float acc = 0.0f;
            for (int k = 0; k < context && t + k < len; k++)
                acc += x[((size_t)(t + k) * batch + b) * hidden + j] * w[(size_t)j * context + k];
            v = fminf(fmaxf(acc, 0.0f), 20.0f);
        }
        out[i] = v;
    }
}

cudaError_t ds2_cuda_lookahead(const float *x, const float *w, const int *out_len, int T, int batch,
                               int hidden, int context, float *out, cudaStream_t stream)
{
    lookahead_kernel<<<ds2_cuda_blocks((size_t)T * batch * hidden), DS2_CUDA_BLOCK, 0, stream>>>(
        x, w, out_len, T, batch, hidden, context, out);
    return cudaGetLastError();
}

/* One warp per output row (t, b); rows past the utterance's length are zero. */
__global__ void softmax_kernel(const float *__restrict__ logits, const float *__restrict__ bias,
                               const int *__restrict__ out_len, int T, int batch, int labels,
                               float *__restrict__ probs)
{
    const int lane = threadIdx.x & 31;
    const size_t rows = (size_t)T * batch;
    const size_t nwarps = ((size_t)gridDim.x * blockDim.x) >> 5;
    for (size_t r = (blockIdx.x * (size_t)blockDim.x + threadIdx.x) >> 5; r < rows; r += nwarps) {
        const int b = (int)(r % batch), t = (int)(r / batch);
        const float *in = logits + r * labels;
        float *out = probs + ((size_t)b * T + t) * labels;
        if (t >= out_len[b]) {
            for (int l = lane; l < labels; l += 32)
                out[l] = 0.0f;
            continue;
        }
        float m = -INFINITY;
        for (int l = lane; l < labels; l += 32)
            m = fmaxf(m, in[l] + (bias ? bias[l] : 0.0f));
        for (int o = 16; o > 0; o >>= 1)
            m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
        float sum = 0.0f;
        for (int l = lane; l < labels; l += 32)
            sum += expf(in[l] + (bias ? bias[l] : 0.0f) - m);
        for (int o = 16; o > 0; o >>= 1)
            sum += __shfl_xor_sync(0xffffffffu, sum, o);
        for (int l = lane; l < labels; l += 32)
            out[l] = expf(in[l] + (bias ? bias[l] : 0.0f) - m) / sum;
    }
}

cudaError_t ds2_cuda_softmax(const float *logits, const float *bias, const int *out_len, int T,
                             int batch, int labels, float *probs, cudaStream_t stream)
{
    softmax_kernel<<<ds2_cuda_blocks((size_t)T * batch * 32), DS2_CUDA_BLOCK, 0, stream>>>(
        logits, bias, out_len, T, batch, labels, probs);
    return cudaGetLastError();
}
