#include "naive_ds2.h"
#include "test_random.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static float *rand_array(size_t n, float scale, unsigned *s)
{
    float *a = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++)
        a[i] = scale * test_rand(s);
    return a;
}

rand_net_spec rand_net_ds2_like(ds2_rnn_type type, int hidden, int layers, int bidirectional,
                                int n_freq)
{
    rand_net_spec s = {type,     hidden, layers, bidirectional, bidirectional ? 0 : 3,
                       n_freq,   7,      2,      {3, 2},        {41, 21},
                       {11, 11}, {2, 2}, {2, 1}, {20, 10},      {5, 5},
                       1,        0};
    return s;
}

static void make_matrix(ds2_matrix *m, int rows, int cols, float scale, int int8, unsigned *s)
{
    float *w = rand_array((size_t)rows * cols, scale, s);
    m->rows = rows;
    m->cols = cols;
    if (!int8) {
        m->f32 = w;
        return;
    }
    int8_t *q = malloc((size_t)rows * cols);
    float *sc = malloc(sizeof(float) * rows);
    for (int r = 0; r < rows; r++) {
        float mx = 0;
        for (int c = 0; c < cols; c++)
            mx = fmaxf(mx, fabsf(w[(size_t)r * cols + c]));
        sc[r] = mx > 0 ? mx / 127.0f : 1.0f;
        for (int c = 0; c < cols; c++)
            q[(size_t)r * cols + c] = (int8_t)lrintf(w[(size_t)r * cols + c] / sc[r]);
    }
    free(w);
    m->i8 = q;
    m->scale = sc;
}

static void free_matrix(ds2_matrix *m)
{
    free((void *)m->f32);
    free((void *)m->i8);
    free((void *)m->scale);
}

ds2_net *rand_net_create(const rand_net_spec *sp)
{
    unsigned s = sp->seed * 2654435761u + 1;
    ds2_net *n = calloc(1, sizeof(*n));
    n->n_freq = sp->n_freq;
    n->n_conv = sp->n_conv;
    int c_in = 1, f_in = sp->n_freq;
    for (int l = 0; l < sp->n_conv; l++) {
        ds2_conv_desc *c = &n->conv[l];
        *c = (ds2_conv_desc){c_in,      sp->ch[l], sp->kf[l], sp->kt[l], sp->sf[l], sp->st[l],
                             sp->pf[l], sp->pt[l], f_in,      0,         NULL,      NULL};
        c->f_out = ds2_conv_output_size(f_in, c->k_freq, c->stride_freq, c->pad_freq);
        int fan = c_in * c->k_freq * c->k_time;
        c->weight = rand_array((size_t)c->c_out * fan, 6.0f / sqrtf((float)fan), &s);
        float *b = rand_array(c->c_out, 1.0f, &s);
        for (int i = 0; i < c->c_out; i++)
            b[i] += 1.0f;
        c->bias = b;
        c_in = c->c_out;
        f_in = c->f_out;
    }
    n->rnn_type = sp->type;
    n->gates = sp->type == DS2_RNN_LSTM ? 4 : sp->type == DS2_RNN_GRU ? 3 : 1;
    n->hidden = sp->hidden;
    n->layers = sp->layers;
    n->directions = sp->bidirectional ? 2 : 1;
    const int H = sp->hidden, GH = n->gates * H;
    ds2_rnn_layer *layers = calloc(sp->layers, sizeof(*layers));
    for (int l = 0; l < sp->layers; l++) {
        int in = l == 0 ? c_in * f_in : H;
        layers[l].input_size = in;
        for (int d = 0; d < n->directions; d++) {
            ds2_rnn_direction *r = &layers[l].dir[d];
            /* Inputs reach ~20 after the convs: keep pre-activations O(1..5). */
            make_matrix(&r->w_ih, GH, in, (l == 0 ? 0.5f : 2.0f) / sqrtf((float)in), sp->int8, &s);
            make_matrix(&r->w_hh, GH, H, 2.0f / sqrtf((float)H), sp->int8, &s);
            r->b_ih = rand_array(GH, 0.5f, &s);
            r->b_hh = rand_array(GH, 0.5f, &s);
        }
    }
    n->layer = layers;
    if (!sp->bidirectional) {
        n->lookahead_context = sp->context;
        n->lookahead_w = rand_array((size_t)H * sp->context, 1.0f, &s);
    }
    make_matrix(&n->fc, sp->n_labels, H, 3.0f / sqrtf((float)H), sp->int8, &s);
    n->fc_bias = rand_array(sp->n_labels, 0.5f, &s);
    n->n_labels = sp->n_labels;
    return n;
}

