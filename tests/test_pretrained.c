/* test_pretrained.c: pretrained embeddings (src/train/pretrained*.c) against a
 * tiny SentencePiece model: word2vec text / binary and GloVe files, AUTO
 * detection, exact vs stripped matching, rows left alone, the report and log
 * line, CRLF, big files, and every malformed-file error with its location. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/rng.h"
#include "seqfuse/seqfuse.h"
#include "sf_test.h"
#include "train/pretrained.h"

#define E 4
#define MARK "\xE2\x96\x81"
#define MAX_ENTRIES 16

static const char *const k_words[] = {
    "el",   "niño",    "está",  "la",   "canción", "de",     "mañana", "café",  "agua",
    "casa", "pequeña", "grande", "come", "bebe",   "corazón", "the",   "house", "small",
    "señor", "nosotros", "vamos", "aquí", "árbol",  "jamás",   "qué",   "pero",  "donde",
};

static char g_dir[512];
static sf_spm *g_spm;
static int32_t g_V;

/* One record of an embedding file. */
typedef struct {
    const char *word;
    float v[E];
} entry;

/* Pieces picked from the model: A, B, D, D2 start with the mark and their bare
 * forms (piece + 3) are not pieces; C has no mark. */
static const char *g_a, *g_b, *g_c, *g_d, *g_d2;
static entry g_ent[MAX_ENTRIES];
static int g_n_ent;

/* ------------------------------------------------------------ fixtures */

static void write_corpus(const char *path)
{
    sf_rng r;
    sf_rng_seed(&r, 5);
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    const uint64_t nw = sizeof k_words / sizeof *k_words;
    for (int i = 0; i < 300; i++) {
        int len = 3 + (int)sf_rng_below(&r, 6);
        for (int w = 0; w < len; w++)
            fprintf(f, "%s%s", w ? " " : "", k_words[sf_rng_below(&r, nw)]);
        fputc('\n', f);
    }
    fclose(f);
}

static void pick_pieces(void)
{
    const char *m[4];
    int nm = 0;
    for (int32_t id = 4; id < g_V; id++) {
        const char *p = NULL;
        ck_assert_int_eq(sf_spm_id_to_piece(g_spm, id, &p), SF_OK);
        const int marked = strncmp(p, MARK, 3) == 0;
        if (!marked && !g_c && strlen(p) < 40)
            g_c = p;
        if (marked && nm < 4 && strlen(p) >= 6 && strlen(p) < 40 &&
            sf_spm_piece_to_id(g_spm, p + 3) == SF_UNK_ID)
            m[nm++] = p;
    }
    ck_assert_msg(nm == 4 && g_c, "the model has too few pieces of the kinds needed");
    g_a = m[0];
    g_b = m[1];
    g_d = m[2];
    g_d2 = m[3];
}

static void add_entry(const char *word, uint64_t seed)
{
    ck_assert_int_lt(g_n_ent, MAX_ENTRIES);
    entry *e = &g_ent[g_n_ent++];
    e->word = word;
    sf_test_randu(e->v, E, -1.0f, 1.0f, seed);
}

static void ensure_model(void)
{
    if (g_spm)
        return;
    char corpus[600], prefix[600], model[640];
    sf_test_tmpdir(g_dir, sizeof g_dir);
    snprintf(corpus, sizeof corpus, "%s/corpus.txt", g_dir);
    snprintf(prefix, sizeof prefix, "%s/spm", g_dir);
    write_corpus(corpus);
    sf_spm_train_opts o;
    sf_spm_train_opts_default(&o);
    const char *in[] = {corpus};
    o.inputs = in;
    o.n_inputs = 1;
    o.model_prefix = prefix;
    o.vocab_size = 100;
    ck_assert_msg(sf_spm_train(&o) == SF_OK, "train: %s", sf_last_error());
    snprintf(model, sizeof model, "%s.model", prefix);
    ck_assert_msg(sf_spm_load_file(model, &g_spm) == SF_OK, "%s", sf_last_error());
    g_V = sf_spm_vocab_size(g_spm);
    pick_pieces();
    /* word, seed of its vector; indices are used below */
    add_entry("<unk>", 100);          /* 0: a special: never applied */
    add_entry(g_a, 101);              /* 1: exact, with the mark */
    add_entry(g_b + 3, 102);          /* 2: stripped for B */
    add_entry(g_c, 103);              /* 3: exact, no mark */
    add_entry(g_d + 3, 104);          /* 4: stripped for D ... */
    add_entry(g_d, 105);              /* 5: ... then exact for D: wins */
    add_entry(g_d2, 106);             /* 6: exact for D2 ... */
    add_entry(g_d2 + 3, 107);         /* 7: ... then stripped: loses */
    add_entry("not-a-piece-xyz", 108);
    add_entry("日本語", 109);
    add_entry("\xff\xfe" "bad", 110); /* 10: invalid UTF-8: skipped */
    add_entry(g_c, 111);              /* 11: duplicate of C: first wins */
    add_entry("<s>", 112);
    add_entry(MARK, 113);             /* the bare mark, a piece in most models */
    g_ent[9].v[0] = 1.5e-5f;          /* exponent notation in text files */
}

