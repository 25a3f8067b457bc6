/* test_loss.c: the fused softmax + label-smoothed cross-entropy against a naive
 * double implementation and finite differences, pad exclusion, huge logits,
 * log-softmax, embedding lookup / scatter-add, and bad ids. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "nn/embedding.h"
#include "nn/loss.h"
#include "sf_test.h"

/* The CPU backend; fails the test if it cannot open. */
static sf_backend *open_cpu(void)
{
    sf_backend *be = NULL;
    ck_assert_msg(sf_backend_open("cpu", &be) == SF_OK, "cpu backend: %s", sf_last_error());
    return be;
}

enum { N = 7, V = 11 };
/* rows 2 and 5 are pads; 1 and 4 share a target */
static const int32_t targets[N] = {3, 7, 0, 10, 7, 0, 1};

static const struct {
    const char *name;
    float eps, scale;
} loss_cases[] = {
    {"eps=0.1 scale=1", 0.1f, 1.0f},
    {"eps=0 (plain NLL)", 0.0f, 1.0f},
    {"eps=0.3 scale=0.25", 0.3f, 0.25f},
};

/* Smoothed loss and NLL sums in double, and the gradient, from the formulas.
 * x, grad: [n, nv]; t: [n] */
static void naive_loss(int n, int nv, const float *x, const int32_t *t, float eps, float scale,
                       double *loss, double *nll, double *grad)
{
    double *lp = malloc((size_t)nv * sizeof(double));
    *loss = *nll = 0.0;
    for (int r = 0; r < n; r++) {
        const float *row = x + (int64_t)r * nv;
        double mx = row[0], z = 0.0;
        for (int v = 0; v < nv; v++)
            mx = row[v] > mx ? row[v] : mx;
        for (int v = 0; v < nv; v++)
            z += exp(row[v] - mx);
        for (int v = 0; v < nv; v++)
            lp[v] = row[v] - mx - log(z);
        for (int v = 0; v < nv && grad; v++) {
            double gold = v == t[r] ? 1.0 : 0.0;
            grad[(int64_t)r * nv + v] =
                t[r] == 0 ? 0.0 : scale * (exp(lp[v]) - (1 - eps) * gold - eps / nv);
        }
        if (t[r] == 0)
            continue;
        *nll -= lp[t[r]];
        *loss -= (1 - eps) * lp[t[r]];
        for (int v = 0; v < nv; v++)
            *loss -= eps / nv * lp[v];
    }
    free(lp);
}

START_TEST(test_loss_vs_naive_and_fd)
{
    const char *cn = loss_cases[_i].name;
    float eps = loss_cases[_i].eps, scale = loss_cases[_i].scale;
    sf_backend *be = open_cpu();
    float x[N * V], g[N * V];
    sf_test_randu(x, N * V, -3, 3, 100 + _i);
    double want_loss, want_nll, want_g[N * V], loss, nll, loss2, nll2;
    int64_t ntok, ntok2;
    naive_loss(N, V, x, targets, eps, scale, &want_loss, &want_nll, want_g);
    /* forward only: same sums, logits untouched */
    memcpy(g, x, sizeof x);
    ck_assert_int_eq(sf_loss_fwd(be, N, V, g, targets, eps, &loss2, &nll2, &ntok2), SF_OK);
    ck_assert_msg(memcmp(g, x, sizeof x) == 0, "%s: sf_loss_fwd changed the logits", cn);
    ck_assert_int_eq(sf_loss_fwd_bwd(be, N, V, g, targets, eps, scale, &loss, &nll, &ntok),
                     SF_OK);
    ck_assert_msg(ntok == 5 && ntok2 == 5, "%s: ntok %lld / %lld, expected 5", cn,
                  (long long)ntok, (long long)ntok2);
    /* sums: float logits, exp in float, sums in double: 1e-6 relative */
    ck_assert_msg(fabs(loss - want_loss) <= 1e-6 * want_loss && loss == loss2,
                  "%s: loss %.10g / %.10g, naive %.10g", cn, loss, loss2, want_loss);
    ck_assert_msg(fabs(nll - want_nll) <= 1e-6 * want_nll && nll == nll2,
                  "%s: nll %.10g, naive %.10g", cn, nll, want_nll);
    if (eps == 0.0f)
        ck_assert_msg(loss == nll, "%s: loss %.10g != nll %.10g", cn, loss, nll);
    for (int i = 0; i < N * V; i++) {
        if (targets[i / V] == 0)
            ck_assert_msg(g[i] == 0.0f, "%s: pad row %d has gradient %g", cn, i / V,
                          (double)g[i]);
        /* against the closed form: 1e-6 absolute */
        ck_assert_msg(fabs(g[i] - want_g[i]) <= 1e-6, "%s: dlogits[%d] = %.8g, naive %.8g",
                      cn, i, (double)g[i], want_g[i]);
        /* central difference of the forward sum, step 1e-3: allowed 2e-4 + 1e-3 |g| */
        float x0 = x[i];
        double lp, lm, dummy;
        x[i] = x0 + 1e-3f;
        ck_assert_int_eq(sf_loss_fwd(be, N, V, x, targets, eps, &lp, &dummy, &ntok), SF_OK);
        x[i] = x0 - 1e-3f;
        ck_assert_int_eq(sf_loss_fwd(be, N, V, x, targets, eps, &lm, &dummy, &ntok), SF_OK);
        x[i] = x0;
        double fd = scale * (lp - lm) / ((double)(x0 + 1e-3f) - (x0 - 1e-3f));
        ck_assert_msg(fabs(g[i] - fd) <= 2e-4 + 1e-3 * fabs(fd),
                      "%s: dlogits[%d] = %.8g, finite difference %.8g", cn, i, (double)g[i], fd);
    }
    sf_backend_close(be);
}
END_TEST

