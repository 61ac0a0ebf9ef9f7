/*
 * The one interface between lib/ and a compute backend, in the spirit of ggml's ggml_backend_i.
 * A backend sees only ds2_net (plain weights, lib/format/net.h) and batches of features; it
 * never calls back into lib/. Which backend serves which (device, precision) is the table in
 * lib/core/backends.c; adding a backend is a folder implementing this plus one row there
 * (docs/backends.md).
 */
#ifndef DS2_BACKEND_H
#define DS2_BACKEND_H

#include "base/error.h"
#include "format/net.h"

/* Bumped whenever ds2_backend_i or ds2_forward_batch changes: a plugin built against another
 * version is refused by the loader (lib/core/cuda_plugin.c) instead of being called wrongly. */
#define DS2_BACKEND_INTERFACE_VERSION 3

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
    int fp32_convs;        /* CPU int8: run the convs in fp32 (ds2_session_params.fp32_convs) */
} ds2_forward_batch;

typedef struct ds2_backend_i {
    /* Once per model and precision: pack/quantize/upload weights. The result is immutable and
     * shared by all sessions of the model. device_index is the GPU ordinal (0 on the CPU). */
    ds2_status (*prepare)(const ds2_net *net, ds2_precision precision, int device_index,
                          void **model_data, ds2_err *err);
    void (*release)(void *model_data);
    /* Per session: working memory, threads, streams. */
    ds2_status (*session_create)(const ds2_net *net, const void *model_data, int n_threads,
                                 int device_index, void **session_data, ds2_err *err);
    void (*session_free)(void *session_data);
    ds2_status (*forward)(void *session_data, ds2_forward_batch *batch, ds2_err *err);
} ds2_backend_i;

#endif
