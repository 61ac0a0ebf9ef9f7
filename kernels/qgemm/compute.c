/* Driver: walks column blocks and row tiles of one quantized product, picking the kernel per
 * tile, and the plain scalar reference of the same contract. */
#include "qgemm/ukernels.h"

/* Activation rows kept hot in L2 while a weight block (≤ 64 KiB) sits in L1/L2. */
#define PANEL_BYTES (192 * 1024)

static int compute_args_ok(const ds2_qgemm_weights *w, const ds2_qgemm_acts *qa, const float *y,
                           int ldy, int n_begin, int n_end)
{
    if (!w || !qa || !y || !qa->q || !qa->scale || qa->k != w->k || qa->kp != w->kp || qa->m <= 0)
        return 0;
    if (n_begin < 0 || n_begin > n_end || n_end > w->n)
        return 0;
    return qa->m == 1 || ldy >= n_end;
}

int ds2_qgemm_compute_with(const ds2_qgemm_kernels *kt, const ds2_qgemm_weights *w,
                           const ds2_qgemm_acts *qa, float *y, int ldy, int n_begin, int n_end,
                           int accumulate)
{
    if (!kt || !compute_args_ok(w, qa, y, ldy, n_begin, n_end))
        return -1;
    const int m = qa->m, kp = qa->kp;
    int panel = (int)(PANEL_BYTES / ((size_t)kp * sizeof(int16_t)));
    panel = panel < DS2_QGEMM_MR ? DS2_QGEMM_MR : panel / DS2_QGEMM_MR * DS2_QGEMM_MR;
    for (int m0 = 0; m0 < m; m0 += panel) {
        const int m1 = m - m0 < panel ? m : m0 + panel;
        for (int b = n_begin / DS2_QGEMM_NR; b * DS2_QGEMM_NR < n_end; b++) {
            const int col0 = b * DS2_QGEMM_NR;
            const int lo = n_begin > col0 ? n_begin : col0;
            const int hi = n_end < col0 + DS2_QGEMM_NR ? n_end : col0 + DS2_QGEMM_NR;
            const int8_t *wb = w->packed + (size_t)b * kp * DS2_QGEMM_NR;
            for (int i = m0; i < m1; i += DS2_QGEMM_MR) {
                const int mr = m1 - i < DS2_QGEMM_MR ? m1 - i : DS2_QGEMM_MR;
                const ds2_qgemm_params p = {
                    .a_scale = qa->scale + i,
                    .w_scale = w->scale + col0,
                    .bias = w->bias + col0,
                    .n_first = lo - col0,
                    .n_count = hi - lo,
                    .accumulate = accumulate,
                };
                const ds2_qgemm_ukernel_fn fn = mr == 1 ? kt->gemv : kt->gemm;
                fn(mr, kp, qa->q + (size_t)i * kp, (size_t)kp, wb, y + (size_t)i * ldy + lo,
                   (size_t)ldy, NULL, &p);
            }
        }
    }
    return 0;
}

int ds2_qgemm_compute(const ds2_qgemm_weights *w, const ds2_qgemm_acts *qa, float *y, int ldy,
                      int n_begin, int n_end, int accumulate)
{
    return ds2_qgemm_compute_with(ds2_qgemm_kernels_best(), w, qa, y, ldy, n_begin, n_end,
                                  accumulate);
}

void ds2_qgemm_thread_range(int n, int n_threads, int t, int *n_begin, int *n_end)
{
    *n_begin = *n_end = 0;
    if (n <= 0 || n_threads <= 0 || t < 0 || t >= n_threads)
        return;
    const long long blocks = (n + DS2_QGEMM_NR - 1) / DS2_QGEMM_NR;
    const long long lo = blocks * t / n_threads * DS2_QGEMM_NR;
    const long long hi = blocks * (t + 1) / n_threads * DS2_QGEMM_NR;
    *n_begin = (int)(lo < n ? lo : n);
    *n_end = (int)(hi < n ? hi : n);
}

int ds2_qgemm_compute_ref(const ds2_qgemm_weights *w, const ds2_qgemm_acts *qa, float *y, int ldy,
                          int n_begin, int n_end, int accumulate)
{
    if (!compute_args_ok(w, qa, y, ldy, n_begin, n_end))
        return -1;
    for (int i = 0; i < qa->m; i++)
        for (int j = n_begin; j < n_end; j++) {
            const int16_t *a = qa->q + (size_t)i * qa->kp;
            int32_t acc = 0;
            for (int k = 0; k < qa->k; k++)
                acc += a[k] * ds2_qgemm_weights_get(w, j, k);
            const float v = ds2_qgemm_dequant(acc, qa->scale[i], w->scale[j], w->bias[j]);
            float *out = y + (size_t)i * ldy + j;
            *out = accumulate ? *out + v : v;
        }
    return 0;
}
