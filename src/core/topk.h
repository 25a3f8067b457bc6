/* topk.h: choosing the best candidates of a beam-search step out of nb rows of
 * V log-probabilities, by partial selection (a bounded heap, never a full sort).
 * Shared by the search (src/search/select.c) and the CPU backend's beam_topk op,
 * so both rank exactly alike; the CUDA kernel (kernels/topk.cu) follows the same
 * order and is tested against this code. */
#ifndef SF_CORE_TOPK_H
#define SF_CORE_TOPK_H

#include <stdint.h>

#include "core/status_internal.h"

/* A candidate: row (beam) b of its group extended by token. */
typedef struct sf_topk_cand {
    double score;  /* beam_lp[b] + (double)lp[b, token] */
    int32_t beam;  /* row within the group */
    int32_t token;
} sf_topk_cand;

/* Whether token v is excluded by the ban mask (bit v, for v < 32). */
static inline int sf_topk_banned(uint32_t ban, int32_t v)
{
    return v >= 0 && v < 32 && ((ban >> v) & 1u);
}

/* Strict total order of candidates: higher score, then lower beam, then lower token. */
static inline int sf_topk_better(const sf_topk_cand *a, const sf_topk_cand *b)
{
    if (a->score != b->score)
        return a->score > b->score;
    if (a->beam != b->beam)
        return a->beam < b->beam;
    return a->token < b->token;
}

/* The best min(cap, n) candidates, best first, out of the n eligible ones of
 * nb rows: a candidate (b, v) is eligible when v is not banned and lp[b, v] is
 * not -inf; it scores beam_lp[b] + (double)lp[b, v] and ranks by sf_topk_better.
 * lp: [nb, V]; beam_lp: [nb]; cand: [cap] out; *n_cand set. A NaN or +inf in lp
 * (banned tokens included) is SF_ERR_NUMERIC naming the first (beam, token) in
 * row-major order; cand is then unspecified. */
sf_status sf_topk_select(int32_t nb, int32_t V, int32_t cap, uint32_t ban,
                         const double *beam_lp, const float *lp, sf_topk_cand *cand,
                         int32_t *n_cand);

/* SF_ERR_NUMERIC for a NaN or +inf log-prob x at (beam, token), its message
 * prefixed with fn: the same words wherever a step's log-probs are checked. */
sf_status sf_topk_bad_logprob(const char *fn, float x, int32_t beam, int32_t token);

#endif
