/* The backend table (backends.c): which implementation serves which (device, precision). */
#ifndef DS2_BACKENDS_H
#define DS2_BACKENDS_H

#include "base/backend.h"

/* A row: what a session asks for (device, precision) and who serves it. */
typedef struct ds2_backend {
    const char *name; /* "cpu-fp32", "cpu-int8", "gpu-fp32": in messages */
    ds2_device device;
    ds2_precision precision;
    const ds2_backend_i *impl;
} ds2_backend;

/* The row serving (device, precision), or NULL when no backend does. */
const ds2_backend *ds2_backend_find(ds2_device device, ds2_precision precision);
/* Rows are numbered 0 .. ds2_backend_count() - 1 (the model's cache of prepared data). */
int ds2_backend_count(void);
int ds2_backend_index(const ds2_backend *backend);

#endif
