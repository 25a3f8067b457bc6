/* cmd_bench.c: `seqfuse bench train|decode`: random weights and inputs (no
 * data needed), warm-up, then timed steps; medians, throughput, a breakdown
 * by stage and FLOP rates. Benchmarks, not tests: see BENCHMARKS.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_decode.h"
#include "bench_util.h"
#include "cli.h"
#include "core/log.h"
#include "train/optim.h"

typedef sf_bench_args bench_args;

static void bench_usage(void)
{
    printf("usage: seqfuse bench train [options]\n"
           "       seqfuse bench decode [options]   (see BENCHMARKS.md)\n\n"
           "Random weights and inputs: no data needed. Common options:\n"
           "  --config NAME|FILE    preset or file (base); any model option after it,\n"
           "                        e.g. --hidden-size 256 --cell gru --tgt-vocab-size 32000\n"
           "  --hidden N --vocab N  short for --hidden-size N, and both vocabulary sizes\n"
           "  --device cpu|cuda[:N] --threads N (CPU threads, 0 = all) --json\n"
           "  --warmup N            untimed runs first (1)\n"
           "  --matmul-precision P  f32 (default), tf32 (CUDA), bf16 (CPU with AMX)\n\n"
           "train: forward + backward + Adam update, full-length sentences.\n"
           "  --batch N             sentences per batch (64)\n"
           "  --src-len N --tgt-len N  lengths (30, 30; target includes </s>)\n"
           "  --steps N             timed steps (5)\n\n"
           "decode: encoder + beam search through the translator's path, every sentence\n"
           "exactly --tgt-len steps (</s> suppressed), over a grid of comma lists:\n"
           "  --batch LIST          sentences per batch (CPU 1,8,32,64; CUDA 1,8,32,128,512)\n"
           "  --beam LIST           beam sizes, 1 = greedy (CPU 1,5; CUDA 1,5,10)\n"
           "  --src-len LIST        source lengths, all full (CPU 30; CUDA 20,50,100)\n"
           "  --tgt-len N           decode steps (30)\n"
           "  --model FILE          a .safetensors model: its config and weights\n"
           "  --repeat N            timed runs per point; the median run is reported (3)\n"
           "  --csv                 CSV on stdout instead of the table\n"
           "  --topk auto|host|backend  where each step's candidates are chosen: the\n"
           "                        backend's beam_topk, or the search on host log-probs\n"
           "                        (auto: as translate does)\n"
           "  --svg FILE            chart: target tokens/s against batch, a line per beam\n"
           "  --copy-mb N --gemm-n N  sizes of the ceilings measured at start: a device\n"
           "                        copy of N MiB (CPU 512, CUDA 1024) and an N^3 sgemm (2048)\n"
           "  Per point: sentences/s, target tokens/s, ms per step; time shares: encoder,\n"
           "  cells, attention, output layer (with the log-prob download), search (top-k,\n"
           "  bookkeeping, reorder); bytes and FLOPs per step from the shapes, GB/s,\n"
           "  GFLOP/s, and the roofline floor max(bytes / copy rate, FLOPs / sgemm rate)\n"
           "  as a fraction of the measured step.\n");
}

enum { B_TRAIN = 1, B_DECODE = 2, B_BOTH = 3 };

/* One flag: 'b' boolean, 'i' int, 'g' grid, 's' string; who: which benchmarks take it. */
typedef struct bench_flag {
    const char *flag;
    char kind;
    int who;
    void *dst;
    long lo, hi;
} bench_flag;

static int bench_set_flag(const bench_flag *f, const char *val)
{
    long v = 0;
    int bad = 0;
    if (f->kind == 'i' && !(bad = sf_cli_parse_int(val, f->lo, f->hi, &v)))
        *(int32_t *)f->dst = (int32_t)v;
    else if (f->kind == 'g')
        bad = sf_bench_grid_parse(val, f->lo, f->hi, f->dst);
    else if (f->kind == 's')
        *(const char **)f->dst = val;
    if (!bad)
        return SF_EXIT_OK;
    return sf_cli_usage_error("bench", "bad value '%s' for %s (%s in [%ld, %ld])", val, f->flag,
                              f->kind == 'g' ? "a comma list of at most 16 integers"
                                             : "an integer", f->lo, f->hi);
}

