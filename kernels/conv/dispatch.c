/* The conv kernels, chosen by the best tier the CPU runs (kernels/cpuinfo.c). */
#include "conv/conv.h"
#include "conv/direct1.h"
#include "conv/taps.h"

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

ds2_conv_direct1_ukernel_fn ds2_conv_direct1_get(int c_out)
{
    if (c_out <= 0 || c_out % 16 != 0)
        return NULL;
    if (ds2_cpu_has(DS2_ISA_AVX512))
        return ds2_conv_direct1_ukernel_12x32__avx512;
    return ds2_cpu_has(DS2_ISA_AVX2) ? ds2_conv_direct1_ukernel_6x16__avx2 : NULL;
}

ds2_conv_taps_ukernel_fn ds2_conv_taps_get(int c_out)
{
    if (c_out <= 0 || c_out % 16 != 0)
        return NULL;
    if (ds2_cpu_has(DS2_ISA_AVX512))
        return ds2_conv_taps_ukernel_12x32__avx512;
    return ds2_cpu_has(DS2_ISA_AVX2) ? ds2_conv_taps_ukernel_6x16__avx2 : NULL;
}
