/* translator.c: model loading, and the streaming loop: read a chunk of lines,
 * encode them (reporting bad ones), sort by length, decode in batches with the
 * beam search, and write every line's output in input order. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/utf8.h"
#include "model/model_io.h"
#include "nn/infer.h"
#include "search/translator_internal.h"

void sf_translate_opts_default(sf_translate_opts *o)
{
    memset(o, 0, sizeof *o);
    sf_search_opts_default(&o->search);
    o->max_tokens = 2048;
    o->max_src_len = 250;
    o->chunk_lines = 10000;
}

sf_status sf_model_file_tokenizers(const sf_model_file *f, const char *path, sf_spm **src,
                                   sf_spm **tgt)
{
    *src = *tgt = NULL;
    if (!f->blobs.spm_src || !f->blobs.spm_tgt)
        return sf_error(SF_ERR_FORMAT, "%s has no tokenizers (tokenizer.source/target): it "
                        "cannot translate raw text", path);
    sf_status st = sf_spm_load_bytes(f->blobs.spm_src, f->blobs.spm_src_n, src);
    if (st == SF_OK)
        st = sf_spm_load_bytes(f->blobs.spm_tgt, f->blobs.spm_tgt_n, tgt);
    if (st == SF_OK && (sf_spm_vocab_size(*src) != f->cfg.src_vocab_size ||
                        sf_spm_vocab_size(*tgt) != f->cfg.tgt_vocab_size))
        st = sf_error(SF_ERR_FORMAT, "%s: tokenizer sizes %d/%d do not match the config's "
                      "vocabulary sizes %d/%d (was a tokenizer replaced?)", path,
                      sf_spm_vocab_size(*src), sf_spm_vocab_size(*tgt), f->cfg.src_vocab_size,
                      f->cfg.tgt_vocab_size);
    if (st != SF_OK) {
        sf_spm_free(*src), sf_spm_free(*tgt);
        *src = *tgt = NULL;
        if (!strstr(sf_last_error(), path))
            sf_error_prefix(st, "%s: tokenizer", path);
    }
    return st;
}

sf_status sf_translator_open(const char *model_path, const char *device, sf_translator **out)
{
    *out = NULL;
    sf_translator *t = calloc(1, sizeof *t);
    if (!t)
        return SF_FAIL(SF_ERR_OOM, "translator");
    sf_model_file f;
    sf_status st = sf_model_load(model_path, &f);
    if (st == SF_OK) {
        t->cfg = f.cfg;
        st = sf_model_file_tokenizers(&f, model_path, &t->spm_src, &t->spm_tgt);
    }
    if (st == SF_OK)
        st = sf_backend_open(device, &t->be); /* NULL: auto */
    if (st == SF_OK)
        st = sf_s2s_create(t->be, &t->cfg, 0, &t->m);
    if (st == SF_OK)
        st = t->be->upload(t->be, t->m->params, f.params,
                           sizeof(float) * (size_t)f.layout.total);
    sf_model_file_free(&f);
    if (st != SF_OK) {
        sf_translator_free(t);
        if (!strstr(sf_last_error(), model_path))
            sf_error_prefix(st, "%s", model_path);
        return st;
    }
    *out = t;
    return SF_OK;
}

void sf_translator_free(sf_translator *t)
{
    if (!t)
        return;
    sf_s2s_free(t->m);
    sf_backend_close(t->be);
    sf_spm_free(t->spm_src);
    sf_spm_free(t->spm_tgt);
    free(t);
}

/* Space-separated pieces (mode 1) or ids (mode 2) -> ids. */
static sf_status sf_pieces_to_ids(sf_translator *t, int mode, char *text, int32_t **ids,
                                  int64_t *n)
{
    size_t cap = strlen(text) / 2 + 1;
    *ids = malloc(sizeof(int32_t) * cap);
    *n = 0;
    if (!*ids)
        return SF_FAIL(SF_ERR_OOM, "piece ids");
    for (char *save = NULL, *p = strtok_r(text, " \t", &save); p; p = strtok_r(NULL, " \t", &save)) {
        if (mode == 1) {
            (*ids)[(*n)++] = sf_spm_piece_to_id(t->spm_src, p);
            continue;
        }
        char *end = NULL;
        long v = strtol(p, &end, 10);
        if (*end || end == p || v < 0 || v >= t->cfg.src_vocab_size)
            return sf_error(SF_ERR_INVALID_ARG, "'%s' is not an id in [0, %d)", p,
                            t->cfg.src_vocab_size);
        (*ids)[(*n)++] = (int32_t)v;
    }
    return SF_OK;
}

