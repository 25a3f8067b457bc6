/* s2s.c: binding a model to a backend, planning the per-batch buffers, and
 * the whole-batch forward/backward: encoder, decoder, generator and loss. */
#include "nn/s2s.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/attention.h"
#include "nn/embedding.h"
#include "nn/loss.h"
#include "nn/rnn.h"
#include "nn/s2s_internal.h"

sf_status sf_s2s_create(sf_backend *be, const sf_model_config *cfg, int with_grads,
                        sf_s2s **out)
{
    *out = NULL;
    sf_s2s *m = calloc(1, sizeof *m);
    if (!m)
        return SF_FAIL(SF_ERR_OOM, "model struct");
    m->cfg = *cfg;
    m->be = be;
    sf_status st = sf_param_layout_build(cfg, &m->layout);
    size_t bytes = sizeof(float) * (size_t)m->layout.total;
    if (st == SF_OK)
        st = be->alloc(be, bytes, (void **)&m->params);
    if (st == SF_OK && with_grads)
        st = be->alloc(be, bytes, (void **)&m->grads);
    if (st == SF_OK)
        st = be->fill(be, m->params, m->layout.total, 0.0f);
    if (st == SF_OK && with_grads)
        st = be->fill(be, m->grads, m->layout.total, 0.0f);
    if (st != SF_OK) {
        const long long total = (long long)m->layout.total;
        sf_s2s_free(m);
        return sf_error_prefix(st, "creating the model (%lld parameters)", total);
    }
    sf_backend_params_register(be, m->params, m->layout.total);
    sf_model_view_bind(cfg, &m->layout, m->params, &m->P);
    if (m->grads)
        sf_model_view_bind(cfg, &m->layout, m->grads, &m->G);
    sf_rng_seed(&m->dropout_rng, 12345);
    *out = m;
    return SF_OK;
}

void sf_s2s_free(sf_s2s *m)
{
    if (!m)
        return;
    if (m->be) {
        if (m->params)
            sf_backend_params_register(m->be, m->params, 0);
        m->be->free(m->be, m->params);
        m->be->free(m->be, m->grads);
        m->be->free(m->be, m->ws_block);
    }
    sf_param_layout_free(&m->layout);
    free(m->acts);
    free(m->host_scratch);
    free(m);
}

#define SF_ALLOC_F(ptr, count) \
    SF_TRY(sf_arena_alloc(ar, sizeof(float) * (size_t)(count), (void **)&(ptr)))
#define SF_ALLOC_I(ptr, count) \
    SF_TRY(sf_arena_alloc(ar, sizeof(int32_t) * (size_t)(count), (void **)&(ptr)))

static sf_status sf_acts_plan_encoder(const sf_model_config *c, sf_s2s_acts *a, sf_arena *ar,
                                      int train, int backward)
{
    const int64_t SB = (int64_t)a->S * a->B, H = c->hidden_size, E = c->emb_size;
    const int he = sf_model_config_enc_h(c), D = c->bidirectional ? 2 : 1;
    const int drop = train && c->dropout > 0.0f, lstm = c->cell == 2;
    SF_ALLOC_I(a->src_ids, SB);
    for (int k = 0; k < c->enc_layers; k++) {
        const int in = k ? (int)H : (int)E;
        SF_ALLOC_F(a->enc_x[k], SB * in);
        SF_ALLOC_F(a->enc_y[k], SB * H);
        if (drop && k + 1 < c->enc_layers)
            SF_ALLOC_F(a->enc_mask[k], SB * H);
        for (int d = 0; d < D; d++) {
            SF_ALLOC_F(a->enc_hT[k][d], (int64_t)a->B * he);
            if (lstm)
                SF_ALLOC_F(a->enc_cT[k][d], (int64_t)a->B * he);
            SF_ALLOC_F(a->enc_cache[k][d], sf_rnn_layer_cache_floats((sf_cell_type)c->cell,
                                                                      a->S, a->B, in, he));
            if (backward) {
                SF_ALLOC_F(a->d_enc_hT[k][d], (int64_t)a->B * he);
                if (lstm)
                    SF_ALLOC_F(a->d_enc_cT[k][d], (int64_t)a->B * he);
            }
        }
    }
    SF_ALLOC_F(a->M, SB * H);
    if (c->attention == 2)
        SF_ALLOC_F(a->keys, SB * H);
    if (backward) {
        SF_ALLOC_F(a->dM, SB * H);
        if (c->attention == 2)
            SF_ALLOC_F(a->dkeys, SB * H);
        SF_ALLOC_F(a->d_enc_y, SB * H);
        SF_ALLOC_F(a->d_enc_x, SB * (E > H ? E : H));
    }
    return SF_OK;
}

