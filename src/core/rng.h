/* rng.h: seeded, reproducible random numbers (xoshiro256**, seeded by
 * splitmix64). The state is four words so checkpoints can save and restore it. */
#ifndef SF_CORE_RNG_H
#define SF_CORE_RNG_H

#include <stdint.h>

typedef struct sf_rng {
    uint64_t s[4];
} sf_rng;

void sf_rng_seed(sf_rng *r, uint64_t seed);
uint64_t sf_rng_next(sf_rng *r);
/* Uniform in [0, 1) with 24 random bits (exactly representable as float). */
float sf_rng_uniform(sf_rng *r);
/* Uniform in [lo, hi). */
float sf_rng_range(sf_rng *r, float lo, float hi);
/* Standard normal (Box-Muller). */
float sf_rng_normal(sf_rng *r);
/* Uniform integer in [0, n), unbiased; n > 0. */
uint64_t sf_rng_below(sf_rng *r, uint64_t n);
/* Fill x[0..n) uniformly in [lo, hi). */
void sf_rng_fill_uniform(sf_rng *r, float *x, int64_t n, float lo, float hi);
/* Fisher-Yates shuffle of an int array. */
void sf_rng_shuffle_i32(sf_rng *r, int32_t *x, int64_t n);

#endif
