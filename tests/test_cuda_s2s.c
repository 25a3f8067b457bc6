/* test_cuda_s2s.c: the whole network on the CUDA backend against the CPU
 * backend: a golden case's model and batch (tests/data/golden) through
 * sf_s2s_forward_backward on both (loss, logits, every parameter gradient),
 * and 20 Adam steps with dropout on the same random batches (losses and
 * gradient norms step by step). Exits 77 (skipped) with no GPU. */
#include <math.h>

#include "core/rng.h"
#include "sf_test_cuda.h"
#include "sf_test_golden.h"
#include "train/optim.h"

/* Tolerances, and why. Both backends compute in float32, in different orders
 * (cuBLAS vs OpenBLAS, device vs glibc expf/tanhf), through 2 encoder and 2
 * decoder layers, attention and the generator:
 * - LOSS_RTOL: mean loss and NLL (summed in double on both) of one batch.
 * - LOGIT_TOL, GRAD_TOL: max|cuda - cpu| / max|cpu| per tensor, at least, or
 *   DRIFT_FACTOR x the tensor's float32 drift from the golden file (what float32
 *   instead of float64 moved it; some gradients are 1e-12-sized at init 0.1 and
 *   float32 noise is most of them), as tests/test_golden.c judges the CPU.
 * - TRAIN_RTOL: losses and gradient norms of 20 Adam steps: the differences
 *   above, carried through the updates (Adam steps are ~lr whatever a gradient's
 *   size, so noise-sized gradients move weights apart by ~lr; the loss barely
 *   feels them, as their gradients are ~0). */
#define LOSS_RTOL 1e-5
#define LOGIT_TOL 1e-5
#define GRAD_TOL 1e-4
#define DRIFT_FACTOR 10.0
#define TRAIN_RTOL 1e-4
#define TRAIN_STEPS 20

/* Every cell and attention type, saturated (init1) and tied variants. */
static const char *const cases[] = {
    "lstm_mlp", "gru_general", "rnn_dot", "lstm_general_init1", "gru_mlp_init1",
    "rnn_dot_init1", "lstm_general_tied", "gru_mlp_unidir",
};
#define NCASES ((int)(sizeof cases / sizeof *cases))

/* The golden case's model on be, with the file's weights. */
static sf_s2s *model_on(sf_backend *be, const sf_golden *g, const sf_model_config *cfg)
{
    sf_s2s *m = NULL;
    ck_assert_msg(sf_s2s_create(be, cfg, 1, &m) == SF_OK, "%s: %s", be->name, sf_last_error());
    float *w = sf_golden_weights(g, &m->layout);
    ck_assert_msg(be->upload(be, m->params, w, sizeof(float) * (size_t)m->layout.total) ==
                  SF_OK, "%s: %s", be->name, sf_last_error());
    free(w);
    return m;
}

/* Zeroes the gradients, then forward and backward of the mean loss. */
static void run_batch(sf_s2s *m, const sf_s2s_batch *b, int train, sf_s2s_loss *loss,
                      float *logits)
{
    ck_assert_int_eq(m->be->fill(m->be, m->grads, m->layout.total, 0.0f), SF_OK);
    float scale = 1.0f / (float)sf_golden_ntok(b);
    ck_assert_msg(sf_s2s_forward_backward(m, b, train, 1, scale, loss, logits) == SF_OK,
                  "%s: %s", m->be->name, sf_last_error());
}

static int rel_close(double a, double b, double rtol)
{
    return fabs(a - b) <= rtol * fabs(b);
}

/* Every parameter's gradient on the GPU against the CPU's. */
static void expect_grads(const char *name, const sf_golden *g, sf_s2s *mc, sf_s2s *mg)
{
    float *got = sf_test_dev_get(mg->grads, mg->layout.total);
    char gname[160];
    for (int i = 0; i < mc->layout.count; i++) {
        const sf_param *p = &mc->layout.list[i];
        snprintf(gname, sizeof gname, "grad.%s", p->name);
        double tol = fmax(GRAD_TOL, DRIFT_FACTOR * sf_golden_drift(g, gname));
        double err = sf_golden_scaled_err(got + p->offset, mc->grads + p->offset, p->numel);
        ck_assert_msg(err <= tol, "%s: gradient of %s: cuda vs cpu scaled error %.3g > %.3g",
                      name, p->name, err, tol);
    }
    free(got);
}

/* _i: case. One batch, no dropout: loss, NLL, token count, logits, gradients. */
START_TEST(test_golden_parity)
{
    const char *name = cases[_i];
    sf_golden g;
    sf_golden_open(&g, name);
    sf_s2s *mc = model_on(g_cpu, &g, &g.cfg), *mg = model_on(g_gpu, &g, &g.cfg);
    ck_assert_int_eq(mg->layout.total, mc->layout.total);
    const int64_t nl = (int64_t)g.B * g.T * g.cfg.tgt_vocab_size;
    float *lc = malloc(sizeof(float) * (size_t)nl), *lg = malloc(sizeof(float) * (size_t)nl);
    sf_s2s_batch b = sf_golden_batch(&g);
    sf_s2s_loss loss_c, loss_g;
    run_batch(mc, &b, 0, &loss_c, lc);
    run_batch(mg, &b, 0, &loss_g, lg);
    ck_assert_int_eq(loss_g.ntok, loss_c.ntok);
    ck_assert_msg(rel_close(loss_g.loss_sum, loss_c.loss_sum, LOSS_RTOL) &&
                  rel_close(loss_g.nll_sum, loss_c.nll_sum, LOSS_RTOL),
                  "%s: cuda loss %.9g nll %.9g, cpu %.9g %.9g", name, loss_g.loss_sum,
                  loss_g.nll_sum, loss_c.loss_sum, loss_c.nll_sum);
    double tol = fmax(LOGIT_TOL, DRIFT_FACTOR * sf_golden_drift(&g, "out.logits"));
    double err = sf_golden_scaled_err(lg, lc, nl);
    ck_assert_msg(err <= tol, "%s: logits: cuda vs cpu scaled error %.3g > %.3g", name, err,
                  tol);
    expect_grads(name, &g, mc, mg);
    free(lc), free(lg);
    sf_s2s_free(mc), sf_s2s_free(mg);
    sf_golden_close(&g);
}
END_TEST

