/* Reads and validates a libds2 GGUF model (docs/model-format.md) into a ds2_model_file. Every
 * hyperparameter is range-checked and every tensor's dtype and shape is checked by name
 * against them, so backends can trust ds2_net blindly. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.h"
#include "format/model_load.h"

#define MAX_HIDDEN 16384
#define MAX_LAYERS 64
#define MAX_LABELS 4096
#define MAX_CHANNELS 4096
#define MAX_KERNEL 256

static void shape_str(char *buf, size_t n, int n_dims, const uint64_t *numpy_shape)
{
    size_t pos = 0;
    pos += snprintf(buf + pos, n - pos, "[");
    for (int i = 0; i < n_dims && pos < n; i++)
        pos += snprintf(buf + pos, n - pos, "%s%llu", i ? ", " : "",
                        (unsigned long long)numpy_shape[i]);
    if (pos < n)
        snprintf(buf + pos, n - pos, "]");
}

/* Looks up `name` and checks dtype and shape (numpy order: slowest first). */
static ds2_status get_tensor(const gguf_file *f, const char *name, uint32_t dtype, int n_dims,
                             const uint64_t *shape, const void **data, ds2_err *err)
{
    const gguf_tensor *t = gguf_find_tensor(f, name);
    if (!t)
        return ds2_fail(err, DS2_ERR_MODEL_FORMAT, "missing tensor '%s'", name);
    if (t->type != dtype)
        return ds2_fail(err, DS2_ERR_MODEL_FORMAT, "tensor '%s' has type %u, expected %s", name,
                        t->type, dtype == GGUF_TENSOR_F32 ? "f32" : "i8");
    int ok = (int)t->n_dims == n_dims;
    for (int i = 0; ok && i < n_dims; i++)
        ok = t->ne[n_dims - 1 - i] == shape[i];
    if (!ok) {
        uint64_t have[GGUF_MAX_DIMS];
        for (uint32_t i = 0; i < t->n_dims; i++)
            have[i] = t->ne[t->n_dims - 1 - i];
        char want_s[96], have_s[96];
        shape_str(want_s, sizeof want_s, n_dims, shape);
        shape_str(have_s, sizeof have_s, (int)t->n_dims, have);
        return ds2_fail(err, DS2_ERR_MODEL_FORMAT, "tensor '%s' has wrong shape %s, expected %s",
                        name, have_s, want_s);
    }
    *data = t->data;
    return DS2_OK;
}

static ds2_status get_f32(const gguf_file *f, const char *name, int n_dims, const uint64_t *shape,
                          const float **out, ds2_err *err)
{
    return get_tensor(f, name, GGUF_TENSOR_F32, n_dims, shape, (const void **)out, err);
}

static ds2_status get_matrix(const gguf_file *f, const char *name, int int8, int rows, int cols,
                             ds2_matrix *m, uint64_t *n_params, ds2_err *err)
{
    uint64_t shape[2] = {(uint64_t)rows, (uint64_t)cols};
    ds2_status st;
    memset(m, 0, sizeof *m);
    m->rows = rows;
    m->cols = cols;
    if (!int8)
        st = get_f32(f, name, 2, shape, &m->f32, err);
    else {
        char sname[128];
        snprintf(sname, sizeof sname, "%s.scale", name);
        st = get_tensor(f, name, GGUF_TENSOR_I8, 2, shape, (const void **)&m->i8, err);
        if (st == DS2_OK)
            st = get_f32(f, sname, 1, shape, &m->scale, err);
        for (int r = 0; st == DS2_OK && r < rows; r++)
            if (!isfinite(m->scale[r]) || m->scale[r] < 0)
                st = ds2_fail(err, DS2_ERR_MODEL_FORMAT, "tensor '%s' has a bad scale", sname);
    }
    *n_params += (uint64_t)rows * cols;
    return st;
}

