/*
 * The fp32 recurrent-step kernels (kernels/f32gemm): every tier against the scalar reference,
 * bit for bit (they share one summation order), and the reference within the rounding bound of
 * an fp64 dot product: |Σ x·w − ŷ| ≤ 2(k + 4)·2⁻²⁴·Σ|x·w| (each of the ≤ k/16 + 4 roundings on
 * any path adds at most u·Σ|x·w|; taken loosely as k + 4).
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "f32gemm/f32gemm.h"
#include "test_random.h"

static float uniform(unsigned *s, float lo, float hi)
{
    return lo + (hi - lo) * 0.5f * (test_rand(s) + 1.0f);
}

typedef struct variant {
    const char *name;
    ds2_f32gemm_nt_fn fn;
    ds2_isa tier;
} variant;

static const variant variants[] = {
    {"avx2", ds2_f32gemm_gemm_nt_ukernel_2x3__avx2, DS2_ISA_AVX2},
    {"avx512", ds2_f32gemm_gemm_nt_ukernel_4x4__avx512, DS2_ISA_AVX512},
};

static void check_case(const variant *v, int m, int n, int k, int pad, int accumulate,
                       unsigned seed)
{
    const size_t ldx = (size_t)k + pad, ldw = (size_t)k + 2 * pad, ldy = (size_t)n + pad;
    float *x = malloc(sizeof(float) * m * ldx), *w = malloc(sizeof(float) * n * ldw);
    float *y = malloc(sizeof(float) * m * ldy), *r = malloc(sizeof(float) * m * ldy);
    unsigned s = seed;
    for (size_t i = 0; i < m * ldx; i++)
        x[i] = uniform(&s, -2.0f, 2.0f);
    for (size_t i = 0; i < n * ldw; i++)
        w[i] = uniform(&s, -0.5f, 0.5f);
    for (size_t i = 0; i < m * ldy; i++)
        y[i] = r[i] = uniform(&s, -1.0f, 1.0f);
    ds2_f32gemm_gemm_nt_ukernel__ref(m, n, k, x, ldx, w, ldw, r, ldy, accumulate);
    v->fn(m, n, k, x, ldx, w, ldw, y, ldy, accumulate);
    ck_assert_msg(memcmp(y, r, sizeof(float) * m * ldy) == 0, "%s m=%d n=%d k=%d pad=%d acc=%d",
                  v->name, m, n, k, pad, accumulate);
    free(x), free(w), free(y), free(r);
}

START_TEST(tiers_match_reference)
{
    for (size_t vi = 0; vi < sizeof variants / sizeof variants[0]; vi++) {
        const variant *v = &variants[vi];
        if (!ds2_cpu_has(v->tier)) {
            printf("skipped: f32gemm %s: this CPU lacks %s\n", v->name, ds2_isa_name(v->tier));
            continue;
        }
        const int ks[] = {1, 5, 15, 16, 17, 31, 33, 100, 320, 1024};
        for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++)
            for (int m = 1; m <= 9; m++)
                for (int n = 1; n <= 9; n += (n < 5 ? 1 : 4))
                    check_case(v, m, n, ks[ki], (m + n) % 3, (m + n + ki) % 2,
                               (unsigned)(m * 131 + n * 17 + ks[ki]));
    }
}
END_TEST

START_TEST(reference_within_rounding_of_fp64)
{
    const int m = 3, n = 5, k = 777;
    float *x = malloc(sizeof(float) * m * k), *w = malloc(sizeof(float) * n * k);
    float y[15];
    unsigned s = 4;
    for (int i = 0; i < m * k; i++)
        x[i] = uniform(&s, -3.0f, 3.0f);
    for (int i = 0; i < n * k; i++)
        w[i] = uniform(&s, -1.0f, 1.0f);
    ds2_f32gemm_gemm_nt_ukernel__ref(m, n, k, x, k, w, k, y, n, 0);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double exact = 0.0, mag = 0.0;
            for (int t = 0; t < k; t++) {
                exact += (double)x[i * k + t] * w[j * k + t];
                mag += fabs((double)x[i * k + t] * w[j * k + t]);
            }
            const double bound = 2.0 * (k + 4) * ldexp(1.0, -24) * mag;
            ck_assert_msg(fabs(y[i * n + j] - exact) <= bound, "y[%d][%d] = %.9g, fp64 %.9g", i, j,
                          y[i * n + j], exact);
        }
    free(x), free(w);
}
END_TEST

START_TEST(dispatch_is_stable)
{
    ck_assert_ptr_eq(ds2_f32gemm_nt_get(), ds2_f32gemm_nt_get());
    ck_assert_str_eq(ds2_f32gemm_isa(), ds2_cpu_has(DS2_ISA_AVX512) ? "avx512"
                                        : ds2_cpu_has(DS2_ISA_AVX2) ? "avx2"
                                                                    : "ref");
}
END_TEST

static Suite *f32gemm_suite(void)
{
    Suite *s = suite_create("f32gemm");
    TCase *tc = tcase_create("kernels");
    tcase_add_test(tc, tiers_match_reference);
    tcase_add_test(tc, reference_within_rounding_of_fp64);
    tcase_add_test(tc, dispatch_is_stable);
    suite_add_tcase(s, tc);
    return s;
}

DS2_CHECK_MAIN(f32gemm_suite)
