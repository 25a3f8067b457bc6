/* ngram.c: n-gram multisets as sorted arrays of distinct n-grams with counts,
 * so that clipping against references (and merging several references) is a
 * linear walk over two sorted arrays. Used by BLEU (token ids) and chrF (code points). */
#include <stdlib.h>
#include <string.h>

#include "core/status_internal.h"
#include "text/score_internal.h"

static int ngram_cmp(const sf_ngram *a, const sf_ngram *b)
{
    if (a->n != b->n)
        return a->n < b->n ? -1 : 1;
    for (int i = 0; i < a->n; i++)
        if (a->v[i] != b->v[i])
            return a->v[i] < b->v[i] ? -1 : 1;
    return 0;
}

static int ngram_qcmp(const void *a, const void *b) { return ngram_cmp(a, b); }

static sf_status ngrams_reserve(sf_ngrams *s, int64_t need)
{
    if (need <= s->cap)
        return SF_OK;
    int64_t cap = s->cap ? s->cap : 64;
    while (cap < need)
        cap *= 2;
    sf_ngram *g = realloc(s->g, (size_t)cap * sizeof *g);
    if (!g)
        return SF_FAIL(SF_ERR_OOM, "cannot hold %lld n-grams", (long long)cap);
    s->g = g;
    s->cap = cap;
    return SF_OK;
}

sf_status sf_ngrams_count(const uint32_t *seq, int64_t len, int32_t max_n, sf_ngrams *out)
{
    memset(out->total, 0, sizeof out->total);
    out->n = 0;
    SF_TRY(ngrams_reserve(out, len * max_n + 1));
    int64_t m = 0;
    for (int32_t k = 1; k <= max_n; k++) {
        for (int64_t i = 0; i + k <= len; i++) {
            sf_ngram *g = &out->g[m++];
            memset(g, 0, sizeof *g);
            g->n = k;
            memcpy(g->v, seq + i, (size_t)k * sizeof *seq);
            g->count = 1;
        }
        out->total[k - 1] = len >= k ? len - k + 1 : 0;
    }
    if (m > 1)
        qsort(out->g, (size_t)m, sizeof *out->g, ngram_qcmp);
    int64_t d = 0; /* fold runs of equal n-grams into one with a count */
    for (int64_t i = 0; i < m; i++) {
        if (d > 0 && ngram_cmp(&out->g[d - 1], &out->g[i]) == 0)
            out->g[d - 1].count++;
        else
            out->g[d++] = out->g[i];
    }
    out->n = d;
    return SF_OK;
}

sf_status sf_ngrams_max_merge(const sf_ngrams *a, const sf_ngrams *b, sf_ngrams *out)
{
    out->n = 0;
    SF_TRY(ngrams_reserve(out, a->n + b->n + 1));
    int64_t i = 0, j = 0, d = 0;
    while (i < a->n || j < b->n) {
        int c = i == a->n ? 1 : j == b->n ? -1 : ngram_cmp(&a->g[i], &b->g[j]);
        if (c < 0) {
            out->g[d++] = a->g[i++];
        } else if (c > 0) {
            out->g[d++] = b->g[j++];
        } else {
            out->g[d] = a->g[i];
            if (b->g[j].count > out->g[d].count)
                out->g[d].count = b->g[j].count;
            d++, i++, j++;
        }
    }
    out->n = d;
    for (int k = 0; k < SF_NGRAM_MAX; k++)
        out->total[k] = a->total[k] > b->total[k] ? a->total[k] : b->total[k];
    return SF_OK;
}

void sf_ngrams_match(const sf_ngrams *hyp, const sf_ngrams *ref, int64_t match[SF_NGRAM_MAX])
{
    memset(match, 0, SF_NGRAM_MAX * sizeof *match);
    int64_t i = 0, j = 0;
    while (i < hyp->n && j < ref->n) {
        int c = ngram_cmp(&hyp->g[i], &ref->g[j]);
        if (c < 0) {
            i++;
        } else if (c > 0) {
            j++;
        } else {
            int64_t h = hyp->g[i].count, r = ref->g[j].count;
            match[hyp->g[i].n - 1] += h < r ? h : r;
            i++, j++;
        }
    }
}

void sf_ngrams_free(sf_ngrams *s)
{
    free(s->g);
    memset(s, 0, sizeof *s);
}
