/*
 * Conv stack for one utterance as im2col + sgemm, tiled over output frames so the column buffer
 * stays near s->conv_col_bytes (an untiled full-size conv2 needs K = 7392 rows per output
 * position: 300 MB for 5 s). Activations are kept [channel][time][freq], so a tile of output
 * frames is one contiguous block per channel: sgemm writes it in place and the fused
 * bias + Hardtanh epilogue runs over it, and im2col copies runs of f_out values.
 *
 * MaskConv zeroes every layer's frames t >= out_len (the final output length); since inputs past
 * the utterance are zero, those frames are simply never computed, and reads past the frames a
 * layer computed see zeros. So an utterance gives the same result in any batch.
 */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "conv/conv.h"
#include "conv/direct1.h"
#include "conv/taps.h"
#include "cpu/internal.h"

/* One layer's input: [c][t][f] with f contiguous; frames >= t_valid read as zero. */
typedef struct conv_input {
    const float *data;
    size_t ld_c;
    int ld_t, t_valid;
} conv_input;

typedef struct im2col_job {
    const ds2_conv_desc *c;
    conv_input in;
    float *col;
    int t0, tile, n_cols;
} im2col_job;

/* col[k][tt * f_out + f], k = (ci * k_freq + kf) * k_time + kt. */
static void im2col_rows(void *ctx, int k_begin, int k_end)
{
    const im2col_job *j = ctx;
    const ds2_conv_desc *c = j->c;
    const int sf = c->stride_freq, F = c->f_out;
    for (int k = k_begin; k < k_end; k++) {
        int kt = k % c->k_time, kf = (k / c->k_time) % c->k_freq, ci = k / (c->k_time * c->k_freq);
        /* output bins whose input bin f * sf - pad + kf lies inside 0..f_in-1 */
        int off = kf - c->pad_freq;
        int f_lo = off >= 0 ? 0 : (-off + sf - 1) / sf;
        int f_hi = c->f_in - 1 - off < 0 ? 0 : (c->f_in - 1 - off) / sf + 1;
        f_hi = f_hi > F ? F : f_hi;
        f_lo = f_lo > f_hi ? f_hi : f_lo;
        float *dst = j->col + (size_t)k * j->n_cols;
        for (int tt = 0; tt < j->tile; tt++, dst += F) {
            int ti = (j->t0 + tt) * c->stride_time - c->pad_time + kt;
            if (ti < 0 || ti >= j->in.t_valid) {
                memset(dst, 0, sizeof(float) * F);
                continue;
            }
            const float *src = j->in.data + ci * j->in.ld_c + (size_t)ti * j->in.ld_t;
            memset(dst, 0, sizeof(float) * f_lo);
            for (int f = f_lo; f < f_hi; f++)
                dst[f] = src[f * sf + off];
            memset(dst + f_hi, 0, sizeof(float) * (F - f_hi));
        }
    }
}

static void run_im2col(cpu_session *s, im2col_job *job, int rows)
{
    if ((size_t)rows * job->n_cols < (1u << 16)) /* too small to be worth a fork-join */
        im2col_rows(job, 0, rows);
    else
        ds2_threadpool_parallel_for(s->w.pool, rows, 16, im2col_rows, job);
}

static int tile_frames(size_t budget, size_t per_frame, int halo, int n_out)
{
    size_t fit = budget / per_frame;
    fit = fit > (size_t)halo ? fit - halo : 1;
    return fit > (size_t)n_out ? n_out : (int)fit;
}

