/* test_rnn.c: the recurrent cells (nn/rnn.h) on the CPU backend: the step
 * against a naive double-precision scalar reference of DESIGN.md's equations, the
 * layer against the step run sequence by sequence (padding, reverse, lengths),
 * finite-difference checks of every gradient at step and layer level, and a
 * bidirectional layer against PyTorch's numbers (tests/data/rnn_torch.py). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/rnn.h"
#include "sf_test.h"

/* Finite differences: central, step FD_EPS, in float32 arithmetic. A gradient
 * passes when |numeric - analytic| <= FD_ATOL + FD_RTOL * max(|numeric|, |analytic|).
 * Gradients here are O(0.1..3); a wrong term is off by far more than that. */
#define FD_EPS 1e-2f
#define FD_RTOL 2e-3
#define FD_ATOL 1e-4
/* Forward comparisons against the double reference / the step function. */
#define FWD_TOL 1e-5

static const sf_cell_type cells[3] = {SF_CELL_RNN, SF_CELL_GRU, SF_CELL_LSTM};
/* The padded batch of the layer tests: T = 5, B = 3. */
static const int32_t lens[3] = {5, 2, 4};

static sf_backend *cpu(void)
{
    sf_backend *be = NULL;
    ck_assert_int_eq(sf_backend_open("cpu", &be), SF_OK);
    return be;
}

/* Loop index -> (cell, reverse or masked, init), 12 cases. */
typedef struct cell_case {
    sf_cell_type t;
    int flag; /* layer: reverse; step: some rows masked */
    int init; /* layer: h0/c0 given (else NULL = zeros); step: dc given (else NULL) */
    char name[48];
} cell_case;

static cell_case case_of(int i, const char *flag_name, const char *init_name)
{
    cell_case c = {cells[i / 4], (i / 2) % 2, i % 2, ""};
    snprintf(c.name, sizeof c.name, "%s/%s%s%s%s%s", sf_cell_name(c.t), c.flag ? "" : "no-",
             flag_name, *init_name ? "/" : "", *init_name && !c.init ? "no-" : "", init_name);
    return c;
}

static float *rnd(size_t n, float lo, float hi, uint64_t seed)
{
    float *p = malloc(n * sizeof(float) + 4);
    sf_test_randu(p, (int64_t)n, lo, hi, seed);
    return p;
}

static float *filled(size_t n, float v)
{
    float *p = malloc(n * sizeof(float) + 4);
    for (size_t i = 0; i < n; i++)
        p[i] = v;
    return p;
}

/* Weights with PyTorch's layout, and gradient buffers prefilled with GPRE so the
 * checks also prove the backward accumulates (+=). */
#define GPRE 0.25f
typedef struct params {
    float *w[4]; /* w_ih [G*h, in], w_hh [G*h, h], b_ih [G*h], b_hh [G*h] */
    float *g[4];
    int n[4];
} params;

static void params_init(params *p, sf_cell_type t, int in, int h, uint64_t seed)
{
    int W = sf_cell_gates(t) * h;
    p->n[0] = W * in, p->n[1] = W * h, p->n[2] = W, p->n[3] = W;
    for (int k = 0; k < 4; k++) {
        p->w[k] = rnd((size_t)p->n[k], -0.6f, 0.6f, seed + k);
        p->g[k] = filled((size_t)p->n[k], GPRE);
    }
}

static void params_free(params *p)
{
    for (int k = 0; k < 4; k++)
        free(p->w[k]), free(p->g[k]);
}

static sf_rnn_weights weights_of(const params *p)
{
    return (sf_rnn_weights){p->w[0], p->w[1], p->w[2], p->w[3]};
}

/* ================================================================ naive reference */

static double sg(double v) { return 1.0 / (1.0 + exp(-v)); }

