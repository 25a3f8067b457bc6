/* chrf.c: corpus chrF2 as sacreBLEU 2.6.0's CHRF defaults: character 1-6-grams
 * over code points with whitespace removed, no word n-grams, beta 2, per-line
 * best reference by sentence chrF, corpus sums, then effective-order averaging
 * of precision and recall (eps_smoothing off: signature "eff:yes"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status_internal.h"
#include "text/score_internal.h"

#define CHRF_ORDER 6
#define CHRF_BETA 2

/* sacreBLEU's CHRF._compute_f_score with eps_smoothing=False. st: [order][hyp, ref, match]. */
static double chrf_f(const int64_t st[CHRF_ORDER][3])
{
    const double eps = 1e-16, factor = (double)(CHRF_BETA * CHRF_BETA);
    double avg_prec = 0.0, avg_rec = 0.0;
    int eff = 0;
    for (int i = 0; i < CHRF_ORDER; i++) {
        int64_t h = st[i][0], r = st[i][1], m = st[i][2];
        double prec = h > 0 ? (double)m / (double)h : eps;
        double rec = r > 0 ? (double)m / (double)r : eps;
        if (h > 0 && r > 0) {
            avg_prec += prec;
            avg_rec += rec;
            eff++;
        }
    }
    if (eff == 0) {
        avg_prec = avg_rec = 0.0;
    } else {
        avg_prec /= eff;
        avg_rec /= eff;
    }
    if (avg_prec + avg_rec == 0.0)
        return 0.0;
    double score = (1.0 + factor) * avg_prec * avg_rec;
    score /= factor * avg_prec + avg_rec;
    return 100.0 * score;
}

/* Code points of line with Python whitespace dropped (''.join(line.split())). */
static sf_status chars_no_space(const char *line, sf_u32s *out)
{
    out->n = 0;
    for (size_t i = 0; line[i];) {
        uint32_t cp;
        i += (size_t)sf_utf8_next(line + i, &cp);
        if (!sf_py_isspace(cp))
            SF_TRY(sf_u32s_push(out, cp));
    }
    return SF_OK;
}

typedef struct chrf_work {
    sf_u32s cps;
    sf_ngrams hyp, ref;
} chrf_work;

/* Add line i's statistics (of its best reference) to stats. */
static sf_status chrf_line(chrf_work *w, const sf_text *hyp, const sf_text *refs,
                           int32_t n_refs, int64_t i, int64_t stats[CHRF_ORDER][3])
{
    SF_TRY(chars_no_space(hyp->lines[i], &w->cps));
    SF_TRY(sf_ngrams_count(w->cps.v, w->cps.n, CHRF_ORDER, &w->hyp));
    int64_t best[CHRF_ORDER][3] = {{0}}, cur[CHRF_ORDER][3];
    double best_f = -1.0;
    for (int32_t k = 0; k < n_refs; k++) {
        SF_TRY(chars_no_space(refs[k].lines[i], &w->cps));
        SF_TRY(sf_ngrams_count(w->cps.v, w->cps.n, CHRF_ORDER, &w->ref));
        int64_t match[SF_NGRAM_MAX];
        sf_ngrams_match(&w->hyp, &w->ref, match);
        for (int n = 0; n < CHRF_ORDER; n++) {
            /* no reference n-grams of this order: hypothesis n-grams are not counted */
            cur[n][0] = w->ref.total[n] > 0 ? w->hyp.total[n] : 0;
            cur[n][1] = w->ref.total[n];
            cur[n][2] = match[n];
        }
        double f = chrf_f((const int64_t(*)[3])cur);
        if (f > best_f) {
            best_f = f;
            memcpy(best, cur, sizeof best);
        }
    }
    for (int n = 0; n < CHRF_ORDER; n++)
        for (int j = 0; j < 3; j++)
            stats[n][j] += best[n][j];
    return SF_OK;
}

sf_status sf_chrf_corpus(const sf_text *hyp, const sf_text *refs, int32_t n_refs, sf_chrf *out)
{
    if (!out)
        return SF_FAIL(SF_ERR_INVALID_ARG, "out is NULL");
    memset(out, 0, sizeof *out);
    SF_TRY(sf_score_check(hyp, refs, n_refs));
    chrf_work w = {0};
    sf_status st = SF_OK;
    for (int64_t i = 0; st == SF_OK && i < hyp->n; i++)
        st = chrf_line(&w, hyp, refs, n_refs, i, out->stats);
    sf_u32s_free(&w.cps);
    sf_ngrams_free(&w.hyp);
    sf_ngrams_free(&w.ref);
    if (st != SF_OK) {
        memset(out->stats, 0, sizeof out->stats);
        return st;
    }
    out->score = chrf_f((const int64_t(*)[3])out->stats);
    sf_score_signature(out->signature, sizeof out->signature, n_refs,
                       "case:mixed|eff:yes|nc:6|nw:0|space:no");
    snprintf(out->text, sizeof out->text, "chrF%d = %.2f", CHRF_BETA, out->score);
    return SF_OK;
}
