/* test_corpus.c: the corpus reader (line hygiene, the skip table, errors) and
 * the batcher (coverage, budget, padding and shift, determinism, resume,
 * validation pass), with tokenizers defined here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/rng.h"
#include "core/status_internal.h"
#include "sf_test.h"
#include "train/batcher.h"
#include "train/corpus.h"

/* ------------------------------------------------------------ tokenizers */

/* One id per byte: 4 + byte, so lengths are byte counts. */
static sf_status enc_chars(void *ctx, const char *text, size_t len, int32_t **ids, int64_t *n)
{
    (void)ctx;
    *ids = malloc((len ? len : 1) * sizeof **ids);
    for (size_t i = 0; i < len; i++)
        (*ids)[i] = 4 + (unsigned char)text[i];
    *n = (int64_t)len;
    return SF_OK;
}

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Whitespace-separated words; id = 4 + FNV-1a hash mod 1000. */
static sf_status enc_words(void *ctx, const char *text, size_t len, int32_t **ids, int64_t *n)
{
    (void)ctx;
    *ids = malloc((len / 2 + 1) * sizeof **ids);
    *n = 0;
    for (size_t i = 0; i < len;) {
        if (is_ws(text[i])) {
            i++;
            continue;
        }
        uint32_t h = 2166136261u;
        for (; i < len && !is_ws(text[i]); i++)
            h = (h ^ (unsigned char)text[i]) * 16777619u;
        (*ids)[(*n)++] = 4 + (int32_t)(h % 1000);
    }
    return SF_OK;
}

static int contains(const char *text, size_t len, const char *word)
{
    size_t w = strlen(word);
    for (size_t i = 0; i + w <= len; i++)
        if (memcmp(text + i, word, w) == 0)
            return 1;
    return 0;
}

/* Fails on text containing "FAIL"; returns a negative id on "NEG". */
static sf_status enc_picky(void *ctx, const char *text, size_t len, int32_t **ids, int64_t *n)
{
    if (contains(text, len, "FAIL"))
        return sf_error(SF_ERR_TOKENIZER, "picky: refused the text");
    SF_TRY(enc_chars(ctx, text, len, ids, n));
    if (contains(text, len, "NEG"))
        (*ids)[0] = -7;
    return SF_OK;
}

/* ------------------------------------------------------------ helpers */

typedef struct blob {
    const char *p;
    size_t n;
} blob;
#define BLOB(s) {(s), sizeof(s) - 1}

static void put(const char *dir, const char *name, blob b, char *path, size_t pn)
{
    snprintf(path, pn, "%s/%s", dir, name);
    sf_test_write_file(path, b.p, b.n);
}

/* Load blobs written into dir: tsv if tgt.p is NULL, else two files. */
static sf_status load_blobs(const char *dir, blob src, blob tgt, const sf_corpus_opts *base,
                            sf_corpus **c)
{
    char ps[512], pt[512];
    sf_corpus_opts o = *base;
    if (!o.encode_src) {
        o.encode_src = o.encode_tgt = enc_chars;
    }
    if (tgt.p) {
        put(dir, "c.src", src, ps, sizeof ps);
        put(dir, "c.tgt", tgt, pt, sizeof pt);
        o.src_path = ps;
        o.tgt_path = pt;
    } else {
        put(dir, "c.tsv", src, ps, sizeof ps);
        o.tsv_path = ps;
    }
    return sf_corpus_load(&o, c);
}

/* ------------------------------------------------------------ loading table */

#define MAXK 8
typedef struct load_case {
    const char *name;
    blob src, tgt; /* tgt.p == NULL: src is a TSV file */
    int64_t max_src, max_tgt;
    int32_t eos;
    int64_t read, kept, empty, too_long, invalid;
    int64_t lines[MAXK], slen[MAXK], tlen[MAXK]; /* of the kept pairs */
} load_case;

