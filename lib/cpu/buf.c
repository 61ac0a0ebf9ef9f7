/* cpu_buf: the backend's working buffers, grown on demand, 64-byte aligned for the kernels. */
#include <stdint.h>
#include <stdlib.h>

#include "cpu/internal.h"

ds2_status cpu_buf_reserve(cpu_buf *b, size_t n, const char *what, ds2_err *err)
{
    if (n <= b->n)
        return DS2_OK;
    if (n > SIZE_MAX / sizeof(float) - 16)
        return ds2_fail(err, DS2_ERR_INVALID_ARGUMENT, "%s: %zu floats is too large", what, n);
    /* 64-byte aligned, rounded up so aligned_alloc's size rule holds */
    size_t bytes = (n * sizeof(float) + 63) & ~(size_t)63;
    float *p = aligned_alloc(64, bytes);
    if (!p)
        return ds2_fail(err, DS2_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes", what, bytes);
    free(b->p);
    b->p = p;
    b->n = n;
    return DS2_OK;
}

void cpu_buf_free(cpu_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->n = 0;
}