/* One row of DESIGN.md 1 in double. x [in], hp, cp [h] -> ho, co [h] (co: lstm). */
static void ref_row(sf_cell_type t, int in, int h, const float *x, const params *p,
                    const float *hp, const float *cp, double *ho, double *co)
{
    double ax[64], ah[64];
    int W = sf_cell_gates(t) * h;
    for (int k = 0; k < W; k++) {
        ax[k] = p->w[2][k], ah[k] = p->w[3][k];
        for (int j = 0; j < in; j++)
            ax[k] += (double)p->w[0][k * in + j] * x[j];
        for (int j = 0; j < h; j++)
            ah[k] += (double)p->w[1][k * h + j] * hp[j];
    }
    for (int j = 0; j < h; j++) {
        if (t == SF_CELL_RNN) {
            ho[j] = tanh(ax[j] + ah[j]);
        } else if (t == SF_CELL_LSTM) {
            double i = sg(ax[j] + ah[j]), f = sg(ax[h + j] + ah[h + j]);
            double g = tanh(ax[2 * h + j] + ah[2 * h + j]), o = sg(ax[3 * h + j] + ah[3 * h + j]);
            co[j] = f * cp[j] + i * g;
            ho[j] = o * tanh(co[j]);
        } else {
            double r = sg(ax[j] + ah[j]), z = sg(ax[h + j] + ah[h + j]);
            double n = tanh(ax[2 * h + j] + r * ah[2 * h + j]);
            ho[j] = (1.0 - z) * n + z * hp[j];
        }
    }
}

static int close_enough(double a, double b, double tol)
{
    return fabs(a - b) <= tol * (1.0 + fabs(b));
}

/* ================================================================ step forward */

START_TEST(test_step_fwd_vs_reference)
{
    cell_case c = case_of(2 * _i, "mask", ""); /* 6 cases: cell x mask */
    sf_backend *be = cpu();
    const int B = 4, in = 3, ldx = 5, h = 6;
    const float mask[4] = {1, 0, 1, 1};
    params p;
    params_init(&p, c.t, in, h, 10 + _i);
    float *x = rnd((size_t)B * ldx, -1, 1, 1), *hp = rnd((size_t)B * h, -1, 1, 2);
    float *cp = rnd((size_t)B * h, -1, 1, 3), *ho = filled((size_t)B * h, 9);
    float *co = filled((size_t)B * h, 9);
    float *cache = filled(sf_rnn_step_cache_floats(c.t, B, h), NAN);
    sf_rnn_weights w = weights_of(&p);
    int lstm = c.t == SF_CELL_LSTM;
    ck_assert_int_eq(sf_rnn_step_fwd(be, c.t, B, in, h, x, ldx, &w, hp, lstm ? cp : NULL,
                                     c.flag ? mask : NULL, ho, lstm ? co : NULL, cache),
                     SF_OK);
    for (int b = 0; b < B; b++) {
        double rh[16], rc[16];
        ref_row(c.t, in, h, x + b * ldx, &p, hp + b * h, cp + b * h, rh, rc);
        int keep = c.flag && mask[b] == 0.0f;
        for (int j = 0; j < h; j++) {
            double eh = keep ? hp[b * h + j] : rh[j], ec = keep ? cp[b * h + j] : rc[j];
            ck_assert_msg(close_enough(ho[b * h + j], eh, FWD_TOL), "%s: h_out[%d,%d] = %g, "
                          "expected %g", c.name, b, j, ho[b * h + j], eh);
            ck_assert_msg(!lstm || close_enough(co[b * h + j], ec, FWD_TOL), "%s: c_out[%d,%d]"
                          " = %g, expected %g", c.name, b, j, co[b * h + j], ec);
        }
    }
    params_free(&p);
    free(x), free(hp), free(cp), free(ho), free(co), free(cache);
    sf_backend_close(be);
}
END_TEST

/* ================================================================ layer problem */

/* One layer direction with its inputs, outputs and loss weights:
 * loss = sum(y * R) + sum(hT * R2) + sum(cT * R3). */
typedef struct layer_prob {
    sf_backend *be;
    sf_cell_type t;
    int T, B, in, h, ldy, reverse, use_h0;
    const int32_t *lengths;
    params p;
    float *x, *h0, *c0, *y, *hT, *cT, *cache, *R, *R2, *R3;
} layer_prob;

