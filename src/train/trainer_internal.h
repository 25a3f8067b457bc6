/* trainer_internal.h: the trainer's state shared by its setup, loop and
 * checkpoint files. Private to src/train. */
#ifndef SF_TRAIN_TRAINER_INTERNAL_H
#define SF_TRAIN_TRAINER_INTERNAL_H

#include "nn/s2s.h"
#include "seqfuse/tokenizer.h"
#include "train/batcher.h"
#include "train/optim.h"
#include "train/trainer.h"

typedef struct sf_trainer {
    const sf_trainer_args *a;
    sf_model_config cfg;
    sf_train_opts o;
    sf_spm *spm_src, *spm_tgt;
    void *spm_src_bytes, *spm_tgt_bytes;
    size_t spm_src_n, spm_tgt_n;
    sf_corpus *train, *valid;
    sf_backend *be;
    sf_s2s *m;
    sf_optim opt;
    sf_batcher *batcher;
    /* progress */
    int64_t step;              /* updates done */
    double best_valid;         /* lowest validation perplexity (0 = none yet) */
    int32_t bad_valids;        /* validations since the best */
    int32_t plateau;           /* validations since the last improvement or decay */
    double elapsed_before;     /* seconds spent before this run (resume) */
    double t_start;            /* this run's start (monotonic seconds) */
    int64_t nonfinite_run, nonfinite_total;
    int64_t ckpt_step;         /* step of the checkpoint on disk from this run (-1: none) */
    int64_t resume_epoch, resume_index; /* batcher position restored from a checkpoint */
    char model_path[4096], ckpt_path[4096];
} sf_trainer;

double sf_now(void);

/* The backend of a->device, with a->cudnn_rnn applied. */
sf_status sf_trainer_open_backend(sf_trainer *t);

/* setup: tokenizers, corpora, backend, model, optimizer, batcher */
sf_status sf_trainer_setup(sf_trainer *t, const sf_trainer_args *a);
void sf_trainer_teardown(sf_trainer *t);

/* checkpoint.c: save (model or full checkpoint) and restore the state */
sf_status sf_trainer_save(sf_trainer *t, const char *path, int with_optimizer);
sf_status sf_trainer_restore(sf_trainer *t, const char *path);

#endif
