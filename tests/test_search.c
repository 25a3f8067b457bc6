/* test_search.c: beam and greedy search against a tiny hand-built model whose
 * log-probs hash the whole prefix (so a wrong reorder shows), exhaustive search
 * over all outputs, penalties, batch invariance, max length, rows and attention. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status_internal.h"
#include "search/search.h"
#include "search/search_internal.h"
#include "seqfuse/tokenizer.h"
#include "sf_test.h"

/* V = 6: <pad> <unk> <s> </s> and two words; a hypothesis uses {1, 4, 5} + </s>. */
enum { TV = 6, TMAXL = 12, TMAXS = 8, TMAXSTEPS = 64 };
static const int32_t words[3] = {1, 4, 5};

/* RANDOM: hashed logits, </s> likelier with length, <pad>/<s> boosted (must stay
 * banned); NOEOS: RANDOM with P(</s>) = 0; EOSFIRST: RANDOM with </s> at step 0 very
 * likely; LENGTH and COVER: tables built for the penalty tests; TIE: a table where
 * words 4 and 5 always tie (and <unk> ties </s> after the first step). */
enum { K_RANDOM, K_NOEOS, K_EOSFIRST, K_LENGTH, K_COVER, K_TIE };

typedef struct tsent {
    int32_t id, kind, src_len;
} tsent;

typedef struct trow {
    int32_t sent, len;
    int32_t y[TMAXL]; /* tokens fed after <s> */
} trow;

typedef struct tmodel {
    const tsent *sents;
    int32_t n_sent, S_max, cap, rows, t;
    trow *state, *tmp;
    int32_t sloppy;  /* reorder ignores from: a control that must break the results */
    int32_t nan_at;  /* step that writes a NaN, -1 none */
    int32_t fail_at; /* step that fails, -1 none */
    int32_t step_rows[TMAXSTEPS];
} tmodel;

static uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static uint64_t prefix_hash(const tsent *ts, const int32_t *y, int32_t n)
{
    uint64_t h = mix((uint64_t)ts->id * 1000003u + (uint64_t)ts->kind);
    for (int32_t i = 0; i < n; i++)
        h = mix(h ^ ((uint64_t)y[i] << 32));
    return h;
}

static double unit(uint64_t h) { return (double)(mix(h) >> 11) * 0x1p-53; }

/* Table kinds: probabilities p over TV tokens. */
static void table_dist(const tsent *ts, const int32_t *y, int32_t n, double *p)
{
    (void)y;
    static const double len0[TV] = {.005, .005, .005, .6, .38, .005};
    static const double len1[TV] = {.005, .005, .005, .05, .93, .005};
    static const double cov0[TV] = {.02, .02, .02, .02, .9, .02};
    static const double cov1[TV] = {.025, .025, .025, .025, .5, .4};
    static const double cov2[TV] = {.02, .02, .02, .9, .02, .02};
    static const double tie0[TV] = {.1, .1, .1, .1, .3, .3};
    static const double tie1[TV] = {.05, .15, .05, .15, .3, .3};
    const double *t = ts->kind == K_LENGTH ? (n == 0 ? len0 : len1)
                      : ts->kind == K_TIE  ? (n == 0 ? tie0 : tie1)
                                           : (n == 0 ? cov0 : n == 1 ? cov1 : cov2);
    memcpy(p, t, sizeof(double) * TV);
}

/* The model: out = log P(next | <s> y[0..n)) of sentence ts. out: [TV] */
static void tm_dist(const tsent *ts, const int32_t *y, int32_t n, float *out)
{
    double l[TV], mx = -INFINITY, z = 0.0;
    if (ts->kind == K_LENGTH || ts->kind == K_COVER || ts->kind == K_TIE) {
        table_dist(ts, y, n, l);
        for (int v = 0; v < TV; v++)
            out[v] = (float)log(l[v]);
        return;
    }
    uint64_t h = prefix_hash(ts, y, n);
    for (int v = 0; v < TV; v++)
        l[v] = 6.0 * unit(h + (uint64_t)v) - 3.0;
    l[SF_EOS_ID] += 0.8 * n - 1.0;
    l[SF_PAD_ID] += 3.0;
    l[SF_BOS_ID] += 3.0;
    if (ts->kind == K_EOSFIRST && n == 0)
        l[SF_EOS_ID] = 9.0;
    for (int v = 0; v < TV; v++)
        mx = fmax(mx, l[v]);
    for (int v = 0; v < TV; v++)
        z += exp(l[v] - mx);
    for (int v = 0; v < TV; v++)
        out[v] = (float)(l[v] - mx - log(z));
    if (ts->kind == K_NOEOS)
        out[SF_EOS_ID] = -INFINITY;
}

