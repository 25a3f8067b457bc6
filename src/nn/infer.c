/* infer.c: encoder once per batch, then decoder steps over reorderable rows.
 * On a backend with graphs, a step's device work is recorded the second time a
 * row layout comes up and replayed while it stays; every buffer a step touches
 * keeps its address for the whole batch (reorder copies back, never swaps). */
#include "nn/infer.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/attention.h"
#include "nn/embedding.h"
#include "nn/loss.h"
#include "nn/rnn.h"
#include "nn/s2s_internal.h"

struct sf_infer {
    sf_s2s *m;
    int n, S, max_rows, rows;
    int logits_rows;              /* rows of the last step's raw logits (0: none) */
    int32_t *src_len;             /* [n] host */
    int32_t *group_rows;          /* [max_rows] host: rows per sentence group (topk) */
    sf_graph *graph;              /* the recorded step, or NULL */
    int32_t *graph_sent, *seen_sent; /* [max_rows] host: the layouts of the graph and of */
    int graph_rows, graph_raw;       /* the last step run without it (rows 0: none) */
    int seen_rows, seen_raw;
    float *M, *keys;              /* [n,S,H] device (copies: the model's workspace is reused) */
    float *Mc, *Kc;               /* [n,S,H] device: M and keys of the live sentences only */
    int32_t *act_sent, *act_len;  /* [n] host: the sentences compacted into Mc, their lengths */
    int n_act;                    /* sentences in Mc; -1: Mc not built (use M for 0..n-1) */
    float *h[SF_MAX_LAYERS], *c[SF_MAX_LAYERS];   /* [max_rows,H] decoder states */
    float *h2[SF_MAX_LAYERS], *c2[SF_MAX_LAYERS]; /* reorder targets */
    float *htil, *htil2;          /* [max_rows,H] previous attentional state */
    float *x0, *xl;               /* [max_rows, din0], [max_rows,H] layer inputs */
    float *cache;                 /* step caches (unused at inference, the API needs them) */
    float *align, *ctx, *attn_cache, *logits; /* [rows,S], [rows,H], ..., [rows,V] */
    int32_t *ids, *from;          /* [max_rows] device: previous tokens, reorder sources */
    void *block;                  /* one device allocation for all of the above */
    double *stage_seconds;        /* [SF_INFER_STAGE_COUNT] host, NULL = not timed */
};

void sf_infer_set_timing(sf_infer *f, double *stage_seconds)
{
    f->stage_seconds = stage_seconds;
}

