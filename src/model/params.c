/* params.c: parameter names, shapes and offsets for a config; views; init. */
#include "model/params.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SF_PARAM_ALIGN 16 /* floats: 64 bytes */

typedef struct sf_layout_builder {
    sf_param_layout *l;
    int cap;
    sf_status st;
} sf_layout_builder;

static void sf_add(sf_layout_builder *b, const char *name, int64_t rows, int64_t cols,
                   int is_embedding)
{
    if (b->st != SF_OK)
        return;
    if (b->l->count == b->cap) {
        int cap = b->cap ? b->cap * 2 : 32;
        sf_param *list = realloc(b->l->list, sizeof *list * (size_t)cap);
        if (!list) {
            b->st = SF_FAIL(SF_ERR_OOM, "parameter table");
            return;
        }
        b->l->list = list;
        b->cap = cap;
    }
    sf_param *p = &b->l->list[b->l->count++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->ndim = cols ? 2 : 1;
    p->shape[0] = rows;
    p->shape[1] = cols;
    p->numel = rows * (cols ? cols : 1);
    p->offset = b->l->total;
    p->is_embedding = is_embedding;
    b->l->total += (p->numel + SF_PARAM_ALIGN - 1) / SF_PARAM_ALIGN * SF_PARAM_ALIGN;
}

static void sf_add_rnn(sf_layout_builder *b, const char *prefix, const char *suffix, int64_t gh,
                       int64_t in, int64_t h)
{
    static const char *const parts[] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
    char name[SF_PARAM_NAME_MAX];
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "%s%s%s", prefix, parts[i], suffix);
        sf_add(b, name, gh, i == 0 ? in : i == 1 ? h : 0, 0);
    }
}

sf_status sf_param_layout_build(const sf_model_config *c, sf_param_layout *out)
{
    memset(out, 0, sizeof *out);
    SF_TRY(sf_model_config_validate(c, "model config"));
    if (c->enc_layers > SF_MAX_LAYERS || c->dec_layers > SF_MAX_LAYERS)
        return SF_FAIL(SF_ERR_INVALID_ARG, "at most %d layers", SF_MAX_LAYERS);
    sf_layout_builder b = {.l = out};
    const int64_t G = sf_model_config_gates(c), E = c->emb_size, H = c->hidden_size;
    const int64_t he = sf_model_config_enc_h(c);
    char prefix[SF_PARAM_NAME_MAX], suffix[SF_PARAM_NAME_MAX];
    sf_add(&b, "encoder.embeddings.weight", c->src_vocab_size, E, 1);
    for (int k = 0; k < c->enc_layers; k++) {
        for (int d = 0; d < (c->bidirectional ? 2 : 1); d++) {
            snprintf(suffix, sizeof suffix, "_l%d%s", k, d ? "_reverse" : "");
            sf_add_rnn(&b, "encoder.rnn.", suffix, G * he, k == 0 ? E : H, he);
        }
    }
    sf_add(&b, "decoder.embeddings.weight", c->tgt_vocab_size, E, 1);
    for (int k = 0; k < c->dec_layers; k++) {
        snprintf(prefix, sizeof prefix, "decoder.rnn.layers.%d.", k);
        int64_t din = k > 0 ? H : c->input_feed ? E + H : E;
        sf_add_rnn(&b, prefix, "", G * H, din, H);
    }
    if (c->attention == 1)
        sf_add(&b, "decoder.attn.linear_in.weight", H, H, 0);
    if (c->attention == 2) {
        sf_add(&b, "decoder.attn.linear_query.weight", H, H, 0);
        sf_add(&b, "decoder.attn.linear_query.bias", H, 0, 0);
        sf_add(&b, "decoder.attn.linear_context.weight", H, H, 0);
        sf_add(&b, "decoder.attn.v.weight", 1, H, 0);
    }
    sf_add(&b, "decoder.attn.linear_out.weight", H, 2 * H, 0);
    if (c->attention == 2)
        sf_add(&b, "decoder.attn.linear_out.bias", H, 0, 0);
    if (!c->tie_output)
        sf_add(&b, "generator.weight", c->tgt_vocab_size, H, 0);
    sf_add(&b, "generator.bias", c->tgt_vocab_size, 0, 0);
    if (b.st != SF_OK)
        sf_param_layout_free(out);
    return b.st;
}

void sf_param_layout_free(sf_param_layout *l)
{
    if (!l)
        return;
    free(l->list);
    memset(l, 0, sizeof *l);
}

const sf_param *sf_param_find(const sf_param_layout *l, const char *name)
{
    for (int i = 0; i < l->count; i++)
        if (strcmp(l->list[i].name, name) == 0)
            return &l->list[i];
    return NULL;
}

static float *sf_at(const sf_param_layout *l, float *block, const char *name)
{
    const sf_param *p = sf_param_find(l, name);
    return p ? block + p->offset : NULL;
}

static void sf_bind_rnn(const sf_param_layout *l, float *block, const char *prefix,
                        const char *suffix, sf_rnn_view *v)
{
    char name[SF_PARAM_NAME_MAX * 2];
    float **slots[4] = {&v->w_ih, &v->w_hh, &v->b_ih, &v->b_hh};
    static const char *const parts[] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "%s%s%s", prefix, parts[i], suffix);
        *slots[i] = sf_at(l, block, name);
    }
}

void sf_model_view_bind(const sf_model_config *c, const sf_param_layout *l, float *block,
                        sf_model_view *v)
{
    char buf[SF_PARAM_NAME_MAX];
    memset(v, 0, sizeof *v);
    v->enc_emb = sf_at(l, block, "encoder.embeddings.weight");
    for (int k = 0; k < c->enc_layers; k++)
        for (int d = 0; d < (c->bidirectional ? 2 : 1); d++) {
            snprintf(buf, sizeof buf, "_l%d%s", k, d ? "_reverse" : "");
            sf_bind_rnn(l, block, "encoder.rnn.", buf, &v->enc[k][d]);
        }
    v->dec_emb = sf_at(l, block, "decoder.embeddings.weight");
    for (int k = 0; k < c->dec_layers; k++) {
        snprintf(buf, sizeof buf, "decoder.rnn.layers.%d.", k);
        sf_bind_rnn(l, block, buf, "", &v->dec[k]);
    }
    v->attn_w_a = sf_at(l, block, "decoder.attn.linear_in.weight");
    v->attn_w_q = sf_at(l, block, "decoder.attn.linear_query.weight");
    v->attn_b_q = sf_at(l, block, "decoder.attn.linear_query.bias");
    v->attn_w_k = sf_at(l, block, "decoder.attn.linear_context.weight");
    v->attn_v = sf_at(l, block, "decoder.attn.v.weight");
    v->attn_w_c = sf_at(l, block, "decoder.attn.linear_out.weight");
    v->attn_b_c = sf_at(l, block, "decoder.attn.linear_out.bias");
    v->gen_w = c->tie_output ? v->dec_emb : sf_at(l, block, "generator.weight");
    v->gen_b = sf_at(l, block, "generator.bias");
}

void sf_params_zero_pad_rows(const sf_param_layout *l, float *block)
{
    for (int i = 0; i < l->count; i++)
        if (l->list[i].is_embedding)
            memset(block + l->list[i].offset, 0, sizeof(float) * (size_t)l->list[i].shape[1]);
}

void sf_params_init_uniform(const sf_param_layout *l, float *block, float scale, sf_rng *rng)
{
    for (int i = 0; i < l->count; i++)
        sf_rng_fill_uniform(rng, block + l->list[i].offset, l->list[i].numel, -scale, scale);
    sf_params_zero_pad_rows(l, block);
}
