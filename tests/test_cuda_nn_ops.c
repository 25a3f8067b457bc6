/* test_cuda_nn_ops.c: the CUDA backend's attention ops (masked softmax, additive
 * score, bias + activation, forward and backward) and Adam against the CPU
 * backend's on fresh random inputs at odd shapes (padded and empty src_len, S
 * and H off multiples of 32, N = 1 and 333), NaN/Inf agreement. Loss and
 * embedding ops: test_cuda_loss.c. Exits 77 (skipped) with no GPU. */
#include <math.h>

#include "sf_test_cuda.h"

/* Tolerances (atol, rtol as in sf_test_tol_ratio), and why:
 * - ADAM_TOL: the kernel rounds each product and sum as the CPU loop (no FMA)
 *   and sqrt/division are IEEE on both, so they agree to the bit; 1e-6 is slack.
 * - EW_TOL: element-wise (bias + tanh): device tanhf is within 2 ulp of glibc's.
 * - ROW_TOL: softmax rows and their backward: float sums of <= 300 terms in a
 *   different order (a tree, not a loop), expf within 2 ulp.
 * - SUM_TOL: additive scores and their gradients: float sums of up to 257
 *   tanh terms (scores up to ~10), gradients summed over S or K rows, dv over
 *   R*S <= 900 terms (the CPU in float: ~sqrt(900) ulp(10) ~ 1.5e-5 apart).
 * - COL_TOL: dbias, column sums over N = 333 rows: the CPU adds them one by
 *   one in float (error ~ sqrt(N) ulp(partial sums ~10) ~ 1e-5, also where
 *   the final sum is near 0), the device in double: atol and rtol 1e-4. */
#define ADAM_TOL 1e-6
#define EW_TOL 1e-6
#define ROW_TOL 1e-5
#define SUM_TOL 1e-4
#define COL_TOL 1e-4

#define ASSERT_GPU_OK(call, ...)                                                            \
    ck_assert_msg((call) == SF_OK, __VA_ARGS__)

/* ------------------------------------------------------------------ adam */

static const int64_t adam_sizes[] = {1, 333, 100003, (1 << 20) + 7};

START_TEST(test_adam_parity)
{
    int64_t n = adam_sizes[_i];
    uint64_t seed = 100 + 4 * (uint64_t)_i;
    float *p = sf_test_rand_floats(n, -1, 1, seed), *g = sf_test_rand_floats(n, -2, 2, seed + 1);
    float *m = sf_test_rand_floats(n, -0.1f, 0.1f, seed + 2);
    float *v = sf_test_rand_floats(n, 0, 0.01f, seed + 3);
    if (n >= 3) {
        g[1] = NAN;
        g[n - 1] = INFINITY;
    }
    float *dp = put_f(p, n), *dg = put_f(g, n), *dm = put_f(m, n), *dv = put_f(v, n);
    const float b1 = 0.9f, b2 = 0.999f, bc1 = 1.0f - powf(b1, 3), bc2 = 1.0f - powf(b2, 3);
    ck_assert_int_eq(g_cpu->adam(g_cpu, n, p, g, m, v, 0.7f, 1e-3f, b1, b2, 1e-8f, bc1, bc2),
                     SF_OK);
    ASSERT_GPU_OK(g_gpu->adam(g_gpu, n, dp, dg, dm, dv, 0.7f, 1e-3f, b1, b2, 1e-8f, bc1, bc2),
                  "adam n=%lld: %s", (long long)n, sf_last_error());
    char cname[64];
    snprintf(cname, sizeof cname, "adam n=%lld", (long long)n);
    expect_close(cname, "p", dp, p, n, ADAM_TOL, ADAM_TOL);
    expect_close(cname, "m", dm, m, n, ADAM_TOL, ADAM_TOL);
    expect_close(cname, "v", dv, v, n, ADAM_TOL, ADAM_TOL);
    gpu_free_all(dp, dg, dm, dv);
    free(p), free(g), free(m), free(v);
}
END_TEST

/* ------------------------------------------------------------- attention */

static const struct {
    int B, K, S, H;
} attn_shapes[] = {
    {1, 1, 1, 1}, {3, 1, 37, 33}, {2, 5, 17, 129}, {4, 2, 50, 257}, {1, 3, 300, 7},
};
#define N_ATTN_SHAPES ((int)(sizeof attn_shapes / sizeof *attn_shapes))

/* Host src_len [B]: S (full), 0 (empty), 1, then random in [0, S]. */
static int32_t *make_src_len(int B, int S, uint64_t seed)
{
    int32_t *len = sf_test_rand_ids(B, S + 1, 0, seed);
    static const int first[3] = {-1, 0, 1}; /* -1: S */
    for (int b = 0; b < B && b < 3; b++)
        len[b] = first[b] < 0 ? S : first[b];
    return len;
}