static const load_case load_cases[] = {
    {"two files", BLOB("a b c\nde\n"), BLOB("x\nyz w\n"), 0, 0, 0, 2, 2, 0, 0, 0,
     {1, 2}, {5, 2}, {1, 4}},
    {"tsv", BLOB("a b\tx y\nc\tz\n"), {NULL, 0}, 0, 0, 0, 2, 2, 0, 0, 0, {1, 2}, {3, 1}, {3, 1}},
    {"crlf", BLOB("ab\r\nc\r\n"), BLOB("x\r\nyz\r\n"), 0, 0, 0, 2, 2, 0, 0, 0,
     {1, 2}, {2, 1}, {1, 2}},
    {"crlf tsv", BLOB("ab\tx\r\nc\tyz\r\n"), {NULL, 0}, 0, 0, 0, 2, 2, 0, 0, 0,
     {1, 2}, {2, 1}, {1, 2}},
    {"bom", BLOB("\xEF\xBB\xBF" "ab\ncd\n"), BLOB("\xEF\xBB\xBFx\ny\n"), 0, 0, 0, 2, 2, 0, 0, 0,
     {1, 2}, {2, 2}, {1, 1}},
    {"bom tsv", BLOB("\xEF\xBB\xBF" "ab\tx\n"), {NULL, 0}, 0, 0, 0, 1, 1, 0, 0, 0,
     {1}, {2}, {1}},
    {"no final newline", BLOB("ab\ncd"), BLOB("x\nyz"), 0, 0, 0, 2, 2, 0, 0, 0,
     {1, 2}, {2, 2}, {1, 2}},
    {"skip table", BLOB("ok one\n\nsrc\n\xff bad\na\0b\nlong long long\nok\n\r\n\xc3\xa9t\xc3\xa9\n"),
     BLOB("fine\ntgt\n  \t\nx\nx\nx\ny\nz\n\xed\xa0\x80\n"), 10, 0, 0, 9, 2, 3, 1, 3,
     {1, 7}, {6, 2}, {4, 1}},
    {"tsv skip table",
     BLOB("a\tb\nno tab\na\tb\tc\n\tb\na\t\na\xc3\tb\ncc\tdd\na\0\tb\n \t \n"), {NULL, 0},
     0, 0, 0, 9, 2, 3, 0, 4, {1, 7}, {1, 2}, {1, 2}},
    {"target too long", BLOB("a\nb\nc\n"), BLOB("xxxx\nyyy\nzzzzz\n"), 0, 3, 0, 3, 1, 0, 2, 0,
     {2}, {1}, {3}},
    {"src eos counts", BLOB("ab\nabc\n"), BLOB("x\ny\n"), 3, 0, 1, 2, 1, 0, 1, 0,
     {1}, {3}, {1}},
    {"blank tail lines", BLOB("a\n\n\n"), BLOB("x\n\n\n"), 0, 0, 0, 3, 1, 2, 0, 0,
     {1}, {1}, {1}},
};

START_TEST(test_load_table)
{
    const load_case *lc = &load_cases[_i];
    char dir[256];
    sf_test_tmpdir(dir, sizeof dir);
    sf_corpus_opts o = {.max_src_len = lc->max_src, .max_tgt_len = lc->max_tgt,
                        .src_append_eos = lc->eos};
    sf_corpus *c = NULL;
    sf_status st = load_blobs(dir, lc->src, lc->tgt, &o, &c);
    ck_assert_msg(st == SF_OK, "%s: status %d: %s", lc->name, st, sf_last_error());
    const sf_corpus_stats *s = &c->stats;
    ck_assert_msg(s->lines_read == lc->read && s->pairs_kept == lc->kept &&
                      s->skipped_empty == lc->empty && s->skipped_too_long == lc->too_long &&
                      s->skipped_invalid == lc->invalid,
                  "%s: read/kept/empty/long/invalid = %lld/%lld/%lld/%lld/%lld", lc->name,
                  (long long)s->lines_read, (long long)s->pairs_kept,
                  (long long)s->skipped_empty, (long long)s->skipped_too_long,
                  (long long)s->skipped_invalid);
    ck_assert_int_eq(sf_corpus_count(c), lc->kept);
    for (int64_t i = 0; i < lc->kept; i++) {
        int64_t ns, nt;
        const int32_t *x = sf_corpus_src(c, i, &ns);
        const int32_t *y = sf_corpus_tgt(c, i, &nt);
        ck_assert_msg(sf_corpus_line(c, i) == lc->lines[i] && ns == lc->slen[i] &&
                          nt == lc->tlen[i],
                      "%s: pair %lld: line %lld len %lld/%lld, expected line %lld len %lld/%lld",
                      lc->name, (long long)i, (long long)sf_corpus_line(c, i), (long long)ns,
                      (long long)nt, (long long)lc->lines[i], (long long)lc->slen[i],
                      (long long)lc->tlen[i]);
        for (int64_t k = 0; k < ns; k++) /* no \r, BOM or pad ids survive */
            ck_assert_msg(x[k] >= 4 + 32 || (lc->eos && k == ns - 1 && x[k] == 3),
                          "%s: pair %lld src id %d", lc->name, (long long)i, x[k]);
        for (int64_t k = 0; k < nt; k++)
            ck_assert_msg(y[k] >= 4 + 32 && y[k] != 4 + 0xEF, "%s: tgt id %d", lc->name, y[k]);
    }
    sf_corpus_free(c);
    sf_test_rmtree(dir);
}
END_TEST

