/* sf_test_golden.h: reading a PyTorch golden case (tests/data/golden, see its
 * README): the model config, the batch, the weights as one host block in a
 * model's parameter layout, and each tensor's float32 drift for tolerances.
 * Header-only (static inline), since each test binary links only its own file
 * and sf_test.c. */
#ifndef SF_TEST_GOLDEN_H
#define SF_TEST_GOLDEN_H

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/config.h"
#include "model/params.h"
#include "nn/s2s.h"
#include "seqfuse/modelfile.h"
#include "sf_test.h"

typedef struct sf_golden {
    sf_st_file *f;
    cJSON *drift; /* tensor name -> float32 drift (the file's "f32_drift") */
    sf_model_config cfg;
    int B, S, T;
    int32_t *src, *src_len, *tgt_in, *tgt_out; /* [B,S], [B], [B,T], [B,T] host */
} sf_golden;

/* A malloc'd copy of the I32 tensor `name`, which must hold n values. */
static inline int32_t *sf_golden_i32(const sf_golden *g, const char *name, int64_t n)
{
    const sf_st_info *t = sf_st_find(g->f, name);
    ck_assert_msg(t && t->dtype == SF_I32, "tensor %s missing or not I32", name);
    ck_assert_int_eq((int64_t)(t->nbytes / 4), n);
    int32_t *out = malloc(t->nbytes);
    ck_assert_ptr_nonnull(out);
    memcpy(out, sf_st_data(g->f, t), t->nbytes);
    return out;
}

/* Opens tests/data/golden/<name>.safetensors: config, drift, batch. */
static inline void sf_golden_open(sf_golden *g, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/golden/%s.safetensors", SF_TEST_DATA_DIR, name);
    memset(g, 0, sizeof *g);
    ck_assert_msg(sf_st_open(path, 0, &g->f) == SF_OK, "%s", sf_last_error());
    cJSON *cfg = cJSON_Parse(sf_st_meta(g->f, "config"));
    ck_assert_ptr_nonnull(cfg);
    cJSON_DeleteItemFromObject(cfg, "torch_version");
    char *json = cJSON_PrintUnformatted(cfg);
    cJSON_Delete(cfg);
    ck_assert_msg(sf_model_config_from_json(json, name, &g->cfg) == SF_OK, "%s",
                  sf_last_error());
    free(json);
    g->drift = cJSON_Parse(sf_st_meta(g->f, "f32_drift"));
    ck_assert_ptr_nonnull(g->drift);
    const sf_st_info *src = sf_st_find(g->f, "input.src");
    const sf_st_info *tgt = sf_st_find(g->f, "input.tgt_in");
    ck_assert(src && tgt && src->ndim == 2 && tgt->ndim == 2);
    g->B = (int)src->shape[0], g->S = (int)src->shape[1], g->T = (int)tgt->shape[1];
    g->src = sf_golden_i32(g, "input.src", (int64_t)g->B * g->S);
    g->src_len = sf_golden_i32(g, "input.src_len", g->B);
    g->tgt_in = sf_golden_i32(g, "input.tgt_in", (int64_t)g->B * g->T);
    g->tgt_out = sf_golden_i32(g, "input.tgt_out", (int64_t)g->B * g->T);
}

static inline void sf_golden_close(sf_golden *g)
{
    free(g->src), free(g->src_len), free(g->tgt_in), free(g->tgt_out);
    sf_st_close(g->f);
    cJSON_Delete(g->drift);
}

static inline sf_s2s_batch sf_golden_batch(const sf_golden *g)
{
    return (sf_s2s_batch){g->B, g->S, g->T, g->src, g->src_len, g->tgt_in, g->tgt_out};
}

/* The float32 drift of tensor `name` (0 when the file lists none). */
static inline double sf_golden_drift(const sf_golden *g, const char *name)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(g->drift, name);
    return cJSON_IsNumber(d) ? d->valuedouble : 0.0;
}

/* The case's weights as a malloc'd host block [l->total] in layout l (padding 0). */
static inline float *sf_golden_weights(const sf_golden *g, const sf_param_layout *l)
{
    float *w = calloc((size_t)(l->total > 0 ? l->total : 1), sizeof(float));
    ck_assert_ptr_nonnull(w);
    for (int i = 0; i < l->count; i++) {
        const sf_param *p = &l->list[i];
        ck_assert_msg(sf_st_read_f32(g->f, p->name, p->ndim, p->shape, w + p->offset) == SF_OK,
                      "%s", sf_last_error());
    }
    return w;
}

/* Non-pad target tokens of the batch. */
static inline int64_t sf_golden_ntok(const sf_s2s_batch *b)
{
    int64_t n = 0;
    for (int64_t i = 0; i < (int64_t)b->B * b->T; i++)
        n += b->tgt_out[i] != 0;
    return n;
}

/* max|a - b| / max|b| over n (+inf when a has a NaN or Inf, or b is all 0 and
 * a is not): the error of a tensor relative to its own scale. */
static inline double sf_golden_scaled_err(const float *a, const float *b, int64_t n)
{
    double err = 0, scale = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(a[i]))
            return INFINITY;
        err = fmax(err, fabs((double)a[i] - b[i]));
        scale = fmax(scale, fabs((double)b[i]));
    }
    return scale > 0 ? err / scale : (err > 0 ? INFINITY : 0.0);
}

#endif
