/*
 * 8-lane exp / expm1 / sigmoid / tanh for the AVX2 cells. Include only from *-avx2.c files.
 * Range reduction y = n ln2 + r, |r| <= ln2/2, then a Taylor polynomial (degree 7 for exp,
 * 8 for expm1: truncation below 1e-8 relative) and 2^n through the exponent bits. tanh uses
 * expm1 so small arguments keep full relative accuracy: tanh|x| = -e / (2 + e), e = expm1(-2|x|).
 */
#ifndef DS2_VMATH_AVX2_H
#define DS2_VMATH_AVX2_H

#include <immintrin.h>

#define DS2_LN2_HI 0.693145751953125f /* ln 2 split so n * LN2_HI is exact */
#define DS2_LN2_LO 1.428606765330187e-06f
#define DS2_LOG2E 1.44269504088896341f

/* 2^n for integral n in [-126, 127] held as floats. */
static inline __m256 ds2_v_pow2n(__m256 n)
{
    __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
}

static inline __m256 ds2_v_reduce(__m256 y, __m256 *n)
{
    *n = _mm256_round_ps(_mm256_mul_ps(y, _mm256_set1_ps(DS2_LOG2E)),
                         _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(*n, _mm256_set1_ps(DS2_LN2_HI), y);
    return _mm256_fnmadd_ps(*n, _mm256_set1_ps(DS2_LN2_LO), r);
}

/* exp(x), x clamped to [-87, 88] (results stay normal and finite). */
static inline __m256 ds2_v_exp(__m256 x)
{
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    __m256 n;
    __m256 r = ds2_v_reduce(x, &n);
    __m256 p = _mm256_set1_ps(1.0f / 5040.0f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    return _mm256_mul_ps(p, ds2_v_pow2n(n));
}

/* expm1(y) for y in [-40, 0] (the caller clamps). */
static inline __m256 ds2_v_expm1_neg(__m256 y)
{
    __m256 n;
    __m256 r = ds2_v_reduce(y, &n);
    __m256 p = _mm256_set1_ps(1.0f / 40320.0f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 5040.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256 q = _mm256_mul_ps(p, r); /* expm1(r) */
    __m256 s = ds2_v_pow2n(n);
    return _mm256_fmadd_ps(s, q, _mm256_sub_ps(s, _mm256_set1_ps(1.0f)));
}

static inline __m256 ds2_v_sigmoid(__m256 x)
{
    __m256 one = _mm256_set1_ps(1.0f);
    __m256 e = ds2_v_exp(_mm256_sub_ps(_mm256_setzero_ps(), x));
    return _mm256_div_ps(one, _mm256_add_ps(one, e));
}

static inline __m256 ds2_v_tanh(__m256 x)
{
    __m256 sign = _mm256_and_ps(x, _mm256_set1_ps(-0.0f));
    __m256 a = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
    __m256 y = _mm256_max_ps(_mm256_mul_ps(a, _mm256_set1_ps(-2.0f)), _mm256_set1_ps(-40.0f));
    __m256 e = ds2_v_expm1_neg(y);
    __m256 t = _mm256_div_ps(_mm256_sub_ps(_mm256_setzero_ps(), e),
                             _mm256_add_ps(_mm256_set1_ps(2.0f), e));
    return _mm256_or_ps(t, sign);
}

#endif
