/* bleu.c: corpus BLEU as sacreBLEU 2.6.0's corpus_bleu defaults: 13a tokens,
 * clipped 1-4-gram counts (max over references), closest reference length
 * (ties to the shorter), brevity penalty, 'exp' smoothing, no effective order. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status_internal.h"
#include "text/score_internal.h"

#define BLEU_ORDER 4

typedef struct tok_ref {
    const char *p;
    int64_t len;
    int64_t slot; /* index into the id array */
} tok_ref;

/* Per-line scratch, reused across lines. */
typedef struct bleu_work {
    int32_t n_refs;
    sf_toks *toks; /* [1 + n_refs]: hypothesis, then each reference */
    int64_t *lens; /* [n_refs] reference lengths of the current line */
    tok_ref *refs_;
    int64_t cap_refs;
    sf_u32s ids;
    sf_ngrams hyp, ref, merged, tmp;
} bleu_work;

static int tok_cmp(const void *pa, const void *pb)
{
    const tok_ref *a = pa, *b = pb;
    int64_t m = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->p, b->p, (size_t)m);
    if (c)
        return c;
    return a->len < b->len ? -1 : a->len > b->len ? 1 : 0;
}

/* Give equal tokens of the hypothesis and references equal ids; ids are laid
 * out per stream in order (hypothesis first). */
static sf_status intern_tokens(bleu_work *w)
{
    int64_t total = 0;
    for (int32_t k = 0; k <= w->n_refs; k++)
        total += w->toks[k].n;
    if (total > w->cap_refs) {
        tok_ref *r = realloc(w->refs_, (size_t)total * sizeof *r);
        if (!r)
            return SF_FAIL(SF_ERR_OOM, "cannot hold %lld tokens", (long long)total);
        w->refs_ = r;
        w->cap_refs = total;
    }
    w->ids.n = 0;
    for (int32_t k = 0; k <= w->n_refs; k++) {
        const sf_toks *t = &w->toks[k];
        for (int64_t i = 0; i < t->n; i++) {
            tok_ref *r = &w->refs_[w->ids.n];
            r->p = t->text + t->span[2 * i];
            r->len = t->span[2 * i + 1] - t->span[2 * i];
            r->slot = w->ids.n;
            SF_TRY(sf_u32s_push(&w->ids, 0));
        }
    }
    if (total > 1)
        qsort(w->refs_, (size_t)total, sizeof *w->refs_, tok_cmp);
    uint32_t id = 0;
    for (int64_t i = 0; i < total; i++) {
        if (i > 0 && tok_cmp(&w->refs_[i - 1], &w->refs_[i]) != 0)
            id++;
        w->ids.v[w->refs_[i].slot] = id;
    }
    return SF_OK;
}

static int64_t closest_ref_len(int64_t hyp_len, const int64_t *lens, int32_t n)
{
    int64_t best_diff = -1, best = -1;
    for (int32_t k = 0; k < n; k++) {
        int64_t d = llabs(hyp_len - lens[k]);
        if (best_diff < 0 || d < best_diff || (d == best_diff && lens[k] < best)) {
            best_diff = d;
            best = lens[k];
        }
    }
    return best;
}

/* Add line i's statistics to stats (hyp_len, ref_len, correct[4], total[4]). */
static sf_status bleu_line(bleu_work *w, const sf_text *hyp, const sf_text *refs, int64_t i,
                           int64_t stats[2 + 2 * BLEU_ORDER])
{
    SF_TRY(sf_tok13a(hyp->lines[i], &w->toks[0]));
    for (int32_t k = 0; k < w->n_refs; k++)
        SF_TRY(sf_tok13a(refs[k].lines[i], &w->toks[1 + k]));
    SF_TRY(intern_tokens(w));
    int64_t off = w->toks[0].n;
    for (int32_t k = 0; k < w->n_refs; k++) {
        int64_t len = w->toks[1 + k].n;
        w->lens[k] = len;
        SF_TRY(sf_ngrams_count(w->ids.v + off, len, BLEU_ORDER, k == 0 ? &w->merged : &w->ref));
        if (k > 0) {
            SF_TRY(sf_ngrams_max_merge(&w->merged, &w->ref, &w->tmp));
            sf_ngrams swap = w->merged;
            w->merged = w->tmp;
            w->tmp = swap;
        }
        off += len;
    }
    int64_t hyp_len = w->toks[0].n, match[SF_NGRAM_MAX];
    SF_TRY(sf_ngrams_count(w->ids.v, hyp_len, BLEU_ORDER, &w->hyp));
    sf_ngrams_match(&w->hyp, &w->merged, match);
    stats[0] += hyp_len;
    stats[1] += closest_ref_len(hyp_len, w->lens, w->n_refs);
    for (int n = 0; n < BLEU_ORDER; n++) {
        stats[2 + n] += match[n];
        stats[2 + BLEU_ORDER + n] += w->hyp.total[n];
    }
    return SF_OK;
}

