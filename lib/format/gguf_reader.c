#include "format/gguf_reader.h"

#include <stdlib.h>
#include <string.h>

/* Sanity caps: far above any DS2 model, low enough that counts from a hostile header cannot
 * make us allocate absurd tables. */
#define MAX_KV 65536
#define MAX_TENSORS 65536
#define MAX_STRING (1u << 20)

typedef struct cursor {
    const uint8_t *base;
    size_t size, pos;
    ds2_err *err;
} cursor;

static int need(cursor *c, uint64_t n)
{
    return n <= c->size - c->pos;
}

static int rd_u32(cursor *c, uint32_t *v)
{
    if (!need(c, 4))
        return -1;
    memcpy(v, c->base + c->pos, 4);
    c->pos += 4;
    return 0;
}

static int rd_u64(cursor *c, uint64_t *v)
{
    if (!need(c, 8))
        return -1;
    memcpy(v, c->base + c->pos, 8);
    c->pos += 8;
    return 0;
}

static int rd_str(cursor *c, gguf_str *s)
{
    uint64_t len;
    if (rd_u64(c, &len) || len > MAX_STRING || !need(c, len))
        return -1;
    s->ptr = (const char *)(c->base + c->pos);
    s->len = len;
    c->pos += len;
    return 0;
}

static uint64_t scalar_size(uint32_t type)
{
    switch (type) {
    case GGUF_TYPE_UINT8:
    case GGUF_TYPE_INT8:
    case GGUF_TYPE_BOOL:
        return 1;
    case GGUF_TYPE_UINT16:
    case GGUF_TYPE_INT16:
        return 2;
    case GGUF_TYPE_UINT32:
    case GGUF_TYPE_INT32:
    case GGUF_TYPE_FLOAT32:
        return 4;
    case GGUF_TYPE_UINT64:
    case GGUF_TYPE_INT64:
    case GGUF_TYPE_FLOAT64:
        return 8;
    default:
        return 0;
    }
}

static int skip_value(cursor *c, uint32_t type)
{
    if (type == GGUF_TYPE_STRING) {
        gguf_str s;
        return rd_str(c, &s);
    }
    uint64_t sz = scalar_size(type);
    if (!sz || !need(c, sz))
        return -1;
    c->pos += sz;
    return 0;
}

static ds2_status parse_kv(cursor *c, gguf_kv *kv)
{
    if (rd_str(c, &kv->key) || rd_u32(c, &kv->type))
        return ds2_fail(c->err, DS2_ERR_MODEL_FORMAT, "model file truncated in key/value header");
    if (kv->type == GGUF_TYPE_ARRAY) {
        if (rd_u32(c, &kv->array_type) || rd_u64(c, &kv->array_count))
            return ds2_fail(c->err, DS2_ERR_MODEL_FORMAT, "key '%.*s': truncated array header",
                            (int)kv->key.len, kv->key.ptr);
        if (kv->array_type == GGUF_TYPE_ARRAY ||
            (kv->array_type != GGUF_TYPE_STRING && !scalar_size(kv->array_type)))
            return ds2_fail(c->err, DS2_ERR_MODEL_FORMAT, "key '%.*s': unsupported array type %u",
                            (int)kv->key.len, kv->key.ptr, kv->array_type);
        kv->value = c->base + c->pos;
        if (kv->array_type != GGUF_TYPE_STRING) {
            uint64_t sz = scalar_size(kv->array_type);
            if (kv->array_count > (c->size - c->pos) / sz)
                return ds2_fail(c->err, DS2_ERR_MODEL_FORMAT, "key '%.*s': array past end of file",
                                (int)kv->key.len, kv->key.ptr);
            c->pos += kv->array_count * sz;
        } else {
            for (uint64_t i = 0; i < kv->array_count; i++)
                if (skip_value(c, GGUF_TYPE_STRING))
                    return ds2_fail(c->err, DS2_ERR_MODEL_FORMAT,
                                    "key '%.*s': string array past end of file", (int)kv->key.len,
                                    kv->key.ptr);
        }
        return DS2_OK;
    }
    kv->value = c->base + c->pos;
    if (skip_value(c, kv->type))
        return ds2_fail(c->err, DS2_ERR_MODEL_FORMAT, "key '%.*s': bad type %u or value past end",
                        (int)kv->key.len, kv->key.ptr, kv->type);
    return DS2_OK;
}

