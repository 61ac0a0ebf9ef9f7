/*
 * The CPU forward: conv stack per utterance -> [T][B][C*F] in length-sorted row order (as
 * pack_padded_sequence sorts), RNN layers, lookahead (unidirectional), FC + softmax, written
 * back in the caller's order. Only the linear step differs between cpu-fp32 and cpu-int8.
 */
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/blas_threads.h"
#include "cpu/internal.h"
#include "cpuinfo.h"

static ds2_status check_batch(const ds2_net *net, const ds2_forward_batch *b, ds2_err *err)
{
    if (!b || !b->lengths || !b->features || !b->out_lengths || !b->probs)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "forward: NULL batch pointer");
    if (b->batch < 1 || b->batch > (1 << 20))
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "forward: batch size %d", b->batch);
    if (b->n_freq != net->n_freq)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT,
                        "forward: features have %d frequency bins, the model expects %d", b->n_freq,
                        net->n_freq);
    if (b->t_max < 1 || b->t_max > (1 << 24))
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "forward: t_max %d", b->t_max);
    if (b->t_out_max != ds2_net_output_length(net, b->t_max))
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT,
                        "forward: t_out_max %d, expected %d for t_max %d", b->t_out_max,
                        ds2_net_output_length(net, b->t_max), b->t_max);
    for (int i = 0; i < b->batch; i++) {
        if (b->lengths[i] < 1 || b->lengths[i] > b->t_max)
            return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT,
                            "forward: length %d of utterance %d not in 1..%d", b->lengths[i], i,
                            b->t_max);
        if (ds2_net_output_length(net, b->lengths[i]) < 1)
            return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT,
                            "forward: utterance %d (%d frames) is too short for the conv stack", i,
                            b->lengths[i]);
    }
    return DS2_OK;
}

/* Largest T*B*width the forward allocates, guarded against size_t overflow. */
static int too_big(size_t a, size_t b, size_t c)
{
    return a != 0 && b != 0 && (b > SIZE_MAX / 8 / a || c > SIZE_MAX / 8 / (a * b));
}

static ds2_status reserve_index(cpu_session *s, int batch, int frames, ds2_err *err)
{
    if (batch > s->cap_batch) {
        int *perm = realloc(s->perm, sizeof(int) * batch);
        if (perm)
            s->perm = perm;
        int *len = realloc(s->len_sorted, sizeof(int) * batch);
        if (len)
            s->len_sorted = len;
        float **rows = realloc(s->state_rows, sizeof(float *) * batch);
        if (rows)
            s->state_rows = rows;
        if (!perm || !len || !rows)
            return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "forward: out of memory");
        s->cap_batch = batch;
    }
    if (frames > s->cap_frames) {
        int *n = realloc(s->n_active, sizeof(int) * frames);
        if (!n)
            return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "forward: out of memory");
        s->n_active = n;
        s->cap_frames = frames;
    }
    return DS2_OK;
}

/* Stable insertion sort by output length, descending (batches are small). */
static void sort_rows(cpu_session *s, const int *out_len, int batch)
{
    for (int i = 0; i < batch; i++) {
        int j = i;
        while (j > 0 && out_len[s->perm[j - 1]] < out_len[i]) {
            s->perm[j] = s->perm[j - 1];
            j--;
        }
        s->perm[j] = i;
    }
    for (int r = 0; r < batch; r++)
        s->len_sorted[r] = out_len[s->perm[r]];
}

/* out[t][r] = Hardtanh(0, 20)(sum_{j < ctx, t + j < len_r} w[j] . x[t + j][r]), zero past len. */
static void lookahead(const cpu_model *m, const float *x, float *y, int T, int B, const int *len)
{
    const int H = m->net.hidden, ctx = m->net.lookahead_context;
    for (int t = 0; t < T; t++)
        for (int r = 0; r < B; r++) {
            float *out = y + ((size_t)t * B + r) * H;
            memset(out, 0, sizeof(float) * H);
            if (t >= len[r])
                continue;
            int nj = len[r] - t < ctx ? len[r] - t : ctx;
            for (int j = 0; j < nj; j++) {
                const float *w = m->lookahead_t + (size_t)j * H;
                const float *in = x + ((size_t)(t + j) * B + r) * H;
                for (int h = 0; h < H; h++)
                    out[h] += w[h] * in[h];
            }
            for (int h = 0; h < H; h++)
                out[h] = out[h] < 0.0f ? 0.0f : out[h] > 20.0f ? 20.0f : out[h];
        }
}