/* A batch large enough for the threaded path (2 threads under CTest): sums match
 * the naive loop to 1e-6 relative and every pad row is excluded. */
START_TEST(test_loss_threaded)
{
    enum { BN = 96, BV = 1031 };
    sf_backend *be = open_cpu();
    float *x = malloc(sizeof(float) * BN * BV);
    int32_t t[BN];
    sf_test_randu(x, BN * BV, -5, 5, 77);
    for (int r = 0; r < BN; r++)
        t[r] = r % 5 == 0 ? 0 : (r * 37) % BV;
    double want_loss, want_nll, loss, nll;
    int64_t ntok;
    naive_loss(BN, BV, x, t, 0.1f, 1.0f, &want_loss, &want_nll, NULL);
    ck_assert_int_eq(sf_loss_fwd_bwd(be, BN, BV, x, t, 0.1f, 1.0f, &loss, &nll, &ntok), SF_OK);
    ck_assert_int_eq(ntok, BN - (BN + 4) / 5);
    ck_assert_msg(fabs(loss - want_loss) <= 1e-6 * want_loss, "loss %.10g vs %.10g", loss,
                  want_loss);
    ck_assert_msg(fabs(nll - want_nll) <= 1e-6 * want_nll, "nll %.10g vs %.10g", nll, want_nll);
    for (int r = 0; r < BN; r += 5)
        for (int v = 0; v < BV; v++)
            ck_assert_msg(x[r * BV + v] == 0.0f, "pad row %d col %d", r, v);
    free(x);
    sf_backend_close(be);
}
END_TEST

START_TEST(test_loss_huge_logits)
{
    sf_backend *be = open_cpu();
    float x[N * V];
    sf_test_randu(x, N * V, -1e4f, 1e4f, 7);
    x[0 * V + 3] = 1e4f; /* row 0: its target is the largest */
    x[1 * V + 7] = -1e4f; /* row 1: its target is the smallest */
    double loss, nll;
    int64_t ntok;
    ck_assert_int_eq(sf_loss_fwd_bwd(be, N, V, x, targets, 0.1f, 1.0f, &loss, &nll, &ntok),
                     SF_OK);
    ck_assert_msg(isfinite(loss) && isfinite(nll) && nll > 1e3, "loss %g nll %g", loss, nll);
    for (int n = 0; n < N; n++) {
        double sum = 0.0;
        for (int v = 0; v < V; v++) {
            ck_assert_msg(isfinite(x[n * V + v]), "row %d col %d not finite", n, v);
            sum += x[n * V + v];
        }
        /* each gradient row sums to 0 (p sums to 1 = (1-eps) + eps) */
        ck_assert_msg(fabs(sum) < 1e-5, "gradient row %d sums to %g", n, sum);
    }
    sf_backend_close(be);
}
END_TEST

/* Logits in [-range, range): each output row logsumexps to 0 and is the input
 * shifted by a constant; in place gives the same bits. */
START_TEST(test_log_softmax)
{
    static const float ranges[] = {20.0f, 1e4f};
    float range = ranges[_i];
    sf_backend *be = open_cpu();
    float x[N * V], out[N * V];
    sf_test_randu(x, N * V, -range, range, 9);
    ck_assert_int_eq(sf_log_softmax(be, N, V, x, out), SF_OK);
    for (int n = 0; n < N; n++) {
        double z = 0.0;
        for (int v = 0; v < V; v++)
            z += exp((double)out[n * V + v]);
        ck_assert_msg(fabs(log(z)) < 1e-6, "range %g row %d: logsumexp %g, expected 0",
                      (double)range, n, log(z));
        for (int v = 0; v < V; v++) /* a constant shift: 1e-5 relative to the range */
            ck_assert_msg(fabs((x[n * V + v] - out[n * V + v]) - (x[n * V] - out[n * V])) <
                              1e-5 * range, "range %g row %d col %d", (double)range, n, v);
    }
    ck_assert_int_eq(sf_log_softmax(be, N, V, x, x), SF_OK); /* in place */
    ck_assert(memcmp(x, out, sizeof x) == 0);
    ck_assert_int_eq(sf_log_softmax(be, N, 0, x, out), SF_ERR_INVALID_ARG);
    sf_backend_close(be);
}
END_TEST

