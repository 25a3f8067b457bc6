/* pretrained_io.c: the streaming side of pretrained embeddings: a buffered
 * reader (lines, exact byte counts), word2vec text / GloVe lines, word2vec
 * binary records, and telling the formats apart. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/status_internal.h"
#include "core/utf8.h"
#include "train/pretrained_internal.h"

#define SF_EMB_CHUNK (1u << 20)       /* bytes read at a time */
#define SF_EMB_MAX_LINE (256u << 20)  /* longest text line we hold */
#define SF_EMB_MAX_WORD (1u << 20)    /* longest binary word */
#define SF_EMB_SNIFF (64u << 10)      /* bytes looked at to tell text from binary */

/* ------------------------------------------------------------ reader */

sf_status sf_emb_rd_open(sf_emb_rd *r, const char *path)
{
    memset(r, 0, sizeof *r);
    r->f = fopen(path, "rb");
    if (!r->f)
        return SF_FAIL(SF_ERR_IO, "cannot open %s: %s (check the path and its permissions)", path,
                       strerror(errno));
    r->cap = SF_EMB_CHUNK + 1;
    r->buf = malloc(r->cap);
    if (!r->buf)
        return SF_FAIL(SF_ERR_OOM, "%s: no memory for a %zu-byte read buffer", path, r->cap);
    return SF_OK;
}

void sf_emb_rd_close(sf_emb_rd *r)
{
    if (r->f)
        fclose(r->f);
    free(r->buf);
    memset(r, 0, sizeof *r);
}

/* Make at least `need` unread bytes available (fewer only at the end of file). */
static sf_status sf_emb_rd_fill(sf_emb_rd *r, size_t need, const char *path)
{
    while (r->end - r->beg < need && !r->eof) {
        if (r->beg > 0 && r->cap - r->beg <= need) {
            memmove(r->buf, r->buf + r->beg, r->end - r->beg);
            r->end -= r->beg;
            r->beg = 0;
        }
        if (r->cap - r->beg <= need) {
            size_t cap = 2 * r->cap > need + 1 ? 2 * r->cap : need + 1;
            char *nb = realloc(r->buf, cap);
            if (!nb)
                return SF_FAIL(SF_ERR_OOM, "%s: no memory for a %zu-byte record", path, need);
            r->buf = nb;
            r->cap = cap;
        }
        size_t got = fread(r->buf + r->end, 1, r->cap - 1 - r->end, r->f);
        r->end += got;
        if (got == 0) {
            if (ferror(r->f))
                return SF_FAIL(SF_ERR_IO, "reading %s at byte %lld: %s", path,
                               (long long)(r->off + (int64_t)(r->end - r->beg)), strerror(errno));
            r->eof = 1;
        }
    }
    r->buf[r->end] = '\0';
    return SF_OK;
}

/* Next line, NUL-terminated in place, without "\n" / "\r\n" (and without a UTF-8
 * BOM on line 1); *line = NULL at the end of the file. */
sf_status sf_emb_rd_line(sf_emb_rd *r, const char *path, char **line, size_t *len)
{
    size_t scanned = 0;
    char *nl;
    *line = NULL;
    *len = 0;
    for (;;) {
        nl = memchr(r->buf + r->beg + scanned, '\n', r->end - r->beg - scanned);
        if (nl || r->eof)
            break;
        scanned = r->end - r->beg;
        if (scanned > SF_EMB_MAX_LINE)
            return SF_FAIL(SF_ERR_FORMAT,
                           "%s:%lld: line longer than %u bytes (is this a binary file? pass "
                           "the format explicitly)",
                           path, (long long)r->line + 1, SF_EMB_MAX_LINE);
        SF_TRY(sf_emb_rd_fill(r, scanned + 1, path));
    }
    if (!nl && r->end == r->beg)
        return SF_OK;
    char *s = r->buf + r->beg;
    size_t n = nl ? (size_t)(nl - s) : r->end - r->beg;
    s[n] = '\0';
    r->beg += nl ? n + 1 : n;
    r->off += (int64_t)(nl ? n + 1 : n);
    if (n > 0 && s[n - 1] == '\r')
        n--;
    if (r->line == 0 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
        s += 3;
        n -= 3;
    }
    r->line++;
    *line = s;
    *len = n;
    return SF_OK;
}

