/* select.c: choosing a step's candidates: the best 2K over K x V by partial
 * selection (a bounded heap, never a full sort), and the greedy argmax. Both rank
 * by beam log-prob + log P(token) in double, ties to the lower beam then token. */
#include <math.h>

#include "core/status_internal.h"
#include "search/search_internal.h"
#include "seqfuse/tokenizer.h"

/* Strict total order: higher score, then lower beam, then lower token. */
static int cand_better(const sf_cand *a, const sf_cand *b)
{
    if (a->score != b->score)
        return a->score > b->score;
    if (a->beam != b->beam)
        return a->beam < b->beam;
    return a->token < b->token;
}

static void cand_swap(sf_cand *a, sf_cand *b)
{
    sf_cand t = *a;
    *a = *b;
    *b = t;
}

/* Heap with the worst candidate at the root: every child is better than its parent.
 * h: [n] */
static void heap_sift_down(sf_cand *h, int32_t n, int32_t i)
{
    for (;;) {
        int32_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && cand_better(&h[w], &h[l]))
            w = l;
        if (r < n && cand_better(&h[w], &h[r]))
            w = r;
        if (w == i)
            return;
        cand_swap(&h[i], &h[w]);
        i = w;
    }
}

static void heap_sift_up(sf_cand *h, int32_t i)
{
    while (i > 0) {
        int32_t p = (i - 1) / 2;
        if (!cand_better(&h[p], &h[i]))
            return;
        cand_swap(&h[p], &h[i]);
        i = p;
    }
}

/* A log-prob a search can use: finite or -inf. NaN and +inf are decoder bugs. */
static sf_status check_logprob(float x, int32_t beam, int32_t v)
{
    if (x < INFINITY)
        return SF_OK;
    return SF_FAIL(SF_ERR_NUMERIC,
                   "beam %d token %d: log-prob is %g, expected a finite value or -inf; "
                   "hint: the decoder produced NaN/Inf (check the weights and inputs)",
                   (int)beam, (int)v, (double)x);
}

/* Tokens a hypothesis may never continue with. */
static int token_banned(int32_t v) { return v == SF_PAD_ID || v == SF_BOS_ID; }

/* A float lo such that a float x < lo implies blp + x < thr exactly, so a scan can
 * skip x in float; thr = -inf (heap not full) skips nothing. d is below the exact
 * thr - blp (the margin exceeds the subtraction's rounding), and a float x < (float)d
 * is at most the float below (float)d, which is below d whichever way d rounded. */
static float skip_below(double thr, double blp)
{
    double d = thr - blp;
    return (float)(d - (fabs(d) * 1e-9 + 1e-300));
}

/* Offer c to the bounded heap of cap candidates: push while not full, else replace
 * the worst when c is better. */
static void heap_offer(sf_cand *h, int32_t *n, int32_t cap, sf_cand c)
{
    if (*n < cap) {
        h[*n] = c;
        heap_sift_up(h, (*n)++);
    } else if (cand_better(&c, &h[0])) {
        h[0] = c;
        heap_sift_down(h, *n, 0);
    }
}

sf_status sf_search_topk(int32_t nb, int32_t V, int32_t K, const double *beam_lp,
                         const float *logprobs, sf_cand *cand, int32_t *n_cand)
{
    int32_t n = 0, cap = 2 * K;
    for (int32_t b = 0; b < nb; b++) {
        const float *row = logprobs + (int64_t)b * V;
        float lo = skip_below(n < cap ? -INFINITY : cand[0].score, beam_lp[b]);
        for (int32_t v = 0; v < V; v++) {
            float x = row[v];
            if (x < lo) /* the hot path; NaN and +inf never take it */
                continue;
            SF_TRY(check_logprob(x, b, v));
            if (x == -INFINITY || token_banned(v))
                continue;
            heap_offer(cand, &n, cap, (sf_cand){beam_lp[b] + (double)x, b, v});
            lo = skip_below(n < cap ? -INFINITY : cand[0].score, beam_lp[b]);
        }
    }
    /* heap sort: the worst goes last, so the array ends best first */
    for (int32_t m = n; m > 1; m--) {
        cand_swap(&cand[0], &cand[m - 1]);
        heap_sift_down(cand, m - 1, 0);
    }
    *n_cand = n;
    return SF_OK;
}

sf_status sf_search_argmax(int32_t V, double beam_lp, const float *logprobs, sf_cand *cand,
                           int32_t *n_cand)
{
    int32_t best = -1;
    float bx = -INFINITY;
    for (int32_t v = 0; v < V; v++) {
        if (logprobs[v] <= bx) /* the hot path; NaN and +inf never take it */
            continue;
        SF_TRY(check_logprob(logprobs[v], 0, v));
        if (!token_banned(v)) {
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
            if (!token_banned(v) && logprobs[v] > -INFINITY &&
                beam_lp + (double)logprobs[v] == score) {
                best = v;
                break;
            }
    *cand = (sf_cand){score, 0, best};
    return SF_OK;
}