static void layer_init(layer_prob *lp, sf_backend *be, cell_case c, int T, const int32_t *len,
                       uint64_t seed)
{
    memset(lp, 0, sizeof *lp);
    lp->be = be, lp->t = c.t, lp->T = T, lp->B = 3, lp->in = 4, lp->h = 5, lp->ldy = 7;
    lp->reverse = c.flag, lp->use_h0 = c.init, lp->lengths = len;
    size_t TB = (size_t)T * lp->B, Bh = (size_t)lp->B * lp->h;
    params_init(&lp->p, c.t, lp->in, lp->h, seed);
    lp->x = rnd(TB * lp->in, -1, 1, seed + 10);
    lp->h0 = c.init ? rnd(Bh, -1, 1, seed + 11) : filled(Bh, 0);
    lp->c0 = c.init ? rnd(Bh, -1, 1, seed + 12) : filled(Bh, 0);
    lp->y = filled(TB * lp->ldy, 7), lp->hT = filled(Bh, 7), lp->cT = filled(Bh, 7);
    lp->cache = filled(sf_rnn_layer_cache_floats(c.t, T, lp->B, lp->in, lp->h), NAN);
    lp->R = rnd(TB * lp->ldy, -1, 1, seed + 13);
    lp->R2 = rnd(Bh, -1, 1, seed + 14), lp->R3 = rnd(Bh, -1, 1, seed + 15);
}

static void layer_free(layer_prob *lp)
{
    params_free(&lp->p);
    free(lp->x), free(lp->h0), free(lp->c0), free(lp->y), free(lp->hT), free(lp->cT);
    free(lp->cache), free(lp->R), free(lp->R2), free(lp->R3);
}

static sf_status layer_fwd(layer_prob *lp)
{
    sf_rnn_weights w = weights_of(&lp->p);
    return sf_rnn_layer_fwd(lp->be, lp->t, lp->T, lp->B, lp->in, lp->h, lp->x, lp->lengths,
                            lp->reverse, &w, lp->use_h0 ? lp->h0 : NULL,
                            lp->use_h0 ? lp->c0 : NULL, lp->y, lp->ldy, lp->hT, lp->cT,
                            lp->cache);
}

static double layer_loss(void *ctx)
{
    layer_prob *lp = ctx;
    ck_assert_int_eq(layer_fwd(lp), SF_OK);
    double L = 0.0;
    for (int r = 0; r < lp->T * lp->B; r++)
        for (int j = 0; j < lp->h; j++)
            L += (double)lp->y[r * lp->ldy + j] * lp->R[r * lp->ldy + j];
    for (int k = 0; k < lp->B * lp->h; k++)
        L += (double)lp->hT[k] * lp->R2[k] +
             (lp->t == SF_CELL_LSTM ? (double)lp->cT[k] * lp->R3[k] : 0.0);
    return L;
}

/* ================================================================ layer forward */

/* Run the step function on sequence b alone (B = 1, unpadded, in the direction's
 * order) and compare every output position and the final state. */
