/* optim.h: Adam with global gradient-norm clipping over the flat parameter
 * block, learning-rate warm-up and decay on a validation plateau. The state
 * (moments, step, lr) is what a checkpoint saves for exact resume. */
#ifndef SF_TRAIN_OPTIM_H
#define SF_TRAIN_OPTIM_H

#include <stdint.h>

#include "backend/backend.h"
#include "model/params.h"
#include "train/train_opts.h"

typedef struct sf_optim {
    sf_backend *be;
    const sf_param_layout *layout;
    float *m, *v;            /* [layout.total] on the device */
    int64_t step;            /* updates done */
    float lr;                /* current base learning rate (after decays) */
    float b1, b2, eps, clip, min_lr, decay;
    int32_t warmup;
    int freeze_embeddings;
} sf_optim;

sf_status sf_optim_init(sf_optim *o, sf_backend *be, const sf_param_layout *l,
                        const sf_train_opts *t);
void sf_optim_free(sf_optim *o);

/* Global L2 norm of the gradients; *finite = 0 when it is NaN or Inf. */
sf_status sf_optim_grad_norm(sf_optim *o, const float *grads, double *norm, int *finite);
/* One update: clip to the norm given, step, warm-up; returns the lr used. */
sf_status sf_optim_step(sf_optim *o, float *params, const float *grads, double norm,
                        float *lr_used);
/* Multiply the learning rate by the decay factor (not below min_lr). */
void sf_optim_decay(sf_optim *o);

#endif
