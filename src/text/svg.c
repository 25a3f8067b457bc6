/* svg.c: the attention heat map as SVG: the document is built in memory
 * (labels sanitized and XML-escaped), then written to a temporary file beside
 * the target and renamed over it. */
#include "text/svg.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/status_internal.h"
#include "core/utf8.h"
#include "text/text_utf8.h"

#define SVG_CELL 22.0     /* px per cell */
#define SVG_CHAR_W 7.5    /* px per label character (12 px monospace) */
#define SVG_MAX_LABEL 40  /* characters shown per piece */
#define SVG_TITLE_H 34.0  /* px above the source labels */
#define SVG_TITLE_CHAR_W 8.8 /* px per title character (14 px bold monospace) */
#define SVG_PAD 10.0

/* A growing output buffer; oom is sticky so appends need no checks. */
typedef struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (!b || b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

/* For short, bounded pieces of markup only (at most 511 bytes each). */
static void sb_printf(sbuf *b, const char *fmt, ...) SF_PRINTF(2, 3);
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k >= 0)
        sb_put(b, tmp, (size_t)k < sizeof tmp ? (size_t)k : sizeof tmp - 1);
}

/* Length of the UTF-8 sequence a lead byte announces (0: not a lead byte). */
static size_t lead_len(unsigned char c)
{
    return c < 0x80 ? 1 : c < 0xc2 ? 0 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : c < 0xf5 ? 4 : 0;
}

/* 1 for characters XML 1.0 forbids or that are control codes (C0, DEL, C1, U+FFFE/F). */
static int drop_cp(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0xfffe || cp == 0xffff;
}

/* Append s XML-escaped to b (b may be NULL to only count); returns the number of
 * characters shown. Invalid UTF-8 bytes become U+FFFD; controls are dropped. */
static int32_t put_label(sbuf *b, const char *s)
{
    static const char special[] = "&<>\"'";
    static const char *const esc[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
    int32_t shown = 0;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        size_t len = lead_len((unsigned char)s[i]);
        if (len == 0 || i + len > n || !sf_utf8_valid(s + i, len, NULL)) {
            i++;
            if (shown++ < SVG_MAX_LABEL)
                sb_put(b, "\xef\xbf\xbd", 3);
            continue;
        }
        uint32_t cp;
        sf_utf8_next(s + i, &cp);
        const char *e = cp < 0x80 && cp != 0 ? strchr(special, (int)cp) : NULL;
        if (!drop_cp(cp) && shown++ < SVG_MAX_LABEL) {
            if (e)
                sb_put(b, esc[e - special], strlen(esc[e - special]));
            else
                sb_put(b, s + i, len);
        }
        i += len;
    }
    if (shown > SVG_MAX_LABEL) {
        sb_put(b, "\xe2\x80\xa6", 3); /* … */
        shown = SVG_MAX_LABEL + 1;
    }
    return shown;
}

static int32_t max_label(const char *const *pieces, int32_t n)
{
    int32_t m = 1;
    for (int32_t i = 0; i < n; i++) {
        int32_t k = put_label(NULL, pieces[i]);
        m = k > m ? k : m;
    }
    return m;
}

typedef struct svg_geo {
    double left, top, width, height;
} svg_geo;

static void svg_labels(sbuf *b, const svg_geo *g, const char *const *src, int32_t S,
                       const char *const *tgt, int32_t T)
{
    sb_printf(b, "<g class=\"source\">\n");
    for (int32_t s = 0; s < S; s++) {
        double x = g->left + (s + 0.5) * SVG_CELL + 4.0;
        sb_printf(b, "<text transform=\"translate(%.1f,%.1f) rotate(-90)\">", x, g->top - 6.0);
        put_label(b, src[s]);
        sb_printf(b, "</text>\n");
    }
    sb_printf(b, "</g>\n<g class=\"target\" text-anchor=\"end\">\n");
    for (int32_t t = 0; t < T; t++) {
        double y = g->top + (t + 0.5) * SVG_CELL + 4.0;
        sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\">", g->left - 6.0, y);
        put_label(b, tgt[t]);
        sb_printf(b, "</text>\n");
    }
    sb_printf(b, "</g>\n");
}

static void svg_cells(sbuf *b, const svg_geo *g, const char *const *src, int32_t S,
                      const char *const *tgt, int32_t T, const float *w)
{
    sb_printf(b, "<g class=\"cells\" stroke=\"#dddddd\" stroke-width=\"0.5\">\n");
    for (int32_t t = 0; t < T; t++) {
        for (int32_t s = 0; s < S; s++) {
            float v = w[(int64_t)t * S + s];
            v = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
            int shade = (int)lrintf(255.0f * (1.0f - v));
            sb_printf(b,
                      "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                      "fill=\"rgb(%d,%d,%d)\"><title>",
                      g->left + s * SVG_CELL, g->top + t * SVG_CELL, SVG_CELL, SVG_CELL, shade,
                      shade, shade);
            put_label(b, tgt[t]);
            sb_printf(b, " | ");
            put_label(b, src[s]);
            sb_printf(b, ": %.4f</title></rect>\n", (double)w[(int64_t)t * S + s]);
        }
    }
    sb_printf(b, "</g>\n");
}