/* Output [c_out][n_out][f_out]: full im2col (K = c_in * k_freq * k_time rows). */
static ds2_status conv_layer_im2col(cpu_session *s, const ds2_conv_desc *c, conv_input in,
                                    int n_out, float *out, ds2_err *err)
{
    const int K = c->c_in * c->k_freq * c->k_time, F = c->f_out;
    const int tile = tile_frames(s->conv_col_bytes, (size_t)K * F * sizeof(float), 0, n_out);
    ds2_status st = cpu_buf_reserve(&s->col, (size_t)K * F * tile, "conv columns", err);
    if (st != DS2_OK)
        return st;
    const size_t ld_c = (size_t)n_out * F;
    for (int t0 = 0; t0 < n_out; t0 += tile) {
        int nt = n_out - t0 < tile ? n_out - t0 : tile;
        im2col_job job = {c, in, s->col.p, t0, nt, F * nt};
        run_im2col(s, &job, K);
        cpu_sgemm(&s->w, 0, c->c_out, job.n_cols, K, c->weight, K, s->col.p, job.n_cols, 0.0f,
                  out + (size_t)t0 * F, (int)ld_c);
    }
    return DS2_OK;
}

/* Stride 1 in time: im2col over (c_in, k_freq) only, for the tile's frames plus a k_time - 1
 * halo, then one GEMM per time tap reading the columns shifted by tap * f_out. That writes
 * k_time times fewer columns (full-size conv2: 672 rows per position instead of 7392).
 * wt: [k_time][c_out][c_in * k_freq]. */
static ds2_status conv_layer_shift(cpu_session *s, const ds2_conv_desc *c, const float *wt,
                                   conv_input in, int n_out, float *out, ds2_err *err)
{
    const int Kp = c->c_in * c->k_freq, F = c->f_out, halo = c->k_time - 1;
    const int tile = tile_frames(s->conv_col_bytes, (size_t)Kp * F * sizeof(float), halo, n_out);
    ds2_status st = cpu_buf_reserve(&s->col, (size_t)Kp * F * (tile + halo), "conv columns", err);
    if (st != DS2_OK)
        return st;
    ds2_conv_desc taps = *c; /* one time tap: column u is input frame t0 - pad_time + u */
    taps.k_time = 1;
    const size_t ld_c = (size_t)n_out * F;
    for (int t0 = 0; t0 < n_out; t0 += tile) {
        int nt = n_out - t0 < tile ? n_out - t0 : tile, nu = nt + halo;
        im2col_job job = {&taps, in, s->col.p, t0, nu, F * nu};
        run_im2col(s, &job, Kp);
        for (int kt = 0; kt < c->k_time; kt++)
            cpu_sgemm(&s->w, 0, c->c_out, nt * F, Kp, wt + (size_t)kt * c->c_out * Kp, Kp,
                      s->col.p + (size_t)kt * F, nu * F, kt ? 1.0f : 0.0f, out + (size_t)t0 * F,
                      (int)ld_c);
    }
    return DS2_OK;
}

typedef struct direct1_job {
    ds2_conv_direct1_ukernel_fn kernel;
    ds2_conv_direct1_geom g;
    const float *xp, *w, *bias;
    int stride_time;
    float *out;
} direct1_job;

static void direct1_frames(void *ctx, int t_begin, int t_end)
{
    const direct1_job *j = ctx;
    for (int t = t_begin; t < t_end; t++)
        j->kernel(&j->g, j->xp + (size_t)t * j->stride_time * j->g.ld_x, j->w, j->bias,
                  j->out + (size_t)t * j->g.f_out);
}

/* One input channel, direct (kernels/conv/direct1.h): the input copied once into a zero-padded
 * [frame][bin] plane (frames >= t_valid and the padding read as zero, as in the GEMM paths),
 * then output frames split over the pool. Bias and Hardtanh are in the kernel. */
