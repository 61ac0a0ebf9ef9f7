/*
 * Host-side arithmetic of the GPU backend in plain C (also compiled into the tests): the conv
 * geometry of a batch, every device buffer's size, and the recurrent-graph cache policy.
 */
#ifndef DS2_CUDA_PLAN_H
#define DS2_CUDA_PLAN_H

#include <limits.h>
#include <stddef.h>

#include "format/net.h"

/* im2col scratch cap: conv layers run in column chunks so the scratch stays this small. */
#define DS2_CUDA_COL_FLOATS ((size_t)32 << 20)
/* Anything larger than this many floats in one buffer is refused as absurd. */
#define DS2_CUDA_MAX_FLOATS ((size_t)1 << 38)

/* One conv layer's geometry for the current batch (time sizes depend on t_max). */
typedef struct ds2_cuda_conv_shape {
    int c_in, c_out, k_freq, k_time, stride_freq, stride_time, pad_freq, pad_time;
    int f_in, f_out, t_in, t_out;
} ds2_cuda_conv_shape;

/* Floats of every device buffer for one (batch, t_max). */
typedef struct ds2_cuda_plan {
    int batch, t_max, t_out; /* t_out: frames after the conv stack (T) */
    ds2_cuda_conv_shape conv[DS2_MAX_CONV];
    size_t feat;   /* [B][n_freq][t_max] */
    size_t act[2]; /* conv outputs, layer i in act[i % 2] */
    size_t col;    /* im2col scratch */
    size_t x;      /* RNN input/output ping-pong, each [T][B][max(I0, H)] */
    size_t xp;     /* [T][B][D*G*H] */
    size_t hp;     /* [D][B][G*H] */
    size_t hc;     /* h and c, each [D][B][H] */
    size_t y;      /* [T][B][D][H] */
    size_t logits; /* [T][B][L] */
    size_t probs;  /* [B][T][L] */
    size_t state;  /* [B][state floats] */
} ds2_cuda_plan;

/* Columns of output (f_out*t_out) per im2col chunk so that the chunk fits col_floats. */
static inline long long ds2_cuda_conv_chunk(const ds2_cuda_conv_shape *s, size_t col_floats)
{
    size_t k = (size_t)s->c_in * s->k_freq * s->k_time;
    size_t n = (size_t)s->f_out * s->t_out;
    size_t c = col_floats / k;
    return (long long)(c < n ? c : n);
}

/* Product of up to four non-negative sizes; 0 when it overflows or exceeds the cap (so a
 * zero-sized plan entry always means "refuse"). */
static inline size_t ds2_cuda_size(size_t a, size_t b, size_t c, size_t d)
{
    size_t r = a, f[3] = {b, c, d};
    for (int i = 0; i < 3; i++)
        if (__builtin_mul_overflow(r, f[i], &r))
            return 0;
    return r > DS2_CUDA_MAX_FLOATS ? 0 : r;
}

/* Fills p for a batch; returns 0, or -1 when a size is out of range (too long, too large for
 * cuBLAS's int dimensions, or a conv that leaves no frames). */
