/* tok13a.c: the mteval-v13a tokenizer as sacreBLEU 2.x applies it for BLEU:
 * rstrip, drop "<skipped>", join "-\n", unescape four entities, then four
 * regex rules (each a non-overlapping left-to-right pass), then split on
 * Python whitespace. The rules only look at ASCII, so they run on UTF-8 bytes. */
#include <stdlib.h>
#include <string.h>

#include "core/status_internal.h"
#include "text/score_internal.h"

/* Byte length of line without trailing Python whitespace (str.rstrip()). */
static size_t rstrip_len(const char *line)
{
    size_t i = 0, end = 0;
    while (line[i]) {
        uint32_t cp;
        i += (size_t)sf_utf8_next(line + i, &cp);
        if (!sf_py_isspace(cp))
            end = i;
    }
    return end;
}

/* In place, as Python's str.replace(from, to) with strlen(to) <= strlen(from). */
static size_t replace_shrink(char *s, size_t n, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to), w = 0;
    for (size_t r = 0; r < n;) {
        if (r + fl <= n && memcmp(s + r, from, fl) == 0) {
            memcpy(s + w, to, tl);
            w += tl;
            r += fl;
        } else {
            s[w++] = s[r++];
        }
    }
    s[w] = '\0';
    return w;
}

/* Rule 1 class: [\{-\~\[-\` -\&\(-\+\:-\@\/] (note: no ' - . ,). */
static int in_rule1(unsigned char c)
{
    return (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') ||
           (c >= '(' && c <= '+') || (c >= ':' && c <= '@') || c == '/';
}
static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static int not_digit(unsigned char c) { return !is_digit(c); }
static int is_dot_comma(unsigned char c) { return c == '.' || c == ','; }
static int is_dash(unsigned char c) { return c == '-'; }

typedef int (*byte_pred)(unsigned char c);

/* re.sub of "(A)(B)" by tmpl, where tmpl's '1'/'2' stand for the groups and
 * spaces are literal; output at most 2n + 1 bytes (2 bytes become <= 4). */
static void pair_rule(const char *in, size_t n, byte_pred a, byte_pred b, const char *tmpl,
                      char *out, size_t *on)
{
    size_t w = 0;
    for (size_t i = 0; i < n;) {
        if (i + 1 < n && a((unsigned char)in[i]) && b((unsigned char)in[i + 1])) {
            for (const char *p = tmpl; *p; p++)
                out[w++] = *p == '1' ? in[i] : *p == '2' ? in[i + 1] : *p;
            i += 2;
        } else {
            out[w++] = in[i++];
        }
    }
    out[w] = '\0';
    *on = w;
}

/* Split s on Python whitespace into t->span. */
static sf_status split_py(sf_toks *t, size_t n)
{
    t->n = 0;
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        int l = sf_utf8_next(t->text + i, &cp);
        if (sf_py_isspace(cp)) {
            i += (size_t)l;
            continue;
        }
        size_t start = i;
        while (i < n && (l = sf_utf8_next(t->text + i, &cp), !sf_py_isspace(cp)))
            i += (size_t)l;
        if (t->n == t->cap) {
            int64_t cap = t->cap ? 2 * t->cap : 64;
            int64_t *sp = realloc(t->span, (size_t)cap * 2 * sizeof *sp);
            if (!sp)
                return SF_FAIL(SF_ERR_OOM, "cannot hold %lld tokens", (long long)cap);
            t->span = sp;
            t->cap = cap;
        }
        t->span[2 * t->n] = (int64_t)start;
        t->span[2 * t->n + 1] = (int64_t)i;
        t->n++;
    }
    return SF_OK;
}

sf_status sf_tok13a(const char *line, sf_toks *t)
{
    size_t n = rstrip_len(line);
    /* 1 + n + 1 padded bytes; rule 1 triples, rules 2-4 each at most double. */
    size_t cap = 3 * (n + 2) * 8 + 1;
    char *a = malloc(cap), *b = malloc(cap);
    if (!a || !b) {
        free(a);
        free(b);
        return SF_FAIL(SF_ERR_OOM, "cannot tokenize a line of %zu bytes", n);
    }
    a[0] = ' ';
    memcpy(a + 1, line, n);
    a[n + 1] = '\0';
    size_t m = 1 + replace_shrink(a + 1, n, "<skipped>", "");
    m = 1 + replace_shrink(a + 1, m - 1, "-\n", "");
    m = 1 + replace_shrink(a + 1, m - 1, "\n", " ");
    if (memchr(a + 1, '&', m - 1)) {
        static const char *const ent[4][2] = {
            {"&quot;", "\""}, {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}};
        for (int k = 0; k < 4; k++)
            m = 1 + replace_shrink(a + 1, m - 1, ent[k][0], ent[k][1]);
    }
    a[m++] = ' ';
    size_t w = 0;
    for (size_t i = 0; i < m; i++) { /* rule 1: " \1 " around punctuation and symbols */
        if (in_rule1((unsigned char)a[i])) {
            b[w++] = ' ';
            b[w++] = a[i];
            b[w++] = ' ';
        } else {
            b[w++] = a[i];
        }
    }
    pair_rule(b, w, not_digit, is_dot_comma, "1 2 ", a, &m); /* ., unless after a digit */
    pair_rule(a, m, is_dot_comma, not_digit, " 1 2", b, &w); /* ., unless before a digit */
    pair_rule(b, w, is_digit, is_dash, "1 2 ", a, &m);       /* - after a digit */
    free(b);
    free(t->text);
    t->text = a;
    return split_py(t, m);
}

void sf_toks_free(sf_toks *t)
{
    free(t->text);
    free(t->span);
    memset(t, 0, sizeof *t);
}
