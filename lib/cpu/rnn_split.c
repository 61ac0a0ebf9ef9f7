/*
 * The recurrence of one direction with all of the session's threads on every step. Thread p owns
 * hidden units [j0, j1): the gate columns g·H + [j0, j1) of W_hh, its cell state and its part of
 * h. Per step it quantizes the whole previous h itself (1 K values: cheaper than any hand-off),
 * adds its columns of h·W_hh^T, runs the cell on its units, and meets the others at a spinning
 * barrier. h is double-buffered, so one barrier per step suffices: a thread writes h_{t+1} into
 * the buffer nobody reads at step t+1.
 *
 * Why: at batch 1 the step streams all of W_hh once. One direction per core streams the whole
 * matrix from L3 every step (4 MiB for H = 1024 int8); split over P cores each streams 1/P of
 * it, which can stay in that core's L2, and alternating the column order each step keeps
 * reuse for the part that does not fit. Each unit's arithmetic is the same as alone, so the
 * result is bit-identical for any thread count.
 *
 * cpu_rnn_recur_dirs runs the two directions of a layer at once instead, each on its own threads
 * with its own state and barrier (rnn_layer.c picks it where a direction's W_hh fits one core's
 * L2 at batch 1: there the barrier, not the product, bounds a step). Same units, same bits.
 */
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/internal.h"
#include "rnn/rnn.h"

typedef struct spin_barrier {
    atomic_int count;
    atomic_int generation;
    int n;
} spin_barrier;

/* Spins (the step is ~10-50 us, a futex wake-up costs as much), then yields so that more
 * threads than free cores still make progress. */
static void barrier_wait(spin_barrier *b)
{
    const int gen = atomic_load_explicit(&b->generation, memory_order_acquire);
    if (atomic_fetch_add_explicit(&b->count, 1, memory_order_acq_rel) == b->n - 1) {
        atomic_store_explicit(&b->count, 0, memory_order_relaxed);
        atomic_store_explicit(&b->generation, gen + 1, memory_order_release);
        return;
    }
    for (int spins = 0; atomic_load_explicit(&b->generation, memory_order_acquire) == gen;)
        if (++spins < 4000)
            __builtin_ia32_pause();
        else
            sched_yield();
}

typedef struct split_job {
    const cpu_model *m;
    const ds2_rnn_kernels *k;
    int layer, d, T, B, P;
    const int *n_active;
    float *proj, *y;
    const cpu_frames *frames; /* non-NULL: proj is room for `chunk` frames, projected here */
    int chunk;
    float *h[2]; /* [B][H] each: h of the previous step / of this step */
    float *c;    /* [B][H] LSTM cell state */
    float *hg;   /* [B][GH] GRU hidden gates */
    float *const *state;
    spin_barrier barrier;
    atomic_int failed;
} split_job;

/* Units of thread p: contiguous, multiples of 16 (whole qgemm column blocks when H is). */
static void unit_range(int H, int P, int p, int *j0, int *j1)
{
    const int blocks = (H + 15) / 16;
    *j0 = blocks * p / P * 16;
    *j1 = blocks * (p + 1) / P * 16;
    if (*j0 > H)
        *j0 = H;
    if (*j1 > H)
        *j1 = H;
}

