/* test_cuda_loss.c: the CUDA backend's fused softmax + label-smoothed
 * cross-entropy, log-softmax and embedding lookup / scatter-add against the CPU
 * backend's on fresh random inputs (V = 1, 5, 1031, 32003; N = 1, 333, 4099),
 * NaN/Inf agreement, the bit-exact deterministic scatter-add and the atomic
 * one, and the errors: bad ids and targets (row and value named, nothing
 * written), bad src_len, settings on the wrong backend. Exits 77 without a GPU. */
#include <math.h>

#include "sf_test_cuda.h"

/* Tolerances, and why:
 * - XENT_RTOL: loss and NLL sums: both backends add float exps in double, in
 *   other orders, and device expf is within 2 ulp: relative 1e-5 (+1e-9 abs).
 * - GRAD_ATOL, GRAD_RTOL: dlogits = scale (p - eps/V - ...), p = exp(x - m) / sum.
 * - LSM_ATOL: log-softmax, times the logits' range (1 ulp of the float
 *   logsumexp may differ); LSM_RTOL relative.
 * - EMB_ATOL, EMB_RTOL: embed_bwd with atomics adds repeated ids in another
 *   order: with V = 7 and N = 4099, ~600 values in [-1, 1] per element, partial
 *   sums ~15, so ~sqrt(600) ulp(15) ~ 2e-5 apart even where the total is near 0.
 *   The deterministic mode must match the CPU bit for bit (memcmp). */
#define XENT_RTOL 1e-5
#define GRAD_ATOL 1e-6
#define GRAD_RTOL 1e-5
#define LSM_ATOL 1e-6
#define LSM_RTOL 1e-6
#define EMB_ATOL 2e-4
#define EMB_RTOL 1e-5

/* |got - want| within XENT_RTOL, NaN and Inf agreeing. */
static int sums_agree(double got, double want)
{
    if (isnan(got) || isnan(want) || isinf(got) || isinf(want))
        return (isnan(got) && isnan(want)) || got == want;
    return fabs(got - want) <= XENT_RTOL * fabs(want) + 1e-9;
}

/* ------------------------------------------------------------------ xent */

typedef enum xent_mode { XM_SEPARATE, XM_IN_PLACE, XM_FWD_ONLY, XM_SPECIALS } xent_mode;

static const struct {
    const char *name;
    int64_t N;
    int V;
    float eps, scale;
    xent_mode mode;
} xent_cases[] = {
    {"N=1 V=1031", 1, 1031, 0.1f, 1.0f, XM_SEPARATE},
    {"N=333 V=1031 in place scale 0.25", 333, 1031, 0.1f, 0.25f, XM_IN_PLACE},
    {"N=333 V=1031 forward only", 333, 1031, 0.1f, 0.0f, XM_FWD_ONLY},
    {"N=7 V=32003 eps=0", 7, 32003, 0.0f, 1.0f, XM_SEPARATE},
    {"N=3 V=1: all pads", 3, 1, 0.1f, 1.0f, XM_SEPARATE},
    {"N=64 V=5 eps=0.3 in place", 64, 5, 0.3f, 2.0f, XM_IN_PLACE},
    {"N=33 V=1031 NaN and Inf rows", 33, 1031, 0.1f, 1.0f, XM_SPECIALS},
};
#define N_XENT_CASES ((int)(sizeof xent_cases / sizeof *xent_cases))

