/* bench_util.c: timing, medians, random models and FLOP counts for benchmarks. */
#include "bench_util.h"

#include <stdlib.h>
#include <time.h>

#include "core/rng.h"

double sf_bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int sf_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double sf_bench_median(double *x, int n)
{
    if (n <= 0)
        return 0.0;
    qsort(x, (size_t)n, sizeof *x, sf_cmp_double);
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

sf_status sf_bench_model(sf_backend *be, const sf_model_config *cfg, int with_grads,
                         uint64_t seed, sf_s2s **out)
{
    SF_TRY(sf_s2s_create(be, cfg, with_grads, out));
    size_t bytes = sizeof(float) * (size_t)(*out)->layout.total;
    float *host = malloc(bytes);
    if (!host) {
        sf_s2s_free(*out);
        *out = NULL;
        return SF_FAIL(SF_ERR_OOM, "%zu bytes for random weights", bytes);
    }
    sf_rng r;
    sf_rng_seed(&r, seed);
    sf_params_init_uniform(&(*out)->layout, host, 0.1f, &r);
    sf_status st = be->upload(be, (*out)->params, host, bytes);
    free(host);
    return st;
}

void sf_bench_random_ids(int32_t *ids, int64_t n, int32_t V, uint64_t seed)
{
    sf_rng r;
    sf_rng_seed(&r, seed);
    for (int64_t i = 0; i < n; i++)
        ids[i] = 4 + (int32_t)sf_rng_below(&r, (uint64_t)(V - 4));
}

sf_flops sf_bench_flops_per_token(const sf_model_config *c, double S, double enc_per_tgt)
{
    const double G = sf_model_config_gates(c), H = c->hidden_size, E = c->emb_size;
    const double he = sf_model_config_enc_h(c), D = c->bidirectional ? 2 : 1;
    sf_flops f = {0};
    for (int k = 0; k < c->enc_layers; k++)
        f.encoder += D * 2.0 * G * he * ((k ? H : E) + he);
    f.encoder *= enc_per_tgt;
    for (int l = 0; l < c->dec_layers; l++)
        f.cells += 2.0 * G * H * ((l ? H : c->input_feed ? E + H : E) + H);
    f.attention = 2.0 * S * H * 2 /* scores + context */ + 2.0 * H * 2 * H /* linear_out */;
    if (c->attention == 1)
        f.attention += 2.0 * H * H;
    if (c->attention == 2)
        f.attention += 2.0 * H * H + 2.0 * S * H /* v . tanh(...) */;
    f.generator = 2.0 * H * c->tgt_vocab_size;
    return f;
}