static void check_against_steps(layer_prob *lp, int b, const char *name)
{
    const int h = lp->h, in = lp->in, B = lp->B, lstm = lp->t == SF_CELL_LSTM;
    float hs[16], cs[16], hn[16], cn[16];
    float *cache = malloc(sf_rnn_step_cache_floats(lp->t, 1, h) * sizeof(float));
    sf_rnn_weights w = weights_of(&lp->p);
    memcpy(hs, lp->h0 + b * h, h * sizeof(float)); /* zeros when !use_h0 */
    memcpy(cs, lp->c0 + b * h, h * sizeof(float));
    int len = lp->lengths[b];
    for (int k = 0; k < len; k++) {
        int pos = lp->reverse ? len - 1 - k : k;
        ck_assert_int_eq(sf_rnn_step_fwd(lp->be, lp->t, 1, in, h, lp->x + (pos * B + b) * in,
                                         in, &w, hs, lstm ? cs : NULL, NULL, hn,
                                         lstm ? cn : NULL, cache), SF_OK);
        for (int j = 0; j < h; j++)
            ck_assert_msg(close_enough(lp->y[(pos * B + b) * lp->ldy + j], hn[j], FWD_TOL),
                          "%s: y[%d,%d,%d] = %g, step-by-step %g", name, pos, b, j,
                          lp->y[(pos * B + b) * lp->ldy + j], hn[j]);
        memcpy(hs, hn, sizeof hs), memcpy(cs, cn, sizeof cs);
    }
    for (int j = 0; j < h; j++) {
        ck_assert_msg(close_enough(lp->hT[b * h + j], hs[j], FWD_TOL), "%s: hT[%d,%d] = %g, "
                      "expected %g", name, b, j, lp->hT[b * h + j], hs[j]);
        ck_assert_msg(!lstm || close_enough(lp->cT[b * h + j], cs[j], FWD_TOL), "%s: cT[%d,%d]"
                      " = %g, expected %g", name, b, j, lp->cT[b * h + j], cs[j]);
    }
    for (int pos = len; pos < lp->T; pos++) /* pads: exactly zero */
        for (int j = 0; j < h; j++)
            ck_assert_msg(lp->y[(pos * B + b) * lp->ldy + j] == 0.0f, "%s: pad y[%d,%d,%d] = "
                          "%g, expected 0", name, pos, b, j, lp->y[(pos * B + b) * lp->ldy + j]);
    for (int pos = 0; pos < lp->T; pos++) /* columns past h untouched */
        for (int j = h; j < lp->ldy; j++)
            ck_assert_msg(lp->y[(pos * B + b) * lp->ldy + j] == 7.0f, "%s: y[%d,%d,%d] past h "
                          "was written", name, pos, b, j);
    free(cache);
}

START_TEST(test_layer_fwd_vs_steps)
{
    cell_case c = case_of(_i, "reverse", "h0");
    sf_backend *be = cpu();
    layer_prob lp;
    layer_init(&lp, be, c, 5, lens, 100 + _i);
    ck_assert_int_eq(layer_fwd(&lp), SF_OK);
    for (int b = 0; b < lp.B; b++)
        check_against_steps(&lp, b, c.name);

    /* padding invariance: two more pad steps (finite garbage in x) change nothing */
    layer_prob lp7;
    layer_init(&lp7, be, c, 7, lens, 100 + _i);
    memcpy(lp7.x, lp.x, (size_t)5 * lp.B * lp.in * sizeof(float));
    ck_assert_int_eq(layer_fwd(&lp7), SF_OK);
    size_t n5 = (size_t)5 * lp.B * lp.ldy, Bh = (size_t)lp.B * lp.h;
    ck_assert_msg(sf_test_tol_ratio(lp7.y, lp.y, (int64_t)n5, 1e-6, 1e-6) <= 1.0,
                  "%s: y[0..4] changed by padding to T=7", c.name);
    for (size_t k = n5; k < (size_t)7 * lp.B * lp.ldy; k++)
        ck_assert_msg(lp7.y[k] == (k % lp.ldy < (size_t)lp.h ? 0.0f : 7.0f),
                      "%s: T=7 pad output [%zu] = %g", c.name, k, lp7.y[k]);
    ck_assert_msg(sf_test_tol_ratio(lp7.hT, lp.hT, (int64_t)Bh, 1e-6, 1e-6) <= 1.0,
                  "%s: hT changed by padding to T=7", c.name);
    layer_free(&lp7);
    layer_free(&lp);
    sf_backend_close(be);
}
END_TEST

START_TEST(test_layer_empty_and_bad_lengths)
{
    sf_backend *be = cpu();
    for (int i = 0; i < 3; i++) {
        cell_case c = case_of(4 * i + 3, "reverse", "h0"); /* reverse, h0 given */
        int32_t len[3] = {3, 0, 1};
        layer_prob lp;
        layer_init(&lp, be, c, 3, len, 300 + i);
        ck_assert_int_eq(layer_fwd(&lp), SF_OK);
        for (int b = 0; b < lp.B; b++)
            check_against_steps(&lp, b, c.name); /* b = 1: y all 0, hT = h0 */
        len[2] = 4;
        ck_assert_int_eq(layer_fwd(&lp), SF_ERR_INVALID_ARG);
        ck_assert_msg(strstr(sf_last_error(), "lengths[2] = 4") != NULL, "%s: message \"%s\"",
                      c.name, sf_last_error());
        layer_free(&lp);
    }
    sf_backend_close(be);
}
END_TEST

