/*
 * The fp32 panel products (kernels/f32gemm): every SIMD microkernel against the scalar one bit
 * for bit, the packed and blocked product against one fmaf chain per output computed from the
 * unpacked W, for any split of rows and columns, and that chain within 2(k + 1)·2⁻²⁴·Σ|x·w| of
 * fp64 (k roundings of partial sums, each at most u·Σ|x·w|, plus the accumulate add).
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "f32gemm/panels.h"
#include "test_random.h"

static float uniform(unsigned *s, float lo, float hi)
{
    return lo + (hi - lo) * 0.5f * (test_rand(s) + 1.0f);
}

/* y [m][n] = X·Wᵀ (X [m][k], W [n][k], packed rows) within roundings·2·2⁻²⁴·Σ|x·w| of fp64. */
static void check_within_fp64(int m, int n, int k, const float *x, const float *w, const float *y,
                              int roundings)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double exact = 0.0, mag = 0.0;
            for (int t = 0; t < k; t++) {
                exact += (double)x[i * k + t] * w[j * k + t];
                mag += fabs((double)x[i * k + t] * w[j * k + t]);
            }
            const double bound = 2.0 * roundings * ldexp(1.0, -24) * mag;
            ck_assert_msg(fabs(y[i * n + j] - exact) <= bound, "y[%d][%d] = %.9g, fp64 %.9g", i, j,
                          y[i * n + j], exact);
        }
}

/* ---------------------------------------------------------------- panel products */

static float *random_floats(size_t n, unsigned *s, float lo, float hi)
{
    float *v = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++)
        v[i] = uniform(s, lo, hi);
    return v;
}

/* The SIMD panel microkernels, each with the tier it needs. */
static const struct {
    const char *name;
    ds2_f32gemm_panel_ukernel_fn fn;
    ds2_isa tier;
} panel_uks[] = {
    {"ref", ds2_f32gemm_panel_ukernel_12x32__ref, DS2_ISA_REF},
    {"avx2", ds2_f32gemm_panel_ukernel_6x16__avx2, DS2_ISA_AVX2},
    {"avx512", ds2_f32gemm_panel_ukernel_12x32__avx512, DS2_ISA_AVX512},
};

static void check_ukernel(ds2_f32gemm_panel_ukernel_fn uk, const char *name)
{
    const int NR = DS2_F32GEMM_PANEL_NR, MR = DS2_F32GEMM_PANEL_MR;
    const int ks[] = {1, 2, 7, 16, 33, 100, 1024};
    /* Column ranges inside one panel, then across panels (used when np > 1). */
    const int cols[][2] = {{0, 1},   {0, 5},   {0, 16},  {0, 17},  {0, 31},   {0, 32},  {3, 9},
                           {15, 17}, {16, 32}, {20, 29}, {31, 32}, {0, 64},   {5, 60},  {31, 33},
                           {40, 96}, {64, 65}, {0, 128}, {1, 127}, {70, 128}, {95, 100}};
    for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++)
        for (int np = 1; np <= 4; np++)
            for (int mr = 1; mr * np <= MR; mr++)
                for (size_t ci = 0; ci < sizeof cols / sizeof cols[0]; ci++) {
                    const int k = ks[ki], c0 = cols[ci][0], c1 = cols[ci][1];
                    if (c1 > np * NR)
                        continue;
                    const int acc = (mr + (int)ci) % 2;
                    const size_t ldx = (size_t)k + mr % 3, ldy = (size_t)np * NR + 3;
                    unsigned s = (unsigned)(k * 7 + mr * 131 + c1 * 3 + c0 + np * 1009);
                    float *x = random_floats((size_t)mr * ldx, &s, -2.0f, 2.0f);
                    const size_t floats = (size_t)np * k * NR; /* np panels, as packed */
                    float *panels = aligned_alloc(64, sizeof(float) * floats);
                    for (size_t t = 0; t < floats; t++)
                        panels[t] = uniform(&s, -0.5f, 0.5f);
                    float *y = random_floats((size_t)mr * ldy, &s, -1.0f, 1.0f);
                    float *r = malloc(sizeof(float) * mr * ldy);
                    memcpy(r, y, sizeof(float) * mr * ldy);
                    ds2_f32gemm_panel_ukernel_12x32__ref(mr, np, c0, c1, k, x, ldx, panels, r, ldy,
                                                         acc);
                    /* Exactly np panels allocated: a read past them shows under ASan. */
                    uk(mr, np, c0, c1, k, x, ldx, panels, y, ldy, acc);
                    /* Equal everywhere: the requested columns bit for bit, the others untouched. */
                    ck_assert_msg(memcmp(y, r, sizeof(float) * mr * ldy) == 0,
                                  "%s mr=%d np=%d cols [%d, %d) k=%d acc=%d", name, mr, np, c0, c1,
                                  k, acc);
                    free(x), free(panels), free(y), free(r);
                }
}