/* Unset values get their defaults, which for decode depend on the device. */
static int bench_defaults(bench_args *a, int decode)
{
    static const sf_bench_grid cpu_batch = {4, {1, 8, 32, 64}}, gpu_batch = {5, {1, 8, 32, 128, 512}};
    static const sf_bench_grid cpu_beam = {2, {1, 5}}, gpu_beam = {3, {1, 5, 10}};
    static const sf_bench_grid cpu_src = {1, {30}}, gpu_src = {3, {20, 50, 100}};
    const int gpu = !strncmp(a->device, "cuda", 4);
    if (!decode) {
        if (a->batch.n > 1 || a->src_len.n > 1)
            return sf_cli_usage_error("bench", "bench train takes one --batch and one --src-len");
        if (!a->batch.n)
            a->batch = (sf_bench_grid){1, {64}};
        if (!a->src_len.n)
            a->src_len = (sf_bench_grid){1, {30}};
        return SF_EXIT_OK;
    }
    if (!a->topk)
        a->topk = "auto";
    if (strcmp(a->topk, "auto") && strcmp(a->topk, "host") && strcmp(a->topk, "backend"))
        return sf_cli_usage_error("bench", "bad value '%s' for --topk (auto, host or backend)",
                                  a->topk);
    if (!a->batch.n)
        a->batch = gpu ? gpu_batch : cpu_batch;
    if (!a->beam.n)
        a->beam = gpu ? gpu_beam : cpu_beam;
    if (!a->src_len.n)
        a->src_len = gpu ? gpu_src : cpu_src;
    if (!a->copy_mb)
        a->copy_mb = gpu ? 1024 : 512;
    if (a->json && a->csv)
        return sf_cli_usage_error("bench", "--json and --csv exclude each other");
    return SF_EXIT_OK;
}

