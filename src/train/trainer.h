/* trainer.h: `seqfuse train`: tokenizers, corpora, model, optimizer and the
 * training loop with logging, validation, checkpoints, early stopping and
 * exact resume. The caller (the CLI) owns signal handling: it sets *stop when
 * SIGINT/SIGTERM arrives, and the loop saves a checkpoint and returns
 * SF_ERR_INTERRUPTED. */
#ifndef SF_TRAIN_TRAINER_H
#define SF_TRAIN_TRAINER_H

#include <signal.h>

#include "model/config.h"
#include "train/train_opts.h"

/* Called after every update with its mean loss (tests of exact resume). */
typedef void (*sf_step_hook)(void *ctx, int64_t step, double loss);

/* Fault injection, for tests only (CPU backend: grads is host memory; the
 * trainer refuses a hook on another device). Called after each backward pass
 * with the update number the batch would become (so the same step repeats
 * while batches are skipped) and the gradients grads: [n]. The hook may write
 * NaN/Inf into them; a nonzero return makes the batch's loss count as NaN. */
typedef int (*sf_grad_hook)(void *ctx, int64_t step, float *grads, int64_t n);

typedef struct sf_trainer_args {
    const char *src, *tgt, *tsv;             /* training data */
    const char *valid_src, *valid_tgt;       /* validation data (optional) */
    const char *src_spm, *tgt_spm;           /* existing SentencePiece models (optional) */
    const char *src_embeddings, *tgt_embeddings; /* word2vec / GloVe files (optional) */
    const char *out_dir;                     /* model.safetensors, checkpoint.safetensors */
    const char *device;                      /* "cpu", "cuda", "cuda:N" */
    const char *command_line;                /* provenance */
    int resume;                              /* continue from out_dir/checkpoint.safetensors */
    int cudnn_rnn;                           /* encoder layers through cuDNN (CUDA only) */
    sf_model_config cfg;
    sf_train_opts opts;
    volatile sig_atomic_t *stop;             /* set asynchronously to stop and save */
    int progress_bar;                        /* draw a bar on stderr */
    sf_step_hook step_hook;                  /* optional */
    void *step_hook_ctx;
    sf_grad_hook grad_hook;                  /* tests only: inject NaN/Inf (CPU) */
    void *grad_hook_ctx;
} sf_trainer_args;

/* Summary of a run, for tests and the CLI. */
typedef struct sf_trainer_result {
    int64_t steps;            /* updates done, total (including before a resume) */
    double last_loss;         /* mean smoothed loss of the last batch */
    double best_valid_ppl;    /* 0 if no validation ran */
    int64_t skipped_nonfinite;
    char model_path[4096], checkpoint_path[4096];
} sf_trainer_result;

sf_status sf_train(const sf_trainer_args *a, sf_trainer_result *res);

#endif