START_TEST(panel_ukernels_match_reference)
{
    for (size_t u = 1; u < sizeof panel_uks / sizeof panel_uks[0]; u++) {
        if (!ds2_cpu_has(panel_uks[u].tier)) {
            printf("skipped: f32gemm panels %s: this CPU lacks %s\n", panel_uks[u].name,
                   ds2_isa_name(panel_uks[u].tier));
            continue;
        }
        check_ukernel(panel_uks[u].fn, panel_uks[u].name);
    }
}
END_TEST

/* y[i][j] (+)= one fmaf chain over k of x[i]·w[j], from the unpacked W: the panels' contract. */
static void chain_product(int m, int n, int k, const float *x, size_t ldx, const float *w,
                          size_t ldw, float *y, size_t ldy, int accumulate)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            float v = 0.0f;
            for (int t = 0; t < k; t++)
                v = fmaf(x[(size_t)i * ldx + t], w[(size_t)j * ldw + t], v);
            float *out = y + (size_t)i * ldy + j;
            *out = accumulate ? *out + v : v;
        }
}

static void check_panels(ds2_f32gemm_panel_ukernel_fn uk, const char *name, int m, int n, int k,
                         int accumulate)
{
    const size_t ldx = (size_t)k + 1, ldw = (size_t)k + 2, ldy = (size_t)n + 3;
    unsigned s = (unsigned)(m * 977 + n * 31 + k);
    float *x = random_floats((size_t)m * ldx, &s, -2.0f, 2.0f);
    float *w = random_floats((size_t)n * ldw, &s, -0.5f, 0.5f);
    float *y0 = random_floats((size_t)m * ldy, &s, -1.0f, 1.0f);
    float *want = malloc(sizeof(float) * m * ldy), *got = malloc(sizeof(float) * m * ldy);
    memcpy(want, y0, sizeof(float) * m * ldy);
    chain_product(m, n, k, x, ldx, w, ldw, want, ldy, accumulate);
    ds2_f32gemm_panels *p = ds2_f32gemm_panels_pack(n, k, w, ldw);
    ck_assert_ptr_nonnull(p);
    /* Whole product, then split into row and column ranges (threads, batch slices; column
     * ranges that start inside a panel too): same bits. */
    const int NR = DS2_F32GEMM_PANEL_NR;
    const int splits[][2] = {{m, n}, {1, NR}, {5, 2 * NR}, {13, 3 * NR}, {4, 17}, {12, 45}};
    for (size_t si = 0; si < sizeof splits / sizeof splits[0]; si++) {
        memcpy(got, y0, sizeof(float) * m * ldy);
        for (int m0 = 0; m0 < m; m0 += splits[si][0])
            for (int n0 = 0; n0 < n; n0 += splits[si][1]) {
                const int m1 = m0 + splits[si][0] < m ? m0 + splits[si][0] : m;
                const int n1 = n0 + splits[si][1] < n ? n0 + splits[si][1] : n;
                ck_assert_int_eq(
                    ds2_f32gemm_panels_compute(uk, p, x, ldx, m0, m1, n0, n1, got, ldy, accumulate),
                    0);
            }
        ck_assert_msg(memcmp(got, want, sizeof(float) * m * ldy) == 0,
                      "%s m=%d n=%d k=%d acc=%d split %zu", name, m, n, k, accumulate, si);
    }
    ds2_f32gemm_panels_free(p);
    free(x), free(w), free(y0), free(want), free(got);
}

START_TEST(panels_equal_one_chain_per_output)
{
    /* m of 1-3 and 4-6 rows take the wide tiles (panels.h), the others the 12 x 32 one. */
    const int shapes[][3] = {{1, 1, 1},    {12, 32, 16}, {13, 33, 17}, {30, 200, 65}, {7, 29, 320},
                             {25, 130, 1}, {1, 300, 70}, {3, 161, 33}, {5, 250, 100}, {6, 97, 8}};
    for (size_t u = 0; u < sizeof panel_uks / sizeof panel_uks[0]; u++) {
        if (!ds2_cpu_has(panel_uks[u].tier)) {
            printf("skipped: f32gemm panels %s: this CPU lacks %s\n", panel_uks[u].name,
                   ds2_isa_name(panel_uks[u].tier));
            continue;
        }
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
            for (int acc = 0; acc < 2; acc++)
                check_panels(panel_uks[u].fn, panel_uks[u].name, shapes[i][0], shapes[i][1],
                             shapes[i][2], acc);
    }
}
END_TEST

