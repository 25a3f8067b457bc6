/* rnn.c: recurrent cells at step level and at layer level (one direction over a
 * time-major padded batch): the products through be->sgemm, the pointwise half
 * through be->cell_fwd / cell_bwd, reordering through be->gather_rows; or, where
 * the backend offers them (cuDNN), whole layers through be->rnn_layer_*. */
#include "nn/rnn.h"

#include <limits.h>
#include <stdint.h>

#include "core/log.h"
#include <stdlib.h>
#include <string.h>

static const char *const cell_names[] = {"rnn", "gru", "lstm"};

int sf_cell_gates(sf_cell_type t)
{
    return t == SF_CELL_RNN ? 1 : t == SF_CELL_GRU ? 3 : t == SF_CELL_LSTM ? 4 : 0;
}

/* Floats per row of the pointwise op's `saved` block (backend.h). */
static int cell_saved_cols(sf_cell_type t, int h)
{
    return (t == SF_CELL_RNN ? 1 : t == SF_CELL_GRU ? 4 : 5) * h;
}

sf_status sf_cell_parse(const char *name, sf_cell_type *out)
{
    for (int i = 0; i < 3; i++) {
        if (name && strcmp(name, cell_names[i]) == 0) {
            *out = (sf_cell_type)i;
            return SF_OK;
        }
    }
    return SF_FAIL(SF_ERR_INVALID_ARG, "unknown cell \"%s\" (expected rnn, gru or lstm)",
                   name ? name : "(null)");
}

const char *sf_cell_name(sf_cell_type t)
{
    return sf_cell_gates(t) ? cell_names[t] : "?";
}

/* Round a float count up to 64 bytes so every cache block stays aligned. */
static size_t r16(size_t n) { return (n + 15) / 16 * 16; }

static sf_status check_common(sf_backend *be, sf_cell_type t, int B, int in, int h,
                              const sf_rnn_weights *w, const void *cache)
{
    if (!be || !be->cell_fwd || !be->cell_bwd || !be->gather_rows || !be->colsum_acc)
        return SF_FAIL(SF_ERR_INVALID_ARG, "no backend or a backend without cell ops");
    if (!sf_cell_gates(t))
        return SF_FAIL(SF_ERR_INVALID_ARG, "unknown cell type %d (expected 0 rnn, 1 gru, "
                       "2 lstm)", (int)t);
    if (B < 0 || in < 1 || h < 1)
        return SF_FAIL(SF_ERR_INVALID_ARG, "%s: bad sizes B=%d in=%d h=%d (expected B >= 0, "
                       "in >= 1, h >= 1)", sf_cell_name(t), B, in, h);
    if (!w || !w->w_ih || !w->w_hh || !w->b_ih || !w->b_hh || !cache)
        return SF_FAIL(SF_ERR_INVALID_ARG, "%s: missing weights or cache", sf_cell_name(t));
    return SF_OK;
}

/* ================================================================ step level */

/* Step cache: xg [B, W] (fwd input product, bwd dxg), hg [B, W] (fwd recurrent
 * product, bwd dhg for gru), saved [B, S], dc [B, h] (bwd, lstm: stands for a NULL
 * dc / dc_prev). */
typedef struct step_layout {
    size_t xg, hg, sv, dc, total;
} step_layout;

static step_layout step_layout_of(sf_cell_type t, int B, int h)
{
    size_t W = (size_t)sf_cell_gates(t) * h;
    step_layout L;
    L.xg = 0;
    L.hg = L.xg + r16((size_t)B * W);
    L.sv = L.hg + r16((size_t)B * W);
    L.dc = L.sv + r16((size_t)B * cell_saved_cols(t, h));
    L.total = L.dc + (t == SF_CELL_LSTM ? r16((size_t)B * h) : 0);
    return L;
}

size_t sf_rnn_step_cache_floats(sf_cell_type t, int B, int h)
{
    if (!sf_cell_gates(t) || B < 0 || h < 1)
        return 0;
    return step_layout_of(t, B, h).total;
}

