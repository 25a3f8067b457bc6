/* score.h: corpus BLEU and chrF2 equal to sacreBLEU 2.6.0's defaults
 * (corpus_bleu: tok 13a, mixed case, 4-grams, smooth exp, closest ref length;
 * corpus_chrf: char 6-grams, no word n-grams, beta 2, whitespace removed,
 * effective-order averaging), plus a line-file reader for the inputs.
 *
 * Usage:
 *   sf_text hyp, ref;
 *   if (sf_text_read("out.es", &hyp) != SF_OK || sf_text_read("ref.es", &ref) != SF_OK)
 *       { puts(sf_last_error()); ... }
 *   sf_bleu b;
 *   sf_chrf c;
 *   if (sf_bleu_corpus(&hyp, &ref, 1, &b) == SF_OK && sf_chrf_corpus(&hyp, &ref, 1, &c) == SF_OK)
 *       printf("%s\n%s\n%s\n", b.text, b.signature, c.text);
 *       // BLEU = 24.61 58.1/31.2/18.4/11.2 (BP = 0.977 ratio = 0.977 hyp_len = 1234 ...)
 *   sf_text_free(&hyp);
 *   sf_text_free(&ref);
 */
#ifndef SF_TEXT_SCORE_H
#define SF_TEXT_SCORE_H

#include <stdint.h>

#include "seqfuse/status.h"

/* The sacreBLEU release whose behaviour (and signature) these scores match. */
#define SF_SACREBLEU_VERSION "2.6.0"

/* A sequence of lines: one hypothesis or reference stream. name is used in
 * messages (a path, or e.g. "hypotheses"); NULL is allowed. Lines are
 * NUL-terminated UTF-8 without the line break. */
typedef struct sf_text {
    const char *name;
    const char *const *lines; /* [n] */
    int64_t n;
    void *owned_; /* set by sf_text_read, released by sf_text_free; NULL otherwise */
} sf_text;

/* Read a whole file as lines: split at "\n", "\r\n" counts as one break, a
 * UTF-8 BOM at the start is dropped, a final line break adds no empty line.
 * A NUL byte is SF_ERR_FORMAT naming the line. UTF-8 is checked by the scorers. */
sf_status sf_text_read(const char *path, sf_text *out);
/* Release what sf_text_read allocated; accepts a zeroed or NULL text. */
void sf_text_free(sf_text *t);

typedef struct sf_bleu {
    double score;         /* 0..100 */
    double precisions[4]; /* 1- to 4-gram precisions in percent (smoothed as sacreBLEU) */
    double bp;            /* brevity penalty */
    double ratio;         /* hyp_len / ref_len (0 when ref_len is 0) */
    int64_t hyp_len, ref_len;
    int64_t counts[4], totals[4]; /* matched and hypothesis n-grams per order */
    char signature[128];          /* "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0" */
    char text[256];               /* "BLEU = 24.61 58.1/31.2/18.4/11.2 (BP = ... ref_len = 1263)" */
} sf_bleu;

typedef struct sf_chrf {
    double score;                /* 0..100 */
    int64_t stats[6][3];         /* per char order: hyp, ref, matched n-grams (corpus sums) */
    char signature[128];         /* "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0" */
    char text[64];               /* "chrF2 = 52.34" */
} sf_chrf;

/* Corpus BLEU of hyp against refs[0..n_refs) (each with hyp->n lines).
 * Errors: n_refs < 1, no lines, line counts that differ (both counts and names),
 * a NULL line, invalid UTF-8 (name, 1-based line, byte offset). */
sf_status sf_bleu_corpus(const sf_text *hyp, const sf_text *refs, int32_t n_refs, sf_bleu *out);

/* Corpus chrF2 (chrF with beta 2) of hyp against refs; the same checks. With
 * several references each line uses the one with the best sentence chrF. */
sf_status sf_chrf_corpus(const sf_text *hyp, const sf_text *refs, int32_t n_refs, sf_chrf *out);

#endif
