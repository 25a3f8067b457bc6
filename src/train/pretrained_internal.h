/* pretrained_internal.h: what pretrained.c (map, staging, the API) and
 * pretrained_io.c (the streaming reader, text and binary records, format
 * detection) share. Not for use outside src/train/pretrained*.c. */
#ifndef SF_TRAIN_PRETRAINED_INTERNAL_H
#define SF_TRAIN_PRETRAINED_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "train/pretrained.h"

#define SF_EMB_MARK "\xE2\x96\x81"    /* U+2581, SentencePiece's word boundary */
#define SF_EMB_MARK_LEN 3
#define SF_EMB_FIRST_PIECE 4          /* ids 0..3 are <pad> <unk> <s> </s> */

enum { SF_KIND_NONE = 0, SF_KIND_STRIPPED = 1, SF_KIND_EXACT = 2 };

/* Buffered reader over a FILE: lines (text) and exact byte counts (binary). */
typedef struct sf_emb_rd {
    FILE *f;
    char *buf;
    size_t cap, beg, end; /* unread bytes are buf[beg..end); buf[end] is writable */
    int eof;
    int64_t off;  /* file offset of buf[beg] */
    int64_t line; /* lines consumed so far */
} sf_emb_rd;

/* Open-addressing map from piece text to id. */
typedef struct sf_emb_map {
    int32_t *slot; /* id or -1; capacity mask + 1 */
    uint64_t *hash;
    uint64_t mask;
    const char **piece; /* [V] */
    uint32_t *len;      /* [V] */
} sf_emb_map;

/* Matched rows, held apart from the table until the file proved well formed. */
typedef struct sf_emb_stage {
    int32_t *slot;  /* [V] row of pool, or -1 */
    uint8_t *kind;  /* [V] SF_KIND_* */
    float *pool;    // pool: [cap, E]
    int32_t n, cap;
} sf_emb_stage;

typedef struct sf_emb_ctx {
    const char *path;
    int32_t V, E;
    int64_t header_n; /* vectors the header promises; -1 for GloVe */
    sf_emb_rd rd;
    sf_emb_map map;
    sf_emb_stage st;
    float *vec; // vec: [E] the record being read
    sf_emb_report rep;
    int64_t first_invalid; /* line (text) or byte offset (binary) of the first skip */
} sf_emb_ctx;

/* ---- pretrained_io.c */
sf_status sf_emb_rd_open(sf_emb_rd *r, const char *path);
void sf_emb_rd_close(sf_emb_rd *r);
/* Next line, NUL-terminated in place, without "\n" / "\r\n" (and without a UTF-8
 * BOM on line 1); *line = NULL at the end of the file. */
sf_status sf_emb_rd_line(sf_emb_rd *r, const char *path, char **line, size_t *len);
/* A word made printable for messages (at most 40 bytes, controls as '?'). */
const char *sf_emb_show(char *out, size_t n_out, const char *w, size_t n);
/* Number of space- or tab-separated fields in s[0..n). */
int64_t sf_emb_fields(const char *s, size_t n);
/* 1 when s[0..n) holds only spaces and tabs. */
int sf_emb_blank(const char *s, size_t n);
/* 1 when s[0..n) is a word2vec header "N D" (N >= 0, D >= 1). */
int sf_emb_header(const char *s, size_t n, int64_t *N, int64_t *D);
/* After the header: *text = 1 when the first record reads as text. */
sf_status sf_emb_sniff_text(sf_emb_ctx *c, int *text);
/* Records to the end of the file; `first` (GloVe's line 1) is read first. */
sf_status sf_emb_read_text(sf_emb_ctx *c, char *first, size_t n_first);
sf_status sf_emb_read_bin(sf_emb_ctx *c);

/* ---- pretrained.c */
/* Counts a record; looks its word up (ids[0] exact, ids[1] "\u2581" + word; -1
 * none) unless it is invalid UTF-8; *use = 1 when a row wants its vector. */
void sf_emb_begin_record(sf_emb_ctx *c, const char *w, size_t n, int64_t where, int32_t ids[2],
                         int *use);
/* Stages c->vec for the rows in ids. */
sf_status sf_emb_end_record(sf_emb_ctx *c, const int32_t ids[2]);

#endif
