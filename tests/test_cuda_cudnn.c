/* test_cuda_cudnn.c: encoder layers through cuDNN's RNN API (the CUDA backend's
 * rnn_layer_* ops, sf_cuda_backend_set_cudnn_rnn) against our own kernels on the
 * same GPU: a layer direction forward and backward (rnn, gru, lstm; forward and
 * reverse; h0/c0 and dhT/dcT given or not; padded lengths; y and dy at a stride
 * of 2h as in a bidirectional layer; dx and weight gradients accumulated into
 * random values), a layer with an empty sequence left to our kernels, and a whole
 * model's loss and gradients. Counting wrappers make sure cuDNN really ran.
 * Exits 77 (skipped) with no GPU.
 *
 * Tolerances (atol, rtol as in sf_test_tol_ratio), and why: both sides are FP32
 * (cuDNN in FMA math, no TF32) but sum in other orders and fuse differently:
 * - FWD_TOL 2e-5: y, hT, cT after up to 20 recurrent steps of products of up to
 *   128 + 96 terms with weights ~1/sqrt(h), values ~1.
 * - GRAD_TOL 2e-4: dx, dh0, dc0 and weight gradients, summed over up to T*B = 160
 *   rows and back through 20 steps.
 * - MODEL_TOL 1e-4: loss (relative) and the gradients of a 2-layer model. */
#include <math.h>

#include "nn/rnn.h"
#include "nn/s2s.h"
#include "sf_test_cuda.h"

#define FWD_TOL 2e-5
#define GRAD_TOL 2e-4
#define MODEL_TOL 1e-4

/* ------------------------------------------------------ counting wrappers */

static sf_status (*real_fwd)(sf_backend *, const sf_rnn_layer_io *);
static sf_status (*real_bwd)(sf_backend *, const sf_rnn_layer_io *);
static int n_fwd, n_bwd;

static sf_status count_fwd(sf_backend *be, const sf_rnn_layer_io *io)
{
    n_fwd++;
    return real_fwd(be, io);
}

static sf_status count_bwd(sf_backend *be, const sf_rnn_layer_io *io)
{
    n_bwd++;
    return real_bwd(be, io);
}

/* cuDNN on, with the forward and backward-data ops counted. */
static void cudnn_on(void)
{
    ck_assert_msg(sf_cuda_backend_set_cudnn_rnn(g_gpu, 1) == SF_OK, "%s", sf_last_error());
    real_fwd = g_gpu->rnn_layer_fwd, real_bwd = g_gpu->rnn_layer_bwd_data;
    g_gpu->rnn_layer_fwd = count_fwd, g_gpu->rnn_layer_bwd_data = count_bwd;
    n_fwd = n_bwd = 0;
}

static void cudnn_off(void)
{
    ck_assert_int_eq(sf_cuda_backend_set_cudnn_rnn(g_gpu, 0), SF_OK);
    ck_assert_ptr_null(g_gpu->rnn_layer_fwd);
}

/* ------------------------------------------------------------ one layer */

enum {
    L_X, L_WIH, L_WHH, L_BIH, L_BHH, L_H0, L_C0, /* inputs */
    L_Y, L_HT, L_CT, L_CACHE,                    /* fwd */
    L_DY, L_DHT, L_DCT,                          /* bwd inputs */
    L_DX, L_DH0, L_DC0, L_GWIH, L_GWHH, L_GBIH, L_GBHH, /* bwd (dx, g: +=) */
    L_N
};
static const char *const layer_fields[L_N] = {
    "x", "w_ih", "w_hh", "b_ih", "b_hh", "h0", "c0", "y", "hT", "cT", "cache",
    "dy", "dhT", "dcT", "dx", "dh0", "dc0", "gw_ih", "gw_hh", "gb_ih", "gb_hh",
};

static const struct {
    int T, B, in, h, ldy, vendor; /* vendor: cuDNN must run (no empty sequence) */
    int32_t len[8];
} shapes[] = {
    {5, 3, 8, 16, 32, 1, {5, 2, 1}},
    {12, 4, 33, 64, 64, 1, {12, 7, 12, 3}},
    {20, 8, 128, 96, 192, 1, {20, 19, 1, 5, 20, 8, 13, 2}},
    {4, 2, 3, 8, 8, 0, {4, 0}},
};
#define NSHAPES ((int)(sizeof shapes / sizeof *shapes))
static const sf_cell_type cells[3] = {SF_CELL_RNN, SF_CELL_GRU, SF_CELL_LSTM};

/* _i = (shape * 3 + cell) * 4 + reverse * 2 + init */
typedef struct lcase {
    int si, reverse, init;
    sf_cell_type t;
    char name[96];
} lcase;

