/* cmd_bench.c: `seqfuse bench train|decode`: random weights and inputs (no
 * data needed), warm-up, then timed steps; medians, throughput, a breakdown
 * by stage and FLOP rates. Benchmarks, not tests: see BENCHMARKS.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "cli.h"
#include "core/log.h"
#include "train/optim.h"

typedef struct bench_args {
    sf_model_config cfg;
    sf_train_opts opts;
    const char *device;
    int batch, src_len, tgt_len, steps, warmup, json;
} bench_args;

static void bench_usage(void)
{
    printf("usage: seqfuse bench train [options]\n"
           "       seqfuse bench decode [options]   (see BENCHMARKS.md)\n\n"
           "train: forward + backward + Adam update on random data, full-length sentences.\n"
           "  --config NAME|FILE    preset or file (base)\n"
           "  --batch N             sentences per batch (64)\n"
           "  --src-len N --tgt-len N  lengths (30, 30; target includes </s>)\n"
           "  --steps N --warmup N  timed and untimed steps (5, 1)\n"
           "  --device cpu|cuda[:N] --threads N --json\n"
           "  any model option, e.g. --hidden-size 256 --cell gru\n");
}

static int bench_parse(int argc, char **argv, bench_args *a)
{
    sf_model_config_default(&a->cfg);
    sf_train_opts_default(&a->opts);
    a->device = "cpu", a->batch = 64, a->src_len = 30, a->tgt_len = 30, a->steps = 5,
    a->warmup = 1;
    sf_status st = sf_cli_load_config("base", &a->cfg, &a->opts);
    for (int i = 2; st == SF_OK && i + 1 < argc; i++)
        if (!strcmp(argv[i], "--config"))
            st = sf_cli_load_config(argv[i + 1], &a->cfg, &a->opts);
    if (st != SF_OK)
        return sf_cli_fail("bench", st);
    struct { const char *flag; int *dst; long lo, hi; } ints[] = {
        {"--batch", &a->batch, 1, 100000}, {"--src-len", &a->src_len, 1, 10000},
        {"--tgt-len", &a->tgt_len, 1, 10000}, {"--steps", &a->steps, 1, 100000},
        {"--warmup", &a->warmup, 0, 100000},
    };
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            a->json = 1;
            continue;
        }
        if (i + 1 >= argc)
            return sf_cli_usage_error("bench", "option %s needs a value", argv[i]);
        const char *flag = argv[i], *val = argv[++i];
        size_t k = 0, n = sizeof ints / sizeof *ints;
        for (; k < n && strcmp(flag, ints[k].flag); k++)
            ;
        long v;
        if (k < n) {
            if (sf_cli_parse_int(val, ints[k].lo, ints[k].hi, &v))
                return sf_cli_usage_error("bench", "bad value '%s' for %s", val, flag);
            *ints[k].dst = (int)v;
        } else if (!strcmp(flag, "--device")) {
            a->device = val;
        } else if (strcmp(flag, "--config")) {
            int handled, rc = sf_cli_set_option("bench", flag, val, &a->cfg, &a->opts, &handled);
            if (rc != SF_EXIT_OK)
                return rc;
            if (!handled)
                return sf_cli_usage_error("bench", "unknown option '%s'", flag);
        }
    }
    return SF_EXIT_OK;
}

/* [B, T] target rows: <s> y (in) and y </s> (out), all full length. */
static void bench_batch(const bench_args *a, int32_t *src, int32_t *len, int32_t *tin,
                        int32_t *tout)
{
    const int B = a->batch, S = a->src_len, T = a->tgt_len;
    sf_bench_random_ids(src, (int64_t)B * S, a->cfg.src_vocab_size, 1);
    sf_bench_random_ids(tout, (int64_t)B * T, a->cfg.tgt_vocab_size, 2);
    for (int b = 0; b < B; b++) {
        len[b] = S;
        tout[b * T + T - 1] = 3;
        tin[b * T] = 2;
        for (int t = 1; t < T; t++)
            tin[b * T + t] = tout[b * T + t - 1];
    }
}

static sf_status bench_train_loop(const bench_args *a, sf_s2s *m, sf_optim *o,
                                  const sf_s2s_batch *b, double *step_s, double *opt_s)
{
    double stages[SF_STAGE_COUNT] = {0};
    for (int i = 0; i < a->warmup + a->steps; i++) {
        int timed = i >= a->warmup;
        m->stage_seconds = timed ? stages : NULL;
        double t0 = sf_bench_now(), norm;
        int finite;
        sf_s2s_loss loss;
        SF_TRY(m->be->fill(m->be, m->grads, m->layout.total, 0.0f));
        SF_TRY(sf_s2s_forward_backward(m, b, 1, 1, 1.0f / (float)(b->B * b->T), &loss, NULL));
        double t1 = sf_bench_now();
        SF_TRY(sf_optim_grad_norm(o, m->grads, &norm, &finite));
        SF_TRY(sf_optim_step(o, m->params, m->grads, norm, NULL));
        SF_TRY(m->be->sync(m->be));
        double t2 = sf_bench_now();
        if (timed)
            step_s[i - a->warmup] = t2 - t0, opt_s[i - a->warmup] = t2 - t1;
    }
    m->stage_seconds = NULL;
    for (int s = 0; s < SF_STAGE_COUNT; s++)
        step_s[a->steps + s] = stages[s] / a->steps; /* mean per stage after the steps */
    return SF_OK;
}