/* Attention of the step that follows prefix y[0..n). out: [src_len] */
static void tm_attn(const tsent *ts, const int32_t *y, int32_t n, float *out)
{
    int32_t S = ts->src_len;
    if (ts->kind == K_COVER) { /* on the last position after word 5, else on the first */
        int32_t hot = n > 0 && y[n - 1] == 5 ? S - 1 : 0;
        for (int32_t j = 0; j < S; j++)
            out[j] = j == hot ? 0.98f : 0.02f / (float)(S - 1);
        return;
    }
    uint64_t h = prefix_hash(ts, y, n) ^ 0xA77Eull;
    double w[TMAXS], z = 0.0;
    for (int32_t j = 0; j < S; j++)
        z += (w[j] = 0.1 + unit(h + (uint64_t)j));
    for (int32_t j = 0; j < S; j++)
        out[j] = (float)(w[j] / z);
}

static sf_status tm_step(void *ctx, int32_t rows, const int32_t *sent, const int32_t *prev,
                         float *lp, float *attn)
{
    tmodel *tm = ctx;
    if (tm->fail_at == tm->t)
        return sf_error(SF_ERR_IO, "test model: planned failure at step %d", (int)tm->t);
    ck_assert_msg(rows == tm->rows && tm->t < TMAXSTEPS, "step %d: %d rows, model has %d",
                  (int)tm->t, (int)rows, (int)tm->rows);
    tm->step_rows[tm->t] = rows;
    for (int32_t r = 0; r < rows; r++) {
        trow *w = &tm->state[r];
        int ok = tm->t == 0 ? prev[r] == SF_BOS_ID
                            : prev[r] == 1 || prev[r] == 4 || prev[r] == 5;
        ck_assert_msg(tm->sloppy || (w->sent == sent[r] && w->len == (tm->t ? tm->t - 1 : 0)
                                     && ok),
                      "step %d row %d: model holds sentence %d with %d tokens, search says "
                      "sentence %d, prev %d", (int)tm->t, (int)r, (int)w->sent, (int)w->len,
                      (int)sent[r], (int)prev[r]);
        if (tm->t > 0)
            w->y[w->len++] = prev[r];
        ck_assert(w->len < TMAXL);
        const tsent *ts = &tm->sents[w->sent];
        tm_dist(ts, w->y, w->len, lp + (int64_t)r * TV);
        if (attn) {
            memset(attn + (int64_t)r * tm->S_max, 0, sizeof(float) * (size_t)tm->S_max);
            tm_attn(ts, w->y, w->len, attn + (int64_t)r * tm->S_max);
        }
    }
    if (tm->nan_at == tm->t)
        lp[(rows - 1) * TV + 4] = NAN;
    tm->t++;
    return SF_OK;
}

static sf_status tm_reorder(void *ctx, int32_t new_rows, const int32_t *from)
{
    tmodel *tm = ctx;
    ck_assert_msg(new_rows > 0 && new_rows <= tm->cap, "reorder to %d rows (cap %d)",
                  (int)new_rows, (int)tm->cap);
    for (int32_t r = 0; r < new_rows; r++) {
        ck_assert_msg(from[r] >= 0 && from[r] < tm->rows, "reorder: from[%d] = %d of %d rows",
                      (int)r, (int)from[r], (int)tm->rows);
        tm->tmp[r] = tm->state[tm->sloppy ? r % tm->rows : from[r]];
    }
    trow *sw = tm->state;
    tm->state = tm->tmp;
    tm->tmp = sw;
    tm->rows = new_rows;
    return SF_OK;
}

/* Search sentences ss[0..n) with a fresh model; *tm_out (optional) keeps its record. */
static sf_status run(const tsent *ss, int32_t n, const sf_search_opts *o, int32_t fast,
                     tmodel *tm_out, sf_search_result *res)
{
    tmodel tm = {.sents = ss, .n_sent = n, .cap = n * (o->beam > 1 ? o->beam : 1), .rows = n,
                 .nan_at = -1, .fail_at = -1};
    if (tm_out) {
        tm.sloppy = tm_out->sloppy;
        tm.nan_at = tm_out->nan_at;
        tm.fail_at = tm_out->fail_at;
    }
    int32_t src_len[16];
    tm.state = calloc((size_t)tm.cap, sizeof(trow));
    tm.tmp = calloc((size_t)tm.cap, sizeof(trow));
    for (int32_t s = 0; s < n; s++) {
        src_len[s] = ss[s].src_len;
        tm.S_max = src_len[s] > tm.S_max ? src_len[s] : tm.S_max;
        tm.state[s].sent = s;
    }
    sf_search_model m = {&tm, TV, tm_step, tm_reorder, NULL};
    sf_status st = sf_search_run(&m, n, src_len, o, fast, res);
    free(tm.state);
    free(tm.tmp);
    if (tm_out)
        *tm_out = tm;
    return st;
}

