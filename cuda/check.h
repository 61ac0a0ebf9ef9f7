/*
 * Status-returning CUDA / cuBLAS checks. The library never aborts: a failing call becomes
 * DS2_ERR_BACKEND with a message naming the call and CUDA's own reason. Used only inside
 * functions that take `ds2_err *err` and return ds2_status.
 */
#ifndef DS2_CUDA_CHECK_H
#define DS2_CUDA_CHECK_H

#include <cublas_v2.h>
#include <cuda_runtime.h>

extern "C" {
#include "base/error.h"
}

const char *ds2_cublas_status_string(cublasStatus_t s);

#define CUDA_CHECK(call)                                                                           \
    do {                                                                                           \
        cudaError_t ds2_cuda_e_ = (call);                                                          \
        if (ds2_cuda_e_ != cudaSuccess)                                                            \
            return ds2_fail(err, DS2_ERR_BACKEND, "%s failed: %s", #call,                          \
                            cudaGetErrorString(ds2_cuda_e_));                                      \
    } while (0)

#define CUBLAS_CHECK(call)                                                                         \
    do {                                                                                           \
        cublasStatus_t ds2_cublas_s_ = (call);                                                     \
        if (ds2_cublas_s_ != CUBLAS_STATUS_SUCCESS)                                                \
            return ds2_fail(err, DS2_ERR_BACKEND, "%s failed: %s", #call,                          \
                            ds2_cublas_status_string(ds2_cublas_s_));                              \
    } while (0)

/* For functions returning ds2_status: propagate a failure. */
#define DS2_TRY(call)                                                                              \
    do {                                                                                           \
        ds2_status ds2_try_s_ = (call);                                                            \
        if (ds2_try_s_ != DS2_OK)                                                                  \
            return ds2_try_s_;                                                                     \
    } while (0)

#endif
