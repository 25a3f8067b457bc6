/* train_opts.h: training settings (optimizer, batching, schedule, stopping,
 * vocabulary), their option table and defaults. Presets and config files set
 * them together with the model config; command-line options override both. */
#ifndef SF_TRAIN_TRAIN_OPTS_H
#define SF_TRAIN_TRAIN_OPTS_H

#include <stdint.h>

#include "model/options.h"

typedef struct sf_train_opts {
    int64_t seed;
    float lr;
    float adam_beta1, adam_beta2, adam_eps;
    float clip_norm;          /* global gradient-norm clipping; 0 = off */
    int32_t warmup_steps;     /* linear warm-up from 0 to lr */
    float lr_decay;           /* multiply lr by this on a validation plateau */
    int32_t lr_decay_patience;/* validations without improvement before decaying */
    float min_lr;
    int32_t max_tokens;       /* target-token budget per batch (B x padded T) */
    int32_t max_sentences;    /* 0 = no limit */
    int32_t max_src_len, max_tgt_len; /* in pieces; longer pairs are skipped */
    int64_t max_steps;        /* 0 = no limit */
    int32_t max_epochs;       /* 0 = no limit */
    float max_time;           /* seconds; 0 = no limit */
    int32_t log_every, valid_every, save_every;
    int32_t patience;         /* early stopping: validations without improvement; 0 = off */
    int32_t valid_bleu_max;   /* greedy BLEU on the first N validation pairs; 0 = off */
    int32_t max_nonfinite;    /* consecutive NaN/Inf batches before stopping */
    int spm_type;             /* 0 unigram, 1 bpe */
    int joint_vocab;
    float character_coverage;
    int freeze_embeddings;
    int model_dtype;          /* model.safetensors weights: 0 f32, 1 f16, 2 bf16 */
    int32_t threads;
    int matmul_precision;     /* sf_precision: 0 f32, 1 tf32 (CUDA), 2 bf16 (CPU AMX) */
} sf_train_opts;

extern const sf_opt_spec sf_train_opts_spec[];

void sf_train_opts_default(sf_train_opts *o);

#endif
