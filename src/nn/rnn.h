/* rnn.h: the recurrent cells (rnn tanh, gru, lstm) with PyTorch's weight layout,
 * forward and hand-written backward, at step level (the decoder) and at layer
 * level over a time-major padded batch (the encoder). Equations: DESIGN.md 1.
 *
 * Usage (one encoder direction, training):
 *   float *cache = ...sf_rnn_layer_cache_floats(SF_CELL_LSTM, T, B, E, h) floats...;
 *   sf_rnn_weights w = {w_ih, w_hh, b_ih, b_hh};
 *   SF_TRY(sf_rnn_layer_fwd(be, SF_CELL_LSTM, T, B, E, h, x, lengths, 0, &w, NULL, NULL,
 *                           y, 2 * h, hT, cT, cache));
 *   ... loss ...
 *   sf_rnn_grads g = {gw_ih, gw_hh, gb_ih, gb_hh};           // accumulated (+=)
 *   SF_TRY(sf_rnn_layer_bwd(be, SF_CELL_LSTM, T, B, E, h, x, lengths, 0, &w, NULL, NULL,
 *                           cache, dy, 2 * h, dhT, dcT, dx, NULL, NULL, &g));
 *
 * All float pointers are device pointers of `be`; `lengths` is host memory.
 * Cost: one GEMM for x W_ih^T over all T*B rows, then per step one GEMM h W_hh^T
 * and one fused pointwise op (be->cell_fwd); the backward keeps the gate grads of
 * every step and does dW_ih, dW_hh, dx as one GEMM each, bias grads as column sums.
 */
#ifndef SF_NN_RNN_H
#define SF_NN_RNN_H

#include <stddef.h>
#include <stdint.h>

#include "backend/backend.h"

typedef enum sf_cell_type { SF_CELL_RNN = 0, SF_CELL_GRU = 1, SF_CELL_LSTM = 2 } sf_cell_type;

/* Gates per cell: 1 (rnn), 3 (gru), 4 (lstm). 0 for an unknown value. */
int sf_cell_gates(sf_cell_type t);
/* "rnn", "gru", "lstm"; the error lists the valid names. */
sf_status sf_cell_parse(const char *name, sf_cell_type *out);
/* "rnn", "gru", "lstm" ("?" for an unknown value). */
const char *sf_cell_name(sf_cell_type t);

/* PyTorch layout, G = sf_cell_gates: w_ih [G*h, in], w_hh [G*h, h], b_ih, b_hh
 * [G*h]; gate order lstm i,f,g,o; gru r,z,n. */
typedef struct sf_rnn_weights {
    const float *w_ih, *w_hh, *b_ih, *b_hh;
} sf_rnn_weights;

/* Same shapes; the backward adds (+=) into them. */
typedef struct sf_rnn_grads {
    float *w_ih, *w_hh, *b_ih, *b_hh;
} sf_rnn_grads;

/* ---------------------------------------------------------------- one step, B rows
 * mask [B]: 1 real row, 0 keeps the previous state (h_out = h_prev, c_out = c_prev;
 * the backward passes dh/dc straight to dh_prev/dc_prev); NULL = all real.
 * The cache (sf_rnn_step_cache_floats) holds what the backward needs; the backward
 * only overwrites its scratch part, so it may be run again on the same cache. */
size_t sf_rnn_step_cache_floats(sf_cell_type t, int B, int h);

// x: [B, in] row stride ldx; h_prev, h_out: [B, h]; c_prev, c_out: [B, h] (lstm,
// else NULL); mask: [B] or NULL; cache: [sf_rnn_step_cache_floats]
sf_status sf_rnn_step_fwd(sf_backend *be, sf_cell_type t, int B, int in, int h,
                          const float *x, int ldx, const sf_rnn_weights *w,
                          const float *h_prev, const float *c_prev, const float *mask,
                          float *h_out, float *c_out, float *cache);

