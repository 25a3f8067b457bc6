/* batcher.c: epoch batch lists (shuffle, sort chunks by length, cut under the
 * token budget, shuffle batch order) as a pure function of (seed, epoch), the
 * resume position, and filling padded batches. */
#include "train/batcher.h"

#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/status_internal.h"

#define SF_BOS_ID 2
#define SF_EOS_ID 3

typedef struct sf_sort_key {
    int64_t tlen, slen;
    int32_t pos, idx; /* position in the shuffled order (tie break), pair index */
} sf_sort_key;

struct sf_batcher {
    const sf_corpus *c;
    sf_batcher_opts o;
    int64_t n;            /* pairs */
    int64_t chunk;        /* pairs sorted together (the whole corpus without shuffle) */
    int32_t *order;       /* [n] pair indices of the built epoch, batches contiguous */
    int64_t *bstart;      /* [n + 1] batch k is order[bstart[k] .. bstart[k + 1]) */
    int32_t *bperm;       /* [n] visiting order of the batches */
    sf_sort_key *keys;    /* [chunk] scratch for sorting */
    int64_t nb;           /* batches in the built epoch */
    int64_t built;        /* the epoch the lists hold */
    int64_t epoch, index; /* the next batch */
};

sf_batcher_opts sf_batcher_default_opts(void)
{
    sf_batcher_opts o = {.max_tokens = 4096, .seed = 1, .shuffle = 1, .bucket_size = 100};
    return o;
}

sf_batcher_opts sf_batcher_eval_opts(int64_t max_tokens)
{
    sf_batcher_opts o = {.max_tokens = max_tokens, .shuffle = 0, .single_pass = 1};
    return o;
}

/* ------------------------------------------------------------ epoch lists */

/* The generator for epoch e depends on (seed, e) only. */
static void sf_epoch_rng(uint64_t seed, int64_t epoch, sf_rng *r)
{
    sf_rng_seed(r, seed);
    uint64_t mix = sf_rng_next(r) ^ ((uint64_t)epoch * 0x9e3779b97f4a7c15ull);
    sf_rng_seed(r, mix);
}

static int sf_key_cmp(const void *pa, const void *pb)
{
    const sf_sort_key *a = pa, *b = pb;
    if (a->tlen != b->tlen)
        return a->tlen < b->tlen ? -1 : 1;
    if (a->slen != b->slen)
        return a->slen < b->slen ? -1 : 1;
    return (a->pos > b->pos) - (a->pos < b->pos);
}

/* Sort order[a .. a + len) by (target len, source len, current position). */
static void sf_sort_chunk(sf_batcher *b, int64_t a, int64_t len)
{
    for (int64_t i = 0; i < len; i++) {
        int32_t idx = b->order[a + i];
        b->keys[i] = (sf_sort_key){sf_corpus_tgt_len(b->c, idx), sf_corpus_src_len(b->c, idx),
                                   (int32_t)i, idx};
    }
    qsort(b->keys, (size_t)len, sizeof *b->keys, sf_key_cmp);
    for (int64_t i = 0; i < len; i++)
        b->order[a + i] = b->keys[i].idx;
}

/* Cut the sorted order[a .. a + len) into batches: B * T <= max_tokens and
 * B <= max_sentences, except that a pair over the budget is a batch alone. */
static void sf_cut_chunk(sf_batcher *b, int64_t a, int64_t len)
{
    int64_t cnt = 0, tmax = 0;
    for (int64_t i = a; i < a + len; i++) {
        int64_t t = sf_corpus_tgt_len(b->c, b->order[i]) + 1;
        int64_t nt = t > tmax ? t : tmax;
        int over = (cnt + 1) * nt > b->o.max_tokens ||
                   (b->o.max_sentences > 0 && cnt + 1 > b->o.max_sentences);
        if (cnt > 0 && over) {
            b->bstart[++b->nb] = i;
            cnt = 0;
            nt = t;
        }
        cnt++;
        tmax = nt;
    }
    if (cnt > 0)
        b->bstart[++b->nb] = a + len;
}