static void svg_build(sbuf *b, const char *const *src, int32_t S, const char *const *tgt,
                      int32_t T, const float *w)
{
    svg_geo g;
    g.left = SVG_PAD + max_label(tgt, T) * SVG_CHAR_W + 8.0;
    g.top = SVG_TITLE_H + max_label(src, S) * SVG_CHAR_W + 8.0;
    g.width = g.left + S * SVG_CELL + SVG_PAD;
    g.height = g.top + T * SVG_CELL + SVG_PAD;
    char title[96];
    int tl = snprintf(title, sizeof title, "Attention (%d target x %d source pieces)", (int)T,
                      (int)S);
    double min_w = 2 * SVG_PAD + tl * SVG_TITLE_CHAR_W; /* room for the title */
    g.width = g.width < min_w ? min_w : g.width;
    sb_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    sb_printf(b,
              "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
              "viewBox=\"0 0 %.0f %.0f\" font-family=\"monospace\" font-size=\"12\">\n",
              ceil(g.width), ceil(g.height), ceil(g.width), ceil(g.height));
    sb_printf(b, "<title>Attention: %d target x %d source pieces</title>\n", (int)T, (int)S);
    sb_printf(b, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    sb_printf(b, "<text x=\"%.1f\" y=\"20\" font-size=\"14\" font-weight=\"bold\">%s</text>\n",
              SVG_PAD, title);
    svg_labels(b, &g, src, S, tgt, T);
    svg_cells(b, &g, src, S, tgt, T, w);
    sb_printf(b, "</svg>\n");
}

/* data[0..n) to path through path.tmp.XXXXXX and rename; no partial path on error. */
static sf_status svg_save(const char *path, const char *data, size_t n)
{
    size_t tl = strlen(path) + sizeof ".tmp.XXXXXX";
    char *tmp = malloc(tl);
    if (!tmp)
        return SF_FAIL(SF_ERR_OOM, "cannot allocate a temporary name for %s", path);
    snprintf(tmp, tl, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        sf_status st = SF_FAIL(SF_ERR_IO, "cannot create a temporary file to write %s: %s "
                               "(does its folder exist and is it writable?)",
                               path, strerror(errno));
        free(tmp);
        return st;
    }
    sf_status st = SF_OK;
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        st = SF_FAIL(SF_ERR_IO, "cannot open %s for writing: %s", tmp, strerror(errno));
        close(fd);
    } else {
        if (fchmod(fd, 0644) != 0 || fwrite(data, 1, n, f) != n || fflush(f) != 0)
            st = SF_FAIL(SF_ERR_IO, "cannot write %s: %s (is the disk full?)", tmp,
                         strerror(errno));
        if (fclose(f) != 0 && st == SF_OK)
            st = SF_FAIL(SF_ERR_IO, "cannot close %s: %s", tmp, strerror(errno));
    }
    if (st == SF_OK && rename(tmp, path) != 0)
        st = SF_FAIL(SF_ERR_IO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    if (st != SF_OK)
        unlink(tmp);
    free(tmp);
    return st;
}

static sf_status svg_check(const char *path, const char *const *src, int32_t S,
                           const char *const *tgt, int32_t T, const float *w)
{
    if (!path || !*path || !src || !tgt || !w)
        return SF_FAIL(SF_ERR_INVALID_ARG, "path, pieces or weights are NULL (or path is empty)");
    if (S < 1 || T < 1 || (int64_t)S * T > SF_SVG_MAX_CELLS)
        return SF_FAIL(SF_ERR_INVALID_ARG,
                       "%s: got %d source x %d target pieces, expected >= 1 each and at most "
                       "%d cells",
                       path, (int)S, (int)T, SF_SVG_MAX_CELLS);
    for (int32_t s = 0; s < S; s++)
        if (!src[s])
            return SF_FAIL(SF_ERR_INVALID_ARG, "%s: source piece %d is NULL", path, (int)s);
    for (int32_t t = 0; t < T; t++)
        if (!tgt[t])
            return SF_FAIL(SF_ERR_INVALID_ARG, "%s: target piece %d is NULL", path, (int)t);
    for (int64_t i = 0; i < (int64_t)S * T; i++)
        if (!isfinite(w[i]))
            return SF_FAIL(SF_ERR_NUMERIC, "%s: weight [t=%lld, s=%lld] is %s", path,
                           (long long)(i / S), (long long)(i % S), isnan(w[i]) ? "NaN" : "Inf");
    return SF_OK;
}

sf_status sf_attention_svg_write(const char *path, const char *const *src_pieces, int32_t S,
                                 const char *const *tgt_pieces, int32_t T, const float *weights)
{
    SF_TRY(svg_check(path, src_pieces, S, tgt_pieces, T, weights));
    sbuf b = {0};
    svg_build(&b, src_pieces, S, tgt_pieces, T, weights);
    sf_status st = b.oom ? SF_FAIL(SF_ERR_OOM, "cannot build the SVG for %s (%d x %d cells)", path,
                                   (int)T, (int)S)
                         : svg_save(path, b.p, b.n);
    free(b.p);
    return st;
}