static void bench_train_report(const bench_args *a, double *step_s, double *opt_s)
{
    static const char *const names[SF_STAGE_COUNT] = {"encoder fwd", "decoder fwd",
                                                      "generator+loss", "decoder bwd",
                                                      "encoder bwd"};
    double stage[SF_STAGE_COUNT];
    memcpy(stage, step_s + a->steps, sizeof stage);
    const double med = sf_bench_median(step_s, a->steps), opt = sf_bench_median(opt_s, a->steps);
    const double tokens = (double)a->batch * a->tgt_len;
    sf_flops f = sf_bench_flops_per_token(&a->cfg, a->src_len,
                                          (double)a->src_len / a->tgt_len);
    const double flops = 3.0 * tokens * (f.encoder + f.cells + f.attention + f.generator);
    if (a->json) {
        printf("{\"bench\":\"train\",\"device\":\"%s\",\"batch\":%d,\"src_len\":%d,"
               "\"tgt_len\":%d,\"ms_per_step\":%.3f,\"tgt_tokens_per_s\":%.1f,"
               "\"gflops\":%.2f", a->device, a->batch, a->src_len, a->tgt_len, 1e3 * med,
               tokens / med, flops / med * 1e-9);
        for (int s = 0; s < SF_STAGE_COUNT; s++)
            printf(",\"ms_%d\":%.3f", s, 1e3 * stage[s]);
        printf(",\"ms_optimizer\":%.3f}\n", 1e3 * opt);
        return;
    }
    printf("bench train: %s, batch %d x (%d -> %d), %d timed steps after %d warm-up\n",
           a->device, a->batch, a->src_len, a->tgt_len, a->steps, a->warmup);
    printf("  %.1f ms/step (median)  %.0f target tokens/s  %.1f GFLOP/s (%.2f GFLOP/step)\n",
           1e3 * med, tokens / med, flops / med * 1e-9, flops * 1e-9);
    for (int s = 0; s < SF_STAGE_COUNT; s++)
        printf("  %-16s %8.1f ms (mean)\n", names[s], 1e3 * stage[s]);
    printf("  %-16s %8.1f ms (median)\n", "optimizer", 1e3 * opt);
}

static int bench_train(bench_args *a)
{
    sf_backend *be = NULL;
    sf_s2s *m = NULL;
    sf_optim o = {0};
    const int B = a->batch, S = a->src_len, T = a->tgt_len;
    int32_t *src = malloc(sizeof(int32_t) * (size_t)B * S), *len = malloc(sizeof(int32_t) * B);
    int32_t *tin = malloc(sizeof(int32_t) * (size_t)B * T);
    int32_t *tout = malloc(sizeof(int32_t) * (size_t)B * T);
    double *step_s = calloc((size_t)a->steps + SF_STAGE_COUNT, sizeof(double));
    double *opt_s = calloc((size_t)a->steps, sizeof(double));
    sf_status st = src && len && tin && tout && step_s && opt_s
                       ? sf_backend_open(a->device, &be) : SF_FAIL(SF_ERR_OOM, "bench buffers");
    if (st == SF_OK && a->opts.threads > 0)
        sf_cpu_set_threads(a->opts.threads);
    if (st == SF_OK)
        st = sf_bench_model(be, &a->cfg, 1, 1, &m);
    if (st == SF_OK)
        st = sf_optim_init(&o, be, &m->layout, &a->opts);
    if (st == SF_OK) {
        bench_batch(a, src, len, tin, tout);
        sf_s2s_batch b = {B, S, T, src, len, tin, tout};
        st = bench_train_loop(a, m, &o, &b, step_s, opt_s);
    }
    if (st == SF_OK)
        bench_train_report(a, step_s, opt_s);
    sf_optim_free(&o);
    sf_s2s_free(m);
    sf_backend_close(be);
    free(src), free(len), free(tin), free(tout), free(step_s), free(opt_s);
    return st == SF_OK ? SF_EXIT_OK : sf_cli_fail("bench", st);
}

static int bench_run(int argc, char **argv)
{
    if (argc < 2)
        return sf_cli_usage_error("bench", "expected 'train' or 'decode'");
    bench_args a;
    memset(&a, 0, sizeof a);
    int rc = bench_parse(argc, argv, &a);
    if (rc != SF_EXIT_OK)
        return rc;
    if (!strcmp(argv[1], "train"))
        return bench_train(&a);
    return sf_cli_usage_error("bench", "unknown benchmark '%s' (train, decode)", argv[1]);
}

const sf_command sf_cmd_bench = {"bench", "benchmark training and decoding", bench_run,
                                 bench_usage};
