/*
 * Host emulation of the CUDA runtime and cuBLAS subset cuda/ uses, to run the real backend code
 * (buffers, graph capture and replay, kernels, GEMM arguments) on a machine without a GPU.
 * Streams are synchronous; a capturing stream records closures into a graph, replayed by
 * cudaGraphLaunch; capture-unsafe calls during capture fail the capture as CUDA would; copies
 * check their direction and that async host sides are pinned; GEMMs check leading dimensions
 * and that operands are device memory. Device memory starts as garbage (0xa5 bytes).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <map>
#include <thread>
#include "shim/cublas_v2.h"

thread_local dim3 blockIdx, threadIdx;
dim3 blockDim, gridDim;

static std::map<const char *, size_t> dev_allocs, host_allocs;
static emu_graph *capturing = nullptr;
static int last_error = 0;
static int capture_violation = 0;

static bool in(const std::map<const char *, size_t> &m, const void *p, size_t n)
{
    const char *c = (const char *)p;
    auto it = m.upper_bound(c);
    if (it == m.begin())
        return false;
    --it;
    return c >= it->first && c + n <= it->first + it->second;
}
bool emu_device_ptr(const void *p)
{
    return in(dev_allocs, p, 1);
}

static void violation(const char *what)
{
    if (capturing) {
        fprintf(stderr, "EMU: %s during capture\n", what);
        capture_violation = 1;
    }
}

const char *cudaGetErrorString(cudaError_t e)
{
    return e ? "emulated error" : "no error";
}
cudaError_t cudaGetLastError(void)
{
    int e = last_error;
    last_error = 0;
    return e;
}
cudaError_t cudaGetDeviceCount(int *n)
{
    *n = 1;
    return 0;
}
cudaError_t cudaSetDevice(int d)
{
    return d == 0 ? 0 : 1;
}
cudaError_t cudaMalloc(void **p, size_t n)
{
    violation("cudaMalloc");
    *p = malloc(n ? n : 1);
    memset(*p, 0xa5, n); /* garbage, like real device memory */
    dev_allocs[(const char *)*p] = n;
    return 0;
}
cudaError_t cudaFree(void *p)
{
    violation("cudaFree");
    if (!p)
        return 0;
    if (!dev_allocs.erase((const char *)p)) {
        fprintf(stderr, "EMU: cudaFree of non-device %p\n", p);
        abort();
    }
    free(p);
    return 0;
}
cudaError_t cudaHostAlloc(void **p, size_t n, unsigned)
{
    *p = malloc(n ? n : 1);
    host_allocs[(const char *)*p] = n;
    return 0;
}
cudaError_t cudaFreeHost(void *p)
{
    if (!p)
        return 0;
    if (!host_allocs.erase((const char *)p)) {
        fprintf(stderr, "EMU: cudaFreeHost of non-pinned %p\n", p);
        abort();
    }
    free(p);
    return 0;
}
static void check_copy(void *d, const void *s, size_t n, cudaMemcpyKind k, bool async)
{
    bool ok = true;
    if (k == cudaMemcpyHostToDevice)
        ok = in(dev_allocs, d, n) && !in(dev_allocs, s, n) && (!async || in(host_allocs, s, n));
    if (k == cudaMemcpyDeviceToHost)
        ok = in(dev_allocs, s, n) && !in(dev_allocs, d, n) && (!async || in(host_allocs, d, n));
    if (!ok) {
        fprintf(stderr, "EMU: bad memcpy kind %d (%zu bytes)\n", (int)k, n);
        abort();
    }
}
cudaError_t cudaMemcpy(void *d, const void *s, size_t n, cudaMemcpyKind k)
{
    violation("cudaMemcpy");
    check_copy(d, s, n, k, false);
    memcpy(d, s, n);
    return 0;
}
cudaError_t cudaMemcpyAsync(void *d, const void *s, size_t n, cudaMemcpyKind k, cudaStream_t st)
{
    check_copy(d, s, n, k, true);
    emu_enqueue(st, [=]() { memcpy(d, s, n); });
    return 0;
}
cudaError_t cudaMemset(void *d, int v, size_t n)
{
    violation("cudaMemset");
    if (!in(dev_allocs, d, n))
        abort();
    memset(d, v, n);
    return 0;
}
cudaError_t cudaMemsetAsync(void *d, int v, size_t n, cudaStream_t st)
{
    if (!in(dev_allocs, d, n)) {
        fprintf(stderr, "EMU: memset outside device memory\n");
        abort();
    }
    emu_enqueue(st, [=]() { memset(d, v, n); });
    return 0;
}
struct emu_stream {
    int id;
};
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned)
{
    *s = new emu_stream{1};
    return 0;
}
cudaError_t cudaStreamDestroy(cudaStream_t s)
{
    delete s;
    return 0;
}
cudaError_t cudaStreamSynchronize(cudaStream_t)
{
    violation("cudaStreamSynchronize");
    return 0;
}
cudaError_t cudaStreamBeginCapture(cudaStream_t, cudaStreamCaptureMode)
{
    if (capturing)
        return 1;
    capturing = new emu_graph;
    return 0;
}
cudaError_t cudaStreamEndCapture(cudaStream_t, cudaGraph_t *g)
{
    *g = capturing;
    capturing = nullptr;
    if (capture_violation) {
        capture_violation = 0;
        delete *g;
        *g = nullptr;
        return cudaErrorStreamCaptureUnsupported;
    }
    return 0;
}
int emu_graphs_instantiated = 0, emu_graph_launches = 0;
cudaError_t cudaGraphInstantiateWithFlags(cudaGraphExec_t *e, cudaGraph_t g, unsigned long long)
{
    *e = new emu_graph(*g);
    emu_graphs_instantiated++;
    return 0;
}
cudaError_t cudaGraphDestroy(cudaGraph_t g)
{
    delete g;
    return 0;
}
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t e)
{
    delete e;
    return 0;
}
cudaError_t cudaGraphLaunch(cudaGraphExec_t e, cudaStream_t s)
{
    emu_graph_launches++;
    emu_enqueue(s, [e]() {
        for (auto &op : e->ops)
            op();
    });
    return 0;
}
void emu_enqueue(cudaStream_t, std::function<void()> op)
{
    if (capturing)
        capturing->ops.push_back(op);
    else
        op();
}

