/*
 * The CUDA backend (row gpu-fp32 of lib/core/backends.c): sessions (stream, cuBLAS handle, reusable
 * device buffers, pinned staging, captured recurrent graphs) and the forward pass. Weights live in
 * ds2_cuda_model.
 */
#include <stdlib.h>
#include <string.h>

#include "weights.h"

extern "C" {
#include "base/backend.h"
}

/* cuBLAS needs a user workspace for graph capture (its default pool may allocate). */
#define CUBLAS_WORKSPACE_BYTES ((size_t)32 << 20)

const char *ds2_cublas_status_string(cublasStatus_t s)
{
    switch (s) {
    case CUBLAS_STATUS_SUCCESS:
        return "success";
    case CUBLAS_STATUS_NOT_INITIALIZED:
        return "not initialized";
    case CUBLAS_STATUS_ALLOC_FAILED:
        return "allocation failed";
    case CUBLAS_STATUS_INVALID_VALUE:
        return "invalid value";
    case CUBLAS_STATUS_ARCH_MISMATCH:
        return "architecture mismatch";
    case CUBLAS_STATUS_MAPPING_ERROR:
        return "mapping error";
    case CUBLAS_STATUS_EXECUTION_FAILED:
        return "execution failed";
    case CUBLAS_STATUS_INTERNAL_ERROR:
        return "internal error";
    case CUBLAS_STATUS_NOT_SUPPORTED:
        return "not supported";
    default:
        return "unknown cuBLAS status";
    }
}

typedef struct dev_buf {
    void *p;
    size_t cap; /* bytes */
} dev_buf;

typedef struct gpu_session {
    const ds2_cuda_model *m;
    int device;
    cudaStream_t stream;
    cublasHandle_t blas;
    void *workspace;
    int *step; /* recurrent step counter read by captured graphs */
    /* Device buffers, grown to the largest batch seen, never shrunk. */
    dev_buf feat, act[2], col, x[2], xp, hp, h, c, y, logits, probs, state, out_len;
    /* Pinned host staging. */
    dev_buf feat_host, probs_host, state_host, len_host;
    ds2_cuda_graph_key keys[DS2_CUDA_GRAPH_SLOTS];
    cudaGraphExec_t graphs[DS2_CUDA_GRAPH_SLOTS];
    unsigned long long clock;
} gpu_session;

static ds2_status gpu_prepare(const ds2_net *net, ds2_precision precision, int device_index,
                              void **model_data, ds2_err *err)
{
    *model_data = NULL;
    if (precision != DS2_PRECISION_FP32)
        return ds2_fail(err, DS2_ERR_UNSUPPORTED, "the GPU backend runs fp32 only");
    ds2_cuda_model *m;
    DS2_TRY(ds2_cuda_model_create(net, device_index, &m, err));
    *model_data = m;
    return DS2_OK;
}

static void gpu_release(void *model_data)
{
    ds2_cuda_model_free((ds2_cuda_model *)model_data);
}

static void drop_graphs(gpu_session *s)
{
    for (int i = 0; i < DS2_CUDA_GRAPH_SLOTS; i++) {
        if (s->graphs[i])
            cudaGraphExecDestroy(s->graphs[i]);
        s->graphs[i] = NULL;
        memset(&s->keys[i], 0, sizeof s->keys[i]);
    }
}

static void gpu_session_free(void *session_data)
{
    gpu_session *s = (gpu_session *)session_data;
    if (!s)
        return;
    if (cudaSetDevice(s->device) == cudaSuccess) {
        if (s->stream)
            cudaStreamSynchronize(s->stream);
        drop_graphs(s);
        dev_buf *dev[] = {&s->feat, &s->act[0], &s->act[1], &s->col,   &s->x[0],
                          &s->x[1], &s->xp,     &s->hp,     &s->h,     &s->c,
                          &s->y,    &s->logits, &s->probs,  &s->state, &s->out_len};
        for (size_t i = 0; i < sizeof dev / sizeof dev[0]; i++)
            cudaFree(dev[i]->p);
        dev_buf *host[] = {&s->feat_host, &s->probs_host, &s->state_host, &s->len_host};
        for (size_t i = 0; i < sizeof host / sizeof host[0]; i++)
            cudaFreeHost(host[i]->p);
        cudaFree(s->step);
        cudaFree(s->workspace);
        if (s->blas)
            cublasDestroy(s->blas);
        if (s->stream)
            cudaStreamDestroy(s->stream);
    }
    free(s);
}