START_TEST(test_xent_parity)
{
    const char *cn = xent_cases[_i].name;
    int64_t N = xent_cases[_i].N, n;
    int V = xent_cases[_i].V;
    xent_mode mode = xent_cases[_i].mode;
    n = N * V;
    uint64_t seed = 1000 + 4 * (uint64_t)_i;
    float *x = sf_test_rand_floats(n, -4, 4, seed), *g = sf_test_rand_floats(n, 5, 6, seed + 1);
    int32_t *t = sf_test_rand_ids(N, V, 5, seed + 2); /* rows 0, 5, ... are pads */
    if (mode == XM_SPECIALS) {
        t[1] = t[2] = t[3] = 7;
        x[1 * V + 3] = NAN;      /* row 1: NaN */
        x[2 * V + 9] = INFINITY; /* row 2: +Inf (Inf - Inf = NaN) */
        x[3 * V + 1] = -INFINITY; /* row 3: -Inf: p = 0 there, the smoothed loss +Inf */
    }
    float *dx = put_f(x, n), *dg = put_f(g, n);
    int32_t *dt = put_i(t, N);
    float *cpu_dl = mode == XM_FWD_ONLY ? NULL : mode == XM_IN_PLACE ? x : g;
    float *gpu_dl = mode == XM_FWD_ONLY ? NULL : mode == XM_IN_PLACE ? dx : dg;
    double loss[2], nll[2];
    int64_t ntok[2];
    float eps = xent_cases[_i].eps, scale = xent_cases[_i].scale;
    ck_assert_int_eq(g_cpu->xent_fwd_bwd(g_cpu, N, V, x, t, eps, scale, cpu_dl, &loss[0],
                                         &nll[0], &ntok[0]), SF_OK);
    ck_assert_msg(g_gpu->xent_fwd_bwd(g_gpu, N, V, dx, dt, eps, scale, gpu_dl, &loss[1],
                                      &nll[1], &ntok[1]) == SF_OK, "%s: %s", cn,
                  sf_last_error());
    ck_assert_msg(ntok[1] == ntok[0], "%s: ntok %lld, cpu %lld", cn, (long long)ntok[1],
                  (long long)ntok[0]);
    ck_assert_msg(sums_agree(loss[1], loss[0]) && sums_agree(nll[1], nll[0]), "%s: loss "
                  "%.10g nll %.10g, cpu %.10g %.10g (rtol %g)", cn, loss[1], nll[1], loss[0],
                  nll[0], XENT_RTOL);
    /* logits (or their in-place gradient) and the separate gradient buffer */
    expect_close(cn, mode == XM_IN_PLACE ? "dlogits (in place)" : "logits", dx, x, n,
                 GRAD_ATOL, GRAD_RTOL);
    expect_close(cn, mode == XM_SEPARATE || mode == XM_SPECIALS ? "dlogits" : "untouched dlogits",
                 dg, g, n, GRAD_ATOL, GRAD_RTOL);
    gpu_free_all(dx, dg, dt, NULL);
    free(x), free(g), free(t);
}
END_TEST

static const struct {
    const char *name;
    int64_t N;
    int V;
    float range;
    int in_place, nan_row;
} lsm_cases[] = {
    {"N=1 V=1", 1, 1, 20.0f, 0, 0},
    {"N=1 V=1031 in place", 1, 1031, 20.0f, 1, 0},
    {"N=333 V=1031", 333, 1031, 20.0f, 0, 0},
    {"N=7 V=32003 range 1e4 in place", 7, 32003, 1e4f, 1, 0},
    {"N=33 V=1031 a NaN row", 33, 1031, 20.0f, 0, 1},
};

START_TEST(test_log_softmax_parity)
{
    const char *cn = lsm_cases[_i].name;
    int64_t N = lsm_cases[_i].N, n;
    int V = lsm_cases[_i].V, in_place = lsm_cases[_i].in_place;
    float range = lsm_cases[_i].range;
    n = N * V;
    float *x = sf_test_rand_floats(n, -range, range, 1100 + 2 * (uint64_t)_i);
    float *out = sf_test_rand_floats(n, 0, 1, 1101 + 2 * (uint64_t)_i);
    if (lsm_cases[_i].nan_row)
        x[2 * V + V / 2] = NAN;
    float *dx = put_f(x, n), *dout = put_f(out, n);
    ck_assert_int_eq(g_cpu->log_softmax(g_cpu, N, V, x, in_place ? x : out), SF_OK);
    ck_assert_msg(g_gpu->log_softmax(g_gpu, N, V, dx, in_place ? dx : dout) == SF_OK, "%s: %s",
                  cn, sf_last_error());
    expect_close(cn, "x", dx, x, n, LSM_ATOL * range, LSM_RTOL);
    expect_close(cn, "out", dout, out, n, LSM_ATOL * range, LSM_RTOL);
    gpu_free_all(dx, dout, NULL, NULL);
    free(x), free(out);
}
END_TEST

/* ------------------------------------------------------------- embedding */

