/* test_cuda_ops.c: the CUDA backend against the CPU backend on fresh random
 * inputs: sgemm (every transpose, odd shapes, padded leading dims, strided
 * batches, TF32), fill/copy/axpy/scale/mul with NaN and Inf, sumsq, the row
 * ops copy2d/add_rowvec/colsum_acc on odd shapes and strides, upload/download,
 * and the errors (bad shapes, overlaps, OOM, bad device). Exits 77 (skipped)
 * with no GPU. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sf_test_cuda.h"

/* Tolerances, as sf_test_tol_ratio's (atol, rtol). sgemm in FP32: cuBLAS and
 * OpenBLAS sum in different orders, K <= 129 terms in [-1, 1]. TF32 rounds the
 * inputs to 10 mantissa bits (~5e-4 relative each). Element-wise kernels round
 * as the CPU loops do, so they should agree to the last bit; 1e-6 is slack. */
#define GEMM_TOL 1e-4
#define TF32_TOL 1e-2
#define EW_TOL 1e-6
/* sumsq: both backends square and add in double (different orders), so they
 * agree to ~1e-12 relative; the bound is 1e-6 relative to the CPU's sum. */
#define SUMSQ_RTOL 1e-6
/* colsum_acc: both sum each column in double, round it to float and add it to
 * out in float; the double sums differ by ~1e-13, which changes the float
 * rounding at most by 1 ulp (2e-6 at |sum| < 32). atol 1e-5, rtol 1e-6. */
#define COLSUM_ATOL 1e-5
#define COLSUM_RTOL 1e-6

/* ---------------------------------------------------------------- helpers */

static float *dev_upload(const float *h, int64_t n)
{
    void *d = NULL;
    size_t bytes = (size_t)n * sizeof(float);
    ck_assert_int_eq(g_gpu->alloc(g_gpu, bytes, &d), SF_OK);
    ck_assert_int_eq(g_gpu->upload(g_gpu, d, h, bytes), SF_OK);
    return d;
}

static void dev_download(float *h, const float *d, int64_t n)
{
    ck_assert_msg(g_gpu->download(g_gpu, h, d, (size_t)n * sizeof(float)) == SF_OK,
                  "download failed: %s", sf_last_error());
}

static float *host_randu(int64_t n, uint64_t seed)
{
    float *x = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    ck_assert_ptr_nonnull(x);
    sf_test_randu(x, n, -1.0f, 1.0f, seed);
    return x;
}

static float *host_copy(const float *x, int64_t n)
{
    float *y = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    ck_assert_ptr_nonnull(y);
    if (n > 0)
        memcpy(y, x, (size_t)n * sizeof(float));
    return y;
}

/* ------------------------------------------------------------------ sgemm */

typedef struct gemm_case {
    int M, N, K;
    float alpha, beta;
} gemm_case;

static const gemm_case gemm_cases[] = {
    {1, 1, 1, 1.0f, 0.0f},       {7, 33, 129, 1.0f, 0.0f},   {129, 7, 33, 0.5f, 1.0f},
    {33, 129, 7, 1.0f, -0.25f},  {129, 129, 129, 1.0f, 0.0f}, {1, 129, 33, 2.0f, 0.5f},
    {33, 1, 129, 1.0f, 1.0f},    {7, 7, 1, -1.0f, 0.0f},     {129, 1, 1, 1.0f, 0.0f},
    {7, 33, 0, 1.0f, 0.5f},      {33, 7, 0, 1.0f, 0.0f},
};
#define N_GEMM_CASES ((int)(sizeof gemm_cases / sizeof *gemm_cases))

static const char *tname(sf_trans t) { return t == SF_TRANS ? "T" : "N"; }

/* Runs one product on both backends (sgemm when batch == 1, else
 * sgemm_strided) from the same random inputs, with leading dims padded by 3
 * and gaps between batch items; returns the error ratio over all of C,
 * padding included (it must come back untouched). */
