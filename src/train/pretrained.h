/* pretrained.h: pretrained word vectors for transfer learning. Reads word2vec
 * (text or binary) and GloVe files as a stream and copies the vector of each
 * word that equals a SentencePiece piece into that piece's embedding row.
 *
 * Usage:
 *   sf_emb_report rep;
 *   // table: [V, E] host copy of encoder.embeddings.weight, already initialised
 *   if (sf_pretrained_apply("cc.es.300.vec", SF_EMB_AUTO, spm, V, E, table, &rep) != SF_OK) {
 *       fprintf(stderr, "%s\n", sf_last_error());
 *       return 1;
 *   }
 *   printf("%d rows from %lld vectors (%.1f%%)\n", rep.matched,
 *          (long long)rep.vectors_read, 100.0 * rep.coverage);
 *
 * Matching: piece p (ids 4..V-1; <pad> <unk> <s> </s> are never touched) takes
 * the vector of the word equal to p ("exact"), else, when p starts with the
 * word-boundary mark U+2581, the vector of p without the mark ("stripped").
 * An exact match wins over a stripped one; between two vectors of the same word
 * the first wins. Words that are not valid UTF-8 are skipped and counted.
 */
#ifndef SF_TRAIN_PRETRAINED_H
#define SF_TRAIN_PRETRAINED_H

#include <stdint.h>

#include "seqfuse/status.h"
#include "seqfuse/tokenizer.h"

typedef enum sf_emb_format {
    SF_EMB_AUTO = 0,       /* decide from the first two lines (see below)          */
    SF_EMB_WORD2VEC_TEXT,  /* "N D" line, then "word v1 ... vD" lines             */
    SF_EMB_WORD2VEC_BIN,   /* "N D\n", then per word: bytes, ' ', D float32 LE, [\n] */
    SF_EMB_GLOVE,          /* no header: "word v1 ... vD" lines; D from line 1      */
} sf_emb_format;

typedef struct sf_emb_report {
    int64_t vectors_read;     /* vector records in the file (skipped ones too)       */
    int64_t skipped_invalid;  /* records whose word is not valid UTF-8               */
    int64_t duplicates;       /* records whose word came earlier in the file         */
    int32_t dim;              /* D                                                   */
    int32_t matched;          /* rows set = matched_exact + matched_stripped         */
    int32_t matched_exact;    /* rows whose piece equals a word                      */
    int32_t matched_stripped; /* rows "\u2581w" that took the vector of word w       */
    int32_t vocab;            /* V                                                   */
    double coverage;          /* matched / (V - 4); 0 when V == 4                    */
    sf_emb_format format;     /* the format read (AUTO resolved)                     */
} sf_emb_report;

/* Name of a format ("word2vec text", "word2vec binary", "GloVe", "auto"). */
const char *sf_emb_format_str(sf_emb_format fmt);

/* Overwrites the rows of matched pieces with their vectors, bit for bit; other
 * rows keep their values. V must be the vocabulary size of spm and D must equal E.
 * AUTO: a first line of two integers "N D" is a word2vec header, else the file is
 * GloVe; after a header, a first record whose rest of line is printable text with
 * at least max(1, D/2) space-separated fields is text, else binary.
 * Errors (on any error the table is left untouched and *rep zeroed):
 *   SF_ERR_INVALID_ARG  bad arguments; D != E ("set --emb-size D")
 *   SF_ERR_IO           the file cannot be opened or read
 *   SF_ERR_FORMAT       empty file, bad header, a line with the wrong number of
 *                       values or a non-numeric value, a truncated binary record,
 *                       fewer (or more) vectors than the header says; the message
 *                       names FILE:LINE (binary: FILE: byte OFFSET). Blank lines
 *                       are allowed at the end of the file only.
 *   SF_ERR_NUMERIC      a value spelled nan / inf (text) or a NaN / Inf float
 *                       (binary), anywhere; a text value that overflows float,
 *                       in a record that is used
 * Text values are parsed with strtof (the C locale's '.' is expected); only the
 * records that match are parsed, the others are checked for syntax only.
 * rep may be NULL. One info line is logged on success (and a warning when words
 * were skipped as invalid UTF-8). */
sf_status sf_pretrained_apply(const char *path, sf_emb_format fmt, const sf_spm *spm,
                              int32_t V, int32_t E,
                              float *table, // table: [V, E] host
                              sf_emb_report *rep);

#endif