static void path_in_dir(char *buf, size_t n, const char *name)
{
    ensure_model();
    snprintf(buf, n, "%s/%s", g_dir, name);
}

/* ------------------------------------------------------------ file writers */

typedef struct {
    char *p;
    size_t n, cap;
} buf_t;

static void bput(buf_t *b, const void *data, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = 2 * (b->n + n + 1);
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void bstr(buf_t *b, const char *s) { bput(b, s, strlen(s)); }

static void bflush(buf_t *b, const char *path)
{
    sf_test_write_file(path, b->p, b->n);
    free(b->p);
    memset(b, 0, sizeof *b);
}

enum { F_CRLF = 1, F_TRAIL = 2, F_NO_NL = 4, F_BOM = 8 };

/* A text record "word v1 ... vE" (%.9g: parses back to the same float). */
static void text_record(buf_t *b, const entry *e, int flags)
{
    char num[32];
    bstr(b, e->word);
    for (int k = 0; k < E; k++) {
        snprintf(num, sizeof num, " %.9g", e->v[k]);
        bstr(b, num);
    }
    bstr(b, flags & F_TRAIL ? " " : "");
    bstr(b, flags & F_CRLF ? "\r\n" : "\n");
}

/* word2vec text (header) or GloVe (no header); F_TRAIL adds trailing spaces
 * and blank lines at the end. */
static void write_text(const char *path, int header, const entry *ent, int n, int flags)
{
    buf_t b = {0};
    char head[64];
    bstr(&b, flags & F_BOM ? "\xEF\xBB\xBF" : "");
    if (header) {
        snprintf(head, sizeof head, "%d %d%s%s", n, E, flags & F_TRAIL ? " " : "",
                 flags & F_CRLF ? "\r\n" : "\n");
        bstr(&b, head);
    }
    for (int i = 0; i < n; i++)
        text_record(&b, &ent[i], flags);
    if (flags & F_TRAIL)
        bstr(&b, flags & F_CRLF ? "\r\n  \r\n\r\n" : "\n \t\n\n");
    bflush(&b, path);
}

static void bin_record(buf_t *b, const entry *e, int flags)
{
    bstr(b, e->word);
    bstr(b, " ");
    for (int k = 0; k < E; k++) {
        uint32_t u;
        memcpy(&u, &e->v[k], 4);
        unsigned char le[4] = {(unsigned char)u, (unsigned char)(u >> 8),
                               (unsigned char)(u >> 16), (unsigned char)(u >> 24)};
        bput(b, le, 4);
    }
    if (!(flags & F_NO_NL))
        bstr(b, "\n");
}

/* word2vec binary; `claimed` is the count in the header. */
static void write_bin(const char *path, int claimed, const entry *ent, int n, int flags)
{
    buf_t b = {0};
    char head[64];
    snprintf(head, sizeof head, "%d %d\n", claimed, E);
    bstr(&b, head);
    for (int i = 0; i < n; i++)
        bin_record(&b, &ent[i], flags);
    bflush(&b, path);
}

/* ------------------------------------------------------------ checks */

/* Every row holds a value of its own that no vector has. */
static float *sentinel_table(int32_t e)
{
    float *t = malloc((size_t)g_V * (size_t)e * sizeof *t);
    for (int64_t i = 0; i < (int64_t)g_V * e; i++)
        t[i] = -1000.0f - (float)i;
    return t;
}

/* What the table must become: a plain scan, first match wins, exact first. */
static void reference(const entry *ent, int n, float *t, int32_t *exact, int32_t *stripped)
{
    *exact = *stripped = 0;
    for (int32_t id = 4; id < g_V; id++) {
        const char *p = NULL;
        ck_assert_int_eq(sf_spm_id_to_piece(g_spm, id, &p), SF_OK);
        int hit = -1, bare = strncmp(p, MARK, 3) == 0;
        for (int i = 0; i < n && hit < 0; i++)
            if (strcmp(ent[i].word, p) == 0)
                hit = i;
        if (hit >= 0)
            (*exact)++;
        for (int i = 0; i < n && hit < 0 && bare; i++)
            if (strcmp(ent[i].word, p + 3) == 0) {
                hit = i;
                (*stripped)++;
            }
        if (hit >= 0)
            memcpy(t + (size_t)id * E, ent[hit].v, sizeof ent[hit].v);
    }
}

static void assert_row(const float *t, const char *piece, int entry_index, const char *what)
{
    int32_t id = sf_spm_piece_to_id(g_spm, piece);
    ck_assert_msg(id >= 4, "%s: '%s' is not a piece", what, piece);
    ck_assert_msg(memcmp(t + (size_t)id * E, g_ent[entry_index].v, sizeof g_ent[0].v) == 0,
                  "%s: row %d ('%s') is not the vector of entry %d", what, id, piece,
                  entry_index);
}

/* Applies the file, checks the table bit for bit against the reference, the
 * rows chosen by hand, and the report. */
static void check_apply(const char *path, sf_emb_format fmt, sf_emb_format want_fmt,
                        const entry *ent, int n, int64_t want_skipped, const char *what)
{
    float *t = sentinel_table(E), *want = sentinel_table(E);
    int32_t exact, stripped;
    reference(ent, n, want, &exact, &stripped);
    sf_emb_report rep;
    sf_status st = sf_pretrained_apply(path, fmt, g_spm, g_V, E, t, &rep);
    ck_assert_msg(st == SF_OK, "%s: %s", what, sf_last_error());
    for (int32_t id = 0; id < g_V; id++)
        ck_assert_msg(memcmp(t + (size_t)id * E, want + (size_t)id * E, E * sizeof *t) == 0,
                      "%s: row %d differs from the reference", what, id);
    if (n == g_n_ent) {
        assert_row(t, g_a, 1, what);
        assert_row(t, g_b, 2, what);
        assert_row(t, g_c, 3, what);
        assert_row(t, g_d, 5, what);
        assert_row(t, g_d2, 6, what);
        ck_assert_msg(exact >= 4 && stripped >= 1, "%s: reference %d/%d", what, exact, stripped);
    }
    ck_assert_msg(rep.format == want_fmt, "%s: format %s, expected %s", what,
                  sf_emb_format_str(rep.format), sf_emb_format_str(want_fmt));
    ck_assert_msg(rep.vectors_read == n && rep.skipped_invalid == want_skipped,
                  "%s: read %lld (skipped %lld), expected %d (%lld)", what,
                  (long long)rep.vectors_read, (long long)rep.skipped_invalid, n,
                  (long long)want_skipped);
    ck_assert_msg(rep.matched_exact == exact && rep.matched_stripped == stripped &&
                      rep.matched == exact + stripped,
                  "%s: matched %d = %d exact + %d stripped, expected %d + %d", what, rep.matched,
                  rep.matched_exact, rep.matched_stripped, exact, stripped);
    ck_assert_int_eq(rep.dim, E);
    ck_assert_int_eq(rep.vocab, g_V);
    ck_assert_msg(rep.coverage == (double)rep.matched / (g_V - 4), "%s: coverage %g", what,
                  rep.coverage);
    free(t);
    free(want);
}

/* ------------------------------------------------------------ well-formed files */

typedef struct {
    const char *name;
    int kind;             /* 0 word2vec text, 1 word2vec binary, 2 GloVe */
    int flags;            /* F_* */
    sf_emb_format fmt;    /* passed */
    sf_emb_format want;   /* reported */
} format_case;

static const format_case k_formats[] = {
    {"w2v text", 0, 0, SF_EMB_WORD2VEC_TEXT, SF_EMB_WORD2VEC_TEXT},
    {"w2v text auto", 0, 0, SF_EMB_AUTO, SF_EMB_WORD2VEC_TEXT},
    {"w2v text crlf", 0, F_CRLF | F_TRAIL, SF_EMB_WORD2VEC_TEXT, SF_EMB_WORD2VEC_TEXT},
    {"w2v text crlf auto", 0, F_CRLF | F_TRAIL, SF_EMB_AUTO, SF_EMB_WORD2VEC_TEXT},
    {"w2v text trailing", 0, F_TRAIL, SF_EMB_AUTO, SF_EMB_WORD2VEC_TEXT},
    {"w2v bin", 1, 0, SF_EMB_WORD2VEC_BIN, SF_EMB_WORD2VEC_BIN},
    {"w2v bin auto", 1, 0, SF_EMB_AUTO, SF_EMB_WORD2VEC_BIN},
    {"w2v bin no newline", 1, F_NO_NL, SF_EMB_WORD2VEC_BIN, SF_EMB_WORD2VEC_BIN},
    {"w2v bin no newline auto", 1, F_NO_NL, SF_EMB_AUTO, SF_EMB_WORD2VEC_BIN},
    {"glove", 2, 0, SF_EMB_GLOVE, SF_EMB_GLOVE},
    {"glove auto", 2, 0, SF_EMB_AUTO, SF_EMB_GLOVE},
    {"glove crlf auto", 2, F_CRLF | F_TRAIL, SF_EMB_AUTO, SF_EMB_GLOVE},
    {"glove crlf", 2, F_CRLF | F_TRAIL, SF_EMB_GLOVE, SF_EMB_GLOVE},
    {"w2v text bom auto", 0, F_BOM, SF_EMB_AUTO, SF_EMB_WORD2VEC_TEXT},
    {"glove bom auto", 2, F_BOM, SF_EMB_AUTO, SF_EMB_GLOVE},
};
#define N_FORMATS (int)(sizeof k_formats / sizeof *k_formats)

static void write_kind(const char *path, int kind, const entry *ent, int n, int flags)
{
    if (kind == 1)
        write_bin(path, n, ent, n, flags);
    else
        write_text(path, kind == 0, ent, n, flags);
}

START_TEST(test_formats)
{
    const format_case *fc = &k_formats[_i];
    char path[600];
    path_in_dir(path, sizeof path, "vectors.emb");
    write_kind(path, fc->kind, g_ent, g_n_ent, fc->flags);
    check_apply(path, fc->fmt, fc->want, g_ent, g_n_ent, 1, fc->name);
    /* rep may be NULL */
    float *t = sentinel_table(E);
    ck_assert_msg(sf_pretrained_apply(path, fc->fmt, g_spm, g_V, E, t, NULL) == SF_OK, "%s: %s",
                  fc->name, sf_last_error());
    free(t);
}
END_TEST

/* The one info line, read back from stderr. */
START_TEST(test_log_line)
{
    char path[600], logp[600], want[1024];
    path_in_dir(path, sizeof path, "log.vec");
    path_in_dir(logp, sizeof logp, "stderr.txt");
    write_text(path, 1, g_ent, g_n_ent, 0);
    float *t = sentinel_table(E);
    sf_emb_report rep;
    fflush(stderr);
    int saved = dup(2);
    ck_assert_ptr_nonnull(freopen(logp, "w", stderr));
    sf_status st = sf_pretrained_apply(path, SF_EMB_AUTO, g_spm, g_V, E, t, &rep);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    ck_assert_msg(st == SF_OK, "%s", sf_last_error());
    char *log = sf_test_read_file(logp, NULL);
    snprintf(want, sizeof want, "embeddings %s: 4-dim, %d vectors, matched %d of %d pieces (%.1f%%)",
             path, g_n_ent, rep.matched, g_V - 4, 100.0 * rep.coverage);
    ck_assert_msg(log && strstr(log, want), "log lacks '%s': %s", want, log ? log : "(none)");
    ck_assert_msg(strstr(log, "skipped 1 words that are not valid UTF-8 (the first at line 12)"),
                  "no UTF-8 warning: %s", log);
    free(log);
    free(t);
}
END_TEST

/* 30000 words that match nothing around the real ones (several read chunks),
 * and, in text, one 1.5 MB word (a line longer than the read buffer). */
START_TEST(test_big)
{
    enum { N_BIG = 30000 };
    const format_case *fc = &k_formats[_i == 0 ? 1 : _i == 1 ? 6 : 10];
    entry *ent = malloc((N_BIG + MAX_ENTRIES + 1) * sizeof *ent);
    char(*words)[16] = malloc(N_BIG * sizeof *words);
    char *huge = NULL;
    int n = 0;
    for (int i = 0; i < N_BIG; i++) {
        if (i == N_BIG / 2)
            ent[n++] = g_ent[1];
        snprintf(words[i], sizeof words[i], "zz%05d", i);
        ent[n].word = words[i];
        sf_test_randu(ent[n++].v, E, -1.0f, 1.0f, 1000 + (uint64_t)i);
    }
    if (fc->kind != 1) {
        huge = malloc(1500001);
        memset(huge, 'q', 1500000);
        huge[1500000] = '\0';
        ent[n] = g_ent[2];
        ent[n++].word = huge;
    }
    for (int i = 2; i < g_n_ent; i++)
        ent[n++] = g_ent[i];
    char path[600];
    path_in_dir(path, sizeof path, "big.emb");
    write_kind(path, fc->kind, ent, n, 0);
    check_apply(path, fc->fmt, fc->want, ent, n, 1, fc->name);
    free(huge);
    free(words);
    free(ent);
}
END_TEST

/* ------------------------------------------------------------ errors */

static void assert_fails(sf_status got, sf_status want, const char *n1, const char *n2,
                         const char *what)
{
    ck_assert_msg(got == want, "%s: got %s, expected %s (message: %s)", what, sf_status_str(got),
                  sf_status_str(want), sf_last_error());
    ck_assert_msg(strstr(sf_last_error(), n1) && (!n2 || strstr(sf_last_error(), n2)),
                  "%s: message lacks '%s' / '%s': %s", what, n1, n2 ? n2 : "", sf_last_error());
}

/* Applies a file that must fail; the table and the report must stay as they were. */
static void expect_error(const char *path, sf_emb_format fmt, int32_t e, sf_status want,
                         const char *n1, const char *n2, const char *what)
{
    float *t = sentinel_table(e), *orig = sentinel_table(e);
    sf_emb_report rep;
    memset(&rep, 0x55, sizeof rep);
    assert_fails(sf_pretrained_apply(path, fmt, g_spm, g_V, e, t, &rep), want, n1, n2, what);
    ck_assert_msg(memcmp(t, orig, (size_t)g_V * (size_t)e * sizeof *t) == 0,
                  "%s: the table changed", what);
    ck_assert_msg(rep.vectors_read == 0 && rep.matched == 0 && rep.dim == 0,
                  "%s: report not zeroed", what);
    free(t);
    free(orig);
}

START_TEST(test_dim_mismatch)
{
    static const int kinds[] = {0, 1, 2};
    char path[600], what[64];
    path_in_dir(path, sizeof path, "dim.emb");
    for (int k = 0; k < 3; k++) {
        write_kind(path, kinds[k], g_ent, g_n_ent, 0);
        for (int a = 0; a < 2; a++) {
            snprintf(what, sizeof what, "kind %d %s", kinds[k], a ? "auto" : "explicit");
            sf_emb_format fmt = a ? SF_EMB_AUTO : (sf_emb_format)(SF_EMB_WORD2VEC_TEXT + k);
            expect_error(path, fmt, 5, SF_ERR_INVALID_ARG,
                         "file has 4-dimensional vectors but the model's emb_size is 5",
                         "--emb-size 4", what);
        }
    }
    write_kind(path, 0, g_ent, g_n_ent, 0);
    expect_error(path, SF_EMB_GLOVE, E, SF_ERR_INVALID_ARG, "1-dimensional",
                 "looks like a word2vec header", "GloVe read of a word2vec file");
}
END_TEST

typedef struct {
    const char *name;
    sf_emb_format fmt;
    int auto_too;        /* AUTO must give the same error */
    const char *content; /* '@' stands for a piece without the mark */
    sf_status want;
    const char *needle;  /* '@' likewise */
} text_case;

static const text_case k_text_cases[] = {
    {"too few values", SF_EMB_WORD2VEC_TEXT, 1, "3 4\n@ 1 2 3 4\nb 1 2 3\nc 1 2 3 4\n",
     SF_ERR_FORMAT, ":3: word 'b' has 3 values, expected 4"},
    {"too many values", SF_EMB_WORD2VEC_TEXT, 1, "3 4\n@ 1 2 3 4\nb 1 2 3 4 5\nc 1 2 3 4\n",
     SF_ERR_FORMAT, ":3: word 'b' has 5 values, expected 4"},
    {"not a number", SF_EMB_WORD2VEC_TEXT, 1, "3 4\n@ 1 2 3 4\nb 1 2 x 4\nc 1 2 3 4\n",
     SF_ERR_FORMAT, ":3: value 3 of word 'b' is not a number: 'x'"},
    {"two dots", SF_EMB_GLOVE, 1, "@ 1 2 3 4\nb 1 2.0.1 3 4\n", SF_ERR_FORMAT,
     ":2: value 2 of word 'b' is not a number: '2.0.1'"},
    {"bare exponent", SF_EMB_GLOVE, 1, "@ 1 2 3 4\nb 1 2 3 4e\n", SF_ERR_FORMAT,
     ":2: value 4 of word 'b' is not a number: '4e'"},
    {"decimal comma", SF_EMB_GLOVE, 1, "b 1 2 3 4\n@ 1,5 2 3 4\n", SF_ERR_FORMAT,
     ":2: value 1 of word '@' is not a number: '1,5'"},
    {"nan", SF_EMB_WORD2VEC_TEXT, 1, "2 4\nb 1 2 3 4\n@ 1 nan 3 4\n", SF_ERR_NUMERIC,
     ":3: value 2 of word '@' is not finite: 'nan'"},
    {"overflow", SF_EMB_GLOVE, 1, "b 1 2 3 4\n@ 1 2 3 1e39\n", SF_ERR_NUMERIC,
     ":2: value 4 of word '@' overflows float: '1e39'"},
    {"header claims more", SF_EMB_WORD2VEC_TEXT, 1, "5 4\n@ 1 2 3 4\nb 1 2 3 4\n",
     SF_ERR_FORMAT, ":3: the header promises 5 vectors but the file ends after 2"},
    {"claims more, blank end", SF_EMB_WORD2VEC_TEXT, 1, "5 4\n@ 1 2 3 4\nb 1 2 3 4\n\n\n",
     SF_ERR_FORMAT, ":5: the header promises 5 vectors but the file ends after 2"},
    {"header only", SF_EMB_WORD2VEC_TEXT, 1, "2 4\n", SF_ERR_FORMAT,
     ":1: the header promises 2 vectors but the file ends after 0"},
    {"header claims fewer", SF_EMB_WORD2VEC_TEXT, 1, "1 4\n@ 1 2 3 4\nb 1 2 3 4\n",
     SF_ERR_FORMAT, ":3: more vectors than the 1 the header promises"},
    {"blank after header", SF_EMB_WORD2VEC_TEXT, 1, "2 4\n  \n@ 1 2 3 4\nb 1 2 3 4\n",
     SF_ERR_FORMAT, ":2: blank line among the vectors"},
    {"blank line inside", SF_EMB_GLOVE, 1, "@ 1 2 3 4\n\nb 1 2 3 4\n", SF_ERR_FORMAT,
     ":2: blank line among the vectors"},
    {"no header", SF_EMB_WORD2VEC_TEXT, 0, "@ 1 2 3 4\n", SF_ERR_FORMAT,
     ":1: expected the word2vec text header 'COUNT DIM', got '@ 1 2 3 4'"},
    {"bad header", SF_EMB_WORD2VEC_BIN, 0, "3 x\n", SF_ERR_FORMAT,
     ":1: expected the word2vec binary header"},
    {"word only", SF_EMB_GLOVE, 1, "@\n", SF_ERR_FORMAT,
     ":1: the first line '@' has a word but no values"},
    {"empty", SF_EMB_GLOVE, 1, "", SF_ERR_FORMAT, " is empty: no header and no vectors"},
    {"blank only", SF_EMB_WORD2VEC_TEXT, 1, "\n \n\r\n", SF_ERR_FORMAT, " is empty"},
    {"crlf", SF_EMB_GLOVE, 1, "@ 1 2 3 4\r\nb 1 2 3\r\n", SF_ERR_FORMAT,
     ":2: word 'b' has 3 values, expected 4"},
};
#define N_TEXT_CASES (int)(sizeof k_text_cases / sizeof *k_text_cases)

/* s with every '@' replaced by the piece C (malloc'd). */
static char *with_piece(const char *s)
{
    buf_t b = {0};
    bstr(&b, "");
    for (; *s; s++)
        if (*s == '@')
            bstr(&b, g_c);
        else
            bput(&b, s, 1);
    return b.p;
}

START_TEST(test_text_errors)
{
    const text_case *tc = &k_text_cases[_i];
    char path[600];
    path_in_dir(path, sizeof path, "bad.txt");
    char *content = with_piece(tc->content), *needle = with_piece(tc->needle);
    sf_test_write_file(path, content, strlen(content));
    char where[900];
    snprintf(where, sizeof where, "%s%s", path, needle); /* FILE:LINE: what */
    expect_error(path, tc->fmt, E, tc->want, where, NULL, tc->name);
    if (tc->auto_too)
        expect_error(path, SF_EMB_AUTO, E, tc->want, where, NULL, tc->name);
    free(content);
    free(needle);
}
END_TEST

/* Binary files made of three records "aa" "bb" "cc" (20 bytes each after the
 * 4-byte header "N 4\n": records start at bytes 4, 24, 44; the file ends at 64), then spoiled. */
START_TEST(test_bin_errors)
{
    entry ent[3] = {{"aa", {0}}, {"bb", {0}}, {"cc", {0}}};
    for (int i = 0; i < 3; i++)
        sf_test_randu(ent[i].v, E, -1.0f, 1.0f, 50 + (uint64_t)i);
    char path[600], n1[800];
    path_in_dir(path, sizeof path, "bad.bin");
    for (int a = 0; a < 2; a++) {
        const sf_emb_format fmt = a ? SF_EMB_AUTO : SF_EMB_WORD2VEC_BIN;
        size_t n = 0;
        /* the last vector cut to 12 of its 16 bytes */
        write_bin(path, 3, ent, 3, 0);
        char *b = sf_test_read_file(path, &n);
        sf_test_write_file(path, b, n - 5);
        free(b);
        snprintf(n1, sizeof n1, "%s: byte 44: record 3 (word 'cc') is truncated: 12 of the 16 "
                 "bytes of its vector", path);
        expect_error(path, fmt, E, SF_ERR_FORMAT, n1, NULL, "truncated vector");
        /* a word and no space at the end */
        write_bin(path, 4, ent, 3, 0);
        b = sf_test_read_file(path, &n);
        b = realloc(b, n + 2);
        memcpy(b + n, "dd", 2);
        sf_test_write_file(path, b, n + 2);
        free(b);
        snprintf(n1, sizeof n1, "%s: byte 64: record 4 is truncated: its word has no ' '", path);
        expect_error(path, fmt, E, SF_ERR_FORMAT, n1, NULL, "truncated word");
        write_bin(path, 5, ent, 3, 0);
        snprintf(n1, sizeof n1, "%s: byte 64: the header promises 5 vectors but the file ends "
                 "after 3", path);
        expect_error(path, fmt, E, SF_ERR_FORMAT, n1, NULL, "header claims more");
        write_bin(path, 2, ent, 3, 0);
        snprintf(n1, sizeof n1, "%s: byte 44: data after the 2 vectors the header promises", path);
        expect_error(path, fmt, E, SF_ERR_FORMAT, n1, NULL, "header claims fewer");
        ent[1].v[2] = NAN;
        write_bin(path, 3, ent, 3, 0);
        ent[1].v[2] = 0.5f;
        snprintf(n1, sizeof n1, "%s: byte 35: value 3 of word 'bb' is NaN", path);
        expect_error(path, fmt, E, SF_ERR_NUMERIC, n1, NULL, "NaN");
    }
    /* trailing newlines are fine */
    write_bin(path, 3, ent, 3, 0);
    size_t n = 0;
    char *b = sf_test_read_file(path, &n);
    b = realloc(b, n + 3);
    memcpy(b + n, "\n\n\n", 3);
    sf_test_write_file(path, b, n + 3);
    free(b);
    check_apply(path, SF_EMB_AUTO, SF_EMB_WORD2VEC_BIN, ent, 3, 0, "bin trailing newlines");
}
END_TEST

START_TEST(test_args)
{
    char path[600], missing[600];
    path_in_dir(path, sizeof path, "args.vec");
    path_in_dir(missing, sizeof missing, "no-such.vec");
    write_text(path, 1, g_ent, g_n_ent, 0);
    float *t = sentinel_table(E);
    sf_emb_report rep;
    assert_fails(sf_pretrained_apply(NULL, SF_EMB_AUTO, g_spm, g_V, E, t, &rep),
                 SF_ERR_INVALID_ARG, "NULL path", NULL, "NULL path");
    assert_fails(sf_pretrained_apply(path, SF_EMB_AUTO, NULL, g_V, E, t, &rep),
                 SF_ERR_INVALID_ARG, "NULL spm", NULL, "NULL spm");
    assert_fails(sf_pretrained_apply(path, SF_EMB_AUTO, g_spm, g_V, E, NULL, &rep),
                 SF_ERR_INVALID_ARG, "NULL table", NULL, "NULL table");
    assert_fails(sf_pretrained_apply(path, (sf_emb_format)9, g_spm, g_V, E, t, &rep),
                 SF_ERR_INVALID_ARG, "unknown format 9", NULL, "format");
    assert_fails(sf_pretrained_apply(path, SF_EMB_AUTO, g_spm, g_V - 1, E, t, &rep),
                 SF_ERR_INVALID_ARG, "but the SentencePiece model has", NULL, "V");
    assert_fails(sf_pretrained_apply(path, SF_EMB_AUTO, g_spm, g_V, 0, t, &rep),
                 SF_ERR_INVALID_ARG, "E = 0", NULL, "E");
    assert_fails(sf_pretrained_apply(missing, SF_EMB_AUTO, g_spm, g_V, E, t, &rep), SF_ERR_IO,
                 missing, "cannot open", "missing file");
    assert_fails(sf_pretrained_apply(g_dir, SF_EMB_AUTO, g_spm, g_V, E, t, &rep), SF_ERR_IO,
                 g_dir, NULL, "folder");
    ck_assert_str_eq(sf_emb_format_str(SF_EMB_GLOVE), "GloVe");
    ck_assert_str_eq(sf_emb_format_str(SF_EMB_WORD2VEC_BIN), "word2vec binary");
    free(t);
}
END_TEST

int main(void)
{
    Suite *su = suite_create("pretrained");
    TCase *tc = tcase_create("apply");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_formats, 0, N_FORMATS);
    tcase_add_test(tc, test_log_line);
    tcase_add_loop_test(tc, test_big, 0, 3);
    suite_add_tcase(su, tc);
    tc = tcase_create("errors");
    tcase_add_test(tc, test_dim_mismatch);
    tcase_add_loop_test(tc, test_text_errors, 0, N_TEXT_CASES);
    tcase_add_test(tc, test_bin_errors);
    tcase_add_test(tc, test_args);
    suite_add_tcase(su, tc);
    int rc = sf_test_main(su);
    if (g_spm) {
        sf_spm_free(g_spm);
        sf_test_rmtree(g_dir);
    }
    return rc;
}
