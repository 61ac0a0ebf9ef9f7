/* vzeroupper on its own: see ds2_cpu_clean_upper_state (cpuinfo.h). */
#include <immintrin.h>

#include "cpuinfo.h"

void ds2_zeroupper__avx2(void)
{
    _mm256_zeroupper();
}
