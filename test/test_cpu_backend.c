/* The CPU backend (both rows of the backend table) on random small nets: against the naive double
 * forward (test/common/naive_ds2.c), batch invariance, carried state, a hand-computed H=1 net, and
 * argument checking. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "core/backends.h"
#include "naive_ds2.h"
#include "test_random.h"

/* The backend under test and its tolerance against the naive double forward, set per TCase:
 * fp32 differs only by float rounding; int8 by quantization (per-row int8 weights, per-row
 * uint8 activations: relative error ~1/255 per product, compounding over layers and frames). */
static const ds2_backend_i *backend;
static ds2_precision precision;
static float tol_naive;

/* The backend as sessions find it: through the backend table. */
static void use_backend(ds2_precision p)
{
    const ds2_backend *row = ds2_backend_find(DS2_DEVICE_CPU, p);
    ck_assert_ptr_nonnull(row);
    backend = row->impl;
    precision = p;
}

static void use_fp32(void)
{
    use_backend(DS2_PRECISION_FP32);
    tol_naive = 2e-5f;
}

static void use_int8(void)
{
    use_backend(DS2_PRECISION_INT8);
    tol_naive = 0.04f; /* observed max 0.012 (tanh RNN, chaotic random weights) with fp32
                        * convs; the int8 convs' static [0, 20] input range adds ~0.02 */
}

static unsigned rng = 99;
static float frand(void)
{
    return test_rand(&rng);
}

/* [batch][n_freq][t_max], random within each length, zero past it. */
static float *make_features(int n_freq, int batch, const int *len, int *t_max)
{
    *t_max = 0;
    for (int b = 0; b < batch; b++)
        *t_max = len[b] > *t_max ? len[b] : *t_max;
    float *x = calloc((size_t)batch * n_freq * *t_max, sizeof(float));
    for (int b = 0; b < batch; b++)
        for (int f = 0; f < n_freq; f++)
            for (int t = 0; t < len[b]; t++)
                x[((size_t)b * n_freq + f) * *t_max + t] = 1.5f * frand();
    return x;
}

typedef struct runner {
    const ds2_net *net;
    void *model, *session;
} runner;

static runner open_runner(const ds2_net *net, int threads)
{
    runner r = {net, NULL, NULL};
    ds2_err err = {{0}};
    ck_assert_msg(backend->prepare(net, precision, 0, &r.model, &err) == DS2_OK, "%s", err.msg);
    ck_assert_msg(backend->session_create(net, r.model, threads, 0, &r.session, &err) == DS2_OK,
                  "%s", err.msg);
    return r;
}

static void close_runner(runner *r)
{
    backend->session_free(r->session);
    backend->release(r->model);
}

/* Runs a batch; returns probs [batch][t_out_max][L] (t_out_max via *t_out). */
static float *run(runner *r, int batch, const int *len, const float *x, int t_max, float *state,
                  int *t_out, int *out_len)
{
    ds2_forward_batch fb = {batch, r->net->n_freq, t_max, len, x, 0, out_len, NULL, state, 0};
    fb.t_out_max = ds2_net_output_length(r->net, t_max);
    fb.probs = malloc(sizeof(float) * batch * fb.t_out_max * r->net->n_labels);
    ds2_err err = {{0}};
    ck_assert_msg(backend->forward(r->session, &fb, &err) == DS2_OK, "%s", err.msg);
    *t_out = fb.t_out_max;
    return fb.probs;
}

static const char *type_name(ds2_rnn_type t)
{
    return t == DS2_RNN_LSTM ? "lstm" : t == DS2_RNN_GRU ? "gru" : "rnn";
}

static void check_against_naive(const rand_net_spec *spec, int threads, double tol)
{
    ds2_net *net = rand_net_create(spec);
    runner r = open_runner(net, threads);
    const int len[] = {50, 31, 9, 50}, B = 4, L = net->n_labels;
    int t_max, t_out, out_len[4];
    float *x = make_features(net->n_freq, B, len, &t_max);
    float *p = run(&r, B, len, x, t_max, NULL, &t_out, out_len);
    float *want = malloc(sizeof(float) * t_out * L);
    for (int b = 0; b < B; b++) {
        int n = naive_forward(net, x + (size_t)b * net->n_freq * t_max, t_max, len[b], NULL, want);
        ck_assert_int_eq(n, out_len[b]);
        for (int t = 0; t < t_out; t++)
            for (int k = 0; k < L; k++) {
                float got = p[((size_t)b * t_out + t) * L + k];
                if (t >= n) {
                    ck_assert_float_eq(got, 0.0f);
                    continue;
                }
                ck_assert_msg(fabs(got - want[t * L + k]) <= tol,
                              "%s bidir %d int8 %d: b %d t %d k %d: %.7f vs naive %.7f",
                              type_name(spec->type), spec->bidirectional, spec->int8, b, t, k, got,
                              want[t * L + k]);
            }
    }
    free(want), free(p), free(x);
    close_runner(&r);
    rand_net_free(net);
}