/* _i: shape * 3 + variant: 0 separate output, 1 in place, 2 NaN / +Inf / -Inf in
 * the scores. The host src_len is scribbled over right after the GPU call: the
 * op must have taken its copy. */
START_TEST(test_attn_softmax_fwd_parity)
{
    int B = attn_shapes[_i / 3].B, K = attn_shapes[_i / 3].K, S = attn_shapes[_i / 3].S;
    int var = _i % 3;
    int64_t R = (int64_t)B * K, n = R * S;
    uint64_t seed = 200 + 4 * (uint64_t)_i;
    int32_t *len = make_src_len(B, S, seed);
    float *x = sf_test_rand_floats(n, -5, 5, seed + 1), *a = sf_test_rand_floats(n, 7, 8, seed + 2);
    if (var == 2) {
        x[0] = NAN;
        x[n - 1] = INFINITY;
        x[(R - 1) * S] = -INFINITY;
    }
    float *dx = put_f(x, n), *da = put_f(a, n);
    ck_assert_int_eq(g_cpu->attn_softmax_fwd(g_cpu, B, K, S, len, x, var == 1 ? x : a), SF_OK);
    ASSERT_GPU_OK(g_gpu->attn_softmax_fwd(g_gpu, B, K, S, len, dx, var == 1 ? dx : da),
                  "softmax B=%d K=%d S=%d: %s", B, K, S, sf_last_error());
    int32_t *len_kept = malloc((size_t)B * sizeof *len_kept);
    memcpy(len_kept, len, (size_t)B * sizeof *len);
    memset(len, 0x7f, (size_t)B * sizeof *len);
    float *want = var == 1 ? x : a, *got = sf_test_dev_get(var == 1 ? dx : da, n);
    double ratio = sf_test_tol_ratio(got, want, n, ROW_TOL, ROW_TOL);
    ck_assert_msg(ratio <= 1.0, "softmax B=%d K=%d S=%d variant %d: error ratio %g at %g", B, K,
                  S, var, ratio, ROW_TOL);
    for (int64_t r = 0; r < R; r++)
        for (int s = len_kept[r / K]; s < S; s++)
            ck_assert_msg(got[r * S + s] == 0.0f, "softmax B=%d K=%d S=%d: align[%lld, %d] = %g "
                          "at a pad", B, K, S, (long long)r, s, (double)got[r * S + s]);
    gpu_free_all(dx, da, NULL, NULL);
    free(len), free(len_kept), free(x), free(a), free(got);
}
END_TEST

static const struct {
    int64_t R;
    int S;
} sbwd_shapes[] = {{1, 1}, {7, 37}, {333, 129}, {5, 300}};

/* _i: shape * 2 + in place (dscores is dalign). align rows sum to 1, as a
 * softmax's do (so |sum_s align*dalign| <= 1). */
START_TEST(test_attn_softmax_bwd_parity)
{
    int64_t R = sbwd_shapes[_i / 2].R, n;
    int S = sbwd_shapes[_i / 2].S, inplace = _i % 2;
    n = R * S;
    uint64_t seed = 300 + 4 * (uint64_t)_i;
    float *a = sf_test_rand_floats(n, 0, 1, seed), *da = sf_test_rand_floats(n, -1, 1, seed + 1);
    float *ds = sf_test_rand_floats(n, 7, 8, seed + 2);
    for (int64_t r = 0; r < R; r++) {
        double sum = 0.0;
        for (int s = 0; s < S; s++)
            sum += a[r * S + s];
        for (int s = 0; s < S; s++)
            a[r * S + s] = (float)(a[r * S + s] / sum);
    }
    float *d_a = put_f(a, n), *d_da = put_f(da, n), *d_ds = put_f(ds, n);
    ck_assert_int_eq(g_cpu->attn_softmax_bwd(g_cpu, R, S, a, da, inplace ? da : ds), SF_OK);
    ASSERT_GPU_OK(g_gpu->attn_softmax_bwd(g_gpu, R, S, d_a, d_da, inplace ? d_da : d_ds),
                  "softmax_bwd R=%lld S=%d: %s", (long long)R, S, sf_last_error());
    char cname[64];
    snprintf(cname, sizeof cname, "softmax_bwd R=%lld S=%d in place %d", (long long)R, S,
             inplace);
    expect_close(cname, "dscores", inplace ? d_da : d_ds, inplace ? da : ds, n, ROW_TOL,
                 ROW_TOL);
    gpu_free_all(d_a, d_da, d_ds, NULL);
    free(a), free(da), free(ds);
}
END_TEST

/* The inputs of an additive-score op on both sides. */
typedef struct mlp_io {
    int B, K, S, H;
    int32_t *len;                  /* host [B] */
    float *keys, *q, *b_q, *v;     /* host */
    float *d_keys, *d_q, *d_b_q, *d_v; /* device copies */
} mlp_io;