static ds2_status parse_tensor_info(cursor *c, gguf_tensor *t, uint64_t *offset)
{
    if (rd_str(c, &t->name) || rd_u32(c, &t->n_dims))
        return ds2_fail(c->err, DS2_ERR_MODEL_FORMAT, "model file truncated in tensor table");
    if (t->n_dims == 0 || t->n_dims > GGUF_MAX_DIMS)
        return ds2_fail(c->err, DS2_ERR_MODEL_FORMAT, "tensor '%.*s': %u dimensions",
                        (int)t->name.len, t->name.ptr, t->n_dims);
    t->n_elements = 1;
    for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++)
        t->ne[d] = 1;
    for (uint32_t d = 0; d < t->n_dims; d++) {
        if (rd_u64(c, &t->ne[d]))
            return ds2_fail(c->err, DS2_ERR_MODEL_FORMAT, "model file truncated in tensor table");
        if (t->ne[d] == 0 || t->ne[d] > (UINT64_C(1) << 40) / t->n_elements)
            return ds2_fail(c->err, DS2_ERR_MODEL_FORMAT, "tensor '%.*s': absurd dimension",
                            (int)t->name.len, t->name.ptr);
        t->n_elements *= t->ne[d];
    }
    if (rd_u32(c, &t->type) || rd_u64(c, offset))
        return ds2_fail(c->err, DS2_ERR_MODEL_FORMAT, "model file truncated in tensor table");
    if (t->type != GGUF_TENSOR_F32 && t->type != GGUF_TENSOR_I8)
        return ds2_fail(c->err, DS2_ERR_MODEL_FORMAT,
                        "tensor '%.*s': unsupported type %u (libds2 reads f32 and i8)",
                        (int)t->name.len, t->name.ptr, t->type);
    return DS2_OK;
}

static int str_eq(gguf_str a, gguf_str b)
{
    return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

ds2_status gguf_parse(const void *buf, size_t size, gguf_file *f, ds2_err *err)
{
    memset(f, 0, sizeof *f);
    cursor c = {buf, size, 0, err};
    if (size < 24 || memcmp(buf, "GGUF", 4) != 0)
        return ds2_fail(err, DS2_ERR_MODEL_FORMAT, "not a GGUF file (bad magic)");
    c.pos = 4;
    rd_u32(&c, &f->version);
    if (f->version != 3)
        return ds2_fail(err, DS2_ERR_MODEL_FORMAT, "GGUF version %u not supported (need 3)",
                        f->version);
    rd_u64(&c, &f->n_tensors);
    rd_u64(&c, &f->n_kv);
    if (f->n_kv > MAX_KV || f->n_tensors > MAX_TENSORS)
        return ds2_fail(err, DS2_ERR_MODEL_FORMAT, "absurd counts: %llu keys, %llu tensors",
                        (unsigned long long)f->n_kv, (unsigned long long)f->n_tensors);
    f->kv = calloc(f->n_kv ? f->n_kv : 1, sizeof *f->kv);
    f->tensors = calloc(f->n_tensors ? f->n_tensors : 1, sizeof *f->tensors);
    uint64_t *offsets = calloc(f->n_tensors ? f->n_tensors : 1, sizeof *offsets);
    ds2_status st = DS2_OK;
    if (!f->kv || !f->tensors || !offsets) {
        st = ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "out of memory reading model header");
        goto done;
    }
    for (uint64_t i = 0; i < f->n_kv; i++) {
        if ((st = parse_kv(&c, &f->kv[i])) != DS2_OK)
            goto done;
        for (uint64_t j = 0; j < i; j++)
            if (str_eq(f->kv[j].key, f->kv[i].key)) {
                st = ds2_fail(err, DS2_ERR_MODEL_FORMAT, "duplicate key '%.*s'",
                              (int)f->kv[i].key.len, f->kv[i].key.ptr);
                goto done;
            }
    }
    f->alignment = 32;
    const gguf_kv *al = gguf_find_kv(f, "general.alignment");
    if (al) {
        uint32_t a;
        if (gguf_get_u32(f, "general.alignment", &a) || a == 0 || (a & (a - 1)) || a > 65536) {
            st = ds2_fail(err, DS2_ERR_MODEL_FORMAT, "general.alignment must be a power of two");
            goto done;
        }
        f->alignment = a;
    }
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        if ((st = parse_tensor_info(&c, &f->tensors[i], &offsets[i])) != DS2_OK)
            goto done;
        for (uint64_t j = 0; j < i; j++)
            if (str_eq(f->tensors[j].name, f->tensors[i].name)) {
                st = ds2_fail(err, DS2_ERR_MODEL_FORMAT, "duplicate tensor '%.*s'",
                              (int)f->tensors[i].name.len, f->tensors[i].name.ptr);
                goto done;
            }
    }
    uint64_t data_start = (c.pos + f->alignment - 1) / f->alignment * f->alignment;
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        gguf_tensor *t = &f->tensors[i];
        uint64_t esize = t->type == GGUF_TENSOR_F32 ? 4 : 1;
        uint64_t nbytes = t->n_elements * esize;
        if (offsets[i] % f->alignment || data_start > size || offsets[i] > size - data_start ||
            nbytes > size - data_start - offsets[i]) {
            st = ds2_fail(err, DS2_ERR_MODEL_FORMAT,
                          "tensor '%.*s': data outside the file (truncated or corrupt model)",
                          (int)t->name.len, t->name.ptr);
            goto done;
        }
        t->data = (const uint8_t *)buf + data_start + offsets[i];
        if (((uintptr_t)t->data) % esize) {
            st = ds2_fail(err, DS2_ERR_MODEL_FORMAT, "tensor '%.*s': misaligned data",
                          (int)t->name.len, t->name.ptr);
            goto done;
        }
    }
