/* svg.h: attention pictures: a [T, S] weight matrix drawn as an SVG heat map,
 * source pieces across the top (rotated), target pieces down the left.
 *
 * Usage:
 *   const char *src[] = {"▁Das", "▁Haus"}, *tgt[] = {"▁The", "▁house", "</s>"};
 *   float w[3 * 2] = {0.9f, 0.1f, 0.2f, 0.8f, 0.5f, 0.5f}; // rows = target tokens
 *   if (sf_attention_svg_write("attn.svg", src, 2, tgt, 3, w) != SF_OK)
 *       puts(sf_last_error());
 */
#ifndef SF_TEXT_SVG_H
#define SF_TEXT_SVG_H

#include <stdint.h>

#include "seqfuse/status.h"

/* The most cells (S * T) one picture may have. */
#define SF_SVG_MAX_CELLS 4000000

/* Write the heat map of weights to path. weights: [T, S] (row t = target piece t);
 * each cell is shaded white (0) to black (1), values clamped to [0, 1]; a cell's
 * tooltip gives its pieces and weight. Labels are XML-escaped, control characters
 * and invalid UTF-8 are dropped or replaced (U+FFFD), labels over 40 characters
 * are shortened with "…". The file is written to a temporary name beside path and
 * renamed over it, so path is never left half-written.
 * Errors: NULL arguments (or a NULL piece), S or T < 1 or S*T over
 * SF_SVG_MAX_CELLS (SF_ERR_INVALID_ARG); a NaN/Inf weight (SF_ERR_NUMERIC, naming
 * [t, s]); file errors (SF_ERR_IO, naming the path). */
sf_status sf_attention_svg_write(const char *path, const char *const *src_pieces, int32_t S,
                                 const char *const *tgt_pieces, int32_t T, const float *weights);

#endif