static sf_status check_step(sf_backend *be, sf_cell_type t, int B, int in, int h,
                            const float *x, int ldx, const sf_rnn_weights *w,
                            const float *h_prev, const float *c_prev, const void *cache)
{
    SF_TRY(check_common(be, t, B, in, h, w, cache));
    if (!x || ldx < in || !h_prev || (t == SF_CELL_LSTM && !c_prev))
        return SF_FAIL(SF_ERR_INVALID_ARG, "%s: missing x/h_prev/c_prev or ldx=%d < in=%d",
                       sf_cell_name(t), ldx, in);
    return SF_OK;
}

sf_status sf_rnn_step_fwd(sf_backend *be, sf_cell_type t, int B, int in, int h,
                          const float *x, int ldx, const sf_rnn_weights *w,
                          const float *h_prev, const float *c_prev, const float *mask,
                          float *h_out, float *c_out, float *cache)
{
    SF_TRY(check_step(be, t, B, in, h, x, ldx, w, h_prev, c_prev, cache));
    if (!h_out || (t == SF_CELL_LSTM && !c_out))
        return SF_FAIL(SF_ERR_INVALID_ARG, "%s: missing h_out/c_out", sf_cell_name(t));
    if (B == 0)
        return SF_OK;
    const int W = sf_cell_gates(t) * h;
    step_layout L = step_layout_of(t, B, h);
    // xg = x W_ih^T: [B, W]; hg = h_prev W_hh^T: [B, W]
    SF_TRY(be->sgemm(be, SF_NO_TRANS, SF_TRANS, B, W, in, 1.0f, x, ldx, w->w_ih, in, 0.0f,
                     cache + L.xg, W));
    SF_TRY(be->sgemm(be, SF_NO_TRANS, SF_TRANS, B, W, h, 1.0f, h_prev, h, w->w_hh, h, 0.0f,
                     cache + L.hg, W));
    return be->cell_fwd(be, (int)t, B, h, cache + L.xg, W, cache + L.hg, W, w->b_ih, w->b_hh,
                        h_prev, t == SF_CELL_LSTM ? c_prev : NULL, mask, h_out,
                        t == SF_CELL_LSTM ? c_out : NULL, cache + L.sv);
}

/* Weight grads from the gate grads of R rows, one GEMM each:
 * g.w_ih += dgx^T X, g.w_hh += dgh^T Hp, g.b_* += column sums of dgx, dgh.
 * dgx, dgh: [R, W]; X: [R, in] stride ldx; Hp: [R, h]. */
static sf_status weight_grads(sf_backend *be, int R, int W, int in, int h, const float *dgx,
                              const float *dgh, const float *X, int ldx, const float *Hp,
                              sf_rnn_grads *g)
{
    if (!g->w_ih || !g->w_hh || !g->b_ih || !g->b_hh)
        return SF_FAIL(SF_ERR_INVALID_ARG, "grads given with a NULL member");
    SF_TRY(be->sgemm(be, SF_TRANS, SF_NO_TRANS, W, in, R, 1.0f, dgx, W, X, ldx, 1.0f, g->w_ih,
                     in));
    SF_TRY(be->sgemm(be, SF_TRANS, SF_NO_TRANS, W, h, R, 1.0f, dgh, W, Hp, h, 1.0f, g->w_hh,
                     h));
    SF_TRY(be->colsum_acc(be, R, W, dgx, W, g->b_ih));
    return be->colsum_acc(be, R, W, dgh, W, g->b_hh);
}

