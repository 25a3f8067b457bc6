/* translator_out.c: what the translator writes for each line: text, scores,
 * Moses-style n-best lists, soft or hard alignments, attention SVGs. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search/translator_internal.h"
#include "text/svg.h"

typedef struct sf_sbuf {
    char *s;
    size_t len, cap;
    int oom;
} sf_sbuf;

static void sf_sb_printf(sf_sbuf *b, const char *fmt, ...)
{
    for (int attempt = 0; attempt < 2 && !b->oom; attempt++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap + (size_t)n + 64) * 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = 1;
            return;
        }
        b->s = s, b->cap = cap;
    }
}

/* The text of a hypothesis: detokenized, or pieces with --no-spm. */
static sf_status sf_hyp_text(sf_translator *t, const sf_translate_opts *o, const sf_hyp *h,
                             sf_sbuf *b)
{
    if (!o->no_spm) {
        char *text = NULL;
        SF_TRY(sf_spm_decode(t->spm_tgt, h->tokens, h->len, &text));
        sf_sb_printf(b, "%s", text);
        free(text);
        return SF_OK;
    }
    for (int32_t i = 0; i < h->len; i++) {
        const char *piece = NULL;
        if (o->no_spm == 2) {
            sf_sb_printf(b, "%s%d", i ? " " : "", h->tokens[i]);
            continue;
        }
        SF_TRY(sf_spm_id_to_piece(t->spm_tgt, h->tokens[i], &piece));
        sf_sb_printf(b, "%s%s", i ? " " : "", piece);
    }
    return SF_OK;
}

/* Soft: one row per target piece (</s> included), weights over source pieces
 * joined by ',', rows by ' '. Hard: "s-t" for each target piece t with its
 * most-attended source piece s. */
static void sf_alignment(const sf_translate_opts *o, const sf_hyp *h, sf_sbuf *b)
{
    const int32_t rows = h->len + h->eos, S = h->src_len;
    sf_sb_printf(b, " |||");
    for (int32_t r = 0; h->attn && r < rows; r++) {
        const float *a = h->attn + (size_t)r * S;
        if (o->alignment == SF_ALIGN_SOFT) {
            sf_sb_printf(b, " ");
            for (int32_t s = 0; s < S; s++)
                sf_sb_printf(b, "%s%.3f", s ? "," : "", a[s]);
        } else {
            int32_t best = 0;
            for (int32_t s = 1; s < S; s++)
                best = a[s] > a[best] ? s : best;
            sf_sb_printf(b, " %d-%d", best, r);
        }
    }
}

static sf_status sf_write_svg(sf_translator *t, const sf_translate_opts *o,
                              const sf_tr_item *it, const sf_hyp *h)
{
    const int32_t rows = h->len + h->eos;
    const char **src = calloc((size_t)it->n + 1, sizeof *src);
    const char **tgt = calloc((size_t)rows + 1, sizeof *tgt);
    sf_status st = src && tgt && h->attn ? SF_OK : SF_FAIL(SF_ERR_OOM, "SVG labels");
    for (int32_t i = 0; st == SF_OK && i < it->n; i++)
        st = sf_spm_id_to_piece(t->spm_src, it->ids[i], &src[i]);
    for (int32_t i = 0; st == SF_OK && i < h->len; i++)
        st = sf_spm_id_to_piece(t->spm_tgt, h->tokens[i], &tgt[i]);
    if (st == SF_OK && h->eos)
        tgt[h->len] = "</s>";
    char path[4096];
    snprintf(path, sizeof path, "%s/%" PRId64 ".svg", o->svg_dir, it->line);
    if (st == SF_OK)
        st = sf_attention_svg_write(path, src, h->src_len, tgt, rows, h->attn);
    free(src);
    free(tgt);
    return st;
}

sf_status sf_tr_format(sf_translator *t, const sf_translate_opts *o, sf_tr_item *it,
                       const sf_hyp *hyps, int32_t n_hyps)
{
    sf_sbuf b = {0};
    const int32_t shown = o->nbest ? n_hyps : (n_hyps > 0 ? 1 : 0);
    for (int32_t k = 0; k < shown; k++) {
        const sf_hyp *h = &hyps[k];
        if (o->nbest)
            sf_sb_printf(&b, "%" PRId64 " ||| ", it->line - 1);
        SF_TRY(sf_hyp_text(t, o, h, &b));
        if (o->nbest)
            sf_sb_printf(&b, " ||| F0= %.6f ||| %.6f", h->logprob, h->score);
        else if (o->scores)
            sf_sb_printf(&b, " ||| %.6f", h->score);
        if (o->alignment != SF_ALIGN_NONE)
            sf_alignment(o, h, &b);
        sf_sb_printf(&b, "\n");
    }
    if (shown == 0)
        return sf_tr_format_empty(o, it);
    if (o->svg_dir)
        SF_TRY(sf_write_svg(t, o, it, &hyps[0]));
    if (b.oom) {
        free(b.s);
        return SF_FAIL(SF_ERR_OOM, "output of line %" PRId64, it->line);
    }
    it->out = b.s;
    return SF_OK;
}

sf_status sf_tr_format_empty(const sf_translate_opts *o, sf_tr_item *it)
{
    sf_sbuf b = {0};
    if (o->nbest)
        sf_sb_printf(&b, "%" PRId64 " |||  ||| F0= 0 ||| 0", it->line - 1);
    else if (o->scores)
        sf_sb_printf(&b, " ||| 0");
    if (o->alignment != SF_ALIGN_NONE)
        sf_sb_printf(&b, " |||");
    sf_sb_printf(&b, "\n");
    if (b.oom) {
        free(b.s);
        return SF_FAIL(SF_ERR_OOM, "output of line %" PRId64, it->line);
    }
    it->out = b.s;
    return SF_OK;
}
