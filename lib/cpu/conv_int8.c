/*
 * The conv layers after the first in int8 on the qgemm kernels (VNNI vpdpbusd where the CPU has
 * it). Their input is the previous layer's Hardtanh(0, 20) output, so it is quantized with the
 * STATIC range [0, 20] (scale 20/255, zero point 0): exact range by construction, no min/max
 * pass, and — unlike a per-utterance scale — the same for any chunking or batching (a patch spans
 * frames and channels, so per-row scales would not apply). The first layer reads the normalised
 * spectrogram, which has no such bound, and stays fp32 (11 % of the conv work). The patches are
 * gathered as quantized rows, one per output position (t, f), and multiplied by the
 * per-output-channel int8 weights with the bias folded into the packed block. Stride 1 in time
 * (conv2) uses the shift trick of the fp32 path: the rows of one input frame serve all k_time taps,
 * one GEMM per tap reading them shifted by that many frames, so patches are gathered k_time times
 * fewer. Rows split over the pool by position: each output is computed the same way for any thread
 * count.
 *
 * Patch order within a row is (c_in, k_time, k_freq) — or (c_in, k_freq) for one tap — with
 * k_freq innermost, so each (ci, kt) piece is one contiguous run of the input's frequency bins.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/internal.h"
#include "qgemm/qgemm.h"

#define HARDTANH_MAX 20.0f

static int round8(int k)
{
    return (k + 7) / 8 * 8;
}

static int shifted(const ds2_conv_desc *c)
{
    return c->stride_time == 1 && c->k_time > 1;
}

/* Quantizes a Hardtanh(0, 20) output: q = round(x·255/20), clamped (exact for x in [0, 20]). */
static void quantize_static(const float *x, size_t n, uint8_t *q)
{
    const float inv = 255.0f / HARDTANH_MAX;
    for (size_t i = 0; i < n; i++) {
        float v = x[i] * inv + 0.5f;
        /* NaN (from non-finite weights) fails `v > 0` and becomes 0: a float -> int cast of NaN
         * is undefined behaviour */
        v = v > 0.0f ? (v < 255.0f ? v : 255.0f) : 0.0f;
        q[i] = (uint8_t)(int)v;
    }
}

ds2_status cpu_conv_int8_pack(cpu_model *m, ds2_err *err)
{
    /* Layer 0 reads the unbounded spectrogram: fp32 (see the top). */
    for (int l = 1; l < m->net.n_conv; l++) {
        const ds2_conv_desc *c = &m->net.conv[l];
        const int taps = shifted(c) ? c->k_time : 1;
        const int K = c->c_in * c->k_freq * (taps == 1 ? c->k_time : 1);
        float *w = malloc(sizeof(float) * (size_t)c->c_out * K);
        float *zeros = calloc((size_t)c->c_out, sizeof(float));
        m->conv_q[l] = calloc((size_t)taps, sizeof(void *));
        if (!w || !zeros || !m->conv_q[l]) {
            free(w), free(zeros);
            return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "conv %d: out of memory", l);
        }
        m->conv_q_taps[l] = taps;
        for (int tap = 0; tap < taps; tap++) {
            /* weight [co][ci][kf][kt] -> rows of this tap (or the whole patch) in row order */
            for (int co = 0; co < c->c_out; co++)
                for (int ci = 0; ci < c->c_in; ci++)
                    for (int kt = 0; kt < c->k_time; kt++) {
                        if (taps > 1 && kt != tap)
                            continue;
                        for (int kf = 0; kf < c->k_freq; kf++) {
                            const int k = taps > 1 ? ci * c->k_freq + kf
                                                   : (ci * c->k_time + kt) * c->k_freq + kf;
                            w[(size_t)co * K + k] =
                                c->weight[(((size_t)co * c->c_in + ci) * c->k_freq + kf) *
                                              c->k_time +
                                          kt];
                        }
                    }
            /* the bias once, with the first tap */
            m->conv_q[l][tap] =
                ds2_qgemm_weights_pack(c->c_out, K, w, NULL, NULL, tap == 0 ? c->bias : zeros);
            if (!m->conv_q[l][tap]) {
                free(w), free(zeros);
                return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT,
                                "conv %d: cannot quantize its weights (non-finite values?)", l);
            }
        }
        free(w), free(zeros);
    }
    return DS2_OK;
}