START_TEST(test_cell_names)
{
    sf_cell_type t;
    const char *names[3] = {"rnn", "gru", "lstm"};
    const int gates[3] = {1, 3, 4};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(sf_cell_parse(names[i], &t), SF_OK);
        ck_assert_int_eq(t, cells[i]);
        ck_assert_str_eq(sf_cell_name(t), names[i]);
        ck_assert_int_eq(sf_cell_gates(t), gates[i]);
    }
    ck_assert_int_eq(sf_cell_parse("LSTMx", &t), SF_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(sf_last_error(), "rnn, gru or lstm"));
}
END_TEST

/* ================================================================ finite differences */

typedef struct fd_param {
    const char *name;
    float *v;           /* the input, perturbed in place */
    const float *grad;  /* analytic gradient, same layout */
    int n, cols, ldv, ldg; /* index k -> v[(k / cols) * ldv + k % cols], grad at ldg */
    float pre;          /* what the gradient buffer held before the backward */
    int *flag;          /* set to 1 while perturbing (h0 given instead of NULL) */
} fd_param;

static void fd_check(const char *name, double (*loss)(void *), void *ctx, const fd_param *ps,
                     int np)
{
    for (int q = 0; q < np; q++) {
        const fd_param *p = &ps[q];
        for (int k = 0; k < p->n; k++) {
            size_t e = (size_t)(k / p->cols) * p->ldv + k % p->cols;
            size_t eg = (size_t)(k / p->cols) * p->ldg + k % p->cols;
            float v = p->v[e], vp = v + FD_EPS, vm = v - FD_EPS;
            int saved_flag = p->flag ? *p->flag : 0;
            if (p->flag)
                *p->flag = 1;
            p->v[e] = vp;
            double lp = loss(ctx);
            p->v[e] = vm;
            double lm = loss(ctx);
            p->v[e] = v;
            if (p->flag)
                *p->flag = saved_flag;
            double num = (lp - lm) / ((double)vp - vm), ana = (double)p->grad[eg] - p->pre;
            double tol = FD_ATOL + FD_RTOL * fmax(fabs(num), fabs(ana));
            ck_assert_msg(fabs(num - ana) <= tol, "%s: d loss / d %s[%d]: analytic %.6g, "
                          "numeric %.6g (tol %.2g)", name, p->name, k, ana, num, tol);
        }
    }
}

static int weight_params(const params *p, fd_param *ps)
{
    static const char *names[4] = {"w_ih", "w_hh", "b_ih", "b_hh"};
    for (int k = 0; k < 4; k++)
        ps[k] = (fd_param){names[k], p->w[k], p->g[k], p->n[k], 1, 1, 1, GPRE, NULL};
    return 4;
}

START_TEST(test_layer_grad_fd)
{
    cell_case c = case_of(_i, "reverse", "h0");
    sf_backend *be = cpu();
    layer_prob lp;
    layer_init(&lp, be, c, 5, lens, 200 + _i);
    const int lstm = c.t == SF_CELL_LSTM;
    size_t TB = (size_t)lp.T * lp.B, Bh = (size_t)lp.B * lp.h;
    float *dx = filled(TB * lp.in, GPRE), *dh0 = filled(Bh, 99), *dc0 = filled(Bh, 99);
    layer_loss(&lp);
    sf_rnn_weights w = weights_of(&lp.p);
    sf_rnn_grads g = {lp.p.g[0], lp.p.g[1], lp.p.g[2], lp.p.g[3]};
    ck_assert_int_eq(sf_rnn_layer_bwd(be, c.t, lp.T, lp.B, lp.in, lp.h, lp.x, lens, lp.reverse,
                                      &w, NULL, NULL, lp.cache, lp.R, lp.ldy, lp.R2,
                                      lstm ? lp.R3 : NULL, dx, dh0, lstm ? dc0 : NULL, &g),
                     SF_OK);
    fd_param ps[8];
    int np = weight_params(&lp.p, ps);
    ps[np++] = (fd_param){"x", lp.x, dx, (int)(TB * lp.in), 1, 1, 1, GPRE, NULL};
    ps[np++] = (fd_param){"h0", lp.h0, dh0, (int)Bh, 1, 1, 1, 0, &lp.use_h0};
    if (lstm)
        ps[np++] = (fd_param){"c0", lp.c0, dc0, (int)Bh, 1, 1, 1, 0, &lp.use_h0};
    fd_check(c.name, layer_loss, &lp, ps, np);
    free(dx), free(dh0), free(dc0);
    layer_free(&lp);
    sf_backend_close(be);
}
END_TEST