static double gemm_parity(const gemm_case *c, sf_trans ta, sf_trans tb, int batch,
                          uint64_t seed, double tol)
{
    int M = c->M, N = c->N, K = c->K;
    int lda = (ta == SF_NO_TRANS ? K : M) + 3, ldb = (tb == SF_NO_TRANS ? N : K) + 3;
    int ldc = N + 3;
    int arows = ta == SF_NO_TRANS ? M : K, brows = tb == SF_NO_TRANS ? K : N;
    /* A: batch x [arows, lda], B: batch x [brows, ldb], C: batch x [M, ldc] */
    int64_t sa = (int64_t)arows * lda + 5, sb = (int64_t)brows * ldb + 2;
    int64_t sc = (int64_t)M * ldc + 1;
    int64_t na = sa * batch, nb = sb * batch, nc = sc * batch;
    float *A = host_randu(na, seed), *B = host_randu(nb, seed + 1);
    float *C = host_randu(nc, seed + 2), *R = host_copy(C, nc);
    float *dA = dev_upload(A, na), *dB = dev_upload(B, nb), *dC = dev_upload(C, nc);
    sf_status sc_cpu, sc_gpu;
    if (batch == 1) {
        sc_cpu = g_cpu->sgemm(g_cpu, ta, tb, M, N, K, c->alpha, A, lda, B, ldb, c->beta, R,
                              ldc);
        sc_gpu = g_gpu->sgemm(g_gpu, ta, tb, M, N, K, c->alpha, dA, lda, dB, ldb, c->beta,
                              dC, ldc);
    } else {
        sc_cpu = g_cpu->sgemm_strided(g_cpu, ta, tb, M, N, K, c->alpha, A, lda, sa, B, ldb,
                                      sb, c->beta, R, ldc, sc, batch);
        sc_gpu = g_gpu->sgemm_strided(g_gpu, ta, tb, M, N, K, c->alpha, dA, lda, sa, dB, ldb,
                                      sb, c->beta, dC, ldc, sc, batch);
    }
    ck_assert_int_eq(sc_cpu, SF_OK);
    ck_assert_msg(sc_gpu == SF_OK, "gpu sgemm failed: %s", sf_last_error());
    dev_download(C, dC, nc);
    double ratio = sf_test_tol_ratio(C, R, nc, tol, tol);
    g_gpu->free(g_gpu, dA), g_gpu->free(g_gpu, dB), g_gpu->free(g_gpu, dC);
    free(A), free(B), free(C), free(R);
    return ratio;
}

/* _i: case * 4 + transposes (bit 0: A, bit 1: B) */
static void check_gemm_case(int i, int batch, double tol, uint64_t seed)
{
    const gemm_case *c = &gemm_cases[i / 4];
    sf_trans ta = (i & 1) ? SF_TRANS : SF_NO_TRANS, tb = (i & 2) ? SF_TRANS : SF_NO_TRANS;
    double ratio = gemm_parity(c, ta, tb, batch, seed, tol);
    ck_assert_msg(ratio <= 1.0, "sgemm M=%d N=%d K=%d op(A)=%s op(B)=%s alpha=%g beta=%g "
                  "batch=%d: error ratio %g at atol=rtol=%g", c->M, c->N, c->K, tname(ta),
                  tname(tb), c->alpha, c->beta, batch, ratio, tol);
}

START_TEST(test_sgemm_parity)
{
    check_gemm_case(_i, 1, GEMM_TOL, 1000 + 10 * (uint64_t)_i);
}
END_TEST

START_TEST(test_sgemm_strided_parity)
{
    check_gemm_case(_i, 3, GEMM_TOL, 5000 + 10 * (uint64_t)_i);
}
END_TEST