static sf_status sf_acts_plan_decoder(const sf_model_config *c, sf_s2s_acts *a, sf_arena *ar,
                                      int train, int backward)
{
    const int64_t B = a->B, T = a->T, H = c->hidden_size, E = c->emb_size;
    const int64_t BH = B * H, din0 = c->input_feed ? E + H : E;
    const int drop = train && c->dropout > 0.0f, lstm = c->cell == 2;
    SF_ALLOC_I(a->tgt_ids, T * B);
    SF_ALLOC_I(a->targets, T * B);
    a->step_cache = sf_rnn_step_cache_floats((sf_cell_type)c->cell, a->B, (int)H);
    for (int l = 0; l < c->dec_layers; l++) {
        SF_ALLOC_F(a->dec_h[l], (T + 1) * BH);
        if (lstm)
            SF_ALLOC_F(a->dec_c[l], (T + 1) * BH);
        SF_ALLOC_F(a->dec_x[l], T * B * (l ? H : din0));
        if (drop && l > 0)
            SF_ALLOC_F(a->dec_mask[l], T * BH);
        SF_ALLOC_F(a->dec_cache[l], (size_t)T * a->step_cache);
        if (backward) {
            const int64_t W = (int64_t)sf_model_config_gates(c) * H;
            SF_ALLOC_F(a->d_h[l], BH);
            if (lstm)
                SF_ALLOC_F(a->d_c[l], BH);
            SF_ALLOC_F(a->dec_dxg[l], T * B * W);
            if (c->cell == 1)
                SF_ALLOC_F(a->dec_dhg[l], T * B * W);
        }
    }
    a->attn_cache_n = sf_attn_step_cache_floats((sf_attn_type)c->attention, a->B, 1, a->S, (int)H);
    SF_ALLOC_F(a->align, T * B * a->S);
    SF_ALLOC_F(a->ctx, T * BH);
    SF_ALLOC_F(a->htil, T * BH);
    SF_ALLOC_F(a->attn_cache, (size_t)T * a->attn_cache_n);
    if (drop)
        SF_ALLOC_F(a->out_mask, T * BH);
    SF_ALLOC_F(a->out_in, T * BH);
    SF_ALLOC_F(a->logits, T * B * c->tgt_vocab_size);
    SF_ALLOC_F(a->zeros, BH);
    if (backward) {
        SF_ALLOC_F(a->d_out_in, T * BH);
        SF_ALLOC_F(a->d_tmp_h, BH);
        SF_ALLOC_F(a->d_tmp_c, BH);
        SF_ALLOC_F(a->d_x, B * (din0 > H ? din0 : H));
        SF_ALLOC_F(a->d_htil, BH);
        SF_ALLOC_F(a->d_feed, BH);
        SF_ALLOC_F(a->d_hq, BH);
        SF_ALLOC_F(a->d_emb, T * B * E);
        SF_ALLOC_F(a->attn_work,
                   sf_attn_step_work_floats((sf_attn_type)c->attention, a->B, 1, a->S, (int)H));
    }
    return SF_OK;
}

static sf_status sf_acts_plan(const sf_model_config *c, sf_s2s_acts *a, sf_arena *ar, int train,
                              int backward)
{
    SF_TRY(sf_acts_plan_encoder(c, a, ar, train, backward));
    return sf_acts_plan_decoder(c, a, ar, train, backward);
}

