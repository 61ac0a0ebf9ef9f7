/*
 * One RNN layer with pack_padded_sequence semantics. Rows are sorted by length (descending), so
 * the rows still running at frame t are a prefix 0..n_active[t]; each direction projects all
 * frames at once (P = X W_ih^T + bias, one big GEMM), then the recurrence (rnn_split.c) adds
 * H W_hh^T onto P_t for the active prefix per frame and runs the fused cell, leaving each row's
 * final state: forward after frame len-1, backward after frame 0 - what torch returns in h_n.
 */
#include <stdlib.h>
#include <string.h>

#include "cpu/internal.h"

static void fill_rows(float *dst, const float *row, int cols, size_t rows)
{
    for (size_t r = 0; r < rows; r++)
        memcpy(dst + r * cols, row, sizeof(float) * cols);
}

ds2_status cpu_linear_frames(cpu_session *s, const void *packed, const float *x, int ldx, float *y,
                             int ldy, int T, int B, const int *len, ds2_err *err)
{
    const cpu_linear_i *lin = s->m->lin;
    if (B == 1 || lin->rows_independent(packed))
        return lin->apply(&s->w, packed, T * B, x, ldx, y, ldy, 1, err);
    /* One product per utterance over its own frames (every B-th row): the same call, with the
     * same row count, as when it runs alone. It also skips the padding. */
    for (int r = 0; r < B; r++) {
        ds2_status st = lin->apply(&s->w, packed, len[r], x + (size_t)r * ldx, B * ldx,
                                   y + (size_t)r * ldy, B * ldy, 1, err);
        if (st != DS2_OK)
            return st;
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
        if ((st = cpu_linear_frames(s, m->w_ih[ld], x, K, proj, GH, T, B, s->len_sorted, err)) !=
            DS2_OK)
            return st;
    }
    /* The recurrences, one direction at a time with every thread on every step (rnn_split.c:
     * each streams only its slice of W_hh, which can stay in its L2, and the result does not
     * depend on the thread count). */
    for (int d = 0; d < D; d++)
        if ((st = cpu_rnn_recur_split(s, layer, d, s->proj.p + (size_t)d * rows * GH, y, T, B,
                                      n_active, state, err)) != DS2_OK)
            return st;
    return DS2_OK;
}