static ds2_status need_u32(const gguf_file *f, const char *key, uint32_t lo, uint32_t hi,
                           uint32_t *out, ds2_err *err)
{
    if (gguf_get_u32(f, key, out))
        return ds2_fail(err, DS2_ERR_MODEL_FORMAT, "missing or non-integer key '%s'", key);
    if (*out < lo || *out > hi)
        return ds2_fail(err, DS2_ERR_MODEL_FORMAT, "key '%s' = %u out of range [%u, %u]", key, *out,
                        lo, hi);
    return DS2_OK;
}

static ds2_status read_labels(ds2_model_file *m, ds2_err *err)
{
    const gguf_kv *kv = gguf_find_kv(&m->gguf, "deepspeech2.labels");
    if (!kv || kv->type != GGUF_TYPE_ARRAY || kv->array_type != GGUF_TYPE_STRING)
        return ds2_fail(err, DS2_ERR_MODEL_FORMAT, "missing string array 'deepspeech2.labels'");
    if (kv->array_count < 2 || kv->array_count > MAX_LABELS)
        return ds2_fail(err, DS2_ERR_MODEL_FORMAT, "deepspeech2.labels has %llu entries",
                        (unsigned long long)kv->array_count);
    m->n_labels = (int)kv->array_count;
    m->labels = calloc((size_t)m->n_labels, sizeof *m->labels);
    if (!m->labels)
        return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "out of memory");
    for (int i = 0; i < m->n_labels; i++) {
        gguf_str s;
        gguf_array_str(kv, (uint64_t)i, &s);
        if (s.len == 0 || s.len > 64 || memchr(s.ptr, 0, s.len))
            return ds2_fail(err, DS2_ERR_MODEL_FORMAT, "label %d is empty, too long or has NUL", i);
        m->labels[i] = strndup(s.ptr, s.len);
        if (!m->labels[i])
            return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "out of memory");
    }
    uint32_t blank;
    ds2_status st =
        need_u32(&m->gguf, "deepspeech2.blank_index", 0, (uint32_t)m->n_labels - 1, &blank, err);
    m->blank_index = (int)blank;
    return st;
}

static ds2_status read_audio(ds2_model_file *m, ds2_err *err)
{
    const gguf_file *f = &m->gguf;
    uint32_t rate;
    float win, stride;
    gguf_str wname;
    int normalize;
    ds2_status st = need_u32(f, "deepspeech2.audio.sample_rate", 1000, 384000, &rate, err);
    if (st)
        return st;
    if (gguf_get_f32(f, "deepspeech2.audio.window_size", &win) ||
        gguf_get_f32(f, "deepspeech2.audio.window_stride", &stride) ||
        gguf_get_str(f, "deepspeech2.audio.window", &wname) ||
        gguf_get_bool(f, "deepspeech2.audio.normalize", &normalize))
        return ds2_fail(err, DS2_ERR_MODEL_FORMAT,
                        "missing deepspeech2.audio.{window_size,window_stride,window,normalize}");
    /* Python computes int(sample_rate * window_size) in float64 from the exact decimal; the
     * file holds f32, so allow for its rounding before truncating. */
    double n_fft = floor((double)rate * win + 1e-3), hop = floor((double)rate * stride + 1e-3);
    if (!(n_fft >= 16 && n_fft <= DS2_SPECT_MAX_N_FFT) || !(hop >= 1 && hop <= n_fft * 4))
        return ds2_fail(err, DS2_ERR_MODEL_FORMAT,
                        "window size %g s / stride %g s at %u Hz: need a window of 16 to %d "
                        "samples and a stride of 1 sample to 4 windows",
                        win, stride, rate, DS2_SPECT_MAX_N_FFT);
    char name[32];
    snprintf(name, sizeof name, "%.*s", (int)(wname.len < 31 ? wname.len : 31), wname.ptr);
    m->spect_config.sample_rate = (int)rate;
    m->spect_config.n_fft = (int)n_fft;
    m->spect_config.hop = (int)hop;
    m->spect_config.normalize = normalize;
    if (ds2_window_from_name(name, &m->spect_config.window))
        return ds2_fail(err, DS2_ERR_MODEL_FORMAT, "unknown window '%s'", name);
    return ds2_spectrogram_create(&m->spect_config, &m->spectrogram, err);
}