START_TEST(test_sgemm_tf32)
{
    ck_assert_int_eq(sf_cuda_backend_set_tf32(g_gpu, 1), SF_OK);
    check_gemm_case(_i, (_i / 4) % 2 ? 3 : 1, TF32_TOL, 9000 + 10 * (uint64_t)_i);
    ck_assert_int_eq(sf_cuda_backend_set_tf32(g_gpu, 0), SF_OK);
    /* back to full FP32: the tight tolerance holds again */
    check_gemm_case(_i, 1, GEMM_TOL, 9500 + 10 * (uint64_t)_i);
}
END_TEST

START_TEST(test_sgemm_errors)
{
    /* refused before any pointer is used, with the CPU backend's message */
    char cpu_msg[512];
    ck_assert_int_eq(g_cpu->sgemm(g_cpu, SF_NO_TRANS, SF_NO_TRANS, 2, 2, 2, 1, NULL, 1, NULL, 2,
                                  0, NULL, 2), SF_ERR_INVALID_ARG);
    snprintf(cpu_msg, sizeof cpu_msg, "%s", sf_last_error());
    ck_assert_int_eq(g_gpu->sgemm(g_gpu, SF_NO_TRANS, SF_NO_TRANS, 2, 2, 2, 1, NULL, 1, NULL, 2,
                                  0, NULL, 2), SF_ERR_INVALID_ARG);
    ck_assert_str_eq(sf_last_error(), cpu_msg);
    ck_assert_ptr_nonnull(strstr(sf_last_error(), "lda=1"));
    ck_assert_int_eq(g_gpu->sgemm_strided(g_gpu, SF_NO_TRANS, SF_NO_TRANS, 2, 2, 2, 1, NULL, 2,
                                          4, NULL, 2, 4, 0, NULL, 2, 4, -1),
                     SF_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(sf_last_error(), "negative batch"));
    /* TF32 is a CUDA-only setting */
    ck_assert_int_eq(sf_cuda_backend_set_tf32(g_cpu, 1), SF_ERR_INVALID_ARG);
    ck_assert_int_eq(sf_cuda_backend_set_tf32(NULL, 1), SF_ERR_INVALID_ARG);
}
END_TEST

/* ------------------------------------------------------------ elementwise */

typedef enum ew_op { EW_FILL, EW_COPY, EW_AXPY, EW_SCALE, EW_MUL_Y, EW_MUL_X, EW_MUL_XX } ew_op;

static const struct {
    const char *name;
    ew_op op;
    float a; /* fill value or factor */
} ew_cases[] = {
    {"fill 1.25", EW_FILL, 1.25f}, {"fill NaN", EW_FILL, NAN},   {"copy", EW_COPY, 0.0f},
    {"axpy 0.5", EW_AXPY, 0.5f},   {"axpy -3", EW_AXPY, -3.0f}, {"axpy 0", EW_AXPY, 0.0f},
    {"scale -3", EW_SCALE, -3.0f}, {"scale 0", EW_SCALE, 0.0f},
    {"mul y = x * y", EW_MUL_Y, 0.0f}, {"mul x = x * y", EW_MUL_X, 0.0f},
    {"mul y = x * x", EW_MUL_XX, 0.0f},
};
#define N_EW_CASES ((int)(sizeof ew_cases / sizeof *ew_cases))

/* 0 launches nothing; (1 << 22) + 3 is more than one pass of the capped grid */
static const int64_t ew_sizes[] = {0, 1, 7, 33, 129, 100003, (1 << 22) + 3};
#define N_EW_SIZES ((int)(sizeof ew_sizes / sizeof *ew_sizes))

/* x, y: [n] on be's device */
static sf_status ew_run(sf_backend *be, ew_op op, float a, int64_t n, float *x, float *y)
{
    switch (op) {
    case EW_FILL: return be->fill(be, x, n, a);
    case EW_COPY: return be->copy(be, y, x, n);
    case EW_AXPY: return be->axpy(be, n, a, x, y);
    case EW_SCALE: return be->scale(be, n, a, x);
    case EW_MUL_Y: return be->mul(be, n, x, y, y);
    case EW_MUL_X: return be->mul(be, n, x, y, x);
    case EW_MUL_XX: return be->mul(be, n, x, x, y);
    }
    return SF_ERR_INTERNAL;
}

