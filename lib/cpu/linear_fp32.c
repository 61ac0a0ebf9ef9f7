/*
 * The fp32 linear step. On AVX2 and AVX-512 CPUs every matrix is packed once into
 * kernels/f32gemm panels (32-column panels, one fma chain per output, so rows are independent and
 * a batch is one call): the products over every frame (W_ih, the FC) and the recurrent step
 * (W_hh, whose few rows get the panels' wide tiles, reading W once per step for the whole batch).
 * Without AVX2: OpenBLAS sgemm for the frame products, once per utterance, and one sgemv per row
 * for the step. A model stored as int8 is dequantized once at prepare.
 */
#include <cblas.h>
#include <stdlib.h>

#include "cpu/internal.h"
#include "f32gemm/panels.h"

typedef struct fp32_matrix {
    int rows, cols;
    const float *w;                  /* [rows][cols]; NULL once panels hold the weights */
    float *owned;                    /* w when the model stores int8 */
    ds2_f32gemm_panels *panels;      /* on AVX2 and AVX-512 CPUs */
    ds2_f32gemm_panel_ukernel_fn uk; /* the panels' microkernel */
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
    if ((p->uk = ds2_f32gemm_panel_ukernel_get())) {
        if (!(p->panels = ds2_f32gemm_panels_pack(p->rows, p->cols, p->w, (size_t)p->cols))) {
            free(p->owned);
            free(p);
            return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "cpu-fp32: cannot pack a %dx%d matrix",
                            m->rows, m->cols);
        }
        /* The panels are all the products read: no second copy stays resident. */
        free(p->owned);
        p->owned = NULL;
        p->w = NULL;
    }
    *packed = p;
    return DS2_OK;
}

static void unpack(void *packed)
{
    fp32_matrix *p = packed;
    if (p) {
        free(p->owned);
        ds2_f32gemm_panels_free(p->panels);
    }
    free(p);
}

static int has_panels(const void *packed)
{
    return ((const fp32_matrix *)packed)->panels != NULL;
}

/* Blocks of the panel product handed to threads: 128 columns (a panel group of
 * kernels/f32gemm/panels.c) × 192 rows (16 tiles), numbered column group by column group, so
 * that a thread's contiguous share walks the rows under one group of panels, which stays in its
 * L2. */
#define PANEL_BLOCK_COLS 128
#define PANEL_BLOCK_ROWS 192

typedef struct panel_job {
    const fp32_matrix *p;
    const float *x;
    float *y;
    int rows, ldx, ldy, accumulate, row_blocks;
} panel_job;

static void panel_blocks(void *ctx, int b0, int b1)
{
    const panel_job *j = ctx;
    for (int b = b0; b < b1; b++) {
        const int cg = b / j->row_blocks, rb = b % j->row_blocks;
        const int n0 = cg * PANEL_BLOCK_COLS, m0 = rb * PANEL_BLOCK_ROWS;
        const int n1 = n0 + PANEL_BLOCK_COLS < j->p->rows ? n0 + PANEL_BLOCK_COLS : j->p->rows;
        const int m1 = m0 + PANEL_BLOCK_ROWS < j->rows ? m0 + PANEL_BLOCK_ROWS : j->rows;
        /* Arguments were checked by apply; the ranges are in bounds by construction. */
        (void)ds2_f32gemm_panels_compute(j->p->uk, j->p->panels, j->x, (size_t)j->ldx, m0, m1, n0,
                                         n1, j->y, (size_t)j->ldy, j->accumulate);
    }
}

