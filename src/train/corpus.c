/* corpus.c: reading a parallel corpus (two line-aligned files or one TSV file):
 * line hygiene (BOM, CRLF, NUL bytes, UTF-8, tabs), skip accounting with located
 * warnings, tokenization through the injected callbacks, compact id storage. */
#include "train/corpus.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "core/log.h"
#include "core/utf8.h"

#define SF_CORPUS_MAX_WARN 10 /* located warnings per kind of skip */
#define SF_EOS_ID 3

enum { SF_TEXT_OK = -1, SF_SKIP_EMPTY = 0, SF_SKIP_LONG, SF_SKIP_INVALID };

/* One input file, read line by line with getline (lines of any length). */
typedef struct sf_line_reader {
    const char *path;
    FILE *f;
    char *buf;
    size_t cap;
    int64_t lineno; /* lines returned so far */
} sf_line_reader;

/* One side of a pair as read: where it came from and its raw bytes. */
typedef struct sf_side {
    const char *path;
    const char *role; /* "source" or "target" */
    const char *text;
    size_t len;
} sf_side;

typedef struct sf_loader {
    const sf_corpus_opts *o;
    sf_corpus *c;
    int64_t cap_ids, cap_off, cap_line;
} sf_loader;

/* ------------------------------------------------------------ line reader */

static sf_status sf_reader_open(sf_line_reader *r, const char *path)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    r->f = fopen(path, "rb");
    if (!r->f)
        return SF_FAIL(SF_ERR_IO, "cannot open %s: %s (check the path and its permissions)", path,
                       strerror(errno));
    return SF_OK;
}

static void sf_reader_close(sf_line_reader *r)
{
    if (r->f)
        fclose(r->f);
    free(r->buf);
    r->f = NULL;
    r->buf = NULL;
}

/* The next line without its "\n" or "\r\n" (and without a UTF-8 BOM on line 1),
 * valid until the next call; *eof = 1 at the end of the file. */
static sf_status sf_reader_next(sf_line_reader *r, char **line, size_t *len, int *eof)
{
    errno = 0;
    ssize_t got = getline(&r->buf, &r->cap, r->f);
    *line = NULL;
    *len = 0;
    *eof = 0;
    if (got < 0) {
        if (feof(r->f) && !ferror(r->f)) {
            *eof = 1;
            return SF_OK;
        }
        int e = errno ? errno : EIO;
        return SF_FAIL(e == ENOMEM ? SF_ERR_OOM : SF_ERR_IO, "reading %s after line %lld: %s",
                       r->path, (long long)r->lineno, strerror(e));
    }
    char *s = r->buf;
    size_t n = (size_t)got;
    if (n > 0 && s[n - 1] == '\n')
        n--;
    if (n > 0 && s[n - 1] == '\r')
        n--;
    if (r->lineno == 0 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
        s += 3;
        n -= 3;
    }
    r->lineno++;
    *line = s;
    *len = n;
    return SF_OK;
}

/* ------------------------------------------------------------ skip accounting */

static void sf_skip(sf_loader *L, int kind, const char *path, int64_t line, const char *fmt, ...)
    SF_PRINTF(5, 6);

static void sf_skip(sf_loader *L, int kind, const char *path, int64_t line, const char *fmt, ...)
{
    static const char *const names[] = {"empty", "too long", "invalid"};
    sf_corpus_stats *st = &L->c->stats;
    int64_t *count = kind == SF_SKIP_EMPTY  ? &st->skipped_empty
                     : kind == SF_SKIP_LONG ? &st->skipped_too_long
                                            : &st->skipped_invalid;
    (*count)++;
    if (*count > SF_CORPUS_MAX_WARN)
        return;
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    sf_log_warn("%s:%lld: skipped (%s): %s%s", path, (long long)line, names[kind], why,
                *count == SF_CORPUS_MAX_WARN ? " (further pairs of this kind are only counted)"
                                             : "");
}

static int sf_is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\v' || ch == '\f' || ch == '\r';
}

/* Classify raw text: SF_TEXT_OK, SF_SKIP_INVALID (NUL byte, bad UTF-8) or
 * SF_SKIP_EMPTY (nothing but whitespace); why[] says what was found. */
