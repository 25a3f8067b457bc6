/* decoder.c: the input-feeding decoder over a whole target batch (training):
 * bridge from the encoder's final states, stacked cells with dropout between
 * layers, global attention per step; and its backward pass through time. */
#include "nn/attention.h"
#include "nn/embedding.h"
#include "nn/rnn.h"
#include "nn/s2s_internal.h"

static sf_attn_weights sf_attn_weights_of(const sf_model_view *v)
{
    return (sf_attn_weights){v->attn_w_a, v->attn_w_q, v->attn_b_q, v->attn_w_k,
                             v->attn_v,   v->attn_w_c, v->attn_b_c};
}

static sf_attn_grads sf_attn_grads_of(const sf_model_view *v)
{
    return (sf_attn_grads){v->attn_w_a, v->attn_w_q, v->attn_b_q, v->attn_w_k,
                           v->attn_v,   v->attn_w_c, v->attn_b_c};
}

static void sf_rnn_dgates_of(const sf_model_config *c, int B, const float *cache,
                             const float **dxg, const float **dhg)
{
    sf_rnn_step_dgates((sf_cell_type)c->cell, B, c->hidden_size, cache, dxg, dhg);
}

static int sf_dec_in(const sf_model_config *c, int l)
{
    return l > 0 ? c->hidden_size : c->input_feed ? c->emb_size + c->hidden_size : c->emb_size;
}

/* Decoder start states: [forward ; backward] final states of encoder layer l. */
static sf_status sf_bridge_fwd(sf_s2s *m, sf_s2s_acts *a)
{
    const sf_model_config *c = &m->cfg;
    sf_backend *be = m->be;
    const int B = a->B, H = c->hidden_size, he = sf_model_config_enc_h(c);
    const int D = c->bidirectional ? 2 : 1, lstm = c->cell == 2;
    for (int l = 0; l < c->dec_layers; l++) {
        if (c->bridge != 0) {
            SF_TRY(be->fill(be, a->dec_h[l], (int64_t)B * H, 0.0f));
            if (lstm)
                SF_TRY(be->fill(be, a->dec_c[l], (int64_t)B * H, 0.0f));
            continue;
        }
        for (int d = 0; d < D; d++) {
            SF_TRY(be->copy2d(be, B, he, a->enc_hT[l][d], he, a->dec_h[l] + d * he, H));
            if (lstm)
                SF_TRY(be->copy2d(be, B, he, a->enc_cT[l][d], he, a->dec_c[l] + d * he, H));
        }
    }
    return SF_OK;
}

static sf_status sf_bridge_bwd(sf_s2s *m, sf_s2s_acts *a)
{
    const sf_model_config *c = &m->cfg;
    sf_backend *be = m->be;
    const int B = a->B, H = c->hidden_size, he = sf_model_config_enc_h(c);
    const int D = c->bidirectional ? 2 : 1, lstm = c->cell == 2;
    for (int l = 0; l < c->enc_layers; l++) {
        for (int d = 0; d < D; d++) {
            if (c->bridge != 0) {
                SF_TRY(be->fill(be, a->d_enc_hT[l][d], (int64_t)B * he, 0.0f));
                if (lstm)
                    SF_TRY(be->fill(be, a->d_enc_cT[l][d], (int64_t)B * he, 0.0f));
                continue;
            }
            SF_TRY(be->copy2d(be, B, he, a->d_h[l] + d * he, H, a->d_enc_hT[l][d], he));
            if (lstm)
                SF_TRY(be->copy2d(be, B, he, a->d_c[l] + d * he, H, a->d_enc_cT[l][d], he));
        }
    }
    return SF_OK;
}