static sf_search_opts opts(int32_t K, int32_t n_best, float alpha, float beta, float a, float b)
{
    sf_search_opts o;
    sf_search_opts_default(&o);
    o.beam = K, o.n_best = n_best, o.alpha = alpha, o.beta = beta;
    o.max_len_a = a, o.max_len_b = b;
    return o;
}

static int32_t max_len(const tsent *ts, const sf_search_opts *o)
{
    double L = floor((double)o->max_len_a * ts->src_len + (double)o->max_len_b);
    return L < 1 ? 1 : (int32_t)L;
}

/* Log-prob (summed in step order, as the search does), score, attention rows of a
 * path recomputed from the model. attn: [len + eos, src_len] out or NULL. */
static void score_path(const tsent *ts, const int32_t *y, int32_t len, int32_t eos,
                       const sf_search_opts *o, double *logprob, double *score, float *attn)
{
    float row[TV], a[TMAXS];
    double lp = 0.0, cov[TMAXS] = {0}, cp = 0.0;
    for (int32_t i = 0; i < len + eos; i++) {
        tm_dist(ts, y, i, row);
        tm_attn(ts, y, i, a);
        for (int32_t j = 0; j < ts->src_len; j++)
            cov[j] += a[j];
        if (attn)
            memcpy(attn + i * ts->src_len, a, sizeof(float) * (size_t)ts->src_len);
        lp += (double)row[i < len ? y[i] : SF_EOS_ID];
    }
    for (int32_t j = 0; j < ts->src_len; j++)
        cp += log(fmin(fmax(cov[j], 1e-30), 1.0));
    *logprob = lp;
    *score = lp / pow((5.0 + (len + 1)) / 6.0, (double)o->alpha) + (double)o->beta * cp;
}

/* Every hypothesis is valid: tokens are words, length within the max (exactly the
 * max when cut), log-prob and score recomputed, attention rows recomputed, best first. */
static void check_valid(const char *cn, const tsent *ss, int32_t n, const sf_search_opts *o,
                        const sf_search_result *res)
{
    ck_assert_int_eq(res->n_sent, n);
    for (int32_t s = 0; s < n; s++) {
        int32_t L = max_len(&ss[s], o);
        ck_assert_msg(res->n_hyps[s] >= 1 && res->n_hyps[s] <= o->n_best,
                      "%s: sentence %d has %d hypotheses", cn, (int)s, (int)res->n_hyps[s]);
        for (int32_t h = 0; h < res->n_hyps[s]; h++) {
            const sf_hyp *hy = &res->hyps[s][h];
            double lp, sc;
            float attn[(TMAXL + 1) * TMAXS];
            ck_assert_msg(hy->len <= L && (hy->eos || hy->len == L) && hy->len < TMAXL,
                          "%s: sentence %d hyp %d: len %d eos %d, max %d", cn, (int)s, (int)h,
                          (int)hy->len, (int)hy->eos, (int)L);
            for (int32_t i = 0; i < hy->len; i++)
                ck_assert_msg(hy->tokens[i] == 1 || hy->tokens[i] == 4 || hy->tokens[i] == 5,
                              "%s: sentence %d hyp %d token %d = %d", cn, (int)s, (int)h,
                              (int)i, (int)hy->tokens[i]);
            score_path(&ss[s], hy->tokens, hy->len, hy->eos, o, &lp, &sc, attn);
            ck_assert_msg(hy->logprob == lp && fabs(hy->score - sc) <= 1e-9,
                          "%s: sentence %d hyp %d: logprob %.17g score %.17g, recomputed "
                          "%.17g %.17g", cn, (int)s, (int)h, hy->logprob, hy->score, lp, sc);
            ck_assert_msg(h == 0 || hy->score <= res->hyps[s][h - 1].score,
                          "%s: sentence %d hyp %d scores more than hyp %d", cn, (int)s, (int)h,
                          (int)h - 1);
            ck_assert_int_eq(hy->src_len, ss[s].src_len);
            ck_assert_msg(!o->want_attention ||
                              memcmp(hy->attn, attn, sizeof(float) * (size_t)((hy->len +
                                     hy->eos) * hy->src_len)) == 0,
                          "%s: sentence %d hyp %d: attention rows differ from the path's", cn,
                          (int)s, (int)h);
            ck_assert_msg(o->want_attention || hy->attn == NULL, "%s: attention not asked", cn);
        }
    }
}

typedef struct ehyp {
    int32_t y[TMAXL], len, eos;
    double logprob, score;
} ehyp;

