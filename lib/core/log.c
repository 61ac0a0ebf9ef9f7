#include <stdarg.h>
#include <stdio.h>

#include "core/log.h"

void ds2_log(ds2_log_fn fn, void *user, ds2_log_level level, const char *fmt, ...)
{
    if (!fn)
        return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fn(level, buf, user);
}