// dh: [B, h] grad wrt h_out; dc: [B, h] grad wrt c_out (lstm; NULL = 0);
// dx: [B, in] stride lddx, ACCUMULATED (+=), NULL = not wanted;
// dh_prev: [B, h] written (=), must not alias dh; dc_prev: [B, h] written (lstm; may
// alias dc; NULL = not wanted); g: accumulated (+=), NULL = no weight grads.
sf_status sf_rnn_step_bwd(sf_backend *be, sf_cell_type t, int B, int in, int h,
                          const float *x, int ldx, const sf_rnn_weights *w,
                          const float *h_prev, const float *c_prev, const float *mask,
                          float *cache, const float *dh, const float *dc, float *dx,
                          int lddx, float *dh_prev, float *dc_prev, sf_rnn_grads *g);

/* ---------------------------------------------------------------- one layer direction
 * x: [T, B, in] time-major, contiguous; lengths[b] in 0..T (NULL = all T).
 * Padding never changes a state: positions t >= lengths[b] give y = 0 and leave the
 * state alone, so hT/cT hold each sequence's state after its own last real token.
 * reverse = 1 runs each sequence from position lengths[b]-1 down to 0 (PyTorch's packed
 * bidirectional RNN), so its hT is the state after position 0.
 * Method: steps run in "processing order" s = 0..T-1 with a mask (s < lengths[b]);
 * the row of (s, b) is x[t, b] with t = s (forward) or lengths[b]-1-s (reverse). That
 * map is its own inverse, so one index table gathers x into processing order
 * and gathers the states back into y (and dy, dx the same way in the backward).
 * x at pad positions must be finite (it meets zero gradients in dW_ih).
 * The backward reuses the cache's scratch (input products, reordered x): run the
 * forward again before a second backward on the same cache. */
size_t sf_rnn_layer_cache_floats(sf_cell_type t, int T, int B, int in, int h);

// x: [T, B, in]; lengths: [B] host; h0, c0: [B, h] or NULL (zeros; c0 lstm only);
// y: [T, B, *] gets h columns at row stride ldy (fwd/bwd directions can write the
// halves of [T, B, 2h]); hT, cT: [B, h] (cT lstm only; either may be NULL);
// cache: [sf_rnn_layer_cache_floats]
sf_status sf_rnn_layer_fwd(sf_backend *be, sf_cell_type t, int T, int B, int in, int h,
                           const float *x, const int32_t *lengths, int reverse,
                           const sf_rnn_weights *w, const float *h0, const float *c0,
                           float *y, int ldy, float *hT, float *cT, float *cache);

// dy: [T, B, *] stride ldy (NULL = 0; pad positions are ignored); dhT, dcT: [B, h] or
// NULL; dx: [T, B, in] ACCUMULATED (+=) or NULL; dh0, dc0: [B, h] written (=) or NULL;
// g: accumulated (+=) or NULL.
sf_status sf_rnn_layer_bwd(sf_backend *be, sf_cell_type t, int T, int B, int in, int h,
                           const float *x, const int32_t *lengths, int reverse,
                           const sf_rnn_weights *w, const float *h0, const float *c0,
                           float *cache, const float *dy, int ldy, const float *dhT,
                           const float *dcT, float *dx, float *dh0, float *dc0,
                           sf_rnn_grads *g);

/* After sf_rnn_step_bwd with g == NULL (weight gradients skipped): the step's
 * gradients w.r.t. its input pre-activations (x W_ih^T + b_ih) and recurrent
 * pre-activations (h W_hh^T + b_hh; the same array except for gru), [B, G*h],
 * inside the step cache (valid until the cache is reused). */
void sf_rnn_step_dgates(sf_cell_type t, int B, int h, const float *cache, const float **dxg,
                        const float **dhg);

/* Weight gradients of many steps at once (R = steps x rows): dW_ih += dxg^T x,
 * dW_hh += dhg^T h_prev, db_ih += colsum(dxg), db_hh += colsum(dhg).
 * dxg, dhg: [R, G*h]; x: [R, in] stride ldx; h_prev: [R, h]. */
sf_status sf_rnn_weight_grads(sf_backend *be, sf_cell_type t, int R, int in, int h,
                              const float *dxg, const float *dhg, const float *x, int ldx,
                              const float *h_prev, sf_rnn_grads *g);

#endif
