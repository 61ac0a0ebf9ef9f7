/* The conv epilogue, chosen once by the best tier the CPU runs (kernels/cpuinfo.c). */
#include "conv/conv.h"

#include <pthread.h>

#include "cpuinfo.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static ds2_conv_bias_hardtanh_ukernel_fn best = ds2_conv_bias_hardtanh_ukernel__ref;

static void choose(void)
{
    if (ds2_cpu_has(DS2_ISA_AVX2))
        best = ds2_conv_bias_hardtanh_ukernel__avx2;
}

ds2_conv_bias_hardtanh_ukernel_fn ds2_conv_bias_hardtanh_get(void)
{
    pthread_once(&once, choose);
    return best;
}
