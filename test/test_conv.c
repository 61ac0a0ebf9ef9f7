/* Conv stack (im2col + sgemm, tiled over frames, fused bias/Hardtanh/mask) against the direct
 * convolution of test/common/naive_ds2.c, run the way MaskConv runs it: whole padded batch
 * tensor, every layer masked with the final output length. Also the AVX2 epilogue against its
 * reference. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "conv/conv.h"
#include "conv/direct1.h"
#include "conv/taps.h"
#include "cpu/internal.h"
#include "naive_ds2.h"
#include "test_random.h"

static unsigned rng = 777;
static float frand(void)
{
    return test_rand(&rng);
}

typedef struct conv_case {
    int n_freq, n_conv;
    int ch[3], kf[3], kt[3], sf[3], st[3], pf[3], pt[3];
} conv_case;

static void make_net(const conv_case *cc, ds2_net *net)
{
    memset(net, 0, sizeof *net);
    net->n_freq = cc->n_freq;
    net->n_conv = cc->n_conv;
    int c_in = 1, f_in = cc->n_freq;
    for (int l = 0; l < cc->n_conv; l++) {
        ds2_conv_desc *c = &net->conv[l];
        *c = (ds2_conv_desc){c_in,      cc->ch[l], cc->kf[l], cc->kt[l], cc->sf[l], cc->st[l],
                             cc->pf[l], cc->pt[l], f_in,      0,         NULL,      NULL};
        c->f_out = ds2_conv_output_size(f_in, c->k_freq, c->stride_freq, c->pad_freq);
        size_t nw = (size_t)c->c_out * c_in * c->k_freq * c->k_time;
        float *w = malloc(sizeof(float) * nw), *b = malloc(sizeof(float) * c->c_out);
        /* scaled so activations spread over the Hardtanh range, both clamps hit */
        float scale = 12.0f / sqrtf((float)(c_in * c->k_freq * c->k_time));
        for (size_t i = 0; i < nw; i++)
            w[i] = scale * frand();
        for (int i = 0; i < c->c_out; i++)
            b[i] = 4.0f * frand() + 2.0f;
        c->weight = w;
        c->bias = b;
        c_in = c->c_out;
        f_in = c->f_out;
    }
}

static void free_net(ds2_net *net)
{
    for (int l = 0; l < net->n_conv; l++) {
        free((void *)net->conv[l].weight);
        free((void *)net->conv[l].bias);
    }
}

/* shift: use the per-tap GEMMs for stride-1 layers (as prepare does); 0 forces full im2col. */
static void run_case(const conv_case *cc, int t_max, int length, size_t col_bytes, int threads,
                     int shift)
{
    ds2_net net;
    make_net(cc, &net);
    cpu_model m = {0};
    m.net = net;
    cpu_session s = {0};
    s.m = &m;
    s.conv_col_bytes = col_bytes;
    ds2_err err = {{0}};
    if (shift)
        ck_assert_int_eq(cpu_conv_pack(&m, &err), DS2_OK);
    ck_assert_int_eq(ds2_threadpool_create(threads, &s.w.pool, &err), DS2_OK);

    float *x = calloc((size_t)net.n_freq * t_max, sizeof(float));
    for (int f = 0; f < net.n_freq; f++)
        for (int t = 0; t < length; t++)
            x[(size_t)f * t_max + t] = 2.0f * frand();
    int out_len = ds2_net_output_length(&net, length);
    int t_rows = ds2_net_output_length(&net, t_max);
    int t_last;
    /* Upstream semantics on the padded [F][t_max] input: naive_ds2's direct convolution. */
    float *want = naive_conv_stack(&net, x, t_max, t_max, out_len, &t_last);
    ck_assert_int_eq(t_last, t_rows);
    const ds2_conv_desc *last = &net.conv[net.n_conv - 1];
    int K = last->c_out * last->f_out, B = 3, row = 1;
    float *x0 = malloc(sizeof(float) * (size_t)t_rows * B * K);
    for (size_t i = 0; i < (size_t)t_rows * B * K; i++)
        x0[i] = NAN; /* other rows must stay untouched, ours fully written */
    ck_assert_int_eq(cpu_conv_utterance(&s, x, t_max, length, out_len, x0, row, B, t_rows, &err),
                     DS2_OK);
    double amax = 0;
    for (size_t i = 0; i < (size_t)t_rows * K; i++)
        amax = fmax(amax, fabs(want[i]));
    for (int t = 0; t < t_rows; t++)
        for (int k = 0; k < K; k++) {
            float got = x0[((size_t)t * B + row) * K + k], w = want[(size_t)t * K + k];
            /* sgemm vs double accumulation: K terms of |w x| <= ~20 each */
            ck_assert_msg(fabsf(got - w) <= 1e-4f * (1.0f + fabsf(w)),
                          "t_max %d len %d: t=%d k=%d got %g want %g", t_max, length, t, k, got, w);
            if (t >= out_len)
                ck_assert_float_eq(got, 0.0f);
            ck_assert(isnan(x0[((size_t)t * B + 0) * K + k]));
            ck_assert(isnan(x0[((size_t)t * B + 2) * K + k]));
        }
    if (length >= 9) /* the case is not trivially zero */
        ck_assert_msg(amax > 1.0, "t_max %d len %d: all near zero", t_max, length);
    free(x0), free(want), free(x);
    cpu_buf_free(&s.conv_in), cpu_buf_free(&s.conv_a), cpu_buf_free(&s.conv_b),
        cpu_buf_free(&s.col);
    ds2_threadpool_destroy(s.w.pool);
    cpu_conv_unpack(&m);
    free_net(&net);
}

