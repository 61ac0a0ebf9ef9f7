/* The tests' one random generator, so every suite's data is reproducible from a seed and no
 * suite carries its own copy: a 32-bit LCG (Numerical Recipes constants). */
#ifndef TEST_RANDOM_H
#define TEST_RANDOM_H

#include <stddef.h>

/* Advances the state and returns it. */
static inline unsigned test_rng_next(unsigned *state)
{
    return *state = *state * 1664525u + 1013904223u;
}

/* Uniform in [-1, 1), from the top 24 bits (exact in a float). */
static inline float test_rand(unsigned *state)
{
    return (float)(test_rng_next(state) >> 8) / 8388608.0f - 1.0f;
}

/* n samples of a slightly detuned tone plus a little noise, at a level a model's front end
 * sees as speech-like; NULL when out of memory. */
float *test_tone(size_t n, unsigned seed);

#endif
