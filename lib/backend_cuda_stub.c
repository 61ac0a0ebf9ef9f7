/* ds2_backend_gpu_fp32 in a build without CUDA: every entry point reports DS2_ERR_NOT_BUILT,
 * so asking for the GPU fails with a clear message instead of a link error. */
#include <stddef.h>

#include "backend.h"

static ds2_status not_built(ds2_err *err)
{
    return ds2_fail(err, DS2_ERR_NOT_BUILT, "built without CUDA");
}

static ds2_status stub_prepare(const ds2_net *net, int device_index, void **model_data,
                               ds2_err *err)
{
    (void)net;
    (void)device_index;
    if (model_data)
        *model_data = NULL;
    return not_built(err);
}

static void stub_release(void *model_data)
{
    (void)model_data;
}

static ds2_status stub_session_create(const ds2_net *net, const void *model_data, int n_threads,
                                      int device_index, void **session_data, ds2_err *err)
{
    (void)net;
    (void)model_data;
    (void)n_threads;
    (void)device_index;
    if (session_data)
        *session_data = NULL;
    return not_built(err);
}

static void stub_session_free(void *session_data)
{
    (void)session_data;
}

static ds2_status stub_forward(void *session_data, ds2_forward_batch *batch, ds2_err *err)
{
    (void)session_data;
    (void)batch;
    return not_built(err);
}

const ds2_backend_i ds2_backend_gpu_fp32 = {
    .name = "gpu-fp32",
    .prepare = stub_prepare,
    .release = stub_release,
    .session_create = stub_session_create,
    .session_free = stub_session_free,
    .forward = stub_forward,
};
