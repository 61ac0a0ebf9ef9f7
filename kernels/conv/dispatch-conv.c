/* Picks the conv epilogue once per process from cpuid (immutable after pthread_once). */
#include "conv/conv.h"

#include <pthread.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static ds2_bias_hardtanh_fn best = ds2_bias_hardtanh_ref;

static void choose(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2"))
        best = ds2_bias_hardtanh_avx2;
}

ds2_bias_hardtanh_fn ds2_bias_hardtanh_get(void)
{
    pthread_once(&once, choose);
    return best;
}
