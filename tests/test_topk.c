/* test_topk.c: the CPU backend's beam_topk (the search step's candidates chosen
 * by the backend) against a full sort and against core/topk.c's selection, with
 * ties, ties made by rounding to double, -inf, banned ids and groups of 1..5
 * rows; raw logits against log_softmax first (bit for bit); NaN/+inf and bad
 * shapes refused; and whole searches on random models identical with and
 * without the topk path (greedy, beam, n-best, attention, coverage). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "core/topk.h"
#include "sf_test_model.h"

static sf_backend *g_be;

/* The search's ban (<pad>, <s>) and one more id, so the mask is honoured as given. */
#define SF_TOPK_TEST_BAN (SF_SEARCH_BAN | (1u << 7))

/* ------------------------------------------------------------ reference */

typedef struct rcand {
    double s;
    int32_t b, v;
} rcand;

static int rcand_cmp(const void *pa, const void *pb)
{
    const rcand *a = pa, *b = pb;
    if (a->s != b->s)
        return a->s > b->s ? -1 : 1;
    if (a->b != b->b)
        return a->b < b->b ? -1 : 1;
    return (a->v > b->v) - (a->v < b->v);
}

/* Every eligible candidate of nb rows, sorted best first; returns the count.
 * lp: [nb, V]; blp: [nb]; out: [nb*V] */
static int32_t sorted_all(int32_t nb, int32_t V, uint32_t ban, const double *blp,
                          const float *lp, rcand *out)
{
    int32_t n = 0;
    for (int32_t b = 0; b < nb; b++)
        for (int32_t v = 0; v < V; v++)
            if (lp[b * V + v] > -INFINITY && !sf_topk_banned(ban, v))
                out[n++] = (rcand){blp[b] + (double)lp[b * V + v], b, v};
    qsort(out, (size_t)n, sizeof *out, rcand_cmp);
    return n;
}

/* ---------------------------------------------------------------- cases */

enum { KIND_COARSE, KIND_ULP, KIND_ROUND, KIND_LOGITS };

static const struct {
    const char *name;
    int G, V, k2, kind;
    int32_t nb[4];
} cases[] = {
    {"1 group 1 row coarse", 1, 9, 2, KIND_COARSE, {1}},
    {"3 groups coarse", 3, 9, 6, KIND_COARSE, {3, 1, 2}},
    {"ulp-close", 2, 40, 10, KIND_ULP, {5, 4}},
    {"rounding ties at -1e10", 2, 33, 8, KIND_ROUND, {2, 3}},
    {"k2 beyond the eligible", 2, 6, 40, KIND_COARSE, {2, 1}},
    {"logits, 4 groups", 4, 257, 10, KIND_LOGITS, {5, 1, 3, 2}},
    {"long rows: skipped and partial 128-token blocks", 2, 1031, 10, KIND_LOGITS, {5, 3}},
};
#define NCASES ((int)(sizeof cases / sizeof *cases))

/* Deterministic pseudo-random bits. */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Values of a case: x [rows, V] with some -inf, beam_lp [rows]. */
static void fill_case(int c, int trial, int64_t rows, float *x, double *blp)
{
    int V = cases[c].V, kind = cases[c].kind;
    for (int64_t i = 0; i < rows * V; i++) {
        uint64_t h = mix((uint64_t)(c * 100000 + trial * 1000) + (uint64_t)i);
        x[i] = h % 13 == 0          ? -INFINITY
               : kind == KIND_ULP   ? -1.0f - 1.2e-7f * (float)(h % 16)
               : kind == KIND_LOGITS ? 0.5f * (float)(int)(h % 13) - 3.0f
                                    : -0.5f * (float)(h % 5);
    }
    for (int64_t r = 0; r < rows; r++)
        blp[r] = kind == KIND_ROUND ? -1e10 : -0.25 * (double)(r % 3) - 1e-7 * (double)trial;
}

static int64_t case_rows(int c)
{
    int64_t rows = 0;
    for (int g = 0; g < cases[c].G; g++)
        rows += cases[c].nb[g];
    return rows;
}

typedef struct topk_out {
    double score[160];
    int32_t beam[160], token[160], n[4];
} topk_out;

