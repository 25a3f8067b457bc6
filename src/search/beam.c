/* beam.c: the search loop: options, checks, one decoder step per iteration, the
 * per-sentence beam update (finished hypotheses, live beams, max length), and the
 * row layout handed to the decoder's reorder. Candidates: select.c; memory: hyps.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status_internal.h"
#include "search/search_internal.h"
#include "seqfuse/tokenizer.h"

#define SF_SEARCH_MAX_LEN (1 << 20)

void sf_search_opts_default(sf_search_opts *o)
{
    *o = (sf_search_opts){.beam = 5, .alpha = 0.6f, .beta = 0.0f, .n_best = 1,
                          .max_len_a = 3.0f, .max_len_b = 10.0f, .want_attention = 0};
}

/* One search: the shared state plus this step's rows and the next step's. Live
 * beams of sentence s sit at [s*K, s*K + nb[s]) in lp/node; nb[s] = 0 once done. */
typedef struct beam_run {
    sf_search_state st;
    const sf_search_model *m;
    int32_t greedy;               /* argmax fast path (K = 1) */
    int32_t rows, new_rows;       /* live rows this step, next step */
    int32_t *sent, *prev;         /* [n_sent*K] this step's rows */
    int32_t *nsent, *nprev, *from; /* [n_sent*K] next step's rows */
    int64_t *row_attn;            /* [n_sent*K] attention-store offset of each row */
    int32_t *nb;                  /* [n_sent] */
    double *lp, *nlp;             /* [n_sent*K] live beam log-probs, now and next */
    int32_t *node, *nnode;        /* [n_sent*K] live beam last nodes, now and next */
    float *logprobs, *attn;       /* [rows, V], [rows, S_max] */
    int64_t cap_logprobs, cap_attn;
    sf_cand *cand;                /* [2K] */
    /* the topk callback's arrays: row log-probs [n_sent*K]; per live sentence g
     * (in row order) its candidates at [g*2K, ...) and their count [n_sent] */
    double *row_lp, *c_score;
    int32_t *c_beam, *c_token, *c_n;
} beam_run;

static sf_status check_opts(const sf_search_opts *o)
{
    if (o->beam < 1 || o->n_best < 1 || o->n_best > o->beam)
        return SF_FAIL(SF_ERR_INVALID_ARG, "beam %d, n_best %d: expected beam >= 1 and "
                       "1 <= n_best <= beam", (int)o->beam, (int)o->n_best);
    if (!isfinite(o->alpha) || !isfinite(o->beta) || !isfinite(o->max_len_a) ||
        !isfinite(o->max_len_b))
        return SF_FAIL(SF_ERR_INVALID_ARG, "alpha %g, beta %g, max_len_a %g, max_len_b %g: "
                       "expected finite numbers", (double)o->alpha, (double)o->beta,
                       (double)o->max_len_a, (double)o->max_len_b);
    return SF_OK;
}

static sf_status check_args(const sf_search_model *m, int32_t n_sent, const int32_t *src_len,
                            const sf_search_opts *o, const sf_search_result *out)
{
    if (!m || (!m->step && !m->topk) || !m->reorder || !out || n_sent < 0 ||
        (n_sent > 0 && !src_len))
        return SF_FAIL(SF_ERR_INVALID_ARG, "expected a model with step (or topk) and reorder, "
                       "an output, n_sent >= 0 (got %d) and src_len", (int)n_sent);
    if (m->vocab < 4)
        return SF_FAIL(SF_ERR_INVALID_ARG, "vocab %d: expected >= 4 (<pad> <unk> <s> </s>)",
                       (int)m->vocab);
    SF_TRY(check_opts(o));
    if ((int64_t)n_sent * o->beam > INT32_MAX / 2)
        return SF_FAIL(SF_ERR_INVALID_ARG, "%d sentences x beam %d rows: too many; hint: "
                       "smaller batches", (int)n_sent, (int)o->beam);
    return SF_OK;
}