/* A 1 MB line: kept whole without a limit, skipped as too long with one. */
START_TEST(test_long_line)
{
    char dir[256];
    sf_test_tmpdir(dir, sizeof dir);
    size_t big = (size_t)1 << 20;
    char *src = malloc(big + 16);
    memset(src, 'a', big);
    memcpy(src + big, "\nbc\n", 4);
    blob bs = {src, big + 4}, bt = BLOB("x\ny\n");
    for (int limit = 0; limit <= 1; limit++) {
        sf_corpus_opts o = {.max_src_len = limit ? 1000 : 0};
        sf_corpus *c = NULL;
        ck_assert_msg(load_blobs(dir, bs, bt, &o, &c) == SF_OK, "limit %d: %s", limit,
                      sf_last_error());
        ck_assert_int_eq(sf_corpus_count(c), limit ? 1 : 2);
        ck_assert_int_eq(c->stats.skipped_too_long, limit ? 1 : 0);
        ck_assert_int_eq(sf_corpus_src_len(c, 0), limit ? 2 : (int64_t)big);
        ck_assert_int_eq(sf_corpus_line(c, 0), limit ? 2 : 1);
        sf_corpus_free(c);
    }
    free(src);
    sf_test_rmtree(dir);
}
END_TEST

/* ------------------------------------------------------------ errors */

typedef struct err_case {
    const char *name;
    blob src, tgt;
    int mode;        /* 0 normal, 1 missing source file, 2 directory as source, 3 picky */
    sf_status want;
    const char *has[4]; /* substrings the message must contain */
} err_case;

static const err_case err_cases[] = {
    {"missing file", BLOB("a\n"), BLOB("x\n"), 1, SF_ERR_IO, {"nope.src", "No such file"}},
    {"directory", BLOB("a\n"), BLOB("x\n"), 2, SF_ERR_IO, {"reading", "directory"}},
    {"empty files", BLOB(""), BLOB(""), 0, SF_ERR_FORMAT, {"empty", "c.src", "c.tgt"}},
    {"empty tsv", BLOB(""), {NULL, 0}, 0, SF_ERR_FORMAT, {"empty", "c.tsv"}},
    {"mismatch", BLOB("a\nb\nc\n"), BLOB("x\ny\n"), 0, SF_ERR_FORMAT,
     {"c.src has 3 lines", "c.tgt has 2", "line-aligned"}},
    {"mismatch tgt longer", BLOB("a\n"), BLOB("x\ny\nz"), 0, SF_ERR_FORMAT,
     {"c.src has 1 lines", "c.tgt has 3"}},
    {"all invalid", BLOB("\xff\n\n\xc0\xaf\n"), BLOB("x\ny\nz\n"), 0, SF_ERR_FORMAT,
     {"no usable", "3 lines", "1 empty", "2 invalid"}},
    {"all invalid tsv", BLOB("a\nb\tc\td\n"), {NULL, 0}, 0, SF_ERR_FORMAT,
     {"no usable", "2 lines", "2 invalid"}},
    {"encoder fails", BLOB("a\nb\nFAIL\n"), BLOB("x\ny\nz\n"), 3, SF_ERR_TOKENIZER,
     {"c.src:3", "refused"}},
    {"encoder negative id", BLOB("a\n"), BLOB("NEG\n"), 3, SF_ERR_TOKENIZER,
     {"c.tgt:1", "-7"}},
};