sf_status sf_rnn_step_bwd(sf_backend *be, sf_cell_type t, int B, int in, int h,
                          const float *x, int ldx, const sf_rnn_weights *w,
                          const float *h_prev, const float *c_prev, const float *mask,
                          float *cache, const float *dh, const float *dc, float *dx,
                          int lddx, float *dh_prev, float *dc_prev, sf_rnn_grads *g)
{
    SF_TRY(check_step(be, t, B, in, h, x, ldx, w, h_prev, c_prev, cache));
    if (!dh || !dh_prev || dh_prev == dh || (dx && lddx < in))
        return SF_FAIL(SF_ERR_INVALID_ARG, "%s: need dh and a separate dh_prev, lddx >= in "
                       "(got %d, in=%d)", sf_cell_name(t), lddx, in);
    if (B == 0)
        return SF_OK;
    const int W = sf_cell_gates(t) * h;
    const int lstm = t == SF_CELL_LSTM, gru = t == SF_CELL_GRU;
    step_layout L = step_layout_of(t, B, h);
    float *dgx = cache + L.xg, *dgh = gru ? cache + L.hg : dgx;
    if (lstm && !dc) { /* dc = 0 */
        SF_TRY(be->fill(be, cache + L.dc, (int64_t)B * h, 0.0f));
        dc = cache + L.dc;
    }
    if (lstm && !dc_prev) /* computed, then dropped */
        dc_prev = cache + L.dc;
    SF_TRY(be->fill(be, dh_prev, (int64_t)B * h, 0.0f));
    SF_TRY(be->cell_bwd(be, (int)t, B, h, cache + L.sv, h_prev, lstm ? c_prev : NULL, mask,
                        dh, lstm ? dc : NULL, dgx, W, gru ? dgh : NULL, W, dh_prev,
                        lstm ? dc_prev : NULL));
    // dh_prev += dgh W_hh: [B, h]
    SF_TRY(be->sgemm(be, SF_NO_TRANS, SF_NO_TRANS, B, h, W, 1.0f, dgh, W, w->w_hh, h, 1.0f,
                     dh_prev, h));
    if (dx) // dx += dgx W_ih: [B, in]
        SF_TRY(be->sgemm(be, SF_NO_TRANS, SF_NO_TRANS, B, in, W, 1.0f, dgx, W, w->w_ih, in,
                         1.0f, dx, lddx));
    return g ? weight_grads(be, B, W, in, h, dgx, dgh, x, ldx, h_prev, g) : SF_OK;
}

/* ================================================================ layer level */

/* Layer cache, W = G*h, S = saved cols, rows in processing order (rnn.h):
 *   xg   [T*B, W]   fwd: x W_ih^T;  bwd: dxg of every step
 *   hg   [T*B or B, W]  fwd: h W_hh^T per step; bwd (gru): dhg of every step
 *   hs   [T+1, B, h]  hs[0] = h0, hs[s+1] = state after step s
 *   cs   [T+1, B, h]  the same for c (lstm)
 *   sv   [T, B, S]  the pointwise op's saved activations
 *   d    [T+1, B, h]  bwd: d[s] = grad wrt hs[s]
 *   xr   [T*B, in]  reverse: x in processing order; bwd scratch for dx
 *   dc   [B, h]     bwd: running grad wrt c
 *   mask [T*B], idx [T*B] (int32)                                          */
typedef struct layer_layout {
    size_t xg, hg, hs, cs, sv, d, xr, dc, mask, idx, total;
} layer_layout;

static layer_layout layer_layout_of(sf_cell_type t, int T, int B, int in, int h)
{
    size_t W = (size_t)sf_cell_gates(t) * h, TB = (size_t)T * B, Bh = (size_t)B * h;
    layer_layout L;
    L.xg = 0;
    L.hg = L.xg + r16(TB * W);
    L.hs = L.hg + r16((t == SF_CELL_GRU ? TB : (size_t)B) * W);
    L.cs = L.hs + r16((T + 1) * Bh);
    L.sv = L.cs + (t == SF_CELL_LSTM ? r16((T + 1) * Bh) : 0);
    L.d = L.sv + r16(TB * cell_saved_cols(t, h));
    L.xr = L.d + r16((T + 1) * Bh);
    L.dc = L.xr + r16(TB * in);
    L.mask = L.dc + r16(Bh);
    L.idx = L.mask + r16(TB);
    L.total = L.idx + r16(TB);
    return L;
}

size_t sf_rnn_layer_cache_floats(sf_cell_type t, int T, int B, int in, int h)
{
    if (!sf_cell_gates(t) || T < 1 || B < 0 || in < 1 || h < 1)
        return 0;
    return layer_layout_of(t, T, B, in, h).total;
}

