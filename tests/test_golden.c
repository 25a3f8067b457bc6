/* test_golden.c: the CPU network against PyTorch reference data
 * (tests/data/golden, made by scripts/make_golden.py): logits, loss, NLL,
 * every parameter gradient, and the losses and weights of 10 Adam steps with
 * clipping, for each cell type, attention type and the config variants. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/s2s.h"
#include "seqfuse/modelfile.h"
#include "sf_test.h"
#include "sf_test_golden.h"
#include "train/optim.h"

static const char *const cases[] = {
    "lstm_dot", "lstm_general", "lstm_mlp", "gru_dot", "gru_general", "gru_mlp",
    "rnn_dot", "rnn_general", "rnn_mlp", "lstm_general_tied", "gru_mlp_unidir",
    "lstm_dot_zero_bridge", "lstm_general_l1",
    /* init [-1, 1]: nonlinearities far from linear, clipping active */
    "lstm_general_init1", "gru_mlp_init1", "rnn_dot_init1",
};
#define NCASES (int)(sizeof cases / sizeof *cases)

/* Tolerances. PyTorch computed in float64, we compute in float32, so every
 * tensor is compared by its largest error relative to its own scale:
 * max|ours - ref| / max|ref| <= max(TOL_BASE, TOL_DRIFT x drift), where drift is
 * what running the same PyTorch code in float32 moved that tensor (the file's
 * "f32_drift" metadata): some gradients are 1e-12-sized at init 0.1 and float32
 * cannot get them closer. */
#define TOL_BASE 1e-4
#define TOL_DRIFT 10.0
#define TOL_LOSS 2e-6

/* The tensor's error relative to its own scale, over its tolerance. */
static double scaled_err(const sf_golden *g, const char *name, const float *a, const float *b,
                         int64_t n)
{
    double tol = fmax(TOL_BASE, TOL_DRIFT * sf_golden_drift(g, name));
    return sf_golden_scaled_err(a, b, n) / tol;
}
static void load_weights(const sf_golden *g, sf_s2s *m)
{
    for (int i = 0; i < m->layout.count; i++) {
        const sf_param *p = &m->layout.list[i];
        ck_assert_msg(sf_st_read_f32(g->f, p->name, p->ndim, p->shape, m->params + p->offset) ==
                          SF_OK, "%s", sf_last_error());
    }
}

static float scalar(const sf_st_file *f, const char *name)
{
    float v;
    int64_t one = 1;
    ck_assert_msg(sf_st_read_f32(f, name, 1, &one, &v) == SF_OK, "%s", sf_last_error());
    return v;
}

static void run_batch(const sf_golden *g, sf_s2s *m, sf_s2s_loss *loss, float *logits)
{
    sf_s2s_batch b = {g->B, g->S, g->T, g->src, g->src_len, g->tgt_in, g->tgt_out};
    ck_assert_int_eq(m->be->fill(m->be, m->grads, m->layout.total, 0.0f), SF_OK);
    /* first pass for ntok, so the gradient is that of the mean loss */
    int64_t ntok = 0;
    for (int i = 0; i < g->B * g->T; i++)
        ntok += g->tgt_out[i] != 0;
    sf_status st = sf_s2s_forward_backward(m, &b, 0, 1, 1.0f / (float)ntok, loss, logits);
    ck_assert_msg(st == SF_OK, "%s", sf_last_error());
    ck_assert_int_eq(loss->ntok, ntok);
}

