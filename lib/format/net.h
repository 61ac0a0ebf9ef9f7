/*
 * The network as every backend sees it: hyperparameters plus pointers to weights that live in
 * the model file's read-only mapping (BatchNorm already folded). Backends include only this
 * and backend.h, so nothing below lib/ calls back up into it.
 */
#ifndef DS2_NET_H
#define DS2_NET_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define DS2_MAX_CONV 4
#define DS2_MAX_DIRECTIONS 2

typedef enum ds2_rnn_type { DS2_RNN_LSTM = 0, DS2_RNN_GRU, DS2_RNN_TANH } ds2_rnn_type;

/* A dense row-major matrix [rows][cols], either f32, or int8 with one scale per row
 * (value = i8[r][c] * scale[r]). Exactly one of f32 / i8 is non-NULL. */
typedef struct ds2_matrix {
    int rows, cols;
    const float *f32;
    const int8_t *i8;
    const float *scale;
} ds2_matrix;

typedef struct ds2_conv_desc {
    int c_in, c_out;
    int k_freq, k_time;
    int stride_freq, stride_time;
    int pad_freq, pad_time;
    int f_in, f_out;     /* frequency bins in and out */
    const float *weight; /* [c_out][c_in][k_freq][k_time] */
    const float *bias;   /* [c_out] */
} ds2_conv_desc;

typedef struct ds2_rnn_direction {
    ds2_matrix w_ih;   /* [gates*H][input_size] */
    ds2_matrix w_hh;   /* [gates*H][H] */
    const float *b_ih; /* [gates*H] */
    const float *b_hh; /* [gates*H] */
} ds2_rnn_direction;

typedef struct ds2_rnn_layer {
    int input_size;
    ds2_rnn_direction dir[DS2_MAX_DIRECTIONS]; /* [0] forward, [1] backward */
} ds2_rnn_layer;

typedef struct ds2_net {
    int n_freq; /* spectrogram bins (n_fft/2 + 1) */
    int n_conv;
    ds2_conv_desc conv[DS2_MAX_CONV];
    ds2_rnn_type rnn_type;
    int gates;  /* 4 LSTM (i f g o), 3 GRU (r z n), 1 tanh RNN: PyTorch order */
    int hidden; /* H */
    int layers;
    int directions;             /* 2 bidirectional (summed), 1 unidirectional */
    const ds2_rnn_layer *layer; /* [layers] */
    int lookahead_context;      /* 0 when bidirectional */
    const float *lookahead_w;   /* [H][context] */
    ds2_matrix fc;              /* [n_labels][H] */
    const float *fc_bias;       /* [n_labels] */
    int n_labels;
    /* Optional. A backend that has copied a weight array into a layout of its own (packed int8,
     * device memory) calls this so the owner can let go of the original's pages: the model
     * file's mapping is then not resident twice. The data stays readable (the owner only
     * drops file-backed pages, which fault back in on access). */
    void (*weights_copied)(const void *owner, const void *data, size_t bytes);
    const void *owner;
} ds2_net;

/* Bytes of a matrix's stored weights (i8 or f32). */
static inline size_t ds2_matrix_bytes(const ds2_matrix *m)
{
    return (size_t)m->rows * (size_t)m->cols * (m->i8 ? 1 : sizeof(float));
}

static inline void ds2_net_weights_copied(const ds2_net *net, const ds2_matrix *m)
{
    if (net->weights_copied)
        net->weights_copied(net->owner, m->i8 ? (const void *)m->i8 : (const void *)m->f32,
                            ds2_matrix_bytes(m));
}

/* The shape rule of a convolution along one axis (PyTorch Conv2d, deepspeech.pytorch's
 * get_seq_lens): output size for `in` inputs. The one definition: frequency bins, frames, the
 * CPU and GPU backends and the tests all use it. Meaningful for in + 2 * pad >= kernel. */
static inline int ds2_conv_output_size(int in, int kernel, int stride, int pad)
{
    return (in + 2 * pad - kernel) / stride + 1;
}

/* Frames after the conv stack for `frames` spectrogram frames. */
static inline int ds2_net_output_length(const ds2_net *net, int frames)
{
    for (int i = 0; i < net->n_conv; i++) {
        const ds2_conv_desc *c = &net->conv[i];
        frames = ds2_conv_output_size(frames, c->k_time, c->stride_time, c->pad_time);
    }
    return frames;
}

/* The one check that a description is a runnable network: counts, conv geometry chained by
 * ds2_conv_output_size, RNN/FC shapes, every weight present. The loader runs it on what it
 * read; each backend runs it at prepare, since backends are also called directly (tests).
 * DS2_ERR_INVALID_ARGUMENT with a message naming the part at fault. (lib/format/net.c, linked
 * into the CUDA plugin as well.) */
ds2_status ds2_net_validate(const ds2_net *net, ds2_err *err);

/* Floats of carried RNN state per utterance: for each layer, each direction: h[H] then, for
 * LSTM only, c[H]. */
static inline int ds2_net_state_floats(const ds2_net *net)
{
    return net->layers * net->directions * net->hidden * (net->rnn_type == DS2_RNN_LSTM ? 2 : 1);
}

#endif