/* Rebuild the batch list of one epoch (no allocation, cannot fail). */
static void sf_batcher_build(sf_batcher *b, int64_t epoch)
{
    sf_rng r;
    sf_epoch_rng(b->o.seed, epoch, &r);
    for (int64_t i = 0; i < b->n; i++)
        b->order[i] = (int32_t)i;
    if (b->o.shuffle)
        sf_rng_shuffle_i32(&r, b->order, b->n);
    b->nb = 0;
    b->bstart[0] = 0;
    for (int64_t a = 0; a < b->n; a += b->chunk) {
        int64_t len = b->n - a < b->chunk ? b->n - a : b->chunk;
        sf_sort_chunk(b, a, len);
        sf_cut_chunk(b, a, len);
    }
    for (int64_t k = 0; k < b->nb; k++)
        b->bperm[k] = (int32_t)k;
    if (b->o.shuffle)
        sf_rng_shuffle_i32(&r, b->bperm, b->nb);
    b->built = epoch;
}

/* ------------------------------------------------------------ create / free */

static sf_status sf_batcher_check(const sf_corpus *c, const sf_batcher_opts *o)
{
    if (!c || sf_corpus_count(c) <= 0)
        return SF_FAIL(SF_ERR_INVALID_ARG, "the corpus is missing or has no pairs");
    if (sf_corpus_count(c) > INT32_MAX)
        return SF_FAIL(SF_ERR_UNSUPPORTED, "%lld pairs: at most %d are supported; split the corpus",
                       (long long)sf_corpus_count(c), INT32_MAX);
    if (o->max_tokens <= 0)
        return SF_FAIL(SF_ERR_INVALID_ARG, "max_tokens %lld: expected > 0 (target tokens per batch)",
                       (long long)o->max_tokens);
    if (o->max_sentences < 0 || o->bucket_size < 0)
        return SF_FAIL(SF_ERR_INVALID_ARG,
                       "max_sentences %lld / bucket_size %d: expected >= 0 (0 = none / default)",
                       (long long)o->max_sentences, (int)o->bucket_size);
    return SF_OK;
}

/* Pairs per sorted chunk: about bucket_size batches of the average length. */
static sf_status sf_batcher_chunk(sf_batcher *b)
{
    int64_t sum_t = 0;
    for (int64_t i = 0; i < b->n; i++) {
        int64_t s = sf_corpus_src_len(b->c, i), t = sf_corpus_tgt_len(b->c, i);
        if (s >= INT32_MAX || t >= INT32_MAX - 1)
            return SF_FAIL(SF_ERR_UNSUPPORTED, "pair %lld has %lld / %lld tokens: too long to batch",
                           (long long)i, (long long)s, (long long)t);
        sum_t += t + 1;
    }
    int64_t per = b->o.max_tokens / (sum_t / b->n > 0 ? sum_t / b->n : 1);
    if (per < 1)
        per = 1;
    if (b->o.max_sentences > 0 && per > b->o.max_sentences)
        per = b->o.max_sentences;
    int64_t bucket = b->o.bucket_size > 0 ? b->o.bucket_size : 100;
    b->chunk = !b->o.shuffle || per > b->n / bucket ? b->n : per * bucket;
    if (b->chunk < 1)
        b->chunk = 1;
    return SF_OK;
}

