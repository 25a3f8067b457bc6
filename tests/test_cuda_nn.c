/* test_cuda_nn.c: the nn layer (src/nn: attention step, loss, embedding) run
 * on the CUDA backend against the same calls on the CPU backend: inputs made
 * on the host, uploaded, every output and gradient downloaded and compared.
 * Exits 77 (skipped) with no GPU. */
#include <math.h>

#include "nn/attention.h"
#include "nn/embedding.h"
#include "nn/loss.h"
#include "sf_test_cuda.h"

/* A chain of products (cuBLAS and OpenBLAS add in different orders), softmax
 * and tanh on O(1) values, gradients summed over up to 2K rows and S = 37
 * positions: 2e-4 absolute + 2e-4 relative. Loss: as in test_cuda_loss.c. */
#define E2E_TOL 2e-4
#define LOSS_RTOL 1e-5
#define GRAD_TOL 1e-5

/* ------------------------------------------------------- attention step */

/* Every array of one step: inputs, outputs, gradients, scratch. */
enum {
    F_M, F_H, F_DHT, F_DALIGN, F_W_A, F_W_Q, F_B_Q, F_W_K, F_V, F_W_C, F_B_C, /* inputs */
    F_KEYS, F_ALIGN, F_CTX, F_HT, F_CACHE, F_DH, F_DM, F_DKEYS,               /* outputs */
    F_G_W_A, F_G_W_Q, F_G_B_Q, F_G_W_K, F_G_V, F_G_W_C, F_G_B_C,              /* grads += */
    F_WORK, N_FIELDS
};
static const char *const field_names[N_FIELDS] = {
    "M", "h", "dhtilde", "dalign", "w_a", "w_q", "b_q", "w_k", "v", "w_c", "b_c",
    "keys", "align", "ctx", "htilde", "cache", "dh", "dM", "dkeys",
    "g.w_a", "g.w_q", "g.b_q", "g.w_k", "g.v", "g.w_c", "g.b_c", "work",
};

static const struct {
    int B, K, S, H;
    int32_t src_len[3];
} e2e_shapes[] = {
    {3, 2, 37, 33, {37, 5, 12}}, /* beam layout: 2 query rows per sentence */
    {2, 1, 5, 129, {3, 5, 0}},
};
#define N_E2E_SHAPES ((int)(sizeof e2e_shapes / sizeof *e2e_shapes))

/* Floats of each field for a shape; returns the total. */
static int64_t field_sizes(int B, int K, int S, int H, int64_t *size)
{
    int64_t R = (int64_t)B * K, mem = (int64_t)B * S * H, hh = (int64_t)H * H;
    const int64_t sizes[N_FIELDS] = {
        mem, R * H, R * H, R * S, hh, hh, H, hh, H, 2 * hh, H,
        mem, R * S, R * H, R * H, R * H, R * H, mem, mem,
        hh, hh, H, hh, H, 2 * hh, H,
        (int64_t)sf_attn_step_work_floats(SF_ATTN_MLP, B, K, S, H),
    };
    int64_t total = 0;
    for (int f = 0; f < N_FIELDS; f++)
        total += size[f] = sizes[f];
    return total;
}

/* p[f] = base + the offset of field f. */
static void field_ptrs(float *base, const int64_t *size, float **p)
{
    for (int f = 0; f < N_FIELDS; f++) {
        p[f] = base;
        base += size[f];
    }
}

