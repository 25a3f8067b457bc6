/* test_cpu_gemm.c: the CPU backend's products: both f32 libraries (oneDNN,
 * OpenBLAS) against a double-precision reference over a table of shapes, the
 * bf16 precision (AMX / AVX512-BF16 through oneDNN) against the reference on
 * bf16-rounded inputs, the parameter shadow refreshed after every kind of
 * write, the precision errors, and bf16 training next to f32 training. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "core/tensor.h"
#include "seqfuse/status.h"
#include "sf_test.h"
#include "train/trainer.h"

typedef struct gemm_case {
    int M, N, K, ta, tb, pad; /* pad: extra leading-dimension elements */
    float alpha, beta;
} gemm_case;

/* Odd sizes, vectors, transposes, padded leading dimensions, alpha/beta, K = 0,
 * and shapes above the bf16 size threshold (M*N*K >= 2^22). */
static const gemm_case cases[] = {
    {1, 1, 1, 0, 0, 0, 1, 0},        {7, 5, 3, 0, 0, 0, 1, 0},      {7, 5, 3, 1, 0, 2, 1, 0},
    {7, 5, 3, 0, 1, 1, 1, 1},        {7, 5, 3, 1, 1, 3, 0.5f, 1},   {33, 65, 17, 0, 1, 0, 1, 0.5f},
    {1, 513, 129, 0, 1, 0, 1, 1},    {64, 48, 0, 0, 0, 1, 1, 0.5f}, {130, 1000, 64, 0, 1, 0, 1, 0},
    {300, 257, 96, 1, 0, 5, 1, 1},   {256, 256, 128, 0, 0, 0, 2, 0}, {200, 300, 100, 1, 1, 1, 1, 1},
};
#define NCASES ((int)(sizeof cases / sizeof *cases))

typedef struct gemm_data {
    int lda, ldb, ldc;
    float *A, *B, *C, *C0;
} gemm_data;

static void gemm_alloc(const gemm_case *c, uint64_t seed, gemm_data *d)
{
    const int ar = c->ta ? c->K : c->M, ac = c->ta ? c->M : c->K;
    const int br = c->tb ? c->N : c->K, bc = c->tb ? c->K : c->N;
    d->lda = ac + c->pad, d->ldb = bc + c->pad, d->ldc = c->N + c->pad;
    d->A = calloc((size_t)ar * d->lda + 1, sizeof(float));
    d->B = calloc((size_t)br * d->ldb + 1, sizeof(float));
    d->C = calloc((size_t)c->M * d->ldc + 1, sizeof(float));
    d->C0 = calloc((size_t)c->M * d->ldc + 1, sizeof(float));
    sf_test_randu(d->A, (int64_t)ar * d->lda, -1, 1, seed);
    sf_test_randu(d->B, (int64_t)br * d->ldb, -1, 1, seed + 1);
    sf_test_randu(d->C0, (int64_t)c->M * d->ldc, -1, 1, seed + 2);
}

static void gemm_free(gemm_data *d) { free(d->A), free(d->B), free(d->C), free(d->C0); }

static float round_bf16(float x, int bf16) { return bf16 ? sf_bf16_to_f32(sf_f32_to_bf16(x)) : x; }

/* ref[M, N] in double: alpha op(A) op(B) + beta C0, inputs rounded to bf16 when asked. */
static void gemm_ref(const gemm_case *c, const gemm_data *d, int bf16, float *ref)
{
    for (int i = 0; i < c->M; i++)
        for (int j = 0; j < c->N; j++) {
            double s = 0;
            for (int k = 0; k < c->K; k++) {
                float a = c->ta ? d->A[(size_t)k * d->lda + i] : d->A[(size_t)i * d->lda + k];
                float b = c->tb ? d->B[(size_t)j * d->ldb + k] : d->B[(size_t)k * d->ldb + j];
                s += (double)round_bf16(a, bf16) * round_bf16(b, bf16);
            }
            double c0 = c->beta == 0 ? 0 : (double)c->beta * d->C0[(size_t)i * d->ldc + j];
            ref[(size_t)i * c->N + j] = (float)(c->alpha * s + c0);
        }
}

/* C = the backend's product, compacted to [M, N]. */
static sf_status gemm_run(sf_backend *be, const gemm_case *c, gemm_data *d, float *out)
{
    memcpy(d->C, d->C0, sizeof(float) * (size_t)c->M * d->ldc);
    sf_status st = be->sgemm(be, c->ta ? SF_TRANS : SF_NO_TRANS, c->tb ? SF_TRANS : SF_NO_TRANS,
                             c->M, c->N, c->K, c->alpha, d->A, d->lda, d->B, d->ldb, c->beta,
                             d->C, d->ldc);
    for (int i = 0; i < c->M; i++)
        memcpy(out + (size_t)i * c->N, d->C + (size_t)i * d->ldc, sizeof(float) * c->N);
    return st;
}

