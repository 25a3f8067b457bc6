/* score_util.c: input checks, signatures and growable arrays shared by the
 * BLEU and chrF scorers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status_internal.h"
#include "core/utf8.h"
#include "text/score_internal.h"

static const char *text_name(const sf_text *t, const char *fallback)
{
    return t->name && *t->name ? t->name : fallback;
}

static sf_status check_lines(const sf_text *t, const char *name)
{
    if (t->n > 0 && !t->lines)
        return SF_FAIL(SF_ERR_INVALID_ARG, "%s: %lld lines but no line array", name,
                       (long long)t->n);
    for (int64_t i = 0; i < t->n; i++) {
        const char *s = t->lines[i];
        if (!s)
            return SF_FAIL(SF_ERR_INVALID_ARG, "%s line %lld: NULL line", name, (long long)i + 1);
        size_t bad = 0;
        if (!sf_utf8_valid(s, strlen(s), &bad))
            return SF_FAIL(SF_ERR_FORMAT,
                           "%s line %lld: invalid UTF-8 at byte %zu (byte 0x%02x); "
                           "convert the file to UTF-8 (e.g. iconv)",
                           name, (long long)i + 1, bad, (unsigned)(unsigned char)s[bad]);
    }
    return SF_OK;
}

sf_status sf_score_check(const sf_text *hyp, const sf_text *refs, int32_t n_refs)
{
    if (!hyp || !refs)
        return SF_FAIL(SF_ERR_INVALID_ARG, "hypotheses or references are NULL");
    if (n_refs < 1)
        return SF_FAIL(SF_ERR_INVALID_ARG, "got %d reference streams, expected at least 1",
                       (int)n_refs);
    const char *hname = text_name(hyp, "hypotheses");
    if (hyp->n < 1)
        return SF_FAIL(SF_ERR_INVALID_ARG, "%s has no lines: nothing to score", hname);
    SF_TRY(check_lines(hyp, hname));
    for (int32_t k = 0; k < n_refs; k++) {
        char fallback[32];
        snprintf(fallback, sizeof fallback, "reference %d", (int)k + 1);
        const char *rname = text_name(&refs[k], fallback);
        if (refs[k].n != hyp->n)
            return SF_FAIL(SF_ERR_INVALID_ARG,
                           "%s has %lld lines but %s has %lld: hypotheses and references "
                           "must be line-aligned",
                           hname, (long long)hyp->n, rname, (long long)refs[k].n);
        SF_TRY(check_lines(&refs[k], rname));
    }
    return SF_OK;
}

void sf_score_signature(char *buf, size_t cap, int32_t n_refs, const char *middle)
{
    snprintf(buf, cap, "nrefs:%d|%s|version:%s", (int)n_refs, middle, SF_SACREBLEU_VERSION);
}

sf_status sf_u32s_push(sf_u32s *a, uint32_t x)
{
    if (a->n == a->cap) {
        int64_t cap = a->cap ? 2 * a->cap : 64;
        uint32_t *v = realloc(a->v, (size_t)cap * sizeof *v);
        if (!v)
            return SF_FAIL(SF_ERR_OOM, "cannot grow a buffer to %lld values", (long long)cap);
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = x;
    return SF_OK;
}

void sf_u32s_free(sf_u32s *a)
{
    free(a->v);
    memset(a, 0, sizeof *a);
}