/* keys_fwd, step_fwd, step_bwd (with dalign), keys_bwd on be. */
static void run_step(sf_backend *be, sf_attn_type t, int B, int K, int S, int H,
                     const int32_t *src_len, float **p)
{
    sf_attn_weights w = {p[F_W_A], p[F_W_Q], p[F_B_Q], p[F_W_K], p[F_V], p[F_W_C], p[F_B_C]};
    sf_attn_grads g = {p[F_G_W_A], p[F_G_W_Q], p[F_G_B_Q], p[F_G_W_K], p[F_G_V], p[F_G_W_C],
                       p[F_G_B_C]};
    const char *bn = be->name, *tn = sf_attn_name(t);
    ck_assert_msg(sf_attn_keys_fwd(be, t, B, S, H, p[F_M], &w, p[F_KEYS]) == SF_OK,
                  "%s %s keys_fwd: %s", bn, tn, sf_last_error());
    ck_assert_msg(sf_attn_step_fwd(be, t, B, K, S, H, p[F_M], p[F_KEYS], src_len, &w, p[F_H],
                                   p[F_ALIGN], p[F_CTX], p[F_HT], p[F_CACHE]) == SF_OK,
                  "%s %s step_fwd: %s", bn, tn, sf_last_error());
    ck_assert_msg(sf_attn_step_bwd(be, t, B, K, S, H, p[F_M], p[F_KEYS], src_len, &w, p[F_H],
                                   p[F_ALIGN], p[F_CTX], p[F_HT], p[F_CACHE], p[F_DHT],
                                   p[F_DALIGN], p[F_DH], p[F_DM], p[F_DKEYS], &g,
                                   p[F_WORK]) == SF_OK,
                  "%s %s step_bwd: %s", bn, tn, sf_last_error());
    ck_assert_msg(sf_attn_keys_bwd(be, t, B, S, H, p[F_M], &w, p[F_DKEYS], p[F_DM], &g) == SF_OK,
                  "%s %s keys_bwd: %s", bn, tn, sf_last_error());
}

/* _i: shape * 3 + type. Every field starts random (accumulators included);
 * every field but the scratch must agree afterwards. */
START_TEST(test_attn_step_e2e)
{
    int si = _i / 3, B = e2e_shapes[si].B, K = e2e_shapes[si].K, S = e2e_shapes[si].S;
    int H = e2e_shapes[si].H;
    sf_attn_type t = (sf_attn_type)(_i % 3);
    int64_t size[N_FIELDS], total = field_sizes(B, K, S, H, size);
    float *host = sf_test_rand_floats(total, -0.5f, 0.5f, 2000 + (uint64_t)_i);
    float *dev = put_f(host, total), *hp[N_FIELDS], *dp[N_FIELDS];
    field_ptrs(host, size, hp);
    field_ptrs(dev, size, dp);
    run_step(g_cpu, t, B, K, S, H, e2e_shapes[si].src_len, hp);
    run_step(g_gpu, t, B, K, S, H, e2e_shapes[si].src_len, dp);
    float *got = sf_test_dev_get(dev, total), *gp[N_FIELDS];
    field_ptrs(got, size, gp);
    for (int f = 0; f < F_WORK; f++) {
        double ratio = sf_test_tol_ratio(gp[f], hp[f], size[f], E2E_TOL, E2E_TOL);
        ck_assert_msg(ratio <= 1.0, "attention %s B=%d K=%d S=%d H=%d: %s differs from the "
                      "CPU's: error ratio %g at atol=rtol=%g", sf_attn_name(t), B, K, S, H,
                      field_names[f], ratio, E2E_TOL);
    }
    g_gpu->free(g_gpu, dev);
    free(host), free(got);
}
END_TEST

/* ------------------------------------------------------ loss, embedding */