static sf_backend *open_cpu(const char *lib)
{
    if (lib)
        setenv("SEQFUSE_CPU_GEMM", lib, 1);
    else
        unsetenv("SEQFUSE_CPU_GEMM");
    sf_backend *be = NULL;
    sf_status st = sf_backend_open("cpu", &be);
    unsetenv("SEQFUSE_CPU_GEMM");
    ck_assert_msg(st == SF_OK, "cpu backend (%s): %s", lib ? lib : "default", sf_last_error());
    return be;
}

/* bf16 products where the machine does them in hardware; otherwise a visible skip. */
static int set_bf16(sf_backend *be)
{
    sf_status st = sf_backend_set_precision(be, SF_PREC_BF16);
    if (st == SF_ERR_UNSUPPORTED) {
        printf("SKIPPED (bf16 products): %s\n", sf_last_error());
        return 0;
    }
    ck_assert_msg(st == SF_OK, "bf16: %s", sf_last_error());
    return 1;
}

static double max_abs_diff(const float *a, const float *b, int64_t n)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++)
        m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

START_TEST(test_f32_libraries)
{
    static const char *const libs[] = {"openblas", "onednn"};
    for (int l = 0; l < 2; l++) {
#ifndef SEQFUSE_HAVE_DNNL
        if (l == 1) {
            printf("SKIPPED (oneDNN f32): this build has no oneDNN\n");
            continue;
        }
#endif
        sf_backend *be = open_cpu(libs[l]);
        ck_assert_ptr_nonnull(strstr(sf_backend_gemm_info(be), l ? "oneDNN" : "OpenBLAS"));
        for (int i = 0; i < NCASES; i++) {
            const gemm_case *c = &cases[i];
            gemm_data d;
            gemm_alloc(c, 100 + i, &d);
            float *got = malloc(sizeof(float) * ((size_t)c->M * c->N + 1));
            float *ref = malloc(sizeof(float) * ((size_t)c->M * c->N + 1));
            ck_assert_msg(gemm_run(be, c, &d, got) == SF_OK, "%s case %d: %s", libs[l], i,
                          sf_last_error());
            gemm_ref(c, &d, 0, ref);
            /* f32 sums of K terms in [-1, 1]: error ~ K eps */
            double r = sf_test_tol_ratio(got, ref, (int64_t)c->M * c->N, 1e-6 * (c->K + 1), 1e-5);
            ck_assert_msg(r <= 1.0, "%s case %d (%dx%dx%d): tolerance ratio %g", libs[l], i,
                          c->M, c->N, c->K, r);
            free(got), free(ref);
            gemm_free(&d);
        }
        sf_backend_close(be);
    }
}
END_TEST

START_TEST(test_bf16_products)
{
    sf_backend *be = open_cpu(NULL);
    if (!set_bf16(be)) {
        sf_backend_close(be);
        return;
    }
    ck_assert_ptr_nonnull(strstr(sf_backend_gemm_info(be), "bf16"));
    int engaged = 0;
    for (int i = 0; i < NCASES; i++) {
        const gemm_case *c = &cases[i];
        const int64_t n = (int64_t)c->M * c->N;
        gemm_data d;
        gemm_alloc(c, 200 + i, &d);
        float *got = malloc(sizeof(float) * (n + 1)), *ref = malloc(sizeof(float) * (n + 1));
        float *ref32 = malloc(sizeof(float) * (n + 1));
        ck_assert_msg(gemm_run(be, c, &d, got) == SF_OK, "case %d: %s", i, sf_last_error());
        /* large products run on bf16-rounded inputs (f32 sums), small ones in f32 */
        const int big = (double)c->M * c->N * c->K >= (1 << 22);
        gemm_ref(c, &d, big, ref);
        gemm_ref(c, &d, 0, ref32);
        double r = sf_test_tol_ratio(got, ref, n, 1e-6 * (c->K + 1), 1e-5);
        ck_assert_msg(r <= 1.0, "case %d (%dx%dx%d, %s): tolerance ratio %g against the "
                      "reference on %s inputs", i, c->M, c->N, c->K, big ? "bf16" : "f32", r,
                      big ? "bf16-rounded" : "f32");
        /* and the bf16 ones really were rounded: far from the f32 result */
        if (big) {
            ck_assert_msg(max_abs_diff(got, ref32, n) > 1e-3, "case %d: bf16 result equals f32", i);
            engaged++;
        }
        free(got), free(ref), free(ref32);
        gemm_free(&d);
    }
    ck_assert_int_ge(engaged, 2);
    sf_backend_close(be);
}
END_TEST

/* sgemm_bias (one pass) and its fallback (sgemm + add_rowvec) against the
 * reference + bias, on every library and precision this machine has. */