void rand_net_free(ds2_net *n)
{
    if (!n)
        return;
    for (int l = 0; l < n->n_conv; l++) {
        free((void *)n->conv[l].weight);
        free((void *)n->conv[l].bias);
    }
    ds2_rnn_layer *layers = (ds2_rnn_layer *)n->layer;
    for (int l = 0; l < n->layers; l++)
        for (int d = 0; d < n->directions; d++) {
            free_matrix(&layers[l].dir[d].w_ih);
            free_matrix(&layers[l].dir[d].w_hh);
            free((void *)layers[l].dir[d].b_ih);
            free((void *)layers[l].dir[d].b_hh);
        }
    free(layers);
    free((void *)n->lookahead_w);
    free_matrix(&n->fc);
    free((void *)n->fc_bias);
    free(n);
}

float *naive_conv_stack(const ds2_net *net, const float *x, int ld, int t_in, int out_len,
                        int *t_out_p)
{
    int c_in = 1, f_in = net->n_freq;
    double *in = malloc(sizeof(double) * f_in * t_in);
    for (int f = 0; f < f_in; f++)
        for (int t = 0; t < t_in; t++)
            in[(size_t)f * t_in + t] = x[(size_t)f * ld + t];
    for (int l = 0; l < net->n_conv; l++) {
        const ds2_conv_desc *c = &net->conv[l];
        int t_out = ds2_conv_output_size(t_in, c->k_time, c->stride_time, c->pad_time);
        double *out = calloc((size_t)c->c_out * c->f_out * t_out, sizeof(double));
        for (int co = 0; co < c->c_out; co++)
            for (int f = 0; f < c->f_out; f++)
                for (int t = 0; t < t_out && t < out_len; t++) {
                    double acc = c->bias[co];
                    for (int ci = 0; ci < c_in; ci++)
                        for (int kf = 0; kf < c->k_freq; kf++)
                            for (int kt = 0; kt < c->k_time; kt++) {
                                int fi = f * c->stride_freq - c->pad_freq + kf;
                                int ti = t * c->stride_time - c->pad_time + kt;
                                if (fi < 0 || fi >= f_in || ti < 0 || ti >= t_in)
                                    continue;
                                size_t wi =
                                    (((size_t)co * c_in + ci) * c->k_freq + kf) * c->k_time + kt;
                                acc += c->weight[wi] * in[((size_t)ci * f_in + fi) * t_in + ti];
                            }
                    out[((size_t)co * c->f_out + f) * t_out + t] = fmin(fmax(acc, 0), 20);
                }
        free(in);
        in = out;
        c_in = c->c_out;
        f_in = c->f_out;
        t_in = t_out;
    }
    int K = c_in * f_in;
    float *flat = malloc(sizeof(float) * K * (t_in ? t_in : 1));
    for (int t = 0; t < t_in; t++)
        for (int k = 0; k < K; k++)
            flat[(size_t)t * K + k] = (float)in[(size_t)k * t_in + t];
    free(in);
    *t_out_p = t_in;
    return flat;
}

static double weight(const ds2_matrix *m, int r, int c)
{
    size_t i = (size_t)r * m->cols + c;
    return m->f32 ? m->f32[i] : m->i8[i] * (double)m->scale[r];
}

