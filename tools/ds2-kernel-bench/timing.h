/* Wall-clock sampling shared by the kernel bench's sections (conv.c, products.c). */
#ifndef DS2_KBENCH_TIMING_H
#define DS2_KBENCH_TIMING_H

/* CLOCK_MONOTONIC seconds. */
double timing_now(void);
/* The median wall time of fn(ctx) after one untimed call: at least min_runs (≤ 500) calls, and
 * more, up to 500, while the budget (seconds) lasts. */
double timing_median(void (*fn)(void *ctx), void *ctx, int min_runs, double budget);

#endif
