/* Device selection, network shape checks, and the one-time weight upload. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weights.h"

ds2_status ds2_cuda_use_device(int device, ds2_err *err)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n <= 0) {
        (void)cudaGetLastError();
        return ds2_fail(err, DS2_ERR_NO_DEVICE, "no CUDA device (cudaGetDeviceCount: %s)",
                        e != cudaSuccess ? cudaGetErrorString(e) : "0 devices");
    }
    if (device < 0 || device >= n)
        return ds2_fail(err, DS2_ERR_NO_DEVICE, "no CUDA device %d (%d present)", device, n);
    CUDA_CHECK(cudaSetDevice(device));
    return DS2_OK;
}

static int has_lookahead(const ds2_net *n)
{
    return n->directions == 1 && n->lookahead_context > 0;
}

/* Assigns every weight its place in one arena (256-byte aligned) and returns the floats it
 * needs; with base NULL only counts. */
static size_t place(ds2_cuda_model *m, float *base)
{
    const ds2_net *n = &m->net;
    size_t off = 0;
#define TAKE(ptr, count)                                                                           \
    do {                                                                                           \
        (ptr) = base ? base + off : NULL;                                                          \
        off += ((size_t)(count) + 63) / 64 * 64;                                                   \
    } while (0)
    for (int i = 0; i < n->n_conv; i++) {
        const ds2_conv_desc *c = &n->conv[i];
        TAKE(m->conv_w[i], (size_t)c->c_out * c->c_in * c->k_freq * c->k_time);
        TAKE(m->conv_b[i], c->c_out);
    }
    const size_t dgh = (size_t)n->directions * n->gates * n->hidden;
    for (int l = 0; l < n->layers; l++) {
        ds2_cuda_layer *L = &m->layers[l];
        TAKE(L->w_ih, dgh * (size_t)n->layer[l].input_size);
        TAKE(L->w_hh, dgh * (size_t)n->hidden);
        TAKE(L->b_ih, dgh);
        TAKE(L->b_hh, dgh);
    }
    if (has_lookahead(n))
        TAKE(m->lookahead_w, (size_t)n->hidden * n->lookahead_context);
    TAKE(m->fc_w, (size_t)n->n_labels * n->hidden);
    TAKE(m->fc_b, n->n_labels);
#undef TAKE
    return off;
}

/* src NULL uploads zeros (an absent bias). */
static ds2_status upload(float *dst, const float *src, size_t n, const char *what, ds2_err *err)
{
    cudaError_t e = src ? cudaMemcpy(dst, src, n * sizeof(float), cudaMemcpyHostToDevice)
                        : cudaMemset(dst, 0, n * sizeof(float));
    if (e != cudaSuccess)
        return ds2_fail(err, DS2_ERR_BACKEND, "uploading %s: %s failed: %s", what,
                        src ? "cudaMemcpy" : "cudaMemset", cudaGetErrorString(e));
    return DS2_OK;
}

/* int8 matrices become fp32 (i8 * scale[row]) on the way. */
static ds2_status upload_matrix(float *dst, const ds2_matrix *m, float **tmp, size_t *tmp_cap,
                                const char *what, ds2_err *err)
{
    const size_t n = (size_t)m->rows * m->cols;
    if (m->f32)
        return upload(dst, m->f32, n, what, err);
    if (n > *tmp_cap) {
        float *p = (float *)realloc(*tmp, n * sizeof(float));
        if (!p)
            return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "out of memory dequantizing %s", what);
        *tmp = p;
        *tmp_cap = n;
    }
    for (int r = 0; r < m->rows; r++)
        for (int c = 0; c < m->cols; c++)
            (*tmp)[(size_t)r * m->cols + c] = (float)m->i8[(size_t)r * m->cols + c] * m->scale[r];
    return upload(dst, *tmp, n, what, err);
}

