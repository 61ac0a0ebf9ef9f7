/*
 * ds2_backend_cpu: model preparation and sessions of the CPU backend. Both precisions run the
 * same forward (forward.c); the precision picks only the linear step (linear_fp32.c: OpenBLAS,
 * linear_int8.c: dynamic quantization) for the RNN and FC products.
 */
#include <stdlib.h>
#include <string.h>

#include "cpu/internal.h"

static void cpu_release(void *model_data)
{
    cpu_model *m = model_data;
    if (!m)
        return;
    int n = m->net.layers * m->net.directions;
    for (int i = 0; i < n; i++) {
        if (m->w_ih)
            m->lin->unpack(m->w_ih[i]);
        if (m->w_hh)
            m->lin->unpack(m->w_hh[i]);
        if (m->bias_x)
            free(m->bias_x[i]);
    }
    m->lin->unpack(m->fc);
    free(m->w_ih);
    free(m->w_hh);
    free(m->bias_x);
    free(m->lookahead_t);
    cpu_conv_unpack(m);
    cpu_conv_int8_unpack(m);
    free(m);
}

static ds2_status cpu_prepare(const ds2_net *net, ds2_precision precision, int device_index,
                              void **model_data, ds2_err *err)
{
    (void)device_index;
    if (!net || !model_data)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "cpu backend: NULL argument to prepare");
    *model_data = NULL;
    const cpu_linear_i *lin = precision == DS2_PRECISION_INT8   ? &cpu_linear_int8
                              : precision == DS2_PRECISION_FP32 ? &cpu_linear_fp32
                                                                : NULL;
    if (!lin)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "cpu backend: precision %d", (int)precision);
    ds2_status st = ds2_net_validate(net, err);
    if (st != DS2_OK)
        return st;
    cpu_model *m = calloc(1, sizeof(*m));
    if (!m)
        return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "cpu backend: out of memory");
    m->net = *net;
    m->lin = lin;
    const int n = net->layers * net->directions, H = net->hidden, GH = net->gates * H;
    m->w_ih = calloc(n, sizeof(void *));
    m->w_hh = calloc(n, sizeof(void *));
    m->bias_x = calloc(n, sizeof(float *));
    if (!m->w_ih || !m->w_hh || !m->bias_x) {
        st = ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "cpu backend: out of memory");
        goto error;
    }
    for (int i = 0; i < n; i++) {
        const ds2_rnn_direction *d = &net->layer[i / net->directions].dir[i % net->directions];
        /* Each matrix's file pages go as soon as its copy exists: at most one matrix is
         * resident twice at any time. */
        if ((st = lin->pack(&d->w_ih, &m->w_ih[i], err)) != DS2_OK)
            goto error;
        if (lin->copied(m->w_ih[i]))
            ds2_net_weights_copied(net, &d->w_ih);
        if ((st = lin->pack(&d->w_hh, &m->w_hh[i], err)) != DS2_OK)
            goto error;
        if (lin->copied(m->w_hh[i]))
            ds2_net_weights_copied(net, &d->w_hh);
        if (!(m->bias_x[i] = malloc(sizeof(float) * GH))) {
            st = ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "cpu backend: out of memory");
            goto error;
        }
        /* GRU keeps b_hh apart: b_hn sits inside r * (W_hn h + b_hn). */
        for (int j = 0; j < GH; j++)
            m->bias_x[i][j] = d->b_ih[j] + (net->rnn_type == DS2_RNN_GRU ? 0.0f : d->b_hh[j]);
    }
    if ((st = lin->pack(&net->fc, &m->fc, err)) != DS2_OK || (st = cpu_conv_pack(m, err)) != DS2_OK)
        goto error;
    if (lin == &cpu_linear_int8 && (st = cpu_conv_int8_pack(m, err)) != DS2_OK)
        goto error;
    if (lin->copied(m->fc))
        ds2_net_weights_copied(net, &net->fc);
    if (net->directions == 1) {
        const int ctx = net->lookahead_context;
        if (!(m->lookahead_t = malloc(sizeof(float) * ctx * H))) {
            st = ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "cpu backend: out of memory");
            goto error;
        }
        for (int h = 0; h < H; h++)
            for (int j = 0; j < ctx; j++)
                m->lookahead_t[(size_t)j * H + h] = net->lookahead_w[(size_t)h * ctx + j];
    }
    *model_data = m;
    return DS2_OK;
error:
    cpu_release(m);
    return st;
}

static void worker_free(cpu_worker *w)
{
    cpu_buf_free(&w->hs);
    cpu_buf_free(&w->cs);
    cpu_buf_free(&w->hg);
    if (w->lin_scratch_free)
        w->lin_scratch_free(w->lin_scratch);
    ds2_threadpool_destroy(w->pool);
}

static void cpu_session_free(void *session_data)
{
    cpu_session *s = session_data;
    if (!s)
        return;
    cpu_buf *bufs[] = {&s->conv_in, &s->conv_a, &s->conv_b, &s->col,      &s->x0,     &s->ya,
                       &s->yb,      &s->proj,   &s->logits, &s->conv_qin, &s->conv_y, &s->y_back};
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
        cpu_buf_free(bufs[i]);
    free(s->perm);
    free(s->len_sorted);
    free(s->n_active);
    free(s->state_rows);
    worker_free(&s->w);
    free(s);
}

static ds2_status cpu_session_create(const ds2_net *net, const void *model_data, int n_threads,
                                     int device_index, void **session_data, ds2_err *err)
{
    (void)net;
    (void)device_index;
    if (!model_data || !session_data)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT,
                        "cpu backend: NULL argument to session_create");
    *session_data = NULL;
    cpu_session *s = calloc(1, sizeof(*s));
    if (!s)
        return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "cpu backend: out of memory");
    s->m = model_data;
    s->n_threads = n_threads;
    s->conv_col_bytes = 4u << 20;
    ds2_status st = ds2_threadpool_create(n_threads, &s->w.pool, err);
    if (st != DS2_OK) {
        cpu_session_free(s);
        return st;
    }
    *session_data = s;
    return DS2_OK;
}

const ds2_backend_i ds2_backend_cpu = {
    cpu_prepare, cpu_release, cpu_session_create, cpu_session_free, cpu_forward,
};
