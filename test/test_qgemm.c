/*
 * Tests of the int8 dynamic-quantization kernels (kernels/qgemm).
 *
 * gemm_tester drives ONE microkernel call (a tile of m ≤ MR rows × one 16-column block) in the
 * way of QNNPACK's GemmMicrokernelTester, and is run over the same case families for every
 * kernel variant: int32 accumulators must equal an int64 reference exactly; float outputs
 * must equal the scalar epilogue bit for bit and an fp64 dequantized reference within
 * 4·2⁻²⁴·(|acc·sa·sw| + |bias| + |y_old|). Driver tests then cover whole products (tiles,
 * panels, column ranges, strides) against ds2_qgemm_compute_ref.
 */
#include <check.h>
#include <pthread.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "qgemm/ukernels.h"

#define NR DS2_QGEMM_NR
#define MR DS2_QGEMM_MR

/* ------------------------------------------------------------------ helpers */

static uint32_t rng_next(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static float rng_uniform(uint32_t *s, float lo, float hi)
{
    return lo + (hi - lo) * (float)(rng_next(s) >> 8) * (1.0f / 16777216.0f);
}

typedef enum x_dist { X_MIXED, X_POSITIVE, X_NEGATIVE, X_ZERO, X_MAX_POS, X_MAX_NEG } x_dist;
typedef enum w_dist { W_RANDOM, W_MAX_POS, W_MIN_NEG } w_dist;

static void fill_x(float *x, int m, int k, int ldx, x_dist d, uint32_t *s)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < ldx; j++) {
            float v = 0.0f;
            switch (d) {
            case X_MIXED:
                v = rng_uniform(s, -3.0f, 5.0f);
                break;
            case X_POSITIVE:
                v = rng_uniform(s, 0.5f, 20.0f);
                break;
            case X_NEGATIVE:
                v = rng_uniform(s, -7.0f, -0.25f);
                break;
            case X_ZERO:
                v = 0.0f;
                break;
            case X_MAX_POS:
                v = 3.0f;
                break; /* every q = +255 after centring */
            case X_MAX_NEG:
                v = -3.0f;
                break; /* every q = -255 */
            }
            /* Past k: garbage that must never be read. */
            x[(size_t)i * ldx + j] = j < k ? v : NAN;
        }
}

static int8_t w_value(w_dist d, uint32_t *s)
{
    switch (d) {
    case W_MAX_POS:
        return 127;
    case W_MIN_NEG:
        return -128;
    default:
        return (int8_t)((int)(rng_next(s) % 255) - 127);
    }
}

/* The microkernel variants every tester runs: each kernel of every kernel set this CPU has
 * (ref, ref-c4 always; avx2, avx512vnni, amx where present), with the set's layout and format.
 * The amx set's tile kernel also runs through compute_with (16-row multiples) in the qlinear tests.
 */
typedef struct variant {
    const char *name;
    const ds2_qgemm_kernels *set;
    ds2_qgemm_ukernel_fn fn;
    int max_mr;
} variant;

static int variants(variant *v)
{
    const ds2_qgemm_kernels *sets[8];
    const int ns = ds2_qgemm_kernel_sets(sets, 8);
    int n = 0;
    for (int i = 0; i < ns; i++) {
        v[n++] = (variant){sets[i]->isa, sets[i], sets[i]->gemm, MR};
        if (sets[i]->gemv != sets[i]->gemm)
            v[n++] = (variant){sets[i]->isa, sets[i], sets[i]->gemv, 1};
        /* the tile kernel takes any mr below 16 as one row group: the tester's 1..MR rows run
         * it through every case family, int32 results included */
        if (sets[i]->gemm_tiles)
            v[n++] = (variant){sets[i]->isa, sets[i], sets[i]->gemm_tiles, MR};
    }
    return n;
}

/* ------------------------------------------------------------------ gemm_tester */

typedef struct gemm_tester {
    int m;      /* tile rows, 1..MR */
    int blocks; /* column blocks in the call, 1..the set's max_blocks (0: 1) */
    int n;      /* weight rows (output columns) packed, 1..NR·blocks */
    int k;
    int n_first, n_count; /* columns stored; default (n_count 0): all n */
    int x_pad, a_pad;     /* extra row stride of X (floats) and of the quantized rows */
    int y_pad;            /* ldy = NR + y_pad */
    int accumulate;
    x_dist x;
    w_dist w;
    int iterations;
    uint32_t seed;
} gemm_tester;

static gemm_tester tester(int m, int n, int k)
{
    return (gemm_tester){.m = m, .n = n, .k = k, .iterations = 3, .seed = 0x9e3779b9u};
}

