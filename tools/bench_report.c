/* bench_report.c: the output of `seqfuse bench decode`: per point the derived
 * figures (throughput, stage times, achieved rates, roofline floor), as an
 * aligned table, one JSON object or CSV on stdout, and the --svg chart. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_decode.h"
#include "svgplot.h"

/* The figures of a point, in the order of sf_point_keys. */
enum {
    PK_BATCH, PK_BEAM, PK_SRC, PK_TGT, PK_STEPS, PK_SENT_S, PK_TOK_S, PK_MS_TOTAL, PK_MS_STEP,
    PK_MS_ENC, PK_MS_CELLS, PK_MS_ATTN, PK_MS_OUT, PK_MS_SEARCH, PK_MS_REORDER, PK_BYTES,
    PK_FLOPS, PK_ENC_FLOPS, PK_GBS, PK_GFLOPS, PK_FLOOR_MS, PK_FRACTION, PK_COUNT
};
static const char *const sf_point_keys[PK_COUNT] = {
    "batch", "beam", "src_len", "tgt_len", "steps", "sentences_per_s", "tgt_tokens_per_s",
    "ms_total", "ms_per_step", "ms_encoder", "ms_cells", "ms_attention", "ms_output",
    "ms_search", "ms_reorder", "bytes_per_step", "flops_per_step", "encoder_flops",
    "gb_per_s", "gflop_per_s", "floor_ms_per_step", "roofline_fraction",
};

/* v[PK_COUNT]; returns 1 when the floor is set by the bytes (memory-bound), 0 FLOPs. */
static int bench_point_values(const sf_decode_point *p, const sf_bench_ceilings *c, double *v)
{
    const double steps = p->steps > 0 ? p->steps : 1;
    const double step_s = (p->total_s - p->enc_s) / steps;
    const double t_mem = p->step_bytes / c->copy_bytes_per_s;
    const double t_flop = p->step_flops / c->gemm_flops_per_s;
    const double floor_s = t_mem > t_flop ? t_mem : t_flop;
    const double d[PK_COUNT] = {
        p->batch, p->beam, p->src_len, p->tgt_len, p->steps, p->batch / p->total_s,
        (double)p->batch * p->tgt_len / p->total_s, 1e3 * p->total_s, 1e3 * step_s,
        1e3 * p->enc_s, 1e3 * p->stage_s[SF_INFER_CELLS], 1e3 * p->stage_s[SF_INFER_ATTENTION],
        1e3 * p->stage_s[SF_INFER_OUTPUT], 1e3 * p->search_s,
        1e3 * p->stage_s[SF_INFER_REORDER], p->step_bytes, p->step_flops, p->enc_flops,
        p->step_bytes / step_s * 1e-9, p->step_flops / step_s * 1e-9, 1e3 * floor_s,
        floor_s / step_s,
    };
    memcpy(v, d, sizeof d);
    return t_mem >= t_flop;
}

/* A JSON string literal. */
static void bench_json_str(const char *s)
{
    putchar('"');
    for (const unsigned char *q = (const unsigned char *)s; *q; q++) {
        if (*q == '"' || *q == '\\')
            printf("\\%c", *q);
        else if (*q < 0x20)
            printf("\\u%04x", *q);
        else
            putchar(*q);
    }
    putchar('"');
}

/* A CSV field: quoted (quotes doubled) when it holds a comma, quote or line break. */
static void bench_csv_str(const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++)
        fputs(*s == '"' ? "\"\"" : (char[]){*s, 0}, stdout);
    putchar('"');
}

static const char *bench_config_name(const sf_bench_args *a)
{
    return a->model ? a->model : a->config;
}