static int ehyp_cmp(const void *a, const void *b)
{
    double x = ((const ehyp *)a)->score, y = ((const ehyp *)b)->score;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* All outputs of sentence ts (words^n + </s> for n < L, words^L cut), best first. */
static ehyp *exhaustive(const tsent *ts, const sf_search_opts *o, int32_t *count)
{
    int32_t L = max_len(ts, o), n = 0, total = 0;
    for (int32_t len = 0, p = 1; len <= L; len++, p *= 3)
        total += p;
    ehyp *all = calloc((size_t)total, sizeof(ehyp));
    for (int32_t len = 0, p = 1; len <= L; len++, p *= 3) {
        for (int32_t code = 0; code < p; code++) {
            ehyp *e = &all[n];
            e->len = len;
            e->eos = len < L;
            for (int32_t i = 0, c = code; i < len; i++, c /= 3)
                e->y[i] = words[c % 3];
            score_path(ts, e->y, len, e->eos, o, &e->logprob, &e->score, NULL);
            n += e->logprob > -INFINITY;
        }
    }
    qsort(all, (size_t)n, sizeof(ehyp), ehyp_cmp);
    *count = n;
    return all;
}

static int same_tokens(const sf_hyp *h, const ehyp *e)
{
    return h->len == e->len && h->eos == e->eos &&
           memcmp(h->tokens, e->y, sizeof(int32_t) * (size_t)h->len) == 0;
}

/* Beam wide enough for every path (K >= 4 * 3^(L-1) candidates a step, L = 4)
 * equals exhaustive search: the best, and the n-best in order. Cases built for the
 * penalties also name the best they must give. LENGTH: P(</s>) = .6 at once, then
 * word 4 (P .93 after a word): alpha 0 prefers the empty output, alpha 4 the longest.
 * COVER (source length 2): "4 4 </s>" is likelier, "4 5 </s>" attends to both
 * positions: beta 0 picks the first, beta 1 the second. */
static const struct {
    const char *name;
    tsent s;
    float alpha, beta;
    int32_t n_best; /* compared in order (no ties among them) */
    ehyp want;      /* the expected best; len -1: any */
} ex_cases[] = {
    {"random alpha 0.6", {11, K_RANDOM, 3}, 0.6f, 0.0f, 10, {.len = -1}},
    {"random alpha 0", {12, K_RANDOM, 2}, 0.0f, 0.0f, 10, {.len = -1}},
    {"random alpha 2 beta 0.5", {13, K_RANDOM, 3}, 2.0f, 0.5f, 10, {.len = -1}},
    {"no eos (all cut)", {15, K_NOEOS, 2}, 0.6f, 0.0f, 10, {.len = -1}},
    {"eos first: empty", {14, K_EOSFIRST, 1}, 0.6f, 0.0f, 10, {.len = 0, .eos = 1}},
    {"length alpha 0", {16, K_LENGTH, 2}, 0.0f, 0.0f, 1, {.len = 0, .eos = 1}},
    {"length alpha 4", {16, K_LENGTH, 2}, 4.0f, 0.0f, 1, {{4, 4, 4, 4}, .len = 4}},
    {"cover beta 0", {17, K_COVER, 2}, 0.0f, 0.0f, 1, {{4, 4}, .len = 2, .eos = 1}},
    {"cover beta 1", {17, K_COVER, 2}, 0.0f, 1.0f, 1, {{4, 5}, .len = 2, .eos = 1}},
};

START_TEST(test_beam_exhaustive)
{
    const char *cn = ex_cases[_i].name;
    sf_search_opts o = opts(128, ex_cases[_i].n_best, ex_cases[_i].alpha, ex_cases[_i].beta,
                            0.0f, 4.0f);
    o.want_attention = 1;
    sf_search_result res;
    ck_assert_msg(run(&ex_cases[_i].s, 1, &o, 1, NULL, &res) == SF_OK, "%s: %s", cn,
                  sf_last_error());
    check_valid(cn, &ex_cases[_i].s, 1, &o, &res);
    int32_t ne;
    ehyp *ex = exhaustive(&ex_cases[_i].s, &o, &ne);
    ck_assert_msg(ne > o.n_best && ex[o.n_best - 1].score - ex[o.n_best].score > 1e-9,
                  "%s: the exhaustive top %d is not clear-cut (test setup)", cn, (int)o.n_best);
    ck_assert_int_eq(res.n_hyps[0], o.n_best);
    const ehyp *want = &ex_cases[_i].want;
    ck_assert_msg(want->len < 0 || same_tokens(&res.hyps[0][0], want),
                  "%s: best has %d tokens (eos %d), expected %d", cn, (int)res.hyps[0][0].len,
                  (int)res.hyps[0][0].eos, (int)want->len);
    for (int32_t h = 0; h < o.n_best; h++)
        ck_assert_msg(same_tokens(&res.hyps[0][h], &ex[h]) &&
                          fabs(res.hyps[0][h].score - ex[h].score) <= 1e-9,
                      "%s: hyp %d (len %d, score %.12g) is not the exhaustive one (len %d, "
                      "score %.12g)", cn, (int)h, (int)res.hyps[0][h].len,
                      res.hyps[0][h].score, (int)ex[h].len, ex[h].score);
    free(ex);
    sf_search_result_free(&res);
}
END_TEST

/* Six sentences, small beams: every hypothesis valid; n_best = K. */
START_TEST(test_beam_small_k_valid)
{
    static const int32_t Ks[] = {2, 3, 5};
    static const tsent ss[6] = {{21, K_RANDOM, 1}, {22, K_RANDOM, 2}, {23, K_RANDOM, 3},
                                {24, K_RANDOM, 4}, {25, K_EOSFIRST, 5}, {26, K_NOEOS, 6}};
    char cn[64];
    snprintf(cn, sizeof cn, "K=%d", (int)Ks[_i]);
    sf_search_opts o = opts(Ks[_i], Ks[_i], 0.6f, 0.2f, 1.0f, 2.0f);
    o.want_attention = 1;
    sf_search_result res;
    ck_assert_msg(run(ss, 6, &o, 1, NULL, &res) == SF_OK, "%s: %s", cn, sf_last_error());
    check_valid(cn, ss, 6, &o, &res);
    sf_search_result_free(&res);
}
END_TEST

/* A step's candidate in the reference: ordered by score, then beam, then token. */
typedef struct rcand {
    double score;
    int32_t b, v;
} rcand;

static int rcand_cmp(const void *pa, const void *pb)
{
    const rcand *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score < b->score ? 1 : -1;
    return a->b != b->b ? (a->b > b->b) - (a->b < b->b) : (a->v > b->v) - (a->v < b->v);
}

enum { RMAXK = 8 };

/* The step rule written plainly for one sentence (a full sort of all candidates,
 * lists of paths); returns the n-best (stable by finishing order) in out. */
static int32_t ref_beam(const tsent *ts, const sf_search_opts *o, ehyp *out)
{
    int32_t K = o->beam, L = max_len(ts, o), nb = 1, nf = 0;
    ehyp beams[RMAXK] = {{{0}, 0, 0, 0.0, 0.0}}, next[RMAXK], fin[2 * RMAXK];
    rcand c[RMAXK * TV];
    ck_assert(K <= RMAXK);
    for (int32_t t = 0; nb > 0; t++) {
        int32_t nc = 0, nn = 0;
        for (int32_t b = 0; b < nb; b++) {
            float row[TV];
            tm_dist(ts, beams[b].y, beams[b].len, row);
            for (int32_t v = 0; v < TV; v++)
                if (v != SF_PAD_ID && v != SF_BOS_ID && row[v] > -INFINITY)
                    c[nc++] = (rcand){beams[b].logprob + (double)row[v], b, v};
        }
        qsort(c, (size_t)nc, sizeof(rcand), rcand_cmp);
        for (int32_t i = 0; i < nc && i < 2 * K; i++) {
            ehyp e = beams[c[i].b];
            e.logprob = c[i].score;
            if (c[i].v == SF_EOS_ID && i < K) {
                e.eos = 1;
                fin[nf++] = e;
            } else if (c[i].v != SF_EOS_ID && nn < K) {
                e.y[e.len++] = c[i].v;
                next[nn++] = e;
            }
        }
        int32_t cut = nf < K && t + 1 >= L;
        for (int32_t j = 0; cut && j < nn; j++)
            fin[nf++] = next[j]; /* cut at the max length */
        nb = nf >= K || t + 1 >= L ? 0 : nn;
        memcpy(beams, next, sizeof(ehyp) * (size_t)nb);
    }
    for (int32_t i = 0; i < nf; i++) { /* score, then insertion sort (stable) */
        double lp;
        ehyp e = fin[i];
        score_path(ts, e.y, e.len, e.eos, o, &lp, &e.score, NULL);
        ck_assert(lp == e.logprob);
        int32_t j = i;
        for (; j > 0 && fin[j - 1].score < e.score; j--)
            fin[j] = fin[j - 1];
        fin[j] = e;
    }
    nf = nf < o->n_best ? nf : o->n_best;
    memcpy(out, fin, sizeof(ehyp) * (size_t)nf);
    return nf;
}

static const tsent refs[6] = {{91, K_RANDOM, 3}, {92, K_TIE, 2},    {93, K_RANDOM, 5},
                              {94, K_NOEOS, 1},  {95, K_EOSFIRST, 2}, {96, K_TIE, 4}};

/* Small beams (K = 1..4, a batch of 6) equal the plain reference, ties included;
 * greedy on the TIE table takes the lower id every time (4 4 4 ...). */
START_TEST(test_beam_vs_reference)
{
    char cn[32];
    snprintf(cn, sizeof cn, "K=%d", _i + 1);
    sf_search_opts o = opts(_i + 1, _i + 1, 0.6f, 0.0f, 1.0f, 2.0f);
    sf_search_result res;
    ck_assert_msg(run(refs, 6, &o, 1, NULL, &res) == SF_OK, "%s: %s", cn, sf_last_error());
    check_valid(cn, refs, 6, &o, &res);
    for (int32_t s = 0; s < 6; s++) {
        ehyp want[RMAXK];
        int32_t nw = ref_beam(&refs[s], &o, want);
        ck_assert_msg(res.n_hyps[s] == nw, "%s: sentence %d: %d hypotheses, reference %d", cn,
                      (int)s, (int)res.n_hyps[s], (int)nw);
        for (int32_t h = 0; h < nw; h++)
            ck_assert_msg(same_tokens(&res.hyps[s][h], &want[h]) &&
                              res.hyps[s][h].score == want[h].score,
                          "%s: sentence %d hyp %d: len %d score %.17g, reference len %d %.17g",
                          cn, (int)s, (int)h, (int)res.hyps[s][h].len, res.hyps[s][h].score,
                          (int)want[h].len, want[h].score);
    }
    for (int32_t i = 0; _i == 0 && i < res.hyps[1][0].len; i++)
        ck_assert_msg(res.hyps[1][0].tokens[i] == 4, "greedy tie: token %d is %d", (int)i,
                      (int)res.hyps[1][0].tokens[i]);
    sf_search_result_free(&res);
}
END_TEST

/* sf_search_topk against a full sort, with -inf and banned ids, on three kinds of
 * rows: coarse values (many ties), values a float ulp or two apart (near the heap's
 * threshold), the same under a beam log-prob of -1e10 (ties made by rounding to
 * double); sf_search_argmax against its first; NaN is refused. */
START_TEST(test_topk_vs_sort)
{
    enum { NB = 3, SV = 9 };
    static const int32_t Ks[] = {1, 2, 3, 5, 20};
    int32_t K = Ks[_i], n;
    float lp[NB * SV];
    static const double blps[3][NB] = {{-1.0, -1.5, -1.0}, {-1.0, -1.0, -1.0000001},
                                       {-1e10, -1e10, -1e10}};
    rcand want[NB * SV];
    sf_cand got[40];
    for (int32_t trial = 0; trial < 60; trial++) { /* 20 trials of each kind */
        int32_t nw = 0;
        const double *blp = blps[trial / 20];
        for (int32_t i = 0; i < NB * SV; i++) {
            uint64_t h = mix((uint64_t)(trial * 1000 + i));
            lp[i] = h % 11 == 0   ? -INFINITY
                    : trial < 20 ? -0.5f * (float)(h % 5)
                                 : -1.0f - 1.2e-7f * (float)(h % 16);
            if (i % SV != SF_PAD_ID && i % SV != SF_BOS_ID && lp[i] > -INFINITY)
                want[nw++] = (rcand){blp[i / SV] + (double)lp[i], i / SV, i % SV};
        }
        qsort(want, (size_t)nw, sizeof(rcand), rcand_cmp);
        ck_assert_int_eq(sf_search_topk(NB, SV, K, blp, lp, got, &n), SF_OK);
        ck_assert_msg(n == (nw < 2 * K ? nw : 2 * K), "K=%d trial %d: %d candidates", (int)K,
                      (int)trial, (int)n);
        for (int32_t i = 0; i < n; i++)
            ck_assert_msg(got[i].score == want[i].score && got[i].beam == want[i].b &&
                              got[i].token == want[i].v,
                          "K=%d trial %d: candidate %d is (%d,%d), sorted (%d,%d)", (int)K,
                          (int)trial, (int)i, (int)got[i].beam, (int)got[i].token,
                          (int)want[i].b, (int)want[i].v);
        ck_assert_int_eq(sf_search_topk(1, SV, 1, blp, lp, got, &n), SF_OK);
        sf_cand g1;
        int32_t n1;
        ck_assert_int_eq(sf_search_argmax(SV, blp[0], lp, &g1, &n1), SF_OK);
        ck_assert_msg(n1 == (n > 0) && (n == 0 || (g1.token == got[0].token &&
                                                   g1.score == got[0].score)),
                      "trial %d: argmax differs from top-1", (int)trial);
    }
    lp[SV + 4] = NAN;
    ck_assert_int_eq(sf_search_topk(NB, SV, K, blps[0], lp, got, &n), SF_ERR_NUMERIC);
    ck_assert_int_eq(sf_search_argmax(SV, -1.0, lp + SV, got, &n), SF_ERR_NUMERIC);
}
END_TEST

/* Results identical to the bit: tokens, scores, attention. */
static void check_same(const char *cn, const sf_hyp *a, const sf_hyp *b, int32_t s, int32_t h)
{
    ck_assert_msg(a->len == b->len && a->eos == b->eos && a->logprob == b->logprob &&
                      a->score == b->score && a->src_len == b->src_len &&
                      memcmp(a->tokens, b->tokens, sizeof(int32_t) * (size_t)a->len) == 0,
                  "%s: sentence %d hyp %d differs (len %d/%d, score %.17g/%.17g)", cn, (int)s,
                  (int)h, (int)a->len, (int)b->len, a->score, b->score);
    size_t na = sizeof(float) * (size_t)((a->len + a->eos) * a->src_len);
    ck_assert_msg((!a->attn && !b->attn) || memcmp(a->attn, b->attn, na) == 0,
                  "%s: sentence %d hyp %d: attention differs", cn, (int)s, (int)h);
}

static const tsent mixed[5] = {{51, K_RANDOM, 4}, {52, K_EOSFIRST, 1}, {53, K_RANDOM, 2},
                               {54, K_NOEOS, 3}, {55, K_RANDOM, 6}};

/* Searching together or one by one gives the same results; K = 1 and K = 3. */
START_TEST(test_batch_invariance)
{
    sf_search_opts o = opts(_i == 0 ? 1 : 3, _i == 0 ? 1 : 2, 0.6f, 0.3f, 1.0f, 2.0f);
    o.want_attention = 1;
    const char *cn = _i == 0 ? "greedy" : "beam 3";
    sf_search_result all, one;
    ck_assert_msg(run(mixed, 5, &o, 1, NULL, &all) == SF_OK, "%s: %s", cn, sf_last_error());
    check_valid(cn, mixed, 5, &o, &all);
    for (int32_t s = 0; s < 5; s++) {
        ck_assert_msg(run(&mixed[s], 1, &o, 1, NULL, &one) == SF_OK, "%s", sf_last_error());
        ck_assert_int_eq(one.n_hyps[0], all.n_hyps[s]);
        for (int32_t h = 0; h < one.n_hyps[0]; h++)
            check_same(cn, &all.hyps[s][h], &one.hyps[0][h], s, h);
        sf_search_result_free(&one);
    }
    sf_search_result_free(&all);
}
END_TEST

/* The greedy fast path equals the general path at K = 1, step for step. */
START_TEST(test_greedy_fast_path)
{
    sf_search_opts o = opts(1, 1, 0.6f, _i ? 0.4f : 0.0f, 1.0f, 3.0f);
    o.want_attention = _i;
    sf_search_result fast, gen;
    tmodel tf = {.nan_at = -1, .fail_at = -1}, tg = tf;
    ck_assert_msg(run(mixed, 5, &o, 1, &tf, &fast) == SF_OK, "%s", sf_last_error());
    ck_assert_msg(run(mixed, 5, &o, 0, &tg, &gen) == SF_OK, "%s", sf_last_error());
    check_valid("greedy", mixed, 5, &o, &fast);
    ck_assert_int_eq(tf.t, tg.t);
    ck_assert(memcmp(tf.step_rows, tg.step_rows, sizeof(int32_t) * (size_t)tf.t) == 0);
    for (int32_t s = 0; s < 5; s++)
        check_same("greedy", &fast.hyps[s][0], &gen.hyps[s][0], s, 0);
    ck_assert_msg(fast.hyps[1][0].len == 0 && fast.hyps[1][0].eos == 1,
                  "eos-first sentence: greedy gave %d tokens", (int)fast.hyps[1][0].len);
    sf_search_result_free(&fast);
    sf_search_result_free(&gen);
}
END_TEST

/* No </s> ever: every sentence is cut at its own max length (a |X| + b = 2, 4, 7),
 * finishes at its own step, and the rows shrink as sentences leave. */
START_TEST(test_max_length_rows_shrink)
{
    static const tsent ss[3] = {{61, K_NOEOS, 1}, {62, K_NOEOS, 3}, {63, K_NOEOS, 6}};
    static const int32_t want_rows[7] = {3, 6, 4, 4, 2, 2, 2};
    sf_search_opts o = opts(2, 2, 0.6f, 0.0f, 1.0f, 1.0f);
    sf_search_result res;
    tmodel tm = {.nan_at = -1, .fail_at = -1};
    ck_assert_msg(run(ss, 3, &o, 1, &tm, &res) == SF_OK, "%s", sf_last_error());
    check_valid("no eos", ss, 3, &o, &res);
    for (int32_t s = 0; s < 3; s++)
        for (int32_t h = 0; h < res.n_hyps[s]; h++)
            ck_assert_msg(res.hyps[s][h].len == max_len(&ss[s], &o) && !res.hyps[s][h].eos,
                          "sentence %d hyp %d: len %d", (int)s, (int)h, (int)res.hyps[s][h].len);
    ck_assert_int_eq(tm.t, 7);
    for (int32_t t = 0; t < 7; t++)
        ck_assert_msg(tm.step_rows[t] == want_rows[t], "step %d: %d rows, expected %d", (int)t,
                      (int)tm.step_rows[t], (int)want_rows[t]);
    sf_search_result_free(&res);
}
END_TEST

/* Control: a decoder that ignores reorder's from[] yields log-probs that do not
 * match the returned paths; the recomputation above would catch it. */
START_TEST(test_reorder_control)
{
    sf_search_opts o = opts(3, 3, 0.6f, 0.0f, 1.0f, 3.0f);
    sf_search_result res;
    tmodel tm = {.sloppy = 1, .nan_at = -1, .fail_at = -1};
    ck_assert_msg(run(mixed, 5, &o, 1, &tm, &res) == SF_OK, "%s", sf_last_error());
    int32_t wrong = 0;
    for (int32_t s = 0; s < 5; s++)
        for (int32_t h = 0; h < res.n_hyps[s]; h++) {
            double lp, sc;
            const sf_hyp *hy = &res.hyps[s][h];
            score_path(&mixed[s], hy->tokens, hy->len, hy->eos, &o, &lp, &sc, NULL);
            wrong += lp != hy->logprob;
        }
    ck_assert_msg(wrong > 0, "a wrong reorder went unnoticed");
    sf_search_result_free(&res);
}
END_TEST

/* Bad arguments and failing decoders: a status, a message, nothing to free. */
START_TEST(test_errors)
{
    static const tsent ss[2] = {{81, K_RANDOM, 2}, {82, K_RANDOM, 3}};
    sf_search_opts good = opts(3, 1, 0.6f, 0.0f, 1.0f, 3.0f), bad[5];
    for (int i = 0; i < 5; i++)
        bad[i] = good;
    bad[0].beam = 0;
    bad[1].n_best = 4;
    bad[2].alpha = NAN;
    bad[3].max_len_b = INFINITY;
    bad[4].max_len_a = 1e7f;
    sf_search_result res;
    for (int i = 0; i < 5; i++) {
        ck_assert_msg(run(ss, 2, &bad[i], 1, NULL, &res) == SF_ERR_INVALID_ARG,
                      "bad options %d accepted", i);
        ck_assert_msg(res.n_sent == 0 && res.hyps == NULL && strstr(sf_last_error(), "sf_search"),
                      "bad options %d: %s", i, sf_last_error());
    }
    tmodel tm = {.nan_at = 2, .fail_at = -1};
    ck_assert_int_eq(run(ss, 2, &good, 1, &tm, &res), SF_ERR_NUMERIC);
    ck_assert_msg(strstr(sf_last_error(), "step 2") && res.hyps == NULL, "%s", sf_last_error());
    tm = (tmodel){.nan_at = -1, .fail_at = 1};
    ck_assert_int_eq(run(ss, 2, &good, 1, &tm, &res), SF_ERR_IO);
    ck_assert_msg(strstr(sf_last_error(), "decoder step 1") &&
                      strstr(sf_last_error(), "planned failure"), "%s", sf_last_error());
    int32_t len[2] = {2, -1};
    sf_search_model m = {NULL, TV, tm_step, tm_reorder, NULL}, m3 = m;
    m3.vocab = 3;
    ck_assert_int_eq(sf_search(&m, 2, len, &good, &res), SF_ERR_INVALID_ARG);
    ck_assert_int_eq(sf_search(&m3, 2, len, &good, &res), SF_ERR_INVALID_ARG);
    ck_assert_int_eq(sf_search(NULL, 2, len, &good, &res), SF_ERR_INVALID_ARG);
    ck_assert_int_eq(sf_search(&m, 0, NULL, NULL, &res), SF_OK); /* empty batch */
    ck_assert_int_eq(res.n_sent, 0);
    sf_search_result_free(&res);
    sf_search_result_free(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("search");
    TCase *tc = tcase_create("beam");
    tcase_add_loop_test(tc, test_beam_exhaustive, 0, (int)(sizeof ex_cases / sizeof ex_cases[0]));
    tcase_add_loop_test(tc, test_beam_small_k_valid, 0, 3);
    tcase_add_loop_test(tc, test_batch_invariance, 0, 2);
    tcase_add_test(tc, test_max_length_rows_shrink);
    tcase_add_test(tc, test_reorder_control);
    tcase_add_loop_test(tc, test_beam_vs_reference, 0, 4);
    suite_add_tcase(s, tc);
    tc = tcase_create("select");
    tcase_add_loop_test(tc, test_topk_vs_sort, 0, 5);
    suite_add_tcase(s, tc);
    tc = tcase_create("greedy");
    tcase_add_loop_test(tc, test_greedy_fast_path, 0, 2);
    suite_add_tcase(s, tc);
    tc = tcase_create("errors");
    tcase_add_test(tc, test_errors);
    suite_add_tcase(s, tc);
    return sf_test_main(s);
}
