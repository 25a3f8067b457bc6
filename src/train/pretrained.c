/* pretrained.c: pretrained embeddings into an embedding table: the piece ->
 * id hash map, the staging of matched rows (copied into the caller's table only
 * once the whole file has been read), format resolution and the report. */
#include "train/pretrained.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/utf8.h"
#include "train/pretrained_internal.h"

const char *sf_emb_format_str(sf_emb_format fmt)
{
    switch (fmt) {
    case SF_EMB_AUTO: return "auto";
    case SF_EMB_WORD2VEC_TEXT: return "word2vec text";
    case SF_EMB_WORD2VEC_BIN: return "word2vec binary";
    case SF_EMB_GLOVE: return "GloVe";
    }
    return "unknown";
}

/* ------------------------------------------------------------ piece map */

static uint64_t sf_emb_fnv(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    return h;
}

#define SF_EMB_FNV_SEED 0xcbf29ce484222325ull

/* Id of the piece prefix + word (prefix may be ""), or -1. */
static int32_t sf_emb_map_find(const sf_emb_map *m, const char *prefix, size_t np, const char *w,
                               size_t nw)
{
    uint64_t h = sf_emb_fnv(sf_emb_fnv(SF_EMB_FNV_SEED, prefix, np), w, nw);
    for (uint64_t i = h & m->mask;; i = (i + 1) & m->mask) {
        int32_t id = m->slot[i];
        if (id < 0)
            return -1;
        if (m->hash[i] == h && m->len[id] == np + nw && memcmp(m->piece[id], prefix, np) == 0 &&
            memcmp(m->piece[id] + np, w, nw) == 0)
            return id;
    }
}

static sf_status sf_emb_map_build(sf_emb_map *m, const sf_spm *spm, int32_t V)
{
    uint64_t cap = 16;
    while (cap < 2 * (uint64_t)V)
        cap *= 2;
    m->mask = cap - 1;
    m->slot = malloc(cap * sizeof *m->slot);
    m->hash = malloc(cap * sizeof *m->hash);
    m->piece = calloc((size_t)V, sizeof *m->piece);
    m->len = calloc((size_t)V, sizeof *m->len);
    if (!m->slot || !m->hash || !m->piece || !m->len)
        return SF_FAIL(SF_ERR_OOM, "no memory for the map of %d pieces", V);
    memset(m->slot, 0xff, cap * sizeof *m->slot);
    for (int32_t id = SF_EMB_FIRST_PIECE; id < V; id++) {
        SF_TRY(sf_spm_id_to_piece(spm, id, &m->piece[id]));
        m->len[id] = (uint32_t)strlen(m->piece[id]);
        if (sf_emb_map_find(m, "", 0, m->piece[id], m->len[id]) >= 0)
            continue; /* SentencePiece pieces are unique; keep the first if not */
        uint64_t h = sf_emb_fnv(SF_EMB_FNV_SEED, m->piece[id], m->len[id]);
        uint64_t i = h & m->mask;
        while (m->slot[i] >= 0)
            i = (i + 1) & m->mask;
        m->slot[i] = id;
        m->hash[i] = h;
    }
    return SF_OK;
}

static void sf_emb_map_free(sf_emb_map *m)
{
    free(m->slot);
    free(m->hash);
    free(m->piece);
    free(m->len);
}

/* ------------------------------------------------------------ staging */

static sf_status sf_emb_stage_init(sf_emb_stage *st, int32_t V)
{
    st->slot = malloc((size_t)V * sizeof *st->slot);
    st->kind = calloc((size_t)V, 1);
    if (!st->slot || !st->kind)
        return SF_FAIL(SF_ERR_OOM, "no memory for %d rows of bookkeeping", V);
    memset(st->slot, 0xff, (size_t)V * sizeof *st->slot);
    return SF_OK;
}

/* Stage vec for row id unless the row already holds a match as good. */
static sf_status sf_emb_stage_put(sf_emb_ctx *c, int32_t id, int kind)
{
    sf_emb_stage *st = &c->st;
    if (id < 0 || st->kind[id] >= kind)
        return SF_OK;
    if (st->slot[id] < 0) {
        if (st->n == st->cap) {
            int32_t cap = st->cap ? 2 * st->cap : 256;
            float *np = realloc(st->pool, (size_t)cap * (size_t)c->E * sizeof *np);
            if (!np)
                return SF_FAIL(SF_ERR_OOM, "no memory to stage %d rows of %d floats", cap, c->E);
            st->pool = np;
            st->cap = cap;
        }
        st->slot[id] = st->n++;
    }
    memcpy(st->pool + (size_t)st->slot[id] * (size_t)c->E, c->vec, (size_t)c->E * sizeof *c->vec);
    st->kind[id] = (uint8_t)kind;
    return SF_OK;
}