/* Encode one input line into it->ids; bad lines are reported and left empty. */
static sf_status sf_tr_encode(sf_translator *t, const sf_translate_opts *o, const char *name,
                              char *line, size_t len, sf_tr_item *it, sf_translate_stats *s)
{
    size_t bad = 0;
    if (memchr(line, '\0', len) || !sf_utf8_valid(line, len, &bad)) {
        sf_log_error("%s:%" PRId64 ": %s; writing an empty line", name, it->line,
                     memchr(line, '\0', len) ? "contains a NUL byte" : "invalid UTF-8");
        (void)bad;
        s->bad++;
        return SF_OK;
    }
    int64_t n = 0;
    sf_status st = o->no_spm ? sf_pieces_to_ids(t, o->no_spm, line, &it->ids, &n)
                             : sf_spm_encode(t->spm_src, line, len, &it->ids, &n);
    if (st != SF_OK) {
        sf_log_error("%s:%" PRId64 ": %s; writing an empty line", name, it->line,
                     sf_last_error());
        free(it->ids);
        it->ids = NULL;
        s->bad++;
        return SF_OK;
    }
    const int64_t room = o->max_src_len - (t->cfg.src_append_eos ? 1 : 0);
    if (n > room) {
        sf_log_warn("%s:%" PRId64 ": %" PRId64 " pieces, cut to %" PRId64 " (--max-src-len)",
                    name, it->line, n, room);
        n = room;
        s->truncated++;
    }
    if (n > 0 && t->cfg.src_append_eos) {
        int32_t *grown = realloc(it->ids, sizeof(int32_t) * (size_t)(n + 1));
        if (!grown)
            return SF_FAIL(SF_ERR_OOM, "line %" PRId64, it->line);
        it->ids = grown;
        it->ids[n++] = SF_EOS_ID;
    }
    it->n = (int32_t)n;
    if (n == 0)
        s->empty++;
    return SF_OK;
}

typedef struct sf_tr_decoder {
    sf_infer *inf;
} sf_tr_decoder;

static sf_status sf_tr_step(void *ctx, int32_t rows, const int32_t *sent, const int32_t *prev,
                            float *logprobs, float *attn)
{
    return sf_infer_step(((sf_tr_decoder *)ctx)->inf, rows, sent, prev, logprobs, attn);
}

static sf_status sf_tr_reorder(void *ctx, int32_t rows, const int32_t *from)
{
    return sf_infer_reorder(((sf_tr_decoder *)ctx)->inf, rows, from);
}

/* The step as candidates chosen by the backend: logits stay on the device. */
static sf_status sf_tr_topk(void *ctx, int32_t rows, const int32_t *sent, const int32_t *prev,
                            const double *beam_lp, int32_t k2, uint32_t ban, double *score,
                            int32_t *beam, int32_t *token, int32_t *n_cand, float *attn)
{
    sf_infer *inf = ((sf_tr_decoder *)ctx)->inf;
    SF_TRY(sf_infer_step_logits(inf, rows, sent, prev, attn));
    return sf_infer_topk(inf, rows, sent, beam_lp, k2, ban, score, beam, token, n_cand);
}

int sf_search_use_topk(const sf_backend *be, int beam)
{
    /* On a device the log-probs stay there. On the CPU the backend's top-k
     * log-softmaxes one sentence's beams into a cache-sized scratch and selects
     * from it at once (sentences on threads), where the host path writes every
     * row's log-probs out and reads them back: measured faster at beam 5 (+7%)
     * and at greedy too (+7%, base, batch 64, 2 threads), so it is the path
     * everywhere; the host path stays for `bench decode --topk host`. */
    (void)be, (void)beam;
    return 1;
}

sf_status sf_search_batch(sf_s2s *m, const int32_t *const *src, const int32_t *len,
                          const int32_t *idx, int k, const sf_search_opts *so, int topk,
                          sf_search_result *r)
{
    int32_t S = 0;
    for (int i = 0; i < k; i++)
        S = len[idx[i]] > S ? len[idx[i]] : S;
    int32_t *buf = calloc((size_t)k * S, sizeof(int32_t)), *lens = malloc(sizeof(int32_t) * k);
    sf_status st = buf && lens ? SF_OK : SF_FAIL(SF_ERR_OOM, "batch of %d sentences", k);
    for (int i = 0; st == SF_OK && i < k; i++) {
        memcpy(buf + (size_t)i * S, src[idx[i]], sizeof(int32_t) * (size_t)len[idx[i]]);
        lens[i] = len[idx[i]];
    }
    sf_tr_decoder dec = {0};
    if (st == SF_OK)
        st = sf_infer_start(m, k, S, buf, lens, k * (so->beam > 0 ? so->beam : 1), &dec.inf);
    if (topk == 0)
        topk = sf_search_use_topk(m->be, so->beam);
    sf_search_model sm = {&dec, m->cfg.tgt_vocab_size, sf_tr_step, sf_tr_reorder,
                          topk > 0 ? sf_tr_topk : NULL};
    if (st == SF_OK)
        st = sf_search(&sm, k, lens, so, r);
    sf_infer_free(dec.inf);
    free(buf), free(lens);
    return st;
}