START_TEST(matches_naive_forward)
{
    const ds2_rnn_type types[] = {DS2_RNN_LSTM, DS2_RNN_GRU, DS2_RNN_TANH};
    for (int ti = 0; ti < 3; ti++)
        for (int bidir = 0; bidir < 2; bidir++) {
            rand_net_spec s = rand_net_ds2_like(types[ti], 12, 2, bidir, 33);
            s.seed = 10 + ti * 2 + bidir;
            check_against_naive(&s, 1 + bidir, tol_naive);
        }
    /* H not a multiple of 8 (AVX2 tails), three layers, int8-stored weights (dequantized) */
    rand_net_spec s = rand_net_ds2_like(DS2_RNN_LSTM, 13, 3, 1, 20);
    s.int8 = 1;
    check_against_naive(&s, 2, tol_naive);
    s = rand_net_ds2_like(DS2_RNN_GRU, 5, 1, 0, 20);
    s.context = 4;
    check_against_naive(&s, 1, tol_naive);
}
END_TEST

/* Each utterance alone == the same utterance inside a batch, in any order. */
static void check_batch_invariance(const rand_net_spec *spec, int threads)
{
    ds2_net *net = rand_net_create(spec);
    runner r = open_runner(net, threads);
    const int len[] = {37, 20, 37, 5, 29}, B = 5, L = net->n_labels;
    int t_max, t_out, out_len[5];
    float *x = make_features(net->n_freq, B, len, &t_max);
    float *p = run(&r, B, len, x, t_max, NULL, &t_out, out_len);
    for (int b = 0; b < B; b++) {
        int t1, t1_max, ol;
        float *x1 = make_features(net->n_freq, 1, &len[b], &t1_max);
        for (int f = 0; f < net->n_freq; f++)
            memcpy(x1 + (size_t)f * t1_max, x + ((size_t)b * net->n_freq + f) * t_max,
                   sizeof(float) * len[b]);
        float *p1 = run(&r, 1, &len[b], x1, t1_max, NULL, &t1, &ol);
        ck_assert_int_eq(ol, out_len[b]);
        for (int t = 0; t < t_out; t++)
            for (int k = 0; k < L; k++) {
                float got = p[((size_t)b * t_out + t) * L + k];
                float want = t < ol ? p1[t * L + k] : 0.0f;
                ck_assert_msg(fabsf(got - want) <= 1e-5f, "%s: utt %d t %d: %g alone %g",
                              type_name(spec->type), b, t, got, want);
            }
        free(p1), free(x1);
    }
    free(p), free(x);
    close_runner(&r);
    rand_net_free(net);
}

START_TEST(batch_invariance)
{
    const ds2_rnn_type types[] = {DS2_RNN_LSTM, DS2_RNN_GRU, DS2_RNN_TANH};
    for (int ti = 0; ti < 3; ti++)
        for (int bidir = 0; bidir < 2; bidir++) {
            rand_net_spec s = rand_net_ds2_like(types[ti], 16, 2, bidir, 33);
            s.seed = 40 + ti;
            check_batch_invariance(&s, 1);
            check_batch_invariance(&s, 2);
        }
    /* wide enough that the cells and int8 products split across the pool (batch * H >= 4096) */
    rand_net_spec s = rand_net_ds2_like(DS2_RNN_GRU, 1024, 1, 0, 20);
    check_batch_invariance(&s, 2);
}
END_TEST

/* A net with no temporal context outside the RNN (1x1-in-time convs, lookahead 1): running a
 * batch in two chunks with carried state equals running it whole. */
