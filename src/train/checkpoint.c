/* checkpoint.c: writing the model file and the resumable checkpoint (same
 * format plus Adam moments and the training state in the metadata), and
 * restoring a run from a checkpoint exactly. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "model/model_io.h"
#include "train/trainer_internal.h"

/* Options that describe what is computed (restored on resume); the others
 * (limits, logging cadence, threads) come from the resuming command line. */
static const char *const sf_resume_keys[] = {
    "seed", "lr", "adam_beta1", "adam_beta2", "adam_eps", "clip_norm", "warmup_steps",
    "lr_decay", "lr_decay_patience", "min_lr", "max_tokens", "max_sentences", "max_src_len",
    "max_tgt_len", "spm_type", "joint_vocab", "character_coverage", "freeze_embeddings", NULL,
};

static char *sf_opts_json(const sf_train_opts *o)
{
    cJSON *j = cJSON_CreateObject();
    char buf[SF_OPT_STR_MAX + 8];
    for (const sf_opt_spec *s = sf_train_opts_spec; j && s->key; s++) {
        sf_opt_format(s, o, buf, sizeof buf);
        cJSON_AddStringToObject(j, s->key, buf);
    }
    char *text = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    return text;
}

static char *sf_state_json(const sf_trainer *t)
{
    int64_t epoch = 0, index = 0;
    if (t->batcher)
        sf_batcher_get_pos(t->batcher, &epoch, &index);
    char rng[4][24];
    for (int i = 0; i < 4; i++)
        snprintf(rng[i], sizeof rng[i], "%016" PRIx64, t->m->dropout_rng.s[i]);
    char *text = malloc(1024);
    if (!text)
        return NULL;
    snprintf(text, 1024,
             "{\"step\":%" PRId64 ",\"epoch\":%" PRId64 ",\"batch\":%" PRId64 ",\"lr\":%.9g,"
             "\"best_valid_ppl\":%.17g,\"bad_valids\":%d,\"plateau\":%d,\"elapsed\":%.3f,"
             "\"nonfinite_total\":%" PRId64 ",\"dropout_rng\":[\"%s\",\"%s\",\"%s\",\"%s\"]}",
             t->step, epoch, index, t->opt.lr, t->best_valid, t->bad_valids, t->plateau,
             t->elapsed_before + (sf_now() - t->t_start), t->nonfinite_total, rng[0], rng[1],
             rng[2], rng[3]);
    return text;
}

static sf_status sf_download_all(sf_trainer *t, float **p, float **m, float **v, int with_opt)
{
    const size_t bytes = sizeof(float) * (size_t)t->m->layout.total;
    *p = malloc(bytes);
    *m = with_opt ? malloc(bytes) : NULL;
    *v = with_opt ? malloc(bytes) : NULL;
    if (!*p || (with_opt && (!*m || !*v)))
        return SF_FAIL(SF_ERR_OOM, "%zu bytes to stage a checkpoint", 3 * bytes);
    SF_TRY(t->be->download(t->be, *p, t->m->params, bytes));
    if (with_opt) {
        SF_TRY(t->be->download(t->be, *m, t->opt.m, bytes));
        SF_TRY(t->be->download(t->be, *v, t->opt.v, bytes));
    }
    return SF_OK;
}

sf_status sf_trainer_save(sf_trainer *t, const char *path, int with_optimizer)
{
    float *p = NULL, *m = NULL, *v = NULL;
    char *opts = sf_opts_json(&t->o), *state = sf_state_json(t), date[64];
    time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    sf_status st = opts && state ? sf_download_all(t, &p, &m, &v, with_optimizer)
                                 : SF_FAIL(SF_ERR_OOM, "checkpoint metadata");
    if (st == SF_OK) {
        const char *data = t->a->tsv ? t->a->tsv : t->a->src;
        sf_kv meta[] = {
            {"seqfuse_version", SEQFUSE_VERSION}, {"created", date},
            {"train_opts", opts}, {"train_state", state},
            {"train_data", data ? data : ""},
            {"command", t->a->command_line ? t->a->command_line : ""},
        };
        sf_model_blobs blobs = {t->spm_src_bytes, t->spm_tgt_bytes, t->spm_src_n, t->spm_tgt_n};
        static const sf_dtype dtypes[] = {SF_F32, SF_F16, SF_BF16};
        sf_dtype store = with_optimizer ? SF_F32 : dtypes[t->o.model_dtype];
        st = sf_model_save(path, &t->cfg, &t->m->layout, p, m, v, &blobs, meta,
                           (int)(sizeof meta / sizeof *meta), store);
        if (st == SF_OK && with_optimizer && !strcmp(path, t->ckpt_path))
            t->ckpt_step = t->step;
    }
    free(p), free(m), free(v), free(opts), free(state);
    return st;
}

/* One train_state number: present, within [lo, hi], integral when asked.
 * A damaged checkpoint must not become an out-of-range cast or a silent 0. */
static sf_status sf_state_num(const cJSON *o, const char *key, double lo, double hi,
                              int integral, double *out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    const double v = cJSON_IsNumber(it) ? it->valuedouble : NAN;
    const char *why = !it ? "missing" : !cJSON_IsNumber(it) ? "not a number"
                      : integral && v != floor(v) ? "not an integer"
                      : !(v >= lo && v <= hi) ? "out of range" : NULL;
    if (why)
        return sf_error(SF_ERR_FORMAT, "train_state \"%s\" is %s, expected %s in [%g, %g] "
                        "(a damaged checkpoint?)", key, why, integral ? "an integer" : "a number",
                        lo, hi);
    *out = v;
    return SF_OK;
}

