#include "gguf_builder.h"
#include "test_random.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct buf {
    unsigned char *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}
static void put_u32(buf *b, uint32_t v)
{
    put(b, &v, 4);
}
static void put_u64(buf *b, uint64_t v)
{
    put(b, &v, 8);
}
static void put_str(buf *b, const char *s)
{
    put_u64(b, strlen(s));
    put(b, s, strlen(s));
}

typedef struct tensor {
    char name[96];
    int type, n_dims;
    uint64_t shape[4];
    size_t bytes;
    unsigned char *data;
} tensor;

struct gguf_builder {
    buf kv;
    uint64_t n_kv;
    tensor *t;
    int n_t, cap_t;
};

gguf_builder *gguf_builder_new(void)
{
    return calloc(1, sizeof(gguf_builder));
}

void gguf_builder_free(gguf_builder *b)
{
    if (!b)
        return;
    for (int i = 0; i < b->n_t; i++)
        free(b->t[i].data);
    free(b->t);
    free(b->kv.p);
    free(b);
}

static void key(gguf_builder *b, const char *k, uint32_t type)
{
    put_str(&b->kv, k);
    put_u32(&b->kv, type);
    b->n_kv++;
}

void gguf_add_u32(gguf_builder *b, const char *k, uint32_t v)
{
    key(b, k, 4);
    put_u32(&b->kv, v);
}
void gguf_add_f32(gguf_builder *b, const char *k, float v)
{
    key(b, k, 6);
    put(&b->kv, &v, 4);
}
void gguf_add_bool(gguf_builder *b, const char *k, int v)
{
    unsigned char c = (unsigned char)(v != 0);
    key(b, k, 7);
    put(&b->kv, &c, 1);
}
void gguf_add_str(gguf_builder *b, const char *k, const char *v)
{
    key(b, k, 8);
    put_str(&b->kv, v);
}
void gguf_add_u32_array(gguf_builder *b, const char *k, const uint32_t *v, int n)
{
    key(b, k, 9);
    put_u32(&b->kv, 4);
    put_u64(&b->kv, (uint64_t)n);
    put(&b->kv, v, 4 * (size_t)n);
}
void gguf_add_str_array(gguf_builder *b, const char *k, const char *const *v, int n)
{
    key(b, k, 9);
    put_u32(&b->kv, 8);
    put_u64(&b->kv, (uint64_t)n);
    for (int i = 0; i < n; i++)
        put_str(&b->kv, v[i]);
}