static ds2_status read_convs(ds2_model_file *m, ds2_err *err)
{
    const gguf_file *f = &m->gguf;
    ds2_net *net = &m->net;
    uint32_t count;
    ds2_status st = need_u32(f, "deepspeech2.conv.count", 1, DS2_MAX_CONV, &count, err);
    if (st)
        return st;
    net->n_conv = (int)count;
    net->n_freq = m->spect_config.n_fft / 2 + 1;
    int c_in = 1, f_in = net->n_freq;
    for (int i = 0; i < net->n_conv; i++) {
        ds2_conv_desc *c = &net->conv[i];
        char key[96];
        uint32_t ch, k[2], s[2], p[2];
        snprintf(key, sizeof key, "deepspeech2.conv.%d.channels", i);
        if ((st = need_u32(f, key, 1, MAX_CHANNELS, &ch, err)))
            return st;
        snprintf(key, sizeof key, "deepspeech2.conv.%d.kernel", i);
        int ok = gguf_get_u32_array(f, key, k, 2) == 2;
        snprintf(key, sizeof key, "deepspeech2.conv.%d.stride", i);
        ok = ok && gguf_get_u32_array(f, key, s, 2) == 2;
        snprintf(key, sizeof key, "deepspeech2.conv.%d.padding", i);
        ok = ok && gguf_get_u32_array(f, key, p, 2) == 2;
        if (!ok || !k[0] || !k[1] || k[0] > MAX_KERNEL || k[1] > MAX_KERNEL || !s[0] || !s[1] ||
            s[0] > MAX_KERNEL || s[1] > MAX_KERNEL || p[0] > MAX_KERNEL || p[1] > MAX_KERNEL)
            return ds2_fail(err, DS2_ERR_MODEL_FORMAT,
                            "conv %d: kernel/stride/padding missing or out of range", i);
        c->c_in = c_in;
        c->c_out = (int)ch;
        c->k_freq = (int)k[0];
        c->k_time = (int)k[1];
        c->stride_freq = (int)s[0];
        c->stride_time = (int)s[1];
        c->pad_freq = (int)p[0];
        c->pad_time = (int)p[1];
        c->f_in = f_in;
        int span = f_in + 2 * c->pad_freq - c->k_freq;
        if (span < 0 || 2 * c->pad_time + 1 < c->k_time)
            return ds2_fail(err, DS2_ERR_MODEL_FORMAT,
                            "conv %d: kernel larger than its padded input", i);
        c->f_out = ds2_conv_output_size(f_in, c->k_freq, c->stride_freq, c->pad_freq);
        char name[64];
        uint64_t wshape[4] = {ch, (uint64_t)c_in, k[0], k[1]}, bshape[1] = {ch};
        snprintf(name, sizeof name, "conv.%d.weight", i);
        if ((st = get_f32(f, name, 4, wshape, &c->weight, err)))
            return st;
        snprintf(name, sizeof name, "conv.%d.bias", i);
        if ((st = get_f32(f, name, 1, bshape, &c->bias, err)))
            return st;
        m->n_parameters += wshape[0] * wshape[1] * wshape[2] * wshape[3] + ch;
        c_in = (int)ch;
        f_in = c->f_out;
    }
    return DS2_OK;
}