static ds2_status upload_all(ds2_cuda_model *m, const ds2_net *n, ds2_err *err)
{
    char what[64];
    float *tmp = NULL;
    size_t tmp_cap = 0;
    ds2_status st = DS2_OK;
    for (int i = 0; st == DS2_OK && i < n->n_conv; i++) {
        const ds2_conv_desc *c = &n->conv[i];
        snprintf(what, sizeof what, "conv %d weight", i);
        st = upload(m->conv_w[i], c->weight, (size_t)c->c_out * c->c_in * c->k_freq * c->k_time,
                    what, err);
        snprintf(what, sizeof what, "conv %d bias", i);
        if (st == DS2_OK)
            st = upload(m->conv_b[i], c->bias, c->c_out, what, err);
    }
    const size_t gh = (size_t)n->gates * n->hidden;
    for (int l = 0; st == DS2_OK && l < n->layers; l++) {
        const ds2_cuda_layer *L = &m->layers[l];
        for (int d = 0; st == DS2_OK && d < n->directions; d++) {
            const ds2_rnn_direction *src = &n->layer[l].dir[d];
            snprintf(what, sizeof what, "rnn %d.%d w_ih", l, d);
            st = upload_matrix(L->w_ih + d * gh * n->layer[l].input_size, &src->w_ih, &tmp,
                               &tmp_cap, what, err);
            snprintf(what, sizeof what, "rnn %d.%d w_hh", l, d);
            if (st == DS2_OK)
                st = upload_matrix(L->w_hh + d * gh * n->hidden, &src->w_hh, &tmp, &tmp_cap, what,
                                   err);
            snprintf(what, sizeof what, "rnn %d.%d biases", l, d);
            if (st == DS2_OK)
                st = upload(L->b_ih + d * gh, src->b_ih, gh, what, err);
            if (st == DS2_OK)
                st = upload(L->b_hh + d * gh, src->b_hh, gh, what, err);
        }
    }
    if (st == DS2_OK && m->lookahead_w)
        st = upload(m->lookahead_w, n->lookahead_w, (size_t)n->hidden * n->lookahead_context,
                    "lookahead weight", err);
    if (st == DS2_OK)
        st = upload_matrix(m->fc_w, &n->fc, &tmp, &tmp_cap, "fc weight", err);
    if (st == DS2_OK)
        st = upload(m->fc_b, n->fc_bias, n->n_labels, "fc bias", err);
    free(tmp);
    return st;
}

ds2_status ds2_cuda_model_create(const ds2_net *net, int device, ds2_cuda_model **out, ds2_err *err)
{
    *out = NULL;
    DS2_TRY(ds2_net_validate(net, err));
    DS2_TRY(ds2_cuda_use_device(device, err));
    ds2_cuda_model *m = (ds2_cuda_model *)calloc(1, sizeof *m);
    if (!m)
        return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "out of memory");
    m->device = device;
    m->net = *net;
    m->rnn.type = net->rnn_type;
    m->rnn.gates = net->gates;
    m->rnn.hidden = net->hidden;
    m->rnn.directions = net->directions;
    m->layers = (ds2_cuda_layer *)calloc((size_t)net->layers, sizeof *m->layers);
    if (!m->layers) {
        ds2_cuda_model_free(m);
        return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (int l = 0; l < net->layers; l++)
        m->layers[l].input_size = net->layer[l].input_size;
    const size_t floats = place(m, NULL);
    cudaError_t e = cudaMalloc(&m->arena, floats * sizeof(float));
    if (e != cudaSuccess) {
        m->arena = NULL;
        ds2_cuda_model_free(m);
        return ds2_fail(err, DS2_ERR_BACKEND, "cudaMalloc(%zu bytes of weights) failed: %s",
                        floats * sizeof(float), cudaGetErrorString(e));
    }
    place(m, (float *)m->arena);
    ds2_status st = upload_all(m, net, err);
    if (st != DS2_OK) {
        ds2_cuda_model_free(m);
        return st;
    }
    *out = m;
    return DS2_OK;
}

void ds2_cuda_model_free(ds2_cuda_model *m)
{
    if (!m)
        return;
    if (m->arena && cudaSetDevice(m->device) == cudaSuccess)
        cudaFree(m->arena);
    free(m->layers);
    free(m);
}