/* The training state saved by sf_state_json, checked field by field. */
static sf_status sf_parse_state(sf_trainer *t, const cJSON *st, float *lr)
{
    static const struct {
        const char *key;
        double lo, hi;
        int integral;
    } f[] = {{"step", 0, 9e15, 1}, {"epoch", 0, 9e15, 1}, {"batch", 0, 9e15, 1},
             {"lr", 0, 10, 0}, {"best_valid_ppl", 0, 1e300, 0}, {"bad_valids", 0, 1e9, 1},
             {"plateau", 0, 1e9, 1}, {"elapsed", 0, 1e15, 0}, {"nonfinite_total", 0, 9e15, 1}};
    double v[9];
    for (int i = 0; i < 9; i++)
        SF_TRY(sf_state_num(st, f[i].key, f[i].lo, f[i].hi, f[i].integral, &v[i]));
    t->step = (int64_t)v[0], t->resume_epoch = (int64_t)v[1], t->resume_index = (int64_t)v[2];
    *lr = (float)v[3], t->best_valid = v[4], t->bad_valids = (int32_t)v[5];
    t->plateau = (int32_t)v[6], t->elapsed_before = v[7], t->nonfinite_total = (int64_t)v[8];
    const cJSON *rng = cJSON_GetObjectItemCaseSensitive(st, "dropout_rng");
    uint64_t any = 0;
    for (int i = 0; i < 4; i++) {
        const cJSON *w = cJSON_GetArrayItem(rng, i);
        char *end = NULL;
        t->m->dropout_rng.s[i] = cJSON_IsString(w) ? strtoull(w->valuestring, &end, 16) : 0;
        if (!cJSON_IsArray(rng) || cJSON_GetArraySize(rng) != 4 || !end ||
            end - w->valuestring != 16 || *end)
            return sf_error(SF_ERR_FORMAT, "train_state \"dropout_rng\" must be 4 strings of 16 "
                            "hex digits (a damaged checkpoint?)");
        any |= t->m->dropout_rng.s[i];
    }
    if (!any)
        return sf_error(SF_ERR_FORMAT, "train_state \"dropout_rng\" is all zero, which is not a "
                        "state the generator can reach (a damaged checkpoint?)");
    return SF_OK;
}

static sf_status sf_restore_state(sf_trainer *t, const char *opts_json, const char *state_json)
{
    sf_train_opts saved = t->o;
    SF_TRY(sf_opt_apply_json(sf_train_opts_spec, &saved, NULL, NULL, opts_json, "train_opts"));
    for (int i = 0; sf_resume_keys[i]; i++) { /* computed-quantity options from the checkpoint */
        const sf_opt_spec *s = sf_opt_find(sf_train_opts_spec, sf_resume_keys[i]);
        size_t sz = s->type == SF_OPT_INT64 ? 8 : 4;
        memcpy((char *)&t->o + s->offset, (char *)&saved + s->offset, sz);
    }
    cJSON *st = cJSON_Parse(state_json);
    if (!st)
        return sf_error(SF_ERR_FORMAT, "train_state metadata is not JSON (a damaged "
                        "checkpoint?)");
    float lr = 0;
    sf_status status = sf_parse_state(t, st, &lr);
    cJSON_Delete(st);
    SF_TRY(status);
    SF_TRY(sf_optim_init(&t->opt, t->be, &t->m->layout, &t->o));
    t->opt.step = t->step;
    t->opt.lr = lr;
    return SF_OK;
}

sf_status sf_trainer_restore(sf_trainer *t, const char *path)
{
    sf_model_file f;
    SF_TRY(sf_model_load(path, &f));
    sf_status st = SF_OK;
    const char *opts = sf_st_meta(f.st, "train_opts"), *state = sf_st_meta(f.st, "train_state");
    if (!f.adam_m || !opts || !state || !f.blobs.spm_src || !f.blobs.spm_tgt)
        st = sf_error(SF_ERR_FORMAT, "%s is a model file, not a training checkpoint (no "
                      "optimizer state, training state or tokenizers)", path);
    t->cfg = f.cfg;
    if (st == SF_OK)
        st = sf_spm_load_bytes(f.blobs.spm_src, f.blobs.spm_src_n, &t->spm_src);
    if (st == SF_OK)
        st = sf_spm_load_bytes(f.blobs.spm_tgt, f.blobs.spm_tgt_n, &t->spm_tgt);
    if (st == SF_OK)
        st = sf_spm_serialize(t->spm_src, &t->spm_src_bytes, &t->spm_src_n);
    if (st == SF_OK)
        st = sf_spm_serialize(t->spm_tgt, &t->spm_tgt_bytes, &t->spm_tgt_n);
    if (st == SF_OK)
        st = sf_trainer_open_backend(t);
    if (st == SF_OK)
        st = sf_s2s_create(t->be, &t->cfg, 1, &t->m);
    if (st == SF_OK)
        st = sf_restore_state(t, opts, state);
    const size_t bytes = sizeof(float) * (size_t)f.layout.total;
    if (st == SF_OK)
        st = t->be->upload(t->be, t->m->params, f.params, bytes);
    if (st == SF_OK)
        st = t->be->upload(t->be, t->opt.m, f.adam_m, bytes);
    if (st == SF_OK)
        st = t->be->upload(t->be, t->opt.v, f.adam_v, bytes);
    if (st != SF_OK && !strstr(sf_last_error(), path))
        sf_error_prefix(st, "resuming from %s", path);
    if (st == SF_OK) {
        t->m->freeze_embeddings = t->o.freeze_embeddings;
        t->ckpt_step = t->step;
        sf_log_info("resuming from %s at step %lld", path, (long long)t->step);
    }
    sf_model_file_free(&f);
    return st;
}
