/* The qgemm kernel table: reference entries, overridden once (pthread_once + cpuid) by the
 * best ISA this CPU runs. Packing is ISA independent, so the choice never affects data. */
#include <pthread.h>

#include "qgemm/ukernels.h"

static const ds2_qgemm_kernels ref_kernels = {
    .isa = "ref",
    .gemm = ds2_qgemm_4x16c2__ref,
    .gemv = ds2_qgemm_4x16c2__ref,
    .quantize_row = ds2_qact_quantize_row__ref,
};

static const ds2_qgemm_kernels avx2_kernels = {
    .isa = "avx2",
    .gemm = ds2_qgemm_4x16c2__avx2,
    .gemv = ds2_qgemv_1x16c2__avx2,
    .quantize_row = ds2_qact_quantize_row__avx2,
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const ds2_qgemm_kernels *best = &ref_kernels;
static int have_avx2;

static void detect(void)
{
    __builtin_cpu_init();
    have_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
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

const char *ds2_qlinear_isa(void)
{
    return ds2_qgemm_kernels_best()->isa;
}