/* The op's group g against the sorted reference of lp's rows. */
static void expect_sorted(const char *cn, int trial, int c, int g, int64_t r0, const float *lp,
                          const double *blp, const topk_out *o)
{
    int V = cases[c].V, k2 = cases[c].k2;
    rcand *all = malloc(sizeof(rcand) * (size_t)cases[c].nb[g] * V);
    int32_t n = sorted_all(cases[c].nb[g], V, SF_TOPK_TEST_BAN, blp + r0, lp + r0 * V, all);
    int32_t want = n < k2 ? n : k2;
    ck_assert_msg(o->n[g] == want, "%s trial %d group %d: %d candidates, expected %d", cn,
                  trial, g, (int)o->n[g], (int)want);
    for (int32_t i = 0; i < want; i++) {
        int at = g * k2 + i;
        ck_assert_msg(o->score[at] == all[i].s && o->beam[at] == all[i].b &&
                          o->token[at] == all[i].v,
                      "%s trial %d group %d: candidate %d is (%d,%d,%.17g), sorted "
                      "(%d,%d,%.17g)", cn, trial, g, (int)i, (int)o->beam[at],
                      (int)o->token[at], o->score[at], (int)all[i].b, (int)all[i].v, all[i].s);
    }
    free(all);
}

/* Raw 0: the op against the sort and against sf_topk_select group by group.
 * Raw 1 (logits): the op on x equals the op on log_softmax(x), bit for bit. */
START_TEST(test_cpu_topk_vs_sort)
{
    const int c = _i, V = cases[c].V, k2 = cases[c].k2, G = cases[c].G;
    const int64_t rows = case_rows(c);
    float *x = malloc(sizeof(float) * (size_t)(rows * V));
    float *lp = malloc(sizeof(float) * (size_t)(rows * V));
    double blp[16];
    sf_topk_cand sel[160];
    for (int trial = 0; trial < 12; trial++) {
        fill_case(c, trial, rows, x, blp);
        int raw = cases[c].kind == KIND_LOGITS;
        topk_out o, o2;
        memset(&o, 0, sizeof o);
        ck_assert_msg(g_be->beam_topk(g_be, G, cases[c].nb, V, k2, raw, SF_TOPK_TEST_BAN, x,
                                      blp, o.score, o.beam, o.token, o.n) == SF_OK,
                      "%s: %s", cases[c].name, sf_last_error());
        memcpy(lp, x, sizeof(float) * (size_t)(rows * V));
        if (raw) {
            ck_assert_int_eq(g_be->log_softmax(g_be, rows, V, x, lp), SF_OK);
            ck_assert_int_eq(g_be->beam_topk(g_be, G, cases[c].nb, V, k2, 0, SF_TOPK_TEST_BAN,
                                             lp, blp, o2.score, o2.beam, o2.token, o2.n),
                             SF_OK);
            for (int g = 0; g < G; g++)
                for (int i = 0; i < o.n[g]; i++) {
                    int at = g * k2 + i;
                    ck_assert_msg(o.n[g] == o2.n[g] && o.score[at] == o2.score[at] &&
                                      o.token[at] == o2.token[at] && o.beam[at] == o2.beam[at],
                                  "%s trial %d: raw logits differ from log_softmax first at "
                                  "group %d candidate %d", cases[c].name, trial, g, i);
                }
        }
        for (int g = 0, r0 = 0; g < G; r0 += cases[c].nb[g++]) {
            expect_sorted(cases[c].name, trial, c, g, r0, lp, blp, &o);
            int32_t n = -1;
            ck_assert_int_eq(sf_topk_select(cases[c].nb[g], V, k2, SF_TOPK_TEST_BAN, blp + r0,
                                            lp + (int64_t)r0 * V, sel, &n), SF_OK);
            ck_assert_int_eq(n, o.n[g]);
            for (int i = 0; i < n; i++)
                ck_assert_msg(sel[i].score == o.score[g * k2 + i] &&
                                  sel[i].beam == o.beam[g * k2 + i] &&
                                  sel[i].token == o.token[g * k2 + i],
                              "%s trial %d group %d: op and sf_topk_select differ at %d",
                              cases[c].name, trial, g, i);
        }
    }
    free(x), free(lp);
}
END_TEST

/* NaN or +inf anywhere (a banned id too) is SF_ERR_NUMERIC naming the first
 * (group, beam, token); bad shapes are SF_ERR_INVALID_ARG. */
