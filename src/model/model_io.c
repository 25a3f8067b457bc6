/* model_io.c: saving and strictly loading seqfuse model files. */
#include "model/model_io.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/tensor.h"
#include "model/st_internal.h"

static sf_status sf_save_params(sf_st_writer *w, const sf_param_layout *l, const char *prefix,
                                const float *block, sf_dtype store_as)
{
    char name[SF_PARAM_NAME_MAX + 16];
    for (int i = 0; i < l->count; i++) {
        const sf_param *p = &l->list[i];
        snprintf(name, sizeof name, "%s%s", prefix, p->name);
        SF_TRY(sf_st_writer_add_f32(w, name, store_as, p->ndim, p->shape, block + p->offset));
    }
    return SF_OK;
}

static sf_status sf_model_save_to(sf_st_writer *w, const char *path, const sf_model_config *cfg,
                                  const sf_param_layout *layout, const float *params,
                                  const float *adam_m, const float *adam_v,
                                  const sf_model_blobs *blobs, const sf_kv *meta, int n_meta,
                                  sf_dtype store_as)
{
    char *json = NULL, version[16];
    SF_TRY(sf_model_config_to_json(cfg, &json));
    snprintf(version, sizeof version, "%d", SF_MODEL_FORMAT_VERSION);
    sf_status st = sf_st_writer_meta(w, "format", "seqfuse");
    if (st == SF_OK)
        st = sf_st_writer_meta(w, "version", version);
    if (st == SF_OK)
        st = sf_st_writer_meta(w, "config", json);
    free(json);
    SF_TRY(st);
    for (int i = 0; i < n_meta; i++)
        SF_TRY(sf_st_writer_meta(w, meta[i].key, meta[i].value));
    SF_TRY(sf_save_params(w, layout, "", params, store_as));
    if (adam_m && adam_v) {
        SF_TRY(sf_save_params(w, layout, "optim.m.", adam_m, SF_F32));
        SF_TRY(sf_save_params(w, layout, "optim.v.", adam_v, SF_F32));
    }
    if (blobs && blobs->spm_src) {
        int64_t n = (int64_t)blobs->spm_src_n;
        SF_TRY(sf_st_writer_add(w, "tokenizer.source", SF_U8, 1, &n, blobs->spm_src));
    }
    if (blobs && blobs->spm_tgt) {
        int64_t n = (int64_t)blobs->spm_tgt_n;
        SF_TRY(sf_st_writer_add(w, "tokenizer.target", SF_U8, 1, &n, blobs->spm_tgt));
    }
    return sf_st_writer_save(w, path);
}

sf_status sf_model_save(const char *path, const sf_model_config *cfg,
                        const sf_param_layout *layout, const float *params,
                        const float *adam_m, const float *adam_v, const sf_model_blobs *blobs,
                        const sf_kv *meta, int n_meta, sf_dtype store_as)
{
    sf_st_writer *w = NULL;
    SF_TRY(sf_st_writer_create(&w));
    sf_status st = sf_model_save_to(w, path, cfg, layout, params, adam_m, adam_v, blobs, meta,
                                    n_meta, store_as);
    sf_st_writer_free(w);
    if (st != SF_OK)
        return sf_error_prefix(st, "saving %s", path);
    return SF_OK;
}

/* Is `name` one the layout (with an optional optim prefix) or a tokenizer owns? */
static int sf_known_tensor(const sf_param_layout *l, const char *name)
{
    if (!strcmp(name, "tokenizer.source") || !strcmp(name, "tokenizer.target"))
        return 1;
    if (!strncmp(name, "optim.m.", 8) || !strncmp(name, "optim.v.", 8))
        name += 8;
    return sf_param_find(l, name) != NULL;
}

/* Every tensor the config needs is present with its shape: checked before
 * anything is allocated, so a small corrupt file whose config claims a huge
 * model fails on its contents rather than asking for terabytes. */
static sf_status sf_check_block(const sf_model_file *f, const char *prefix)
{
    char name[SF_PARAM_NAME_MAX + 16], got[160], want[160];
    for (int i = 0; i < f->layout.count; i++) {
        const sf_param *p = &f->layout.list[i];
        snprintf(name, sizeof name, "%s%s", prefix, p->name);
        const sf_st_info *t = sf_st_find(f->st, name);
        if (!t)
            return sf_error(SF_ERR_FORMAT, "tensor '%s' is missing (the model's config needs "
                            "it; was the file edited or written by another program?)", name);
        if (t->ndim != p->ndim || memcmp(t->shape, p->shape, sizeof(int64_t) * (size_t)p->ndim))
            return sf_error(SF_ERR_FORMAT, "tensor '%s' has shape %s, but the config needs %s",
                            name, st_shape_str(t->ndim, t->shape, got, sizeof got),
                            st_shape_str(p->ndim, p->shape, want, sizeof want));
    }
    return SF_OK;
}