/* Decode items[order[0..n)] (all non-empty, sorted by length) as one batch. */
static sf_status sf_tr_batch(sf_translator *t, const sf_translate_opts *o, sf_tr_item *items,
                             const int32_t *order, int n, sf_translate_stats *s)
{
    const int32_t **src = malloc(sizeof *src * (size_t)n);
    int32_t *len = malloc(sizeof *len * (size_t)n), *idx = malloc(sizeof *idx * (size_t)n);
    sf_status st = src && len && idx ? SF_OK : SF_FAIL(SF_ERR_OOM, "batch of %d sentences", n);
    for (int i = 0; st == SF_OK && i < n; i++) {
        src[i] = items[order[i]].ids, len[i] = items[order[i]].n, idx[i] = i;
        s->src_tokens += len[i];
    }
    sf_search_opts so = o->search;
    so.want_attention = so.want_attention || o->alignment != SF_ALIGN_NONE || o->svg_dir;
    sf_search_result r = {0};
    if (st == SF_OK)
        st = sf_search_batch(t->m, src, len, idx, n, &so, 0, &r);
    for (int i = 0; st == SF_OK && i < n; i++) {
        st = sf_tr_format(t, o, &items[order[i]], r.hyps[i], r.n_hyps[i]);
        if (r.n_hyps[i] > 0)
            s->tgt_tokens += r.hyps[i][0].len;
        s->translated++;
    }
    sf_search_result_free(&r);
    free(src), free(len), free(idx);
    return st;
}

typedef struct sf_len_idx {
    int32_t n, idx;
} sf_len_idx;

static int sf_cmp_len(const void *a, const void *b)
{
    const sf_len_idx *x = a, *y = b;
    if (x->n != y->n)
        return x->n < y->n ? -1 : 1;
    return x->idx - y->idx; /* stable: input order on ties */
}

/* Sort the chunk's sentences by length and decode them batch by batch. */
static sf_status sf_tr_chunk(sf_translator *t, const sf_translate_opts *o, sf_tr_item *items,
                             int n, sf_translate_stats *s)
{
    int32_t *order = malloc(sizeof(int32_t) * (size_t)(n ? n : 1));
    sf_len_idx *pairs = malloc(sizeof(sf_len_idx) * (size_t)(n ? n : 1));
    if (!order || !pairs) {
        free(order), free(pairs);
        return SF_FAIL(SF_ERR_OOM, "chunk order");
    }
    int m = 0;
    sf_status st = SF_OK;
    for (int i = 0; i < n; i++) {
        if (items[i].n > 0)
            pairs[m++] = (sf_len_idx){items[i].n, i};
        else if (!items[i].out)
            st = st == SF_OK ? sf_tr_format_empty(o, &items[i]) : st;
    }
    qsort(pairs, (size_t)m, sizeof *pairs, sf_cmp_len);
    for (int i = 0; i < m; i++)
        order[i] = pairs[i].idx;
    free(pairs);
    for (int i = 0; st == SF_OK && i < m;) {
        int k = 1;
        while (i + k < m && (int64_t)(k + 1) * items[order[i + k]].n <= o->max_tokens &&
               (o->max_sentences <= 0 || k < o->max_sentences))
            k++;
        st = sf_tr_batch(t, o, items, order + i, k, s);
        i += k;
    }
    free(order);
    return st;
}

static void sf_tr_free_items(sf_tr_item *items, int n)
{
    for (int i = 0; i < n; i++) {
        free(items[i].ids);
        free(items[i].out);
    }
    memset(items, 0, sizeof *items * (size_t)n);
}

