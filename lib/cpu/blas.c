/*
 * OpenBLAS products split over the session's own pool in blocks whose boundaries never depend on
 * the thread count, with OpenBLAS itself single-threaded. So every output element is computed by
 * the same call with the same blocking for any n_threads — results are bit-identical across
 * thread counts — and no session changes a process-wide setting another depends on (OpenBLAS's
 * thread count is global: sessions setting it to their own counts disturbed each other).
 */
#include <cblas.h>

#include "cpu/internal.h"

/* Columns of C per block: large enough that OpenBLAS's packing is amortised, small enough to
 * spread a DS2 product (N = 4·H gate columns, or conv positions) over a few threads. */
#define BLOCK_COLS 256

typedef struct gemm_job {
    int trans_b, m, n, k;
    const float *a, *b;
    int lda, ldb;
    float beta;
    float *c;
    int ldc;
} gemm_job;

static void gemm_blocks(void *ctx, int b0, int b1)
{
    const gemm_job *j = ctx;
    for (int blk = b0; blk < b1; blk++) {
        const int n0 = blk * BLOCK_COLS, nn = j->n - n0 < BLOCK_COLS ? j->n - n0 : BLOCK_COLS;
        const float *b = j->trans_b ? j->b + (size_t)n0 * j->ldb : j->b + n0;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, j->trans_b ? CblasTrans : CblasNoTrans, j->m, nn,
                    j->k, 1.0f, j->a, j->lda, b, j->ldb, j->beta, j->c + n0, j->ldc);
    }
}

void cpu_sgemm(cpu_worker *w, int trans_b, int m, int n, int k, const float *a, int lda,
               const float *b, int ldb, float beta, float *c, int ldc)
{
    if (m <= 0 || n <= 0)
        return;
    gemm_job job = {trans_b, m, n, k, a, b, lda, ldb, beta, c, ldc};
    const int blocks = (n + BLOCK_COLS - 1) / BLOCK_COLS;
    /* Below ~1M multiply-adds (~10 us) a fork-join costs more than it saves. */
    if (!w->pool || (double)m * n * k < (1 << 20))
        gemm_blocks(&job, 0, blocks);
    else
        ds2_threadpool_parallel_for(w->pool, blocks, 1, gemm_blocks, &job);
}