START_TEST(test_forward_backward)
{
    const char *name = cases[_i];
    sf_golden g;
    sf_golden_open(&g, name);
    sf_backend *be;
    sf_s2s *m;
    ck_assert_int_eq(sf_backend_open("cpu", &be), SF_OK);
    ck_assert_msg(sf_s2s_create(be, &g.cfg, 1, &m) == SF_OK, "%s", sf_last_error());
    load_weights(&g, m);
    const int V = g.cfg.tgt_vocab_size;
    float *logits = malloc(sizeof(float) * (size_t)g.B * g.T * V);
    sf_s2s_loss loss;
    run_batch(&g, m, &loss, logits);

    /* logits: ours [T,B,V], golden [B,T,V] */
    const sf_st_info *gl = sf_st_find(g.f, "out.logits");
    float *want = malloc(gl->nbytes);
    memcpy(want, sf_st_data(g.f, gl), gl->nbytes);
    float *ours = malloc(gl->nbytes);
    for (int t = 0; t < g.T; t++)
        for (int b = 0; b < g.B; b++)
            memcpy(ours + ((size_t)b * g.T + t) * V, logits + ((size_t)t * g.B + b) * V,
                   sizeof(float) * (size_t)V);
    double r = scaled_err(&g, "out.logits", ours, want, (int64_t)g.B * g.T * V);
    ck_assert_msg(r <= 1.0, "%s: logits off by %.3g x tolerance", name, r);
    ck_assert_msg(fabs(loss.loss_sum / loss.ntok - scalar(g.f, "out.loss")) < TOL_LOSS,
                  "%s: loss %.8f vs %.8f", name, loss.loss_sum / loss.ntok,
                  scalar(g.f, "out.loss"));
    ck_assert_msg(fabs(loss.nll_sum / loss.ntok - scalar(g.f, "out.nll")) < TOL_LOSS,
                  "%s: nll %.8f vs %.8f", name, loss.nll_sum / loss.ntok, scalar(g.f, "out.nll"));

    char gname[128];
    for (int i = 0; i < m->layout.count; i++) {
        const sf_param *p = &m->layout.list[i];
        float *gw = malloc(sizeof(float) * (size_t)p->numel);
        snprintf(gname, sizeof gname, "grad.%s", p->name);
        ck_assert_msg(sf_st_read_f32(g.f, gname, p->ndim, p->shape, gw) == SF_OK, "%s",
                      sf_last_error());
        r = scaled_err(&g, gname, m->grads + p->offset, gw, p->numel);
        ck_assert_msg(r <= 1.0, "%s: gradient of %s off by %.3g x tolerance", name, p->name, r);
        free(gw);
    }
    free(logits), free(want), free(ours);
    sf_s2s_free(m);
    sf_backend_close(be);
    sf_golden_close(&g);
}
END_TEST

START_TEST(test_adam_steps)
{
    const char *name = cases[_i];
    sf_golden g;
    sf_golden_open(&g, name);
    sf_backend *be;
    sf_s2s *m;
    ck_assert_int_eq(sf_backend_open("cpu", &be), SF_OK);
    ck_assert_int_eq(sf_s2s_create(be, &g.cfg, 1, &m), SF_OK);
    load_weights(&g, m);
    sf_train_opts t;
    sf_train_opts_default(&t); /* lr 1e-3, betas 0.9/0.999, eps 1e-8, clip 5 */
    sf_optim o;
    ck_assert_int_eq(sf_optim_init(&o, be, &m->layout, &t), SF_OK);
    float want[10];
    int64_t ten = 10;
    ck_assert_int_eq(sf_st_read_f32(g.f, "adam.losses", 1, &ten, want), SF_OK);
    for (int step = 0; step < 10; step++) {
        sf_s2s_loss loss;
        run_batch(&g, m, &loss, NULL);
        double got = loss.loss_sum / loss.ntok, norm;
        ck_assert_msg(fabs(got - want[step]) <= TOL_LOSS * 10,
                      "%s: Adam step %d loss %.8f vs %.8f", name, step, got, want[step]);
        int finite;
        ck_assert_int_eq(sf_optim_grad_norm(&o, m->grads, &norm, &finite), SF_OK);
        ck_assert(finite);
        ck_assert_int_eq(sf_optim_step(&o, m->params, m->grads, norm, NULL), SF_OK);
    }
    char fname[128];
    int checked = 0;
    for (int i = 0; i < m->layout.count; i++) {
        const sf_param *p = &m->layout.list[i];
        snprintf(fname, sizeof fname, "adam.final.%s", p->name);
        if (!sf_st_find(g.f, fname))
            continue;
        float *w = malloc(sizeof(float) * (size_t)p->numel);
        ck_assert_int_eq(sf_st_read_f32(g.f, fname, p->ndim, p->shape, w), SF_OK);
        double r = scaled_err(&g, fname, m->params + p->offset, w, p->numel);
        ck_assert_msg(r <= 1.0, "%s: %s after 10 Adam steps off by %.3g x tolerance", name,
                      p->name, r);
        free(w);
        checked++;
    }
    ck_assert_msg(checked >= 2, "%s: only %d final weights to compare", name, checked);
    sf_optim_free(&o);
    sf_s2s_free(m);
    sf_backend_close(be);
    sf_golden_close(&g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("golden");
    TCase *tc = tcase_create("pytorch");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_forward_backward, 0, NCASES);
    tcase_add_loop_test(tc, test_adam_steps, 0, NCASES);
    suite_add_tcase(s, tc);
    return sf_test_main(s);
}
