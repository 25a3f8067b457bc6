/* test_cuda_topk.c: the CUDA backend's beam_topk against the CPU backend's on
 * fresh random log-probs (ties, ties made by rounding to double, -inf, banned
 * ids; V from 7 to 32003, groups of 1..8 rows, k2 up to 24): identical results
 * to the bit; raw logits equal to the CUDA log_softmax followed by the op; NaN
 * named as on the CPU; and whole searches on the GPU identical with and without
 * the topk path. Exits 77 (skipped) with no GPU. */
#include <math.h>

#include "sf_test_cuda.h"
#include "sf_test_model.h"

static const struct {
    int G, V, k2, max_nb;
    float quantum; /* values are multiples of it (0: continuous), for ties */
    double blp_base;
} shapes[] = {
    {1, 7, 2, 1, 0.5f, -1.0}, {3, 40, 10, 5, 0.0f, -2.0}, {5, 1000, 8, 4, 0.25f, -1e10},
    {64, 32003, 10, 5, 0.0f, -3.0}, {7, 513, 24, 8, 0.125f, -0.5},
};
#define NSHAPES ((int)(sizeof shapes / sizeof *shapes))

typedef struct topk_res {
    double *score;
    int32_t *beam, *token, *n;
} topk_res;

static topk_res res_alloc(int G, int k2)
{
    topk_res r = {calloc((size_t)G * k2, sizeof(double)), calloc((size_t)G * k2, 4),
                  calloc((size_t)G * k2, 4), calloc((size_t)G, 4)};
    ck_assert(r.score && r.beam && r.token && r.n);
    return r;
}

static void res_free(topk_res *r) { free(r->score), free(r->beam), free(r->token), free(r->n); }

/* Exact equality of two results; the message names the case and the first difference. */
static void expect_same_res(const char *cn, int G, int k2, const topk_res *a,
                            const topk_res *b)
{
    for (int g = 0; g < G; g++) {
        ck_assert_msg(a->n[g] == b->n[g], "%s: group %d: %d vs %d candidates", cn, g,
                      (int)a->n[g], (int)b->n[g]);
        for (int i = 0; i < a->n[g]; i++) {
            size_t at = (size_t)g * k2 + i;
            ck_assert_msg(a->score[at] == b->score[at] && a->beam[at] == b->beam[at] &&
                              a->token[at] == b->token[at],
                          "%s: group %d candidate %d: (%d,%d,%.17g) vs (%d,%d,%.17g)", cn, g,
                          i, (int)a->beam[at], (int)a->token[at], a->score[at],
                          (int)b->beam[at], (int)b->token[at], b->score[at]);
        }
    }
}

/* Group sizes 1..max_nb, the row count, and per-row beam log-probs. */
static int64_t make_groups(int c, uint64_t seed, int32_t *nb, double **blp)
{
    int32_t *u = sf_test_rand_ids(shapes[c].G, shapes[c].max_nb, 0, seed);
    int64_t rows = 0;
    for (int g = 0; g < shapes[c].G; g++)
        rows += nb[g] = 1 + u[g];
    free(u);
    *blp = malloc(sizeof(double) * (size_t)rows);
    float *f = sf_test_rand_floats(rows, 0.0f, 1.0f, seed + 1);
    for (int64_t r = 0; r < rows; r++)
        (*blp)[r] = shapes[c].blp_base - (double)f[r];
    free(f);
    return rows;
}

/* Log-prob-like values in [-12, 0), quantized for ties, about 1 in 32 -inf. */
static float *make_values(int c, int64_t n, uint64_t seed)
{
    float *x = sf_test_rand_floats(n, -12.0f, 0.0f, seed);
    float q = shapes[c].quantum;
    for (int64_t i = 0; i < n; i++) {
        if (q > 0.0f)
            x[i] = q * floorf(x[i] / q);
        if (((uint64_t)(i + (int64_t)seed) * 0x9e3779b97f4a7c15ull) >> 59 == 0)
            x[i] = -INFINITY;
    }
    return x;
}