START_TEST(test_load_errors)
{
    const err_case *ec = &err_cases[_i];
    char dir[256], path[512];
    sf_test_tmpdir(dir, sizeof dir);
    sf_corpus_opts o = {0};
    if (ec->mode == 3)
        o.encode_src = o.encode_tgt = enc_picky;
    sf_corpus *c = (sf_corpus *)&o; /* must come back NULL */
    sf_status st;
    if (ec->mode == 1 || ec->mode == 2) {
        put(dir, "c.tgt", ec->tgt, path, sizeof path);
        char src[512];
        snprintf(src, sizeof src, "%s/%s", dir, ec->mode == 1 ? "nope.src" : "sub");
        if (ec->mode == 2)
            mkdir(src, 0700);
        o = (sf_corpus_opts){.src_path = src, .tgt_path = path, .encode_src = enc_chars,
                             .encode_tgt = enc_chars};
        st = sf_corpus_load(&o, &c);
    } else {
        st = load_blobs(dir, ec->src, ec->tgt, &o, &c);
    }
    ck_assert_msg(st == ec->want, "%s: status %d, expected %d (%s)", ec->name, st, ec->want,
                  sf_last_error());
    ck_assert_msg(c == NULL, "%s: a corpus came back with an error", ec->name);
    for (int k = 0; k < 4 && ec->has[k]; k++)
        ck_assert_msg(strstr(sf_last_error(), ec->has[k]), "%s: message lacks '%s': %s",
                      ec->name, ec->has[k], sf_last_error());
    sf_test_rmtree(dir);
}
END_TEST

START_TEST(test_bad_options)
{
    sf_corpus *c = NULL;
    sf_corpus_opts both = {.src_path = "a", .tgt_path = "b", .tsv_path = "c",
                           .encode_src = enc_chars, .encode_tgt = enc_chars};
    sf_corpus_opts half = {.src_path = "a", .encode_src = enc_chars, .encode_tgt = enc_chars};
    sf_corpus_opts noenc = {.tsv_path = "c", .encode_src = enc_chars};
    sf_corpus_opts neg = {.tsv_path = "c", .encode_src = enc_chars, .encode_tgt = enc_chars,
                          .max_tgt_len = -1};
    const sf_corpus_opts *cases[] = {NULL, &both, &half, &noenc, &neg};
    for (int i = 0; i < 5; i++) {
        ck_assert_msg(sf_corpus_load(cases[i], &c) == SF_ERR_INVALID_ARG, "option case %d", i);
        ck_assert_ptr_null(c);
    }
    sf_corpus_free(NULL);
}
END_TEST

/* ------------------------------------------------------------ batcher */

/* n pairs of random word counts (source 1..30, target 1..40), word tokenizer. */
static sf_corpus *make_corpus(const char *dir, int n, uint64_t seed)
{
    sf_rng r;
    sf_rng_seed(&r, seed);
    char ps[512], pt[512];
    snprintf(ps, sizeof ps, "%s/b.src", dir);
    snprintf(pt, sizeof pt, "%s/b.tgt", dir);
    FILE *fs = fopen(ps, "w"), *ft = fopen(pt, "w");
    ck_assert(fs && ft);
    for (int i = 0; i < n; i++) {
        int ls = 1 + (int)sf_rng_below(&r, 30), lt = 1 + (int)sf_rng_below(&r, 40);
        for (int k = 0; k < ls; k++)
            fprintf(fs, "%sw%d", k ? " " : "", (int)sf_rng_below(&r, 500));
        for (int k = 0; k < lt; k++)
            fprintf(ft, "%sv%d", k ? " " : "", (int)sf_rng_below(&r, 500));
        fputc('\n', fs);
        fputc('\n', ft);
    }
    fclose(fs);
    fclose(ft);
    sf_corpus_opts o = {.src_path = ps, .tgt_path = pt, .encode_src = enc_words,
                        .encode_tgt = enc_words};
    sf_corpus *c = NULL;
    ck_assert_msg(sf_corpus_load(&o, &c) == SF_OK, "%s", sf_last_error());
    ck_assert_int_eq(sf_corpus_count(c), n);
    return c;
}

