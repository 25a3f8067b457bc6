/* cpu_math.h: the CPU backend's vectorizable activations (exp, sigmoid, tanh),
 * shared by the cell ops and the softmax/loss ops. Inline, for omp simd loops. */
#ifndef SF_BACKEND_CPU_CPU_MATH_H
#define SF_BACKEND_CPU_CPU_MATH_H

#include <stdint.h>

/* GCC keeps the selects in the activations as branches (so the loops do not
 * vectorize) unless FP compares are known not to trap; no CPU op reads FP flags. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
/* Row loops are built for AVX2 and AVX-512 too (~3x faster activations than
 * SSE2 on AVX-512 machines): SF_SIMD_CLONES. */
#include "core/simd.h"

/* libm's tanhf costs ~16 ns and does not vectorize; these do (omp simd loops).
 * exp: x = n ln2 + r, |r| <= ln2/2, e^r by its degree-7 Taylor polynomial
 * (truncation < 1e-8 relative), 2^n built in the exponent bits. Inputs are
 * clamped to [-87.3, 88.3] so 2^n stays a normal float: exp is then within 2
 * ulp, saturating at ~2e38 / 1e-38 (enough for sigmoid and tanh); NaN stays NaN. */
static inline float sf_exp(float x)
{
    float xc = x > -87.3f ? x : -87.3f; /* NaN lands here too: see the end */
    xc = xc < 88.3f ? xc : 88.3f;
    const float round = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    float n = (xc * 1.44269504f + round) - round;
    float r = xc - n * 0.693145752f - n * 1.42860677e-6f; /* ln2 split hi + lo */
    float p = 1.0f / 5040;
    p = p * r + 1.0f / 720, p = p * r + 1.0f / 120, p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6, p = p * r + 0.5f, p = p * r + 1.0f, p = p * r + 1.0f;
    union { int32_t i; float f; } two_n = {.i = ((int32_t)n + 127) << 23};
    return x == x ? p * two_n.f : x; /* NaN in, NaN out */
}

/* exp for softmax terms (x <= 0 after subtracting the max): 0 below -87.3 (and
 * for -inf, a banned or masked entry), where sf_exp would saturate at 1e-38. */
static inline float sf_exp_sm(float x)
{
    float e = sf_exp(x); /* computed first: a select, not a branch, vectorizes */
    return x < -87.3f ? 0.0f : e;
}

static inline float sigm(float x) { return 1.0f / (1.0f + sf_exp(-x)); }

/* tanh: 1 - 2 / (e^{2x} + 1), and near 0 (where that cancels) the odd Taylor
 * series through x^15 (< 1e-7 relative for |x| < 0.55). Within 5 ulp (3e-7). */
static inline float sf_tanh(float x)
{
    float x2 = x * x, p = -929569.0f / 638512875.0f;
    p = p * x2 + 21844.0f / 6081075.0f;
    p = p * x2 - 1382.0f / 155925, p = p * x2 + 62.0f / 2835, p = p * x2 - 17.0f / 315;
    p = p * x2 + 2.0f / 15, p = p * x2 - 1.0f / 3;
    float small = x + x * x2 * p;
    float big = 1.0f - 2.0f / (sf_exp(2.0f * x) + 1.0f);
    return x2 < 0.3f ? small : big;
}

#endif
