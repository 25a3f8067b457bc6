/* test_cpu_ops.c: the CPU backend's first ops against naive loops: sgemm for
 * every transpose case on odd shapes (plain and strided-batched), fill, copy,
 * axpy and scale, and device-string parsing. */
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "sf_test.h"

/* C[M,N] = alpha op(A) op(B) + beta C, the slow obvious way, in double. */
static void naive_gemm(sf_trans ta, sf_trans tb, int M, int N, int K, float alpha,
                       const float *A, int lda, const float *B, int ldb, float beta, float *C,
                       int ldc)
{
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            double acc = 0.0;
            for (int k = 0; k < K; k++) {
                double a = ta == SF_NO_TRANS ? A[i * lda + k] : A[k * lda + i];
                double b = tb == SF_NO_TRANS ? B[k * ldb + j] : B[j * ldb + k];
                acc += a * b;
            }
            C[i * ldc + j] = (float)(alpha * acc + beta * C[i * ldc + j]);
        }
    }
}

static const struct {
    int M, N, K;
    float alpha, beta;
} gemm_cases[] = {
    {1, 1, 1, 1.0f, 0.0f},   {7, 5, 3, 1.0f, 0.0f},   {13, 17, 19, 0.5f, 1.0f},
    {33, 1, 65, 1.0f, -0.25f}, {1, 129, 31, 2.0f, 0.0f}, {64, 48, 1, 1.0f, 1.0f},
    {5, 0, 3, 1.0f, 0.0f},   {3, 4, 0, 1.0f, 0.5f},
};

START_TEST(test_sgemm_all_transposes)
{
    sf_backend *be;
    ck_assert_int_eq(sf_backend_open("cpu", &be), SF_OK);
    int ci = _i / 4;
    sf_trans ta = (_i & 1) ? SF_TRANS : SF_NO_TRANS;
    sf_trans tb = (_i & 2) ? SF_TRANS : SF_NO_TRANS;
    int M = gemm_cases[ci].M, N = gemm_cases[ci].N, K = gemm_cases[ci].K;
    /* leading dimensions padded by 3 to catch stride bugs */
    int lda = (ta == SF_NO_TRANS ? K : M) + 3, ldb = (tb == SF_NO_TRANS ? N : K) + 3,
        ldc = N + 3;
    int arows = ta == SF_NO_TRANS ? M : K, brows = tb == SF_NO_TRANS ? K : N;
    size_t na = (size_t)arows * lda + 1, nb = (size_t)brows * ldb + 1, nc = (size_t)M * ldc + 1;
    float *A = malloc(na * 4), *B = malloc(nb * 4), *C = malloc(nc * 4), *R = malloc(nc * 4);
    sf_test_randu(A, (int64_t)na, -1, 1, 100 + _i);
    sf_test_randu(B, (int64_t)nb, -1, 1, 200 + _i);
    sf_test_randu(C, (int64_t)nc, -1, 1, 300 + _i);
    memcpy(R, C, nc * 4);
    ck_assert_int_eq(be->sgemm(be, ta, tb, M, N, K, gemm_cases[ci].alpha, A, lda, B, ldb,
                               gemm_cases[ci].beta, C, ldc), SF_OK);
    naive_gemm(ta, tb, M, N, K, gemm_cases[ci].alpha, A, lda, B, ldb, gemm_cases[ci].beta, R,
               ldc);
    double ratio = sf_test_tol_ratio(C, R, (int64_t)nc, 1e-5, 1e-5);
    ck_assert_msg(ratio <= 1.0, "case %d (M=%d N=%d K=%d ta=%d tb=%d): error ratio %g", ci, M,
                  N, K, ta, tb, ratio);
    free(A), free(B), free(C), free(R);
    sf_backend_close(be);
}
END_TEST

START_TEST(test_sgemm_strided)
{
    sf_backend *be;
    ck_assert_int_eq(sf_backend_open("cpu", &be), SF_OK);
    const int M = 5, N = 7, K = 9, batch = 4;
    const int64_t sa = M * K + 2, sb = N * K + 1, sc = M * N + 5;
    float *A = malloc(sa * batch * 4), *B = malloc(sb * batch * 4);
    float *C = calloc(sc * batch, 4), *R = calloc(sc * batch, 4);
    sf_test_randu(A, sa * batch, -1, 1, 1);
    sf_test_randu(B, sb * batch, -1, 1, 2);
    /* A [M,K] row-major, B^T: B stored [N,K] */
    ck_assert_int_eq(be->sgemm_strided(be, SF_NO_TRANS, SF_TRANS, M, N, K, 1.0f, A, K, sa, B,
                                       K, sb, 0.0f, C, N, sc, batch), SF_OK);
    for (int b = 0; b < batch; b++)
        naive_gemm(SF_NO_TRANS, SF_TRANS, M, N, K, 1.0f, A + b * sa, K, B + b * sb, K, 0.0f,
                   R + b * sc, N);
    ck_assert(sf_test_tol_ratio(C, R, sc * batch, 1e-5, 1e-5) <= 1.0);
    free(A), free(B), free(C), free(R);
    sf_backend_close(be);
}
END_TEST

START_TEST(test_sgemm_bad_shape)
{
    sf_backend *be;
    ck_assert_int_eq(sf_backend_open("cpu", &be), SF_OK);
    float x[4] = {0};
    ck_assert_int_eq(be->sgemm(be, SF_NO_TRANS, SF_NO_TRANS, 2, 2, 2, 1, x, 1, x, 2, 0, x, 2),
                     SF_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(sf_last_error(), "lda=1"));
    sf_backend_close(be);
}
END_TEST