/* ------------------------------------------------------------ records */

/* A word made printable for messages: at most 40 bytes, controls as '?'. */
const char *sf_emb_show(char *out, size_t n_out, const char *w, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 4 < n_out && i < 40; i++)
        out[k++] = (unsigned char)w[i] < 0x20 || w[i] == 0x7f ? '?' : w[i];
    if (n > 40 && k + 4 < n_out) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = '\0';
    return out;
}


static int sf_emb_is_space(char ch) { return ch == ' ' || ch == '\t'; }

/* 0: a decimal number; 1: not a number; 2: nan / inf spelled out. */
static int sf_emb_num_kind(const char *s, size_t n)
{
    size_t i = 0, digits = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    const size_t sign = i;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
        digits++;
    if (i < n && s[i] == '.')
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            digits++;
    if (digits == 0) {
        const char *t = s + sign;
        const size_t m = n - sign;
        return (m == 3 && (!strncasecmp(t, "nan", 3) || !strncasecmp(t, "inf", 3))) ||
                       (m == 8 && !strncasecmp(t, "infinity", 8))
                   ? 2
                   : 1;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i == n || s[i] < '0' || s[i] > '9')
            return 1;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    return i == n ? 0 : 1;
}

/* Number of space- or tab-separated fields in s[0..n). */
int64_t sf_emb_fields(const char *s, size_t n)
{
    int64_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += !sf_emb_is_space(s[i]) && (i == 0 || sf_emb_is_space(s[i - 1]));
    return k;
}

/* A value that cannot be used: FILE:LINE: value K of word 'W' WHY: 'TOKEN'. */
static sf_status sf_emb_bad_value(const sf_emb_ctx *c, sf_status st, const char *w, size_t nw,
                                  const char *tok, size_t nt, int32_t k, const char *why)
{
    char word[64], val[64];
    return SF_FAIL(st, "%s:%lld: value %d of word '%s' %s: '%s'", c->path, (long long)c->rd.line,
                   k + 1, sf_emb_show(word, sizeof word, w, nw), why,
                   sf_emb_show(val, sizeof val, tok, nt));
}

static sf_status sf_emb_bad_count(const sf_emb_ctx *c, const char *w, size_t nw, int64_t values)
{
    char word[64];
    return SF_FAIL(SF_ERR_FORMAT, "%s:%lld: word '%s' has %lld values, expected %d", c->path,
                   (long long)c->rd.line, sf_emb_show(word, sizeof word, w, nw),
                   (long long)values, c->E);
}

/* Values of a text record s[b..n) (word s[a..b)) into c->vec (when use). */
static sf_status sf_emb_text_values(sf_emb_ctx *c, const char *s, size_t a, size_t b, size_t n,
                                    int use)
{
    int32_t k = 0;
    for (size_t i = b, j;; i = j, k++) {
        while (sf_emb_is_space(s[i]))
            i++;
        if (i >= n)
            break;
        if (k == c->E)
            return sf_emb_bad_count(c, s + a, b - a, k + sf_emb_fields(s + i, n - i));
        for (j = i; j < n && !sf_emb_is_space(s[j]); j++)
            ;
        int kind = sf_emb_num_kind(s + i, j - i);
        if (kind != 0)
            return sf_emb_bad_value(c, kind == 1 ? SF_ERR_FORMAT : SF_ERR_NUMERIC, s + a, b - a,
                                    s + i, j - i, k,
                                    kind == 1 ? "is not a number" : "is not finite");
        if (use) {
            char *e = NULL;
            float v = strtof(s + i, &e);
            if (e != s + j)
                return sf_emb_bad_value(c, SF_ERR_FORMAT, s + a, b - a, s + i, j - i, k,
                                        "does not parse (is LC_NUMERIC a locale without '.'?)");
            if (!isfinite(v))
                return sf_emb_bad_value(c, SF_ERR_NUMERIC, s + a, b - a, s + i, j - i, k,
                                        "overflows float");
            c->vec[k] = v;
        }
    }
    return k == c->E ? SF_OK : sf_emb_bad_count(c, s + a, b - a, k);
}

