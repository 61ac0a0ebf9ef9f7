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

/* Rows of X per fused projection chunk: 8 tiles of the fp32 panel kernel (24 of the int8 one),
 * enough that each pass over a thread's slice of W_ih does ~100 multiply-adds per weight, while
 * the chunk's projections (96 x 4096 floats = 1.5 MiB for H = 1024 LSTM, shared by the threads'
 * column slices) stay in their L2s instead of a T x B x 4H buffer in DRAM (33 MB per direction
 * for 8 utterances of 5 s). */
#define CHUNK_ROWS 96

/* A direction's W_hh at most this big runs its steps in one core's L2 (1 MiB on Zen 2-5, 2 MiB on
 * recent Intel server cores), so a thread per direction loses no cache reuse. */
#define DIRECTIONS_AT_ONCE_MAX_BYTES (512 * 1024)

/* Both directions at once (cpu_rnn_recur_dirs) instead of one after the other with every thread
 * on each step: at batch 1 a step of a small W_hh is a few microseconds, about what the threads'
 * meeting at the step barrier costs, and with one thread per direction (2 threads) there is no
 * barrier at all. Measured on an AVX2 Zen 4 (2 threads): the bundled 3 x BiGRU 320 model, int8
 * batch 1 (W_hh 0.3 MB), 12 % less time per forward (docs/cpu-backend.md). Larger W_hh (the
 * full-size model; fp32 at 1.2 MB) or larger batches: no gain or slower, since each core then
 * streams a whole W_hh per step, and at batch 8 the step's work is large beside the barrier. */
static int directions_at_once(const cpu_session *s, int layer, int B)
{
    const cpu_model *m = s->m;
    if (m->net.directions != 2 || B != 1 || ds2_threadpool_size(s->w.pool) < 2)
        return 0;
    return m->lin->bytes(m->w_hh[layer * 2]) <= DIRECTIONS_AT_ONCE_MAX_BYTES &&
           m->lin->bytes(m->w_hh[layer * 2 + 1]) <= DIRECTIONS_AT_ONCE_MAX_BYTES;
}

ds2_status cpu_rnn_layer(cpu_session *s, int layer, const float *x, int K, float *y, int T, int B,
                         const int *n_active, float *const *state, ds2_err *err)
{
    const cpu_model *m = s->m;
    const cpu_linear_i *lin = m->lin;
    const ds2_net *net = &m->net;
    const int H = net->hidden, GH = net->gates * net->hidden, D = net->directions;
    const size_t rows = (size_t)T * B;
    ds2_status st;
    memset(y, 0, sizeof(float) * rows * H);
    int fused = 1;
    for (int d = 0; d < D; d++)
        fused = fused && lin->rows_independent(m->w_ih[layer * D + d]);
    if (fused) {
        /* Each thread projects its own columns a chunk of frames ahead of its steps. At least
         * two chunks when T >= 2, so the hand-over from one chunk to the next runs on every
         * input, short test utterances included. */
        int chunk = (CHUNK_ROWS + B - 1) / B;
        if (chunk > (T + 1) / 2)
            chunk = (T + 1) / 2;
        if (chunk < 1)
            chunk = 1;
        /* Both directions at once need a projection chunk and an output buffer each. */
        const int at_once = directions_at_once(s, layer, B);
        const size_t part = (size_t)chunk * B * GH;
        cpu_frames frames;
        if ((st = cpu_buf_reserve(&s->proj, at_once ? 2 * part : part, "RNN input projection",
                                  err)) != DS2_OK ||
            (at_once &&
             (st = cpu_buf_reserve(&s->y_back, rows * H, "RNN backward output", err)) != DS2_OK) ||
            (st = lin->frames_input(&s->w, x, (int)rows, K, K, &frames, err)) != DS2_OK)
            return st;
        if (at_once) {
            memset(s->y_back.p, 0, sizeof(float) * rows * H);
            float *const proj2[2] = {s->proj.p, s->proj.p + part}, *const y2[2] = {y, s->y_back.p};
            if ((st = cpu_rnn_recur_dirs(s, layer, proj2, y2, T, B, n_active, state, &frames, chunk,
                                         err)) != DS2_OK)
                return st;
            /* (0 + forward) + (0 + backward): the sum the sequential order gives. */
            for (size_t i = 0; i < rows * H; i++)
                y[i] += s->y_back.p[i];
            return DS2_OK;
        }
        for (int d = 0; d < D; d++)
            if ((st = cpu_rnn_recur_split(s, layer, d, s->proj.p, y, T, B, n_active, state, &frames,
                                          chunk, err)) != DS2_OK)
                return st;
        return DS2_OK;
    }
    if ((st = cpu_buf_reserve(&s->proj, rows * GH * D, "RNN input projection", err)) != DS2_OK)
        return st;
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
                                      n_active, state, NULL, 0, err)) != DS2_OK)
            return st;
    return DS2_OK;
}