START_TEST(test_elementwise)
{
    sf_backend *be;
    ck_assert_int_eq(sf_backend_open("cpu", &be), SF_OK);
    const int64_t sizes[] = {0, 1, 17, 100003};
    for (size_t c = 0; c < sizeof sizes / sizeof *sizes; c++) {
        int64_t n = sizes[c];
        float *x = malloc((size_t)(n + 1) * 4), *y = malloc((size_t)(n + 1) * 4);
        float *y0 = malloc((size_t)(n + 1) * 4);
        sf_test_randu(x, n, -2, 2, 7 + c);
        sf_test_randu(y, n, -2, 2, 8 + c);
        memcpy(y0, y, (size_t)n * 4);
        ck_assert_int_eq(be->axpy(be, n, 0.5f, x, y), SF_OK);
        for (int64_t i = 0; i < n; i++)
            ck_assert_float_eq(y[i], y0[i] + 0.5f * x[i]);
        ck_assert_int_eq(be->scale(be, n, -3.0f, y), SF_OK);
        for (int64_t i = 0; i < n; i++)
            ck_assert_float_eq(y[i], (y0[i] + 0.5f * x[i]) * -3.0f);
        ck_assert_int_eq(be->copy(be, y, x, n), SF_OK);
        ck_assert(n == 0 || memcmp(x, y, (size_t)n * 4) == 0);
        ck_assert_int_eq(be->fill(be, x, n, 1.25f), SF_OK);
        for (int64_t i = 0; i < n; i++)
            ck_assert_float_eq(x[i], 1.25f);
        free(x), free(y), free(y0);
    }
    sf_backend_close(be);
}
END_TEST

START_TEST(test_rowwise_ops)
{
    sf_backend *be;
    ck_assert_int_eq(sf_backend_open("cpu", &be), SF_OK);
    enum { R = 37, C = 11, LD = 13 };
    float x[R * LD], y[R * LD], z[R * LD], bias[C], sums[C];
    sf_test_randu(x, R * LD, -1, 1, 21);
    sf_test_randu(y, R * LD, -1, 1, 22);
    sf_test_randu(bias, C, -1, 1, 23);
    ck_assert_int_eq(be->mul(be, R * LD, x, y, z), SF_OK);
    for (int i = 0; i < R * LD; i++)
        ck_assert_float_eq(z[i], x[i] * y[i]);
    double ss = 0, want = 0;
    ck_assert_int_eq(be->sumsq(be, R * LD, x, &ss), SF_OK);
    for (int i = 0; i < R * LD; i++)
        want += (double)x[i] * x[i];
    ck_assert_double_eq_tol(ss, want, 1e-9 * want);
    /* copy2d: C columns of each LD-strided row into a dense block */
    float dense[R * C];
    ck_assert_int_eq(be->copy2d(be, R, C, x, LD, dense, C), SF_OK);
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++)
            ck_assert_float_eq(dense[r * C + c], x[r * LD + c]);
    float before[R * C];
    memcpy(before, dense, sizeof dense);
    ck_assert_int_eq(be->add_rowvec(be, R, C, bias, dense), SF_OK);
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++)
            ck_assert_float_eq(dense[r * C + c], before[r * C + c] + bias[c]);
    for (int c = 0; c < C; c++)
        sums[c] = 1.0f;
    ck_assert_int_eq(be->colsum_acc(be, R, C, x, LD, sums), SF_OK);
    for (int c = 0; c < C; c++) {
        double acc = 1.0;
        for (int r = 0; r < R; r++)
            acc += x[r * LD + c];
        ck_assert_double_eq_tol(sums[c], acc, 1e-5);
    }
    sf_backend_close(be);
}
END_TEST

START_TEST(test_device_strings)
{
    sf_backend *be = NULL;
    ck_assert_int_eq(sf_backend_open("tpu", &be), SF_ERR_INVALID_ARG);
    ck_assert_ptr_null(be);
    ck_assert_ptr_nonnull(strstr(sf_last_error(), "tpu"));
    ck_assert_int_eq(sf_backend_open("cuda:x", &be), SF_ERR_INVALID_ARG);
    ck_assert_int_eq(sf_backend_open("cudaa", &be), SF_ERR_INVALID_ARG);
    /* without a GPU, cuda is a clear error, never a crash */
    if (sf_cuda_device_count() == 0) {
        sf_status st = sf_backend_open("cuda", &be);
        ck_assert(st == SF_ERR_NO_DEVICE || st == SF_ERR_UNSUPPORTED);
        ck_assert_ptr_null(be);
        ck_assert(strlen(sf_last_error()) > 20);
    }
    /* auto (and NULL): the GPU when one is visible, else the CPU */
    const sf_device_kind want = sf_cuda_device_count() > 0 ? SF_DEVICE_CUDA : SF_DEVICE_CPU;
    ck_assert_int_eq(sf_backend_open("auto", &be), SF_OK);
    ck_assert_int_eq(be->kind, want);
    sf_backend_close(be);
    ck_assert_int_eq(sf_backend_open(NULL, &be), SF_OK);
    ck_assert_int_eq(be->kind, want);
    sf_backend_close(be);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cpu_ops");
    TCase *tc = tcase_create("sgemm");
    tcase_add_loop_test(tc, test_sgemm_all_transposes, 0,
                        (int)(4 * sizeof gemm_cases / sizeof *gemm_cases));
    tcase_add_test(tc, test_sgemm_strided);
    tcase_add_test(tc, test_sgemm_bad_shape);
    suite_add_tcase(s, tc);
    tc = tcase_create("elementwise");
    tcase_add_test(tc, test_elementwise);
    tcase_add_test(tc, test_rowwise_ops);
    tcase_add_test(tc, test_device_strings);
    suite_add_tcase(s, tc);
    return sf_test_main(s);
}
