/* Weight quantization (per output row, symmetric int8) and packing into NR-column blocks in the
 * kernel set's layout (C2 or C4, kernels/qgemm/ukernels.h), with C4's column sums. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qgemm/ukernels.h"

int ds2_qgemm_quantize_weights_ref(int n, int k, const float *w, int8_t *q, float *scale)
{
    for (int i = 0; i < n; i++) {
        const float *row = w + (size_t)i * k;
        float amax = 0.0f;
        for (int j = 0; j < k; j++) {
            if (!isfinite(row[j]))
                return -1;
            amax = fmaxf(amax, fabsf(row[j]));
        }
        /* 127, not 128: symmetric, so -w quantizes to -q. */
        const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
        scale[i] = amax / 127.0f;
        for (int j = 0; j < k; j++) {
            const float v = fminf(fmaxf(rintf(row[j] * inv), -127.0f), 127.0f);
            q[(size_t)i * k + j] = (int8_t)v;
        }
    }
    return 0;
}

/* The weight quantizer for this CPU: identical bytes either way (tested). */
static int quantize_row(int k, const float *w, int8_t *q, float *scale)
{
    if (ds2_cpu_has(DS2_ISA_AVX2))
        return ds2_qgemm_quantize_weights_ukernel__avx2(k, w, q, scale);
    return ds2_qgemm_quantize_weights_ref(1, k, w, q, scale);
}

static int args_ok(int n, int k, const float *w_f32, const int8_t *w_i8, const float *scale)
{
    if (n <= 0 || k <= 0 || k > DS2_QGEMM_MAX_K || n > INT32_MAX - DS2_QGEMM_NR)
        return 0;
    if ((w_f32 != NULL) == (w_i8 != NULL))
        return 0;
    if (w_i8 && !scale)
        return 0;
    if (w_i8)
        for (int i = 0; i < n; i++)
            if (!isfinite(scale[i]) || scale[i] < 0.0f)
                return 0;
    return 1;
}

static ds2_qgemm_weights *alloc_packed(int n, int k, ds2_qgemm_layout layout)
{
    const int kp = (k + DS2_QGEMM_KR - 1) / DS2_QGEMM_KR * DS2_QGEMM_KR;
    const int n_blocks = (n + DS2_QGEMM_NR - 1) / DS2_QGEMM_NR;
    const size_t ncols = (size_t)n_blocks * DS2_QGEMM_NR;
    const size_t wbytes = ncols * (size_t)kp; /* multiple of 128: keeps the floats aligned */
    /* + 1 KiB: an AMX B tile of the last partial 64-k slice reads up to that far past a block
     * (against zero activations; gemm-32x32c4-amx.c) */
    const size_t bytes = wbytes + 2 * ncols * sizeof(float) + ncols * sizeof(int32_t) + 1024;
    ds2_qgemm_weights *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    if (posix_memalign(&w->mem, 64, bytes) != 0) {
        free(w);
        return NULL;
    }
    memset(w->mem, 0, bytes);
    w->n = n;
    w->k = k;
    w->kp = kp;
    w->n_blocks = n_blocks;
    w->packed = w->mem;
    w->scale = (float *)((char *)w->mem + wbytes);
    w->bias = w->scale + ncols;
    w->layout = layout;
    w->colsum = layout == DS2_QGEMM_LAYOUT_C4 ? (int32_t *)(w->bias + ncols) : NULL;
    w->bytes = bytes + sizeof *w;
    return w;
}

/* Byte offset of weight (n, k) inside its column block. */
static size_t packed_offset(ds2_qgemm_layout layout, int col, int k)
{
    if (layout == DS2_QGEMM_LAYOUT_C4)
        return (size_t)(k / 4) * 4 * DS2_QGEMM_NR + (size_t)col * 4 + (size_t)(k % 4);
    return (size_t)(k / 2) * 2 * DS2_QGEMM_NR + (size_t)col * 2 + (size_t)(k % 2);
}

static void pack_row(ds2_qgemm_weights *w, int n, const int8_t *q)
{
    int8_t *block = w->packed + (size_t)(n / DS2_QGEMM_NR) * w->kp * DS2_QGEMM_NR;
    const int col = n % DS2_QGEMM_NR;
    const int g = w->layout == DS2_QGEMM_LAYOUT_C4 ? 4 : 2; /* consecutive k per column group */
    int32_t sum = 0;
    for (int j = 0; j < w->k; j++)
        sum += q[j];
    const int whole = w->k / g * g;
    int8_t *dst = block + packed_offset(w->layout, col, 0);
    const size_t step = (size_t)g * DS2_QGEMM_NR; /* bytes between a column's k groups */
    for (int j = 0; j < whole; j += g, dst += step)
        memcpy(dst, q + j, (size_t)g);
    for (int j = whole; j < w->k; j++)
        block[packed_offset(w->layout, col, j)] = q[j];
    if (w->colsum)
        w->colsum[n] = sum;
}

ds2_qgemm_weights *ds2_qgemm_weights_pack_with(const ds2_qgemm_kernels *kt, int n, int k,
                                               const float *w_f32, const int8_t *w_i8,
                                               const float *scale, const float *bias)
{
    if (!kt || !args_ok(n, k, w_f32, w_i8, scale))
        return NULL;
    if (bias)
        for (int i = 0; i < n; i++)
            if (!isfinite(bias[i]))
                return NULL;
    ds2_qgemm_weights *w = alloc_packed(n, k, kt->layout);
    if (!w)
        return NULL;
    int8_t *row = w_f32 ? malloc((size_t)k) : NULL;
    if (w_f32 && !row) {
        ds2_qgemm_weights_free(w);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        const int8_t *q = w_i8 ? w_i8 + (size_t)i * k : row;
        if (w_f32 && quantize_row(k, w_f32 + (size_t)i * k, row, &w->scale[i])) {
            free(row);
            ds2_qgemm_weights_free(w);
            return NULL;
        }
        if (w_i8)
            w->scale[i] = scale[i];
        w->bias[i] = bias ? bias[i] : 0.0f;
        pack_row(w, i, q);
    }
    free(row);
    return w;
}

ds2_qgemm_weights *ds2_qgemm_weights_pack(int n, int k, const float *w_f32, const int8_t *w_i8,
                                          const float *scale, const float *bias)
{
    return ds2_qgemm_weights_pack_with(ds2_qgemm_kernels_best(), n, k, w_f32, w_i8, scale, bias);
}

void ds2_qgemm_weights_free(ds2_qgemm_weights *w)
{
    if (!w)
        return;
    free(w->mem);
    free(w);
}

size_t ds2_qgemm_weights_bytes(const ds2_qgemm_weights *w)
{
    return w ? w->bytes : 0;
}

int ds2_qgemm_weights_n(const ds2_qgemm_weights *w)
{
    return w ? w->n : 0;
}

int ds2_qgemm_weights_k(const ds2_qgemm_weights *w)
{
    return w ? w->k : 0;
}

int8_t ds2_qgemm_weights_get(const ds2_qgemm_weights *w, int n, int k)
{
    if (!w || n < 0 || n >= w->n || k < 0 || k >= w->k)
        return 0;
    const int8_t *block = w->packed + (size_t)(n / DS2_QGEMM_NR) * w->kp * DS2_QGEMM_NR;
    return block[packed_offset(w->layout, n % DS2_QGEMM_NR, k)];
}

float ds2_qgemm_weights_scale(const ds2_qgemm_weights *w, int n)
{
    return w && n >= 0 && n < w->n ? w->scale[n] : 0.0f;
}
