/* cpu_backend.c: the reference backend. Products in cpu_gemm.c (oneDNN or
 * OpenBLAS), element-wise ops as plain loops (OpenMP threads where the work is
 * large; omp simd, since -O2's cost model does not vectorize loops whose
 * pointers might alias). */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "backend/cpu/cpu_attn_ops.h"
#include "backend/cpu/cpu_ops.h"

#define SF_OMP_MIN 32768 /* below this, threads cost more than they give */

static sf_status cpu_alloc(sf_backend *be, size_t bytes, void **out)
{
    (void)be;
    size_t rounded = (bytes + 63) / 64 * 64;
    *out = rounded ? aligned_alloc(64, rounded) : NULL;
    if (rounded && !*out)
        return SF_FAIL(SF_ERR_OOM, "could not allocate %zu bytes (%.2f GiB) of host memory; "
                       "try a smaller batch or model, or free memory", bytes,
                       (double)bytes / (1u << 30));
    if (*out)
        memset(*out, 0, rounded);
    return SF_OK;
}

static void cpu_free(sf_backend *be, void *ptr)
{
    (void)be;
    free(ptr);
}

static sf_status cpu_memcpy(sf_backend *be, void *dst, const void *src, size_t bytes)
{
    (void)be;
    if (bytes)
        memmove(dst, src, bytes);
    return SF_OK;
}

static sf_status cpu_sync(sf_backend *be)
{
    (void)be;
    return SF_OK;
}

static sf_status cpu_upload(sf_backend *be, void *dst, const void *src, size_t bytes)
{
    sf_cpu_note_write(be, dst, bytes);
    return cpu_memcpy(be, dst, src, bytes);
}

static sf_status cpu_sgemm_strided(sf_backend *be, sf_trans ta, sf_trans tb, int M, int N,
                                   int K, float alpha, const float *A, int lda, int64_t sa,
                                   const float *B, int ldb, int64_t sb, float beta, float *C,
                                   int ldc, int64_t sc, int batch)
{
    if (batch < 0)
        return SF_FAIL(SF_ERR_INVALID_ARG, "negative batch %d", batch);
    for (int i = 0; i < batch; i++)
        SF_TRY(sf_cpu_sgemm(be, ta, tb, M, N, K, alpha, A + i * sa, lda, B + i * sb, ldb, beta,
                         C + i * sc, ldc));
    return SF_OK;
}

static sf_status cpu_fill(sf_backend *be, float *x, int64_t n, float v)
{
    sf_cpu_note_write(be, x, sizeof(float) * (size_t)(n > 0 ? n : 0));
#pragma omp parallel for simd if (n > SF_OMP_MIN)
    for (int64_t i = 0; i < n; i++)
        x[i] = v;
    return SF_OK;
}

static sf_status cpu_copy(sf_backend *be, float *dst, const float *src, int64_t n)
{
    sf_cpu_note_write(be, dst, sizeof(float) * (size_t)(n > 0 ? n : 0));
    if (n > 0)
        memmove(dst, src, (size_t)n * sizeof(float));
    return SF_OK;
}

static sf_status cpu_axpy(sf_backend *be, int64_t n, float a, const float *x, float *y)
{
    (void)be;
#pragma omp parallel for simd if (n > SF_OMP_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] += a * x[i];
    return SF_OK;
}

static sf_status cpu_scale(sf_backend *be, int64_t n, float a, float *x)
{
    (void)be;
#pragma omp parallel for simd if (n > SF_OMP_MIN)
    for (int64_t i = 0; i < n; i++)
        x[i] *= a;
    return SF_OK;
}

static sf_status cpu_mul(sf_backend *be, int64_t n, const float *x, const float *y, float *z)
{
    (void)be;
#pragma omp parallel for simd if (n > SF_OMP_MIN)
    for (int64_t i = 0; i < n; i++)
        z[i] = x[i] * y[i];
    return SF_OK;
}

static sf_status cpu_sumsq(sf_backend *be, int64_t n, const float *x, double *out)
{
    (void)be;
    double acc = 0.0;
#pragma omp parallel for simd reduction(+ : acc) if (n > SF_OMP_MIN)
    for (int64_t i = 0; i < n; i++)
        acc += (double)x[i] * x[i];
    *out = acc;
    return SF_OK;
}