/* NaN, +Inf and -Inf in x, a NaN in y, and a 0 in y facing x's +Inf (Inf * 0
 * is NaN) where n allows */
static void put_specials(float *x, float *y, int64_t n)
{
    if (n >= 3) {
        x[0] = NAN;
        x[n / 2] = INFINITY;
        x[n - 1] = -INFINITY;
        y[1] = NAN;
    }
    if (n >= 5)
        y[n / 2] = 0.0f;
}

/* _i: case * N_EW_SIZES + size */
START_TEST(test_elementwise_parity)
{
    int ci = _i / N_EW_SIZES;
    int64_t n = ew_sizes[_i % N_EW_SIZES];
    uint64_t seed = 20000 + 2 * (uint64_t)_i;
    float *x = host_randu(n, seed), *y = host_randu(n, seed + 1);
    put_specials(x, y, n);
    float *dx = dev_upload(x, n), *dy = dev_upload(y, n);
    ck_assert_int_eq(ew_run(g_cpu, ew_cases[ci].op, ew_cases[ci].a, n, x, y), SF_OK);
    ck_assert_msg(ew_run(g_gpu, ew_cases[ci].op, ew_cases[ci].a, n, dx, dy) == SF_OK,
                  "%s n=%lld: %s", ew_cases[ci].name, (long long)n, sf_last_error());
    float *gx = host_copy(x, n), *gy = host_copy(y, n);
    dev_download(gx, dx, n);
    dev_download(gy, dy, n);
    double rx = sf_test_tol_ratio(gx, x, n, EW_TOL, EW_TOL);
    double ry = sf_test_tol_ratio(gy, y, n, EW_TOL, EW_TOL);
    ck_assert_msg(rx <= 1.0 && ry <= 1.0, "%s n=%lld: error ratio x %g, y %g at atol=rtol=%g",
                  ew_cases[ci].name, (long long)n, rx, ry, EW_TOL);
    g_gpu->free(g_gpu, dx), g_gpu->free(g_gpu, dy);
    free(x), free(y), free(gx), free(gy);
}
END_TEST

START_TEST(test_copy_overlap)
{
    float *h = host_randu(64, 31), *d = dev_upload(h, 64);
    ck_assert_int_eq(g_gpu->copy(g_gpu, d + 1, d, 32), SF_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(sf_last_error(), "overlap"));
    ck_assert_int_eq(g_gpu->copy(g_gpu, d, d + 32, 32), SF_OK); /* adjacent: fine */
    ck_assert_int_eq(g_gpu->copy(g_gpu, d, d, 64), SF_OK);      /* onto itself: no-op */
    float got[64];
    dev_download(got, d, 64);
    ck_assert(memcmp(got, h + 32, 32 * sizeof(float)) == 0);
    ck_assert(memcmp(got + 32, h + 32, 32 * sizeof(float)) == 0);
    g_gpu->free(g_gpu, d);
    free(h);
}
END_TEST

/* ----------------------------------------------------------------- sumsq */

typedef enum sumsq_fill { SQ_RANDOM, SQ_NAN, SQ_INF, SQ_BIG } sumsq_fill;

static const struct {
    const char *name;
    int64_t n;
    sumsq_fill fill;
} sumsq_cases[] = {
    {"empty", 0, SQ_RANDOM},         {"one", 1, SQ_RANDOM},
    {"37", 37, SQ_RANDOM},           {"1025", 1025, SQ_RANDOM},
    {"100003", 100003, SQ_RANDOM},   {"(1<<22)+3: many grid passes", (1 << 22) + 3, SQ_RANDOM},
    {"a NaN", 1025, SQ_NAN},         {"an Inf", 1025, SQ_INF},
    {"x * 1e20: squares overflow float, not double", 100003, SQ_BIG},
};
#define N_SUMSQ_CASES ((int)(sizeof sumsq_cases / sizeof *sumsq_cases))

