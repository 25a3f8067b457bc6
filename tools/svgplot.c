/* svgplot.c: line charts as SVG: axis ranges and ticks (log decades with 2 and 5
 * between them over short ranges, or 1-2-5 linear steps), frame, grid, series,
 * legend, title; written through an atomic output file. */
#include "svgplot.h"

#include <math.h>
#include <string.h>

#include "cli.h"
#include "core/utf8.h"

#define PLOT_W 800.0
#define PLOT_LEFT 80.0   /* px left of the plot area (y tick labels, y label) */
#define PLOT_RIGHT 210.0 /* px right of it (legend) */
#define PLOT_TOP 50.0    /* px above it (title) */
#define PLOT_BOTTOM 60.0 /* px below it (x tick labels, x label) */
#define PLOT_MAX_TICKS 64

typedef struct plot_axis {
    double lo, hi;
    int log;
} plot_axis;

static int plot_ok(const plot_axis *a, double v)
{
    return isfinite(v) && (!a->log || v > 0.0);
}

/* Position of v in [0, 1] along the axis. */
static double plot_frac(const plot_axis *a, double v)
{
    if (a->log)
        return (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo));
    return (v - a->lo) / (a->hi - a->lo);
}

/* Linear tick step: 1, 2 or 5 times a power of ten, about span / 5. */
static double plot_step(double span)
{
    const double raw = span / 5.0, mag = pow(10.0, floor(log10(raw))), r = raw / mag;
    return (r <= 1.0 ? 1.0 : r <= 2.0 ? 2.0 : r <= 5.0 ? 5.0 : 10.0) * mag;
}

/* Fit an axis to [lo, hi] (lo > hi: no data), widened to whole decades (log) or
 * whole steps (linear). */
static void plot_fit(plot_axis *a, double lo, double hi)
{
    if (lo > hi)
        lo = 1.0, hi = 10.0; /* no data: an empty frame */
    if (a->log) {
        a->lo = pow(10.0, floor(log10(lo)));
        a->hi = pow(10.0, ceil(log10(hi)));
        a->hi = a->hi > a->lo ? a->hi : a->lo * 10.0;
        return;
    }
    if (hi - lo < 1e-12 * (fabs(lo) + 1.0))
        lo -= 1.0, hi += 1.0;
    const double step = plot_step(hi - lo);
    a->lo = floor(lo / step) * step, a->hi = ceil(hi / step) * step;
}

/* Both axis ranges over the points that both axes can show. */
static void plot_ranges(plot_axis *ax, plot_axis *ay, const sf_plot_series *s, int32_t ns)
{
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (int32_t i = 0; i < ns; i++)
        for (int32_t k = 0; k < s[i].n; k++) {
            const double x = s[i].x[k], y = s[i].y[k];
            if (!plot_ok(ax, x) || !plot_ok(ay, y))
                continue;
            xlo = x < xlo ? x : xlo, xhi = x > xhi ? x : xhi;
            ylo = y < ylo ? y : ylo, yhi = y > yhi ? y : yhi;
        }
    plot_fit(ax, xlo, xhi);
    plot_fit(ay, ylo, yhi);
}

/* Tick values into t[PLOT_MAX_TICKS]; returns how many. */
static int plot_ticks(const plot_axis *a, double *t)
{
    int n = 0;
    if (a->log) {
        const int short_range = a->hi / a->lo <= 1000.5;
        for (double d = a->lo; d <= a->hi * 1.0001 && n + 3 <= PLOT_MAX_TICKS; d *= 10.0) {
            t[n++] = d;
            for (int m = 2; short_range && m <= 5; m += 3)
                if (m * d < a->hi)
                    t[n++] = m * d;
        }
        return n;
    }
    const double step = plot_step(a->hi - a->lo);
    for (int k = 0; n < PLOT_MAX_TICKS && a->lo + k * step <= a->hi + 1e-9 * step; k++)
        t[n++] = a->lo + k * step;
    return n;
}

/* "500", "2k", "1.5M" */
static void plot_num(double v, char *buf, size_t n)
{
    const double a = fabs(v);
    if (a >= 1e9)
        snprintf(buf, n, "%gG", v / 1e9);
    else if (a >= 1e6)
        snprintf(buf, n, "%gM", v / 1e6);
    else if (a >= 1e3)
        snprintf(buf, n, "%gk", v / 1e3);
    else
        snprintf(buf, n, "%g", fabs(v) < 1e-12 ? 0.0 : v);
}

void sf_svgplot_escape(FILE *f, const char *text)
{
    size_t bad = 0;
    const int utf8 = sf_utf8_valid(text, strlen(text), &bad);
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        switch (*p) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default:
            if (*p >= 0x20 && *p != 0x7f && (*p < 0x80 || utf8))
                fputc(*p, f);
        }
    }
}

/* A text element: x, y, anchor, extra attributes, escaped content. */
static void plot_text(FILE *f, double x, double y, const char *anchor, const char *attrs,
                      const char *text)
{
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"%s>", x, y, anchor, attrs);
    sf_svgplot_escape(f, text);
    fputs("</text>\n", f);
}

