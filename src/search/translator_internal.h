/* translator_internal.h: one input line on its way through the translator, and
 * the batch search shared by translation and validation (tests call it too). */
#ifndef SF_SEARCH_TRANSLATOR_INTERNAL_H
#define SF_SEARCH_TRANSLATOR_INTERNAL_H

#include "search/translator.h"

typedef struct sf_tr_item {
    int64_t line;       /* 1-based input line number */
    int32_t *ids;       /* source ids (malloc'd), NULL for empty or bad lines */
    int32_t n;          /* source length */
    char *out;          /* the finished output text (one or more lines, with '\n') */
} sf_tr_item;

/* Pad sequences src[idx[0..k)] (lengths len[idx[i]] >= 1) into one batch, encode
 * it and run the search. topk: 1 the step's candidates are chosen by the backend
 * (sf_infer_topk: only [sentences, 2K] values reach the host), -1 full log-prob
 * rows go to the host and the search chooses, 0 auto (1 on a GPU, -1 on the
 * CPU). Both give the same results. */
sf_status sf_search_batch(sf_s2s *m, const int32_t *const *src, const int32_t *len,
                          const int32_t *idx, int k, const sf_search_opts *so, int topk,
                          sf_search_result *r);

/* Output for a translated line from its hypotheses (best first). */
sf_status sf_tr_format(sf_translator *t, const sf_translate_opts *o, sf_tr_item *it,
                       const sf_hyp *hyps, int32_t n_hyps);
/* Output for an empty or bad line. */
sf_status sf_tr_format_empty(const sf_translate_opts *o, sf_tr_item *it);

#endif