/* sf_loss_fwd, sf_loss_fwd_bwd (in place) and sf_log_softmax on [333, 1031]. */
START_TEST(test_loss_e2e)
{
    enum { N = 333, V = 1031 };
    const int64_t n = (int64_t)N * V;
    float *x = sf_test_rand_floats(n, -6, 6, 2100), *lsm = sf_test_rand_floats(n, 0, 1, 2101);
    int32_t *t = sf_test_rand_ids(N, V, 4, 2102);
    float *dx = put_f(x, n), *dlsm = put_f(lsm, n);
    int32_t *dt = put_i(t, N);
    double loss[2][2], nll[2][2];
    int64_t ntok[2][2];
    ck_assert_int_eq(sf_log_softmax(g_cpu, N, V, x, lsm), SF_OK);
    ck_assert_msg(sf_log_softmax(g_gpu, N, V, dx, dlsm) == SF_OK, "%s", sf_last_error());
    ck_assert_int_eq(sf_loss_fwd(g_cpu, N, V, x, t, 0.1f, &loss[0][0], &nll[0][0],
                                 &ntok[0][0]), SF_OK);
    ck_assert_msg(sf_loss_fwd(g_gpu, N, V, dx, dt, 0.1f, &loss[1][0], &nll[1][0],
                              &ntok[1][0]) == SF_OK, "%s", sf_last_error());
    ck_assert_int_eq(sf_loss_fwd_bwd(g_cpu, N, V, x, t, 0.1f, 0.5f, &loss[0][1], &nll[0][1],
                                     &ntok[0][1]), SF_OK);
    ck_assert_msg(sf_loss_fwd_bwd(g_gpu, N, V, dx, dt, 0.1f, 0.5f, &loss[1][1], &nll[1][1],
                                  &ntok[1][1]) == SF_OK, "%s", sf_last_error());
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(ntok[1][k], ntok[0][k]);
        ck_assert_msg(fabs(loss[1][k] - loss[0][k]) <= LOSS_RTOL * fabs(loss[0][k]) &&
                      fabs(nll[1][k] - nll[0][k]) <= LOSS_RTOL * fabs(nll[0][k]),
                      "%s: loss %.10g nll %.10g, cpu %.10g %.10g", k ? "fwd_bwd" : "fwd",
                      loss[1][k], nll[1][k], loss[0][k], nll[0][k]);
    }
    expect_close("sf_loss_fwd_bwd", "dlogits", dx, x, n, GRAD_TOL, GRAD_TOL);
    expect_close("sf_log_softmax", "out (range 6)", dlsm, lsm, n, 6 * 1e-6, 1e-6);
    gpu_free_all(dx, dlsm, dt, NULL);
    free(x), free(lsm), free(t);
}
END_TEST

/* sf_embed_fwd into a wider row (ldo = 2E, as [emb; h~]) and sf_embed_bwd from
 * it, with the backend's default (deterministic) scatter-add: bit-exact. */
START_TEST(test_embed_e2e)
{
    enum { N = 1000, E = 45, V = 101, LD = 2 * E };
    float *tab = sf_test_rand_floats(V * E, -1, 1, 2200), *out = sf_test_rand_floats(N * LD, 0, 1, 2201);
    float *dtab = sf_test_rand_floats(V * E, -1, 1, 2202);
    int32_t *ids = sf_test_rand_ids(N, V, 9, 2203);
    float *d_tab = put_f(tab, V * E), *d_out = put_f(out, N * LD), *d_dtab = put_f(dtab, V * E);
    int32_t *d_ids = put_i(ids, N);
    ck_assert_int_eq(sf_embed_fwd(g_cpu, N, E, tab, V, ids, out, LD), SF_OK);
    ck_assert_msg(sf_embed_fwd(g_gpu, N, E, d_tab, V, d_ids, d_out, LD) == SF_OK, "%s",
                  sf_last_error());
    ck_assert_int_eq(sf_embed_bwd(g_cpu, N, E, out, LD, ids, dtab, V), SF_OK);
    ck_assert_msg(sf_embed_bwd(g_gpu, N, E, d_out, LD, d_ids, d_dtab, V) == SF_OK, "%s",
                  sf_last_error());
    expect_same("sf_embed_fwd", "out", d_out, out, N * LD);
    expect_same("sf_embed_bwd (deterministic default)", "dtable", d_dtab, dtab, V * E);
    gpu_free_all(d_tab, d_out, d_dtab, d_ids);
    free(tab), free(out), free(dtab), free(ids);
}
END_TEST

int main(void)
{
    int rc = sf_test_cuda_open();
    if (rc != 0)
        return rc;
    Suite *s = suite_create("cuda_nn");
    TCase *tc = tcase_create("nn");
    tcase_add_loop_test(tc, test_attn_step_e2e, 0, 3 * N_E2E_SHAPES);
    tcase_add_test(tc, test_loss_e2e);
    tcase_add_test(tc, test_embed_e2e);
    suite_add_tcase(s, tc);
    rc = sf_test_main(s);
    sf_test_cuda_close();
    return rc;
}