static sf_status check_layer(sf_backend *be, sf_cell_type t, int T, int B, int in, int h,
                             const float *x, const int32_t *lengths, const sf_rnn_weights *w,
                             int ldy, const void *cache)
{
    SF_TRY(check_common(be, t, B, in, h, w, cache));
    int64_t widest = (int64_t)sf_cell_gates(t) * h > in ? (int64_t)sf_cell_gates(t) * h : in;
    if (T < 1 || (int64_t)T * B * widest > INT_MAX || !x || ldy < h)
        return SF_FAIL(SF_ERR_INVALID_ARG, "%s: bad layer T=%d B=%d ldy=%d (expected T >= 1, "
                       "T*B*max(G*h, in) < 2^31, ldy >= h=%d, x given)", sf_cell_name(t), T,
                       B, ldy, h);
    for (int b = 0; lengths && b < B; b++) {
        if (lengths[b] < 0 || lengths[b] > T)
            return SF_FAIL(SF_ERR_INVALID_ARG, "%s: lengths[%d] = %d, expected 0..T=%d",
                           sf_cell_name(t), b, (int)lengths[b], T);
    }
    return SF_OK;
}

/* Upload the step masks and the index table of processing order <-> positions:
 * idx[s*B+b] = (s < len ? (reverse ? len-1-s : s) * B + b : -1), mask = (s < len). */
static sf_status upload_order(sf_backend *be, int T, int B, const int32_t *lengths,
                              int reverse, float *mask_dev, int32_t *idx_dev)
{
    size_t TB = (size_t)T * B;
    float *mask = malloc(TB * sizeof(float) + 1);
    int32_t *idx = malloc(TB * sizeof(int32_t) + 1);
    if (!mask || !idx) {
        free(mask), free(idx);
        return SF_FAIL(SF_ERR_OOM, "could not allocate %zu index entries", TB);
    }
    for (int s = 0; s < T; s++) {
        for (int b = 0; b < B; b++) {
            int len = lengths ? lengths[b] : T, real = s < len;
            mask[(size_t)s * B + b] = real ? 1.0f : 0.0f;
            idx[(size_t)s * B + b] = real ? (reverse ? len - 1 - s : s) * B + b : -1;
        }
    }
    sf_status st = be->upload(be, mask_dev, mask, TB * sizeof(float));
    if (st == SF_OK)
        st = be->upload(be, idx_dev, idx, TB * sizeof(int32_t));
    free(mask), free(idx);
    return st;
}

/* dst = src ([n] floats), or zeros when src is NULL. */
static sf_status copy_or_zero(sf_backend *be, float *dst, const float *src, int64_t n)
{
    return src ? be->copy(be, dst, src, n) : be->fill(be, dst, n, 0.0f);
}

/* The time loop: per step one GEMM h W_hh^T and one pointwise op. */
static sf_status layer_steps_fwd(sf_backend *be, sf_cell_type t, int T, int B, int h,
                                 const sf_rnn_weights *w, float *cache, const layer_layout *L)
{
    const int W = sf_cell_gates(t) * h, S = cell_saved_cols(t, h);
    const int lstm = t == SF_CELL_LSTM;
    const size_t Bh = (size_t)B * h;
    for (int s = 0; s < T; s++) {
        float *hp = cache + L->hs + s * Bh, *cp = lstm ? cache + L->cs + s * Bh : NULL;
        float *hg = cache + L->hg + (t == SF_CELL_GRU ? (size_t)s * B * W : 0);
        // hg = h_prev W_hh^T: [B, W]
        SF_TRY(be->sgemm(be, SF_NO_TRANS, SF_TRANS, B, W, h, 1.0f, hp, h, w->w_hh, h, 0.0f,
                         hg, W));
        SF_TRY(be->cell_fwd(be, (int)t, B, h, cache + L->xg + (size_t)s * B * W, W, hg, W,
                            w->b_ih, w->b_hh, hp, cp, cache + L->mask + (size_t)s * B,
                            hp + Bh, lstm ? cp + Bh : NULL, cache + L->sv + (size_t)s * B * S));
    }
    return SF_OK;
}

/* ================================================================ vendor layers */

