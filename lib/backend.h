/*
 * The one interface between lib/ and a compute backend (CPU fp32, CPU int8, CUDA fp32), in the
 * spirit of ggml's ggml_backend_i. A backend sees only ds2_net (plain weights) and batches of
 * features; it never calls back into lib/.
 */
#ifndef DS2_BACKEND_H
#define DS2_BACKEND_H

#include "error.h"
#include "net.h"

typedef struct ds2_forward_batch {
    int batch;
    int n_freq;
    int t_max;             /* spectrogram frames of the longest utterance */
    const int *lengths;    /* [batch] spectrogram frames, 1..t_max, any order */
    const float *features; /* [batch][n_freq][t_max], zero past lengths[b] */
    int t_out_max;         /* ds2_net_output_length(net, t_max) */
    int *out_lengths;      /* out [batch]: ds2_net_output_length(net, lengths[b]) */
    float *probs;          /* out [batch][t_out_max][n_labels] softmax; rows past out_lengths[b]
                              are zero */
    float *state;          /* NULL (zero initial state, final state dropped) or in/out
                              [batch][ds2_net_state_floats(net)] carried RNN state */
} ds2_forward_batch;

typedef struct ds2_backend_i {
    const char *name; /* "cpu-fp32", "cpu-int8", "gpu-fp32" */
    /* Once per model: pack/quantize/upload weights. The result is immutable and shared by all
     * sessions of the model. device_index is the GPU ordinal (ignored on the CPU). */
    ds2_status (*prepare)(const ds2_net *net, int device_index, void **model_data, ds2_err *err);
    void (*release)(void *model_data);
    /* Per session: working memory, threads, streams. */
    ds2_status (*session_create)(const ds2_net *net, const void *model_data, int n_threads,
                                 int device_index, void **session_data, ds2_err *err);
    void (*session_free)(void *session_data);
    ds2_status (*forward)(void *session_data, ds2_forward_batch *batch, ds2_err *err);
} ds2_backend_i;

extern const ds2_backend_i ds2_backend_cpu_fp32;
extern const ds2_backend_i ds2_backend_cpu_int8;
/* Defined in cuda/ when built with CUDA, else by lib/backend_cuda_stub.c ("built without
 * CUDA"). */
extern const ds2_backend_i ds2_backend_gpu_fp32;

#endif