void gguf_add_tensor(gguf_builder *b, const char *name, int type, int n_dims, const uint64_t *shape,
                     const void *data)
{
    if (b->n_t == b->cap_t) {
        b->cap_t = b->cap_t * 2 + 8;
        b->t = realloc(b->t, (size_t)b->cap_t * sizeof *b->t);
    }
    tensor *t = &b->t[b->n_t++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->type = type;
    t->n_dims = n_dims;
    size_t n = 1;
    for (int i = 0; i < n_dims; i++)
        n *= (size_t)(t->shape[i] = shape[i]);
    t->bytes = n * (type == 0 ? 4 : 1);
    t->data = malloc(t->bytes);
    memcpy(t->data, data, t->bytes);
}

unsigned char *gguf_builder_finish(gguf_builder *b, size_t *size)
{
    buf out = {0};
    put(&out, "GGUF", 4);
    put_u32(&out, 3);
    put_u64(&out, (uint64_t)b->n_t);
    put_u64(&out, b->n_kv);
    put(&out, b->kv.p, b->kv.n);
    uint64_t off = 0;
    for (int i = 0; i < b->n_t; i++) {
        tensor *t = &b->t[i];
        put_str(&out, t->name);
        put_u32(&out, (uint32_t)t->n_dims);
        for (int d = t->n_dims - 1; d >= 0; d--)
            put_u64(&out, t->shape[d]);
        put_u32(&out, (uint32_t)t->type);
        put_u64(&out, off);
        off += (t->bytes + 31) / 32 * 32;
    }
    static const unsigned char zeros[32];
    put(&out, zeros, (32 - out.n % 32) % 32);
    for (int i = 0; i < b->n_t; i++) {
        put(&out, b->t[i].data, b->t[i].bytes);
        if (i + 1 < b->n_t) /* no tail padding: every shorter prefix must be invalid */
            put(&out, zeros, (32 - b->t[i].bytes % 32) % 32);
    }
    *size = out.n;
    return out.p;
}

static float frand(unsigned *s, float scale)
{
    return test_rand(s) * scale;
}

static void add_random(gguf_builder *b, const tiny_model_spec *sp, unsigned *seed, const char *name,
                       int n_dims, uint64_t *shape, float scale, int quant)
{
    if (sp->skip && !strcmp(sp->skip, name))
        return;
    uint64_t sh[4];
    memcpy(sh, shape, sizeof(uint64_t) * (size_t)n_dims);
    size_t n = 1;
    for (int i = 0; i < n_dims; i++)
        n *= (size_t)sh[i];
    float *w = malloc(n * sizeof *w);
    for (size_t i = 0; i < n; i++)
        w[i] = frand(seed, scale);
    if (sp->bad_shape && !strcmp(sp->bad_shape, name)) {
        sh[0] += 1;
        w = realloc(w, (n + n / shape[0]) * sizeof *w);
        memset(w + n, 0, n / shape[0] * sizeof *w);
    }
    if (!quant) {
        gguf_add_tensor(b, name, 0, n_dims, sh, w);
    } else {
        size_t rows = (size_t)sh[0], cols = n / (size_t)shape[0];
        signed char *q = malloc(rows * cols);
        float *s = malloc(rows * sizeof *s);
        for (size_t r = 0; r < rows; r++) {
            float mx = 0;
            for (size_t c = 0; c < cols; c++)
                mx = fabsf(w[r * cols + c]) > mx ? fabsf(w[r * cols + c]) : mx;
            s[r] = mx > 0 ? mx / 127 : 1;
            for (size_t c = 0; c < cols; c++) {
                float v = w[r * cols + c] / s[r];
                q[r * cols + c] = (signed char)(v < 0 ? (int)(v - 0.5f) : (int)(v + 0.5f));
            }
        }
        gguf_add_tensor(b, name, 24, n_dims, sh, q);
        char sname[128];
        snprintf(sname, sizeof sname, "%s.scale", name);
        gguf_add_tensor(b, sname, 0, 1, sh, s);
        free(q);
        free(s);
    }
    free(w);
}

static void maybe_u32(gguf_builder *b, const tiny_model_spec *sp, const char *k, uint32_t v)
{
    if (!sp->skip || strcmp(sp->skip, k))
        gguf_add_u32(b, k, v);
}

unsigned char *tiny_model_build(const tiny_model_spec *sp, size_t *size)
{
    static const char *const labels[] = {"_", "'", "A", "B", "C", "D", "E", "F", "G", "H",
                                         "I", "J", "K", "L", "M", "N", "O", "P", "Q", "R",
                                         "S", "T", "U", "V", "W", "X", "Y", "Z", " "};
    const int n_labels = 29, ch = sp->channels, H = sp->hidden;
    const int gates = !strcmp(sp->rnn_type, "lstm") ? 4 : !strcmp(sp->rnn_type, "gru") ? 3 : 1;
    unsigned seed = sp->seed * 2654435761u + 1;
    gguf_builder *b = gguf_builder_new();
    gguf_add_str(b, "general.architecture", "deepspeech2");
    gguf_add_str(b, "general.name", "tiny test model");
    maybe_u32(b, sp, "deepspeech2.format_version", 1);
    gguf_add_str_array(b, "deepspeech2.labels", labels, n_labels);
    maybe_u32(b, sp, "deepspeech2.blank_index", 0);
    maybe_u32(b, sp, "deepspeech2.space_index", 28);
    maybe_u32(b, sp, "deepspeech2.audio.sample_rate", 16000);
    gguf_add_f32(b, "deepspeech2.audio.window_size", 0.02f);
    gguf_add_f32(b, "deepspeech2.audio.window_stride", 0.01f);
    gguf_add_str(b, "deepspeech2.audio.window", "hamming");
    gguf_add_bool(b, "deepspeech2.audio.normalize", 1);
    maybe_u32(b, sp, "deepspeech2.conv.count", 2);
    const uint32_t k[2][2] = {{41, 11}, {21, 11}}, s[2][2] = {{2, 2}, {2, 1}},
                   p[2][2] = {{20, 5}, {10, 5}};
    for (int i = 0; i < 2; i++) {
        char key[64];
        snprintf(key, sizeof key, "deepspeech2.conv.%d.channels", i);
        gguf_add_u32(b, key, (uint32_t)ch);
        snprintf(key, sizeof key, "deepspeech2.conv.%d.kernel", i);
        gguf_add_u32_array(b, key, k[i], 2);
        snprintf(key, sizeof key, "deepspeech2.conv.%d.stride", i);
        gguf_add_u32_array(b, key, s[i], 2);
        snprintf(key, sizeof key, "deepspeech2.conv.%d.padding", i);
        gguf_add_u32_array(b, key, p[i], 2);
    }
    const int input_size = ch * 41; /* 161 bins -> 81 -> 41 */
    gguf_add_str(b, "deepspeech2.rnn.type", sp->rnn_type);
    maybe_u32(b, sp, "deepspeech2.rnn.hidden_size", (uint32_t)H);
    maybe_u32(b, sp, "deepspeech2.rnn.layers", (uint32_t)sp->layers);
    gguf_add_bool(b, "deepspeech2.rnn.bidirectional", sp->bidirectional);
    maybe_u32(b, sp, "deepspeech2.rnn.input_size", (uint32_t)input_size);
    maybe_u32(b, sp, "deepspeech2.lookahead.context",
              sp->bidirectional ? 0 : (uint32_t)sp->context);
    gguf_add_str(b, "deepspeech2.weights", sp->int8 ? "int8" : "f32");
    for (int i = 0; i < 2; i++) {
        char name[64];
        uint64_t wshape[4] = {(uint64_t)ch, i ? (uint64_t)ch : 1, k[i][0], k[i][1]};
        uint64_t bshape[1] = {(uint64_t)ch};
        snprintf(name, sizeof name, "conv.%d.weight", i);
        add_random(b, sp, &seed, name, 4, wshape, 0.1f, 0);
        snprintf(name, sizeof name, "conv.%d.bias", i);
        add_random(b, sp, &seed, name, 1, bshape, 0.1f, 0);
    }
    for (int l = 0; l < sp->layers; l++)
        for (int d = 0; d < (sp->bidirectional ? 2 : 1); d++) {
            char name[64];
            const char *dn = d ? "bwd" : "fwd";
            uint64_t ih[2] = {(uint64_t)(gates * H), (uint64_t)(l ? H : input_size)};
            uint64_t hh[2] = {(uint64_t)(gates * H), (uint64_t)H}, v[1] = {(uint64_t)(gates * H)};
            snprintf(name, sizeof name, "rnn.%d.%s.w_ih", l, dn);
            add_random(b, sp, &seed, name, 2, ih, 0.2f, sp->int8);
            snprintf(name, sizeof name, "rnn.%d.%s.w_hh", l, dn);
            add_random(b, sp, &seed, name, 2, hh, 0.3f, sp->int8);
            snprintf(name, sizeof name, "rnn.%d.%s.b_ih", l, dn);
            add_random(b, sp, &seed, name, 1, v, 0.1f, 0);
            snprintf(name, sizeof name, "rnn.%d.%s.b_hh", l, dn);
            add_random(b, sp, &seed, name, 1, v, 0.1f, 0);
        }
    if (!sp->bidirectional) {
        uint64_t shape[2] = {(uint64_t)H, (uint64_t)sp->context};
        add_random(b, sp, &seed, "lookahead.weight", 2, shape, 0.5f, 0);
    }
    uint64_t fshape[2] = {(uint64_t)n_labels, (uint64_t)H}, lshape[1] = {(uint64_t)n_labels};
    add_random(b, sp, &seed, "fc.weight", 2, fshape, 0.5f, sp->int8);
    add_random(b, sp, &seed, "fc.bias", 1, lshape, 0.1f, 0);
    unsigned char *bytes = gguf_builder_finish(b, size);
    gguf_builder_free(b);
    return bytes;
}

char *test_write_temp(const unsigned char *bytes, size_t size, const char *suffix)
{
    char *path = malloc(256);
    snprintf(path, 256, "/tmp/ds2-test-XXXXXX%s", suffix ? suffix : "");
    int fd = mkstemps(path, suffix ? (int)strlen(suffix) : 0);
    if (fd < 0) {
        free(path);
        return NULL;
    }
    size_t done = 0;
    while (done < size) {
        ssize_t w = write(fd, bytes + done, size - done);
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    close(fd);
    return path;
}