static ds2_status session_init(gpu_session *s, ds2_err *err)
{
    CUDA_CHECK(cudaStreamCreateWithFlags(&s->stream, cudaStreamNonBlocking));
    CUBLAS_CHECK(cublasCreate(&s->blas));
    /* cublasSetStream resets the workspace, so the workspace comes second. */
    CUBLAS_CHECK(cublasSetStream(s->blas, s->stream));
    CUDA_CHECK(cudaMalloc(&s->workspace, CUBLAS_WORKSPACE_BYTES));
    CUBLAS_CHECK(cublasSetWorkspace(s->blas, s->workspace, CUBLAS_WORKSPACE_BYTES));
    /* Plain fp32 (no TF32 tensor-core rounding): results must match the CPU to 1e-4. */
    CUBLAS_CHECK(cublasSetMathMode(s->blas, CUBLAS_DEFAULT_MATH));
    CUDA_CHECK(cudaMalloc(&s->step, sizeof(int)));
    return DS2_OK;
}

static ds2_status gpu_session_create(const ds2_net *net, const void *model_data, int n_threads,
                                     int device_index, void **session_data, ds2_err *err)
{
    (void)net;
    (void)n_threads;
    *session_data = NULL;
    const ds2_cuda_model *m = (const ds2_cuda_model *)model_data;
    DS2_TRY(ds2_cuda_use_device(device_index, err));
    if (!m)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "gpu session: model not prepared");
    if (device_index != m->device)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT,
                        "gpu session on device %d for weights prepared on device %d", device_index,
                        m->device);
    gpu_session *s = (gpu_session *)calloc(1, sizeof *s);
    if (!s)
        return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "out of memory");
    s->m = m;
    s->device = device_index;
    ds2_status st = session_init(s, err);
    if (st != DS2_OK) {
        gpu_session_free(s);
        return st;
    }
    *session_data = s;
    return DS2_OK;
}

/* Grows b to at least `bytes` (device or pinned host); *moved is set when it was reallocated
 * (captured graphs hold the old address). Contents are not kept. */
static ds2_status grow(dev_buf *b, size_t bytes, int pinned, int *moved, const char *what,
                       ds2_err *err)
{
    if (bytes <= b->cap)
        return DS2_OK;
    if (pinned)
        cudaFreeHost(b->p);
    else
        cudaFree(b->p);
    b->p = NULL;
    b->cap = 0;
    *moved = 1;
    cudaError_t e =
        pinned ? cudaHostAlloc(&b->p, bytes, cudaHostAllocDefault) : cudaMalloc(&b->p, bytes);
    if (e != cudaSuccess) {
        b->p = NULL;
        return ds2_fail(err, DS2_ERR_BACKEND, "%s(%zu bytes for %s) failed: %s",
                        pinned ? "cudaHostAlloc" : "cudaMalloc", bytes, what,
                        cudaGetErrorString(e));
    }
    b->cap = bytes;
    return DS2_OK;
}

