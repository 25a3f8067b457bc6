/* svgplot.h: a small line chart as one self-contained SVG file (no libraries):
 * log or linear axes with ticks and grid lines, a polyline with markers per
 * series, a legend and a title. All text is XML-escaped.
 *
 * Usage:
 *   const double x[] = {1, 8, 32}, y[] = {120, 800, 2100};
 *   sf_plot_series s = {"beam 5", 3, x, y};
 *   sf_plot p = {"tokens/s against batch", "batch", "tokens/s", 1, 1};
 *   if (sf_svgplot_write("chart.svg", &p, &s, 1) != SF_OK)
 *       puts(sf_last_error());
 */
#ifndef SF_TOOLS_SVGPLOT_H
#define SF_TOOLS_SVGPLOT_H

#include <stdint.h>
#include <stdio.h>

#include "seqfuse/status.h"

typedef struct sf_plot_series {
    const char *label;
    int32_t n;
    const double *x, *y; /* [n] */
} sf_plot_series;

typedef struct sf_plot {
    const char *title, *x_label, *y_label;
    int32_t log_x, log_y; /* 1: logarithmic axis */
} sf_plot;

/* Write the chart to path (a temporary file renamed over it). Points that are not
 * finite, or not > 0 on a log axis, are left out. Errors: NULL arguments, n_series
 * outside 1..64 or a series with n < 0 (SF_ERR_INVALID_ARG); file errors (SF_ERR_IO). */
sf_status sf_svgplot_write(const char *path, const sf_plot *p, const sf_plot_series *s,
                           int32_t n_series);

/* Write text to f XML-escaped (& < > " '); control characters are dropped, and so
 * are bytes >= 0x80 unless the whole text is valid UTF-8. */
void sf_svgplot_escape(FILE *f, const char *text);

#endif