static ds2_status conv_layer_direct1(cpu_session *s, const ds2_conv_desc *c, const float *w1,
                                     conv_input in, int n_out, float *out, ds2_err *err)
{
    const int rows = (n_out - 1) * c->stride_time + c->k_time;
    int width = c->f_in + 2 * c->pad_freq;
    if (width < (c->f_out - 1) * c->stride_freq + c->k_freq)
        width = (c->f_out - 1) * c->stride_freq + c->k_freq;
    ds2_status st = cpu_buf_reserve(&s->col, (size_t)rows * width, "conv input plane", err);
    if (st != DS2_OK)
        return st;
    float *xp = s->col.p;
    for (int r = 0; r < rows; r++) {
        float *dst = xp + (size_t)r * width;
        const int ti = r - c->pad_time;
        memset(dst, 0, sizeof(float) * width);
        if (ti >= 0 && ti < in.t_valid)
            memcpy(dst + c->pad_freq, in.data + (size_t)ti * in.ld_t, sizeof(float) * c->f_in);
    }
    direct1_job j = {ds2_conv_direct1_get(c->c_out),
                     {c->k_freq, c->k_time, c->stride_freq, c->f_out, c->c_out, width,
                      (size_t)n_out * c->f_out, 0.0f, 20.0f},
                     xp,
                     w1,
                     c->bias,
                     c->stride_time,
                     out};
    ds2_threadpool_parallel_for(s->w.pool, n_out, 4, direct1_frames, &j);
    return DS2_OK;
}

/* Position-major patches for the taps kernel: row (u * f_out + f) is the (c_in, k_freq) patch
 * of bin f in local frame u (input frame frame0 + u), zero outside the input. */
typedef struct patch_job {
    const ds2_conv_desc *c;
    conv_input in;
    float *x;
    int frame0, kp;
} patch_job;

static void patch_frames(void *ctx, int u0, int u1)
{
    const patch_job *j = ctx;
    const ds2_conv_desc *c = j->c;
    const int F = c->f_out, kf_n = c->k_freq;
    for (int u = u0; u < u1; u++) {
        const int ti = j->frame0 + u;
        const int inside = ti >= 0 && ti < j->in.t_valid;
        for (int f = 0; f < F; f++) {
            float *dst = j->x + ((size_t)u * F + f) * j->kp;
            if (!inside) {
                memset(dst, 0, sizeof(float) * j->kp);
                continue;
            }
            const int fi0 = f * c->stride_freq - c->pad_freq;
            int lo = fi0 < 0 ? -fi0 : 0, hi = c->f_in - fi0 < kf_n ? c->f_in - fi0 : kf_n;
            hi = hi < lo ? lo : hi;
            for (int ci = 0; ci < c->c_in; ci++, dst += kf_n) {
                const float *src = j->in.data + ci * j->in.ld_c + (size_t)ti * j->in.ld_t + fi0;
                memset(dst, 0, sizeof(float) * lo);
                memcpy(dst + lo, src + lo, sizeof(float) * (hi - lo));
                memset(dst + hi, 0, sizeof(float) * (kf_n - hi));
            }
        }
    }
}

typedef struct taps_job {
    ds2_conv_taps_ukernel_fn kernel;
    ds2_conv_taps_geom g;
    const float *x, *w, *bias;
    float *out;
    int blocks; /* whole 12-position blocks; the last chunk also takes the remainder */
} taps_job;

static void taps_blocks(void *ctx, int b0, int b1)
{
    const taps_job *j = ctx;
    ds2_conv_taps_geom g = j->g;
    const int p0 = b0 * 12, p1 = b1 == j->blocks ? j->g.n : b1 * 12;
    g.n = p1 - p0;
    j->kernel(&g, j->x + (size_t)p0 * g.ld_x, j->w, j->bias, j->out + p0);
}

/* Stride 1 in time, every tap in one register-accumulating pass over position-major patches
 * (kernels/conv/taps.h); bias and Hardtanh included. wk: [k_time][c_in * k_freq][c_out]. */