START_TEST(test_loss_bad_targets)
{
    static const int32_t bad[2] = {-1, V};
    sf_backend *be = open_cpu();
    float x[N * V], x0[N * V];
    sf_test_randu(x, N * V, -1, 1, 3);
    memcpy(x0, x, sizeof x);
    double loss, nll;
    int64_t ntok;
    for (int c = 0; c < 2; c++) {
        int32_t t[N];
        memcpy(t, targets, sizeof t);
        t[4] = bad[c];
        ck_assert_int_eq(sf_loss_fwd_bwd(be, N, V, x, t, 0.1f, 1.0f, &loss, &nll, &ntok),
                         SF_ERR_INVALID_ARG);
        char want[64];
        snprintf(want, sizeof want, "row 4 is %d", bad[c]);
        ck_assert_msg(strstr(sf_last_error(), want), "message \"%s\" lacks \"%s\"",
                      sf_last_error(), want);
        ck_assert_msg(memcmp(x, x0, sizeof x) == 0, "logits changed on error");
    }
    ck_assert_int_eq(sf_loss_fwd(be, N, V, x, targets, 1.0f, &loss, &nll, &ntok),
                     SF_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(sf_last_error(), "eps"));
    sf_backend_close(be);
}
END_TEST

enum { EV = 6, EE = 5, EN = 8, LDO = 7 };
/* repeats (4 x3, 2 x2) and pads */
static const int32_t emb_ids[EN] = {4, 0, 2, 4, 5, 2, 0, 4};

START_TEST(test_embedding)
{
    sf_backend *be = open_cpu();
    float table[EV * EE], out[EN * LDO], dout[EN * LDO], dtable[EV * EE], want[EV * EE];
    sf_test_randu(table, EV * EE, -1, 1, 1);
    memset(table, 0, EE * sizeof(float)); /* pad row */
    sf_test_randu(out, EN * LDO, 9, 9.5f, 2);
    sf_test_randu(dout, EN * LDO, -1, 1, 3);
    sf_test_randu(dtable, EV * EE, -1, 1, 4);
    memcpy(want, dtable, sizeof want);
    ck_assert_int_eq(sf_embed_fwd(be, EN, EE, table, EV, emb_ids, out, LDO), SF_OK);
    for (int n = 0; n < EN; n++) {
        ck_assert_msg(memcmp(out + n * LDO, table + emb_ids[n] * EE, EE * 4) == 0, "row %d", n);
        for (int e = EE; e < LDO; e++) /* the rest of a wider row is left alone */
            ck_assert_msg(out[n * LDO + e] >= 9.0f, "row %d col %d overwritten", n, e);
    }
    for (int n = 0; n < EN; n++)
        for (int e = 0; e < EE && emb_ids[n] != 0; e++)
            want[emb_ids[n] * EE + e] += dout[n * LDO + e];
    ck_assert_int_eq(sf_embed_bwd(be, EN, EE, dout, LDO, emb_ids, dtable, EV), SF_OK);
    ck_assert_msg(memcmp(dtable, want, EE * 4) == 0, "pad row 0 was updated");
    /* repeated ids accumulate; same order of adds as the naive loop: 1e-6 */
    ck_assert_msg(sf_test_tol_ratio(dtable, want, EV * EE, 1e-6, 1e-6) <= 1.0,
                  "scatter-add differs from the naive loop");
    sf_backend_close(be);
}
END_TEST

START_TEST(test_embedding_bad_ids)
{
    static const int32_t bad[2] = {-3, EV};
    sf_backend *be = open_cpu();
    float table[EV * EE] = {0}, out[EN * LDO];
    for (int c = 0; c < 2; c++) {
        int32_t ids[EN];
        memcpy(ids, emb_ids, sizeof ids);
        ids[5] = bad[c];
        char want[64];
        snprintf(want, sizeof want, "row 5 is %d", bad[c]);
        ck_assert_int_eq(sf_embed_fwd(be, EN, EE, table, EV, ids, out, LDO),
                         SF_ERR_INVALID_ARG);
        ck_assert_msg(strstr(sf_last_error(), want), "fwd: \"%s\"", sf_last_error());
        ck_assert_int_eq(sf_embed_bwd(be, EN, EE, out, LDO, ids, table, EV),
                         SF_ERR_INVALID_ARG);
        ck_assert_msg(strstr(sf_last_error(), want), "bwd: \"%s\"", sf_last_error());
    }
    ck_assert_int_eq(sf_embed_fwd(be, EN, EE, table, EV, emb_ids, out, EE - 1),
                     SF_ERR_INVALID_ARG);
    sf_backend_close(be);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("loss");
    TCase *tc = tcase_create("loss");
    tcase_add_loop_test(tc, test_loss_vs_naive_and_fd, 0,
                        (int)(sizeof loss_cases / sizeof *loss_cases));
    tcase_add_test(tc, test_loss_threaded);
    tcase_add_test(tc, test_loss_huge_logits);
    tcase_add_test(tc, test_loss_bad_targets);
    tcase_add_loop_test(tc, test_log_softmax, 0, 2);
    suite_add_tcase(s, tc);
    tc = tcase_create("embedding");
    tcase_add_test(tc, test_embedding);
    tcase_add_test(tc, test_embedding_bad_ids);
    suite_add_tcase(s, tc);
    return sf_test_main(s);
}
