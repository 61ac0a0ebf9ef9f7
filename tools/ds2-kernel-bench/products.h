#ifndef DS2_KBENCH_PRODUCTS_H
#define DS2_KBENCH_PRODUCTS_H
/* Times the fp32 frame products y = X·Wᵀ (RNN input projections, N = 4096 gates, K = 1024 and
 * 1312) with OpenBLAS sgemm and with kernels/f32gemm panels, 1..max_threads threads, and prints
 * GFLOP/s; budget: seconds per cell. */
void products_report(int max_threads, double budget);
#endif
