#include "test_random.h"

#include <math.h>
#include <stdlib.h>

float *test_tone(size_t n, unsigned seed)
{
    float *x = malloc((n ? n : 1) * sizeof *x);
    if (!x)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        test_rng_next(&seed);
        x[i] = 0.3f * sinf(0.05f * (float)i * (1.0f + (float)(seed % 7) * 1e-3f)) +
               0.05f * ((float)(seed >> 8) / 16777216.0f - 0.5f);
    }
    return x;
}