/* ------------------------------------------------------------ training */

/* A random batch: B = 4, S in 3..7, T in 2..8, lengths 1..S (and 1..T), ids
 * 1..V-1, pads 0. Arrays: src [4*7], src_len [4], tgt_in, tgt_out [4*8]. */
typedef struct rand_batch {
    int32_t src[4 * 7], src_len[4], tgt_in[4 * 8], tgt_out[4 * 8];
    sf_s2s_batch b;
} rand_batch;

static void make_batch(rand_batch *rb, sf_rng *r, const sf_model_config *c)
{
    const int B = 4, S = 3 + (int)sf_rng_below(r, 5), T = 2 + (int)sf_rng_below(r, 7);
    memset(rb, 0, sizeof *rb);
    for (int b = 0; b < B; b++) {
        int sl = b == 0 ? S : 1 + (int)sf_rng_below(r, (uint64_t)S);
        int tl = b == 1 ? T : 1 + (int)sf_rng_below(r, (uint64_t)T);
        rb->src_len[b] = sl;
        for (int s = 0; s < sl; s++)
            rb->src[b * S + s] = 1 + (int32_t)sf_rng_below(r, (uint64_t)c->src_vocab_size - 1);
        for (int t = 0; t < tl; t++) {
            rb->tgt_in[b * T + t] = 1 + (int32_t)sf_rng_below(r, (uint64_t)c->tgt_vocab_size - 1);
            rb->tgt_out[b * T + t] = 1 + (int32_t)sf_rng_below(r, (uint64_t)c->tgt_vocab_size - 1);
        }
    }
    rb->b = (sf_s2s_batch){B, S, T, rb->src, rb->src_len, rb->tgt_in, rb->tgt_out};
}

/* One training step on m: batch, gradient norm, Adam. */
static void train_step(sf_s2s *m, sf_optim *o, const sf_s2s_batch *b, sf_s2s_loss *loss,
                       double *norm)
{
    int finite = 0;
    run_batch(m, b, 1, loss, NULL);
    ck_assert_msg(sf_optim_grad_norm(o, m->grads, norm, &finite) == SF_OK, "%s: %s",
                  m->be->name, sf_last_error());
    ck_assert_msg(finite, "%s: gradient norm not finite", m->be->name);
    ck_assert_msg(sf_optim_step(o, m->params, m->grads, *norm, NULL) == SF_OK, "%s: %s",
                  m->be->name, sf_last_error());
}

/* One per cell; the init1 ones have gradient norms over the clip (5). */
static const char *const train_cases[] = {"lstm_mlp", "gru_mlp_init1", "rnn_dot_init1"};

/* _i: train case. Dropout 0.2: the masks come from each model's own seeded
 * generator, drawn in the same order. */
START_TEST(test_train_parity)
{
    const char *name = train_cases[_i];
    sf_golden g;
    sf_golden_open(&g, name);
    sf_model_config cfg = g.cfg;
    cfg.dropout = 0.2f;
    sf_s2s *mc = model_on(g_cpu, &g, &cfg), *mg = model_on(g_gpu, &g, &cfg);
    sf_train_opts t;
    sf_train_opts_default(&t);
    sf_optim oc, og;
    ck_assert_int_eq(sf_optim_init(&oc, g_cpu, &mc->layout, &t), SF_OK);
    ck_assert_msg(sf_optim_init(&og, g_gpu, &mg->layout, &t) == SF_OK, "%s", sf_last_error());
    sf_rng r;
    sf_rng_seed(&r, 900 + (uint64_t)_i);
    for (int step = 0; step < TRAIN_STEPS; step++) {
        rand_batch rb;
        make_batch(&rb, &r, &cfg);
        sf_s2s_loss lc, lg;
        double nc, ng;
        train_step(mc, &oc, &rb.b, &lc, &nc);
        train_step(mg, &og, &rb.b, &lg, &ng);
        ck_assert_int_eq(lg.ntok, lc.ntok);
        ck_assert_msg(rel_close(lg.loss_sum, lc.loss_sum, TRAIN_RTOL) &&
                      rel_close(ng, nc, TRAIN_RTOL), "%s step %d: cuda loss %.9g grad norm "
                      "%.9g, cpu %.9g %.9g", name, step, lg.loss_sum / lg.ntok, ng,
                      lc.loss_sum / lc.ntok, nc);
    }
    sf_optim_free(&oc), sf_optim_free(&og);
    sf_s2s_free(mc), sf_s2s_free(mg);
    sf_golden_close(&g);
}
END_TEST

static Suite *cuda_s2s_suite(void)
{
    Suite *s = suite_create("cuda_s2s");
    TCase *tc = tcase_create("s2s");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_golden_parity, 0, NCASES);
    tcase_add_loop_test(tc, test_train_parity, 0,
                        (int)(sizeof train_cases / sizeof *train_cases));
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return sf_test_cuda_main(cuda_s2s_suite); }