static inline int ds2_cuda_plan_make(const ds2_net *n, int batch, int t_max, ds2_cuda_plan *p)
{
    if (batch < 1 || t_max < 1)
        return -1;
    p->batch = batch;
    p->t_max = t_max;
    int t = t_max;
    size_t act[2] = {0, 0}, col = 0;
    for (int i = 0; i < n->n_conv; i++) {
        const ds2_conv_desc *c = &n->conv[i];
        ds2_cuda_conv_shape *s = &p->conv[i];
        s->c_in = c->c_in;
        s->c_out = c->c_out;
        s->k_freq = c->k_freq;
        s->k_time = c->k_time;
        s->stride_freq = c->stride_freq;
        s->stride_time = c->stride_time;
        s->pad_freq = c->pad_freq;
        s->pad_time = c->pad_time;
        s->f_in = c->f_in;
        s->f_out = c->f_out;
        s->t_in = t;
        if (t + 2LL * c->pad_time - c->k_time < 0 || t + 2LL * c->pad_time > INT_MAX)
            return -1;
        s->t_out = ds2_conv_output_size(t, c->k_time, c->stride_time, c->pad_time);
        t = s->t_out;
        size_t cols = ds2_cuda_size((size_t)s->f_out, (size_t)s->t_out, 1, 1);
        size_t out = ds2_cuda_size((size_t)batch, (size_t)s->c_out, cols, 1);
        size_t k = ds2_cuda_size((size_t)s->c_in, (size_t)s->k_freq, (size_t)s->k_time, 1);
        if (!cols || cols > INT_MAX || !out || !k || k > INT_MAX || k > DS2_CUDA_COL_FLOATS)
            return -1;
        size_t chunk = (size_t)ds2_cuda_conv_chunk(s, DS2_CUDA_COL_FLOATS);
        if (act[i % 2] < out)
            act[i % 2] = out;
        if (col < k * chunk)
            col = k * chunk;
    }
    p->t_out = t;
    const size_t B = (size_t)batch, T = (size_t)t, H = (size_t)n->hidden;
    const size_t D = (size_t)n->directions, G = (size_t)n->gates, L = (size_t)n->n_labels;
    const size_t I0 = (size_t)n->layer[0].input_size, width = I0 > H ? I0 : H;
    p->feat = ds2_cuda_size(B, (size_t)n->n_freq, (size_t)t_max, 1);
    p->act[0] = act[0];
    p->act[1] = act[1] ? act[1] : 1;
    p->col = col;
    p->x = ds2_cuda_size(T, B, width, 1);
    p->xp = ds2_cuda_size(T, B, D * G, H);
    p->hp = ds2_cuda_size(D, B, G, H);
    p->hc = ds2_cuda_size(D, B, H, 1);
    p->y = ds2_cuda_size(T, B, D, H);
    p->logits = ds2_cuda_size(T, B, L, 1);
    p->probs = p->logits;
    p->state = ds2_cuda_size(B, (size_t)ds2_net_state_floats(n), 1, 1);
    /* cuBLAS takes int dimensions: rows T*B of the projection and FC GEMMs. */
    if (T * B > INT_MAX || (size_t)n->directions * G * H > INT_MAX)
        return -1;
    const size_t all[] = {p->feat, p->act[0], p->x, p->xp, p->hp, p->hc, p->y, p->logits, p->state};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (!all[i])
            return -1;
    return 0;
}

/* Recurrent steps run as replays of captured graphs of DS2_CUDA_RNN_LONG steps, then of
 * DS2_CUDA_RNN_SHORT steps for the remainder (so at most SHORT-1 steps are wasted). */
#define DS2_CUDA_RNN_LONG 32
#define DS2_CUDA_RNN_SHORT 4

static inline void ds2_cuda_rnn_launches(int max_len, int *n_long, int *n_short)
{
    *n_long = max_len / DS2_CUDA_RNN_LONG;
    *n_short = (max_len % DS2_CUDA_RNN_LONG + DS2_CUDA_RNN_SHORT - 1) / DS2_CUDA_RNN_SHORT;
}

/* Cache of captured recurrent graphs, keyed by (layer, batch, steps): the same graph serves
 * every utterance length because steps read their index from device memory. */
#define DS2_CUDA_GRAPH_SLOTS 32

typedef struct ds2_cuda_graph_key {
    int layer, batch, steps; /* batch 0: empty slot */
    unsigned long long last_use;
} ds2_cuda_graph_key;

/* Slot holding the key with *hit = 1, else the slot to (re)fill: an empty one, or the least
 * recently used. */
static inline int ds2_cuda_graph_slot(const ds2_cuda_graph_key *keys, int n,
                                      ds2_cuda_graph_key want, int *hit)
{
    int victim = 0;
    for (int i = 0; i < n; i++) {
        if (keys[i].batch == want.batch && keys[i].layer == want.layer &&
            keys[i].steps == want.steps) {
            *hit = 1;
            return i;
        }
        if (keys[victim].batch != 0 &&
            (keys[i].batch == 0 || keys[i].last_use < keys[victim].last_use))
            victim = i;
    }
    *hit = 0;
    return victim;
}

#endif