START_TEST(chunked_state_unidirectional)
{
    const ds2_rnn_type types[] = {DS2_RNN_LSTM, DS2_RNN_GRU, DS2_RNN_TANH};
    for (int ti = 0; ti < 3; ti++) {
        rand_net_spec s = rand_net_ds2_like(types[ti], 10, 2, 0, 12);
        s.context = 1;
        for (int l = 0; l < 2; l++)
            s.kt[l] = 1, s.st[l] = 1, s.pt[l] = 0;
        ds2_net *net = rand_net_create(&s);
        runner r = open_runner(net, 2);
        const int len[] = {40, 27, 33}, B = 3, L = net->n_labels, cut = 15;
        const int SF = ds2_net_state_floats(net);
        int t_max, t_out, ol[3];
        float *x = make_features(net->n_freq, B, len, &t_max);
        float *state_full = calloc((size_t)B * SF, sizeof(float));
        float *p = run(&r, B, len, x, t_max, state_full, &t_out, ol);

        /* chunk 1: frames [0, cut), chunk 2: the rest, state carried */
        int len1[3], len2[3], t1, t2, o1[3], o2[3];
        for (int b = 0; b < B; b++)
            len1[b] = cut, len2[b] = len[b] - cut;
        float *x1 = calloc((size_t)B * net->n_freq * cut, sizeof(float));
        float *x2 = calloc((size_t)B * net->n_freq * (t_max - cut), sizeof(float));
        for (int b = 0; b < B; b++)
            for (int f = 0; f < net->n_freq; f++) {
                const float *src = x + ((size_t)b * net->n_freq + f) * t_max;
                memcpy(x1 + ((size_t)b * net->n_freq + f) * cut, src, sizeof(float) * cut);
                memcpy(x2 + ((size_t)b * net->n_freq + f) * (t_max - cut), src + cut,
                       sizeof(float) * (t_max - cut));
            }
        float *state = calloc((size_t)B * SF, sizeof(float));
        float *p1 = run(&r, B, len1, x1, cut, state, &t1, o1);
        float *p2 = run(&r, B, len2, x2, t_max - cut, state, &t2, o2);
        for (int b = 0; b < B; b++) {
            ck_assert_int_eq(o1[b] + o2[b], ol[b]);
            for (int t = 0; t < ol[b]; t++)
                for (int k = 0; k < L; k++) {
                    float got = t < cut ? p1[((size_t)b * t1 + t) * L + k]
                                        : p2[((size_t)b * t2 + t - cut) * L + k];
                    ck_assert_msg(fabsf(got - p[((size_t)b * t_out + t) * L + k]) <= 1e-5f,
                                  "%s: utt %d t %d", type_name(s.type), b, t);
                }
        }
        for (int i = 0; i < B * SF; i++)
            ck_assert_msg(fabsf(state[i] - state_full[i]) <= 1e-5f, "%s: state %d: %g vs %g",
                          type_name(s.type), i, state[i], state_full[i]);
        free(p), free(p1), free(p2), free(x), free(x1), free(x2), free(state), free(state_full);
        close_runner(&r);
        rand_net_free(net);
    }
}
END_TEST

/* Carried state in a bidirectional net: initial state for both directions, and the final state
 * returned is forward after the last frame, backward after frame 0 (torch's h_n). */
START_TEST(state_matches_naive)
{
    const ds2_rnn_type types[] = {DS2_RNN_LSTM, DS2_RNN_GRU, DS2_RNN_TANH};
    for (int ti = 0; ti < 3; ti++)
        for (int bidir = 0; bidir < 2; bidir++) {
            rand_net_spec s = rand_net_ds2_like(types[ti], 9, 2, bidir, 20);
            s.seed = 70 + ti;
            ds2_net *net = rand_net_create(&s);
            runner r = open_runner(net, 1);
            const int len[] = {23, 40}, B = 2, L = net->n_labels;
            const int SF = ds2_net_state_floats(net);
            int t_max, t_out, ol[2];
            float *x = make_features(net->n_freq, B, len, &t_max);
            float *state = malloc(sizeof(float) * B * SF), *ref_state = malloc(sizeof(float) * SF);
            for (int i = 0; i < B * SF; i++)
                state[i] = 0.8f * frand();
            float *init = malloc(sizeof(float) * B * SF);
            memcpy(init, state, sizeof(float) * B * SF);
            float *p = run(&r, B, len, x, t_max, state, &t_out, ol);
            float *want = malloc(sizeof(float) * t_out * L);
            for (int b = 0; b < B; b++) {
                memcpy(ref_state, init + (size_t)b * SF, sizeof(float) * SF);
                naive_forward(net, x + (size_t)b * net->n_freq * t_max, t_max, len[b], ref_state,
                              want);
                for (int t = 0; t < ol[b]; t++)
                    for (int k = 0; k < L; k++)
                        ck_assert_msg(fabsf(p[((size_t)b * t_out + t) * L + k] - want[t * L + k]) <=
                                          tol_naive,
                                      "%s bidir %d: utt %d t %d", type_name(s.type), bidir, b, t);
                for (int i = 0; i < SF; i++)
                    ck_assert_msg(fabsf(state[(size_t)b * SF + i] - ref_state[i]) <=
                                      tol_naive * (1 + fabsf(ref_state[i])),
                                  "%s bidir %d: utt %d state %d: %g vs %g", type_name(s.type),
                                  bidir, b, i, state[(size_t)b * SF + i], ref_state[i]);
            }
            free(p), free(want), free(x), free(state), free(ref_state), free(init);
            close_runner(&r);
            rand_net_free(net);
        }
}
END_TEST