/* Thread p (0 <= p < job->P) of one direction's recurrence. */
static void split_run(split_job *job, int p)
{
    const cpu_model *m = job->m;
    const ds2_net *net = &m->net;
    const int H = net->hidden, G = net->gates, GH = G * H, B = job->B, d = job->d;
    const int lstm = net->rnn_type == DS2_RNN_LSTM, gru = net->rnn_type == DS2_RNN_GRU;
    const int ld = job->layer * net->directions + d, state_h = H * (lstm ? 2 : 1);
    const float *b_hh = net->layer[job->layer].dir[d].b_hh;
    int j0, j1;
    unit_range(H, job->P, p, &j0, &j1);
    const int nu = j1 - j0;
    void *step = m->lin->step_new(B, H);
    if (!step)
        atomic_store(&job->failed, 1);
    /* Initial state of this thread's units. */
    for (int r = 0; r < B; r++) {
        const float *init = job->state ? job->state[r] + (size_t)d * state_h : NULL;
        float *h = job->h[0] + (size_t)r * H + j0, *c = job->c + (size_t)r * H + j0;
        if (init) {
            memcpy(h, init + j0, sizeof(float) * nu);
            if (lstm)
                memcpy(c, init + H + j0, sizeof(float) * nu);
        } else {
            memset(h, 0, sizeof(float) * nu);
            memset(c, 0, sizeof(float) * nu);
        }
    }
    barrier_wait(&job->barrier);
    const int ok = !atomic_load(&job->failed); /* the same on every thread after the barrier */
    int cur = 0, executed = 0, chunk_t0 = 0;
    for (int s = 0; ok && s < job->T; s++) {
        const int t = d == 0 ? s : job->T - 1 - s;
        if (job->frames && s % job->chunk == 0 && nu > 0) {
            /* This thread's columns of the next chunk's input projections: frames [ta, tb). */
            const int s1 = s + job->chunk < job->T ? s + job->chunk : job->T;
            const int ta = d == 0 ? s : job->T - s1, tb = d == 0 ? s1 : job->T - s;
            const float *bias = m->bias_x[ld];
            chunk_t0 = ta;
            for (int r = 0; r < (tb - ta) * B; r++)
                for (int g = 0; g < G; g++)
                    memcpy(job->proj + (size_t)r * GH + g * H + j0, bias + g * H + j0,
                           sizeof(float) * nu);
            for (int g = 0; g < G; g++)
                if (m->lin->frames_cols(job->frames, m->w_ih[ld], job->proj, GH, ta * B, tb * B,
                                        g * H + j0, g * H + j1, 1) != 0)
                    atomic_store(&job->failed, 1);
        }
        const int n = job->n_active[t];
        if (n == 0)
            continue;
        float *hin = job->h[cur], *hout = job->h[cur ^ 1];
        float *pt = job->proj + (size_t)(t - chunk_t0) * B * GH;
        float *acc_into = gru ? job->hg : pt;
        const int reverse = executed & 1;
        if (gru)
            for (int r = 0; r < n; r++)
                for (int g = 0; g < G; g++)
                    memcpy(job->hg + (size_t)r * GH + g * H + j0, b_hh + g * H + j0,
                           sizeof(float) * nu);
        if (m->lin->step_input(step, hin, n, H) != 0)
            atomic_store(&job->failed, 1);
        for (int gi = 0; gi < G && nu > 0; gi++) {
            const int g = reverse ? G - 1 - gi : gi;
            if (m->lin->step_cols(step, m->w_hh[ld], acc_into, GH, g * H + j0, g * H + j1, 1,
                                  reverse) != 0)
                atomic_store(&job->failed, 1);
        }
        /* Inactive rows keep their h; the GRU cell updates h in place, so it needs the old h in
         * hout too (the LSTM and tanh cells overwrite it). */
        for (int r = gru ? 0 : n; r < B; r++)
            memcpy(hout + (size_t)r * H + j0, hin + (size_t)r * H + j0, sizeof(float) * nu);
        for (int r = 0; r < n && nu > 0; r++) {
            float *h = hout + (size_t)r * H + j0;
            float *pr = pt + (size_t)r * GH + j0;
            switch (net->rnn_type) {
            case DS2_RNN_LSTM:
                job->k->lstm(nu, H, pr, job->c + (size_t)r * H + j0, h);
                break;
            case DS2_RNN_GRU:
                job->k->gru(nu, H, pr, job->hg + (size_t)r * GH + j0, h);
                break;
            default:
                job->k->tanh(nu, pr, h);
                break;
            }
            float *yr = job->y + ((size_t)t * B + r) * H + j0;
            for (int j = 0; j < nu; j++)
                yr[j] += h[j];
        }
        cur ^= 1;
        executed++;
        barrier_wait(&job->barrier);
    }
    if (ok && job->state)
        for (int r = 0; r < B; r++) {
            float *out = job->state[r] + (size_t)d * state_h;
            memcpy(out + j0, job->h[cur] + (size_t)r * H + j0, sizeof(float) * nu);
            if (lstm)
                memcpy(out + H + j0, job->c + (size_t)r * H + j0, sizeof(float) * nu);
        }
    m->lin->step_free(step);
}