/* Frame, grid lines, tick labels and axis labels. */
static void plot_axes(FILE *f, const sf_plot *p, const plot_axis *ax, const plot_axis *ay,
                      double pw, double ph)
{
    const double x0 = PLOT_LEFT, y0 = PLOT_TOP;
    double t[PLOT_MAX_TICKS];
    char num[64];
    int n = plot_ticks(ax, t);
    for (int i = 0; i < n; i++) {
        const double x = x0 + pw * plot_frac(ax, t[i]);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
                x, y0, x, y0 + ph);
        plot_num(t[i], num, sizeof num);
        plot_text(f, x, y0 + ph + 18, "middle", "", num);
    }
    n = plot_ticks(ay, t);
    for (int i = 0; i < n; i++) {
        const double y = y0 + ph * (1.0 - plot_frac(ay, t[i]));
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
                x0, y, x0 + pw, y);
        plot_num(t[i], num, sizeof num);
        plot_text(f, x0 - 6, y + 4, "end", "", num);
    }
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
            "stroke=\"#333\"/>\n", x0, y0, pw, ph);
    plot_text(f, x0 + pw / 2, y0 + ph + 42, "middle", "", p->x_label ? p->x_label : "");
    char rot[96];
    snprintf(rot, sizeof rot, " transform=\"rotate(-90 %.1f %.1f)\"", 22.0, y0 + ph / 2);
    plot_text(f, 22.0, y0 + ph / 2, "middle", rot, p->y_label ? p->y_label : "");
}

/* One series: polyline and markers (with a tooltip each), and its legend entry. */
static void plot_series(FILE *f, const sf_plot_series *s, int i, const plot_axis *ax,
                        const plot_axis *ay, double pw, double ph)
{
    static const char *const colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                         "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                                         "#bcbd22", "#17becf"};
    const char *col = colors[i % 10];
    const char *label = s->label ? s->label : "";
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", col);
    for (int32_t k = 0; k < s->n; k++)
        if (plot_ok(ax, s->x[k]) && plot_ok(ay, s->y[k]))
            fprintf(f, "%.1f,%.1f ", PLOT_LEFT + pw * plot_frac(ax, s->x[k]),
                    PLOT_TOP + ph * (1.0 - plot_frac(ay, s->y[k])));
    fputs("\"/>\n", f);
    for (int32_t k = 0; k < s->n; k++) {
        if (!plot_ok(ax, s->x[k]) || !plot_ok(ay, s->y[k]))
            continue;
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"><title>",
                PLOT_LEFT + pw * plot_frac(ax, s->x[k]),
                PLOT_TOP + ph * (1.0 - plot_frac(ay, s->y[k])), col);
        sf_svgplot_escape(f, label);
        fprintf(f, ": %g, %g</title></circle>\n", s->x[k], s->y[k]);
    }
    const double lx = PLOT_LEFT + pw + 16, ly = PLOT_TOP + 10 + 20.0 * i;
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
            "stroke-width=\"2\"/>\n<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"/>\n",
            lx, ly, lx + 24, ly, col, lx + 12, ly, col);
    plot_text(f, lx + 30, ly + 4, "start", "", label);
}

sf_status sf_svgplot_write(const char *path, const sf_plot *p, const sf_plot_series *s,
                           int32_t n_series)
{
    if (!path || !p || !s || n_series < 1 || n_series > 64)
        return SF_FAIL(SF_ERR_INVALID_ARG, "expected a path, a plot and 1..64 series (got %d)",
                       (int)n_series);
    for (int32_t i = 0; i < n_series; i++)
        if (s[i].n < 0 || (s[i].n > 0 && (!s[i].x || !s[i].y)))
            return SF_FAIL(SF_ERR_INVALID_ARG, "series %d: n %d without x and y", (int)i,
                           (int)s[i].n);
    plot_axis ax = {0, 0, p->log_x != 0}, ay = {0, 0, p->log_y != 0};
    plot_ranges(&ax, &ay, s, n_series);
    const double legend_h = PLOT_TOP + 20.0 * n_series + 20.0;
    const double height = legend_h > 500.0 ? legend_h : 500.0;
    const double pw = PLOT_W - PLOT_LEFT - PLOT_RIGHT, ph = height - PLOT_TOP - PLOT_BOTTOM;
    sf_atomic_out out;
    SF_TRY(sf_atomic_out_open(&out, path));
    FILE *f = out.f;
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/"
            "svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
            "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" "
            "height=\"100%%\" fill=\"white\"/>\n", PLOT_W, height, PLOT_W, height);
    plot_text(f, PLOT_W / 2, 26, "middle", " font-size=\"15\" font-weight=\"bold\"",
              p->title ? p->title : "");
    plot_axes(f, p, &ax, &ay, pw, ph);
    for (int32_t i = 0; i < n_series; i++)
        plot_series(f, &s[i], i, &ax, &ay, pw, ph);
    fputs("</svg>\n", f);
    sf_status st = ferror(f) ? sf_error(SF_ERR_IO, "writing %s failed", path) : SF_OK;
    return sf_atomic_out_close(&out, st);
}