static void mlp_io_init(mlp_io *io, int shape, uint64_t seed)
{
    memset(io, 0, sizeof *io);
    io->B = attn_shapes[shape].B, io->K = attn_shapes[shape].K;
    io->S = attn_shapes[shape].S, io->H = attn_shapes[shape].H;
    int64_t R = (int64_t)io->B * io->K;
    io->len = make_src_len(io->B, io->S, seed);
    io->keys = sf_test_rand_floats((int64_t)io->B * io->S * io->H, -1, 1, seed + 1);
    io->q = sf_test_rand_floats(R * io->H, -1, 1, seed + 2);
    io->b_q = sf_test_rand_floats(io->H, -0.5f, 0.5f, seed + 3);
    io->v = sf_test_rand_floats(io->H, -0.5f, 0.5f, seed + 4);
    io->d_keys = put_f(io->keys, (int64_t)io->B * io->S * io->H);
    io->d_q = put_f(io->q, R * io->H);
    io->d_b_q = put_f(io->b_q, io->H);
    io->d_v = put_f(io->v, io->H);
}

static void mlp_io_free(mlp_io *io)
{
    gpu_free_all(io->d_keys, io->d_q, io->d_b_q, io->d_v);
    free(io->len), free(io->keys), free(io->q), free(io->b_q), free(io->v);
}

START_TEST(test_attn_mlp_score_fwd_parity)
{
    mlp_io io;
    mlp_io_init(&io, _i, 400 + 8 * (uint64_t)_i);
    int64_t n = (int64_t)io.B * io.K * io.S;
    float *sc = sf_test_rand_floats(n, 7, 8, 401 + 8 * (uint64_t)_i), *d_sc = put_f(sc, n);
    ck_assert_int_eq(g_cpu->attn_mlp_score_fwd(g_cpu, io.B, io.K, io.S, io.H, io.len, io.keys,
                                               io.q, io.b_q, io.v, sc), SF_OK);
    ASSERT_GPU_OK(g_gpu->attn_mlp_score_fwd(g_gpu, io.B, io.K, io.S, io.H, io.len, io.d_keys,
                                            io.d_q, io.d_b_q, io.d_v, d_sc),
                  "mlp_score_fwd: %s", sf_last_error());
    char cname[80];
    snprintf(cname, sizeof cname, "mlp_score_fwd B=%d K=%d S=%d H=%d", io.B, io.K, io.S, io.H);
    expect_close(cname, "scores", d_sc, sc, n, SUM_TOL, SUM_TOL);
    g_gpu->free(g_gpu, d_sc);
    free(sc);
    mlp_io_free(&io);
}
END_TEST

/* _i: shape * 2 + param grads (db_q and dv given, else NULL). dq starts as
 * garbage (overwritten); dkeys, db_q, dv start random (accumulated). */
START_TEST(test_attn_mlp_score_bwd_parity)
{
    mlp_io io;
    uint64_t seed = 500 + 8 * (uint64_t)_i;
    mlp_io_init(&io, _i / 2, seed);
    int params = _i % 2, H = io.H;
    int64_t R = (int64_t)io.B * io.K, nk = (int64_t)io.B * io.S * H;
    float *ds = sf_test_rand_floats(R * io.S, -1, 1, seed + 5);
    float *dq = sf_test_rand_floats(R * H, 7, 8, seed + 6);
    float *dk = sf_test_rand_floats(nk, -1, 1, seed + 7);
    float *dbq = sf_test_rand_floats(H, -1, 1, seed + 8), *dv = sf_test_rand_floats(H, -1, 1, seed + 9);
    float *d_ds = put_f(ds, R * io.S), *d_dq = put_f(dq, R * H), *d_dk = put_f(dk, nk);
    float *d_dbq = put_f(dbq, H), *d_dv = put_f(dv, H);
    ck_assert_int_eq(g_cpu->attn_mlp_score_bwd(g_cpu, io.B, io.K, io.S, H, io.len, io.keys,
                                               io.q, io.b_q, io.v, ds, dq, dk,
                                               params ? dbq : NULL, params ? dv : NULL), SF_OK);
    ASSERT_GPU_OK(g_gpu->attn_mlp_score_bwd(g_gpu, io.B, io.K, io.S, H, io.len, io.d_keys,
                                            io.d_q, io.d_b_q, io.d_v, d_ds, d_dq, d_dk,
                                            params ? d_dbq : NULL, params ? d_dv : NULL),
                  "mlp_score_bwd: %s", sf_last_error());
    char cname[96];
    snprintf(cname, sizeof cname, "mlp_score_bwd B=%d K=%d S=%d H=%d params %d", io.B, io.K,
             io.S, H, params);
    expect_close(cname, "dq", d_dq, dq, R * H, SUM_TOL, SUM_TOL);
    expect_close(cname, "dkeys", d_dk, dk, nk, SUM_TOL, SUM_TOL);
    expect_close(cname, "db_q", d_dbq, dbq, H, SUM_TOL, SUM_TOL); /* untouched when NULL */
    expect_close(cname, "dv", d_dv, dv, H, SUM_TOL, SUM_TOL);
    gpu_free_all(d_ds, d_dq, d_dk, d_dbq);
    g_gpu->free(g_gpu, d_dv);
    free(ds), free(dq), free(dk), free(dbq), free(dv);
    mlp_io_free(&io);
}
END_TEST