START_TEST(test_sumsq_parity)
{
    int64_t n = sumsq_cases[_i].n;
    float *x = host_randu(n, 30000 + (uint64_t)_i);
    if (sumsq_cases[_i].fill == SQ_NAN)
        x[n / 3] = NAN;
    if (sumsq_cases[_i].fill == SQ_INF)
        x[n - 1] = -INFINITY;
    for (int64_t i = 0; sumsq_cases[_i].fill == SQ_BIG && i < n; i++)
        x[i] *= 1e20f;
    float *dx = dev_upload(x, n);
    double want = -1.0, got = -1.0; /* -1: not written */
    ck_assert_int_eq(g_cpu->sumsq(g_cpu, n, x, &want), SF_OK);
    ck_assert_msg(g_gpu->sumsq(g_gpu, n, dx, &got) == SF_OK, "sumsq %s: %s",
                  sumsq_cases[_i].name, sf_last_error());
    if (isnan(want) || isinf(want))
        ck_assert_msg((isnan(got) && isnan(want)) || got == want, "sumsq %s: got %g, cpu %g",
                      sumsq_cases[_i].name, got, want);
    else
        ck_assert_msg(fabs(got - want) <= SUMSQ_RTOL * fabs(want), "sumsq %s: got %.17g, cpu "
                      "%.17g, beyond rtol %g", sumsq_cases[_i].name, got, want, SUMSQ_RTOL);
    g_gpu->free(g_gpu, dx);
    free(x);
}
END_TEST

/* -------------------------------------------------------------- row ops */

/* Shapes: every rows with every cols; 4099 * 513 > one pass of the capped grid */
static const int64_t rw_rows[] = {1, 37, 1025, 4099};
static const int rw_cols[] = {1, 11, 513};
#define N_RW_COLS ((int)(sizeof rw_cols / sizeof *rw_cols))
#define N_RW_SHAPES ((int)(sizeof rw_rows / sizeof *rw_rows) * N_RW_COLS)

/* Downloads d ([n]) and returns its error ratio against the CPU's result want. */
static double dev_ratio(const float *d, const float *want, int64_t n, double atol, double rtol)
{
    float *got = host_copy(want, n);
    dev_download(got, d, n);
    double ratio = sf_test_tol_ratio(got, want, n, atol, rtol);
    free(got);
    return ratio;
}

/* _i: shape * 2 + padded; padded: lds = cols + 7, ldd = cols + 3, else dense.
 * The copy must be exact (NaN and -Inf included) and leave dst's padding. */
START_TEST(test_copy2d_parity)
{
    int64_t rows = rw_rows[_i / 2 / N_RW_COLS];
    int cols = rw_cols[_i / 2 % N_RW_COLS], pad = _i % 2;
    int lds = cols + (pad ? 7 : 0), ldd = cols + (pad ? 3 : 0);
    int64_t ns = rows * lds, nd = rows * ldd;
    float *src = host_randu(ns, 40000 + 2 * (uint64_t)_i);
    float *dst = host_randu(nd, 40001 + 2 * (uint64_t)_i);
    src[0] = NAN;
    src[(rows - 1) * lds + cols - 1] = -INFINITY;
    float *dsrc = dev_upload(src, ns), *ddst = dev_upload(dst, nd);
    ck_assert_int_eq(g_cpu->copy2d(g_cpu, rows, cols, src, lds, dst, ldd), SF_OK);
    ck_assert_msg(g_gpu->copy2d(g_gpu, rows, cols, dsrc, lds, ddst, ldd) == SF_OK,
                  "copy2d rows=%lld cols=%d lds=%d ldd=%d: %s", (long long)rows, cols, lds,
                  ldd, sf_last_error());
    float *got = host_copy(dst, nd);
    dev_download(got, ddst, nd);
    ck_assert_msg(memcmp(got, dst, (size_t)nd * sizeof(float)) == 0, "copy2d rows=%lld "
                  "cols=%d lds=%d ldd=%d: result differs from the CPU's", (long long)rows,
                  cols, lds, ldd);
    g_gpu->free(g_gpu, dsrc), g_gpu->free(g_gpu, ddst);
    free(src), free(dst), free(got);
}
END_TEST

