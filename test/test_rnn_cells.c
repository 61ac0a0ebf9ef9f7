/* AVX2 recurrent cells against the scalar reference (libm expf/tanhf).
 *
 * Bound: each AVX2 sigmoid/tanh is within EPS = 1e-6 relative of the true function (measured
 * max 1.9e-7 over [-100, 100]; libm's own error is < 1 ulp). Propagating that through each cell:
 *
 *   tanh cell:  |dh| <= 3 EPS |h|
 *   LSTM:       |dc| <= 3 EPS (|c_prev| + 1)       since |sigmoid(f) c| <= |c| and
 *                                                  |sigmoid(i) tanh(g)| <= 1
 *               |dh| <= 3 EPS + |dc|               since tanh' <= 1 and sigmoid(o) <= 1
 *   GRU:        |dh| <= 8 EPS (1 + |hn| + |h_prev|)  r's error is multiplied by hn inside tanh
 *
 * plus 1e-37 absolute for results that underflow. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "rnn/rnn.h"
#include "test_random.h"

#define EPS 1e-6

static const int sizes[] = {1, 3, 7, 8, 9, 15, 16, 17, 31, 64, 100, 1024};
static const float scales[] = {1e-3f, 0.5f, 3.0f, 20.0f, 100.0f};

static unsigned rng = 12345;
static float frand(float scale)
{
    return scale * test_rand(&rng);
}

static float *rand_vec(int n, float scale)
{
    float *v = malloc(sizeof(float) * (n > 0 ? n : 1));
    for (int i = 0; i < n; i++)
        v[i] = frand(scale);
    return v;
}

START_TEST(tanh_cell)
{
    DS2_SKIP_UNLESS_ISA(DS2_ISA_AVX2);
    for (size_t si = 0; si < sizeof scales / sizeof scales[0]; si++)
        for (size_t ni = 0; ni < sizeof sizes / sizeof sizes[0]; ni++) {
            int n = sizes[ni];
            float *pre = rand_vec(n, scales[si]), *a = rand_vec(n, 1), *r = rand_vec(n, 1);
            ds2_rnn_tanh_ukernel__ref(n, pre, r);
            ds2_rnn_tanh_ukernel__avx2(n, pre, a);
            for (int j = 0; j < n; j++)
                ck_assert_msg(fabs((double)a[j] - r[j]) <= 3 * EPS * fabs(r[j]) + 1e-37,
                              "n=%d tanh(%g): avx2 %.9g ref %.9g", n, pre[j], a[j], r[j]);
            /* in place (pre == h) gives the same */
            ds2_rnn_tanh_ukernel__avx2(n, pre, pre);
            ck_assert_mem_eq(pre, a, sizeof(float) * n);
            free(pre), free(a), free(r);
        }
}
END_TEST

START_TEST(lstm_cell)
{
    DS2_SKIP_UNLESS_ISA(DS2_ISA_AVX2);
    for (size_t si = 0; si < sizeof scales / sizeof scales[0]; si++)
        for (size_t ni = 0; ni < sizeof sizes / sizeof sizes[0]; ni++) {
            int n = sizes[ni], stride = n + 5; /* gates not adjacent: catches stride misuse */
            float *g = rand_vec(4 * stride, scales[si]);
            float *c0 = rand_vec(n, scales[si]);
            float *cr = malloc(sizeof(float) * n), *ca = malloc(sizeof(float) * n);
            float *hr = rand_vec(n, 1), *ha = rand_vec(n, 1);
            memcpy(cr, c0, sizeof(float) * n);
            memcpy(ca, c0, sizeof(float) * n);
            ds2_rnn_lstm_ukernel__ref(n, stride, g, cr, hr);
            ds2_rnn_lstm_ukernel__avx2(n, stride, g, ca, ha);
            for (int j = 0; j < n; j++) {
                double bc = 3 * EPS * (fabs(c0[j]) + 1) + 1e-37;
                ck_assert_msg(fabs((double)ca[j] - cr[j]) <= bc, "n=%d c[%d]: %.9g vs %.9g", n, j,
                              ca[j], cr[j]);
                ck_assert_msg(fabs((double)ha[j] - hr[j]) <= 3 * EPS + bc,
                              "n=%d h[%d]: %.9g vs %.9g", n, j, ha[j], hr[j]);
            }
            free(g), free(c0), free(cr), free(ca), free(hr), free(ha);
        }
}
END_TEST