/* Size the buffers for this batch, grow the device block if needed, carve. */
static sf_status sf_acts_prepare(sf_s2s *m, const sf_s2s_batch *b, int train, int backward)
{
    if (!m->acts && !(m->acts = calloc(1, sizeof *m->acts)))
        return SF_FAIL(SF_ERR_OOM, "activation table");
    sf_s2s_acts *a = m->acts;
    memset(a, 0, sizeof *a);
    a->B = b->B, a->S = b->S, a->T = b->T, a->src_len = b->src_len;
    sf_arena sizing;
    sf_arena_init_measure(&sizing, "activations");
    SF_TRY(sf_acts_plan(&m->cfg, a, &sizing, train, backward));
    if (sizing.used > m->ws_cap) {
        m->be->free(m->be, m->ws_block);
        m->ws_block = NULL;
        m->ws_cap = 0;
        size_t want = sizing.used + sizing.used / 4;
        sf_status st = m->be->alloc(m->be, want, &m->ws_block);
        if (st != SF_OK)
            return sf_error_prefix(st, "activations for a batch of %d x %d -> %d", b->B, b->S,
                                   b->T);
        m->ws_cap = want;
    }
    sf_arena_init_external(&m->ws, m->ws_block, m->ws_cap, "activations");
    memset(a, 0, sizeof *a);
    a->B = b->B, a->S = b->S, a->T = b->T, a->src_len = b->src_len;
    return sf_acts_plan(&m->cfg, a, &m->ws, train, backward);
}

static sf_status sf_host_scratch(sf_s2s *m, size_t bytes, void **out)
{
    if (bytes > m->host_cap) {
        free(m->host_scratch);
        m->host_scratch = malloc(bytes);
        m->host_cap = m->host_scratch ? bytes : 0;
        if (!m->host_scratch)
            return SF_FAIL(SF_ERR_OOM, "%zu bytes of host staging memory", bytes);
    }
    *out = m->host_scratch;
    return SF_OK;
}

sf_status sf_s2s_dropout(sf_s2s *m, int64_t n, float p, const float *x, float *mask, float *y)
{
    float *h = NULL;
    SF_TRY(sf_host_scratch(m, sizeof(float) * (size_t)n, (void **)&h));
    const float keep = 1.0f / (1.0f - p);
    for (int64_t i = 0; i < n; i++)
        h[i] = sf_rng_uniform(&m->dropout_rng) < p ? 0.0f : keep;
    SF_TRY(m->be->upload(m->be, mask, h, sizeof(float) * (size_t)n));
    return m->be->mul(m->be, n, x, mask, y);
}

sf_status sf_s2s_upload_ids(sf_s2s *m, int32_t *dst, const int32_t *src, int64_t n)
{
    return m->be->upload(m->be, dst, src, sizeof(int32_t) * (size_t)n);
}

/* [B, T] host ids -> [T*B] time-major device ids. */
static sf_status sf_upload_time_major(sf_s2s *m, int32_t *dst, const int32_t *src, int B, int T)
{
    int32_t *h = NULL;
    SF_TRY(sf_host_scratch(m, sizeof(int32_t) * (size_t)B * T, (void **)&h));
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++)
            h[t * B + b] = src[b * T + t];
    return sf_s2s_upload_ids(m, dst, h, (int64_t)B * T);
}

static sf_status sf_check_batch(const sf_s2s *m, const sf_s2s_batch *b)
{
    if (b->B < 1 || b->S < 1 || b->T < 1)
        return SF_FAIL(SF_ERR_INVALID_ARG, "empty batch (B=%d S=%d T=%d)", b->B, b->S, b->T);
    for (int i = 0; i < b->B; i++)
        if (b->src_len[i] < 1 || b->src_len[i] > b->S)
            return SF_FAIL(SF_ERR_INVALID_ARG, "sentence %d has source length %d (expected "
                           "1..%d)", i, b->src_len[i], b->S);
    (void)m;
    return SF_OK;
}

