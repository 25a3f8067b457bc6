/* text_lines.c: reading a whole text file into an sf_text of lines for the
 * scorers (BOM and CRLF handled, NUL bytes refused with their line). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status_internal.h"
#include "text/score.h"

typedef struct text_owned {
    char *buf;
    char **lines;
    char *name;
} text_owned;

/* The whole stream f into a malloc'd, NUL-terminated buffer. */
static sf_status slurp(FILE *f, const char *path, char **out, size_t *n)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        len += fread(buf + len, 1, cap - len - 1, f);
        if (len + 1 < cap)
            break;
        char *grown = realloc(buf, 2 * cap);
        if (!grown)
            free(buf);
        buf = grown;
        cap *= 2;
    }
    if (!buf)
        return SF_FAIL(SF_ERR_OOM, "cannot hold %s in memory (%zu bytes read)", path, len);
    if (ferror(f)) {
        free(buf);
        return SF_FAIL(SF_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    }
    buf[len] = '\0';
    *out = buf;
    *n = len;
    return SF_OK;
}

/* Split buf[0..n) in place at "\n" (dropping a "\r" before it). */
static sf_status split_lines(text_owned *o, size_t n, const char *path, int64_t *count)
{
    char *s = o->buf;
    int64_t lines = 0;
    for (size_t i = 0; i < n; i++)
        lines += s[i] == '\n';
    if (n > 0 && s[n - 1] != '\n')
        lines++; /* a last line without a break */
    o->lines = malloc((size_t)(lines ? lines : 1) * sizeof *o->lines);
    if (!o->lines)
        return SF_FAIL(SF_ERR_OOM, "cannot index %lld lines of %s", (long long)lines, path);
    size_t start = 0;
    for (int64_t k = 0; k < lines; k++) {
        char *nl = memchr(s + start, '\n', n - start);
        size_t end = nl ? (size_t)(nl - s) : n;
        if (memchr(s + start, '\0', end - start))
            return SF_FAIL(SF_ERR_FORMAT, "%s line %lld: contains a NUL byte (is it a text file?)",
                           path, (long long)k + 1);
        s[end] = '\0';
        if (end > start && s[end - 1] == '\r')
            s[end - 1] = '\0';
        o->lines[k] = s + start;
        start = end + 1;
    }
    *count = lines;
    return SF_OK;
}

sf_status sf_text_read(const char *path, sf_text *out)
{
    if (!out)
        return SF_FAIL(SF_ERR_INVALID_ARG, "out is NULL");
    memset(out, 0, sizeof *out);
    if (!path || !*path)
        return SF_FAIL(SF_ERR_INVALID_ARG, "path is NULL or empty");
    text_owned *o = calloc(1, sizeof *o);
    if (!o || !(o->name = strdup(path))) {
        free(o);
        return SF_FAIL(SF_ERR_OOM, "cannot allocate a text for %s", path);
    }
    out->owned_ = o;
    out->name = o->name;
    FILE *f = fopen(path, "rb");
    if (!f) {
        sf_status st = SF_FAIL(SF_ERR_IO, "cannot open %s: %s (check the path)", path,
                               strerror(errno));
        sf_text_free(out);
        return st;
    }
    size_t n = 0;
    sf_status st = slurp(f, path, &o->buf, &n);
    fclose(f);
    if (st == SF_OK && n >= 3 && memcmp(o->buf, "\xef\xbb\xbf", 3) == 0) {
        memmove(o->buf, o->buf + 3, n - 3 + 1); /* drop the UTF-8 BOM */
        n -= 3;
    }
    if (st == SF_OK)
        st = split_lines(o, n, path, &out->n);
    if (st != SF_OK) {
        sf_text_free(out);
        return st;
    }
    out->lines = (const char *const *)o->lines;
    return SF_OK;
}

void sf_text_free(sf_text *t)
{
    if (!t)
        return;
    text_owned *o = t->owned_;
    if (o) {
        free(o->buf);
        free(o->lines);
        free(o->name);
        free(o);
    }
    memset(t, 0, sizeof *t);
}
