/* config.h: the model's hyper-parameters (DESIGN.md section 1), their option
 * table, validation, and the JSON form stored in the model file's metadata. */
#ifndef SF_MODEL_CONFIG_H
#define SF_MODEL_CONFIG_H

#include <stdint.h>

#include "model/options.h"

/* Enum values match sf_cell_type / sf_attn_type in src/nn. */
typedef struct sf_model_config {
    int cell;               /* 0 rnn, 1 gru, 2 lstm */
    int attention;          /* 0 dot, 1 general, 2 mlp */
    int32_t src_vocab_size; /* V_s (set from the tokenizer) */
    int32_t tgt_vocab_size; /* V_t */
    int32_t emb_size;       /* E */
    int32_t hidden_size;    /* H (each direction H/2 when bidirectional) */
    int32_t enc_layers;
    int32_t dec_layers;
    int bidirectional;
    int input_feed;
    int bridge;             /* 0 copy, 1 zero */
    int tie_output;
    float dropout;
    int src_append_eos;
    float label_smoothing;
} sf_model_config;

extern const sf_opt_spec sf_model_config_spec[];

void sf_model_config_default(sf_model_config *c);
/* Cross-field checks (sizes, H even when bidirectional, tie needs E == H...). */
sf_status sf_model_config_validate(const sf_model_config *c, const char *where);
/* Compact JSON object with every key; malloc'd. */
sf_status sf_model_config_to_json(const sf_model_config *c, char **json);
/* From a model file's config: every key must be present, none unknown. */
sf_status sf_model_config_from_json(const char *json, const char *where, sf_model_config *c);
/* Gates per cell (1 rnn, 3 gru, 4 lstm) and hidden size per encoder direction. */
int sf_model_config_gates(const sf_model_config *c);
int32_t sf_model_config_enc_h(const sf_model_config *c);

/* Built-in presets (models/<name>.yaml compiled in): text or NULL. */
const char *sf_preset_text(const char *name);
/* "tiny, small, base" */
const char *sf_preset_names(void);

#endif
