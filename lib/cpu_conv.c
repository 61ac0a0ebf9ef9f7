/*
 * Conv stack for one utterance as im2col + sgemm, tiled over output frames so the column buffer
 * stays near s->conv_col_bytes (4 MiB) (an untiled full-size conv2 would need K = 7392 rows per
 * output position). MaskConv zeroes every layer's frames t >= out_len (the final output length);
 * since inputs past the utterance are zero, those frames are simply never computed, and reads past
 * the frames a layer computed see zeros. So an utterance gives the same result in any batch.
 */
#include <cblas.h>
#include <string.h>

#include "conv/conv.h"
#include "cpu_internal.h"

/* One layer's input: [c][f][t] with time stride 1; frames >= t_valid read as zero. */
typedef struct conv_input {
    const float *data;
    int ld_c, ld_f, t_valid;
} conv_input;

typedef struct im2col_job {
    const ds2_conv_desc *c;
    conv_input in;
    float *col;
    int t0, tile, n_cols;
} im2col_job;

/* col[k][f * tile + tt], k = (ci * k_freq + kf) * k_time + kt. */
static void im2col_rows(void *ctx, int k_begin, int k_end)
{
    const im2col_job *j = ctx;
    const ds2_conv_desc *c = j->c;
    for (int k = k_begin; k < k_end; k++) {
        int kt = k % c->k_time, kf = (k / c->k_time) % c->k_freq, ci = k / (c->k_time * c->k_freq);
        float *dst = j->col + (size_t)k * j->n_cols;
        for (int f = 0; f < c->f_out; f++, dst += j->tile) {
            int fi = f * c->stride_freq - c->pad_freq + kf;
            if (fi < 0 || fi >= c->f_in) {
                memset(dst, 0, sizeof(float) * j->tile);
                continue;
            }
            const float *src = j->in.data + (size_t)ci * j->in.ld_c + (size_t)fi * j->in.ld_f;
            for (int tt = 0; tt < j->tile; tt++) {
                int ti = (j->t0 + tt) * c->stride_time - c->pad_time + kt;
                dst[tt] = ti >= 0 && ti < j->in.t_valid ? src[ti] : 0.0f;
            }
        }
    }
}

/* Output [c_out][f_out][n_out] (frames 0..n_out). */
static ds2_status conv_layer(cpu_session *s, const ds2_conv_desc *c, conv_input in, int n_out,
                             float *out, ds2_err *err)
{
    int K = c->c_in * c->k_freq * c->k_time;
    size_t per_frame = (size_t)K * c->f_out * sizeof(float);
    size_t fit = s->conv_col_bytes / per_frame;
    int tile = fit > (size_t)n_out ? n_out : (int)fit;
    tile = tile < 1 ? 1 : tile;
    ds2_status st = cpu_buf_reserve(&s->col, (size_t)K * c->f_out * tile, "conv columns", err);
    if (st == DS2_OK)
        st = cpu_buf_reserve(&s->tile, (size_t)c->c_out * c->f_out * tile, "conv tile", err);
    if (st != DS2_OK)
        return st;
    ds2_bias_hardtanh_fn epilogue = ds2_bias_hardtanh_get();
    for (int t0 = 0; t0 < n_out; t0 += tile) {
        int nt = n_out - t0 < tile ? n_out - t0 : tile;
        im2col_job job = {c, in, s->col.p, t0, nt, c->f_out * nt};
        ds2_threadpool_parallel_for(s->pool, K, 16, im2col_rows, &job);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c->c_out, job.n_cols, K, 1.0f,
                    c->weight, K, s->col.p, job.n_cols, 0.0f, s->tile.p, job.n_cols);
        for (int co = 0; co < c->c_out; co++)
            epilogue(c->f_out, nt, s->tile.p + (size_t)co * job.n_cols, nt, c->bias[co], 0.0f,
                     20.0f, out + (size_t)co * c->f_out * n_out + t0, n_out);
    }
    return DS2_OK;
}

ds2_status cpu_conv_utterance(cpu_session *s, const float *features, int t_max, int length,
                              int out_len, float *x0, int row, int batch, int t_rows, ds2_err *err)
{
    const ds2_net *net = &s->m->net;
    conv_input in = {features, net->n_freq * t_max, t_max, length};
    int t_pad = t_max; /* the batch tensor's frames at this layer, as upstream pads */
    cpu_buf *bufs[2] = {&s->conv_a, &s->conv_b};
    float *out = NULL;
    int n_out = 0;
    for (int l = 0; l < net->n_conv; l++) {
        const ds2_conv_desc *c = &net->conv[l];
        t_pad = (t_pad + 2 * c->pad_time - (c->k_time - 1) - 1) / c->stride_time + 1;
        n_out = t_pad < out_len ? t_pad : out_len;
        if (n_out < 0)
            n_out = 0;
        ds2_status st =
            cpu_buf_reserve(bufs[l & 1], (size_t)c->c_out * c->f_out * n_out, "conv output", err);
        if (st != DS2_OK)
            return st;
        out = bufs[l & 1]->p;
        if (n_out > 0 && (st = conv_layer(s, c, in, n_out, out, err)) != DS2_OK)
            return st;
        in = (conv_input){out, c->f_out * n_out, n_out, n_out};
    }
    /* Flatten as torch's view(N, C * F, T) then transpose to [T][N][C * F]. */
    const ds2_conv_desc *last = &net->conv[net->n_conv - 1];
    int K = last->c_out * last->f_out;
    size_t ld_t = (size_t)batch * K;
    for (int t = 0; t < t_rows; t++) {
        float *dst = x0 + t * ld_t + (size_t)row * K;
        if (t >= n_out) {
            memset(dst, 0, sizeof(float) * K);
            continue;
        }
        for (int k = 0; k < K; k++)
            dst[k] = out[(size_t)k * n_out + t];
    }
    return DS2_OK;
}