sf_status sf_batcher_create(const sf_corpus *c, const sf_batcher_opts *o, sf_batcher **out)
{
    if (!out)
        return SF_FAIL(SF_ERR_INVALID_ARG, "out is NULL");
    *out = NULL;
    sf_batcher_opts def = sf_batcher_default_opts();
    if (!o)
        o = &def;
    SF_TRY(sf_batcher_check(c, o));
    sf_batcher *b = calloc(1, sizeof *b);
    if (!b)
        return SF_FAIL(SF_ERR_OOM, "cannot allocate the batcher");
    b->c = c;
    b->o = *o;
    b->n = sf_corpus_count(c);
    sf_status st = sf_batcher_chunk(b);
    if (st == SF_OK) {
        size_t n = (size_t)b->n;
        b->order = malloc(n * sizeof *b->order);
        b->bstart = malloc((n + 1) * sizeof *b->bstart);
        b->bperm = malloc(n * sizeof *b->bperm);
        b->keys = malloc((size_t)b->chunk * sizeof *b->keys);
        if (!b->order || !b->bstart || !b->bperm || !b->keys)
            st = SF_FAIL(SF_ERR_OOM, "cannot allocate the batch lists for %lld pairs",
                         (long long)b->n);
    }
    if (st != SF_OK) {
        sf_batcher_free(b);
        return st;
    }
    sf_batcher_build(b, 0);
    *out = b;
    return SF_OK;
}

void sf_batcher_free(sf_batcher *b)
{
    if (!b)
        return;
    free(b->order);
    free(b->bstart);
    free(b->bperm);
    free(b->keys);
    free(b);
}

/* ------------------------------------------------------------ batches */

/* Resize *p to n elements of elem bytes (kept as it was on failure). */
static sf_status sf_batch_grow(void **p, int64_t n, size_t elem)
{
    void *q = (uint64_t)n > SIZE_MAX / elem ? NULL : realloc(*p, (size_t)n * elem);
    if (!q)
        return SF_FAIL(SF_ERR_OOM, "cannot allocate a batch buffer of %lld x %zu bytes",
                       (long long)n, elem);
    *p = q;
    return SF_OK;
}

static sf_status sf_batch_reserve(sf_batch *bt, int64_t B, int64_t S, int64_t T)
{
    void *p[6] = {bt->src_len, bt->tgt_len, bt->index, bt->src, bt->tgt_in, bt->tgt_out};
    sf_status st = SF_OK;
    if (B > bt->cap_rows) {
        st = sf_batch_grow(&p[0], B, sizeof *bt->src_len);
        if (st == SF_OK)
            st = sf_batch_grow(&p[1], B, sizeof *bt->tgt_len);
        if (st == SF_OK)
            st = sf_batch_grow(&p[2], B, sizeof *bt->index);
        if (st == SF_OK)
            bt->cap_rows = B;
    }
    if (st == SF_OK && B * S > bt->cap_src) {
        st = sf_batch_grow(&p[3], B * S, sizeof *bt->src);
        if (st == SF_OK)
            bt->cap_src = B * S;
    }
    if (st == SF_OK && B * T > bt->cap_tgt) {
        st = sf_batch_grow(&p[4], B * T, sizeof *bt->tgt_in);
        if (st == SF_OK)
            st = sf_batch_grow(&p[5], B * T, sizeof *bt->tgt_out);
        if (st == SF_OK)
            bt->cap_tgt = B * T;
    }
    bt->src_len = p[0], bt->tgt_len = p[1], bt->index = p[2];
    bt->src = p[3], bt->tgt_in = p[4], bt->tgt_out = p[5];
    return st;
}

/* Fill one row r: src [S] padded, tgt_in [T] = <s> y, tgt_out [T] = y </s>. */
static void sf_batch_row(const sf_corpus *c, int64_t i, sf_batch *bt, int64_t r)
{
    int64_t ns, nt;
    const int32_t *s = sf_corpus_src(c, i, &ns);
    const int32_t *t = sf_corpus_tgt(c, i, &nt);
    int32_t *src = bt->src + r * bt->S;
    int32_t *tin = bt->tgt_in + r * bt->T, *tout = bt->tgt_out + r * bt->T;
    memcpy(src, s, (size_t)ns * sizeof *s);
    memset(src + ns, 0, (size_t)(bt->S - ns) * sizeof *src);
    tin[0] = SF_BOS_ID;
    memcpy(tin + 1, t, (size_t)nt * sizeof *t);
    memcpy(tout, t, (size_t)nt * sizeof *t);
    tout[nt] = SF_EOS_ID;
    memset(tin + nt + 1, 0, (size_t)(bt->T - nt - 1) * sizeof *tin);
    memset(tout + nt + 1, 0, (size_t)(bt->T - nt - 1) * sizeof *tout);
    bt->src_len[r] = (int32_t)ns;
    bt->tgt_len[r] = (int32_t)(nt + 1);
    bt->index[r] = i;
    bt->ntok_src += ns;
    bt->ntok_tgt += nt + 1;
}

