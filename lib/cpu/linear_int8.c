/*
 * The int8 linear step (dynamic quantization, kernels/qgemm): weights packed once per model
 * (per-row int8, from f32 or the file's pre-quantized i8 + scale), activations quantized per row
 * on every product, then the output columns split across the session's pool in blocks of
 * DS2_QGEMM_NR.
 */
#include <stdint.h>
#include <stdlib.h>

#include "cpu/internal.h"
#include "qgemm/qgemm.h"

typedef struct int8_scratch {
    void *ws;
    size_t bytes;
    ds2_qgemm_acts acts; /* the last quantized rows (in ws): apply's, or frames_input's */
} int8_scratch;

static void scratch_free(void *p)
{
    int8_scratch *s = p;
    if (s)
        free(s->ws);
    free(s);
}

static ds2_status pack(const ds2_matrix *m, void **packed, ds2_err *err)
{
    *packed = ds2_qgemm_weights_pack(m->rows, m->cols, m->f32, m->f32 ? NULL : m->i8,
                                     m->f32 ? NULL : m->scale, NULL);
    if (!*packed)
        return ds2_fail(err,
                        m->rows > 0 && m->cols > 0 && m->cols <= DS2_QGEMM_MAX_K
                            ? DS2_ERR_OUT_OF_MEMORY
                            : DS2_ERR_INVALID_ARGUMENT,
                        "cpu-int8: cannot pack a %dx%d weight matrix (bad size, non-finite "
                        "values or out of memory)",
                        m->rows, m->cols);
    return DS2_OK;
}

static void unpack(void *packed)
{
    ds2_qgemm_weights_free(packed);
}

typedef struct compute_job {
    const ds2_qgemm_weights *w;
    const ds2_qgemm_acts *qa;
    float *y;
    int ldy, accumulate;
    int failed; /* written only by a failing part; read after the join */
} compute_job;

static void compute_cols(void *ctx, int n0, int n1)
{
    compute_job *j = ctx;
    const int rc = ds2_qgemm_compute(j->w, j->qa, j->y, j->ldy, n0, n1, j->accumulate);
    if (rc != 0)
        __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
}

/* The worker's activation workspace, grown to hold rows x k quantized values. */
static ds2_status workspace(cpu_worker *s, int rows, int k, int8_scratch **out, ds2_err *err)
{
    if (!s->lin_scratch) {
        if (!(s->lin_scratch = calloc(1, sizeof(int8_scratch))))
            return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "cpu-int8: out of memory");
        s->lin_scratch_free = scratch_free;
    }
    int8_scratch *sc = s->lin_scratch;
    size_t need = ds2_qgemm_acts_workspace_size(rows, k);
    if (need == 0)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "cpu-int8: a %dx%d product is too large",
                        rows, k);
    if (need > sc->bytes) {
        void *ws = aligned_alloc(64, (need + 63) & ~(size_t)63);
        if (!ws)
            return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY,
                            "cpu-int8: cannot allocate %zu bytes of activations", need);
        free(sc->ws);
        sc->ws = ws;
        sc->bytes = need;
    }
    *out = sc;
    return DS2_OK;
}

/* Quantizes rows x k of x into the worker's workspace; *qa valid until its next call. */
static ds2_status quantize_rows(cpu_worker *s, const float *x, int rows, int k, int ldx,
                                const ds2_qgemm_acts **qa, ds2_err *err)
{
    int8_scratch *sc = NULL; /* set by workspace() when it succeeds */
    ds2_status st = workspace(s, rows, k, &sc, err);
    if (st != DS2_OK)
        return st;
    if (ds2_qgemm_acts_quantize(&sc->acts, sc->ws, x, rows, k, ldx) != 0)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "cpu-int8: cannot quantize %dx%d input",
                        rows, k);
    *qa = &sc->acts;
    return DS2_OK;
}

