/* The f32gemm panel microkernel, chosen once by the best tier the CPU runs (kernels/cpuinfo.c). */
#include <pthread.h>

#include "cpuinfo.h"
#include "f32gemm/panels.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static ds2_f32gemm_panel_ukernel_fn best_panel = NULL;

static void choose(void)
{
    if (ds2_cpu_has(DS2_ISA_AVX512))
        best_panel = ds2_f32gemm_panel_ukernel_12x32__avx512;
    else if (ds2_cpu_has(DS2_ISA_AVX2))
        best_panel = ds2_f32gemm_panel_ukernel_6x16__avx2;
}

ds2_f32gemm_panel_ukernel_fn ds2_f32gemm_panel_ukernel_get(void)
{
    pthread_once(&once, choose);
    return best_panel;
}