static double my_log(double x) { return x == 0.0 ? -9999999999.0 : log(x); }

/* sacreBLEU's BLEU.compute_bleu with smooth_method 'exp', effective_order off. */
static void bleu_compute(const int64_t stats[2 + 2 * BLEU_ORDER], sf_bleu *out)
{
    int64_t sys_len = stats[0], ref_len = stats[1];
    out->hyp_len = sys_len;
    out->ref_len = ref_len;
    out->bp = 1.0;
    if (sys_len < ref_len)
        out->bp = sys_len > 0 ? exp(1.0 - (double)ref_len / (double)sys_len) : 0.0;
    out->ratio = ref_len ? (double)sys_len / (double)ref_len : 0.0;
    int any = 0;
    for (int n = 0; n < BLEU_ORDER; n++) {
        out->counts[n] = stats[2 + n];
        out->totals[n] = stats[2 + BLEU_ORDER + n];
        out->precisions[n] = 0.0;
        any |= out->counts[n] != 0;
    }
    out->score = 0.0;
    if (!any)
        return;
    double smooth = 1.0, sum = 0.0;
    for (int n = 0; n < BLEU_ORDER; n++) {
        if (out->totals[n] == 0)
            break;
        if (out->counts[n] == 0) {
            smooth *= 2;
            out->precisions[n] = 100.0 / (smooth * (double)out->totals[n]);
        } else {
            out->precisions[n] = 100.0 * (double)out->counts[n] / (double)out->totals[n];
        }
    }
    for (int n = 0; n < BLEU_ORDER; n++)
        sum += my_log(out->precisions[n]);
    out->score = out->bp * exp(sum / BLEU_ORDER);
}

static void bleu_work_free(bleu_work *w)
{
    if (w->toks)
        for (int32_t k = 0; k <= w->n_refs; k++)
            sf_toks_free(&w->toks[k]);
    free(w->toks);
    free(w->lens);
    free(w->refs_);
    sf_u32s_free(&w->ids);
    sf_ngrams_free(&w->hyp);
    sf_ngrams_free(&w->ref);
    sf_ngrams_free(&w->merged);
    sf_ngrams_free(&w->tmp);
}

sf_status sf_bleu_corpus(const sf_text *hyp, const sf_text *refs, int32_t n_refs, sf_bleu *out)
{
    if (!out)
        return SF_FAIL(SF_ERR_INVALID_ARG, "out is NULL");
    memset(out, 0, sizeof *out);
    SF_TRY(sf_score_check(hyp, refs, n_refs));
    bleu_work w = {.n_refs = n_refs};
    w.toks = calloc((size_t)n_refs + 1, sizeof *w.toks);
    w.lens = calloc((size_t)n_refs, sizeof *w.lens);
    sf_status st = w.toks && w.lens ? SF_OK : SF_FAIL(SF_ERR_OOM, "cannot allocate token buffers");
    int64_t stats[2 + 2 * BLEU_ORDER] = {0};
    for (int64_t i = 0; st == SF_OK && i < hyp->n; i++)
        st = bleu_line(&w, hyp, refs, i, stats);
    bleu_work_free(&w);
    if (st != SF_OK)
        return st;
    bleu_compute(stats, out);
    sf_score_signature(out->signature, sizeof out->signature, n_refs,
                       "case:mixed|eff:no|tok:13a|smooth:exp");
    snprintf(out->text, sizeof out->text,
             "BLEU = %.2f %.1f/%.1f/%.1f/%.1f (BP = %.3f ratio = %.3f hyp_len = %lld "
             "ref_len = %lld)",
             out->score, out->precisions[0], out->precisions[1], out->precisions[2],
             out->precisions[3], out->bp, out->ratio, (long long)out->hyp_len,
             (long long)out->ref_len);
    return SF_OK;
}