START_TEST(panel_chain_within_rounding_of_fp64)
{
    const int m = 4, n = 37, k = 1311;
    unsigned s = 9;
    float *x = random_floats((size_t)m * k, &s, -3.0f, 3.0f);
    float *w = random_floats((size_t)n * k, &s, -1.0f, 1.0f);
    float y[4 * 37];
    ds2_f32gemm_panels *p = ds2_f32gemm_panels_pack(n, k, w, k);
    ck_assert_int_eq(ds2_f32gemm_panels_compute(ds2_f32gemm_panel_ukernel_12x32__ref, p, x, k, 0, m,
                                                0, n, y, n, 0),
                     0);
    check_within_fp64(m, n, k, x, w, y, k + 1);
    ds2_f32gemm_panels_free(p);
    free(x), free(w);
}
END_TEST

START_TEST(panels_reject_bad_arguments)
{
    float w[64 * 3] = {0}, x[3 * 3] = {0}, y[3 * 64];
    ck_assert_ptr_null(ds2_f32gemm_panels_pack(0, 3, w, 3));
    ck_assert_ptr_null(ds2_f32gemm_panels_pack(64, 0, w, 3));
    ck_assert_ptr_null(ds2_f32gemm_panels_pack(64, 3, w, 2)); /* ldw < k */
    ck_assert_ptr_null(ds2_f32gemm_panels_pack(64, 3, NULL, 3));
    ds2_f32gemm_panels *p = ds2_f32gemm_panels_pack(64, 3, w, 3);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_ge(ds2_f32gemm_panels_bytes(p), sizeof(float) * 64 * 3);
    ds2_f32gemm_panel_ukernel_fn uk = ds2_f32gemm_panel_ukernel_12x32__ref;
    ck_assert_int_eq(ds2_f32gemm_panels_compute(uk, p, x, 3, 0, 3, 0, 64, y, 64, 0), 0);
    ck_assert_int_eq(ds2_f32gemm_panels_compute(uk, p, x, 3, 0, 3, 16, 64, y, 64, 0), 0);
    ck_assert_int_eq(ds2_f32gemm_panels_compute(uk, p, x, 3, 0, 3, 5, 5, y, 64, 0), 0);
    ck_assert_int_eq(ds2_f32gemm_panels_compute(uk, p, x, 3, 0, 3, 6, 5, y, 64, 0), -1);
    ck_assert_int_eq(ds2_f32gemm_panels_compute(uk, p, x, 3, 0, 3, 0, 65, y, 64, 0), -1);
    ck_assert_int_eq(ds2_f32gemm_panels_compute(uk, p, x, 2, 0, 3, 0, 64, y, 64, 0), -1);
    ck_assert_int_eq(ds2_f32gemm_panels_compute(uk, p, x, 3, 2, 1, 0, 64, y, 64, 0), -1);
    ck_assert_int_eq(ds2_f32gemm_panels_compute(uk, p, x, 3, 0, 3, 0, 64, y, 32, 0), -1);
    ck_assert_int_eq(ds2_f32gemm_panels_compute(NULL, p, x, 3, 0, 3, 0, 64, y, 64, 0), -1);
    ds2_f32gemm_panels_free(p);
    ds2_f32gemm_panels_free(NULL);
    /* Dispatch: chosen once, the best tier's microkernel (none without AVX2: OpenBLAS there). */
    ck_assert_ptr_eq(ds2_f32gemm_panel_ukernel_get(), ds2_f32gemm_panel_ukernel_get());
    ck_assert(ds2_f32gemm_panel_ukernel_get() ==
              (ds2_cpu_has(DS2_ISA_AVX512) ? ds2_f32gemm_panel_ukernel_12x32__avx512
               : ds2_cpu_has(DS2_ISA_AVX2) ? ds2_f32gemm_panel_ukernel_6x16__avx2
                                           : NULL));
}
END_TEST

static Suite *f32gemm_suite(void)
{
    Suite *s = suite_create("f32gemm");
    TCase *tc = tcase_create("kernels");
    tcase_add_test(tc, panel_ukernels_match_reference);
    tcase_add_test(tc, panels_equal_one_chain_per_output);
    tcase_add_test(tc, panel_chain_within_rounding_of_fp64);
    tcase_add_test(tc, panels_reject_bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}

DS2_CHECK_MAIN(f32gemm_suite)
