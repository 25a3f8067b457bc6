/* model_io.h: one model file (DESIGN.md section 2): weights by their
 * OpenNMT-py names, the config, both SentencePiece models, provenance, and for
 * checkpoints the Adam moments and training state. Loading checks every name,
 * dtype and shape against the config and says what it got and expected. */
#ifndef SF_MODEL_MODEL_IO_H
#define SF_MODEL_MODEL_IO_H

#include <stddef.h>

#include "model/params.h"
#include "seqfuse/modelfile.h"

typedef struct sf_kv {
    const char *key, *value;
} sf_kv;

typedef struct sf_model_blobs {
    const void *spm_src, *spm_tgt; /* serialized SentencePiece models (may be NULL) */
    size_t spm_src_n, spm_tgt_n;
} sf_model_blobs;

/* Everything a model file holds, on the host. */
typedef struct sf_model_file {
    sf_model_config cfg;
    sf_param_layout layout;
    float *params;          /* [layout.total] */
    float *adam_m, *adam_v; /* [layout.total] when the file is a checkpoint, else NULL */
    sf_st_file *st;         /* open file: metadata and tokenizer bytes */
    sf_model_blobs blobs;   /* point into st */
} sf_model_file;

/* Write params (host, [layout.total]) atomically. store_as F32, F16 or BF16
 * for the weights (moments are always F32). */
sf_status sf_model_save(const char *path, const sf_model_config *cfg,
                        const sf_param_layout *layout, const float *params,
                        const float *adam_m, const float *adam_v, const sf_model_blobs *blobs,
                        const sf_kv *meta, int n_meta, sf_dtype store_as);

sf_status sf_model_load(const char *path, sf_model_file *out);
void sf_model_file_free(sf_model_file *f);

#endif