/* One training step t of the stacked cells and attention. */
static sf_status sf_dec_step_fwd(sf_s2s *m, sf_s2s_acts *a, int t, int train)
{
    const sf_model_config *c = &m->cfg;
    sf_backend *be = m->be;
    const int B = a->B, S = a->S, H = c->hidden_size, L = c->dec_layers;
    const int64_t BH = (int64_t)B * H;
    for (int l = 0; l < L; l++) {
        const int in = sf_dec_in(c, l);
        const float *x = a->dec_x[l] + (int64_t)t * B * in;
        sf_rnn_weights w = {m->P.dec[l].w_ih, m->P.dec[l].w_hh, m->P.dec[l].b_ih,
                            m->P.dec[l].b_hh};
        float *h_out = a->dec_h[l] + (t + 1) * BH;
        SF_TRY(sf_rnn_step_fwd(be, (sf_cell_type)c->cell, B, in, H, x, in, &w,
                               a->dec_h[l] + t * BH, a->dec_c[l] ? a->dec_c[l] + t * BH : NULL,
                               NULL, h_out, a->dec_c[l] ? a->dec_c[l] + (t + 1) * BH : NULL,
                               a->dec_cache[l] + (size_t)t * a->step_cache));
        if (l + 1 < L) {
            float *next = a->dec_x[l + 1] + t * BH;
            if (a->dec_mask[l + 1] && train)
                SF_TRY(sf_s2s_dropout(m, BH, c->dropout, h_out, a->dec_mask[l + 1] + t * BH,
                                      next));
            else
                SF_TRY(be->copy(be, next, h_out, BH));
        }
    }
    sf_attn_weights aw = sf_attn_weights_of(&m->P);
    SF_TRY(sf_attn_step_fwd(be, (sf_attn_type)c->attention, B, 1, S, H, a->M, a->keys, a->src_len,
                            &aw, a->dec_h[L - 1] + (t + 1) * BH, a->align + (int64_t)t * B * S,
                            a->ctx + t * BH, a->htil + t * BH,
                            a->attn_cache + (size_t)t * a->attn_cache_n));
    if (c->input_feed && t + 1 < a->T) /* u_{t+1} = [emb(y_t) ; h~_t] */
        SF_TRY(be->copy2d(be, B, H, a->htil + t * BH, H,
                          a->dec_x[0] + (int64_t)(t + 1) * B * sf_dec_in(c, 0) + c->emb_size,
                          sf_dec_in(c, 0)));
    return SF_OK;
}

sf_status sf_dec_fwd(sf_s2s *m, sf_s2s_acts *a, const sf_s2s_batch *b, int train)
{
    const sf_model_config *c = &m->cfg;
    sf_backend *be = m->be;
    const int B = b->B, T = b->T, H = c->hidden_size, din0 = sf_dec_in(c, 0);
    const int64_t BH = (int64_t)B * H;

    SF_TRY(sf_embed_fwd(be, (int64_t)T * B, c->emb_size, m->P.dec_emb, c->tgt_vocab_size,
                        a->tgt_ids, a->dec_x[0], din0));
    if (c->input_feed) /* h~_0 = 0 */
        SF_TRY(be->copy2d(be, B, H, a->zeros, H, a->dec_x[0] + c->emb_size, din0));
    SF_TRY(sf_bridge_fwd(m, a));
    if (c->attention == 2) {
        sf_attn_weights aw = sf_attn_weights_of(&m->P);
        SF_TRY(sf_attn_keys_fwd(be, SF_ATTN_MLP, B, b->S, H, a->M, &aw, a->keys));
    }
    for (int t = 0; t < T; t++)
        SF_TRY(sf_dec_step_fwd(m, a, t, train));
    if (a->out_mask && train)
        return sf_s2s_dropout(m, T * BH, c->dropout, a->htil, a->out_mask, a->out_in);
    return be->copy(be, a->out_in, a->htil, T * BH);
}