START_TEST(test_cpu_topk_errors)
{
    enum { V = 11 };
    static const int32_t nb[3] = {2, 3, 1};
    float x[6 * V];
    double blp[6] = {0};
    topk_out o;
    static const struct {
        int row, tok, raw;
        float val;
        const char *want;
    } bad[] = {
        {3, 5, 0, NAN, "group 1 (rows from 2)"},
        {3, 5, 0, INFINITY, "beam 1 token 5"},
        {0, 0, 0, NAN, "beam 0 token 0"},   /* <pad>: banned, still checked */
        {5, 9, 1, NAN, "group 2"},          /* a NaN logit makes its row NaN */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        for (int j = 0; j < 6 * V; j++)
            x[j] = -(float)(j % 7);
        x[bad[i].row * V + bad[i].tok] = bad[i].val;
        x[5 * V + 10] = NAN; /* a later bad value: the first one is named */
        ck_assert_int_eq(g_be->beam_topk(g_be, 3, nb, V, 4, bad[i].raw, SF_SEARCH_BAN, x, blp,
                                         o.score, o.beam, o.token, o.n), SF_ERR_NUMERIC);
        ck_assert_msg(strstr(sf_last_error(), bad[i].want), "case %zu: message \"%s\" lacks "
                      "\"%s\"", i, sf_last_error(), bad[i].want);
    }
    /* rows x V large enough that groups go to threads: the first bad group still
     * reports, with the message of the thread that found it */
    enum { VL = 40000 };
    float *xl = malloc(sizeof(float) * 6 * VL);
    for (int j = 0; j < 6 * VL; j++)
        xl[j] = -(float)(j % 7);
    xl[5 * VL + 7] = NAN, xl[2 * VL + 31000] = INFINITY;
    ck_assert_int_eq(g_be->beam_topk(g_be, 3, nb, VL, 4, 0, SF_SEARCH_BAN, xl, blp, o.score,
                                     o.beam, o.token, o.n), SF_ERR_NUMERIC);
    ck_assert_msg(strstr(sf_last_error(), "group 1 (rows from 2)") &&
                  strstr(sf_last_error(), "beam 0 token 31000"), "message \"%s\"",
                  sf_last_error());
    free(xl);
    static const int32_t zero[2] = {2, 0};
    for (int j = 0; j < 6 * V; j++)
        x[j] = 0.0f;
    ck_assert_int_eq(g_be->beam_topk(g_be, 2, zero, V, 4, 0, 0, x, blp, o.score, o.beam,
                                     o.token, o.n), SF_ERR_INVALID_ARG);
    ck_assert_int_eq(g_be->beam_topk(g_be, 3, nb, V, 0, 0, 0, x, blp, o.score, o.beam, o.token,
                                     o.n), SF_ERR_INVALID_ARG);
    ck_assert_int_eq(g_be->beam_topk(g_be, 0, nb, V, 4, 0, 0, x, blp, o.score, o.beam, o.token,
                                     o.n), SF_OK);
}
END_TEST

/* ------------------------------------------------- whole searches */

static const struct {
    const char *name;
    int cell, attention, bidirectional, input_feed, layers;
    int32_t beam, n_best;
    float alpha, beta;
    int want_attention;
} searches[] = {
    {"lstm general greedy", 2, 1, 1, 1, 1, 1, 1, 0.6f, 0.0f, 0},
    {"lstm general beam 4 n-best 2", 2, 1, 1, 1, 1, 4, 2, 0.6f, 0.0f, 1},
    {"gru mlp beam 3 coverage", 1, 2, 0, 1, 2, 3, 1, 0.0f, 0.2f, 0},
    {"rnn dot beam 5", 0, 0, 1, 0, 2, 5, 3, 1.0f, 0.0f, 0},
};
#define NSEARCH ((int)(sizeof searches / sizeof *searches))

/* The search through sf_search_batch with the CPU backend's topk and without:
 * the same hypotheses, scores and attention, to the bit. */
START_TEST(test_search_topk_same)
{
    sf_model_config cfg;
    sf_model_config_default(&cfg);
    cfg.cell = searches[_i].cell, cfg.attention = searches[_i].attention;
    cfg.bidirectional = searches[_i].bidirectional, cfg.input_feed = searches[_i].input_feed;
    cfg.enc_layers = cfg.dec_layers = searches[_i].layers;
    cfg.src_vocab_size = 30, cfg.tgt_vocab_size = 40, cfg.emb_size = 16, cfg.hidden_size = 24;
    cfg.dropout = 0.0f;
    sf_s2s *m = sf_test_random_model(g_be, &cfg, 0.7f, 0.4f, 700 + (uint64_t)_i);
    sf_search_opts so;
    sf_search_opts_default(&so);
    so.beam = searches[_i].beam, so.n_best = searches[_i].n_best;
    so.alpha = searches[_i].alpha, so.beta = searches[_i].beta;
    so.want_attention = searches[_i].want_attention;
    so.max_len_a = 1.5f, so.max_len_b = 4.0f;
    sf_test_search_modes_agree(searches[_i].name, m, 7, 6, &so, 800 + (uint64_t)_i);
    sf_s2s_free(m);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("topk");
    TCase *tc = tcase_create("beam_topk");
    tcase_add_loop_test(tc, test_cpu_topk_vs_sort, 0, NCASES);
    tcase_add_test(tc, test_cpu_topk_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("search");
    tcase_add_loop_test(tc, test_search_topk_same, 0, NSEARCH);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (sf_backend_open("cpu", &g_be) != SF_OK)
        return 1;
    int rc = sf_test_main(make_suite());
    sf_backend_close(g_be);
    return rc;
}
