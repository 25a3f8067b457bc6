/* encoder.c: source embeddings -> stacked (bi)directional recurrent layers
 * with dropout between layers -> attention memory M [B,S,H] and each layer's
 * final states; and the backward pass of all of it. */
#include "nn/embedding.h"
#include "nn/rnn.h"
#include "nn/s2s_internal.h"

static sf_rnn_weights sf_weights_of(const sf_rnn_view *v)
{
    return (sf_rnn_weights){v->w_ih, v->w_hh, v->b_ih, v->b_hh};
}

static sf_rnn_grads sf_grads_of(const sf_rnn_view *v)
{
    return (sf_rnn_grads){v->w_ih, v->w_hh, v->b_ih, v->b_hh};
}

/* M[b, s, :] = y[s, b, :] */
static sf_status sf_enc_to_memory(sf_backend *be, int B, int S, int H, const float *y,
                                  float *M)
{
    for (int s = 0; s < S; s++)
        SF_TRY(be->copy2d(be, B, H, y + (int64_t)s * B * H, H, M + (int64_t)s * H, S * H));
    return SF_OK;
}

/* dy[s, b, :] = dM[b, s, :] */
static sf_status sf_enc_from_memory(sf_backend *be, int B, int S, int H, const float *dM,
                                    float *dy)
{
    for (int s = 0; s < S; s++)
        SF_TRY(be->copy2d(be, B, H, dM + (int64_t)s * H, S * H, dy + (int64_t)s * B * H, H));
    return SF_OK;
}

sf_status sf_enc_fwd(sf_s2s *m, sf_s2s_acts *a, const sf_s2s_batch *b, int train)
{
    const sf_model_config *c = &m->cfg;
    sf_backend *be = m->be;
    const int B = b->B, S = b->S, H = c->hidden_size, E = c->emb_size;
    const int he = sf_model_config_enc_h(c), D = c->bidirectional ? 2 : 1;
    const int64_t n = (int64_t)S * B;

    SF_TRY(sf_embed_fwd(be, n, E, m->P.enc_emb, c->src_vocab_size, a->src_ids, a->enc_x[0], E));
    for (int k = 0; k < c->enc_layers; k++) {
        const int in = k ? H : E;
        for (int d = 0; d < D; d++) {
            sf_rnn_weights w = sf_weights_of(&m->P.enc[k][d]);
            SF_TRY(sf_rnn_layer_fwd(be, (sf_cell_type)c->cell, S, B, in, he, a->enc_x[k],
                                    b->src_len, d, &w, NULL, NULL, a->enc_y[k] + d * he, H,
                                    a->enc_hT[k][d], a->enc_cT[k][d], a->enc_cache[k][d]));
        }
        if (k + 1 < c->enc_layers) {
            if (a->enc_mask[k] && train)
                SF_TRY(sf_s2s_dropout(m, n * H, c->dropout, a->enc_y[k], a->enc_mask[k],
                                      a->enc_x[k + 1]));
            else
                SF_TRY(be->copy(be, a->enc_x[k + 1], a->enc_y[k], n * H));
        }
    }
    return sf_enc_to_memory(be, B, S, H, a->enc_y[c->enc_layers - 1], a->M);
}

sf_status sf_enc_bwd(sf_s2s *m, sf_s2s_acts *a)
{
    const sf_model_config *c = &m->cfg;
    sf_backend *be = m->be;
    const int B = a->B, S = a->S, H = c->hidden_size, E = c->emb_size;
    const int he = sf_model_config_enc_h(c), D = c->bidirectional ? 2 : 1;
    const int64_t n = (int64_t)S * B;

    SF_TRY(sf_enc_from_memory(be, B, S, H, a->dM, a->d_enc_y));
    for (int k = c->enc_layers - 1; k >= 0; k--) {
        const int in = k ? H : E;
        SF_TRY(be->fill(be, a->d_enc_x, n * in, 0.0f));
        for (int d = 0; d < D; d++) {
            sf_rnn_weights w = sf_weights_of(&m->P.enc[k][d]);
            sf_rnn_grads g = sf_grads_of(&m->G.enc[k][d]);
            SF_TRY(sf_rnn_layer_bwd(be, (sf_cell_type)c->cell, S, B, in, he, a->enc_x[k],
                                    a->src_len, d, &w, NULL, NULL, a->enc_cache[k][d],
                                    a->d_enc_y + d * he, H, a->d_enc_hT[k][d],
                                    a->d_enc_cT[k][d], a->d_enc_x, NULL, NULL, &g));
        }
        if (k > 0) {
            /* gradient w.r.t. layer k-1's output, through its dropout */
            if (a->enc_mask[k - 1])
                SF_TRY(be->mul(be, n * H, a->d_enc_x, a->enc_mask[k - 1], a->d_enc_y));
            else
                SF_TRY(be->copy(be, a->d_enc_y, a->d_enc_x, n * H));
        }
    }
    if (m->freeze_embeddings)
        return SF_OK;
    return sf_embed_bwd(be, n, E, a->d_enc_x, E, a->src_ids, m->G.enc_emb, c->src_vocab_size);
}