/* DS2-shaped stack, scaled down in channels and bins. */
static const conv_case ds2_like = {33,     2,      {4, 3},   {41, 21}, {11, 11},
                                   {2, 2}, {2, 1}, {20, 10}, {5, 5}};
/* Channel counts the direct one-channel kernel (first layer) and the shifted-taps kernel (second
 * layer, stride 1 in time) take where the CPU has them. */
static const conv_case ds2_wide = {33,     2,      {32, 16}, {41, 21}, {11, 11},
                                   {2, 2}, {2, 1}, {20, 10}, {5, 5}};
static const conv_case ds2_16 = {20, 1, {16}, {7}, {3}, {3}, {2}, {3}, {1}};
static const conv_case odd = {17,        3,         {2, 3, 2}, {3, 5, 2}, {4, 3, 1},
                              {1, 2, 1}, {3, 1, 2}, {1, 2, 0}, {2, 1, 0}};

START_TEST(conv_matches_direct)
{
    const size_t unlimited = 1u << 30, tiny = 1; /* tiny: one frame per tile */
    const int lens[][2] = {{40, 40}, {40, 23}, {41, 1}, {9, 9}, {57, 30}, {3, 2}};
    for (int shift = 0; shift < 2; shift++) {
        for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
            run_case(&ds2_like, lens[i][0], lens[i][1], unlimited, 1, shift);
            run_case(&ds2_like, lens[i][0], lens[i][1], tiny, 2, shift);
            run_case(&odd, lens[i][0], lens[i][1], unlimited, 2, shift);
            run_case(&odd, lens[i][0], lens[i][1], tiny, 1, shift);
            run_case(&ds2_wide, lens[i][0], lens[i][1], unlimited, 2, shift);
            run_case(&ds2_16, lens[i][0], lens[i][1], tiny, 1, shift);
        }
    }
    /* Tiles of 3 and 7 frames of conv 2 (partial last tiles). Bytes per output frame: full
     * im2col K * f_out = (4 * 21 * 11) * 9 floats; per-tap path (4 * 21) * 9 floats per frame
     * plus a halo of k_time - 1 = 10 frames. */
    const size_t full = sizeof(float) * 4 * 21 * 11 * 9, tap = sizeof(float) * 4 * 21 * 9;
    run_case(&ds2_like, 50, 47, 3 * full, 2, 0);
    run_case(&ds2_like, 50, 47, 7 * full, 1, 0);
    run_case(&ds2_like, 50, 47, (10 + 3) * tap, 2, 1);
    run_case(&ds2_like, 50, 47, (10 + 7) * tap, 1, 1);
}
END_TEST

START_TEST(epilogue_avx2_exact)
{
    DS2_SKIP_UNLESS_ISA(DS2_ISA_AVX2);
    for (int cols = 1; cols < 40; cols += 3) {
        int rows = 5, ldi = cols + 2, ldo = cols + 7;
        float *in = malloc(sizeof(float) * rows * ldi);
        float *a = calloc((size_t)rows * ldo, sizeof(float)), *r = calloc((size_t)rows * ldo, 4);
        for (int i = 0; i < rows * ldi; i++)
            in[i] = 30.0f * frand();
        in[0] = 20.0f - 1.5f; /* exactly at the limit after the bias */
        ds2_conv_bias_hardtanh_ukernel__ref(rows, cols, in, ldi, 1.5f, 0.0f, 20.0f, r, ldo);
        ds2_conv_bias_hardtanh_ukernel__avx2(rows, cols, in, ldi, 1.5f, 0.0f, 20.0f, a, ldo);
        ck_assert_mem_eq(a, r, sizeof(float) * rows * ldo);
        free(in), free(a), free(r);
    }
}
END_TEST