static ds2_status apply(cpu_worker *s, const void *packed, int rows, const float *x, int ldx,
                        float *y, int ldy, int accumulate, ds2_err *err)
{
    const ds2_qgemm_weights *w = packed;
    const int n = ds2_qgemm_weights_n(w), k = ds2_qgemm_weights_k(w);
    if (rows <= 0)
        return DS2_OK;
    const ds2_qgemm_acts *qa;
    ds2_status st = quantize_rows(s, x, rows, k, ldx, &qa, err);
    if (st != DS2_OK)
        return st;
    compute_job job = {w, qa, y, ldy, accumulate, 0};
    /* Below ~1M multiply-adds (~10 us) a fork-join costs more than it saves. */
    if ((double)rows * n * k < (1 << 20))
        compute_cols(&job, 0, n);
    else
        ds2_threadpool_parallel_for(s->pool, n, DS2_QGEMM_NR, compute_cols, &job);
    if (job.failed)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "cpu-int8: bad %dx%d product", rows, n);
    return DS2_OK;
}

/* The split recurrent step: one quantized copy of h per thread, columns of its own. */
typedef struct int8_step {
    void *ws;
    int max_rows, k;
    ds2_qgemm_acts qa;
} int8_step;

static void *step_new(int max_rows, int k)
{
    const size_t need = ds2_qgemm_acts_workspace_size(max_rows, k);
    int8_step *st = need ? calloc(1, sizeof *st) : NULL;
    if (!st)
        return NULL;
    if (!(st->ws = aligned_alloc(64, (need + 63) & ~(size_t)63))) {
        free(st);
        return NULL;
    }
    st->max_rows = max_rows;
    st->k = k;
    return st;
}

static void step_free(void *p)
{
    int8_step *st = p;
    if (st)
        free(st->ws);
    free(st);
}

static int step_input(void *p, const float *x, int rows, int ldx)
{
    int8_step *st = p;
    if (rows < 1 || rows > st->max_rows)
        return -1;
    return ds2_qgemm_acts_quantize(&st->qa, st->ws, x, rows, st->k, ldx);
}

static int step_cols(void *p, const void *packed, float *y, int ldy, int n0, int n1, int accumulate,
                     int reverse)
{
    int8_step *st = p;
    return reverse ? ds2_qgemm_compute_reverse(packed, &st->qa, y, ldy, n0, n1, accumulate)
                   : ds2_qgemm_compute(packed, &st->qa, y, ldy, n0, n1, accumulate);
}

/* Weights are always copied (quantized and packed); rows are quantized one by one. */
static int always(const void *packed)
{
    (void)packed;
    return 1;
}

static ds2_status frames_input(cpu_worker *s, const float *x, int rows, int k, int ldx,
                               cpu_frames *f, ds2_err *err)
{
    *f = (cpu_frames){x, rows, k, ldx, NULL};
    if (rows <= 0)
        return DS2_OK;
    const ds2_qgemm_acts *qa;
    ds2_status st = quantize_rows(s, x, rows, k, ldx, &qa, err);
    if (st == DS2_OK)
        f->impl = qa;
    return st;
}

static int frames_cols(const cpu_frames *f, const void *packed, float *y, int ldy, int r0, int r1,
                       int n0, int n1, int accumulate)
{
    const ds2_qgemm_acts *qa = f->impl;
    if (!qa || r0 < 0 || r1 > qa->m || r0 > r1)
        return -1;
    if (r0 == r1)
        return 0;
    /* The rows [r0, r1) of the quantized frames: each row stands alone (its own scale and zero
     * point), so a view of them is what quantizing those rows alone would give. */
    const size_t elem = qa->format == DS2_QGEMM_ACTS_S16 ? sizeof(int16_t) : sizeof(uint8_t);
    ds2_qgemm_acts v = *qa;
    v.m = r1 - r0;
    v.q = (const char *)qa->q + (size_t)r0 * qa->kp * elem;
    v.zero = qa->zero + r0;
    v.scale = qa->scale + r0;
    return ds2_qgemm_compute(packed, &v, y, ldy, n0, n1, accumulate);
}

static size_t bytes(const void *packed)
{
    return ds2_qgemm_weights_bytes(packed);
}

const cpu_linear_i cpu_linear_int8 = {
    .name = "int8",
    .pack = pack,
    .unpack = unpack,
    .copied = always,
    .rows_independent = always,
    .apply = apply,
    .step_new = step_new,
    .step_free = step_free,
    .step_input = step_input,
    .step_cols = step_cols,
    .frames_input = frames_input,
    .frames_cols = frames_cols,
    .bytes = bytes,
};