void cpu_conv_int8_unpack(cpu_model *m)
{
    for (int l = 0; l < DS2_MAX_CONV; l++) {
        for (int t = 0; m->conv_q[l] && t < m->conv_q_taps[l]; t++)
            ds2_qgemm_weights_free(m->conv_q[l][t]);
        free(m->conv_q[l]);
        m->conv_q[l] = NULL;
        m->conv_q_taps[l] = 0;
    }
}

/* Gathers quantized patch rows: row (u, f) for frames u of the tile. */
typedef struct gather_job {
    const ds2_conv_desc *c;
    const uint8_t *qin; /* [c_in][t_valid][f_in] */
    int t_valid, zero, u16;
    int frame0;      /* input frame of local frame 0, before the time stride (can be < 0) */
    int frame_step;  /* input frames between consecutive local frames */
    int taps_in_row; /* k_time (whole patch) or 1 (one tap per GEMM) */
    int kp;
    void *rows;
} gather_job;

static void gather_frames(void *ctx, int u0, int u1)
{
    const gather_job *j = ctx;
    const ds2_conv_desc *c = j->c;
    const int F = c->f_out, kf_n = c->k_freq;
    for (int u = u0; u < u1; u++)
        for (int f = 0; f < F; f++) {
            const size_t row = (size_t)u * F + f;
            uint8_t *r8 = (uint8_t *)j->rows + row * j->kp;
            int16_t *r16 = (int16_t *)j->rows + row * j->kp;
            const int fi0 = f * c->stride_freq - c->pad_freq;
            int k = 0;
            for (int ci = 0; ci < c->c_in; ci++)
                for (int kt = 0; kt < j->taps_in_row; kt++, k += kf_n) {
                    const int ti = j->frame0 + u * j->frame_step + kt;
                    const uint8_t *src =
                        j->qin + ((size_t)ci * j->t_valid + (size_t)(ti < 0 ? 0 : ti)) * c->f_in;
                    const int inside = ti >= 0 && ti < j->t_valid;
                    /* bins fi0 + kf inside 0..f_in-1 copy, the rest are the zero point */
                    int lo = -fi0 > 0 ? -fi0 : 0, hi = c->f_in - fi0 < kf_n ? c->f_in - fi0 : kf_n;
                    if (!inside || hi < lo)
                        lo = hi = 0;
                    if (j->u16) {
                        for (int kf = 0; kf < kf_n; kf++)
                            r16[k + kf] =
                                kf >= lo && kf < hi ? (int16_t)(src[fi0 + kf] - j->zero) : 0;
                    } else {
                        memset(r8 + k, j->zero, (size_t)lo);
                        if (hi > lo)
                            memcpy(r8 + k + lo, src + fi0 + lo, (size_t)(hi - lo));
                        memset(r8 + k + hi, j->zero, (size_t)(kf_n - hi));
                    }
                }
            if (j->u16)
                memset(r16 + k, 0, sizeof(int16_t) * (size_t)(j->kp - k));
            else
                memset(r8 + k, 0, (size_t)(j->kp - k)); /* padding: 0 against zero weights */
        }
}

typedef struct gemm_rows_job {
    const void *w;
    ds2_qgemm_acts qa; /* all rows */
    size_t row_bytes;
    float *y;
    int ldy, n, accumulate, failed;
} gemm_rows_job;

static void gemm_rows(void *ctx, int i0, int i1)
{
    gemm_rows_job *j = ctx;
    ds2_qgemm_acts sub = j->qa;
    sub.m = i1 - i0;
    sub.q = (const char *)j->qa.q + (size_t)i0 * j->row_bytes;
    sub.scale = j->qa.scale + i0;
    sub.zero = j->qa.zero + i0;
    if (ds2_qgemm_compute(j->w, &sub, j->y + (size_t)i0 * j->ldy, j->ldy, 0, j->n, j->accumulate))
        __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
}

