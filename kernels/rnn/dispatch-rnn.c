/* Picks the RNN cell kernels once per process from cpuid (the only global state: immutable after
 * pthread_once). */
#include "rnn/rnn.h"

#include <pthread.h>

static const ds2_rnn_kernels ref_kernels = {"ref", ds2_lstm_cell_ref, ds2_gru_cell_ref,
                                            ds2_tanh_cell_ref};
static const ds2_rnn_kernels avx2_kernels = {"avx2", ds2_lstm_cell_avx2, ds2_gru_cell_avx2,
                                             ds2_tanh_cell_avx2};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const ds2_rnn_kernels *best = &ref_kernels;

int ds2_rnn_kernels_avx2_usable(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

static void choose(void)
{
    if (ds2_rnn_kernels_avx2_usable())
        best = &avx2_kernels;
}

const ds2_rnn_kernels *ds2_rnn_kernels_get(void)
{
    pthread_once(&once, choose);
    return best;
}
