/* sf_test_model.h: a small random model on any backend, and a check that two
 * searches over it give bit-identical results. Header-only (static inline), for
 * the test binaries that compare decoding paths (test_topk.c, test_cuda_topk.c,
 * test_cuda_graph.c). */
#ifndef SF_TEST_MODEL_H
#define SF_TEST_MODEL_H

#include <stdlib.h>
#include <string.h>

#include "model/params.h"
#include "nn/s2s.h"
#include "search/translator_internal.h"
#include "sf_test.h"

/* A model of cfg on be with uniform weights in [-scale, scale) from seed, and
 * generator.bias[</s>] raised by eos_bias so some hypotheses end early. */
static inline sf_s2s *sf_test_random_model(sf_backend *be, const sf_model_config *cfg,
                                           float scale, float eos_bias, uint64_t seed)
{
    sf_s2s *m = NULL;
    ck_assert_msg(sf_s2s_create(be, cfg, 0, &m) == SF_OK, "%s", sf_last_error());
    size_t n = (size_t)m->layout.total;
    float *w = malloc(sizeof(float) * n);
    ck_assert_ptr_nonnull(w);
    sf_test_randu(w, (int64_t)n, -scale, scale, seed);
    const sf_param *gb = sf_param_find(&m->layout, "generator.bias");
    ck_assert_ptr_nonnull(gb);
    w[gb->offset + 3] += eos_bias;
    ck_assert_int_eq(be->upload(be, m->params, w, sizeof(float) * n), SF_OK);
    free(w);
    return m;
}

/* n random source sentences of lengths 1..max_len (ids in [4, V)): src[i] points
 * into one malloc'd block (*block, caller frees it and src, len). */
static inline void sf_test_random_sources(int n, int max_len, int V, uint64_t seed,
                                          const int32_t ***src, int32_t **len,
                                          int32_t **block)
{
    float *u = malloc(sizeof(float) * (size_t)n * (max_len + 1));
    sf_test_randu(u, (int64_t)n * (max_len + 1), 0.0f, 1.0f, seed);
    *block = malloc(sizeof(int32_t) * (size_t)n * max_len);
    *len = malloc(sizeof(int32_t) * (size_t)n);
    *src = malloc(sizeof(int32_t *) * (size_t)n);
    for (int i = 0; i < n; i++) {
        (*len)[i] = 1 + (int32_t)(u[i] * (float)max_len) % max_len;
        (*src)[i] = *block + (size_t)i * max_len;
        for (int j = 0; j < max_len; j++)
            (*block)[(size_t)i * max_len + j] =
                4 + (int32_t)(u[n + i * max_len + j] * (float)(V - 4)) % (V - 4);
    }
    free(u);
}

/* Results identical to the bit: hypotheses, tokens, scores, attention. */
static inline void sf_test_same_results(const char *cn, const sf_search_result *a,
                                        const sf_search_result *b)
{
    ck_assert_msg(a->n_sent == b->n_sent, "%s: %d vs %d sentences", cn, (int)a->n_sent,
                  (int)b->n_sent);
    for (int32_t s = 0; s < a->n_sent; s++) {
        ck_assert_msg(a->n_hyps[s] == b->n_hyps[s], "%s: sentence %d: %d vs %d hypotheses",
                      cn, (int)s, (int)a->n_hyps[s], (int)b->n_hyps[s]);
        for (int32_t h = 0; h < a->n_hyps[s]; h++) {
            const sf_hyp *x = &a->hyps[s][h], *y = &b->hyps[s][h];
            ck_assert_msg(x->len == y->len && x->eos == y->eos && x->logprob == y->logprob &&
                              x->score == y->score &&
                              !memcmp(x->tokens, y->tokens, sizeof(int32_t) * (size_t)x->len),
                          "%s: sentence %d hyp %d differs (len %d/%d, score %.17g/%.17g)", cn,
                          (int)s, (int)h, (int)x->len, (int)y->len, x->score, y->score);
            size_t na = sizeof(float) * (size_t)((x->len + x->eos) * x->src_len);
            ck_assert_msg((!x->attn && !y->attn) ||
                              (x->attn && y->attn && !memcmp(x->attn, y->attn, na)),
                          "%s: sentence %d hyp %d: attention differs", cn, (int)s, (int)h);
        }
    }
}

/* Searches n random sentences on m with the backend's top-k (topk = 1) and with
 * full log-prob rows (-1), and asserts the results are identical. */
static inline void sf_test_search_modes_agree(const char *cn, sf_s2s *m, int n, int max_len,
                                              const sf_search_opts *so, uint64_t seed)
{
    const int32_t **src;
    int32_t *len, *block, *idx = malloc(sizeof(int32_t) * (size_t)n);
    sf_test_random_sources(n, max_len, m->cfg.src_vocab_size, seed, &src, &len, &block);
    for (int i = 0; i < n; i++)
        idx[i] = i;
    sf_search_result a = {0}, b = {0};
    ck_assert_msg(sf_search_batch(m, src, len, idx, n, so, 1, &a) == SF_OK, "%s: topk: %s", cn,
                  sf_last_error());
    ck_assert_msg(sf_search_batch(m, src, len, idx, n, so, -1, &b) == SF_OK, "%s: rows: %s", cn,
                  sf_last_error());
    sf_test_same_results(cn, &a, &b);
    sf_search_result_free(&a);
    sf_search_result_free(&b);
    free(src), free(len), free(block), free(idx);
}

#endif
