/* Driver: walks column blocks and row tiles of one quantized product, picking the kernel per
 * tile, and the plain scalar reference of the same contract. */
#include "cpuinfo.h"
#include "qgemm/ukernels.h"

/* From this many rows a tile kernel beats gemm's 4-row tiles even below a full 16-row tile (a
 * batch of 8's recurrent step: the W_hh slice is loaded once, not once per 4 rows). */
#define DS2_QGEMM_TILE_MIN_ROWS 5

/* Activation rows kept hot in L2 while a weight block (≤ 64 KiB) sits in L1/L2. */
#define PANEL_BYTES (192 * 1024)

static int compute_args_ok(const ds2_qgemm_weights *w, const ds2_qgemm_acts *qa, const float *y,
                           int ldy, int n_begin, int n_end)
{
    if (!w || !qa || !y || !qa->q || !qa->scale || !qa->zero || qa->k != w->k || qa->kp != w->kp ||
        qa->m <= 0)
        return 0;
    if (n_begin < 0 || n_begin > n_end || n_end > w->n)
        return 0;
    return qa->m == 1 || ldy >= n_end;
}

/* One column group (nb consecutive blocks from block b, columns [lo, hi)) over rows [m0, m1). */
static void run_group(const ds2_qgemm_kernels *kt, const ds2_qgemm_weights *w,
                      const ds2_qgemm_acts *qa, float *y, int ldy, int b, int nb, int lo, int hi,
                      int m0, int m1, int accumulate)
{
    const int kp = qa->kp;
    const size_t elem = qa->format == DS2_QGEMM_ACTS_U8 ? 1 : sizeof(int16_t);
    const size_t block_bytes = (size_t)kp * DS2_QGEMM_NR;
    const int col0 = b * DS2_QGEMM_NR;
    const int8_t *wb = w->packed + (size_t)b * block_bytes;
    int i = m0;
    if (kt->gemm_tiles && m1 - m0 >= DS2_QGEMM_TILE_MIN_ROWS) {
        const int mr = m1 - m0 >= 16 ? (m1 - m0) / 16 * 16 : m1 - m0;
        const ds2_qgemm_params p = {
            .a_scale = qa->scale + i,
            .w_scale = w->scale + col0,
            .bias = w->bias + col0,
            .a_zero = qa->zero + i,
            .colsum = w->colsum + col0,
            .n_first = lo - col0,
            .n_count = hi - lo,
            .accumulate = accumulate,
            .n_blocks = nb,
            .w_block_stride = block_bytes,
        };
        kt->gemm_tiles(mr, kp, (const char *)qa->q + (size_t)i * kp * elem, (size_t)kp, wb,
                       y + (size_t)i * ldy + lo, (size_t)ldy, NULL, &p);
        i += mr;
    }
    for (; i < m1; i += DS2_QGEMM_MR) {
        const int mr = m1 - i < DS2_QGEMM_MR ? m1 - i : DS2_QGEMM_MR;
        const ds2_qgemm_params p = {
            .a_scale = qa->scale + i,
            .w_scale = w->scale + col0,
            .bias = w->bias + col0,
            .a_zero = qa->zero + i,
            .colsum = w->colsum ? w->colsum + col0 : NULL,
            .n_first = lo - col0,
            .n_count = hi - lo,
            .accumulate = accumulate,
            .n_blocks = nb,
            .w_block_stride = block_bytes,
        };
        const ds2_qgemm_ukernel_fn fn = mr == 1 ? kt->gemv : kt->gemm;
        fn(mr, kp, (const char *)qa->q + (size_t)i * kp * elem, (size_t)kp, wb,
           y + (size_t)i * ldy + lo, (size_t)ldy, NULL, &p);
    }
}

static int block_is_whole(int b, int n_begin, int n_end)
{
    return b * DS2_QGEMM_NR >= n_begin && (b + 1) * DS2_QGEMM_NR <= n_end;
}