static ds2_status read_rnns(ds2_model_file *m, ds2_err *err)
{
    const gguf_file *f = &m->gguf;
    ds2_net *net = &m->net;
    gguf_str type, weights;
    uint32_t hidden, layers, input_size, context;
    int bidir;
    ds2_status st;
    if (gguf_get_str(f, "deepspeech2.rnn.type", &type))
        return ds2_fail(err, DS2_ERR_MODEL_FORMAT, "missing key 'deepspeech2.rnn.type'");
    if (gguf_str_eq(type, "lstm"))
        net->rnn_type = DS2_RNN_LSTM, net->gates = 4, m->rnn_type_name = "lstm";
    else if (gguf_str_eq(type, "gru"))
        net->rnn_type = DS2_RNN_GRU, net->gates = 3, m->rnn_type_name = "gru";
    else if (gguf_str_eq(type, "rnn"))
        net->rnn_type = DS2_RNN_TANH, net->gates = 1, m->rnn_type_name = "rnn";
    else
        return ds2_fail(err, DS2_ERR_MODEL_FORMAT, "unknown rnn type '%.*s'",
                        (int)(type.len < 32 ? type.len : 32), type.ptr);
    if ((st = need_u32(f, "deepspeech2.rnn.hidden_size", 1, MAX_HIDDEN, &hidden, err)) ||
        (st = need_u32(f, "deepspeech2.rnn.layers", 1, MAX_LAYERS, &layers, err)) ||
        (st = need_u32(f, "deepspeech2.rnn.input_size", 1, UINT32_MAX, &input_size, err)) ||
        (st = need_u32(f, "deepspeech2.lookahead.context", 0, 4096, &context, err)))
        return st;
    if (gguf_get_bool(f, "deepspeech2.rnn.bidirectional", &bidir))
        return ds2_fail(err, DS2_ERR_MODEL_FORMAT, "missing key 'deepspeech2.rnn.bidirectional'");
    const ds2_conv_desc *last = &net->conv[net->n_conv - 1];
    if ((uint64_t)input_size != (uint64_t)last->c_out * (uint64_t)last->f_out)
        return ds2_fail(err, DS2_ERR_MODEL_FORMAT,
                        "deepspeech2.rnn.input_size %u != conv channels %d x freq bins %d",
                        input_size, last->c_out, last->f_out);
    if (bidir ? context != 0 : context == 0)
        return ds2_fail(err, DS2_ERR_MODEL_FORMAT, "lookahead context %u is invalid for a %s model",
                        context, bidir ? "bidirectional" : "unidirectional");
    if (gguf_get_str(f, "deepspeech2.weights", &weights) ||
        !(gguf_str_eq(weights, "f32") || gguf_str_eq(weights, "int8")))
        return ds2_fail(err, DS2_ERR_MODEL_FORMAT, "key 'deepspeech2.weights' must be f32 or int8");
    m->weights_int8 = gguf_str_eq(weights, "int8");
    net->hidden = (int)hidden;
    net->layers = (int)layers;
    net->directions = bidir ? 2 : 1;
    net->lookahead_context = (int)context;
    m->layers = calloc(layers, sizeof *m->layers);
    if (!m->layers)
        return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "out of memory");
    net->layer = m->layers;
    int gh = net->gates * net->hidden;
    uint64_t vec[1] = {(uint64_t)gh};
    for (int l = 0; l < net->layers; l++) {
        ds2_rnn_layer *layer = &m->layers[l];
        layer->input_size = l == 0 ? (int)input_size : net->hidden;
        for (int d = 0; d < net->directions; d++) {
            ds2_rnn_direction *dir = &layer->dir[d];
            const char *dn = d ? "bwd" : "fwd";
            char name[64];
            snprintf(name, sizeof name, "rnn.%d.%s.w_ih", l, dn);
            if ((st = get_matrix(f, name, m->weights_int8, gh, layer->input_size, &dir->w_ih,
                                 &m->n_parameters, err)))
                return st;
            snprintf(name, sizeof name, "rnn.%d.%s.w_hh", l, dn);
            if ((st = get_matrix(f, name, m->weights_int8, gh, net->hidden, &dir->w_hh,
                                 &m->n_parameters, err)))
                return st;
            snprintf(name, sizeof name, "rnn.%d.%s.b_ih", l, dn);
            if ((st = get_f32(f, name, 1, vec, &dir->b_ih, err)))
                return st;
            snprintf(name, sizeof name, "rnn.%d.%s.b_hh", l, dn);
            if ((st = get_f32(f, name, 1, vec, &dir->b_hh, err)))
                return st;
            m->n_parameters += 2 * (uint64_t)gh;
        }
    }
    if (!bidir) {
        uint64_t shape[2] = {hidden, context};
        if ((st = get_f32(f, "lookahead.weight", 2, shape, &net->lookahead_w, err)))
            return st;
        m->n_parameters += (uint64_t)hidden * context;
    }
    net->n_labels = m->n_labels;
    if ((st = get_matrix(f, "fc.weight", m->weights_int8, m->n_labels, net->hidden, &net->fc,
                         &m->n_parameters, err)))
        return st;
    uint64_t lshape[1] = {(uint64_t)m->n_labels};
    return get_f32(f, "fc.bias", 1, lshape, &net->fc_bias, err);
}