static double sigm(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

int naive_forward(const ds2_net *net, const float *x, int ld, int length, float *state,
                  float *probs)
{
    const int H = net->hidden, G = net->gates, L = net->n_labels;
    int out_len = ds2_net_output_length(net, length), T;
    float *u = naive_conv_stack(net, x, ld, length, out_len, &T);
    int K = net->layer[0].input_size;
    double *in = malloc(sizeof(double) * out_len * K);
    for (size_t i = 0; i < (size_t)out_len * K; i++)
        in[i] = u[i];
    free(u);
    double *out = malloc(sizeof(double) * out_len * H);
    double *h = malloc(sizeof(double) * H), *c = malloc(sizeof(double) * H);
    double *gx = malloc(sizeof(double) * G * H), *gh = malloc(sizeof(double) * G * H);
    const int lstm = net->rnn_type == DS2_RNN_LSTM;
    const int sl = H * (lstm ? 2 : 1);
    for (int l = 0; l < net->layers; l++) {
        memset(out, 0, sizeof(double) * out_len * H);
        for (int d = 0; d < net->directions; d++) {
            const ds2_rnn_direction *rd = &net->layer[l].dir[d];
            float *st = state ? state + (size_t)(l * net->directions + d) * sl : NULL;
            for (int j = 0; j < H; j++) {
                h[j] = st ? st[j] : 0;
                c[j] = st && lstm ? st[H + j] : 0;
            }
            for (int step = 0; step < out_len; step++) {
                int t = d == 0 ? step : out_len - 1 - step;
                for (int g = 0; g < G * H; g++) {
                    double a = rd->b_ih[g], b = rd->b_hh[g];
                    for (int k = 0; k < K; k++)
                        a += weight(&rd->w_ih, g, k) * in[(size_t)t * K + k];
                    for (int k = 0; k < H; k++)
                        b += weight(&rd->w_hh, g, k) * h[k];
                    gx[g] = a;
                    gh[g] = b;
                }
                for (int j = 0; j < H; j++) {
                    if (net->rnn_type == DS2_RNN_LSTM) {
                        double i = sigm(gx[j] + gh[j]), f = sigm(gx[H + j] + gh[H + j]);
                        double gg = tanh(gx[2 * H + j] + gh[2 * H + j]);
                        double o = sigm(gx[3 * H + j] + gh[3 * H + j]);
                        c[j] = f * c[j] + i * gg;
                        h[j] = o * tanh(c[j]);
                    } else if (net->rnn_type == DS2_RNN_GRU) {
                        double r = sigm(gx[j] + gh[j]), z = sigm(gx[H + j] + gh[H + j]);
                        double n = tanh(gx[2 * H + j] + r * gh[2 * H + j]);
                        h[j] = (1 - z) * n + z * h[j];
                    } else {
                        h[j] = tanh(gx[j] + gh[j]);
                    }
                }
                /* gates computed from the old h above; the cell loop only reads its own j */
                for (int j = 0; j < H; j++)
                    out[(size_t)t * H + j] += h[j];
            }
            if (st)
                for (int j = 0; j < H; j++) {
                    st[j] = (float)h[j];
                    if (lstm)
                        st[H + j] = (float)c[j];
                }
        }
        free(in);
        in = out;
        out = malloc(sizeof(double) * out_len * H);
        K = H;
    }
    if (net->directions == 1) {
        for (int t = 0; t < out_len; t++)
            for (int j = 0; j < H; j++) {
                double a = 0;
                for (int k = 0; k < net->lookahead_context && t + k < out_len; k++)
                    a += net->lookahead_w[(size_t)j * net->lookahead_context + k] *
                         in[(size_t)(t + k) * H + j];
                out[(size_t)t * H + j] = fmin(fmax(a, 0), 20);
            }
        double *tmp = in;
        in = out;
        out = tmp;
    }
    double *z = malloc(sizeof(double) * L);
    for (int t = 0; t < out_len; t++) {
        double mx = -INFINITY, sum = 0;
        for (int k = 0; k < L; k++) {
            z[k] = net->fc_bias[k];
            for (int j = 0; j < H; j++)
                z[k] += weight(&net->fc, k, j) * in[(size_t)t * H + j];
            mx = fmax(mx, z[k]);
        }
        for (int k = 0; k < L; k++)
            sum += z[k] = exp(z[k] - mx);
        for (int k = 0; k < L; k++)
            probs[(size_t)t * L + k] = (float)(z[k] / sum);
    }
    free(z), free(in), free(out), free(h), free(c), free(gx), free(gh);
    return out_len;
}
