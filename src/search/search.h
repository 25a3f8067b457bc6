/* search.h: batched beam search (greedy = beam 1) over flat arrays. It knows
 * nothing of the network: the decoder is driven through callbacks, step
 * (log-probabilities of the next token per live row) or topk (the step's best
 * candidates per sentence, chosen where the log-probabilities are: on a GPU only
 * [sentences, 2K] values come back instead of [rows, V]), and reorder (rearrange rows).
 *
 * Usage:
 *     sf_search_model m = {.ctx = dec, .vocab = V, .step = my_step, .reorder = my_reorder};
 *     sf_search_opts o;
 *     sf_search_opts_default(&o);               // beam 5, alpha 0.6, 1-best
 *     o.beam = 4; o.n_best = 2;
 *     sf_search_result r;
 *     SF_TRY(sf_search(&m, n_sent, src_len, &o, &r)); // decoder holds 1 row per sentence
 *     for (int32_t s = 0; s < r.n_sent; s++)
 *         for (int32_t h = 0; h < r.n_hyps[s]; h++)
 *             use(r.hyps[s][h].tokens, r.hyps[s][h].len, r.hyps[s][h].score);
 *     sf_search_result_free(&r);
 *
 * Rows and the decoder. The decoder starts with ONE row per sentence (row i =
 * sentence i, previous token <s>). Every step the search asks for log P(y | prefix)
 * of every live row, keeps up to K live beams per sentence, and then calls reorder so
 * that the decoder's rows follow: new row r continues old row from[r] (one old row
 * may feed several new rows; the rows of finished sentences are dropped). Rows are
 * always grouped by sentence in increasing sentence order, best beam first. reorder
 * is not called when the layout is unchanged (from[r] = r for all r, same count).
 *
 * Each step, per sentence: candidates = live beam log-prob + log P(v), over the
 * live beams x V; the best 2K are taken in order (ties: lower beam, then lower
 * token id). A </s> candidate among the first K becomes a finished hypothesis;
 * other candidates fill up to K live beams. <pad> and <s> are never extended
 * (<unk> is), nor is a candidate whose log-prob is -inf. A sentence is done when it
 * has K finished hypotheses, when no live beam is left, or when its live beams reach
 * the maximum length; those beams are then finished as they are: no </s> is
 * appended and no P(</s>) is added to their log-prob, but the length penalty counts
 * them as if </s> followed. Live beams are ranked by log-prob alone; the length and
 * coverage penalties only score finished hypotheses.
 *
 * Scores (GNMT, Wu et al. 2016):
 *     score = logprob / lp + beta * cp,   lp = ((5 + n) / 6)^alpha,  n = len + 1
 *     cp = sum over source positions j < |X| of log(min(max(sum_i a_ij, 1e-30), 1))
 * where n counts the generated tokens with the final </s> and a_ij is the attention
 * of the hypothesis' step i (the </s> step included) on source position j.
 * Token ids: 0 <pad>, 1 <unk>, 2 <s>, 3 </s> (seqfuse/tokenizer.h). */
#ifndef SF_SEARCH_SEARCH_H
#define SF_SEARCH_SEARCH_H

#include <stdint.h>

#include "seqfuse/status.h"
#include "seqfuse/tokenizer.h"

/* Tokens a hypothesis never continues with, as a mask (bit v = token v): <pad>, <s>. */
#define SF_SEARCH_BAN ((1u << SF_PAD_ID) | (1u << SF_BOS_ID))

typedef struct sf_search_model {
    void *ctx;
    int32_t vocab; /* V, >= 4 */
    /* logprobs: [rows, V], out: log-softmax of the next token of each live row, whose
     * previous token is prev[r] (<s> = 2 at the first step). Row r belongs to sentence
     * sent[r] (index into the original batch). attn: [rows, S_max] out, or NULL when
     * not wanted: this step's attention of each row, 0 beyond its sentence's length;
     * S_max = the largest src_len of the batch. sent, prev: [rows] */
    sf_status (*step)(void *ctx, int32_t rows, const int32_t *sent, const int32_t *prev,
                      float *logprobs, float *attn);
    /* Rearrange the per-row state: new row r takes old row from[r]. from: [new_rows] */
    sf_status (*reorder)(void *ctx, int32_t new_rows, const int32_t *from);
    /* Optional (NULL: step is used; last, so {ctx, V, step, reorder}
     * initializers stay valid): the step's candidates instead of its log-probs.
     * rows, sent, prev, attn as in step; beam_lp: [rows] each row's live log-prob.
     * Rows come in G groups, one per live sentence (consecutive rows with the same
     * sent). For group g, write its best min(k2, n) candidates out of its rows x V,
     * best first, n being the eligible ones (token v not banned: bit v of ban for
     * v < 32; log P(v) > -inf): score = beam_lp[r] + (double)log P(v | row r) ranked
     * descending, ties to the lower beam (row within the group), then the lower v;
     * score, beam, token: [G, k2] out (group g at g*k2), n_cand: [G] out. With the
     * same log-probs, this must give exactly what step + the search's own selection
     * would (core/topk.h); greedy (K = 1) then takes the general path, which picks
     * the same tokens as its argmax fast path. A NaN or +inf log-prob is
     * SF_ERR_NUMERIC. */
    sf_status (*topk)(void *ctx, int32_t rows, const int32_t *sent, const int32_t *prev,
                      const double *beam_lp, int32_t k2, uint32_t ban, double *score,
                      int32_t *beam, int32_t *token, int32_t *n_cand, float *attn);
} sf_search_model;

typedef struct sf_search_opts {
    int32_t beam;              /* K >= 1, default 5; 1 = greedy (a fast path) */
    float alpha;               /* length penalty exponent, default 0.6; 0 = none */
    float beta;                /* coverage penalty weight, default 0 (asks for attention) */
    int32_t n_best;            /* hypotheses kept per sentence, 1..K, default 1 */
    float max_len_a, max_len_b; /* max target length (tokens without </s>) =
                                 * max(1, floor(a * |X| + b)), default 3 and 10 */
    int32_t want_attention;    /* 1: return each hypothesis' attention rows */
} sf_search_opts;

void sf_search_opts_default(sf_search_opts *o);

typedef struct sf_hyp {
    int32_t *tokens; /* [len], without </s> */
    int32_t len;
    int32_t eos;     /* 1: ended with </s>; 0: cut at the max length */
    double logprob;  /* sum of log P(y_i | y_<i, X), the </s> step included when eos */
    double score;    /* logprob / lp(len + 1) + beta * cp */
    int32_t src_len; /* S = |X| of the sentence */
    float *attn;     /* [len + eos, S], one row per step, or NULL (not wanted) */
} sf_hyp;

typedef struct sf_search_result {
    int32_t n_sent;
    int32_t *n_hyps; /* [n_sent], each <= n_best (0 only if nothing could be generated) */
    sf_hyp **hyps;   /* hyps[s][0 .. n_hyps[s]), best score first (ties: found first) */
} sf_search_result;

/* Search n_sent sentences; src_len: [n_sent], |X| of each (sets the max length and
 * the attention width). o NULL = defaults. On failure *out is left empty (nothing to
 * free); a callback's failure keeps its status and message, prefixed with the step. */
sf_status sf_search(const sf_search_model *m, int32_t n_sent, const int32_t *src_len,
                    const sf_search_opts *o, sf_search_result *out);

/* Accepts NULL and a zeroed or already freed result. */
void sf_search_result_free(sf_search_result *r);

#endif