ds2_status cpu_conv_int8_layer(cpu_session *s, int l, const float *in, int t_valid, int n_out,
                               float *out, ds2_err *err)
{
    const ds2_conv_desc *c = &s->m->net.conv[l];
    const int taps = s->m->conv_q_taps[l], F = c->f_out, C = c->c_out;
    const int K = c->c_in * c->k_freq * (taps == 1 ? c->k_time : 1), kp = round8(K);
    const int u16 = ds2_qgemm_acts_preferred_format() == DS2_QGEMM_ACTS_S16;
    const size_t elem = u16 ? 2 : 1, n_in = (size_t)c->c_in * t_valid * c->f_in;
    const int halo = taps > 1 ? taps - 1 : 0;
    ds2_status st;
    if (n_in == 0 || n_in > (size_t)INT32_MAX - 8)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "conv %d: input of %zu values", l, n_in);
    /* Tile of output frames: rows of (tile + halo) frames near conv_col_bytes. */
    size_t per_frame = (size_t)F * kp * elem;
    int tile = (int)(s->conv_col_bytes / per_frame);
    tile = tile > halo ? tile - halo : 1;
    tile = tile > n_out ? n_out : tile;
    const size_t max_rows = (size_t)tile * F;
    if ((st = cpu_buf_reserve(&s->conv_qin, (n_in + 8 + 3) / 4, "int8 conv input", err)) !=
            DS2_OK ||
        (st = cpu_buf_reserve(&s->col, ((size_t)(tile + halo) * per_frame + 3) / 4,
                              "int8 conv patches", err)) != DS2_OK ||
        (st = cpu_buf_reserve(&s->conv_y, max_rows * C + 2 * ((size_t)(tile + halo) * F),
                              "int8 conv output", err)) != DS2_OK)
        return st;
    uint8_t *qin = (uint8_t *)s->conv_qin.p;
    const int32_t zero = 0;
    const float scale = HARDTANH_MAX / 255.0f;
    quantize_static(in, n_in, qin);
    float *y = s->conv_y.p;
    const size_t all_rows = (size_t)(tile + halo) * F;
    float *row_scale = y + max_rows * C;
    int32_t *row_zero = (int32_t *)(row_scale + all_rows);
    for (size_t i = 0; i < all_rows; i++) {
        row_scale[i] = scale;
        row_zero[i] = u16 ? 0 : zero; /* S16 rows are already centred */
    }
    for (int t0 = 0; t0 < n_out; t0 += tile) {
        const int nt = n_out - t0 < tile ? n_out - t0 : tile, nu = nt + halo;
        gather_job g = {
            c, qin, t_valid, zero, u16, 0, c->stride_time, taps > 1 ? 1 : c->k_time, kp, s->col.p};
        g.frame0 = t0 * c->stride_time - c->pad_time;
        if ((size_t)nu * F * K < (1u << 16))
            gather_frames(&g, 0, nu);
        else
            ds2_threadpool_parallel_for(s->w.pool, nu, 1, gather_frames, &g);
        for (int tap = 0; tap < taps; tap++) {
            gemm_rows_job j = {s->m->conv_q[l][tap],
                               {nt * F, K, kp, u16 ? DS2_QGEMM_ACTS_S16 : DS2_QGEMM_ACTS_U8,
                                (const char *)s->col.p + (size_t)tap * F * kp * elem, row_zero,
                                row_scale},
                               (size_t)kp * elem,
                               y,
                               C,
                               C,
                               tap > 0,
                               0};
            ds2_threadpool_parallel_for(s->w.pool, nt * F, 64, gemm_rows, &j);
            if (j.failed)
                return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "conv %d: bad int8 product", l);
        }
        /* [pos][c_out] -> out[c_out][t][f], Hardtanh(0, 20) (bias is in the product). */
        for (int co = 0; co < C; co++) {
            float *o = out + ((size_t)co * n_out + t0) * F;
            for (size_t i = 0; i < (size_t)nt * F; i++) {
                const float v = y[i * C + co];
                o[i] = v < 0.0f ? 0.0f : v > 20.0f ? 20.0f : v;
            }
        }
    }
    return DS2_OK;
}
