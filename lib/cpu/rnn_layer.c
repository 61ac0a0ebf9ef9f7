/*
 * One RNN layer with pack_padded_sequence semantics. Rows are sorted by length (descending), so
 * the rows still running at frame t are a prefix 0..n_active[t]; each direction projects all
 * frames at once (P = X W_ih^T + bias, one big GEMM), then per frame adds H W_hh^T onto P_t for
 * the active prefix (a GEMV at batch 1) and runs the fused cell. The running state lives in
 * hs/cs [B][H] so that after the loop it holds each row's final state: forward after frame
 * len-1, backward after frame 0 - what torch returns in h_n.
 */
#include <stdlib.h>
#include <string.h>

#include "cpu/internal.h"
#include "rnn/rnn.h"

typedef struct cell_job {
    const ds2_rnn_kernels *k;
    ds2_rnn_type type;
    int H, GH, n, B, first_dir;
    float *pt, *hg, *hs, *cs, *yt;
} cell_job;

/* Hidden units [j0, j1) of every active row: cell, then write/sum into the layer output. */
static void cell_units(void *ctx, int j0, int j1)
{
    const cell_job *c = ctx;
    int n = j1 - j0;
    for (int r = 0; r < c->n; r++) {
        float *h = c->hs + (size_t)r * c->H + j0;
        float *p = c->pt + (size_t)r * c->GH + j0;
        switch (c->type) {
        case DS2_RNN_LSTM:
            c->k->lstm(n, c->H, p, c->cs + (size_t)r * c->H + j0, h);
            break;
        case DS2_RNN_GRU:
            c->k->gru(n, c->H, p, c->hg + (size_t)r * c->GH + j0, h);
            break;
        default:
            c->k->tanh(n, p, h);
            break;
        }
        float *y = c->yt + (size_t)r * c->H + j0;
        for (int j = 0; j < n; j++)
            y[j] += h[j];
    }
}

static void fill_rows(float *dst, const float *row, int cols, size_t rows)
{
    for (size_t r = 0; r < rows; r++)
        memcpy(dst + r * cols, row, sizeof(float) * cols);
}

/* The recurrence of one direction over its projected inputs proj [T][B][GH] (biases folded
 * in), adding h into y [T][B][H]. State, gate scratch and linear scratch come from worker `w`;
 * the cell is split over w->pool when there is one. */
static ds2_status recur_direction(const cpu_model *m, cpu_worker *w, int layer, int d, float *proj,
                                  float *y, int T, int B, const int *n_active, float *const *state,
                                  ds2_err *err)
{
    const ds2_net *net = &m->net;
    const int H = net->hidden, GH = net->gates * net->hidden, D = net->directions;
    const int lstm = net->rnn_type == DS2_RNN_LSTM, gru = net->rnn_type == DS2_RNN_GRU;
    const int ld = layer * D + d, state_h = H * (lstm ? 2 : 1);
    ds2_status st;
    if ((st = cpu_buf_reserve(&w->hs, (size_t)B * H, "RNN state", err)) != DS2_OK ||
        (st = cpu_buf_reserve(&w->cs, (size_t)B * H, "RNN cell state", err)) != DS2_OK ||
        (st = cpu_buf_reserve(&w->hg, (size_t)B * GH, "GRU hidden gates", err)) != DS2_OK)
        return st;
    cell_job job = {ds2_rnn_kernels_get(),
                    net->rnn_type,
                    H,
                    GH,
                    0,
                    B,
                    0,
                    NULL,
                    w->hg.p,
                    w->hs.p,
                    w->cs.p,
                    NULL};
    for (int r = 0; r < B; r++) {
        const float *init = state ? state[r] + (size_t)d * state_h : NULL;
        float *h = w->hs.p + (size_t)r * H, *c = w->cs.p + (size_t)r * H;
        if (init) {
            memcpy(h, init, sizeof(float) * H);
            if (lstm)
                memcpy(c, init + H, sizeof(float) * H);
        } else {
            memset(h, 0, sizeof(float) * H);
            memset(c, 0, sizeof(float) * H);
        }
    }
    for (int step = 0; step < T; step++) {
        int t = d == 0 ? step : T - 1 - step;
        int n = n_active[t];
        if (n == 0)
            continue;
        float *pt = proj + (size_t)t * B * GH;
        if (gru) {
            fill_rows(w->hg.p, net->layer[layer].dir[d].b_hh, GH, n);
            st = m->lin->apply(w, m->w_hh[ld], n, w->hs.p, H, w->hg.p, GH, 1, err);
        } else {
            st = m->lin->apply(w, m->w_hh[ld], n, w->hs.p, H, pt, GH, 1, err);
        }
        if (st != DS2_OK)
            return st;
        job.n = n;
        job.pt = pt;
        job.yt = y + (size_t)t * B * H;
        /* Below ~4k units (~10 us of cell) a fork-join costs more than it saves. */
        if (w->pool && (size_t)n * H >= 4096)
            ds2_threadpool_parallel_for(w->pool, H, 64, cell_units, &job);
        else
            cell_units(&job, 0, H);
    }
    if (state)
        for (int r = 0; r < B; r++) {
            float *out = state[r] + (size_t)d * state_h;
            memcpy(out, w->hs.p + (size_t)r * H, sizeof(float) * H);
            if (lstm)
                memcpy(out + H, w->cs.p + (size_t)r * H, sizeof(float) * H);
        }
    return DS2_OK;
}

ds2_status cpu_rnn_layer(cpu_session *s, int layer, const float *x, int K, float *y, int T, int B,
                         const int *n_active, float *const *state, ds2_err *err)
{
    const cpu_model *m = s->m;
    const ds2_net *net = &m->net;
    const int H = net->hidden, GH = net->gates * net->hidden, D = net->directions;
    const size_t rows = (size_t)T * B;
    ds2_status st;
    if ((st = cpu_buf_reserve(&s->proj, rows * GH * D, "RNN input projection", err)) != DS2_OK)
        return st;
    memset(y, 0, sizeof(float) * rows * H);
    /* Input projections of all frames: big products, split over the pool by columns. */
    for (int d = 0; d < D; d++) {
        int ld = layer * D + d;
        float *proj = s->proj.p + (size_t)d * rows * GH;
        fill_rows(proj, m->bias_x[ld], GH, rows);
        if ((st = m->lin->apply(&s->w, m->w_ih[ld], (int)rows, x, K, proj, GH, 1, err)) != DS2_OK)
            return st;
    }
    /* The recurrences. With a split-step implementation (fp32 and int8 both have one) every
     * thread works on every step of one direction at a time (rnn_split.c: each streams only
     * its slice of W_hh, which can stay in its L2, and the result does not depend on the thread
     * count); the plain loop below serves an implementation without one. */
    if (m->lin->step_new) {
        for (int d = 0; d < D; d++)
            if ((st = cpu_rnn_recur_split(s, layer, d, s->proj.p + (size_t)d * rows * GH, y, T, B,
                                          n_active, state, err)) != DS2_OK)
                return st;
        return DS2_OK;
    }
    for (int d = 0; d < D; d++)
        if ((st = recur_direction(m, &s->w, layer, d, s->proj.p + (size_t)d * rows * GH, y, T, B,
                                  n_active, state, err)) != DS2_OK)
            return st;
    return DS2_OK;
}