sf_status sf_translate_stream(sf_translator *t, FILE *in, const char *in_name, FILE *out,
                              const sf_translate_opts *o, sf_translate_stats *stats)
{
    memset(stats, 0, sizeof *stats);
    const int cap = o->chunk_lines > 0 ? o->chunk_lines : 10000;
    sf_tr_item *items = calloc((size_t)cap, sizeof *items);
    char *line = NULL;
    size_t line_cap = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    sf_status st = items ? SF_OK : SF_FAIL(SF_ERR_OOM, "line table");
    for (int eof = 0; st == SF_OK && !eof;) {
        int n = 0;
        ssize_t len;
        while (n < cap && (len = getline(&line, &line_cap, in)) >= 0) {
            if (len > 0 && line[len - 1] == '\n')
                line[--len] = '\0';
            if (len > 0 && line[len - 1] == '\r')
                line[--len] = '\0';
            char *text = line;
            if (stats->lines == 0 && len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
                text += 3, len -= 3; /* a UTF-8 byte-order mark */
            sf_tr_item *it = &items[n++];
            it->line = ++stats->lines;
            if ((st = sf_tr_encode(t, o, in_name, text, (size_t)len, it, stats)) != SF_OK)
                break;
        }
        eof = n < cap;
        if (st == SF_OK && ferror(in))
            st = sf_error(SF_ERR_IO, "reading %s failed after line %" PRId64 ": %s", in_name,
                          stats->lines, strerror(errno));
        if (st == SF_OK)
            st = sf_tr_chunk(t, o, items, n, stats);
        for (int i = 0; st == SF_OK && i < n; i++)
            if (fputs(items[i].out, out) == EOF)
                st = sf_error(SF_ERR_IO, "writing the output failed (disk full?)");
        sf_tr_free_items(items, n);
    }
    free(line);
    free(items);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    stats->seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    if (st == SF_OK && fflush(out) != 0)
        st = sf_error(SF_ERR_IO, "writing the output failed (disk full?)");
    return st;
}

sf_status sf_translator_score_pair(sf_translator *t, const int32_t *src, int32_t S,
                                   const int32_t *tgt, int32_t T, double *logprob)
{
    int32_t *tin = malloc(sizeof(int32_t) * (size_t)(T + 1));
    int32_t *tout = malloc(sizeof(int32_t) * (size_t)(T + 1));
    if (!tin || !tout) {
        free(tin), free(tout);
        return SF_FAIL(SF_ERR_OOM, "forced decoding of %d tokens", T);
    }
    tin[0] = SF_BOS_ID;
    memcpy(tin + 1, tgt, sizeof(int32_t) * (size_t)T);
    memcpy(tout, tgt, sizeof(int32_t) * (size_t)T);
    tout[T] = SF_EOS_ID;
    int32_t len = S;
    sf_s2s_batch b = {1, S, T + 1, src, &len, tin, tout};
    sf_s2s_loss loss;
    sf_status st = sf_s2s_forward_backward(t->m, &b, 0, 0, 1.0f, &loss, NULL);
    *logprob = -loss.nll_sum;
    free(tin), free(tout);
    return st;
}

/* One batch of sf_decode_to_text: idx[0..k) sorted by length. */
static sf_status sf_decode_batch_text(sf_s2s *m, const sf_spm *spm_tgt,
                                      const int32_t *const *src, const int32_t *len,
                                      const int32_t *idx, int k, const sf_search_opts *so,
                                      char **texts)
{
    sf_search_result r = {0};
    sf_status st = sf_search_batch(m, src, len, idx, k, so, 0, &r);
    for (int i = 0; st == SF_OK && i < k; i++) {
        if (r.n_hyps[i] > 0)
            st = sf_spm_decode(spm_tgt, r.hyps[i][0].tokens, r.hyps[i][0].len, &texts[idx[i]]);
        else if (!(texts[idx[i]] = calloc(1, 1)))
            st = SF_FAIL(SF_ERR_OOM, "empty text");
    }
    sf_search_result_free(&r);
    return st;
}

sf_status sf_decode_to_text(sf_s2s *m, const sf_spm *spm_tgt, int64_t n,
                            const int32_t *const *src, const int32_t *len,
                            const sf_search_opts *so, int32_t max_tokens, char **texts)
{
    sf_len_idx *pairs = malloc(sizeof *pairs * (size_t)(n ? n : 1));
    int32_t *idx = malloc(sizeof *idx * (size_t)(n ? n : 1));
    sf_status st = pairs && idx ? SF_OK : SF_FAIL(SF_ERR_OOM, "decode order");
    int64_t m_ = 0;
    for (int64_t i = 0; st == SF_OK && i < n; i++) {
        texts[i] = NULL;
        if (len[i] > 0)
            pairs[m_++] = (sf_len_idx){len[i], (int32_t)i};
        else if (!(texts[i] = calloc(1, 1)))
            st = SF_FAIL(SF_ERR_OOM, "empty text");
    }
    if (st == SF_OK)
        qsort(pairs, (size_t)m_, sizeof *pairs, sf_cmp_len);
    for (int64_t i = 0; i < m_; i++)
        idx[i] = pairs[i].idx;
    for (int64_t i = 0; st == SF_OK && i < m_;) {
        int k = 1;
        while (i + k < m_ && (int64_t)(k + 1) * pairs[i + k].n <= max_tokens)
            k++;
        st = sf_decode_batch_text(m, spm_tgt, src, len, idx + i, k, so, texts);
        i += k;
    }
    free(pairs), free(idx);
    return st;
}
