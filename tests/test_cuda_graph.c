/* test_cuda_graph.c: decoding with CUDA graphs (each step recorded once per row
 * layout, then replayed) gives the same numbers as without them, to the bit: a
 * scripted decode through sf_infer (layouts repeated, reordered, shrunk, raw
 * logits between) and whole searches (beam and greedy, with and without the
 * device top-k). Both runs use the same cuBLAS workspace (turning graphs on sets
 * it), so the same kernels run with the same arguments. Exits 77 with no GPU. */
#include <math.h>

#include "nn/infer.h"
#include "sf_test_cuda.h"
#include "sf_test_model.h"

#define N_STEPS 12

/* The script: rows of each step (grouped by sentence) and the reorder before it.
 * layout[t] names the sentence of every row; raw[t]: sf_infer_step_logits. */
static const struct {
    int rows;
    int32_t sent[12];
    int raw;
} script[N_STEPS] = {
    {3, {0, 1, 2}, 0},
    {12, {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2}, 0},
    {12, {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2}, 0}, /* recorded */
    {12, {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2}, 0}, /* replayed */
    {12, {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2}, 1}, /* raw: another layout */
    {12, {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2}, 1},
    {8, {0, 0, 0, 0, 2, 2, 2, 2}, 0},
    {8, {0, 0, 0, 0, 2, 2, 2, 2}, 0},
    {8, {0, 0, 0, 0, 2, 2, 2, 2}, 0},
    {7, {0, 0, 0, 2, 2, 2, 2}, 0},
    {7, {0, 0, 0, 2, 2, 2, 2}, 0},
    {7, {0, 0, 0, 2, 2, 2, 2}, 0},
};

/* Reorder sources from step t-1's rows to step t's: row r of sentence s takes a
 * row of s in the old layout, picked by a hash (duplicates allowed). */
static int make_from(int t, int32_t *from)
{
    for (int r = 0; r < script[t].rows; r++) {
        int32_t s = script[t].sent[r], first = -1, count = 0;
        for (int q = 0; q < script[t - 1].rows; q++)
            if (script[t - 1].sent[q] == s)
                first = first < 0 ? q : first, count++;
        from[r] = first + (int32_t)((r * 7 + t * 3) % count);
    }
    return script[t].rows;
}

/* A raw step's result as floats: per group its k2 candidates (score, token) and
 * count, through sf_infer_topk on the logits the step left on the device. */
static void raw_step(sf_infer *inf, int t, const int32_t *prev, float *attn, float *out)
{
    enum { K2 = 6 };
    const int rows = script[t].rows;
    double blp[12] = {0}, score[12 * K2];
    int32_t beam[12 * K2], token[12 * K2], n[12];
    ck_assert_msg(sf_infer_step_logits(inf, rows, script[t].sent, prev, attn) == SF_OK,
                  "step %d: %s", t, sf_last_error());
    ck_assert_msg(sf_infer_topk(inf, rows, script[t].sent, blp, K2, SF_SEARCH_BAN, score, beam,
                                token, n) == SF_OK, "step %d: %s", t, sf_last_error());
    int G = 1;
    for (int r = 1; r < rows; r++)
        G += script[t].sent[r] != script[t].sent[r - 1];
    for (int g = 0; g < G; g++)
        for (int i = 0; i < K2; i++) {
            int at = g * K2 + i;
            out[3 * at] = i < n[g] ? (float)score[at] : 0.0f;
            out[3 * at + 1] = i < n[g] ? (float)token[at] : -1.0f;
            out[3 * at + 2] = i < n[g] ? (float)beam[at] : -1.0f;
        }
}

/* Runs the script on m; out: per step [rows, V] log-probs (a raw step: its
 * candidates, raw_step) then [rows, S] attention. */
static void run_script(sf_s2s *m, const int32_t *src, const int32_t *len, int S, float *out)
{
    const int V = m->cfg.tgt_vocab_size;
    sf_infer *inf = NULL;
    ck_assert_msg(sf_infer_start(m, 3, S, src, len, 12, &inf) == SF_OK, "%s", sf_last_error());
    int32_t prev[12], from[12];
    for (int t = 0; t < N_STEPS; t++) {
        const int rows = script[t].rows;
        if (t > 0) {
            make_from(t, from);
            ck_assert_int_eq(sf_infer_reorder(inf, rows, from), SF_OK);
        }
        for (int r = 0; r < rows; r++)
            prev[r] = t == 0 ? 2 : 4 + (r * 13 + t * 5) % (V - 4);
        float *attn = out + (int64_t)rows * V;
        if (script[t].raw)
            raw_step(inf, t, prev, attn, out);
        else
            ck_assert_msg(sf_infer_step(inf, rows, script[t].sent, prev, out, attn) == SF_OK,
                          "step %d: %s", t, sf_last_error());
        out += (int64_t)rows * (V + S);
    }
    sf_infer_free(inf);
}

static const struct {
    const char *name;
    int cell, attention, layers, input_feed;
} models[] = {
    {"lstm general input-feed", 2, 1, 2, 1},
    {"gru mlp", 1, 2, 1, 1},
    {"rnn dot no input-feed", 0, 0, 2, 0},
};
#define NMODELS ((int)(sizeof models / sizeof *models))

