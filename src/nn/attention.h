/* attention.h: global attention for one decoder step (Luong dot / general,
 * Bahdanau mlp) with source padding masks, and the output combination h~,
 * forward and hand-written backward. Products go through the backend's sgemm;
 * the fused parts (masked softmax, additive score, bias + tanh) are backend ops.
 *
 * Sizes: B sentences, K query rows per sentence (beam width; 1 in training),
 * S source length, H hidden. Query row r = b*K + j attends over sentence b's
 * memory M[b] with src_len[b] real positions, so keys are computed once per
 * sentence and shared by its K rows.
 *
 * Usage (training, K = 1):
 *   sf_attn_keys_fwd(be, type, B, S, H, M, &w, keys);            // once per batch
 *   for each step t:
 *     sf_attn_step_fwd(be, type, B, 1, S, H, M, keys, src_len, &w, h[t], a[t], c[t],
 *                      ht[t], cache[t]);
 *   for each step t, last first:
 *     sf_attn_step_bwd(be, type, B, 1, S, H, M, keys, src_len, &w, h[t], a[t], c[t], ht[t],
 *                      cache[t], dht[t], NULL, dh[t], dM, dkeys, &g, work);
 *   sf_attn_keys_bwd(be, type, B, S, H, M, &w, dkeys, dM, &g);   // once per batch
 */
#ifndef SF_NN_ATTENTION_H
#define SF_NN_ATTENTION_H

#include <stddef.h>
#include <stdint.h>

#include "backend/backend.h"

typedef enum sf_attn_type {
    SF_ATTN_DOT = 0,
    SF_ATTN_GENERAL = 1,
    SF_ATTN_MLP = 2,
} sf_attn_type;

/* "dot", "general" or "mlp"; anything else is SF_ERR_INVALID_ARG listing those. */
sf_status sf_attn_parse(const char *name, sf_attn_type *out);
/* The config name of a type ("?" for an out-of-range value). */
const char *sf_attn_name(sf_attn_type type);

/* Weights (device pointers). Unused ones for a type may be NULL. */
typedef struct sf_attn_weights {
    const float *w_a; /* [H, H]  general: linear_in */
    const float *w_q; /* [H, H]  mlp: linear_query.weight */
    const float *b_q; /* [H]     mlp: linear_query.bias */
    const float *w_k; /* [H, H]  mlp: linear_context */
    const float *v;   /* [H]     mlp: v */
    const float *w_c; /* [H, 2H] always: linear_out.weight */
    const float *b_c; /* [H]     mlp only: linear_out.bias */
} sf_attn_weights;

/* Gradients, accumulated (+=); a NULL field is not computed. Same shapes. */
typedef struct sf_attn_grads {
    float *w_a, *w_q, *b_q, *w_k, *v, *w_c, *b_c;
} sf_attn_grads;

/* Once per batch: mlp keys = M W_k^T; other types do nothing (keys may be NULL).
 * M, keys: [B, S, H] */
sf_status sf_attn_keys_fwd(sf_backend *be, sf_attn_type type, int B, int S, int H,
                           const float *M, const sf_attn_weights *w, float *keys);
/* Its backward (mlp only): dM += dkeys W_k, g->w_k += dkeys^T M.
 * M, dkeys, dM: [B, S, H] */
sf_status sf_attn_keys_bwd(sf_backend *be, sf_attn_type type, int B, int S, int H,
                           const float *M, const sf_attn_weights *w, const float *dkeys,
                           float *dM, sf_attn_grads *g);

/* Floats of per-step cache step_fwd fills and step_bwd reads (0 for dot: cache may
 * be NULL), and floats of scratch step_bwd needs (`work`, reusable across steps). */
size_t sf_attn_step_cache_floats(sf_attn_type type, int B, int K, int S, int H);
size_t sf_attn_step_work_floats(sf_attn_type type, int B, int K, int S, int H);

/* One step, query h -> align (exactly 0 at s >= src_len[b]), ctx and htilde:
 *   dot: score = h.M_s; general: (W_a h).M_s; mlp: v.tanh(W_q h + b_q + keys_s);
 *   align = masked softmax; ctx = sum_s align_s M_s;
 *   htilde = tanh(W_c [ctx; h]) for dot/general, W_c [ctx; h] + b_c for mlp.
 * M: [B, S, H]; keys: [B, S, H] (mlp, else NULL); src_len: [B]; h, ctx, htilde:
 * [B*K, H]; align: [B*K, S]; cache: [sf_attn_step_cache_floats] */
sf_status sf_attn_step_fwd(sf_backend *be, sf_attn_type type, int B, int K, int S, int H,
                           const float *M, const float *keys, const int32_t *src_len,
                           const sf_attn_weights *w, const float *h, float *align, float *ctx,
                           float *htilde, float *cache);

/* Its backward, given dhtilde [B*K, H] and optionally dalign [B*K, S] (NULL: none).
 * Accumulates (+=) dh [B*K, H], dM [B, S, H] (0 at pad positions), dkeys [B, S, H]
 * (mlp; pass it to sf_attn_keys_bwd) and g. work: [sf_attn_step_work_floats] */
sf_status sf_attn_step_bwd(sf_backend *be, sf_attn_type type, int B, int K, int S, int H,
                           const float *M, const float *keys, const int32_t *src_len,
                           const sf_attn_weights *w, const float *h, const float *align,
                           const float *ctx, const float *htilde, const float *cache,
                           const float *dhtilde, const float *dalign, float *dh, float *dM,
                           float *dkeys, sf_attn_grads *g, float *work);

#endif