static int sf_text_kind(const sf_side *sd, char *why, size_t why_n)
{
    const char *nul = memchr(sd->text, '\0', sd->len);
    size_t bad = 0;
    if (nul) {
        snprintf(why, why_n, "%s has a NUL byte at byte %zu", sd->role, (size_t)(nul - sd->text));
        return SF_SKIP_INVALID;
    }
    if (!sf_utf8_valid(sd->text, sd->len, &bad)) {
        snprintf(why, why_n, "%s has invalid UTF-8 at byte %zu (0x%02x)", sd->role, bad,
                 (unsigned)(unsigned char)sd->text[bad]);
        return SF_SKIP_INVALID;
    }
    for (size_t i = 0; i < sd->len; i++)
        if (!sf_is_space(sd->text[i]))
            return SF_TEXT_OK;
    snprintf(why, why_n, "%s is empty or only whitespace", sd->role);
    return SF_SKIP_EMPTY;
}

/* ------------------------------------------------------------ encoding and storage */

/* Run an encoder on one side; failures come back as "path:line: message". */
static sf_status sf_encode_side(sf_encode_fn fn, void *ctx, const sf_side *sd, int64_t line,
                                int32_t **ids, int64_t *n)
{
    *ids = NULL;
    *n = 0;
    sf_clear_error();
    sf_status st = fn(ctx, sd->text, sd->len, ids, n);
    if (st != SF_OK) {
        *ids = NULL; /* the callback allocates nothing on failure */
        if (sf_last_error()[0] == '\0')
            sf_error(st, "the %s encoder failed (%s) without a message", sd->role,
                     sf_status_str(st));
        return sf_error_prefix(st, "%s:%lld", sd->path, (long long)line);
    }
    if (*n < 0 || (*n > 0 && !*ids)) {
        int64_t got = *n;
        free(*ids);
        *ids = NULL;
        return SF_FAIL(SF_ERR_TOKENIZER, "%s:%lld: the %s encoder returned n = %lld%s", sd->path,
                       (long long)line, sd->role, (long long)got, got < 0 ? "" : " but no ids");
    }
    for (int64_t i = 0; i < *n; i++) {
        if ((*ids)[i] < 0) {
            int32_t bad = (*ids)[i];
            free(*ids);
            *ids = NULL;
            return SF_FAIL(SF_ERR_TOKENIZER,
                           "%s:%lld: the %s encoder returned id %d at position %lld; ids must "
                           "be >= 0",
                           sd->path, (long long)line, sd->role, (int)bad, (long long)i);
        }
    }
    return SF_OK;
}

/* Make *p hold at least need elements of elem bytes (doubling). */
static sf_status sf_grow(void **p, int64_t *cap, int64_t need, size_t elem)
{
    if (need <= *cap)
        return SF_OK;
    int64_t nc = *cap > 0 ? *cap : 1024;
    while (nc < need)
        nc = nc > INT64_MAX / 2 ? need : nc * 2;
    void *q = (uint64_t)nc > SIZE_MAX / elem ? NULL : realloc(*p, (size_t)nc * elem);
    if (!q)
        return SF_FAIL(SF_ERR_OOM, "cannot grow a corpus array to %lld entries of %zu bytes",
                       (long long)nc, elem);
    *p = q;
    *cap = nc;
    return SF_OK;
}

/* Reserve room for one more pair with nids ids in all. */
static sf_status sf_loader_reserve(sf_loader *L, int64_t nids)
{
    sf_corpus *c = L->c;
    void *ids = c->ids, *off = c->off, *line = c->line;
    sf_status st = sf_grow(&ids, &L->cap_ids, c->off[2 * c->n] + nids, sizeof *c->ids);
    c->ids = ids;
    if (st == SF_OK)
        st = sf_grow(&off, &L->cap_off, 2 * c->n + 3, sizeof *c->off);
    c->off = off;
    if (st == SF_OK)
        st = sf_grow(&line, &L->cap_line, c->n + 1, sizeof *c->line);
    c->line = line;
    return st;
}

