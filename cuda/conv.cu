/*
 * Conv stack: im2col in column chunks + one cuBLAS Sgemm per chunk per utterance, then one
 * fused pass for bias, Hardtanh(0,20) and MaskConv masking (optionally writing the RNN input
 * layout directly).
 */
#include "ops.h"

/* col[k][j] for k = (ci*k_freq + kf)*k_time + kt and output column n = n0 + j = fo*t_out + to;
 * the row order matches the weight layout [c_out][c_in][k_freq][k_time]. */
__global__ void im2col_kernel(const float *__restrict__ in, ds2_cuda_conv_shape s, long long n0,
                              int nc, float *__restrict__ col)
{
    const size_t k_rows = (size_t)s.c_in * s.k_freq * s.k_time;
    const size_t total = k_rows * (size_t)nc;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        const size_t k = i / (size_t)nc;
        const long long n = n0 + (long long)(i % (size_t)nc);
        const int fo = (int)(n / s.t_out), to = (int)(n % s.t_out);
        const int kt = (int)(k % s.k_time);
        const size_t r = k / s.k_time;
        const int kf = (int)(r % s.k_freq), ci = (int)(r / s.k_freq);
        const int fi = fo * s.stride_freq - s.pad_freq + kf;
        const int ti = to * s.stride_time - s.pad_time + kt;
        float v = 0.0f;
        if (fi >= 0 && fi < s.f_in && ti >= 0 && ti < s.t_in)
            v = in[((size_t)ci * s.f_in + fi) * s.t_in + ti];
        col[i] = v;
    }
}

/* act [B][c_out][f_out][t_out] -> bias + Hardtanh(0,20), frames >= out_len[b] zeroed; in place
 * or, with x != NULL, into x[t][b][c*f_out + f]. */
__global__ void conv_epilogue_kernel(float *__restrict__ act, const float *__restrict__ bias,
                                     const int *__restrict__ out_len, int batch, int c_out,
                                     int f_out, int t_out, float *__restrict__ x)
{
    const size_t total = (size_t)batch * c_out * f_out * t_out;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        const int to = (int)(i % t_out);
        size_t r = i / t_out;
        const int fo = (int)(r % f_out);
        r /= f_out;
        const int co = (int)(r % c_out);
        const int b = (int)(r / c_out);
        float v = 0.0f;
        if (to < out_len[b])
            v = fminf(fmaxf(act[i] + bias[co], 0.0f), 20.0f);
        if (x)
            x[((size_t)to * batch + b) * ((size_t)c_out * f_out) + (size_t)co * f_out + fo] = v;
        else
            act[i] = v;
    }
}

ds2_status ds2_cuda_conv_layer(cublasHandle_t blas, cudaStream_t stream,
                               const ds2_cuda_conv_shape *s, int batch, const float *weight,
                               const float *bias, const int *out_len, const float *in, float *out,
                               float *x_out, float *col, size_t col_floats, ds2_err *err)
{
    const int k_rows = s->c_in * s->k_freq * s->k_time;
    const long long n_cols = (long long)s->f_out * s->t_out;
    const long long chunk = ds2_cuda_conv_chunk(s, col_floats);
    if (chunk < 1 || n_cols > INT32_MAX)
        return ds2_fail(err, DS2_ERR_BACKEND,
                        "conv: %d x %lld im2col does not fit %zu floats of scratch", k_rows, n_cols,
                        col_floats);
    const size_t in_per = (size_t)s->c_in * s->f_in * s->t_in;
    const size_t out_per = (size_t)s->c_out * (size_t)n_cols;
    const float one = 1.0f, zero = 0.0f;
    for (int b = 0; b < batch; b++) {
        for (long long n0 = 0; n0 < n_cols; n0 += chunk) {
            const int nc = (int)(n_cols - n0 < chunk ? n_cols - n0 : chunk);
            im2col_kernel<<<ds2_cuda_blocks((size_t)k_rows * nc), DS2_CUDA_BLOCK, 0, stream>>>(
                in + in_per * b, *s, n0, nc, col);
            CUDA_CHECK(cudaGetLastError());
            /* Row-major out[c_out][n_cols] = W[c_out][k_rows] . col[k_rows][nc], written as
             * the column-major product outᵀ = colᵀ . Wᵀ. */
            CUBLAS_CHECK(cublasSgemm(blas, CUBLAS_OP_N, CUBLAS_OP_N, nc, s->c_out, k_rows, &one,
                                     col, nc, weight, k_rows, &zero, out + out_per * b + n0,
                                     (int)n_cols));
        }
    }
    conv_epilogue_kernel<<<ds2_cuda_blocks(out_per * batch), DS2_CUDA_BLOCK, 0, stream>>>(
        out, bias, out_len, batch, s->c_out, s->f_out, s->t_out, x_out);
    CUDA_CHECK(cudaGetLastError());
    return DS2_OK;
}
