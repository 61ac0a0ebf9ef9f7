/* ds2_net_validate: what every consumer of a ds2_net may rely on. */
#include "format/net.h"

static int matrix_ok(const ds2_matrix *m, int rows, int cols)
{
    return m->rows == rows && m->cols == cols && (m->f32 || (m->i8 && m->scale));
}

static ds2_status check_convs(const ds2_net *n, int *c_out, int *f_out, ds2_err *err)
{
    if (n->n_conv < 1 || n->n_conv > DS2_MAX_CONV || n->n_freq < 1)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "network: %d conv layers on %d bins",
                        n->n_conv, n->n_freq);
    int c_in = 1, f_in = n->n_freq;
    for (int i = 0; i < n->n_conv; i++) {
        const ds2_conv_desc *c = &n->conv[i];
        if (c->c_in != c_in || c->f_in != f_in || c->c_out < 1 || c->k_freq < 1 || c->k_time < 1 ||
            c->stride_freq < 1 || c->stride_time < 1 || c->pad_freq < 0 || c->pad_time < 0 ||
            !c->weight || !c->bias || f_in + 2 * c->pad_freq < c->k_freq ||
            c->f_out != ds2_conv_output_size(f_in, c->k_freq, c->stride_freq, c->pad_freq))
            return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT,
                            "network: conv %d is malformed (c_in %d, f_in %d, f_out %d)", i,
                            c->c_in, c->f_in, c->f_out);
        c_in = c->c_out;
        f_in = c->f_out;
    }
    *c_out = c_in;
    *f_out = f_in;
    return DS2_OK;
}

ds2_status ds2_net_validate(const ds2_net *n, ds2_err *err)
{
    if (!n)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "network: NULL");
    int c_last = 0, f_last = 0;
    ds2_status st = check_convs(n, &c_last, &f_last, err);
    if (st != DS2_OK)
        return st;
    const int gates = n->rnn_type == DS2_RNN_LSTM   ? 4
                      : n->rnn_type == DS2_RNN_GRU  ? 3
                      : n->rnn_type == DS2_RNN_TANH ? 1
                                                    : 0;
    if (!gates || n->gates != gates || n->hidden < 1 || n->layers < 1 || !n->layer ||
        (n->directions != 1 && n->directions != 2) || n->n_labels < 1)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT,
                        "network: bad rnn (type %d, gates %d, hidden %d, layers %d, directions %d, "
                        "labels %d)",
                        (int)n->rnn_type, n->gates, n->hidden, n->layers, n->directions,
                        n->n_labels);
    if (n->directions == 1 && (n->lookahead_context < 1 || !n->lookahead_w))
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT,
                        "network: unidirectional without lookahead weights");
    const int gh = gates * n->hidden;
    for (int l = 0; l < n->layers; l++) {
        const int in = l == 0 ? c_last * f_last : n->hidden;
        if (n->layer[l].input_size != in)
            return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT,
                            "network: rnn layer %d input size %d, expected %d", l,
                            n->layer[l].input_size, in);
        for (int d = 0; d < n->directions; d++) {
            const ds2_rnn_direction *r = &n->layer[l].dir[d];
            if (!matrix_ok(&r->w_ih, gh, in) || !matrix_ok(&r->w_hh, gh, n->hidden) || !r->b_ih ||
                !r->b_hh)
                return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT,
                                "network: rnn layer %d direction %d has wrong shapes", l, d);
        }
    }
    if (!matrix_ok(&n->fc, n->n_labels, n->hidden) || !n->fc_bias)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "network: fc has wrong shape");
    return DS2_OK;
}