/* One step over B rows (strided x, some rows masked):
 * loss = sum(h_out * R) (+ sum(c_out * R3) when use_dc). */
typedef struct step_prob {
    sf_backend *be;
    sf_cell_type t;
    int B, in, ldx, h, use_dc;
    const float *mask;
    params p;
    float *x, *hp, *cp, *ho, *co, *cache, *R, *R3;
} step_prob;

static double step_loss(void *ctx)
{
    step_prob *sp = ctx;
    sf_rnn_weights w = weights_of(&sp->p);
    int lstm = sp->t == SF_CELL_LSTM;
    ck_assert_int_eq(sf_rnn_step_fwd(sp->be, sp->t, sp->B, sp->in, sp->h, sp->x, sp->ldx, &w,
                                     sp->hp, lstm ? sp->cp : NULL, sp->mask, sp->ho,
                                     lstm ? sp->co : NULL, sp->cache), SF_OK);
    double L = 0.0;
    for (int k = 0; k < sp->B * sp->h; k++)
        L += (double)sp->ho[k] * sp->R[k] +
             (lstm && sp->use_dc ? (double)sp->co[k] * sp->R3[k] : 0.0);
    return L;
}

START_TEST(test_step_grad_fd)
{
    cell_case c = case_of(_i, "mask", "dc");
    sf_backend *be = cpu();
    static const float mask[3] = {1, 0, 1};
    step_prob sp;
    memset(&sp, 0, sizeof sp);
    sp.be = be, sp.t = c.t, sp.B = 3, sp.in = 4, sp.ldx = 6, sp.h = 5, sp.use_dc = c.init;
    sp.mask = c.flag ? mask : NULL;
    const int B = sp.B, h = sp.h, lddx = 7, lstm = c.t == SF_CELL_LSTM;
    params_init(&sp.p, c.t, sp.in, h, 400 + _i);
    sp.x = rnd((size_t)B * sp.ldx, -1, 1, 1), sp.hp = rnd((size_t)B * h, -1, 1, 2);
    sp.cp = rnd((size_t)B * h, -1, 1, 3), sp.ho = filled((size_t)B * h, 0);
    sp.co = filled((size_t)B * h, 0), sp.R = rnd((size_t)B * h, -1, 1, 4);
    sp.R3 = rnd((size_t)B * h, -1, 1, 5);
    sp.cache = filled(sf_rnn_step_cache_floats(c.t, B, h), NAN);
    float *dx = filled((size_t)B * lddx, GPRE), *dhp = filled((size_t)B * h, 99);
    float *dcp = filled((size_t)B * h, 99);
    step_loss(&sp);
    sf_rnn_weights w = weights_of(&sp.p);
    sf_rnn_grads g = {sp.p.g[0], sp.p.g[1], sp.p.g[2], sp.p.g[3]};
    ck_assert_int_eq(sf_rnn_step_bwd(be, c.t, B, sp.in, h, sp.x, sp.ldx, &w, sp.hp,
                                     lstm ? sp.cp : NULL, sp.mask, sp.cache, sp.R,
                                     lstm && sp.use_dc ? sp.R3 : NULL, dx, lddx, dhp,
                                     lstm ? dcp : NULL, &g), SF_OK);
    fd_param ps[8];
    int np = weight_params(&sp.p, ps);
    ps[np++] = (fd_param){"x", sp.x, dx, B * sp.in, sp.in, sp.ldx, lddx, GPRE, NULL};
    ps[np++] = (fd_param){"h_prev", sp.hp, dhp, B * h, 1, 1, 1, 0, NULL};
    if (lstm)
        ps[np++] = (fd_param){"c_prev", sp.cp, dcp, B * h, 1, 1, 1, 0, NULL};
    fd_check(c.name, step_loss, &sp, ps, np);
    params_free(&sp.p);
    free(sp.x), free(sp.hp), free(sp.cp), free(sp.ho), free(sp.co), free(sp.cache);
    free(sp.R), free(sp.R3), free(dx), free(dhp), free(dcp);
    sf_backend_close(be);
}
END_TEST