/* One "word v1 ... vD" line (s NUL-terminated at n, not blank). */
static sf_status sf_emb_text_record(sf_emb_ctx *c, const char *s, size_t n)
{
    size_t a = 0, b;
    while (sf_emb_is_space(s[a]))
        a++;
    for (b = a; b < n && !sf_emb_is_space(s[b]); b++)
        ;
    int32_t ids[2];
    int use;
    sf_emb_begin_record(c, s + a, b - a, c->rd.line, ids, &use);
    SF_TRY(sf_emb_text_values(c, s, a, b, n, use));
    return use ? sf_emb_end_record(c, ids) : SF_OK;
}

int sf_emb_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!sf_emb_is_space(s[i]))
            return 0;
    return 1;
}

/* Text records to the end; `first` (GloVe's line already read) goes first. */
sf_status sf_emb_read_text(sf_emb_ctx *c, char *first, size_t n_first)
{
    int64_t blank = 0;
    for (;;) {
        char *s = first;
        size_t n = n_first;
        if (!first)
            SF_TRY(sf_emb_rd_line(&c->rd, c->path, &s, &n));
        first = NULL;
        if (!s)
            break;
        if (sf_emb_blank(s, n)) {
            blank = blank ? blank : c->rd.line;
            continue;
        }
        if (blank)
            return SF_FAIL(SF_ERR_FORMAT, "%s:%lld: blank line among the vectors (only "
                           "trailing blank lines are allowed)", c->path, (long long)blank);
        if (c->header_n >= 0 && c->rep.vectors_read == c->header_n)
            return SF_FAIL(SF_ERR_FORMAT, "%s:%lld: more vectors than the %lld the header "
                           "promises (fix the count in the header)",
                           c->path, (long long)c->rd.line, (long long)c->header_n);
        SF_TRY(sf_emb_text_record(c, s, n));
    }
    if (c->header_n >= 0 && c->rep.vectors_read < c->header_n)
        return SF_FAIL(SF_ERR_FORMAT, "%s:%lld: the header promises %lld vectors but the file "
                       "ends after %lld (truncated download?)", c->path, (long long)c->rd.line,
                       (long long)c->header_n, (long long)c->rep.vectors_read);
    return SF_OK;
}

/* ------------------------------------------------------------ binary */

/* Skips newlines; *nw = length of the next word (its ' ' follows), -1 at the end. */
static sf_status sf_emb_bin_word(sf_emb_ctx *c, int64_t *nw)
{
    sf_emb_rd *r = &c->rd;
    *nw = -1;
    for (;;) {
        SF_TRY(sf_emb_rd_fill(r, 1, c->path));
        if (r->beg == r->end)
            return SF_OK;
        if (r->buf[r->beg] != '\n')
            break;
        r->beg++;
        r->off++;
    }
    if (c->rep.vectors_read == c->header_n)
        return SF_FAIL(SF_ERR_FORMAT, "%s: byte %lld: data after the %lld vectors the header "
                       "promises (only newlines may follow; fix the count in the header)",
                       c->path, (long long)r->off, (long long)c->header_n);
    size_t scanned = 0;
    for (;;) {
        char *sp = memchr(r->buf + r->beg + scanned, ' ', r->end - r->beg - scanned);
        if (sp) {
            *nw = sp - (r->buf + r->beg);
            return SF_OK;
        }
        scanned = r->end - r->beg;
        if (r->eof || scanned > SF_EMB_MAX_WORD)
            return SF_FAIL(SF_ERR_FORMAT, "%s: byte %lld: record %lld is truncated: its word "
                           "has no ' ' after it within %zu bytes", c->path, (long long)r->off,
                           (long long)c->rep.vectors_read + 1, scanned);
        SF_TRY(sf_emb_rd_fill(r, scanned + 1, c->path));
    }
}