START_TEST(test_gemm_bias)
{
    for (int mode = 0; mode < 4; mode++) { /* openblas, onednn, bf16, fallback */
        sf_backend *be = open_cpu(mode == 0 ? "openblas" : NULL);
#ifndef SEQFUSE_HAVE_DNNL
        if (mode == 1 || mode == 2) {
            sf_backend_close(be);
            continue;
        }
#endif
        if (mode == 2 && !set_bf16(be)) {
            sf_backend_close(be);
            continue;
        }
        if (mode == 3)
            be->sgemm_bias = NULL;
        for (int i = 0; i < NCASES; i++) {
            gemm_case c = cases[i];
            if (mode == 3 && c.pad) /* the fallback needs a dense C */
                continue;
            c.alpha = 1, c.beta = 0;
            const int64_t n = (int64_t)c.M * c.N;
            gemm_data d;
            gemm_alloc(&c, 300 + i, &d);
            float *bias = malloc(sizeof(float) * ((size_t)c.N + 1));
            float *ref = malloc(sizeof(float) * (n + 1)), *got = malloc(sizeof(float) * (n + 1));
            sf_test_randu(bias, c.N, -1, 1, 400 + i);
            const int big = mode == 2 && (double)c.M * c.N * c.K >= (1 << 22);
            gemm_ref(&c, &d, big, ref);
            for (int64_t k = 0; k < n; k++)
                ref[k] += bias[k % c.N];
            ck_assert_msg(sf_backend_gemm_bias(be, c.ta ? SF_TRANS : SF_NO_TRANS,
                                               c.tb ? SF_TRANS : SF_NO_TRANS, c.M, c.N, c.K, d.A,
                                               d.lda, d.B, d.ldb, bias, d.C, d.ldc) == SF_OK,
                          "mode %d case %d: %s", mode, i, sf_last_error());
            for (int r = 0; r < c.M; r++)
                memcpy(got + (size_t)r * c.N, d.C + (size_t)r * d.ldc, sizeof(float) * c.N);
            double q = sf_test_tol_ratio(got, ref, n, 1e-6 * (c.K + 1), 1e-5);
            ck_assert_msg(q <= 1.0, "mode %d case %d (%dx%dx%d): tolerance ratio %g", mode, i,
                          c.M, c.N, c.K, q);
            free(bias), free(ref), free(got);
            gemm_free(&d);
        }
        sf_backend_close(be);
    }
}
END_TEST

/* Y[M, N] = X W^T with W [N, K] inside a registered parameter block. */
static void shadow_product(sf_backend *be, const float *X, const float *W, int M, int N, int K,
                           float *Y)
{
    ck_assert_msg(be->sgemm(be, SF_NO_TRANS, SF_TRANS, M, N, K, 1, X, K, W, K, 0, Y, N) == SF_OK,
                  "%s", sf_last_error());
}

static void check_shadow(const float *Y, const float *X, const float *W, int M, int N, int K,
                         int bf16, const char *when)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < K; k++)
                s += (double)round_bf16(X[i * K + k], bf16) * round_bf16(W[j * K + k], bf16);
            ck_assert_msg(fabs(Y[i * N + j] - s) <= 1e-4, "%s: Y[%d,%d] = %g, expected %g", when,
                          i, j, Y[i * N + j], s);
        }
}

START_TEST(test_bf16_parameter_shadow)
{
    sf_backend *be = open_cpu(NULL);
    if (!set_bf16(be)) {
        sf_backend_close(be);
        return;
    }
    enum { M = 5, N = 9, K = 33, P = 1000, OFF = 64 };
    float *params, X[M * K], Y[M * N], host[N * K], g[P];
    ck_assert_int_eq(be->alloc(be, sizeof(float) * P, (void **)&params), SF_OK);
    float *W = params + OFF;
    sf_backend_params_register(be, params, P);
    sf_test_randu(X, M * K, -1, 1, 7);
    sf_test_randu(host, N * K, -1, 1, 8);
    ck_assert_int_eq(be->upload(be, W, host, sizeof host), SF_OK);
    shadow_product(be, X, W, M, N, K, Y);
    check_shadow(Y, X, W, M, N, K, 1, "after upload");

    sf_test_randu(host, N * K, -1, 1, 9); /* a second upload must be seen */
    ck_assert_int_eq(be->upload(be, W, host, sizeof host), SF_OK);
    shadow_product(be, X, W, M, N, K, Y);
    check_shadow(Y, X, W, M, N, K, 1, "after a second upload");

    float *m, *v; /* an Adam step on the whole block */
    ck_assert_int_eq(be->alloc(be, sizeof(float) * P, (void **)&m), SF_OK);
    ck_assert_int_eq(be->alloc(be, sizeof(float) * P, (void **)&v), SF_OK);
    sf_test_randu(g, P, -1, 1, 10);
    ck_assert_int_eq(be->adam(be, P, params, g, m, v, 1, 0.1f, 0.9f, 0.999f, 1e-8f, 0.1f,
                              0.001f), SF_OK);
    shadow_product(be, X, W, M, N, K, Y);
    check_shadow(Y, X, W, M, N, K, 1, "after adam");

    ck_assert_int_eq(be->fill(be, params, P, 0.25f), SF_OK);
    shadow_product(be, X, W, M, N, K, Y);
    check_shadow(Y, X, W, M, N, K, 1, "after fill");

    for (int i = 0; i < N * K; i++) /* a write of its own, then the notice */
        W[i] = (float)(i % 7) - 3.0f;
    sf_backend_params_changed(be, W, N * K);
    shadow_product(be, X, W, M, N, K, Y);
    check_shadow(Y, X, W, M, N, K, 1, "after params_changed");

    sf_backend_params_register(be, params, 0); /* unregistered: a small f32 product */
    W[0] = 100.0f;
    shadow_product(be, X, W, M, N, K, Y);
    check_shadow(Y, X, W, M, N, K, 0, "after unregistering");
    be->free(be, m), be->free(be, v), be->free(be, params);
    sf_backend_close(be);
}
END_TEST

