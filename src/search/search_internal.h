/* search_internal.h: the state shared by the search's files: the backpointer
 * store (one node per kept token), attention rows, finished hypotheses, candidate
 * selection. Not for use outside src/search and tests/test_search.c. */
#ifndef SF_SEARCH_INTERNAL_H
#define SF_SEARCH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/topk.h"
#include "search/search.h"

/* One kept token: its parent node (-1 = <s>) and the offset of the attention row
 * of the step that produced it in the attention store (-1 = not stored). */
typedef struct sf_bnode {
    int32_t parent;
    int32_t token;
    int64_t attn;
} sf_bnode;

/* A candidate of one step: score = beam log-prob + log P(token), the beam (rank
 * within its sentence) it extends, the token (core/topk.h). */
typedef sf_topk_cand sf_cand;

/* A finished hypothesis: its last node (the </s> node when eos). */
typedef struct sf_fin {
    int32_t node, len, eos;
    double logprob, score;
} sf_fin;

typedef struct sf_search_state {
    int32_t n_sent, K, V, S_max, attn_on; /* attn_on: attention stored */
    const int32_t *src_len;               /* [n_sent] */
    double alpha, beta;
    int32_t *max_len;                     /* [n_sent] */
    sf_bnode *nodes;                      /* [n_nodes], grows */
    int64_t n_nodes, cap_nodes;
    float *astore;                        /* attention rows, src_len[s] floats each, grows */
    int64_t n_astore, cap_astore;
    sf_fin *fin;                          /* [n_sent, 2K] */
    int32_t *n_fin;                       /* [n_sent] */
    double *cov;                          /* [S_max] scratch */
} sf_search_state;

/* Grow *p (elements of elem bytes, capacity *cap) to hold need elements. */
sf_status sf_search_grow(void **p, int64_t *cap, int64_t need, size_t elem, const char *what);

/* Append a node; *id gets its index. */
sf_status sf_search_node_add(sf_search_state *st, int32_t parent, int32_t token, int64_t attn,
                             int32_t *id);

/* Finish a hypothesis of sentence s ending at node (len tokens without </s>):
 * computes its score and appends it to the sentence's finished list. */
void sf_search_finish(sf_search_state *st, int32_t s, int32_t node, int32_t len, int32_t eos,
                      double logprob);

/* Build *out (n_best per sentence, best first) from the finished lists. */
sf_status sf_search_collect(const sf_search_state *st, int32_t n_best, int32_t want_attn,
                            sf_search_result *out);

/* The best min(2K, n) candidates over nb live beams of a sentence, best first.
 * beam_lp: [nb]; logprobs: [nb, V] (the sentence's rows); cand: [2K] out.
 * Sets *n_cand. A NaN or +inf log-prob is SF_ERR_NUMERIC. */
sf_status sf_search_topk(int32_t nb, int32_t V, int32_t K, const double *beam_lp,
                         const float *logprobs, sf_cand *cand, int32_t *n_cand);

/* Greedy: the best candidate of one beam (argmax, lower id on ties); *n_cand 0 or 1.
 * logprobs: [V] */
sf_status sf_search_argmax(int32_t V, double beam_lp, const float *logprobs, sf_cand *cand,
                           int32_t *n_cand);

/* sf_search with the greedy fast path switched off when greedy_fast = 0, so tests
 * can compare it with the general path at K = 1. */
sf_status sf_search_run(const sf_search_model *m, int32_t n_sent, const int32_t *src_len,
                        const sf_search_opts *o, int32_t greedy_fast, sf_search_result *out);

#endif
