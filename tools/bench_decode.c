/* bench_decode.c: `seqfuse bench decode`: the device's ceilings (a large copy, a
 * large sgemm), then per grid point the encoder and a full beam search through
 * sf_infer + sf_search, timed by stage, with bytes and FLOPs counted from the shapes. */
#include "bench_decode.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "cli.h"
#include "core/log.h"
#include "core/rng.h"
#include "model/model_io.h"
#include "search/search.h"
#include "search/translator.h"
#include "seqfuse/tokenizer.h"

int sf_bench_grid_parse(const char *s, long lo, long hi, sf_bench_grid *g)
{
    g->n = 0;
    while (*s) {
        char *end = NULL;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (errno || end == s || v < lo || v > hi || g->n == SF_BENCH_GRID_MAX ||
            (*end && *end != ',') || (*end == ',' && !end[1]))
            return -1;
        g->v[g->n++] = (int32_t)v;
        s = *end ? end + 1 : end;
    }
    return g->n > 0 ? 0 : -1;
}

/* Median seconds of `runs` be->copy calls of n floats (after one untimed). */
static sf_status bench_copy_time(sf_backend *be, float *dst, const float *src, int64_t n,
                                 int runs, double *sec)
{
    double t[8];
    for (int i = -1; i < runs; i++) {
        SF_TRY(be->sync(be));
        const double t0 = sf_bench_now();
        SF_TRY(be->copy(be, dst, src, n));
        SF_TRY(be->sync(be));
        if (i >= 0)
            t[i] = sf_bench_now() - t0;
    }
    *sec = sf_bench_median(t, runs);
    return SF_OK;
}

/* Median seconds of `runs` sgemms C[N,N] = A B (after one untimed). */
static sf_status bench_gemm_time(sf_backend *be, int N, const float *A, const float *B,
                                 float *C, int runs, double *sec)
{
    double t[8];
    for (int i = -1; i < runs; i++) {
        SF_TRY(be->sync(be));
        const double t0 = sf_bench_now();
        SF_TRY(be->sgemm(be, SF_NO_TRANS, SF_NO_TRANS, N, N, N, 1.0f, A, N, B, N, 0.0f, C, N));
        SF_TRY(be->sync(be));
        if (i >= 0)
            t[i] = sf_bench_now() - t0;
    }
    *sec = sf_bench_median(t, runs);
    return SF_OK;
}

/* Copy rate (bytes read + written per second) and sgemm rate, through the backend.
 * Inputs are random (never zeros); pages are touched before timing. */
static sf_status bench_ceilings(sf_backend *be, sf_bench_ceilings *c)
{
    const int64_t n_copy = (int64_t)c->copy_mb * (1 << 20) / 4, N = c->gemm_n;
    const size_t gemm_bytes = sizeof(float) * (size_t)(N * N);
    float *x = NULL, *y = NULL, *A = NULL, *host = malloc(gemm_bytes);
    sf_status st = host ? be->alloc(be, sizeof(float) * (size_t)n_copy, (void **)&x)
                        : SF_FAIL(SF_ERR_OOM, "%zu bytes of sgemm inputs", gemm_bytes);
    if (st == SF_OK)
        st = be->alloc(be, sizeof(float) * (size_t)n_copy, (void **)&y);
    if (st == SF_OK)
        st = be->fill(be, x, n_copy, 1.5f);
    if (st == SF_OK)
        st = be->fill(be, y, n_copy, 0.5f);
    double sec = 0.0;
    if (st == SF_OK)
        st = bench_copy_time(be, y, x, n_copy, 5, &sec);
    c->copy_bytes_per_s = 2.0 * sizeof(float) * (double)n_copy / sec;
    if (st == SF_OK)
        st = be->alloc(be, 3 * gemm_bytes, (void **)&A);
    if (st == SF_OK) {
        sf_rng r;
        sf_rng_seed(&r, 7);
        sf_rng_fill_uniform(&r, host, N * N, -1.0f, 1.0f);
        st = be->upload(be, A, host, gemm_bytes);
    }
    if (st == SF_OK)
        st = be->upload(be, A + N * N, host, gemm_bytes);
    /* both operands as parameters: a reduced-precision backend converts them once,
     * so the ceiling is its product's rate, not conversion plus product */
    if (st == SF_OK)
        sf_backend_params_register(be, A, 2 * N * N);
    if (st == SF_OK)
        st = bench_gemm_time(be, (int)N, A, A + N * N, A + 2 * N * N, 3, &sec);
    if (A)
        sf_backend_params_register(be, A, 0);
    c->gemm_flops_per_s = 2.0 * (double)N * N * N / sec;
    if (x)
        be->free(be, x);
    if (y)
        be->free(be, y);
    if (A)
        be->free(be, A);
    free(host);
    return st;
}

