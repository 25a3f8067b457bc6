/* seqfuse/tokenizer.h: SentencePiece behind a C API. Models are trained with
 * ids 0 <pad>, 1 <unk>, 2 <s>, 3 </s>; they load from a .model file or from the
 * bytes the model file carries (tensors tokenizer.source / tokenizer.target).
 * Text must be valid UTF-8: invalid input is an error naming the byte offset. */
#ifndef SEQFUSE_TOKENIZER_H
#define SEQFUSE_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "seqfuse/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SF_PAD_ID 0
#define SF_UNK_ID 1
#define SF_BOS_ID 2
#define SF_EOS_ID 3

typedef struct sf_spm sf_spm;

typedef struct sf_spm_train_opts {
    const char *const *inputs;  /* text files, one sentence per line */
    int n_inputs;
    const char *model_prefix;   /* writes PREFIX.model and PREFIX.vocab */
    int vocab_size;             /* default 8000 */
    const char *model_type;     /* "unigram" (default) or "bpe" */
    float character_coverage;   /* default 1.0 */
    int hard_vocab_limit;       /* 0 (default): vocab_size is an upper bound */
    int64_t input_sentence_size;/* sample at most this many lines (0 = all) */
    int num_threads;            /* default 2 */
    uint64_t seed;              /* sampling seed; default 1 */
} sf_spm_train_opts;

void sf_spm_train_opts_default(sf_spm_train_opts *o);
sf_status sf_spm_train(const sf_spm_train_opts *o);

sf_status sf_spm_load_file(const char *path, sf_spm **out);
sf_status sf_spm_load_bytes(const void *data, size_t n, sf_spm **out);
/* The model's serialized bytes (malloc'd; free with sf_free). */
sf_status sf_spm_serialize(const sf_spm *s, void **bytes, size_t *n);
/* Accepts NULL. */
void sf_spm_free(sf_spm *s);

int32_t sf_spm_vocab_size(const sf_spm *s);
/* ids: malloc'd (free with sf_free); no <s>/</s> added. */
sf_status sf_spm_encode(const sf_spm *s, const char *text, size_t len, int32_t **ids,
                        int64_t *n);
/* text: malloc'd, NUL-terminated. Ids outside the vocabulary are an error. */
sf_status sf_spm_decode(const sf_spm *s, const int32_t *ids, int64_t n, char **text);
/* Piece of an id; the pointer lives as long as s. */
sf_status sf_spm_id_to_piece(const sf_spm *s, int32_t id, const char **piece);
/* Id of a piece (SF_UNK_ID when unknown). */
int32_t sf_spm_piece_to_id(const sf_spm *s, const char *piece);

#ifdef __cplusplus
}
#endif
#endif
