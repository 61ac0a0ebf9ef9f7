/*
 * A minimal, bounds-checked JSON reader (RFC 8259) for manifests: builds a small tree.
 * Limits: nesting depth DS2_JSON_MAX_DEPTH, input DS2_JSON_MAX_BYTES; strings may not contain
 * NUL (\u0000) so they can be used as C strings.
 */
#ifndef DS2_JSON_MIN_H
#define DS2_JSON_MIN_H

#include <stddef.h>

#define DS2_JSON_MAX_DEPTH 64
#define DS2_JSON_MAX_BYTES ((size_t)256 << 20)

typedef enum ds2_json_type {
    DS2_JSON_NULL,
    DS2_JSON_BOOL,
    DS2_JSON_NUMBER,
    DS2_JSON_STRING,
    DS2_JSON_ARRAY,
    DS2_JSON_OBJECT,
} ds2_json_type;

typedef struct ds2_json_value {
    ds2_json_type type;
    int boolean;
    double number;
    char *string;                 /* DS2_JSON_STRING: decoded UTF-8, NUL-terminated */
    struct ds2_json_value *items; /* array elements or object member values */
    char **keys;                  /* object member names, parallel to items */
    size_t count;
    int line; /* 1-based line where the value starts, for error messages */
} ds2_json_value;

/* Parses text[0..len). On failure returns NULL and writes "line L, column C: what" to error. */
ds2_json_value *ds2_json_parse(const char *text, size_t len, char *error, size_t error_size);
void ds2_json_free(ds2_json_value *value);

/* Value of the first member named key, or NULL (also when obj is not an object). */
const ds2_json_value *ds2_json_get(const ds2_json_value *obj, const char *key);
const char *ds2_json_type_name(ds2_json_type type);

#endif
