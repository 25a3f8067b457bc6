/* topk.c: the bounded-heap selection of a beam-search step's best candidates
 * (topk.h). Ranks in double: beam log-prob + log P(token), ties to the lower
 * beam, then the lower token. */
#include "core/topk.h"

#include <math.h>

#include "core/simd.h"

/* Tokens per block of the scan's vector pre-check. */
#define SF_TOPK_BLOCK 128

static void cand_swap(sf_topk_cand *a, sf_topk_cand *b)
{
    sf_topk_cand t = *a;
    *a = *b;
    *b = t;
}

/* Heap with the worst candidate at the root: every child is better than its parent.
 * h: [n] */
static void heap_sift_down(sf_topk_cand *h, int32_t n, int32_t i)
{
    for (;;) {
        int32_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && sf_topk_better(&h[w], &h[l]))
            w = l;
        if (r < n && sf_topk_better(&h[w], &h[r]))
            w = r;
        if (w == i)
            return;
        cand_swap(&h[i], &h[w]);
        i = w;
    }
}

static void heap_sift_up(sf_topk_cand *h, int32_t i)
{
    while (i > 0) {
        int32_t p = (i - 1) / 2;
        if (!sf_topk_better(&h[p], &h[i]))
            return;
        cand_swap(&h[p], &h[i]);
        i = p;
    }
}

/* Offer c to the bounded heap of cap candidates: push while not full, else replace
 * the worst when c is better. */
static void heap_offer(sf_topk_cand *h, int32_t *n, int32_t cap, sf_topk_cand c)
{
    if (*n < cap) {
        h[*n] = c;
        heap_sift_up(h, (*n)++);
    } else if (sf_topk_better(&c, &h[0])) {
        h[0] = c;
        heap_sift_down(h, *n, 0);
    }
}

/* A float lo such that a float x < lo implies blp + x < thr exactly, so a scan can
 * skip x in float; thr = -inf (heap not full) skips nothing. d is below the exact
 * thr - blp (the margin exceeds the subtraction's rounding), and a float x < (float)d
 * is at most the float below (float)d, which is below d whichever way d rounded. */
static float skip_below(double thr, double blp)
{
    double d = thr - blp;
    return (float)(d - (fabs(d) * 1e-9 + 1e-300));
}

sf_status sf_topk_bad_logprob(const char *fn, float x, int32_t beam, int32_t token)
{
    return sf_error(SF_ERR_NUMERIC, "%s: beam %d token %d: log-prob is %g, expected a finite "
                    "value or -inf; hint: the decoder produced NaN/Inf (check the weights "
                    "and inputs)", fn, (int)beam, (int)token, (double)x);
}

/* The score a candidate must beat once the heap is full (-inf while it is not,
 * and always with cap 0, where the scan only checks the values). */
static double heap_threshold(const sf_topk_cand *h, int32_t n, int32_t cap)
{
    return n < cap || cap <= 0 ? -INFINITY : h[0].score;
}

/* Whether some x of x[0, n) is not below lo: a candidate, or a NaN / +inf to
 * report. One vector pass, so blocks that hold neither (nearly all, once the
 * heap is full) cost a compare per token. */
SF_SIMD_CLONES
static int block_has_hit(const float *x, int32_t n, float lo)
{
    int hit = 0;
#pragma omp simd reduction(| : hit)
    for (int32_t v = 0; v < n; v++)
        hit |= !(x[v] < lo);
    return hit;
}

sf_status sf_topk_select(int32_t nb, int32_t V, int32_t cap, uint32_t ban,
                         const double *beam_lp, const float *lp, sf_topk_cand *cand,
                         int32_t *n_cand)
{
    int32_t n = 0;
    *n_cand = 0;
    for (int32_t b = 0; b < nb; b++) {
        const float *row = lp + (int64_t)b * V;
        float lo = skip_below(heap_threshold(cand, n, cap), beam_lp[b]);
        for (int32_t v = 0; v < V; v++) {
            if (v % SF_TOPK_BLOCK == 0) { /* skip whole blocks without a hit */
                const int32_t w = V - v < SF_TOPK_BLOCK ? V - v : SF_TOPK_BLOCK;
                if (!block_has_hit(row + v, w, lo)) {
                    v += w - 1;
                    continue;
                }
            }
            float x = row[v];
            if (x < lo) /* NaN and +inf never take this */
                continue;
            if (!(x < INFINITY))
                return sf_topk_bad_logprob(__func__, x, b, v);
            if (x == -INFINITY || sf_topk_banned(ban, v) || cap <= 0)
                continue;
            heap_offer(cand, &n, cap, (sf_topk_cand){beam_lp[b] + (double)x, b, v});
            lo = skip_below(heap_threshold(cand, n, cap), beam_lp[b]);
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