done:
    free(offsets);
    if (st != DS2_OK)
        gguf_release(f);
    return st;
}

void gguf_release(gguf_file *f)
{
    free(f->kv);
    free(f->tensors);
    f->kv = NULL;
    f->tensors = NULL;
    f->n_kv = f->n_tensors = 0;
}

int gguf_str_eq(gguf_str s, const char *c)
{
    size_t n = strlen(c);
    return s.len == n && memcmp(s.ptr, c, n) == 0;
}

const gguf_kv *gguf_find_kv(const gguf_file *f, const char *key)
{
    for (uint64_t i = 0; i < f->n_kv; i++)
        if (gguf_str_eq(f->kv[i].key, key))
            return &f->kv[i];
    return NULL;
}

const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name)
{
    for (uint64_t i = 0; i < f->n_tensors; i++)
        if (gguf_str_eq(f->tensors[i].name, name))
            return &f->tensors[i];
    return NULL;
}

/* Reads an integer-typed raw value as int64 (unsigned 64-bit values above INT64_MAX fail). */
static int raw_int(uint32_t type, const uint8_t *p, int64_t *v)
{
    switch (type) {
    case GGUF_TYPE_UINT8:
        *v = p[0];
        return 0;
    case GGUF_TYPE_INT8:
        *v = (int8_t)p[0];
        return 0;
    case GGUF_TYPE_UINT16: {
        uint16_t x;
        memcpy(&x, p, 2);
        *v = x;
        return 0;
    }
    case GGUF_TYPE_INT16: {
        int16_t x;
        memcpy(&x, p, 2);
        *v = x;
        return 0;
    }
    case GGUF_TYPE_UINT32: {
        uint32_t x;
        memcpy(&x, p, 4);
        *v = x;
        return 0;
    }
    case GGUF_TYPE_INT32: {
        int32_t x;
        memcpy(&x, p, 4);
        *v = x;
        return 0;
    }
    case GGUF_TYPE_UINT64: {
        uint64_t x;
        memcpy(&x, p, 8);
        if (x > INT64_MAX)
            return -1;
        *v = (int64_t)x;
        return 0;
    }
    case GGUF_TYPE_INT64: {
        int64_t x;
        memcpy(&x, p, 8);
        *v = x;
        return 0;
    }
    default:
        return -1;
    }
}

int gguf_get_u32(const gguf_file *f, const char *key, uint32_t *out)
{
    const gguf_kv *kv = gguf_find_kv(f, key);
    int64_t v;
    if (!kv || raw_int(kv->type, kv->value, &v) || v < 0 || v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

int gguf_get_f32(const gguf_file *f, const char *key, float *out)
{
    const gguf_kv *kv = gguf_find_kv(f, key);
    if (!kv)
        return -1;
    if (kv->type == GGUF_TYPE_FLOAT32) {
        memcpy(out, kv->value, 4);
        return 0;
    }
    if (kv->type == GGUF_TYPE_FLOAT64) {
        double d;
        memcpy(&d, kv->value, 8);
        *out = (float)d;
        return 0;
    }
    return -1;
}

int gguf_get_bool(const gguf_file *f, const char *key, int *out)
{
    const gguf_kv *kv = gguf_find_kv(f, key);
    if (!kv || kv->type != GGUF_TYPE_BOOL)
        return -1;
    *out = kv->value[0] != 0;
    return 0;
}

int gguf_get_str(const gguf_file *f, const char *key, gguf_str *out)
{
    const gguf_kv *kv = gguf_find_kv(f, key);
    if (!kv || kv->type != GGUF_TYPE_STRING)
        return -1;
    uint64_t len;
    memcpy(&len, kv->value, 8);
    out->ptr = (const char *)kv->value + 8;
    out->len = len;
    return 0;
}

int gguf_get_u32_array(const gguf_file *f, const char *key, uint32_t *out, int max)
{
    const gguf_kv *kv = gguf_find_kv(f, key);
    if (!kv || kv->type != GGUF_TYPE_ARRAY || kv->array_type == GGUF_TYPE_STRING ||
        kv->array_count > (uint64_t)max)
        return -1;
    uint64_t sz = scalar_size(kv->array_type);
    for (uint64_t i = 0; i < kv->array_count; i++) {
        int64_t v;
        if (raw_int(kv->array_type, kv->value + i * sz, &v) || v < 0 || v > UINT32_MAX)
            return -1;
        out[i] = (uint32_t)v;
    }
    return (int)kv->array_count;
}

int gguf_array_str(const gguf_kv *kv, uint64_t i, gguf_str *out)
{
    if (kv->type != GGUF_TYPE_ARRAY || kv->array_type != GGUF_TYPE_STRING || i >= kv->array_count)
        return -1;
    const uint8_t *p = kv->value;
    for (uint64_t j = 0;; j++) {
        uint64_t len;
        memcpy(&len, p, 8);
        if (j == i) {
            out->ptr = (const char *)p + 8;
            out->len = len;
            return 0;
        }
        p += 8 + len;
    }
}