static void gemm_tester_run(const gemm_tester *t, const variant *v)
{
    const int nb = t->blocks > 1 ? t->blocks : 1;
    if (t->m > v->max_mr || nb > v->set->max_blocks)
        return;
    const int u8 = v->set->format == DS2_QGEMM_ACTS_U8;
    const size_t elem = u8 ? 1 : sizeof(int16_t);
    const int ncols = nb * NR;
    uint32_t s = t->seed ^ (uint32_t)(t->m * 7919 + t->n * 104729 + t->k);
    const int kp = (t->k + DS2_QGEMM_KR - 1) / DS2_QGEMM_KR * DS2_QGEMM_KR;
    const int ldx = t->k + t->x_pad, lda = kp + t->a_pad, ldy = ncols + t->y_pad;
    const int n_first = t->n_count ? t->n_first : 0, n_count = t->n_count ? t->n_count : ncols;
    float *x = malloc(sizeof(float) * (size_t)t->m * ldx);
    char *a = malloc(elem * (size_t)t->m * lda);
    float *a_scale = malloc(sizeof(float) * t->m);
    int32_t a_zero[MR];
    int8_t *wq = malloc((size_t)t->n * t->k);
    float *w_scale = malloc(sizeof(float) * t->n), *bias = malloc(sizeof(float) * t->n);
    float *y = malloc(sizeof(float) * (size_t)t->m * ldy),
          *y_old = malloc(sizeof(float) * (size_t)t->m * ldy);
    int32_t acc[MR * NR * DS2_QGEMM_MAX_BLOCKS];
    for (int it = 0; it < t->iterations; it++) {
        fill_x(x, t->m, t->k, ldx, t->x, &s);
        memset(a, 0x5a, elem * (size_t)t->m * lda); /* the stride gap holds junk to skip */
        for (int i = 0; i < t->m; i++)
            a_scale[i] = v->set->quantize(x + (size_t)i * ldx, t->k, kp, a + (size_t)i * lda * elem,
                                          &a_zero[i]);
        for (int j = 0; j < t->n; j++) {
            for (int k = 0; k < t->k; k++)
                wq[(size_t)j * t->k + k] = w_value(t->w, &s);
            w_scale[j] = rng_uniform(&s, 0.001f, 0.05f);
            bias[j] = rng_uniform(&s, -1.0f, 1.0f);
        }
        ds2_qgemm_weights *w =
            ds2_qgemm_weights_pack_with(v->set, t->n, t->k, NULL, wq, w_scale, bias);
        ck_assert_ptr_nonnull(w);
        ds2_qgemm_params p = {a_scale, w->scale, w->bias,       a_zero, w->colsum,
                              n_first, n_count,  t->accumulate, nb,     (size_t)kp * NR};

        /* int32: exact Σ (q − z)·w. */
        memset(acc, 0xab, sizeof acc);
        v->fn(t->m, kp, a, (size_t)lda, w->packed, NULL, 0, acc, &p);
        for (int i = 0; i < t->m; i++)
            for (int j = 0; j < ncols; j++) {
                int64_t want = 0;
                for (int k = 0; k < t->k && j < t->n; k++) {
                    const size_t at = (size_t)i * lda + k;
                    const int64_t centred =
                        u8 ? (int64_t)((uint8_t *)a)[at] - a_zero[i] : ((int16_t *)a)[at];
                    want += centred * wq[(size_t)j * t->k + k];
                }
                ck_assert_msg(acc[i * ncols + j] == want,
                              "%s m=%d nb=%d n=%d k=%d x=%d w=%d: acc[%d][%d] = %d, want %lld",
                              v->name, t->m, nb, t->n, t->k, t->x, t->w, i, j, acc[i * ncols + j],
                              (long long)want);
            }

        /* float: bit-exact to the scalar epilogue, within rounding of fp64. */
        for (size_t i = 0; i < (size_t)t->m * ldy; i++)
            y[i] = y_old[i] = rng_uniform(&s, -2.0f, 2.0f);
        v->fn(t->m, kp, a, (size_t)lda, w->packed, y + n_first, (size_t)ldy, NULL, &p);
        for (int i = 0; i < t->m; i++)
            for (int j = 0; j < ldy; j++) {
                const size_t at = (size_t)i * ldy + j;
                if (j < n_first || j >= n_first + n_count) {
                    ck_assert_msg(y[at] == y_old[at], "%s wrote outside columns: [%d][%d]", v->name,
                                  i, j);
                    continue;
                }
                const int32_t c = acc[i * ncols + j];
                const float e = ds2_qgemm_dequant(c, a_scale[i], w->scale[j], w->bias[j]);
                const float want = t->accumulate ? y_old[at] + e : e;
                ck_assert_msg(y[at] == want, "%s m=%d k=%d: y[%d][%d] = %.9g, want %.9g", v->name,
                              t->m, t->k, i, j, y[at], want);
                const double prod = (double)c * a_scale[i] * w->scale[j];
                const double old = t->accumulate ? y_old[at] : 0.0;
                const double tol =
                    4.0 * ldexp(1.0, -24) * (fabs(prod) + fabs(w->bias[j]) + fabs(old));
                ck_assert_msg(fabs(y[at] - (prod + w->bias[j] + old)) <= tol,
                              "%s: y[%d][%d] off fp64 by %g > %g", v->name, i, j,
                              fabs(y[at] - (prod + w->bias[j] + old)), tol);
            }
        ds2_qgemm_weights_free(w);
    }
    free(x), free(a), free(a_scale), free(wq), free(w_scale), free(bias), free(y), free(y_old);
}

/* One case family, run for every variant. */
typedef void (*family_fn)(const variant *v);

static void run_family(family_fn f)
{
    variant v[16];
    const int nv = variants(v);
    for (int i = 0; i < nv; i++)
        f(&v[i]);
}

static void fam_k_sizes(const variant *v)
{
    /* K less than, equal to, greater than and divisible by the k tile (8), K = 1, odd K. */
    const int ks[] = {1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 24, 31, 63, 64, 100, 1023, 1312};
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++)
        for (int m = 1; m <= MR; m++) {
            gemm_tester t = tester(m, NR, ks[i]);
            gemm_tester_run(&t, v);
        }
}

