/*
 * ds2-kernel-bench: int8 dynamic-quantization kernels vs OpenBLAS fp32 on DeepSpeech2 shapes.
 *
 *   build/ds2-kernel-bench [--quick] [--threads T] [--ms MS] [--m M] [--cputime] [--accuracy]
 *                          [--conv] [--products]
 *
 * --quick: only N = 4096, K = 1024; --threads: 1..T threads (default 2); --ms: sampling time
 * per cell (default 150); --m: only this M (default 1, 8, 64, 500); --cputime: see now();
 * --accuracy: only the per-row vs per-tensor error table (accuracy.c); --conv: only the fp32
 * conv kernels on DS2's conv layers (conv.c); --products: only the fp32 frame products, OpenBLAS
 * against kernels/f32gemm panels (products.c).
 *
 * For each N×K weight (N = gates·H, K = input or hidden size) and M rows of X: median time of
 * y = X·Wᵀ with int8 (quantize X + ds2_qgemm_compute split by 16-aligned column ranges over
 * a spinning pthread pool) and with cblas_sgemm (cblas_sgemv for M = 1, openblas threads set
 * to the same count). "warm" reuses one weight copy; "cold" cycles through enough copies
 * (≥ 64 MiB) that the weights come from DRAM, as XNNPACK's benchmarks do. For M = 1 the
 * weight-streaming rate (GB/s) is printed too.
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accuracy.h"
#include "conv.h"
#include "pool.h"
#include "products.h"
#include "qgemm/qgemm.h"

#define COLD_BYTES ((size_t)64 << 20)
#define MAX_SAMPLES 2000

/* --cputime: time by the process's CPU time divided by the thread count, which discounts
 * time-slicing with other processes on a shared machine (spin-waiting still counts, so it
 * errs slow). */
static clockid_t bench_clock = CLOCK_MONOTONIC;
static int clock_threads = 1;

static double now(void)
{
    struct timespec ts;
    clock_gettime(bench_clock, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct bench_case {
    int m, n, k, copies;
    const float *x;
    float *y;
    /* int8 */
    ds2_qgemm_weights **qw;
    ds2_qgemm_acts qa;
    void *ws;
    /* fp32 */
    float **fw;
    int current;
    pool *pool;
} bench_case;

static void int8_columns(void *arg, int t, int nt)
{
    bench_case *c = arg;
    int lo, hi;
    ds2_qgemm_thread_range(c->n, nt, t, &lo, &hi);
    ds2_qgemm_compute(c->qw[c->current], &c->qa, c->y, c->n, lo, hi, 0);
}

static void run_int8(bench_case *c)
{
    ds2_qgemm_acts_quantize(&c->qa, c->ws, c->x, c->m, c->k, c->k);
    pool_run(c->pool, int8_columns, c);
}

static void run_fp32(bench_case *c)
{
    const float *w = c->fw[c->current];
    if (c->m == 1)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, c->n, c->k, 1.0f, w, c->k, c->x, 1, 0.0f, c->y, 1);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c->m, c->n, c->k, 1.0f, c->x, c->k, w,
                    c->k, 0.0f, c->y, c->n);
}

/* Median seconds of one call, sampling for about budget seconds; *best gets the fastest (the
 * uncontended speed when other processes share the cores). */
static double measure(void (*fn)(bench_case *), bench_case *c, int copies, double budget,
                      double *best)
{
    static double t[MAX_SAMPLES];
    c->current = 0;
    fn(c); /* warm up: page faults, thread start */
    int n = 0;
    const double start = now();
    while (n < MAX_SAMPLES && (n < 5 || now() - start < budget)) {
        c->current = (n + 1) % copies;
        const double t0 = now();
        fn(c);
        t[n++] = (now() - t0) / clock_threads;
    }
    qsort(t, (size_t)n, sizeof t[0], cmp_double);
    *best = t[0];
    return t[n / 2];
}

static void print_header(void)
{
    printf("%5s %5s %4s %3s %4s | %8s %6s %6s | %8s %6s %6s | %6s | %7s %7s\n", "N", "K", "M",
           "thr", "wts", "int8 us", "GOP/s", "best", "fp32 us", "GFLOP/s", "best", "x fp32",
           "i8 GB/s", "f32GB/s");
}