/* Keep step t's gate gradients of layer l for the weight gradients at the end. */
static sf_status sf_dec_keep_dgates(sf_s2s *m, sf_s2s_acts *a, int l, int t)
{
    const sf_model_config *c = &m->cfg;
    const int B = a->B, H = c->hidden_size;
    const int64_t BW = (int64_t)B * sf_model_config_gates(c) * H;
    const float *dxg, *dhg;
    sf_rnn_dgates_of(c, B, a->dec_cache[l] + (size_t)t * a->step_cache, &dxg, &dhg);
    SF_TRY(m->be->copy(m->be, a->dec_dxg[l] + t * BW, dxg, BW));
    if (a->dec_dhg[l])
        SF_TRY(m->be->copy(m->be, a->dec_dhg[l] + t * BW, dhg, BW));
    return SF_OK;
}

/* Weight gradients of every decoder layer and of the attention output layer,
 * each as one product over all T x B rows instead of T small ones. */
static sf_status sf_dec_weight_grads(sf_s2s *m, sf_s2s_acts *a)
{
    const sf_model_config *c = &m->cfg;
    sf_backend *be = m->be;
    const int B = a->B, T = a->T, H = c->hidden_size, R = T * B;
    for (int l = 0; l < c->dec_layers; l++) {
        const int in = sf_dec_in(c, l);
        sf_rnn_grads g = {m->G.dec[l].w_ih, m->G.dec[l].w_hh, m->G.dec[l].b_ih,
                          m->G.dec[l].b_hh};
        SF_TRY(sf_rnn_weight_grads(be, (sf_cell_type)c->cell, R, in, H, a->dec_dxg[l],
                                   a->dec_dhg[l] ? a->dec_dhg[l] : a->dec_dxg[l], a->dec_x[l],
                                   in, a->dec_h[l], &g));
    }
    /* h~ = act(W_c [ctx; h] (+ b_c)): d_out_in holds dLoss/dh~ of every step */
    const int mlp = c->attention == 2;
    SF_TRY(be->bias_act_bwd(be, R, H, !mlp, a->htil, a->d_out_in, a->d_out_in,
                            mlp ? m->G.attn_b_c : NULL));
    SF_TRY(be->sgemm(be, SF_TRANS, SF_NO_TRANS, H, H, R, 1.0f, a->d_out_in, H, a->ctx, H, 1.0f,
                     m->G.attn_w_c, 2 * H));
    return be->sgemm(be, SF_TRANS, SF_NO_TRANS, H, H, R, 1.0f, a->d_out_in, H,
                     a->dec_h[c->dec_layers - 1] + (int64_t)B * H, H, 1.0f, m->G.attn_w_c + H,
                     2 * H);
}