/* Both directions at once (batch 1, a small W_hh: lib/cpu/rnn_layer.c) against one after the
 * other (1 thread; and inside a batch, where every thread works on each step): the same bits,
 * probabilities and carried state, with 2, 3 and 4 threads (3: the directions get 1 and 2). */
static float *run_exact(const ds2_net *net, int threads, int batch, const int *len, const float *x,
                        int t_max, float *state, int *t_out)
{
    runner r = open_runner(net, threads);
    int ol[3];
    float *p = run(&r, batch, len, x, t_max, state, t_out, ol);
    close_runner(&r);
    return p;
}

START_TEST(directions_at_once_same_bits)
{
    const ds2_rnn_type types[] = {DS2_RNN_LSTM, DS2_RNN_GRU, DS2_RNN_TANH};
    const int hidden[] = {13, 40};
    for (int ti = 0; ti < 3; ti++)
        for (int hi = 0; hi < 2; hi++) {
            rand_net_spec s = rand_net_ds2_like(types[ti], hidden[hi], 2, 1, 20);
            s.seed = 90 + ti * 2 + hi;
            ds2_net *net = rand_net_create(&s);
            const int SF = ds2_net_state_floats(net), L = net->n_labels;
            const int len[] = {31, 31, 17};
            int t_max, t_out, t_ref;
            float *x = make_features(net->n_freq, 3, len, &t_max);
            float *init = malloc(sizeof(float) * 3 * SF);
            for (int i = 0; i < 3 * SF; i++)
                init[i] = 0.5f * frand();
            float *ref_state = malloc(sizeof(float) * 3 * SF), *state = malloc(sizeof(float) * SF);
            memcpy(ref_state, init, sizeof(float) * SF);
            /* utterance 0 alone on 1 thread: the directions one after the other */
            float *ref = run_exact(net, 1, 1, len, x, t_max, ref_state, &t_ref);
            const size_t n = (size_t)t_ref * L;
            for (int threads = 2; threads <= 4; threads++) {
                memcpy(state, init, sizeof(float) * SF);
                float *p = run_exact(net, threads, 1, len, x, t_max, state, &t_out);
                ck_assert_int_eq(t_out, t_ref);
                ck_assert_msg(!memcmp(p, ref, sizeof(float) * n), "%s H %d, %d threads: probs",
                              type_name(s.type), hidden[hi], threads);
                ck_assert_msg(!memcmp(state, ref_state, sizeof(float) * SF),
                              "%s H %d, %d threads: state", type_name(s.type), hidden[hi], threads);
                free(p);
            }
            /* the same utterance inside a batch of 3 on 2 threads (every thread on each step) */
            float *batch_state = malloc(sizeof(float) * 3 * SF);
            memcpy(batch_state, init, sizeof(float) * 3 * SF);
            float *pb = run_exact(net, 2, 3, len, x, t_max, batch_state, &t_out);
            ck_assert_int_eq(t_out, t_ref);
            ck_assert_msg(!memcmp(pb, ref, sizeof(float) * n), "%s H %d: batch probs",
                          type_name(s.type), hidden[hi]);
            ck_assert_msg(!memcmp(batch_state, ref_state, sizeof(float) * SF),
                          "%s H %d: batch state", type_name(s.type), hidden[hi]);
            free(pb), free(batch_state), free(ref), free(state), free(ref_state), free(init);
            free(x);
            rand_net_free(net);
        }
}
END_TEST