static sf_status sf_batcher_fill(const sf_batcher *b, int64_t k, sf_batch *bt)
{
    const int32_t *items = b->order + b->bstart[k];
    int64_t B = b->bstart[k + 1] - b->bstart[k], S = 0, T = 0;
    for (int64_t r = 0; r < B; r++) {
        int64_t s = sf_corpus_src_len(b->c, items[r]), t = sf_corpus_tgt_len(b->c, items[r]) + 1;
        S = s > S ? s : S;
        T = t > T ? t : T;
    }
    SF_TRY(sf_batch_reserve(bt, B, S, T));
    bt->B = B;
    bt->S = S;
    bt->T = T;
    bt->ntok_src = bt->ntok_tgt = 0;
    for (int64_t r = 0; r < B; r++)
        sf_batch_row(b->c, items[r], bt, r);
    return SF_OK;
}

sf_status sf_batcher_next(sf_batcher *b, sf_batch *out)
{
    if (!b || !out)
        return SF_FAIL(SF_ERR_INVALID_ARG, "batcher or batch is NULL");
    if (b->index >= b->nb) {
        if (b->o.single_pass) {
            out->B = out->S = out->T = 0;
            out->ntok_src = out->ntok_tgt = 0;
            out->epoch = b->epoch;
            out->pos = b->index;
            return SF_OK;
        }
        b->epoch++;
        b->index = 0;
        sf_batcher_build(b, b->epoch);
    }
    SF_TRY(sf_batcher_fill(b, b->bperm[b->index], out));
    out->epoch = b->epoch;
    out->pos = b->index;
    b->index++;
    return SF_OK;
}

void sf_batch_free(sf_batch *bt)
{
    if (!bt)
        return;
    free(bt->src);
    free(bt->src_len);
    free(bt->tgt_in);
    free(bt->tgt_out);
    free(bt->tgt_len);
    free(bt->index);
    memset(bt, 0, sizeof *bt);
}

/* ------------------------------------------------------------ position */

void sf_batcher_get_pos(const sf_batcher *b, int64_t *epoch, int64_t *index)
{
    int wrap = b->index >= b->nb && !b->o.single_pass;
    *epoch = wrap ? b->epoch + 1 : b->epoch;
    *index = wrap ? 0 : b->index;
}

sf_status sf_batcher_set_pos(sf_batcher *b, int64_t epoch, int64_t index)
{
    if (!b)
        return SF_FAIL(SF_ERR_INVALID_ARG, "batcher is NULL");
    if (epoch < 0 || (b->o.single_pass && epoch != 0))
        return SF_FAIL(SF_ERR_INVALID_ARG, "epoch %lld: expected %s", (long long)epoch,
                       b->o.single_pass ? "0 (single-pass batcher)" : ">= 0");
    if (epoch != b->built)
        sf_batcher_build(b, epoch);
    if (index < 0 || index > b->nb) {
        int64_t nb = b->nb;
        if (b->built != b->epoch)
            sf_batcher_build(b, b->epoch);
        return SF_FAIL(SF_ERR_INVALID_ARG,
                       "index %lld: epoch %lld has %lld batches, expected 0..%lld (was the "
                       "position saved with another corpus or batch options?)",
                       (long long)index, (long long)epoch, (long long)nb, (long long)nb);
    }
    b->epoch = epoch;
    b->index = index;
    return SF_OK;
}

int64_t sf_batcher_epoch(const sf_batcher *b)
{
    int64_t e, i;
    sf_batcher_get_pos(b, &e, &i);
    return e;
}

int64_t sf_batcher_num_batches(const sf_batcher *b) { return b->nb; }