/* Backward of step t; a->d_htil holds dLoss/dh~_t on entry. */
static sf_status sf_dec_step_bwd(sf_s2s *m, sf_s2s_acts *a, int t)
{
    const sf_model_config *c = &m->cfg;
    sf_backend *be = m->be;
    const int B = a->B, S = a->S, H = c->hidden_size, L = c->dec_layers, E = c->emb_size;
    const int64_t BH = (int64_t)B * H;
    sf_attn_weights aw = sf_attn_weights_of(&m->P);
    sf_attn_grads ag = sf_attn_grads_of(&m->G);
    ag.w_c = ag.b_c = NULL; /* over all steps at once in sf_attn_out_grads */
    SF_TRY(be->fill(be, a->d_hq, BH, 0.0f));
    SF_TRY(sf_attn_step_bwd(be, (sf_attn_type)c->attention, B, 1, S, H, a->M, a->keys, a->src_len,
                            &aw, a->dec_h[L - 1] + (t + 1) * BH, a->align + (int64_t)t * B * S,
                            a->ctx + t * BH, a->htil + t * BH,
                            a->attn_cache + (size_t)t * a->attn_cache_n, a->d_htil, NULL,
                            a->d_hq, a->dM, a->dkeys, &ag, a->attn_work));
    SF_TRY(be->axpy(be, BH, 1.0f, a->d_hq, a->d_h[L - 1]));
    for (int l = L - 1; l >= 0; l--) {
        const int in = sf_dec_in(c, l);
        sf_rnn_weights w = {m->P.dec[l].w_ih, m->P.dec[l].w_hh, m->P.dec[l].b_ih,
                            m->P.dec[l].b_hh};
        const int lstm = a->dec_c[l] != NULL;
        SF_TRY(be->fill(be, a->d_x, (int64_t)B * in, 0.0f));
        SF_TRY(sf_rnn_step_bwd(be, (sf_cell_type)c->cell, B, in, H,
                               a->dec_x[l] + (int64_t)t * B * in, in, &w, a->dec_h[l] + t * BH,
                               lstm ? a->dec_c[l] + t * BH : NULL, NULL,
                               a->dec_cache[l] + (size_t)t * a->step_cache, a->d_h[l],
                               lstm ? a->d_c[l] : NULL, a->d_x, in, a->d_tmp_h,
                               lstm ? a->d_tmp_c : NULL, NULL));
        SF_TRY(sf_dec_keep_dgates(m, a, l, t));
        SF_TRY(be->copy(be, a->d_h[l], a->d_tmp_h, BH));
        if (lstm)
            SF_TRY(be->copy(be, a->d_c[l], a->d_tmp_c, BH));
        if (l > 0) { /* into layer l-1's output at step t, through the dropout */
            if (a->dec_mask[l])
                SF_TRY(be->mul(be, BH, a->d_x, a->dec_mask[l] + t * BH, a->d_x));
            SF_TRY(be->axpy(be, BH, 1.0f, a->d_x, a->d_h[l - 1]));
        } else {
            SF_TRY(be->copy2d(be, B, E, a->d_x, in, a->d_emb + (int64_t)t * B * E, E));
            if (c->input_feed)
                SF_TRY(be->copy2d(be, B, H, a->d_x + E, in, a->d_feed, H));
        }
    }
    return SF_OK;
}

sf_status sf_dec_bwd(sf_s2s *m, sf_s2s_acts *a)
{
    const sf_model_config *c = &m->cfg;
    sf_backend *be = m->be;
    const int B = a->B, S = a->S, T = a->T, H = c->hidden_size;
    const int64_t BH = (int64_t)B * H;
    /* d_out_in holds dLoss/d(generator input); through the output dropout */
    if (a->out_mask)
        SF_TRY(be->mul(be, T * BH, a->d_out_in, a->out_mask, a->d_out_in));
    for (int l = 0; l < c->dec_layers; l++) {
        SF_TRY(be->fill(be, a->d_h[l], BH, 0.0f));
        if (a->dec_c[l])
            SF_TRY(be->fill(be, a->d_c[l], BH, 0.0f));
    }
    SF_TRY(be->fill(be, a->d_feed, BH, 0.0f));
    SF_TRY(be->fill(be, a->dM, (int64_t)B * S * H, 0.0f));
    if (a->dkeys)
        SF_TRY(be->fill(be, a->dkeys, (int64_t)B * S * H, 0.0f));
    for (int t = T - 1; t >= 0; t--) {
        /* d_out_in[t] becomes the whole dLoss/dh~_t (kept for the weight gradients) */
        if (c->input_feed && t + 1 < T)
            SF_TRY(be->axpy(be, BH, 1.0f, a->d_feed, a->d_out_in + t * BH));
        SF_TRY(be->copy(be, a->d_htil, a->d_out_in + t * BH, BH));
        SF_TRY(sf_dec_step_bwd(m, a, t));
    }
    SF_TRY(sf_dec_weight_grads(m, a));
    if (!m->freeze_embeddings)
        SF_TRY(sf_embed_bwd(be, (int64_t)T * B, c->emb_size, a->d_emb, c->emb_size, a->tgt_ids,
                            m->G.dec_emb, c->tgt_vocab_size));
    if (c->attention == 2) {
        sf_attn_weights aw = sf_attn_weights_of(&m->P);
        sf_attn_grads ag = sf_attn_grads_of(&m->G);
        SF_TRY(sf_attn_keys_bwd(be, SF_ATTN_MLP, B, S, H, a->M, &aw, a->dkeys, a->dM, &ag));
    }
    return sf_bridge_bwd(m, a);
}