/* One direct1 case: the reference against a double-precision convolution (bound from K and the
 * value range), and every optimised version against the reference bit for bit. */
static void direct1_case(int f_out, int c_out, int k_freq, int k_time, int sf)
{
    const int ld_x = (f_out - 1) * sf + k_freq + 3, taps = k_freq * k_time;
    const size_t ld_c = (size_t)f_out + 5;
    float *x = malloc(sizeof(float) * (size_t)k_time * ld_x);
    float *w = malloc(sizeof(float) * (size_t)taps * c_out), *bias = malloc(sizeof(float) * c_out);
    float *ref = malloc(sizeof(float) * c_out * ld_c), *opt = malloc(sizeof(float) * c_out * ld_c);
    for (int i = 0; i < k_time * ld_x; i++)
        x[i] = 3.0f * frand(); /* a normalised spectrogram: a few units either side of 0 */
    const float ws = 12.0f / sqrtf((float)taps);
    for (int i = 0; i < taps * c_out; i++)
        w[i] = ws * frand();
    for (int i = 0; i < c_out; i++)
        bias[i] = 4.0f * frand() + 2.0f;
    ds2_conv_direct1_geom g = {k_freq, k_time, sf, f_out, c_out, ld_x, ld_c, 0.0f, 20.0f};
    for (size_t i = 0; i < (size_t)c_out * ld_c; i++)
        ref[i] = opt[i] = -7.0f; /* the gaps between channels stay untouched */
    ds2_conv_direct1_ukernel_12x32__ref(&g, x, w, bias, ref);
    for (int co = 0; co < c_out; co++)
        for (int f = 0; f < f_out; f++) {
            double acc = bias[co], mag = 0;
            for (int kt = 0; kt < k_time; kt++)
                for (int kf = 0; kf < k_freq; kf++) {
                    double p =
                        (double)x[kt * ld_x + f * sf + kf] * w[(kt * k_freq + kf) * c_out + co];
                    acc += p, mag += fabs(p);
                }
            acc = acc < 0 ? 0 : acc > 20 ? 20 : acc;
            /* float accumulation of `taps` terms: |error| <= taps · 2^-24 · Σ|terms| (+1 ulp) */
            const double bound = (taps + 1) * 0x1p-24 * (mag + fabs(bias[co])) + 1e-6;
            ck_assert_msg(fabs(ref[co * ld_c + f] - acc) <= bound, "co %d f %d: %g vs %g", co, f,
                          ref[co * ld_c + f], acc);
        }
    ds2_conv_direct1_ukernel_fn best = ds2_conv_direct1_get(c_out);
    if (best) {
        best(&g, x, w, bias, opt);
        ck_assert_mem_eq(opt, ref, sizeof(float) * c_out * ld_c);
    }
    if (c_out % 16 == 0 && ds2_cpu_has(DS2_ISA_AVX2)) {
        for (size_t i = 0; i < (size_t)c_out * ld_c; i++)
            opt[i] = -7.0f;
        ds2_conv_direct1_ukernel_6x16__avx2(&g, x, w, bias, opt);
        ck_assert_mem_eq(opt, ref, sizeof(float) * c_out * ld_c);
    }
    free(x), free(w), free(bias), free(ref), free(opt);
}

START_TEST(direct1_reference)
{
    direct1_case(81, 32, 41, 11, 2); /* DS2's first layer on 161 bins */
    direct1_case(5, 16, 3, 2, 1);    /* fewer bins than one tile */
    direct1_case(12, 48, 4, 3, 3);   /* exactly one tile; a 16-channel tail group */
    direct1_case(13, 20, 5, 1, 2);   /* no optimised version (c_out % 16) */
}
END_TEST

/* The optimised versions this CPU has (AVX2, AVX-512) against the reference, bit for bit, over
 * tile edges and channel groups. */
START_TEST(direct1_simd_exact)
{
    DS2_SKIP_UNLESS_ISA(DS2_ISA_AVX2);
    ck_assert_ptr_nonnull(ds2_conv_direct1_get(32));
    ck_assert_ptr_null(ds2_conv_direct1_get(20));
    for (int f_out = 1; f_out <= 30; f_out += 4)
        for (int c_out = 16; c_out <= 64; c_out += 16)
            direct1_case(f_out, c_out, 7, 3, 2);
}
END_TEST

/* One shifted-taps case: the reference against a double-precision sum (bound from the term
 * count and magnitudes), every optimised version against the reference bit for bit. */