/* The model: random uniform(-0.1, 0.1) weights, or a file's. Then the generator bias
 * of </s> is set to -1e9 so that every hypothesis runs to the maximum length. */
static sf_status bench_decode_model(sf_backend *be, sf_bench_args *a, sf_s2s **out)
{
    if (!a->model)
        SF_TRY(sf_bench_model(be, &a->cfg, 0, 1, out));
    else {
        sf_model_file f;
        SF_TRY(sf_model_load(a->model, &f));
        a->cfg = f.cfg;
        sf_status st = sf_s2s_create(be, &a->cfg, 0, out);
        if (st == SF_OK)
            st = be->upload(be, (*out)->params, f.params, sizeof(float) * (size_t)f.layout.total);
        sf_model_file_free(&f);
        SF_TRY(st);
    }
    const float eos_bias = -1e9f;
    return be->upload(be, (*out)->P.gen_b + SF_EOS_ID, &eos_bias, sizeof eos_bias);
}

/* Costs of one decode step over R rows of n sentences, source length S (all of it
 * attended), float32; G gates, H hidden, E embedding, V target vocabulary, L layers.
 * FLOPs (a multiply-add = 2), per row (sf_bench_flops_per_token):
 *   cells      sum_l 2*G*H*(din_l + H), din_0 = E (+ H with input feeding), else H
 *   attention  2*2*S*H (scores + context) + 2*H*2H (linear_out)
 *              + general 2*H*H (W_a h); mlp 2*H*H (W_q h) + 2*S*H (v . tanh)
 *   output     2*H*V (generator) + 5*V (log-softmax: max, subtract, exp, sum, subtract)
 * Bytes, each item moved once (the fewest a step can move):
 *   weights    read once per step: cells sum_l G*H*(din_l + H) + 2*G*H (biases),
 *              attention general H*H / mlp H*H + 2*H, linear_out 2*H*H (+ H mlp),
 *              generator V*H + V; all times 4
 *   memory     M [n,S,H] (and mlp keys [n,S,H]) read once per sentence, not per beam
 *   states     per row: embedding E read; per layer h (and LSTM c) read and written;
 *              attentional state read and written: 4*R*(E + L*2*H*(1|2) + 2*H)
 *   logits     written by the generator and read by log-softmax: R*V*4*2 */
static void bench_step_cost(const sf_model_config *c, int32_t S, int32_t R, int32_t n,
                            double *bytes, double *flops)
{
    const double G = sf_model_config_gates(c), H = c->hidden_size, E = c->emb_size;
    const double V = c->tgt_vocab_size, L = c->dec_layers, mlp = c->attention == 2;
    const sf_flops f = sf_bench_flops_per_token(c, S, 0.0);
    *flops = (double)R * (f.cells + f.attention + f.generator + 5.0 * V);
    double w = 2.0 * H * H + V * H + V + (c->attention ? H * H : 0.0) + (mlp ? 3.0 * H : 0.0);
    for (int l = 0; l < c->dec_layers; l++)
        w += G * H * ((l ? H : c->input_feed ? E + H : E) + H) + 2.0 * G * H;
    const double memory = (double)n * S * H * (mlp ? 2.0 : 1.0);
    const double states = (double)R * (E + L * 2.0 * H * (c->cell == 2 ? 2.0 : 1.0) + 2.0 * H);
    *bytes = 4.0 * (w + memory + states + 2.0 * R * V);
}

/* The search's view of the decoder: sf_infer, plus the cost of every step it asks for. */
typedef struct bench_dec {
    sf_infer *inf;
    const sf_model_config *cfg;
    int32_t S, steps;
    double bytes, flops; /* summed over the steps */
} bench_dec;

/* Count one step's bytes and FLOPs (rows in groups of consecutive sent). */
static void bench_dec_count(bench_dec *d, int32_t rows, const int32_t *sent)
{
    int32_t groups = rows > 0;
    for (int32_t r = 1; r < rows; r++)
        groups += sent[r] != sent[r - 1];
    double bytes, flops;
    bench_step_cost(d->cfg, d->S, rows, groups, &bytes, &flops);
    d->bytes += bytes, d->flops += flops, d->steps++;
}

