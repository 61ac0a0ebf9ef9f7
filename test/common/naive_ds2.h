/* Random-weight ds2_net descriptions and a deliberately naive double-precision forward written
 * straight from deepspeech.pytorch's module definitions, for checking the backends. */
#ifndef TEST_NAIVE_DS2_H
#define TEST_NAIVE_DS2_H

#include "format/net.h"

typedef struct rand_net_spec {
    ds2_rnn_type type;
    int hidden, layers, bidirectional, context, n_freq, n_labels;
    int n_conv; /* 1 or 2 */
    int ch[2], kf[2], kt[2], sf[2], st[2], pf[2], pt[2];
    unsigned seed;
    int int8; /* store w_ih, w_hh and fc as int8 + per-row scale */
} rand_net_spec;

/* DS2 geometry scaled down: 2 convs (41x11 s2x2 p20x5, 21x11 s2x1 p10x5) over n_freq bins. */
rand_net_spec rand_net_ds2_like(ds2_rnn_type type, int hidden, int layers, int bidirectional,
                                int n_freq);
/* Heap-allocated net; free with rand_net_free. */
ds2_net *rand_net_create(const rand_net_spec *spec);
void rand_net_free(ds2_net *net);

/* Conv stack on one utterance x[f * ld + t] (t < t_in), masked to out_len: [t_out][C*F]. */
float *naive_conv_stack(const ds2_net *net, const float *x, int ld, int t_in, int out_len,
                        int *t_out);
/* Whole forward for one utterance of `length` frames; probs [out_len][n_labels]; state (NULL or
 * ds2_net_state_floats in/out, backend layout). Returns out_len. */
int naive_forward(const ds2_net *net, const float *x, int ld, int length, float *state,
                  float *probs);

#endif
