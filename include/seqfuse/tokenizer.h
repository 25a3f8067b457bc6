/* seqfuse/tokenizer.h: SentencePiece behind a C API. Models are trained with
 * ids 0 <pad>, 1 <unk>, 2 <s>, 3 </s>; they load from a .model file or from the
 * bytes the model file carries (tensors tokenizer.source / tokenizer.target).
 * Text must be valid UTF-8: invalid input is an error naming the byte offset. */
#ifndef SEQFUSE_TOKENIZER_H
#define SEQFUSE_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "seqfuse/status.h"

/* Usage:
 *   sf_spm_train_opts o;
 *   sf_spm_train_opts_default(&o);
 *   const char *in[] = {"train.en"};
 *   o.inputs = in; o.n_inputs = 1; o.model_prefix = "en"; o.vocab_size = 8000;
 *   if (sf_spm_train(&o) != SF_OK) fprintf(stderr, "%s\n", sf_last_error());
 *   sf_spm *spm; int32_t *ids; int64_t n; char *back;
 *   sf_spm_load_file("en.model", &spm);
 *   sf_spm_encode(spm, "The end.", 8, &ids, &n);  // no <s> / </s>
 *   sf_spm_decode(spm, ids, n, &back);             // "The end."
 *   sf_free(ids); sf_free(back); sf_spm_free(spm);
 * Errors: SF_ERR_IO for files that cannot be read or written, SF_ERR_INVALID_ARG
 * for bad options or invalid UTF-8, SF_ERR_TOKENIZER when SentencePiece refuses
 * (its own message is quoted). */

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
/* Trains on the non-empty lines of all inputs (any path, commas included; a
 * trailing \r is dropped). With input_sentence_size > 0 a uniform sample of that
 * many lines is drawn with `seed`, so the same options give the same model.
 * vocab_size >= 5; model_type unigram|bpe; character_coverage in [0.98, 1];
 * num_threads in [1, 128]; the folder of model_prefix must exist. */
sf_status sf_spm_train(const sf_spm_train_opts *o);

/* Loading checks that the model uses ids 0 <pad>, 1 <unk>, 2 <s>, 3 </s>. */
sf_status sf_spm_load_file(const char *path, sf_spm **out);
sf_status sf_spm_load_bytes(const void *data, size_t n, sf_spm **out);
/* The model's serialized bytes (malloc'd; free with sf_free). */
sf_status sf_spm_serialize(const sf_spm *s, void **bytes, size_t *n);
/* Accepts NULL. */
void sf_spm_free(sf_spm *s);

int32_t sf_spm_vocab_size(const sf_spm *s);
/* Text is normalized first (SentencePiece's nmt_nfkc: NFKC, runs of spaces
 * collapsed), so decode(encode(x)) == x for text that is already normalized. */
/* ids: malloc'd (free with sf_free); no <s>/</s> added. */
sf_status sf_spm_encode(const sf_spm *s, const char *text, size_t len, int32_t **ids,
                        int64_t *n);
/* text: malloc'd, NUL-terminated. Ids outside the vocabulary are an error. */
sf_status sf_spm_decode(const sf_spm *s, const int32_t *ids, int64_t n, char **text);
/* Piece of an id; the pointer lives as long as s. */
sf_status sf_spm_id_to_piece(const sf_spm *s, int32_t id, const char **piece);
/* Id of a piece (SF_UNK_ID when unknown). */
int32_t sf_spm_piece_to_id(const sf_spm *s, const char *piece);

/* Pieces of text joined by single spaces, e.g. "\u2581el \u2581niño" (malloc'd,
 * NUL-terminated; free with sf_free). For --no-spm style pipelines. */
sf_status sf_spm_encode_pieces(const sf_spm *s, const char *text, size_t len,
                               char **pieces_joined);
/* Space-separated pieces back to text (malloc'd). Runs of spaces count as one;
 * a piece outside the vocabulary is written out as it stands. */
sf_status sf_spm_decode_pieces(const sf_spm *s, const char *pieces_joined, char **text);

#ifdef __cplusplus
}
#endif
#endif