/* Per-sentence max length: max(1, floor(a * |X| + b)). */
static sf_status set_max_len(sf_search_state *st, const sf_search_opts *o)
{
    for (int32_t s = 0; s < st->n_sent; s++) {
        if (st->src_len[s] < 0)
            return SF_FAIL(SF_ERR_INVALID_ARG, "src_len[%d] = %d: expected >= 0", (int)s,
                           (int)st->src_len[s]);
        double L = floor((double)o->max_len_a * st->src_len[s] + (double)o->max_len_b);
        if (L > SF_SEARCH_MAX_LEN)
            return SF_FAIL(SF_ERR_INVALID_ARG, "sentence %d: max length %.0f = %g * %d + %g "
                           "exceeds %d; hint: lower max_len_a / max_len_b", (int)s, L,
                           (double)o->max_len_a, (int)st->src_len[s], (double)o->max_len_b,
                           SF_SEARCH_MAX_LEN);
        st->max_len[s] = L < 1 ? 1 : (int32_t)L;
        st->S_max = st->src_len[s] > st->S_max ? st->src_len[s] : st->S_max;
    }
    return SF_OK;
}

static void run_free(beam_run *r)
{
    void *bufs[] = {r->st.max_len, r->st.nodes, r->st.astore, r->st.fin, r->st.n_fin, r->st.cov,
                    r->sent, r->prev, r->nsent, r->nprev, r->from, r->row_attn, r->nb,
                    r->lp, r->nlp, r->node, r->nnode, r->logprobs, r->attn, r->cand,
                    r->row_lp, r->c_score, r->c_beam, r->c_token, r->c_n};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        free(bufs[i]);
}

/* Allocate the fixed-size arrays; the first step has one row per sentence. */
static sf_status run_init(beam_run *r, const sf_search_model *m, int32_t n_sent,
                          const int32_t *src_len, const sf_search_opts *o, int32_t greedy_fast)
{
    int32_t K = o->beam;
    size_t n = (size_t)(n_sent > 0 ? n_sent : 1), nk = n * (size_t)K;
    sf_search_state *st = &r->st;
    *st = (sf_search_state){.n_sent = n_sent, .K = K, .V = m->vocab, .src_len = src_len,
                            .alpha = o->alpha, .beta = o->beta,
                            .attn_on = o->want_attention || o->beta != 0.0f};
    r->m = m;
    r->greedy = greedy_fast && K == 1 && !m->topk;
    r->rows = n_sent;
    st->max_len = calloc(n, sizeof(int32_t));
    st->fin = calloc(2 * nk, sizeof(sf_fin));
    st->n_fin = calloc(n, sizeof(int32_t));
    r->nb = calloc(n, sizeof(int32_t));
    r->cand = calloc(2 * (size_t)K, sizeof(sf_cand));
    int32_t **rowbufs[] = {&r->sent, &r->prev, &r->nsent, &r->nprev, &r->from, &r->node,
                           &r->nnode};
    int ok = st->max_len && st->fin && st->n_fin && r->nb && r->cand;
    for (size_t i = 0; i < sizeof rowbufs / sizeof rowbufs[0]; i++)
        ok &= (*rowbufs[i] = calloc(nk, sizeof(int32_t))) != NULL;
    ok &= (r->row_attn = calloc(nk, sizeof(int64_t))) != NULL;
    ok &= (r->lp = calloc(nk, sizeof(double))) != NULL;
    ok &= (r->nlp = calloc(nk, sizeof(double))) != NULL;
    if (m->topk) {
        ok &= (r->row_lp = calloc(nk, sizeof(double))) != NULL;
        ok &= (r->c_score = calloc(2 * nk, sizeof(double))) != NULL;
        ok &= (r->c_beam = calloc(2 * nk, sizeof(int32_t))) != NULL;
        ok &= (r->c_token = calloc(2 * nk, sizeof(int32_t))) != NULL;
        ok &= (r->c_n = calloc(n, sizeof(int32_t))) != NULL;
    }
    if (!ok)
        return SF_FAIL(SF_ERR_OOM, "search state for %d sentences x beam %d", (int)n_sent,
                       (int)K);
    SF_TRY(set_max_len(st, o));
    if (!(st->cov = calloc((size_t)st->S_max + 1, sizeof(double))))
        return SF_FAIL(SF_ERR_OOM, "coverage scratch of %d", (int)st->S_max);
    for (int32_t s = 0; s < n_sent; s++) {
        r->sent[s] = s;
        r->prev[s] = SF_BOS_ID;
        r->nb[s] = 1;
        r->lp[(int64_t)s * K] = 0.0;
        r->node[(int64_t)s * K] = -1;
    }
    return SF_OK;
}

/* The decoder's step through topk: the live rows' log-probs in row order, then
 * 2K candidates per live sentence back. */