static void bench_print_json(const sf_bench_args *a, const char *device,
                             const sf_bench_ceilings *c, const sf_decode_point *p, int n)
{
    printf("{\"bench\":\"decode\",\"device\":");
    bench_json_str(device);
    printf(",\"config\":");
    bench_json_str(bench_config_name(a));
    printf(",\"products\":");
    bench_json_str(c->products);
    printf(",\"threads\":%d,\"tgt_len\":%d,\"warmup\":%d,\"repeat\":%d,\"ceilings\":{"
           "\"copy_mb\":%d,\"copy_gb_per_s\":%.6g,\"gemm_n\":%d,\"gemm_gflop_per_s\":%.6g},"
           "\"points\":[", (int)a->opts.threads, (int)a->tgt_len, (int)a->warmup,
           (int)a->repeat, (int)c->copy_mb, c->copy_bytes_per_s * 1e-9, (int)c->gemm_n,
           c->gemm_flops_per_s * 1e-9);
    for (int i = 0; i < n; i++) {
        double v[PK_COUNT];
        const int mem = bench_point_values(&p[i], c, v);
        printf("%s{", i ? "," : "");
        for (int k = 0; k < PK_COUNT; k++)
            printf("%s\"%s\":%.6g", k ? "," : "", sf_point_keys[k], v[k]);
        printf(",\"bound\":\"%s\"}", mem ? "memory" : "compute");
    }
    printf("]}\n");
}

static void bench_print_csv(const sf_bench_args *a, const char *device,
                            const sf_bench_ceilings *c, const sf_decode_point *p, int n)
{
    printf("device,config,threads");
    for (int k = 0; k < PK_COUNT; k++)
        printf(",%s", sf_point_keys[k]);
    printf(",bound,copy_gb_per_s,gemm_gflop_per_s,products\n");
    for (int i = 0; i < n; i++) {
        double v[PK_COUNT];
        const int mem = bench_point_values(&p[i], c, v);
        bench_csv_str(device);
        putchar(',');
        bench_csv_str(bench_config_name(a));
        printf(",%d", (int)a->opts.threads);
        for (int k = 0; k < PK_COUNT; k++)
            printf(",%.6g", v[k]);
        printf(",%s,%.6g,%.6g,", mem ? "memory" : "compute", c->copy_bytes_per_s * 1e-9,
               c->gemm_flops_per_s * 1e-9);
        bench_csv_str(c->products);
        putchar('\n');
    }
}

static void bench_print_header(const sf_bench_args *a, const char *device,
                               const sf_bench_ceilings *c, int gpu)
{
    static const char *const cells[] = {"rnn", "gru", "lstm"};
    static const char *const attns[] = {"dot", "general", "mlp"};
    const sf_model_config *m = &a->cfg;
    printf("bench decode: %s", device);
    if (!gpu && a->opts.threads > 0)
        printf(", %d thread%s", (int)a->opts.threads, a->opts.threads > 1 ? "s" : "");
    else if (!gpu)
        printf(", all threads");
    printf("; %s: %s, %s attention, E %d, H %d, layers %d+%d, V %d -> %d\n",
           bench_config_name(a), cells[m->cell % 3], attns[m->attention % 3], (int)m->emb_size,
           (int)m->hidden_size, (int)m->enc_layers, (int)m->dec_layers,
           (int)m->src_vocab_size, (int)m->tgt_vocab_size);
    printf("  %d decode steps per sentence (</s> suppressed), random %s; %d warm-up, median "
           "of %d runs\n", (int)a->tgt_len, a->model ? "source" : "weights and source",
           (int)a->warmup, (int)a->repeat);
    printf("  ceilings: copy %.1f GB/s (%d MiB device copy, read + write, median of 5); "
           "sgemm %.*f %s (%d^3, median of 3)\n", c->copy_bytes_per_s * 1e-9, (int)c->copy_mb,
           gpu ? 2 : 1, c->gemm_flops_per_s * (gpu ? 1e-12 : 1e-9), gpu ? "TFLOP/s" : "GFLOP/s",
           (int)c->gemm_n);
    printf("  products: %s\n", c->products);
    printf("  %%: shares of encoder + decode time; out = generator, log-softmax, log-prob "
           "download;\n  search = top-k, bookkeeping, reorder (the rest)\n  floor%%: max(bytes / copy rate, FLOPs / sgemm rate) per step over the "
           "measured step\n\n");
    printf("%5s %4s %4s %9s %9s %8s %5s %5s %5s %5s %6s %8s %10s %7s %8s %6s %s\n", "batch",
           "beam", "src", "sent/s", "tok/s", "ms/step", "enc%", "cell%", "attn%", "out%",
           "srch%", "MB/step", "MFLOP/step", "GB/s", gpu ? "TFLOP/s" : "GFLOP/s", "floor%",
           "bound");
}