static sf_status sf_loader_append(sf_loader *L, int64_t line, const int32_t *s, int64_t ns,
                                  int eos, const int32_t *t, int64_t nt)
{
    SF_TRY(sf_loader_reserve(L, ns + eos + nt));
    sf_corpus *c = L->c;
    int64_t at = c->off[2 * c->n];
    if (ns > 0)
        memcpy(c->ids + at, s, (size_t)ns * sizeof *s);
    if (eos)
        c->ids[at + ns] = SF_EOS_ID;
    c->off[2 * c->n + 1] = at + ns + eos;
    if (nt > 0)
        memcpy(c->ids + at + ns + eos, t, (size_t)nt * sizeof *t);
    c->off[2 * c->n + 2] = at + ns + eos + nt;
    c->line[c->n] = line;
    c->n++;
    c->stats.pairs_kept++;
    return SF_OK;
}

/* Encode both sides, apply the length limits, store the pair if it is kept. */
static sf_status sf_loader_encode_pair(sf_loader *L, int64_t line, const sf_side *src,
                                       const sf_side *tgt)
{
    const sf_corpus_opts *o = L->o;
    int32_t *s = NULL, *t = NULL;
    int64_t ns = 0, nt = 0;
    sf_status st = sf_encode_side(o->encode_src, o->src_ctx, src, line, &s, &ns);
    if (st == SF_OK)
        st = sf_encode_side(o->encode_tgt, o->tgt_ctx, tgt, line, &t, &nt);
    int eos = o->src_append_eos ? 1 : 0;
    if (st != SF_OK) {
        /* nothing more to do */
    } else if (ns == 0 || nt == 0) {
        sf_skip(L, SF_SKIP_EMPTY, ns == 0 ? src->path : tgt->path, line,
                "%s encoded to no tokens", ns == 0 ? "source" : "target");
    } else if (o->max_src_len > 0 && ns + eos > o->max_src_len) {
        sf_skip(L, SF_SKIP_LONG, src->path, line, "source has %lld tokens > max_src_len %lld",
                (long long)(ns + eos), (long long)o->max_src_len);
    } else if (o->max_tgt_len > 0 && nt > o->max_tgt_len) {
        sf_skip(L, SF_SKIP_LONG, tgt->path, line, "target has %lld tokens > max_tgt_len %lld",
                (long long)nt, (long long)o->max_tgt_len);
    } else {
        st = sf_loader_append(L, line, s, ns, eos, t, nt);
    }
    free(s);
    free(t);
    return st;
}

/* Check both raw sides (invalid before empty), then encode and store. */
static sf_status sf_loader_pair(sf_loader *L, int64_t line, const sf_side *src,
                                const sf_side *tgt)
{
    char why_s[160], why_t[160];
    int ks = sf_text_kind(src, why_s, sizeof why_s);
    int kt = sf_text_kind(tgt, why_t, sizeof why_t);
    if (ks == SF_SKIP_INVALID || (ks != SF_TEXT_OK && kt != SF_SKIP_INVALID)) {
        sf_skip(L, ks, src->path, line, "%s", why_s);
        return SF_OK;
    }
    if (kt != SF_TEXT_OK) {
        sf_skip(L, kt, tgt->path, line, "%s", why_t);
        return SF_OK;
    }
    return sf_loader_encode_pair(L, line, src, tgt);
}

/* ------------------------------------------------------------ the two input forms */

static sf_status sf_load_tsv_line(sf_loader *L, const char *path, int64_t line, const char *s,
                                  size_t n)
{
    const char *nul = memchr(s, '\0', n);
    if (nul) {
        sf_skip(L, SF_SKIP_INVALID, path, line, "NUL byte at byte %zu", (size_t)(nul - s));
        return SF_OK;
    }
    const char *tab = memchr(s, '\t', n);
    int64_t tabs = 0;
    for (size_t i = 0; i < n; i++)
        tabs += s[i] == '\t';
    if (tabs != 1) {
        sf_skip(L, SF_SKIP_INVALID, path, line,
                "%lld tabs, expected exactly one (source TAB target)", (long long)tabs);
        return SF_OK;
    }
    size_t k = (size_t)(tab - s);
    sf_side src = {path, "source", s, k}, tgt = {path, "target", tab + 1, n - k - 1};
    return sf_loader_pair(L, line, &src, &tgt);
}