static sf_status bench_dec_step(void *ctx, int32_t rows, const int32_t *sent,
                                const int32_t *prev, float *logprobs, float *attn)
{
    bench_dec *d = ctx;
    bench_dec_count(d, rows, sent);
    return sf_infer_step(d->inf, rows, sent, prev, logprobs, attn);
}

static sf_status bench_dec_topk(void *ctx, int32_t rows, const int32_t *sent,
                                const int32_t *prev, const double *beam_lp, int32_t k2,
                                uint32_t ban, double *score, int32_t *beam, int32_t *token,
                                int32_t *n_cand, float *attn)
{
    bench_dec *d = ctx;
    bench_dec_count(d, rows, sent);
    SF_TRY(sf_infer_step_logits(d->inf, rows, sent, prev, attn));
    return sf_infer_topk(d->inf, rows, sent, beam_lp, k2, ban, score, beam, token, n_cand);
}

static sf_status bench_dec_reorder(void *ctx, int32_t rows, const int32_t *from)
{
    return sf_infer_reorder(((bench_dec *)ctx)->inf, rows, from);
}

/* One timed run: encoder, then the search; t[0] total, t[1] encoder, t[2..] stages. */
static sf_status bench_decode_once(sf_s2s *m, const sf_decode_point *p, const char *topk,
                                   const int32_t *src, const int32_t *len, bench_dec *d,
                                   double *t)
{
    sf_backend *be = m->be;
    const int32_t n = p->batch;
    sf_search_opts so;
    sf_search_opts_default(&so);
    so.beam = p->beam, so.max_len_a = 0.0f, so.max_len_b = (float)p->tgt_len;
    const int use_topk = !strcmp(topk, "auto") ? sf_search_use_topk(m->be, p->beam)
                                               : !strcmp(topk, "backend");
    sf_search_model sm = {d, m->cfg.tgt_vocab_size, bench_dec_step, bench_dec_reorder,
                          use_topk ? bench_dec_topk : NULL};
    sf_search_result r = {0};
    *d = (bench_dec){NULL, &m->cfg, p->src_len, 0, 0.0, 0.0};
    SF_TRY(be->sync(be));
    const double t0 = sf_bench_now();
    sf_status st = sf_infer_start(m, n, p->src_len, src, len, n * p->beam, &d->inf);
    if (st == SF_OK)
        st = be->sync(be);
    const double t1 = sf_bench_now();
    if (st == SF_OK) {
        sf_infer_set_timing(d->inf, t + 2);
        st = sf_search(&sm, n, len, &so, &r);
    }
    if (st == SF_OK)
        st = be->sync(be);
    t[0] = sf_bench_now() - t0, t[1] = t1 - t0;
    for (int32_t s = 0; st == SF_OK && s < n; s++)
        if (r.n_hyps[s] < 1 || r.hyps[s][0].len != p->tgt_len)
            st = SF_FAIL(SF_ERR_INTERNAL, "sentence %d decoded %d tokens, expected %d: the "
                         "</s> bias did not hold it to --tgt-len", (int)s,
                         r.n_hyps[s] ? (int)r.hyps[s][0].len : 0, (int)p->tgt_len);
    sf_search_result_free(&r);
    sf_infer_free(d->inf);
    d->inf = NULL;
    return st;
}

#define SF_BENCH_T (2 + SF_INFER_STAGE_COUNT) /* times per run: total, encoder, stages */

/* Index of the lower median of x[0..n) (ties by position): a real run, whose stages
 * add up to its total. */
static int bench_median_index(const double *x, int n)
{
    for (int i = 0; i < n; i++) {
        int rank = 0;
        for (int j = 0; j < n; j++)
            rank += x[j] < x[i] || (x[j] == x[i] && j < i);
        if (rank == (n - 1) / 2)
            return i;
    }
    return 0;
}

