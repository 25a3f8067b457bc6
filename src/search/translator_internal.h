/* translator_internal.h: one input line on its way through the translator. */
#ifndef SF_SEARCH_TRANSLATOR_INTERNAL_H
#define SF_SEARCH_TRANSLATOR_INTERNAL_H

#include "search/translator.h"

typedef struct sf_tr_item {
    int64_t line;       /* 1-based input line number */
    int32_t *ids;       /* source ids (malloc'd), NULL for empty or bad lines */
    int32_t n;          /* source length */
    char *out;          /* the finished output text (one or more lines, with '\n') */
} sf_tr_item;

/* Output for a translated line from its hypotheses (best first). */
sf_status sf_tr_format(sf_translator *t, const sf_translate_opts *o, sf_tr_item *it,
                       const sf_hyp *hyps, int32_t n_hyps);
/* Output for an empty or bad line. */
sf_status sf_tr_format_empty(const sf_translate_opts *o, sf_tr_item *it);

#endif
