/* Host emulation of the CUDA runtime subset cuda/ uses (see ../emu.cc): synchronous streams,
 * graphs as recorded closure lists, kernels run thread by thread (warps in lockstep for kernels
 * that shuffle). */
#pragma once
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <functional>
#include <vector>

#define __global__
#define __device__
#define __host__

struct dim3 {
    unsigned x = 0, y = 0, z = 0;
};
extern thread_local dim3 blockIdx, threadIdx;
extern dim3 blockDim, gridDim;

typedef int cudaError_t;
enum {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorStreamCaptureUnsupported = 900
};
typedef struct emu_stream *cudaStream_t;
struct emu_graph {
    std::vector<std::function<void()>> ops;
};
typedef emu_graph *cudaGraph_t;
typedef emu_graph *cudaGraphExec_t;
enum cudaMemcpyKind { cudaMemcpyHostToDevice, cudaMemcpyDeviceToHost, cudaMemcpyDeviceToDevice };
enum cudaStreamCaptureMode {
    cudaStreamCaptureModeGlobal,
    cudaStreamCaptureModeThreadLocal,
    cudaStreamCaptureModeRelaxed
};
#define cudaStreamNonBlocking 1
#define cudaHostAllocDefault 0

const char *cudaGetErrorString(cudaError_t e);
cudaError_t cudaGetLastError(void);
cudaError_t cudaGetDeviceCount(int *n);
cudaError_t cudaSetDevice(int d);
cudaError_t cudaMalloc(void **p, size_t n);
template <class T> cudaError_t cudaMalloc(T **p, size_t n)
{
    return cudaMalloc((void **)p, n);
}
cudaError_t cudaFree(void *p);
cudaError_t cudaHostAlloc(void **p, size_t n, unsigned flags);
template <class T> cudaError_t cudaHostAlloc(T **p, size_t n, unsigned f)
{
    return cudaHostAlloc((void **)p, n, f);
}
cudaError_t cudaFreeHost(void *p);
cudaError_t cudaMemcpy(void *d, const void *s, size_t n, cudaMemcpyKind k);
cudaError_t cudaMemcpyAsync(void *d, const void *s, size_t n, cudaMemcpyKind k, cudaStream_t st);
cudaError_t cudaMemset(void *d, int v, size_t n);
cudaError_t cudaMemsetAsync(void *d, int v, size_t n, cudaStream_t st);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned f);
cudaError_t cudaStreamDestroy(cudaStream_t s);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaStreamBeginCapture(cudaStream_t s, cudaStreamCaptureMode m);
cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t *g);
cudaError_t cudaGraphInstantiateWithFlags(cudaGraphExec_t *e, cudaGraph_t g, unsigned long long f);
cudaError_t cudaGraphDestroy(cudaGraph_t g);
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t e);
cudaError_t cudaGraphLaunch(cudaGraphExec_t e, cudaStream_t s);

/* Enqueue: run now, or record when the stream is capturing. */
void emu_enqueue(cudaStream_t s, std::function<void()> op);
bool emu_device_ptr(const void *p); /* true if p came from cudaMalloc */

struct emu_cfg {
    unsigned grid, block;
    size_t shmem;
    cudaStream_t stream;
};
void emu_run_grid(const emu_cfg &c, const std::function<void()> &body, bool warp_mode);

template <class... P, class... A>
void emu_launch(emu_cfg c, bool warp_mode, void (*k)(P...), A... a)
{
    std::function<void()> body = [=]() { k(a...); };
    emu_enqueue(c.stream, [=]() { emu_run_grid(c, body, warp_mode); });
}

float __shfl_xor_sync(unsigned mask, float v, int lane_mask);
