/* infer.h: the network for decoding: encode a batch once, then the decoder
 * as start state + step, with rows (hypotheses) that a search can reorder,
 * duplicate and drop. Attention keys are computed once per sentence; rows of
 * one sentence that sit next to each other share its memory in one call. */
#ifndef SF_NN_INFER_H
#define SF_NN_INFER_H

#include <stdint.h>

#include "nn/s2s.h"

typedef struct sf_infer sf_infer;

/* Encode n sentences (src [n,S] host ids padded with 0, src_len [n] host) and
 * set one decoder row per sentence (row i = sentence i). max_rows bounds the
 * rows any later step may have (n x beam). */
sf_status sf_infer_start(sf_s2s *m, int n, int S, const int32_t *src, const int32_t *src_len,
                         int max_rows, sf_infer **out);
/* One decoder step for `rows` rows: row r belongs to sentence sent[r] and
 * last produced prev[r]. Writes log-probabilities [rows, V] and, when attn is
 * not NULL, attention [rows, S] (0 beyond the sentence) to host memory. */
sf_status sf_infer_step(sf_infer *inf, int rows, const int32_t *sent, const int32_t *prev,
                        float *logprobs, float *attn);
/* The same step, its logits [rows, V] (no log-softmax) left on the device for
 * sf_infer_topk; attention as in sf_infer_step. */
sf_status sf_infer_step_logits(sf_infer *inf, int rows, const int32_t *sent,
                               const int32_t *prev, float *attn);
/* After sf_infer_step_logits over the same rows: the search's candidates (the
 * topk callback of search/search.h) by the backend's beam_topk with log-softmax
 * fused in; groups are runs of rows with equal sent. beam_lp: [rows]; score,
 * beam, token: [groups, k2] out; n_cand: [groups] out (host arrays). */
sf_status sf_infer_topk(sf_infer *inf, int rows, const int32_t *sent, const double *beam_lp,
                        int k2, uint32_t ban, double *score, int32_t *beam, int32_t *token,
                        int32_t *n_cand);
/* New row r continues old row from[r]. */
sf_status sf_infer_reorder(sf_infer *inf, int new_rows, const int32_t *from);
void sf_infer_free(sf_infer *inf);

/* Stages timed when sf_infer_set_timing is on (benchmarks). */
typedef enum sf_infer_stage {
    SF_INFER_CELLS = 0,  /* ids upload, embedding, input feeding, the recurrent layers */
    SF_INFER_ATTENTION,  /* attention of every sentence's rows, linear_out + tanh */
    SF_INFER_OUTPUT,     /* generator, log-softmax, download of log-probs (and attention) */
    SF_INFER_REORDER,    /* sf_infer_reorder's state gathers */
    SF_INFER_STAGE_COUNT
} sf_infer_stage;
/* stage_seconds: [SF_INFER_STAGE_COUNT] host, or NULL (off, the default). When on,
 * step and reorder add each stage's seconds to it; every stage boundary
 * synchronizes the device (a small cost on GPUs), and only then. */
void sf_infer_set_timing(sf_infer *inf, double *stage_seconds);

#endif