static ds2_status apply(cpu_worker *s, const void *packed, int rows, const float *x, int ldx,
                        float *y, int ldy, int accumulate, ds2_err *err)
{
    (void)err;
    const fp32_matrix *p = packed;
    if (rows <= 0)
        return DS2_OK;
    if (!p->panels) {
        cpu_sgemm(s, 1, rows, p->rows, p->cols, x, ldx, p->w, p->cols, accumulate ? 1.0f : 0.0f, y,
                  ldy);
        return DS2_OK;
    }
    panel_job job = {p,   x,   y,          rows,
                     ldx, ldy, accumulate, (rows + PANEL_BLOCK_ROWS - 1) / PANEL_BLOCK_ROWS};
    const int blocks = job.row_blocks * ((p->rows + PANEL_BLOCK_COLS - 1) / PANEL_BLOCK_COLS);
    /* Below ~1M multiply-adds (~10 us) a fork-join costs more than it saves. */
    if (!s->pool || (double)rows * p->rows * p->cols < (1 << 20))
        panel_blocks(&job, 0, blocks);
    else
        ds2_threadpool_parallel_for(s->pool, blocks, 1, panel_blocks, &job);
    return DS2_OK;
}

/* The split recurrent step (cpu_rnn_split.c): each thread multiplies the shared h, read in place
 * (no copy, no quantization), by its own rows of W. */
typedef struct fp32_step {
    const float *x;
    int rows, ldx, max_rows;
} fp32_step;

static void *step_new(int max_rows, int k)
{
    (void)k;
    fp32_step *st = calloc(1, sizeof *st);
    if (st)
        st->max_rows = max_rows;
    return st;
}

static int step_input(void *p, const float *x, int rows, int ldx)
{
    fp32_step *st = p;
    if (rows < 1 || rows > st->max_rows)
        return -1;
    st->x = x;
    st->rows = rows;
    st->ldx = ldx;
    return 0;
}

static int step_cols(void *p, const void *packed, float *y, int ldy, int n0, int n1, int accumulate,
                     int reverse)
{
    (void)reverse; /* W is streamed in one pass per call either way */
    const fp32_step *st = p;
    const fp32_matrix *w = packed;
    if (n0 < 0 || n1 > w->rows || n0 > n1)
        return -1;
    if (n0 == n1)
        return 0;
    if (w->panels)
        return ds2_f32gemm_panels_compute(w->uk, w->panels, st->x, (size_t)st->ldx, 0, st->rows, n0,
                                          n1, y, (size_t)ldy, accumulate);
    /* One sgemv per row, not one sgemm for all: a row's result then does not depend on how
     * many rows are active, so an utterance gets the same bits in a batch as alone. */
    const float beta = accumulate ? 1.0f : 0.0f;
    for (int r = 0; r < st->rows; r++)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, n1 - n0, w->cols, 1.0f,
                    w->w + (size_t)n0 * w->cols, w->cols, st->x + (size_t)r * st->ldx, 1, beta,
                    y + (size_t)r * ldy + n0, 1);
    return 0;
}

static ds2_status frames_input(cpu_worker *s, const float *x, int rows, int k, int ldx,
                               cpu_frames *f, ds2_err *err)
{
    (void)s, (void)err; /* the panels read x in place */
    *f = (cpu_frames){x, rows, k, ldx, NULL};
    return DS2_OK;
}

static int frames_cols(const cpu_frames *f, const void *packed, float *y, int ldy, int r0, int r1,
                       int n0, int n1, int accumulate)
{
    const fp32_matrix *p = packed;
    if (!p->panels || r0 < 0 || r1 > f->rows || r0 > r1 || f->k != p->cols)
        return -1;
    return ds2_f32gemm_panels_compute(p->uk, p->panels, f->x + (size_t)r0 * f->ldx, (size_t)f->ldx,
                                      0, r1 - r0, n0, n1, y, (size_t)ldy, accumulate);
}

static size_t bytes(const void *packed)
{
    const fp32_matrix *p = packed;
    return p->panels ? ds2_f32gemm_panels_bytes(p->panels)
                     : sizeof(float) * (size_t)p->rows * p->cols;
}

const cpu_linear_i cpu_linear_fp32 = {
    .name = "fp32",
    .pack = pack,
    .unpack = unpack,
    .copied = has_panels,
    .rows_independent = has_panels,
    .apply = apply,
    .step_new = step_new,
    .step_free = free,
    .step_input = step_input,
    .step_cols = step_cols,
    .frames_input = frames_input,
    .frames_cols = frames_cols,
    .bytes = bytes,
};