static double sf_infer_clock(const sf_infer *f)
{
    struct timespec ts;
    if (!f->stage_seconds)
        return 0.0;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Close a timed stage: synchronize, add its seconds, restart the clock (*t0). */
static sf_status sf_infer_stage_end(sf_infer *f, sf_infer_stage stage, double *t0)
{
    if (!f->stage_seconds)
        return SF_OK;
    SF_TRY(f->m->be->sync(f->m->be));
    const double now = sf_infer_clock(f);
    f->stage_seconds[stage] += now - *t0;
    *t0 = now;
    return SF_OK;
}

static sf_status sf_infer_plan(sf_infer *f, sf_arena *ar)
{
    const sf_model_config *c = &f->m->cfg;
    const int64_t R = f->max_rows, H = c->hidden_size, S = f->S, n = f->n;
    const int64_t din0 = c->input_feed ? c->emb_size + H : c->emb_size;
    size_t step_cache = 0;
    for (int l = 0; l < c->dec_layers; l++) {
        size_t sc = sf_rnn_step_cache_floats((sf_cell_type)c->cell, (int)R, (int)H);
        step_cache = sc > step_cache ? sc : step_cache;
    }
#define SF_F(p, count) SF_TRY(sf_arena_alloc(ar, sizeof(float) * (size_t)(count), (void **)&(p)))
    SF_F(f->M, n * S * H);
    SF_F(f->Mc, n * S * H);
    if (c->attention == 2) {
        SF_F(f->keys, n * S * H);
        SF_F(f->Kc, n * S * H);
    }
    for (int l = 0; l < c->dec_layers; l++) {
        SF_F(f->h[l], R * H);
        SF_F(f->h2[l], R * H);
        if (c->cell == 2) {
            SF_F(f->c[l], R * H);
            SF_F(f->c2[l], R * H);
        }
    }
    SF_F(f->htil, R * H);
    SF_F(f->htil2, R * H);
    SF_F(f->x0, R * din0);
    SF_F(f->xl, R * H);
    SF_F(f->cache, step_cache);
    SF_F(f->align, R * S);
    SF_F(f->ctx, R * H);
    SF_F(f->attn_cache, sf_attn_step_cache_floats((sf_attn_type)c->attention, 1, (int)R,
                                                  (int)S, (int)H));
    SF_F(f->logits, R * c->tgt_vocab_size);
#undef SF_F
    SF_TRY(sf_arena_alloc(ar, sizeof(int32_t) * (size_t)R, (void **)&f->ids));
    return sf_arena_alloc(ar, sizeof(int32_t) * (size_t)R, (void **)&f->from);
}

/* Encode with the training code path (no dropout), then keep M, keys, states. */
static sf_status sf_infer_encode(sf_infer *f, const int32_t *src)
{
    sf_s2s *m = f->m;
    const sf_model_config *c = &m->cfg;
    sf_backend *be = m->be;
    const int n = f->n, S = f->S, H = c->hidden_size;
    sf_s2s_batch b = {n, S, 1, src, f->src_len, NULL, NULL};
    SF_TRY(sf_s2s_encode_only(m, &b));
    sf_s2s_acts *a = m->acts;
    SF_TRY(be->copy(be, f->M, a->M, (int64_t)n * S * H));
    if (c->attention == 2) {
        sf_attn_weights aw = {NULL, m->P.attn_w_q, m->P.attn_b_q, m->P.attn_w_k, m->P.attn_v,
                              m->P.attn_w_c, m->P.attn_b_c};
        SF_TRY(sf_attn_keys_fwd(be, SF_ATTN_MLP, n, S, H, f->M, &aw, f->keys));
    }
    const int he = sf_model_config_enc_h(c), D = c->bidirectional ? 2 : 1;
    for (int l = 0; l < c->dec_layers; l++) {
        if (c->bridge != 0) {
            SF_TRY(be->fill(be, f->h[l], (int64_t)n * H, 0.0f));
            if (f->c[l])
                SF_TRY(be->fill(be, f->c[l], (int64_t)n * H, 0.0f));
            continue;
        }
        for (int d = 0; d < D; d++) {
            SF_TRY(be->copy2d(be, n, he, a->enc_hT[l][d], he, f->h[l] + d * he, H));
            if (f->c[l])
                SF_TRY(be->copy2d(be, n, he, a->enc_cT[l][d], he, f->c[l] + d * he, H));
        }
    }
    return be->fill(be, f->htil, (int64_t)n * H, 0.0f);
}

sf_status sf_infer_start(sf_s2s *m, int n, int S, const int32_t *src, const int32_t *src_len,
                         int max_rows, sf_infer **out)
{
    *out = NULL;
    if (n < 1 || S < 1 || max_rows < n)
        return SF_FAIL(SF_ERR_INVALID_ARG, "bad decode batch n=%d S=%d max_rows=%d", n, S,
                       max_rows);
    sf_infer *f = calloc(1, sizeof *f);
    if (!f)
        return SF_FAIL(SF_ERR_OOM, "decoder state");
    f->m = m, f->n = n, f->S = S, f->max_rows = max_rows, f->rows = n;
    f->src_len = malloc(sizeof(int32_t) * (size_t)n);
    f->act_sent = malloc(sizeof(int32_t) * 2 * (size_t)n); /* record + scratch list */
    f->act_len = malloc(sizeof(int32_t) * (size_t)n);
    f->n_act = -1;
    f->group_rows = malloc(sizeof(int32_t) * (size_t)max_rows);
    f->graph_sent = malloc(sizeof(int32_t) * (size_t)max_rows);
    f->seen_sent = malloc(sizeof(int32_t) * (size_t)max_rows);
    sf_arena sizing, ar;
    sf_arena_init_measure(&sizing, "decoder state");
    sf_status st = f->src_len && f->act_sent && f->act_len && f->group_rows && f->graph_sent &&
                           f->seen_sent
                       ? sf_infer_plan(f, &sizing)
                       : SF_FAIL(SF_ERR_OOM, "lengths");
    if (st == SF_OK)
        st = m->be->alloc(m->be, sizing.used, &f->block);
    if (st == SF_OK) {
        memcpy(f->src_len, src_len, sizeof(int32_t) * (size_t)n);
        sf_arena_init_external(&ar, f->block, sizing.used, "decoder state");
        st = sf_infer_plan(f, &ar);
    }
    if (st == SF_OK)
        st = sf_infer_encode(f, src);
    if (st != SF_OK) {
        sf_infer_free(f);
        return st;
    }
    *out = f;
    return SF_OK;
}

void sf_infer_free(sf_infer *f)
{
    if (!f)
        return;
    sf_backend *be = f->m->be;
    if (f->graph && be->graph_free)
        be->graph_free(be, f->graph);
    if (f->block)
        be->free(be, f->block);
    free(f->src_len);
    free(f->act_sent);
    free(f->act_len);
    free(f->group_rows);
    free(f->graph_sent);
    free(f->seen_sent);
    free(f);
}

/* Attention for rows [r0, r0+k) that all belong to sentence s. */
static sf_status sf_infer_attend(sf_infer *f, int r0, int k, int s)
{
    sf_s2s *m = f->m;
    const sf_model_config *c = &m->cfg;
    const int S = f->S, H = c->hidden_size, L = c->dec_layers;
    const int64_t off = (int64_t)s * S * H;
    sf_attn_weights aw = {m->P.attn_w_a, m->P.attn_w_q, m->P.attn_b_q, m->P.attn_w_k,
                          m->P.attn_v,   m->P.attn_w_c, m->P.attn_b_c};
    return sf_attn_step_fwd(m->be, (sf_attn_type)c->attention, 1, k, S, H, f->M + off,
                            f->keys ? f->keys + off : NULL, &f->src_len[s], &aw,
                            f->h[L - 1] + (int64_t)r0 * H, f->align + (int64_t)r0 * S,
                            f->ctx + (int64_t)r0 * H, f->htil + (int64_t)r0 * H,
                            f->attn_cache);
}

/* Make Mc/Kc hold the memory of sentences list[0..n) in that order (a no-op
 * when they already do, or when the list is every sentence in order: then M
 * itself serves). Returns the memory, keys and lengths to attend over. */
static sf_status sf_infer_compact(sf_infer *f, const int32_t *list, int n, const float **M,
                                  const float **K, const int32_t **len)
{
    const int64_t SH = (int64_t)f->S * f->m->cfg.hidden_size;
    int identity = n == f->n;
    for (int i = 0; identity && i < n; i++)
        identity = list[i] == i;
    if (identity) {
        *M = f->M, *K = f->keys, *len = f->src_len;
        return SF_OK;
    }
    if (f->n_act != n || memcmp(f->act_sent, list, sizeof(int32_t) * (size_t)n)) {
        sf_backend *be = f->m->be;
        for (int i = 0; i < n; i++) {
            SF_TRY(be->copy(be, f->Mc + i * SH, f->M + list[i] * SH, SH));
            if (f->keys)
                SF_TRY(be->copy(be, f->Kc + i * SH, f->keys + list[i] * SH, SH));
            f->act_sent[i] = list[i];
            f->act_len[i] = f->src_len[list[i]];
        }
        f->n_act = n;
    }
    *M = f->Mc, *K = f->keys ? f->Kc : NULL, *len = f->act_len;
    return SF_OK;
}

/* Attention for all rows. When every sentence present has the same number of
 * rows k (the usual beam layout), one call covers them all: the query and
 * output projections run as single products and each sentence's memory is read
 * once for its k rows; otherwise one call per sentence. */
static sf_status sf_infer_attend_all(sf_infer *f, int rows, const int32_t *sent)
{
    int32_t *list = f->act_sent + f->n; /* scratch: [n] after the compaction record */
    int nr = 0, k = 0, uniform = 1;
    for (int r0 = 0; r0 < rows;) {
        int run = 1;
        while (r0 + run < rows && sent[r0 + run] == sent[r0])
            run++;
        uniform &= (k == 0 || run == k) && nr < f->n;
        if (nr < f->n)
            list[nr] = sent[r0];
        k = run, nr++, r0 += run;
    }
    if (!uniform) {
        for (int r0 = 0; r0 < rows;) {
            int run = 1;
            while (r0 + run < rows && sent[r0 + run] == sent[r0])
                run++;
            SF_TRY(sf_infer_attend(f, r0, run, sent[r0]));
            r0 += run;
        }
        return SF_OK;
    }
    const float *M, *K;
    const int32_t *len;
    SF_TRY(sf_infer_compact(f, list, nr, &M, &K, &len));
    sf_s2s *m = f->m;
    const sf_model_config *c = &m->cfg;
    sf_attn_weights aw = {m->P.attn_w_a, m->P.attn_w_q, m->P.attn_b_q, m->P.attn_w_k,
                          m->P.attn_v,   m->P.attn_w_c, m->P.attn_b_c};
    return sf_attn_step_fwd(m->be, (sf_attn_type)c->attention, nr, k, f->S, c->hidden_size, M,
                            K, len, &aw, f->h[c->dec_layers - 1], f->align, f->ctx, f->htil,
                            f->attn_cache);
}

/* A step's rows, checked on the host so the device work cannot fail on them:
 * as many as the state has, each naming a sentence of the batch and a previous
 * token of the vocabulary. sent, prev: [rows] */
static sf_status sf_infer_check_rows(const sf_infer *f, int rows, const int32_t *sent,
                                     const int32_t *prev)
{
    const int V = f->m->cfg.tgt_vocab_size;
    if (rows != f->rows || rows > f->max_rows)
        return SF_FAIL(SF_ERR_INVALID_ARG, "step over %d rows but the state has %d", rows,
                       f->rows);
    for (int r = 0; r < rows; r++) {
        if (sent[r] < 0 || sent[r] >= f->n)
            return SF_FAIL(SF_ERR_INVALID_ARG, "row %d names sentence %d of %d", r, sent[r],
                           f->n);
        if (prev[r] < 0 || prev[r] >= V)
            return SF_FAIL(SF_ERR_INVALID_ARG, "row %d: previous token %d outside [0, V=%d)",
                           r, prev[r], V);
    }
    return SF_OK;
}

/* The step's device work on checked rows (f->ids uploaded): embedding, the
 * decoder cells, attention per run of rows of one sentence, the generator, and
 * log-softmax unless raw. f->logits: [rows, V] out. */
static sf_status sf_infer_kernels(sf_infer *f, int rows, const int32_t *sent, int raw)
{
    sf_s2s *m = f->m;
    const sf_model_config *c = &m->cfg;
    sf_backend *be = m->be;
    const int H = c->hidden_size, E = c->emb_size, V = c->tgt_vocab_size;
    const int din0 = c->input_feed ? E + H : E;
    double t0 = sf_infer_clock(f);
    SF_TRY(sf_embed_fwd(be, rows, E, m->P.dec_emb, V, f->ids, f->x0, din0));
    if (c->input_feed)
        SF_TRY(be->copy2d(be, rows, H, f->htil, H, f->x0 + E, din0));
    for (int l = 0; l < c->dec_layers; l++) {
        sf_rnn_weights w = {m->P.dec[l].w_ih, m->P.dec[l].w_hh, m->P.dec[l].b_ih,
                            m->P.dec[l].b_hh};
        const float *x = l ? f->xl : f->x0;
        SF_TRY(sf_rnn_step_fwd(be, (sf_cell_type)c->cell, rows, l ? H : din0, H, x,
                               l ? H : din0, &w, f->h[l], f->c[l], NULL, f->h2[l], f->c2[l],
                               f->cache));
        SF_TRY(be->copy(be, f->h[l], f->h2[l], (int64_t)rows * H));
        if (f->c[l])
            SF_TRY(be->copy(be, f->c[l], f->c2[l], (int64_t)rows * H));
        if (l + 1 < c->dec_layers)
            SF_TRY(be->copy(be, f->xl, f->h[l], (int64_t)rows * H));
    }
    SF_TRY(sf_infer_stage_end(f, SF_INFER_CELLS, &t0));
    SF_TRY(sf_infer_attend_all(f, rows, sent));
    SF_TRY(sf_infer_stage_end(f, SF_INFER_ATTENTION, &t0));
    SF_TRY(sf_backend_gemm_bias(be, SF_NO_TRANS, SF_TRANS, rows, V, H, f->htil, H, m->P.gen_w,
                                H, m->P.gen_b, f->logits, V));
    if (!raw)
        SF_TRY(sf_log_softmax(be, rows, V, f->logits, f->logits));
    return sf_infer_stage_end(f, SF_INFER_OUTPUT, &t0);
}

/* Whether (rows, sent, raw) is the layout stored in (n, saved, saved_raw). */
static int sf_same_layout(int n, const int32_t *saved, int saved_raw, int rows,
                          const int32_t *sent, int raw)
{
    return n == rows && saved_raw == raw &&
           memcmp(saved, sent, sizeof(int32_t) * (size_t)rows) == 0;
}

/* Record the step into f->graph (updating it when it has the same shape). */
static sf_status sf_infer_record(sf_infer *f, int rows, const int32_t *sent, int raw)
{
    sf_backend *be = f->m->be;
    f->graph_rows = 0; /* the graph is in flux until it is recorded anew */
    SF_TRY(be->graph_begin(be));
    sf_status st = sf_infer_kernels(f, rows, sent, raw);
    sf_status end = be->graph_end(be, st != SF_OK, &f->graph);
    SF_TRY(st);
    SF_TRY(end);
    memcpy(f->graph_sent, sent, sizeof(int32_t) * (size_t)rows);
    f->graph_rows = rows, f->graph_raw = raw;
    return SF_OK;
}

/* The step's device work: replayed when the graph has this layout, recorded when
 * the layout repeats the last step's (it will likely stay), else run directly
 * (so a layout seen once costs no recording, and ops that grow buffers or check
 * lengths do so outside a recording). */
static sf_status sf_infer_run(sf_infer *f, int rows, const int32_t *sent, int raw)
{
    sf_backend *be = f->m->be;
    if (!be->graph_begin)
        return sf_infer_kernels(f, rows, sent, raw);
    if (f->graph && sf_same_layout(f->graph_rows, f->graph_sent, f->graph_raw, rows, sent, raw))
        return be->graph_launch(be, f->graph);
    if (!sf_same_layout(f->seen_rows, f->seen_sent, f->seen_raw, rows, sent, raw)) {
        memcpy(f->seen_sent, sent, sizeof(int32_t) * (size_t)rows);
        f->seen_rows = rows, f->seen_raw = raw;
        return sf_infer_kernels(f, rows, sent, raw);
    }
    SF_TRY(sf_infer_record(f, rows, sent, raw));
    return be->graph_launch(be, f->graph);
}

/* Check the rows, upload their previous tokens, run the step; attention [rows, S]
 * to the host when attn is not NULL. */
static sf_status sf_infer_forward(sf_infer *f, int rows, const int32_t *sent,
                                  const int32_t *prev, int raw, float *attn)
{
    sf_backend *be = f->m->be;
    f->logits_rows = 0;
    SF_TRY(sf_infer_check_rows(f, rows, sent, prev));
    SF_TRY(be->upload(be, f->ids, prev, sizeof(int32_t) * (size_t)rows));
    SF_TRY(sf_infer_run(f, rows, sent, raw));
    if (attn)
        SF_TRY(be->download(be, attn, f->align, sizeof(float) * (size_t)rows * f->S));
    return SF_OK;
}

sf_status sf_infer_step(sf_infer *f, int rows, const int32_t *sent, const int32_t *prev,
                        float *logprobs, float *attn)
{
    sf_backend *be = f->m->be;
    SF_TRY(sf_infer_forward(f, rows, sent, prev, 0, attn));
    return be->download(be, logprobs, f->logits,
                        sizeof(float) * (size_t)rows * f->m->cfg.tgt_vocab_size);
}

sf_status sf_infer_step_logits(sf_infer *f, int rows, const int32_t *sent, const int32_t *prev,
                               float *attn)
{
    SF_TRY(sf_infer_forward(f, rows, sent, prev, 1, attn));
    f->logits_rows = rows;
    return SF_OK;
}

sf_status sf_infer_topk(sf_infer *f, int rows, const int32_t *sent, const double *beam_lp,
                        int k2, uint32_t ban, double *score, int32_t *beam, int32_t *token,
                        int32_t *n_cand)
{
    sf_backend *be = f->m->be;
    if (rows != f->logits_rows || rows < 1)
        return SF_FAIL(SF_ERR_INVALID_ARG, "top-k over %d rows, but the last step left "
                       "logits of %d rows (sf_infer_step_logits first)", rows, f->logits_rows);
    int G = 0;
    for (int r0 = 0; r0 < rows; G++) {
        int k = 1;
        while (r0 + k < rows && sent[r0 + k] == sent[r0])
            k++;
        f->group_rows[G] = k;
        r0 += k;
    }
    return be->beam_topk(be, G, f->group_rows, f->m->cfg.tgt_vocab_size, k2, 1, ban,
                         f->logits, beam_lp, score, beam, token, n_cand);
}

/* x[r] = x[from[r]] for r < rows, rows of width H, through tmp (same shape):
 * the state keeps its address. from: [rows] device */
static sf_status sf_reorder_rows(sf_backend *be, int rows, int H, const int32_t *from,
                                 float *x, float *tmp)
{
    SF_TRY(be->gather_rows(be, rows, H, x, H, from, 0.0f, tmp, H));
    return be->copy(be, x, tmp, (int64_t)rows * H);
}

sf_status sf_infer_reorder(sf_infer *f, int new_rows, const int32_t *from)
{
    const sf_model_config *c = &f->m->cfg;
    sf_backend *be = f->m->be;
    const int H = c->hidden_size;
    if (new_rows < 0 || new_rows > f->max_rows)
        return SF_FAIL(SF_ERR_INVALID_ARG, "reorder to %d rows (at most %d)", new_rows,
                       f->max_rows);
    for (int r = 0; r < new_rows; r++)
        if (from[r] < 0 || from[r] >= f->rows)
            return SF_FAIL(SF_ERR_INVALID_ARG, "new row %d comes from row %d of %d", r, from[r],
                           f->rows);
    double t0 = sf_infer_clock(f);
    SF_TRY(be->upload(be, f->from, from, sizeof(int32_t) * (size_t)new_rows));
    for (int l = 0; l < c->dec_layers; l++) {
        SF_TRY(sf_reorder_rows(be, new_rows, H, f->from, f->h[l], f->h2[l]));
        if (f->c[l])
            SF_TRY(sf_reorder_rows(be, new_rows, H, f->from, f->c[l], f->c2[l]));
    }
    SF_TRY(sf_reorder_rows(be, new_rows, H, f->from, f->htil, f->htil2));
    f->rows = new_rows;
    f->logits_rows = 0; /* the logits belong to the old rows */
    return sf_infer_stage_end(f, SF_INFER_REORDER, &t0);
}