static void run_layer(const lcase *c, float **p)
{
    const int T = shapes[c->si].T, B = shapes[c->si].B, in = shapes[c->si].in;
    const int h = shapes[c->si].h, ldy = shapes[c->si].ldy, lstm = c->t == SF_CELL_LSTM;
    const int32_t *len = shapes[c->si].len;
    sf_rnn_weights w = {p[L_WIH], p[L_WHH], p[L_BIH], p[L_BHH]};
    sf_rnn_grads g = {p[L_GWIH], p[L_GWHH], p[L_GBIH], p[L_GBHH]};
    const float *h0 = c->init ? p[L_H0] : NULL, *c0 = c->init && lstm ? p[L_C0] : NULL;
    ck_assert_msg(sf_rnn_layer_fwd(g_gpu, c->t, T, B, in, h, p[L_X], len, c->reverse, &w, h0,
                                   c0, p[L_Y], ldy, p[L_HT], lstm ? p[L_CT] : NULL,
                                   p[L_CACHE]) == SF_OK, "%s: fwd: %s", c->name,
                  sf_last_error());
    ck_assert_msg(sf_rnn_layer_bwd(g_gpu, c->t, T, B, in, h, p[L_X], len, c->reverse, &w, h0,
                                   c0, p[L_CACHE], p[L_DY], ldy, c->init ? p[L_DHT] : NULL,
                                   c->init && lstm ? p[L_DCT] : NULL, p[L_DX], p[L_DH0],
                                   lstm ? p[L_DC0] : NULL, &g) == SF_OK,
                  "%s: bwd: %s", c->name, sf_last_error());
}

START_TEST(test_layer_cudnn_parity)
{
    lcase c = {_i / 12, _i / 2 % 2, _i % 2, cells[_i / 4 % 3], ""};
    const int64_t T = shapes[c.si].T, B = shapes[c.si].B, in = shapes[c.si].in;
    const int64_t h = shapes[c.si].h, ldy = shapes[c.si].ldy, TB = T * B;
    const int64_t W = sf_cell_gates(c.t) * h;
    snprintf(c.name, sizeof c.name, "%s T=%d B=%d in=%d h=%d %s%s", sf_cell_name(c.t), (int)T,
             (int)B, (int)in, (int)h, c.reverse ? "reverse" : "forward", c.init ? " h0" : "");
    const int64_t size[L_N] = {
        TB * in, W * in, W * h, W, W, B * h, B * h, TB * ldy, B * h, B * h,
        (int64_t)sf_rnn_layer_cache_floats(c.t, (int)T, (int)B, (int)in, (int)h),
        TB * ldy, B * h, B * h, TB * in, B * h, B * h, W * in, W * h, W, W,
    };
    sf_test_bundle bd;
    sf_test_bundle_init(&bd, L_N, layer_fields, size, -1.0f, 1.0f, 1300 + (uint64_t)_i);
    for (int f = L_WIH; f <= L_BHH; f++) /* weights ~ 1/sqrt(h), as PyTorch's init */
        for (int64_t i = 0; i < size[f]; i++)
            bd.h[f][i] /= sqrtf((float)h);
    float *orig = malloc(sizeof(float) * (size_t)bd.total);
    memcpy(orig, bd.host, sizeof(float) * (size_t)bd.total);
    sf_test_bundle_put(&bd);
    run_layer(&c, bd.d); /* our kernels: the reference */
    float *ref = sf_test_dev_get(bd.dev, bd.total);
    ck_assert_int_eq(g_gpu->upload(g_gpu, bd.dev, orig, sizeof(float) * (size_t)bd.total),
                     SF_OK);
    cudnn_on();
    run_layer(&c, bd.d);
    int fwd = n_fwd, bwd = n_bwd;
    cudnn_off();
    ck_assert_msg(fwd == shapes[c.si].vendor && bwd == shapes[c.si].vendor,
                  "%s: cuDNN ran %d forward / %d backward (expected %d)", c.name, fwd, bwd,
                  shapes[c.si].vendor);
    memcpy(bd.host, ref, sizeof(float) * (size_t)bd.total);
    sf_test_bundle_expect(&bd, c.name, L_Y, L_CACHE, FWD_TOL, FWD_TOL);
    sf_test_bundle_expect(&bd, c.name, L_DX, L_N, GRAD_TOL, GRAD_TOL);
    free(orig), free(ref);
    sf_test_bundle_free(&bd);
}
END_TEST

/* ------------------------------------------------------------ a model */

/* Loss and gradients of one batch (no dropout) with the encoder on our kernels
 * or on cuDNN; grads: [layout.total] host out. */