static ds2_status conv_layer_taps(cpu_session *s, const ds2_conv_desc *c, const float *wk,
                                  conv_input in, int n_out, float *out, ds2_err *err)
{
    const int Kp = c->c_in * c->k_freq, F = c->f_out, halo = c->k_time - 1;
    const int tile = tile_frames(s->conv_col_bytes, (size_t)Kp * F * sizeof(float), halo, n_out);
    ds2_status st = cpu_buf_reserve(&s->col, (size_t)Kp * F * (tile + halo), "conv patches", err);
    if (st != DS2_OK)
        return st;
    for (int t0 = 0; t0 < n_out; t0 += tile) {
        const int nt = n_out - t0 < tile ? n_out - t0 : tile, nu = nt + halo;
        patch_job pj = {c, in, s->col.p, t0 - c->pad_time, Kp};
        if ((size_t)nu * F * Kp < (1u << 16))
            patch_frames(&pj, 0, nu);
        else
            ds2_threadpool_parallel_for(s->w.pool, nu, 1, patch_frames, &pj);
        const int n = nt * F;
        taps_job tj = {ds2_conv_taps_get(c->c_out),
                       {c->k_time, Kp, n, c->c_out, F, (size_t)Kp, (size_t)n_out * F, 0.0f, 20.0f},
                       s->col.p,
                       wk,
                       c->bias,
                       out + (size_t)t0 * F,
                       n / 12};
        if (tj.blocks <= 1)
            taps_blocks(&tj, 0, tj.blocks > 0 ? 1 : 0);
        else
            ds2_threadpool_parallel_for(s->w.pool, tj.blocks, 4, taps_blocks, &tj);
    }
    return DS2_OK;
}

/* Output [c_out][n_out][f_out] after bias and Hardtanh(0, 20). */
static ds2_status conv_layer(cpu_session *s, int l, conv_input in, int n_out, float *out,
                             ds2_err *err)
{
    const ds2_conv_desc *c = &s->m->net.conv[l];
    if (s->conv_int8 && s->m->conv_q[l])
        return cpu_conv_int8_layer(s, l, in.data, in.t_valid, n_out, out, err);
    if (s->m->conv_w1[l])
        return conv_layer_direct1(s, c, s->m->conv_w1[l], in, n_out, out, err);
    if (s->m->conv_wk[l])
        return conv_layer_taps(s, c, s->m->conv_wk[l], in, n_out, out, err);
    const float *wt = s->m->conv_wt[l];
    ds2_status st = wt ? conv_layer_shift(s, c, wt, in, n_out, out, err)
                       : conv_layer_im2col(s, c, in, n_out, out, err);
    if (st != DS2_OK)
        return st;
    ds2_conv_bias_hardtanh_ukernel_fn epilogue = ds2_conv_bias_hardtanh_get();
    const size_t ld_c = (size_t)n_out * c->f_out;
    for (int co = 0; co < c->c_out; co++)
        epilogue(1, (int)ld_c, out + co * ld_c, (int)ld_c, c->bias[co], 0.0f, 20.0f,
                 out + co * ld_c, (int)ld_c);
    return DS2_OK;
}

ds2_status cpu_conv_pack(cpu_model *m, ds2_err *err)
{
    for (int l = 0; l < m->net.n_conv; l++) {
        const ds2_conv_desc *c = &m->net.conv[l];
        if (c->c_in == 1 && ds2_conv_direct1_get(c->c_out)) {
            const size_t taps = (size_t)c->k_time * c->k_freq;
            float *w1 = malloc(sizeof(float) * taps * c->c_out);
            if (!w1)
                return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "conv %d: out of memory", l);
            /* weight [co][kf][kt] -> [kt][kf][co] */
            for (int kt = 0; kt < c->k_time; kt++)
                for (int kf = 0; kf < c->k_freq; kf++)
                    for (int co = 0; co < c->c_out; co++)
                        w1[((size_t)kt * c->k_freq + kf) * c->c_out + co] =
                            c->weight[((size_t)co * c->k_freq + kf) * c->k_time + kt];
            m->conv_w1[l] = w1;
            continue;
        }
        if (c->stride_time != 1 || c->k_time == 1)
            continue;
        if (ds2_conv_taps_get(c->c_out)) {
            const size_t Kp = (size_t)c->c_in * c->k_freq;
            float *wk = malloc(sizeof(float) * Kp * c->c_out * c->k_time);
            if (!wk)
                return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "conv %d: out of memory", l);
            /* weight [co][ci][kf][kt] -> [kt][ci * k_freq + kf][co] */
            for (int kt = 0; kt < c->k_time; kt++)
                for (size_t k = 0; k < Kp; k++)
                    for (int co = 0; co < c->c_out; co++)
                        wk[((size_t)kt * Kp + k) * c->c_out + co] =
                            c->weight[((size_t)co * Kp + k) * c->k_time + kt];
            m->conv_wk[l] = wk;
            continue;
        }
        const size_t Kp = (size_t)c->c_in * c->k_freq;
        float *wt = malloc(sizeof(float) * Kp * c->c_out * c->k_time);
        if (!wt)
            return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "conv %d: out of memory", l);
        for (int kt = 0; kt < c->k_time; kt++)
            for (int co = 0; co < c->c_out; co++)
                for (size_t k = 0; k < Kp; k++)
                    wt[((size_t)kt * c->c_out + co) * Kp + k] =
                        c->weight[((size_t)co * Kp + k) * c->k_time + kt];
        m->conv_wt[l] = wt;
    }
    return DS2_OK;
}