static void softmax_row(const float *z, float *p, int n)
{
    float mx = z[0];
    for (int k = 1; k < n; k++)
        mx = z[k] > mx ? z[k] : mx;
    float sum = 0.0f;
    for (int k = 0; k < n; k++)
        sum += p[k] = expf(z[k] - mx);
    float inv = 1.0f / sum;
    for (int k = 0; k < n; k++)
        p[k] *= inv;
}

ds2_status cpu_forward(void *session_data, ds2_forward_batch *b, ds2_err *err)
{
    cpu_session *s = session_data;
    if (!s)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "forward: NULL session");
    const cpu_model *m = s->m;
    const ds2_net *net = &m->net;
    ds2_status st = check_batch(net, b, err);
    if (st != DS2_OK)
        return st;
    const int B = b->batch, H = net->hidden, L = net->n_labels;
    const ds2_conv_desc *last = &net->conv[net->n_conv - 1];
    const int K0 = last->c_out * last->f_out;
    for (int i = 0; i < B; i++)
        b->out_lengths[i] = ds2_net_output_length(net, b->lengths[i]);
    if ((st = reserve_index(s, B, b->t_out_max, err)) != DS2_OK)
        return st;
    sort_rows(s, b->out_lengths, B);
    const int T = s->len_sorted[0];
    int wide = K0 > H ? K0 : H;
    wide = wide > L ? wide : L;
    if (too_big((size_t)T, (size_t)B, (size_t)wide * net->gates))
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT,
                        "forward: batch of %d x %d frames is too large", B, T);
    const size_t rows = (size_t)T * B;
    if ((st = cpu_buf_reserve(&s->x0, rows * K0, "conv output", err)) != DS2_OK ||
        (st = cpu_buf_reserve(&s->ya, rows * H, "RNN output", err)) != DS2_OK ||
        (st = cpu_buf_reserve(&s->yb, rows * H, "RNN output", err)) != DS2_OK ||
        (st = cpu_buf_reserve(&s->logits, rows * L, "logits", err)) != DS2_OK)
        return st;
    for (int t = 0, r = B; t < T; t++) {
        while (r > 0 && s->len_sorted[r - 1] <= t)
            r--;
        s->n_active[t] = r;
    }
    /* OpenBLAS runs single-threaded under our own pool (cpu_blas.c). */
    ds2_blas_single_threaded();
    s->conv_int8 = !b->fp32_convs;

    for (int r = 0; r < B; r++) {
        int i = s->perm[r];
        st = cpu_conv_utterance(s, b->features + (size_t)i * b->n_freq * b->t_max, b->t_max,
                                b->lengths[i], b->out_lengths[i], s->x0.p, r, B, T, err);
        if (st != DS2_OK)
            return st;
    }

    const int SF = ds2_net_state_floats(net);
    const int state_layer = SF / net->layers;
    const float *x = s->x0.p;
    int K = K0;
    float *y = s->ya.p, *other = s->yb.p;
    for (int l = 0; l < net->layers; l++) {
        if (b->state)
            for (int r = 0; r < B; r++)
                s->state_rows[r] = b->state + (size_t)s->perm[r] * SF + (size_t)l * state_layer;
        st = cpu_rnn_layer(s, l, x, K, y, T, B, s->n_active, b->state ? s->state_rows : NULL, err);
        if (st != DS2_OK)
            return st;
        x = y;
        K = H;
        float *tmp = y;
        y = other;
        other = tmp;
    }
    if (net->directions == 1) {
        lookahead(m, x, y, T, B, s->len_sorted);
        x = y;
    }

    float *z = s->logits.p;
    for (size_t r = 0; r < rows; r++)
        memcpy(z + r * L, net->fc_bias, sizeof(float) * L);
    if ((st = cpu_linear_frames(s, m->fc, x, H, z, L, T, B, s->len_sorted, err)) != DS2_OK)
        return st;
    memset(b->probs, 0, sizeof(float) * (size_t)B * b->t_out_max * L);
    for (int r = 0; r < B; r++) {
        float *p = b->probs + (size_t)s->perm[r] * b->t_out_max * L;
        for (int t = 0; t < s->len_sorted[r]; t++)
            softmax_row(z + ((size_t)t * B + r) * L, p + (size_t)t * L, L);
    }
    ds2_cpu_clean_upper_state(); /* after the AVX-512 conv kernels and OpenBLAS (cpuinfo.h) */
    return DS2_OK;
}
