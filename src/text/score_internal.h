/* score_internal.h: pieces shared by bleu.c and chrf.c: input checks, Python's
 * idea of whitespace (str.split / str.rstrip), the 13a tokenizer, and sorted
 * n-gram multisets over small integer sequences (token ids or code points). */
#ifndef SF_TEXT_SCORE_INTERNAL_H
#define SF_TEXT_SCORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "text/score.h"
#include "text/text_utf8.h"

#define SF_NGRAM_MAX 6

/* Checks both scorers need: n_refs >= 1, at least one line, equal line
 * counts, no NULL line, valid UTF-8 everywhere. */
sf_status sf_score_check(const sf_text *hyp, const sf_text *refs, int32_t n_refs);

/* "nrefs:N|<middle>|version:X" into buf. */
void sf_score_signature(char *buf, size_t cap, int32_t n_refs, const char *middle);


/* A growable array of uint32 (token ids, code points). */
typedef struct sf_u32s {
    uint32_t *v;
    int64_t n, cap;
} sf_u32s;
sf_status sf_u32s_push(sf_u32s *a, uint32_t x);
void sf_u32s_free(sf_u32s *a);

/* Tokens of one line as [start, end) byte offsets into text. */
typedef struct sf_toks {
    char *text;      /* the tokenized line (owned) */
    int64_t *span;   /* [2 * n] */
    int64_t n, cap;
} sf_toks;
/* mteval-v13a tokenization exactly as sacreBLEU's Tokenizer13a, applied after
 * str.rstrip() as BLEU does; line is valid UTF-8. Reuses t's buffers. */
sf_status sf_tok13a(const char *line, sf_toks *t);
void sf_toks_free(sf_toks *t);

/* One distinct n-gram (unused trailing values are 0) and its count. */
typedef struct sf_ngram {
    uint32_t v[SF_NGRAM_MAX];
    int32_t n;
    int64_t count;
} sf_ngram;

/* A multiset of n-grams, sorted and distinct; total[k] = n-grams of order k+1. */
typedef struct sf_ngrams {
    sf_ngram *g;
    int64_t n, cap;
    int64_t total[SF_NGRAM_MAX];
} sf_ngrams;

/* All n-grams of orders 1..max_n of seq[0..len) into out (buffers reused). */
sf_status sf_ngrams_count(const uint32_t *seq, int64_t len, int32_t max_n, sf_ngrams *out);
/* out = a with counts raised to b's where b's are larger (union with max). */
sf_status sf_ngrams_max_merge(const sf_ngrams *a, const sf_ngrams *b, sf_ngrams *out);
/* match[k] = sum over hyp n-grams of order k+1 of min(hyp count, ref count). */
void sf_ngrams_match(const sf_ngrams *hyp, const sf_ngrams *ref, int64_t match[SF_NGRAM_MAX]);
void sf_ngrams_free(sf_ngrams *s);

#endif