/* Generator: logits = out_in W_o^T + b_o; then the fused softmax + loss. */
static sf_status sf_generator_fwd(sf_s2s *m, sf_s2s_acts *a, int backward, float grad_scale,
                                  sf_s2s_loss *loss, float *logits_out)
{
    sf_backend *be = m->be;
    const int64_t N = (int64_t)a->T * a->B;
    const int V = m->cfg.tgt_vocab_size, H = m->cfg.hidden_size;
    SF_TRY(sf_backend_gemm_bias(be, SF_NO_TRANS, SF_TRANS, (int)N, V, H, a->out_in, H,
                                m->P.gen_w, H, m->P.gen_b, a->logits, V));
    if (logits_out)
        SF_TRY(be->download(be, logits_out, a->logits, sizeof(float) * (size_t)(N * V)));
    memset(loss, 0, sizeof *loss);
    if (!backward)
        return sf_loss_fwd(be, N, V, a->logits, a->targets, m->cfg.label_smoothing,
                           &loss->loss_sum, &loss->nll_sum, &loss->ntok);
    SF_TRY(sf_loss_fwd_bwd(be, N, V, a->logits, a->targets, m->cfg.label_smoothing, grad_scale,
                           &loss->loss_sum, &loss->nll_sum, &loss->ntok));
    /* a->logits now holds dLoss/dlogits */
    SF_TRY(be->sgemm(be, SF_TRANS, SF_NO_TRANS, V, H, (int)N, 1.0f, a->logits, V, a->out_in, H,
                     1.0f, m->G.gen_w, H));
    SF_TRY(be->colsum_acc(be, N, V, a->logits, V, m->G.gen_b));
    return be->sgemm(be, SF_NO_TRANS, SF_NO_TRANS, (int)N, H, V, 1.0f, a->logits, V, m->P.gen_w,
                     H, 0.0f, a->d_out_in, H);
}

static double sf_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Close a timed stage: synchronize, add its seconds, restart the clock. */
static sf_status sf_stage_end(sf_s2s *m, sf_s2s_stage stage, double *t0)
{
    if (!m->stage_seconds)
        return SF_OK;
    SF_TRY(m->be->sync(m->be));
    double now = sf_clock();
    m->stage_seconds[stage] += now - *t0;
    *t0 = now;
    return SF_OK;
}

sf_status sf_s2s_forward_backward(sf_s2s *m, const sf_s2s_batch *b, int train, int backward,
                                  float grad_scale, sf_s2s_loss *loss, float *logits_out)
{
    if (backward && !m->grads)
        return SF_FAIL(SF_ERR_INVALID_ARG, "the model was created without gradients");
    SF_TRY(sf_check_batch(m, b));
    SF_TRY(sf_acts_prepare(m, b, train, backward));
    sf_s2s_acts *a = m->acts;
    SF_TRY(sf_upload_time_major(m, a->src_ids, b->src, b->B, b->S));
    SF_TRY(sf_upload_time_major(m, a->tgt_ids, b->tgt_in, b->B, b->T));
    SF_TRY(sf_upload_time_major(m, a->targets, b->tgt_out, b->B, b->T));
    SF_TRY(m->be->fill(m->be, a->zeros, (int64_t)b->B * m->cfg.hidden_size, 0.0f));
    double t0 = m->stage_seconds ? sf_clock() : 0.0;
    SF_TRY(sf_enc_fwd(m, a, b, train));
    SF_TRY(sf_stage_end(m, SF_STAGE_ENC_FWD, &t0));
    SF_TRY(sf_dec_fwd(m, a, b, train));
    SF_TRY(sf_stage_end(m, SF_STAGE_DEC_FWD, &t0));
    SF_TRY(sf_generator_fwd(m, a, backward, grad_scale, loss, logits_out));
    SF_TRY(sf_stage_end(m, SF_STAGE_GENERATOR, &t0));
    if (!backward)
        return SF_OK;
    SF_TRY(sf_dec_bwd(m, a));
    SF_TRY(sf_stage_end(m, SF_STAGE_DEC_BWD, &t0));
    SF_TRY(sf_enc_bwd(m, a));
    return sf_stage_end(m, SF_STAGE_ENC_BWD, &t0);
}

sf_status sf_s2s_encode_only(sf_s2s *m, const sf_s2s_batch *b)
{
    SF_TRY(sf_check_batch(m, b));
    SF_TRY(sf_acts_prepare(m, b, 0, 0));
    SF_TRY(sf_upload_time_major(m, m->acts->src_ids, b->src, b->B, b->S));
    return sf_enc_fwd(m, m->acts, b, 0);
}
