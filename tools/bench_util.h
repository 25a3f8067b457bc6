/* bench_util.h: shared by the benchmark subcommands: timing, medians, a
 * random model on a device, FLOP counts of the network from its config. */
#ifndef SF_TOOLS_BENCH_UTIL_H
#define SF_TOOLS_BENCH_UTIL_H

#include "nn/s2s.h"

double sf_bench_now(void);
double sf_bench_median(double *x, int n);
/* A model with uniform(-0.1, 0.1) weights on the given backend. */
sf_status sf_bench_model(sf_backend *be, const sf_model_config *cfg, int with_grads,
                         uint64_t seed, sf_s2s **out);
/* Fill ids [n] uniformly in [4, V). */
void sf_bench_random_ids(int32_t *ids, int64_t n, int32_t V, uint64_t seed);
/* Multiply-add FLOPs (x2) of one forward pass per target token, split by part,
 * for source length S (per target token the encoder's share is S/T of a source
 * token: pass enc_per_tgt = S / T). */
typedef struct sf_flops {
    double encoder, cells, attention, generator;
} sf_flops;
sf_flops sf_bench_flops_per_token(const sf_model_config *c, double S, double enc_per_tgt);

#endif