static const struct {
    int64_t N;
    int E, V;
} emb_cases[] = {{1, 1, 2}, {333, 33, 1031}, {4099, 257, 7}, {64, 500, 1031}};
#define N_EMB_CASES ((int)(sizeof emb_cases / sizeof *emb_cases))

/* Lookup into rows ldo = E + 3 wide: the copy is exact, the padding untouched. */
START_TEST(test_embed_fwd_parity)
{
    int64_t N = emb_cases[_i].N;
    int E = emb_cases[_i].E, V = emb_cases[_i].V, ldo = E + 3;
    uint64_t seed = 1200 + 4 * (uint64_t)_i;
    float *table = sf_test_rand_floats((int64_t)V * E, -1, 1, seed);
    float *out = sf_test_rand_floats(N * ldo, 5, 6, seed + 1);
    int32_t *ids = sf_test_rand_ids(N, V, 7, seed + 2);
    float *dtab = put_f(table, (int64_t)V * E), *dout = put_f(out, N * ldo);
    int32_t *dids = put_i(ids, N);
    ck_assert_int_eq(g_cpu->embed_fwd(g_cpu, N, E, table, V, ids, out, ldo), SF_OK);
    ck_assert_msg(g_gpu->embed_fwd(g_gpu, N, E, dtab, V, dids, dout, ldo) == SF_OK,
                  "embed_fwd N=%lld E=%d: %s", (long long)N, E, sf_last_error());
    char cn[64];
    snprintf(cn, sizeof cn, "embed_fwd N=%lld E=%d V=%d", (long long)N, E, V);
    expect_same(cn, "out", dout, out, N * ldo);
    gpu_free_all(dtab, dout, dids, NULL);
    free(table), free(out), free(ids);
}
END_TEST

/* _i: case * 2 + deterministic. dout rows lddo = E + 5 wide; dtable starts
 * random (+=). Deterministic: bit-exact; atomic: within EMB_ATOL/RTOL. Either way
 * row 0 (pad) is never touched. */
START_TEST(test_embed_bwd_parity)
{
    int64_t N = emb_cases[_i / 2].N;
    int E = emb_cases[_i / 2].E, V = emb_cases[_i / 2].V, lddo = E + 5, det = _i % 2;
    uint64_t seed = 1300 + 4 * (uint64_t)_i;
    float *dtable = sf_test_rand_floats((int64_t)V * E, -1, 1, seed);
    float *dout = sf_test_rand_floats(N * lddo, -1, 1, seed + 1);
    int32_t *ids = sf_test_rand_ids(N, V, 7, seed + 2);
    float *d_tab = put_f(dtable, (int64_t)V * E), *d_dout = put_f(dout, N * lddo);
    int32_t *d_ids = put_i(ids, N);
    float *row0 = sf_test_dev_get(d_tab, E);
    ck_assert_int_eq(sf_cuda_backend_set_deterministic(g_gpu, det), SF_OK);
    ck_assert_int_eq(g_cpu->embed_bwd(g_cpu, N, E, dout, lddo, ids, dtable, V), SF_OK);
    ck_assert_msg(g_gpu->embed_bwd(g_gpu, N, E, d_dout, lddo, d_ids, d_tab, V) == SF_OK,
                  "embed_bwd N=%lld E=%d: %s", (long long)N, E, sf_last_error());
    ck_assert_int_eq(sf_cuda_backend_set_deterministic(g_gpu, 1), SF_OK);
    float *got = sf_test_dev_get(d_tab, (int64_t)V * E);
    char cn[80];
    snprintf(cn, sizeof cn, "embed_bwd N=%lld E=%d V=%d deterministic %d", (long long)N, E, V,
             det);
    ck_assert_msg(memcmp(got, row0, (size_t)E * sizeof(float)) == 0, "%s: pad row changed", cn);
    if (det)
        ck_assert_msg(memcmp(got, dtable, (size_t)V * E * sizeof(float)) == 0,
                      "%s: not bit-identical to the CPU's", cn);
    else
        ck_assert_msg(sf_test_tol_ratio(got, dtable, (int64_t)V * E, EMB_ATOL, EMB_RTOL) <= 1.0,
                      "%s: beyond atol=%g rtol=%g", cn, EMB_ATOL, EMB_RTOL);
    gpu_free_all(d_tab, d_dout, d_ids, NULL);
    free(dtable), free(dout), free(ids), free(row0), free(got);
}
END_TEST

