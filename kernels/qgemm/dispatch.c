/* The qgemm kernel table: reference entries, overridden once (pthread_once) by the best tier
 * kernels/cpuinfo.c finds. Packing is ISA independent, so the choice never affects data. */
#include <pthread.h>

#include "cpuinfo.h"
#include "qgemm/ukernels.h"

static const ds2_qgemm_kernels ref_kernels = {
    .isa = "ref",
    .gemm = ds2_qgemm_gemm_ukernel_4x16c2__ref,
    .gemv = ds2_qgemm_gemm_ukernel_4x16c2__ref,
    .quantize_row = ds2_qgemm_quantize_ukernel__ref,
};

static const ds2_qgemm_kernels avx2_kernels = {
    .isa = "avx2",
    .gemm = ds2_qgemm_gemm_ukernel_4x16c2__avx2,
    .gemv = ds2_qgemm_gemv_ukernel_1x16c2__avx2,
    .quantize_row = ds2_qgemm_quantize_ukernel__avx2,
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const ds2_qgemm_kernels *best = &ref_kernels;
static int have_avx2;

static void detect(void)
{
    have_avx2 = ds2_cpu_has(DS2_ISA_AVX2);
    if (have_avx2)
        best = &avx2_kernels;
}

const ds2_qgemm_kernels *ds2_qgemm_kernels_ref(void)
{
    return &ref_kernels;
}

const ds2_qgemm_kernels *ds2_qgemm_kernels_avx2(void)
{
    pthread_once(&once, detect);
    return have_avx2 ? &avx2_kernels : NULL;
}

const ds2_qgemm_kernels *ds2_qgemm_kernels_best(void)
{
    pthread_once(&once, detect);
    return best;
}

const char *ds2_qgemm_isa(void)
{
    return ds2_qgemm_kernels_best()->isa;
}