static void fam_partial_tiles(const variant *v)
{
    for (int m = 1; m <= MR; m++)
        for (int n = 1; n <= NR; n++) {
            gemm_tester t = tester(m, n, 19);
            gemm_tester_run(&t, v);
        }
}

static void fam_column_subrange(const variant *v)
{
    for (int first = 0; first < NR; first += 3)
        for (int count = 1; first + count <= NR; count += 4) {
            gemm_tester t = tester(MR, NR, 37);
            t.n_first = first, t.n_count = count;
            gemm_tester_run(&t, v);
            t.m = 1, t.accumulate = 1;
            gemm_tester_run(&t, v);
        }
}

static void fam_strides(const variant *v)
{
    for (int m = 1; m <= MR; m++) {
        gemm_tester t = tester(m, NR, 41);
        t.x_pad = 5, t.a_pad = 3, t.y_pad = 7;
        gemm_tester_run(&t, v);
        t.a_pad = 1; /* odd stride: pair loads are only 2-byte aligned */
        gemm_tester_run(&t, v);
    }
}

static void fam_zero_points(const variant *v)
{
    const x_dist xs[] = {X_MIXED, X_POSITIVE, X_NEGATIVE, X_ZERO};
    for (size_t i = 0; i < 4; i++)
        for (int m = 1; m <= MR; m++) {
            gemm_tester t = tester(m, NR, 77);
            t.x = xs[i];
            gemm_tester_run(&t, v);
        }
}

static void fam_blocks(const variant *v)
{
    /* Several column blocks per call (VNNI: up to 64 columns), the last one short of columns. */
    for (int nb = 2; nb <= DS2_QGEMM_MAX_BLOCKS; nb++)
        for (int m = 1; m <= MR; m++) {
            const int ks[] = {8, 19, 1024};
            for (size_t i = 0; i < 3; i++) {
                gemm_tester t = tester(m, nb * NR - (m == 2 ? 5 : 0), ks[i]);
                t.blocks = nb;
                t.accumulate = m % 2;
                t.y_pad = 3;
                gemm_tester_run(&t, v);
            }
        }
}

static void fam_accumulate(const variant *v)
{
    for (int m = 1; m <= MR; m++) {
        gemm_tester t = tester(m, 11, 50);
        t.accumulate = 1;
        gemm_tester_run(&t, v);
    }
}

static void fam_saturation(const variant *v)
{
    /* |a| = 255 with w = 127 or -128 in every product: anything saturating shows. */
    const int ks[] = {1, 8, 1312, 4096};
    for (size_t i = 0; i < 4; i++)
        for (int m = 1; m <= MR; m += MR - 1) {
            gemm_tester t = tester(m, NR, ks[i]);
            t.iterations = 1;
            t.x = X_MAX_POS, t.w = W_MAX_POS;
            gemm_tester_run(&t, v);
            t.x = X_MAX_NEG, t.w = W_MIN_NEG;
            gemm_tester_run(&t, v);
            t.x = X_MAX_NEG, t.w = W_MAX_POS;
            gemm_tester_run(&t, v);
        }
    /* The largest K the API allows: 65536·255·128 just fits in int32. */
    gemm_tester t = tester(1, 2, DS2_QGEMM_MAX_K);
    t.iterations = 1, t.x = X_MAX_NEG, t.w = W_MIN_NEG;
    gemm_tester_run(&t, v);
}

START_TEST(test_ukernel_k_sizes)
{
    run_family(fam_k_sizes);
}
END_TEST
START_TEST(test_ukernel_partial_tiles)
{
    run_family(fam_partial_tiles);
}
END_TEST
START_TEST(test_ukernel_column_subrange)
{
    run_family(fam_column_subrange);
}
END_TEST
START_TEST(test_ukernel_strides)
{
    run_family(fam_strides);
}
END_TEST
START_TEST(test_ukernel_zero_points)
{
    run_family(fam_zero_points);
}
END_TEST
START_TEST(test_ukernel_accumulate)
{
    run_family(fam_accumulate);
}
END_TEST
START_TEST(test_ukernel_blocks)
{
    run_family(fam_blocks);
}
END_TEST
START_TEST(test_ukernel_saturation)
{
    run_family(fam_saturation);
}
END_TEST

/* ------------------------------------------------------------------ quantization */

