/* ds2_backend_cpu_fp32: the shared CPU forward with the OpenBLAS linear step. */
#include "cpu_internal.h"

static ds2_status prepare(const ds2_net *net, int device_index, void **model_data, ds2_err *err)
{
    (void)device_index;
    return cpu_prepare(net, &cpu_linear_fp32, model_data, err);
}

static ds2_status session_create(const ds2_net *net, const void *model_data, int n_threads,
                                 int device_index, void **session_data, ds2_err *err)
{
    (void)net;
    (void)device_index;
    return cpu_session_create(model_data, n_threads, session_data, err);
}

const ds2_backend_i ds2_backend_cpu_fp32 = {
    "cpu-fp32", prepare, cpu_release, session_create, cpu_session_free, cpu_forward,
};