/* Read one block; a stored NaN/Inf means a corrupt file (training never
 * saves them: batches with NaN/Inf gradients are skipped). */
static sf_status sf_load_block(const sf_model_file *f, const char *prefix, float *block)
{
    char name[SF_PARAM_NAME_MAX + 16];
    for (int i = 0; i < f->layout.count; i++) {
        const sf_param *p = &f->layout.list[i];
        snprintf(name, sizeof name, "%s%s", prefix, p->name);
        SF_TRY(sf_st_read_f32(f->st, name, p->ndim, p->shape, block + p->offset));
        for (int64_t k = 0; k < p->numel; k++)
            if (!isfinite(block[p->offset + k]))
                return sf_error(SF_ERR_FORMAT, "tensor '%s' holds %s at element %lld (the "
                                "file is corrupt: a model never stores NaN/Inf)", name,
                                isnan(block[p->offset + k]) ? "NaN" : "Inf", (long long)k);
    }
    return SF_OK;
}

static sf_status sf_load_tokenizer(sf_model_file *f, const char *name, const void **data,
                                   size_t *n)
{
    const sf_st_info *t = sf_st_find(f->st, name);
    if (!t)
        return SF_OK;
    if (t->dtype != SF_U8 || t->ndim != 1)
        return sf_error(SF_ERR_FORMAT, "tensor '%s' must be U8 with one dimension (got %s with "
                        "%d)", name, sf_dtype_name(t->dtype), t->ndim);
    *data = sf_st_data(f->st, t);
    *n = t->nbytes;
    return SF_OK;
}

static sf_status sf_model_load_into(const char *path, sf_model_file *f)
{
    SF_TRY(sf_st_open(path, SF_ST_SEQFUSE, &f->st));
    SF_TRY(sf_model_config_from_json(sf_st_meta(f->st, "config"), "config", &f->cfg));
    SF_TRY(sf_param_layout_build(&f->cfg, &f->layout));
    for (int64_t i = 0; i < sf_st_count(f->st); i++) {
        const char *name = sf_st_at(f->st, i)->name;
        if (!sf_known_tensor(&f->layout, name))
            return sf_error(SF_ERR_FORMAT, "unexpected tensor '%s' (a model with this config "
                            "has no such tensor; was the file edited or its config changed?)",
                            name);
    }
    int has_m = sf_st_find(f->st, "optim.m.generator.bias") != NULL;
    int has_v = sf_st_find(f->st, "optim.v.generator.bias") != NULL;
    if (has_m != has_v)
        return sf_error(SF_ERR_FORMAT, "checkpoint has only one of the two Adam moments");
    SF_TRY(sf_check_block(f, ""));
    if (has_m) {
        SF_TRY(sf_check_block(f, "optim.m."));
        SF_TRY(sf_check_block(f, "optim.v."));
    }
    size_t bytes = sizeof(float) * (size_t)f->layout.total;
    if (!(f->params = calloc(1, bytes)))
        return SF_FAIL(SF_ERR_OOM, "%zu bytes for parameters", bytes);
    /* pad rows are loaded as stored: with tied output PyTorch moves row 0 too */
    SF_TRY(sf_load_block(f, "", f->params));
    if (has_m) {
        f->adam_m = calloc(1, bytes);
        f->adam_v = calloc(1, bytes);
        if (!f->adam_m || !f->adam_v)
            return SF_FAIL(SF_ERR_OOM, "%zu bytes for optimizer state", 2 * bytes);
        SF_TRY(sf_load_block(f, "optim.m.", f->adam_m));
        SF_TRY(sf_load_block(f, "optim.v.", f->adam_v));
    }
    SF_TRY(sf_load_tokenizer(f, "tokenizer.source", &f->blobs.spm_src, &f->blobs.spm_src_n));
    return sf_load_tokenizer(f, "tokenizer.target", &f->blobs.spm_tgt, &f->blobs.spm_tgt_n);
}

sf_status sf_model_load(const char *path, sf_model_file *out)
{
    memset(out, 0, sizeof *out);
    sf_status st = sf_model_load_into(path, out);
    if (st != SF_OK) {
        sf_model_file_free(out);
        if (!strstr(sf_last_error(), path))
            sf_error_prefix(st, "loading %s", path);
    }
    return st;
}

void sf_model_file_free(sf_model_file *f)
{
    if (!f)
        return;
    free(f->params);
    free(f->adam_m);
    free(f->adam_v);
    sf_param_layout_free(&f->layout);
    sf_st_close(f->st);
    memset(f, 0, sizeof *f);
}