START_TEST(test_quantize_avx2_matches_ref_and_round_trips)
{
    const int ks[] = {1, 3, 8, 13, 64, 1312};
    const x_dist ds[] = {X_MIXED, X_POSITIVE, X_NEGATIVE, X_ZERO, X_MAX_POS, X_MAX_NEG};
    uint32_t s = 12345;
    for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++)
        for (size_t di = 0; di < 6; di++) {
            const int k = ks[ki], kp = (k + 7) / 8 * 8;
            float *x = malloc(sizeof(float) * k);
            int16_t *q_ref = malloc(sizeof(int16_t) * kp), *q_simd = malloc(sizeof(int16_t) * kp);
            uint8_t *u_ref = malloc(kp), *u_simd = malloc(kp);
            fill_x(x, 1, k, k, ds[di], &s);
            int32_t z, z2, zu, zu2;
            const float sc = ds2_qgemm_quantize_s16_ukernel__ref(x, k, kp, q_ref, &z);
            /* U8 holds the same integers plus the zero point, 0 in the padding. */
            ck_assert(ds2_qgemm_quantize_u8_ukernel__ref(x, k, kp, u_ref, &zu) == sc);
            ck_assert_int_eq(zu, z);
            ck_assert(z >= 0 && z <= 255);
            for (int j = 0; j < kp; j++)
                ck_assert_int_eq(j < k ? u_ref[j] - z : u_ref[j], q_ref[j]);
            ck_assert(sc > 0.0f);
            float lo = 0.0f, hi = 0.0f;
            for (int j = 0; j < k; j++) {
                lo = fminf(lo, x[j]), hi = fmaxf(hi, x[j]);
                /* Round trip: within half a step (plus float rounding of x·(1/scale)). */
                ck_assert_msg(fabsf(x[j] - q_ref[j] * sc) <= 0.5f * sc * (1.0f + 1e-5f),
                              "k=%d x=%g q=%d scale=%g", k, x[j], q_ref[j], sc);
                ck_assert(q_ref[j] >= -255 && q_ref[j] <= 255);
            }
            ck_assert(hi - lo <= 255.0f * sc * (1.0f + 1e-6f)); /* the range uses 8 bits */
            for (int j = k; j < kp; j++)
                ck_assert_int_eq(q_ref[j], 0);
            if (ds2_cpu_has(DS2_ISA_AVX2)) {
                const float sc2 = ds2_qgemm_quantize_s16_ukernel__avx2(x, k, kp, q_simd, &z2);
                ck_assert(sc2 == sc);
                ck_assert_int_eq(z2, z);
                ck_assert(memcmp(q_ref, q_simd, sizeof(int16_t) * kp) == 0);
                ck_assert(ds2_qgemm_quantize_u8_ukernel__avx2(x, k, kp, u_simd, &zu2) == sc);
                ck_assert_int_eq(zu2, z);
                ck_assert(memcmp(u_ref, u_simd, kp) == 0);
            } else if (ki == 0 && di == 0) {
                printf("skipped: AVX2 quantizers: this CPU lacks avx2\n");
            }
            free(x), free(q_ref), free(q_simd), free(u_ref), free(u_simd);
        }
}
END_TEST

START_TEST(test_quantize_zero_is_exact_and_nan_is_safe)
{
    float x[11] = {0.0f, 1.5f, -0.3f, 0.0f, 7.0f, -2.0f, 0.0f, 0.1f, 0.0f, 3.0f, 0.0f};
    int16_t q[16];
    int32_t z;
    ds2_qgemm_quantize_s16_ukernel__ref(x, 11, 16, q, &z);
    for (int j = 0; j < 11; j++)
        if (x[j] == 0.0f)
            ck_assert_int_eq(q[j], 0);
    x[3] = NAN, x[5] = INFINITY;
    ds2_qgemm_quantize_s16_ukernel__ref(x, 11, 16, q, &z);
    for (int j = 0; j < 16; j++)
        ck_assert(q[j] >= -255 && q[j] <= 255);
    /* Every set's quantizer must not crash or trip UBSan on NaN/Inf. */
    const ds2_qgemm_kernels *sets[8];
    const int ns = ds2_qgemm_kernel_sets(sets, 8);
    for (int i = 0; i < ns; i++) {
        int16_t q2[16];
        sets[i]->quantize(x, 11, 16, q2, &z);
        ck_assert(z >= 0 && z <= 255);
    }
}
END_TEST

/* ------------------------------------------------------------------ packing */

START_TEST(test_pack_f32_equals_prequantized)
{
    const int n = 37, k = 29;
    uint32_t s = 777;
    float *w = malloc(sizeof(float) * n * k), *scale = malloc(sizeof(float) * n);
    float bias[37];
    int8_t *q = malloc((size_t)n * k);
    for (int i = 0; i < n * k; i++)
        w[i] = rng_uniform(&s, -0.4f, 0.3f) * (float)(1 + i % 5);
    for (int j = 0; j < k; j++)
        w[5 * k + j] = 0.0f; /* an all-zero row */
    for (int i = 0; i < n; i++)
        bias[i] = rng_uniform(&s, -1.0f, 1.0f);
    ck_assert_int_eq(ds2_qgemm_quantize_weights_ref(n, k, w, q, scale), 0);
    ds2_qgemm_weights *a = ds2_qgemm_weights_pack(n, k, w, NULL, NULL, bias);
    ds2_qgemm_weights *b = ds2_qgemm_weights_pack(n, k, NULL, q, scale, bias);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(ds2_qgemm_weights_bytes(a), ds2_qgemm_weights_bytes(b));
    ck_assert(memcmp(a->mem, b->mem, a->bytes - sizeof *a) == 0);
    for (int i = 0; i < n; i++) {
        ck_assert(ds2_qgemm_weights_scale(a, i) == scale[i]);
        for (int j = 0; j < k; j++) {
            const int8_t v = ds2_qgemm_weights_get(a, i, j);
            ck_assert_int_eq(v, q[(size_t)i * k + j]);
            ck_assert(v != -128); /* symmetric: -128 is never produced */
            ck_assert(fabsf(w[(size_t)i * k + j] - v * scale[i]) <=
                      0.5f * scale[i] * (1.0f + 1e-5f));
        }
    }
    ds2_qgemm_weights_free(a);
    ds2_qgemm_weights_free(b);
    free(w), free(scale), free(q);
}
END_TEST