static double model_run(sf_s2s *m, const sf_s2s_batch *b, float *grads)
{
    sf_s2s_loss loss;
    ck_assert_int_eq(g_gpu->fill(g_gpu, m->grads, m->layout.total, 0.0f), SF_OK);
    ck_assert_msg(sf_s2s_forward_backward(m, b, 0, 1, 1.0f, &loss, NULL) == SF_OK, "%s",
                  sf_last_error());
    ck_assert_int_eq(g_gpu->download(g_gpu, grads, m->grads,
                                     sizeof(float) * (size_t)m->layout.total), SF_OK);
    return loss.loss_sum;
}

START_TEST(test_model_cudnn_parity)
{
    enum { B = 4, S = 7, T = 6 };
    sf_model_config cfg;
    sf_model_config_default(&cfg);
    cfg.cell = _i == 0 ? 2 : 1, cfg.attention = 1, cfg.bidirectional = 1;
    cfg.enc_layers = cfg.dec_layers = 2, cfg.dropout = 0.0f;
    cfg.src_vocab_size = 50, cfg.tgt_vocab_size = 60, cfg.emb_size = 32, cfg.hidden_size = 64;
    sf_s2s *m = NULL;
    ck_assert_msg(sf_s2s_create(g_gpu, &cfg, 1, &m) == SF_OK, "%s", sf_last_error());
    const int64_t n = m->layout.total;
    float *w = sf_test_rand_floats(n, -0.1f, 0.1f, 1500 + (uint64_t)_i);
    ck_assert_int_eq(g_gpu->upload(g_gpu, m->params, w, sizeof(float) * (size_t)n), SF_OK);
    static const int32_t src_len[B] = {7, 5, 1, 3}, tgt_len[B] = {6, 2, 4, 1};
    int32_t src[B * S] = {0}, tin[B * T] = {0}, tout[B * T] = {0};
    for (int b = 0; b < B; b++) {
        for (int s = 0; s < src_len[b]; s++)
            src[b * S + s] = 4 + (b * 7 + s * 3) % 46;
        for (int t = 0; t < tgt_len[b]; t++) {
            int y = t + 1 < tgt_len[b] ? 4 + (b * 5 + t * 11) % 56 : 3;
            tout[b * T + t] = y;
            tin[b * T + t] = t == 0 ? 2 : tout[b * T + t - 1];
        }
    }
    sf_s2s_batch batch = {B, S, T, src, src_len, tin, tout};
    float *g_ref = malloc(sizeof(float) * (size_t)n), *g_dnn = malloc(sizeof(float) * (size_t)n);
    double l_ref = model_run(m, &batch, g_ref);
    cudnn_on();
    double l_dnn = model_run(m, &batch, g_dnn);
    int fwd = n_fwd;
    cudnn_off();
    ck_assert_msg(fwd == 2 * 2, "cuDNN ran %d layer directions, expected 4", fwd);
    ck_assert_msg(fabs(l_dnn - l_ref) <= MODEL_TOL * fabs(l_ref), "loss %.9g with cuDNN, "
                  "%.9g without", l_dnn, l_ref);
    double ratio = sf_test_tol_ratio(g_dnn, g_ref, n, MODEL_TOL, MODEL_TOL);
    ck_assert_msg(ratio <= 1.0, "%s: gradients with cuDNN differ: error ratio %g at %g",
                  sf_cell_name((sf_cell_type)cfg.cell), ratio, MODEL_TOL);
    free(w), free(g_ref), free(g_dnn);
    sf_s2s_free(m);
}
END_TEST

/* Off on the CPU; the setting refuses a CPU backend. */
START_TEST(test_cudnn_cpu_untouched)
{
    ck_assert_ptr_null(g_cpu->rnn_layer_fwd);
    ck_assert_int_eq(sf_cuda_backend_set_cudnn_rnn(g_cpu, 1), SF_ERR_INVALID_ARG);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("cuda_cudnn");
    TCase *tc = tcase_create("cudnn_rnn");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, test_layer_cudnn_parity, 0, 12 * NSHAPES);
    tcase_add_loop_test(tc, test_model_cudnn_parity, 0, 2);
    tcase_add_test(tc, test_cudnn_cpu_untouched);
    suite_add_tcase(s, tc);
    return s;
}

/* 77 also when this build has no cuDNN: nothing to compare. */
int main(void)
{
    int rc = sf_test_cuda_open();
    if (rc != 0)
        return rc;
    if (sf_cuda_backend_set_cudnn_rnn(g_gpu, 0) == SF_ERR_UNSUPPORTED) {
        printf("SKIP: built without cuDNN\n");
        sf_test_cuda_close();
        return 77;
    }
    rc = sf_test_main(make_suite());
    sf_test_cuda_close();
    return rc;
}
