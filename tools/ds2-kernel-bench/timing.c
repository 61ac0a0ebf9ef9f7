#include "timing.h"

#include <stdlib.h>
#include <time.h>

double timing_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double timing_median(void (*fn)(void *ctx), void *ctx, int min_runs, double budget)
{
    enum { MAX_RUNS = 500 };
    double t[MAX_RUNS];
    int n = 0;
    fn(ctx); /* warm up */
    const double start = timing_now();
    while (n < MAX_RUNS && (n < min_runs || timing_now() - start < budget)) {
        const double t0 = timing_now();
        fn(ctx);
        t[n++] = timing_now() - t0;
    }
    qsort(t, (size_t)n, sizeof t[0], cmp_double);
    return t[n / 2];
}
