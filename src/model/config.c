/* config.c: model hyper-parameters: table, defaults, checks, JSON form. */
#include "model/config.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const sf_cell_names[] = {"rnn", "gru", "lstm", NULL};
static const char *const sf_attn_names[] = {"dot", "general", "mlp", NULL};
static const char *const sf_bridge_names[] = {"copy", "zero", NULL};

#define SF_CFG(key, type, field, lo, hi, names, help) \
    {key, type, offsetof(sf_model_config, field), lo, hi, names, help}

const sf_opt_spec sf_model_config_spec[] = {
    SF_CFG("cell", SF_OPT_ENUM, cell, 0, 0, sf_cell_names, "recurrent cell: rnn, gru, lstm"),
    SF_CFG("attention", SF_OPT_ENUM, attention, 0, 0, sf_attn_names,
           "attention score: dot, general, mlp"),
    SF_CFG("src_vocab_size", SF_OPT_INT, src_vocab_size, 5, 1 << 22, NULL,
           "source vocabulary size (SentencePiece; an upper bound when training one)"),
    SF_CFG("tgt_vocab_size", SF_OPT_INT, tgt_vocab_size, 5, 1 << 22, NULL,
           "target vocabulary size"),
    SF_CFG("emb_size", SF_OPT_INT, emb_size, 1, 1 << 16, NULL, "embedding size E"),
    SF_CFG("hidden_size", SF_OPT_INT, hidden_size, 1, 1 << 16, NULL, "hidden size H"),
    SF_CFG("enc_layers", SF_OPT_INT, enc_layers, 1, 64, NULL, "encoder layers"),
    SF_CFG("dec_layers", SF_OPT_INT, dec_layers, 1, 64, NULL, "decoder layers"),
    SF_CFG("bidirectional", SF_OPT_BOOL, bidirectional, 0, 1, NULL, "bidirectional encoder"),
    SF_CFG("input_feed", SF_OPT_BOOL, input_feed, 0, 1, NULL,
           "feed the previous attentional state to the decoder"),
    SF_CFG("bridge", SF_OPT_ENUM, bridge, 0, 0, sf_bridge_names,
           "decoder start state: copy (encoder final states) or zero"),
    SF_CFG("tie_output", SF_OPT_BOOL, tie_output, 0, 1, NULL,
           "tie the output layer to the target embeddings (needs emb_size = hidden_size)"),
    SF_CFG("dropout", SF_OPT_FLOAT, dropout, 0, 0.95, NULL, "dropout probability"),
    SF_CFG("src_append_eos", SF_OPT_BOOL, src_append_eos, 0, 1, NULL,
           "append </s> to source sentences"),
    SF_CFG("label_smoothing", SF_OPT_FLOAT, label_smoothing, 0, 0.99, NULL,
           "label smoothing epsilon"),
    {0},
};

void sf_model_config_default(sf_model_config *c)
{
    *c = (sf_model_config){
        .cell = 2, .attention = 1, .src_vocab_size = 8000, .tgt_vocab_size = 8000,
        .emb_size = 256, .hidden_size = 512, .enc_layers = 2, .dec_layers = 2,
        .bidirectional = 1, .input_feed = 1, .bridge = 0, .tie_output = 0, .dropout = 0.2f,
        .src_append_eos = 0, .label_smoothing = 0.1f,
    };
}

int sf_model_config_gates(const sf_model_config *c)
{
    return c->cell == 2 ? 4 : c->cell == 1 ? 3 : 1;
}

int32_t sf_model_config_enc_h(const sf_model_config *c)
{
    return c->bidirectional ? c->hidden_size / 2 : c->hidden_size;
}