/* H = 1, one tanh layer, one 1x1 conv, lookahead 2, two labels: computed here by hand. */
START_TEST(hand_checked_tiny_net)
{
    const float cw = 2.0f, cb = -1.0f, wih = 0.5f, whh = -0.75f, bih = 0.1f, bhh = 0.2f;
    const float la[2] = {1.5f, 0.5f}, fcw[2] = {2.0f, -1.0f}, fcb[2] = {0.0f, 0.3f};
    ds2_rnn_layer layer = {1, {{{1, 1, &wih, NULL, NULL}, {1, 1, &whh, NULL, NULL}, &bih, &bhh}}};
    ds2_net net = {0};
    net.n_freq = 1;
    net.n_conv = 1;
    net.conv[0] = (ds2_conv_desc){1, 1, 1, 1, 1, 1, 0, 0, 1, 1, &cw, &cb};
    net.rnn_type = DS2_RNN_TANH;
    net.gates = 1;
    net.hidden = 1;
    net.layers = 1;
    net.directions = 1;
    net.layer = &layer;
    net.lookahead_context = 2;
    net.lookahead_w = la;
    net.fc = (ds2_matrix){2, 1, fcw, NULL, NULL};
    net.fc_bias = fcb;
    net.n_labels = 2;
    const float x[4] = {1.0f, 0.25f, 12.0f, -3.0f}; /* conv: 1, 0 (clamped), 20 (clamped), 0 */
    runner r = open_runner(&net, 1);
    int len = 4, t_out, ol;
    float *p = run(&r, 1, &len, x, 4, NULL, &t_out, &ol);
    double u[4], h[4], hp = 0;
    for (int t = 0; t < 4; t++) {
        u[t] = fmin(fmax(cw * x[t] + cb, 0), 20);
        h[t] = hp = tanh(wih * u[t] + bih + whh * hp + bhh);
    }
    ck_assert_int_eq(ol, 4);
    for (int t = 0; t < 4; t++) {
        double a = fmin(fmax(la[0] * h[t] + (t + 1 < 4 ? la[1] * h[t + 1] : 0), 0), 20);
        double z0 = fcw[0] * a + fcb[0], z1 = fcw[1] * a + fcb[1];
        double p0 = 1 / (1 + exp(z1 - z0));
        ck_assert_msg(fabs(p[t * 2] - p0) < 1e-6 && fabs(p[t * 2 + 1] - (1 - p0)) < 1e-6,
                      "t %d: %g %g vs %g", t, p[t * 2], p[t * 2 + 1], p0);
    }
    free(p);
    close_runner(&r);
}
END_TEST