static ds2_status ensure_buffers(gpu_session *s, const ds2_cuda_plan *p, int want_state,
                                 ds2_err *err)
{
    int moved = 0;
    const size_t f = sizeof(float);
    const struct {
        dev_buf *b;
        size_t bytes;
        int pinned;
        const char *what;
    } need[] = {
        {&s->feat, p->feat * f, 0, "features"},
        {&s->act[0], p->act[0] * f, 0, "conv output"},
        {&s->act[1], p->act[1] * f, 0, "conv output"},
        {&s->col, p->col * f, 0, "im2col scratch"},
        {&s->x[0], p->x * f, 0, "rnn activations"},
        {&s->x[1], p->x * f, 0, "rnn activations"},
        {&s->xp, p->xp * f, 0, "input projections"},
        {&s->hp, p->hp * f, 0, "recurrent projections"},
        {&s->h, p->hc * f, 0, "hidden state"},
        {&s->c, p->hc * f, 0, "cell state"},
        {&s->y, p->y * f, 0, "rnn outputs"},
        {&s->logits, p->logits * f, 0, "logits"},
        {&s->probs, p->probs * f, 0, "probabilities"},
        {&s->out_len, (size_t)p->batch * sizeof(int), 0, "lengths"},
        {&s->feat_host, p->feat * f, 1, "feature staging"},
        {&s->probs_host, p->probs * f, 1, "probability staging"},
        {&s->len_host, (size_t)p->batch * sizeof(int), 1, "length staging"},
        {&s->state, want_state ? p->state * f : 0, 0, "carried state"},
        {&s->state_host, want_state ? p->state * f : 0, 1, "state staging"},
    };
    /* Freeing is safe: the stream is idle between forward calls (each ends synchronized). */
    ds2_status st = DS2_OK;
    for (size_t i = 0; st == DS2_OK && i < sizeof need / sizeof need[0]; i++)
        st = grow(need[i].b, need[i].bytes, need[i].pinned, &moved, need[i].what, err);
    if (moved)
        drop_graphs(s);
    return st;
}

/* The graph running `steps` steps of `layer` for `batch` rows, captured on first use. */
static ds2_status rnn_graph(gpu_session *s, int layer, int batch, int steps,
                            const ds2_cuda_rnn_bufs *bufs, cudaGraphExec_t *out, ds2_err *err)
{
    ds2_cuda_graph_key want = {layer, batch, steps, 0};
    int hit;
    const int i = ds2_cuda_graph_slot(s->keys, DS2_CUDA_GRAPH_SLOTS, want, &hit);
    if (!hit) {
        if (s->graphs[i])
            cudaGraphExecDestroy(s->graphs[i]);
        s->graphs[i] = NULL;
        s->keys[i].batch = 0;
        DS2_TRY(ds2_cuda_rnn_capture(s->blas, s->stream, &s->m->rnn, &s->m->layers[layer], bufs,
                                     batch, steps, &s->graphs[i], err));
        s->keys[i] = want;
    }
    s->keys[i].last_use = ++s->clock;
    *out = s->graphs[i];
    return DS2_OK;
}

static ds2_status check_batch(const ds2_net *n, const ds2_forward_batch *fb, ds2_cuda_plan *p,
                              int *max_len, ds2_err *err)
{
    if (!fb || fb->batch < 1 || !fb->lengths || !fb->features || !fb->out_lengths || !fb->probs)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "gpu forward: empty batch or NULL buffer");
    if (fb->n_freq != n->n_freq)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT,
                        "gpu forward: %d frequency bins, model has %d", fb->n_freq, n->n_freq);
    if (ds2_cuda_plan_make(n, fb->batch, fb->t_max, p) != 0)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT,
                        "gpu forward: batch %d x %d frames is out of range", fb->batch, fb->t_max);
    if (fb->t_out_max != p->t_out)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT,
                        "gpu forward: t_out_max %d, want %d for %d frames", fb->t_out_max, p->t_out,
                        fb->t_max);
    *max_len = 0;
    for (int b = 0; b < fb->batch; b++) {
        const int len = fb->lengths[b];
        const int out = len >= 1 && len <= fb->t_max ? ds2_net_output_length(n, len) : 0;
        if (out < 1 || out > p->t_out)
            return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT,
                            "gpu forward: utterance %d has %d frames (t_max %d)", b, len,
                            fb->t_max);
        fb->out_lengths[b] = out;
        if (out > *max_len)
            *max_len = out;
    }
    return DS2_OK;
}