/* ---------------------------------------------------------------- errors */

/* Bad targets at rows 4 and 200: the first is named with its value, logits
 * (in place) and the host sums are left alone; the device works afterwards. */
START_TEST(test_xent_bad_targets)
{
    static const int32_t bad[2] = {-1, 1031};
    enum { N = 333, V = 1031 };
    float *x = sf_test_rand_floats((int64_t)N * V, -1, 1, 1400), *dx = put_f(x, (int64_t)N * V);
    for (int c = 0; c < 2; c++) {
        int32_t *t = sf_test_rand_ids(N, V, 5, 1401 + (uint64_t)c);
        t[4] = bad[c];
        t[200] = V + 5;
        int32_t *dt = put_i(t, N);
        double loss = -7, nll = -7;
        int64_t ntok = -7;
        ck_assert_int_eq(g_gpu->xent_fwd_bwd(g_gpu, N, V, dx, dt, 0.1f, 1.0f, dx, &loss, &nll,
                                             &ntok), SF_ERR_INVALID_ARG);
        char want[64];
        snprintf(want, sizeof want, "target at row 4 is %d", bad[c]);
        ck_assert_msg(strstr(sf_last_error(), want), "message \"%s\" lacks \"%s\"",
                      sf_last_error(), want);
        ck_assert(loss == -7 && nll == -7 && ntok == -7);
        expect_same("bad target", "logits", dx, x, (int64_t)N * V);
        t[4] = 3, t[200] = 0;
        ck_assert_int_eq(g_gpu->upload(g_gpu, dt, t, N * sizeof(int32_t)), SF_OK);
        ck_assert_msg(g_gpu->xent_fwd_bwd(g_gpu, N, V, dx, dt, 0.1f, 1.0f, NULL, &loss, &nll,
                                          &ntok) == SF_OK, "after an error: %s", sf_last_error());
        ck_assert(isfinite(loss) && ntok > 0);
        g_gpu->free(g_gpu, dt);
        free(t);
    }
    g_gpu->free(g_gpu, dx);
    free(x);
}
END_TEST

/* A bad id at row 5: lookup output and table gradient untouched. */
START_TEST(test_embed_bad_ids)
{
    static const int32_t bad[2] = {-3, 7};
    enum { N = 9, E = 5, V = 7, LD = 6 };
    float *tab = sf_test_rand_floats(V * E, -1, 1, 1500), *out = sf_test_rand_floats(N * LD, 0, 1, 1);
    float *dtab = put_f(tab, V * E), *dout = put_f(out, N * LD);
    for (int c = 0; c < 2; c++) {
        int32_t *ids = sf_test_rand_ids(N, V, 3, 1501 + (uint64_t)c);
        ids[5] = bad[c];
        int32_t *dids = put_i(ids, N);
        char want[64];
        snprintf(want, sizeof want, "id at row 5 is %d", bad[c]);
        ck_assert_int_eq(g_gpu->embed_fwd(g_gpu, N, E, dtab, V, dids, dout, LD),
                         SF_ERR_INVALID_ARG);
        ck_assert_msg(strstr(sf_last_error(), want), "fwd: \"%s\"", sf_last_error());
        expect_same("bad id", "embed_fwd output", dout, out, N * LD);
        for (int det = 0; det < 2; det++) {
            ck_assert_int_eq(sf_cuda_backend_set_deterministic(g_gpu, det), SF_OK);
            ck_assert_int_eq(g_gpu->embed_bwd(g_gpu, N, E, dout, LD, dids, dtab, V),
                             SF_ERR_INVALID_ARG);
            ck_assert_msg(strstr(sf_last_error(), want), "bwd: \"%s\"", sf_last_error());
            expect_same("bad id", "embed_bwd table", dtab, tab, V * E);
        }
        g_gpu->free(g_gpu, dids);
        free(ids);
    }
    gpu_free_all(dtab, dout, NULL, NULL);
    free(tab), free(out);
}
END_TEST