/* The vendor path's use of the layer cache (the same floats as layer_layout):
 * [xg, xr) holds h0, c0 (zeros when not given), y in processing order, dy in
 * processing order (backward), then the vendor's reserve (from a 256-byte
 * boundary) to the end; dc holds the lengths (int32, device); xr holds x in
 * processing order (reverse), in the backward dx in processing order; idx and
 * mask as for our own steps. Offsets in floats. */
typedef struct vendor_plan {
    int use;
    size_t h0, c0, y, dy, reserve, reserve_floats;
} vendor_plan;

/* Whether the layer goes through the backend's rnn_layer_* ops: offered, lengths
 * given and all >= 1, and the reserve fits the cache. Decided from shapes and
 * lengths alone, so a backward takes the path its forward took. */
static sf_status vendor_choose(sf_backend *be, sf_cell_type t, int T, int B, int in, int h,
                               const int32_t *lengths, const float *cache,
                               const layer_layout *L, vendor_plan *P)
{
    memset(P, 0, sizeof *P);
    if (!be->rnn_layer_fwd || !lengths || B == 0)
        return SF_OK;
    for (int b = 0; b < B; b++)
        if (lengths[b] < 1)
            return SF_OK;
    sf_rnn_layer_io io = {.cell = (int)t, .T = T, .B = B, .in = in, .h = h, .len = lengths};
    size_t need = 0, Bh = (size_t)B * h, TBh = (size_t)T * Bh;
    SF_TRY(be->rnn_layer_reserve(be, &io, &need));
    P->h0 = L->xg;
    P->c0 = P->h0 + r16(Bh);
    P->y = P->c0 + (t == SF_CELL_LSTM ? r16(Bh) : 0);
    P->dy = P->y + r16(TBh);
    size_t r = P->dy + r16(TBh);
    r += (64 - (size_t)(((uintptr_t)(cache + r) / sizeof(float)) % 64)) % 64;
    if (r > L->xr || (L->xr - r) * sizeof(float) < need) {
        sf_log_debug("%s layer T=%d B=%d in=%d h=%d: the vendor's reserve of %zu bytes does "
                     "not fit the cache; using our own kernels", sf_cell_name(t), T, B, in, h,
                     need);
        return SF_OK;
    }
    P->use = 1, P->reserve = r, P->reserve_floats = L->xr - r;
    return SF_OK;
}

/* The vendor ops' arguments for this layer's cache (x and the backward's fields
 * are the caller's). */
static sf_rnn_layer_io vendor_io(sf_cell_type t, int T, int B, int in, int h,
                                 const int32_t *lengths, const sf_rnn_weights *w, float *cache,
                                 const layer_layout *L, const vendor_plan *P)
{
    return (sf_rnn_layer_io){
        .cell = (int)t, .T = T, .B = B, .in = in, .h = h, .len = lengths,
        .dev_len = (const int32_t *)(cache + L->dc), .w_ih = w->w_ih, .w_hh = w->w_hh,
        .b_ih = w->b_ih, .b_hh = w->b_hh, .h0 = cache + P->h0,
        .c0 = t == SF_CELL_LSTM ? cache + P->c0 : NULL, .y = cache + P->y,
        .reserve = cache + P->reserve, .reserve_bytes = P->reserve_floats * sizeof(float)};
}

static sf_status layer_fwd_vendor(sf_backend *be, sf_cell_type t, int T, int B, int in, int h,
                                  const float *x, const int32_t *lengths, int reverse,
                                  const sf_rnn_weights *w, const float *h0, const float *c0,
                                  float *y, int ldy, float *hT, float *cT, float *cache,
                                  const layer_layout *L, const vendor_plan *P)
{
    const int TB = T * B, lstm = t == SF_CELL_LSTM;
    int32_t *idx = (int32_t *)(cache + L->idx);
    SF_TRY(upload_order(be, T, B, lengths, reverse, cache + L->mask, idx));
    SF_TRY(be->upload(be, cache + L->dc, lengths, sizeof(int32_t) * (size_t)B));
    SF_TRY(copy_or_zero(be, cache + P->h0, h0, (int64_t)B * h));
    if (lstm)
        SF_TRY(copy_or_zero(be, cache + P->c0, c0, (int64_t)B * h));
    sf_rnn_layer_io io = vendor_io(t, T, B, in, h, lengths, w, cache, L, P);
    io.x = x;
    if (reverse) { // xr = x in processing order: [T*B, in]
        SF_TRY(be->gather_rows(be, TB, in, x, in, idx, 0.0f, cache + L->xr, in));
        io.x = cache + L->xr;
    }
    io.hT = hT, io.cT = lstm ? cT : NULL;
    SF_TRY(be->rnn_layer_fwd(be, &io));
    // y[t, b] = y_proc[processing row of (t, b)], 0 at pads
    return be->gather_rows(be, TB, h, io.y, h, idx, 0.0f, y, ldy);
}