void cpu_conv_unpack(cpu_model *m)
{
    for (int l = 0; l < DS2_MAX_CONV; l++) {
        free(m->conv_wt[l]);
        free(m->conv_w1[l]);
        free(m->conv_wk[l]);
        m->conv_wt[l] = m->conv_w1[l] = m->conv_wk[l] = NULL;
    }
}

ds2_status cpu_conv_utterance(cpu_session *s, const float *features, int t_max, int length,
                              int out_len, float *x0, int row, int batch, int t_rows, ds2_err *err)
{
    const ds2_net *net = &s->m->net;
    const int n_freq = net->n_freq;
    /* features [f][t] -> [t][f], valid frames only */
    ds2_status st = cpu_buf_reserve(&s->conv_in, (size_t)length * n_freq, "conv input", err);
    if (st != DS2_OK)
        return st;
    for (int f = 0; f < n_freq; f++)
        for (int t = 0; t < length; t++)
            s->conv_in.p[(size_t)t * n_freq + f] = features[(size_t)f * t_max + t];
    conv_input in = {s->conv_in.p, (size_t)length * n_freq, n_freq, length};
    int t_pad = t_max; /* the batch tensor's frames at this layer, as upstream pads */
    cpu_buf *bufs[2] = {&s->conv_a, &s->conv_b};
    float *out = NULL;
    int n_out = 0;
    for (int l = 0; l < net->n_conv; l++) {
        const ds2_conv_desc *c = &net->conv[l];
        t_pad = ds2_conv_output_size(t_pad, c->k_time, c->stride_time, c->pad_time);
        n_out = t_pad < out_len ? t_pad : out_len;
        n_out = n_out < 0 ? 0 : n_out;
        st = cpu_buf_reserve(bufs[l & 1], (size_t)c->c_out * c->f_out * n_out, "conv output", err);
        if (st != DS2_OK)
            return st;
        out = bufs[l & 1]->p;
        if (n_out > 0 && (st = conv_layer(s, l, in, n_out, out, err)) != DS2_OK)
            return st;
        in = (conv_input){out, (size_t)n_out * c->f_out, c->f_out, n_out};
    }
    /* Flatten as torch's view(N, C * F, T) then transpose: x0[t][row][c * F + f]. */
    const ds2_conv_desc *last = &net->conv[net->n_conv - 1];
    const int C = last->c_out, F = last->f_out, K = C * F;
    for (int t = 0; t < t_rows; t++) {
        float *dst = x0 + ((size_t)t * batch + row) * K;
        if (t >= n_out) {
            memset(dst, 0, sizeof(float) * K);
            continue;
        }
        for (int c = 0; c < C; c++)
            memcpy(dst + c * F, out + ((size_t)c * n_out + t) * F, sizeof(float) * F);
    }
    return DS2_OK;
}