START_TEST(test_weight_quantizer_avx2_matches_ref)
{
    DS2_SKIP_UNLESS_ISA(DS2_ISA_AVX2);
    uint32_t s = 99;
    const int ks[] = {1, 7, 8, 9, 31, 1024, 1312};
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
        const int k = ks[i];
        float *w = malloc(sizeof(float) * k), sr, sa;
        int8_t *qr = malloc(k), *qa = malloc(k);
        for (int rep = 0; rep < 4; rep++) {
            for (int j = 0; j < k; j++)
                w[j] = rep == 3 ? 0.0f : rng_uniform(&s, -1.0f, 1.0f) * (float)(1 << rep * 5);
            if (rep == 1)
                w[k / 2] = 127.0f * 3.0f; /* an exact half-step tie somewhere is likely */
            ck_assert_int_eq(ds2_qgemm_quantize_weights_ref(1, k, w, qr, &sr), 0);
            ck_assert_int_eq(ds2_qgemm_quantize_weights_ukernel__avx2(k, w, qa, &sa), 0);
            ck_assert(sr == sa);
            ck_assert(memcmp(qr, qa, k) == 0);
        }
        w[k - 1] = NAN;
        ck_assert_int_eq(ds2_qgemm_quantize_weights_ukernel__avx2(k, w, qa, &sa), -1);
        w[k - 1] = -INFINITY;
        ck_assert_int_eq(ds2_qgemm_quantize_weights_ukernel__avx2(k, w, qa, &sa), -1);
        w[0] = INFINITY;
        ck_assert_int_eq(ds2_qgemm_quantize_weights_ukernel__avx2(k, w, qa, &sa), -1);
        free(w), free(qr), free(qa);
    }
}
END_TEST

START_TEST(test_bad_arguments)
{
    float w[4] = {1, 2, 3, 4}, sc[2] = {1, 1}, bad_sc[2] = {1, -1};
    int8_t q[4] = {1, 2, 3, 4};
    ck_assert_ptr_null(ds2_qgemm_weights_pack(0, 2, w, NULL, NULL, NULL));
    ck_assert_ptr_null(ds2_qgemm_weights_pack(2, 0, w, NULL, NULL, NULL));
    ck_assert_ptr_null(ds2_qgemm_weights_pack(2, DS2_QGEMM_MAX_K + 1, w, NULL, NULL, NULL));
    ck_assert_ptr_null(ds2_qgemm_weights_pack(2, 2, NULL, NULL, NULL, NULL));
    ck_assert_ptr_null(ds2_qgemm_weights_pack(2, 2, w, q, sc, NULL));
    ck_assert_ptr_null(ds2_qgemm_weights_pack(2, 2, NULL, q, NULL, NULL));
    ck_assert_ptr_null(ds2_qgemm_weights_pack(2, 2, NULL, q, bad_sc, NULL));
    w[2] = NAN;
    ck_assert_ptr_null(ds2_qgemm_weights_pack(2, 2, w, NULL, NULL, NULL));
    ck_assert_uint_eq(ds2_qgemm_acts_workspace_size(0, 3), 0);
    ck_assert_uint_eq(ds2_qgemm_acts_workspace_size(3, -1), 0);
    ck_assert_uint_eq(ds2_qgemm_acts_workspace_size(3, DS2_QGEMM_MAX_K + 1), 0);

    ds2_qgemm_weights *pw = ds2_qgemm_weights_pack(2, 2, NULL, q, sc, NULL);
    ck_assert_ptr_nonnull(pw);
    ds2_qgemm_acts qa;
    char ws[256];
    float x[6] = {1, 2, 3, 4, 5, 6}, y[8];
    ck_assert_int_eq(ds2_qgemm_acts_quantize(&qa, ws, x, 3, 2, 1), -1); /* ldx < k */
    ck_assert_int_eq(ds2_qgemm_acts_quantize(&qa, NULL, x, 3, 2, 2), -1);
    ck_assert_int_eq(ds2_qgemm_acts_quantize(&qa, ws, x, 3, 2, 2), 0);
    ck_assert_int_eq(ds2_qgemm_compute(pw, &qa, y, 2, 1, 3, 0), -1); /* n_end > n */
    ck_assert_int_eq(ds2_qgemm_compute(pw, &qa, y, 2, 2, 1, 0), -1); /* begin > end */
    ck_assert_int_eq(ds2_qgemm_compute(pw, &qa, y, 1, 0, 2, 0), -1); /* ldy < n_end */
    ck_assert_int_eq(ds2_qgemm_compute(NULL, &qa, y, 2, 0, 2, 0), -1);
    ck_assert_int_eq(ds2_qgemm_compute(pw, &qa, y, 2, 0, 2, 0), 0);
    ds2_qgemm_acts qa3;
    char ws3[256];
    ck_assert_int_eq(ds2_qgemm_acts_quantize(&qa3, ws3, x, 2, 3, 3), 0);
    ck_assert_int_eq(ds2_qgemm_compute(pw, &qa3, y, 2, 0, 2, 0), -1); /* k mismatch */
    ds2_qgemm_weights_free(pw);
    ds2_qgemm_weights_free(NULL);
}
END_TEST

/* ------------------------------------------------------------------ whole products */

typedef struct qlinear_case {
    int m, n, k, ldx, ldy, n_begin, n_end, accumulate;
    x_dist x;
} qlinear_case;