/* Every field of a batch against the corpus; returns nothing, asserts. */
static void check_batch(const char *name, const sf_corpus *c, const sf_batch *b, int64_t budget)
{
    int64_t S = 0, T = 0, ns_sum = 0, nt_sum = 0;
    for (int64_t r = 0; r < b->B; r++) {
        int64_t ns = sf_corpus_src_len(c, b->index[r]), nt = sf_corpus_tgt_len(c, b->index[r]);
        S = ns > S ? ns : S;
        T = nt + 1 > T ? nt + 1 : T;
        ns_sum += ns;
        nt_sum += nt + 1;
    }
    ck_assert_msg(b->S == S && b->T == T, "%s: shape [%lld, %lld, %lld], expected S %lld T %lld",
                  name, (long long)b->B, (long long)b->S, (long long)b->T, (long long)S,
                  (long long)T);
    ck_assert_msg(b->B * b->T <= budget || b->B == 1, "%s: B %lld x T %lld over budget %lld",
                  name, (long long)b->B, (long long)b->T, (long long)budget);
    ck_assert_msg(b->ntok_src == ns_sum && b->ntok_tgt == nt_sum, "%s: token counts", name);
    for (int64_t r = 0; r < b->B; r++) {
        int64_t ns, nt;
        const int32_t *x = sf_corpus_src(c, b->index[r], &ns);
        const int32_t *y = sf_corpus_tgt(c, b->index[r], &nt);
        ck_assert_msg(b->src_len[r] == ns && b->tgt_len[r] == nt + 1, "%s: row %lld lengths",
                      name, (long long)r);
        for (int64_t s = 0; s < S; s++)
            ck_assert_msg(b->src[r * S + s] == (s < ns ? x[s] : 0), "%s: src[%lld,%lld]", name,
                          (long long)r, (long long)s);
        for (int64_t t = 0; t < T; t++) {
            int32_t in = t == 0 ? 2 : t <= nt ? y[t - 1] : 0;
            int32_t out = t < nt ? y[t] : t == nt ? 3 : 0;
            ck_assert_msg(b->tgt_in[r * T + t] == in && b->tgt_out[r * T + t] == out,
                          "%s: tgt[%lld,%lld] = %d/%d, expected %d/%d", name, (long long)r,
                          (long long)t, b->tgt_in[r * T + t], b->tgt_out[r * T + t], in, out);
        }
    }
}

typedef struct batch_case {
    const char *name;
    int64_t max_tokens, max_sentences;
    int32_t shuffle, bucket_size;
    double min_fill; /* target tokens / (B * T) over the epoch: bucketing works */
} batch_case;

static const batch_case batch_cases[] = {
    {"default 600", 600, 0, 1, 0, 0.9},
    {"small budget", 45, 0, 1, 100, 0.0},
    {"max sentences", 100000, 7, 1, 3, 0.0},
    {"bucket 1", 300, 0, 1, 1, 0.0},
    {"no shuffle", 500, 0, 0, 100, 0.9},
    {"budget under longest", 20, 0, 1, 10, 0.0},
};

