/* train_opts.c: the training option table and its defaults. */
#include "train/train_opts.h"

#include "backend/backend.h"

#include <stddef.h>

static const char *const sf_spm_type_names[] = {"unigram", "bpe", NULL};
static const char *const sf_dtype_names[] = {"f32", "f16", "bf16", NULL};

#define SF_TOPT(key, type, field, lo, hi, names, help) \
    {key, type, offsetof(sf_train_opts, field), lo, hi, names, help}

const sf_opt_spec sf_train_opts_spec[] = {
    SF_TOPT("seed", SF_OPT_INT64, seed, 0, 9e15, NULL, "random seed (init, dropout, batches)"),
    SF_TOPT("lr", SF_OPT_FLOAT, lr, 0, 10, NULL, "Adam learning rate"),
    SF_TOPT("adam_beta1", SF_OPT_FLOAT, adam_beta1, 0, 0.9999, NULL, "Adam beta1"),
    SF_TOPT("adam_beta2", SF_OPT_FLOAT, adam_beta2, 0, 0.999999, NULL, "Adam beta2"),
    SF_TOPT("adam_eps", SF_OPT_FLOAT, adam_eps, 0, 1, NULL, "Adam epsilon"),
    SF_TOPT("clip_norm", SF_OPT_FLOAT, clip_norm, 0, 1e6, NULL,
            "clip the global gradient norm to this (0 = off)"),
    SF_TOPT("warmup_steps", SF_OPT_INT, warmup_steps, 0, 1e9, NULL,
            "linear learning-rate warm-up steps"),
    SF_TOPT("lr_decay", SF_OPT_FLOAT, lr_decay, 0.01, 1, NULL,
            "learning-rate factor on a validation plateau (1 = off)"),
    SF_TOPT("lr_decay_patience", SF_OPT_INT, lr_decay_patience, 1, 1000, NULL,
            "validations without improvement before decaying"),
    SF_TOPT("min_lr", SF_OPT_FLOAT, min_lr, 0, 10, NULL, "learning rate floor"),
    SF_TOPT("max_tokens", SF_OPT_INT, max_tokens, 1, 1e8, NULL,
            "target tokens per batch (padded)"),
    SF_TOPT("max_sentences", SF_OPT_INT, max_sentences, 0, 1e7, NULL,
            "sentences per batch (0 = no limit)"),
    SF_TOPT("max_src_len", SF_OPT_INT, max_src_len, 1, 1e6, NULL,
            "skip pairs with longer sources (pieces)"),
    SF_TOPT("max_tgt_len", SF_OPT_INT, max_tgt_len, 1, 1e6, NULL,
            "skip pairs with longer targets (pieces)"),
    SF_TOPT("max_steps", SF_OPT_INT64, max_steps, 0, 9e15, NULL, "stop after N updates (0 = no limit)"),
    SF_TOPT("max_epochs", SF_OPT_INT, max_epochs, 0, 1e6, NULL,
            "stop after N epochs (0 = no limit)"),
    SF_TOPT("max_time", SF_OPT_FLOAT, max_time, 0, 1e9, NULL,
            "stop after this many seconds (0 = no limit)"),
    SF_TOPT("log_every", SF_OPT_INT, log_every, 1, 1e9, NULL, "log a line every N steps"),
    SF_TOPT("valid_every", SF_OPT_INT, valid_every, 1, 1e9, NULL, "validate every N steps"),
    SF_TOPT("save_every", SF_OPT_INT, save_every, 1, 1e9, NULL,
            "save the last checkpoint every N steps"),
    SF_TOPT("patience", SF_OPT_INT, patience, 0, 1e6, NULL,
            "stop after N validations without improvement (0 = off)"),
    SF_TOPT("valid_bleu_max", SF_OPT_INT, valid_bleu_max, 0, 1e7, NULL,
            "greedy BLEU on the first N validation pairs at each validation (0 = off)"),
    SF_TOPT("max_nonfinite", SF_OPT_INT, max_nonfinite, 1, 1e6, NULL,
            "consecutive NaN/Inf batches before training stops"),
    SF_TOPT("spm_type", SF_OPT_ENUM, spm_type, 0, 0, sf_spm_type_names,
            "SentencePiece model type when training one: unigram, bpe"),
    SF_TOPT("joint_vocab", SF_OPT_BOOL, joint_vocab, 0, 1, NULL,
            "one SentencePiece model for both sides"),
    SF_TOPT("character_coverage", SF_OPT_FLOAT, character_coverage, 0.9, 1, NULL,
            "SentencePiece character coverage"),
    SF_TOPT("freeze_embeddings", SF_OPT_BOOL, freeze_embeddings, 0, 1, NULL,
            "keep pretrained embeddings fixed"),
    SF_TOPT("model_dtype", SF_OPT_ENUM, model_dtype, 0, 0, sf_dtype_names,
            "storage of model.safetensors weights: f32, f16, bf16 (checkpoints stay f32)"),
    SF_TOPT("threads", SF_OPT_INT, threads, 0, 1024, NULL, "CPU threads (0 = all cores)"),
    SF_TOPT("matmul_precision", SF_OPT_ENUM, matmul_precision, 0, 0, sf_precision_names,
            "products: f32; tf32 (CUDA tensor cores); bf16 (CPU with AMX/AVX512-BF16)"),
    {0},
};

void sf_train_opts_default(sf_train_opts *o)
{
    *o = (sf_train_opts){
        .seed = 1, .lr = 1e-3f, .adam_beta1 = 0.9f, .adam_beta2 = 0.999f, .adam_eps = 1e-8f,
        .clip_norm = 5.0f, .warmup_steps = 0, .lr_decay = 0.5f, .lr_decay_patience = 2,
        .min_lr = 1e-5f, .max_tokens = 2048, .max_sentences = 0, .max_src_len = 100,
        .max_tgt_len = 100, .max_steps = 0, .max_epochs = 0, .max_time = 0,
        .log_every = 50, .valid_every = 500, .save_every = 500, .patience = 5,
        .valid_bleu_max = 500,
        .max_nonfinite = 10, .spm_type = 0, .joint_vocab = 0, .character_coverage = 1.0f,
        .freeze_embeddings = 0, .threads = 0, .matmul_precision = 0,
    };
}
