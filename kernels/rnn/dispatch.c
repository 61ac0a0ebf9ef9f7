/* The RNN cell table: reference entries, overridden once by the best tier the CPU runs
 * (kernels/cpuinfo.c). Immutable after pthread_once. */
#include "rnn/rnn.h"

#include <pthread.h>

#include "cpuinfo.h"

static const ds2_rnn_kernels ref_kernels = {"ref", ds2_rnn_lstm_ukernel__ref,
                                            ds2_rnn_gru_ukernel__ref, ds2_rnn_tanh_ukernel__ref};
static const ds2_rnn_kernels avx2_kernels = {"avx2", ds2_rnn_lstm_ukernel__avx2,
                                             ds2_rnn_gru_ukernel__avx2, ds2_rnn_tanh_ukernel__avx2};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const ds2_rnn_kernels *best = &ref_kernels;

static void choose(void)
{
    if (ds2_cpu_has(DS2_ISA_AVX2))
        best = &avx2_kernels;
}

const ds2_rnn_kernels *ds2_rnn_kernels_get(void)
{
    pthread_once(&once, choose);
    return best;
}