static ds2_status read_model(ds2_model_file *m, ds2_err *err)
{
    gguf_str arch;
    uint32_t version;
    ds2_status st = gguf_parse(m->map, m->map_size, &m->gguf, err);
    if (st)
        return st;
    if (gguf_get_str(&m->gguf, "general.architecture", &arch) || !gguf_str_eq(arch, "deepspeech2"))
        return ds2_fail(err, DS2_ERR_MODEL_FORMAT,
                        "general.architecture is not 'deepspeech2' (not a libds2 model)");
    if (gguf_get_u32(&m->gguf, "deepspeech2.format_version", &version) || version != 1)
        return ds2_fail(err, DS2_ERR_MODEL_FORMAT,
                        "deepspeech2.format_version missing or unsupported (need 1)");
    if ((st = read_labels(m, err)) || (st = read_audio(m, err)) || (st = read_convs(m, err)) ||
        (st = read_rnns(m, err)))
        return st;
    /* What was read must also be a runnable network, by the same rule the backends apply. */
    if ((st = ds2_net_validate(&m->net, err)) != DS2_OK)
        return DS2_ERR_MODEL_FORMAT;
    return DS2_OK;
}

/* The backends' weights_copied hint: drop the file pages under [data, data + bytes) from this
 * process's resident set. Only whole pages inside the range, and only inside our read-only
 * file mapping, where MADV_DONTNEED is safe: the pages fault back in from the file if read. */
static void release_file_pages(const void *owner, const void *data, size_t bytes)
{
    const ds2_model_file *m = owner;
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = (uintptr_t)data, hi = lo + bytes;
    uintptr_t map_lo = (uintptr_t)m->map, map_hi = map_lo + m->map_size;
    if (!m->map || lo < map_lo || hi > map_hi || hi < lo)
        return;
    lo = (lo + page - 1) & ~(page - 1);
    hi &= ~(page - 1);
    if (hi > lo)
        madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

ds2_status ds2_model_file_read(const char *path, ds2_model_file *m, ds2_err *err)
{
    struct stat sb;
    int fd = ds2_open_regular(path, "model", &sb, err);
    if (fd < 0)
        return DS2_ERR_IO;
    if (sb.st_size < 24) {
        close(fd);
        return ds2_fail(err, DS2_ERR_MODEL_FORMAT, "model '%s' is too small to be a GGUF file",
                        path);
    }
    m->map_size = (size_t)sb.st_size;
    m->map = mmap(NULL, m->map_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m->map == MAP_FAILED) {
        m->map = NULL;
        return ds2_fail(err, DS2_ERR_IO, "cannot map model '%s': %s", path, strerror(errno));
    }
    ds2_status st = read_model(m, err);
    m->net.weights_copied = release_file_pages;
    m->net.owner = m;
    if (err && st != DS2_OK && st != DS2_ERR_OUT_OF_MEMORY && st != DS2_ERR_IO) {
        /* Prefix the file name so the message stands alone. */
        ds2_err inner = *err;
        ds2_fail(err, st, "%s: %s", path, inner.msg);
    }
    return st;
}

void ds2_model_file_release(ds2_model_file *m)
{
    if (m->labels)
        for (int i = 0; i < m->n_labels; i++)
            free(m->labels[i]);
    free(m->labels);
    free(m->layers);
    ds2_spectrogram_free(m->spectrogram);
    gguf_release(&m->gguf);
    if (m->map)
        munmap(m->map, m->map_size);
}
