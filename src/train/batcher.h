/* batcher.h: turns a corpus into padded training batches under a target-token
 * budget, with length bucketing, seeded shuffling that is a pure function of
 * (seed, epoch), and an exact (epoch, index) position for resuming.
 *
 * Usage:
 *   sf_batcher_opts bo = sf_batcher_default_opts();   // shuffle on, bucket 100
 *   bo.max_tokens = 4096; bo.seed = 42;
 *   sf_batcher *b;
 *   SF_TRY(sf_batcher_create(corpus, &bo, &b));
 *   sf_batch batch = {0};
 *   for (int step = 0; step < steps; step++) {
 *       SF_TRY(sf_batcher_next(b, &batch));   // batch.src: [B, S], batch.tgt_in: [B, T]
 *       train_step(&batch);
 *   }
 *   int64_t ep, idx; sf_batcher_get_pos(b, &ep, &idx);   // save with the checkpoint
 *   sf_batch_free(&batch); sf_batcher_free(b);
 */
#ifndef SF_TRAIN_BATCHER_H
#define SF_TRAIN_BATCHER_H

#include <stdint.h>

#include "seqfuse/status.h"
#include "train/corpus.h"

typedef struct sf_batcher_opts {
    int64_t max_tokens;    /* budget per batch: B * T, T = max target len + 1 (> 0);
                              a single pair over it forms its own batch */
    int64_t max_sentences; /* at most this many pairs per batch; 0 = no limit */
    uint64_t seed;
    int32_t shuffle;       /* 1: shuffle pairs and batch order per epoch; 0: length-sorted order */
    int32_t bucket_size;   /* batches' worth of pairs sorted together; 0 = 100 */
    int32_t single_pass;   /* 1: one pass over the data, then B = 0 (validation) */
} sf_batcher_opts;

/* max_tokens 4096, max_sentences 0, seed 1, shuffle 1, bucket_size 100, single_pass 0. */
sf_batcher_opts sf_batcher_default_opts(void);
/* Validation: length-sorted batches, no shuffling, one pass. */
sf_batcher_opts sf_batcher_eval_opts(int64_t max_tokens);

/* One padded batch. Owns its buffers, which grow as needed and are reused
 * between sf_batcher_next calls; start from {0}, release with sf_batch_free. */
typedef struct sf_batch {
    int64_t B, S, T;    /* pairs, max source len, max target len + 1 */
    int32_t *src;       /* [B, S] source ids, padded with 0 */
    int32_t *src_len;   /* [B] */
    int32_t *tgt_in;    /* [B, T] <s> y, padded with 0 */
    int32_t *tgt_out;   /* [B, T] y </s>, padded with 0 */
    int32_t *tgt_len;   /* [B] target len + 1 (non-pad positions of tgt_in / tgt_out) */
    int64_t *index;     /* [B] pair indices into the corpus */
    int64_t ntok_src;   /* sum of src_len */
    int64_t ntok_tgt;   /* sum of tgt_len */
    int64_t epoch, pos; /* where this batch stands: (epoch, index within epoch) */
    int64_t cap_rows, cap_src, cap_tgt; /* allocated elements (internal) */
} sf_batch;

void sf_batch_free(sf_batch *b); /* frees the buffers and zeroes *b; accepts NULL */

typedef struct sf_batcher sf_batcher;

/* The corpus must outlive the batcher. SF_ERR_INVALID_ARG for bad options. */
sf_status sf_batcher_create(const sf_corpus *c, const sf_batcher_opts *o, sf_batcher **out);
void sf_batcher_free(sf_batcher *b); /* accepts NULL */

/* Fill *out with the next batch, moving to the next epoch after the last one.
 * With single_pass, after the last batch it sets out->B = 0 (end) and stays there. */
sf_status sf_batcher_next(sf_batcher *b, sf_batch *out);

/* Position of the batch the next call returns; after an epoch's last batch
 * that is (epoch + 1, 0) (single_pass: (0, number of batches) = end). */
void sf_batcher_get_pos(const sf_batcher *b, int64_t *epoch, int64_t *index);
/* Jump to a position: 0 <= index <= batches in that epoch (single_pass: epoch 0).
 * Out of range: SF_ERR_INVALID_ARG, position unchanged. */
sf_status sf_batcher_set_pos(sf_batcher *b, int64_t epoch, int64_t index);
/* Epoch of the next batch, and the number of batches in the current epoch. */
int64_t sf_batcher_epoch(const sf_batcher *b);
int64_t sf_batcher_num_batches(const sf_batcher *b);

#endif
