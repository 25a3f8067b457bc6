/* s2s.h: the encoder-decoder network of DESIGN.md section 1 on a backend:
 * forward and hand-written backward over a padded batch (training), plus the
 * pieces the translator drives (encode, decoder start state, decoder step).
 *
 * Layouts: source ids [B,S], target ids [B,T]; inside, sequences are
 * time-major ([S,B,*], [T,B,*]) and the attention memory is M [B,S,H]. */
#ifndef SF_NN_S2S_H
#define SF_NN_S2S_H

#include <stdint.h>

#include "backend/backend.h"
#include "core/arena.h"
#include "core/rng.h"
#include "model/params.h"

/* A model bound to a backend: parameters (and gradients when training) live
 * in one flat block each, in the layout of sf_param_layout. */
typedef struct sf_s2s {
    sf_model_config cfg;
    sf_backend *be;
    sf_param_layout layout;
    float *params;         /* [layout.total] on the backend's device */
    float *grads;          /* same layout; NULL when not training */
    sf_model_view P, G;
    int freeze_embeddings; /* no gradient into the embedding tables */
    sf_rng dropout_rng;
    /* per-batch activations: one device block, carved by an external arena */
    void *ws_block;
    size_t ws_cap;
    sf_arena ws;
    struct sf_s2s_acts *acts;
    double *stage_seconds; /* when set: seconds added per sf_s2s_stage (benchmarks) */
    float *host_scratch;   /* host staging (dropout masks, ids) */
    size_t host_cap;       /* bytes */
} sf_s2s;

/* Stages timed when m->stage_seconds is set (each boundary synchronizes). */
typedef enum sf_s2s_stage {
    SF_STAGE_ENC_FWD = 0,
    SF_STAGE_DEC_FWD,     /* cells and attention over all target steps */
    SF_STAGE_GENERATOR,   /* output layer, softmax + loss, and their backward */
    SF_STAGE_DEC_BWD,
    SF_STAGE_ENC_BWD,
    SF_STAGE_COUNT
} sf_s2s_stage;

typedef struct sf_s2s_batch {
    int B, S, T;
    const int32_t *src;      /* [B,S] host, padded with 0 */
    const int32_t *src_len;  /* [B] host, 1..S */
    const int32_t *tgt_in;   /* [B,T] host: <s> y, padded with 0 */
    const int32_t *tgt_out;  /* [B,T] host: y </s>, padded with 0 */
} sf_s2s_batch;

typedef struct sf_s2s_loss {
    double loss_sum;  /* label-smoothed, over non-pad target tokens */
    double nll_sum;   /* plain negative log-likelihood */
    int64_t ntok;     /* non-pad target tokens */
} sf_s2s_loss;

/* Bind a model to a backend; `with_grads` allocates the gradient block. */
sf_status sf_s2s_create(sf_backend *be, const sf_model_config *cfg, int with_grads,
                        sf_s2s **out);
void sf_s2s_free(sf_s2s *m);

/* Forward, loss and (when `backward`) gradients accumulated into m->grads,
 * scaled by grad_scale (1/ntok gives the mean-loss gradient). `train` turns
 * dropout on. Logits are optional ([T,B,V] copy to host, for tests). */
sf_status sf_s2s_forward_backward(sf_s2s *m, const sf_s2s_batch *b, int train, int backward,
                                  float grad_scale, sf_s2s_loss *loss, float *logits_out);

/* Only the encoder part of sf_s2s_forward_backward (no dropout); the
 * activations stay in the model's workspace until the next call. */
sf_status sf_s2s_encode_only(sf_s2s *m, const sf_s2s_batch *b);

#endif
