#include "base/blas_threads.h"

/* OpenBLAS's own API (cblas.h of some distributions does not declare them). */
void openblas_set_num_threads(int n);
int openblas_get_num_threads(void);

void ds2_blas_single_threaded(void)
{
    if (openblas_get_num_threads() != 1)
        openblas_set_num_threads(1);
}