static sf_status call_topk(beam_run *r, float *attn)
{
    const sf_search_state *st = &r->st;
    for (int32_t s = 0, row = 0; s < st->n_sent; s++)
        for (int32_t j = 0; j < r->nb[s]; j++)
            r->row_lp[row++] = r->lp[(int64_t)s * st->K + j];
    return r->m->topk(r->m->ctx, r->rows, r->sent, r->prev, r->row_lp, 2 * st->K,
                      SF_SEARCH_BAN, r->c_score, r->c_beam, r->c_token, r->c_n, attn);
}

/* Call the decoder for this step's rows; store their attention rows. */
static sf_status run_step(beam_run *r, int32_t t)
{
    sf_search_state *st = &r->st;
    int64_t rows = r->rows, S_max = st->S_max;
    if (!r->m->topk)
        SF_TRY(sf_search_grow((void **)&r->logprobs, &r->cap_logprobs, rows * st->V,
                              sizeof(float), "log-prob rows"));
    if (st->attn_on)
        SF_TRY(sf_search_grow((void **)&r->attn, &r->cap_attn, rows * S_max + 1, sizeof(float),
                              "attention rows"));
    float *attn = st->attn_on ? r->attn : NULL;
    sf_status rc = r->m->topk ? call_topk(r, attn)
                              : r->m->step(r->m->ctx, r->rows, r->sent, r->prev, r->logprobs,
                                           attn);
    if (rc != SF_OK)
        return sf_error_prefix(rc, "sf_search: decoder step %d (%d rows)", (int)t, (int)rows);
    if (!st->attn_on)
        return SF_OK;
    int64_t need = st->n_astore;
    for (int32_t i = 0; i < rows; i++)
        need += st->src_len[r->sent[i]];
    SF_TRY(sf_search_grow((void **)&st->astore, &st->cap_astore, need + 1, sizeof(float),
                          "attention store"));
    for (int32_t i = 0; i < rows; i++) {
        int32_t S = st->src_len[r->sent[i]];
        memcpy(st->astore + st->n_astore, r->attn + i * S_max, sizeof(float) * (size_t)S);
        r->row_attn[i] = st->n_astore;
        st->n_astore += S;
    }
    return SF_OK;
}

/* Group g's candidates from the topk callback into r->cand, checked, so a bad
 * callback cannot send the search out of its arrays. */
static sf_status take_topk(beam_run *r, int32_t s, int32_t g, int32_t *n_cand)
{
    const int32_t k2 = 2 * r->st.K, n = r->c_n[g];
    if (n < 0 || n > k2)
        return SF_FAIL(SF_ERR_INVALID_ARG, "the topk callback gave %d candidates for "
                       "sentence %d (expected 0..%d)", (int)n, (int)s, (int)k2);
    for (int32_t i = 0; i < n; i++) {
        int64_t at = (int64_t)g * k2 + i;
        sf_cand c = {r->c_score[at], r->c_beam[at], r->c_token[at]};
        if (c.beam < 0 || c.beam >= r->nb[s] || c.token < 0 || c.token >= r->st.V ||
            !(c.score < INFINITY) || c.score == -INFINITY)
            return SF_FAIL(SF_ERR_INVALID_ARG, "the topk callback's candidate %d of sentence "
                           "%d is beam %d token %d score %g (expected beam < %d, token < %d, "
                           "a finite score)", (int)i, (int)s, (int)c.beam, (int)c.token,
                           c.score, (int)r->nb[s], (int)r->st.V);
        r->cand[i] = c;
    }
    *n_cand = n;
    return SF_OK;
}

/* Sentence s (live group g), whose nb[s] rows start at row r0, after step t: choose
 * candidates, finish hypotheses, append its next live beams to the next step's rows. */
