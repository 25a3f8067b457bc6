/* translator.h: translating text with a model file: load once, then stream
 * lines through SentencePiece, length-sorted batches, beam search and back,
 * writing exactly one output line (or n-best block) per input line, in input
 * order. Bad lines (invalid UTF-8, NUL bytes) get a message naming the line and
 * an empty output; over-long lines are cut with a warning; nothing stops the run. */
#ifndef SF_SEARCH_TRANSLATOR_H
#define SF_SEARCH_TRANSLATOR_H

#include <stdio.h>

#include "model/model_io.h"
#include "nn/s2s.h"
#include "search/search.h"
#include "seqfuse/tokenizer.h"

typedef enum sf_align_mode { SF_ALIGN_NONE = 0, SF_ALIGN_SOFT, SF_ALIGN_HARD } sf_align_mode;

typedef struct sf_translate_opts {
    sf_search_opts search;     /* beam, alpha, beta, n_best, max length */
    int32_t max_tokens;        /* batch budget: sentences x longest source (2048) */
    int32_t max_sentences;     /* per batch (0 = no limit) */
    int32_t max_src_len;       /* longer inputs are cut, with a warning (250) */
    int32_t chunk_lines;       /* lines read, sorted and translated together (10000) */
    int no_spm;                /* 1: input and output are space-separated pieces; 2: ids */
    int scores;                /* 1-best output: "text ||| score" */
    int nbest;                 /* Moses n-best: "ID ||| text ||| F0= logprob ||| score" */
    sf_align_mode alignment;   /* append " ||| " + alignment (in pieces) */
    const char *svg_dir;       /* one attention SVG per sentence: DIR/LINE.svg */
} sf_translate_opts;

void sf_translate_opts_default(sf_translate_opts *o);

typedef struct sf_translator {
    sf_model_config cfg;
    sf_backend *be;
    sf_s2s *m;
    sf_spm *spm_src, *spm_tgt;
} sf_translator;

typedef struct sf_translate_stats {
    int64_t lines, translated, empty, bad, truncated;
    int64_t src_tokens, tgt_tokens;
    double seconds;
} sf_translate_stats;

/* Both tokenizers of a loaded model file, checked against its config's
 * vocabulary sizes; the message names `path`. On failure both are NULL. */
sf_status sf_model_file_tokenizers(const sf_model_file *f, const char *path, sf_spm **src,
                                   sf_spm **tgt);

/* Errors name model_path. */
/* Whether a search with this beam on be should take each step's candidates from
 * the backend's beam_topk (1) rather than select on host log-probs (0): the
 * translator's choice, also the default of `seqfuse bench decode`. */
int sf_search_use_topk(const sf_backend *be, int beam);

sf_status sf_translator_open(const char *model_path, const char *device, sf_translator **out);
void sf_translator_free(sf_translator *t);

/* Translate every line of `in` into `out`. `in_name` names the input in messages. */
sf_status sf_translate_stream(sf_translator *t, FILE *in, const char *in_name, FILE *out,
                              const sf_translate_opts *o, sf_translate_stats *stats);

/* Decode n id sequences (src[i][0..len[i])) into detokenized texts (malloc'd,
 * caller frees each and the array), batched by max_tokens after sorting by
 * length. Used by validation during training. */
sf_status sf_decode_to_text(sf_s2s *m, const sf_spm *spm_tgt, int64_t n,
                            const int32_t *const *src, const int32_t *len,
                            const sf_search_opts *so, int32_t max_tokens, char **texts);

/* Forced decoding: log P(tgt | src) of the given target ids [n] (no </s>;
 * it is added) for one sentence. */
sf_status sf_translator_score_pair(sf_translator *t, const int32_t *src, int32_t S,
                                   const int32_t *tgt, int32_t T, double *logprob);

#endif
