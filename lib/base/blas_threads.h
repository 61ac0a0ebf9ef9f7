/* OpenBLAS runs single-threaded everywhere in libds2: the front end's DFT and the CPU backend's
 * products run under libds2's own per-session threads instead, in splits that do not depend on
 * the thread count. OpenBLAS's thread count is process-wide; 1 is the only value libds2 ever
 * sets, so sessions cannot disturb each other through it, and no OpenBLAS thread ever runs
 * under a libds2 call (TSan-clean, results independent of OpenBLAS's default). */
#ifndef DS2_BLAS_THREADS_H
#define DS2_BLAS_THREADS_H

/* Idempotent; call before any BLAS call. */
void ds2_blas_single_threaded(void);

#endif