/* ================================================================ PyTorch parity */

/* Against torch.nn.{RNN,GRU,LSTM}(bidirectional) over a packed batch: the file
 * and its layout come from tests/data/rnn_torch.py. Both directions write halves
 * of y [T, B, 2h]; tolerance 1e-5 abs + 1e-4 rel (float32, other sum orders). */
#define TORCH_ATOL 1e-5
#define TORCH_RTOL 1e-4

typedef struct torch_blocks {
    const float *x, *h0, *c0, *R, *R2, *R3, *w[2][4], *y, *hn, *cn, *dx, *dh0, *dc0, *g[2][4];
} torch_blocks;

/* Walk one cell's blocks from *cur (floats), advancing it. */
static torch_blocks torch_walk(const float **cur, int T, int B, int in, int h, int W)
{
    const int n_w[4] = {W * in, W * h, W, W}, TB = T * B, Bh2 = 2 * B * h;
    const int n_in[6] = {TB * in, Bh2, Bh2, TB * 2 * h, Bh2, Bh2};
    const int n_out[6] = {TB * 2 * h, Bh2, Bh2, TB * in, Bh2, Bh2};
    torch_blocks tb;
    const float **in_p[6] = {&tb.x, &tb.h0, &tb.c0, &tb.R, &tb.R2, &tb.R3};
    const float **out_p[6] = {&tb.y, &tb.hn, &tb.cn, &tb.dx, &tb.dh0, &tb.dc0};
    for (int k = 0; k < 6; k++)
        *in_p[k] = *cur, *cur += n_in[k];
    for (int d = 0; d < 2; d++)
        for (int k = 0; k < 4; k++)
            tb.w[d][k] = *cur, *cur += n_w[k];
    for (int k = 0; k < 6; k++)
        *out_p[k] = *cur, *cur += n_out[k];
    for (int d = 0; d < 2; d++)
        for (int k = 0; k < 4; k++)
            tb.g[d][k] = *cur, *cur += n_w[k];
    return tb;
}

static void expect_close(const char *cell, const char *dir, const char *what,
                         const float *got, const float *want, int n)
{
    double r = sf_test_tol_ratio(got, want, n, TORCH_ATOL, TORCH_RTOL);
    ck_assert_msg(r <= 1.0, "%s%s: %s differs from PyTorch (error ratio %g)", cell, dir, what,
                  r);
}

