/* The network's weights on one CUDA device, shared read-only by every session of a model. */
#ifndef DS2_CUDA_WEIGHTS_H
#define DS2_CUDA_WEIGHTS_H

#include "ops.h"

typedef struct ds2_cuda_model {
    int device;
    ds2_net net; /* hyperparameters; its host weight pointers are not used after upload */
    ds2_cuda_rnn_desc rnn;
    void *arena; /* the one device allocation holding every weight */
    float *conv_w[DS2_MAX_CONV], *conv_b[DS2_MAX_CONV];
    ds2_cuda_layer *layers; /* host array [net.layers] of device pointers */
    float *lookahead_w;     /* [H][context] or NULL */
    float *fc_w;            /* [n_labels][H] */
    float *fc_b;            /* [n_labels] */
} ds2_cuda_model;

/* DS2_ERR_NO_DEVICE unless `device` is a present CUDA device; makes it current. */
ds2_status ds2_cuda_use_device(int device, ds2_err *err);

/* Checks the network's shapes, then uploads every weight (int8 matrices dequantized). */
ds2_status ds2_cuda_model_create(const ds2_net *net, int device, ds2_cuda_model **out,
                                 ds2_err *err);
void ds2_cuda_model_free(ds2_cuda_model *m);

#endif