sf_status sf_model_config_validate(const sf_model_config *c, const char *where)
{
    for (const sf_opt_spec *s = sf_model_config_spec; s->key; s++) {
        const void *f = (const char *)c + s->offset;
        if (s->type == SF_OPT_ENUM) {
            int v = *(const int *)f, n = 0;
            while (s->names[n])
                n++;
            if (v < 0 || v >= n)
                return sf_error(SF_ERR_INVALID_ARG, "%s: %s index %d is not one of the %d "
                                "choices", where, s->key, v, n);
            continue;
        }
        double v = s->type == SF_OPT_FLOAT ? *(const float *)f
                   : s->type == SF_OPT_BOOL ? *(const int *)f : *(const int32_t *)f;
        if (v < s->lo || v > s->hi)
            return sf_error(SF_ERR_INVALID_ARG, "%s: %s = %g is out of range [%g, %g]", where,
                            s->key, v, s->lo, s->hi);
    }
    if (c->bidirectional && c->hidden_size % 2)
        return sf_error(SF_ERR_INVALID_ARG, "%s: hidden_size %d must be even with a "
                        "bidirectional encoder (each direction gets half)", where,
                        c->hidden_size);
    if (c->tie_output && c->emb_size != c->hidden_size)
        return sf_error(SF_ERR_INVALID_ARG, "%s: tie_output needs emb_size (%d) = hidden_size "
                        "(%d)", where, c->emb_size, c->hidden_size);
    if (c->bridge == 0 && c->enc_layers != c->dec_layers)
        return sf_error(SF_ERR_INVALID_ARG, "%s: bridge copy needs enc_layers (%d) = dec_layers "
                        "(%d); use bridge zero otherwise", where, c->enc_layers, c->dec_layers);
    return SF_OK;
}

sf_status sf_model_config_to_json(const sf_model_config *c, char **json)
{
    cJSON *o = cJSON_CreateObject();
    char buf[64];
    for (const sf_opt_spec *s = sf_model_config_spec; o && s->key; s++) {
        const void *f = (const char *)c + s->offset;
        cJSON *v;
        if (s->type == SF_OPT_BOOL)
            v = cJSON_CreateBool(*(const int *)f);
        else if (s->type == SF_OPT_ENUM) {
            sf_opt_format(s, c, buf, sizeof buf);
            v = cJSON_CreateString(buf);
        } else if (s->type == SF_OPT_FLOAT) {
            /* the shortest decimal that reads back as the same float: 0.1, not
             * 0.100000001 (up to 9 digits are needed in general) */
            const float x = *(const float *)f;
            for (int digits = 6; digits <= 9; digits++) {
                snprintf(buf, sizeof buf, "%.*g", digits, x);
                if (strtof(buf, NULL) == x)
                    break;
            }
            v = cJSON_CreateNumber(strtod(buf, NULL));
        } else
            v = cJSON_CreateNumber(*(const int32_t *)f);
        if (!v || !cJSON_AddItemToObject(o, s->key, v)) {
            cJSON_Delete(v);
            cJSON_Delete(o);
            o = NULL;
        }
    }
    *json = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return *json ? SF_OK : SF_FAIL(SF_ERR_OOM, "could not build the config JSON");
}

sf_status sf_model_config_from_json(const char *json, const char *where, sf_model_config *c)
{
    sf_model_config_default(c);
    SF_TRY(sf_opt_apply_json(sf_model_config_spec, c, NULL, NULL, json, where));
    cJSON *root = cJSON_Parse(json);
    sf_status st = SF_OK;
    for (const sf_opt_spec *s = sf_model_config_spec; root && s->key && st == SF_OK; s++)
        if (!cJSON_GetObjectItemCaseSensitive(root, s->key))
            st = sf_error(SF_ERR_FORMAT, "%s: config key '%s' is missing", where, s->key);
    cJSON_Delete(root);
    SF_TRY(st);
    return sf_model_config_validate(c, where);
}

/* Generated by CMake from models/NAME.yaml. */
extern const struct {
    const char *name;
    const char *text;
} sf_presets[];

const char *sf_preset_text(const char *name)
{
    for (int i = 0; sf_presets[i].name; i++)
        if (strcmp(sf_presets[i].name, name) == 0)
            return sf_presets[i].text;
    return NULL;
}

const char *sf_preset_names(void)
{
    static char names[256];
    if (!names[0])
        for (int i = 0; sf_presets[i].name; i++) {
            size_t used = strlen(names);
            snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "",
                     sf_presets[i].name);
        }
    return names;
}