/* One binary record; *done = 1 at the end of the file. */
static sf_status sf_emb_bin_record(sf_emb_ctx *c, int *done)
{
    sf_emb_rd *r = &c->rd;
    int64_t nw;
    SF_TRY(sf_emb_bin_word(c, &nw));
    *done = nw < 0;
    if (nw < 0)
        return SF_OK;
    const size_t need = (size_t)nw + 1 + 4 * (size_t)c->E;
    SF_TRY(sf_emb_rd_fill(r, need, c->path));
    const char *w = r->buf + r->beg;
    const unsigned char *p = (const unsigned char *)w + nw + 1;
    char word[64];
    sf_emb_show(word, sizeof word, w, (size_t)nw);
    if (r->end - r->beg < need)
        return SF_FAIL(SF_ERR_FORMAT, "%s: byte %lld: record %lld (word '%s') is truncated: %zu "
                       "of the %zu bytes of its vector", c->path, (long long)r->off,
                       (long long)c->rep.vectors_read + 1, word,
                       r->end - r->beg - (size_t)nw - 1, 4 * (size_t)c->E);
    int32_t ids[2];
    int use;
    sf_emb_begin_record(c, w, (size_t)nw, r->off, ids, &use);
    for (int32_t k = 0; k < c->E; k++, p += 4) {
        uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                     (uint32_t)p[3] << 24;
        memcpy(&c->vec[k], &u, sizeof u);
        if (!isfinite(c->vec[k]))
            return SF_FAIL(SF_ERR_NUMERIC, "%s: byte %lld: value %d of word '%s' is %s "
                           "(vectors must be finite)", c->path,
                           (long long)(r->off + nw + 1 + 4 * (int64_t)k), k + 1, word,
                           isnan(c->vec[k]) ? "NaN" : "infinite");
    }
    r->beg += need;
    r->off += (int64_t)need;
    return use ? sf_emb_end_record(c, ids) : SF_OK;
}

sf_status sf_emb_read_bin(sf_emb_ctx *c)
{
    for (int done = 0; !done;)
        SF_TRY(sf_emb_bin_record(c, &done));
    if (c->rep.vectors_read < c->header_n)
        return SF_FAIL(SF_ERR_FORMAT, "%s: byte %lld: the header promises %lld vectors but the "
                       "file ends after %lld (truncated download?)", c->path,
                       (long long)c->rd.off, (long long)c->header_n,
                       (long long)c->rep.vectors_read);
    return SF_OK;
}

/* ------------------------------------------------------------ detection */

/* 1 when s[0..n) is "N D" with N >= 0, D >= 1 (decimal digits only). */
int sf_emb_header(const char *s, size_t n, int64_t *N, int64_t *D)
{
    int64_t v[2] = {0, 0};
    size_t i = 0;
    for (int k = 0; k < 2; k++) {
        while (i < n && sf_emb_is_space(s[i]))
            i++;
        size_t start = i;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            if (i - start < 18)
                v[k] = 10 * v[k] + (s[i] - '0');
            else
                return 0;
        if (i == start || (i < n && !sf_emb_is_space(s[i])))
            return 0;
    }
    while (i < n && sf_emb_is_space(s[i]))
        i++;
    *N = v[0];
    *D = v[1];
    return i == n && v[1] >= 1;
}

/* After a header: 1 when the first record reads as text, 0 when binary. */
sf_status sf_emb_sniff_text(sf_emb_ctx *c, int *text)
{
    sf_emb_rd *r = &c->rd;
    SF_TRY(sf_emb_rd_fill(r, SF_EMB_SNIFF + 32 * (size_t)c->E, c->path));
    const char *s = r->buf + r->beg, *end = r->buf + r->end;
    while (s < end && (*s == '\n' || *s == '\r' || sf_emb_is_space(*s)))
        s++; /* blank lines: reading text reports them where they are */
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    const char *stop = nl ? nl : end;
    const char *rest = s;
    while (rest < stop && *rest != ' ' && *rest != '\t')
        rest++;
    size_t n = (size_t)(stop - rest), bad;
    *text = 1;
    if (s == end)
        return SF_OK; /* no records: either reading gives the same error */
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)rest[i] < 0x20 && rest[i] != '\t' && rest[i] != '\r')
            *text = 0;
    if (!sf_utf8_valid(rest, n, &bad))
        *text = 0;
    int64_t want = c->E / 2 > 1 ? c->E / 2 : 1;
    if (sf_emb_fields(rest, n) < want)
        *text = 0;
    return SF_OK;
}
