/* optim.c: Adam over the flat parameter block (skipping frozen embeddings),
 * clipping by the global gradient norm, warm-up and plateau decay. */
#include "train/optim.h"

#include <math.h>
#include <string.h>

sf_status sf_optim_init(sf_optim *o, sf_backend *be, const sf_param_layout *l,
                        const sf_train_opts *t)
{
    memset(o, 0, sizeof *o);
    o->be = be;
    o->layout = l;
    o->lr = t->lr;
    o->b1 = t->adam_beta1;
    o->b2 = t->adam_beta2;
    o->eps = t->adam_eps;
    o->clip = t->clip_norm;
    o->min_lr = t->min_lr;
    o->decay = t->lr_decay;
    o->warmup = t->warmup_steps;
    o->freeze_embeddings = t->freeze_embeddings;
    size_t bytes = sizeof(float) * (size_t)l->total;
    sf_status st = be->alloc(be, bytes, (void **)&o->m);
    if (st == SF_OK)
        st = be->alloc(be, bytes, (void **)&o->v);
    if (st == SF_OK)
        st = be->fill(be, o->m, l->total, 0.0f);
    if (st == SF_OK)
        st = be->fill(be, o->v, l->total, 0.0f);
    if (st != SF_OK)
        sf_optim_free(o);
    return st;
}

void sf_optim_free(sf_optim *o)
{
    if (!o || !o->be)
        return;
    o->be->free(o->be, o->m);
    o->be->free(o->be, o->v);
    o->m = o->v = NULL;
}

sf_status sf_optim_grad_norm(sf_optim *o, const float *grads, double *norm, int *finite)
{
    double ss = 0.0;
    SF_TRY(o->be->sumsq(o->be, o->layout->total, grads, &ss));
    *finite = isfinite(ss);
    *norm = sqrt(ss);
    return SF_OK;
}

sf_status sf_optim_step(sf_optim *o, float *params, const float *grads, double norm,
                        float *lr_used)
{
    o->step++;
    float lr = o->lr;
    if (o->warmup > 0 && o->step <= o->warmup)
        lr = o->lr * (float)o->step / (float)o->warmup;
    /* torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when < 1 */
    float gscale = 1.0f;
    if (o->clip > 0.0f) {
        double coef = o->clip / (norm + 1e-6);
        if (coef < 1.0)
            gscale = (float)coef;
    }
    const float bc1 = 1.0f - powf(o->b1, (float)o->step);
    const float bc2 = 1.0f - powf(o->b2, (float)o->step);
    if (lr_used)
        *lr_used = lr;
    const sf_param_layout *l = o->layout;
    if (!o->freeze_embeddings)
        return o->be->adam(o->be, l->total, params, grads, o->m, o->v, gscale, lr, o->b1, o->b2,
                           o->eps, bc1, bc2);
    for (int i = 0; i < l->count; i++) {
        const sf_param *p = &l->list[i];
        if (p->is_embedding)
            continue;
        SF_TRY(o->be->adam(o->be, p->numel, params + p->offset, grads + p->offset,
                           o->m + p->offset, o->v + p->offset, gscale, lr, o->b1, o->b2, o->eps,
                           bc1, bc2));
    }
    return SF_OK;
}

void sf_optim_decay(sf_optim *o)
{
    o->lr *= o->decay;
    if (o->lr < o->min_lr)
        o->lr = o->min_lr;
}
