/* corpus.h: the parallel-corpus reader. Reads two line-aligned files (or one
 * TSV file), drops lines that cannot be trained on (with counted, located
 * warnings), encodes each side with an injected tokenizer and keeps the token ids.
 *
 * Usage:
 *   sf_corpus_opts o = {.src_path = "train.en", .tgt_path = "train.es",
 *                       .encode_src = my_enc, .src_ctx = sp_en,
 *                       .encode_tgt = my_enc, .tgt_ctx = sp_es,
 *                       .max_src_len = 250, .max_tgt_len = 250};
 *   sf_corpus *c;
 *   if (sf_corpus_load(&o, &c) != SF_OK) { puts(sf_last_error()); return; }
 *   int64_t ns; const int32_t *x = sf_corpus_src(c, 0, &ns);
 *   printf("%lld pairs, %lld skipped as too long\n",
 *          (long long)sf_corpus_count(c), (long long)c->stats.skipped_too_long);
 *   sf_corpus_free(c);
 */
#ifndef SF_TRAIN_CORPUS_H
#define SF_TRAIN_CORPUS_H

#include <stddef.h>
#include <stdint.h>

#include "seqfuse/status.h"

/* Tokenizer callback: encode text[0..len) (valid UTF-8, no NUL, not
 * necessarily NUL-terminated) into *ids (malloc'd; the corpus frees it) of
 * length *n (0 ids: the pair is skipped as empty). Ids must be >= 0. On failure
 * return a status, leave a message, and keep nothing allocated in *ids. */
typedef sf_status (*sf_encode_fn)(void *ctx, const char *text, size_t len, int32_t **ids,
                                  int64_t *n);

typedef struct sf_corpus_opts {
    const char *src_path;  /* two line-aligned files ...          */
    const char *tgt_path;
    const char *tsv_path;  /* ... or one file: source TAB target */
    sf_encode_fn encode_src;
    void *src_ctx;
    sf_encode_fn encode_tgt;
    void *tgt_ctx;
    int64_t max_src_len;    /* tokens, incl. an appended </s>; 0 = no limit */
    int64_t max_tgt_len;    /* tokens of y (without <s>, </s>); 0 = no limit */
    int32_t src_append_eos; /* 1: append </s> (id 3) to every source */
} sf_corpus_opts;

typedef struct sf_corpus_stats {
    int64_t lines_read;       /* line pairs read (TSV: lines) */
    int64_t pairs_kept;
    int64_t skipped_empty;    /* a side empty, only whitespace, or encoded to 0 ids */
    int64_t skipped_too_long; /* a side over max_src_len / max_tgt_len */
    int64_t skipped_invalid;  /* invalid UTF-8, NUL byte, TSV line without exactly one tab */
} sf_corpus_stats;

/* Read-only after load; use the accessors for pairs. Pair i's source ids are
 * ids[off[2i] .. off[2i+1]), its target ids ids[off[2i+1] .. off[2i+2]). */
typedef struct sf_corpus {
    int64_t n;            /* pairs, in file order */
    int32_t *ids;         /* [off[2n]] */
    int64_t *off;         /* [2n + 1] */
    int64_t *line;        /* [n] 1-based line number of each pair */
    sf_corpus_stats stats;
} sf_corpus;

/* Load a corpus. Errors (no corpus is returned): SF_ERR_INVALID_ARG for bad
 * options, SF_ERR_IO for a missing/unreadable file, SF_ERR_FORMAT for an empty
 * file, no usable pair, or line counts that differ; an encoder's status with
 * "file:line" prefixed. */
sf_status sf_corpus_load(const sf_corpus_opts *o, sf_corpus **out);
void sf_corpus_free(sf_corpus *c); /* accepts NULL */

int64_t sf_corpus_count(const sf_corpus *c);
/* ids of pair i (0 <= i < count); *len receives their number. */
const int32_t *sf_corpus_src(const sf_corpus *c, int64_t i, int64_t *len);
const int32_t *sf_corpus_tgt(const sf_corpus *c, int64_t i, int64_t *len);
int64_t sf_corpus_src_len(const sf_corpus *c, int64_t i);
int64_t sf_corpus_tgt_len(const sf_corpus *c, int64_t i);
/* 1-based line number of pair i in the input file(s). */
int64_t sf_corpus_line(const sf_corpus *c, int64_t i);

#endif