static void sf_emb_stage_free(sf_emb_stage *st)
{
    free(st->slot);
    free(st->kind);
    free(st->pool);
}

/* ------------------------------------------------------------ records */

static void sf_emb_lookup(const sf_emb_ctx *c, const char *w, size_t n, int32_t ids[2])
{
    ids[0] = sf_emb_map_find(&c->map, "", 0, w, n);
    ids[1] = sf_emb_map_find(&c->map, SF_EMB_MARK, SF_EMB_MARK_LEN, w, n);
}

/* Counts a record; *use = 1 when its vector is wanted (valid UTF-8, matched). */
void sf_emb_begin_record(sf_emb_ctx *c, const char *w, size_t n, int64_t where,
                                int32_t ids[2], int *use)
{
    size_t bad;
    c->rep.vectors_read++;
    ids[0] = ids[1] = -1;
    if (!sf_utf8_valid(w, n, &bad)) {
        if (c->rep.skipped_invalid++ == 0)
            c->first_invalid = where;
    } else {
        sf_emb_lookup(c, w, n, ids);
    }
    *use = ids[0] >= 0 || ids[1] >= 0;
}

sf_status sf_emb_end_record(sf_emb_ctx *c, const int32_t ids[2])
{
    SF_TRY(sf_emb_stage_put(c, ids[0], SF_KIND_EXACT));
    return sf_emb_stage_put(c, ids[1], SF_KIND_STRIPPED);
}

/* ------------------------------------------------------------ apply */

static sf_status sf_emb_check_args(const char *path, sf_emb_format fmt, const sf_spm *spm,
                                   int32_t V, int32_t E, const float *table)
{
    if (!path || !spm || !table)
        return SF_FAIL(SF_ERR_INVALID_ARG, "NULL %s", !path ? "path" : !spm ? "spm" : "table");
    if (fmt < SF_EMB_AUTO || fmt > SF_EMB_GLOVE)
        return SF_FAIL(SF_ERR_INVALID_ARG, "%s: unknown format %d", path, (int)fmt);
    if (V != sf_spm_vocab_size(spm))
        return SF_FAIL(SF_ERR_INVALID_ARG, "%s: V = %d but the SentencePiece model has %d "
                       "pieces (pass the model's own vocabulary)", path, V,
                       sf_spm_vocab_size(spm));
    if (E < 1)
        return SF_FAIL(SF_ERR_INVALID_ARG, "%s: E = %d, expected >= 1", path, E);
    return SF_OK;
}

static sf_status sf_emb_dim_check(const sf_emb_ctx *c, int64_t D, const char *hint)
{
    if (D == c->E)
        return SF_OK;
    return SF_FAIL(SF_ERR_INVALID_ARG, "%s: file has %lld-dimensional vectors but the model's "
                   "emb_size is %d (set --emb-size %lld to use this file)%s", c->path,
                   (long long)D, c->E, (long long)D, hint);
}

/* Reads line 1 (after leading blank lines), resolves the format and the
 * dimension; *first is GloVe's first record, to be read as such. */
