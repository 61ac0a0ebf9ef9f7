/* The backend table: every (device, precision) a session can ask for, and the implementation
 * that serves it. Adding a backend is one folder implementing ds2_backend_i plus one row here. */
#include "core/backends.h"

extern const ds2_backend_i ds2_backend_cpu;  /* lib/cpu/backend.c */
extern const ds2_backend_i ds2_backend_cuda; /* lib/core/cuda_plugin.c, forwarding to cuda/ */

static const ds2_backend backends[] = {
    {"cpu-fp32", DS2_DEVICE_CPU, DS2_PRECISION_FP32, &ds2_backend_cpu},
    {"cpu-int8", DS2_DEVICE_CPU, DS2_PRECISION_INT8, &ds2_backend_cpu},
    {"gpu-fp32", DS2_DEVICE_GPU, DS2_PRECISION_FP32, &ds2_backend_cuda},
};

#define N_BACKENDS ((int)(sizeof backends / sizeof *backends))

const ds2_backend *ds2_backend_find(ds2_device device, ds2_precision precision)
{
    for (int i = 0; i < N_BACKENDS; i++)
        if (backends[i].device == device && backends[i].precision == precision)
            return &backends[i];
    return NULL;
}

int ds2_backend_count(void)
{
    return N_BACKENDS;
}

int ds2_backend_index(const ds2_backend *backend)
{
    return (int)(backend - backends);
}