static pthread_barrier_t warp_barrier;
static float xch[32];
float __shfl_xor_sync(unsigned, float v, int lm)
{
    int lane = threadIdx.x & 31;
    xch[lane] = v;
    pthread_barrier_wait(&warp_barrier);
    float r = xch[lane ^ lm];
    pthread_barrier_wait(&warp_barrier);
    return r;
}

void emu_run_grid(const emu_cfg &c, const std::function<void()> &body, bool warp_mode)
{
    blockDim.x = c.block;
    gridDim.x = c.grid;
    for (unsigned b = 0; b < c.grid; b++) {
        if (!warp_mode) {
            for (unsigned t = 0; t < c.block; t++) {
                blockIdx.x = b;
                threadIdx.x = t;
                body();
            }
            continue;
        }
        for (unsigned w = 0; w < c.block / 32; w++) {
            pthread_barrier_init(&warp_barrier, NULL, 32);
            std::thread th[32];
            for (unsigned l = 0; l < 32; l++)
                th[l] = std::thread([&, l]() {
                    blockIdx.x = b;
                    threadIdx.x = w * 32 + l;
                    body();
                });
            for (auto &x : th)
                x.join();
            pthread_barrier_destroy(&warp_barrier);
        }
    }
}

/* ---- cuBLAS */
struct emu_blas {
    int x;
};
cublasStatus_t cublasCreate(cublasHandle_t *h)
{
    *h = new emu_blas{0};
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasDestroy(cublasHandle_t h)
{
    delete h;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetStream(cublasHandle_t, cudaStream_t)
{
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetWorkspace(cublasHandle_t, void *, size_t)
{
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetMathMode(cublasHandle_t, cublasMath_t)
{
    return CUBLAS_STATUS_SUCCESS;
}

static void gemm(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, float alpha,
                 const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    if (lda < (ta == CUBLAS_OP_N ? m : k) || ldb < (tb == CUBLAS_OP_N ? k : n) || ldc < m) {
        fprintf(stderr, "EMU: bad ld\n");
        abort();
    }
    if (!emu_device_ptr(A) || !emu_device_ptr(B) || !emu_device_ptr(C)) {
        fprintf(stderr, "EMU: gemm on host memory\n");
        abort();
    }
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            float acc = 0;
            for (int p = 0; p < k; p++)
                acc += (ta == CUBLAS_OP_N ? A[i + (size_t)p * lda] : A[p + (size_t)i * lda]) *
                       (tb == CUBLAS_OP_N ? B[p + (size_t)j * ldb] : B[j + (size_t)p * ldb]);
            C[i + (size_t)j * ldc] = alpha * acc + (beta != 0 ? beta * C[i + (size_t)j * ldc] : 0);
        }
}
cublasStatus_t cublasSgemm(cublasHandle_t, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                           int k, const float *alpha, const float *A, int lda, const float *B,
                           int ldb, const float *beta, float *C, int ldc)
{
    float a = *alpha, b = *beta;
    emu_enqueue(nullptr, [=]() { gemm(ta, tb, m, n, k, a, A, lda, B, ldb, b, C, ldc); });
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t, cublasOperation_t ta, cublasOperation_t tb,
                                         int m, int n, int k, const float *alpha, const float *A,
                                         int lda, long long sA, const float *B, int ldb,
                                         long long sB, const float *beta, float *C, int ldc,
                                         long long sC, int count)
{
    float a = *alpha, b = *beta;
    emu_enqueue(nullptr, [=]() {
        for (int c = 0; c < count; c++)
            gemm(ta, tb, m, n, k, a, A + c * sA, lda, B + c * sB, ldb, b, C + c * sC, ldc);
    });
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSgemvStridedBatched(cublasHandle_t, cublasOperation_t t, int m, int n,
                                         const float *alpha, const float *A, int lda, long long sA,
                                         const float *x, int incx, long long sx, const float *beta,
                                         float *y, int incy, long long sy, int count)
{
    float a = *alpha, b = *beta;
    if (lda < m)
        abort();
    emu_enqueue(nullptr, [=]() {
        for (int c = 0; c < count; c++) {
            const float *Ac = A + c * sA, *xc = x + c * sx;
            float *yc = y + c * sy;
            int rows = t == CUBLAS_OP_T ? n : m, cols = t == CUBLAS_OP_T ? m : n;
            for (int i = 0; i < rows; i++) {
                float acc = 0;
                for (int p = 0; p < cols; p++)
                    acc += (t == CUBLAS_OP_T ? Ac[p + (size_t)i * lda] : Ac[i + (size_t)p * lda]) *
                           xc[(size_t)p * incx];
                yc[(size_t)i * incy] = a * acc + (b != 0 ? b * yc[(size_t)i * incy] : 0);
            }
        }
    });
    return CUBLAS_STATUS_SUCCESS;
}
__attribute__((destructor)) static void emu_report(void)
{
    fprintf(stderr, "EMU: %d graphs instantiated, %d graph launches, %zu device allocations left\n",
            emu_graphs_instantiated, emu_graph_launches, dev_allocs.size());
}
