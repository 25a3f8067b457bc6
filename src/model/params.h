/* params.h: the model's parameters as one flat float block with named views
 * (DESIGN.md section 2 names and shapes). Gradients and Adam moments use the
 * same layout, so an optimizer step is one loop over one array. */
#ifndef SF_MODEL_PARAMS_H
#define SF_MODEL_PARAMS_H

#include <stdint.h>

#include "core/rng.h"
#include "model/config.h"

#define SF_PARAM_NAME_MAX 64
#define SF_MAX_LAYERS 64

typedef struct sf_param {
    char name[SF_PARAM_NAME_MAX]; /* "decoder.rnn.layers.0.weight_ih" */
    int ndim;                     /* 1 or 2 */
    int64_t shape[2];
    int64_t offset;               /* in floats from the block start (64-byte aligned) */
    int64_t numel;
    int is_embedding;             /* row 0 (pad) stays zero */
} sf_param;

typedef struct sf_param_layout {
    sf_param *list;
    int count;
    int64_t total; /* floats, including alignment padding */
} sf_param_layout;

/* Views of one direction / layer, as pointers into a block. */
typedef struct sf_rnn_view {
    float *w_ih, *w_hh, *b_ih, *b_hh;
} sf_rnn_view;

typedef struct sf_model_view {
    float *enc_emb;                         /* [V_s, E] */
    sf_rnn_view enc[SF_MAX_LAYERS][2];      /* [layer][direction] */
    float *dec_emb;                         /* [V_t, E] */
    sf_rnn_view dec[SF_MAX_LAYERS];
    float *attn_w_a;                        /* [H, H] general */
    float *attn_w_q, *attn_b_q, *attn_w_k;  /* mlp */
    float *attn_v;                          /* [1, H] mlp */
    float *attn_w_c, *attn_b_c;             /* [H, 2H], [H] (bias mlp only) */
    float *gen_w;                           /* [V_t, H]; = dec_emb when tied */
    float *gen_b;                           /* [V_t] */
} sf_model_view;

sf_status sf_param_layout_build(const sf_model_config *c, sf_param_layout *out);
void sf_param_layout_free(sf_param_layout *l);
const sf_param *sf_param_find(const sf_param_layout *l, const char *name);

/* Point every view into block (parameters, gradients or moments alike). */
void sf_model_view_bind(const sf_model_config *c, const sf_param_layout *l, float *block,
                        sf_model_view *v);

/* Uniform init in [-scale, scale] for every parameter, then pad rows zero. */
void sf_params_init_uniform(const sf_param_layout *l, float *block, float scale, sf_rng *rng);
/* Zero the pad rows (row 0) of the embeddings. */
void sf_params_zero_pad_rows(const sf_param_layout *l, float *block);

#endif