static ds2_status run_rnn(gpu_session *s, const ds2_cuda_plan *p, int max_len, int use_state,
                          int *cur, ds2_err *err)
{
    const ds2_cuda_model *m = s->m;
    const ds2_net *n = &m->net;
    const int B = p->batch, T = p->t_out, state_floats = ds2_net_state_floats(n);
    const ds2_cuda_rnn_bufs bufs = {(float *)s->xp.p, (float *)s->hp.p, (float *)s->h.p,
                                    (float *)s->c.p,  (float *)s->y.p,  (const int *)s->out_len.p,
                                    s->step};
    const size_t hc_bytes = p->hc * sizeof(float);
    int n_long, n_short;
    ds2_cuda_rnn_launches(max_len, &n_long, &n_short);
    for (int l = 0; l < n->layers; l++) {
        const float *x_in = (const float *)s->x[*cur].p;
        float *x_out = (float *)s->x[1 - *cur].p;
        DS2_TRY(ds2_cuda_rnn_project(s->blas, &m->rnn, &m->layers[l], T * B, x_in, bufs.xp, err));
        if (use_state) {
            CUDA_CHECK(ds2_cuda_state_load(&m->rnn, l, B, state_floats, (const float *)s->state.p,
                                           bufs.h, bufs.c, s->stream));
        } else {
            CUDA_CHECK(cudaMemsetAsync(bufs.h, 0, hc_bytes, s->stream));
            CUDA_CHECK(cudaMemsetAsync(bufs.c, 0, hc_bytes, s->stream));
        }
        cudaGraphExec_t g_long = NULL, g_short = NULL;
        if (n_long)
            DS2_TRY(rnn_graph(s, l, B, DS2_CUDA_RNN_LONG, &bufs, &g_long, err));
        if (n_short)
            DS2_TRY(rnn_graph(s, l, B, DS2_CUDA_RNN_SHORT, &bufs, &g_short, err));
        CUDA_CHECK(cudaMemsetAsync(s->step, 0, sizeof(int), s->stream));
        for (int i = 0; i < n_long; i++)
            CUDA_CHECK(cudaGraphLaunch(g_long, s->stream));
        for (int i = 0; i < n_short; i++)
            CUDA_CHECK(cudaGraphLaunch(g_short, s->stream));
        if (use_state)
            CUDA_CHECK(ds2_cuda_state_store(&m->rnn, l, B, state_floats, bufs.h, bufs.c,
                                            (float *)s->state.p, s->stream));
        CUDA_CHECK(ds2_cuda_rnn_merge(bufs.y, bufs.out_len, T, B, n->hidden, n->directions, x_out,
                                      s->stream));
        *cur = 1 - *cur;
    }
    return DS2_OK;
}