static void bench_shape(int n, int k, const int *ms, int n_ms, int max_threads, double budget)
{
    const size_t i8_bytes = (size_t)n * k, f32_bytes = 4 * i8_bytes;
    const int copies_i8 = (int)((COLD_BYTES + i8_bytes - 1) / i8_bytes);
    const int copies_f32 = (int)((COLD_BYTES + f32_bytes - 1) / f32_bytes);
    int max_m = 0;
    for (int i = 0; i < n_ms; i++)
        max_m = ms[i] > max_m ? ms[i] : max_m;
    float *w = malloc(f32_bytes), *x = malloc(sizeof(float) * (size_t)max_m * k);
    float *y = malloc(sizeof(float) * (size_t)max_m * n);
    unsigned s = 1;
    for (size_t i = 0; i < (size_t)n * k; i++)
        w[i] = (float)((s = s * 1103515245u + 12345u) >> 9) / 8388608.0f - 0.5f;
    for (size_t i = 0; i < (size_t)max_m * k; i++)
        x[i] = (float)((s = s * 1103515245u + 12345u) >> 9) / 8388608.0f * 2.0f - 0.3f;
    bench_case c = {.n = n, .k = k, .x = x, .y = y};
    c.qw = calloc((size_t)copies_i8, sizeof *c.qw);
    c.fw = calloc((size_t)copies_f32, sizeof *c.fw);
    for (int i = 0; i < copies_i8; i++)
        c.qw[i] = ds2_qgemm_weights_pack(n, k, w, NULL, NULL, NULL);
    for (int i = 0; i < copies_f32; i++) {
        c.fw[i] = malloc(f32_bytes);
        memcpy(c.fw[i], w, f32_bytes);
    }
    c.ws = malloc(ds2_qgemm_acts_workspace_size(max_m, k));
    for (int mi = 0; mi < n_ms; mi++)
        for (int t = 1; t <= max_threads; t++) {
            c.m = ms[mi];
            clock_threads = bench_clock == CLOCK_MONOTONIC ? 1 : t;
            openblas_set_num_threads(t);
            for (int cold = 0; cold < 2; cold++) {
                double bi, bf;
                /* The pool pins threads (main included) only while the int8 kernels run, so
                 * OpenBLAS keeps its own placement. */
                c.pool = pool_create(t);
                const double ti = measure(run_int8, &c, cold ? copies_i8 : 1, budget, &bi);
                pool_free(c.pool);
                const double tf = measure(run_fp32, &c, cold ? copies_f32 : 1, budget, &bf);
                const double ops = 2.0 * c.m * n * k;
                printf("%5d %5d %4d %3d %4s | %8.1f %6.1f %6.1f | %8.1f %6.1f %6.1f | %6.2f |", n,
                       k, c.m, t, cold ? "cold" : "warm", ti * 1e6, ops / ti * 1e-9,
                       ops / bi * 1e-9, tf * 1e6, ops / tf * 1e-9, ops / bf * 1e-9, tf / ti);
                if (c.m == 1)
                    printf(" %7.1f %7.1f", (double)i8_bytes / ti * 1e-9,
                           (double)f32_bytes / tf * 1e-9);
                printf("\n");
                fflush(stdout);
            }
        }
    for (int i = 0; i < copies_i8; i++)
        ds2_qgemm_weights_free(c.qw[i]);
    for (int i = 0; i < copies_f32; i++)
        free(c.fw[i]);
    free(c.qw), free(c.fw), free(c.ws), free(w), free(x), free(y);
}

int main(int argc, char **argv)
{
    int quick = 0, max_threads = 2, only_m = 0, products = 0;
    double budget = 0.15;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            quick = 1;
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            max_threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--ms") && i + 1 < argc)
            budget = atof(argv[++i]) * 1e-3;
        else if (!strcmp(argv[i], "--accuracy")) {
            accuracy_report();
            return 0;
        } else if (!strcmp(argv[i], "--conv")) {
            conv_report(budget);
            return 0;
        } else if (!strcmp(argv[i], "--products"))
            products = 1;
        else if (!strcmp(argv[i], "--cputime"))
            bench_clock = CLOCK_PROCESS_CPUTIME_ID;
        else if (!strcmp(argv[i], "--m") && i + 1 < argc)
            only_m = atoi(argv[++i]);
        else {
            fprintf(stderr,
                    "usage: %s [--quick] [--threads T] [--ms MS] [--m M] [--cputime] [--accuracy] "
                    "[--conv] [--products]\n",
                    argv[0]);
            return 2;
        }
    }
    if (max_threads < 1 || max_threads > 64 || !(budget > 0) || only_m < 0 || only_m > 100000) {
        fprintf(stderr, "bad --threads, --ms or --m\n");
        return 2;
    }
    if (products) { /* after parsing: --threads and --ms may follow it */
        products_report(max_threads, budget);
        return 0;
    }
    double load[3] = {0};
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3)
            load[0] = NAN;
        fclose(f);
    }
    printf("ds2-kernel-bench: int8 kernels '%s', OpenBLAS %s\n", ds2_qgemm_isa(),
           openblas_get_config());
    printf("load average %.2f %.2f %.2f; median (and best) of repeats, ~%.0f ms per cell, %s "
           "time; GOP/s = 2MNK/t\n",
           load[0], load[1], load[2], budget * 1e3,
           bench_clock == CLOCK_MONOTONIC ? "wall" : "CPU/threads");
    print_header();
    int ms[] = {1, 8, 64, 500}, n_ms = 4;
    if (only_m)
        ms[0] = only_m, n_ms = 1;
    const int ns[] = {4096, 3072}, ks[] = {1024, 1312};
    for (int a = 0; a < (quick ? 1 : 2); a++)
        for (int b = 0; b < (quick ? 1 : 2); b++)
            bench_shape(ns[a], ks[b], ms, n_ms, max_threads, budget);
    return 0;
}