/* Runs one product with every kernel set (driver + quantizer) and with the references;
 * all must agree bit for bit, touch nothing outside the range, and stay within the
 * quantization error bound of the float product. */
static void check_qlinear(const qlinear_case *c)
{
    uint32_t s = 4242u + (uint32_t)(c->m * 31 + c->n * 17 + c->k);
    float *x = malloc(sizeof(float) * (size_t)c->m * c->ldx);
    float *w = malloc(sizeof(float) * (size_t)c->n * c->k), *bias = malloc(sizeof(float) * c->n);
    const size_t ny = (size_t)c->m * c->ldy;
    float *y0 = malloc(sizeof(float) * ny), *y_ref = malloc(sizeof(float) * ny),
          *y = malloc(sizeof(float) * ny);
    fill_x(x, c->m, c->k, c->ldx, c->x, &s);
    for (size_t i = 0; i < (size_t)c->n * c->k; i++)
        w[i] = rng_uniform(&s, -0.2f, 0.2f);
    for (int j = 0; j < c->n; j++)
        bias[j] = rng_uniform(&s, -0.5f, 0.5f);
    for (size_t i = 0; i < ny; i++)
        y0[i] = rng_uniform(&s, -1.0f, 1.0f);
    ds2_qgemm_weights *pw = ds2_qgemm_weights_pack(c->n, c->k, w, NULL, NULL, bias);
    ck_assert_ptr_nonnull(pw);
    const size_t wsz = ds2_qgemm_acts_workspace_size(c->m, c->k);
    ck_assert_uint_gt(wsz, 0);
    void *ws_ref = malloc(wsz), *ws = malloc(wsz);
    ds2_qgemm_acts qa_ref, qa;
    ck_assert_int_eq(ds2_qgemm_acts_quantize_ref(&qa_ref, ws_ref, x, c->m, c->k, c->ldx), 0);
    memcpy(y_ref, y0, sizeof(float) * ny);
    ck_assert_int_eq(
        ds2_qgemm_compute_ref(pw, &qa_ref, y_ref, c->ldy, c->n_begin, c->n_end, c->accumulate), 0);

    const ds2_qgemm_kernels *sets[8];
    const int ns = ds2_qgemm_kernel_sets(sets, 8);
    for (int v = 0; v < ns; v++) {
        ck_assert_int_eq(ds2_qgemm_acts_quantize_with(sets[v], &qa, ws, x, c->m, c->k, c->ldx), 0);
        for (int i = 0; i < c->m; i++)
            for (int j = 0; j < qa.kp; j++) {
                const size_t at = (size_t)i * qa.kp + j;
                const int r = ((const int16_t *)qa_ref.q)[at];
                const int q = qa.format == DS2_QGEMM_ACTS_U8
                                  ? (j < c->k ? ((const uint8_t *)qa.q)[at] - qa.zero[i] : 0)
                                  : ((const int16_t *)qa.q)[at];
                ck_assert_int_eq(q, r);
            }
        ds2_qgemm_weights *pv =
            ds2_qgemm_weights_pack_with(sets[v], c->n, c->k, w, NULL, NULL, bias);
        ck_assert_ptr_nonnull(pv);
        memcpy(y, y0, sizeof(float) * ny);
        ck_assert_int_eq(ds2_qgemm_compute_with(sets[v], pv, &qa, y, c->ldy, c->n_begin, c->n_end,
                                                c->accumulate),
                         0);
        ds2_qgemm_weights_free(pv);
        for (int i = 0; i < c->m; i++)
            for (int j = 0; j < c->ldy; j++) {
                const size_t at = (size_t)i * c->ldy + j;
                ck_assert_msg(y[at] == y_ref[at],
                              "%s m=%d n=%d k=%d [%d,%d): y[%d][%d] = %.9g, ref %.9g", sets[v]->isa,
                              c->m, c->n, c->k, c->n_begin, c->n_end, i, j, y[at], y_ref[at]);
                if (j < c->n_begin || j >= c->n_end)
                    ck_assert(y[at] == y0[at]);
            }
    }

    /* Against the float product: |Σx·w − Σx̂·ŵ| ≤ Σ|x|·sw/2 + sx/2·Σ|ŵ| (+ rounding). */
    for (int i = 0; i < c->m; i++)
        for (int j = c->n_begin; j < c->n_end; j++) {
            double exact = 0.0, bound = 0.0, mag = 0.0;
            const double sw = ds2_qgemm_weights_scale(pw, j), sx = qa_ref.scale[i];
            for (int k = 0; k < c->k; k++) {
                const double xv = x[(size_t)i * c->ldx + k], wv = w[(size_t)j * c->k + k];
                exact += xv * wv;
                bound +=
                    fabs(xv) * sw * 0.5 + sx * 0.5 * fabs(ds2_qgemm_weights_get(pw, j, k) * sw);
                mag += fabs(xv * wv);
            }
            const size_t at = (size_t)i * c->ldy + j;
            const double want = exact + bias[j] + (c->accumulate ? y0[at] : 0.0);
            bound = bound * (1.0 + 1e-4) + 1e-6 * (mag + fabs(want) + 1.0);
            ck_assert_msg(fabs(y_ref[at] - want) <= bound, "y[%d][%d] = %g, float %g, bound %g", i,
                          j, y_ref[at], want, bound);
        }
    ds2_qgemm_weights_free(pw);
    free(x), free(w), free(bias), free(y0), free(y_ref), free(y), free(ws_ref), free(ws);
}

