/* The fp32 linear step: OpenBLAS sgemm, or sgemv for one row (the batch-1 recurrent step). A
 * model stored as int8 is dequantized once at prepare. */
#include <cblas.h>
#include <stdlib.h>

#include "cpu/internal.h"

typedef struct fp32_matrix {
    int rows, cols;
    const float *w;
    float *owned;
} fp32_matrix;

static ds2_status pack(const ds2_matrix *m, void **packed, ds2_err *err)
{
    *packed = NULL;
    if (m->rows < 1 || m->cols < 1 || (!m->f32 && (!m->i8 || !m->scale)))
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "cpu-fp32: malformed %dx%d matrix", m->rows,
                        m->cols);
    fp32_matrix *p = calloc(1, sizeof(*p));
    if (!p)
        return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "cpu-fp32: out of memory");
    p->rows = m->rows;
    p->cols = m->cols;
    p->w = m->f32;
    if (!p->w) {
        size_t n = (size_t)m->rows * m->cols;
        if (!(p->owned = malloc(sizeof(float) * n))) {
            free(p);
            return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY,
                            "cpu-fp32: cannot dequantize a %dx%d matrix", m->rows, m->cols);
        }
        for (size_t i = 0; i < n; i++)
            p->owned[i] = m->i8[i] * m->scale[i / m->cols];
        p->w = p->owned;
    }
    *packed = p;
    return DS2_OK;
}

static void unpack(void *packed)
{
    fp32_matrix *p = packed;
    if (p)
        free(p->owned);
    free(p);
}

static ds2_status apply(cpu_worker *s, const void *packed, int rows, const float *x, int ldx,
                        float *y, int ldy, int accumulate, ds2_err *err)
{
    (void)s;
    (void)err;
    const fp32_matrix *p = packed;
    float beta = accumulate ? 1.0f : 0.0f;
    if (rows == 1)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, p->rows, p->cols, 1.0f, p->w, p->cols, x, 1, beta,
                    y, 1);
    else if (rows > 1)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, p->rows, p->cols, 1.0f, x, ldx,
                    p->w, p->cols, beta, y, ldy);
    return DS2_OK;
}

const cpu_linear_i cpu_linear_fp32 = {"fp32", 0, 0, pack, unpack, apply};