/* One epoch visits every pair exactly once; every batch is well-formed. */
START_TEST(test_batch_epoch)
{
    const batch_case *bc = &batch_cases[_i];
    char dir[256];
    sf_test_tmpdir(dir, sizeof dir);
    sf_corpus *c = make_corpus(dir, 500, 7);
    sf_batcher_opts o = {.max_tokens = bc->max_tokens, .max_sentences = bc->max_sentences,
                         .seed = 3, .shuffle = bc->shuffle, .bucket_size = bc->bucket_size};
    sf_batcher *bt = NULL;
    ck_assert_msg(sf_batcher_create(c, &o, &bt) == SF_OK, "%s: %s", bc->name, sf_last_error());
    int *seen = calloc(500, sizeof *seen);
    sf_batch b = {0};
    int64_t nb = sf_batcher_num_batches(bt), real = 0, padded = 0;
    for (int64_t k = 0; k < nb; k++) {
        ck_assert_int_eq(sf_batcher_next(bt, &b), SF_OK);
        ck_assert_msg(b.epoch == 0 && b.pos == k && b.B > 0, "%s: batch %lld", bc->name,
                      (long long)k);
        ck_assert_msg(bc->max_sentences == 0 || b.B <= bc->max_sentences, "%s: B %lld",
                      bc->name, (long long)b.B);
        check_batch(bc->name, c, &b, bc->max_tokens);
        for (int64_t r = 0; r < b.B; r++)
            seen[b.index[r]]++;
        real += b.ntok_tgt;
        padded += b.B * b.T;
    }
    ck_assert_msg((double)real / (double)padded >= bc->min_fill, "%s: padding fill %.3f < %.2f",
                  bc->name, (double)real / (double)padded, bc->min_fill);
    for (int i = 0; i < 500; i++)
        ck_assert_msg(seen[i] == 1, "%s: pair %d seen %d times", bc->name, i, seen[i]);
    int64_t e, idx;
    sf_batcher_get_pos(bt, &e, &idx);
    ck_assert_msg(e == 1 && idx == 0, "%s: pos after epoch (%lld, %lld)", bc->name,
                  (long long)e, (long long)idx);
    ck_assert_int_eq(sf_batcher_next(bt, &b), SF_OK);
    ck_assert_int_eq(b.epoch, 1);
    free(seen);
    sf_batch_free(&b);
    sf_batcher_free(bt);
    sf_corpus_free(c);
    sf_test_rmtree(dir);
}
END_TEST

/* The pair indices of the next n batches, concatenated with -1 after each. */
static int64_t *take(sf_batcher *bt, int n, int64_t *len)
{
    sf_batch b = {0};
    int64_t cap = 1024, m = 0;
    int64_t *v = malloc((size_t)cap * sizeof *v);
    for (int k = 0; k < n; k++) {
        ck_assert_int_eq(sf_batcher_next(bt, &b), SF_OK);
        if (m + b.B + 1 > cap) {
            cap = 2 * (m + b.B + 1);
            v = realloc(v, (size_t)cap * sizeof *v);
        }
        memcpy(v + m, b.index, (size_t)b.B * sizeof *v);
        m += b.B;
        v[m++] = -1;
    }
    sf_batch_free(&b);
    *len = m;
    return v;
}

static int same(const int64_t *a, int64_t na, const int64_t *b, int64_t nb)
{
    return na == nb && memcmp(a, b, (size_t)na * sizeof *a) == 0;
}

