/* The f32gemm kernels, chosen once by the best tier the CPU runs (kernels/cpuinfo.c). */
#include <pthread.h>

#include "cpuinfo.h"
#include "f32gemm/f32gemm.h"
#include "f32gemm/panels.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static ds2_f32gemm_nt_fn best = ds2_f32gemm_gemm_nt_ukernel__ref;
static const char *best_isa = "ref";
static ds2_f32gemm_panel_ukernel_fn best_panel = NULL;

static void choose(void)
{
    if (ds2_cpu_has(DS2_ISA_AVX2)) {
        best = ds2_f32gemm_gemm_nt_ukernel_2x3__avx2;
        best_isa = "avx2";
    }
    if (ds2_cpu_has(DS2_ISA_AVX512))
        best_panel = ds2_f32gemm_panel_ukernel_12x32__avx512;
}

ds2_f32gemm_nt_fn ds2_f32gemm_nt_get(void)
{
    pthread_once(&once, choose);
    return best;
}

const char *ds2_f32gemm_isa(void)
{
    pthread_once(&once, choose);
    return best_isa;
}

ds2_f32gemm_panel_ukernel_fn ds2_f32gemm_panel_ukernel_get(void)
{
    pthread_once(&once, choose);
    return best_panel;
}