START_TEST(test_qlinear_shapes)
{
    const int ms[] = {1, 2, 3, 4, 5, 7, 9, 16, 37};
    const int ns[] = {1, 15, 16, 17, 29, 70};
    const int ks[] = {1, 6, 33, 160};
    for (size_t a = 0; a < 9; a++)
        for (size_t b = 0; b < 6; b++)
            for (size_t d = 0; d < 4; d++) {
                const int n = ns[b];
                qlinear_case c = {ms[a], n, ks[d], ks[d], n, 0, n, 0, X_MIXED};
                check_qlinear(&c);
            }
}
END_TEST

START_TEST(test_qlinear_ranges_strides_accumulate)
{
    const int ranges[][2] = {{0, 70}, {16, 48}, {5, 6}, {3, 33}, {48, 70}, {0, 0}, {69, 70}};
    for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++)
        for (int acc = 0; acc < 2; acc++)
            for (int mi = 0; mi < 3; mi++) {
                /* 37 rows: two 16-row tiles for a tile kernel (AMX) plus a 5-row edge */
                const int m = (int[]){1, 6, 37}[mi];
                qlinear_case c = {m, 70, 45, 51, 75, ranges[r][0], ranges[r][1], acc, X_NEGATIVE};
                check_qlinear(&c);
                c.x = X_POSITIVE;
                check_qlinear(&c);
            }
}
END_TEST

START_TEST(test_qlinear_large_panel)
{
    /* Enough rows for several activation panels (kp·2 bytes per row vs 192 KiB). */
    qlinear_case c = {300, 40, 1312, 1312, 40, 0, 40, 1, X_MIXED};
    check_qlinear(&c);
}
END_TEST

START_TEST(test_rows_do_not_depend_on_batch)
{
    /* Per-row quantization: each row of a batch gives the bits it gives alone (gemm tiles vs
     * the gemv kernel, different neighbours). */
    const int m = 7, n = 40, k = 90;
    uint32_t s = 99;
    float *x = malloc(sizeof(float) * m * k), *w = malloc(sizeof(float) * n * k);
    float y[7 * 40], y1[40];
    for (int i = 0; i < m * k; i++)
        x[i] = rng_uniform(&s, -1.0f, 1.0f) * (float)(1 + (i / k) * 10);
    for (int i = 0; i < n * k; i++)
        w[i] = rng_uniform(&s, -1.0f, 1.0f);
    ds2_qgemm_weights *pw = ds2_qgemm_weights_pack(n, k, w, NULL, NULL, NULL);
    void *ws = malloc(ds2_qgemm_acts_workspace_size(m, k));
    ds2_qgemm_acts qa;
    ck_assert_int_eq(ds2_qgemm_acts_quantize(&qa, ws, x, m, k, k), 0);
    ck_assert_int_eq(ds2_qgemm_compute(pw, &qa, y, n, 0, n, 0), 0);
    for (int i = 0; i < m; i++) {
        ck_assert_int_eq(ds2_qgemm_acts_quantize(&qa, ws, x + (size_t)i * k, 1, k, k), 0);
        ck_assert_int_eq(ds2_qgemm_compute(pw, &qa, y1, n, 0, n, 0), 0);
        ck_assert(memcmp(y1, y + (size_t)i * n, sizeof y1) == 0);
    }
    ds2_qgemm_weights_free(pw);
    free(x), free(w), free(ws);
}
END_TEST

START_TEST(test_quantize_row_ranges)
{
    const int m = 9, k = 21;
    uint32_t s = 5;
    float x[9 * 21];
    for (int i = 0; i < m * k; i++)
        x[i] = rng_uniform(&s, -4.0f, 2.0f);
    void *a = malloc(ds2_qgemm_acts_workspace_size(m, k)),
         *b = malloc(ds2_qgemm_acts_workspace_size(m, k));
    ds2_qgemm_acts qa, qb;
    ck_assert_int_eq(ds2_qgemm_acts_quantize(&qa, a, x, m, k, k), 0);
    ck_assert_int_eq(ds2_qgemm_acts_init(&qb, b, m, k), 0);
    ck_assert_int_eq(ds2_qgemm_acts_quantize_rows(&qb, x, k, 4, m), 0);
    ck_assert_int_eq(ds2_qgemm_acts_quantize_rows(&qb, x, k, 0, 4), 0);
    ck_assert_int_eq(ds2_qgemm_acts_quantize_rows(&qb, x, k, 0, m + 1), -1);
    ck_assert_int_eq(qa.format, qb.format);
    const size_t elem = qa.format == DS2_QGEMM_ACTS_U8 ? 1 : sizeof(int16_t);
    ck_assert(memcmp(qa.q, qb.q, elem * m * qa.kp) == 0);
    ck_assert(memcmp(qa.scale, qb.scale, sizeof(float) * m) == 0);
    ck_assert(memcmp(qa.zero, qb.zero, sizeof(int32_t) * m) == 0);
    free(a), free(b);
}
END_TEST

typedef struct split_job {
    const ds2_qgemm_weights *w;
    const ds2_qgemm_acts *qa;
    float *y;
    int ldy, n_begin, n_end, rc;
} split_job;

