/* hyps.c: the search's memory of what it kept: backpointer nodes and attention
 * rows (growing stores), finished hypotheses with their GNMT scores, and the
 * result built by walking the backpointers. */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status_internal.h"
#include "search/search_internal.h"

sf_status sf_search_grow(void **p, int64_t *cap, int64_t need, size_t elem, const char *what)
{
    if (need <= *cap)
        return SF_OK;
    int64_t c = *cap > 0 ? *cap : 64;
    while (c < need)
        c *= 2;
    if ((uint64_t)c > SIZE_MAX / elem)
        return SF_FAIL(SF_ERR_OOM, "%s: %lld elements of %zu bytes do not fit in memory", what,
                       (long long)c, elem);
    void *q = realloc(*p, (size_t)c * elem);
    if (!q)
        return SF_FAIL(SF_ERR_OOM, "%s: cannot grow to %lld elements of %zu bytes; hint: "
                       "smaller batches or beam", what, (long long)c, elem);
    *p = q;
    *cap = c;
    return SF_OK;
}

sf_status sf_search_node_add(sf_search_state *st, int32_t parent, int32_t token, int64_t attn,
                             int32_t *id)
{
    if (st->n_nodes >= INT32_MAX)
        return SF_FAIL(SF_ERR_OOM, "more than %d backpointers; hint: smaller batches",
                       (int)INT32_MAX);
    SF_TRY(sf_search_grow((void **)&st->nodes, &st->cap_nodes, st->n_nodes + 1,
                          sizeof(sf_bnode), "backpointers"));
    st->nodes[st->n_nodes] = (sf_bnode){parent, token, attn};
    *id = (int32_t)st->n_nodes++;
    return SF_OK;
}

/* GNMT coverage penalty of the hypothesis ending at node, sentence s:
 * sum_j log(min(max(sum_i a_ij, 1e-30), 1)) over j < |X|. */
static double coverage(const sf_search_state *st, int32_t s, int32_t node)
{
    int32_t S = st->src_len[s];
    double cp = 0.0, *cov = st->cov;
    for (int32_t j = 0; j < S; j++)
        cov[j] = 0.0;
    for (int32_t n = node; n >= 0; n = st->nodes[n].parent) {
        const float *a = st->astore + st->nodes[n].attn;
        for (int32_t j = 0; j < S; j++)
            cov[j] += a[j];
    }
    for (int32_t j = 0; j < S; j++)
        cp += log(fmin(fmax(cov[j], 1e-30), 1.0));
    return cp;
}

void sf_search_finish(sf_search_state *st, int32_t s, int32_t node, int32_t len, int32_t eos,
                      double logprob)
{
    double score = logprob / pow((5.0 + (len + 1)) / 6.0, st->alpha);
    if (st->beta != 0.0)
        score += st->beta * coverage(st, s, node);
    /* at most K-1 earlier + K this step, or K-1 + K cut at the max length */
    int32_t i = st->n_fin[s]++;
    assert(i < 2 * st->K);
    st->fin[(int64_t)s * 2 * st->K + i] = (sf_fin){node, len, eos, logprob, score};
}

/* Tokens and attention rows of f, walking the backpointers from its last node. */
static sf_status hyp_build(const sf_search_state *st, int32_t s, const sf_fin *f,
                           int32_t want_attn, sf_hyp *h)
{
    int32_t S = st->src_len[s], rows = f->len + f->eos;
    *h = (sf_hyp){NULL, f->len, f->eos, f->logprob, f->score, S, NULL};
    h->tokens = malloc(sizeof(int32_t) * (size_t)(f->len > 0 ? f->len : 1));
    if (want_attn)
        h->attn = malloc(sizeof(float) * (size_t)((int64_t)rows * S > 0 ? (int64_t)rows * S : 1));
    if (!h->tokens || (want_attn && !h->attn))
        return SF_FAIL(SF_ERR_OOM, "hypothesis of %d tokens (source length %d)", (int)f->len,
                       (int)S);
    int32_t n = f->node;
    for (int32_t i = rows - 1; i >= 0; i--, n = st->nodes[n].parent) {
        if (i < f->len)
            h->tokens[i] = st->nodes[n].token;
        if (want_attn)
            memcpy(h->attn + (int64_t)i * S, st->astore + st->nodes[n].attn,
                   sizeof(float) * (size_t)S);
    }
    return SF_OK;
}

/* order: [n] out, indices of fin sorted best score first, earlier first on ties. */
static void fin_order(const sf_fin *fin, int32_t n, int32_t *order)
{
    for (int32_t i = 0; i < n; i++) {
        int32_t j = i;
        while (j > 0 && fin[order[j - 1]].score < fin[i].score) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
}

static sf_status collect_sentence(const sf_search_state *st, int32_t s, int32_t n_best,
                                  int32_t want_attn, int32_t *order, sf_search_result *out)
{
    const sf_fin *fin = st->fin + (int64_t)s * 2 * st->K;
    int32_t n = st->n_fin[s] < n_best ? st->n_fin[s] : n_best;
    fin_order(fin, st->n_fin[s], order);
    out->hyps[s] = calloc((size_t)(n > 0 ? n : 1), sizeof(sf_hyp));
    if (!out->hyps[s])
        return SF_FAIL(SF_ERR_OOM, "%d hypotheses of sentence %d", (int)n, (int)s);
    for (int32_t h = 0; h < n; h++) {
        out->n_hyps[s] = h + 1; /* so that a failure frees what was built */
        SF_TRY(hyp_build(st, s, &fin[order[h]], want_attn, &out->hyps[s][h]));
    }
    out->n_hyps[s] = n;
    return SF_OK;
}

sf_status sf_search_collect(const sf_search_state *st, int32_t n_best, int32_t want_attn,
                            sf_search_result *out)
{
    memset(out, 0, sizeof *out);
    out->n_sent = st->n_sent;
    out->n_hyps = calloc((size_t)(st->n_sent > 0 ? st->n_sent : 1), sizeof(int32_t));
    out->hyps = calloc((size_t)(st->n_sent > 0 ? st->n_sent : 1), sizeof(sf_hyp *));
    int32_t *order = malloc(sizeof(int32_t) * 2 * (size_t)st->K);
    sf_status rc = SF_OK;
    if (!out->n_hyps || !out->hyps || !order)
        rc = SF_FAIL(SF_ERR_OOM, "result of %d sentences", (int)st->n_sent);
    for (int32_t s = 0; rc == SF_OK && s < st->n_sent; s++)
        rc = collect_sentence(st, s, n_best, want_attn, order, out);
    free(order);
    if (rc != SF_OK)
        sf_search_result_free(out);
    return rc;
}

void sf_search_result_free(sf_search_result *r)
{
    if (!r)
        return;
    for (int32_t s = 0; r->hyps && s < r->n_sent; s++) {
        for (int32_t h = 0; r->hyps[s] && r->n_hyps && h < r->n_hyps[s]; h++) {
            free(r->hyps[s][h].tokens);
            free(r->hyps[s][h].attn);
        }
        free(r->hyps[s]);
    }
    free(r->hyps);
    free(r->n_hyps);
    memset(r, 0, sizeof *r);
}