static ds2_status forward_inner(gpu_session *s, ds2_forward_batch *fb, ds2_err *err)
{
    const ds2_cuda_model *m = s->m;
    const ds2_net *n = &m->net;
    ds2_cuda_plan p;
    int max_len = 0;
    DS2_TRY(check_batch(n, fb, &p, &max_len, err));
    CUDA_CHECK(cudaSetDevice(s->device));
    const int use_state = fb->state != NULL;
    DS2_TRY(ensure_buffers(s, &p, use_state, err));
    const int B = p.batch, T = p.t_out, L = n->n_labels;
    const size_t feat_bytes = p.feat * sizeof(float), probs_bytes = p.probs * sizeof(float);
    const size_t state_bytes = p.state * sizeof(float), len_bytes = (size_t)B * sizeof(int);

    memcpy(s->feat_host.p, fb->features, feat_bytes);
    memcpy(s->len_host.p, fb->out_lengths, len_bytes);
    CUDA_CHECK(
        cudaMemcpyAsync(s->feat.p, s->feat_host.p, feat_bytes, cudaMemcpyHostToDevice, s->stream));
    CUDA_CHECK(
        cudaMemcpyAsync(s->out_len.p, s->len_host.p, len_bytes, cudaMemcpyHostToDevice, s->stream));
    if (use_state) {
        memcpy(s->state_host.p, fb->state, state_bytes);
        CUDA_CHECK(cudaMemcpyAsync(s->state.p, s->state_host.p, state_bytes, cudaMemcpyHostToDevice,
                                   s->stream));
    }

    /* Conv stack; the last layer writes the RNN input layout into x[0]. */
    const int *out_len = (const int *)s->out_len.p;
    for (int i = 0; i < n->n_conv; i++) {
        const float *in = i == 0 ? (const float *)s->feat.p : (const float *)s->act[(i - 1) % 2].p;
        float *x_out = i == n->n_conv - 1 ? (float *)s->x[0].p : NULL;
        DS2_TRY(ds2_cuda_conv_layer(s->blas, s->stream, &p.conv[i], B, m->conv_w[i], m->conv_b[i],
                                    out_len, in, (float *)s->act[i % 2].p, x_out, (float *)s->col.p,
                                    s->col.cap / sizeof(float), err));
    }

    int cur = 0;
    DS2_TRY(run_rnn(s, &p, max_len, use_state, &cur, err));
    if (m->lookahead_w) {
        CUDA_CHECK(ds2_cuda_lookahead((const float *)s->x[cur].p, m->lookahead_w, out_len, T, B,
                                      n->hidden, n->lookahead_context, (float *)s->x[1 - cur].p,
                                      s->stream));
        cur = 1 - cur;
    }
    const float one = 1.0f, zero = 0.0f;
    /* Row-major logits[T*B][L] = x[T*B][H] . fc[L][H]ᵀ. */
    CUBLAS_CHECK(cublasSgemm(s->blas, CUBLAS_OP_T, CUBLAS_OP_N, L, T * B, n->hidden, &one, m->fc_w,
                             n->hidden, (const float *)s->x[cur].p, n->hidden, &zero,
                             (float *)s->logits.p, L));
    CUDA_CHECK(ds2_cuda_softmax((const float *)s->logits.p, m->fc_b, out_len, T, B, L,
                                (float *)s->probs.p, s->stream));

    CUDA_CHECK(cudaMemcpyAsync(s->probs_host.p, s->probs.p, probs_bytes, cudaMemcpyDeviceToHost,
                               s->stream));
    if (use_state)
        CUDA_CHECK(cudaMemcpyAsync(s->state_host.p, s->state.p, state_bytes, cudaMemcpyDeviceToHost,
                                   s->stream));
    CUDA_CHECK(cudaStreamSynchronize(s->stream));
    memcpy(fb->probs, s->probs_host.p, probs_bytes);
    if (use_state)
        memcpy(fb->state, s->state_host.p, state_bytes);
    return DS2_OK;
}

static ds2_status gpu_forward(void *session_data, ds2_forward_batch *fb, ds2_err *err)
{
    gpu_session *s = (gpu_session *)session_data;
    if (!s)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "gpu forward: no session");
    ds2_status st = forward_inner(s, fb, err);
    if (st != DS2_OK && s->stream) {
        /* Nothing may still be reading the staging buffers when the caller retries. */
        cudaStreamSynchronize(s->stream);
        (void)cudaGetLastError();
    }
    return st;
}

/* The plugin's only exports (built with -fvisibility=hidden), looked up with dlsym by
 * lib/core/cuda_plugin.c: the interface version it was built against, checked first, then the
 * vtable. */
extern "C" DS2_API const int ds2_cuda_plugin_interface_version = DS2_BACKEND_INTERFACE_VERSION;
extern "C" DS2_API const ds2_backend_i ds2_cuda_plugin_backend = {
    gpu_prepare, gpu_release, gpu_session_create, gpu_session_free, gpu_forward,
};
