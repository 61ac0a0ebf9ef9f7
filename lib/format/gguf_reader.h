/*
 * A bounds-checked reader for GGUF v3 held in memory (an mmapped file). Parsing validates the
 * whole header up front — every length, count, string, array, tensor extent and alignment — so
 * later lookups never touch bytes outside the buffer, whatever the file contains.
 */
#ifndef DS2_GGUF_READER_H
#define DS2_GGUF_READER_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

enum gguf_value_type {
    GGUF_TYPE_UINT8 = 0,
    GGUF_TYPE_INT8 = 1,
    GGUF_TYPE_UINT16 = 2,
    GGUF_TYPE_INT16 = 3,
    GGUF_TYPE_UINT32 = 4,
    GGUF_TYPE_INT32 = 5,
    GGUF_TYPE_FLOAT32 = 6,
    GGUF_TYPE_BOOL = 7,
    GGUF_TYPE_STRING = 8,
    GGUF_TYPE_ARRAY = 9,
    GGUF_TYPE_UINT64 = 10,
    GGUF_TYPE_INT64 = 11,
    GGUF_TYPE_FLOAT64 = 12,
};

/* The tensor element types libds2 uses (ggml_type numbering). */
enum gguf_tensor_type { GGUF_TENSOR_F32 = 0, GGUF_TENSOR_I8 = 24 };

#define GGUF_MAX_DIMS 4

typedef struct gguf_str {
    const char *ptr; /* not NUL-terminated */
    uint64_t len;
} gguf_str;

typedef struct gguf_kv {
    gguf_str key;
    uint32_t type;
    const uint8_t *value; /* raw little-endian value (for arrays: first element) */
    uint32_t array_type;  /* GGUF_TYPE_ARRAY only */
    uint64_t array_count; /* GGUF_TYPE_ARRAY only */
} gguf_kv;

typedef struct gguf_tensor {
    gguf_str name;
    uint32_t n_dims;
    uint64_t ne[GGUF_MAX_DIMS]; /* ne[0] fastest */
    uint32_t type;
    uint64_t n_elements;
    const void *data;
} gguf_tensor;

typedef struct gguf_file {
    uint32_t version;
    uint64_t n_kv, n_tensors;
    gguf_kv *kv;
    gguf_tensor *tensors;
    uint64_t alignment;
} gguf_file;

ds2_status gguf_parse(const void *buf, size_t size, gguf_file *out, ds2_err *err);
void gguf_release(gguf_file *f);

const gguf_kv *gguf_find_kv(const gguf_file *f, const char *key);
const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name);
int gguf_str_eq(gguf_str s, const char *c);

/* Typed getters: return 0 on success, -1 if the key is absent or of another type. Integer
 * getters accept any integer type whose value fits. */
int gguf_get_u32(const gguf_file *f, const char *key, uint32_t *out);
int gguf_get_f32(const gguf_file *f, const char *key, float *out);
int gguf_get_bool(const gguf_file *f, const char *key, int *out);
int gguf_get_str(const gguf_file *f, const char *key, gguf_str *out);
/* Array of integers: fills up to max values, returns the count or -1. */
int gguf_get_u32_array(const gguf_file *f, const char *key, uint32_t *out, int max);
/* i-th string of a string array (validated at parse time). */
int gguf_array_str(const gguf_kv *kv, uint64_t i, gguf_str *out);

#endif