/* The backward through the vendor: data (dx via processing order, dh0, dc0), then
 * weights, which read x in processing order again (dx overwrote it in xr). */
static sf_status layer_bwd_vendor(sf_backend *be, sf_cell_type t, int T, int B, int in, int h,
                                  const float *x, const int32_t *lengths, int reverse,
                                  const sf_rnn_weights *w, float *cache, const float *dy,
                                  int ldy, const float *dhT, const float *dcT, float *dx,
                                  float *dh0, float *dc0, sf_rnn_grads *g,
                                  const layer_layout *L, const vendor_plan *P)
{
    const int TB = T * B, lstm = t == SF_CELL_LSTM;
    const int32_t *idx = (const int32_t *)(cache + L->idx);
    sf_rnn_layer_io io = vendor_io(t, T, B, in, h, lengths, w, cache, L, P);
    float *dyp = cache + P->dy, *dxp = cache + L->xr;
    if (dy) // dy_proc = dy at the position of processing row s, 0 at pads
        SF_TRY(be->gather_rows(be, TB, h, dy, ldy, idx, 0.0f, dyp, h));
    else
        SF_TRY(be->fill(be, dyp, (int64_t)TB * h, 0.0f));
    io.dy = dyp, io.dhT = dhT, io.dcT = lstm ? dcT : NULL;
    io.dx = dxp, io.dh0 = dh0, io.dc0 = lstm ? dc0 : NULL;
    SF_TRY(be->rnn_layer_bwd_data(be, &io));
    if (dx) // dx += dx_proc, back in position order
        SF_TRY(be->gather_rows(be, TB, in, dxp, in, idx, 1.0f, dx, in));
    if (!g)
        return SF_OK;
    if (!g->w_ih || !g->w_hh || !g->b_ih || !g->b_hh)
        return SF_FAIL(SF_ERR_INVALID_ARG, "grads given with a NULL member");
    io.x = x;
    if (reverse) {
        SF_TRY(be->gather_rows(be, TB, in, x, in, idx, 0.0f, dxp, in));
        io.x = dxp;
    }
    io.gw_ih = g->w_ih, io.gw_hh = g->w_hh, io.gb_ih = g->b_ih, io.gb_hh = g->b_hh;
    return be->rnn_layer_bwd_weights(be, &io);
}