/* Read r to the end: each line a TSV pair into L, or (L NULL) only counted. */
static sf_status sf_load_tsv_loop(sf_loader *L, sf_line_reader *r)
{
    for (;;) {
        char *s;
        size_t n;
        int eof;
        SF_TRY(sf_reader_next(r, &s, &n, &eof));
        if (eof)
            return SF_OK;
        if (!L)
            continue;
        L->c->stats.lines_read++;
        SF_TRY(sf_load_tsv_line(L, r->path, r->lineno, s, n));
    }
}

static sf_status sf_load_two_loop(sf_loader *L, sf_line_reader *rs, sf_line_reader *rt)
{
    for (;;) {
        char *s, *t;
        size_t ns, nt;
        int es, et;
        SF_TRY(sf_reader_next(rs, &s, &ns, &es));
        SF_TRY(sf_reader_next(rt, &t, &nt, &et));
        if (es && et)
            return SF_OK;
        if (es || et) {
            SF_TRY(sf_load_tsv_loop(NULL, es ? rt : rs)); /* count the rest */
            return SF_FAIL(SF_ERR_FORMAT,
                           "%s has %lld lines but %s has %lld: the files must be line-aligned "
                           "(one sentence per line, pair i on line i of both files)",
                           rs->path, (long long)rs->lineno, rt->path, (long long)rt->lineno);
        }
        L->c->stats.lines_read++;
        sf_side src = {rs->path, "source", s, ns}, tgt = {rt->path, "target", t, nt};
        SF_TRY(sf_loader_pair(L, rs->lineno, &src, &tgt));
    }
}

static sf_status sf_load_files(sf_loader *L)
{
    const sf_corpus_opts *o = L->o;
    sf_line_reader rs = {0}, rt = {0};
    sf_status st = sf_reader_open(&rs, o->tsv_path ? o->tsv_path : o->src_path);
    if (st == SF_OK && o->tsv_path)
        st = sf_load_tsv_loop(L, &rs);
    else if (st == SF_OK) {
        st = sf_reader_open(&rt, o->tgt_path);
        if (st == SF_OK)
            st = sf_load_two_loop(L, &rs, &rt);
    }
    sf_reader_close(&rs);
    sf_reader_close(&rt);
    return st;
}

/* ------------------------------------------------------------ load */

static sf_status sf_corpus_check_opts(const sf_corpus_opts *o)
{
    if (!o)
        return SF_FAIL(SF_ERR_INVALID_ARG, "no options given");
    int two = o->src_path || o->tgt_path;
    if (o->tsv_path && two)
        return SF_FAIL(SF_ERR_INVALID_ARG,
                       "give either tsv_path or src_path + tgt_path, not both (got %s and %s)",
                       o->tsv_path, o->src_path ? o->src_path : o->tgt_path);
    if (!o->tsv_path && !(o->src_path && o->tgt_path))
        return SF_FAIL(SF_ERR_INVALID_ARG,
                       "need src_path and tgt_path (two line-aligned files) or tsv_path "
                       "(got src_path %s, tgt_path %s)",
                       o->src_path ? o->src_path : "(none)", o->tgt_path ? o->tgt_path : "(none)");
    if (!o->encode_src || !o->encode_tgt)
        return SF_FAIL(SF_ERR_INVALID_ARG, "encode_src and encode_tgt must both be set");
    if (o->max_src_len < 0 || o->max_tgt_len < 0)
        return SF_FAIL(SF_ERR_INVALID_ARG,
                       "max_src_len %lld / max_tgt_len %lld: expected >= 0 (0 = no limit)",
                       (long long)o->max_src_len, (long long)o->max_tgt_len);
    return SF_OK;
}