START_TEST(test_precision_errors)
{
    sf_backend *be = open_cpu(NULL);
    ck_assert_int_eq(sf_backend_set_precision(be, SF_PREC_TF32), SF_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(sf_last_error(), "CUDA"));
    ck_assert_int_eq(sf_backend_set_precision(be, (sf_precision)7), SF_ERR_INVALID_ARG);
    ck_assert_int_eq(sf_backend_set_precision(be, SF_PREC_F32), SF_OK);
    ck_assert_str_eq(sf_precision_names[SF_PREC_BF16], "bf16");
    sf_backend_close(be);
    setenv("SEQFUSE_CPU_GEMM", "mkl", 1);
    sf_backend *bad = NULL;
    ck_assert_int_eq(sf_backend_open("cpu", &bad), SF_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(sf_last_error(), "SEQFUSE_CPU_GEMM"));
    ck_assert_ptr_null(bad);
    unsetenv("SEQFUSE_CPU_GEMM");
}
END_TEST

/* The tiny reversal task, 300 steps, f32 then bf16 products: the losses agree. */
static double train_loss(const char *dir, int precision)
{
    char sp[4200], tp[4200], out[4200];
    snprintf(sp, sizeof sp, "%s/train.src", dir);
    snprintf(tp, sizeof tp, "%s/train.tgt", dir);
    snprintf(out, sizeof out, "%s/model%d", dir, precision);
    sf_trainer_args a;
    sf_test_reversal_args(&a, sp, tp, out);
    a.opts.max_steps = 300, a.opts.matmul_precision = precision;
    sf_trainer_result res;
    sf_status st = sf_train(&a, &res);
    if (st == SF_ERR_UNSUPPORTED)
        return NAN;
    ck_assert_msg(st == SF_OK, "training (precision %d): %s", precision, sf_last_error());
    return res.last_loss;
}

START_TEST(test_bf16_training)
{
    char dir[4096], sp[4200], tp[4200];
    sf_test_tmpdir(dir, sizeof dir);
    snprintf(sp, sizeof sp, "%s/train.src", dir);
    snprintf(tp, sizeof tp, "%s/train.tgt", dir);
    sf_test_write_words(sp, tp, 1000, 1, 11);
    double f32 = train_loss(dir, SF_PREC_F32), bf16 = train_loss(dir, SF_PREC_BF16);
    if (isnan(bf16)) {
        printf("SKIPPED (bf16 training): %s\n", sf_last_error());
    } else {
        printf("reversal task, 300 steps: last loss f32 %.4f, bf16 %.4f\n", f32, bf16);
        /* both learn (the first loss is ln 40 = 3.7) and end close together */
        ck_assert_msg(f32 < 2.0 && bf16 < 2.0, "losses f32 %g bf16 %g", f32, bf16);
        ck_assert_msg(fabs(f32 - bf16) < 0.25 * f32 + 0.05, "losses f32 %g bf16 %g", f32, bf16);
    }
    sf_test_rmtree(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cpu_gemm");
    TCase *tc = tcase_create("products");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_f32_libraries);
    tcase_add_test(tc, test_bf16_products);
    tcase_add_test(tc, test_bf16_parameter_shadow);
    tcase_add_test(tc, test_gemm_bias);
    tcase_add_test(tc, test_precision_errors);
    tcase_add_test(tc, test_bf16_training);
    suite_add_tcase(s, tc);
    return sf_test_main(s);
}