static sf_status advance_sentence(beam_run *r, int32_t s, int32_t g, int32_t r0, int32_t t)
{
    sf_search_state *st = &r->st;
    int32_t K = st->K, n_cand = 0, n_new = 0, id;
    int64_t base = (int64_t)s * K;
    const float *lps = r->logprobs ? r->logprobs + (int64_t)r0 * st->V : NULL;
    sf_status rc = r->m->topk ? take_topk(r, s, g, &n_cand)
                   : r->greedy ? sf_search_argmax(st->V, r->lp[base], lps, r->cand, &n_cand)
                               : sf_search_topk(r->nb[s], st->V, K, r->lp + base, lps,
                                                r->cand, &n_cand);
    if (rc != SF_OK)
        return sf_error_prefix(rc, "sf_search: step %d, sentence %d (rows from %d)", (int)t,
                               (int)s, (int)r0);
    for (int32_t i = 0; i < n_cand; i++) {
        const sf_cand *c = &r->cand[i];
        int32_t row = r0 + c->beam;
        int64_t attn = st->attn_on ? r->row_attn[row] : -1;
        if (c->token == SF_EOS_ID && i >= K)
            continue;
        if (c->token != SF_EOS_ID && n_new >= K)
            continue;
        SF_TRY(sf_search_node_add(st, r->node[base + c->beam], c->token, attn, &id));
        if (c->token == SF_EOS_ID) {
            sf_search_finish(st, s, id, t, 1, c->score);
            continue;
        }
        r->nlp[base + n_new] = c->score;
        r->nnode[base + n_new] = id;
        r->from[r->new_rows + n_new] = row;
        r->nprev[r->new_rows + n_new] = c->token;
        r->nsent[r->new_rows + n_new] = s;
        n_new++;
    }
    if (st->n_fin[s] >= K) {
        n_new = 0;
    } else if (t + 1 >= st->max_len[s]) { /* cut: finished as they are, no </s> */
        for (int32_t j = 0; j < n_new; j++)
            sf_search_finish(st, s, r->nnode[base + j], t + 1, 0, r->nlp[base + j]);
        n_new = 0;
    }
    r->nb[s] = n_new;
    r->new_rows += n_new;
    return SF_OK;
}

#define SWAP(T, a, b) do { T sw_ = (a); (a) = (b); (b) = sw_; } while (0)

/* Make the next step's rows current and tell the decoder, unless nothing moved. */
static sf_status run_reorder(beam_run *r, int32_t t)
{
    int same = r->new_rows == r->rows;
    for (int32_t i = 0; same && i < r->new_rows; i++)
        same = r->from[i] == i;
    SWAP(int32_t *, r->sent, r->nsent);
    SWAP(int32_t *, r->prev, r->nprev);
    SWAP(double *, r->lp, r->nlp);
    SWAP(int32_t *, r->node, r->nnode);
    r->rows = r->new_rows;
    if (same || r->rows == 0)
        return SF_OK;
    sf_status rc = r->m->reorder(r->m->ctx, r->rows, r->from);
    if (rc != SF_OK)
        return sf_error_prefix(rc, "sf_search: reorder after step %d (%d rows)", (int)t,
                               (int)r->rows);
    return SF_OK;
}

static sf_status run_loop(beam_run *r)
{
    for (int32_t t = 0; r->rows > 0; t++) {
        SF_TRY(run_step(r, t));
        r->new_rows = 0;
        for (int32_t s = 0, r0 = 0, g = 0; s < r->st.n_sent; s++) {
            int32_t nb = r->nb[s];
            if (nb == 0)
                continue;
            SF_TRY(advance_sentence(r, s, g++, r0, t));
            r0 += nb;
        }
        SF_TRY(run_reorder(r, t));
    }
    return SF_OK;
}

sf_status sf_search_run(const sf_search_model *m, int32_t n_sent, const int32_t *src_len,
                        const sf_search_opts *o, int32_t greedy_fast, sf_search_result *out)
{
    sf_search_opts def;
    if (!o) {
        sf_search_opts_default(&def);
        o = &def;
    }
    if (out)
        memset(out, 0, sizeof *out);
    beam_run r;
    memset(&r, 0, sizeof r);
    sf_status rc = check_args(m, n_sent, src_len, o, out);
    if (rc == SF_OK)
        rc = run_init(&r, m, n_sent, src_len, o, greedy_fast);
    if (rc != SF_OK)
        rc = sf_error_prefix(rc, "sf_search");
    if (rc == SF_OK)
        rc = run_loop(&r);
    if (rc == SF_OK)
        rc = sf_search_collect(&r.st, o->n_best, o->want_attention, out);
    run_free(&r);
    return rc;
}

sf_status sf_search(const sf_search_model *m, int32_t n_sent, const int32_t *src_len,
                    const sf_search_opts *o, sf_search_result *out)
{
    return sf_search_run(m, n_sent, src_len, o, 1, out);
}