START_TEST(test_batch_determinism_resume)
{
    char dir[256];
    sf_test_tmpdir(dir, sizeof dir);
    sf_corpus *c = make_corpus(dir, 300, 11);
    sf_batcher_opts o = sf_batcher_default_opts();
    o.max_tokens = 400;
    o.bucket_size = 4;
    o.seed = 99;
    sf_batcher *a, *b, *d;
    ck_assert_int_eq(sf_batcher_create(c, &o, &a), SF_OK);
    ck_assert_int_eq(sf_batcher_create(c, &o, &b), SF_OK);
    o.seed = 100;
    ck_assert_int_eq(sf_batcher_create(c, &o, &d), SF_OK);
    int64_t nb0 = sf_batcher_num_batches(a), la, lb, ld, l1;
    /* same seed, same batches across two epochs; another seed differs */
    int64_t *va = take(a, (int)(2 * nb0), &la), *vb = take(b, (int)(2 * nb0), &lb);
    int64_t *vd = take(d, (int)nb0, &ld);
    ck_assert_msg(same(va, la, vb, lb), "same seed gave different batches");
    ck_assert_msg(!same(va, ld, vd, ld), "seeds 99 and 100 gave the same epoch");
    /* epoch 1 is ordered differently from epoch 0 */
    ck_assert_int_eq(sf_batcher_set_pos(b, 1, 0), SF_OK);
    int64_t *v1 = take(b, 5, &l1), l0;
    ck_assert_int_eq(sf_batcher_set_pos(b, 0, 0), SF_OK);
    int64_t *v0 = take(b, 5, &l0);
    ck_assert_msg(!same(v0, l0, v1, l1), "epochs 0 and 1 start with the same batches");
    /* resume: stop a mid-epoch (and at an epoch boundary), continue in a fresh batcher */
    int stops[] = {3, (int)nb0 - 1, (int)nb0, (int)nb0 + 2};
    for (int s = 0; s < 4; s++) {
        sf_batcher *x, *y;
        o.seed = 99;
        ck_assert_int_eq(sf_batcher_create(c, &o, &x), SF_OK);
        ck_assert_int_eq(sf_batcher_create(c, &o, &y), SF_OK);
        int64_t lx, ly, e, i;
        free(take(x, stops[s], &lx));
        sf_batcher_get_pos(x, &e, &i);
        ck_assert_int_eq(sf_batcher_set_pos(y, e, i), SF_OK);
        ck_assert_int_eq(sf_batcher_epoch(y), e);
        int64_t *vx = take(x, (int)nb0 + 3, &lx), *vy = take(y, (int)nb0 + 3, &ly);
        ck_assert_msg(same(vx, lx, vy, ly), "resume after %d batches at (%lld, %lld) diverged",
                      stops[s], (long long)e, (long long)i);
        free(vx);
        free(vy);
        sf_batcher_free(x);
        sf_batcher_free(y);
    }
    /* out of range: refused, position unchanged */
    int64_t e0, i0, e1, i1;
    sf_batcher_get_pos(b, &e0, &i0);
    int64_t nbb = sf_batcher_num_batches(b);
    ck_assert_int_eq(sf_batcher_set_pos(b, -1, 0), SF_ERR_INVALID_ARG);
    ck_assert_int_eq(sf_batcher_set_pos(b, 0, -1), SF_ERR_INVALID_ARG);
    ck_assert_int_eq(sf_batcher_set_pos(b, 3, 1000000), SF_ERR_INVALID_ARG);
    ck_assert_msg(strstr(sf_last_error(), "1000000"), "message: %s", sf_last_error());
    sf_batcher_get_pos(b, &e1, &i1);
    ck_assert_msg(e0 == e1 && i0 == i1 && sf_batcher_num_batches(b) == nbb,
                  "failed set_pos moved the batcher");
    int64_t lr, lf, *vr = take(b, 4, &lr), *vf;
    ck_assert_int_eq(sf_batcher_set_pos(a, e0, i0), SF_OK);
    vf = take(a, 4, &lf);
    ck_assert_msg(same(vr, lr, vf, lf), "batches after a refused set_pos differ");
    free(vr), free(vf);
    free(va), free(vb), free(vd), free(v0), free(v1);
    sf_batcher_free(a);
    sf_batcher_free(b);
    sf_batcher_free(d);
    sf_corpus_free(c);
    sf_test_rmtree(dir);
}
END_TEST

