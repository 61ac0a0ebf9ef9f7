/* The optional log callback of a model or session: the library's only output channel. */
#ifndef DS2_LOG_H
#define DS2_LOG_H

#include "ds2.h"

void ds2_log(ds2_log_fn fn, void *user, ds2_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