START_TEST(gru_cell)
{
    DS2_SKIP_UNLESS_ISA(DS2_ISA_AVX2);
    for (size_t si = 0; si < sizeof scales / sizeof scales[0]; si++)
        for (size_t ni = 0; ni < sizeof sizes / sizeof sizes[0]; ni++) {
            int n = sizes[ni], stride = n + 3;
            float *xg = rand_vec(3 * stride, scales[si]), *hg = rand_vec(3 * stride, scales[si]);
            float *h0 = rand_vec(n, scales[si]);
            float *hr = malloc(sizeof(float) * n), *ha = malloc(sizeof(float) * n);
            memcpy(hr, h0, sizeof(float) * n);
            memcpy(ha, h0, sizeof(float) * n);
            ds2_rnn_gru_ukernel__ref(n, stride, xg, hg, hr);
            ds2_rnn_gru_ukernel__avx2(n, stride, xg, hg, ha);
            for (int j = 0; j < n; j++) {
                double b = 8 * EPS * (1 + fabs(hg[2 * stride + j]) + fabs(h0[j])) + 1e-37;
                ck_assert_msg(fabs((double)ha[j] - hr[j]) <= b, "n=%d h[%d]: %.9g vs %.9g", n, j,
                              ha[j], hr[j]);
            }
            free(xg), free(hg), free(h0), free(hr), free(ha);
        }
}
END_TEST

/* Saturated inputs: results must stay finite and hit the limits exactly as the reference. */
START_TEST(extremes)
{
    DS2_SKIP_UNLESS_ISA(DS2_ISA_AVX2);
    DS2_SKIP_UNLESS_ISA(DS2_ISA_AVX2);
    const float v[] = {-1e30f, -200.0f, -88.5f, -30.0f, -1e-30f, 0.0f,  1e-30f, 30.0f,
                       88.5f,  200.0f,  1e30f,  -9.0f,  9.0f,    1e-7f, -1e-7f, 0.3f};
    int n = sizeof v / sizeof v[0];
    float a[16], r[16];
    ds2_rnn_tanh_ukernel__ref(n, v, r);
    ds2_rnn_tanh_ukernel__avx2(n, v, a);
    for (int j = 0; j < n; j++) {
        ck_assert(isfinite(a[j]));
        ck_assert_msg(fabs((double)a[j] - r[j]) <= 3 * EPS * fabs(r[j]) + 1e-37,
                      "tanh(%g): %.9g vs %.9g", v[j], a[j], r[j]);
    }
    float g[4 * 16], ca[16] = {0}, cr[16] = {0}, ha[16], hr[16];
    for (int k = 0; k < 4; k++)
        memcpy(g + k * 16, v, sizeof v);
    ds2_rnn_lstm_ukernel__ref(n, 16, g, cr, hr);
    ds2_rnn_lstm_ukernel__avx2(n, 16, g, ca, ha);
    for (int j = 0; j < n; j++) {
        ck_assert(isfinite(ca[j]) && isfinite(ha[j]));
        ck_assert_msg(fabs((double)ha[j] - hr[j]) <= 6 * EPS + 1e-37, "lstm(%g): %.9g vs %.9g",
                      v[j], ha[j], hr[j]);
    }
}
END_TEST

START_TEST(dispatch)
{
    const ds2_rnn_kernels *k = ds2_rnn_kernels_get();
    ck_assert_ptr_nonnull(k);
    ck_assert_ptr_nonnull(k->lstm);
    ck_assert_ptr_nonnull(k->gru);
    ck_assert_ptr_nonnull(k->tanh);
    ck_assert_str_eq(k->isa, ds2_cpu_has(DS2_ISA_AVX2) ? "avx2" : "ref");
    ck_assert_ptr_eq(k, ds2_rnn_kernels_get());
}
END_TEST

static Suite *rnn_cells_suite(void)
{
    Suite *s = suite_create("rnn_cells");
    TCase *tc = tcase_create("cells");
    tcase_add_test(tc, tanh_cell);
    tcase_add_test(tc, lstm_cell);
    tcase_add_test(tc, gru_cell);
    tcase_add_test(tc, extremes);
    tcase_add_test(tc, dispatch);
    suite_add_tcase(s, tc);
    return s;
}

DS2_CHECK_MAIN(rnn_cells_suite)
