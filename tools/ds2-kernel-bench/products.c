/*
 * --products: the fp32 products over every frame — what cpu-fp32 spends half its time on at
 * batch 8 — as libds2 ran them through OpenBLAS (one sgemm with its own threads; Debian's
 * OpenBLAS 0.3.21 picks its Haswell kernels on Zen 4/5) and as it runs them on AVX2 and AVX-512
 * CPUs (kernels/f32gemm panels, W packed once, column groups split over a spinning pool). Shapes:
 * 250 frames (5 s after the conv stride) × batch 1 and 8. Median of repeats, wall time.
 */
#include "products.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

#include "timing.h"
#include "f32gemm/panels.h"
#include "pool.h"

typedef struct product {
    int m, n, k;
    const float *x, *w;
    float *y;
    ds2_f32gemm_panels *panels;
    ds2_f32gemm_panel_ukernel_fn uk;
    pool *pool;
} product;

static void run_sgemm(void *arg)
{
    product *p = arg;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, p->m, p->n, p->k, 1.0f, p->x, p->k, p->w,
                p->k, 0.0f, p->y, p->n);
}

/* Thread t of nt takes a contiguous share of the 128-column groups, as lib/cpu/linear_fp32.c. */
static void panel_share(void *arg, int t, int nt)
{
    product *p = arg;
    const int groups = (p->n + 127) / 128;
    const int g0 = groups * t / nt, g1 = groups * (t + 1) / nt;
    const int n0 = g0 * 128, n1 = g1 * 128 < p->n ? g1 * 128 : p->n;
    if (n0 < n1)
        ds2_f32gemm_panels_compute(p->uk, p->panels, p->x, (size_t)p->k, 0, p->m, n0, n1, p->y,
                                   (size_t)p->n, 0);
}

static void run_panels(void *arg)
{
    product *p = arg;
    pool_run(p->pool, panel_share, p);
}

void products_report(int max_threads, double budget)
{
    ds2_f32gemm_panel_ukernel_fn uk = ds2_f32gemm_panel_ukernel_get();
    printf("fp32 frame products: OpenBLAS %s (core %s) vs f32gemm panels (%s)\n",
           openblas_get_config(), openblas_get_corename(),
           uk == ds2_f32gemm_panel_ukernel_12x32__avx512 ? "avx512 12x32"
           : uk == ds2_f32gemm_panel_ukernel_6x16__avx2  ? "avx2 6x16"
           : uk                                          ? "?"
                : "none on this CPU: libds2 uses OpenBLAS");
    printf("%5s %5s %5s %3s | %9s %7s | %9s %7s | %6s\n", "M", "N", "K", "thr", "sgemm us",
           "GFLOP/s", "panels us", "GFLOP/s", "x sgemm");
    const int ms[] = {250, 2000}, ks[] = {1024, 1312}, n = 4096;
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
            const int m = ms[a], k = ks[b];
            float *x = malloc(sizeof(float) * m * k), *w = malloc(sizeof(float) * n * k);
            float *y = malloc(sizeof(float) * m * n);
            unsigned s = 7;
            for (int i = 0; i < m * k; i++)
                x[i] = (float)((s = s * 1103515245u + 12345u) >> 9) / 8388608.0f - 0.5f;
            for (int i = 0; i < n * k; i++)
                w[i] = (float)((s = s * 1103515245u + 12345u) >> 9) / 8388608.0f - 0.5f;
            product p = {m,  n,   k, x, w, y, uk ? ds2_f32gemm_panels_pack(n, k, w, k) : NULL,
                         uk, NULL};
            for (int t = 1; t <= max_threads; t++) {
                openblas_set_num_threads(t);
                const double ts = timing_median(run_sgemm, &p, 5, budget);
                double tp = 0;
                if (p.panels) {
                    p.pool = pool_create(t);
                    tp = timing_median(run_panels, &p, 5, budget);
                    pool_free(p.pool);
                }
                const double flop = 2.0 * m * n * k;
                printf("%5d %5d %5d %3d | %9.0f %7.1f | ", m, n, k, t, ts * 1e6, flop / ts * 1e-9);
                if (p.panels)
                    printf("%9.0f %7.1f | %6.2f\n", tp * 1e6, flop / tp * 1e-9, ts / tp);
                else
                    printf("%9s %7s | %6s\n", "-", "-", "-");
                fflush(stdout);
            }
            ds2_f32gemm_panels_free(p.panels);
            free(x), free(w), free(y);
        }
}
