/* rng.c: xoshiro256** generator and the distributions seqfuse needs. */
#include "core/rng.h"

#include <math.h>

static uint64_t sf_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void sf_rng_seed(sf_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = sf_splitmix64(&x);
}

static inline uint64_t sf_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t sf_rng_next(sf_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = sf_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = sf_rotl(s[3], 45);
    return result;
}

float sf_rng_uniform(sf_rng *r) { return (float)(sf_rng_next(r) >> 40) * (1.0f / 16777216.0f); }

float sf_rng_range(sf_rng *r, float lo, float hi) { return lo + (hi - lo) * sf_rng_uniform(r); }

float sf_rng_normal(sf_rng *r)
{
    double u1 = ((double)(sf_rng_next(r) >> 11) + 1.0) * (1.0 / 9007199254740993.0);
    double u2 = (double)(sf_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

uint64_t sf_rng_below(sf_rng *r, uint64_t n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do {
        x = sf_rng_next(r);
    } while (x >= limit);
    return x % n;
}

void sf_rng_fill_uniform(sf_rng *r, float *x, int64_t n, float lo, float hi)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = sf_rng_range(r, lo, hi);
}

void sf_rng_shuffle_i32(sf_rng *r, int32_t *x, int64_t n)
{
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)sf_rng_below(r, (uint64_t)i + 1);
        int32_t t = x[i];
        x[i] = x[j];
        x[j] = t;
    }
}