/* _i: shape. x [rows, cols] contiguous, with +Inf in x and -Inf in bias. */
START_TEST(test_add_rowvec_parity)
{
    int64_t rows = rw_rows[_i / N_RW_COLS];
    int cols = rw_cols[_i % N_RW_COLS];
    int64_t n = rows * cols;
    float *x = host_randu(n, 50000 + 2 * (uint64_t)_i);
    float *bias = host_randu(cols, 50001 + 2 * (uint64_t)_i);
    x[n - 1] = INFINITY;
    bias[0] = -INFINITY; /* meets the +Inf (-> NaN) only when cols == 1 */
    float *dx = dev_upload(x, n), *db = dev_upload(bias, cols);
    ck_assert_int_eq(g_cpu->add_rowvec(g_cpu, rows, cols, bias, x), SF_OK);
    ck_assert_msg(g_gpu->add_rowvec(g_gpu, rows, cols, db, dx) == SF_OK, "add_rowvec rows=%lld "
                  "cols=%d: %s", (long long)rows, cols, sf_last_error());
    double ratio = dev_ratio(dx, x, n, EW_TOL, EW_TOL);
    ck_assert_msg(ratio <= 1.0, "add_rowvec rows=%lld cols=%d: error ratio %g at atol=rtol=%g",
                  (long long)rows, cols, ratio, EW_TOL);
    g_gpu->free(g_gpu, dx), g_gpu->free(g_gpu, db);
    free(x), free(bias);
}
END_TEST

/* _i: shape * 2 + padded (ldx = cols + 5, the padding NaN: it must not be
 * read). out starts random: the sums are added to it. A NaN in column 0 and
 * an Inf in column 5 must reach out when cols allows. */
START_TEST(test_colsum_acc_parity)
{
    int64_t rows = rw_rows[_i / 2 / N_RW_COLS];
    int cols = rw_cols[_i / 2 % N_RW_COLS], pad = _i % 2;
    int ldx = cols + (pad ? 5 : 0);
    int64_t n = rows * ldx;
    float *x = host_randu(n, 60000 + 2 * (uint64_t)_i);
    float *out = host_randu(cols, 60001 + 2 * (uint64_t)_i);
    for (int64_t r = 0; r < rows; r++)
        for (int c = cols; c < ldx; c++)
            x[r * ldx + c] = NAN;
    if (cols >= 11) {
        x[0] = NAN;
        x[(rows - 1) * ldx + 5] = INFINITY;
    }
    float *dx = dev_upload(x, n), *dout = dev_upload(out, cols);
    ck_assert_int_eq(g_cpu->colsum_acc(g_cpu, rows, cols, x, ldx, out), SF_OK);
    ck_assert_msg(g_gpu->colsum_acc(g_gpu, rows, cols, dx, ldx, dout) == SF_OK, "colsum_acc "
                  "rows=%lld cols=%d ldx=%d: %s", (long long)rows, cols, ldx, sf_last_error());
    double ratio = dev_ratio(dout, out, cols, COLSUM_ATOL, COLSUM_RTOL);
    ck_assert_msg(ratio <= 1.0, "colsum_acc rows=%lld cols=%d ldx=%d: error ratio %g at "
                  "atol=%g rtol=%g", (long long)rows, cols, ldx, ratio, COLSUM_ATOL,
                  COLSUM_RTOL);
    g_gpu->free(g_gpu, dx), g_gpu->free(g_gpu, dout);
    free(x), free(out);
}
END_TEST