static void taps_case(int taps, int k, int n, int c_out, int shift)
{
    const size_t ld_x = (size_t)k + 3, rows = (size_t)n + (taps - 1) * shift,
                 ld_out = (size_t)n + 9;
    float *x = malloc(sizeof(float) * rows * ld_x);
    float *w = malloc(sizeof(float) * (size_t)taps * c_out * k), *bias = malloc(4 * c_out);
    float *ref = malloc(sizeof(float) * c_out * ld_out),
          *opt = malloc(sizeof(float) * c_out * ld_out);
    for (size_t i = 0; i < rows * ld_x; i++)
        x[i] = 10.0f + 10.0f * frand(); /* a Hardtanh(0, 20) output */
    const float ws = 2.0f / sqrtf((float)(taps * k));
    for (int i = 0; i < taps * c_out * k; i++)
        w[i] = ws * frand();
    for (int i = 0; i < c_out; i++)
        bias[i] = 4.0f * frand() - 2.0f;
    ds2_conv_taps_geom g = {taps, k, n, c_out, shift, ld_x, ld_out, 0.0f, 20.0f};
    for (size_t i = 0; i < (size_t)c_out * ld_out; i++)
        ref[i] = opt[i] = -7.0f; /* the gaps between channels stay untouched */
    ds2_conv_taps_ukernel_12x32__ref(&g, x, w, bias, ref);
    int inside = 0;
    for (int co = 0; co < c_out; co++)
        for (int p = 0; p < n; p++) {
            double acc = bias[co], mag = fabs(bias[co]);
            for (int t = 0; t < taps; t++)
                for (int r = 0; r < k; r++) {
                    const double v = (double)w[((size_t)t * k + r) * c_out + co] *
                                     x[(size_t)(p + t * shift) * ld_x + r];
                    acc += v, mag += fabs(v);
                }
            const double want = acc < 0 ? 0 : acc > 20 ? 20 : acc;
            inside += want > 0 && want < 20;
            /* float accumulation of taps * k terms: |error| <= (taps * k + 1) 2^-24 Σ|terms| */
            const double bound = (taps * k + 1) * 0x1p-24 * mag + 1e-6;
            ck_assert_msg(fabs(ref[co * ld_out + p] - want) <= bound, "co %d p %d: %g vs %g", co, p,
                          ref[co * ld_out + p], want);
        }
    ck_assert_int_gt(inside, 0);
    ds2_conv_taps_ukernel_fn best = ds2_conv_taps_get(c_out);
    if (best) {
        best(&g, x, w, bias, opt);
        ck_assert_mem_eq(opt, ref, sizeof(float) * c_out * ld_out);
    }
    if (c_out % 16 == 0 && ds2_cpu_has(DS2_ISA_AVX2)) {
        for (size_t i = 0; i < (size_t)c_out * ld_out; i++)
            opt[i] = -7.0f;
        ds2_conv_taps_ukernel_6x16__avx2(&g, x, w, bias, opt);
        ck_assert_mem_eq(opt, ref, sizeof(float) * c_out * ld_out);
    }
    free(x), free(w), free(bias), free(ref), free(opt);
}

START_TEST(taps_reference)
{
    taps_case(11, 21, 41 * 3, 32, 41); /* DS2's conv2 shape, narrowed: 3 frames of 41 bins */
    taps_case(3, 5, 7, 8, 2);          /* fewer positions than one vector */
    taps_case(1, 9, 24, 16, 4);        /* exactly two tiles */
    taps_case(2, 4, 50, 12, 3);        /* no optimised version (c_out % 16) */
}
END_TEST

START_TEST(taps_simd_exact)
{
    DS2_SKIP_UNLESS_ISA(DS2_ISA_AVX2);
    ck_assert_ptr_nonnull(ds2_conv_taps_get(32));
    ck_assert_ptr_null(ds2_conv_taps_get(24));
    for (int n = 1; n <= 70; n += 5)
        for (int c_out = 16; c_out <= 48; c_out += 16)
            taps_case(3, 6, n, c_out, 5);
}
END_TEST

static Suite *conv_suite(void)
{
    Suite *s = suite_create("conv");
    TCase *tc = tcase_create("conv");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, conv_matches_direct);
    tcase_add_test(tc, epilogue_avx2_exact);
    tcase_add_test(tc, direct1_reference);
    tcase_add_test(tc, direct1_simd_exact);
    tcase_add_test(tc, taps_reference);
    tcase_add_test(tc, taps_simd_exact);
    suite_add_tcase(s, tc);
    return s;
}

DS2_CHECK_MAIN(conv_suite)