START_TEST(test_topk_parity)
{
    const int c = _i, G = shapes[c].G, V = shapes[c].V, k2 = shapes[c].k2;
    char cn[96];
    for (int trial = 0; trial < 3; trial++) {
        uint64_t seed = 9000 + 100 * (uint64_t)c + 10 * (uint64_t)trial;
        int32_t nb[64];
        double *blp;
        int64_t rows = make_groups(c, seed, nb, &blp);
        float *x = make_values(c, rows * V, seed + 2);
        float *dx = put_f(x, rows * V), *dl = NULL;
        topk_res cpu = res_alloc(G, k2), gpu = res_alloc(G, k2), fused = res_alloc(G, k2);
        snprintf(cn, sizeof cn, "G=%d V=%d k2=%d trial %d", G, V, k2, trial);
        ck_assert_int_eq(g_cpu->beam_topk(g_cpu, G, nb, V, k2, 0, SF_SEARCH_BAN, x, blp,
                                          cpu.score, cpu.beam, cpu.token, cpu.n), SF_OK);
        ck_assert_msg(g_gpu->beam_topk(g_gpu, G, nb, V, k2, 0, SF_SEARCH_BAN, dx, blp,
                                       gpu.score, gpu.beam, gpu.token, gpu.n) == SF_OK,
                      "%s: %s", cn, sf_last_error());
        expect_same_res(cn, G, k2, &gpu, &cpu);
        /* raw: the same values taken as logits, against log_softmax + the op */
        for (int64_t i = 0; i < rows * V; i++)
            x[i] = x[i] == -INFINITY ? -INFINITY : 3.0f * x[i];
        ck_assert_int_eq(g_gpu->upload(g_gpu, dx, x, sizeof(float) * (size_t)(rows * V)),
                         SF_OK);
        ck_assert_msg(g_gpu->beam_topk(g_gpu, G, nb, V, k2, 1, SF_SEARCH_BAN, dx, blp,
                                       fused.score, fused.beam, fused.token, fused.n) == SF_OK,
                      "%s raw: %s", cn, sf_last_error());
        ck_assert_int_eq(g_gpu->alloc(g_gpu, sizeof(float) * (size_t)(rows * V), (void **)&dl),
                         SF_OK);
        ck_assert_int_eq(g_gpu->log_softmax(g_gpu, rows, V, dx, dl), SF_OK);
        ck_assert_int_eq(g_gpu->beam_topk(g_gpu, G, nb, V, k2, 0, SF_SEARCH_BAN, dl, blp,
                                          gpu.score, gpu.beam, gpu.token, gpu.n), SF_OK);
        snprintf(cn, sizeof cn, "G=%d V=%d k2=%d trial %d raw vs log_softmax", G, V, k2, trial);
        expect_same_res(cn, G, k2, &fused, &gpu);
        gpu_free_all(dx, dl, NULL, NULL);
        res_free(&cpu), res_free(&gpu), res_free(&fused);
        free(x), free(blp);
    }
}
END_TEST

/* The first NaN is named by group, beam and token, as on the CPU. */
START_TEST(test_topk_nan)
{
    enum { V = 300 };
    static const int32_t nb[3] = {2, 3, 1};
    float *x = sf_test_rand_floats(6 * V, -5.0f, 0.0f, 77);
    x[3 * V + 17] = NAN;
    x[4 * V + 2] = INFINITY;
    double blp[6] = {0};
    topk_res r = res_alloc(3, 4);
    float *dx = put_f(x, 6 * V);
    for (int raw = 0; raw < 2; raw++) {
        ck_assert_int_eq(g_gpu->beam_topk(g_gpu, 3, nb, V, 4, raw, SF_SEARCH_BAN, dx, blp,
                                          r.score, r.beam, r.token, r.n), SF_ERR_NUMERIC);
        const char *want = raw ? "group 1 (rows from 2): sf_kernel_beam_topk: beam 1 token 0"
                               : "group 1 (rows from 2): sf_kernel_beam_topk: beam 1 token 17";
        ck_assert_msg(strstr(sf_last_error(), want), "raw %d: \"%s\" lacks \"%s\"", raw,
                      sf_last_error(), want);
    }
    gpu_free_all(dx, NULL, NULL, NULL);
    res_free(&r);
    free(x);
}
END_TEST

/* Searches on the GPU: the device top-k path gives what full rows give. */
START_TEST(test_search_topk_same_gpu)
{
    sf_model_config cfg;
    sf_model_config_default(&cfg);
    cfg.cell = _i == 0 ? 2 : 1, cfg.attention = _i == 0 ? 1 : 2, cfg.bidirectional = 1;
    cfg.enc_layers = cfg.dec_layers = 2;
    cfg.src_vocab_size = 300, cfg.tgt_vocab_size = 5000, cfg.emb_size = 64;
    cfg.hidden_size = 128, cfg.dropout = 0.0f;
    sf_s2s *m = sf_test_random_model(g_gpu, &cfg, 0.3f, 0.4f, 31 + (uint64_t)_i);
    sf_search_opts so;
    sf_search_opts_default(&so);
    so.beam = _i == 0 ? 5 : 1, so.n_best = _i == 0 ? 3 : 1, so.want_attention = 1;
    sf_test_search_modes_agree(_i == 0 ? "gpu lstm beam 5" : "gpu gru greedy", m, 24, 20, &so,
                               41 + (uint64_t)_i);
    sf_s2s_free(m);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("cuda_topk");
    TCase *tc = tcase_create("beam_topk");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, test_topk_parity, 0, NSHAPES);
    tcase_add_test(tc, test_topk_nan);
    tcase_add_loop_test(tc, test_search_topk_same_gpu, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return sf_test_cuda_main(make_suite); }
