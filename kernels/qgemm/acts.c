/* Dynamic activation quantization of a whole X: workspace layout and the row loop around the
 * per-row quantize ukernel of the chosen kernel set. */
#include <math.h>
#include <stdint.h>

#include "qgemm/ukernels.h"

static size_t round_kp(int k)
{
    return (size_t)(k + DS2_QGEMM_KR - 1) / DS2_QGEMM_KR * DS2_QGEMM_KR;
}

size_t ds2_qgemm_acts_workspace_size(int m, int k)
{
    if (m <= 0 || k <= 0 || k > DS2_QGEMM_MAX_K || (size_t)m > SIZE_MAX / 4 / round_kp(k))
        return 0;
    /* Sized for the larger format (S16), so one workspace serves every kernel set. */
    const size_t qbytes = ((size_t)m * round_kp(k) * sizeof(int16_t) + 63) / 64 * 64;
    return 64 + qbytes + (size_t)m * (sizeof(float) + sizeof(int32_t));
}

static int acts_init(ds2_qgemm_acts_format format, ds2_qgemm_acts *qa, void *workspace, int m,
                     int k)
{
    if (!qa || !workspace || ds2_qgemm_acts_workspace_size(m, k) == 0)
        return -1;
    char *base = (char *)(((uintptr_t)workspace + 63) & ~(uintptr_t)63);
    const size_t kp = round_kp(k);
    const size_t elem = format == DS2_QGEMM_ACTS_U8 ? 1 : sizeof(int16_t);
    qa->m = m;
    qa->k = k;
    qa->kp = (int)kp;
    qa->format = format;
    qa->q = base;
    qa->scale = (const float *)(base + ((size_t)m * kp * elem + 63) / 64 * 64);
    qa->zero = (const int32_t *)(qa->scale + m);
    return 0;
}

int ds2_qgemm_acts_init(ds2_qgemm_acts *qa, void *workspace, int m, int k)
{
    return acts_init(ds2_qgemm_kernels_best()->format, qa, workspace, m, k);
}

static int quantize_rows(ds2_qgemm_quantize_ukernel_fn fn, ds2_qgemm_acts *qa, const float *x,
                         int ldx, int m_begin, int m_end)
{
    if (!qa || !x || ldx < qa->k || m_begin < 0 || m_begin > m_end || m_end > qa->m)
        return -1;
    /* The workspace is the caller's and writable; qa exposes it read-only to consumers. */
    char *q = (char *)qa->q;
    float *scale = (float *)qa->scale;
    int32_t *zero = (int32_t *)qa->zero;
    const size_t row_bytes = (size_t)qa->kp * (qa->format == DS2_QGEMM_ACTS_U8 ? 1 : 2);
    for (int i = m_begin; i < m_end; i++)
        scale[i] = fn(x + (size_t)i * ldx, qa->k, qa->kp, q + (size_t)i * row_bytes, &zero[i]);
    return 0;
}

/* The fastest quantizer that writes qa's format. */
static ds2_qgemm_quantize_ukernel_fn quantizer_for(ds2_qgemm_acts_format format)
{
    const ds2_qgemm_kernels *best = ds2_qgemm_kernels_best();
    if (best->format == format)
        return best->quantize;
    return format == DS2_QGEMM_ACTS_U8 ? ds2_qgemm_kernels_ref_c4()->quantize
                                       : ds2_qgemm_kernels_ref()->quantize;
}

int ds2_qgemm_acts_quantize_rows(ds2_qgemm_acts *qa, const float *x, int ldx, int m_begin,
                                 int m_end)
{
    if (!qa)
        return -1;
    return quantize_rows(quantizer_for(qa->format), qa, x, ldx, m_begin, m_end);
}

int ds2_qgemm_acts_quantize_with(const ds2_qgemm_kernels *kt, ds2_qgemm_acts *qa, void *workspace,
                                 const float *x, int m, int k, int ldx)
{
    if (!kt || acts_init(kt->format, qa, workspace, m, k))
        return -1;
    return quantize_rows(kt->quantize, qa, x, ldx, 0, m);
}

int ds2_qgemm_acts_quantize(ds2_qgemm_acts *qa, void *workspace, const float *x, int m, int k,
                            int ldx)
{
    return ds2_qgemm_acts_quantize_with(ds2_qgemm_kernels_best(), qa, workspace, x, m, k, ldx);
}

int ds2_qgemm_acts_quantize_ref(ds2_qgemm_acts *qa, void *workspace, const float *x, int m, int k,
                                int ldx)
{
    return ds2_qgemm_acts_quantize_with(ds2_qgemm_kernels_ref(), qa, workspace, x, m, k, ldx);
}