/* Final checks, the summary line, and trimming the arrays to size. */
static sf_status sf_loader_finish(sf_loader *L, const char *name)
{
    const sf_corpus_opts *o = L->o;
    sf_corpus *c = L->c;
    const sf_corpus_stats *s = &c->stats;
    if (s->lines_read == 0)
        return SF_FAIL(SF_ERR_FORMAT, "%s: no lines (empty file); a corpus needs sentence pairs",
                       name);
    int64_t skipped = s->skipped_empty + s->skipped_too_long + s->skipped_invalid;
    if (s->pairs_kept == 0)
        return SF_FAIL(SF_ERR_FORMAT,
                       "%s: no usable sentence pair in %lld lines: %lld empty, %lld too long "
                       "(max_src_len %lld, max_tgt_len %lld), %lld invalid (bad UTF-8, NUL "
                       "byte, or TSV line without exactly one tab); see the warnings above",
                       name, (long long)s->lines_read, (long long)s->skipped_empty,
                       (long long)s->skipped_too_long, (long long)o->max_src_len,
                       (long long)o->max_tgt_len, (long long)s->skipped_invalid);
    sf_log(skipped ? SF_LOG_WARN : SF_LOG_INFO,
           "corpus %s: kept %lld of %lld pairs; skipped %lld empty, %lld too long, %lld invalid",
           name, (long long)s->pairs_kept, (long long)s->lines_read, (long long)s->skipped_empty,
           (long long)s->skipped_too_long, (long long)s->skipped_invalid);
    int32_t *ids = realloc(c->ids, (size_t)c->off[2 * c->n] * sizeof *ids);
    if (ids)
        c->ids = ids; /* trimming is optional: keep the larger block if it fails */
    return SF_OK;
}

sf_status sf_corpus_load(const sf_corpus_opts *o, sf_corpus **out)
{
    if (!out)
        return SF_FAIL(SF_ERR_INVALID_ARG, "out is NULL");
    *out = NULL;
    SF_TRY(sf_corpus_check_opts(o));
    sf_corpus *c = calloc(1, sizeof *c);
    if (!c)
        return SF_FAIL(SF_ERR_OOM, "cannot allocate the corpus");
    sf_loader L = {.o = o, .c = c};
    void *off = NULL;
    sf_status st = sf_grow(&off, &L.cap_off, 1, sizeof *c->off);
    c->off = off;
    if (st == SF_OK) {
        c->off[0] = 0;
        st = sf_load_files(&L);
    }
    char name[1024];
    if (o->tsv_path)
        snprintf(name, sizeof name, "%s", o->tsv_path);
    else
        snprintf(name, sizeof name, "%s + %s", o->src_path, o->tgt_path);
    if (st == SF_OK)
        st = sf_loader_finish(&L, name);
    if (st != SF_OK) {
        sf_corpus_free(c);
        return st;
    }
    *out = c;
    return SF_OK;
}

void sf_corpus_free(sf_corpus *c)
{
    if (!c)
        return;
    free(c->ids);
    free(c->off);
    free(c->line);
    free(c);
}

/* ------------------------------------------------------------ accessors */

int64_t sf_corpus_count(const sf_corpus *c) { return c ? c->n : 0; }

const int32_t *sf_corpus_src(const sf_corpus *c, int64_t i, int64_t *len)
{
    assert(c && i >= 0 && i < c->n);
    if (len)
        *len = c->off[2 * i + 1] - c->off[2 * i];
    return c->ids + c->off[2 * i];
}

const int32_t *sf_corpus_tgt(const sf_corpus *c, int64_t i, int64_t *len)
{
    assert(c && i >= 0 && i < c->n);
    if (len)
        *len = c->off[2 * i + 2] - c->off[2 * i + 1];
    return c->ids + c->off[2 * i + 1];
}

int64_t sf_corpus_src_len(const sf_corpus *c, int64_t i)
{
    assert(c && i >= 0 && i < c->n);
    return c->off[2 * i + 1] - c->off[2 * i];
}

int64_t sf_corpus_tgt_len(const sf_corpus *c, int64_t i)
{
    assert(c && i >= 0 && i < c->n);
    return c->off[2 * i + 2] - c->off[2 * i + 1];
}

int64_t sf_corpus_line(const sf_corpus *c, int64_t i)
{
    assert(c && i >= 0 && i < c->n);
    return c->line[i];
}
