/* Writes GGUF v3 files in tests: tiny models, and deliberately broken variants of them. */
#ifndef TEST_GGUF_BUILDER_H
#define TEST_GGUF_BUILDER_H

#include <stddef.h>
#include <stdint.h>

typedef struct gguf_builder gguf_builder;

gguf_builder *gguf_builder_new(void);
void gguf_builder_free(gguf_builder *b);
void gguf_add_u32(gguf_builder *b, const char *key, uint32_t v);
void gguf_add_f32(gguf_builder *b, const char *key, float v);
void gguf_add_bool(gguf_builder *b, const char *key, int v);
void gguf_add_str(gguf_builder *b, const char *key, const char *v);
void gguf_add_u32_array(gguf_builder *b, const char *key, const uint32_t *v, int n);
void gguf_add_str_array(gguf_builder *b, const char *key, const char *const *v, int n);
/* shape in numpy order (slowest first); data copied. type 0 = f32, 24 = i8. */
void gguf_add_tensor(gguf_builder *b, const char *name, int type, int n_dims, const uint64_t *shape,
                     const void *data);
/* Serialises; returns malloc'd bytes. */
unsigned char *gguf_builder_finish(gguf_builder *b, size_t *size);

/* A small random-weight DS2 model (standard conv geometry, few channels). */
typedef struct tiny_model_spec {
    const char *rnn_type; /* "lstm" | "gru" | "rnn" */
    int hidden, layers, bidirectional, context, channels, int8;
    unsigned seed;
    const char *skip;      /* omit this key or tensor (to test validation) */
    const char *bad_shape; /* give this tensor one extra row */
} tiny_model_spec;

unsigned char *tiny_model_build(const tiny_model_spec *spec, size_t *size);
/* Writes bytes to a fresh temp file; returns its malloc'd path. */
char *test_write_temp(const unsigned char *bytes, size_t size, const char *suffix);

#endif