START_TEST(rejects_bad_arguments)
{
    rand_net_spec s = rand_net_ds2_like(DS2_RNN_GRU, 8, 1, 1, 20);
    ds2_net *net = rand_net_create(&s);
    runner r = open_runner(net, 1);
    int len[2] = {10, 12}, ol[2];
    int t_max;
    float *x = make_features(net->n_freq, 2, len, &t_max);
    float probs[2 * 12 * 7];
    ds2_forward_batch ok = {2, net->n_freq, t_max, len, x, 0, ol, probs, NULL, 0};
    ok.t_out_max = ds2_net_output_length(net, t_max);
    ds2_err err = {{0}};
    ck_assert_int_eq(backend->forward(r.session, &ok, &err), DS2_OK);
    ds2_forward_batch b = ok;
    b.n_freq++;
    ck_assert_int_eq(backend->forward(r.session, &b, &err), DS2_ERR_INVALID_ARGUMENT);
    ck_assert(strstr(err.msg, "frequency") != NULL);
    b = ok;
    b.t_out_max++;
    ck_assert_int_eq(backend->forward(r.session, &b, &err), DS2_ERR_INVALID_ARGUMENT);
    b = ok;
    b.batch = 0;
    ck_assert_int_eq(backend->forward(r.session, &b, &err), DS2_ERR_INVALID_ARGUMENT);
    b = ok;
    b.probs = NULL;
    ck_assert_int_eq(backend->forward(r.session, &b, &err), DS2_ERR_INVALID_ARGUMENT);
    len[1] = 13; /* > t_max */
    ck_assert_int_eq(backend->forward(r.session, &ok, &err), DS2_ERR_INVALID_ARGUMENT);
    len[1] = 0;
    ck_assert_int_eq(backend->forward(r.session, &ok, &err), DS2_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(backend->forward(NULL, &ok, &err), DS2_ERR_INVALID_ARGUMENT);
    close_runner(&r);

    /* malformed nets are refused at prepare */
    void *model = (void *)1;
    ds2_net bad = *net;
    bad.gates = 4;
    ck_assert_int_eq(backend->prepare(&bad, precision, 0, &model, &err), DS2_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(model);
    bad = *net;
    bad.conv[1].f_out++;
    ck_assert_int_eq(backend->prepare(&bad, precision, 0, &model, &err), DS2_ERR_INVALID_ARGUMENT);
    bad = *net;
    bad.fc.cols++;
    ck_assert_int_eq(backend->prepare(&bad, precision, 0, &model, &err), DS2_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(backend->prepare(NULL, precision, 0, &model, &err), DS2_ERR_INVALID_ARGUMENT);
    void *sess = (void *)1;
    ck_assert_int_eq(backend->session_create(net, NULL, 1, 0, &sess, &err),
                     DS2_ERR_INVALID_ARGUMENT);
    free(x);
    rand_net_free(net);
}
END_TEST

/* Sessions of one prepared model used from two threads at once give the same results as one
 * after the other: no shared mutable state in the backend. */
typedef struct session_thread {
    const ds2_net *net;
    void *model;
    int len[3], t_max;
    const float *x;
    float *probs;
    int t_out;
} session_thread;

static void *session_thread_main(void *arg)
{
    session_thread *st = arg;
    runner r = {st->net, st->model, NULL};
    ds2_err err = {{0}};
    if (backend->session_create(st->net, st->model, 2, 0, &r.session, &err) != DS2_OK)
        return NULL;
    int ol[3];
    for (int i = 0; i < 3; i++) {
        free(st->probs);
        st->probs = run(&r, 3, st->len, st->x, st->t_max, NULL, &st->t_out, ol);
    }
    backend->session_free(r.session);
    return NULL;
}

START_TEST(concurrent_sessions)
{
    rand_net_spec s = rand_net_ds2_like(DS2_RNN_LSTM, 64, 2, 1, 33);
    ds2_net *net = rand_net_create(&s);
    runner r = open_runner(net, 1);
    session_thread st[2] = {{net, r.model, {30, 44, 12}, 0, NULL, NULL, 0},
                            {net, r.model, {20, 9, 41}, 0, NULL, NULL, 0}};
    float *x[2], *want[2];
    for (int i = 0; i < 2; i++) {
        x[i] = make_features(net->n_freq, 3, st[i].len, &st[i].t_max);
        st[i].x = x[i];
        int t_out, ol[3];
        want[i] = run(&r, 3, st[i].len, x[i], st[i].t_max, NULL, &t_out, ol);
    }
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, session_thread_main, &st[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 2; i++) {
        ck_assert_ptr_nonnull(st[i].probs);
        size_t n = (size_t)3 * st[i].t_out * net->n_labels;
        for (size_t k = 0; k < n; k++)
            ck_assert_msg(fabsf(st[i].probs[k] - want[i][k]) <= 1e-6f, "thread %d: %g vs %g", i,
                          st[i].probs[k], want[i][k]);
        free(st[i].probs), free(want[i]), free(x[i]);
    }
    close_runner(&r);
    rand_net_free(net);
}
END_TEST

static TCase *backend_case(const char *name, void (*setup)(void), int hand_checked)
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, 300);
    tcase_add_unchecked_fixture(tc, setup, NULL);
    tcase_add_test(tc, matches_naive_forward);
    tcase_add_test(tc, batch_invariance);
    tcase_add_test(tc, chunked_state_unidirectional);
    tcase_add_test(tc, state_matches_naive);
    tcase_add_test(tc, directions_at_once_same_bits);
    if (hand_checked) /* exact arithmetic only */
        tcase_add_test(tc, hand_checked_tiny_net);
    tcase_add_test(tc, rejects_bad_arguments);
    tcase_add_test(tc, concurrent_sessions);
    return tc;
}

static Suite *cpu_backend_suite(void)
{
    Suite *s = suite_create("cpu_backend");
    suite_add_tcase(s, backend_case("fp32", use_fp32, 1));
    suite_add_tcase(s, backend_case("int8", use_int8, 0));
    return s;
}

DS2_CHECK_MAIN(cpu_backend_suite)