static const struct {
    int64_t N;
    int H;
} ba_shapes[] = {{1, 1}, {333, 33}, {64, 257}};

/* _i: shape * 8 + flags: 1 tanh, 2 bias (and dbias), 4 dx is dy. fwd, then bwd
 * from its output. */
START_TEST(test_bias_act_parity)
{
    int64_t N = ba_shapes[_i / 8].N, n;
    int H = ba_shapes[_i / 8].H, tanh_on = _i & 1, with_bias = _i & 2, alias = _i & 4;
    n = N * H;
    uint64_t seed = 600 + 8 * (uint64_t)_i;
    float *x = sf_test_rand_floats(n, -2, 2, seed), *b = sf_test_rand_floats(H, -1, 1, seed + 1);
    float *dy = sf_test_rand_floats(n, -1, 1, seed + 2), *dx = sf_test_rand_floats(n, 7, 8, seed + 3);
    float *db = sf_test_rand_floats(H, -1, 1, seed + 4);
    float *d_x = put_f(x, n), *d_b = put_f(b, H), *d_dy = put_f(dy, n), *d_dx = put_f(dx, n);
    float *d_db = put_f(db, H);
    char cname[80];
    snprintf(cname, sizeof cname, "bias_act N=%lld H=%d tanh %d bias %d alias %d",
             (long long)N, H, tanh_on, !!with_bias, !!alias);
    ck_assert_int_eq(g_cpu->bias_act_fwd(g_cpu, N, H, tanh_on, with_bias ? b : NULL, x), SF_OK);
    ASSERT_GPU_OK(g_gpu->bias_act_fwd(g_gpu, N, H, tanh_on, with_bias ? d_b : NULL, d_x),
                  "%s: %s", cname, sf_last_error());
    expect_close(cname, "y", d_x, x, n, EW_TOL, EW_TOL);
    ck_assert_int_eq(g_cpu->bias_act_bwd(g_cpu, N, H, tanh_on, x, dy, alias ? dy : dx,
                                         with_bias ? db : NULL), SF_OK);
    ASSERT_GPU_OK(g_gpu->bias_act_bwd(g_gpu, N, H, tanh_on, x, d_dy, alias ? d_dy : d_dx,
                                      with_bias ? d_db : NULL), "%s: %s", cname,
                  sf_last_error());
    /* the GPU's backward reads the CPU's y (x) through its own y (d_x): within EW_TOL */
    expect_close(cname, "dx", alias ? d_dy : d_dx, alias ? dy : dx, n, 4 * EW_TOL, 4 * EW_TOL);
    expect_close(cname, "dbias", d_db, db, H, COL_TOL, COL_TOL);
    gpu_free_all(d_x, d_b, d_dy, d_dx);
    g_gpu->free(g_gpu, d_db);
    free(x), free(b), free(dy), free(dx), free(db);
}
END_TEST

int main(void)
{
    int rc = sf_test_cuda_open();
    if (rc != 0)
        return rc;
    Suite *s = suite_create("cuda_nn_ops");
    TCase *tc = tcase_create("adam");
    tcase_add_loop_test(tc, test_adam_parity, 0, (int)(sizeof adam_sizes / sizeof *adam_sizes));
    suite_add_tcase(s, tc);
    tc = tcase_create("attention");
    tcase_add_loop_test(tc, test_attn_softmax_fwd_parity, 0, 3 * N_ATTN_SHAPES);
    tcase_add_loop_test(tc, test_attn_softmax_bwd_parity, 0,
                        2 * (int)(sizeof sbwd_shapes / sizeof *sbwd_shapes));
    tcase_add_loop_test(tc, test_attn_mlp_score_fwd_parity, 0, N_ATTN_SHAPES);
    tcase_add_loop_test(tc, test_attn_mlp_score_bwd_parity, 0, 2 * N_ATTN_SHAPES);
    tcase_add_loop_test(tc, test_bias_act_parity, 0,
                        8 * (int)(sizeof ba_shapes / sizeof *ba_shapes));
    suite_add_tcase(s, tc);
    rc = sf_test_main(s);
    sf_test_cuda_close();
    return rc;
}
