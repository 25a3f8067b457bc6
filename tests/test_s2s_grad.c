/* test_s2s_grad.c: finite-difference checks of the whole network's backward
 * pass (encoder with padding in both directions, bridge, decoder with and
 * without input feeding, every attention type, tied output, label smoothing):
 * central differences of the mean loss along each parameter tensor's own
 * gradient direction, and along one random direction over all parameters. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "nn/s2s.h"
#include "sf_test.h"

typedef struct grad_case {
    const char *name;
    int cell, attention, bidirectional, input_feed, tie, bridge_zero, layers;
} grad_case;

static const grad_case cases[] = {
    {"lstm general tied", 2, 1, 1, 1, 1, 0, 2},
    {"lstm dot no-input-feed", 2, 0, 1, 0, 0, 0, 2},
    {"gru mlp", 1, 2, 1, 1, 0, 0, 1},
    {"rnn general unidirectional", 0, 1, 0, 1, 0, 0, 2},
    {"gru dot zero-bridge tied", 1, 0, 1, 1, 1, 1, 1},
    {"lstm mlp no-input-feed", 2, 2, 0, 0, 0, 0, 1},
};

/* EPS is the step along a unit direction; the check allows the float32
 * rounding of the loss (about 1e-7 relative) divided by EPS, plus 1%. */
#define EPS 3e-3
#define RTOL 1e-2
#define ATOL 3e-4

static double loss_at(sf_s2s *m, const sf_s2s_batch *b)
{
    sf_s2s_loss l;
    ck_assert_int_eq(sf_s2s_forward_backward(m, b, 0, 0, 1.0f, &l, NULL), SF_OK);
    return l.loss_sum / (double)l.ntok;
}

/* d/de L(p + e v) at e = 0, by central differences. */
static double fd_along(sf_s2s *m, const sf_s2s_batch *b, const float *v)
{
    const int64_t n = m->layout.total;
    float *p0 = malloc(sizeof(float) * (size_t)n);
    memcpy(p0, m->params, sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++)
        m->params[i] = p0[i] + (float)EPS * v[i];
    double up = loss_at(m, b);
    for (int64_t i = 0; i < n; i++)
        m->params[i] = p0[i] - (float)EPS * v[i];
    double down = loss_at(m, b);
    memcpy(m->params, p0, sizeof(float) * (size_t)n);
    free(p0);
    return (up - down) / (2 * EPS);
}

START_TEST(test_network_gradient)
{
    const grad_case *gc = &cases[_i];
    sf_model_config c;
    sf_model_config_default(&c);
    c.cell = gc->cell, c.attention = gc->attention, c.bidirectional = gc->bidirectional;
    c.input_feed = gc->input_feed, c.tie_output = gc->tie, c.bridge = gc->bridge_zero;
    c.enc_layers = c.dec_layers = gc->layers;
    c.src_vocab_size = 11, c.tgt_vocab_size = 9, c.hidden_size = 6;
    c.emb_size = gc->tie ? 6 : 5, c.dropout = 0.0f, c.label_smoothing = 0.1f;
    sf_backend *be;
    sf_s2s *m;
    ck_assert_int_eq(sf_backend_open("cpu", &be), SF_OK);
    ck_assert_msg(sf_s2s_create(be, &c, 1, &m) == SF_OK, "%s", sf_last_error());
    sf_rng r;
    sf_rng_seed(&r, 100 + (uint64_t)_i);
    sf_params_init_uniform(&m->layout, m->params, 0.5f, &r);
    /* B 3, S 5 with lengths {5, 2, 4}; T 4 with padded targets */
    int32_t src[15] = {4, 5, 6, 7, 8, 9, 10, 0, 0, 0, 4, 6, 8, 10, 0}, len[3] = {5, 2, 4};
    int32_t tin[12] = {2, 4, 5, 6, 2, 7, 0, 0, 2, 8, 4, 0};
    int32_t tout[12] = {4, 5, 6, 3, 7, 3, 0, 0, 8, 4, 3, 0};
    sf_s2s_batch b = {3, 5, 4, src, len, tin, tout};
    sf_s2s_loss l;
    ck_assert_int_eq(be->fill(be, m->grads, m->layout.total, 0.0f), SF_OK);
    ck_assert_int_eq(sf_s2s_forward_backward(m, &b, 0, 1, 1.0f / 9.0f, &l, NULL), SF_OK);
    ck_assert_int_eq(l.ntok, 9);
    const int64_t n = m->layout.total;
    float *v = calloc((size_t)n, sizeof(float));
    for (int i = 0; i < m->layout.count; i++) { /* each tensor along its own gradient */
        const sf_param *p = &m->layout.list[i];
        double norm = 0;
        for (int64_t k = 0; k < p->numel; k++)
            norm += (double)m->grads[p->offset + k] * m->grads[p->offset + k];
        norm = sqrt(norm);
        if (norm < 1e-6)
            continue; /* e.g. untouched pad rows only */
        memset(v, 0, sizeof(float) * (size_t)n);
        for (int64_t k = 0; k < p->numel; k++)
            v[p->offset + k] = (float)(m->grads[p->offset + k] / norm);
        double fd = fd_along(m, &b, v);
        ck_assert_msg(fabs(fd - norm) <= ATOL + RTOL * norm,
                      "%s: %s: finite difference %.6g, analytic %.6g", gc->name, p->name, fd,
                      norm);
    }
    double dot = 0, vn = 0; /* one random direction over everything */
    for (int64_t k = 0; k < n; k++)
        v[k] = sf_rng_normal(&r), vn += (double)v[k] * v[k];
    for (int64_t k = 0; k < n; k++)
        v[k] = (float)(v[k] / sqrt(vn)), dot += (double)v[k] * m->grads[k];
    double fd = fd_along(m, &b, v);
    ck_assert_msg(fabs(fd - dot) <= ATOL + RTOL * fabs(dot),
                  "%s: random direction: finite difference %.6g, analytic %.6g", gc->name, fd,
                  dot);
    free(v);
    sf_s2s_free(m);
    sf_backend_close(be);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("s2s_grad");
    TCase *tc = tcase_create("network");
    tcase_add_loop_test(tc, test_network_gradient, 0, (int)(sizeof cases / sizeof *cases));
    suite_add_tcase(s, tc);
    return sf_test_main(s);
}
