/* Summary statistics of timing samples. */
#ifndef DS2_BENCH_STATS_H
#define DS2_BENCH_STATS_H

#include "bench.h"

/* Percentile q in [0, 100] of sorted[0..n) by linear interpolation between closest ranks
 * (numpy's default); 0 when n is 0. */
double stats_percentile_sorted(const double *sorted, int n, double q);

/* Mean, min, max and percentiles of x[0..n); all zero when n is 0. Returns -1 on allocation
 * failure. */
int stats_summarize(const double *x, int n, bench_stats *out);

double stats_sum(const double *x, int n);

#endif
