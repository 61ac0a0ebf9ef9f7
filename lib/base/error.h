/* A fixed-size message buffer that travels with a status through internal calls. */
#ifndef DS2_ERROR_H
#define DS2_ERROR_H

#include "ds2.h"

typedef struct ds2_err {
    char msg[512];
} ds2_err;

/* Formats into err (if not NULL) and returns status, so callers can `return ds2_fail(...)`. */
ds2_status ds2_fail(ds2_err *err, ds2_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