static sf_s2s *make_model(int i, int V)
{
    sf_model_config cfg;
    sf_model_config_default(&cfg);
    cfg.cell = models[i].cell, cfg.attention = models[i].attention;
    cfg.enc_layers = cfg.dec_layers = models[i].layers, cfg.input_feed = models[i].input_feed;
    cfg.src_vocab_size = 60, cfg.tgt_vocab_size = V, cfg.emb_size = 32, cfg.hidden_size = 64;
    cfg.dropout = 0.0f;
    return sf_test_random_model(g_gpu, &cfg, 0.3f, 0.4f, 60 + (uint64_t)i);
}

/* Graphs off, then on: the scripted decode's outputs are bit-identical. Graphs
 * are switched on once first, so both runs share cuBLAS's fixed workspace. */
START_TEST(test_graph_script_same)
{
    enum { V = 97, S = 6 };
    sf_s2s *m = make_model(_i, V);
    static const int32_t src[3 * S] = {5, 6, 7, 8, 9, 10, 11, 12, 13, 0, 0, 0,
                                       14, 15, 16, 17, 0, 0};
    static const int32_t len[3] = {6, 3, 4};
    int64_t total = 0;
    for (int t = 0; t < N_STEPS; t++)
        total += (int64_t)script[t].rows * (V + S);
    float *off = calloc((size_t)total, sizeof(float)), *on = calloc((size_t)total, 4);
    ck_assert_int_eq(sf_cuda_backend_set_graphs(g_gpu, 1), SF_OK);
    ck_assert_int_eq(sf_cuda_backend_set_graphs(g_gpu, 0), SF_OK);
    run_script(m, src, len, S, off);
    ck_assert_int_eq(sf_cuda_backend_set_graphs(g_gpu, 1), SF_OK);
    run_script(m, src, len, S, on);
    ck_assert_int_eq(sf_cuda_backend_set_graphs(g_gpu, 0), SF_OK);
    for (int t = 0, at = 0; t < N_STEPS; at += script[t].rows * (V + S), t++)
        ck_assert_msg(memcmp(off + at, on + at, sizeof(float) * (size_t)script[t].rows *
                             (V + S)) == 0,
                      "%s: step %d (%d rows%s) differs with graphs", models[_i].name, t,
                      script[t].rows, script[t].raw ? ", raw" : "");
    free(off), free(on);
    sf_s2s_free(m);
}
END_TEST

/* Whole searches through sf_search_batch: graphs on and off agree, on both the
 * device top-k path and the full-rows path. */
START_TEST(test_graph_search_same)
{
    sf_s2s *m = make_model(_i, 3000);
    const int32_t **src;
    int32_t *len, *block, idx[16];
    sf_test_random_sources(16, 12, m->cfg.src_vocab_size, 90 + (uint64_t)_i, &src, &len, &block);
    for (int i = 0; i < 16; i++)
        idx[i] = i;
    sf_search_opts so;
    sf_search_opts_default(&so);
    so.want_attention = 1;
    ck_assert_int_eq(sf_cuda_backend_set_graphs(g_gpu, 1), SF_OK);
    for (int beam = 1; beam <= 4; beam += 3) {
        so.beam = beam, so.n_best = beam > 1 ? 2 : 1;
        for (int topk = -1; topk <= 1; topk += 2) {
            sf_search_result a = {0}, b = {0};
            char cn[96];
            snprintf(cn, sizeof cn, "%s beam %d topk %d", models[_i].name, beam, topk);
            ck_assert_int_eq(sf_cuda_backend_set_graphs(g_gpu, 0), SF_OK);
            ck_assert_msg(sf_search_batch(m, src, len, idx, 16, &so, topk, &a) == SF_OK,
                          "%s: off: %s", cn, sf_last_error());
            ck_assert_int_eq(sf_cuda_backend_set_graphs(g_gpu, 1), SF_OK);
            ck_assert_msg(sf_search_batch(m, src, len, idx, 16, &so, topk, &b) == SF_OK,
                          "%s: on: %s", cn, sf_last_error());
            sf_test_same_results(cn, &a, &b);
            sf_search_result_free(&a);
            sf_search_result_free(&b);
        }
    }
    ck_assert_int_eq(sf_cuda_backend_set_graphs(g_gpu, 0), SF_OK);
    free(src), free(len), free(block);
    sf_s2s_free(m);
}
END_TEST

/* The CPU has no graphs, and the setting refuses it. */
START_TEST(test_graph_cpu_untouched)
{
    ck_assert_ptr_null(g_cpu->graph_begin);
    ck_assert_int_eq(sf_cuda_backend_set_graphs(g_cpu, 1), SF_ERR_INVALID_ARG);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("cuda_graph");
    TCase *tc = tcase_create("graphs");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, test_graph_script_same, 0, NMODELS);
    tcase_add_loop_test(tc, test_graph_search_same, 0, NMODELS);
    tcase_add_test(tc, test_graph_cpu_untouched);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return sf_test_cuda_main(make_suite); }