/* One or two directions' recurrences running at once: pool threads are handed out in order,
 * job[0].P to the first, job[1].P to the second. */
typedef struct split_jobs {
    int n;
    split_job job[2];
} split_jobs;

static void jobs_worker(void *ctx, int p0, int p1)
{
    (void)p1;
    split_jobs *js = ctx;
    int i = 0, p = p0;
    while (i + 1 < js->n && p >= js->job[i].P)
        p -= js->job[i++].P;
    split_run(&js->job[i], p);
}

/* Directions dirs[0..n) of one layer at once, direction dirs[i] on share[i] threads (at most one
 * per 16 hidden units), each with its own state buffers and barrier. */
static ds2_status run_directions(cpu_session *s, int layer, int n, const int *dirs,
                                 const int *share, float *const *proj, float *const *y, int T,
                                 int B, const int *n_active, float *const *state,
                                 const cpu_frames *frames, int chunk, ds2_err *err)
{
    const cpu_model *m = s->m;
    const ds2_net *net = &m->net;
    const int H = net->hidden, GH = net->gates * net->hidden, max_parts = (H + 15) / 16;
    const size_t BH = (size_t)B * H;
    ds2_status st;
    if ((st = cpu_buf_reserve(&s->w.hs, 2 * BH * n, "RNN state", err)) != DS2_OK ||
        (st = cpu_buf_reserve(&s->w.cs, BH * n, "RNN cell state", err)) != DS2_OK ||
        (st = cpu_buf_reserve(&s->w.hg, (size_t)B * GH * n, "GRU hidden gates", err)) != DS2_OK)
        return st;
    split_jobs js = {.n = n};
    int parts = 0;
    for (int i = 0; i < n; i++) {
        const int P = share[i] < max_parts ? share[i] : max_parts;
        float *hs = s->w.hs.p + 2 * BH * i;
        js.job[i] = (split_job){
            .m = m,
            .k = ds2_rnn_kernels_get(),
            .layer = layer,
            .d = dirs[i],
            .T = T,
            .B = B,
            .P = P,
            .n_active = n_active,
            .proj = proj[i],
            .y = y[i],
            .frames = frames,
            .chunk = chunk > 0 ? chunk : 1,
            .h = {hs, hs + BH},
            .c = s->w.cs.p + BH * i,
            .hg = s->w.hg.p + (size_t)B * GH * i,
            .state = state,
            .barrier = {.n = P},
        };
        parts += P;
    }
    /* One part per thread: parallel_for runs part p on thread p, all at once, so a barrier
     * inside cannot wait on a part that has not started. */
    ds2_threadpool_parallel_for(s->w.pool, parts, 1, jobs_worker, &js);
    for (int i = 0; i < n; i++)
        if (atomic_load(&js.job[i].failed))
            return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY,
                            "cpu backend: recurrent step of layer %d failed (out of memory)",
                            layer);
    return DS2_OK;
}

ds2_status cpu_rnn_recur_split(cpu_session *s, int layer, int d, float *proj, float *y, int T,
                               int B, const int *n_active, float *const *state,
                               const cpu_frames *frames, int chunk, ds2_err *err)
{
    const int dirs[1] = {d}, share[1] = {ds2_threadpool_size(s->w.pool)};
    return run_directions(s, layer, 1, dirs, share, &proj, &y, T, B, n_active, state, frames, chunk,
                          err);
}

ds2_status cpu_rnn_recur_dirs(cpu_session *s, int layer, float *const proj[2], float *const y[2],
                              int T, int B, const int *n_active, float *const *state,
                              const cpu_frames *frames, int chunk, ds2_err *err)
{
    const int P = ds2_threadpool_size(s->w.pool);
    if (P < 2 || s->m->net.directions != 2)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT,
                        "cpu backend: concurrent directions need two directions and two threads");
    /* the backward direction takes the odd thread */
    const int dirs[2] = {0, 1}, share[2] = {P / 2, P - P / 2};
    return run_directions(s, layer, 2, dirs, share, proj, y, T, B, n_active, state, frames, chunk,
                          err);
}
