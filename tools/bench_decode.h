/* bench_decode.h: the options of `seqfuse bench train|decode`, and the decode
 * benchmark: encoder + beam search through the translator's path over a grid of
 * batch sizes, beams and source lengths, read against measured ceilings. */
#ifndef SF_TOOLS_BENCH_DECODE_H
#define SF_TOOLS_BENCH_DECODE_H

#include <stdint.h>

#include "model/config.h"
#include "nn/infer.h"
#include "train/train_opts.h"

#define SF_BENCH_GRID_MAX 16

/* A comma list of values, "1,8,32". */
typedef struct sf_bench_grid {
    int32_t n;
    int32_t v[SF_BENCH_GRID_MAX];
} sf_bench_grid;

/* Parse a comma list of integers in [lo, hi] (at most SF_BENCH_GRID_MAX); 0 on success. */
int sf_bench_grid_parse(const char *s, long lo, long hi, sf_bench_grid *g);

typedef struct sf_bench_args {
    sf_model_config cfg;
    sf_train_opts opts;                   /* opts.threads: CPU threads (0 = all) */
    const char *device, *config, *model;  /* model: a .safetensors file, or NULL */
    const char *svg;                      /* chart path, or NULL */
    const char *topk;                     /* "auto", "host", "backend" (decode) */
    sf_bench_grid batch, beam, src_len;   /* train: one batch and one src_len */
    int32_t tgt_len, steps, warmup, repeat, json, csv;
    int32_t copy_mb, gemm_n;              /* sizes of the ceiling measurements */
} sf_bench_args;

/* Device ceilings, measured at start through the backend. */
typedef struct sf_bench_ceilings {
    int32_t copy_mb, gemm_n;
    double copy_bytes_per_s; /* be->copy of copy_mb MiB: (read + written) / median of 5 */
    double gemm_flops_per_s; /* be->sgemm gemm_n^3: 2 n^3 / median of 3 */
    char products[128];      /* sf_backend_gemm_info: library and precision */
} sf_bench_ceilings;

/* One grid point: times of the median run (by total time) and costs from the shapes. */
typedef struct sf_decode_point {
    int32_t batch, beam, src_len, tgt_len, steps; /* steps: decoder steps the search ran */
    double total_s, enc_s;                        /* encoder + decode; the encoder alone */
    double stage_s[SF_INFER_STAGE_COUNT];         /* sf_infer's stages */
    double search_s;                  /* total - encoder - cells - attention - output */
    double step_bytes, step_flops;    /* per decode step, mean over the steps */
    double enc_flops;                 /* the whole encoder pass */
} sf_decode_point;

/* Run `seqfuse bench decode`; returns an exit code. */
int sf_bench_decode(sf_bench_args *a);

/* Output (bench_report.c): table, --json or --csv on stdout; --svg chart. */
void sf_bench_decode_print(const sf_bench_args *a, const char *device,
                           const sf_bench_ceilings *c, const sf_decode_point *p, int n);
sf_status sf_bench_decode_svg(const sf_bench_args *a, const char *device,
                              const sf_decode_point *p, int n);

#endif