static int bench_parse(int argc, char **argv, bench_args *a)
{
    const int decode = !strcmp(argv[1], "decode") || !strcmp(argv[1], "translate");
    const int who = decode ? B_DECODE : B_TRAIN;
    sf_model_config_default(&a->cfg);
    sf_train_opts_default(&a->opts);
    a->device = "cpu", a->config = "base", a->tgt_len = 30, a->steps = 5, a->warmup = 1;
    a->repeat = 3, a->gemm_n = 2048;
    int has_config = 0;
    for (int i = 2; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--config"))
            a->config = argv[i + 1], has_config = 1;
    sf_status st = sf_cli_load_config(a->config, &a->cfg, &a->opts);
    if (st != SF_OK)
        return sf_cli_fail("bench", st);
    const bench_flag flags[] = {
        {"--json", 'b', B_BOTH, &a->json, 0, 0}, {"--csv", 'b', B_DECODE, &a->csv, 0, 0},
        {"--batch", 'g', B_BOTH, &a->batch, 1, 100000},
        {"--src-len", 'g', B_BOTH, &a->src_len, 1, 10000},
        {"--beam", 'g', B_DECODE, &a->beam, 1, 1000},
        {"--tgt-len", 'i', B_BOTH, &a->tgt_len, 1, 10000},
        {"--steps", 'i', B_TRAIN, &a->steps, 1, 100000},
        {"--warmup", 'i', B_BOTH, &a->warmup, 0, 100000},
        {"--repeat", 'i', B_DECODE, &a->repeat, 1, 1000},
        {"--copy-mb", 'i', B_DECODE, &a->copy_mb, 1, 65536},
        {"--gemm-n", 'i', B_DECODE, &a->gemm_n, 16, 16384},
        {"--device", 's', B_BOTH, &a->device, 0, 0}, {"--config", 's', B_BOTH, &a->config, 0, 0},
        {"--model", 's', B_DECODE, &a->model, 0, 0}, {"--svg", 's', B_DECODE, &a->svg, 0, 0},
        {"--topk", 's', B_DECODE, &a->topk, 0, 0},
    };
    int model_opts = 0;
    for (int i = 2; i < argc; i++) {
        size_t k = 0, n = sizeof flags / sizeof *flags;
        for (; k < n && strcmp(argv[i], flags[k].flag); k++)
            ;
        if (k < n && !(flags[k].who & who))
            return sf_cli_usage_error("bench", "%s is not an option of bench %s", argv[i],
                                      argv[1]);
        if (k < n && flags[k].kind == 'b') {
            *(int32_t *)flags[k].dst = 1;
            continue;
        }
        if (i + 1 >= argc)
            return sf_cli_usage_error("bench", "option %s needs a value", argv[i]);
        const char *flag = argv[i], *val = argv[++i];
        int rc = SF_EXIT_OK, handled = k < n;
        if (k < n)
            rc = bench_set_flag(&flags[k], val);
        else if (!strcmp(flag, "--hidden") || !strcmp(flag, "--vocab")) {
            /* the short names: --hidden = --hidden-size, --vocab = both vocabularies */
            const int hidden = !strcmp(flag, "--hidden");
            rc = sf_cli_set_option("bench", hidden ? "--hidden-size" : "--src-vocab-size", val,
                                   &a->cfg, &a->opts, &handled);
            if (rc == SF_EXIT_OK && !hidden)
                rc = sf_cli_set_option("bench", "--tgt-vocab-size", val, &a->cfg, &a->opts,
                                       &handled);
            model_opts++;
        } else if (!strncmp(flag, "--", 2)) {
            rc = sf_cli_set_option("bench", flag, val, &a->cfg, &a->opts, &handled);
            model_opts += handled && sf_opt_find(sf_model_config_spec, flag + 2) != NULL;
        }
        if (rc != SF_EXIT_OK)
            return rc;
        if (!handled)
            return sf_cli_usage_error("bench", "unknown option '%s'", flag);
    }
    if (a->model && (model_opts || has_config))
        return sf_cli_usage_error("bench", "--model takes its config from the file: no "
                                  "--config or model options with it");
    return bench_defaults(a, decode);
}

/* [B, T] target rows: <s> y (in) and y </s> (out), all full length. */
static void bench_batch(const bench_args *a, int32_t *src, int32_t *len, int32_t *tin,
                        int32_t *tout)
{
    const int B = a->batch.v[0], S = a->src_len.v[0], T = a->tgt_len;
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

static void bench_train_report(const bench_args *a, const char *products, double *step_s,
                               double *opt_s)
{
    static const char *const names[SF_STAGE_COUNT] = {"encoder fwd", "decoder fwd",
                                                      "generator+loss", "decoder bwd",
                                                      "encoder bwd"};
    double stage[SF_STAGE_COUNT];
    memcpy(stage, step_s + a->steps, sizeof stage);
    const double med = sf_bench_median(step_s, a->steps), opt = sf_bench_median(opt_s, a->steps);
    const int B = a->batch.v[0], S = a->src_len.v[0];
    const double tokens = (double)B * a->tgt_len;
    sf_flops f = sf_bench_flops_per_token(&a->cfg, S, (double)S / a->tgt_len);
    const double flops = 3.0 * tokens * (f.encoder + f.cells + f.attention + f.generator);
    if (a->json) {
        printf("{\"bench\":\"train\",\"device\":\"%s\",\"batch\":%d,\"src_len\":%d,"
               "\"tgt_len\":%d,\"ms_per_step\":%.3f,\"tgt_tokens_per_s\":%.1f,"
               "\"gflops\":%.2f", a->device, B, S, a->tgt_len, 1e3 * med,
               tokens / med, flops / med * 1e-9);
        for (int s = 0; s < SF_STAGE_COUNT; s++)
            printf(",\"ms_%d\":%.3f", s, 1e3 * stage[s]);
        printf(",\"ms_optimizer\":%.3f,\"products\":\"%s\"}\n", 1e3 * opt, products);
        return;
    }
    printf("bench train: %s, batch %d x (%d -> %d), %d timed steps after %d warm-up\n"
           "  products: %s\n", a->device, B, S, a->tgt_len, a->steps, a->warmup, products);
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
    const int B = a->batch.v[0], S = a->src_len.v[0], T = a->tgt_len;
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
        st = sf_backend_set_precision(be, (sf_precision)a->opts.matmul_precision);
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
        bench_train_report(a, sf_backend_gemm_info(be), step_s, opt_s);
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
    if (strcmp(argv[1], "train") && strcmp(argv[1], "decode") && strcmp(argv[1], "translate"))
        return sf_cli_usage_error("bench", "unknown benchmark '%s' (train, decode)", argv[1]);
    bench_args a;
    memset(&a, 0, sizeof a);
    int rc = bench_parse(argc, argv, &a);
    if (rc != SF_EXIT_OK)
        return rc;
    return !strcmp(argv[1], "train") ? bench_train(&a) : sf_bench_decode(&a);
}

const sf_command sf_cmd_bench = {"bench", "benchmark training and decoding", bench_run,
                                 bench_usage};