static void *split_worker(void *arg)
{
    split_job *j = arg;
    j->rc = ds2_qgemm_compute(j->w, j->qa, j->y, j->ldy, j->n_begin, j->n_end, 1);
    return NULL;
}

START_TEST(test_threads_split_columns)
{
    /* The caller's pattern: one quantization, threads on disjoint column ranges (one range
     * not block aligned), accumulating onto a precomputed projection. */
    const int m = 6, n = 70, k = 64, ldy = 73;
    uint32_t s = 31;
    float x[6 * 64], w[70 * 64], y0[6 * 73], y1[6 * 73], y2[6 * 73];
    for (int i = 0; i < m * k; i++)
        x[i] = rng_uniform(&s, -1.0f, 1.0f);
    for (int i = 0; i < n * k; i++)
        w[i] = rng_uniform(&s, -1.0f, 1.0f);
    for (int i = 0; i < m * ldy; i++)
        y0[i] = rng_uniform(&s, -1.0f, 1.0f);
    ds2_qgemm_weights *pw = ds2_qgemm_weights_pack(n, k, w, NULL, NULL, NULL);
    char ws[4096];
    ck_assert_uint_le(ds2_qgemm_acts_workspace_size(m, k), sizeof ws);
    ds2_qgemm_acts qa;
    ck_assert_int_eq(ds2_qgemm_acts_quantize(&qa, ws, x, m, k, k), 0);
    memcpy(y1, y0, sizeof y0);
    memcpy(y2, y0, sizeof y0);
    ck_assert_int_eq(ds2_qgemm_compute(pw, &qa, y1, ldy, 0, n, 1), 0);
    const int cuts[] = {0, 16, 37, 70};
    split_job jobs[3];
    pthread_t th[3];
    for (int t = 0; t < 3; t++) {
        jobs[t] = (split_job){pw, &qa, y2, ldy, cuts[t], cuts[t + 1], -1};
        ck_assert_int_eq(pthread_create(&th[t], NULL, split_worker, &jobs[t]), 0);
    }
    for (int t = 0; t < 3; t++) {
        pthread_join(th[t], NULL);
        ck_assert_int_eq(jobs[t].rc, 0);
    }
    ck_assert(memcmp(y1, y2, sizeof y1) == 0);
    ds2_qgemm_weights_free(pw);
}
END_TEST

START_TEST(test_thread_ranges_tile_the_columns)
{
    const int ns[] = {1, 16, 29, 70, 4096, 3000};
    for (size_t i = 0; i < 6; i++)
        for (int threads = 1; threads <= 9; threads++) {
            int next = 0, widest = 0, narrowest = ns[i];
            for (int t = 0; t < threads; t++) {
                int lo, hi;
                ds2_qgemm_thread_range(ns[i], threads, t, &lo, &hi);
                ck_assert_int_eq(lo, next);
                ck_assert_int_le(lo, hi);
                ck_assert(lo % NR == 0 || lo == ns[i]);
                next = hi;
                widest = hi - lo > widest ? hi - lo : widest;
                narrowest = hi - lo < narrowest ? hi - lo : narrowest;
            }
            ck_assert_int_eq(next, ns[i]);
            if (ns[i] % NR == 0)
                ck_assert_int_le(widest - narrowest, NR);
        }
    int lo = 5, hi = 5;
    ds2_qgemm_thread_range(10, 2, 2, &lo, &hi);
    ck_assert(lo == 0 && hi == 0);
}
END_TEST

static Suite *qgemm_suite(void)
{
    Suite *s = suite_create("qgemm");
    TCase *u = tcase_create("ukernels");
    tcase_set_timeout(u, 120);
    tcase_add_test(u, test_ukernel_k_sizes);
    tcase_add_test(u, test_ukernel_partial_tiles);
    tcase_add_test(u, test_ukernel_column_subrange);
    tcase_add_test(u, test_ukernel_strides);
    tcase_add_test(u, test_ukernel_zero_points);
    tcase_add_test(u, test_ukernel_accumulate);
    tcase_add_test(u, test_ukernel_saturation);
    tcase_add_test(u, test_ukernel_blocks);
    suite_add_tcase(s, u);
    TCase *q = tcase_create("quantize-pack");
    tcase_add_test(q, test_quantize_avx2_matches_ref_and_round_trips);
    tcase_add_test(q, test_quantize_zero_is_exact_and_nan_is_safe);
    tcase_add_test(q, test_quantize_row_ranges);
    tcase_add_test(q, test_pack_f32_equals_prequantized);
    tcase_add_test(q, test_bad_arguments);
    tcase_add_test(q, test_weight_quantizer_avx2_matches_ref);
    suite_add_tcase(s, q);
    TCase *l = tcase_create("qlinear");
    tcase_set_timeout(l, 120);
    tcase_add_test(l, test_qlinear_shapes);
    tcase_add_test(l, test_qlinear_ranges_strides_accumulate);
    tcase_add_test(l, test_qlinear_large_panel);
    tcase_add_test(l, test_rows_do_not_depend_on_batch);
    tcase_add_test(l, test_threads_split_columns);
    tcase_add_test(l, test_thread_ranges_tile_the_columns);
    suite_add_tcase(s, l);
    return s;
}

int main(void)
{
    printf("qgemm kernels on this CPU: %s\n", ds2_qgemm_isa());
    SRunner *r = srunner_create(qgemm_suite());
    srunner_run_all(r, CK_NORMAL);
    const int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
