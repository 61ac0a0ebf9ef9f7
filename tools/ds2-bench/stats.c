/* Summary statistics of timing samples. */
#include "stats.h"

#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double stats_percentile_sorted(const double *sorted, int n, double q)
{
    if (n <= 0)
        return 0.0;
    if (q <= 0)
        return sorted[0];
    if (q >= 100)
        return sorted[n - 1];
    double rank = q / 100.0 * (double)(n - 1);
    int lo = (int)rank;
    double frac = rank - (double)lo;
    if (lo + 1 >= n)
        return sorted[n - 1];
    return sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]);
}

double stats_sum(const double *x, int n)
{
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += x[i];
    return s;
}

int stats_summarize(const double *x, int n, bench_stats *out)
{
    memset(out, 0, sizeof *out);
    if (n <= 0)
        return 0;
    double *s = malloc((size_t)n * sizeof *s);
    if (!s)
        return -1;
    memcpy(s, x, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    out->mean = stats_sum(s, n) / n;
    out->min = s[0];
    out->max = s[n - 1];
    out->p25 = stats_percentile_sorted(s, n, 25);
    out->p50 = stats_percentile_sorted(s, n, 50);
    out->p75 = stats_percentile_sorted(s, n, 75);
    out->p90 = stats_percentile_sorted(s, n, 90);
    out->p99 = stats_percentile_sorted(s, n, 99);
    free(s);
    return 0;
}