START_TEST(test_layer_vs_torch)
{
    size_t bytes = 0;
    char *file = sf_test_read_file(SF_TEST_DATA_DIR "/rnn_torch.bin", &bytes);
    ck_assert_msg(file != NULL && bytes > 28, "cannot read tests/data/rnn_torch.bin");
    int32_t hdr[7];
    memcpy(hdr, file, sizeof hdr);
    const int T = hdr[0], B = hdr[1], in = hdr[2], h = hdr[3];
    ck_assert_msg(B == 3, "rnn_torch.bin: B = %d, expected 3", B);
    const int32_t *len = hdr + 4;
    float *all = malloc(bytes); /* aligned copy of the float part */
    memcpy(all, file + sizeof hdr, bytes - sizeof hdr);
    const float *cur = all;
    sf_backend *be = cpu();
    for (int i = 0; i < 3; i++) {
        sf_cell_type t = cells[i];
        const char *cn = sf_cell_name(t);
        const int W = sf_cell_gates(t) * h, lstm = t == SF_CELL_LSTM;
        torch_blocks tb = torch_walk(&cur, T, B, in, h, W);
        ck_assert_msg((size_t)((const char *)cur - (const char *)all) <= bytes - sizeof hdr,
                      "rnn_torch.bin is too short at %s", cn);
        size_t Bh = (size_t)B * h, TB = (size_t)T * B;
        float *y = filled(TB * 2 * h, 7), *hn = filled(2 * Bh, 0), *c_n = filled(2 * Bh, 0);
        float *dx = filled(TB * in, 0), *dh0 = filled(2 * Bh, 0), *dc0 = filled(2 * Bh, 0);
        float *g[2][4], *cache[2];
        const int n_w[4] = {W * in, W * h, W, W};
        for (int d = 0; d < 2; d++) {
            for (int k = 0; k < 4; k++)
                g[d][k] = filled((size_t)n_w[k], 0);
            cache[d] = filled(sf_rnn_layer_cache_floats(t, T, B, in, h), NAN);
            sf_rnn_weights w = {tb.w[d][0], tb.w[d][1], tb.w[d][2], tb.w[d][3]};
            ck_assert_int_eq(sf_rnn_layer_fwd(be, t, T, B, in, h, tb.x, len, d, &w,
                                              tb.h0 + d * Bh, tb.c0 + d * Bh, y + d * h, 2 * h,
                                              hn + d * Bh, lstm ? c_n + d * Bh : NULL,
                                              cache[d]), SF_OK);
        }
        for (int d = 0; d < 2; d++) {
            sf_rnn_weights w = {tb.w[d][0], tb.w[d][1], tb.w[d][2], tb.w[d][3]};
            sf_rnn_grads gr = {g[d][0], g[d][1], g[d][2], g[d][3]};
            ck_assert_int_eq(sf_rnn_layer_bwd(be, t, T, B, in, h, tb.x, len, d, &w, NULL, NULL,
                                              cache[d], tb.R + d * h, 2 * h, tb.R2 + d * Bh,
                                              lstm ? tb.R3 + d * Bh : NULL, dx, dh0 + d * Bh,
                                              lstm ? dc0 + d * Bh : NULL, &gr), SF_OK);
        }
        const struct { const char *name; float *got; const float *want; size_t n; } outs[6] = {
            {"y", y, tb.y, TB * 2 * h}, {"h_n", hn, tb.hn, 2 * Bh}, {"c_n", c_n, tb.cn, 2 * Bh},
            {"dx", dx, tb.dx, TB * in}, {"dh0", dh0, tb.dh0, 2 * Bh}, {"dc0", dc0, tb.dc0, 2 * Bh}};
        for (int k = 0; k < 6; k++) {
            expect_close(cn, "", outs[k].name, outs[k].got, outs[k].want, (int)outs[k].n);
            free(outs[k].got);
        }
        static const char *gn[4] = {"dw_ih", "dw_hh", "db_ih", "db_hh"};
        for (int d = 0; d < 2; d++) {
            for (int k = 0; k < 4; k++) {
                expect_close(cn, d ? "/reverse" : "/forward", gn[k], g[d][k], tb.g[d][k], n_w[k]);
                free(g[d][k]);
            }
            free(cache[d]);
        }
    }
    free(all), free(file);
    sf_backend_close(be);
}
END_TEST

static Suite *rnn_suite(void)
{
    Suite *s = suite_create("rnn");
    TCase *tc = tcase_create("names");
    tcase_add_test(tc, test_cell_names);
    suite_add_tcase(s, tc);
    tc = tcase_create("step");
    tcase_add_loop_test(tc, test_step_fwd_vs_reference, 0, 6);
    tcase_add_loop_test(tc, test_step_grad_fd, 0, 12);
    suite_add_tcase(s, tc);
    tc = tcase_create("layer");
    tcase_add_loop_test(tc, test_layer_fwd_vs_steps, 0, 12);
    tcase_add_test(tc, test_layer_empty_and_bad_lengths);
    tcase_add_loop_test(tc, test_layer_grad_fd, 0, 12);
    tcase_add_test(tc, test_layer_vs_torch);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return sf_test_main(rnn_suite()); }