sf_status sf_rnn_layer_fwd(sf_backend *be, sf_cell_type t, int T, int B, int in, int h,
                           const float *x, const int32_t *lengths, int reverse,
                           const sf_rnn_weights *w, const float *h0, const float *c0,
                           float *y, int ldy, float *hT, float *cT, float *cache)
{
    SF_TRY(check_layer(be, t, T, B, in, h, x, lengths, w, ldy, cache));
    if (!y)
        return SF_FAIL(SF_ERR_INVALID_ARG, "%s: y is NULL", sf_cell_name(t));
    if (B == 0)
        return SF_OK;
    const int W = sf_cell_gates(t) * h, TB = T * B, lstm = t == SF_CELL_LSTM;
    const size_t Bh = (size_t)B * h;
    layer_layout L = layer_layout_of(t, T, B, in, h);
    vendor_plan P;
    SF_TRY(vendor_choose(be, t, T, B, in, h, lengths, cache, &L, &P));
    if (P.use)
        return layer_fwd_vendor(be, t, T, B, in, h, x, lengths, reverse, w, h0, c0, y, ldy, hT,
                                cT, cache, &L, &P);
    int32_t *idx = (int32_t *)(cache + L.idx);
    SF_TRY(upload_order(be, T, B, lengths, reverse, cache + L.mask, idx));
    SF_TRY(copy_or_zero(be, cache + L.hs, h0, (int64_t)Bh));
    if (lstm)
        SF_TRY(copy_or_zero(be, cache + L.cs, c0, (int64_t)Bh));
    const float *xp = x;
    if (reverse) { // xr = x in processing order: [T*B, in]
        SF_TRY(be->gather_rows(be, TB, in, x, in, idx, 0.0f, cache + L.xr, in));
        xp = cache + L.xr;
    }
    // xg = x W_ih^T: [T*B, W], all steps at once
    SF_TRY(be->sgemm(be, SF_NO_TRANS, SF_TRANS, TB, W, in, 1.0f, xp, in, w->w_ih, in, 0.0f,
                     cache + L.xg, W));
    SF_TRY(layer_steps_fwd(be, t, T, B, h, w, cache, &L));
    // y[t, b] = hs[1 + processing row of (t, b)], 0 at pads
    SF_TRY(be->gather_rows(be, TB, h, cache + L.hs + Bh, h, idx, 0.0f, y, ldy));
    if (hT)
        SF_TRY(be->copy(be, hT, cache + L.hs + T * Bh, (int64_t)Bh));
    if (lstm && cT)
        SF_TRY(be->copy(be, cT, cache + L.cs + T * Bh, (int64_t)Bh));
    return SF_OK;
}

/* The reverse time loop: d[s] += direct part and dgh_s W_hh; dxg/dhg kept per step. */
static sf_status layer_steps_bwd(sf_backend *be, sf_cell_type t, int T, int B, int h,
                                 const sf_rnn_weights *w, float *cache, const layer_layout *L)
{
    const int W = sf_cell_gates(t) * h, S = cell_saved_cols(t, h);
    const int lstm = t == SF_CELL_LSTM, gru = t == SF_CELL_GRU;
    const size_t Bh = (size_t)B * h;
    float *dc = lstm ? cache + L->dc : NULL;
    for (int s = T - 1; s >= 0; s--) {
        float *d = cache + L->d + s * Bh, *dgx = cache + L->xg + (size_t)s * B * W;
        float *dgh = gru ? cache + L->hg + (size_t)s * B * W : dgx;
        SF_TRY(be->cell_bwd(be, (int)t, B, h, cache + L->sv + (size_t)s * B * S,
                            cache + L->hs + s * Bh, lstm ? cache + L->cs + s * Bh : NULL,
                            cache + L->mask + (size_t)s * B, d + Bh, dc, dgx, W,
                            gru ? dgh : NULL, W, d, dc));
        // d[s] += dgh W_hh: [B, h]
        SF_TRY(be->sgemm(be, SF_NO_TRANS, SF_NO_TRANS, B, h, W, 1.0f, dgh, W, w->w_hh, h, 1.0f,
                         d, h));
    }
    return SF_OK;
}

/* dx += dxg W_ih, back in position order; xr is free once dW_ih is done. */
static sf_status layer_dx(sf_backend *be, int TB, int W, int in, int reverse,
                          const float *dgx, const float *w_ih, float *xr,
                          const int32_t *idx, float *dx)
{
    if (!reverse)
        return be->sgemm(be, SF_NO_TRANS, SF_NO_TRANS, TB, in, W, 1.0f, dgx, W, w_ih, in, 1.0f,
                         dx, in);
    SF_TRY(be->sgemm(be, SF_NO_TRANS, SF_NO_TRANS, TB, in, W, 1.0f, dgx, W, w_ih, in, 0.0f, xr,
                     in));
    return be->gather_rows(be, TB, in, xr, in, idx, 1.0f, dx, in);
}