static int compute_impl(const ds2_qgemm_kernels *kt, const ds2_qgemm_weights *w,
                        const ds2_qgemm_acts *qa, float *y, int ldy, int n_begin, int n_end,
                        int accumulate, int reverse)
{
    if (!kt || !compute_args_ok(w, qa, y, ldy, n_begin, n_end))
        return -1;
    if (w->layout != kt->layout || qa->format != kt->format)
        return -1;
    if (n_begin == n_end)
        return 0;
    const int m = qa->m;
    const size_t elem = qa->format == DS2_QGEMM_ACTS_U8 ? 1 : sizeof(int16_t);
    const int max_blocks = kt->max_blocks > 1 ? kt->max_blocks : 1;
    int panel = (int)(PANEL_BYTES / ((size_t)qa->kp * elem));
    /* whole 32-row tiles per panel where a tile kernel takes them */
    const int step = kt->gemm_tiles ? 32 : DS2_QGEMM_MR;
    panel = panel < step ? step : panel / step * step;
    const int b_first = n_begin / DS2_QGEMM_NR, b_last = (n_end - 1) / DS2_QGEMM_NR;
    for (int m0 = 0; m0 < m; m0 += panel) {
        const int m1 = m - m0 < panel ? m : m0 + panel;
        /* Column groups: a partial block (at a range edge) alone, whole blocks up to the
         * kernel's max_blocks at a time; forward, or from the last block down. */
        for (int b = reverse ? b_last : b_first; reverse ? b >= b_first : b <= b_last;) {
            int start = b, nb = 1;
            if (block_is_whole(b, n_begin, n_end))
                while (nb < max_blocks && (reverse ? b - nb >= b_first : b + nb <= b_last) &&
                       block_is_whole(reverse ? b - nb : b + nb, n_begin, n_end))
                    nb++;
            if (reverse)
                start = b - nb + 1;
            const int col0 = start * DS2_QGEMM_NR;
            const int lo = n_begin > col0 ? n_begin : col0;
            const int hi = n_end < col0 + nb * DS2_QGEMM_NR ? n_end : col0 + nb * DS2_QGEMM_NR;
            run_group(kt, w, qa, y, ldy, start, nb, lo, hi, m0, m1, accumulate);
            b = reverse ? start - 1 : start + nb;
        }
    }
    ds2_cpu_clean_upper_state(); /* see cpuinfo.h */
    return 0;
}

int ds2_qgemm_compute_with(const ds2_qgemm_kernels *kt, const ds2_qgemm_weights *w,
                           const ds2_qgemm_acts *qa, float *y, int ldy, int n_begin, int n_end,
                           int accumulate)
{
    return compute_impl(kt, w, qa, y, ldy, n_begin, n_end, accumulate, 0);
}

int ds2_qgemm_compute_reverse(const ds2_qgemm_weights *w, const ds2_qgemm_acts *qa, float *y,
                              int ldy, int n_begin, int n_end, int accumulate)
{
    return compute_impl(ds2_qgemm_kernels_best(), w, qa, y, ldy, n_begin, n_end, accumulate, 1);
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
            /* Σ_k (q − z)·w straight from the definition, whatever the format. */
            int32_t acc = 0;
            for (int k = 0; k < qa->k; k++) {
                const size_t at = (size_t)i * qa->kp + k;
                const int centred = qa->format == DS2_QGEMM_ACTS_U8
                                        ? (int)((const uint8_t *)qa->q)[at] - qa->zero[i]
                                        : ((const int16_t *)qa->q)[at];
                acc += centred * ds2_qgemm_weights_get(w, j, k);
            }
            const float v = ds2_qgemm_dequant(acc, qa->scale[i], w->scale[j], w->bias[j]);
            float *out = y + (size_t)i * ldy + j;
            *out = accumulate ? *out + v : v;
        }
    return 0;
}