static sf_status sf_emb_start(sf_emb_ctx *c, sf_emb_format fmt, char **first, size_t *n_first)
{
    char *s;
    size_t n;
    do
        SF_TRY(sf_emb_rd_line(&c->rd, c->path, &s, &n));
    while (s && sf_emb_blank(s, n));
    if (!s)
        return SF_FAIL(SF_ERR_FORMAT, "%s is empty: no header and no vectors (expected a "
                       "word2vec or GloVe file)", c->path);
    int64_t N = 0, D = 0;
    const int header = sf_emb_header(s, n, &N, &D);
    if (fmt == SF_EMB_GLOVE || (fmt == SF_EMB_AUTO && !header)) {
        c->rep.format = SF_EMB_GLOVE;
        c->header_n = -1;
        *first = s;
        *n_first = n;
        if (sf_emb_fields(s, n) < 2) {
            char got[64];
            return SF_FAIL(SF_ERR_FORMAT, "%s:%lld: the first line '%s' has a word but no values",
                           c->path, (long long)c->rd.line, sf_emb_show(got, sizeof got, s, n));
        }
        return sf_emb_dim_check(c, sf_emb_fields(s, n) - 1,
                                header ? " (line 1 looks like a word2vec header: use the word2vec "
                                         "format or auto)" : "");
    }
    if (!header) {
        char got[64];
        return SF_FAIL(SF_ERR_FORMAT, "%s:%lld: expected the %s header 'COUNT DIM', got '%s' "
                       "(a GloVe file has no header: use the GloVe format or auto)", c->path,
                       (long long)c->rd.line, sf_emb_format_str(fmt), sf_emb_show(got, sizeof got,
                                                                                  s, n));
    }
    SF_TRY(sf_emb_dim_check(c, D, ""));
    c->header_n = N;
    c->rep.format = fmt;
    if (fmt == SF_EMB_AUTO) {
        int text;
        SF_TRY(sf_emb_sniff_text(c, &text));
        c->rep.format = text ? SF_EMB_WORD2VEC_TEXT : SF_EMB_WORD2VEC_BIN;
    }
    *first = NULL;
    *n_first = 0;
    return SF_OK;
}

/* Staged rows into the table; the report's counts. */
static void sf_emb_commit(sf_emb_ctx *c, float *table)
{
    for (int32_t id = SF_EMB_FIRST_PIECE; id < c->V; id++) {
        if (c->st.slot[id] < 0)
            continue;
        memcpy(table + (size_t)id * (size_t)c->E, c->st.pool + (size_t)c->st.slot[id] * c->E,
               (size_t)c->E * sizeof *table);
        c->rep.matched++;
        c->rep.matched_exact += c->st.kind[id] == SF_KIND_EXACT;
        c->rep.matched_stripped += c->st.kind[id] == SF_KIND_STRIPPED;
    }
    const int32_t pieces = c->V - SF_EMB_FIRST_PIECE;
    c->rep.dim = c->E;
    c->rep.vocab = c->V;
    c->rep.coverage = pieces > 0 ? (double)c->rep.matched / pieces : 0.0;
    sf_log_info("embeddings %s: %d-dim, %lld vectors, matched %d of %d pieces (%.1f%%)", c->path,
                c->E, (long long)c->rep.vectors_read, c->rep.matched, pieces,
                100.0 * c->rep.coverage);
    if (c->rep.skipped_invalid > 0)
        sf_log_warn("embeddings %s: skipped %lld words that are not valid UTF-8 (the first at "
                    "%s %lld)", c->path, (long long)c->rep.skipped_invalid,
                    c->rep.format == SF_EMB_WORD2VEC_BIN ? "byte" : "line",
                    (long long)c->first_invalid);
}

static sf_status sf_emb_run(sf_emb_ctx *c, const sf_spm *spm, sf_emb_format fmt, float *table)
{
    char *first = NULL;
    size_t n_first = 0;
    SF_TRY(sf_emb_map_build(&c->map, spm, c->V));
    SF_TRY(sf_emb_stage_init(&c->st, c->V));
    c->vec = malloc((size_t)c->E * sizeof *c->vec);
    if (!c->vec)
        return SF_FAIL(SF_ERR_OOM, "no memory for a vector of %d floats", c->E);
    SF_TRY(sf_emb_rd_open(&c->rd, c->path));
    SF_TRY(sf_emb_start(c, fmt, &first, &n_first));
    if (c->rep.format == SF_EMB_WORD2VEC_BIN)
        SF_TRY(sf_emb_read_bin(c));
    else
        SF_TRY(sf_emb_read_text(c, first, n_first));
    sf_emb_commit(c, table);
    return SF_OK;
}

sf_status sf_pretrained_apply(const char *path, sf_emb_format fmt, const sf_spm *spm,
                              int32_t V, int32_t E,
                              float *table, // table: [V, E] host
                              sf_emb_report *rep)
{
    if (rep)
        memset(rep, 0, sizeof *rep);
    SF_TRY(sf_emb_check_args(path, fmt, spm, V, E, table));
    sf_emb_ctx c;
    memset(&c, 0, sizeof c);
    c.path = path;
    c.V = V;
    c.E = E;
    sf_status st = sf_emb_run(&c, spm, fmt, table);
    if (st == SF_OK && rep)
        *rep = c.rep;
    sf_emb_rd_close(&c.rd);
    sf_emb_map_free(&c.map);
    sf_emb_stage_free(&c.st);
    free(c.vec);
    return st;
}