sf_status sf_rnn_layer_bwd(sf_backend *be, sf_cell_type t, int T, int B, int in, int h,
                           const float *x, const int32_t *lengths, int reverse,
                           const sf_rnn_weights *w, const float *h0, const float *c0,
                           float *cache, const float *dy, int ldy, const float *dhT,
                           const float *dcT, float *dx, float *dh0, float *dc0,
                           sf_rnn_grads *g)
{
    (void)h0, (void)c0; /* the forward kept hs[0], cs[0] in the cache */
    SF_TRY(check_layer(be, t, T, B, in, h, x, lengths, w, dy ? ldy : h, cache));
    if (B == 0)
        return SF_OK;
    const int W = sf_cell_gates(t) * h, TB = T * B, lstm = t == SF_CELL_LSTM;
    const size_t Bh = (size_t)B * h;
    layer_layout L = layer_layout_of(t, T, B, in, h);
    vendor_plan P;
    SF_TRY(vendor_choose(be, t, T, B, in, h, lengths, cache, &L, &P));
    if (P.use)
        return layer_bwd_vendor(be, t, T, B, in, h, x, lengths, reverse, w, cache, dy, ldy, dhT,
                                dcT, dx, dh0, dc0, g, &L, &P);
    const int32_t *idx = (const int32_t *)(cache + L.idx);
    float *d = cache + L.d;
    SF_TRY(be->fill(be, d, (int64_t)Bh, 0.0f));
    if (dy) // d[1 + s] = dy at the position of processing row s, 0 at pads
        SF_TRY(be->gather_rows(be, TB, h, dy, ldy, idx, 0.0f, d + Bh, h));
    else
        SF_TRY(be->fill(be, d + Bh, (int64_t)TB * h, 0.0f));
    if (dhT)
        SF_TRY(be->axpy(be, (int64_t)Bh, 1.0f, dhT, d + T * Bh));
    if (lstm)
        SF_TRY(copy_or_zero(be, cache + L.dc, dcT, (int64_t)Bh));
    SF_TRY(layer_steps_bwd(be, t, T, B, h, w, cache, &L));
    if (dh0)
        SF_TRY(be->copy(be, dh0, d, (int64_t)Bh));
    if (lstm && dc0)
        SF_TRY(be->copy(be, dc0, cache + L.dc, (int64_t)Bh));
    const float *dgx = cache + L.xg;
    const float *dgh = t == SF_CELL_GRU ? cache + L.hg : dgx;
    const float *xp = reverse ? cache + L.xr : x;
    if (g)
        SF_TRY(weight_grads(be, TB, W, in, h, dgx, dgh, xp, in, cache + L.hs, g));
    if (dx)
        SF_TRY(layer_dx(be, TB, W, in, reverse, dgx, w->w_ih, cache + L.xr, idx, dx));
    return SF_OK;
}

void sf_rnn_step_dgates(sf_cell_type t, int B, int h, const float *cache, const float **dxg,
                        const float **dhg)
{
    step_layout L = step_layout_of(t, B, h);
    *dxg = cache + L.xg;
    *dhg = t == SF_CELL_GRU ? cache + L.hg : cache + L.xg;
}

sf_status sf_rnn_weight_grads(sf_backend *be, sf_cell_type t, int R, int in, int h,
                              const float *dxg, const float *dhg, const float *x, int ldx,
                              const float *h_prev, sf_rnn_grads *g)
{
    const int W = sf_cell_gates(t) * h;
    if (!g || !g->w_ih || !g->w_hh || !g->b_ih || !g->b_hh)
        return SF_FAIL(SF_ERR_INVALID_ARG, "grads missing a member");
    if (R == 0)
        return SF_OK;
    // dW_ih += dxg^T x: [W, in];  dW_hh += dhg^T h_prev: [W, h]
    SF_TRY(be->sgemm(be, SF_TRANS, SF_NO_TRANS, W, in, R, 1.0f, dxg, W, x, ldx, 1.0f, g->w_ih,
                     in));
    SF_TRY(be->sgemm(be, SF_TRANS, SF_NO_TRANS, W, h, R, 1.0f, dhg, W, h_prev, h, 1.0f, g->w_hh,
                     h));
    SF_TRY(be->colsum_acc(be, R, W, dxg, W, g->b_ih));
    return be->colsum_acc(be, R, W, dhg, W, g->b_hh);
}