/* Bad shapes are refused before any pointer is used; overlapping copy2d
 * blocks are refused, interleaved ones (same stride, disjoint columns) work. */
START_TEST(test_rowwise_errors)
{
    ck_assert_int_eq(g_gpu->copy2d(g_gpu, 2, 8, NULL, 7, NULL, 8), SF_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(sf_last_error(), "lds=7"));
    ck_assert_int_eq(g_gpu->copy2d(g_gpu, 2, -1, NULL, 8, NULL, 8), SF_ERR_INVALID_ARG);
    ck_assert_int_eq(g_gpu->add_rowvec(g_gpu, -1, 4, NULL, NULL), SF_ERR_INVALID_ARG);
    ck_assert_int_eq(g_gpu->colsum_acc(g_gpu, 3, 8, NULL, 4, NULL), SF_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(sf_last_error(), "ldx=4"));
    /* empty shapes: nothing to do, no pointer used */
    ck_assert_int_eq(g_gpu->copy2d(g_gpu, 0, 8, NULL, 8, NULL, 8), SF_OK);
    ck_assert_int_eq(g_gpu->colsum_acc(g_gpu, 5, 0, NULL, 0, NULL), SF_OK);
    double ss = -1.0;
    ck_assert_int_eq(g_gpu->sumsq(g_gpu, 0, NULL, &ss), SF_OK);
    ck_assert(ss == 0.0);

    enum { R = 8, LD = 20 }; /* m: [R, LD] */
    float *h = host_randu(R * LD, 70), *d = dev_upload(h, R * LD);
    ck_assert_int_eq(g_gpu->copy2d(g_gpu, R, 8, d, LD, d + 4, LD), SF_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(sf_last_error(), "overlap"));
    ck_assert_int_eq(g_gpu->copy2d(g_gpu, R - 1, 8, d + LD + 2, LD, d, LD),
                     SF_ERR_INVALID_ARG);
    ck_assert_int_eq(g_gpu->copy2d(g_gpu, R, 8, d, LD, d, LD), SF_OK); /* onto itself */
    /* columns [0, 8) into [10, 18) of the next row: same stride, disjoint */
    ck_assert_int_eq(g_cpu->copy2d(g_cpu, R - 1, 8, h, LD, h + LD + 10, LD), SF_OK);
    ck_assert_msg(g_gpu->copy2d(g_gpu, R - 1, 8, d, LD, d + LD + 10, LD) == SF_OK,
                  "interleaved copy2d: %s", sf_last_error());
    float got[R * LD];
    dev_download(got, d, R * LD);
    ck_assert(memcmp(got, h, sizeof got) == 0);
    /* one row: the strides do not matter */
    ck_assert_int_eq(g_gpu->copy2d(g_gpu, 1, 8, d, 1, d + 8, 2), SF_OK);
    g_gpu->free(g_gpu, d);
    free(h);
}
END_TEST

/* ----------------------------------------------------------------- memory */

START_TEST(test_upload_download)
{
    const size_t bytes = (1u << 20) + 7; /* odd size */
    unsigned char *src = malloc(bytes), *back = malloc(bytes);
    for (size_t i = 0; i < bytes; i++)
        src[i] = (unsigned char)((i * 2654435761u) >> 13);
    void *d = NULL;
    ck_assert_int_eq(g_gpu->alloc(g_gpu, bytes + 16, &d), SF_OK);
    /* fresh memory is zeroed, as on the CPU backend */
    ck_assert_int_eq(g_gpu->download(g_gpu, back, d, bytes), SF_OK);
    for (size_t i = 0; i < bytes; i++)
        ck_assert_msg(back[i] == 0, "fresh device memory not zero at byte %zu", i);
    /* at an odd byte offset, to catch alignment assumptions */
    ck_assert_int_eq(g_gpu->upload(g_gpu, (unsigned char *)d + 3, src, bytes), SF_OK);
    ck_assert_int_eq(g_gpu->download(g_gpu, back, (unsigned char *)d + 3, bytes), SF_OK);
    ck_assert_msg(memcmp(src, back, bytes) == 0, "round trip of %zu bytes differs", bytes);
    ck_assert_int_eq(g_gpu->sync(g_gpu), SF_OK);
    g_gpu->free(g_gpu, d);
    /* zero bytes: no allocation, no error */
    ck_assert_int_eq(g_gpu->alloc(g_gpu, 0, &d), SF_OK);
    ck_assert_ptr_null(d);
    g_gpu->free(g_gpu, NULL);
    free(src), free(back);
}
END_TEST

