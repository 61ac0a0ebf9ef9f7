/*
 * Fused recurrent cell kernels (PyTorch gate order and formulas). Each works on n hidden units of
 * one batch row; gate g of unit j is at gates[g * stride + j], so a caller can split the hidden
 * units across threads by offsetting the pointers and keeping stride = H.
 */
#ifndef DS2_KERNELS_RNN_H
#define DS2_KERNELS_RNN_H

/* LSTM: gates = x W_ih^T + b_ih + h W_hh^T + b_hh (i f g o).
 * c = sigmoid(f) c + sigmoid(i) tanh(g);  h = sigmoid(o) tanh(c).  c in/out, h out. */
typedef void (*ds2_rnn_lstm_ukernel_fn)(int n, int stride, const float *gates, float *c, float *h);
/* GRU: xg = x W_ih^T + b_ih, hg = h W_hh^T + b_hh (r z n).
 * r = sigmoid(xr + hr), z = sigmoid(xz + hz), nn = tanh(xn + r hn), h = (1 - z) nn + z h.
 * h in/out. */
typedef void (*ds2_rnn_gru_ukernel_fn)(int n, int stride, const float *xg, const float *hg,
                                       float *h);
/* tanh RNN: h = tanh(pre), pre = x W_ih^T + b_ih + h W_hh^T + b_hh; pre may equal h. */
typedef void (*ds2_rnn_tanh_ukernel_fn)(int n, const float *pre, float *h);

typedef struct ds2_rnn_kernels {
    const char *isa;
    ds2_rnn_lstm_ukernel_fn lstm;
    ds2_rnn_gru_ukernel_fn gru;
    ds2_rnn_tanh_ukernel_fn tanh;
} ds2_rnn_kernels;

void ds2_rnn_lstm_ukernel__ref(int n, int stride, const float *gates, float *c, float *h);
void ds2_rnn_gru_ukernel__ref(int n, int stride, const float *xg, const float *hg, float *h);
void ds2_rnn_tanh_ukernel__ref(int n, const float *pre, float *h);

/* AVX2+FMA versions (exp/tanh by polynomial, max relative error ~3e-7 per function): call only
 * when ds2_cpu_has(DS2_ISA_AVX2). */
void ds2_rnn_lstm_ukernel__avx2(int n, int stride, const float *gates, float *c, float *h);
void ds2_rnn_gru_ukernel__avx2(int n, int stride, const float *xg, const float *hg, float *h);
void ds2_rnn_tanh_ukernel__avx2(int n, const float *pre, float *h);

/* The best table for this CPU, chosen once (pthread_once). */
const ds2_rnn_kernels *ds2_rnn_kernels_get(void);

#endif
