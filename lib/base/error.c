#include <stdarg.h>
#include <stdio.h>

#include "base/error.h"

ds2_status ds2_fail(ds2_err *err, ds2_status status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return status;
}