START_TEST(test_oom)
{
    void *d = (void *)1;
    ck_assert_int_eq(g_gpu->alloc(g_gpu, (size_t)1 << 50, &d), SF_ERR_OOM);
    ck_assert_ptr_null(d);
    ck_assert_msg(strstr(sf_last_error(), "bytes") != NULL, "OOM message lacks sizes: %s",
                  sf_last_error());
    /* the device still works afterwards */
    float h[5] = {0}, *dx = dev_upload(h, 5);
    ck_assert_int_eq(g_gpu->fill(g_gpu, dx, 5, 2.5f), SF_OK);
    dev_download(h, dx, 5);
    for (int i = 0; i < 5; i++)
        ck_assert_float_eq(h[i], 2.5f);
    g_gpu->free(g_gpu, dx);
}
END_TEST

START_TEST(test_devices)
{
    ck_assert_str_eq(g_gpu->name, "cuda:0");
    ck_assert_int_eq(g_gpu->kind, SF_DEVICE_CUDA);
    ck_assert_int_eq(sf_cuda_compiled(), 1);
    ck_assert_int_eq(sf_backend_check_complete(g_gpu), SF_OK);
    sf_backend *be = (sf_backend *)1;
    ck_assert_int_eq(sf_backend_open("cuda:99", &be), SF_ERR_INVALID_ARG);
    ck_assert_ptr_null(be);
    ck_assert_msg(strstr(sf_last_error(), "cuda:99") && strstr(sf_last_error(), "visible"),
                  "message: %s", sf_last_error());
    ck_assert_int_eq(sf_cuda_backend_create(-1, &be), SF_ERR_INVALID_ARG);
    ck_assert_ptr_null(be);
}
END_TEST

int main(void)
{
    int rc = sf_test_cuda_open();
    if (rc != 0)
        return rc;
    Suite *s = suite_create("cuda_ops");
    TCase *tc = tcase_create("sgemm");
    tcase_add_loop_test(tc, test_sgemm_parity, 0, 4 * N_GEMM_CASES);
    tcase_add_loop_test(tc, test_sgemm_strided_parity, 0, 4 * N_GEMM_CASES);
    tcase_add_loop_test(tc, test_sgemm_tf32, 0, 4 * N_GEMM_CASES);
    tcase_add_test(tc, test_sgemm_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("elementwise");
    tcase_add_loop_test(tc, test_elementwise_parity, 0, N_EW_CASES * N_EW_SIZES);
    tcase_add_test(tc, test_copy_overlap);
    tcase_add_loop_test(tc, test_sumsq_parity, 0, N_SUMSQ_CASES);
    suite_add_tcase(s, tc);
    tc = tcase_create("rowwise");
    tcase_add_loop_test(tc, test_copy2d_parity, 0, 2 * N_RW_SHAPES);
    tcase_add_loop_test(tc, test_add_rowvec_parity, 0, N_RW_SHAPES);
    tcase_add_loop_test(tc, test_colsum_acc_parity, 0, 2 * N_RW_SHAPES);
    tcase_add_test(tc, test_rowwise_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("memory");
    tcase_add_test(tc, test_upload_download);
    tcase_add_test(tc, test_oom);
    tcase_add_test(tc, test_devices);
    suite_add_tcase(s, tc);
    rc = sf_test_main(s);
    sf_test_cuda_close();
    return rc;
}