static sf_status cpu_copy2d(sf_backend *be, int64_t rows, int cols, const float *src, int lds,
                            float *dst, int ldd)
{
    (void)be;
    for (int64_t r = 0; r < rows; r++)
        memmove(dst + r * ldd, src + r * lds, sizeof(float) * (size_t)cols);
    return SF_OK;
}

static sf_status cpu_add_rowvec(sf_backend *be, int64_t rows, int cols, const float *bias,
                                float *x)
{
    (void)be;
#pragma omp parallel for if (rows * cols > SF_OMP_MIN)
    for (int64_t r = 0; r < rows; r++) {
        float *row = x + r * cols;
#pragma omp simd
        for (int c = 0; c < cols; c++)
            row[c] += bias[c];
    }
    return SF_OK;
}

static sf_status cpu_colsum_acc(sf_backend *be, int64_t rows, int cols, const float *x, int ldx,
                                float *out)
{
    (void)be;
    if (rows <= 0 || cols <= 0)
        return SF_OK;
    double *acc = calloc((size_t)cols, sizeof(double));
    if (!acc)
        return SF_FAIL(SF_ERR_OOM, "%d column sums", cols);
    /* stream rows in memory order (a column-wise loop strides through memory) */
    for (int64_t r = 0; r < rows; r++) {
        const float *row = x + r * ldx;
#pragma omp simd
        for (int c = 0; c < cols; c++)
            acc[c] += row[c];
    }
    for (int c = 0; c < cols; c++)
        out[c] += (float)acc[c];
    free(acc);
    return SF_OK;
}

static sf_status cpu_adam(sf_backend *be, int64_t n, float *p, const float *g, float *m,
                          float *v, float gscale, float lr, float b1, float b2, float eps,
                          float bc1, float bc2)
{
    sf_cpu_note_write(be, p, sizeof(float) * (size_t)(n > 0 ? n : 0));
    const float step = lr / bc1, sqrt_bc2 = sqrtf(bc2);
    /* simd: the same IEEE operations in the same order, 4 or 8 at a time */
#pragma omp parallel for simd if (n > SF_OMP_MIN)
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i] * gscale;
        m[i] = b1 * m[i] + (1.0f - b1) * gi;
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
        p[i] -= step * m[i] / (sqrtf(v[i]) / sqrt_bc2 + eps);
    }
    return SF_OK;
}

void sf_cpu_set_threads(int n)
{
    if (n <= 0)
        n = omp_get_num_procs();
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
}

static void cpu_destroy(sf_backend *be)
{
    sf_cpu_gemm_free(be->impl);
    free(be);
}

sf_status sf_cpu_backend_create(sf_backend **out)
{
    sf_backend *be = calloc(1, sizeof *be);
    if (!be)
        return SF_FAIL(SF_ERR_OOM, "could not allocate the CPU backend");
    be->name = "cpu";
    be->kind = SF_DEVICE_CPU;
    sf_status gst = sf_cpu_gemm_create((sf_cpu_gemm **)&be->impl);
    if (gst != SF_OK) {
        free(be);
        return gst;
    }
    be->alloc = cpu_alloc;
    be->free = cpu_free;
    be->upload = cpu_upload;
    be->download = cpu_memcpy;
    be->sync = cpu_sync;
    be->sgemm = sf_cpu_sgemm;
    be->sgemm_strided = cpu_sgemm_strided;
    be->sgemm_bias = sf_cpu_sgemm_bias;
    be->fill = cpu_fill;
    be->copy = cpu_copy;
    be->axpy = cpu_axpy;
    be->scale = cpu_scale;
    be->mul = cpu_mul;
    be->adam = cpu_adam;
    be->copy2d = cpu_copy2d;
    be->add_rowvec = cpu_add_rowvec;
    be->colsum_acc = cpu_colsum_acc;
    be->sumsq = cpu_sumsq;
    sf_cpu_install_cell_ops(be);
    be->destroy = cpu_destroy;
    sf_cpu_install_attn_ops(be);
    sf_cpu_install_topk_op(be);
    sf_status st = sf_backend_check_complete(be);
    if (st != SF_OK) {
        cpu_destroy(be);
        return st;
    }
    *out = be;
    return SF_OK;
}