/* Warm-up and timed runs of one point; keeps the run of median total time. */
static sf_status bench_decode_point(sf_s2s *m, const sf_bench_args *a, sf_decode_point *p)
{
    const int32_t n = p->batch, S = p->src_len;
    int32_t *src = malloc(sizeof(int32_t) * (size_t)n * S), *len = malloc(sizeof(int32_t) * n);
    double *t = calloc((size_t)a->repeat * SF_BENCH_T, sizeof(double));
    double *tot = calloc((size_t)a->repeat, sizeof(double)), w[SF_BENCH_T];
    sf_status st = src && len && t && tot ? SF_OK : SF_FAIL(SF_ERR_OOM, "batch of %d", n);
    if (st == SF_OK) {
        sf_bench_random_ids(src, (int64_t)n * S, m->cfg.src_vocab_size, 1000u + (uint64_t)S);
        for (int32_t i = 0; i < n; i++)
            len[i] = S;
    }
    bench_dec d;
    for (int i = 0; st == SF_OK && i < a->warmup + a->repeat; i++) {
        double *ti = i < a->warmup ? w : t + (size_t)(i - a->warmup) * SF_BENCH_T;
        memset(ti, 0, sizeof(double) * SF_BENCH_T);
        st = bench_decode_once(m, p, a->topk, src, len, &d, ti);
        if (i >= a->warmup)
            tot[i - a->warmup] = ti[0];
    }
    if (st == SF_OK) {
        const double *tk = t + (size_t)bench_median_index(tot, a->repeat) * SF_BENCH_T;
        p->total_s = tk[0], p->enc_s = tk[1], p->steps = d.steps;
        memcpy(p->stage_s, tk + 2, sizeof p->stage_s);
        p->search_s = tk[0] - tk[1] - tk[2 + SF_INFER_CELLS] - tk[2 + SF_INFER_ATTENTION] -
                      tk[2 + SF_INFER_OUTPUT];
        p->step_bytes = d.bytes / (d.steps ? d.steps : 1);
        p->step_flops = d.flops / (d.steps ? d.steps : 1);
        const sf_flops f = sf_bench_flops_per_token(&m->cfg, S, 1.0);
        p->enc_flops = (double)n * S * f.encoder;
    }
    free(src), free(len), free(t), free(tot);
    return st;
}

/* Every point of the grid: source lengths, then beams, then batch sizes. */
static sf_status bench_decode_grid(sf_s2s *m, const sf_bench_args *a, sf_decode_point *pts)
{
    int k = 0, total = a->src_len.n * a->beam.n * a->batch.n;
    for (int s = 0; s < a->src_len.n; s++)
        for (int j = 0; j < a->beam.n; j++)
            for (int b = 0; b < a->batch.n; b++, k++) {
                sf_decode_point *p = &pts[k];
                *p = (sf_decode_point){.batch = a->batch.v[b], .beam = a->beam.v[j],
                                       .src_len = a->src_len.v[s], .tgt_len = a->tgt_len};
                sf_status st = bench_decode_point(m, a, p);
                if (st != SF_OK)
                    return sf_error_prefix(st, "batch %d, beam %d, src-len %d: ",
                                           (int)p->batch, (int)p->beam, (int)p->src_len);
                sf_log_info("bench decode %d/%d: batch %d beam %d src %d: %.1f ms", k + 1,
                            total, (int)p->batch, (int)p->beam, (int)p->src_len,
                            1e3 * p->total_s);
            }
    return SF_OK;
}

int sf_bench_decode(sf_bench_args *a)
{
    sf_backend *be = NULL;
    sf_s2s *m = NULL;
    const int n = a->src_len.n * a->beam.n * a->batch.n;
    sf_decode_point *pts = calloc((size_t)n, sizeof *pts);
    sf_bench_ceilings c = {.copy_mb = a->copy_mb, .gemm_n = a->gemm_n};
    sf_status st = pts ? sf_backend_open(a->device, &be) : SF_FAIL(SF_ERR_OOM, "%d points", n);
    if (st == SF_OK && a->opts.threads > 0)
        sf_cpu_set_threads(a->opts.threads);
    if (st == SF_OK)
        st = sf_backend_set_precision(be, (sf_precision)a->opts.matmul_precision);
    if (st == SF_OK)
        snprintf(c.products, sizeof c.products, "%s", sf_backend_gemm_info(be));
    if (st == SF_OK)
        st = bench_decode_model(be, a, &m);
    if (st == SF_OK) {
        sf_log_info("bench decode: measuring the ceilings (copy %d MiB, sgemm %d^3)",
                    (int)c.copy_mb, (int)c.gemm_n);
        st = bench_ceilings(be, &c);
    }
    if (st == SF_OK)
        st = bench_decode_grid(m, a, pts);
    if (st == SF_OK)
        sf_bench_decode_print(a, be->name, &c, pts, n);
    if (st == SF_OK && a->svg)
        st = sf_bench_decode_svg(a, be->name, pts, n);
    sf_s2s_free(m);
    sf_backend_close(be);
    free(pts);
    return st == SF_OK ? SF_EXIT_OK : sf_cli_fail("bench", st);
}