/* Validation: one pass, length-sorted, every pair once, then B = 0. */
START_TEST(test_batch_eval)
{
    char dir[256];
    sf_test_tmpdir(dir, sizeof dir);
    sf_corpus *c = make_corpus(dir, 257, 5);
    sf_batcher_opts o = sf_batcher_eval_opts(350);
    sf_batcher *bt;
    ck_assert_int_eq(sf_batcher_create(c, &o, &bt), SF_OK);
    for (int pass = 0; pass < 2; pass++) {
        int *seen = calloc(257, sizeof *seen);
        sf_batch b = {0};
        int64_t lastT = 0, batches = 0;
        for (;;) {
            ck_assert_int_eq(sf_batcher_next(bt, &b), SF_OK);
            if (b.B == 0)
                break;
            check_batch("eval", c, &b, 350);
            ck_assert_msg(b.T >= lastT, "eval batches not length-sorted: T %lld after %lld",
                          (long long)b.T, (long long)lastT);
            lastT = b.T;
            batches++;
            for (int64_t r = 0; r < b.B; r++)
                seen[b.index[r]]++;
        }
        ck_assert_int_eq(batches, sf_batcher_num_batches(bt));
        for (int i = 0; i < 257; i++)
            ck_assert_msg(seen[i] == 1, "eval pass %d: pair %d seen %d times", pass, i, seen[i]);
        ck_assert_int_eq(sf_batcher_next(bt, &b), SF_OK); /* stays at the end */
        ck_assert_int_eq(b.B, 0);
        ck_assert_int_eq(sf_batcher_set_pos(bt, 1, 0), SF_ERR_INVALID_ARG);
        ck_assert_int_eq(sf_batcher_set_pos(bt, 0, 0), SF_OK); /* rewind for pass 2 */
        sf_batch_free(&b);
        free(seen);
    }
    sf_batcher_free(bt);
    sf_corpus_free(c);
    sf_test_rmtree(dir);
}
END_TEST

/* A pair over the budget is a batch alone; bad options are refused. */
START_TEST(test_batch_oversized_and_opts)
{
    char dir[256];
    sf_test_tmpdir(dir, sizeof dir);
    sf_corpus_opts co = {.encode_src = enc_chars, .encode_tgt = enc_chars};
    sf_corpus *c;
    blob src = BLOB("a\nb\nc\nd\n");
    blob tgt = BLOB("xx\nyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\nzz\nww\n"); /* 30 y */
    ck_assert_int_eq(load_blobs(dir, src, tgt, &co, &c), SF_OK);
    sf_batcher_opts o = sf_batcher_eval_opts(10);
    sf_batcher *bt;
    ck_assert_int_eq(sf_batcher_create(c, &o, &bt), SF_OK);
    sf_batch b = {0};
    int found = 0;
    for (;;) {
        ck_assert_int_eq(sf_batcher_next(bt, &b), SF_OK);
        if (b.B == 0)
            break;
        check_batch("oversized", c, &b, 10);
        for (int64_t r = 0; r < b.B; r++) {
            if (b.index[r] == 1) {
                ck_assert_msg(b.B == 1 && b.T == 31, "oversized pair in a [%lld, %lld] batch",
                              (long long)b.B, (long long)b.T);
                found = 1;
            }
        }
    }
    ck_assert_msg(found, "the 30-token pair was never batched");
    sf_batch_free(&b);
    sf_batch_free(&b); /* twice is fine */
    sf_batch_free(NULL);
    sf_batcher_free(bt);
    sf_batcher_free(NULL);
    sf_batcher_opts bad[] = {{.max_tokens = 0}, {.max_tokens = 10, .max_sentences = -1},
                             {.max_tokens = 10, .bucket_size = -2}};
    for (int i = 0; i < 3; i++) {
        sf_batcher *x = (sf_batcher *)&b;
        ck_assert_msg(sf_batcher_create(c, &bad[i], &x) == SF_ERR_INVALID_ARG, "bad opts %d", i);
        ck_assert_ptr_null(x);
    }
    sf_batcher *x;
    ck_assert_int_eq(sf_batcher_create(NULL, &o, &x), SF_ERR_INVALID_ARG);
    sf_corpus_free(c);
    sf_test_rmtree(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("corpus");
    TCase *tc = tcase_create("load");
    tcase_add_loop_test(tc, test_load_table, 0, sizeof load_cases / sizeof load_cases[0]);
    tcase_add_test(tc, test_long_line);
    tcase_add_loop_test(tc, test_load_errors, 0, sizeof err_cases / sizeof err_cases[0]);
    tcase_add_test(tc, test_bad_options);
    suite_add_tcase(s, tc);
    tc = tcase_create("batcher");
    tcase_add_loop_test(tc, test_batch_epoch, 0, sizeof batch_cases / sizeof batch_cases[0]);
    tcase_add_test(tc, test_batch_determinism_resume);
    tcase_add_test(tc, test_batch_eval);
    tcase_add_test(tc, test_batch_oversized_and_opts);
    suite_add_tcase(s, tc);
    return sf_test_main(s);
}
