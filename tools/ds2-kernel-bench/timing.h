/* Wall-clock sampling shared by the kernel bench's sections (conv.c, products.c). */
#ifndef DS2_KBENCH_TIMING_H
#define DS2_KBENCH_TIMING_H

/* CLOCK_MONOTONIC seconds. */
double timing_now(void);
/* qsort comparator for doubles, ascending. */
int timing_cmp_double(const void *a, const void *b);

#endif