static void bench_print_table(const sf_bench_args *a, const char *device,
                              const sf_bench_ceilings *c, const sf_decode_point *p, int n)
{
    const int gpu = !strncmp(device, "cuda", 4);
    int over = 0;
    bench_print_header(a, device, c, gpu);
    for (int i = 0; i < n; i++) {
        double v[PK_COUNT];
        const int mem = bench_point_values(&p[i], c, v);
        over += v[PK_FRACTION] > 1.0;
        const double pc = 100.0 / v[PK_MS_TOTAL];
        printf("%5.0f %4.0f %4.0f %9.1f %9.0f %8.3f %5.1f %5.1f %5.1f %5.1f %6.1f %8.2f %10.1f "
               "%7.2f %8.*f %6.1f %s\n", v[PK_BATCH], v[PK_BEAM], v[PK_SRC], v[PK_SENT_S],
               v[PK_TOK_S], v[PK_MS_STEP], pc * v[PK_MS_ENC], pc * v[PK_MS_CELLS],
               pc * v[PK_MS_ATTN], pc * v[PK_MS_OUT], pc * v[PK_MS_SEARCH], v[PK_BYTES] * 1e-6,
               v[PK_FLOPS] * 1e-6, v[PK_GBS], gpu ? 3 : 2, v[PK_GFLOPS] * (gpu ? 1e-3 : 1.0),
               100.0 * v[PK_FRACTION], mem ? "memory" : "compute");
    }
    if (over)
        printf("floor%% over 100: faster than the floor, so that step's data stayed in the "
               "caches (the copy ceiling is main memory's)\n");
}

void sf_bench_decode_print(const sf_bench_args *a, const char *device,
                           const sf_bench_ceilings *c, const sf_decode_point *p, int n)
{
    if (a->json)
        bench_print_json(a, device, c, p, n);
    else if (a->csv)
        bench_print_csv(a, device, c, p, n);
    else
        bench_print_table(a, device, c, p, n);
    fflush(stdout);
}

/* Target tokens/s against batch, one line per beam (and source length when several). */
sf_status sf_bench_decode_svg(const sf_bench_args *a, const char *device,
                              const sf_decode_point *p, int n)
{
    const int nb = a->batch.n, ns = n / nb;
    double *x = malloc(sizeof(double) * (size_t)n), *y = malloc(sizeof(double) * (size_t)n);
    sf_plot_series *s = calloc((size_t)ns, sizeof *s);
    char(*labels)[64] = calloc((size_t)ns, sizeof *labels);
    if (!x || !y || !s || !labels) {
        free(x), free(y), free(s), free(labels);
        return SF_FAIL(SF_ERR_OOM, "chart of %d points", n);
    }
    for (int i = 0; i < n; i++) /* points come grouped: batch sizes innermost */
        x[i] = p[i].batch, y[i] = (double)p[i].batch * p[i].tgt_len / p[i].total_s;
    for (int j = 0; j < ns; j++) {
        const sf_decode_point *q = &p[j * nb];
        if (a->src_len.n > 1)
            snprintf(labels[j], sizeof labels[j], "beam %d, src %d", (int)q->beam,
                     (int)q->src_len);
        else
            snprintf(labels[j], sizeof labels[j], "beam %d", (int)q->beam);
        s[j] = (sf_plot_series){labels[j], nb, x + j * nb, y + j * nb};
    }
    char title[512], threads[32] = "";
    if (strncmp(device, "cuda", 4) && a->opts.threads > 0)
        snprintf(threads, sizeof threads, " (%d thread%s)", (int)a->opts.threads,
                 a->opts.threads > 1 ? "s" : "");
    snprintf(title, sizeof title, "seqfuse decode: %s on %s%s, %d steps", bench_config_name(a),
             device, threads, (int)a->tgt_len);
    const sf_plot plot = {title, "batch (sentences)", "target tokens/s", 1, 1};
    sf_status st = ns <= 64 ? sf_svgplot_write(a->svg, &plot, s, ns)
                            : sf_error(SF_ERR_INVALID_ARG, "--svg draws at most 64 lines (beams x "
                                       "source lengths); got %d", ns);
    free(x), free(y), free(s), free(labels);
    return st;
}