/* The backend keeps the last src_len it uploaded: the same host array with new
 * contents must be uploaded again. */
START_TEST(test_src_len_reuse)
{
    enum { B = 3, S = 9 };
    int32_t len[B] = {9, 2, 5};
    float *x = sf_test_rand_floats(B * S, -3, 3, 1600), *dx = put_f(x, B * S);
    float *a = sf_test_rand_floats(B * S, 0, 1, 1601), *da = put_f(a, B * S);
    for (int round = 0; round < 3; round++) {
        if (round == 2) /* same array, new contents */
            len[0] = 1, len[1] = 9, len[2] = 0;
        ck_assert_int_eq(g_cpu->attn_softmax_fwd(g_cpu, B, 1, S, len, x, a), SF_OK);
        ck_assert_msg(g_gpu->attn_softmax_fwd(g_gpu, B, 1, S, len, dx, da) == SF_OK, "%s",
                      sf_last_error());
        char cn[32];
        snprintf(cn, sizeof cn, "src_len round %d", round);
        expect_close(cn, "align", da, a, B * S, 1e-5, 1e-5); /* ROW_TOL of test_cuda_nn_ops */
    }
    gpu_free_all(dx, da, NULL, NULL);
    free(x), free(a);
}
END_TEST

/* src_len is checked on the host, with the CPU's message after the op's name;
 * the deterministic setting is CUDA-only. */
START_TEST(test_src_len_and_settings)
{
    int32_t len[3] = {5, 6, 2};
    float x[3 * 5] = {0};
    float *dx = put_f(x, 15);
    ck_assert_int_eq(g_cpu->attn_softmax_fwd(g_cpu, 3, 1, 5, len, x, x), SF_ERR_INVALID_ARG);
    const char *cpu_msg = strchr(sf_last_error(), ':');
    char want[256];
    snprintf(want, sizeof want, "%s", cpu_msg ? cpu_msg : "");
    ck_assert_ptr_nonnull(strstr(want, "src_len[1] = 6"));
    ck_assert_int_eq(g_gpu->attn_softmax_fwd(g_gpu, 3, 1, 5, len, dx, dx), SF_ERR_INVALID_ARG);
    ck_assert_msg(strstr(sf_last_error(), want), "\"%s\" lacks \"%s\"", sf_last_error(), want);
    ck_assert_int_eq(g_gpu->attn_mlp_score_bwd(g_gpu, 3, 0, 5, 4, len, NULL, NULL, NULL, NULL,
                                               NULL, NULL, NULL, NULL, NULL),
                     SF_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(sf_last_error(), "bad shape"));
    ck_assert_int_eq(sf_cuda_backend_set_deterministic(g_cpu, 1), SF_ERR_INVALID_ARG);
    ck_assert_int_eq(sf_cuda_backend_set_deterministic(NULL, 1), SF_ERR_INVALID_ARG);
    ck_assert_int_eq(sf_backend_check_complete(g_gpu), SF_OK);
    g_gpu->free(g_gpu, dx);
}
END_TEST

int main(void)
{
    int rc = sf_test_cuda_open();
    if (rc != 0)
        return rc;
    Suite *s = suite_create("cuda_loss");
    TCase *tc = tcase_create("loss");
    tcase_add_loop_test(tc, test_xent_parity, 0, N_XENT_CASES);
    tcase_add_loop_test(tc, test_log_softmax_parity, 0,
                        (int)(sizeof lsm_cases / sizeof *lsm_cases));
    suite_add_tcase(s, tc);
    tc = tcase_create("embedding");
    tcase_add_loop_test(tc, test_embed_fwd_parity, 0, N_EMB_CASES);
    tcase_add_loop_test(tc, test_embed_bwd_parity, 0, 2 * N_EMB_CASES);
    suite_add_tcase(s, tc);
    tc = tcase_create("errors");
    tcase_add_test(tc, test_xent_bad_targets);
    tcase_add_test(tc, test_embed_bad_ids);
    tcase_add_test(tc, test_src_len_reuse);
    tcase_add_test(tc, test_src_len_and_settings);
    suite_add_tcase(s, tc);
    rc = sf_test_main(s);
    sf_test_cuda_close();
    return rc;
}
