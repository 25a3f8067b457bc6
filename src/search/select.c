/* select.c: choosing a step's candidates: the best 2K over K x V (the shared
 * bounded-heap selection of core/topk.c), and the greedy argmax. Both rank by beam
 * log-prob + log P(token) in double, ties to the lower beam then token. */
#include <math.h>

#include "core/status_internal.h"
#include "search/search_internal.h"

sf_status sf_search_topk(int32_t nb, int32_t V, int32_t K, const double *beam_lp,
                         const float *logprobs, sf_cand *cand, int32_t *n_cand)
{
    return sf_topk_select(nb, V, 2 * K, SF_SEARCH_BAN, beam_lp, logprobs, cand, n_cand);
}

sf_status sf_search_argmax(int32_t V, double beam_lp, const float *logprobs, sf_cand *cand,
                           int32_t *n_cand)
{
    int32_t best = -1;
    float bx = -INFINITY;
    for (int32_t v = 0; v < V; v++) {
        if (logprobs[v] <= bx) /* the hot path; NaN and +inf never take it */
            continue;
        if (!(logprobs[v] < INFINITY))
            return sf_topk_bad_logprob(__func__, logprobs[v], 0, v);
        if (!sf_topk_banned(SF_SEARCH_BAN, v)) {
            bx = logprobs[v];
            best = v;
        }
    }
    *n_cand = best >= 0;
    if (best < 0)
        return SF_OK;
    double score = beam_lp + (double)bx;
    /* ranked in double like sf_search_topk: when a smaller x can round to the same
     * score, the lowest such id wins */
    if (beam_lp + (double)nextafterf(bx, -INFINITY) == score)
        for (int32_t v = 0; v < best; v++)
            if (!sf_topk_banned(SF_SEARCH_BAN, v) && logprobs[v] > -INFINITY &&
                beam_lp + (double)logprobs[v] == score) {
                best = v;
                break;
            }
    *cand = (sf_cand){score, 0, best};
    return SF_OK;
}
